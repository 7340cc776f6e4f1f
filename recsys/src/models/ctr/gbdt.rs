//! Gradient-boosted trees (`boost`: histogram boosting grown leaf-wise,
//! as LightGBM grows it) and GBDT+LR (He et al. 2014): every tree's leaf
//! index one-hot, optionally with the original features, into a logistic
//! regression. The trees and the LR are fitted on different training rows
//! by default (`tree_fraction`), so that the LR's weights are not fitted
//! to leaves that memorised the same rows (the plain recipe's poor
//! calibration).

use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::boost::{BoostParams, Booster};
use super::{CtrOptimizer, ShallowCtr, ShallowCtrModel};
use crate::features::{
    CtrBatch, DatasetSchema, FeatureEncoders, FeatureRows, FeatureTask, FieldKind,
};
use crate::metrics::pointwise::{auc, log_loss};
use crate::models::params::{params_of, set_param_of};
use crate::models::rows::{FitRows, RowScorer, check_rows};
use crate::{Error, Result};

/// What scores the rows: the trees themselves, or an LR on their leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GbdtHead {
    /// The boosted trees' own probability (`gbdt`).
    Trees,
    /// An FTRL logistic regression on the leaf indices (`gbdt_lr`).
    Lr,
}

/// Hyper-parameters of [`Gbdt::trees`] (`gbdt`) and [`Gbdt::lr`]
/// (`gbdt_lr`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gbdt {
    head: GbdtHead,
    /// Shrinkage of every tree's leaf values.
    learning_rate: f64,
    /// Leaves per tree (grown best gain first).
    num_leaves: usize,
    /// Training rows every leaf must hold.
    min_data_in_leaf: usize,
    /// L2 on the leaf values (the gain's and the Newton step's λ).
    lambda_l2: f64,
    /// Quantile bins per input column (≤ 256).
    max_bin: usize,
    /// At most this many trees.
    max_trees: usize,
    /// Stop adding trees after this many without a better validation AUC
    /// (keeping the best count).
    early_stopping_rounds: usize,
    /// GBDT+LR: the share of the (shuffled) training rows the trees are
    /// fitted on; the LR is fitted on the others. 1 fits both on every
    /// row (He et al.'s recipe).
    tree_fraction: f64,
    /// GBDT+LR: the LR also sees the original features.
    include_raw: bool,
    /// FTRL's α of the LR.
    alpha: f32,
    l1: f32,
    l2: f32,
    /// Maximum LR epochs (early stopping on validation AUC, patience 2).
    epochs: usize,
    /// Threads of the booster and the scoring (0 = all).
    threads: usize,
    seed: u64,
}

/// Multi-hot fields with more ids than this reach GBDT+LR only through its
/// LR (`include_raw`): the trees get one 0/1 column per id.
const MAX_MULTI_HOT_COLUMNS: usize = 256;

impl Gbdt {
    /// Boosted trees scored by themselves (`gbdt`).
    pub fn trees() -> Gbdt {
        Self::with(GbdtHead::Trees)
    }
    /// GBDT+LR (`gbdt_lr`).
    pub fn lr() -> Gbdt {
        Self::with(GbdtHead::Lr)
    }
    fn with(head: GbdtHead) -> Gbdt {
        Gbdt {
            head,
            learning_rate: 0.05,
            num_leaves: 31,
            min_data_in_leaf: 100,
            lambda_l2: 0.0,
            max_bin: 255,
            max_trees: 2_000,
            early_stopping_rounds: 50,
            tree_fraction: 0.5,
            include_raw: true,
            alpha: 0.1,
            l1: 0.0,
            l2: 1.0,
            epochs: 20,
            threads: 0,
            seed: 42,
        }
    }
    /// Shrinkage of every tree. Defaults to 0.05.
    pub fn learning_rate(mut self, v: f64) -> Self {
        self.learning_rate = v;
        self
    }
    /// Leaves per tree. Defaults to 31.
    pub fn num_leaves(mut self, n: usize) -> Self {
        self.num_leaves = n;
        self
    }
    /// Training rows every leaf must hold. Defaults to 100.
    pub fn min_data_in_leaf(mut self, n: usize) -> Self {
        self.min_data_in_leaf = n;
        self
    }
    /// L2 on the leaf values. Defaults to 0.
    pub fn lambda_l2(mut self, v: f64) -> Self {
        self.lambda_l2 = v;
        self
    }
    /// Quantile bins per input column (2–256). Defaults to 255.
    pub fn max_bin(mut self, n: usize) -> Self {
        self.max_bin = n;
        self
    }
    /// At most this many trees. Defaults to 2,000.
    pub fn max_trees(mut self, n: usize) -> Self {
        self.max_trees = n;
        self
    }
    /// Trees without a better validation AUC before the booster stops.
    /// Defaults to 50.
    pub fn early_stopping_rounds(mut self, n: usize) -> Self {
        self.early_stopping_rounds = n;
        self
    }
    /// Share of the training rows the trees of GBDT+LR are fitted on (the
    /// LR gets the rest; 1 = the same rows for both). Defaults to 0.5.
    pub fn tree_fraction(mut self, f: f64) -> Self {
        self.tree_fraction = f;
        self
    }
    /// GBDT+LR's LR also sees the original features. Defaults to true.
    pub fn include_raw(mut self, yes: bool) -> Self {
        self.include_raw = yes;
        self
    }
    /// FTRL's α of the LR. Defaults to 0.1.
    pub fn alpha(mut self, v: f32) -> Self {
        self.alpha = v;
        self
    }
    /// L1 of the LR. Defaults to 0.
    pub fn l1(mut self, v: f32) -> Self {
        self.l1 = v;
        self
    }
    /// L2 of the LR. Defaults to 1.
    pub fn l2(mut self, v: f32) -> Self {
        self.l2 = v;
        self
    }
    /// Maximum LR epochs. Defaults to 20.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// Threads (0 = all). Defaults to 0.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }
    /// Seed of the booster, the row split and the LR. Defaults to 42.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The head.
    pub fn head(&self) -> GbdtHead {
        self.head
    }

