//! Pointwise metrics over scored rows.

/// ROC-AUC with average ranks for ties (equal to sklearn's
/// `roc_auc_score`). `None` when only one class is present.
pub fn auc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len());
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &r in &idx[i..=j] {
            if labels[r] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let np = n_pos as f64;
    Some((rank_sum_pos - np * (np + 1.0) / 2.0) / (np * n_neg as f64))
}

/// Group AUC: per-group AUC weighted by group size, over groups with both
/// labels. `groups[i]` is row `i`'s group (user).
pub fn gauc(scores: &[f32], labels: &[bool], groups: &[u32]) -> Option<f64> {
    let mut by: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, &g) in groups.iter().enumerate() {
        by.entry(g).or_default().push(i);
    }
    let (mut num, mut den) = (0.0, 0.0);
    for rows in by.values() {
        let s: Vec<f32> = rows.iter().map(|&r| scores[r]).collect();
        let l: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
        if let Some(a) = auc(&s, &l) {
            num += a * rows.len() as f64;
            den += rows.len() as f64;
        }
    }
    (den > 0.0).then(|| num / den)
}

/// Mean binary cross-entropy of probabilities, clipped to [1e-7, 1 - 1e-7].
pub fn log_loss(probs: &[f32], labels: &[bool]) -> f64 {
    let n = probs.len().max(1) as f64;
    probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| row_loss(p, y))
        .sum::<f64>()
        / n
}

/// One row's binary cross-entropy, the probability clipped to [1e-7, 1 - 1e-7].
fn row_loss(p: f32, y: bool) -> f64 {
    let p = (p as f64).clamp(1e-7, 1.0 - 1e-7);
    if y { -p.ln() } else { -(1.0 - p).ln() }
}

/// A 95 % CI of an AUC from Hanley & McNeil's (1982) standard error,
/// `SE² = (A(1−A) + (n₊−1)(Q₁−A²) + (n₋−1)(Q₂−A²)) / (n₊ n₋)` with
/// `Q₁ = A/(2−A)`, `Q₂ = 2A²/(1+A)`: O(1) once the AUC is known, for row
/// counts (a million sampled candidates) where a bootstrap costs seconds.
pub fn auc_ci_hanley_mcneil(auc: f64, n_pos: usize, n_neg: usize) -> (f64, f64) {
    let (np, nn) = (n_pos as f64, n_neg as f64);
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    let var = (auc * (1.0 - auc) + (np - 1.0) * (q1 - auc * auc) + (nn - 1.0) * (q2 - auc * auc))
        / (np * nn).max(1.0);
    let half = 1.96 * var.max(0.0).sqrt();
    ((auc - half).max(0.0), (auc + half).min(1.0))
}

/// The mean LogLoss (as [`log_loss`]) with a normal-approximation 95 % CI
/// over rows (mean ± 1.96 · sd / √n): `(mean, low, high)`.
pub fn log_loss_ci(probs: &[f32], labels: &[bool]) -> (f64, f64, f64) {
    let losses: Vec<f64> = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| row_loss(p, y))
        .collect();
    let n = losses.len().max(1) as f64;
    let mean = losses.iter().sum::<f64>() / n;
    let var = losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let half = 1.96 * (var / n).sqrt();
    (mean, mean - half, mean + half)
}

/// Root mean squared error.
pub fn rmse(pred: &[f32], truth: &[f32]) -> f64 {
    let n = pred.len().max(1) as f64;
    (pred
        .iter()
        .zip(truth)
        .map(|(&p, &t)| ((p - t) as f64).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

/// Mean absolute error.
pub fn mae(pred: &[f32], truth: &[f32]) -> f64 {
    let n = pred.len().max(1) as f64;
    pred.iter()
        .zip(truth)
        .map(|(&p, &t)| ((p - t) as f64).abs())
        .sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_hand_computed_with_ties() {
        // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75
        let a = auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((a - 0.75).abs() < 1e-12);
        // tie between a positive and a negative counts 1/2
        let a = auc(&[0.5, 0.5], &[true, false]).unwrap();
        assert!((a - 0.5).abs() < 1e-12);
        assert!(auc(&[0.1], &[true]).is_none());
    }

    #[test]
    fn gauc_weights_by_rows() {
        let s = [0.9, 0.1, 0.2, 0.8, 0.5];
        let l = [true, false, true, false, false];
        let g = [1, 1, 2, 2, 2];
        // group 1 auc 1 (2 rows), group 2 auc 0.0 (3 rows) -> 2/5
        assert!((gauc(&s, &l, &g).unwrap() - 0.4).abs() < 1e-12);
    }

    #[test]
    fn losses() {
        let ll = log_loss(&[0.5, 0.5], &[true, false]);
        assert!((ll - std::f64::consts::LN_2).abs() < 1e-9);
        assert!(log_loss(&[0.0], &[true]) < 17.0);
        assert!((rmse(&[1.0, 3.0], &[2.0, 2.0]) - 1.0).abs() < 1e-12);
        assert!((mae(&[1.0, 4.0], &[2.0, 2.0]) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn cheap_cis_bracket_their_estimates() {
        // A = 0.9, 50 + 50 cases: SE = √(2.580 / 2500) ≈ 0.0321 by hand.
        let (lo, hi) = auc_ci_hanley_mcneil(0.9, 50, 50);
        assert!(
            ((hi - lo) / (2.0 * 1.96) - 0.0321).abs() < 0.001,
            "{lo} {hi}"
        );
        let probs = [0.9f32, 0.2, 0.7, 0.4];
        let labels = [true, false, true, false];
        let (m, lo, hi) = log_loss_ci(&probs, &labels);
        assert!((m - log_loss(&probs, &labels)).abs() < 1e-12);
        assert!(lo < m && m < hi);
    }
}
