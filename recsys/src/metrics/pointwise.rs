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
        .map(|(&p, &y)| {
            let p = (p as f64).clamp(1e-7, 1.0 - 1e-7);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / n
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
}
