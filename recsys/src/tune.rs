//! Hyper-parameter search helpers: grids of `key=value` settings and
//! selection by a validation metric.

use crate::report::Report;

/// The cartesian product of `axes` (`(name, values)`), each setting
/// prefixed by `fixed`. Settings are `(name, value)` pairs as the CLI and
/// [`crate::models::model_from_name`] take them.
///
/// ```
/// let g = recsys::tune::grid(&[("weighting", "bm25")], &[("k", &["50", "100"]), ("shrinkage", &["0", "10"])]);
/// assert_eq!(g.len(), 4);
/// assert_eq!(g[1], vec![("weighting".to_string(), "bm25".to_string()), ("k".into(), "50".into()), ("shrinkage".into(), "10".into())]);
/// ```
pub fn grid(fixed: &[(&str, &str)], axes: &[(&str, &[&str])]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![
        fixed
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    ];
    for (name, values) in axes {
        out = out
            .into_iter()
            .flat_map(|base| {
                values.iter().map(move |v| {
                    let mut s = base.clone();
                    s.push((name.to_string(), v.to_string()));
                    s
                })
            })
            .collect();
    }
    out
}

/// Index of the report with the highest `metric` (first on ties), or `None`
/// when no report has it.
pub fn best_by(reports: &[Report], metric: &str) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in reports.iter().enumerate() {
        if let Some(v) = r.get(metric) {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i, v));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// `k=v, k=v` text of a setting.
pub fn describe(setting: &[(String, String)]) -> String {
    setting
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
