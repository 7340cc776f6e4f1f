//! Evaluation reports: metric means with bootstrap CIs, timings, stages;
//! rendered as text, HTML, polars and JSON; compared with paired tests.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::{Column, DataFrame};
use serde::{Deserialize, Serialize};

use crate::display::{evcxr_emit, html_table, text_table};
use crate::metrics::MetricSeries;
use crate::metrics::bootstrap::{self, Paired};
use crate::plot::{Chart, grouped_bar_chart};
use crate::{Error, Result};

/// One metric's mean and 95 % bootstrap CI over users (`ci` equals the
/// mean for aggregate metrics such as coverage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub name: String,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// One pipeline stage: what ran, how long, and what it produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// `recall`, `rank` or `rerank`.
    pub stage: String,
    /// Model name and parameters.
    pub model: String,
    /// Items the stage outputs per user.
    pub output_size: usize,
    pub fit_seconds: f64,
    pub run_seconds: f64,
    /// Stage metrics, e.g. recall of the candidate pool.
    pub metrics: Vec<MetricValue>,
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// System name (`popularity`, `itemcf → bpr → mmr`).
    pub model: String,
    /// Hyper-parameters of every stage, `(name, value)`.
    pub params: Vec<(String, String)>,
    pub dataset: String,
    /// Split and protocol in words.
    pub protocol: String,
    pub metrics: Vec<MetricValue>,
    pub stages: Vec<StageReport>,
    /// Seconds spent fitting all stages.
    pub fit_seconds: f64,
    /// Seconds spent producing lists / scores for all users.
    pub recommend_seconds: f64,
    /// Raw ids of the evaluated users, in the order of `per_user` values.
    pub users: Vec<String>,
    /// Per-user values of every per-user metric (for paired tests).
    pub per_user: BTreeMap<String, Vec<f64>>,
}

/// What a [`Report`] is built from, by the protocols (`eval`) and the
/// pipeline: named, so that no two arguments can swap places.
pub(crate) struct ReportParts {
    pub model: String,
    pub params: Vec<(String, String)>,
    pub dataset: String,
    pub protocol: String,
    /// Raw ids of the evaluated users (empty for the pointwise protocol).
    pub users: Vec<String>,
    pub series: Vec<MetricSeries>,
    pub stages: Vec<StageReport>,
    pub fit_seconds: f64,
    pub recommend_seconds: f64,
    /// Seed of the bootstrap CIs.
    pub seed: u64,
}

impl Report {
    /// Builds a report from metric series; CIs use `seed`.
    pub(crate) fn from_parts(parts: ReportParts) -> Report {
        let ReportParts {
            model,
            params,
            dataset,
            protocol,
            users,
            series,
            stages,
            fit_seconds,
            recommend_seconds,
            seed,
        } = parts;
        let mut per_user = BTreeMap::new();
        let metrics = series
            .into_iter()
            .map(|s| summarize(s, seed, &mut per_user))
            .collect();
        Report {
            model,
            params,
            dataset,
            protocol,
            metrics,
            stages,
            fit_seconds,
            recommend_seconds,
            users,
            per_user,
        }
    }

    /// The same report under another system name (e.g. a grid setting).
    pub fn named(mut self, name: impl Into<String>) -> Report {
        self.model = name.into();
        self
    }

    /// Mean of a metric by name (`NDCG@10`).
    pub fn get(&self, metric: &str) -> Option<f64> {
        self.metric(metric).map(|m| m.mean)
    }

    /// A metric by name.
    pub fn metric(&self, metric: &str) -> Option<&MetricValue> {
        self.metrics.iter().find(|m| m.name == metric)
    }

    fn rows(&self) -> Vec<Vec<String>> {
        self.metrics
            .iter()
            .map(|m| {
                let ci = if m.ci_low == m.ci_high {
                    String::new()
                } else {
                    format!("[{:.4}, {:.4}]", m.ci_low, m.ci_high)
                };
                vec![m.name.clone(), format!("{:.4}", m.mean), ci]
            })
            .collect()
    }

