//! Listwise training: the LambdaRank NDCG loss (Burges 2010, in the form of
//! allRank's `lambdaLoss` with its `lambdaRank_scheme`) and RankNet, over
//! the rows of one query (session) at a time, and the session batch sampler
//! that keeps every session whole inside one batch.
//!
//! The pair weights depend on the current ranks and carry no gradient, so
//! the loss's gradient with respect to the scores is computed here in f64
//! and handed to autodiff as `Σ s ⊙ λ` (the LambdaMART way): the gradient
//! of that surrogate is exactly the pairwise loss's.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// The training loss of a CTR / ranking network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Loss {
    /// Binary cross-entropy with logits on the 0/1 labels (graded tasks:
    /// label ≥ the task's positive grade).
    Bce,
    /// Mean squared error of the raw output against the graded label
    /// (pointwise regression; the 0/1 label on binary tasks).
    Mse,
    /// LambdaRank: for every pair of a query's rows with different grades,
    /// `|ΔNDCG| · ln(1 + e^{−σ(s_i − s_j)})`, with gain `2^rel − 1`,
    /// discount `log₂(1 + rank)` at the current predicted ranks, `|ΔNDCG|`
    /// normalised by the query's ideal DCG; pairs of rows both ranked
    /// within `truncation` only (all pairs without). Loss of a batch =
    /// mean over its queries that have a pair.
    #[serde(rename = "lambdarank")]
    LambdaRank {
        #[serde(default = "one")]
        sigma: f64,
        #[serde(default)]
        truncation: Option<usize>,
    },
    /// RankNet: the same pairs, every weight 1.
    #[serde(rename = "ranknet")]
    RankNet {
        #[serde(default = "one")]
        sigma: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl Default for Loss {
    fn default() -> Self {
        Loss::Bce
    }
}

impl Loss {
    /// LambdaRank with σ = 1 over whole lists.
    pub fn lambdarank() -> Loss {
        Loss::LambdaRank {
            sigma: 1.0,
            truncation: None,
        }
    }

    /// True for the losses over a query's rows (trained in session batches).
    pub fn is_listwise(self) -> bool {
        matches!(self, Loss::LambdaRank { .. } | Loss::RankNet { .. })
    }

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Bce => "BCE",
            Loss::Mse => "MSE",
            Loss::LambdaRank { .. } => "LambdaRank",
            Loss::RankNet { .. } => "RankNet",
        }
    }

    /// Checks the values.
    pub fn check(self) -> crate::Result<()> {
        let sigma = match self {
            Loss::LambdaRank { sigma, truncation } => {
                if truncation == Some(0) {
                    return Err(crate::Error::param(
                        "loss.truncation",
                        "must be at least 1 (or absent: whole lists)",
                    ));
                }
                sigma
            }
            Loss::RankNet { sigma } => sigma,
            _ => return Ok(()),
        };
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(crate::Error::param(
                "loss.sigma",
                format!("must be positive and finite, got {sigma}"),
            ));
        }
        Ok(())
    }
}

/// The listwise loss of one query: `(loss, ∂loss/∂s)` for scores `s` and
/// grades `rel` of its rows, or `None` when no pair has different grades.
/// Ranks are the 1-based positions under `s` sorted descending (ties kept
/// in row order).
pub fn query_loss(scores: &[f32], rel: &[f32], loss: Loss) -> Option<(f64, Vec<f64>)> {
    let n = scores.len();
    assert_eq!(n, rel.len(), "one grade per score");
    let (sigma, truncation, lambda) = match loss {
        Loss::LambdaRank { sigma, truncation } => (sigma, truncation, true),
        Loss::RankNet { sigma } => (sigma, None, false),
        _ => panic!("query_loss needs a listwise loss"),
    };
    let k = truncation.unwrap_or(n).min(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let gain = |r: f32| 2f64.powf(r.max(0.0) as f64) - 1.0;
    let discount = |pos: usize| 1.0 / ((pos + 2) as f64).log2(); // 1-based rank pos + 1
    let mut ideal: Vec<f64> = rel.iter().map(|&r| gain(r)).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let max_dcg = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(p, g)| g * discount(p))
        .sum::<f64>()
        .max(1e-10);
    let (mut total, mut pairs) = (0.0f64, 0usize);
    let mut grad = vec![0.0f64; n];
    for pi in 0..k {
        let i = order[pi];
        for (pj, &j) in order.iter().enumerate().take(k) {
            if rel[i] <= rel[j] {
                continue;
            }
            let w = if lambda {
                (discount(pi) - discount(pj)).abs() * (gain(rel[i]) - gain(rel[j])).abs() / max_dcg
            } else {
                1.0
            };
            let d = sigma * (scores[i] as f64 - scores[j] as f64);
            // −w ln σ(d) = w · softplus(−d), and its derivative in s_i.
            let softplus = if d > 0.0 {
                (-d).exp().ln_1p()
            } else {
                -d + d.exp().ln_1p()
            };
            total += w * softplus;
            let g = -w * sigma / (1.0 + d.exp());
            grad[i] += g;
            grad[j] -= g;
            pairs += 1;
        }
    }
    (pairs > 0).then_some((total, grad))
}

