//! Evaluation: turning recommendation lists or candidate scores into metric
//! series (per-user values) that a [`crate::Report`] summarises; the
//! pointwise (CTR) protocol on labelled rows ([`pointwise_metrics`],
//! [`compare_pointwise`]).

use rayon::prelude::*;

mod ctr;
#[cfg(feature = "deep")]
mod deep;
mod rows;
pub use ctr::{
    POINTWISE_RESAMPLES, PointwiseComparison, ScoredRows, compare_pointwise, pointwise_metrics,
};
pub use rows::{LISTWISE_KS, compare_rows, evaluate_rows, evaluate_scores};

use crate::data::Interactions;
use crate::metrics::{beyond, pointwise, ranking, sampled};
use crate::models::Scorer;
use crate::split::{Candidates, NegativeSampler};

/// The evaluation protocol.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Protocol {
    /// Rank every item the user has not interacted with in training.
    FullRanking,
    /// Rank each held-out positive among `negatives` sampled items.
    Sampled {
        negatives: usize,
        sampler: NegativeSampler,
        seed: u64,
    },
    /// Predict each held-out rating (RMSE and MAE with 95 % bootstrap CIs
    /// over rows); needs ratings.
    Rating,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol::FullRanking
    }
}

impl Protocol {
    /// The common 1 + 999 sampled protocol (uniform, seed 42).
    pub fn sampled_999() -> Self {
        Protocol::Sampled {
            negatives: 999,
            sampler: NegativeSampler::Uniform,
            seed: 42,
        }
    }
}

pub use crate::metrics::MetricSeries;

/// TensorFlow Recommenders' retrieval metric (`FactorizedTopK`, "top-k
/// categorical accuracy"): the share of the `test` pairs `(u, i)` whose item
/// is among user `u`'s top `k` of all items, training items **not**
/// excluded (as TFRS scores them). Users in parallel.
pub fn factorized_top_k(scorer: &dyn Scorer, test: &Interactions, k: usize) -> f64 {
    let users: Vec<u32> = (0..test.n_users() as u32)
        .filter(|&u| !test.user_items(u).is_empty())
        .collect();
    let n = scorer.n_items();
    let rows: usize = users.iter().map(|&u| test.user_items(u).len()).sum();
    let hits: usize = users
        .par_iter()
        .map_init(
            || vec![0f32; n],
            |s, &u| {
                scorer.score_all(u, s);
                let mut top = ranking::masked_top_k(s, &[], k);
                top.sort_unstable();
                test.user_items(u)
                    .iter()
                    .filter(|&&i| top.binary_search(&(i as u32)).is_ok())
                    .count()
            },
        )
        .sum();
    hits as f64 / rows.max(1) as f64
}

/// Sorted test items per user (`None` for users without test rows).
pub fn relevant_sets(test: &Interactions) -> Vec<Option<Vec<u32>>> {
    (0..test.n_users() as u32)
        .map(|u| {
            let items = test.user_items(u);
            (!items.is_empty()).then(|| items.iter().map(|&i| i as u32).collect())
        })
        .collect()
}

