//! Training visibility shared by the iterative models: per-epoch lines (or
//! an indicatif bar in terminals), validation NDCG@10, early stopping, and
//! the learning curve as data and as a chart.

use std::io::IsTerminal;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Interactions;
use crate::display::{html_table, text_table};
use crate::metrics::ranking::{masked_top_k, top_k};
use crate::plot::{Chart, Scale, dual_axis_chart, line_chart};

/// One epoch (or ALS iteration) of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based.
    pub epoch: usize,
    /// The training objective (model-specific; `None` when not computed).
    pub loss: Option<f64>,
    /// NDCG@10 on the validation interactions (full ranking, training items
    /// masked), when validation was given and checked this epoch.
    pub val_ndcg: Option<f64>,
    /// Wall-clock seconds of the epoch (training only).
    pub seconds: f64,
}

/// The learning curve of a fit: one [`EpochLog`] per epoch, and the epoch
/// whose parameters the fitted model keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LearningCurve {
    pub model: String,
    pub epochs: Vec<EpochLog>,
    /// The epoch the model's parameters come from (the best validation
    /// epoch under early stopping, else the last).
    pub kept_epoch: usize,
    /// True when early stopping ended training before the epoch budget.
    pub stopped_early: bool,
}

impl LearningCurve {
    /// Losses per epoch (`NaN` where not computed).
    pub fn losses(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|e| e.loss.unwrap_or(f64::NAN))
            .collect()
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.epochs
            .iter()
            .map(|e| {
                vec![
                    e.epoch.to_string(),
                    e.loss.map_or("–".into(), |l| format!("{l:.5}")),
                    e.val_ndcg.map_or("–".into(), |v| format!("{v:.4}")),
                    format!("{:.0}", e.seconds * 1e3),
                    if e.epoch == self.kept_epoch {
                        "✓".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect()
    }

    fn headers() -> Vec<String> {
        ["epoch", "loss", "val NDCG@10", "ms", "kept"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// An HTML table of the curve.
    pub fn to_html(&self) -> String {
        html_table(
            Some(&format!("{}: learning curve", self.model)),
            &Self::headers(),
            &self.rows(),
        )
    }

    /// Loss (and validation NDCG@10 when present) against epoch.
    pub fn chart(&self) -> Chart {
        let x: Vec<f64> = self.epochs.iter().map(|e| e.epoch as f64).collect();
        let loss = vec![("training loss".to_string(), x.clone(), self.losses())];
        let title = format!("{}: learning curve", self.model);
        if !self.epochs.iter().any(|e| e.val_ndcg.is_some()) {
            return line_chart(
                &title,
                "epoch",
                "training loss",
                loss,
                (Scale::Linear, Scale::Linear),
                false,
            );
        }
        let (vx, vy): (Vec<f64>, Vec<f64>) = self
            .epochs
            .iter()
            .filter_map(|e| e.val_ndcg.map(|v| (e.epoch as f64, v)))
            .unzip();
        // Loss and NDCG have different units: one y axis each.
        dual_axis_chart(
            &title,
            "epoch",
            ("training loss", loss),
            (
                "validation NDCG@10",
                vec![("validation NDCG@10".into(), vx, vy)],
            ),
        )
    }

    /// The curve as a polars DataFrame (`epoch, loss, val_ndcg, seconds`).
    pub fn to_polars(&self) -> crate::Result<polars::prelude::DataFrame> {
        use polars::prelude::*;
        let df = df!(
            "epoch" => self.epochs.iter().map(|e| e.epoch as u32).collect::<Vec<_>>(),
            "loss" => self.epochs.iter().map(|e| e.loss).collect::<Vec<_>>(),
            "val_ndcg" => self.epochs.iter().map(|e| e.val_ndcg).collect::<Vec<_>>(),
            "seconds" => self.epochs.iter().map(|e| e.seconds).collect::<Vec<_>>(),
        )?;
        Ok(df)
    }

    /// Shows the chart in a notebook.
    pub fn evcxr_display(&self) {
        self.chart().evcxr_display();
    }
}

impl std::fmt::Display for LearningCurve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}: learning curve", self.model)?;
        f.write_str(&text_table(&Self::headers(), &self.rows()))
    }
}

/// Validation and early-stopping settings of an iterative model (in its
/// builder with `#[serde(flatten)]`: `eval_every`, `early_stopping`,
/// `validation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Validation {
    /// Check validation NDCG@10 every this many epochs.
    #[serde(rename = "eval_every")]
    pub every: usize,
    /// Stop after this many checks without improvement (`None`: never;
    /// spelled `off`, `none` or 0).
    #[serde(rename = "early_stopping", alias = "patience", with = "patience_text")]
    pub patience: Option<usize>,
    /// The one validation metric (listed, settable only to itself).
    #[serde(default)]
    pub validation: FixedMetric,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            every: 1,
            patience: None,
            validation: FixedMetric,
        }
    }
}

