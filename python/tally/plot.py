"""Report and plots for tally results files and checkpoints (tally.plot).

    scripts/analyze FILE... [--out DIR] [--json]      or   python3 -m tally.plot FILE...

Per file: task sums against the expected value with a ±3σ band, z-scores, the
chunk-sum distribution against the normal it should follow, per-rank throughput and
busy time, and the histogram when present. Several files also get a comparison plot.
Checkpoints (partial files) are reported with how far they got."""
import argparse
import json
import math
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .results import FormatError, Results  # noqa: E402
from .stats import z_score  # noqa: E402


def load(path):
    r = Results(path)
    c = r.config
    d = {"filetype": r.filetype, "status": r.status, "stream": c["stream"], "seed": str(c["seed"]),
         "tasks": c["tasks"], "samples": c["samples"], "lo": c["lo"], "hi": c["hi"], "chunk": c["chunk"],
         "ranks": r.ranks, "threads": r.threads, "wall_seconds": r.wall_seconds,
         "elapsed_seconds": r.elapsed_seconds, "restarts": r.restarts,
         "tasks/sum": r.task_sums, "tasks/count": np.array(r.task_counts, dtype=np.int64),
         "chunks/sum": r.chunks["sum"], "chunks/missing": r.chunks["missing"], "chunks/done": r.chunks["done"],
         "ranks/chunks": r.rank_timing["chunks"], "ranks/busy_seconds": r.rank_timing["busy_seconds"],
         "ranks/numbers_per_second": r.rank_timing["numbers_per_second"],
         "total": r.total, "count": r.count, "histogram": r.histogram, "results": r}
    return d


def moments(lo, hi, n):
    s = hi - lo + 1
    return (lo + hi) / 2 * n, math.sqrt(n * (s * s - 1) / 12)


