//! Multi-stage recommendation: recall → rank → rerank.
//!
//! Recall and rank stages are any [`Fit`](crate::Fit) model; a rerank stage
//! is a [`Rerank`], which sees the ranked list with its scores.

mod mmr;

pub use mmr::{DiversityKernel, Mmr, MmrModel};

use crate::Result;
use crate::data::Interactions;

/// Re-rankers reachable by name from the CLI and configs.
pub const RERANK_NAMES: [&str; 2] = ["mmr", "keep_order"];

/// Builds a re-ranker from its name and `key=value` parameters.
pub fn rerank_from_name(name: &str, params: &[(String, String)]) -> Result<Box<dyn Rerank>> {
    match name.to_ascii_lowercase().as_str() {
        "mmr" => {
            let mut m = Mmr::default();
            for (k, v) in params {
                m.set_param(k, v)?;
            }
            Ok(Box::new(m))
        }
        "keep_order" => match params.first() {
            Some((k, _)) => Err(crate::Error::param(k, "keep_order has no parameters")),
            None => Ok(Box::new(KeepOrder)),
        },
        other => Err(crate::Error::Config(format!(
            "unknown re-ranker {other:?}; known: {}",
            RERANK_NAMES.join(", ")
        ))),
    }
}

/// Hyper-parameters of a re-ranker (e.g. MMR), fitted on the training data.
pub trait Rerank: Send + Sync {
    /// Name as reports spell it.
    fn name(&self) -> String;
    /// Hyper-parameters as `(name, value)`.
    fn params(&self) -> Vec<(String, String)>;
    /// Prepares the re-ranker (item similarities, ...) from `train`.
    fn fit_reranker(&self, train: &Interactions) -> Result<Box<dyn Reranker>>;
}

/// A fitted re-ranker.
pub trait Reranker: Send + Sync {
    /// Picks `k` items from `ranked` (`(item, score)`, best first) for `user`.
    fn rerank(&self, user: u32, ranked: &[(u32, f32)], k: usize) -> Vec<(u32, f32)>;
}

/// Keeps the ranked order (the identity re-ranker; useful as a control).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepOrder;

impl Rerank for KeepOrder {
    fn name(&self) -> String {
        "keep_order".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![]
    }
    fn fit_reranker(&self, _train: &Interactions) -> Result<Box<dyn Reranker>> {
        Ok(Box::new(KeepOrder))
    }
}

impl Reranker for KeepOrder {
    fn rerank(&self, _user: u32, ranked: &[(u32, f32)], k: usize) -> Vec<(u32, f32)> {
        ranked.iter().take(k).copied().collect()
    }
}
