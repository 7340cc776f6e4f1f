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
}
