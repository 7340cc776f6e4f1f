//! The classic CTR chain on feature rows: logistic regression, Poly2
//! (LR + hashed second-order crosses), FM (Rendle 2010) and FFM (Juan et
//! al. 2016), trained by SGD, Adagrad or FTRL-Proximal (McMahan et al.
//! 2013), per sample or in mini-batches, with early stopping on validation
//! AUC or LogLoss. One hyper-parameter type, [`ShallowCtr`], chooses the
//! model by [`ShallowKind`]; every one is a [`FitRows`] measured by eval's
//! pointwise protocol like every other row model.
//!
//! ```
//! # use recsys::prelude::*;
//! let task = FeatureTask::toy_ctr(2_000, 42)?;
//! let fm = ShallowCtr::fm().epochs(5).fit(&task)?;
//! let report = recsys::eval::evaluate_rows(&fm, &task.test, &task.name)?;
//! assert!(report.get("AUC").unwrap() > 0.6);
//! # Ok::<(), recsys::Error>(())
//! ```

mod boost;
mod gbdt;
mod kernel;
mod layout;
mod model;
mod partitioned;
mod tune;

pub use gbdt::{Gbdt, GbdtHead, GbdtModel, GbdtTuned};
pub use layout::HASH_SEED;
pub use model::{CtrCurve, CtrEpoch, ShallowCtrModel};
pub use partitioned::{PartitionedLr, PartitionedLrModel, Partitioner};
pub use tune::{Trial, Tuned, tune};

use serde::{Deserialize, Serialize};

use super::check_number;
use super::params::{params_of, set_param_of};
use super::rows::{FitRows, RowScorer};
use crate::data::CriteoStream;
use crate::features::{FeatureEncoders, FeatureRows, FeatureTask};
use crate::{Error, Result};

/// Which model of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ShallowKind {
    /// Logistic regression: `σ(b + Σ wᵢxᵢ)`.
    Lr,
    /// LR plus a weight for every pair of features of different fields,
    /// hashed into `cross_buckets` (xxh3, fixed seed).
    Poly2,
    /// Factorization machine: LR plus `⟨vᵢ, vⱼ⟩ xᵢxⱼ` for every pair of
    /// features of different fields, in O(k·n).
    Fm,
    /// Field-aware FM: feature i has one vector per field, and the pair
    /// (i in field a, j in field b) interacts through `⟨v_{i,b}, v_{j,a}⟩`.
    Ffm,
    /// LS-PLM / MLR (Gai et al. 2017): `factors` = m regions, a softmax
    /// gate over them times one logistic model per region, trained jointly
    /// with L1 (`l1`) and the L2,1 group norm of each feature's weights
    /// (`l21`), as the paper's objective (here by proximal Adagrad / SGD
    /// steps rather than its OWL-QN variant).
    Lsplm,
}

impl ShallowKind {
    /// Every kind, in the chain's order.
    pub const ALL: [ShallowKind; 5] = [
        ShallowKind::Lr,
        ShallowKind::Poly2,
        ShallowKind::Fm,
        ShallowKind::Ffm,
        ShallowKind::Lsplm,
    ];

    /// The model's name (`lr`, `poly2`, `fm`, `ffm`).
    pub fn name(self) -> &'static str {
        match self {
            ShallowKind::Lr => "lr",
            ShallowKind::Poly2 => "poly2",
            ShallowKind::Fm => "fm",
            ShallowKind::Ffm => "ffm",
            ShallowKind::Lsplm => "lsplm",
        }
    }
    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<ShallowKind> {
        ShallowKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The optimizer of every parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum CtrOptimizer {
    /// Plain SGD with a constant rate; L1 by soft-thresholding.
    Sgd {
        #[serde(default = "default_rate")]
        learning_rate: f32,
    },
    /// Adagrad (per-coordinate rate `learning_rate / √(1 + Σ g²)`, as
    /// libffm); L1 by soft-thresholding.
    Adagrad {
        #[serde(default = "default_rate")]
        learning_rate: f32,
    },
    /// FTRL-Proximal on the linear weights (α, β; λ1 = `l1`, λ2 = `l2`):
    /// a weight whose `|z| ≤ λ1` is exactly 0 and stays out of the saved
    /// model. Latent vectors (FM, FFM) by Adagrad at rate α.
    Ftrl {
        #[serde(default = "default_alpha")]
        alpha: f32,
        #[serde(default = "default_beta")]
        beta: f32,
    },
}

fn default_rate() -> f32 {
    0.05
}
fn default_alpha() -> f32 {
    0.05
}
fn default_beta() -> f32 {
    1.0
}

/// The validation metric of early stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopOn {
    /// Validation AUC (higher is better).
    Auc,
    /// Validation LogLoss (lower is better).
    Logloss,
}

