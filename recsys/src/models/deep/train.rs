//! Hyper-parameters and the training loop of the CTR networks: BCE with
//! logits, Adam/AdamW/SGD, constant/cosine/plateau learning rates, gradient
//! clipping, L2 on embeddings, early stopping on validation NDCG@10, best
//! and last checkpoints with resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{
    AdamConfig, AdamWConfig, GradientsParams, SgdConfig, decay::WeightDecayConfig,
    momentum::MomentumConfig,
};
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::device::{Compute, ResolvedDevice};
use super::layers::{DnnInit, InputPlan};
use super::listwise::{Loss, batch_loss, session_batches};
use super::model::CtrModel;
use super::net::{Arch, CtrNet, NetConfig};
use crate::features::{CtrBatch, FeatureTask, MovieLensCtr};
use crate::{Error, Result};

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OptimizerKind {
    /// Adam (β 0.9/0.999, ε 1e-8 as in PyTorch).
    Adam,
    /// AdamW with decoupled weight decay.
    AdamW { weight_decay: f64 },
    /// SGD with (optional, 0 = none) momentum.
    Sgd { momentum: f64 },
}

/// The learning rate over epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LrSchedule {
    Constant,
    /// Cosine annealing from `lr` to `min_lr` over `max_epochs`.
    Cosine {
        min_lr: f64,
    },
    /// Multiply by `factor` after `patience` epochs without a better
    /// validation NDCG@10 (not below `min_lr`).
    ReduceOnPlateau {
        factor: f64,
        patience: usize,
        min_lr: f64,
    },
}

/// When an epoch's validation value counts as better than the kept
/// epoch's (the early-stopping rule).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Improvement {
    /// Any higher value.
    #[default]
    Any,
    /// Higher, and the difference significant: a paired sign-flip
    /// permutation test over the validation queries (or sampled users)
    /// gives `p < alpha` against the kept epoch
    /// ([`crate::metrics::bootstrap::paired`]). A flat, noisy validation
    /// curve then keeps the earliest epoch rather than its noise maximum.
    /// Needs a per-query validation metric (NDCG@10), not AUC.
    Significant { alpha: f64 },
}

impl Improvement {
    /// [`Improvement::Significant`] at `alpha` = 0.05.
    pub fn significant() -> Improvement {
        Improvement::Significant { alpha: 0.05 }
    }

    /// True when `candidate` (mean, values per query) is better than `kept`
    /// under this rule; the permutation test is seeded by `seed`. Against
    /// no kept values (the first validated epoch) a higher mean suffices.
    pub(crate) fn better(self, candidate: (f64, &[f64]), kept: (f64, &[f64]), seed: u64) -> bool {
        let higher = candidate.0 > kept.0;
        match self {
            Improvement::Any => higher,
            Improvement::Significant { alpha } => {
                higher
                    && (kept.1.is_empty()
                        || crate::metrics::bootstrap::paired(kept.1, candidate.1, seed).p_value
                            < alpha)
            }
        }
    }
}

/// Hyper-parameters of a CTR network and its training. Build with
/// [`DeepFm::params`] and friends; [`CtrParams::fit`] trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CtrParams {
    pub net: NetConfig,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub schedule: LrSchedule,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Epochs without a better validation value (sampled NDCG@10 on
    /// MovieLens CTR, AUC on feature rows) before stopping (0 = never stop
    /// early).
    pub patience: usize,
    /// When a validation value is better than the kept epoch's.
    pub improvement: Improvement,
    /// Clip the gradient norm of every parameter tensor to this value.
    pub grad_clip: Option<f64>,
    /// `λ Σ ‖embedding‖²` added to the loss of every batch.
    pub l2_embedding: f64,
    pub seed: u64,
    pub compute: Compute,
    /// Writes `best/` and `last/` checkpoints here after every epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from `checkpoint_dir/last` when it exists.
    pub resume: bool,
    /// Per-epoch lines (and an indicatif bar in terminals).
    pub verbose: bool,
    /// Rows per forward pass when scoring.
    pub eval_batch: usize,
    /// The training loss. Listwise losses train on batches of whole
    /// queries (the task's groups).
    pub loss: Loss,
    /// Listwise losses: queries (sessions) per batch, never split.
    pub queries_per_batch: usize,
    /// Listwise losses: close a batch before it passes this many rows
    /// (a longer query is a batch of its own). None: no cap.
    pub max_batch_rows: Option<usize>,
}

