//! The documents' partitioned LS-PLM: rows are split into regions on their
//! dense values (k-means, or a CART tree grown on the labels), every region
//! gets its own logistic regression warm-started from a global one, and a
//! region with too few training rows scores with the global model.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::model::warm_fit;
use super::{CtrOptimizer, ShallowCtr, ShallowCtrModel};
use crate::features::{FeatureEncoders, FeatureRows, FeatureTask};
use crate::models::params::{params_of, set_param_of};
use crate::models::rows::{FitRows, RowScorer, check_rows};
use crate::{Error, Result};

/// How rows are split into regions (on the task's dense fields).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Partitioner {
    /// k-means (k-means++ seeding under the seed, then Lloyd's iterations)
    /// on the dense values; an emptied cluster keeps its last centre.
    KMeans {
        #[serde(default = "default_regions")]
        regions: usize,
        #[serde(default = "default_iterations")]
        iterations: usize,
    },
    /// A CART tree on the dense values, grown best-first by Gini gain on the
    /// labels, each leaf a region.
    Tree {
        #[serde(default = "default_leaves")]
        max_leaves: usize,
        #[serde(default = "default_depth")]
        max_depth: usize,
    },
}

fn default_regions() -> usize {
    16
}
fn default_iterations() -> usize {
    100
}
fn default_leaves() -> usize {
    32
}
fn default_depth() -> usize {
    6
}

/// Hyper-parameters of the partitioned LS-PLM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionedLr {
    partitioner: Partitioner,
    /// Regions with fewer training rows use the global model (the
    /// documents' guard for tiny regions).
    min_region_size: usize,
    /// Epochs of the global LR every region starts from.
    warm_start_epochs: usize,
    /// FTRL's α of the global and the regions' LR.
    alpha: f32,
    l1: f32,
    l2: f32,
    /// Maximum epochs of each region's LR (early stopping on the region's
    /// validation rows, patience 2).
    epochs: usize,
    seed: u64,
}