/// Hyper-parameters of LR, Poly2, FM and FFM (linfa style: setters
/// consume `self`, nothing runs before [`ShallowCtr::fit`]).
///
/// Training shuffles the rows every epoch under `seed`. With
/// `batch_size = 1` every row is one step (the classic per-sample
/// updates); with a larger batch, the batch's rows are scored in parallel
/// (rayon, `threads`) against the same parameters and their gradients are
/// summed in row order, so the result is the same bits for any number of
/// threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShallowCtr {
    model: ShallowKind,
    factors: usize,
    optimizer: CtrOptimizer,
    l1: f32,
    l2: f32,
    factor_l2: f32,
    l21: f32,
    init_std: f32,
    cross_buckets: usize,
    batch_size: usize,
    epochs: usize,
    #[serde(with = "super::training::patience_text")]
    early_stopping: Option<usize>,
    stop_on: StopOn,
    threads: usize,
    seed: u64,
    verbose: bool,
    /// Tests only: FFM through the gradient buffer even where it updates in
    /// place (the two must give the same bits).
    #[serde(skip)]
    pub(crate) buffered: bool,
}

impl ShallowCtr {
    /// The defaults of `kind`: LR and Poly2 by FTRL (α 0.05, β 1, λ1 0,
    /// λ2 0); FM (k = 16) and FFM (k = 4) by Adagrad (0.05); every model per
    /// sample, up to 30 epochs, early stopping on validation AUC after 2
    /// epochs without improvement, seed 42.
    pub fn new(kind: ShallowKind) -> ShallowCtr {
        let linear = matches!(kind, ShallowKind::Lr | ShallowKind::Poly2);
        ShallowCtr {
            model: kind,
            factors: match kind {
                ShallowKind::Ffm => 4,
                ShallowKind::Lsplm => 12,
                _ => 16,
            },
            optimizer: if linear {
                CtrOptimizer::Ftrl {
                    alpha: default_alpha(),
                    beta: default_beta(),
                }
            } else {
                CtrOptimizer::Adagrad {
                    learning_rate: default_rate(),
                }
            },
            l1: 0.0,
            l2: 0.0,
            factor_l2: 0.0,
            l21: 0.0,
            init_std: 0.01,
            cross_buckets: 1 << 20,
            batch_size: 1,
            epochs: 30,
            early_stopping: Some(2),
            stop_on: StopOn::Auc,
            threads: 0,
            seed: 42,
            verbose: false,
            buffered: false,
        }
    }
    /// Logistic regression.
    pub fn lr() -> ShallowCtr {
        Self::new(ShallowKind::Lr)
    }
    /// Poly2.
    pub fn poly2() -> ShallowCtr {
        Self::new(ShallowKind::Poly2)
    }
    /// Factorization machine.
    pub fn fm() -> ShallowCtr {
        Self::new(ShallowKind::Fm)
    }
    /// Field-aware factorization machine.
    pub fn ffm() -> ShallowCtr {
        Self::new(ShallowKind::Ffm)
    }
    /// LS-PLM (mixture of logistic regressions).
    pub fn lsplm() -> ShallowCtr {
        Self::new(ShallowKind::Lsplm)
    }
    /// Which model.
    pub fn kind(&self) -> ShallowKind {
        self.model
    }
    /// Latent dimension k (FM, FFM), or the regions m (LS-PLM, at most
    /// 64). Defaults to 16 (FM), 4 (FFM), 12 (LS-PLM, the paper's).
    pub fn factors(mut self, k: usize) -> Self {
        self.factors = k;
        self
    }
    /// The optimizer. Defaults to FTRL (LR, Poly2), Adagrad (FM, FFM).
    pub fn optimizer(mut self, o: CtrOptimizer) -> Self {
        self.optimizer = o;
        self
    }
    /// L1 on the linear weights (FTRL's λ1). Defaults to 0.
    pub fn l1(mut self, v: f32) -> Self {
        self.l1 = v;
        self
    }
    /// L2 on the linear weights (FTRL's λ2). Defaults to 0.
    pub fn l2(mut self, v: f32) -> Self {
        self.l2 = v;
        self
    }
    /// L2 on the latent vectors (FM, FFM). Defaults to 0.
    pub fn factor_l2(mut self, v: f32) -> Self {
        self.factor_l2 = v;
        self
    }
    /// LS-PLM's L2,1 penalty: the norm of each feature's 2m weights (a
    /// whole feature drops out of the model at once). Defaults to 0.
    pub fn l21(mut self, v: f32) -> Self {
        self.l21 = v;
        self
    }
    /// Standard deviation of the latent vectors' normal initialisation.
    /// Defaults to 0.01.
    pub fn init_std(mut self, v: f32) -> Self {
        self.init_std = v;
        self
    }
    /// Poly2's hash buckets for the crosses. Defaults to 2²⁰.
    pub fn cross_buckets(mut self, n: usize) -> Self {
        self.cross_buckets = n;
        self
    }
    /// Rows per optimizer step (1 = per sample). Defaults to 1.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Maximum epochs. Defaults to 30.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// Stop after this many epochs without a better validation metric
    /// (`None`: train every epoch, keep the last). Defaults to 2.
    pub fn early_stopping(mut self, patience: Option<usize>) -> Self {
        self.early_stopping = patience;
        self
    }
    /// The early-stopping metric. Defaults to AUC.
    pub fn stop_on(mut self, m: StopOn) -> Self {
        self.stop_on = m;
        self
    }
    /// Threads scoring a mini-batch (0 = rayon's pool). Defaults to 0.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }
    /// Seed of the initialisation and the epochs' order. Defaults to 42.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// One line per epoch. Defaults to false.
    pub fn verbose(mut self, yes: bool) -> Self {
        self.verbose = yes;
        self
    }