impl Default for CtrParams {
    fn default() -> Self {
        CtrParams {
            net: NetConfig::default(),
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            schedule: LrSchedule::Constant,
            batch_size: 1024,
            max_epochs: 20,
            patience: 3,
            improvement: Improvement::Any,
            grad_clip: None,
            l2_embedding: 0.0,
            seed: 42,
            compute: Compute::Auto,
            checkpoint_dir: None,
            resume: false,
            verbose: true,
            eval_batch: 65_536,
            loss: Loss::Bce,
            queries_per_batch: 16,
            max_batch_rows: None,
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident : $t:ty => $($field:ident).+) => {
        $(#[$doc])*
        pub fn $name(mut self, v: $t) -> Self {
            self.$($field).+ = v;
            self
        }
    };
}

impl CtrParams {
    /// Defaults for `arch`: the peer harness's DeepFM sizes and training;
    /// for DLRM its DLRM's (16-dim tables, bottom 64-64-64 → 16, top
    /// 64-64-64 → 1, Xavier-normal layers, embeddings N(0, 1e-4²)).
    pub fn new(arch: Arch) -> Self {
        let mut p = CtrParams::default();
        p.net.arch = arch;
        if arch == Arch::Dlrm {
            p.net.hidden = vec![64, 64, 64];
            p.net.bottom = vec![64, 64, 64];
            p.net.dnn_init = DnnInit::Xavier;
            p.net.init_std = 1e-4;
        }
        p
    }

    setter!(/// Common field dimension (FM, CIN, attention). Defaults to 16.
        fm_dim: usize => net.fm_dim);
    setter!(/// DNN hidden sizes. Defaults to `[128, 64]`.
        hidden: Vec<usize> => net.hidden);
    setter!(/// Initialisation of the DNN's Linear layers. Defaults to
        /// [`DnnInit::He`]; [`DnnInit::TorchDefault`] is PyTorch's.
        dnn_init: DnnInit => net.dnn_init);
    setter!(/// BatchNorm in the DNN. Defaults to false.
        batch_norm: bool => net.batch_norm);
    setter!(/// Dropout probability in the DNN (and attention). Defaults to 0.
        dropout: f64 => net.dropout);
    setter!(/// CIN feature maps per layer (xDeepFM). Defaults to `[32, 32]`.
        cin_layers: Vec<usize> => net.cin_layers);
    setter!(/// Self-attention layers (AttentionDeepFM). Defaults to 2.
        attention_layers: usize => net.attention_layers);
    setter!(/// Attention heads (must divide `fm_dim`). Defaults to 2.
        attention_heads: usize => net.attention_heads);
    setter!(/// Cross layers (DCN). Defaults to 3.
        cross_layers: usize => net.cross_layers);
    setter!(/// Optimiser. Defaults to Adam.
        optimizer: OptimizerKind => optimizer);
    setter!(/// Learning rate. Defaults to 1e-3.
        lr: f64 => lr);
    setter!(/// Learning-rate schedule. Defaults to constant.
        schedule: LrSchedule => schedule);
    setter!(/// Rows per training batch. Defaults to 1024.
        batch_size: usize => batch_size);
    setter!(/// Epoch budget. Defaults to 20.
        max_epochs: usize => max_epochs);
    setter!(/// Early-stopping patience in epochs (0 = off). Defaults to 3.
        patience: usize => patience);
    setter!(/// When an epoch counts as better than the kept one (early
        /// stopping). Defaults to [`Improvement::Any`].
        improvement: Improvement => improvement);
    setter!(/// Gradient-norm clipping. Defaults to none.
        grad_clip: Option<f64> => grad_clip);
    setter!(/// L2 weight on the embeddings. Defaults to 0.
        l2_embedding: f64 => l2_embedding);
    setter!(/// Seed of the initialisation and of dropout. Defaults to 42.
        seed: u64 => seed);
    setter!(/// Device. Defaults to [`Compute::Auto`].
        compute: Compute => compute);
    setter!(/// Per-epoch output. Defaults to true.
        verbose: bool => verbose);
    setter!(/// The training loss. Defaults to [`Loss::Bce`].
        loss: Loss => loss);
    setter!(/// Listwise losses: whole queries per batch. Defaults to 16.
        queries_per_batch: usize => queries_per_batch);
    setter!(/// DLRM: bottom MLP hidden sizes (a layer to `fm_dim` follows).
        /// Defaults to `[64, 64, 64]`.
        bottom: Vec<usize> => net.bottom);
    setter!(/// DLRM: the interaction. Defaults to [`Interaction::Dot`].
        interaction: super::dlrm::Interaction => net.interaction);

    /// Writes checkpoints to `dir` (`best/`, `last/`). Defaults to none.
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Continue from the last checkpoint when there is one. Defaults to
    /// false.
    pub fn resume(mut self, yes: bool) -> Self {
        self.resume = yes;
        self
    }

    /// Checks the values.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.lr <= 0.0 || !self.lr.is_finite() {
            return bad(format!("lr must be positive, got {}", self.lr));
        }
        if self.batch_size == 0 || self.eval_batch == 0 {
            return bad("batch sizes must be positive".into());
        }
        if self.net.fm_dim == 0 {
            return bad("fm_dim must be positive".into());
        }
        if !(0.0..1.0).contains(&self.net.dropout) {
            return bad(format!(
                "dropout must be in [0, 1), got {}",
                self.net.dropout
            ));
        }
        if self.net.arch == Arch::AttentionDeepFm
            && (self.net.attention_heads == 0 || self.net.fm_dim % self.net.attention_heads != 0)
        {
            return bad(format!(
                "attention_heads ({}) must divide fm_dim ({})",
                self.net.attention_heads, self.net.fm_dim
            ));
        }
        if self.net.arch == Arch::XDeepFm && self.net.cin_layers.is_empty() {
            return bad("xDeepFM needs at least one CIN layer".into());
        }
        if self.l2_embedding < 0.0 {
            return bad("l2_embedding must be ≥ 0".into());
        }
        self.loss.check()?;
        if let Improvement::Significant { alpha } = self.improvement {
            if !(alpha > 0.0 && alpha < 1.0) {
                return bad(format!("improvement.alpha must be in (0, 1), got {alpha}"));
            }
        }
        if self.queries_per_batch == 0 || self.max_batch_rows == Some(0) {
            return bad("queries_per_batch and max_batch_rows must be positive".into());
        }
        if self.net.arch == Arch::Dlrm
            && (self.net.bottom.contains(&0) || self.net.hidden.contains(&0))
        {
            return bad("DLRM's bottom and top layer sizes must be positive".into());
        }
        Ok(())
    }

