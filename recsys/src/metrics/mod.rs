//! Metrics, all as pure functions. Definitions (one place):
//!
//! **Full ranking @K** (per user; `rel_i = 1` when the item at 1-based
//! position `i` of the top-K list is in the user's test set `T`):
//! - `Precision@K = hits / K`; `Recall@K = hits / |T|`; `HR@K = 1[hits > 0]`
//! - `NDCG@K = DCG / IDCG`, `DCG = Σ rel_i / log2(i + 1)`, binary relevance,
//!   `IDCG = Σ_{i=1..min(K,|T|)} 1 / log2(i + 1)`
//! - `MAP@K = Σ rel_i · P@i / min(K, |T|)`
//! - `MRR@K = 1 / (position of the first hit)`, 0 without a hit in the top K
//!
//! **Sampled** (one positive among its candidates): `rank = 1 + #{negatives
//! with score ≥ the positive's}` (ties count against the positive);
//! `HR@K = 1[rank ≤ K]`, `NDCG@K = 1/log2(rank + 1)` when `rank ≤ K`,
//! `MRR = 1/rank`, user `AUC = (#neg below + ½ #neg tied) / #neg`. With
//! several positives, each is ranked against the negatives alone and the
//! user's value is their mean.
//!
//! **Pointwise**: global `AUC` (ties get average ranks, = sklearn),
//! `GAUC` (per-user AUC weighted by the user's rows, users with both
//! labels), `LogLoss` (p clipped to [1e-7, 1-1e-7]), `RMSE`, `MAE`.
//!
//! **Beyond accuracy** (over all evaluated users' top-K lists):
//! `Coverage@K = |∪ lists| / |catalogue|`; `Novelty@K` = mean of
//! `-log2(pop(i) / #users)` over recommended items (pop = train users of
//! the item, at least 1); `ILD@K` = mean over users of the mean pairwise
//! `1 - cos(i, j)` of the list (cosine of binary train item columns);
//! `LongTail@K` = share of the list outside the 20 % most popular train items.
//!
//! **Listwise** (learning to rank, per query of graded rows): `NDCG@K`
//! with gain `2^rel − 1`; queries whose grades are all equal are excluded
//! (see [`listwise`]).
//!
//! Every mean in a report carries a 95 % percentile-bootstrap CI over users
//! (1,000 resamples, seeded); see [`bootstrap`].

pub mod beyond;
pub mod bootstrap;
pub mod listwise;
pub mod pointwise;
pub mod ranking;
pub mod sampled;

/// One metric: per-user values (for CIs and paired tests), or a single
/// aggregate value (coverage, global AUC).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    pub name: String,
    pub per_user: Option<Vec<f64>>,
    pub value: f64,
    /// A 95 % CI of an aggregate value, when one was computed.
    pub ci: Option<(f64, f64)>,
}

impl MetricSeries {
    pub fn per_user(name: String, v: Vec<f64>) -> Self {
        let value = if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        };
        MetricSeries {
            name,
            per_user: Some(v),
            value,
            ci: None,
        }
    }
    pub fn aggregate(name: String, value: f64) -> Self {
        MetricSeries {
            name,
            per_user: None,
            value,
            ci: None,
        }
    }
    pub fn aggregate_ci(name: String, value: f64, ci: (f64, f64)) -> Self {
        MetricSeries {
            name,
            per_user: None,
            value,
            ci: Some(ci),
        }
    }
}