def analyse(path, out_dir):
    d = load(path)
    lo, hi, samples, chunk = int(d["lo"]), int(d["hi"]), int(d["samples"]), int(d["chunk"])
    counts = d["tasks/count"].astype(np.int64)
    sums = d["tasks/sum"]
    expected = [moments(lo, hi, int(n)) for n in counts]
    z = d["results"].z_scores()
    total_mean, total_sd = moments(lo, hi, d["count"])
    done = d["chunks/done"].astype(bool)
    report = {
        "file": path, "filetype": d["filetype"], "status": d["status"], "stream": d["stream"], "seed": d["seed"],
        "tasks": int(d["tasks"]), "samples": samples, "lo": lo, "hi": hi, "chunk": chunk,
        "ranks": int(d["ranks"]), "threads": int(d["threads"]),
        "chunks_done": int(done.sum()), "chunks": int(done.size), "progress": float(done.mean()) if done.size else 1.0,
        "task_sums": [int(s) for s in sums], "task_counts": [int(c) for c in counts], "total": d["total"],
        "count": d["count"], "expected_total": total_mean, "stddev_total": total_sd,
        "z_score": z_score(d["total"], d["count"], lo, hi), "hosts": d["results"].hosts,
        "starts": d["results"].starts, "lost": d["results"].lost, "provenance": d["results"].provenance,
        "task_z_scores": z, "wall_seconds": float(d["wall_seconds"]), "elapsed_seconds": float(d["elapsed_seconds"]),
        "restarts": int(d["restarts"]),
        "rank_numbers_per_second": [float(x) for x in d["ranks/numbers_per_second"]],
        "rank_busy_seconds": [float(x) for x in d["ranks/busy_seconds"]], "plots": [],
    }
    stem = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0])
    tasks = np.arange(len(sums))

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    means = np.array([m for m, _ in expected]); sds = np.array([sd for _, sd in expected])
    ax[0].fill_between(tasks, means - 3 * sds, means + 3 * sds, step="mid", alpha=0.25, label="expected ±3σ")
    ax[0].plot(tasks, means, "k--", lw=1, label="expected")
    ax[0].plot(tasks, np.array(sums, dtype=float), "o", label="task sum")
    ax[0].set(xlabel="task", ylabel="sum", title=f"task sums ({report['status']}, "
                                                 f"{report['chunks_done']}/{report['chunks']} chunks)")
    ax[0].legend()
    ax[1].bar(tasks, z)
    for level in (-3, 3):
        ax[1].axhline(level, color="r", ls=":")
    ax[1].set(xlabel="task", ylabel="z-score", title="task z-scores")
    fig.tight_layout(); fig.savefig(stem + "-tasks.png", dpi=100); plt.close(fig)
    report["plots"].append(stem + "-tasks.png")

    full = np.zeros(done.size, dtype=bool)
    per_task = int(math.ceil(samples / chunk))
    full[:] = [(i % per_task + 1) * chunk <= samples for i in range(done.size)]
    chunk_sums = np.array([float(v) for v in d["chunks/sum"][done & full & (d["chunks/missing"] == 0)]])
    if chunk_sums.size > 1:
        m, sd = moments(lo, hi, chunk)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(chunk_sums, bins=min(60, max(10, chunk_sums.size // 20)), density=True, alpha=0.6,
                label=f"{chunk_sums.size} full chunks")
        if sd > 0:
            x = np.linspace(m - 4 * sd, m + 4 * sd, 200)
            ax.plot(x, np.exp(-0.5 * ((x - m) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)), "r", label="expected normal")
        ax.set(xlabel="chunk sum", ylabel="density", title="chunk sums")
        ax.legend(); fig.tight_layout(); fig.savefig(stem + "-chunks.png", dpi=100); plt.close(fig)
        report["plots"].append(stem + "-chunks.png")

    ranks = np.arange(len(d["ranks/chunks"]))
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ax[0].bar(ranks, d["ranks/numbers_per_second"]); ax[0].set(xlabel="rank", ylabel="numbers / s", title="throughput")
    ax[1].bar(ranks, d["ranks/busy_seconds"]); ax[1].set(xlabel="rank", ylabel="s", title="busy time")
    fig.tight_layout(); fig.savefig(stem + "-ranks.png", dpi=100); plt.close(fig)
    report["plots"].append(stem + "-ranks.png")

    if d["histogram"] is not None:
        h = d["histogram"]
        fig, ax = plt.subplots(figsize=(7, 4))
        values = np.arange(lo, hi + 1)
        ax.step(values, h.sum(axis=0), where="mid", label="all tasks")
        ax.axhline(h.sum() / h.shape[1], color="k", ls="--", label="uniform")
        ax.set(xlabel="value", ylabel="count", title="histogram"); ax.legend()
        fig.tight_layout(); fig.savefig(stem + "-histogram.png", dpi=100); plt.close(fig)
        report["plots"].append(stem + "-histogram.png")
    return report


def compare(reports, out_dir):
    fig, ax = plt.subplots(figsize=(7, 4))
    names = [os.path.basename(r["file"]) for r in reports]
    ax.bar(range(len(reports)), [r["z_score"] for r in reports])
    for level in (-3, 3):
        ax.axhline(level, color="r", ls=":")
    ax.set_xticks(range(len(reports)), names, rotation=45, ha="right")
    ax.set(ylabel="z-score of the total", title="comparison")
    fig.tight_layout()
    path = os.path.join(out_dir, "comparison.png")
    fig.savefig(path, dpi=100); plt.close(fig)
    return path


def check_in_child(path):
    """Validates `path` in a child process: a damaged file can crash the HDF5 library
    itself, and that must end in one line, not a core dump. None when it is valid."""
    code = "import sys, tally\ntry:\n    tally.Results(sys.argv[1])\nexcept tally.FormatError as e:\n" \
           "    print(e); sys.exit(2)\n"
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=pkg + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, env=env)
    if p.returncode == 0:
        return None
    if p.returncode == 2 and p.stdout.strip():
        return p.stdout.strip().splitlines()[-1]
    return f"{path}: cannot be read (the HDF5 library failed on it, exit {p.returncode}: a damaged file)"


def main(argv):
    p = argparse.ArgumentParser(prog="scripts/analyze", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--out", default="analysis")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    reports = []
    for path in args.files:
        problem = check_in_child(path)
        if problem:
            print(f"analyze: error: {problem}", file=sys.stderr)
            return 2
        try:
            reports.append(analyse(path, args.out))
        except (OSError, ValueError, KeyError) as e:
            print(f"analyze: error: {path}: {e}", file=sys.stderr)
            return 2
    result = {"files": reports}
    if len(reports) > 1:
        result["comparison_plot"] = compare(reports, args.out)
    if args.json:
        print(json.dumps(result))
        return 0
    for r in reports:
        print(f"{r['file']}: {r['filetype']} {r['status']}, {r['chunks_done']}/{r['chunks']} chunks "
              f"({100 * r['progress']:.1f} %), {r['tasks']} tasks x {r['samples']} draws in [{r['lo']}, {r['hi']}], "
              f"stream {r['stream']}")
        print(f"  total {r['total']} over {r['count']} draws, expected {r['expected_total']:.1f} "
              f"± {r['stddev_total']:.1f}, z = {r['z_score']:+.3f}; largest task |z| "
              f"{max(map(abs, r['task_z_scores']), default=0):.3f}")
        print(f"  ranks {r['ranks']} x threads {r['threads']}, {r['wall_seconds']:.3f} s this start, "
              f"{r['restarts']} restart(s); plots: {', '.join(r['plots'])}")
    if len(reports) > 1:
        print(f"comparison: {result['comparison_plot']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