    fn head_lr(&self) -> ShallowCtr {
        ShallowCtr::lr()
            .optimizer(CtrOptimizer::Ftrl {
                alpha: self.alpha,
                beta: 1.0,
            })
            .l1(self.l1)
            .l2(self.l2)
            .epochs(self.epochs.max(1))
            .seed(self.seed)
            .threads(1)
    }

    /// Checks every hyper-parameter before any work.
    pub fn check(&self) -> Result<()> {
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0)
        {
            return Err(Error::param("learning_rate", "must be in (0, 1]"));
        }
        if self.num_leaves < 2 {
            return Err(Error::param("num_leaves", "must be ≥ 2"));
        }
        if self.min_data_in_leaf == 0 {
            return Err(Error::param("min_data_in_leaf", "must be ≥ 1"));
        }
        if !(self.lambda_l2.is_finite() && self.lambda_l2 >= 0.0) {
            return Err(Error::param("lambda_l2", "must be finite and ≥ 0"));
        }
        if !(2..=256).contains(&self.max_bin) {
            return Err(Error::param("max_bin", "must be in 2..=256"));
        }
        if self.max_trees == 0 {
            return Err(Error::param("max_trees", "must be ≥ 1"));
        }
        if self.early_stopping_rounds == 0 {
            return Err(Error::param("early_stopping_rounds", "must be ≥ 1"));
        }
        if !(self.tree_fraction.is_finite()
            && self.tree_fraction > 0.0
            && self.tree_fraction <= 1.0)
        {
            return Err(Error::param("tree_fraction", "must be in (0, 1]"));
        }
        if self.epochs == 0 {
            return Err(Error::param("epochs", "must be ≥ 1"));
        }
        self.head_lr().check()
    }

    fn boost(&self) -> BoostParams {
        BoostParams {
            learning_rate: self.learning_rate,
            num_leaves: self.num_leaves,
            min_data_in_leaf: self.min_data_in_leaf,
            lambda_l2: self.lambda_l2,
            max_bin: self.max_bin,
            max_trees: self.max_trees,
            early_stopping: self.early_stopping_rounds,
        }
    }

    /// The grid `./dev bench ctr` and notebook 06 search (validation AUC
    /// only), the peers' LightGBM grid: leaves ∈ {7, 15, 31} × rows per
    /// leaf ∈ {20, 100} (learning rate 0.05, up to 2,000 trees, early
    /// stopping after 50); GBDT+LR leaves ∈ {15, 31} × rows per leaf ∈
    /// {20, 100} × the LR's α ∈ {0.05, 0.2}.
    pub fn grid(head: GbdtHead) -> Vec<Gbdt> {
        let base = Self::with(head);
        match head {
            GbdtHead::Trees => [7, 15, 31]
                .iter()
                .flat_map(|&l| [20, 100].map(|m| base.clone().num_leaves(l).min_data_in_leaf(m)))
                .collect(),
            GbdtHead::Lr => [15, 31]
                .iter()
                .flat_map(|&l| {
                    [(20, 0.05), (100, 0.05), (20, 0.2), (100, 0.2)]
                        .map(|(m, a)| base.clone().num_leaves(l).min_data_in_leaf(m).alpha(a))
                })
                .collect(),
        }
    }

    /// Checks, fits the trees (and the LR) on `task.train`; the LR stops
    /// early on `task.validation`.
    pub fn fit(&self, task: &FeatureTask) -> Result<GbdtModel> {
        self.check()?;
        if self.threads > 0 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .map_err(|e| Error::Config(format!("threads: {e}")))?;
            pool.install(|| self.fit_here(task))
        } else {
            self.fit_here(task)
        }
    }

    fn fit_here(&self, task: &FeatureTask) -> Result<GbdtModel> {
        let t0 = Instant::now();
        let train = &task.train;
        let mut inputs = TreeInputs::new(&task.encoders.schema);
        if inputs.columns.is_empty() {
            return Err(Error::InvalidData(format!(
                "{}: the task has no field the trees can split on",
                task.name
            )));
        }
        let all: Vec<usize> = (0..train.len()).collect();
        let (tree_rows, lr_rows) = match self.head {
            GbdtHead::Trees => (all, Vec::new()),
            GbdtHead::Lr if self.tree_fraction >= 1.0 => (all.clone(), all),
            GbdtHead::Lr => {
                let mut order = all;
                let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(self.seed);
                order.shuffle(&mut rng);
                let cut = (order.len() as f64 * self.tree_fraction).round() as usize;
                let lr = order.split_off(cut);
                // Each part in row order (the LR shuffles its own epochs).
                let (mut a, mut b) = (order, lr);
                a.sort_unstable();
                b.sort_unstable();
                (a, b)
            }
        };
        let labels = &train.rows.labels;
        let both = |idx: &[usize]| {
            let pos = idx.iter().filter(|&&i| labels[i] > 0.5).count();
            pos > 0 && pos < idx.len()
        };
        if !both(&tree_rows) || (self.head == GbdtHead::Lr && !both(&lr_rows)) {
            return Err(Error::InvalidData(format!(
                "{}: the trees{} need training rows of both labels",
                task.name,
                if self.head == GbdtHead::Lr {
                    " and the LR (each on its share of tree_fraction)"
                } else {
                    ""
                }
            )));
        }
        let x = inputs.fit(&task.encoders.schema, &train.rows, &tree_rows, self.seed);
        let y: Vec<f32> = tree_rows.iter().map(|&i| labels[i]).collect();
        let val = task.validation.as_ref().filter(|v| !v.is_empty());
        let xv = val.map(|v| inputs.column_major(&v.rows, &(0..v.len()).collect::<Vec<_>>()));
        let val_labels = val.map(FeatureRows::positives);
        let booster = super::boost::fit(
            &x,
            tree_rows.len(),
            inputs.columns.len(),
            &y,
            xv.as_deref()
                .zip(val_labels.as_deref())
                .map(|(x, l)| (x, l.len(), l)),
            &self.boost(),
        );
        drop(x);
        let tree_seconds = t0.elapsed().as_secs_f64();
        let lr = match self.head {
            GbdtHead::Trees => None,
            GbdtHead::Lr => {
                let encoders = task
                    .encoders
                    .stacked(&leaf_fields(&booster), self.include_raw)?;
                let stack = |rows: &FeatureRows| stack(&booster, &inputs, rows, self.include_raw);
                let lr_part = FeatureRows {
                    rows: train.gather(&lr_rows),
                    groups: None,
                    grades: None,
                    source: train.source.clone(),
                };
                let sub = FeatureTask {
                    name: format!("{} (GBDT leaves)", task.name),
                    encoders,
                    train: stack(&lr_part),
                    validation: task.validation.as_ref().map(stack),
                    test: FeatureRows {
                        rows: CtrBatch::default(),
                        groups: None,
                        grades: None,
                        source: task.test.source.clone(),
                    },
                };
                Some(self.head_lr().fit(&sub)?)
            }
        };
        let mut model = GbdtModel {
            params: self.clone(),
            encoders: task.encoders.clone(),
            booster,
            inputs,
            lr,
            tree_rows: tree_rows.len(),
            lr_rows: lr_rows.len(),
            val: None,
            tree_seconds,
            seconds: 0.0,
        };
        if let Some(v) = task.validation.as_ref().filter(|v| !v.is_empty()) {
            let s = model.predict(v)?;
            let labels = v.positives();
            model.val = Some((auc(&s, &labels).unwrap_or(f64::NAN), log_loss(&s, &labels)));
        }
        model.seconds = t0.elapsed().as_secs_f64();
        Ok(model)
    }

    /// Fits every setting of `grid` and keeps the best by validation AUC
    /// (the test rows are not looked at).
    pub fn tune(grid: &[Gbdt], task: &FeatureTask) -> Result<GbdtTuned> {
        if task.validation.as_ref().is_none_or(|v| v.is_empty()) {
            return Err(Error::InvalidData(format!(
                "{}: tuning needs validation rows",
                task.name
            )));
        }
        let mut trials = Vec::with_capacity(grid.len());
        let mut best: Option<(usize, GbdtModel)> = None;
        for p in grid {
            let m = p.fit(task)?;
            let val_auc = m.validation().map_or(f64::NAN, |v| v.0);
            let mut setting = format!(
                "num_leaves={} min_data_in_leaf={} trees={}",
                p.num_leaves,
                p.min_data_in_leaf,
                m.n_trees()
            );
            if p.head == GbdtHead::Lr {
                setting.push_str(&format!(" alpha={}", p.alpha));
            }
            let (kept, run) = m.lr.as_ref().map_or((0, 0), |l| {
                (
                    l.learning_curve().kept_epoch,
                    l.learning_curve().epochs.len(),
                )
            });
            trials.push(super::tune::Trial {
                setting,
                val_auc,
                kept_epoch: kept,
                epochs_run: run,
            });
            if best
                .as_ref()
                .is_none_or(|(b, _)| val_auc > trials[*b].val_auc)
            {
                best = Some((trials.len() - 1, m));
            }
        }
        let (best, model) = best.ok_or_else(|| Error::Config("tune: an empty grid".into()))?;
        Ok(GbdtTuned {
            model,
            trials,
            best,
        })
    }
}

