//! The contract of models on labelled feature rows (CTR: Criteo, Avazu,
//! MovieLens CTR): hyper-parameters implementing [`FitRows`] are fitted on
//! a [`FeatureTask`] into a [`RowScorer`], and eval's pointwise protocol
//! (`eval::evaluate_rows`, `eval::compare_rows`) measures every one of them
//! with the same code. [`BaseRate`] is the contract's baseline: the
//! training click rate for every row.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::RawFrame;
use crate::features::{FeatureEncoders, FeatureRows, FeatureTask};
use crate::{Error, Result};

/// Hyper-parameters that can be fitted on a [`FeatureTask`].
pub trait FitRows: Send + Sync {
    /// Model name as reports and the CLI spell it (`base_rate`, `deepfm`).
    fn name(&self) -> String;
    /// Every hyper-parameter as `(name, value)` pairs.
    fn params(&self) -> Vec<(String, String)>;
    /// Sets one hyper-parameter from text; unknown names are an error
    /// listing the known ones.
    fn set_param(&mut self, key: &str, value: &str) -> Result<()>;
    /// Checks the hyper-parameters before any work.
    fn check(&self) -> Result<()>;
    /// Checks, then fits on `task.train` (validating and early-stopping on
    /// `task.validation` when the model iterates).
    fn fit_rows(&self, task: &FeatureTask) -> Result<Box<dyn RowScorer>>;
}

/// A fitted model that scores labelled feature rows.
pub trait RowScorer: Send + Sync {
    /// Model name for reports.
    fn name(&self) -> String;
    /// Its hyper-parameters and what training chose (kept epoch,
    /// validation metric), for reports.
    fn params(&self) -> Vec<(String, String)>;
    /// The encoders fitted on the training rows (`None` for a model that
    /// scores something else, e.g. a network trained on MovieLens pairs).
    fn encoders(&self) -> Option<&FeatureEncoders>;
    /// One score per row, in row order (`[rows.len()]`): P(label = 1) when
    /// [`RowScorer::outputs_probabilities`]. Rows encoded by other encoders
    /// are an error.
    fn score_rows(&self, rows: &FeatureRows) -> Result<Vec<f32>>;
    /// True when scores are calibrated probabilities (enables LogLoss).
    fn outputs_probabilities(&self) -> bool {
        true
    }
    /// Seconds the fit took.
    fn fit_seconds(&self) -> f64;
    /// The seed of the fit (and of the protocol's bootstrap).
    fn seed(&self) -> u64;
    /// Encodes raw rows with the model's encoders (never refitted).
    fn encode(&self, frame: &RawFrame) -> Result<FeatureRows> {
        self.encoders()
            .ok_or_else(|| Error::Config(format!("{} has no feature encoders", self.name())))?
            .encode(frame)
    }
}

/// Checks that `rows` have the field layout of `encoders` (the check every
/// [`RowScorer::score_rows`] does first).
pub fn check_rows(encoders: &FeatureEncoders, rows: &FeatureRows) -> Result<()> {
    use crate::features::FieldKind;
    let (s, d, _) = encoders.schema.counts();
    let n = rows.len().max(1);
    let bad = || {
        Error::Config(format!(
            "{}: the rows were not encoded by this model's encoders (encode them with model.encode)",
            rows.source.display()
        ))
    };
    if rows.rows.sparse.len() / n != s || rows.rows.dense.len() / n != d {
        return Err(bad());
    }
    // Every id inside its field's vocabulary (ids index the model's tables).
    let b = &rows.rows;
    let wq = b.sequences.len() / n;
    let (mut sc, mut qc) = (0, 0);
    for f in &encoders.schema.fields {
        match f.kind {
            FieldKind::Sparse => {
                if b.sparse
                    .iter()
                    .skip(sc)
                    .step_by(s.max(1))
                    .any(|&i| i as usize >= f.vocab)
                {
                    return Err(bad());
                }
                sc += 1;
            }
            FieldKind::Sequence { max_len, .. } => {
                if qc + max_len > wq {
                    return Err(bad());
                }
                if (0..rows.len()).any(|r| {
                    b.sequences[r * wq + qc..r * wq + qc + max_len]
                        .iter()
                        .any(|&i| i as usize >= f.vocab)
                }) {
                    return Err(bad());
                }
                qc += max_len;
            }
            FieldKind::Dense => {}
        }
    }
    Ok(())
}

