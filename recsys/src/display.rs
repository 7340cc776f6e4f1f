//! Pure HTML rendering for notebook display (`evcxr_display`).
//!
//! Every result type renders through these functions; they only build strings,
//! so they are unit-tested without a kernel.

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML table with an optional caption; cells are escaped. Numeric-looking
/// cells are right-aligned.
pub fn html_table(caption: Option<&str>, headers: &[String], rows: &[Vec<String>]) -> String {
    let mut h =
        String::from("<table class=\"recsys\" style=\"border-collapse:collapse;font-size:13px\">");
    if let Some(c) = caption {
        h.push_str(&format!(
            "<caption style=\"text-align:left;font-weight:bold\">{}</caption>",
            escape(c)
        ));
    }
    h.push_str("<thead><tr>");
    for c in headers {
        h.push_str(&format!(
            "<th style=\"padding:2px 8px;border-bottom:1px solid #999;text-align:left\">{}</th>",
            escape(c)
        ));
    }
    h.push_str("</tr></thead><tbody>");
    for row in rows {
        h.push_str("<tr>");
        for c in row {
            let align = if looks_numeric(c) { "right" } else { "left" };
            h.push_str(&format!(
                "<td style=\"padding:2px 8px;text-align:{align}\">{}</td>",
                escape(c)
            ));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

fn looks_numeric(s: &str) -> bool {
    let t = s.split_whitespace().next().unwrap_or("");
    !t.is_empty() && t.trim_end_matches('%').parse::<f64>().is_ok()
}

/// A plain-text table with aligned columns (for `Display`).
pub fn text_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let n = headers.len();
    let mut w: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(headers);
    out.push('\n');
    out.push_str(
        &w.iter()
            .map(|&k| "-".repeat(k))
            .collect::<Vec<_>>()
            .join("  "),
    );
    for r in rows {
        out.push('\n');
        out.push_str(&line(r));
    }
    out
}

/// Prints `payload` as a Jupyter display of `mime` through evcxr's protocol.
pub fn evcxr_emit(mime: &str, payload: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{payload}\nEVCXR_END_CONTENT");
}

/// An HTML fragment that Jupyter displays (e.g. a DataFrame as a table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Html(pub String);

impl Html {
    /// Jupyter display (called by evcxr).
    pub fn evcxr_display(&self) {
        evcxr_emit("text/html", &self.0);
    }
}

impl std::fmt::Display for Html {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// At most this many rows of a DataFrame are shown (then a `… n more rows` line).
pub const FRAME_ROWS: usize = 30;

/// A polars DataFrame as an HTML table instead of box-drawn text:
/// `df.html()` in a notebook cell.
pub trait FrameHtml {
    /// The first [`FRAME_ROWS`] rows as an HTML table (floats to 4
    /// significant decimals), with the shape as its caption.
    fn html(&self) -> Html;
}

impl FrameHtml for polars::prelude::DataFrame {
    fn html(&self) -> Html {
        Html(frame_html(self, FRAME_ROWS))
    }
}

/// `df` as an HTML table of its first `max_rows` rows (pure).
pub fn frame_html(df: &polars::prelude::DataFrame, max_rows: usize) -> String {
    use polars::prelude::AnyValue;
    let cell = |v: AnyValue<'_>| -> String {
        match v {
            AnyValue::Null => String::new(),
            AnyValue::String(s) => s.to_string(),
            AnyValue::StringOwned(s) => s.to_string(),
            AnyValue::Float64(f) => float_cell(f),
            AnyValue::Float32(f) => float_cell(f as f64),
            other => other.to_string(),
        }
    };
    let head: Vec<String> = df.columns().iter().map(|c| c.name().to_string()).collect();
    let shown = df.height().min(max_rows);
    let rows: Vec<Vec<String>> = (0..shown)
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| c.get(i).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    let caption = format!("{} rows × {} columns", df.height(), df.width());
    let mut h = html_table(Some(&caption), &head, &rows);
    if df.height() > shown {
        h.push_str(&format!(
            "<div style=\"font-size:12px\">… {} more rows</div>",
            df.height() - shown
        ));
    }
    h
}

/// A float for a table: 4 decimals (whole values too, so a float column
/// stays aligned), or 4 significant digits when small.
fn float_cell(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f != 0.0 && f.abs() < 1e-3 {
        format!("{f:.3e}")
    } else {
        format!("{f:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_aligns() {
        let html = html_table(
            Some("t<1>"),
            &["a".into(), "b".into()],
            &[vec!["<x>".into(), "0.5".into()]],
        );
        assert!(
            html.contains(
                "<caption style=\"text-align:left;font-weight:bold\">t&lt;1&gt;</caption>"
            )
        );
        assert!(html.contains(">&lt;x&gt;</td>"));
        assert!(html.contains("text-align:right\">0.5</td>"));
    }

    #[test]
    fn text_table_aligns_columns() {
        let t = text_table(
            &["name".into(), "v".into()],
            &[vec!["a".into(), "10".into()]],
        );
        assert_eq!(t, "name  v\n----  --\na     10");
    }

    #[test]
    fn frames_render_as_html_tables() {
        use polars::prelude::*;
        let df = df!("metric" => ["NDCG@10", "HR@10"], "mean" => [0.17654321, 0.5]).unwrap();
        let h = frame_html(&df, 1);
        assert!(h.contains("2 rows × 2 columns"));
        assert!(h.contains(">NDCG@10</td>") && h.contains(">0.1765</td>"));
        assert!(!h.contains("HR@10") && h.contains("… 1 more rows"));
        assert_eq!(float_cell(3.0), "3.0000");
        assert_eq!(float_cell(0.00012345), "1.234e-4");
    }
}