impl PartitionedLr {
    /// k-means regions (16, 100 iterations), the documents' `ls_plm`.
    pub fn kmeans() -> PartitionedLr {
        Self::with(Partitioner::KMeans {
            regions: default_regions(),
            iterations: default_iterations(),
        })
    }
    /// CART regions (≤ 32 leaves, depth ≤ 6), the documents' `ls_plm_tree`.
    pub fn tree() -> PartitionedLr {
        Self::with(Partitioner::Tree {
            max_leaves: default_leaves(),
            max_depth: default_depth(),
        })
    }
    fn with(partitioner: Partitioner) -> PartitionedLr {
        PartitionedLr {
            partitioner,
            min_region_size: 800,
            warm_start_epochs: 1,
            alpha: 0.1,
            l1: 0.0,
            l2: 1.0,
            epochs: 10,
            seed: 42,
        }
    }
    /// The partitioner.
    pub fn partitioner(mut self, p: Partitioner) -> Self {
        self.partitioner = p;
        self
    }
    /// Regions with fewer training rows score with the global LR. Defaults
    /// to 800 (the documents' toy config).
    pub fn min_region_size(mut self, n: usize) -> Self {
        self.min_region_size = n;
        self
    }
    /// Epochs of the global LR the regions start from. Defaults to 1.
    pub fn warm_start_epochs(mut self, n: usize) -> Self {
        self.warm_start_epochs = n;
        self
    }
    /// Maximum epochs of each region's LR. Defaults to 10.
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// FTRL's α. Defaults to 0.1.
    pub fn alpha(mut self, v: f32) -> Self {
        self.alpha = v;
        self
    }
    /// Seed of the partitioner and the LRs. Defaults to 42.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn lr(&self, epochs: usize) -> ShallowCtr {
        ShallowCtr::lr()
            .optimizer(CtrOptimizer::Ftrl {
                alpha: self.alpha,
                beta: 1.0,
            })
            .l1(self.l1)
            .l2(self.l2)
            .epochs(epochs.max(1))
            .seed(self.seed)
            .threads(1)
    }

    /// Checks every hyper-parameter before any work.
    pub fn check(&self) -> Result<()> {
        let one = |name: &str, v: usize| {
            if v == 0 {
                Err(Error::param(name, "must be ≥ 1"))
            } else {
                Ok(())
            }
        };
        match self.partitioner {
            Partitioner::KMeans {
                regions,
                iterations,
            } => {
                one("regions", regions)?;
                one("iterations", iterations)?;
            }
            Partitioner::Tree {
                max_leaves,
                max_depth,
            } => {
                one("max_leaves", max_leaves)?;
                one("max_depth", max_depth)?;
            }
        }
        one("epochs", self.epochs)?;
        self.lr(self.epochs).check()
    }

    /// Partitions `task.train` on its dense fields, fits the global LR and
    /// one LR per region (warm-started from it).
    pub fn fit(&self, task: &FeatureTask) -> Result<PartitionedLrModel> {
        self.check()?;
        let t0 = Instant::now();
        let d = task.encoders.schema.counts().1;
        if d == 0 {
            return Err(Error::param(
                "partitioner",
                format!(
                    "{}: partitioned LS-PLM splits rows on dense fields (ColumnRule::Numeric) and the task has none",
                    task.name
                ),
            ));
        }
        let train = &task.train;
        let x = &train.rows.dense;
        let assign = match self.partitioner {
            Partitioner::KMeans {
                regions,
                iterations,
            } => Assign::Centres(kmeans(x, d, regions, iterations, self.seed)),
            Partitioner::Tree {
                max_leaves,
                max_depth,
            } => Assign::Tree(grow_tree(
                x,
                d,
                &train.positives(),
                max_leaves,
                max_depth,
                (self.min_region_size / 10).max(2),
            )),
        };
        let n_regions = assign.regions();
        let region_of = |rows: &FeatureRows| -> Vec<usize> {
            rows.rows
                .dense
                .chunks_exact(d)
                .map(|v| assign.region(v))
                .collect()
        };
        let train_regions = region_of(train);
        let val_regions = task.validation.as_ref().map(region_of);
        let global = warm_fit(&self.lr(self.warm_start_epochs), task, None)?;
        let mut regions = Vec::with_capacity(n_regions);
        let mut sizes = vec![0usize; n_regions];
        train_regions.iter().for_each(|&r| sizes[r] += 1);
        for r in 0..n_regions {
            if sizes[r] < self.min_region_size {
                regions.push(None);
                continue;
            }
            let pick = |rows: &FeatureRows, of: &[usize]| -> FeatureRows {
                let idx: Vec<usize> = (0..rows.len()).filter(|&i| of[i] == r).collect();
                subset(rows, &idx)
            };
            let sub = FeatureTask {
                name: format!("{} (region {r})", task.name),
                encoders: task.encoders.clone(),
                train: pick(train, &train_regions),
                validation: task
                    .validation
                    .as_ref()
                    .zip(val_regions.as_ref())
                    .map(|(v, of)| pick(v, of)),
                test: subset(train, &[]),
            };
            regions.push(Some(warm_fit(&self.lr(self.epochs), &sub, Some(&global))?));
        }
        Ok(PartitionedLrModel {
            params: self.clone(),
            encoders: task.encoders.clone(),
            assign,
            global,
            regions,
            sizes,
            seconds: t0.elapsed().as_secs_f64(),
        })
    }
}

/// Rows `idx` of `rows`.
fn subset(rows: &FeatureRows, idx: &[usize]) -> FeatureRows {
    FeatureRows {
        rows: rows.gather(idx),
        groups: rows
            .groups
            .as_ref()
            .map(|g| idx.iter().map(|&i| g[i]).collect()),
        grades: rows
            .grades
            .as_ref()
            .map(|g| idx.iter().map(|&i| g[i]).collect()),
        source: rows.source.clone(),
    }
}

/// Region assignment of a dense vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Assign {
    /// k-means centres `[regions × d]`.
    Centres(Vec<Vec<f32>>),
    Tree(Vec<Node>),
}

/// A CART node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Node {
    /// `x[feature] <= threshold` goes to `left`.
    Split {
        feature: usize,
        threshold: f32,
        left: usize,
        right: usize,
    },
    Leaf {
        region: usize,
    },
}