/// The result of [`Gbdt::tune`].
#[derive(Debug, Clone)]
pub struct GbdtTuned {
    pub model: GbdtModel,
    pub trials: Vec<super::tune::Trial>,
    /// Index of the chosen trial.
    pub best: usize,
}

impl GbdtTuned {
    /// The trials as HTML.
    pub fn to_html(&self) -> String {
        super::tune::trials_html(&RowScorer::name(&self.model), &self.trials, self.best)
    }
    /// Shows the trials in a notebook.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for GbdtTuned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::tune::trials_text(
            &RowScorer::name(&self.model),
            &self.trials,
            self.best,
        ))
    }
}

/// One input column of the trees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TreeColumn {
    /// Sparse column `col`'s id (ids are frequency ranks: the order means
    /// something).
    Sparse { col: usize },
    /// The smoothed click rate of sparse column `col`'s id in the trees'
    /// training rows (rate table `table`).
    Rate { col: usize, table: usize },
    /// `ln(1 + rows)` of sparse column `col`'s id in the trees' training
    /// rows (rate table `table`).
    Count { col: usize, table: usize },
    /// Dense column `col`'s value.
    Dense { col: usize },
    /// 1 when id `id` is among sequence columns `col..col + len`, else 0.
    Token { col: usize, len: usize, id: u32 },
}