/// Full-ranking metrics of `lists` (`(user, top list)`, every user with test
/// rows) for each `k` in `ks`, plus coverage, novelty and ILD at the largest
/// k. `train` gives popularity and item vectors.
pub fn full_ranking_metrics(
    lists: &[(u32, Vec<u32>)],
    relevant: &[Option<Vec<u32>>],
    train: &Interactions,
    ks: &[usize],
) -> Vec<MetricSeries> {
    let mut out = Vec::new();
    for &k in ks {
        let per: Vec<ranking::TopK> = lists
            .par_iter()
            .map(|(u, l)| ranking::top_k(l, relevant[*u as usize].as_deref().unwrap_or(&[]), k))
            .collect();
        let col = |f: fn(&ranking::TopK) -> f64| per.iter().map(f).collect::<Vec<f64>>();
        out.push(MetricSeries::per_user(
            format!("Precision@{k}"),
            col(|m| m.precision),
        ));
        out.push(MetricSeries::per_user(
            format!("Recall@{k}"),
            col(|m| m.recall),
        ));
        out.push(MetricSeries::per_user(format!("NDCG@{k}"), col(|m| m.ndcg)));
        out.push(MetricSeries::per_user(format!("MAP@{k}"), col(|m| m.map)));
        out.push(MetricSeries::per_user(format!("HR@{k}"), col(|m| m.hit)));
        out.push(MetricSeries::per_user(format!("MRR@{k}"), col(|m| m.mrr)));
    }
    let k = ks.iter().copied().max().unwrap_or(10);
    let cut: Vec<Vec<u32>> = lists
        .iter()
        .map(|(_, l)| l.iter().take(k).copied().collect())
        .collect();
    out.push(MetricSeries::aggregate(
        format!("Coverage@{k}"),
        beyond::coverage(&cut, train.n_items()),
    ));
    let pop = train.item_counts();
    let n_users = train
        .user_counts()
        .iter()
        .filter(|&&c| c > 0)
        .count()
        .max(1);
    out.push(MetricSeries::per_user(
        format!("Novelty@{k}"),
        cut.iter()
            .map(|l| beyond::novelty(l, &pop, n_users))
            .collect(),
    ));
    let tail = beyond::long_tail_mask(&pop);
    out.push(MetricSeries::per_user(
        format!("LongTail@{k}"),
        cut.iter()
            .map(|l| beyond::long_tail_share(l, &tail))
            .collect(),
    ));
    out.push(MetricSeries::per_user(
        format!("ILD@{k}"),
        cut.par_iter()
            .map(|l| beyond::intra_list_diversity(l, train))
            .collect(),
    ));
    out
}

/// Sampled metrics of `scorer` on `candidates`: HR/NDCG@k, MRR, user AUC per
/// user, and global AUC (+ LogLoss for probabilistic scorers) over all rows.
/// Users whose candidates hold no positive cannot be ranked: they are
/// counted in `UsersWithoutPositive` (reported when there are any), and
/// candidates without any positive at all are an error.
pub fn sampled_metrics(
    scorer: &dyn Scorer,
    candidates: &Candidates,
    ks: &[usize],
) -> crate::Result<(Vec<u32>, Vec<MetricSeries>)> {
    let listed = candidates.iter().count();
    let per: Vec<(u32, Vec<sampled::SampledRank>, Vec<f32>, Vec<bool>)> = candidates
        .iter()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|(u, items, labels)| {
            let mut s = vec![0.0; items.len()];
            scorer.score_items(*u, items, &mut s);
            let neg: Vec<f32> = s
                .iter()
                .zip(labels.iter())
                .filter(|(_, l)| !**l)
                .map(|(x, _)| *x)
                .collect();
            let ranks = s
                .iter()
                .zip(labels.iter())
                .filter(|(_, l)| **l)
                .map(|(&p, _)| sampled::rank_against(p, &neg))
                .collect();
            (*u, ranks, s, labels.to_vec())
        })
        .filter(
            |(_, r, _, _): &(u32, Vec<sampled::SampledRank>, Vec<f32>, Vec<bool>)| !r.is_empty(),
        )
        .collect();
    if per.is_empty() {
        return Err(crate::Error::InvalidData(format!(
            "the candidates of all {listed} users hold no positive (label 1): nothing can be ranked"
        )));
    }
    let users: Vec<u32> = per.iter().map(|p| p.0).collect();
    let mean = |ranks: &[sampled::SampledRank], f: &dyn Fn(&sampled::SampledRank) -> f64| {
        ranks.iter().map(f).sum::<f64>() / ranks.len() as f64
    };
    let mut out = Vec::new();
    for &k in ks {
        out.push(MetricSeries::per_user(
            format!("HR@{k}"),
            per.iter()
                .map(|p| mean(&p.1, &|r| sampled::hit(r.rank, k)))
                .collect(),
        ));
    }
    for &k in ks {
        out.push(MetricSeries::per_user(
            format!("NDCG@{k}"),
            per.iter()
                .map(|p| mean(&p.1, &|r| sampled::ndcg(r.rank, k)))
                .collect(),
        ));
    }
    out.push(MetricSeries::per_user(
        "MRR".into(),
        per.iter()
            .map(|p| mean(&p.1, &|r| 1.0 / r.rank as f64))
            .collect(),
    ));
    out.push(MetricSeries::per_user(
        "UserAUC".into(),
        per.iter().map(|p| mean(&p.1, &|r| r.auc)).collect(),
    ));
    let scores: Vec<f32> = per.iter().flat_map(|p| p.2.iter().copied()).collect();
    let labels: Vec<bool> = per.iter().flat_map(|p| p.3.iter().copied()).collect();
    // Global AUC and LogLoss over every candidate row, with 95 % CIs that
    // cost O(n): Hanley & McNeil's standard error for the AUC, the normal
    // approximation over rows for LogLoss (a bootstrap over a million
    // candidate rows would cost seconds per report).
    if let Some(a) = pointwise::auc(&scores, &labels) {
        let n_pos = labels.iter().filter(|&&l| l).count();
        out.push(MetricSeries::aggregate_ci(
            "AUC".into(),
            a,
            pointwise::auc_ci_hanley_mcneil(a, n_pos, labels.len() - n_pos),
        ));
    }
    if scorer.outputs_probabilities() {
        let (m, lo, hi) = pointwise::log_loss_ci(&scores, &labels);
        out.push(MetricSeries::aggregate_ci("LogLoss".into(), m, (lo, hi)));
    }
    if users.len() < listed {
        out.push(MetricSeries::aggregate(
            "UsersWithoutPositive".into(),
            (listed - users.len()) as f64,
        ));
    }
    Ok((users, out))
}