impl Assign {
    fn regions(&self) -> usize {
        match self {
            Assign::Centres(c) => c.len(),
            Assign::Tree(nodes) => nodes
                .iter()
                .filter(|n| matches!(n, Node::Leaf { .. }))
                .count(),
        }
    }
    fn region(&self, v: &[f32]) -> usize {
        match self {
            Assign::Centres(c) => nearest(c, v),
            Assign::Tree(nodes) => {
                let mut at = 0;
                loop {
                    match nodes[at] {
                        Node::Leaf { region } => return region,
                        Node::Split {
                            feature,
                            threshold,
                            left,
                            right,
                        } => at = if v[feature] <= threshold { left } else { right },
                    }
                }
            }
        }
    }
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(centres: &[Vec<f32>], v: &[f32]) -> usize {
    let mut best = (f32::INFINITY, 0);
    for (i, c) in centres.iter().enumerate() {
        let d = dist2(c, v);
        if d < best.0 {
            best = (d, i);
        }
    }
    best.1
}

/// k-means++ seeding, then Lloyd's iterations (until no row moves).
fn kmeans(x: &[f32], d: usize, k: usize, iterations: usize, seed: u64) -> Vec<Vec<f32>> {
    let n = x.len() / d;
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut centres: Vec<Vec<f32>> = vec![row(rng.random_range(0..n)).to_vec()];
    let mut near: Vec<f32> = (0..n).map(|i| dist2(row(i), &centres[0])).collect();
    while centres.len() < k.min(n) {
        let total: f64 = near.iter().map(|&v| f64::from(v)).sum();
        if total <= 0.0 {
            break; // fewer distinct points than k
        }
        let mut u = rng.random::<f64>() * total;
        let mut pick = n - 1;
        for (i, &v) in near.iter().enumerate() {
            u -= f64::from(v);
            if u <= 0.0 {
                pick = i;
                break;
            }
        }
        centres.push(row(pick).to_vec());
        let c = centres.last().expect("pushed");
        for (i, v) in near.iter_mut().enumerate() {
            *v = v.min(dist2(row(i), c));
        }
    }
    let mut of = vec![usize::MAX; n];
    for _ in 0..iterations {
        let mut moved = false;
        for (i, o) in of.iter_mut().enumerate() {
            let c = nearest(&centres, row(i));
            moved |= *o != c;
            *o = c;
        }
        if !moved {
            break;
        }
        let mut sums = vec![vec![0f64; d]; centres.len()];
        let mut counts = vec![0usize; centres.len()];
        for (i, &c) in of.iter().enumerate() {
            counts[c] += 1;
            for (s, v) in sums[c].iter_mut().zip(row(i)) {
                *s += f64::from(*v);
            }
        }
        for ((c, s), &m) in centres.iter_mut().zip(&sums).zip(&counts) {
            if m > 0 {
                for (c, s) in c.iter_mut().zip(s) {
                    *c = (s / m as f64) as f32;
                }
            }
        }
    }
    centres
}

fn gini(pos: usize, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let p = pos as f64 / n as f64;
    2.0 * p * (1.0 - p)
}

/// The best split of `rows`: `(gain, feature, threshold, left rows, right rows)`.
fn best_split(
    x: &[f32],
    d: usize,
    y: &[bool],
    rows: &[usize],
    min_leaf: usize,
) -> Option<(f64, usize, f32, Vec<usize>, Vec<usize>)> {
    let n = rows.len();
    let pos = rows.iter().filter(|&&i| y[i]).count();
    let parent = gini(pos, n) * n as f64;
    let mut best: Option<(f64, usize, f32)> = None;
    let mut sorted = rows.to_vec();
    for f in 0..d {
        sorted.sort_by(|&a, &b| x[a * d + f].total_cmp(&x[b * d + f]).then(a.cmp(&b)));
        let mut left_pos = 0;
        for k in 1..n {
            left_pos += usize::from(y[sorted[k - 1]]);
            let (a, b) = (x[sorted[k - 1] * d + f], x[sorted[k] * d + f]);
            if a == b || k < min_leaf || n - k < min_leaf {
                continue;
            }
            let cost = gini(left_pos, k) * k as f64 + gini(pos - left_pos, n - k) * (n - k) as f64;
            let gain = parent - cost;
            if gain > 1e-9 && best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, f, a + (b - a) / 2.0));
            }
        }
    }
    let (gain, f, t) = best?;
    let (l, r): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| x[i * d + f] <= t);
    Some((gain, f, t, l, r))
}