/// Prior rows of the smoothed click rates: `(clicks + m·p) / (rows + m)`
/// with `p` the trees' training click rate.
const RATE_PRIOR_ROWS: f64 = 10.0;

/// Folds of the out-of-fold rates the trees train on (a row's own label
/// never enters its own rate).
const RATE_FOLDS: usize = 5;

/// How encoded rows become the trees' numeric columns. A sparse field with
/// three or more ids becomes three columns: its id (ordered by frequency),
/// its click rate and its count (target statistics, out of fold on the
/// trees' own rows, as CatBoost orders categories; LightGBM's categorical
/// splits sort categories by their gradient statistics to the same end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TreeInputs {
    columns: Vec<TreeColumn>,
    /// Row widths of the encoded batches: sparse, sequences, dense.
    widths: (usize, usize, usize),
    /// Per rate table, per id: (smoothed click rate, ln(1 + rows)).
    rates: Vec<Vec<(f32, f32)>>,
}

impl TreeInputs {
    /// The columns of `schema` (rate tables empty until [`TreeInputs::fit`]).
    fn new(schema: &DatasetSchema) -> TreeInputs {
        let (mut s, mut q, mut d) = (0, 0, 0);
        let mut columns = Vec::new();
        let mut tables = 0;
        for f in &schema.fields {
            match f.kind {
                FieldKind::Sparse => {
                    columns.push(TreeColumn::Sparse { col: s });
                    if f.vocab >= 3 {
                        columns.push(TreeColumn::Rate {
                            col: s,
                            table: tables,
                        });
                        columns.push(TreeColumn::Count {
                            col: s,
                            table: tables,
                        });
                        tables += 1;
                    }
                    s += 1;
                }
                FieldKind::Dense => {
                    columns.push(TreeColumn::Dense { col: d });
                    d += 1;
                }
                FieldKind::Sequence { max_len, .. } => {
                    if f.vocab <= MAX_MULTI_HOT_COLUMNS + 1 {
                        columns.extend((1..f.vocab as u32).map(|id| TreeColumn::Token {
                            col: q,
                            len: max_len,
                            id,
                        }));
                    }
                    q += max_len;
                }
            }
        }
        TreeInputs {
            columns,
            widths: (s, q, d),
            rates: vec![Vec::new(); tables],
        }
    }

    /// The rate tables' fields `(sparse column, table)`.
    fn rate_fields(&self) -> Vec<usize> {
        let mut cols = vec![0; self.rates.len()];
        for c in &self.columns {
            if let TreeColumn::Rate { col, table } = *c {
                cols[table] = col;
            }
        }
        cols
    }

