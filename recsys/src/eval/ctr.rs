//! The pointwise (CTR) protocol: labelled rows scored by a model → AUC,
//! GAUC and LogLoss, each with a 95 % bootstrap CI over rows (GAUC: over
//! groups), and paired comparisons of two models on the same rows.
//!
//! The bootstrap uses Poisson(1) weights (the standard large-sample form of
//! resampling with replacement) on rows sorted once by score, so each
//! resample of AUC costs O(n) instead of a sort.

use rand::{RngExt, SeedableRng};

use super::MetricSeries;
use crate::metrics::bootstrap::{self, Paired};
use crate::metrics::pointwise;
use crate::{Error, Result};

type Rng = rand::rngs::Xoshiro256PlusPlus;

/// Resamples of the pointwise CIs.
pub const POINTWISE_RESAMPLES: usize = 500;

/// Labelled rows and a model's scores on them.
#[derive(Debug, Clone, Copy)]
pub struct ScoredRows<'a> {
    /// One score per row (probabilities when `probabilities`).
    pub scores: &'a [f32],
    pub labels: &'a [bool],
    /// The group (user / query) of each row, for GAUC.
    pub groups: Option<&'a [u32]>,
    /// True when the scores are calibrated probabilities (enables LogLoss).
    pub probabilities: bool,
}

impl ScoredRows<'_> {
    fn check(&self) -> Result<()> {
        if self.scores.len() != self.labels.len()
            || self.groups.is_some_and(|g| g.len() != self.labels.len())
        {
            return Err(Error::InvalidData(format!(
                "pointwise protocol: {} scores, {} labels{} (one each per row)",
                self.scores.len(),
                self.labels.len(),
                self.groups
                    .map_or(String::new(), |g| format!(", {} groups", g.len()))
            )));
        }
        if self.labels.is_empty() {
            return Err(Error::InvalidData("pointwise protocol: no rows".into()));
        }
        if !self.labels.iter().any(|&l| l) || self.labels.iter().all(|&l| l) {
            return Err(Error::InvalidData(
                "pointwise protocol: the rows need both labels (AUC is undefined otherwise)".into(),
            ));
        }
        if let Some(i) = self.scores.iter().position(|s| !s.is_finite()) {
            return Err(Error::InvalidData(format!(
                "pointwise protocol: row {i} has a non-finite score ({})",
                self.scores[i]
            )));
        }
        Ok(())
    }
}

/// Rows in ascending score order, in runs of equal scores: `(start, end)`.
struct Sorted {
    order: Vec<usize>,
    runs: Vec<(usize, usize)>,
}

impl Sorted {
    fn new(scores: &[f32]) -> Sorted {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        let mut runs = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let mut j = i + 1;
            while j < order.len() && scores[order[j]] == scores[order[i]] {
                j += 1;
            }
            runs.push((i, j));
            i = j;
        }
        Sorted { order, runs }
    }

    /// AUC with row weights `w` (ties count one half), `None` without both
    /// labels' weight.
    fn auc(&self, labels: &[bool], w: impl Fn(usize) -> f64) -> Option<f64> {
        let (mut below, mut num, mut wp_all) = (0.0, 0.0, 0.0);
        for &(a, b) in &self.runs {
            let (mut wp, mut wn) = (0.0, 0.0);
            for &r in &self.order[a..b] {
                if labels[r] {
                    wp += w(r);
                } else {
                    wn += w(r);
                }
            }
            num += wp * (below + 0.5 * wn);
            below += wn;
            wp_all += wp;
        }
        (wp_all > 0.0 && below > 0.0).then(|| num / (wp_all * below))
    }
}

fn percentile_ci(mut v: Vec<f64>) -> (f64, f64) {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    (q(0.025), q(0.975))
}

/// Poisson(1) draws for `n` items (inversion; mean 1, variance 1).
fn poisson_weights(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            let (mut k, mut p, mut cdf) = (0u32, (-1f64).exp(), (-1f64).exp());
            while u > cdf && k < 20 {
                k += 1;
                p /= f64::from(k);
                cdf += p;
            }
            f64::from(k)
        })
        .collect()
}