/// CART grown best-first (largest Gini gain next) to `max_leaves` leaves,
/// `max_depth`, and leaves of at least `min_leaf` rows.
fn grow_tree(
    x: &[f32],
    d: usize,
    y: &[bool],
    max_leaves: usize,
    max_depth: usize,
    min_leaf: usize,
) -> Vec<Node> {
    let n = x.len() / d;
    let mut nodes = vec![Node::Leaf { region: 0 }];
    // Open leaves: (node, depth, rows, its best split).
    type Open = (
        usize,
        usize,
        Vec<usize>,
        Option<(f64, usize, f32, Vec<usize>, Vec<usize>)>,
    );
    let all: Vec<usize> = (0..n).collect();
    let split = best_split(x, d, y, &all, min_leaf);
    let mut open: Vec<Open> = vec![(0, 0, all, split)];
    let mut leaves = 1;
    while leaves < max_leaves {
        let Some(k) = open
            .iter()
            .enumerate()
            .filter(|(_, o)| o.3.is_some() && o.1 < max_depth)
            .max_by(|a, b| {
                let ga = a.1.3.as_ref().map_or(0.0, |s| s.0);
                let gb = b.1.3.as_ref().map_or(0.0, |s| s.0);
                ga.total_cmp(&gb).then(b.0.cmp(&a.0))
            })
            .map(|(k, _)| k)
        else {
            break;
        };
        let (node, depth, _, split) = open.swap_remove(k);
        let (_, feature, threshold, l, r) = split.expect("filtered");
        let (left, right) = (nodes.len(), nodes.len() + 1);
        nodes.push(Node::Leaf { region: 0 });
        nodes.push(Node::Leaf { region: 0 });
        nodes[node] = Node::Split {
            feature,
            threshold,
            left,
            right,
        };
        for (id, rows) in [(left, l), (right, r)] {
            let s = best_split(x, d, y, &rows, min_leaf);
            open.push((id, depth + 1, rows, s));
        }
        leaves += 1;
    }
    // Number the leaves in node order.
    let mut region = 0;
    for n in nodes.iter_mut() {
        if let Node::Leaf { region: r } = n {
            *r = region;
            region += 1;
        }
    }
    nodes
}

/// A fitted partitioned LS-PLM.
#[derive(Debug, Clone)]
pub struct PartitionedLrModel {
    params: PartitionedLr,
    encoders: FeatureEncoders,
    assign: Assign,
    global: ShallowCtrModel,
    /// `None`: the region had fewer than `min_region_size` training rows and
    /// scores with the global LR.
    regions: Vec<Option<ShallowCtrModel>>,
    sizes: Vec<usize>,
    seconds: f64,
}

/// What `partition.json` of a saved [`PartitionedLrModel`] holds.
#[derive(Serialize, Deserialize)]
struct Saved {
    params: PartitionedLr,
    assign: Assign,
    sizes: Vec<usize>,
    /// Which regions have their own model (`region_R.recsys`).
    fitted: Vec<bool>,
    seconds: f64,
}

impl PartitionedLrModel {
    /// Saves the model as one folder, all or nothing
    /// (`io::write_folder_atomic`): `partition.json` (parameters, the
    /// k-means centres or the tree, region sizes), `global.recsys` and one
    /// `region_R.recsys` per region with its own LR (each with the
    /// encoders).
    pub fn save(&self, dir: impl AsRef<std::path::Path>) -> Result<()> {
        let saved = Saved {
            params: self.params.clone(),
            assign: self.assign.clone(),
            sizes: self.sizes.clone(),
            fitted: self.regions.iter().map(Option::is_some).collect(),
            seconds: self.seconds,
        };
        let mut files: Vec<(String, Vec<u8>)> = vec![
            ("partition.json".into(), serde_json::to_vec_pretty(&saved)?),
            ("global.recsys".into(), self.global.to_bytes()?),
        ];
        for (r, m) in self.regions.iter().enumerate() {
            if let Some(m) = m {
                files.push((format!("region_{r}.recsys"), m.to_bytes()?));
            }
        }
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        crate::io::write_folder_atomic(dir.as_ref(), &refs)
    }