    /// `model on dataset: protocol; users; fit, recommend` — the short
    /// caption (the parameters are listed apart, [`Report::param_line`]).
    fn heading(&self) -> String {
        // Pointwise reports are over rows and listwise ones over queries
        // (the protocol says how many), not users.
        let users = if self.users.is_empty() || self.protocol.starts_with("listwise") {
            String::new()
        } else {
            format!("; {} users", self.users.len())
        };
        format!(
            "{} on {}: {}{users}; fit {}, {} {}",
            self.model,
            self.dataset,
            self.protocol,
            seconds(self.fit_seconds),
            self.scoring_word(),
            seconds(self.recommend_seconds)
        )
    }

    /// Every hyper-parameter as `key=value, …` (empty without parameters).
    fn param_line(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The parameters as a collapsed `<details>` block holding a
    /// `parameter | value` table (empty without parameters).
    fn params_html(&self) -> String {
        if self.params.is_empty() {
            return String::new();
        }
        let rows: Vec<Vec<String>> = self
            .params
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        format!(
            "<details style=\"font-size:13px\"><summary>parameters ({})</summary>{}</details>",
            self.params.len(),
            html_table(None, &["parameter".into(), "value".into()], &rows)
        )
    }

    /// What `recommend_seconds` timed: scoring labelled rows under the
    /// pointwise protocol, recommending otherwise.
    fn scoring_word(&self) -> &'static str {
        if self.protocol.starts_with("pointwise") {
            "score"
        } else {
            "recommend"
        }
    }

    fn stage_rows(&self) -> Vec<Vec<String>> {
        self.stages
            .iter()
            .map(|s| {
                vec![
                    s.stage.clone(),
                    s.model.clone(),
                    s.output_size.to_string(),
                    seconds(s.fit_seconds),
                    seconds(s.run_seconds),
                    s.metrics
                        .iter()
                        .map(|m| format!("{} {:.4}", m.name, m.mean))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect()
    }

    const STAGE_HEAD: [&'static str; 6] = ["stage", "model", "items/user", "fit", "run", "metrics"];

    /// The report as HTML tables (pure).
    pub fn to_html(&self) -> String {
        let mut h = html_table(
            Some(&self.heading()),
            &["metric".into(), "mean".into(), "95% CI".into()],
            &self.rows(),
        );
        h.push_str(&self.params_html());
        if self.stages.len() > 1 {
            h.push_str(&html_table(
                Some("Stages"),
                &Self::STAGE_HEAD.map(String::from),
                &self.stage_rows(),
            ));
        }
        h
    }

    /// Jupyter display.
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.to_html());
    }

    /// One row per metric: `metric`, `mean`, `ci_low`, `ci_high`.
    pub fn to_polars(&self) -> Result<DataFrame> {
        Ok(DataFrame::new_infer_height(vec![
            Column::new(
                "metric".into(),
                self.metrics
                    .iter()
                    .map(|m| m.name.clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "mean".into(),
                self.metrics.iter().map(|m| m.mean).collect::<Vec<_>>(),
            ),
            Column::new(
                "ci_low".into(),
                self.metrics.iter().map(|m| m.ci_low).collect::<Vec<_>>(),
            ),
            Column::new(
                "ci_high".into(),
                self.metrics.iter().map(|m| m.ci_high).collect::<Vec<_>>(),
            ),
        ])?)
    }

    /// Pretty JSON of the whole report.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Writes [`Report::to_json`] to `path` atomically.
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::write_atomic(path.as_ref(), self.to_json()?.as_bytes())
    }

    /// Reads a report written by [`Report::save_json`].
    pub fn load_json(path: impl AsRef<Path>) -> Result<Report> {
        let p = path.as_ref();
        let s = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
        serde_json::from_str(&s).map_err(|e| Error::BadFile {
            path: p.to_path_buf(),
            message: format!("not a recsys report: {e}"),
        })
    }

    /// Paired comparison of `other` against `self` on every per-user metric
    /// both have, over the users both evaluated.
    pub fn compare(&self, other: &Report) -> Comparison {
        let pos: BTreeMap<&str, usize> = other
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.as_str(), i))
            .collect();
        let common: Vec<(usize, usize)> = self
            .users
            .iter()
            .enumerate()
            .filter_map(|(i, u)| pos.get(u.as_str()).map(|&j| (i, j)))
            .collect();
        let mut rows = Vec::new();
        for m in &self.metrics {
            let (Some(a), Some(b)) = (self.per_user.get(&m.name), other.per_user.get(&m.name))
            else {
                continue;
            };
            let va: Vec<f64> = common.iter().map(|&(i, _)| a[i]).collect();
            let vb: Vec<f64> = common.iter().map(|&(_, j)| b[j]).collect();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            rows.push((
                m.name.clone(),
                mean(&va),
                mean(&vb),
                bootstrap::paired(&va, &vb, 42),
            ));
        }
        Comparison {
            a: self.model.clone(),
            b: other.model.clone(),
            users: common.len(),
            unit: if self.protocol.starts_with("listwise") {
                "queries".into()
            } else {
                "users".into()
            },
            rows,
        }
    }
}

