//! Two-tower retrieval on burn (feature `deep`): a user tower and an item
//! tower, each an id embedding plus the side's features (categorical and
//! multi-label columns as pooled embeddings, numeric columns standardised)
//! through an MLP to one shared dimension, optionally L2-normalised;
//! affinity = dot product. Trained with the in-batch sampled softmax and its
//! log-Q correction (Yi et al. 2019), the full softmax, or sampled negatives
//! with BCE (the Keras template's loss); scores/ratings weight the rows when
//! present. Entities with features but no training interactions get
//! vectors from their features alone (cold start).
//!
//! The fitted model is a [`FactorModel`] (user and item vectors) inside a
//! [`TwoTowerModel`], so exact blocked top-K, HNSW retrieval and saving are
//! the factor models'.
//!
//! ```no_run
//! # use recsys::prelude::*;
//! # fn main() -> recsys::Result<()> {
//! let report = Pipeline::movielens_100k().split_loo().recall(TwoTower::params()).evaluate()?;
//! # Ok(()) }
//! ```

mod encode;
mod net;

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use encode::SideEncoding;
use net::{Tower, TowerShape, TwoTowerNet, l2_normalised};

use crate::data::{Dataset, Interactions};
use crate::models::deep::Compute;
use crate::models::mf::FactorModel;
use crate::models::params::{params_of, set_param_of};
use crate::models::training::{LearningCurve, Monitor, Validation, Verdict};
use crate::models::{Fit, FitInput, Scorer, check_number};
use crate::{Error, Result};

/// The training objective of the towers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TowerLoss {
    /// Softmax over the batch's items (the other rows' positives are the
    /// negatives; repeats of a row's own item are masked). With `log_q`,
    /// each logit is corrected by `− ln q_j`, `q_j` the item's share of the
    /// training rows (its chance of being in a batch), which removes the
    /// popularity bias of in-batch negatives (Yi et al. 2019).
    InBatchSoftmax { log_q: bool },
    /// Softmax over every item (exact; the item tower runs over the whole
    /// catalogue each step, so for catalogues of thousands of items).
    FullSoftmax,
    /// BCE on each positive and `negatives` items drawn uniformly (the Keras
    /// template's positives plus sampled negatives).
    SampledBce { negatives: usize },
}

/// Two-tower hyper-parameters (see the module documentation).
///
/// ```
/// # use recsys::prelude::*;
/// # let (train, withheld) = recsys::models::contract::checkerboard(12, 12);
/// let model = TwoTower::params().epochs(60).compute(Compute::Cpu).fit(&train)?;
/// assert_eq!(model.recommend(3, 1, true)[0].0, withheld[3].unwrap());
/// # Ok::<(), recsys::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoTower {
    embedding_dim: usize,
    feature_dim: usize,
    hidden: Vec<usize>,
    normalize: bool,
    temperature: f32,
    loss: TowerLoss,
    features: bool,
    score_weights: bool,
    batch_size: usize,
    learning_rate: f64,
    epochs: usize,
    id_dropout: f32,
    init_std: f64,
    compute: Compute,
    seed: u64,
    verbose: bool,
    #[serde(flatten)]
    validation: Validation,
}

impl Default for TwoTower {
    fn default() -> Self {
        TwoTower {
            embedding_dim: 64,
            feature_dim: 16,
            hidden: Vec::new(),
            normalize: true,
            temperature: 0.2,
            loss: TowerLoss::InBatchSoftmax { log_q: true },
            features: true,
            score_weights: true,
            batch_size: 256,
            learning_rate: 0.005,
            epochs: 30,
            id_dropout: 0.0,
            init_std: 0.1,
            compute: Compute::Cpu,
            seed: 42,
            verbose: false,
            validation: Validation::default(),
        }
    }
}

/// A builder setter that stores its argument.
macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $t:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, v: $t) -> Self {
            self.$name = v;
            self
        }
    };
}