    /// Trains on `task` (validation candidates for early stopping on
    /// sampled NDCG@10) and returns the fitted model with the best
    /// validation epoch's weights.
    pub fn fit(&self, task: &MovieLensCtr) -> Result<CtrModel> {
        self.check()?;
        if self.loss != Loss::Bce {
            return Err(Error::param(
                "loss",
                "MovieLens CTR pairs train with BCE; the other losses need a feature task",
            ));
        }
        self.check_schema(&task.schema)?;
        let dev = self.compute.resolve()?;
        Trainer::new(self, TrainData::Pairs(task), dev).run()
    }

    /// Trains on the rows of a feature task (Criteo, Avazu, any file),
    /// shuffled every epoch under `seed`, with early stopping on the
    /// validation rows' AUC (the pointwise protocol) when the task has
    /// them; the model keeps the best epoch's weights and the task's
    /// fitted encoders.
    pub fn fit_features(&self, task: &FeatureTask) -> Result<CtrModel> {
        self.check()?;
        if task.train.is_empty() {
            return Err(Error::InvalidData(format!(
                "{}: no training rows",
                task.name
            )));
        }
        if self.loss.is_listwise() && task.train.groups.is_none() {
            return Err(Error::param(
                "loss",
                format!(
                    "{} ranks the rows of a query: {} has no group (query) column",
                    self.loss.name(),
                    task.name
                ),
            ));
        }
        self.check_schema(task.schema())?;
        let dev = self.compute.resolve()?;
        Trainer::new(self, TrainData::Rows(task), dev).run()
    }

    /// What the network needs of the data (DLRM: vectors to interact).
    fn check_schema(&self, schema: &crate::features::DatasetSchema) -> Result<()> {
        if self.net.arch == Arch::Dlrm {
            super::dlrm::check_schema(schema, self.net.interaction)?;
        }
        Ok(())
    }

    pub(crate) fn build_optimizer(&self) -> burn::optim::ModuleOptimizer {
        let clip = self
            .grad_clip
            .map(|c| burn::optim::grad_clipping::GradientClippingConfig::Norm(c as f32));
        match self.optimizer {
            OptimizerKind::Adam => AdamConfig::new()
                .with_epsilon(1e-8)
                .with_grad_clipping(clip)
                .init(),
            OptimizerKind::AdamW { weight_decay } => AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(weight_decay as f32)
                .with_grad_clipping(clip)
                .init(),
            OptimizerKind::Sgd { momentum } => SgdConfig::new()
                .with_momentum((momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                }))
                .with_weight_decay(None::<WeightDecayConfig>)
                .with_gradient_clipping(clip)
                .init(),
        }
    }
}

/// Per-epoch record of a CTR fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtrEpoch {
    /// 1-based.
    pub epoch: usize,
    pub lr: f64,
    /// Mean training loss over the epoch's batches, weighted by rows
    /// (without the L2 term).
    pub loss: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub val_ndcg10: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub val_hr10: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub val_auc: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub val_logloss: f64,
    /// Seconds of sampling + all mini-batches.
    pub train_seconds: f64,
    /// Seconds of scoring the validation candidates.
    pub eval_seconds: f64,
}

/// Reads a number that JSON wrote as `null` (NaN: no validation) back
/// as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Training state written with every checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainState {
    params: CtrParams,
    epochs: Vec<CtrEpoch>,
    best_epoch: usize,
    /// The best validation value so far (see [`ValidationMetric`]).
    #[serde(deserialize_with = "nan_if_null", alias = "best_ndcg")]
    best_value: f64,
    /// The kept epoch's validation value per query (or sampled user), for
    /// [`Improvement::Significant`].
    #[serde(default)]
    best_values: Vec<f64>,
    lr: f64,
    since_best: usize,
    since_lr_change: usize,
}

/// Mean binary cross-entropy of `logits` `[B, 1]` against `labels` `[B,
/// 1]`, in the numerically stable form `max(x, 0) − x·y + ln(1 + e^{−|x|})`.
pub fn bce_with_logits(logits: Tensor<2>, labels: Tensor<2>) -> Tensor<1> {
    let pos = logits.clone().clamp_min(0.0);
    let soft = logits.clone().abs().neg().exp().log1p();
    (pos - logits * labels + soft).mean()
}

/// What a CTR network trains on.
#[derive(Clone, Copy)]
enum TrainData<'a> {
    /// MovieLens CTR: positives plus negatives re-drawn every epoch.
    Pairs(&'a MovieLensCtr),
    /// Fixed labelled rows, shuffled every epoch.
    Rows(&'a FeatureTask),
}

/// The validation value early stopping maximises, defined once for the CTR
/// networks: sampled NDCG@10 (1 positive + the task's negatives per user)
/// on MovieLens CTR, AUC over the validation rows (the pointwise protocol)
/// on feature tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValidationMetric {
    SampledNdcg10,
    Auc,
    /// NDCG@10 (gain `2^rel − 1`) over the validation queries of a task
    /// with graded labels.
    QueryNdcg10,
}

