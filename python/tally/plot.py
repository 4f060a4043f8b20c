"""Report and plots for tally results files and checkpoints (tally.plot).

    tally-analyze FILE|GLOB... [--out DIR] [--json] [--html REPORT.html]
    (also scripts/analyze, or python3 -m tally.plot)

Per file: task sums against the expected value with a ±3σ band, z-scores, the
chunk-sum distribution against the normal it should follow, per-rank throughput and
busy time, and the histogram when present. Several files also get the sweep table
(tally.runs) and a comparison plot; --html writes all of it as one self-contained page.
Checkpoints (partial files) are reported with how far they got."""
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from ._cli import ArgumentParser  # noqa: E402
from .results import FormatError, Results, check_in_subprocess  # noqa: E402
from .table import expand  # noqa: E402

MAX_CHUNKS_PLOTTED = 1 << 20  # the chunk figure draws a deterministic sample of larger ledgers


def half_text(value):
    """An exact int or half-integer Fraction as decimal text ("12.5")."""
    if isinstance(value, int):
        return str(value)
    whole = abs(value.numerator) // 2
    return f"{'-' if value < 0 else ''}{whole}.5"


def deviations(sums, counts, lo, hi):
    """(sum − n·(lo+hi)/2) for each sum, from the exact integer 2·sum − n·(lo+hi), rounded once:
    plotting raw sums far from zero (lo ≈ 2^50) would lose them to float rounding."""
    return np.array([(2 * s - n * (lo + hi)) / 2 for s, n in zip(sums, counts)], dtype=float)


def sigma(lo, hi, n):
    s = hi - lo + 1
    return math.sqrt(n * (s * s - 1) / 12)


# ---------------------------------------------------------------------- figures
def task_figure(r):
    c = r.config
    counts, sums = r.task_counts, r.task_sums
    tasks = np.arange(len(sums))
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    sds = np.array([sigma(c.lo, c.hi, n) for n in counts])
    ax[0].fill_between(tasks, -3 * sds, 3 * sds, step="mid", alpha=0.25, label="±3σ")
    ax[0].axhline(0, color="k", ls="--", lw=1, label="expected")
    ax[0].plot(tasks, deviations(sums, counts, c.lo, c.hi), "o", label="task sum − expected")
    ax[0].set(xlabel="task", ylabel="sum − n·(lo+hi)/2",
              title=f"task sums ({r.status}, {r.chunks_done_count}/{c.chunks} chunks)")
    ax[0].legend()
    ax[1].bar(tasks, r.z_scores())
    for level in (-3, 3):
        ax[1].axhline(level, color="r", ls=":")
    ax[1].set(xlabel="task", ylabel="z-score", title="task z-scores")
    fig.tight_layout()
    return fig


