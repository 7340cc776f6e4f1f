//! The pointwise protocol for every model on feature rows
//! ([`crate::models::RowScorer`]): the model scores labelled rows, eval
//! turns the scores into AUC, GAUC (rows with groups) and LogLoss (models
//! that output probabilities), each with a 95 % bootstrap CI, and compares
//! two models on the same rows with paired tests.

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