impl ValidationMetric {
    /// In words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            ValidationMetric::SampledNdcg10 => "NDCG@10 on the sampled validation candidates",
            ValidationMetric::Auc => "AUC on the validation rows (pointwise)",
            ValidationMetric::QueryNdcg10 => {
                "NDCG@10 over the validation queries (graded, gain 2^rel − 1)"
            }
        }
    }
}

/// One epoch's training rows, batched on demand.
enum EpochRows {
    Pairs {
        users: Vec<u32>,
        items: Vec<u32>,
        labels: Vec<f32>,
    },
    /// Row indices in this epoch's order.
    Rows(Vec<usize>),
    /// Batches of whole queries: per batch its rows and where each query
    /// starts (ending with the batch's length).
    Sessions(Vec<(Vec<usize>, Vec<usize>)>),
}

/// What a batch's loss compares the network's output with, beyond its 0/1
/// labels: the graded labels and, for listwise losses, where each query
/// starts (ending with the batch's length).
#[derive(Debug, Default)]
pub(crate) struct Targets {
    pub grades: Option<Vec<f32>>,
    pub starts: Option<Vec<usize>>,
}

impl EpochRows {
    fn of(data: TrainData<'_>, epoch: usize, p: &CtrParams) -> EpochRows {
        let seed = p.seed;
        if let (TrainData::Rows(t), true) = (data, p.loss.is_listwise()) {
            let groups = t.train.groups.as_deref().unwrap_or_default();
            return EpochRows::Sessions(session_batches(
                groups,
                p.queries_per_batch,
                p.max_batch_rows,
                seed,
                epoch,
            ));
        }
        match data {
            TrainData::Pairs(t) => {
                let (users, items, labels) = t.epoch_rows(epoch);
                EpochRows::Pairs {
                    users,
                    items,
                    labels,
                }
            }
            TrainData::Rows(t) => {
                use rand::SeedableRng;
                use rand::seq::SliceRandom;
                let mut idx: Vec<usize> = (0..t.train.len()).collect();
                let mut rng = rand::rngs::StdRng::seed_from_u64(
                    seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                idx.shuffle(&mut rng);
                EpochRows::Rows(idx)
            }
        }
    }

    /// Batches of this epoch with `batch_size` rows (listwise: as packed).
    fn batches(&self, batch_size: usize) -> usize {
        match self {
            EpochRows::Pairs { users, .. } => users.len().div_ceil(batch_size),
            EpochRows::Rows(idx) => idx.len().div_ceil(batch_size),
            EpochRows::Sessions(b) => b.len(),
        }
    }

    /// Batch `k` and its targets.
    fn batch(&self, data: TrainData<'_>, k: usize, batch_size: usize) -> (CtrBatch, Targets) {
        let range = |n: usize| (k * batch_size, ((k + 1) * batch_size).min(n));
        let grades_of = |t: &FeatureTask, idx: &[usize]| {
            t.train
                .grades
                .as_ref()
                .map(|g| idx.iter().map(|&i| g[i]).collect::<Vec<f32>>())
        };
        match (self, data) {
            (
                EpochRows::Pairs {
                    users,
                    items,
                    labels,
                },
                TrainData::Pairs(t),
            ) => {
                let (s, e) = range(users.len());
                (
                    t.encoder.encode(&users[s..e], &items[s..e], &labels[s..e]),
                    Targets::default(),
                )
            }
            (EpochRows::Rows(idx), TrainData::Rows(t)) => {
                let (s, e) = range(idx.len());
                let rows = &idx[s..e];
                (
                    t.train.gather(rows),
                    Targets {
                        grades: grades_of(t, rows),
                        starts: None,
                    },
                )
            }
            (EpochRows::Sessions(b), TrainData::Rows(t)) => {
                let (rows, starts) = &b[k];
                (
                    t.train.gather(rows),
                    Targets {
                        grades: grades_of(t, rows),
                        starts: Some(starts.clone()),
                    },
                )
            }
            _ => unreachable!("epoch rows come from the same data"),
        }
    }
}

impl TrainData<'_> {
    fn schema(&self) -> &crate::features::DatasetSchema {
        match self {
            TrainData::Pairs(t) => &t.schema,
            TrainData::Rows(t) => t.schema(),
        }
    }

    fn metric(&self) -> ValidationMetric {
        match self {
            TrainData::Pairs(_) => ValidationMetric::SampledNdcg10,
            TrainData::Rows(t) if t.train.grades.is_some() && t.train.groups.is_some() => {
                ValidationMetric::QueryNdcg10
            }
            TrainData::Rows(_) => ValidationMetric::Auc,
        }
    }

    fn has_validation(&self) -> bool {
        match self {
            TrainData::Pairs(t) => !t.val.is_empty(),
            TrainData::Rows(t) => t.validation.as_ref().is_some_and(|v| !v.is_empty()),
        }
    }

