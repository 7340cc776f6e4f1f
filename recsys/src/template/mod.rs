//! The recommender template's workflow (the Keras two-tower template) on
//! any delimited file, driven by one [`TemplateConfig`]:
//!
//! 1. [`Template::eda`]: the summary and charts, written to `figures/` as
//!    self-contained HTML files that open offline;
//! 2. [`Template::train_validation`]: the filters, a validation split, the
//!    model trained (early-stopping on its own validation part) and its
//!    held-out report with confidence intervals (`validation/`);
//! 3. [`Template::train_production`]: the same model on all the data, for
//!    the epoch count the validation run kept, saved (`production/`);
//! 4. [`Template::predict`]: `recommendations.json`, every user's top-N
//!    unseen items (raw ids) with scores.
//!
//! The CLI runs each step: `recsys template eda|train-validation|train-production|predict CONFIG`.

mod config;
mod data;
mod predict;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use config::{
    DataConfig, FeatureFileConfig, Filters, ModelConfig, OutputConfig, SplitKind, TemplateConfig,
    UnknownIds, ValidationConfig,
};
pub use predict::{PredictSummary, write_recommendations};

use crate::data::{Dataset, Summary};
use crate::models::{FitInput, Scorer, model_from_name};
use crate::report::Report;
use crate::{Error, Pipeline, Result};

/// The workflow over one config.
#[derive(Debug, Clone)]
pub struct Template {
    config: TemplateConfig,
}

/// What `eda` wrote.
#[derive(Debug, Clone)]
pub struct EdaOutput {
    /// The headline statistics (after the filters).
    pub summary: Summary,
    /// Data rows in the file (before merging repeated pairs and before the
    /// filters).
    pub raw_rows: usize,
    /// Rows merged into another row of the same (user, item) pair, by the
    /// config's `duplicates` policy.
    pub merged_rows: usize,
    /// The chart files written.
    pub figures: Vec<PathBuf>,
}

impl std::fmt::Display for EdaOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} rows read, {} repeated (user, item) rows merged, {} after the filters",
            self.raw_rows, self.merged_rows, self.summary.interactions
        )?;
        writeln!(f, "{}", self.summary)?;
        for p in &self.figures {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}

/// What `train_validation` measured, saved as `validation/run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationRun {
    /// The model and its parameters.
    pub model: String,
    pub params: Vec<(String, String)>,
    /// The epoch early stopping kept (`None` for models fitted in one step).
    pub kept_epoch: Option<usize>,
    /// The held-out report (with CIs).
    pub report: Report,
}

impl std::fmt::Display for ValidationRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.report)?;
        if let Some(e) = self.kept_epoch {
            write!(
                f,
                "\nkept epoch {e} (the production model trains this many)"
            )?;
        }
        Ok(())
    }
}

/// What `train_production` saved, as `production/run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductionRun {
    pub model: String,
    /// The parameters it was fitted with (epochs from the validation run).
    pub params: Vec<(String, String)>,
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    pub fit_seconds: f64,
    /// True when the fitted model is in `production/model.bin`; false for
    /// kinds without a file format, which `predict` refits from `params`.
    pub saved: bool,
}

impl std::fmt::Display for ProductionRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "production {} on {} interactions ({} users, {} items) in {:.1} s; {}",
            self.model,
            self.interactions,
            self.users,
            self.items,
            self.fit_seconds,
            if self.saved {
                "saved to production/model.bin"
            } else {
                "no file format for this kind: predict refits it"
            }
        )
    }
}

