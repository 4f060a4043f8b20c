"""One self-contained HTML report of tally results files (`tally-analyze FILE… --html R.html`).

Everything is inside the page: the figures as PNG data URIs, the style in the head, no
script and no link to anything outside it, so it opens offline, attached to a mail or
a ticket. Per file: the run summary, the checks of `Results.validate()`, the figures,
the restart history, lost ranks and provenance; for several files the sweep table of
`tally.runs` and the comparison plot first."""
import base64
import html
import io
import os

import matplotlib.pyplot as plt

from . import plot
from .results import FormatError, Results

STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;
font-size:90%}th{background:#f0f0f0}img{max-width:100%;display:block;margin:.5em 0;border:1px solid #ddd}
.fail{color:#a00}.ok{color:#070}h2{border-top:2px solid #888;padding-top:.5em}"""


def png_uri(fig):
    """The figure as a data: URI (PNG, base64); closes it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(rows, header=None):
    e = lambda v: html.escape(str(v))  # noqa: E731
    head = "<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _summary(rows):
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def file_section(path, anchor):
    """The section of one file (HTML text)."""
    parts = [f"<h2 id='{anchor}'>{html.escape(os.path.basename(path))}</h2>"]
    with Results(path) as r:
        parts.append(_summary(r.summary()))
        try:
            checks = r.validate()
            parts.append("<h3>Checks (Results.validate)</h3>" + _table([("passed" if not text.startswith("cannot run") else
                                                      "not run", name, text) for name, text in checks.items()],
                                                     ("result", "check", "detail")))
        except FormatError as e:
            parts.append(f"<h3>Checks</h3><p class='fail'>failed: {html.escape(str(e))}</p>")
            return "".join(parts)
        parts.append("<h3>Figures</h3>")
        for name, fig in plot.figures(r):
            parts.append(f"<img alt='{name} figure' class='figure' src='{png_uri(fig)}'>")
        if r.starts:
            cols = ("start_utc", "end_utc", "ranks", "threads", "hosts", "slurm_job_id", "exit_code", "command_line")
            parts.append("<h3>Restart history</h3>" + _table([[s[k] for k in cols] for s in r.starts], cols))
        if r.lost:
            cols = ("start", "rank", "host", "seconds", "chunks_reassigned", "reason")
            parts.append("<h3>Lost ranks</h3>" + _table([[x[k] for k in cols] for x in r.lost], cols))
        if r.provenance:
            parts.append("<h3>Provenance</h3>" + _summary(sorted(r.provenance.items())))
    return "".join(parts)


def render(paths):
    """The whole page for these files (HTML text)."""
    body = ["<h1>tally report</h1>"]
    if len(paths) > 1:
        try:
            from .table import runs
            table = runs(paths)
        except ImportError as e:
            body.append(f"<p>{html.escape(str(e))}: no sweep table.</p>")
        else:
            shown = table[["file", "filetype", "status", "progress", "stream", "tasks", "samples", "total",
                           "z_score", "wall_seconds", "hosts", "starts", "lost_ranks"]].copy()
            shown["file"] = [os.path.basename(f) for f in shown["file"]]
            shown.insert(6, "range", [f"[{lo}, {hi}]" for lo, hi in zip(table["lo"], table["hi"])])
            shown.insert(10, "ranks × threads", [f"{r} × {t}" for r, t in zip(table["ranks"], table["threads"])])
            body.append("<h2>Sweep</h2><div style='overflow-x:auto'>" +
                        shown.to_html(index=False, float_format=lambda x: f"{x:.4g}") + "</div>")
            body.append(f"<img alt='comparison figure' class='figure' src='{png_uri(plot.comparison_figure(table))}'>")
    for i, path in enumerate(paths):
        body.append(file_section(path, f"file{i}"))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>tally report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")


def write_html(paths, out):
    """Writes the report of `paths` to `out` (through a temporary file renamed into place,
    so a failed write never leaves half a report under the name)."""
    text = render(list(paths))
    temp = f"{out}.tmp{os.getpid()}"
    try:
        with open(temp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, out)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
