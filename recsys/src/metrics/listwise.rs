//! Listwise metrics over queries (learning to rank): NDCG@K with graded
//! gains, as the peer harness's LTR protocol defines it.
//!
//! Per query: rank its rows by score descending (ties kept in row order),
//! `DCG@K = Σ_{pos ≤ min(K, n)} (2^rel − 1) / log₂(pos + 1)`, `IDCG@K` the
//! same over the query's own grades in ideal order, `NDCG@K = DCG / IDCG`.
//! A query whose rows all have the same grade is **excluded** (every
//! ranking scores 1 there).

/// Per-query values of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryValues {
    /// The evaluated queries (group ids), in order of first appearance.
    pub queries: Vec<u32>,
    pub values: Vec<f64>,
    /// Queries left out because all their grades are equal.
    pub excluded: usize,
}

/// NDCG@`k` of every query (`groups[r]` = the query of row `r`) with gain
/// `2^rel − 1`; see the module docs.
pub fn query_ndcg(scores: &[f32], grades: &[f32], groups: &[u32], k: usize) -> QueryValues {
    assert!(
        scores.len() == grades.len() && grades.len() == groups.len(),
        "one score, grade and group per row"
    );
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut queries = Vec::new();
    for (r, &g) in groups.iter().enumerate() {
        let q = *index.entry(g).or_insert_with(|| {
            rows.push(Vec::new());
            queries.push(g);
            rows.len() - 1
        });
        rows[q].push(r);
    }
    let gain = |r: f32| 2f64.powf(r as f64) - 1.0;
    let discount = |pos: usize| 1.0 / ((pos + 2) as f64).log2();
    let mut out = QueryValues {
        queries: Vec::with_capacity(queries.len()),
        values: Vec::with_capacity(queries.len()),
        excluded: 0,
    };
    for (q, mut r) in queries.into_iter().zip(rows) {
        if r.iter().all(|&i| grades[i] == grades[r[0]]) {
            out.excluded += 1;
            continue;
        }
        let mut ideal: Vec<f64> = r.iter().map(|&i| gain(grades[i])).collect();
        ideal.sort_by(|a, b| b.total_cmp(a));
        let idcg: f64 = ideal
            .iter()
            .take(k)
            .enumerate()
            .map(|(p, g)| g * discount(p))
            .sum();
        // Stable: ties stay in row order.
        r.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let dcg: f64 = r
            .iter()
            .take(k)
            .enumerate()
            .map(|(p, &i)| gain(grades[i]) * discount(p))
            .sum();
        out.queries.push(q);
        out.values.push(if idcg > 0.0 { dcg / idcg } else { 0.0 });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_by_hand_with_exclusions_and_ties() {
        // Query 7: grades [3, 1, 2] scored [0.1, 0.9, 0.5] → order rows 1, 2, 0.
        // Query 8: all grades 2 → excluded. Query 9: ties keep row order.
        let scores = [0.1, 0.9, 0.5, 0.3, 0.2, 0.5, 0.5];
        let grades = [3.0, 1.0, 2.0, 2.0, 2.0, 0.0, 1.0];
        let groups = [7, 7, 7, 8, 8, 9, 9];
        let v = query_ndcg(&scores, &grades, &groups, 10);
        assert_eq!(v.queries, [7, 9]);
        assert_eq!(v.excluded, 1);
        let l = |p: f64| 1.0 / (p + 1.0).log2();
        let dcg = 1.0 * l(1.0) + 3.0 * l(2.0) + 7.0 * l(3.0);
        let idcg = 7.0 * l(1.0) + 3.0 * l(2.0) + 1.0 * l(3.0);
        assert!((v.values[0] - dcg / idcg).abs() < 1e-12);
        // Tie: row 5 (grade 0) stays first.
        assert!((v.values[1] - (1.0 * l(2.0)) / (1.0 * l(1.0))).abs() < 1e-12);
        // Truncation at 1: only the first position counts.
        let v1 = query_ndcg(&scores, &grades, &groups, 1);
        assert!((v1.values[0] - 1.0 / 7.0).abs() < 1e-12);
    }
}