/// The training rows' click rate as every row's score (AUC 0.5, the
/// LogLoss of knowing nothing but the base rate): the floor every CTR model
/// must clear.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaseRate {
    /// Seed of the evaluation's bootstrap. Defaults to 42.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_seed() -> u64 {
    42
}

impl BaseRate {
    /// The hyper-parameters (only a seed).
    pub fn params() -> BaseRate {
        BaseRate { seed: 42 }
    }
    /// Sets the seed. Defaults to 42.
    pub fn seed(mut self, seed: u64) -> BaseRate {
        self.seed = seed;
        self
    }
}

/// A fitted [`BaseRate`].
#[derive(Debug, Clone)]
pub struct BaseRateModel {
    /// Positives / rows of the training rows.
    pub rate: f32,
    encoders: FeatureEncoders,
    seed: u64,
    seconds: f64,
}

impl FitRows for BaseRate {
    fn name(&self) -> String {
        "base_rate".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        super::params::params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        super::params::set_param_of(self, "base_rate", key, value, &[], |_| Ok(()))
    }
    fn check(&self) -> Result<()> {
        Ok(())
    }
    fn fit_rows(&self, task: &FeatureTask) -> Result<Box<dyn RowScorer>> {
        let t = Instant::now();
        let labels = &task.train.rows.labels;
        if labels.is_empty() {
            return Err(Error::InvalidData(format!(
                "{}: no training rows",
                task.name
            )));
        }
        let rate = labels.iter().filter(|&&l| l > 0.5).count() as f32 / labels.len() as f32;
        Ok(Box::new(BaseRateModel {
            rate,
            encoders: task.encoders.clone(),
            seed: self.seed,
            seconds: t.elapsed().as_secs_f64(),
        }))
    }
}

impl RowScorer for BaseRateModel {
    fn name(&self) -> String {
        "base_rate".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        vec![
            ("seed".into(), self.seed.to_string()),
            ("rate".into(), format!("{:.4}", self.rate)),
        ]
    }
    fn encoders(&self) -> Option<&FeatureEncoders> {
        Some(&self.encoders)
    }
    fn score_rows(&self, rows: &FeatureRows) -> Result<Vec<f32>> {
        check_rows(&self.encoders, rows)?;
        Ok(vec![self.rate; rows.len()])
    }
    fn fit_seconds(&self) -> f64 {
        self.seconds
    }
    fn seed(&self) -> u64 {
        self.seed
    }
}

/// Row models reachable by name from the CLI and configs.
pub const ROW_MODEL_NAMES: [&str; 10] = [
    "base_rate",
    "lr",
    "poly2",
    "fm",
    "ffm",
    "lsplm",
    "lsplm_kmeans",
    "lsplm_tree",
    "gbdt",
    "gbdt_lr",
];

/// Builds a row model from its name and `key=value` parameters (the deep
/// architectures by their names, with the `deep` feature).
pub fn row_model_from_name(name: &str, params: &[(String, String)]) -> Result<Box<dyn FitRows>> {
    let mut model: Box<dyn FitRows> = match name.to_ascii_lowercase().as_str() {
        "base_rate" => Box::new(BaseRate::params()),
        "lsplm_kmeans" => Box::new(super::ctr::PartitionedLr::kmeans()),
        "lsplm_tree" => Box::new(super::ctr::PartitionedLr::tree()),
        "gbdt" => Box::new(super::ctr::Gbdt::trees()),
        "gbdt_lr" => Box::new(super::ctr::Gbdt::lr()),
        other if super::ctr::ShallowKind::from_name(other).is_some() => {
            Box::new(super::ctr::ShallowCtr::new(
                super::ctr::ShallowKind::from_name(other).expect("checked"),
            ))
        }
        #[cfg(feature = "deep")]
        other if super::deep::Arch::from_name(other).is_some() => Box::new(
            super::deep::CtrParams::new(super::deep::Arch::from_name(other).expect("checked")),
        ),
        other => {
            return Err(Error::Config(format!(
                "unknown row model {other:?}; known: {}{}",
                ROW_MODEL_NAMES.join(", "),
                super::deep_names()
            )));
        }
    };
    for (k, v) in params {
        model.set_param(k, v)?;
    }
    Ok(model)
}
