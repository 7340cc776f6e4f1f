//! Choosing a CTR-chain setting on validation rows only: the chain's
//! standard grids and a selection by validation AUC at the kept epoch.

use super::{CtrOptimizer, ShallowCtr, ShallowCtrModel, ShallowKind};
use crate::display::{html_table, text_table};
use crate::features::FeatureTask;
use crate::models::rows::RowScorer;
use crate::{Error, Result};

impl ShallowCtr {
    /// The grid `./dev bench ctr` and notebook 06 search for `kind`, each
    /// setting with at most `epochs` epochs (early stopping on validation
    /// AUC): LR by FTRL over α ∈ {0.1, 0.2, 0.5} × λ2 ∈ {0, 1, 3}; Poly2
    /// over λ1 ∈ {0, 1, 3} × λ2 ∈ {1, 30}; FM and FFM by Adagrad over rate
    /// ∈ {0.02, 0.05} × L2 (weights and vectors) ∈ {0, 1e-3, 1e-2, 3e-2};
    /// LS-PLM by Adagrad over m ∈ {4, 12} × rate ∈ {0.05, 0.2} × L1 = L2,1
    /// ∈ {0, 1e-4} (applied at every step, so small).
    pub fn grid(kind: ShallowKind, epochs: usize) -> Vec<ShallowCtr> {
        let base = ShallowCtr::new(kind).epochs(epochs);
        let adagrad = |lr| CtrOptimizer::Adagrad { learning_rate: lr };
        match kind {
            ShallowKind::Lr => [0.0, 1.0, 3.0]
                .iter()
                .flat_map(|&l2| {
                    [0.1, 0.2, 0.5].map(|alpha| {
                        base.clone()
                            .l2(l2)
                            .optimizer(CtrOptimizer::Ftrl { alpha, beta: 1.0 })
                    })
                })
                .collect(),
            ShallowKind::Poly2 => [1.0, 30.0]
                .iter()
                .flat_map(|&l2| [0.0, 1.0, 3.0].map(|l1| base.clone().l2(l2).l1(l1)))
                .collect(),
            ShallowKind::Fm | ShallowKind::Ffm => [0.0, 1e-3, 1e-2, 3e-2]
                .iter()
                .flat_map(|&r| {
                    [0.02, 0.05].map(|lr| base.clone().factor_l2(r).l2(r).optimizer(adagrad(lr)))
                })
                .collect(),
            ShallowKind::Lsplm => [0.0, 1e-4]
                .iter()
                .flat_map(|&r| {
                    [(4, 0.05), (12, 0.05), (4, 0.2), (12, 0.2)]
                        .map(|(m, lr)| base.clone().factors(m).l1(r).l21(r).optimizer(adagrad(lr)))
                })
                .collect(),
        }
    }
}

/// One setting of a [`Tuned`] search.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// The parameters that differ between the grid's settings.
    pub setting: String,
    pub val_auc: f64,
    pub kept_epoch: usize,
    pub epochs_run: usize,
}

/// The result of [`tune`]: the best model by validation AUC and every trial.
#[derive(Debug, Clone)]
pub struct Tuned {
    pub model: ShallowCtrModel,
    pub trials: Vec<Trial>,
    /// Index of the chosen trial.
    pub best: usize,
}

/// Fits every setting of `grid` on `task.train` and keeps the one with the
/// best validation AUC at its kept epoch (the test rows are not looked at).
pub fn tune(grid: &[ShallowCtr], task: &FeatureTask) -> Result<Tuned> {
    if task.validation.as_ref().is_none_or(|v| v.is_empty()) {
        return Err(Error::InvalidData(format!(
            "{}: tuning needs validation rows",
            task.name
        )));
    }
    let keys = [
        "factors",
        "optimizer",
        "alpha",
        "learning_rate",
        "l1",
        "l2",
        "factor_l2",
        "l21",
    ];
    let mut trials = Vec::with_capacity(grid.len());
    let mut best: Option<(usize, ShallowCtrModel)> = None;
    for p in grid {
        let m = p.fit(task)?;
        let c = m.learning_curve();
        let val_auc = c.epochs[c.kept_epoch.max(1) - 1]
            .val_auc
            .unwrap_or(f64::NAN);
        let listed = RowScorer::params(&m);
        let setting = keys
            .iter()
            .filter_map(|k| listed.iter().find(|(n, _)| n == k))
            .filter(|(k, _)| {
                *k != "factors"
                    || matches!(
                        p.kind(),
                        ShallowKind::Fm | ShallowKind::Ffm | ShallowKind::Lsplm
                    )
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        trials.push(Trial {
            setting,
            val_auc,
            kept_epoch: c.kept_epoch,
            epochs_run: c.epochs.len(),
        });
        let better = best
            .as_ref()
            .is_none_or(|(b, _)| val_auc > trials[*b].val_auc);
        if better {
            best = Some((trials.len() - 1, m));
        }
    }
    let (best, model) = best.ok_or_else(|| Error::Config("tune: an empty grid".into()))?;
    Ok(Tuned {
        model,
        trials,
        best,
    })
}

fn trial_headers() -> Vec<String> {
    ["setting", "val AUC", "kept / run epochs", "chosen"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn trial_rows(trials: &[Trial], best: usize) -> Vec<Vec<String>> {
    trials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            vec![
                t.setting.clone(),
                format!("{:.4}", t.val_auc),
                if t.epochs_run == 0 {
                    "–".into()
                } else {
                    format!("{}/{}", t.kept_epoch, t.epochs_run)
                },
                if i == best {
                    "✓".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect()
}

/// The trials of a search for `model` as an HTML table (pure).
pub(crate) fn trials_html(model: &str, trials: &[Trial], best: usize) -> String {
    html_table(
        Some(&format!("{model}: settings tried on validation")),
        &trial_headers(),
        &trial_rows(trials, best),
    )
}

/// The trials of a search for `model` as a text table (pure).
pub(crate) fn trials_text(model: &str, trials: &[Trial], best: usize) -> String {
    format!(
        "{model}: settings tried on validation\n{}",
        text_table(&trial_headers(), &trial_rows(trials, best))
    )
}

impl Tuned {
    /// The trials as HTML.
    pub fn to_html(&self) -> String {
        trials_html(&RowScorer::name(&self.model), &self.trials, self.best)
    }
    /// Shows the trials in a notebook.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for Tuned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&trials_text(
            &RowScorer::name(&self.model),
            &self.trials,
            self.best,
        ))
    }
}
