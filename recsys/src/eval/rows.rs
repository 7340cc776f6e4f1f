//! The protocols for every model on feature rows
//! ([`crate::models::RowScorer`]): the model scores labelled rows, and eval
//! turns the scores into
//! - **pointwise** (0/1 labels): AUC, GAUC (rows with groups) and LogLoss
//!   (models that output probabilities), each with a 95 % bootstrap CI,
//!   and paired tests of two models on the same rows;
//! - **listwise** (graded labels with queries, learning to rank): NDCG@5,
//!   @10 and @20 per query with gain `2^rel − 1` (queries whose grades are
//!   all equal excluded; [`crate::metrics::listwise`]), each mean with a
//!   bootstrap CI over queries; paired tests over queries through
//!   [`Report::compare`].

use std::time::Instant;

use super::{PointwiseComparison, ScoredRows, compare_pointwise, pointwise_metrics};
use crate::Result;
use crate::features::FeatureRows;
use crate::models::RowScorer;
use crate::report::{Report, ReportParts};

/// The pointwise protocol on `rows` (encoded with `model`'s encoders):
/// a report of AUC, GAUC and LogLoss with CIs, the model's parameters and
/// `dataset`'s name.
pub fn evaluate_rows(model: &dyn RowScorer, rows: &FeatureRows, dataset: &str) -> Result<Report> {
    let t = Instant::now();
    let scores = model.score_rows(rows)?;
    if rows.grades.is_some() && rows.groups.is_some() {
        let mut r = listwise_parts(
            &model.name(),
            model.params(),
            model.seed(),
            &scores,
            rows,
            dataset,
        )?;
        r.fit_seconds = model.fit_seconds();
        r.recommend_seconds = t.elapsed().as_secs_f64();
        return Ok(r);
    }
    let labels = rows.positives();
    let series = pointwise_metrics(
        ScoredRows {
            scores: &scores,
            labels: &labels,
            groups: rows.groups.as_deref(),
            probabilities: model.outputs_probabilities(),
        },
        model.seed(),
    )?;
    Ok(Report::from_parts(ReportParts {
        model: model.name(),
        params: model.params(),
        dataset: dataset.to_string(),
        protocol: format!(
            "pointwise: {} labelled rows of {}",
            rows.len(),
            rows.source.display()
        ),
        users: Vec::new(),
        series,
        stages: Vec::new(),
        fit_seconds: model.fit_seconds(),
        recommend_seconds: t.elapsed().as_secs_f64(),
        seed: model.seed(),
    }))
}

/// Cut-offs of the listwise protocol's NDCG.
pub const LISTWISE_KS: [usize; 3] = [5, 10, 20];

/// The listwise protocol on `scores` of graded `rows` (one score per row,
/// in row order) from a model named `name` — a fitted model's, or another
/// system's saved predictions (the peers'), so both are measured by the
/// same code and pair by query.
pub fn evaluate_scores(
    name: &str,
    scores: &[f32],
    rows: &FeatureRows,
    dataset: &str,
    seed: u64,
) -> Result<Report> {
    listwise_parts(name, Vec::new(), seed, scores, rows, dataset)
}

fn listwise_parts(
    name: &str,
    params: Vec<(String, String)>,
    seed: u64,
    scores: &[f32],
    rows: &FeatureRows,
    dataset: &str,
) -> Result<Report> {
    use crate::metrics::{MetricSeries, listwise::query_ndcg};
    let (Some(grades), Some(groups)) = (&rows.grades, &rows.groups) else {
        return Err(crate::Error::InvalidData(format!(
            "{}: the listwise protocol needs graded labels and queries (a group column)",
            rows.source.display()
        )));
    };
    if scores.len() != rows.len() {
        return Err(crate::Error::InvalidData(format!(
            "listwise protocol: {} scores for {} rows of {}",
            scores.len(),
            rows.len(),
            rows.source.display()
        )));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(crate::Error::InvalidData(format!(
            "listwise protocol: row {i} has a non-finite score ({})",
            scores[i]
        )));
    }
    let mut series = Vec::new();
    let mut users = Vec::new();
    let mut excluded = 0;
    for k in LISTWISE_KS {
        let v = query_ndcg(scores, grades, groups, k);
        if v.values.is_empty() {
            return Err(crate::Error::InvalidData(format!(
                "{}: no query has two different grades (NDCG is undefined)",
                rows.source.display()
            )));
        }
        users = v.queries.iter().map(u32::to_string).collect();
        excluded = v.excluded;
        series.push(MetricSeries::per_user(format!("NDCG@{k}"), v.values));
    }
    Ok(Report::from_parts(ReportParts {
        model: name.to_string(),
        params,
        dataset: dataset.to_string(),
        protocol: format!(
            "listwise: {} queries of {} ({excluded} with all grades equal excluded), gain 2^rel − 1",
            users.len(),
            rows.source.display()
        ),
        users,
        series,
        stages: Vec::new(),
        fit_seconds: 0.0,
        recommend_seconds: 0.0,
        seed,
    }))
}

/// Paired comparison of `b` against `a` on the same `rows`: the AUC
/// difference `b − a` with its bootstrap CI and p-value, and the LogLoss
/// difference when both output probabilities.
pub fn compare_rows(
    a: &dyn RowScorer,
    b: &dyn RowScorer,
    rows: &FeatureRows,
) -> Result<PointwiseComparison> {
    let labels = rows.positives();
    let (sa, sb) = (a.score_rows(rows)?, b.score_rows(rows)?);
    let scored = |scores, m: &dyn RowScorer| ScoredRows {
        scores,
        labels: &labels,
        groups: rows.groups.as_deref(),
        probabilities: m.outputs_probabilities(),
    };
    compare_pointwise(scored(&sa, a), scored(&sb, b), a.seed())
}
