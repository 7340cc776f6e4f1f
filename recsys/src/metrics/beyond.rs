//! Beyond-accuracy metrics of recommendation lists.

use crate::data::Interactions;

/// `|∪ lists| / n_items`.
pub fn coverage(lists: &[Vec<u32>], n_items: usize) -> f64 {
    let mut seen = vec![false; n_items];
    for l in lists {
        for &i in l {
            seen[i as usize] = true;
        }
    }
    seen.iter().filter(|&&s| s).count() as f64 / n_items.max(1) as f64
}

/// Mean self-information `-log2(max(pop(i),1) / n_users)` of one list's
/// items; `pop` = number of train users per item.
pub fn novelty(list: &[u32], pop: &[u32], n_users: usize) -> f64 {
    if list.is_empty() {
        return 0.0;
    }
    list.iter()
        .map(|&i| -((pop[i as usize].max(1) as f64) / n_users as f64).log2())
        .sum::<f64>()
        / list.len() as f64
}

/// Items in the long tail: everything outside the most popular 20 % of the
/// items with training interactions (`true` = tail).
pub fn long_tail_mask(pop: &[u32]) -> Vec<bool> {
    let mut active: Vec<(u32, usize)> = pop
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c > 0)
        .map(|(i, &c)| (c, i))
        .collect();
    active.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let head = (active.len() as f64 * 0.2).ceil() as usize;
    let mut tail = vec![true; pop.len()];
    for &(_, i) in &active[..head] {
        tail[i] = false;
    }
    tail
}

/// Share of a list's items that are in the long tail.
pub fn long_tail_share(list: &[u32], tail: &[bool]) -> f64 {
    if list.is_empty() {
        return 0.0;
    }
    list.iter().filter(|&&i| tail[i as usize]).count() as f64 / list.len() as f64
}

/// Intra-list diversity: mean pairwise `1 - cos(i, j)` of the binary train
/// columns of the list's items (0 for lists shorter than 2).
///
/// Computed without visiting the pairs: with `v̂` the unit-normalised
/// columns, `Σ_{a<b} cos(a, b) = (‖Σ_a v̂_a‖² − #non-empty columns) / 2`, so
/// the cost is the sum of the items' train degrees, not k² times it.
pub fn intra_list_diversity(list: &[u32], train: &Interactions) -> f64 {
    let k = list.len();
    if k < 2 {
        return 0.0;
    }
    let csc = train.csc();
    // (user, weight) of every list item's train users, summed per user in a
    // fixed order (sorted), so the value is bit-for-bit the same whatever
    // the list's order or the process.
    let mut cells: Vec<(u32, f64)> = Vec::new();
    let mut non_empty = 0usize;
    for &i in list {
        let users = csc.row_indices(i as usize);
        if users.is_empty() {
            continue;
        }
        non_empty += 1;
        let w = 1.0 / (users.len() as f64).sqrt();
        cells.extend(users.iter().map(|&u| (u, w)));
    }
    cells.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut norm2 = 0.0;
    for run in cells.chunk_by(|a, b| a.0 == b.0) {
        let s: f64 = run.iter().map(|c| c.1).sum();
        norm2 += s * s;
    }
    let cos_sum = ((norm2 - non_empty as f64) / 2.0).max(0.0);
    let pairs = (k * (k - 1) / 2) as f64;
    (pairs - cos_sum) / pairs
}

#[cfg(test)]
fn sorted_intersection(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, pair by pair.
    fn ild_pairwise(list: &[u32], train: &Interactions) -> f64 {
        let csc = train.csc();
        let col = |i: u32| csc.row_indices(i as usize);
        let (mut sum, mut pairs) = (0.0, 0usize);
        for a in 0..list.len() {
            for b in a + 1..list.len() {
                let (x, y) = (col(list[a]), col(list[b]));
                let denom = ((x.len() * y.len()) as f64).sqrt();
                let cos = if denom > 0.0 {
                    sorted_intersection(x, y) as f64 / denom
                } else {
                    0.0
                };
                sum += 1.0 - cos;
                pairs += 1;
            }
        }
        if pairs == 0 { 0.0 } else { sum / pairs as f64 }
    }

    #[test]
    fn intra_list_diversity_equals_the_pairwise_definition() {
        let (train, _) = crate::models::contract::checkerboard(30, 24);
        let lists: [&[u32]; 5] = [&[0, 1, 2, 3, 4, 5, 6, 7], &[0, 2, 4, 6], &[1, 3], &[5], &[]];
        for l in lists {
            let (fast, slow) = (intra_list_diversity(l, &train), ild_pairwise(l, &train));
            assert!((fast - slow).abs() < 1e-12, "{l:?}: {fast} vs {slow}");
        }
        let all: Vec<u32> = (0..24).collect();
        assert!((intra_list_diversity(&all, &train) - ild_pairwise(&all, &train)).abs() < 1e-12);
        let reversed: Vec<u32> = all.iter().rev().copied().collect();
        assert_eq!(
            intra_list_diversity(&all, &train).to_bits(),
            intra_list_diversity(&reversed, &train).to_bits(),
            "independent of the list's order"
        );
    }

    #[test]
    fn coverage_and_novelty() {
        assert!((coverage(&[vec![0, 1], vec![1, 2]], 6) - 0.5).abs() < 1e-12);
        // pop 1 of 4 users -> 2 bits; pop 4 of 4 -> 0 bits
        assert!((novelty(&[0, 1], &[1, 4], 4) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn long_tail_is_outside_the_top_fifth() {
        let pop = [10, 0, 5, 1, 1, 1, 1, 1, 1, 1, 1];
        let tail = long_tail_mask(&pop);
        assert!(!tail[0] && !tail[2], "top 20% of 10 active items = 2 items");
        assert!(tail[3] && tail[1]);
        assert!((long_tail_share(&[0, 3, 4, 2], &tail) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ild_of_identical_and_disjoint_items() {
        let rows: Vec<(String, String)> = [
            ("u1", "a"),
            ("u1", "b"),
            ("u2", "a"),
            ("u2", "b"),
            ("u3", "c"),
        ]
        .iter()
        .map(|(u, i)| (u.to_string(), i.to_string()))
        .collect();
        let x = Interactions::from_raw_rows(&rows, None, None, &[]).unwrap();
        assert!(intra_list_diversity(&[0, 1], &x).abs() < 1e-12);
        assert!((intra_list_diversity(&[0, 2], &x) - 1.0).abs() < 1e-12);
        assert_eq!(intra_list_diversity(&[0], &x), 0.0);
    }
}
