//! Histogram gradient boosting for binary labels, grown leaf-wise as
//! LightGBM grows its trees: every column binned once on the training rows
//! (at most `max_bin` quantile bins), per-leaf gradient histograms with the
//! sibling subtraction trick, the best split by the regularised second-order
//! gain, at most `num_leaves` leaves of at least `min_data_in_leaf` rows,
//! shrinkage, and early stopping on validation AUC.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::metrics::pointwise::auc;

/// The booster's hyper-parameters (checked by the caller).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BoostParams {
    pub learning_rate: f64,
    pub num_leaves: usize,
    pub min_data_in_leaf: usize,
    pub lambda_l2: f64,
    pub max_bin: usize,
    pub max_trees: usize,
    /// Stop after this many trees without a better validation AUC.
    pub early_stopping: usize,
}

/// One node of a tree; children after their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Node {
    /// `x[feature] <= threshold` goes to `left`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// Leaf number `leaf` (0.. in the tree) adding `value` to the log-odds.
    Leaf { leaf: usize, value: f64 },
}

/// A fitted ensemble: log-odds = `base` + Σ trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Booster {
    pub base: f64,
    pub trees: Vec<Vec<Node>>,
    /// Validation AUC after each tree (when there were validation rows).
    pub val_auc: Vec<f64>,
}

impl Booster {
    /// The leaf `(number, value)` that `x` reaches in tree `t`.
    pub fn leaf(&self, t: usize, x: &[f64]) -> (usize, f64) {
        let nodes = &self.trees[t];
        let mut at = 0;
        loop {
            match nodes[at] {
                Node::Leaf { leaf, value } => return (leaf, value),
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => at = if x[feature] <= threshold { left } else { right },
            }
        }
    }

    /// Log-odds of `x`.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.base
            + (0..self.trees.len())
                .map(|t| self.leaf(t, x).1)
                .sum::<f64>()
    }

    /// Leaves per tree.
    pub fn leaves(&self) -> Vec<usize> {
        self.trees
            .iter()
            .map(|t| t.iter().filter(|n| matches!(n, Node::Leaf { .. })).count())
            .collect()
    }

    /// Checks a loaded ensemble: children after their parent and inside
    /// the tree (so every walk ends), leaves numbered 0..n, features
    /// `< columns`, every number finite.
    pub fn check(&self, columns: usize) -> std::result::Result<(), String> {
        if !self.base.is_finite() {
            return Err("the base score is not finite".into());
        }
        for (t, nodes) in self.trees.iter().enumerate() {
            let mut seen = Vec::new();
            for (at, n) in nodes.iter().enumerate() {
                let ok = match *n {
                    Node::Split {
                        feature,
                        threshold,
                        left,
                        right,
                    } => {
                        feature < columns
                            && !threshold.is_nan()
                            && left > at
                            && right > at
                            && left < nodes.len()
                            && right < nodes.len()
                    }
                    Node::Leaf { leaf, value } => {
                        seen.push(leaf);
                        value.is_finite()
                    }
                };
                if !ok {
                    return Err(format!("tree {t}: node {at} is not a valid node"));
                }
            }
            seen.sort_unstable();
            if nodes.is_empty() || seen.iter().enumerate().any(|(i, &l)| i != l) {
                return Err(format!("tree {t}: its leaves are not numbered 0..n"));
            }
        }
        Ok(())
    }
}

/// Per column: bin upper bounds (the last is +∞) and the rows' bins.
struct Binned {
    uppers: Vec<Vec<f64>>,
    /// `[columns × n]` bin of every row.
    bins: Vec<u8>,
    n: usize,
}