    fn describe(&self) -> String {
        match self {
            TrainData::Pairs(t) => format!("{} train positives", t.train.len()),
            TrainData::Rows(t) => format!("{} train rows ({})", t.train.len(), t.name),
        }
    }

    fn inputs(&self) -> super::model::CtrInputs {
        match self {
            TrainData::Pairs(t) => super::model::CtrInputs::Pairs {
                encoder: t.encoder.clone(),
                train: t.train.clone(),
            },
            TrainData::Rows(t) => super::model::CtrInputs::Rows {
                encoders: t.encoders.clone(),
            },
        }
    }

    /// The validation metrics of `net` (none without validation data).
    fn validate(&self, net: &CtrNet, batch: usize, device: &Device) -> ValidationMetrics {
        match self {
            TrainData::Pairs(t) if !t.val.is_empty() => {
                let scores = score_candidates(net, &t.encoder, &t.val, batch, device);
                sampled_validation(&t.val, &scores)
            }
            TrainData::Rows(t) => match &t.validation {
                Some(v) if !v.is_empty() => {
                    let scores = score_rows(net, t.schema(), v, batch, device);
                    let labels = v.positives();
                    let (ndcg10, per_unit) = match (&v.grades, &v.groups) {
                        (Some(g), Some(q)) => {
                            let per = crate::metrics::listwise::query_ndcg(&scores, g, q, 10);
                            let mean =
                                per.values.iter().sum::<f64>() / per.values.len().max(1) as f64;
                            (mean, per.values)
                        }
                        _ => (f64::NAN, Vec::new()),
                    };
                    ValidationMetrics {
                        ndcg10,
                        hr10: f64::NAN,
                        auc: crate::metrics::pointwise::auc(&scores, &labels).unwrap_or(f64::NAN),
                        logloss: crate::metrics::pointwise::log_loss(&scores, &labels),
                        per_unit,
                    }
                }
                _ => ValidationMetrics::NONE,
            },
            _ => ValidationMetrics::NONE,
        }
    }
}

struct Trainer<'a> {
    params: &'a CtrParams,
    task: TrainData<'a>,
    dev: ResolvedDevice,
    /// The autodiff device training runs on.
    ad: Device,
}

impl<'a> Trainer<'a> {
    fn new(params: &'a CtrParams, task: TrainData<'a>, dev: ResolvedDevice) -> Self {
        let ad = dev.device.clone().autodiff();
        Trainer {
            params,
            task,
            dev,
            ad,
        }
    }

