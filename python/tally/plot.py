"""Report and plots for tally results files and checkpoints (tally.plot).

    scripts/analyze FILE... [--out DIR] [--json]      or   python3 -m tally.plot FILE...

Per file: task sums against the expected value with a ±3σ band, z-scores, the
chunk-sum distribution against the normal it should follow, per-rank throughput and
busy time, and the histogram when present. Several files also get a comparison plot.
Checkpoints (partial files) are reported with how far they got."""
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ._cli import ArgumentParser  # noqa: E402
from .results import FormatError, Results, check_in_subprocess  # noqa: E402


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


def analyse(path, out_dir):
    r = Results(path)
    c = r.config
    lo, hi, samples, chunk = c["lo"], c["hi"], c["samples"], c["chunk"]
    counts, sums = r.task_counts, r.task_sums
    z = r.z_scores()
    done = r.chunks["done"]
    expected = r.expected_total()
    report = {
        "file": path, "format_version": r.format_version, "filetype": r.filetype, "status": r.status,
        "stream": c["stream"], "seed": str(c["seed"]), "tasks": c["tasks"], "samples": samples, "lo": lo, "hi": hi,
        "chunk": chunk, "ranks": r.ranks, "threads": r.threads,
        "chunks_done": int(done.sum()), "chunks": int(done.size), "progress": r.progress,
        "task_sums": sums, "task_counts": counts, "total": r.total, "count": r.count,
        "expected_total": float(expected), "expected_total_exact": half_text(expected),
        "deviation_total": half_text(r.total - expected), "stddev_total": sigma(lo, hi, r.count),
        "z_score": r.z_score(), "task_z_scores": z, "hosts": r.hosts, "ranks_per_host": r.ranks_per_host(),
        "starts": r.starts, "lost": r.lost, "provenance": r.provenance, "integrity": r.integrity,
        "wall_seconds": r.wall_seconds, "elapsed_seconds": r.elapsed_seconds, "restarts": r.restarts,
        "rank_numbers_per_second": [float(x) for x in r.rank_timing["numbers_per_second"]],
        "rank_busy_seconds": [float(x) for x in r.rank_timing["busy_seconds"]], "plots": [],
    }
    stem = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0])
    tasks = np.arange(len(sums))

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    sds = np.array([sigma(lo, hi, n) for n in counts])
    ax[0].fill_between(tasks, -3 * sds, 3 * sds, step="mid", alpha=0.25, label="±3σ")
    ax[0].axhline(0, color="k", ls="--", lw=1, label="expected")
    ax[0].plot(tasks, deviations(sums, counts, lo, hi), "o", label="task sum − expected")
    ax[0].set(xlabel="task", ylabel="sum − n·(lo+hi)/2", title=f"task sums ({report['status']}, "
                                                               f"{report['chunks_done']}/{report['chunks']} chunks)")
    ax[0].legend()
    ax[1].bar(tasks, z)
    for level in (-3, 3):
        ax[1].axhline(level, color="r", ls=":")
    ax[1].set(xlabel="task", ylabel="z-score", title="task z-scores")
    fig.tight_layout(); fig.savefig(stem + "-tasks.png", dpi=100); plt.close(fig)
    report["plots"].append(stem + "-tasks.png")

    per_task = -(-samples // chunk)
    full = np.array([(i % per_task + 1) * chunk <= samples for i in range(done.size)], dtype=bool)
    chosen = np.nonzero(done & full & (r.chunks["missing"] == 0))[0]
    chunk_dev = deviations([r.chunks["sum"][i] for i in chosen], [chunk] * len(chosen), lo, hi)
    if chunk_dev.size > 1:
        sd = sigma(lo, hi, chunk)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(chunk_dev, bins=min(60, max(10, chunk_dev.size // 20)), density=True, alpha=0.6,
                label=f"{chunk_dev.size} full chunks")
        if sd > 0:
            x = np.linspace(-4 * sd, 4 * sd, 200)
            ax.plot(x, np.exp(-0.5 * (x / sd) ** 2) / (sd * math.sqrt(2 * math.pi)), "r", label="expected normal")
        ax.set(xlabel="chunk sum − expected", ylabel="density", title="chunk sums")
        ax.legend(); fig.tight_layout(); fig.savefig(stem + "-chunks.png", dpi=100); plt.close(fig)
        report["plots"].append(stem + "-chunks.png")

    rate, busy = r.rank_timing["numbers_per_second"], r.rank_timing["busy_seconds"]
    ranks = np.arange(len(rate))
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ax[0].bar(ranks, rate); ax[0].set(xlabel="rank", ylabel="numbers / s", title="throughput")
    ax[1].bar(ranks, busy); ax[1].set(xlabel="rank", ylabel="s", title="busy time")
    fig.tight_layout(); fig.savefig(stem + "-ranks.png", dpi=100); plt.close(fig)
    report["plots"].append(stem + "-ranks.png")

    if r.histogram is not None:
        h = r.histogram
        fig, ax = plt.subplots(figsize=(7, 4))
        offsets = np.arange(h.shape[1])  # value lo + j: offsets stay exact far from zero
        ax.step(offsets, h.sum(axis=0), where="mid", label="all tasks")
        ax.axhline(h.sum() / h.shape[1], color="k", ls="--", label="uniform")
        ax.set(xlabel=f"value − {lo}" if lo else "value", ylabel="count", title="histogram"); ax.legend()
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


def main(argv):
    p = ArgumentParser(prog="scripts/analyze", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--out", default="analysis")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    reports = []
    for path in args.files:
        problem = check_in_subprocess(path)
        if problem:
            print(f"analyze: error: {problem}", file=sys.stderr)
            return 2
        try:
            reports.append(analyse(path, args.out))
        except FormatError as e:  # the child accepted it: only a changed file gets here
            print(f"analyze: error: {e}", file=sys.stderr)
            return 2
        except OSError as e:
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
        print(f"  total {r['total']} over {r['count']} draws, expected {r['expected_total_exact']} "
              f"(deviation {r['deviation_total']}) ± {r['stddev_total']:.1f}, z = {r['z_score']:+.3f}; largest task |z| "
              f"{max(map(abs, r['task_z_scores']), default=0):.3f}")
        print(f"  ranks {r['ranks']} x threads {r['threads']}, {r['wall_seconds']:.3f} s this start, "
              f"{r['restarts']} restart(s); plots: {', '.join(r['plots'])}")
    if len(reports) > 1:
        print(f"comparison: {result['comparison_plot']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