/// RMSE and MAE of `scorer`'s predictions of the held-out ratings, with
/// percentile-bootstrap CIs over rows (the RMSE CI is the square root of the
/// MSE's).
pub fn rating_metrics(
    scorer: &dyn crate::models::Scorer,
    heldout: &Interactions,
    seed: u64,
) -> crate::Result<Vec<MetricSeries>> {
    if !scorer.predicts_ratings() {
        return Err(crate::Error::Config(
            "the rating protocol needs a model that predicts ratings (svd, svdpp): this model's \
             scores are rankings, and their RMSE would mean nothing"
                .into(),
        ));
    }
    let truth = heldout.ratings().ok_or_else(|| {
        crate::Error::InvalidData("rating prediction needs ratings in the held-out data".into())
    })?;
    let (users, items) = (heldout.user_indices(), heldout.item_indices());
    let mut pred = vec![0f32; truth.len()];
    for (r, p) in pred.iter_mut().enumerate() {
        let mut one = [0f32];
        scorer.score_items(users[r], &[items[r]], &mut one);
        *p = one[0];
    }
    let sq: Vec<f64> = pred
        .iter()
        .zip(truth)
        .map(|(p, t)| f64::from(p - t).powi(2))
        .collect();
    let ab: Vec<f64> = pred
        .iter()
        .zip(truth)
        .map(|(p, t)| f64::from(p - t).abs())
        .collect();
    let (mse, lo, hi) =
        crate::metrics::bootstrap::mean_ci(&sq, crate::metrics::bootstrap::RESAMPLES, seed);
    let (mae, alo, ahi) =
        crate::metrics::bootstrap::mean_ci(&ab, crate::metrics::bootstrap::RESAMPLES, seed);
    Ok(vec![
        MetricSeries::aggregate_ci("RMSE".into(), mse.sqrt(), (lo.sqrt(), hi.sqrt())),
        MetricSeries::aggregate_ci("MAE".into(), mae, (alo, ahi)),
    ])
}
