//! The pointwise protocol for the CTR networks on feature rows, and what a
//! network's report says of its training. The sampled and full-ranking
//! protocols of a network trained on `(user, item)` pairs run through
//! [`crate::Pipeline`] (`CtrModel::evaluate`, in `pipeline::trained`).

use crate::Result;
use crate::features::FeatureRows;
use crate::models::Fit;
use crate::models::deep::CtrModel;
use crate::report::Report;

impl CtrModel {
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
}
