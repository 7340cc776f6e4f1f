//! Full-ranking metrics of one user's top-K list.

/// Top-K metrics of one user.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TopK {
    pub precision: f64,
    pub recall: f64,
    pub ndcg: f64,
    pub map: f64,
    pub hit: f64,
    pub mrr: f64,
}

/// Metrics of `list` (recommended items, best first; only the first `k`
/// count) against the sorted relevant set `relevant` (non-empty).
pub fn top_k(list: &[u32], relevant: &[u32], k: usize) -> TopK {
    debug_assert!(relevant.windows(2).all(|w| w[0] < w[1]));
    if relevant.is_empty() || k == 0 {
        return TopK::default();
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    let mut ap = 0.0;
    let mut mrr = 0.0;
    for (pos, item) in list.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += 1.0 / ((pos + 2) as f64).log2();
            ap += hits as f64 / (pos + 1) as f64;
            if mrr == 0.0 {
                mrr = 1.0 / (pos + 1) as f64;
            }
        }
    }
    let ideal = k.min(relevant.len());
    let idcg: f64 = (0..ideal).map(|p| 1.0 / ((p + 2) as f64).log2()).sum();
    TopK {
        precision: hits as f64 / k as f64,
        recall: hits as f64 / relevant.len() as f64,
        ndcg: dcg / idcg,
        map: ap / ideal as f64,
        hit: if hits > 0 { 1.0 } else { 0.0 },
        mrr,
    }
}

/// The crate's one masked top-k: every item of every list of `masks` is
/// set to −∞ in `scores` (a user's training items, held-out items, the
/// query item), then the top `k` of the rest by [`top_k_indices`]: best
/// first, ties by index ascending, masked items never returned.
pub fn masked_top_k(scores: &mut [f32], masks: &[&[u32]], k: usize) -> Vec<u32> {
    for mask in masks {
        for &i in *mask {
            scores[i as usize] = f32::NEG_INFINITY;
        }
    }
    top_k_indices(scores, k)
}

/// Indices of the `k` largest scores, best first; ties by index ascending.
/// Entries with `f32::NEG_INFINITY` are never returned. One pass with a
/// small sorted buffer when `k` is small, else a partial sort.
pub fn top_k_indices(scores: &[f32], k: usize) -> Vec<u32> {
    let better = |a: &u32, b: &u32| {
        scores[*b as usize]
            .total_cmp(&scores[*a as usize])
            .then(a.cmp(b))
    };
    if k == 0 {
        return Vec::new();
    }
    if k <= 64 && k * 16 <= scores.len() {
        // `buf` is sorted best first; an index enters when it beats the worst.
        let mut buf: Vec<u32> = Vec::with_capacity(k + 1);
        for (i, &s) in scores.iter().enumerate() {
            if s == f32::NEG_INFINITY {
                continue;
            }
            if buf.len() == k {
                let worst = scores[buf[k - 1] as usize];
                // later indices lose ties, so they must be strictly better
                if s.total_cmp(&worst) != std::cmp::Ordering::Greater {
                    continue;
                }
            }
            let i = i as u32;
            let pos = buf.partition_point(|b| better(b, &i) == std::cmp::Ordering::Less);
            buf.insert(pos, i);
            buf.truncate(k);
        }
        return buf;
    }
    let mut idx: Vec<u32> = (0..scores.len() as u32)
        .filter(|&i| scores[i as usize] > f32::NEG_INFINITY)
        .collect();
    if idx.len() > k {
        idx.select_nth_unstable_by(k - 1, better);
        idx.truncate(k);
    }
    idx.sort_unstable_by(better);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn hand_computed_case() {
        // relevant {2, 5, 9}; list hits at positions 1 and 3, K = 4.
        let m = top_k(&[2, 7, 5, 8], &[2, 5, 9], 4);
        close(m.precision, 0.5);
        close(m.recall, 2.0 / 3.0);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 1.0 / 4f64.log2();
        close(m.ndcg, dcg / idcg);
        close(m.map, (1.0 + 2.0 / 3.0) / 3.0);
        close(m.hit, 1.0);
        close(m.mrr, 1.0);
    }

    #[test]
    fn idcg_and_map_use_min_k_relevant() {
        // one relevant item at position 2, K = 10 -> IDCG = 1, MAP denominator 1
        let m = top_k(&[1, 4, 3], &[4], 10);
        close(m.ndcg, 1.0 / 3f64.log2());
        close(m.map, 0.5);
        close(m.mrr, 0.5);
        close(m.precision, 0.1);
        // more relevant than K: denominators are K
        let m = top_k(&[1, 2], &[1, 2, 3, 4], 2);
        close(m.ndcg, 1.0);
        close(m.map, 1.0);
        close(m.recall, 0.5);
    }

    #[test]
    fn misses_are_zero() {
        assert_eq!(
            top_k(&[1, 2], &[3], 2),
            TopK {
                precision: 0.0,
                recall: 0.0,
                ndcg: 0.0,
                map: 0.0,
                hit: 0.0,
                mrr: 0.0
            }
        );
    }

    #[test]
    fn both_top_k_paths_agree() {
        let scores: Vec<f32> = (0..2000).map(|i| ((i * 7919) % 97) as f32 / 7.0).collect();
        for k in [1, 5, 10, 64, 65, 500] {
            let fast = top_k_indices(&scores, k);
            let mut all: Vec<u32> = (0..2000).collect();
            all.sort_by(|a, b| {
                scores[*b as usize]
                    .total_cmp(&scores[*a as usize])
                    .then(a.cmp(b))
            });
            assert_eq!(fast, all[..k].to_vec(), "k={k}");
        }
    }

    #[test]
    fn top_k_breaks_ties_by_index() {
        let s = [1.0, 3.0, 3.0, f32::NEG_INFINITY, 2.0, 3.0];
        assert_eq!(top_k_indices(&s, 3), vec![1, 2, 5]);
        assert_eq!(top_k_indices(&s, 10), vec![1, 2, 5, 4, 0]);
        assert!(top_k_indices(&s, 0).is_empty());
    }
}
