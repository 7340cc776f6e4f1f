//! The model contract and the models.
//!
//! A model is two types, as in linfa: a hyper-parameter builder (e.g.
//! [`Popularity`]) whose setters consume `self` and do no work, and a fitted
//! model returned by `fit` (e.g. [`PopularityModel`]) that implements
//! [`Scorer`]. The [`Fit`] trait lets the pipeline and the CLI hold any model
//! as a `Box<dyn Fit>`.

mod baseline;
pub mod cf;
pub mod contract;
pub mod ctr;
#[cfg(feature = "deep")]
pub mod deep;
pub mod mf;
pub(crate) mod params;
pub mod persist;
pub mod retrieval;
pub mod rows;
#[cfg(feature = "deep")]
pub mod tower;
pub mod training;

pub use baseline::{Popularity, PopularityModel, Random, RandomModel};
pub use cf::{ItemCF, ItemCFModel, UserCF, UserCFModel};
pub use ctr::{CtrOptimizer, ShallowCtr, ShallowCtrModel, ShallowKind, StopOn};
pub use mf::{Als, AlsSolver, Bpr, Ease, EaseModel, FactorModel, Svd, SvdModel};
pub use retrieval::{AnnIndex, AnnParams, AnnRecall};
pub use rows::{BaseRate, BaseRateModel, FitRows, ROW_MODEL_NAMES, RowScorer, row_model_from_name};
pub use training::{EpochLog, LearningCurve};

use crate::data::{Dataset, Interactions};
use crate::metrics::ranking::masked_top_k;
use crate::{Error, Result};

/// Hyper-parameters that can be fitted into a [`Scorer`].
pub trait Fit: Send + Sync {
    /// Model name as reports and the CLI spell it (`popularity`).
    fn name(&self) -> String;
    /// Hyper-parameters as `(name, value)` pairs, builder names.
    fn params(&self) -> Vec<(String, String)>;
    /// Sets one hyper-parameter from text (`--param key=value`). Unknown
    /// names are an error listing the known ones.
    fn set_param(&mut self, key: &str, value: &str) -> Result<()>;
    /// Checks every hyper-parameter before any work (linfa's `ParamGuard`
    /// step): the pipeline checks every stage's model before it loads or
    /// fits anything, and `fit_scorer` checks again.
    fn check(&self) -> Result<()> {
        Ok(())
    }
    /// Checks the hyper-parameters, then fits on `input` (training
    /// interactions; iterative models validate and early-stop on
    /// `input.validation`; feature-based models read `input.side`; every
    /// other model ignores what it does not use).
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>>;
}

/// What a model is fitted on: the training interactions, optional
/// validation interactions (per-epoch validation and early stopping) and the
/// dataset's side information (user and item features). Built from
/// `&Interactions` with `.into()` or [`FitInput::new`].
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, _) = recsys::models::contract::checkerboard(10, 10);
/// let scorer = Popularity::default().fit_scorer(FitInput::new(&train))?;
/// assert_eq!(scorer.n_items(), 10);
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct FitInput<'a> {
    /// The training interactions.
    pub train: &'a Interactions,
    /// Held-out interactions for validation, when the split has them.
    pub validation: Option<&'a Interactions>,
    /// The dataset with its user and item features, when it has them.
    pub side: Option<&'a Dataset>,
}

impl<'a> FitInput<'a> {
    /// Training interactions alone.
    pub fn new(train: &'a Interactions) -> Self {
        FitInput {
            train,
            validation: None,
            side: None,
        }
    }
    /// With validation interactions (`None`: none).
    pub fn validation(mut self, validation: Option<&'a Interactions>) -> Self {
        self.validation = validation;
        self
    }
    /// With the dataset's side information (`None`: none).
    pub fn side(mut self, side: Option<&'a Dataset>) -> Self {
        self.side = side;
        self
    }
}

impl<'a> From<&'a Interactions> for FitInput<'a> {
    fn from(train: &'a Interactions) -> Self {
        FitInput::new(train)
    }
}

/// A fitted model that scores items for users. Higher scores are better.
pub trait Scorer: Send + Sync {
    /// Number of items scored (the item universe of the training data).
    fn n_items(&self) -> usize;

    /// The interactions the model was fitted on (for `exclude_seen`).
    fn train(&self) -> &Interactions;

    /// Writes the score of every item for `user` into `out`
    /// (`out.len() == n_items()`).
    fn score_all(&self, user: u32, out: &mut [f32]);