/// A two-column HTML table (`what`, `value`) with a caption.
fn kv_html(caption: &str, rows: Vec<(&str, String)>) -> String {
    crate::display::html_table(
        Some(caption),
        &["".into(), "".into()],
        &rows
            .into_iter()
            .map(|(k, v)| vec![k.to_string(), v])
            .collect::<Vec<_>>(),
    )
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl EdaOutput {
    /// HTML: the rows read and kept, the figure files, then the summary.
    pub fn to_html(&self) -> String {
        let figures: Vec<String> = self.figures.iter().map(|p| file_name(p)).collect();
        kv_html(
            "EDA",
            vec![
                ("rows read", self.raw_rows.to_string()),
                (
                    "repeated (user, item) rows merged",
                    self.merged_rows.to_string(),
                ),
                (
                    "rows after the filters",
                    self.summary.interactions.to_string(),
                ),
                ("figures/", figures.join(", ")),
            ],
        ) + &self.summary.to_html()
    }
    /// Jupyter display.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl ValidationRun {
    /// HTML: the held-out report, then the kept epoch.
    pub fn to_html(&self) -> String {
        let mut h = self.report.to_html();
        if let Some(e) = self.kept_epoch {
            h += &format!("<p>Kept epoch {e}: the production model trains this many.</p>");
        }
        h
    }
    /// Jupyter display.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl ProductionRun {
    /// HTML: what was fitted on what, and where it is.
    pub fn to_html(&self) -> String {
        kv_html(
            "Production model",
            vec![
                ("model", self.model.clone()),
                (
                    "epochs",
                    self.params
                        .iter()
                        .find(|(k, _)| k == "epochs")
                        .map_or("–".into(), |(_, v)| v.clone()),
                ),
                (
                    "data",
                    format!(
                        "{} interactions, {} users, {} items",
                        self.interactions, self.users, self.items
                    ),
                ),
                ("fit", crate::report::seconds(self.fit_seconds)),
                (
                    "saved",
                    if self.saved {
                        "production/model.bin".into()
                    } else {
                        "no file format for this kind (predict refits it)".into()
                    },
                ),
            ],
        )
    }
    /// Jupyter display.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl PredictSummary {
    /// HTML: users, list length, time and size.
    pub fn to_html(&self) -> String {
        kv_html(
            "recommendations.json",
            vec![
                ("users", self.users.to_string()),
                ("items per user", self.top_n.to_string()),
                ("time", crate::report::seconds(self.seconds)),
                ("size", format!("{:.1} MB", self.bytes as f64 / 1e6)),
            ],
        )
    }
    /// Jupyter display.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_emit("text/html", &self.to_html());
    }
}