fn summarize(s: MetricSeries, seed: u64, per_user: &mut BTreeMap<String, Vec<f64>>) -> MetricValue {
    match s.per_user {
        Some(v) => {
            let (mean, lo, hi) = bootstrap::mean_ci(&v, bootstrap::RESAMPLES, seed);
            per_user.insert(s.name.clone(), v);
            MetricValue {
                name: s.name,
                mean,
                ci_low: lo,
                ci_high: hi,
            }
        }
        None => {
            let (lo, hi) = s.ci.unwrap_or((s.value, s.value));
            MetricValue {
                name: s.name,
                mean: s.value,
                ci_low: lo,
                ci_high: hi,
            }
        }
    }
}

/// Seconds in a readable unit.
pub fn seconds(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.heading())?;
        if !self.params.is_empty() {
            writeln!(f, "parameters: {}", self.param_line())?;
        }
        f.write_str(&text_table(
            &["metric".into(), "mean".into(), "95% CI".into()],
            &self.rows(),
        ))?;
        if self.stages.len() > 1 {
            writeln!(f)?;
            f.write_str(&text_table(
                &Self::STAGE_HEAD.map(String::from),
                &self.stage_rows(),
            ))?;
        }
        Ok(())
    }
}

/// A paired comparison of two reports (b against a).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// Users evaluated by both (queries under the listwise protocol).
    pub users: usize,
    /// What the paired units are: `users`, or `queries` (listwise).
    pub unit: String,
    /// `(metric, mean a, mean b, paired test of b - a)`.
    pub rows: Vec<(String, f64, f64, Paired)>,
}

impl Comparison {
    fn table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let head = vec![
            "metric".into(),
            self.a.clone(),
            self.b.clone(),
            "diff (b-a)".into(),
            "95% CI".into(),
            "p (paired)".into(),
        ];
        let rows = self
            .rows
            .iter()
            .map(|(m, a, b, p)| {
                vec![
                    m.clone(),
                    format!("{a:.4}"),
                    format!("{b:.4}"),
                    format!("{:+.4}", p.diff),
                    format!("[{:+.4}, {:+.4}]", p.ci.0, p.ci.1),
                    format!("{:.4}", p.p_value),
                ]
            })
            .collect();
        (head, rows)
    }

    /// HTML table (pure).
    pub fn to_html(&self) -> String {
        let (h, r) = self.table();
        html_table(
            Some(&format!(
                "{} vs {} over {} {}",
                self.b, self.a, self.users, self.unit
            )),
            &h,
            &r,
        )
    }

    /// Jupyter display.
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (h, r) = self.table();
        writeln!(
            f,
            "{} vs {} over {} {}",
            self.b, self.a, self.users, self.unit
        )?;
        f.write_str(&text_table(&h, &r))
    }
}

/// Several reports side by side (one row per report, one column per metric).
#[derive(Debug, Clone)]
pub struct Leaderboard {
    pub reports: Vec<Report>,
    /// Metrics shown; all metrics of the first report when empty.
    pub metrics: Vec<String>,
}