impl TwoTower {
    /// Hyper-parameters with their defaults.
    pub fn params() -> Self {
        Self::default()
    }
    setter!(/// Id embedding size and the towers' output size. Defaults to 64.
        embedding_dim: usize);
    setter!(/// Size of each feature column's embedding (and of the numeric
        /// columns' projection). Defaults to 16.
        feature_dim: usize);
    setter!(/// Hidden ReLU layers of each tower before the output layer.
        /// Defaults to none (one linear layer).
        hidden: Vec<usize>);
    setter!(/// L2-normalise both towers' outputs (cosine affinity). Defaults to true.
        normalize: bool);
    setter!(/// Softmax / BCE temperature τ: logits are `u·v / τ`. Defaults to 0.2
        /// (chosen on MovieLens-100K's inner validation split).
        temperature: f32);
    setter!(/// The objective. Defaults to the in-batch softmax with the log-Q correction.
        loss: TowerLoss);
    setter!(/// Use the dataset's user and item features (`false`: ids only).
        /// Defaults to true.
        features: bool);
    setter!(/// Weight each training row by its score / the mean score when the
        /// interactions have scores. Defaults to true.
        score_weights: bool);
    setter!(/// Training rows per step. Defaults to 256.
        batch_size: usize);
    setter!(/// Adam's learning rate. Defaults to 0.005.
        learning_rate: f64);
    setter!(/// Epochs (the most; early stopping may keep fewer). Defaults to 30.
        epochs: usize);
    setter!(/// Chance of hiding a row's id embeddings while training, so that
        /// the features alone also place users and items (cold start).
        /// Defaults to 0.
        id_dropout: f32);
    setter!(/// Standard deviation of the embeddings' initial values. Defaults to 0.1.
        init_std: f64);
    setter!(/// The compute device. Defaults to [`Compute::Cpu`].
        compute: Compute);
    setter!(/// Seed of the initial weights, the shuffles and the negatives. Defaults to 42.
        seed: u64);
    setter!(/// Print one line per epoch. Defaults to false.
        verbose: bool);
    crate::models::training::validation_setters!("TwoTower::fit_validated", "epoch");

    /// Checks every hyper-parameter before any work.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("embedding_dim", self.embedding_dim),
            ("feature_dim", self.feature_dim),
            ("batch_size", self.batch_size),
            ("epochs", self.epochs),
        ] {
            if v == 0 {
                return Err(Error::param(name, "must be ≥ 1"));
            }
        }
        if self.hidden.contains(&0) {
            return Err(Error::param("hidden", "every layer needs ≥ 1 unit"));
        }
        let t = f64::from(self.temperature);
        check_number("temperature", t, t > 0.0, "> 0")?;
        check_number(
            "learning_rate",
            self.learning_rate,
            self.learning_rate > 0.0,
            "> 0",
        )?;
        let d = f64::from(self.id_dropout);
        check_number("id_dropout", d, (0.0..1.0).contains(&d), "in [0, 1)")?;
        check_number("init_std", self.init_std, self.init_std > 0.0, "> 0")?;
        if let TowerLoss::SampledBce { negatives: 0 } = self.loss {
            return Err(Error::param("negatives", "must be ≥ 1"));
        }
        self.validation.check()
    }

    /// Trains on `train` without features.
    pub fn fit(&self, train: &Interactions) -> Result<TwoTowerModel> {
        self.fit_validated(train, None, None)
    }

    /// Trains with the user and item features of `side` (matched by raw
    /// id), checking NDCG@10 on `validation` as configured; under early
    /// stopping the model keeps the best epoch.
    pub fn fit_validated(
        &self,
        train: &Interactions,
        validation: Option<&Interactions>,
        side: Option<&Dataset>,
    ) -> Result<TwoTowerModel> {
        self.check()?;
        if train.is_empty() {
            return Err(Error::InvalidData(
                "the two-tower model needs at least one interaction".into(),
            ));
        }
        let (nu, ni) = (train.n_users(), train.n_items());
        let side = side.filter(|_| self.features);
        let users = SideEncoding::new(
            train.users(),
            train.user_counts().iter().map(|&c| c > 0).collect(),
            side.and_then(|d| d.users.as_ref()),
        );
        let items = SideEncoding::new(
            train.items(),
            train.item_counts().iter().map(|&c| c > 0).collect(),
            side.and_then(|d| d.items.as_ref()),
        );
        let dev = self.compute.resolve()?;
        let ad = dev.device.clone().autodiff();
        let _seeded = crate::models::deep::device::seeded(&ad, self.seed);
        // Both towers have the same layer sizes; each embeds its own ids
        // and features.
        let shape = TowerShape {
            id_dim: self.embedding_dim,
            feature_dim: self.feature_dim,
            hidden: self.hidden.clone(),
            out_dim: self.embedding_dim,
            init_std: self.init_std,
        };
        let mut net = TwoTowerNet {
            user: Tower::new(&users, &shape, &ad),
            item: Tower::new(&items, &shape, &ad),
        };
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();

        let rows = TrainRows::new(train, self.score_weights);
        let mut monitor = Monitor::new(
            "two_tower",
            self.epochs,
            self.verbose,
            train,
            validation,
            self.validation,
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut best: Option<TwoTowerNet> = None;
        for epoch in 1..=self.epochs {
            let started = Instant::now();
            order.shuffle(&mut rng);
            let (mut total, mut steps) = (0.0, 0usize);
            for chunk in order.chunks(self.batch_size) {
                let step = Step {
                    p: self,
                    rows: &rows,
                    chunk,
                    users: &users,
                    items: &items,
                    device: &ad,
                };
                let (loss, value) = step.loss(&net, &mut rng);
                let grads = GradientsParams::from_grads(loss.backward(), &net);
                net = optim.step(self.learning_rate, net, grads);
                total += value;
                steps += 1;
            }
            let vectors = monitor
                .checks(epoch)
                .then(|| embed_all(&net.valid(), &users, &items, self.normalize, &dev.device));
            let verdict = monitor.epoch(
                epoch,
                Some(total / steps.max(1) as f64),
                started.elapsed().as_secs_f64(),
                |u, out| {
                    let v = vectors.as_ref().expect("vectors of a checked epoch");
                    v.score_all(u, out);
                },
            );
            match verdict {
                Verdict::Improved => best = Some(net.clone()),
                Verdict::Stop => break,
                Verdict::Continue => {}
            }
        }
        let curve = monitor.finish();
        let net = best.unwrap_or(net).valid();
        let v = embed_all(&net, &users, &items, self.normalize, &dev.device);
        let cold_users = users.known.iter().filter(|k| !**k).count();
        let cold_items = items.known.iter().filter(|k| !**k).count();
        Ok(TwoTowerModel {
            factors: FactorModel {
                train: train.clone(),
                factors: self.embedding_dim,
                user: v.user,
                item: v.item,
                item_bias: None,
                curve,
            },
            user_columns: users.columns.clone(),
            item_columns: items.columns.clone(),
            cold_users: if users.has_features() { cold_users } else { 0 },
            cold_items: if items.has_features() { cold_items } else { 0 },
            sizes: (nu, ni),
        })
    }
}

