"""tally.runs: many results files (a sweep, a campaign) as one pandas DataFrame, one row per file.

Only what a file's open and a few small datasets hold is read (no ledger), so a table of
many large files is quick. Exact integers stay exact: `seed` (up to 2^128) and `total`
(128-bit) are object columns of Python ints in every table, so a column's type does not
depend on the values in it; every other integer column fits int64 by tally's limits."""
import glob
import os

from .results import Results

COLUMNS = ("file", "filetype", "status", "progress", "stream", "seed", "tasks", "samples", "lo", "hi", "chunk",
           "total", "count", "z_score", "wall_seconds", "elapsed_seconds", "ranks", "threads", "hosts", "starts",
           "restarts", "lost_ranks", "kernel_path")
EXACT = ("seed", "total")  # object columns of Python ints
INT64 = ("tasks", "samples", "lo", "hi", "chunk", "count", "ranks", "threads", "starts", "restarts", "lost_ranks")


def expand(paths_or_glob):
    """Files named by a path, a glob pattern or a list of either, in order (each pattern sorted)."""
    items = [paths_or_glob] if isinstance(paths_or_glob, (str, bytes, os.PathLike)) else list(paths_or_glob)
    files = []
    for item in items:
        item = os.fspath(item)
        if isinstance(item, bytes):
            item = os.fsdecode(item)
        if not os.path.exists(item) and glob.has_magic(item):
            matched = sorted(glob.glob(item))
            if not matched:
                raise FileNotFoundError(f"no file matches {item!r}")
            files += matched
        else:
            files.append(item)
    return files


def row(r):
    """One table row (a dict over COLUMNS) for an open Results."""
    c = r.config
    hosts = ",".join(dict.fromkeys(r.hosts))
    return {"file": r.path, "filetype": r.filetype, "status": r.status, "progress": r.progress,
            "stream": c.stream, "seed": c.seed, "tasks": c.tasks, "samples": c.samples, "lo": c.lo, "hi": c.hi,
            "chunk": c.chunk, "total": r.total, "count": r.count, "z_score": r.z_score(),
            "wall_seconds": r.wall_seconds, "elapsed_seconds": r.elapsed_seconds, "ranks": r.ranks,
            "threads": r.threads, "hosts": hosts, "starts": len(r.starts) or r.restarts + 1,
            "restarts": r.restarts, "lost_ranks": len(r.lost), "kernel_path": r.provenance.get("kernel_path", "")}


def runs(paths_or_glob):
    """A pandas DataFrame with one row per results file or checkpoint (columns: COLUMNS).
    paths_or_glob: a path, a glob pattern ("sweep-*.h5") or a list of either. A file that
    is not a valid tally file raises tally.FormatError naming it."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("tally.runs needs pandas (Debian: python3-pandas)") from None
    rows = []
    for path in expand(paths_or_glob):
        with Results(path) as r:
            rows.append(row(r))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for name in EXACT:
        table[name] = pd.Series([r[name] for r in rows], dtype=object)
    for name in INT64:
        table[name] = table[name].astype("int64")
    return table