    /// Fits the rate tables on rows `idx` of `b` and returns those rows
    /// column-major (`[columns × idx.len()]`), their rates out of fold.
    fn fit(&mut self, schema: &DatasetSchema, b: &CtrBatch, idx: &[usize], seed: u64) -> Vec<f64> {
        let ws = self.widths.0;
        let vocab = sparse_vocabs(schema);
        let prior =
            idx.iter().map(|&r| f64::from(b.labels[r])).sum::<f64>() / idx.len().max(1) as f64;
        let mut fold = vec![0usize; idx.len()];
        let mut order: Vec<usize> = (0..idx.len()).collect();
        order.shuffle(&mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(
            seed ^ 0x7261_7465,
        ));
        for (k, &i) in order.iter().enumerate() {
            fold[i] = k % RATE_FOLDS;
        }
        let rate = |clicks: f64, rows: f64| {
            (
                ((clicks + RATE_PRIOR_ROWS * prior) / (rows + RATE_PRIOR_ROWS)) as f32,
                (rows.ln_1p()) as f32,
            )
        };
        // Per table: per fold, per id (rows, clicks).
        let mut oof: Vec<Vec<Vec<(f64, f64)>>> = Vec::new();
        for (t, col) in self.rate_fields().into_iter().enumerate() {
            let v = vocab[col];
            let mut per_fold = vec![vec![(0.0, 0.0); v]; RATE_FOLDS];
            for (k, &r) in idx.iter().enumerate() {
                let e = &mut per_fold[fold[k]][b.sparse[r * ws + col] as usize];
                e.0 += 1.0;
                e.1 += f64::from(b.labels[r]);
            }
            let total: Vec<(f64, f64)> = (0..v)
                .map(|id| {
                    per_fold
                        .iter()
                        .fold((0.0, 0.0), |a, f| (a.0 + f[id].0, a.1 + f[id].1))
                })
                .collect();
            self.rates[t] = total.iter().map(|&(n, c)| rate(c, n)).collect();
            oof.push(
                per_fold
                    .into_iter()
                    .map(|f| {
                        f.iter()
                            .zip(&total)
                            .map(|(&(n, c), &(tn, tc))| (tn - n, tc - c))
                            .collect()
                    })
                    .collect(),
            );
        }
        let n = idx.len();
        let mut x = vec![0.0; n * self.columns.len()];
        let mut row = Vec::with_capacity(self.columns.len());
        let scale = RATE_FOLDS as f64 / (RATE_FOLDS - 1) as f64;
        for (k, &r) in idx.iter().enumerate() {
            self.row(b, r, &mut row);
            for (c, col) in self.columns.iter().enumerate() {
                x[c * n + k] = match *col {
                    TreeColumn::Rate { col, table } => {
                        let (rows, clicks) = oof[table][fold[k]][b.sparse[r * ws + col] as usize];
                        f64::from(rate(clicks, rows).0)
                    }
                    TreeColumn::Count { col, table } => {
                        let (rows, _) = oof[table][fold[k]][b.sparse[r * ws + col] as usize];
                        (rows * scale).ln_1p()
                    }
                    _ => row[c],
                };
            }
        }
        x
    }

    /// Row `r` of `b` as the trees' columns, into `out`.
    fn row(&self, b: &CtrBatch, r: usize, out: &mut Vec<f64>) {
        let (ws, wq, wd) = self.widths;
        let id = |col: usize| b.sparse[r * ws + col] as usize;
        let table = |t: usize, col: usize| {
            self.rates[t]
                .get(id(col))
                .copied()
                .unwrap_or((f32::NAN, 0.0))
        };
        out.clear();
        out.extend(self.columns.iter().map(|c| match *c {
            TreeColumn::Sparse { col, .. } => id(col) as f64,
            TreeColumn::Rate { col, table: t } => f64::from(table(t, col).0),
            TreeColumn::Count { col, table: t } => f64::from(table(t, col).1),
            TreeColumn::Dense { col } => f64::from(b.dense[r * wd + col]),
            TreeColumn::Token { col, len, id } => {
                let s = &b.sequences[r * wq + col..r * wq + col + len];
                f64::from(u8::from(s.contains(&id)))
            }
        }));
    }

    /// Checks a loaded model's rate tables against its encoders' fields.
    fn check(&self, schema: &DatasetSchema) -> std::result::Result<(), String> {
        let expected = TreeInputs::new(schema);
        if expected.columns != self.columns
            || expected.widths != self.widths
            || expected.rates.len() != self.rates.len()
        {
            return Err("the trees' input columns do not match the encoders".into());
        }
        let vocab = sparse_vocabs(schema);
        for (t, col) in self.rate_fields().into_iter().enumerate() {
            if self.rates[t].len() != vocab[col]
                || self.rates[t]
                    .iter()
                    .any(|(a, b)| !a.is_finite() || !b.is_finite())
            {
                return Err(format!(
                    "rate table {t} needs {} finite entries",
                    vocab[col]
                ));
            }
        }
        Ok(())
    }
}