    /// Loads a folder written by [`PartitionedLrModel::save`].
    pub fn load(dir: impl AsRef<std::path::Path>) -> Result<PartitionedLrModel> {
        let dir = dir.as_ref();
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| Error::InvalidData(format!("{}: {e}", p.display())))
        };
        let saved: Saved = serde_json::from_slice(&read("partition.json")?).map_err(|e| {
            Error::InvalidData(format!("{}: {e}", dir.join("partition.json").display()))
        })?;
        saved.params.check()?;
        let global =
            ShallowCtrModel::from_bytes(&read("global.recsys")?, &dir.join("global.recsys"))?;
        let d = global.encoders.schema.counts().1;
        let n = saved.assign.regions();
        let bad = |why: String| {
            Error::InvalidData(format!("{}: {why}", dir.join("partition.json").display()))
        };
        match &saved.assign {
            Assign::Centres(c) => {
                if c.iter()
                    .any(|c| c.len() != d || c.iter().any(|v| !v.is_finite()))
                {
                    return Err(bad(format!("every centre needs {d} finite values")));
                }
            }
            Assign::Tree(nodes) => {
                // Children after their parent and inside the tree (so every
                // walk ends); leaves numbered 0..regions; features < d.
                for (at, node) in nodes.iter().enumerate() {
                    let ok = match *node {
                        Node::Split {
                            feature,
                            threshold,
                            left,
                            right,
                        } => {
                            feature < d
                                && threshold.is_finite()
                                && left > at
                                && right > at
                                && left < nodes.len()
                                && right < nodes.len()
                        }
                        Node::Leaf { region } => region < n,
                    };
                    if !ok {
                        return Err(bad(format!("tree node {at} is not a valid node")));
                    }
                }
            }
        }
        if n == 0 || saved.sizes.len() != n || saved.fitted.len() != n {
            return Err(bad(format!(
                "{n} regions but {} sizes and {} models",
                saved.sizes.len(),
                saved.fitted.len()
            )));
        }
        let mut regions = Vec::with_capacity(n);
        for (r, &has) in saved.fitted.iter().enumerate() {
            regions.push(if has {
                let name = format!("region_{r}.recsys");
                let m = ShallowCtrModel::from_bytes(&read(&name)?, &dir.join(&name))?;
                if m.encoders != global.encoders {
                    return Err(bad(format!("{name} was trained with other encoders")));
                }
                Some(m)
            } else {
                None
            });
        }
        Ok(PartitionedLrModel {
            params: saved.params,
            encoders: global.encoders.clone(),
            assign: saved.assign,
            global,
            regions,
            sizes: saved.sizes,
            seconds: saved.seconds,
        })
    }

    /// Training rows per region.
    pub fn region_sizes(&self) -> &[usize] {
        &self.sizes
    }
    /// Regions that fell back to the global LR (too few training rows).
    pub fn fallback_regions(&self) -> usize {
        self.regions.iter().filter(|r| r.is_none()).count()
    }
}

impl FitRows for PartitionedLr {
    fn name(&self) -> String {
        match self.partitioner {
            Partitioner::KMeans { .. } => "lsplm_kmeans".into(),
            Partitioner::Tree { .. } => "lsplm_tree".into(),
        }
    }
    fn params(&self) -> Vec<(String, String)> {
        params_of(self)
    }
    fn set_param(&mut self, key: &str, value: &str) -> Result<()> {
        let name = FitRows::name(self);
        set_param_of(
            self,
            &name,
            key,
            value,
            &[
                ("regions", "partitioner.regions"),
                ("iterations", "partitioner.iterations"),
                ("max_leaves", "partitioner.max_leaves"),
                ("max_depth", "partitioner.max_depth"),
            ],
            PartitionedLr::check,
        )
    }
    fn check(&self) -> Result<()> {
        PartitionedLr::check(self)
    }
    fn fit_rows(&self, task: &FeatureTask) -> Result<Box<dyn RowScorer>> {
        Ok(Box::new(self.fit(task)?))
    }
}