fn bin_columns(x: &[f64], n: usize, cols: usize, max_bin: usize) -> Binned {
    let uppers: Vec<Vec<f64>> = (0..cols)
        .into_par_iter()
        .map(|c| {
            let mut v: Vec<f64> = x[c * n..(c + 1) * n].to_vec();
            v.sort_unstable_by(f64::total_cmp);
            let mut distinct: Vec<(f64, usize)> = Vec::new();
            for &a in &v {
                match distinct.last_mut() {
                    Some((b, k)) if *b == a => *k += 1,
                    _ => distinct.push((a, 1)),
                }
            }
            let mut up: Vec<f64> = if distinct.len() <= max_bin {
                distinct.iter().map(|d| d.0).collect()
            } else {
                // Quantile cuts on the rows (a value never straddles two bins).
                let per = n as f64 / max_bin as f64;
                let mut cuts = Vec::with_capacity(max_bin);
                let (mut acc, mut next) = (0usize, per);
                for &(a, k) in &distinct {
                    acc += k;
                    if acc as f64 >= next {
                        cuts.push(a);
                        while next <= acc as f64 {
                            next += per;
                        }
                    }
                }
                cuts
            };
            up.truncate(max_bin);
            if let Some(last) = up.last_mut() {
                *last = f64::INFINITY;
            } else {
                up.push(f64::INFINITY);
            }
            up
        })
        .collect();
    let mut bins = vec![0u8; cols * n];
    bins.par_chunks_mut(n.max(1))
        .zip(&uppers)
        .enumerate()
        .for_each(|(c, (out, up))| {
            for (r, b) in out.iter_mut().enumerate() {
                *b = up.partition_point(|&u| u < x[c * n + r]).min(up.len() - 1) as u8;
            }
        });
    Binned { uppers, bins, n }
}

/// Gradient, hessian and row count of one bin.
type Cell = (f64, f64, u32);

/// A leaf being grown: its rows, histograms and best split.
struct Open {
    rows: Vec<u32>,
    hist: Vec<Vec<Cell>>,
    sums: (f64, f64),
    best: Option<Split>,
    node: usize,
}

#[derive(Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
}

fn histograms(b: &Binned, rows: &[u32], g: &[f64], h: &[f64]) -> Vec<Vec<Cell>> {
    // The leaf's gradients gathered once, in row order ("ordered
    // gradients"): each column then reads them sequentially.
    let gh: Vec<(f64, f64)> = rows
        .iter()
        .map(|&r| (g[r as usize], h[r as usize]))
        .collect();
    b.uppers
        .par_iter()
        .enumerate()
        .map(|(c, up)| {
            let col = &b.bins[c * b.n..(c + 1) * b.n];
            let mut hist = vec![(0.0, 0.0, 0u32); up.len()];
            for (&r, &(gr, hr)) in rows.iter().zip(&gh) {
                let e = &mut hist[col[r as usize] as usize];
                e.0 += gr;
                e.1 += hr;
                e.2 += 1;
            }
            hist
        })
        .collect()
}

fn score(g: f64, h: f64, lambda: f64) -> f64 {
    g * g / (h + lambda)
}