impl TreeInputs {
    /// Rows `idx` of `b`, column-major, as scoring sees them.
    fn column_major(&self, b: &CtrBatch, idx: &[usize]) -> Vec<f64> {
        let n = idx.len();
        let mut x = vec![0.0; n * self.columns.len()];
        let mut row = Vec::with_capacity(self.columns.len());
        for (k, &r) in idx.iter().enumerate() {
            self.row(b, r, &mut row);
            for (c, &v) in row.iter().enumerate() {
                x[c * n + k] = v;
            }
        }
        x
    }
}

/// One stacked field per tree: `(gbdt_tree_T, leaves)`.
fn leaf_fields(booster: &Booster) -> Vec<(String, usize)> {
    booster
        .leaves()
        .into_iter()
        .enumerate()
        .map(|(t, n)| (format!("gbdt_tree_{t}"), n))
        .collect()
}

/// `rows` with every tree's leaf id (`leaf + 1`) appended to the sparse
/// ids, the original fields kept or dropped (`keep`): the rows of
/// [`FeatureEncoders::stacked`].
fn stack(booster: &Booster, inputs: &TreeInputs, rows: &FeatureRows, keep: bool) -> FeatureRows {
    let b = &rows.rows;
    let t = booster.trees.len();
    let leaves: Vec<u32> = (0..b.len)
        .into_par_iter()
        .with_min_len(256)
        .map_init(Vec::new, |buf, r| {
            inputs.row(b, r, buf);
            (0..t)
                .map(|i| booster.leaf(i, buf).0 as u32 + 1)
                .collect::<Vec<u32>>()
        })
        .flatten()
        .collect();
    let ws = inputs.widths.0;
    let width = if keep { ws + t } else { t };
    let mut sparse = Vec::with_capacity(b.len * width);
    for r in 0..b.len {
        if keep {
            sparse.extend_from_slice(&b.sparse[r * ws..(r + 1) * ws]);
        }
        sparse.extend_from_slice(&leaves[r * t..(r + 1) * t]);
    }
    FeatureRows {
        rows: CtrBatch {
            sparse,
            sequences: if keep {
                b.sequences.clone()
            } else {
                Vec::new()
            },
            dense: if keep { b.dense.clone() } else { Vec::new() },
            labels: b.labels.clone(),
            len: b.len,
        },
        groups: rows.groups.clone(),
        grades: rows.grades.clone(),
        source: rows.source.clone(),
    }
}

/// A fitted [`Gbdt`].
#[derive(Clone)]
pub struct GbdtModel {
    params: Gbdt,
    encoders: FeatureEncoders,
    booster: Booster,
    inputs: TreeInputs,
    lr: Option<ShallowCtrModel>,
    tree_rows: usize,
    lr_rows: usize,
    /// Validation (AUC, LogLoss) of the fitted model.
    val: Option<(f64, f64)>,
    tree_seconds: f64,
    seconds: f64,
}

impl std::fmt::Debug for GbdtModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GbdtModel")
            .field("params", &self.params)
            .field("trees", &self.n_trees())
            .field("leaves", &self.n_leaves())
            .finish_non_exhaustive()
    }
}

/// What `gbdt.json` of a saved [`GbdtModel`] holds.
#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    params: Gbdt,
    encoders: FeatureEncoders,
    inputs: TreeInputs,
    tree_rows: usize,
    lr_rows: usize,
    val: Option<(f64, f64)>,
    tree_seconds: f64,
    seconds: f64,
}

const FORMAT: u32 = 1;

impl GbdtModel {
    /// Trees in the ensemble.
    pub fn n_trees(&self) -> usize {
        self.booster.trees.len()
    }
    /// Leaves over all trees (the LR's leaf features).
    pub fn n_leaves(&self) -> usize {
        self.booster.leaves().iter().sum()
    }
    /// Validation (AUC, LogLoss) of the fitted model, when the task had
    /// validation rows.
    pub fn validation(&self) -> Option<(f64, f64)> {
        self.val
    }
    /// Seconds the trees took (of [`RowScorer::fit_seconds`]).
    pub fn tree_seconds(&self) -> f64 {
        self.tree_seconds
    }
    /// The LR of GBDT+LR.
    pub fn head_lr(&self) -> Option<&ShallowCtrModel> {
        self.lr.as_ref()
    }