/// The listwise loss of a batch of whole queries: rows `starts[q] ..
/// starts[q + 1]` are query `q` (`starts` ends with the batch's length).
/// Returns the mean over the queries that have a pair and its gradient
/// per row (`(0, 0…)` when none has).
pub fn batch_loss(scores: &[f32], rel: &[f32], starts: &[usize], loss: Loss) -> (f64, Vec<f64>) {
    let mut grad = vec![0.0; scores.len()];
    let (mut total, mut queries) = (0.0, 0usize);
    for w in starts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if let Some((l, g)) = query_loss(&scores[a..b], &rel[a..b], loss) {
            total += l;
            grad[a..b].copy_from_slice(&g);
            queries += 1;
        }
    }
    if queries > 1 {
        let q = queries as f64;
        grad.iter_mut().for_each(|g| *g /= q);
        total /= q;
    }
    (total, grad)
}

/// Batches of whole sessions: the rows of each group (`groups[r]`, rows of
/// a group kept in row order) are never split; sessions are shuffled under
/// `seed` (a new order for every `epoch`) and packed `per_batch` at a time,
/// a batch closing early when the next session would take it past
/// `max_rows` (a session longer than `max_rows` is a batch of its own).
/// Returns per batch its rows and the offsets where each session starts
/// (ending with the batch's length).
pub fn session_batches(
    groups: &[u32],
    per_batch: usize,
    max_rows: Option<usize>,
    seed: u64,
    epoch: usize,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut sessions: Vec<Vec<usize>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (r, &g) in groups.iter().enumerate() {
        let s = *index.entry(g).or_insert_with(|| {
            sessions.push(Vec::new());
            sessions.len() - 1
        });
        sessions[s].push(r);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    sessions.shuffle(&mut rng);
    let per_batch = per_batch.max(1);
    let cap = max_rows.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let (mut rows, mut starts) = (Vec::new(), vec![0]);
    for s in sessions {
        let full = starts.len() > per_batch || (rows.len() + s.len() > cap && !rows.is_empty());
        if full {
            out.push((
                std::mem::take(&mut rows),
                std::mem::replace(&mut starts, vec![0]),
            ));
        }
        rows.extend_from_slice(&s);
        starts.push(rows.len());
    }
    if !rows.is_empty() {
        out.push((rows, starts));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// Reference values from allRank's `lambdaLoss` (allrank/models/losses/
    /// lambdaLoss.py, `weighing_scheme="lambdaRank_scheme"`,
    /// `reduction_log="natural"`, `reduction="sum"`, σ = 1), one slate at a
    /// time, transcribed line by line to plain Python (float64) and run on
    /// exactly these inputs (the scores rounded to f32 first, as here).
    #[test]
    fn lambdarank_equals_allranks_lambdaloss() {
        let cases: [(&[f32], &[f32], Option<usize>, f64); 5] = [
            (&[0.5, 0.3, 0.1], &[2.0, 1.0, 0.0], None, 0.355101217859424),
            (
                &[0.1, 0.9, 0.4, -0.3],
                &[3.0, 0.0, 1.0, 2.0],
                None,
                0.8743782080620113,
            ),
            (
                &[1.2, -0.7, 0.05, 0.3, 0.8],
                &[0.0, 4.0, 1.0, 1.0, 2.0],
                None,
                1.640514933961587,
            ),
            (
                &[1.2, -0.7, 0.05, 0.3, 0.8],
                &[0.0, 4.0, 1.0, 1.0, 2.0],
                Some(3),
                0.10093946436552817,
            ),
            (&[0.2, 0.1], &[1.0, 1.0], None, 0.0),
        ];
        for (s, r, k, want) in cases {
            let got = query_loss(
                s,
                r,
                Loss::LambdaRank {
                    sigma: 1.0,
                    truncation: k,
                },
            )
            .map_or(0.0, |x| x.0);
            assert!(close(got, want), "{s:?} {r:?} {k:?}: {got} vs {want}");
        }
    }

    /// allRank's own unit test of `lambdaLoss` with `rankNet_scheme`
    /// (tests/test_lambdaloss.py, `test_ranknet_ignores_padded`): expected
    /// 1.1962778568.
    #[test]
    fn ranknet_equals_allranks_unit_test() {
        let (l, _) = query_loss(
            &[0.5, 0.3, 0.5],
            &[0.5, 0.3, 0.5],
            Loss::RankNet { sigma: 1.0 },
        )
        .unwrap();
        // (allRank computes in float32: agreement to 1e-6.)
        assert!((l - 1.1962778568).abs() < 1e-6, "{l}");
    }

    #[test]
    fn the_gradient_is_the_losss_derivative() {
        let s = [1.2f32, -0.7, 0.05, 0.3, 0.8];
        let r = [0.0f32, 4.0, 1.0, 1.0, 2.0];
        for loss in [Loss::lambdarank(), Loss::RankNet { sigma: 2.0 }] {
            let (_, g) = query_loss(&s, &r, loss).unwrap();
            for i in 0..s.len() {
                // Central difference with the pair weights held at the
                // current ranks (a step this small keeps the order).
                let h = 1e-3f32;
                let (mut up, mut down) = (s, s);
                up[i] += h;
                down[i] -= h;
                let f = |x: &[f32]| query_loss(x, &r, loss).unwrap().0;
                let step = up[i] as f64 - down[i] as f64;
                let num = (f(&up) - f(&down)) / step;
                assert!(
                    (num - g[i]).abs() < 1e-4 * g[i].abs().max(1.0),
                    "{loss:?} row {i}: {num} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn queries_with_equal_grades_contribute_nothing() {
        let s = [0.3f32, 0.1, 0.7, 0.2, 0.9];
        let r = [1.0f32, 1.0, 3.0, 0.0, 2.0];
        // Query 0 (rows 0..2) has equal grades; the mean is over query 1.
        let (l, g) = batch_loss(&s, &r, &[0, 2, 5], Loss::lambdarank());
        let (l1, g1) = query_loss(&s[2..], &r[2..], Loss::lambdarank()).unwrap();
        assert!(close(l, l1));
        assert_eq!(&g[..2], &[0.0, 0.0]);
        assert_eq!(&g[2..], &g1[..]);
    }

    #[test]
    fn a_session_never_straddles_two_batches() {
        // 40 sessions of 1..=9 rows, interleaved in the file.
        let groups: Vec<u32> = (0..200u32).map(|r| (r * 7 + r / 13) % 40).collect();
        for (per, cap) in [(3, None), (4, Some(20)), (1, Some(2))] {
            let batches = session_batches(&groups, per, cap, 42, 1);
            let mut seen = vec![false; groups.len()];
            let mut owner = std::collections::HashMap::new();
            for (b, (rows, starts)) in batches.iter().enumerate() {
                assert_eq!(*starts.last().unwrap(), rows.len());
                assert!(starts.len() - 1 <= per);
                for w in starts.windows(2) {
                    let g = groups[rows[w[0]]];
                    assert!(rows[w[0]..w[1]].iter().all(|&r| groups[r] == g));
                    assert!(owner.insert(g, b).is_none(), "session {g} split");
                }
                if let Some(c) = cap {
                    assert!(rows.len() <= c || starts.len() == 2, "{rows:?}");
                }
                for &r in rows {
                    assert!(!std::mem::replace(&mut seen[r], true));
                }
            }
            assert!(seen.iter().all(|&s| s), "every row once");
            assert_eq!(batches, session_batches(&groups, per, cap, 42, 1));
            assert_ne!(batches, session_batches(&groups, per, cap, 42, 2));
        }
    }
}