    fn run(self) -> Result<CtrModel> {
        let p = self.params;
        if matches!(p.improvement, Improvement::Significant { .. })
            && self.task.has_validation()
            && self.task.metric() == ValidationMetric::Auc
        {
            return Err(Error::param(
                "improvement",
                "a significant improvement is tested over per-query validation values (NDCG@10); this task validates on AUC: use improvement = any",
            ));
        }
        let schema = self.task.schema();
        let _seeded = super::device::seeded(&self.ad, p.seed);
        let mut net = CtrNet::new(schema, &p.net, &self.ad);
        let mut optim = p.build_optimizer();
        let plan = net.input_plan(schema);
        let n_params = net.num_params();
        let mut state = TrainState {
            params: p.clone(),
            epochs: Vec::new(),
            best_epoch: 0,
            best_value: f64::NEG_INFINITY,
            best_values: Vec::new(),
            lr: p.lr,
            since_best: 0,
            since_lr_change: 0,
        };
        let mut best = net.clone();
        if let (true, Some(dir)) = (p.resume, &p.checkpoint_dir) {
            if dir.join("last/state.json").is_file() {
                let (n, o, s) = load_checkpoint(&dir.join("last"), net, optim)?;
                net = n;
                optim = o;
                state = s;
                best = if dir.join("best/model.bpk").is_file() {
                    super::model::load_weights(
                        CtrNet::new(schema, &p.net, &self.ad),
                        &dir.join("best/model.bpk"),
                    )?
                } else {
                    net.clone()
                };
                if p.verbose {
                    println!(
                        "resumed from {} after epoch {}",
                        dir.join("last").display(),
                        state.epochs.len()
                    );
                }
            }
        }
        if p.verbose && state.epochs.is_empty() {
            println!(
                "{} · {} parameters · {} · {}, batch {}",
                p.net.arch.name(),
                n_params,
                self.dev,
                self.task.describe(),
                p.batch_size
            );
        }
        let start_epoch = state.epochs.len() + 1;
        for epoch in start_epoch..=p.max_epochs {
            if p.patience > 0 && state.since_best >= p.patience {
                break;
            }
            let lr = match p.schedule {
                LrSchedule::Cosine { min_lr } => {
                    let t = (epoch - 1) as f64 / p.max_epochs.max(1) as f64;
                    min_lr + 0.5 * (p.lr - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
                }
                _ => state.lr,
            };
            let t0 = Instant::now();
            let order = EpochRows::of(self.task, epoch, p);
            let batches = order.batches(p.batch_size);
            let bar = batch_bar(batches as u64, epoch, p.verbose);
            let (mut total, mut rows) = (0.0f64, 0usize);
            for k in 0..batches {
                let (b, targets) = order.batch(self.task, k, p.batch_size);
                let value;
                (net, value) = train_step(net, &mut optim, lr, p, &plan, &b, &targets, &self.ad);
                let batch_len = b.len as f64;
                total += value * batch_len;
                rows += b.len;
                if let Some(b) = &bar {
                    b.inc(1);
                }
            }
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let train_seconds = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            // Without validation candidates every epoch counts as the best
            // so far: the model keeps the last epoch's weights.
            let validated = self.task.has_validation();
            let m = self
                .task
                .validate(&net.valid(), p.eval_batch, &self.dev.device);
            let value = match self.task.metric() {
                ValidationMetric::SampledNdcg10 | ValidationMetric::QueryNdcg10 => m.ndcg10,
                ValidationMetric::Auc => m.auc,
            };
            let eval_seconds = t1.elapsed().as_secs_f64();
            let log = CtrEpoch {
                epoch,
                lr,
                loss: total / rows.max(1) as f64,
                val_ndcg10: m.ndcg10,
                val_hr10: m.hr10,
                val_auc: m.auc,
                val_logloss: m.logloss,
                train_seconds,
                eval_seconds,
            };
            if !log.loss.is_finite() {
                return Err(Error::Config(format!(
                    "training diverged at epoch {epoch} (loss {}); lower the learning rate",
                    log.loss
                )));
            }
            let improved = !validated
                || p.improvement.better(
                    (value, &m.per_unit),
                    (state.best_value, &state.best_values),
                    p.seed,
                );
            if p.verbose && validated && self.task.metric() == ValidationMetric::Auc {
                println!(
                    "epoch {epoch:>3}  loss {:.4}  val AUC {:.4}  LogLoss {:.4}  train {:.2}s  eval {:.2}s{}",
                    log.loss,
                    log.val_auc,
                    log.val_logloss,
                    log.train_seconds,
                    log.eval_seconds,
                    if improved { "  *" } else { "" }
                );
            } else if p.verbose && validated && self.task.metric() == ValidationMetric::QueryNdcg10
            {
                println!(
                    "epoch {epoch:>3}  loss {:.4}  val NDCG@10 {:.4}  AUC {:.4}  train {:.2}s  eval {:.2}s{}",
                    log.loss,
                    log.val_ndcg10,
                    log.val_auc,
                    log.train_seconds,
                    log.eval_seconds,
                    if improved { "  *" } else { "" }
                );
            } else if p.verbose && validated {
                println!(
                    "epoch {epoch:>3}  loss {:.4}  val AUC {:.4}  HR@10 {:.4}  NDCG@10 {:.4}  train {:.2}s  eval {:.2}s{}",
                    log.loss,
                    log.val_auc,
                    log.val_hr10,
                    log.val_ndcg10,
                    log.train_seconds,
                    log.eval_seconds,
                    if improved { "  *" } else { "" }
                );
            } else if p.verbose {
                println!(
                    "epoch {epoch:>3}  loss {:.4}  (no validation)  train {:.2}s",
                    log.loss, log.train_seconds
                );
            }
            state.epochs.push(log);
            if improved {
                if validated {
                    state.best_value = value;
                    if matches!(p.improvement, Improvement::Significant { .. }) {
                        state.best_values = m.per_unit.clone();
                    }
                }
                state.best_epoch = epoch;
                state.since_best = 0;
                state.since_lr_change = 0;
                best = net.clone();
            } else {
                state.since_best += 1;
                state.since_lr_change += 1;
                if let LrSchedule::ReduceOnPlateau {
                    factor,
                    patience,
                    min_lr,
                } = p.schedule
                {
                    if state.since_lr_change >= patience.max(1) {
                        state.lr = (state.lr * factor).max(min_lr);
                        state.since_lr_change = 0;
                    }
                }
            }
            if let Some(dir) = &p.checkpoint_dir {
                let inputs = self.task.inputs();
                if improved {
                    save_checkpoint(&dir.join("best"), &net, None, &state, &inputs)?;
                }
                save_checkpoint(&dir.join("last"), &net, Some(&optim), &state, &inputs)?;
            }
        }
        let stopped_early = state.epochs.len() < p.max_epochs;
        Ok(CtrModel::new(
            best.valid(),
            p.clone(),
            self.task.inputs(),
            self.task.metric(),
            state.epochs,
            state.best_epoch,
            stopped_early,
            n_params,
            self.dev,
        ))
    }
}

/// A bar over the batches of an epoch, in terminals only (notebooks get
/// the per-epoch lines).
fn batch_bar(batches: u64, epoch: usize, verbose: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    (verbose && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(batches);
        b.set_style(
            indicatif::ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} batches")
                .expect("valid template"),
        );
        b.set_prefix(epoch.to_string());
        b
    })
}

/// Probabilities of every candidate row, in [`Candidates::iter`] order.
pub(crate) fn score_candidates(
    net: &CtrNet,
    encoder: &crate::features::PairEncoder,
    cands: &crate::split::Candidates,
    batch: usize,
    device: &Device,
) -> Vec<f32> {
    let (mut us, mut is) = (
        Vec::with_capacity(cands.len()),
        Vec::with_capacity(cands.len()),
    );
    for (u, items, _) in cands.iter() {
        for &i in items {
            us.push(u);
            is.push(i);
        }
    }
    score_pairs(net, encoder, &us, &is, batch, device)
}

