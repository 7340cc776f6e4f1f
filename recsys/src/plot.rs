//! Charts: plotly figures that render in JupyterLab and in nbconvert's HTML
//! export without internet access (plotly.js is embedded once per kernel).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use plotly::common::{Mode, Title};
use plotly::layout::{Axis, AxisType};
use plotly::{Layout, Plot, Scatter};

use crate::Result;
use crate::display::evcxr_emit;

/// A chart: a plotly figure with a title.
///
/// In a notebook the first chart of a kernel carries plotly.js inline (≈4.6
/// MB, once), later ones reuse it, so the executed notebook and its HTML
/// export work offline.
#[derive(Clone)]
pub struct Chart {
    plot: Plot,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Whether this is the first chart of the process ("plotly.js still has to
/// be sent to the notebook"). evcxr links a fresh copy of this crate into
/// every cell, so a `static` would reset at each cell; the process-wide
/// marker is a file named after this process (its id and, on Linux, its
/// start time, so a later process with the same id is not confused with
/// it), created with `create_new`, which the file system makes atomic. No
/// environment variable is written: `set_var` is unsound while other
/// threads (rayon, the CLI, tests) may read the environment.
fn take_first_chart() -> bool {
    let start = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.to_string();
            after.split_whitespace().nth(19).map(str::to_string)
        })
        .unwrap_or_default();
    let marker =
        std::env::temp_dir().join(format!("recsys-plotly-sent-{}-{start}", std::process::id()));
    !matches!(
        std::fs::OpenOptions::new().write(true).create_new(true).open(&marker),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists
    )
}

/// The plotly.js bundle shipped with the `plotly` crate, as a `<script>` tag.
fn plotly_js() -> &'static str {
    static JS: OnceLock<String> = OnceLock::new();
    JS.get_or_init(|| {
        // offline_js_sources() holds plotly.js and MathJax; keep plotly.js only.
        let all = Plot::offline_js_sources();
        match all.find("</script>") {
            Some(end) => all[..end + "</script>".len()].to_string(),
            None => all,
        }
    })
}

/// The HTML of one chart: a `div` and a script that draws `figure_json`
/// into it as soon as `window.Plotly` exists. Pure; `js` (a `<script>` with
/// plotly.js) is prepended when given.
pub fn chart_html(figure_json: &str, div_id: &str, js: Option<&str>) -> String {
    let safe_json = figure_json.replace("</", "<\\/");
    format!(
        "{js}<div id=\"{div_id}\" style=\"width:100%;min-height:420px\"></div>\n\
         <script type=\"text/javascript\">(function(){{var fig={safe_json};\
         function draw(){{if(window.Plotly){{window.Plotly.newPlot(\"{div_id}\",fig.data,fig.layout,{{responsive:true}});}}\
         else{{setTimeout(draw,50);}}}}draw();}})();</script>",
        js = js.unwrap_or("")
    )
}

impl Chart {
    /// Wraps a plotly figure.
    pub fn new(plot: Plot) -> Self {
        Chart { plot }
    }

    /// The figure as plotly JSON.
    pub fn to_json(&self) -> String {
        self.plot.to_json()
    }

    /// The underlying plotly figure, to customise further.
    pub fn plot_mut(&mut self) -> &mut Plot {
        &mut self.plot
    }

    /// A standalone HTML page with plotly.js embedded (works offline).
    pub fn to_standalone_html(&self) -> String {
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{}</body></html>",
            chart_html(&self.to_json(), "recsys-chart", Some(plotly_js()))
        )
    }

    /// Writes [`Chart::to_standalone_html`] to `path` atomically.
    pub fn save_html(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::io::write_atomic(path.as_ref(), self.to_standalone_html().as_bytes())
    }

    /// Jupyter display (called by evcxr).
    pub fn evcxr_display(&self) {
        let first = take_first_chart();
        // Unique across cells: evcxr gives every cell its own copy of this
        // crate's statics, so the counter alone would repeat.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let id = format!(
            "recsys-chart-{}-{nanos}-{}",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::SeqCst)
        );
        evcxr_emit(
            "text/html",
            &chart_html(&self.to_json(), &id, first.then(plotly_js)),
        );
    }
}

impl std::fmt::Debug for Chart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chart({} bytes of plotly JSON)", self.to_json().len())
    }
}

impl std::fmt::Display for Chart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Chart ({} traces); display it in a notebook or save_html()",
            self.plot.data().len()
        )
    }
}

/// Axis scale of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

/// An axis with its title; room for long or rotated tick labels
/// (`automargin`); log axes tick at powers of ten only (1, 10, 100, …),
/// not at every digit between them.
fn axis(title: &str, scale: Scale) -> Axis {
    let a = Axis::new().title(Title::with_text(title)).auto_margin(true);
    match scale {
        Scale::Linear => a,
        Scale::Log => a.type_(AxisType::Log).dtick(1.0),
    }
}

