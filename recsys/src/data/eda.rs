//! Exploratory data analysis: a summary, polars DataFrames and charts.

use polars::prelude::{Column, DataFrame};

use super::{FeatureColumn, Features, Interactions};
use crate::Result;
use crate::display::{evcxr_emit, html_table, text_table};
use crate::plot::{Chart, Scale, bar_chart, line_chart};

/// Headline statistics of an interaction log. Build with
/// [`Interactions::summary`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Users / items with at least one interaction.
    pub users: usize,
    pub items: usize,
    /// Size of the item universe (catalogue), interacted or not.
    pub catalog_items: usize,
    pub interactions: usize,
    /// interactions / (users × items), over active users and items.
    pub density: f64,
    /// `(rating, count)` in ascending rating order; empty for implicit data.
    pub ratings: Vec<(f32, usize)>,
    /// Share of interactions on the 80 % least popular active items.
    pub long_tail_share: f64,
    /// Interactions per user: min, 25 %, median, 75 %, 90 %, max.
    pub per_user: [f64; 6],
    /// Interactions per item (active items): same quantiles.
    pub per_item: [f64; 6],
    /// First and last timestamp (Unix seconds), when present.
    pub time_span: Option<(i64, i64)>,
}

/// Quantiles of a non-empty list by linear interpolation (numpy's default).
pub(crate) fn quantiles(values: &mut [f64], qs: &[f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    qs.iter()
        .map(|&q| {
            if values.is_empty() {
                return f64::NAN;
            }
            let pos = q * (values.len() - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
        })
        .collect()
}

const QS: [f64; 6] = [0.0, 0.25, 0.5, 0.75, 0.9, 1.0];

/// `YYYY-MM-DD` of Unix seconds (UTC), without a date library.
pub fn date_string(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

impl Summary {
    fn rows(&self) -> Vec<Vec<String>> {
        let q = |a: &[f64; 6]| {
            a.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let mut rows = vec![
            vec!["users".into(), self.users.to_string()],
            vec![
                "items (interacted / catalogue)".into(),
                format!("{} / {}", self.items, self.catalog_items),
            ],
            vec!["interactions".into(), self.interactions.to_string()],
            vec!["density".into(), format!("{:.4}%", self.density * 100.0)],
            vec![
                "long-tail share (80% least popular items)".into(),
                format!("{:.1}%", self.long_tail_share * 100.0),
            ],
            vec![
                "per user: min / p25 / median / p75 / p90 / max".into(),
                q(&self.per_user),
            ],
            vec![
                "per item: min / p25 / median / p75 / p90 / max".into(),
                q(&self.per_item),
            ],
        ];
        if !self.ratings.is_empty() {
            let h = self
                .ratings
                .iter()
                .map(|(r, c)| format!("{r}: {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            rows.push(vec!["ratings".into(), h]);
        }
        if let Some((a, b)) = self.time_span {
            rows.push(vec![
                "time span".into(),
                format!(
                    "{} .. {} ({} days)",
                    date_string(a),
                    date_string(b),
                    (b - a) / 86_400
                ),
            ]);
        }
        rows
    }

    /// The summary as an HTML table (pure).
    pub fn to_html(&self) -> String {
        html_table(
            Some("Dataset summary"),
            &["statistic".into(), "value".into()],
            &self.rows(),
        )
    }

    /// Jupyter display.
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.to_html());
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&text_table(
            &["statistic".into(), "value".into()],
            &self.rows(),
        ))
    }
}

impl Interactions {
    /// Headline statistics; see [`Summary`].
    pub fn summary(&self) -> Summary {
        let uc: Vec<f64> = self
            .user_counts()
            .into_iter()
            .filter(|&c| c > 0)
            .map(f64::from)
            .collect();
        let mut ic: Vec<f64> = self
            .item_counts()
            .into_iter()
            .filter(|&c| c > 0)
            .map(f64::from)
            .collect();
        let (users, items) = (uc.len(), ic.len());
        let nnz = self.csr().nnz();
        let density = if users * items == 0 {
            0.0
        } else {
            nnz as f64 / (users as f64 * items as f64)
        };
        let mut ratings = Vec::new();
        if let Some(r) = self.ratings() {
            let mut sorted: Vec<f32> = r.to_vec();
            sorted.sort_by(f32::total_cmp);
            for chunk in sorted.chunk_by(|a, b| a == b) {
                ratings.push((chunk[0], chunk.len()));
            }
        }
        ic.sort_by(|a, b| b.total_cmp(a));
        let head = (items as f64 * 0.2).ceil() as usize;
        let total: f64 = ic.iter().sum();
        let tail: f64 = ic.iter().skip(head).sum();
        let per_item = quantiles(&mut ic, &QS);
        let mut ucm = uc;
        let per_user = quantiles(&mut ucm, &QS);
        let time_span = self
            .timestamps()
            .and_then(|t| Some((*t.iter().min()?, *t.iter().max()?)));
        Summary {
            users,
            items,
            catalog_items: self.n_items(),
            interactions: self.len(),
            density,
            ratings,
            long_tail_share: if total > 0.0 { tail / total } else { 0.0 },
            per_user: per_user.try_into().unwrap(),
            per_item: per_item.try_into().unwrap(),
            time_span,
        }
    }

    /// The log as a polars DataFrame: `user`, `item` (raw ids), `user_idx`,
    /// `item_idx`, and `rating` / `timestamp` when present.
    pub fn to_polars(&self) -> Result<DataFrame> {
        let users = self.users();
        let items = self.items();
        let mut cols = vec![
            Column::new(
                "user".into(),
                self.user_indices()
                    .iter()
                    .map(|&u| users.raw(u))
                    .collect::<Vec<&str>>(),
            ),
            Column::new(
                "item".into(),
                self.item_indices()
                    .iter()
                    .map(|&i| items.raw(i))
                    .collect::<Vec<&str>>(),
            ),
            Column::new("user_idx".into(), self.user_indices().to_vec()),
            Column::new("item_idx".into(), self.item_indices().to_vec()),
        ];
        if let Some(r) = self.ratings() {
            cols.push(Column::new("rating".into(), r.to_vec()));
        }
        if let Some(t) = self.timestamps() {
            cols.push(Column::new("timestamp".into(), t.to_vec()));
        }
        Ok(DataFrame::new_infer_height(cols)?)
    }

    /// Number of users (y) having each interaction count (x), log–log.
    pub fn user_activity_chart(&self) -> Chart {
        count_distribution_chart(
            "Interactions per user",
            "interactions per user",
            "users",
            self.user_counts(),
        )
    }

    /// Number of items (y) having each interaction count (x), log–log.
    pub fn item_popularity_chart(&self) -> Chart {
        count_distribution_chart(
            "Interactions per item",
            "interactions per item",
            "items",
            self.item_counts(),
        )
    }

    /// Item popularity by rank (the long tail), log–log.
    pub fn long_tail_chart(&self) -> Chart {
        let mut c: Vec<f64> = self
            .item_counts()
            .into_iter()
            .filter(|&c| c > 0)
            .map(f64::from)
            .collect();
        c.sort_by(|a, b| b.total_cmp(a));
        let x = (1..=c.len()).map(|r| r as f64).collect();
        line_chart(
            "Long tail: item popularity by rank",
            "item rank",
            "interactions",
            vec![("items".into(), x, c)],
            (Scale::Log, Scale::Log),
            false,
        )
    }

    /// Rating distribution (bars); empty chart for implicit data.
    pub fn rating_chart(&self) -> Chart {
        let s = self.summary();
        bar_chart(
            "Rating distribution",
            "rating",
            "interactions",
            s.ratings.iter().map(|(r, _)| r.to_string()).collect(),
            s.ratings.iter().map(|(_, c)| *c as f64).collect(),
        )
    }

    /// Interactions per week over time (x: week start date); empty chart
    /// without timestamps.
    pub fn activity_chart(&self) -> Chart {
        let mut weeks: std::collections::BTreeMap<i64, f64> = Default::default();
        for &t in self.timestamps().unwrap_or(&[]) {
            *weeks.entry(t.div_euclid(7 * 86_400)).or_default() += 1.0;
        }
        let dates: Vec<String> = weeks.keys().map(|&w| date_string(w * 7 * 86_400)).collect();
        let mut plot = plotly::Plot::new();
        plot.add_trace(
            plotly::Scatter::new(dates, weeks.values().copied().collect()).name("interactions"),
        );
        plot.set_layout(
            plotly::Layout::new()
                .title(plotly::common::Title::with_text("Activity over time"))
                .y_axis(
                    plotly::layout::Axis::new()
                        .title(plotly::common::Title::with_text("interactions per week")),
                ),
        );
        Chart::new(plot)
    }
}

fn count_distribution_chart(title: &str, x: &str, y: &str, counts: Vec<u32>) -> Chart {
    let mut hist: std::collections::BTreeMap<u32, f64> = Default::default();
    for c in counts.into_iter().filter(|&c| c > 0) {
        *hist.entry(c).or_default() += 1.0;
    }
    line_chart(
        title,
        x,
        y,
        vec![(
            y.to_string(),
            hist.keys().map(|&k| f64::from(k)).collect(),
            hist.values().copied().collect(),
        )],
        (Scale::Log, Scale::Log),
        true,
    )
}

impl Interactions {
    /// Jupyter display: the [`Summary`] table.
    pub fn evcxr_display(&self) {
        self.summary().evcxr_display();
    }
}

impl Features {
    /// The first `n` rows as an HTML table (pure).
    pub fn to_html(&self, n: usize) -> String {
        let mut head = vec!["id".to_string()];
        head.extend(self.names().into_iter().map(String::from));
        let rows: Vec<Vec<String>> = (0..self.len().min(n))
            .map(|r| {
                let mut row = vec![self.ids().raw(r as u32).to_string()];
                for (_, c) in self.columns() {
                    row.push(match c {
                        FeatureColumn::Categorical(v) | FeatureColumn::Text(v) => v[r].clone(),
                        FeatureColumn::Numeric(v) => v[r].to_string(),
                        FeatureColumn::MultiLabel(v) => v[r].join("|"),
                    });
                }
                row
            })
            .collect();
        html_table(
            Some(&format!(
                "{} rows × {} features",
                self.len(),
                self.columns().len()
            )),
            &head,
            &rows,
        )
    }

    /// Jupyter display: the first 10 rows.
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.to_html(10));
    }

    /// The table as a polars DataFrame: `id` then one column per feature
    /// (labels joined with `|`).
    pub fn to_polars(&self) -> Result<DataFrame> {
        let mut cols = vec![Column::new("id".into(), self.ids().raw_ids().to_vec())];
        for (name, col) in self.columns() {
            let c = match col {
                FeatureColumn::Categorical(v) | FeatureColumn::Text(v) => {
                    Column::new(name.into(), v.clone())
                }
                FeatureColumn::Numeric(v) => Column::new(name.into(), v.clone()),
                FeatureColumn::MultiLabel(v) => Column::new(
                    name.into(),
                    v.iter().map(|l| l.join("|")).collect::<Vec<String>>(),
                ),
            };
            cols.push(c);
        }
        Ok(DataFrame::new_infer_height(cols)?)
    }

    /// Counts of each value of a categorical or multi-label column, most
    /// frequent first.
    pub fn value_counts(&self, column: &str) -> Vec<(String, usize)> {
        let mut m: std::collections::HashMap<&str, usize> = Default::default();
        match self.column(column) {
            Some(FeatureColumn::Categorical(v)) | Some(FeatureColumn::Text(v)) => {
                for s in v {
                    *m.entry(s).or_default() += 1;
                }
            }
            Some(FeatureColumn::MultiLabel(v)) => {
                for s in v.iter().flatten() {
                    *m.entry(s).or_default() += 1;
                }
            }
            _ => {}
        }
        let mut out: Vec<(String, usize)> =
            m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Bar chart of [`Features::value_counts`] (top `limit` values).
    pub fn value_counts_chart(&self, column: &str, limit: usize) -> Chart {
        let vc = self.value_counts(column);
        let top: Vec<_> = vc.into_iter().take(limit).collect();
        bar_chart(
            &format!("{column}: value counts"),
            column,
            "rows",
            top.iter().map(|(k, _)| k.clone()).collect(),
            top.iter().map(|(_, c)| *c as f64).collect(),
        )
    }

    /// Histogram of a numeric column with `bins` equal-width bins.
    pub fn histogram_chart(&self, column: &str, bins: usize) -> Chart {
        let vals: Vec<f32> = match self.column(column) {
            Some(FeatureColumn::Numeric(v)) => {
                v.iter().copied().filter(|x| x.is_finite()).collect()
            }
            _ => vec![],
        };
        let (lo, hi) = vals
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        let bins = bins.max(1);
        let width = if hi > lo {
            (hi - lo) / bins as f32
        } else {
            1.0
        };
        let mut counts = vec![0.0; bins];
        for x in &vals {
            let b = (((x - lo) / width) as usize).min(bins - 1);
            counts[b] += 1.0;
        }
        let labels = (0..bins)
            .map(|b| {
                format!(
                    "{:.0}–{:.0}",
                    lo + b as f32 * width,
                    lo + (b + 1) as f32 * width
                )
            })
            .collect();
        bar_chart(
            &format!("{column}: histogram"),
            column,
            "rows",
            labels,
            counts,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_quantiles() {
        assert_eq!(date_string(0), "1970-01-01");
        assert_eq!(date_string(874_965_478), "1997-09-22");
        let mut v = vec![4.0, 1.0, 2.0, 3.0];
        assert_eq!(quantiles(&mut v, &[0.0, 0.5, 1.0]), vec![1.0, 2.5, 4.0]);
    }
}