fn best_split(hist: &[Vec<Cell>], sums: (f64, f64), n: usize, p: &BoostParams) -> Option<Split> {
    let parent = score(sums.0, sums.1, p.lambda_l2);
    let mut best: Option<Split> = None;
    for (feature, hb) in hist.iter().enumerate() {
        let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
        for (bin, &(g, h, k)) in hb.iter().enumerate().take(hb.len().saturating_sub(1)) {
            gl += g;
            hl += h;
            nl += k as usize;
            let nr = n - nl;
            if nl < p.min_data_in_leaf {
                continue;
            }
            if nr < p.min_data_in_leaf {
                break;
            }
            let (gr, hr) = (sums.0 - gl, sums.1 - hl);
            if hl < 1e-3 || hr < 1e-3 {
                continue;
            }
            let gain = score(gl, hl, p.lambda_l2) + score(gr, hr, p.lambda_l2) - parent;
            if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split { gain, feature, bin });
            }
        }
    }
    best
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Grows one tree on the gradients; returns its nodes.
fn grow(b: &Binned, g: &[f64], h: &[f64], p: &BoostParams) -> Vec<Node> {
    let rows: Vec<u32> = (0..b.n as u32).collect();
    let hist = histograms(b, &rows, g, h);
    let sums = hist[0]
        .iter()
        .fold((0.0, 0.0), |a, c| (a.0 + c.0, a.1 + c.1));
    let best = best_split(&hist, sums, rows.len(), p);
    let mut nodes = vec![Node::Leaf {
        leaf: 0,
        value: 0.0,
    }];
    let mut open = vec![Open {
        rows,
        hist,
        sums,
        best,
        node: 0,
    }];
    let mut done: Vec<Open> = Vec::new();
    while open.len() + done.len() < p.num_leaves {
        // The open leaf with the largest gain (the first on ties).
        let Some(i) = open
            .iter()
            .enumerate()
            .filter(|(_, o)| o.best.is_some())
            .max_by(|a, c| {
                let (ga, gc) = (a.1.best.expect("some").gain, c.1.best.expect("some").gain);
                ga.total_cmp(&gc).then(c.0.cmp(&a.0))
            })
            .map(|(i, _)| i)
        else {
            break;
        };
        let leaf = open.swap_remove(i);
        let s = leaf.best.expect("filtered");
        let col = &b.bins[s.feature * b.n..(s.feature + 1) * b.n];
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = leaf
            .rows
            .iter()
            .partition(|&&r| (col[r as usize] as usize) <= s.bin);
        let (small, large_is_left) = if left_rows.len() <= right_rows.len() {
            (&left_rows, false)
        } else {
            (&right_rows, true)
        };
        let small_hist = histograms(b, small, g, h);
        let large_hist: Vec<Vec<Cell>> = leaf
            .hist
            .iter()
            .zip(&small_hist)
            .map(|(ph, sh)| {
                ph.iter()
                    .zip(sh)
                    .map(|(a, c)| (a.0 - c.0, a.1 - c.1, a.2 - c.2))
                    .collect()
            })
            .collect();
        let (lh, rh) = if large_is_left {
            (large_hist, small_hist)
        } else {
            (small_hist, large_hist)
        };
        let sum_of = |hist: &[Vec<Cell>]| {
            hist[0]
                .iter()
                .fold((0.0, 0.0), |a, c| (a.0 + c.0, a.1 + c.1))
        };
        let (ln, rn) = (nodes.len(), nodes.len() + 1);
        nodes.push(Node::Leaf {
            leaf: 0,
            value: 0.0,
        });
        nodes.push(Node::Leaf {
            leaf: 0,
            value: 0.0,
        });
        nodes[leaf.node] = Node::Split {
            feature: s.feature,
            threshold: b.uppers[s.feature][s.bin],
            left: ln,
            right: rn,
        };
        for (rows, hist, node) in [(left_rows, lh, ln), (right_rows, rh, rn)] {
            let sums = sum_of(&hist);
            let best = best_split(&hist, sums, rows.len(), p);
            let o = Open {
                rows,
                hist,
                sums,
                best,
                node,
            };
            if o.best.is_some() {
                open.push(o);
            } else {
                done.push(o);
            }
        }
    }
    // Leaves numbered in node order.
    let mut leaves: Vec<&Open> = open.iter().chain(&done).collect();
    leaves.sort_by_key(|o| o.node);
    for (k, o) in leaves.iter().enumerate() {
        let value = -p.learning_rate * o.sums.0 / (o.sums.1 + p.lambda_l2);
        nodes[o.node] = Node::Leaf { leaf: k, value };
    }
    // Renumber leaves so that leaf k is the k-th leaf in node order.
    nodes
}

