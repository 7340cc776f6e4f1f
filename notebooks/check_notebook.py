"""Checks an executed notebook: the first code cell is tagged `parameters`,
every code cell ran, no error outputs, and
charts are self-contained (plotly.js embedded before the first chart, so the
HTML export renders offline). Also exports it to HTML next to the notebook.

usage: check_notebook.py NOTEBOOK JUPYTER
"""
import json
import subprocess
import sys

path, jupyter = sys.argv[1], sys.argv[2]
nb = json.load(open(path))
problems = []
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
            import re
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
