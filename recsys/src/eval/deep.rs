//! The protocols for the CTR networks: sampled candidates and full ranking
//! through the [`Scorer`] view every other model is measured with
//! ([`PairScorer`]), and the pointwise protocol on feature rows. The
//! methods are `CtrModel`'s for convenience; the code is the harness's.

use std::collections::HashMap;
use std::time::Instant;

use super::{MetricSeries, full_ranking_metrics, ranked_lists, sampled_metrics};
use crate::Result;
use crate::features::FeatureRows;
use crate::models::Fit;
use crate::models::Scorer;
use crate::models::deep::{CtrModel, PairScorer};
use crate::report::{Report, ReportParts};
use crate::split::Candidates;

impl CtrModel {
    /// The sampled protocol on `cands` (1 positive + N negatives per user):
    /// HR/NDCG@5/10/20, MRR and user AUC with 95 % CIs over users, global
    /// AUC and LogLoss over rows (by [`sampled_metrics`]).
    pub fn evaluate(&self, cands: &Candidates) -> Result<Report> {
        let scorer = PairScorer::new(self)?;
        let t = Instant::now();
        let (users, series) = sampled_metrics(&scorer, cands, &[5, 10, 20])?;
        let negatives = cands
            .iter()
            .map(|(_, items, labels)| items.len() - labels.iter().filter(|l| **l).count())
            .max()
            .unwrap_or(0);
        Ok(self.report(
            &scorer,
            users,
            series,
            "MovieLens CTR",
            format!("sampled: 1 positive + {negatives} negatives per user"),
            t.elapsed().as_secs_f64(),
        ))
    }

    /// Full ranking: every item of the task's catalogue except the user's
    /// training positives and the positives of `exclude` (e.g. the
    /// validation candidates) is ranked; the positives of `cands` are the
    /// relevant items. HR/NDCG/… @5/10/20 (by [`full_ranking_metrics`]).
    pub fn evaluate_full(
        &self,
        cands: &Candidates,
        exclude: Option<&Candidates>,
    ) -> Result<Report> {
        let scorer = PairScorer::new(self)?;
        let t = Instant::now();
        let positives = |c: &Candidates| -> HashMap<u32, Vec<u32>> {
            let mut m: HashMap<u32, Vec<u32>> = HashMap::new();
            for (u, items, labels) in c.iter() {
                m.entry(u).or_default().extend(
                    items
                        .iter()
                        .zip(labels)
                        .filter(|(_, l)| **l)
                        .map(|(i, _)| *i),
                );
            }
            m.retain(|_, v| !v.is_empty());
            m
        };
        let rel = positives(cands);
        let hidden = exclude.map(positives).unwrap_or_default();
        let n_users = scorer.train().n_users();
        let mut relevant: Vec<Option<Vec<u32>>> = vec![None; n_users];
        for (u, mut items) in rel {
            items.sort_unstable();
            relevant[u as usize] = Some(items);
        }
        let users: Vec<u32> = (0..n_users as u32)
            .filter(|&u| relevant[u as usize].is_some())
            .collect();
        let lists = ranked_lists(&scorer, &users, &hidden, 20);
        let series = full_ranking_metrics(&lists, &relevant, scorer.train(), &[5, 10, 20]);
        Ok(self.report(
            &scorer,
            users,
            series,
            "MovieLens CTR",
            format!(
                "full ranking over the catalogue's {} items, minus each user's training positives{}",
                scorer.n_items(),
                if exclude.is_some() { " and validation positives" } else { "" }
            ),
            t.elapsed().as_secs_f64(),
        ))
    }

    /// The pointwise protocol on labelled feature rows (encoded with this
    /// model's encoders): AUC, GAUC (when the rows have groups) and LogLoss,
    /// each with a 95 % bootstrap CI (by [`pointwise_metrics`]).
    pub fn evaluate_rows(&self, rows: &FeatureRows, dataset: &str) -> Result<Report> {
        super::evaluate_rows(self, rows, dataset)
    }

    pub(crate) fn fit_seconds(&self) -> f64 {
        self.epochs
            .iter()
            .map(|e| e.train_seconds + e.eval_seconds)
            .sum::<f64>()
            .max(0.0)
    }

    /// Every hyper-parameter (as [`Fit::params`] lists them), the kept
    /// epoch and the validation metric.
    pub(crate) fn report_params(&self) -> Vec<(String, String)> {
        let mut v = Fit::params(&self.params);
        if self.best_epoch > 0 {
            v.push(("best_epoch".into(), self.best_epoch.to_string()));
        }
        v.push(("validation".into(), self.validation.describe().into()));
        v
    }

    fn report(
        &self,
        scorer: &PairScorer<'_>,
        users: Vec<u32>,
        series: Vec<MetricSeries>,
        dataset: &str,
        protocol: String,
        seconds: f64,
    ) -> Report {
        Report::from_parts(ReportParts {
            model: self.name().to_string(),
            params: self.report_params(),
            dataset: dataset.into(),
            protocol,
            users: users
                .iter()
                .map(|&u| scorer.train().users().raw(u).to_string())
                .collect(),
            series,
            stages: Vec::new(),
            fit_seconds: self.fit_seconds(),
            recommend_seconds: seconds,
            seed: self.params.seed,
        })
    }
}