/// The training rows: user, item and weight.
struct TrainRows {
    user: Vec<u32>,
    item: Vec<u32>,
    weight: Vec<f32>,
    /// `ln q_i`: the log share of the rows that are item `i`'s.
    log_q: Vec<f32>,
    n_items: usize,
}

impl TrainRows {
    fn new(train: &Interactions, score_weights: bool) -> Self {
        let weight = match train.ratings().filter(|_| score_weights) {
            Some(r) => {
                let mean = r.iter().map(|&x| x as f64).sum::<f64>() / r.len().max(1) as f64;
                let mean = if mean > 0.0 { mean } else { 1.0 };
                r.iter()
                    .map(|&x| (x as f64 / mean).max(0.0) as f32)
                    .collect()
            }
            None => vec![1.0; train.len()],
        };
        let n = train.len() as f64;
        let log_q = train
            .item_counts()
            .iter()
            .map(|&c| ((c.max(1) as f64) / n).ln() as f32)
            .collect();
        TrainRows {
            user: train.user_indices().to_vec(),
            item: train.item_indices().to_vec(),
            weight,
            log_q,
            n_items: train.n_items(),
        }
    }
    fn len(&self) -> usize {
        self.user.len()
    }
}

/// One optimisation step's data.
struct Step<'a> {
    p: &'a TwoTower,
    rows: &'a TrainRows,
    chunk: &'a [usize],
    users: &'a SideEncoding,
    items: &'a SideEncoding,
    device: &'a Device,
}