impl Leaderboard {
    /// A leaderboard of `reports` showing `metrics` (all when empty).
    pub fn new(reports: Vec<Report>, metrics: &[&str]) -> Self {
        Leaderboard {
            reports,
            metrics: metrics.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn columns(&self) -> Vec<String> {
        if !self.metrics.is_empty() {
            return self.metrics.clone();
        }
        self.reports
            .first()
            .map(|r| r.metrics.iter().map(|m| m.name.clone()).collect())
            .unwrap_or_default()
    }

    fn table(&self, with_ci: bool) -> (Vec<String>, Vec<Vec<String>>) {
        let cols = self.columns();
        let mut head = vec!["model".to_string()];
        head.extend(cols.iter().cloned());
        let scoring = match self.reports.first() {
            Some(first)
                if self
                    .reports
                    .iter()
                    .all(|r| r.scoring_word() == first.scoring_word()) =>
            {
                first.scoring_word()
            }
            _ => "recommend / score",
        };
        head.extend(["fit".into(), scoring.into()]);
        let rows = self
            .reports
            .iter()
            .map(|r| {
                let mut row = vec![r.model.clone()];
                for c in &cols {
                    row.push(match r.metric(c) {
                        Some(m) if with_ci && m.ci_low != m.ci_high => {
                            format!("{:.4} ±{:.4}", m.mean, (m.ci_high - m.ci_low) / 2.0)
                        }
                        Some(m) => format!("{:.4}", m.mean),
                        None => "–".into(),
                    });
                }
                row.push(seconds(r.fit_seconds));
                row.push(seconds(r.recommend_seconds));
                row
            })
            .collect();
        (head, rows)
    }

    /// HTML table with CI half-widths (pure).
    pub fn to_html(&self) -> String {
        let (h, r) = self.table(true);
        html_table(None, &h, &r)
    }

    /// Jupyter display.
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.to_html());
    }

    /// Grouped bars of `metrics` per report, with 95 % CI error bars.
    pub fn chart(&self, metrics: &[&str]) -> Chart {
        let series = self
            .reports
            .iter()
            .map(|r| {
                let vals = metrics
                    .iter()
                    .map(|m| r.get(m).unwrap_or(f64::NAN))
                    .collect();
                let errs = metrics
                    .iter()
                    .map(|m| r.metric(m).map_or(0.0, |v| (v.ci_high - v.ci_low) / 2.0))
                    .collect();
                (r.model.clone(), vals, Some(errs))
            })
            .collect();
        let datasets: std::collections::BTreeSet<&str> =
            self.reports.iter().map(|r| r.dataset.as_str()).collect();
        let title = format!(
            "{} by model on {} (bars: 95 % CI)",
            metrics.join(", "),
            datasets.into_iter().collect::<Vec<_>>().join(", ")
        );
        grouped_bar_chart(
            &title,
            "value",
            metrics.iter().map(|s| s.to_string()).collect(),
            series,
        )
    }
}

impl std::fmt::Display for Leaderboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (h, r) = self.table(true);
        f.write_str(&text_table(&h, &r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, vals: Vec<f64>) -> Report {
        Report::from_parts(ReportParts {
            model: name.into(),
            params: vec![("seed".into(), "42".into())],
            dataset: "toy".into(),
            protocol: "full ranking".into(),
            users: (0..vals.len()).map(|u| u.to_string()).collect(),
            series: vec![
                MetricSeries::per_user("NDCG@10".into(), vals),
                MetricSeries::aggregate("Coverage@10".into(), 0.5),
            ],
            stages: vec![],
            fit_seconds: 0.1,
            recommend_seconds: 0.2,
            seed: 42,
        })
    }

    #[test]
    fn renders_and_round_trips() {
        let r = report("pop", vec![0.0, 1.0, 0.5, 0.5]);
        assert_eq!(r.get("NDCG@10"), Some(0.5));
        let html = r.to_html();
        assert!(html.contains("<td style=\"padding:2px 8px;text-align:left\">NDCG@10</td>"));
        assert!(html.contains("0.5000"));
        assert!(r.to_string().contains("Coverage@10  0.5000"));
        // A short caption; the parameters collapsed in their own table.
        let caption = html.split("</caption>").next().unwrap();
        assert!(!caption.contains("seed"), "{caption}");
        assert!(html.contains("<details") && html.contains(">seed</td>"));
        let back: Report = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.to_polars().unwrap().height(), 2);
    }

    #[test]
    fn comparison_and_leaderboard() {
        let a = report("a", vec![0.1; 100]);
        let b = report("b", vec![0.3; 100]);
        let c = a.compare(&b);
        assert_eq!(c.users, 100);
        assert!((c.rows[0].3.diff - 0.2).abs() < 1e-9);
        assert!(c.to_html().contains("b vs a over 100 users"));
        let lb = Leaderboard::new(vec![a, b], &["NDCG@10"]);
        assert!(lb.to_string().contains("NDCG@10"));
        assert!(lb.to_html().contains("<th"));
    }
}