def chunk_figure(r):
    """Full chunks without rejected units against the normal they should follow, or None
    when fewer than two; ledgers above MAX_CHUNKS_PLOTTED chunks are sampled evenly."""
    c = r.config
    per_task = c.chunks_per_task
    index = np.arange(c.chunks)
    full = (index % per_task + 1) * c.chunk <= c.samples
    chosen = np.nonzero(r.chunks_done & full & (r.chunks_missing == 0))[0]
    if chosen.size > MAX_CHUNKS_PLOTTED:
        chosen = chosen[np.linspace(0, chosen.size - 1, MAX_CHUNKS_PLOTTED).astype(np.int64)]
    raw = r.chunk_sums[chosen]
    sums = (raw["hi"].astype(object) * (1 << 64) + raw["lo"].astype(object)).tolist()
    dev = deviations(sums, [c.chunk] * len(chosen), c.lo, c.hi)
    if dev.size <= 1:
        return None
    sd = sigma(c.lo, c.hi, c.chunk)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(dev, bins=min(60, max(10, dev.size // 20)), density=True, alpha=0.6, label=f"{dev.size} full chunks")
    if sd > 0:
        x = np.linspace(-4 * sd, 4 * sd, 200)
        ax.plot(x, np.exp(-0.5 * (x / sd) ** 2) / (sd * math.sqrt(2 * math.pi)), "r", label="expected normal")
    ax.set(xlabel="chunk sum − expected", ylabel="density", title="chunk sums")
    ax.legend()
    fig.tight_layout()
    return fig


def rank_figure(r):
    rate, busy = r.rank_timing["numbers_per_second"], r.rank_timing["busy_seconds"]
    ranks = np.arange(len(rate))
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ax[0].bar(ranks, rate)
    ax[0].set(xlabel="rank", ylabel="numbers / s", title="throughput")
    ax[1].bar(ranks, busy)
    ax[1].set(xlabel="rank", ylabel="s", title="busy time")
    for a in ax:
        a.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def histogram_figure(r):
    h = r.histogram
    if h is None:
        return None
    lo = r.config.lo
    fig, ax = plt.subplots(figsize=(7, 4))
    offsets = np.arange(h.shape[1])  # value lo + j: offsets stay exact far from zero
    ax.step(offsets, h.sum(axis=0), where="mid", label="all tasks")
    ax.axhline(h.sum() / h.shape[1], color="k", ls="--", label="uniform")
    ax.set(xlabel=f"value − {lo}" if lo else "value", ylabel="count", title="histogram")
    ax.legend()
    fig.tight_layout()
    return fig


def figures(r):
    """[(name, matplotlib Figure)] for one file: tasks, chunks, ranks, histogram (those that apply)."""
    out = []
    for name, make in (("tasks", task_figure), ("chunks", chunk_figure), ("ranks", rank_figure),
                       ("histogram", histogram_figure)):
        fig = make(r)
        if fig is not None:
            out.append((name, fig))
    return out


def comparison_figure(table):
    fig, ax = plt.subplots(figsize=(7, 4))
    names = [os.path.basename(f) for f in table["file"]]
    ax.bar(range(len(names)), table["z_score"])
    for level in (-3, 3):
        ax.axhline(level, color="r", ls=":")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set(ylabel="z-score of the total", title="comparison")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- report
def report(r):
    """The numbers of one file as a JSON-ready dict (exact integers stay ints)."""
    c = r.config
    expected = r.expected_total()
    return {
        "file": r.path, "format_version": r.format_version, "filetype": r.filetype, "status": r.status,
        "stream": c.stream, "seed": str(c.seed), "tasks": c.tasks, "samples": c.samples, "lo": c.lo, "hi": c.hi,
        "chunk": c.chunk, "ranks": r.ranks, "threads": r.threads,
        "chunks_done": r.chunks_done_count, "chunks": c.chunks, "progress": r.progress,
        "task_sums": r.task_sums, "task_counts": r.task_counts, "total": r.total, "count": r.count,
        "expected_total": float(expected), "expected_total_exact": half_text(expected),
        "deviation_total": half_text(r.total - expected), "stddev_total": sigma(c.lo, c.hi, r.count),
        "z_score": r.z_score(), "task_z_scores": r.z_scores(), "hosts": r.hosts,
        "ranks_per_host": r.ranks_per_host(), "starts": r.starts, "lost": r.lost, "provenance": r.provenance,
        "wall_seconds": r.wall_seconds, "elapsed_seconds": r.elapsed_seconds, "restarts": r.restarts,
        "rank_numbers_per_second": [float(x) for x in r.rank_timing["numbers_per_second"]],
        "rank_busy_seconds": [float(x) for x in r.rank_timing["busy_seconds"]], "plots": [],
    }


def analyse(path, out_dir):
    """Report of one file (`report`) with its checks (`validate`) and its figures as PNGs in out_dir."""
    with Results(path) as r:
        rep = report(r)
        rep["checks"] = r.validate()
        stem = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0])
        for name, fig in figures(r):
            fig.savefig(f"{stem}-{name}.png", dpi=100)
            plt.close(fig)
            rep["plots"].append(f"{stem}-{name}.png")
    return rep


def print_report(rep):
    print(f"{rep['file']}: {rep['filetype']} {rep['status']}, {rep['chunks_done']}/{rep['chunks']} chunks "
          f"({100 * rep['progress']:.1f} %), {rep['tasks']} tasks x {rep['samples']} draws in [{rep['lo']}, "
          f"{rep['hi']}], stream {rep['stream']}")
    print(f"  total {rep['total']} over {rep['count']} draws, expected {rep['expected_total_exact']} "
          f"(deviation {rep['deviation_total']}) ± {rep['stddev_total']:.1f}, z = {rep['z_score']:+.3f}; largest "
          f"task |z| {max(map(abs, rep['task_z_scores']), default=0):.3f}")
    print(f"  ranks {rep['ranks']} x threads {rep['threads']}, {rep['wall_seconds']:.3f} s this start, "
          f"{rep['restarts']} restart(s); plots: {', '.join(rep['plots'])}")


def main(argv):
    p = ArgumentParser(prog="tally-analyze", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="results files or checkpoints, or glob patterns (quoted)")
    p.add_argument("--out", default="analysis", help="directory for the PNGs (default: analysis)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--html", metavar="REPORT", help="also write one self-contained HTML page")
    args = p.parse_args(argv)
    try:
        files = expand(args.files)
    except FileNotFoundError as e:
        print(f"analyze: error: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    reports = []
    for path in files:
        problem = check_in_subprocess(path)  # a damaged file may crash libhdf5: try it in a child first
        if problem:
            print(f"analyze: error: {problem}", file=sys.stderr)
            return 2
        try:
            reports.append(analyse(path, args.out))
        except FormatError as e:  # the child accepted it: only a changed file gets here
            print(f"analyze: error: {e}", file=sys.stderr)
            return 2
    result = {"files": reports}
    table = None
    if len(reports) > 1:
        from .table import runs
        table = runs(files)
        fig = comparison_figure(table)
        result["comparison_plot"] = os.path.join(args.out, "comparison.png")
        fig.savefig(result["comparison_plot"], dpi=100)
        plt.close(fig)
        result["sweep"] = table.to_dict(orient="records")
    if args.html:
        from .report import write_html
        try:
            write_html(files, args.html)
        except OSError as e:
            print(f"analyze: error: {args.html}: {e.strerror or e}", file=sys.stderr)
            return 2
        result["html"] = args.html
    if args.json:
        print(json.dumps(result, default=str))
        return 0
    for rep in reports:
        print_report(rep)
    if table is not None:
        print(table[["file", "status", "progress", "total", "z_score", "wall_seconds", "ranks", "threads",
                     "starts", "lost_ranks"]].to_string(index=False))
        print(f"comparison: {result['comparison_plot']}")
    if args.html:
        print(f"report: {args.html}")
    return 0


def cli():
    """Console entry point `tally-analyze`."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