    /// P(click) of every row (`[rows.len()]`).
    pub fn predict(&self, rows: &FeatureRows) -> Result<Vec<f32>> {
        check_rows(&self.encoders, rows)?;
        match &self.lr {
            Some(lr) => lr.predict(&stack(
                &self.booster,
                &self.inputs,
                rows,
                self.params.include_raw,
            )),
            None => {
                let b = &rows.rows;
                Ok((0..b.len)
                    .into_par_iter()
                    .with_min_len(256)
                    .map_init(Vec::new, |buf, r| {
                        self.inputs.row(b, r, buf);
                        (1.0 / (1.0 + (-self.booster.logit(buf)).exp())) as f32
                    })
                    .collect())
            }
        }
    }

    /// Saves the model as one folder, all or nothing
    /// (`io::write_folder_atomic`): `gbdt.json` (parameters, encoders, the
    /// trees' input columns and rate tables), `trees.json` (the ensemble) and,
    /// for GBDT+LR, `lr.recsys`.
    pub fn save(&self, dir: impl AsRef<std::path::Path>) -> Result<()> {
        let saved = Saved {
            format: FORMAT,
            params: self.params.clone(),
            encoders: self.encoders.clone(),
            inputs: self.inputs.clone(),
            tree_rows: self.tree_rows,
            lr_rows: self.lr_rows,
            val: self.val,
            tree_seconds: self.tree_seconds,
            seconds: self.seconds,
        };
        let mut files: Vec<(&str, Vec<u8>)> = vec![
            ("gbdt.json", serde_json::to_vec_pretty(&saved)?),
            ("trees.json", serde_json::to_vec(&self.booster)?),
        ];
        if let Some(lr) = &self.lr {
            files.push(("lr.recsys", lr.to_bytes()?));
        }
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        crate::io::write_folder_atomic(dir.as_ref(), &refs)
    }

    /// Loads a folder written by [`GbdtModel::save`], checking that its
    /// parts agree.
    pub fn load(dir: impl AsRef<std::path::Path>) -> Result<GbdtModel> {
        let dir = dir.as_ref();
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| Error::io(&p, e))
        };
        let bad = |name: &str, why: String| {
            Error::InvalidData(format!("{}: {why}", dir.join(name).display()))
        };
        let saved: Saved = serde_json::from_slice(&read("gbdt.json")?)
            .map_err(|e| bad("gbdt.json", e.to_string()))?;
        if saved.format != FORMAT {
            return Err(bad(
                "gbdt.json",
                format!(
                    "format {} (this recsys reads format {FORMAT})",
                    saved.format
                ),
            ));
        }
        saved.params.check()?;
        let inputs = saved.inputs;
        inputs
            .check(&saved.encoders.schema)
            .map_err(|why| bad("gbdt.json", why))?;
        let booster: Booster = serde_json::from_slice(&read("trees.json")?)
            .map_err(|e| bad("trees.json", e.to_string()))?;
        booster
            .check(inputs.columns.len())
            .map_err(|why| bad("trees.json", why))?;
        let lr = match saved.params.head {
            GbdtHead::Trees => None,
            GbdtHead::Lr => {
                let p = dir.join("lr.recsys");
                let lr = ShallowCtrModel::from_bytes(&read("lr.recsys")?, &p)?;
                let expected = saved
                    .encoders
                    .stacked(&leaf_fields(&booster), saved.params.include_raw)?;
                if lr.encoders != expected {
                    return Err(bad(
                        "lr.recsys",
                        "its features are not these trees' leaves".into(),
                    ));
                }
                Some(lr)
            }
        };
        Ok(GbdtModel {
            params: saved.params,
            encoders: saved.encoders,
            booster,
            inputs,
            lr,
            tree_rows: saved.tree_rows,
            lr_rows: saved.lr_rows,
            val: saved.val,
            tree_seconds: saved.tree_seconds,
            seconds: saved.seconds,
        })
    }
}

impl FitRows for Gbdt {
    fn name(&self) -> String {
        match self.head {
            GbdtHead::Trees => "gbdt".into(),
            GbdtHead::Lr => "gbdt_lr".into(),
        }
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        if key == "head" {
            return Err(Error::param(
                "head",
                "the model's name chooses it (gbdt: the trees; gbdt_lr: an LR on their leaves)",
            ));
        }
        let name = FitRows::name(self);
        set_param_of(self, &name, key, value, &[], Gbdt::check)
    }
    fn check(&self) -> Result<()> {
        Gbdt::check(self)
    }
    fn fit_rows(&self, task: &FeatureTask) -> Result<Box<dyn RowScorer>> {
        Ok(Box::new(self.fit(task)?))
    }
}