/// Per-group AUCs and row counts (groups with both labels).
fn group_aucs(scores: &[f32], labels: &[bool], groups: &[u32]) -> Vec<(f64, f64)> {
    let mut by: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, &g) in groups.iter().enumerate() {
        by.entry(g).or_default().push(i);
    }
    by.values()
        .filter_map(|rows| {
            let s: Vec<f32> = rows.iter().map(|&r| scores[r]).collect();
            let l: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
            pointwise::auc(&s, &l).map(|a| (a, rows.len() as f64))
        })
        .collect()
}

/// Per-row log loss (p clipped to [1e-7, 1 − 1e-7]).
fn row_losses(probs: &[f32], labels: &[bool]) -> Vec<f64> {
    probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .collect()
}

/// The pointwise protocol: `AUC` (= sklearn's `roc_auc_score`), `GAUC`
/// when groups are given, `LogLoss` when the scores are probabilities, each
/// with a 95 % bootstrap CI (`POINTWISE_RESAMPLES` resamples, seeded).
pub fn pointwise_metrics(rows: ScoredRows<'_>, seed: u64) -> Result<Vec<MetricSeries>> {
    rows.check()?;
    let ScoredRows {
        scores,
        labels,
        groups,
        probabilities,
    } = rows;
    let sorted = Sorted::new(scores);
    let auc = sorted.auc(labels, |_| 1.0).expect("both labels checked");
    let mut rng = Rng::seed_from_u64(seed);
    let boots: Vec<f64> = (0..POINTWISE_RESAMPLES)
        .filter_map(|_| {
            let w = poisson_weights(&mut rng, scores.len());
            sorted.auc(labels, |r| w[r])
        })
        .collect();
    let mut out = vec![MetricSeries::aggregate_ci(
        "AUC".into(),
        auc,
        percentile_ci(boots),
    )];
    if let Some(g) = groups {
        let per = group_aucs(scores, labels, g);
        if !per.is_empty() {
            let mean = |w: &dyn Fn(usize) -> f64| {
                let (num, den) = per
                    .iter()
                    .enumerate()
                    .fold((0.0, 0.0), |(n, d), (k, (a, c))| {
                        (n + a * c * w(k), d + c * w(k))
                    });
                (den > 0.0).then(|| num / den)
            };
            let gauc = mean(&|_| 1.0).expect("groups with both labels");
            let boots: Vec<f64> = (0..POINTWISE_RESAMPLES)
                .filter_map(|_| {
                    let w = poisson_weights(&mut rng, per.len());
                    mean(&|k| w[k])
                })
                .collect();
            out.push(MetricSeries::aggregate_ci(
                "GAUC".into(),
                gauc,
                percentile_ci(boots),
            ));
        }
    }
    if probabilities {
        let losses = row_losses(scores, labels);
        let (m, lo, hi) = bootstrap::mean_ci(&losses, POINTWISE_RESAMPLES, seed ^ 0x5bd1_e995);
        out.push(MetricSeries::aggregate_ci("LogLoss".into(), m, (lo, hi)));
    }
    Ok(out)
}

/// A paired comparison of two models' scores on the same labelled rows:
/// the AUC difference `b − a` with a paired bootstrap CI and two-sided
/// p-value (shared Poisson weights), and, when both are probabilities, the
/// LogLoss difference with the paired sign-flip test on per-row losses.
#[derive(Debug, Clone, PartialEq)]
pub struct PointwiseComparison {
    pub auc: Paired,
    pub log_loss: Option<Paired>,
}