impl Template {
    /// Reads and checks the config at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Template> {
        Ok(Template {
            config: TemplateConfig::load(path.as_ref())?,
        })
    }

    /// A workflow over an already built config.
    pub fn new(config: TemplateConfig) -> Result<Template> {
        config.check()?;
        Ok(Template { config })
    }

    /// The config.
    pub fn config(&self) -> &TemplateConfig {
        &self.config
    }

    /// The interactions (after the filters) with their feature tables.
    pub fn dataset(&self) -> Result<Dataset> {
        let c = &self.config;
        data::load_dataset(&|p| c.resolve(p), &c.data, &c.filters).map(|(ds, _)| ds)
    }

    fn out(&self, rel: &str) -> PathBuf {
        self.config.out_dir().join(rel)
    }

    /// Step 1: the summary and five charts (interactions per user and per
    /// item, the long tail, the score distribution, activity over time)
    /// written to `figures/` as self-contained HTML.
    pub fn eda(&self) -> Result<EdaOutput> {
        let c = &self.config;
        let (ds, read) = data::load_dataset(&|p| c.resolve(p), &c.data, &c.filters)?;
        let x = &ds.interactions;
        let mut charts = vec![
            ("interactions_per_user.html", x.user_activity_chart()),
            ("interactions_per_item.html", x.item_popularity_chart()),
            ("long_tail.html", x.long_tail_chart()),
        ];
        if x.ratings().is_some() {
            charts.push(("score_distribution.html", x.rating_chart()));
        }
        if x.timestamps().is_some() {
            charts.push(("activity_over_time.html", x.activity_chart()));
        }
        let mut figures = Vec::new();
        for (name, chart) in charts {
            let p = self.out(&format!("figures/{name}"));
            chart.save_html(&p)?;
            figures.push(p);
        }
        let summary = x.summary();
        crate::io::write_atomic(
            &self.out("figures/summary.txt"),
            summary.to_string().as_bytes(),
        )?;
        Ok(EdaOutput {
            summary,
            raw_rows: read.rows,
            merged_rows: read.merged,
            figures,
        })
    }

    /// Step 2: the validation model — split, fit with early stopping on
    /// the split's validation part, the held-out report (full ranking over
    /// the unseen items, 95 % CIs) — saved to `validation/`.
    pub fn train_validation(&self) -> Result<ValidationRun> {
        let c = &self.config;
        let ds = self.dataset()?;
        let model = model_from_name(&c.model.name, &c.model_params())?;
        let params = model.params();
        let name = model.name();
        let (report, fitted) = Pipeline::from_dataset(&ds)
            .split(c.split())
            .ks(&c.validation.ks)
            .seed(c.validation.seed)
            .recall_boxed(model)
            .evaluate_keeping()?;
        let run = ValidationRun {
            model: name,
            params,
            kept_epoch: fitted
                .learning_curve()
                .map(|l| l.kept_epoch)
                .filter(|&e| e > 0),
            report,
        };
        crate::io::write_atomic(
            &self.out("validation/run.json"),
            serde_json::to_string_pretty(&run)?.as_bytes(),
        )?;
        crate::io::write_atomic(
            &self.out("validation/report.html"),
            run.report.to_html().as_bytes(),
        )?;
        Ok(run)
    }

    /// The production model's parameters: the config's, with `epochs` set
    /// to the validation run's kept epoch (when there is one) and early
    /// stopping off (there is no validation data in production).
    fn production_params(&self) -> Result<Vec<(String, String)>> {
        let c = &self.config;
        let mut params = c.model_params();
        let run_path = self.out("validation/run.json");
        if run_path.exists() {
            let text = std::fs::read_to_string(&run_path).map_err(|e| Error::io(&run_path, e))?;
            let run: ValidationRun = serde_json::from_str(&text)?;
            if run.model != model_from_name(&c.model.name, &[])?.name() {
                return Err(Error::Config(format!(
                    "{}: the validation run trained {}, the config names {}; run train-validation again",
                    run_path.display(),
                    run.model,
                    c.model.name
                )));
            }
            if let Some(e) = run.kept_epoch {
                // The model's own name for its epoch count (ALS: iterations).
                let known: Vec<String> = model_from_name(&c.model.name, &params)?
                    .params()
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                let has = |k: &str| known.iter().any(|n| n == k);
                if let Some(key) = ["epochs", "iterations", "max_epochs"]
                    .into_iter()
                    .find(|k| has(k))
                {
                    params.retain(|(k, _)| k != key && k != "early_stopping" && k != "patience");
                    params.push((key.to_string(), e.to_string()));
                    if has("early_stopping") {
                        params.push(("early_stopping".into(), "off".into()));
                    }
                }
            }
        }
        Ok(params)
    }

    /// Step 3: the production model on all the data (after the filters),
    /// for the validation run's epoch count, saved to `production/`.
    pub fn train_production(&self) -> Result<ProductionRun> {
        let params = self.production_params()?;
        let (run, fitted) = self.fit_production(&params)?;
        if run.saved {
            fitted.save_model(&self.out("production/model.bin"))?;
        }
        crate::io::write_atomic(
            &self.out("production/run.json"),
            serde_json::to_string_pretty(&run)?.as_bytes(),
        )?;
        Ok(run)
    }

    /// Fits the production model with `params` on all the data; writes
    /// nothing (`run.saved`: whether its kind has a file format).
    fn fit_production(
        &self,
        params: &[(String, String)],
    ) -> Result<(ProductionRun, Box<dyn Scorer>)> {
        let c = &self.config;
        let ds = self.dataset()?;
        let model = model_from_name(&c.model.name, params)?;
        let started = std::time::Instant::now();
        let fitted = model.fit_scorer(FitInput::new(&ds.interactions).side(Some(&ds)))?;
        let fit_seconds = started.elapsed().as_secs_f64();
        let x = &ds.interactions;
        let run = ProductionRun {
            model: model.name(),
            params: model.params(),
            users: x.n_users(),
            items: x.n_items(),
            interactions: x.len(),
            fit_seconds,
            saved: fitted.has_file_format(),
        };
        Ok((run, fitted))
    }

    /// Step 4: `recommendations.json` from the production model (loaded
    /// from `production/model.bin`, or, when its kind has no file format,
    /// refitted with the parameters `production/run.json` recorded; the
    /// production run's files are left as they are).
    pub fn predict(&self) -> Result<PredictSummary> {
        let model_path = self.out("production/model.bin");
        let run_path = self.out("production/run.json");
        if !run_path.exists() {
            return Err(Error::Config(format!(
                "{}: no production model yet; run train-production first",
                run_path.display()
            )));
        }
        let text = std::fs::read_to_string(&run_path).map_err(|e| Error::io(&run_path, e))?;
        let run: ProductionRun = serde_json::from_str(&text)?;
        let scorer: Box<dyn Scorer> = if run.saved {
            crate::models::persist::load_scorer(&model_path)?
        } else {
            let named = model_from_name(&self.config.model.name, &[])?.name();
            if named != run.model {
                return Err(Error::Config(format!(
                    "{}: the production run trained {}, the config names {}; run train-production again",
                    run_path.display(),
                    run.model,
                    named
                )));
            }
            self.fit_production(&run.params)?.1
        };
        write_recommendations(
            scorer.as_ref(),
            self.config.output.top_n,
            &self.out("recommendations.json"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_tables_name_what_they_show() {
        let p = PredictSummary {
            users: 943,
            top_n: 10,
            seconds: 0.05,
            bytes: 1_500_000,
        };
        let h = p.to_html();
        assert!(h.contains("943") && h.contains("1.5 MB") && h.contains("recommendations.json"));
        let r = ProductionRun {
            model: "two_tower".into(),
            params: vec![("epochs".into(), "7".into())],
            users: 3,
            items: 4,
            interactions: 5,
            fit_seconds: 1.0,
            saved: false,
        };
        let h = r.to_html();
        assert!(h.contains("two_tower") && h.contains(">7<") && h.contains("refits"));
        assert!(r.to_string().contains("5 interactions"));
    }
}