    /// Checks every hyper-parameter (finite, in range) before any work.
    pub fn check(&self) -> Result<()> {
        let fin =
            |name: &str, v: f32, ok: bool, rule: &str| check_number(name, f64::from(v), ok, rule);
        fin("l1", self.l1, self.l1 >= 0.0, "≥ 0")?;
        fin("l2", self.l2, self.l2 >= 0.0, "≥ 0")?;
        fin("factor_l2", self.factor_l2, self.factor_l2 >= 0.0, "≥ 0")?;
        fin("l21", self.l21, self.l21 >= 0.0, "≥ 0")?;
        fin("init_std", self.init_std, self.init_std >= 0.0, "≥ 0")?;
        match self.optimizer {
            CtrOptimizer::Sgd { learning_rate } | CtrOptimizer::Adagrad { learning_rate } => {
                fin("learning_rate", learning_rate, learning_rate > 0.0, "> 0")?
            }
            CtrOptimizer::Ftrl { alpha, beta } => {
                fin("alpha", alpha, alpha > 0.0, "> 0")?;
                fin("beta", beta, beta >= 0.0, "≥ 0")?;
            }
        }
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(Error::param(name, "must be ≥ 1"))
            } else {
                Ok(())
            }
        };
        positive("batch_size", self.batch_size)?;
        positive("epochs", self.epochs)?;
        if matches!(
            self.model,
            ShallowKind::Fm | ShallowKind::Ffm | ShallowKind::Lsplm
        ) {
            positive("factors", self.factors)?;
        }
        if self.model == ShallowKind::Lsplm && self.factors > kernel::MAX_REGIONS {
            return Err(Error::param(
                "factors",
                format!("LS-PLM takes at most {} regions", kernel::MAX_REGIONS),
            ));
        }
        if self.model == ShallowKind::Poly2 {
            positive("cross_buckets", self.cross_buckets)?;
        }
        if self.early_stopping == Some(0) {
            return Err(Error::param("early_stopping", "must be ≥ 1 or off"));
        }
        Ok(())
    }

    /// Checks, then trains on `task.train`, validating (and early
    /// stopping) on `task.validation` when it has one.
    pub fn fit(&self, task: &FeatureTask) -> Result<ShallowCtrModel> {
        self.check()?;
        self.in_pool(|| model::fit(self, task, None))
    }

    /// Checks, then trains on rows streamed from a file chunk by chunk
    /// (memory bounded by one chunk and the model, whatever the file's
    /// size), encoded by `encoders` (fitted beforehand, e.g. on a first
    /// chunk; never refitted); each epoch is one pass over the file, each
    /// chunk shuffled on its own. Validates and early-stops on
    /// `validation` when given.
    pub fn fit_streamed(
        &self,
        encoders: &FeatureEncoders,
        train: &CriteoStream,
        validation: Option<&FeatureRows>,
    ) -> Result<ShallowCtrModel> {
        self.check()?;
        if let Some(v) = validation {
            crate::models::rows::check_rows(encoders, v)?;
        }
        self.in_pool(|| {
            model::train(
                self,
                encoders,
                model::Source::Stream(train),
                validation,
                None,
            )
        })
    }

    fn in_pool<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        if self.threads > 0 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .map_err(|e| Error::Config(format!("threads: {e}")))?;
            pool.install(f)
        } else {
            f()
        }
    }
}

