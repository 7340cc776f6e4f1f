//! # recsys
//!
//! A notebook-first research workbench for recommender systems: one data
//! model, one set of splits and metrics, one evaluation harness for every
//! model family.
//!
//! ```
//! use recsys::prelude::*;
//!
//! // Tiny synthetic data: 20 users × 20 items, every user holds out one item.
//! let (train, _) = recsys::models::contract::checkerboard(20, 20);
//! let report = Pipeline::from_interactions(train)
//!     .split(Split::Random { test: 0.2, val: 0.0, seed: 42 })
//!     .recall(Popularity::default())
//!     .evaluate()?;
//! assert!(report.get("NDCG@10").is_some());
//! # Ok::<(), recsys::Error>(())
//! ```
//!
//! Data flows one way: files → [`Interactions`] (+ [`Features`]) →
//! [`Split`] → [`Fit`] → fitted [`Scorer`] → stages → [`Report`].
//! Metric definitions live in [`metrics`].

pub mod cli;
pub mod data;
pub mod display;
mod error;
pub mod eval;
pub mod features;
pub mod io;
pub mod metrics;
pub mod models;
pub mod notebook;
pub mod peers;
pub mod pipeline;
pub mod plot;
pub mod prelude;
pub mod report;
pub mod sparse;
pub mod split;
pub mod stages;
pub mod template;
pub mod tune;

pub use plotly;
pub use polars;
/// JSON, for notebooks that read result files (the peers').
pub use serde_json;

pub use data::{Dataset, Features, IdMap, Interactions, InteractionsFile};
pub use error::{Error, Result};
pub use eval::Protocol;
pub use models::{Fit, FitInput, Scorer};
pub use pipeline::Pipeline;
pub use report::{Comparison, Leaderboard, Report};
pub use split::{Candidates, Split};