impl RowScorer for PartitionedLrModel {
    fn name(&self) -> String {
        FitRows::name(&self.params)
    }
    fn params(&self) -> Vec<(String, String)> {
        let mut out = params_of(&self.params);
        out.push(("regions_fitted".into(), self.sizes.len().to_string()));
        out.push((
            "fallback_regions".into(),
            self.fallback_regions().to_string(),
        ));
        out
    }
    fn encoders(&self) -> Option<&FeatureEncoders> {
        Some(&self.encoders)
    }
    fn score_rows(&self, rows: &FeatureRows) -> Result<Vec<f32>> {
        check_rows(&self.encoders, rows)?;
        let d = self.encoders.schema.counts().1;
        let of: Vec<usize> = rows
            .rows
            .dense
            .chunks_exact(d)
            .map(|v| self.assign.region(v))
            .collect();
        let mut out = vec![0.0; rows.len()];
        for (r, model) in self.regions.iter().enumerate() {
            let idx: Vec<usize> = (0..rows.len()).filter(|&i| of[i] == r).collect();
            if idx.is_empty() {
                continue;
            }
            let m = model.as_ref().unwrap_or(&self.global);
            for (&i, p) in idx.iter().zip(m.predict(&subset(rows, &idx))?) {
                out[i] = p;
            }
        }
        Ok(out)
    }
    fn fit_seconds(&self) -> f64 {
        self.seconds
    }
    fn seed(&self) -> u64 {
        self.params.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::pointwise::auc;

    #[test]
    fn kmeans_finds_separated_clusters_and_is_seeded() {
        // Three tight clusters on a line.
        let x: Vec<f32> = (0..90)
            .map(|i| (i / 30) as f32 * 10.0 + (i % 3) as f32 * 0.1)
            .collect();
        let c = kmeans(&x, 1, 3, 50, 7);
        let mut m: Vec<f32> = c.iter().map(|c| c[0]).collect();
        m.sort_by(f32::total_cmp);
        assert!(
            (m[0] - 0.1).abs() < 0.01 && (m[1] - 10.1).abs() < 0.01 && (m[2] - 20.1).abs() < 0.01,
            "{m:?}"
        );
        assert_eq!(kmeans(&x, 1, 3, 50, 7), c);
    }

    #[test]
    fn the_tree_splits_where_the_labels_change() {
        // y = x > 0.5 on one feature: one split at 0.5 is perfect.
        let x: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
        let y: Vec<bool> = x.iter().map(|&v| v > 0.5).collect();
        let t = grow_tree(&x, 1, &y, 4, 3, 5);
        let Node::Split { threshold, .. } = t[0] else {
            panic!("{t:?}")
        };
        assert!((threshold - 0.505).abs() < 0.01, "{threshold}");
        let a = Assign::Tree(t);
        assert_ne!(a.region(&[0.2]), a.region(&[0.9]));
    }

    #[test]
    fn both_partitioners_learn_the_toy_task_with_a_guard_for_tiny_regions() {
        let task = FeatureTask::toy_ctr(6_000, 3).unwrap();
        for p in [PartitionedLr::kmeans(), PartitionedLr::tree()] {
            let m = p.clone().min_region_size(300).epochs(3).fit(&task).unwrap();
            let s = m.score_rows(&task.test).unwrap();
            let a = auc(&s, &task.test.positives()).unwrap();
            assert!(a > 0.55, "{}: AUC {a}", RowScorer::name(&m));
            assert_eq!(m.region_sizes().iter().sum::<usize>(), task.train.len());
            // Every region too small: all rows score with the global LR.
            let all = p.min_region_size(1_000_000).epochs(1).fit(&task).unwrap();
            assert_eq!(all.fallback_regions(), all.region_sizes().len());
            assert_eq!(
                all.score_rows(&task.test).unwrap(),
                all.global.predict(&task.test).unwrap()
            );
        }
        let ml = FeatureTask::toy_ctr(500, 1).unwrap();
        let no_dense = FeatureTask {
            encoders: FeatureEncoders::fit(
                crate::features::FeatureSpec {
                    columns: crate::features::FeatureSpec::toy_ctr().columns[..4].to_vec(),
                    ..crate::features::FeatureSpec::toy_ctr()
                },
                &crate::data::synthetic::toy_ctr_frame(100, 1).unwrap(),
            )
            .unwrap(),
            ..ml
        };
        let e = PartitionedLr::kmeans()
            .fit(&no_dense)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dense"), "{e}");
    }

    #[test]
    fn a_saved_partitioned_model_scores_the_same() {
        let task = FeatureTask::toy_ctr(4_000, 5).unwrap();
        let dir = std::env::temp_dir().join(format!("recsys-plm-{}", std::process::id()));
        for p in [PartitionedLr::kmeans(), PartitionedLr::tree()] {
            let m = p.min_region_size(300).epochs(2).fit(&task).unwrap();
            m.save(&dir).unwrap();
            let back = PartitionedLrModel::load(&dir).unwrap();
            assert_eq!(
                back.score_rows(&task.test).unwrap(),
                m.score_rows(&task.test).unwrap()
            );
        }
        std::fs::write(dir.join("partition.json"), b"{}").unwrap_or(());
        assert!(PartitionedLrModel::load(&dir).is_err());
    }
}