/// Compares `b` against `a` (same rows, same labels).
pub fn compare_pointwise(
    a: ScoredRows<'_>,
    b: ScoredRows<'_>,
    seed: u64,
) -> Result<PointwiseComparison> {
    a.check()?;
    b.check()?;
    if a.labels != b.labels {
        return Err(Error::InvalidData(
            "paired pointwise comparison: the two models were scored on different rows".into(),
        ));
    }
    let (sa, sb) = (Sorted::new(a.scores), Sorted::new(b.scores));
    let base = |s: &Sorted| s.auc(a.labels, |_| 1.0).expect("both labels checked");
    let diff = base(&sb) - base(&sa);
    let mut rng = Rng::seed_from_u64(seed);
    let boots: Vec<f64> = (0..POINTWISE_RESAMPLES)
        .filter_map(|_| {
            let w = poisson_weights(&mut rng, a.labels.len());
            Some(sb.auc(a.labels, |r| w[r])? - sa.auc(a.labels, |r| w[r])?)
        })
        .collect();
    // Two-sided p-value: how often the centred bootstrap difference is at
    // least as far from 0 as the observed one.
    let extreme = boots
        .iter()
        .filter(|&&d| (d - diff).abs() >= diff.abs() - 1e-15)
        .count();
    let p_value = (extreme + 1) as f64 / (boots.len() + 1) as f64;
    let auc = Paired {
        diff,
        ci: percentile_ci(boots),
        p_value,
    };
    let log_loss = (a.probabilities && b.probabilities).then(|| {
        bootstrap::paired(
            &row_losses(a.scores, a.labels),
            &row_losses(b.scores, b.labels),
            seed,
        )
    });
    Ok(PointwiseComparison { auc, log_loss })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows<'a>(s: &'a [f32], l: &'a [bool]) -> ScoredRows<'a> {
        ScoredRows {
            scores: s,
            labels: l,
            groups: None,
            probabilities: true,
        }
    }

    #[test]
    fn auc_equals_the_rank_formula_and_cis_bracket_it() {
        let n = 2000;
        let labels: Vec<bool> = (0..n).map(|i| (i * 7919) % 3 == 0).collect();
        let scores: Vec<f32> = (0..n)
            .map(|i| {
                ((i * 104_729) % 1000) as f32 / 1000.0 * 0.6 + if labels[i] { 0.3 } else { 0.0 }
            })
            .map(|x| (x * 20.0).round() / 20.0) // ties
            .collect();
        let m = pointwise_metrics(rows(&scores, &labels), 42).unwrap();
        let auc = &m[0];
        let exact = pointwise::auc(&scores, &labels).unwrap();
        assert!(
            (auc.value - exact).abs() < 1e-12,
            "{} vs {exact}",
            auc.value
        );
        let (lo, hi) = auc.ci.unwrap();
        assert!(lo < auc.value && auc.value < hi, "{lo} {} {hi}", auc.value);
        let ll = m.iter().find(|s| s.name == "LogLoss").unwrap();
        assert!((ll.value - pointwise::log_loss(&scores, &labels)).abs() < 1e-12);
        assert_eq!(
            pointwise_metrics(rows(&scores, &labels), 42).unwrap(),
            m,
            "seeded"
        );
    }

    #[test]
    fn gauc_and_bad_rows() {
        let s = [0.1, 0.9, 0.8, 0.2, 0.5, 0.4];
        let l = [false, true, false, true, true, false];
        let g = [0, 0, 1, 1, 2, 2];
        let m = pointwise_metrics(
            ScoredRows {
                groups: Some(&g),
                probabilities: false,
                ..rows(&s, &l)
            },
            1,
        )
        .unwrap();
        let gauc = m.iter().find(|x| x.name == "GAUC").unwrap();
        assert!((gauc.value - pointwise::gauc(&s, &l, &g).unwrap()).abs() < 1e-12);
        assert!(m.iter().all(|x| x.name != "LogLoss"));
        assert!(pointwise_metrics(rows(&s, &[true; 6]), 1).is_err());
        assert!(pointwise_metrics(rows(&s[..3], &l), 1).is_err());
        assert!(pointwise_metrics(rows(&[f32::NAN, 0.1], &[true, false]), 1).is_err());
    }

    #[test]
    fn paired_comparison_sees_a_better_model_and_not_a_copy() {
        let n = 3000;
        let labels: Vec<bool> = (0..n).map(|i| (i * 31) % 4 == 0).collect();
        let noise = |i: usize, k: usize| ((i * k) % 997) as f32 / 997.0;
        let weak: Vec<f32> = (0..n)
            .map(|i| 0.5 * noise(i, 613) + if labels[i] { 0.1 } else { 0.0 })
            .collect();
        let strong: Vec<f32> = (0..n)
            .map(|i| 0.5 * noise(i, 613) + if labels[i] { 0.3 } else { 0.0 })
            .collect();
        let c = compare_pointwise(rows(&weak, &labels), rows(&strong, &labels), 7).unwrap();
        assert!(c.auc.diff > 0.05 && c.auc.p_value < 0.01, "{c:?}");
        assert!(c.auc.ci.0 > 0.0);
        let same = compare_pointwise(rows(&weak, &labels), rows(&weak, &labels), 7).unwrap();
        assert_eq!(same.auc.diff, 0.0);
        assert!(same.auc.p_value > 0.5, "{same:?}");
        assert!(
            compare_pointwise(rows(&weak, &labels), rows(&weak[..10], &labels[..10]), 7).is_err()
        );
    }
}