    /// Scores of selected `items` for `user` into `out` (same length).
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        let mut all = vec![0.0; self.n_items()];
        self.score_all(user, &mut all);
        for (o, &i) in out.iter_mut().zip(items) {
            *o = all[i as usize];
        }
    }

    /// True when [`Scorer::save_model`] writes this kind of model (factor
    /// models, EASE, SVD, two-tower).
    fn has_file_format(&self) -> bool {
        false
    }

    /// Saves the fitted model to `path` (atomically) when its kind has a
    /// file format (factor models, EASE, SVD, two-tower); load it back with
    /// [`persist::load_scorer`]. Other kinds answer an error naming them.
    fn save_model(&self, path: &std::path::Path) -> Result<()> {
        Err(Error::InvalidData(format!(
            "{}: this kind of model has no file format (factor models, EASE, SVD and two-tower do)",
            path.display()
        )))
    }

    /// The learning curve of an iterative model's fit (the epoch early
    /// stopping kept, per-epoch loss and validation metric); `None` for
    /// models fitted in one step.
    fn learning_curve(&self) -> Option<&crate::models::training::LearningCurve> {
        None
    }

    /// [`Scorer::recommend`] for many `users` (lists in the same order),
    /// users in parallel; factor models score blocks of users with one
    /// matrix product each.
    fn recommend_many(&self, users: &[u32], k: usize, exclude_seen: bool) -> Vec<Vec<(u32, f32)>> {
        use rayon::prelude::*;
        users
            .par_iter()
            .map(|&u| self.recommend(u, k, exclude_seen))
            .collect()
    }

    /// True when scores are calibrated probabilities (enables LogLoss).
    fn outputs_probabilities(&self) -> bool {
        false
    }

    /// True when scores are predicted ratings (the rating protocol needs
    /// them).
    fn predicts_ratings(&self) -> bool {
        false
    }

    /// The top `k` items `(item, score)` for `user`, best first, ties by item
    /// index ascending; with `exclude_seen`, items of the user in `train()`
    /// are never returned.
    fn recommend(&self, user: u32, k: usize, exclude_seen: bool) -> Vec<(u32, f32)> {
        let mut scores = vec![0.0; self.n_items()];
        self.score_all(user, &mut scores);
        let seen: &[u32] = if exclude_seen {
            self.train().user_items(user)
        } else {
            &[]
        };
        masked_top_k(&mut scores, &[seen], k)
            .into_iter()
            .map(|i| (i, scores[i as usize]))
            .collect()
    }
}

/// Models reachable by name from the CLI and configs.
pub const MODEL_NAMES: [&str; 9] = [
    "popularity",
    "random",
    "itemcf",
    "usercf",
    "als",
    "bpr",
    "ease",
    "svd",
    "svdpp",
];

/// The deep architectures' names (with the `deep` feature), as the
/// "known models" part of an error lists them.
pub(crate) fn deep_names() -> &'static str {
    if cfg!(feature = "deep") {
        ", deepfm, xdeepfm, attention_deepfm, wide_deep, dcn, dlrm, two_tower"
    } else {
        ""
    }
}

/// Builds a model from its name and `key=value` parameters.
pub fn model_from_name(name: &str, params: &[(String, String)]) -> Result<Box<dyn Fit>> {
    let mut model: Box<dyn Fit> = match name.to_ascii_lowercase().as_str() {
        "popularity" | "pop" => Box::new(Popularity::default()),
        "random" => Box::new(Random::default()),
        "itemcf" | "itemknn" => Box::new(ItemCF::default()),
        "usercf" | "userknn" => Box::new(UserCF::default()),
        "als" => Box::new(Als::default()),
        "bpr" => Box::new(Bpr::default()),
        "ease" => Box::new(Ease::default()),
        "svd" | "funksvd" | "biasedmf" => Box::new(Svd::params()),
        "svdpp" | "svd++" => Box::new(Svd::plus_plus()),
        #[cfg(feature = "deep")]
        "two_tower" | "twotower" => Box::new(tower::TwoTower::default()),
        other => {
            #[cfg(feature = "deep")]
            if let Some(arch) = deep::Arch::from_name(other) {
                let mut m = deep::CtrParams::new(arch);
                for (k, v) in params {
                    Fit::set_param(&mut m, k, v)?;
                }
                return Ok(Box::new(m));
            }
            return Err(Error::Config(format!(
                "unknown model {other:?}; known models: {}{}",
                MODEL_NAMES.join(", "),
                deep_names()
            )));
        }
    };
    for (k, v) in params {
        Fit::set_param(model.as_mut(), k, v)?;
    }
    Ok(model)
}

/// Checks one numeric hyper-parameter before any work: finite and
/// satisfying `ok` (described by `rule`, e.g. "≥ 0"); the error names it.
pub(crate) fn check_number(name: &str, value: f64, ok: bool, rule: &str) -> Result<()> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(Error::param(
            name,
            format!("{value} is not a finite number {rule}"),
        ))
    }
}

/// Refuses a fit whose factor matrices alone (`floats` f32 values) would
/// not fit in the memory this machine has available, naming `name`.
pub(crate) fn check_factor_memory(name: &str, floats: u128) -> Result<()> {
    let bytes = floats.saturating_mul(4);
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemAvailable:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u128>().ok())
            .map(|kb| kb * 1024)
    });
    // Without /proc/meminfo: a documented cap of 1 TiB.
    let limit = available.unwrap_or(1 << 40);
    if bytes > limit {
        return Err(Error::param(
            name,
            format!(
                "the factor matrices alone would take {:.1} GiB, more than the {:.1} GiB available",
                bytes as f64 / (1u64 << 30) as f64,
                limit as f64 / (1u64 << 30) as f64
            ),
        ));
    }
    Ok(())
}

/// Parses `value` for parameter `key`.
pub(crate) fn parse_param<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::param(key, format!("cannot parse {value:?}")))
}

/// The error for an unknown parameter name.
pub(crate) fn unknown_param(model: &str, key: &str, known: &[&str]) -> Error {
    let list = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    Error::param(
        key,
        format!("{model} has no such parameter (known: {list})"),
    )
}