impl RowScorer for GbdtModel {
    fn name(&self) -> String {
        FitRows::name(&self.params)
    }
    fn params(&self) -> Vec<(String, String)> {
        let mut out = params_of(&self.params);
        out.push(("trees_fitted".into(), self.n_trees().to_string()));
        out.push(("leaves".into(), self.n_leaves().to_string()));
        out.push(("tree_rows".into(), self.tree_rows.to_string()));
        if let Some(lr) = &self.lr {
            out.push(("lr_rows".into(), self.lr_rows.to_string()));
            out.push((
                "lr_kept_epoch".into(),
                lr.learning_curve().kept_epoch.to_string(),
            ));
        }
        if let Some((a, l)) = self.val {
            out.push(("val_auc".into(), format!("{a:.4}")));
            out.push(("val_logloss".into(), format!("{l:.4}")));
        }
        out
    }
    fn encoders(&self) -> Option<&FeatureEncoders> {
        Some(&self.encoders)
    }
    fn score_rows(&self, rows: &FeatureRows) -> Result<Vec<f32>> {
        self.predict(rows)
    }
    fn fit_seconds(&self) -> f64 {
        self.seconds
    }
    fn seed(&self) -> u64 {
        self.params.seed
    }
}

/// The vocabulary size of each sparse field, in schema order.
fn sparse_vocabs(schema: &DatasetSchema) -> Vec<usize> {
    schema
        .fields
        .iter()
        .filter(|f| f.kind == FieldKind::Sparse)
        .map(|f| f.vocab)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_columns_are_out_of_fold_on_the_trees_rows_and_full_when_scoring() {
        let task = FeatureTask::toy_ctr(3_000, 2).unwrap();
        let mut inputs = TreeInputs::new(&task.encoders.schema);
        let idx: Vec<usize> = (0..task.train.len()).collect();
        let x = inputs.fit(&task.encoders.schema, &task.train.rows, &idx, 1);
        let scored = inputs.column_major(&task.train.rows, &idx);
        let n = idx.len();
        let rate = inputs
            .columns
            .iter()
            .position(|c| matches!(c, TreeColumn::Rate { .. }))
            .unwrap();
        // Out of fold: a row's own click is not in its training-time rate.
        assert_ne!(
            &x[rate * n..(rate + 1) * n],
            &scored[rate * n..(rate + 1) * n]
        );
        assert!(x.iter().chain(&scored).all(|v| v.is_finite()));
        // Every other column is the same.
        assert_eq!(&x[..n], &scored[..n]);
    }

    #[test]
    fn gbdt_and_gbdt_lr_learn_the_toy_task_deterministically() {
        let task = FeatureTask::toy_ctr(6_000, 3).unwrap();
        for p in [
            Gbdt::trees().max_trees(60),
            Gbdt::lr().max_trees(60).epochs(5),
        ] {
            let p = p.min_data_in_leaf(20);
            let m = p.clone().threads(1).fit(&task).unwrap();
            let s = m.score_rows(&task.test).unwrap();
            let a = auc(&s, &task.test.positives()).unwrap();
            assert!(a > 0.6, "{}: AUC {a}", RowScorer::name(&m));
            let again = p.threads(1).fit(&task).unwrap();
            assert_eq!(again.score_rows(&task.test).unwrap(), s);
        }
        // Without the raw features the LR sees only the leaves.
        let m = Gbdt::lr()
            .max_trees(20)
            .min_data_in_leaf(20)
            .include_raw(false)
            .epochs(3)
            .fit(&task)
            .unwrap();
        let lr = m.head_lr().unwrap();
        assert_eq!(lr.encoders.schema.fields.len(), m.n_trees());
        assert_eq!(m.tree_rows + m.lr_rows, task.train.len());
    }

    #[test]
    fn a_saved_gbdt_lr_scores_the_same_and_a_damaged_one_is_refused() {
        let task = FeatureTask::toy_ctr(3_000, 5).unwrap();
        let dir = std::env::temp_dir().join(format!("recsys-gbdt-{}", std::process::id()));
        for p in [
            Gbdt::trees().max_trees(15),
            Gbdt::lr().max_trees(15).epochs(2),
        ] {
            let m = p.fit(&task).unwrap();
            m.save(&dir).unwrap();
            let back = GbdtModel::load(&dir).unwrap();
            assert_eq!(
                back.score_rows(&task.test).unwrap(),
                m.score_rows(&task.test).unwrap()
            );
        }
        let trees = std::fs::read_to_string(dir.join("trees.json")).unwrap();
        // A child pointing back at its parent would loop: refused.
        std::fs::write(
            dir.join("trees.json"),
            trees.replacen("\"left\":1", "\"left\":0", 1),
        )
        .unwrap();
        let e = GbdtModel::load(&dir).unwrap_err().to_string();
        assert!(
            e.contains("trees.json") && e.contains("not a valid node"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (k, v) in [
            ("learning_rate", "inf"),
            ("tree_fraction", "0"),
            ("max_trees", "0"),
            ("max_bin", "300"),
            ("num_leaves", "1"),
            ("lambda_l2", "nan"),
            ("head", "trees"),
        ] {
            let e = Gbdt::lr().set_param(k, v).unwrap_err().to_string();
            assert!(e.contains(k), "{k}: {e}");
        }
    }
}