impl Step<'_> {
    /// The batch's loss (a scalar tensor) and its value.
    fn loss(&self, net: &TwoTowerNet, rng: &mut rand::rngs::StdRng) -> (Tensor<1>, f64) {
        let (p, rows, dev) = (self.p, self.rows, self.device);
        let b = self.chunk.len();
        let u_idx: Vec<u32> = self.chunk.iter().map(|&r| rows.user[r]).collect();
        let i_idx: Vec<u32> = self.chunk.iter().map(|&r| rows.item[r]).collect();
        let w: Vec<f32> = self.chunk.iter().map(|&r| rows.weight[r]).collect();
        let wsum: f32 = w.iter().sum::<f32>().max(f32::MIN_POSITIVE);
        let drops: Vec<bool> = (0..2 * b)
            .map(|_| p.id_dropout > 0.0 && rng.random::<f32>() < p.id_dropout)
            .collect();
        let norm = |x: Tensor<2>| if p.normalize { l2_normalised(x) } else { x };
        let u = norm(
            net.user
                .forward(self.users.batch(&u_idx, |k| drops[k], dev)),
        );
        let weights = Tensor::<2>::from_data(TensorData::new(w, [b, 1]), dev);
        let tau = f64::from(p.temperature);
        let loss = match p.loss {
            TowerLoss::InBatchSoftmax { log_q } => {
                let v = norm(
                    net.item
                        .forward(self.items.batch(&i_idx, |k| drops[b + k], dev)),
                );
                let mut extra = vec![0f32; b * b];
                for r in 0..b {
                    for c in 0..b {
                        if r != c && i_idx[r] == i_idx[c] {
                            extra[r * b + c] = -1e9;
                        } else if log_q {
                            extra[r * b + c] = -rows.log_q[i_idx[c] as usize];
                        }
                    }
                }
                let logits = u.matmul(v.transpose()).div_scalar(tau)
                    + Tensor::<2>::from_data(TensorData::new(extra, [b, b]), dev);
                let target: Vec<i64> = (0..b as i64).collect();
                let target = Tensor::<2, Int>::from_data(TensorData::new(target, [b, 1]), dev);
                -(log_softmax(logits, 1).gather(1, target) * weights).sum() / wsum
            }
            TowerLoss::FullSoftmax => {
                let all: Vec<u32> = (0..rows.n_items as u32).collect();
                let v = norm(net.item.forward(self.items.batch(&all, |_| false, dev)));
                let target: Vec<i64> = i_idx.iter().map(|&i| i as i64).collect();
                let target = Tensor::<2, Int>::from_data(TensorData::new(target, [b, 1]), dev);
                let logits = u.matmul(v.transpose()).div_scalar(tau);
                -(log_softmax(logits, 1).gather(1, target) * weights).sum() / wsum
            }
            TowerLoss::SampledBce { negatives: k } => {
                let v = norm(
                    net.item
                        .forward(self.items.batch(&i_idx, |k| drops[b + k], dev)),
                );
                let ni = rows.n_items as u32;
                let negs: Vec<u32> = i_idx
                    .iter()
                    .flat_map(|&pos| {
                        (0..k)
                            .map(|_| {
                                loop {
                                    let j = rng.random_range(0..ni);
                                    if j != pos || ni == 1 {
                                        break j;
                                    }
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let n = norm(net.item.forward(self.items.batch(&negs, |_| false, dev)));
                let d = p.embedding_dim;
                let pos = (u.clone() * v).sum_dim(1);
                let neg = (u.reshape([b, 1, d]) * n.reshape([b, k, d]))
                    .sum_dim(2)
                    .reshape([b, k]);
                let logits = Tensor::cat(vec![pos, neg], 1).div_scalar(tau);
                let mut y = vec![0f32; b * (k + 1)];
                (0..b).for_each(|r| y[r * (k + 1)] = 1.0);
                let y = Tensor::<2>::from_data(TensorData::new(y, [b, k + 1]), dev);
                let bce = logits.clone().clamp_min(0.0) - logits.clone() * y
                    + logits.abs().neg().exp().log1p();
                (bce.sum_dim(1) * weights).sum() / (wsum * (k + 1) as f32)
            }
        };
        let value = loss.clone().into_scalar::<f32>() as f64;
        (loss, value)
    }
}

/// Every user's and item's output vector, row-major `[n, dim]`.
struct Vectors {
    user: Vec<f32>,
    item: Vec<f32>,
    dim: usize,
}

impl Vectors {
    fn score_all(&self, u: u32, out: &mut [f32]) {
        let d = self.dim;
        let x = &self.user[u as usize * d..(u as usize + 1) * d];
        for (i, o) in out.iter_mut().enumerate() {
            *o = crate::models::mf::dot_pub(x, &self.item[i * d..(i + 1) * d]);
        }
    }
}

/// Runs both towers over every entity (4,096 per forward pass).
fn embed_all(
    net: &TwoTowerNet,
    users: &SideEncoding,
    items: &SideEncoding,
    normalize: bool,
    device: &Device,
) -> Vectors {
    let run = |tower: &Tower, side: &SideEncoding| -> (Vec<f32>, usize) {
        let mut out = Vec::new();
        let mut dim = 0;
        let all: Vec<u32> = (0..side.n as u32).collect();
        for chunk in all.chunks(4096) {
            let x = tower.forward(side.batch(chunk, |_| false, device));
            let x = if normalize { l2_normalised(x) } else { x };
            dim = x.dims()[1];
            out.extend(
                x.into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("f32 vectors"),
            );
        }
        (out, dim)
    };
    let (user, dim) = run(&net.user, users);
    let (item, _) = run(&net.item, items);
    Vectors { user, item, dim }
}

/// A fitted two-tower model: every user's and item's vector (a
/// [`FactorModel`], scores `u·v`), and what the towers read.
#[derive(Debug, Clone)]
pub struct TwoTowerModel {
    factors: FactorModel,
    user_columns: Vec<String>,
    item_columns: Vec<String>,
    cold_users: usize,
    cold_items: usize,
    sizes: (usize, usize),
}

impl TwoTowerModel {
    /// The user and item vectors as a factor model (exact blocked top-K,
    /// HNSW retrieval, saving).
    pub fn factors(&self) -> &FactorModel {
        &self.factors
    }
    /// The factor model, owned.
    pub fn into_factors(self) -> FactorModel {
        self.factors
    }
    /// The feature columns each tower reads `(user, item)`.
    pub fn columns(&self) -> (&[String], &[String]) {
        (&self.user_columns, &self.item_columns)
    }
    /// Users and items placed by their features alone (no training
    /// interactions), `(users, items)`.
    pub fn cold(&self) -> (usize, usize) {
        (self.cold_users, self.cold_items)
    }
    /// The learning curve (loss and validation NDCG@10 per epoch).
    pub fn learning_curve(&self) -> &LearningCurve {
        self.factors.learning_curve()
    }
}

impl std::fmt::Display for TwoTowerModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cols = |c: &[String]| {
            if c.is_empty() {
                "id only".to_string()
            } else {
                format!("id + {}", c.join(", "))
            }
        };
        write!(
            f,
            "two-tower: {} users ({}), {} items ({}), {} dimensions, kept epoch {}",
            self.sizes.0,
            cols(&self.user_columns),
            self.sizes.1,
            cols(&self.item_columns),
            self.factors.factors(),
            self.factors.learning_curve().kept_epoch
        )
    }
}

impl Scorer for TwoTowerModel {
    fn n_items(&self) -> usize {
        self.factors.n_items()
    }
    fn train(&self) -> &Interactions {
        self.factors.train()
    }
    fn score_all(&self, user: u32, out: &mut [f32]) {
        self.factors.score_all(user, out)
    }
    fn score_items(&self, user: u32, items: &[u32], out: &mut [f32]) {
        self.factors.score_items(user, items, out)
    }
    fn learning_curve(&self) -> Option<&LearningCurve> {
        Some(self.factors.learning_curve())
    }
    fn has_file_format(&self) -> bool {
        true
    }

    fn save_model(&self, path: &std::path::Path) -> Result<()> {
        self.factors.save(path)
    }
    fn recommend_many(&self, users: &[u32], k: usize, exclude_seen: bool) -> Vec<Vec<(u32, f32)>> {
        self.factors.recommend_users(users, k, exclude_seen)
    }
}

impl Fit for TwoTower {
    fn name(&self) -> String {
        "two_tower".into()
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let mut aliases = vec![("lr", "learning_rate"), ("dim", "embedding_dim")];
        aliases.extend(Validation::ALIASES);
        set_param_of(self, "two_tower", key, value, &aliases, TwoTower::check)
    }
    fn check(&self) -> Result<()> {
        TwoTower::check(self)
    }
    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        Ok(Box::new(self.fit_validated(
            input.train,
            input.validation,
            input.side,
        )?))
    }
}