/// One optimiser step on batch `b` (labels included) on the autodiff
/// `device` with `p.loss` — BCE with logits on the 0/1 labels, MSE against
/// the grades (or labels), or a listwise loss over the batch's queries
/// (its per-row gradient applied through `Σ logit ⊙ λ`) — plus
/// `l2_embedding` × Σ embedding² when > 0. Returns the updated network and
/// the batch's loss.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_step(
    net: CtrNet,
    optim: &mut burn::optim::ModuleOptimizer,
    lr: f64,
    p: &CtrParams,
    plan: &InputPlan,
    b: &crate::features::CtrBatch,
    targets: &Targets,
    device: &Device,
) -> (CtrNet, f64) {
    let column = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [b.len, 1]), device);
    let logits = net.forward(plan.input(b, device));
    let (loss, value) = match p.loss {
        Loss::Bce => {
            let loss = bce_with_logits(logits, column(b.labels.clone()));
            let value = loss.clone().into_scalar::<f32>() as f64;
            (loss, value)
        }
        Loss::Mse => {
            let y = column(targets.grades.clone().unwrap_or_else(|| b.labels.clone()));
            let d = logits - y;
            let loss = (d.clone() * d).mean();
            let value = loss.clone().into_scalar::<f32>() as f64;
            (loss, value)
        }
        listwise => {
            let scores: Vec<f32> = logits
                .clone()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 logits");
            let rel = targets.grades.as_deref().unwrap_or(&b.labels);
            let whole = [0, b.len];
            let starts = targets.starts.as_deref().unwrap_or(&whole);
            let (value, grad) = batch_loss(&scores, rel, starts, listwise);
            let lambdas = column(grad.into_iter().map(|g| g as f32).collect());
            ((logits * lambdas).sum(), value)
        }
    };
    let loss = match net.embedding_l2() {
        Some(l2) if p.l2_embedding > 0.0 => loss + l2.mul_scalar(p.l2_embedding),
        _ => loss,
    };
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    (optim.step(lr, net, grads), value)
}

/// Probabilities of `(user, item)` pairs, `batch` rows per forward pass.
pub(crate) fn score_pairs(
    net: &CtrNet,
    encoder: &crate::features::PairEncoder,
    users: &[u32],
    items: &[u32],
    batch: usize,
    device: &Device,
) -> Vec<f32> {
    score_batches(net, &encoder.schema, users.len(), batch, device, &|s, e| {
        encoder.encode(&users[s..e], &items[s..e], &[])
    })
}

/// Probabilities of encoded feature rows, in row order.
pub(crate) fn score_rows(
    net: &CtrNet,
    schema: &crate::features::DatasetSchema,
    rows: &crate::features::FeatureRows,
    batch: usize,
    device: &Device,
) -> Vec<f32> {
    score_batches(net, schema, rows.len(), batch, device, &|s, e| {
        rows.gather(&(s..e).collect::<Vec<_>>())
    })
}

/// Probabilities of `n` rows that `rows(s, e)` encodes, `batch` rows per
/// forward pass.
fn score_batches(
    net: &CtrNet,
    schema: &crate::features::DatasetSchema,
    n: usize,
    batch: usize,
    device: &Device,
    rows: &(dyn Fn(usize, usize) -> CtrBatch + Sync),
) -> Vec<f32> {
    let plan = net.input_plan(schema);
    let score = |s: usize, e: usize| -> Vec<f32> {
        let b = rows(s, e);
        let logits = net.forward(plan.input(&b, device));
        let p = burn::tensor::activation::sigmoid(logits);
        p.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32 scores")
    };
    if *device != Device::flex() {
        let mut out = Vec::with_capacity(n);
        for s in (0..n).step_by(batch.max(1)) {
            out.extend(score(s, (s + batch).min(n)));
        }
        return out;
    }
    // On the CPU backend only the matrix products use every core; the
    // element-wise ops, gathers and copies between them run on the calling
    // thread. Forward passes over separate chunks, one per thread at a time,
    // keep every core busy (one thread's copies overlap another's products).
    let threads = rayon::current_num_threads().max(1);
    let chunk = batch.min(n.div_ceil(threads)).max(1);
    let starts: Vec<usize> = (0..n).step_by(chunk).collect();
    starts
        .into_par_iter()
        .map(|s| score(s, (s + chunk).min(n)))
        .collect::<Vec<_>>()
        .concat()
}

/// Validation NDCG@10 and HR@10 (means over users), global AUC and LogLoss
/// of scores in [`Candidates::iter`] order, by the shared sampled metrics.
struct ValidationMetrics {
    ndcg10: f64,
    hr10: f64,
    auc: f64,
    logloss: f64,
    /// NDCG@10 per query (or sampled user) in a fixed order; empty when
    /// validation is by AUC.
    per_unit: Vec<f64>,
}

impl ValidationMetrics {
    /// No validation part.
    const NONE: ValidationMetrics = ValidationMetrics {
        ndcg10: f64::NAN,
        hr10: f64::NAN,
        auc: f64::NAN,
        logloss: f64::NAN,
        per_unit: Vec::new(),
    };
}

