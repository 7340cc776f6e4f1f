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
pub fn intra_list_diversity(list: &[u32], train: &Interactions) -> f64 {
    let csc = train.csc();
    let col = |i: u32| csc.row_indices(i as usize);
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for a in 0..list.len() {
        for b in a + 1..list.len() {
            let (x, y) = (col(list[a]), col(list[b]));
            let inter = sorted_intersection(x, y);
            let denom = ((x.len() * y.len()) as f64).sqrt();
            let cos = if denom > 0.0 {
                inter as f64 / denom
            } else {
                0.0
            };
            sum += 1.0 - cos;
            pairs += 1;
        }
    }
    if pairs == 0 { 0.0 } else { sum / pairs as f64 }
}

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