impl Validation {
    /// The aliases of [`crate::models::params::updated`] for these keys.
    pub(crate) const ALIASES: [(&'static str, &'static str); 1] = [("patience", "early_stopping")];

    /// `eval_every` and `early_stopping` are at least 1.
    pub(crate) fn check(&self) -> crate::Result<()> {
        if self.every == 0 {
            return Err(crate::Error::param("eval_every", "must be ≥ 1"));
        }
        if self.patience == Some(0) {
            return Err(crate::Error::param("early_stopping", "must be ≥ 1 or off"));
        }
        Ok(())
    }
}

/// [`VALIDATION_METRIC`] as a parameter value: serialized as its text,
/// and only that text deserializes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FixedMetric;

impl serde::Serialize for FixedMetric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(VALIDATION_METRIC)
    }
}

impl<'de> serde::Deserialize<'de> for FixedMetric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim() == VALIDATION_METRIC {
            Ok(FixedMetric)
        } else {
            Err(serde::de::Error::custom(format!(
                "the validation metric is fixed: {VALIDATION_METRIC}"
            )))
        }
    }
}

/// `early_stopping` as text: a count, or `off` (also `none`, 0) for none.
pub(crate) mod patience_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
        match p {
            Some(n) => s.serialize_u64(*n as u64),
            None => s.serialize_str("off"),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Count(u64),
        Word(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        match Text::deserialize(d)? {
            Text::Count(0) => Ok(None),
            Text::Count(n) => Ok(Some(n as usize)),
            Text::Word(w) => match w.trim() {
                "off" | "none" | "0" => Ok(None),
                t => t
                    .parse::<usize>()
                    .map(|n| (n > 0).then_some(n))
                    .map_err(|_| {
                        serde::de::Error::custom(format!("{t:?}: expected a count or off"))
                    }),
            },
        }
    }
}

/// The validation metric of every iterative model on interactions (ALS,
/// BPR): NDCG@10 by full ranking of the validation interactions, the
/// user's training items masked. (The CTR networks name theirs with
/// `ValidationMetric`.)
pub(crate) const VALIDATION_METRIC: &str = "NDCG@10, full ranking of the validation interactions";

/// The `early_stopping` and `eval_every` setters of an iterative model's
/// builder (a struct with a `validation: Validation` field); `$fit` names
/// its validated fit, `$step` its unit ("iteration", "epoch").
macro_rules! validation_setters {
    ($fit:literal, $step:literal) => {
        #[doc = concat!(
            "With validation data ([`", $fit, "`] or a pipeline whose split has a validation ",
            "part): stop after `patience` checks without a better validation NDCG@10 and keep ",
            "the best ", $step, ". Defaults to no early stopping."
        )]
        pub fn early_stopping(mut self, patience: usize) -> Self {
            self.validation.patience = Some(patience.max(1));
            self
        }
        #[doc = concat!("Check validation NDCG@10 every `n` ", $step, "s. Defaults to 1.")]
        pub fn eval_every(mut self, n: usize) -> Self {
            self.validation.every = n.max(1);
            self
        }
    };
}
pub(crate) use validation_setters;

/// What the monitor says after an epoch.
pub(crate) enum Verdict {
    Continue,
    /// This epoch is the best so far: keep a copy of the parameters.
    Improved,
    Stop,
}

/// Tracks epochs, prints lines or drives a bar, checks validation.
pub(crate) struct Monitor<'a> {
    name: String,
    total: usize,
    verbose: bool,
    bar: Option<indicatif::ProgressBar>,
    train: &'a Interactions,
    relevant: Option<Vec<(u32, Vec<u32>)>>,
    settings: Validation,
    best: f64,
    bad: usize,
    pub(crate) curve: LearningCurve,
    started: Instant,
}

