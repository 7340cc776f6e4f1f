//! Sampled-candidate metrics (one positive among N negatives).

/// Rank metrics of one positive among its negatives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampledRank {
    /// `1 + #{negatives with score ≥ positive}` (pessimistic ties).
    pub rank: usize,
    /// `(#below + ½ #tied) / #negatives`.
    pub auc: f64,
}

/// Ranks `positive` against `negatives`.
pub fn rank_against(positive: f32, negatives: &[f32]) -> SampledRank {
    let mut ge = 0usize;
    let mut below = 0usize;
    let mut tied = 0usize;
    for &s in negatives {
        if s >= positive {
            ge += 1;
        }
        if s < positive {
            below += 1;
        } else if s == positive {
            tied += 1;
        }
    }
    let auc = if negatives.is_empty() {
        0.5
    } else {
        (below as f64 + 0.5 * tied as f64) / negatives.len() as f64
    };
    SampledRank { rank: 1 + ge, auc }
}

/// `HR@k` of a rank.
pub fn hit(rank: usize, k: usize) -> f64 {
    if rank <= k { 1.0 } else { 0.0 }
}

/// `NDCG@k` of a rank (single relevant item, IDCG = 1).
pub fn ndcg(rank: usize, k: usize) -> f64 {
    if rank <= k {
        1.0 / ((rank + 1) as f64).log2()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_count_against_the_positive() {
        let r = rank_against(0.5, &[0.9, 0.5, 0.1, 0.2]);
        assert_eq!(r.rank, 3);
        assert!((r.auc - (2.0 + 0.5) / 4.0).abs() < 1e-12);
        // a constant scorer ranks last
        assert_eq!(rank_against(1.0, &[1.0; 999]).rank, 1000);
        assert_eq!(hit(10, 10), 1.0);
        assert_eq!(hit(11, 10), 0.0);
        assert!((ndcg(1, 10) - 1.0).abs() < 1e-12);
        assert!((ndcg(3, 10) - 0.5).abs() < 1e-12);
        assert_eq!(ndcg(11, 10), 0.0);
    }
}