const ALIASES: [(&str, &str); 3] = [
    ("learning_rate", "optimizer.learning_rate"),
    ("alpha", "optimizer.alpha"),
    ("beta", "optimizer.beta"),
];

impl FitRows for ShallowCtr {
    fn name(&self) -> String {
        self.model.name().into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let name = self.model.name();
        set_param_of(self, name, key, value, &ALIASES, |_| Ok(()))
    }
    fn check(&self) -> Result<()> {
        ShallowCtr::check(self)
    }
    fn fit_rows(&self, task: &FeatureTask) -> Result<Box<dyn RowScorer>> {
        Ok(Box::new(self.fit(task)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_name() {
        for k in ShallowKind::ALL {
            assert_eq!(ShallowKind::from_name(k.name()), Some(k));
            assert!(crate::models::ROW_MODEL_NAMES.contains(&k.name()));
            assert!(!ShallowCtr::grid(k, 1).is_empty());
        }
    }

    #[test]
    fn params_round_trip_and_name_bad_values() {
        let mut p = ShallowCtr::lr();
        let listed = FitRows::params(&p);
        let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            keys.contains(&"alpha") && keys.contains(&"early_stopping"),
            "{keys:?}"
        );
        for (k, v) in &listed {
            FitRows::set_param(&mut p, k, v).unwrap();
        }
        assert_eq!(p, ShallowCtr::lr());
        FitRows::set_param(&mut p, "optimizer", "adagrad").unwrap();
        FitRows::set_param(&mut p, "learning_rate", "0.1").unwrap();
        assert_eq!(p.optimizer, CtrOptimizer::Adagrad { learning_rate: 0.1 });
        let e = ShallowCtr::fm()
            .l2(f32::INFINITY)
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("l2"), "{e}");
        let e = ShallowCtr::fm()
            .optimizer(CtrOptimizer::Ftrl {
                alpha: f32::NAN,
                beta: 1.0,
            })
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("alpha"), "{e}");
        let e = FitRows::set_param(&mut p, "alpa", "1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alpa"), "{e}");
    }
}
