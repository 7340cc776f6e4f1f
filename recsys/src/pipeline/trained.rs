//! A trained CTR network measured by the same [`Pipeline`] steps as every
//! other model: [`TrainedCtr`] is a stage that fits nothing (scikit-learn's
//! `FrozenEstimator`), and `CtrModel::evaluate` / `evaluate_full` build the
//! pipeline over the network's own task.

use super::Pipeline;
use crate::Error;
use crate::Result;
use crate::eval::Protocol;
use crate::models::deep::{CtrModel, CtrScorer};
use crate::models::{Fit, FitInput, Scorer};
use crate::report::Report;
use crate::split::Candidates;

/// A network already trained on `(user, item)` pairs, as a pipeline stage:
/// its fit checks that the pipeline's training data is the network's and
/// hands the network over as the scorer; its name and parameters are the
/// network's (with the kept epoch and the validation metric).
#[derive(Debug, Clone)]
pub struct TrainedCtr {
    model: CtrModel,
}

impl TrainedCtr {
    /// The stage of `model`; an error for a network trained on feature rows.
    pub fn new(model: CtrModel) -> Result<Self> {
        model.pairs()?;
        Ok(TrainedCtr { model })
    }
}

impl Fit for TrainedCtr {
    fn name(&self) -> String {
        self.model.name().to_string()
    }

    fn params(&self) -> Vec<(String, String)> {
        self.model.report_params()
    }

    fn set_param(&mut self, key: &str, _value: &str) -> Result<()> {
        Err(Error::param(
            key,
            "a trained network's parameters are fixed: set them before training",
        ))
    }

    fn fit_scorer(&self, input: FitInput<'_>) -> Result<Box<dyn Scorer>> {
        let (_, train) = self.model.pairs()?;
        if !input.train.same_universe(train) || input.train.len() != train.len() {
            return Err(Error::Config(format!(
                "{}: a trained network scores the data it was trained on ({} training rows); the pipeline gave {} rows in other id maps",
                self.name(),
                train.len(),
                input.train.len()
            )));
        }
        Ok(Box::new(CtrScorer::new(self.model.clone())?))
    }
}

impl CtrModel {
    /// The sampled protocol on `cands` (1 positive + N negatives per user,
    /// in this network's task's id maps): HR/NDCG@5/10/20, MRR and user AUC
    /// with 95 % CIs over users, global AUC and LogLoss over rows — the
    /// [`Pipeline`] steps every model is measured by.
    pub fn evaluate(&self, cands: &Candidates) -> Result<Report> {
        self.through_pipeline(
            cands,
            None,
            Protocol::Sampled {
                negatives: cands.negatives(),
                sampler: crate::split::NegativeSampler::Uniform,
                seed: self.params.seed,
            },
        )
    }

    /// Full ranking: every item of the task's catalogue except the user's
    /// training positives and the positives of `exclude` (e.g. the
    /// validation candidates) is ranked; the positives of `cands` are the
    /// relevant items. HR/NDCG/… @5/10/20, through the same [`Pipeline`]
    /// steps.
    pub fn evaluate_full(
        &self,
        cands: &Candidates,
        exclude: Option<&Candidates>,
    ) -> Result<Report> {
        self.through_pipeline(cands, exclude, Protocol::FullRanking)
    }

    fn through_pipeline(
        &self,
        test: &Candidates,
        validation: Option<&Candidates>,
        protocol: Protocol,
    ) -> Result<Report> {
        let (_, train) = self.pairs()?;
        let mut report =
            Pipeline::from_candidates(train.clone(), validation.cloned(), test.clone())
                .named("MovieLens CTR")
                .seed(self.params.seed)
                .protocol(protocol)
                .ks(&[5, 10, 20])
                .recall(TrainedCtr::new(self.clone())?)
                .evaluate()?;
        // The pipeline timed handing the network over; the report states
        // its training.
        report.fit_seconds = self.fit_seconds();
        if let Some(s) = report.stages.first_mut() {
            s.fit_seconds = report.fit_seconds;
        }
        Ok(report)
    }
}