/// A horizontal legend under the plot, so long series names do not take
/// the plot's width.
fn below() -> plotly::layout::Legend {
    plotly::layout::Legend::new()
        .orientation(plotly::common::Orientation::Horizontal)
        .x(0.0)
        .y(-0.25)
}

/// A line (or marker) chart of one or more named series.
pub fn line_chart(
    title: &str,
    x_title: &str,
    y_title: &str,
    series: Vec<(String, Vec<f64>, Vec<f64>)>,
    scales: (Scale, Scale),
    markers_only: bool,
) -> Chart {
    let mut plot = Plot::new();
    for (name, x, y) in series {
        let mode = if markers_only {
            Mode::Markers
        } else {
            Mode::LinesMarkers
        };
        plot.add_trace(Scatter::new(x, y).name(name).mode(mode));
    }
    plot.set_layout(
        Layout::new()
            .title(Title::with_text(title))
            .x_axis(axis(x_title, scales.0))
            .y_axis(axis(y_title, scales.1))
            .legend(below()),
    );
    Chart::new(plot)
}

/// Two groups of line series over one x axis, each with its own y axis
/// (left and right), e.g. a training loss beside a validation metric.
pub fn dual_axis_chart(
    title: &str,
    x_title: &str,
    left: (&str, Vec<(String, Vec<f64>, Vec<f64>)>),
    right: (&str, Vec<(String, Vec<f64>, Vec<f64>)>),
) -> Chart {
    let mut plot = Plot::new();
    for (name, x, y) in left.1 {
        plot.add_trace(Scatter::new(x, y).name(name).mode(Mode::LinesMarkers));
    }
    for (name, x, y) in right.1 {
        plot.add_trace(
            Scatter::new(x, y)
                .name(name)
                .mode(Mode::LinesMarkers)
                .y_axis("y2"),
        );
    }
    plot.set_layout(
        Layout::new()
            .title(Title::with_text(title))
            .x_axis(axis(x_title, Scale::Linear))
            .y_axis(axis(left.0, Scale::Linear))
            .y_axis2(
                axis(right.0, Scale::Linear)
                    .overlaying("y")
                    .side(plotly::common::AxisSide::Right),
            )
            .legend(below()),
    );
    Chart::new(plot)
}

/// A bar chart of labelled values.
pub fn bar_chart(
    title: &str,
    x_title: &str,
    y_title: &str,
    labels: Vec<String>,
    values: Vec<f64>,
) -> Chart {
    let mut plot = Plot::new();
    plot.add_trace(plotly::Bar::new(labels, values));
    plot.set_layout(
        Layout::new()
            .title(Title::with_text(title))
            // Labels are categories even when they look like numbers (ML-1M's age codes 1, 18, 25, …).
            .x_axis(axis(x_title, Scale::Linear).type_(AxisType::Category))
            .y_axis(axis(y_title, Scale::Linear)),
    );
    Chart::new(plot)
}

/// Grouped bars: one trace per series over shared category labels.
pub fn grouped_bar_chart(
    title: &str,
    y_title: &str,
    labels: Vec<String>,
    series: Vec<(String, Vec<f64>, Option<Vec<f64>>)>,
) -> Chart {
    let mut plot = Plot::new();
    for (name, values, err) in series {
        let mut bar = plotly::Bar::new(labels.clone(), values).name(name);
        if let Some(e) = err {
            bar = bar
                .error_y(plotly::common::ErrorData::new(plotly::common::ErrorType::Data).array(e));
        }
        plot.add_trace(bar);
    }
    plot.set_layout(
        Layout::new()
            .title(Title::with_text(title))
            .x_axis(Axis::new().type_(AxisType::Category).auto_margin(true))
            .y_axis(axis(y_title, Scale::Linear))
            .bar_mode(plotly::layout::BarMode::Group)
            .legend(below()),
    );
    Chart::new(plot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_html_draws_when_plotly_loaded() {
        let html = chart_html(
            "{\"data\":[],\"layout\":{\"title\":\"</script>\"}}",
            "c1",
            None,
        );
        assert!(html.starts_with("<div id=\"c1\""));
        assert!(html.contains("newPlot(\"c1\""));
        assert!(
            !html.contains("\"</script>\""),
            "JSON must not close the script tag"
        );
        assert!(!html.contains("cdn."), "no network resources");
        let with_js = chart_html("{}", "c2", Some("<script>JS</script>"));
        assert!(with_js.starts_with("<script>JS</script><div"));
    }

    #[test]
    fn embedded_plotly_is_offline() {
        let js = plotly_js();
        assert!(js.len() > 1_000_000);
        assert!(js.starts_with("<script"));
        assert!(js.ends_with("</script>"));
        let page = bar_chart("t", "x", "y", vec!["a".into()], vec![1.0]).to_standalone_html();
        assert!(!page.contains("<script src="), "no external scripts");
    }
}