impl<'a> Monitor<'a> {
    pub(crate) fn new(
        name: &str,
        total: usize,
        verbose: bool,
        train: &'a Interactions,
        validation: Option<&Interactions>,
        settings: Validation,
    ) -> Self {
        let relevant = validation.map(|v| {
            (0..v.n_users() as u32)
                .filter_map(|u| {
                    let mut items: Vec<u32> = v.user_items(u).iter().map(|&i| i as u32).collect();
                    let seen = train.user_items(u);
                    items.retain(|i| seen.binary_search(i).is_err());
                    (!items.is_empty()).then_some((u, items))
                })
                .collect()
        });
        let bar = (verbose && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {msg}")
                    .expect("valid template"),
            );
            b.set_prefix(name.to_string());
            b
        });
        Monitor {
            name: name.into(),
            total,
            verbose,
            bar,
            train,
            relevant,
            settings,
            best: f64::NEG_INFINITY,
            bad: 0,
            curve: LearningCurve {
                model: name.into(),
                ..Default::default()
            },
            started: Instant::now(),
        }
    }

    /// True when this epoch (1-based) checks validation.
    pub(crate) fn checks(&self, epoch: usize) -> bool {
        self.relevant.is_some() && (epoch % self.settings.every.max(1) == 0 || epoch == self.total)
    }

    /// Records an epoch. `score(u, out)` writes the scores of all items for
    /// user `u`; it is called only when validation is checked.
    pub(crate) fn epoch(
        &mut self,
        epoch: usize,
        loss: Option<f64>,
        seconds: f64,
        score: impl Fn(u32, &mut [f32]) + Sync,
    ) -> Verdict {
        let val_ndcg = if self.checks(epoch) {
            Some(self.validation_ndcg(&score))
        } else {
            None
        };
        self.curve.epochs.push(EpochLog {
            epoch,
            loss,
            val_ndcg,
            seconds,
        });
        let line = format!(
            "{} epoch {epoch}/{}: loss {}{}, {:.0} ms",
            self.name,
            self.total,
            loss.map_or("–".into(), |l| format!("{l:.5}")),
            val_ndcg.map_or(String::new(), |v| format!(", val NDCG@10 {v:.4}")),
            seconds * 1e3
        );
        match &self.bar {
            Some(b) => {
                b.set_position(epoch as u64);
                b.set_message(line.clone());
            }
            None if self.verbose => println!("{line}"),
            None => {}
        }
        let verdict = match val_ndcg {
            None => Verdict::Continue,
            Some(v) if v > self.best => {
                self.best = v;
                self.bad = 0;
                self.curve.kept_epoch = epoch;
                Verdict::Improved
            }
            Some(_) => {
                self.bad += 1;
                match self.settings.patience {
                    Some(p) if self.bad >= p => Verdict::Stop,
                    _ => Verdict::Continue,
                }
            }
        };
        if self.relevant.is_none() {
            self.curve.kept_epoch = epoch;
        }
        if matches!(verdict, Verdict::Stop) {
            self.curve.stopped_early = epoch < self.total;
            if self.verbose && self.bar.is_none() {
                println!(
                    "{}: early stop after epoch {epoch}; keeping epoch {} (val NDCG@10 {:.4})",
                    self.name, self.curve.kept_epoch, self.best
                );
            }
        }
        verdict
    }

    /// True when validation is monitored (the caller keeps best copies).
    pub(crate) fn validates(&self) -> bool {
        self.relevant.is_some()
    }

    fn validation_ndcg(&self, score: &(impl Fn(u32, &mut [f32]) + Sync)) -> f64 {
        let rel = self.relevant.as_ref().expect("validation present");
        let n = self.train.n_items();
        let sum: f64 = rel
            .par_iter()
            .map_init(
                || vec![0f32; n],
                |s, (u, items)| {
                    score(*u, s);
                    top_k(
                        &masked_top_k(s, &[self.train.user_items(*u)], 10),
                        items,
                        10,
                    )
                    .ndcg
                },
            )
            .sum();
        sum / rel.len().max(1) as f64
    }

    /// Finishes the bar and returns the curve.
    pub(crate) fn finish(self) -> LearningCurve {
        if let Some(b) = &self.bar {
            b.finish_with_message(format!(
                "done in {:.1} s (kept epoch {})",
                self.started.elapsed().as_secs_f64(),
                self.curve.kept_epoch
            ));
        }
        self.curve
    }
}