/// Sampled validation metrics from scores in [`Candidates::iter`] order:
/// NDCG@10 and HR@10 (each positive ranked against the user's negatives,
/// ties against it; mean over positives, then over users), global AUC and
/// LogLoss over all rows, by the definitions in [`crate::metrics`].
fn sampled_validation(cands: &crate::split::Candidates, scores: &[f32]) -> ValidationMetrics {
    use crate::metrics::sampled;
    let (mut ndcg, mut hr, mut users) = (0.0, 0.0, 0usize);
    let mut per_unit = Vec::new();
    let mut labels_all = Vec::with_capacity(scores.len());
    let mut at = 0;
    for (_, items, labels) in cands.iter() {
        let s = &scores[at..at + items.len()];
        at += items.len();
        labels_all.extend_from_slice(labels);
        let neg: Vec<f32> = s
            .iter()
            .zip(labels)
            .filter(|(_, l)| !**l)
            .map(|(x, _)| *x)
            .collect();
        let ranks: Vec<usize> = s
            .iter()
            .zip(labels)
            .filter(|(_, l)| **l)
            .map(|(&p, _)| sampled::rank_against(p, &neg).rank)
            .collect();
        if ranks.is_empty() {
            continue;
        }
        let k = ranks.len() as f64;
        let user_ndcg = ranks.iter().map(|&r| sampled::ndcg(r, 10)).sum::<f64>() / k;
        per_unit.push(user_ndcg);
        ndcg += user_ndcg;
        hr += ranks.iter().map(|&r| sampled::hit(r, 10)).sum::<f64>() / k;
        users += 1;
    }
    let per_user = |x: f64| {
        if users == 0 {
            f64::NAN
        } else {
            x / users as f64
        }
    };
    ValidationMetrics {
        ndcg10: per_user(ndcg),
        hr10: per_user(hr),
        auc: crate::metrics::pointwise::auc(scores, &labels_all).unwrap_or(f64::NAN),
        logloss: crate::metrics::pointwise::log_loss(scores, &labels_all),
        per_unit,
    }
}

/// Writes a checkpoint folder (`model.bpk`, `optimizer.bin` for `last/`,
/// `encoders.json` for row models, `state.json`) all-or-nothing: a run killed
/// while writing resumes from the previous whole checkpoint.
fn save_checkpoint(
    dir: &Path,
    net: &CtrNet,
    optim: Option<&burn::optim::ModuleOptimizer>,
    state: &TrainState,
    inputs: &super::model::CtrInputs,
) -> Result<()> {
    let fail =
        |what: &str, e: String| Error::Config(format!("saving {what} in {}: {e}", dir.display()));
    let mut files = vec![("model.bpk", super::model::weight_bytes(net)?)];
    if let Some(o) = optim {
        let bytes = o
            .into_bytes()
            .map_err(|e| fail("the optimizer", e.to_string()))?;
        files.push(("optimizer.bin", bytes.to_vec()));
    }
    files.extend(inputs.file()?);
    let json = serde_json::to_vec_pretty(state).map_err(|e| fail("the state", e.to_string()))?;
    files.push(("state.json", json));
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    crate::io::write_folder_atomic(dir, &refs)
}

fn load_checkpoint(
    dir: &Path,
    net: CtrNet,
    optim: burn::optim::ModuleOptimizer,
) -> Result<(CtrNet, burn::optim::ModuleOptimizer, TrainState)> {
    let fail = |what: &str, e: String| {
        Error::Config(format!("loading {what} from {}: {e}", dir.display()))
    };
    let state: TrainState = serde_json::from_str(
        &std::fs::read_to_string(dir.join("state.json")).map_err(|e| Error::io(dir, e))?,
    )
    .map_err(|e| fail("state.json", e.to_string()))?;
    let net = super::model::load_weights(net, &dir.join("model.bpk"))?;
    // Read whole here, as the weights are (see `model::load_weights`).
    let path = dir.join("optimizer.bin");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let optim = optim
        .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| fail("optimizer.bin", e.to_string()))?;
    Ok((net, optim, state))
}

#[cfg(test)]
mod tests {
    use super::Improvement;

    #[test]
    fn a_significant_improvement_needs_more_than_a_higher_mean() {
        // 800 queries: a shift of +0.002 in noise of sd 0.2 is a higher mean
        // but no significant one; a shift of +0.05 is both.
        let kept: Vec<f64> = (0..800)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let noisy: Vec<f64> = kept
            .iter()
            .enumerate()
            .map(|(i, x)| x + if i % 2 == 0 { 0.202 } else { -0.198 })
            .collect();
        let shifted: Vec<f64> = kept.iter().map(|x| x + 0.05).collect();
        let k = (mean(&kept), &kept[..]);
        let n = (mean(&noisy), &noisy[..]);
        let s = (mean(&shifted), &shifted[..]);
        assert!(n.0 > k.0);
        assert!(Improvement::Any.better(n, k, 1));
        assert!(!Improvement::significant().better(n, k, 1));
        assert!(Improvement::significant().better(s, k, 1));
        // Lower is never better; the first validated epoch needs no test.
        assert!(!Improvement::significant().better(k, s, 1));
        assert!(Improvement::significant().better(k, (f64::NEG_INFINITY, &[]), 1));
        // The rule is checked with the other parameters.
        let bad = super::CtrParams::default().improvement(Improvement::Significant { alpha: 1.5 });
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("improvement.alpha")
        );
    }
}