/// Fits the ensemble on `x` (`[cols × n]` column-major) and labels `y`;
/// with `val` (`[cols × m]` column-major rows and their labels), stops
/// early on validation AUC and keeps the best number of trees.
pub(crate) fn fit(
    x: &[f64],
    n: usize,
    cols: usize,
    y: &[f32],
    val: Option<(&[f64], usize, &[bool])>,
    p: &BoostParams,
) -> Booster {
    let b = bin_columns(x, n, cols, p.max_bin.clamp(2, 256));
    let rate = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n.max(1) as f64;
    let base = (rate.clamp(1e-6, 1.0 - 1e-6) / (1.0 - rate.clamp(1e-6, 1.0 - 1e-6))).ln();
    let mut f = vec![base; n];
    let mut booster = Booster {
        base,
        trees: Vec::new(),
        val_auc: Vec::new(),
    };
    let mut fv = val.map(|(_, m, _)| vec![base; m]);
    let mut best = (f64::NEG_INFINITY, 0usize);
    let mut row = Vec::with_capacity(cols);
    for t in 0..p.max_trees {
        let (g, h): (Vec<f64>, Vec<f64>) = f
            .iter()
            .zip(y)
            .map(|(&z, &y)| {
                let q = sigmoid(z);
                (q - f64::from(y), (q * (1.0 - q)).max(1e-16))
            })
            .unzip();
        let tree = grow(&b, &g, &h, p);
        // Training rows: walk the tree on their bins' upper bounds' side.
        for (r, fr) in f.iter_mut().enumerate() {
            let mut at = 0;
            loop {
                match tree[at] {
                    Node::Leaf { value, .. } => {
                        *fr += value;
                        break;
                    }
                    Node::Split {
                        feature,
                        threshold,
                        left,
                        right,
                    } => {
                        at = if x[feature * n + r] <= threshold {
                            left
                        } else {
                            right
                        }
                    }
                }
            }
        }
        booster.trees.push(tree);
        if let (Some((xv, m, labels)), Some(fv)) = (val, fv.as_mut()) {
            for (r, fr) in fv.iter_mut().enumerate() {
                row.clear();
                row.extend((0..cols).map(|c| xv[c * m + r]));
                *fr += booster.leaf(t, &row).1;
            }
            let probs: Vec<f32> = fv.iter().map(|&z| sigmoid(z) as f32).collect();
            let a = auc(&probs, labels).unwrap_or(f64::NAN);
            booster.val_auc.push(a);
            if a > best.0 {
                best = (a, t + 1);
            } else if t + 1 - best.1 >= p.early_stopping {
                break;
            }
        }
    }
    if val.is_some() && best.1 > 0 {
        booster.trees.truncate(best.1);
    }
    booster
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> BoostParams {
        BoostParams {
            learning_rate: 0.3,
            num_leaves: 4,
            min_data_in_leaf: 5,
            lambda_l2: 1.0,
            max_bin: 255,
            max_trees: 20,
            early_stopping: 5,
        }
    }

    #[test]
    fn one_tree_finds_the_step_and_its_leaf_values_are_newton_steps() {
        // y = 1 exactly when x > 0.5: one split, two pure leaves.
        let n = 200;
        let x: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
        let y: Vec<f32> = x.iter().map(|&v| f32::from(u8::from(v > 0.5))).collect();
        let p = BoostParams {
            num_leaves: 2,
            max_trees: 1,
            ..params()
        };
        let m = fit(&x, n, 1, &y, None, &p);
        let Node::Split { threshold, .. } = m.trees[0][0] else {
            panic!("{:?}", m.trees[0])
        };
        assert!((threshold - 0.5).abs() < 0.01, "{threshold}");
        // Leaf value = −lr·G/(H + λ) with q = base rate at the start.
        let q = sigmoid(m.base);
        let (g, h) = (101.0 * q, 101.0 * q * (1.0 - q)); // x ≤ 0.5: 101 rows, all 0
        let (_, left) = m.leaf(0, &[0.1]);
        assert!((left + 0.3 * g / (h + 1.0)).abs() < 1e-9, "{left}");
        assert!(m.leaf(0, &[0.9]).1 > 0.0);
        assert!(m.check(1).is_ok());
    }

    #[test]
    fn boosting_learns_an_interaction_and_stops_early() {
        let n = 4_000;
        let mut x = vec![0.0; 2 * n];
        let mut y = vec![0.0f32; n];
        for r in 0..n {
            let (a, c) = ((r * 7 % 13) as f64, (r * 5 % 11) as f64);
            x[r] = a;
            x[n + r] = c;
            y[r] = f32::from(u8::from((a > 6.0) ^ (c > 5.0)));
        }
        let labels: Vec<bool> = y.iter().map(|&v| v > 0.5).collect();
        let m = fit(&x, n, 2, &y, Some((&x, n, &labels)), &params());
        let probs: Vec<f32> = (0..n)
            .map(|r| sigmoid(m.logit(&[x[r], x[n + r]])) as f32)
            .collect();
        assert!(auc(&probs, &labels).unwrap() > 0.99);
        assert!(
            m.trees.len() < 20,
            "stopped early at {} trees",
            m.trees.len()
        );
        assert!(m.leaves().iter().all(|&l| l <= 4));
    }
}
