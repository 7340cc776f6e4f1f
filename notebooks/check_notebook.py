"""Checks an executed notebook: the first code cell is tagged `parameters`,
every code cell ran, no error outputs, quiet outputs (no Debug-formatted
structs, no stray `()` or bare-number outputs, no box-drawn polars frames, no
cell with more than 25 lines of log text), and charts are self-contained
(plotly.js embedded before the first chart, so the HTML export renders
offline). Also exports it to HTML next to the notebook.

usage: check_notebook.py NOTEBOOK JUPYTER
       check_notebook.py --outputs NOTEBOOK...   (the committed outputs: no export)
"""
import json
import re
import subprocess
import sys

MAX_LOG_LINES = 25
# `Name { field: …` as Rust's Debug writes a struct.
DEBUG_STRUCT = re.compile(r"\b[A-Z][A-Za-z0-9]+ \{ [a-z_][a-z0-9_]*: ")


def quiet_problems(nb):
    """Outputs a reader should not meet: Debug dumps, stray values, log walls."""
    problems = []
    for n, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        log_lines = 0
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", [])) + "".join(out.get("data", {}).get("text/plain", []))
            if out.get("output_type") == "stream":
                log_lines += text.count("\n")
            if DEBUG_STRUCT.search(text):
                problems.append(f"cell {n}: Debug-formatted output: {DEBUG_STRUCT.search(text).group(0)}…")
            if re.fullmatch(r"\s*(\(\)|-?\d+)\s*", text) and "text/html" not in out.get("data", {}):
                problems.append(f"cell {n}: stray output {text.strip()!r} (end the cell with `;`)")
            if "shape: (" in text and ("┌" in text or "│" in text):
                problems.append(f"cell {n}: a polars frame as box-drawn text (use `.html()`)")
        if log_lines > MAX_LOG_LINES:
            problems.append(f"cell {n}: {log_lines} lines of log text (at most {MAX_LOG_LINES})")
    return problems


if sys.argv[1] == "--outputs":
    bad = 0
    for path in sys.argv[2:]:
        for p in quiet_problems(json.load(open(path))):
            print(f"{path}: {p}", file=sys.stderr)
            bad += 1
    sys.exit(1 if bad else 0)

path, jupyter = sys.argv[1], sys.argv[2]
nb = json.load(open(path))
problems = quiet_problems(nb)
code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
if not code_cells or "parameters" not in code_cells[0].get("metadata", {}).get("tags", []):
    problems.append("the first code cell must be the one tagged `parameters` (epochs, grids, sample sizes)")
plotly_loaded = False
charts = 0
chart_ids = set()
for n, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code" or not "".join(cell["source"]).strip():
        continue
    if cell.get("execution_count") is None:
        problems.append(f"cell {n}: not executed")
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            problems.append(f"cell {n}: {out.get('ename')}: {out.get('evalue')}")
        html = "".join(out.get("data", {}).get("text/html", []))
        if "Plotly.newPlot" in html and "<script" in html:
            if not plotly_loaded and "window.Plotly" in html and len(html) > 1_000_000:
                plotly_loaded = True
            charts += 1
            for div in re.findall(r'<div id="([^"]+)"', html):
                if div in chart_ids:
                    problems.append(f"cell {n}: chart id {div} repeats (charts would overwrite each other)")
                chart_ids.add(div)
            if not plotly_loaded:
                problems.append(f"cell {n}: chart before plotly.js was embedded")
        if 'src="http' in html and "<script" in html.split('src="http')[0][-40:]:
            problems.append(f"cell {n}: output loads a script from the network")
html_path = path.rsplit(".", 1)[0] + ".html"
r = subprocess.run([jupyter, "nbconvert", "--to", "html", path, "--output", html_path.rsplit("/", 1)[-1]],
                   capture_output=True, text=True)
if r.returncode != 0:
    problems.append("HTML export failed: " + r.stderr[-500:])
for p in problems:
    print(f"{path}: {p}", file=sys.stderr)
print(f"{path}: {charts} charts, {'OK' if not problems else 'FAILED'}", file=sys.stderr)
sys.exit(1 if problems else 0)
