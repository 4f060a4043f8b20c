"""tally.Results as an API: lazy and bounded on a 2^24-chunk file, a context manager, a
frozen Config, errors that say what they are (FormatError for the file's problems only,
issue 19 defects 8 and 15), and tally.runs on a sweep."""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(SOURCE, "python"))
sys.path.insert(0, HERE)
import tally  # noqa: E402
import tallyfile  # noqa: E402
from tally.results import FormatError  # noqa: E402

LARGE_CHUNKS = 1 << 24


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.h5"
    return path, tallyfile.build(path, tasks=3, samples=1000, chunk=256, seed=4)


# ------------------------------------------------------------------ lazy and bounded
@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """A valid results file of 2^24 chunks (16 tasks x 2^20 one-draw chunks, 400 MiB)."""
    path = tmp_path_factory.mktemp("large") / "large.h5"
    want = tallyfile.build_constant(path, tasks=16, samples=1 << 20, chunk=1)
    assert want["chunks"] == LARGE_CHUNKS
    yield path, want
    os.remove(path)


def run_in_100mb(code, path):
    """Runs `code` in a child Python (tally and h5py imported, sys.argv[1] = path) whose
    address space may grow by only 100 MB from what it has once they are imported;
    `statm(i)` there reads /proc/self/statm in bytes, `resident` is the resident set then."""
    preamble = ("import resource, sys; sys.path.insert(0, sys.argv[2]); import tally, h5py\n"
                "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
                "statm = lambda i: int(open('/proc/self/statm').read().split()[i]) * resource.getpagesize()\n"
                "used, resident = statm(0), statm(1)\n"
                "resource.setrlimit(resource.RLIMIT_AS, (used + (100 << 20), hard))\n")
    return subprocess.run([sys.executable, "-c", preamble + code, str(path), os.path.join(SOURCE, "python")],
                          capture_output=True, text=True, timeout=120)


def test_large_file_opens_within_100_mb(large):
    """Opening a 2^24-chunk file, its summary, total, z-score, history and the HTML repr in a
    child whose address space may grow by 100 MB only: reading the ledger would need 256 MiB.
    (Prints the open time and resident growth; docs/python.md quotes a measurement.)"""
    path, want = large
    code = ("import time\n"
            "t = time.perf_counter()\n"
            "with tally.Results(sys.argv[1]) as r:\n"
            "    opened = time.perf_counter() - t\n"
            "    print(r.total, r.config.chunks, r.progress, len(r.starts), len(r.lost), r.hosts)\n"
            "    r._repr_html_(); repr(r); r.z_score()\n"
            "print(f'open {opened:.3f} s, resident +{(statm(1) - resident) / 2**20:.1f} MiB', file=sys.stderr)\n")
    p = run_in_100mb(code, path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.split() == [str(want["total"]), str(LARGE_CHUNKS), "1.0", "1", "0", "['node1']"], p.stdout
    print(p.stderr.strip())


def test_large_ledger_does_not_fit_the_same_limit(large):
    """The limit of the test above is real: reading the ledger under it fails."""
    path, _ = large
    code = ("r = tally.Results(sys.argv[1])\n"
            "try:\n    r.chunk_sums\nexcept MemoryError:\n    sys.exit(3)\n")
    p = run_in_100mb(code, path)
    assert p.returncode == 3, p.stdout + p.stderr


def test_open_reads_no_dataset(small, monkeypatch):
    path, want = small
    read = []
    original = tally.results._File.dataset
    monkeypatch.setattr(tally.results._File, "dataset", lambda self, p, *a, **k: read.append(p) or original(
        self, p, *a, **k))
    r = tally.Results(path)
    assert (r.status, r.config.tasks, r.provenance["kernel_path"], r.progress) == ("complete", 3, "portable", 1.0)
    assert read == []
    assert r.task_sums == want["task_sums"] and read == ["tasks/sum"]
    r.task_sums
    assert read == ["tasks/sum"]  # read once


def test_chunk_sums_int128_and_exact(tmp_path):
    path = tmp_path / "wide.h5"
    want = tallyfile.build(path, tasks=2, samples=600, lo=-(2**63), hi=2**63 - 1, chunk=200, seed=9)
    r = tally.Results(path)
    assert r.chunk_sums.dtype == np.dtype([("lo", "<u8"), ("hi", "<i8")])
    assert r.chunk_sums_exact() == want["chunk_sums"] and any(abs(s) >= 2**63 for s in want["chunk_sums"])
    assert all(type(s) is int for s in r.chunk_sums_exact())


def test_context_manager_closes(small):
    path, want = small
    with tally.Results(path) as r:
        total = r.total
    assert r._f is None and r.total == total == want["total"]  # values read stay
    with pytest.raises(ValueError, match="closed"):
        r.task_counts
    assert "tally.Results" in repr(r)


def test_config_is_a_frozen_dataclass(small):
    path, _ = small
    c = tally.Results(path).config
    assert isinstance(c, tally.Config) and dataclasses.is_dataclass(c)
    assert (c.tasks, c.samples, c.chunk, c.chunks_per_task, c.chunks, c.span) == (3, 1000, 256, 4, 12, 100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.tasks = 4


def test_no_duplicate_names():
    assert not hasattr(tally.Results, "task_count_total") and not hasattr(tally.Results, "chunks")


# ------------------------------------------------------------------ errors (issue 19, 8 and 15)
@pytest.mark.parametrize("error", [AttributeError, TypeError, MemoryError, KeyError, RuntimeError])
def test_reader_bugs_are_not_format_errors(small, monkeypatch, error):
    """Defect 8: an error that is not the file's (here raised inside the reader) surfaces as
    itself; it used to be reported as 'not a valid tally file'."""
    path, _ = small

    def broken(*args, **kwargs):
        raise error("a bug in the reader")
    monkeypatch.setattr(tally.results._File, "attr", broken)
    with pytest.raises(error) as e:
        tally.Results(path)
    assert not isinstance(e.value, FormatError)


def test_lazy_read_bugs_are_not_format_errors(small, monkeypatch):
    path, _ = small
    r = tally.Results(path)
    monkeypatch.setattr(tally.results, "exact_ints", lambda values: None.missing)
    with pytest.raises(AttributeError):
        r.task_sums


def test_permission_denied_is_not_a_format_error(small):
    path, _ = small
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    os.chmod(path, 0)
    with pytest.raises(PermissionError):
        tally.Results(path)


def test_file_removed_between_checks_is_a_format_error(small, monkeypatch):
    """Defect 15: a file that disappears after the reader saw it (a checkpoint rotating
    away) is a FormatError naming it, not a raw FileNotFoundError."""
    path, _ = small
    isfile = os.path.isfile

    def vanishing(p):
        found = isfile(p)
        if os.fspath(p) == str(path) and found:
            os.remove(p)
        return found
    monkeypatch.setattr(os.path, "isfile", vanishing)
    with pytest.raises(FormatError, match="does not exist") as e:
        tally.Results(path)
    assert str(e.value).startswith(str(path))


def test_checkpoint_removed_before_validate_is_a_format_error(tmp_path):
    pytest.importorskip("xxhash")
    path = tmp_path / "c.ckpt"
    tallyfile.build(path, tasks=2, samples=1000, chunk=256, filetype="tally-checkpoint", done=[True] * 7 + [False])
    r = tally.Results(path)
    os.remove(path)
    with pytest.raises(FormatError, match="does not exist"):
        r.validate()


def test_format_errors_name_the_path(tmp_path):
    for name, data in (("empty.h5", b""), ("text.h5", b"hello\n" * 100)):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(FormatError, match="not an HDF5 file") as e:
            tally.Results(tmp_path / name)
        assert str(e.value).startswith(str(tmp_path / name))
    with pytest.raises(FormatError, match="is not a file"):
        tally.Results(tmp_path)


# ------------------------------------------------------------------ tally.runs
def test_runs_on_a_sweep(tmp_path):
    """Five files of a sweep (seeds 0-4), one of them partial, one a checkpoint: one row
    each, in glob order, exact totals (one past 2^63), types as documented."""
    pytest.importorskip("pandas")
    pytest.importorskip("xxhash")
    want = {}
    for i in range(5):
        kind = {3: "tally-checkpoint"}.get(i, "tally-results")
        done = [j != 1 for j in range(4)] if i in (2, 3) else None
        if i == 2:  # a partial results file: tally writes one when it stops without a checkpoint
            kind = "tally-results"
        lo, hi = (2**62, 2**62 + 9) if i == 4 else (1, 100)
        name = f"sweep-{i}.h5" if kind == "tally-results" else f"sweep-{i}.h5.ckpt"
        want[name] = tallyfile.build(tmp_path / name, tasks=2, samples=500, chunk=256, seed=i, lo=lo, hi=hi,
                                     filetype=kind, done=done)
    table = tally.runs(str(tmp_path / "sweep-*"))
    assert list(table["file"]) == [str(tmp_path / n) for n in sorted(want)]
    assert list(table["status"]) == ["complete", "complete", "partial", "partial", "complete"]
    assert list(table["filetype"])[3] == "tally-checkpoint"
    assert list(table["total"]) == [want[n]["total"] for n in sorted(want)]
    assert table["total"].dtype == object and table["seed"].dtype == object
    assert all(type(t) is int for t in table["total"]) and table["total"].iloc[4] > 2**63
    assert list(table["seed"]) == [0, 1, 2, 3, 4] and table["count"].dtype == np.int64
    assert list(table["progress"]) == [1.0, 1.0, 0.75, 0.75, 1.0]
    assert list(table["kernel_path"]) == ["portable"] * 5 and list(table["hosts"]) == ["node1"] * 5
    assert (table["ranks"] * table["threads"]).tolist() == [1] * 5
    assert table["starts"].tolist() == [1] * 5 and table["lost_ranks"].tolist() == [0] * 5
    for z, n in zip(table["z_score"], sorted(want)):
        assert z == tally.Results(tmp_path / n).z_score()
    same = tally.runs([tmp_path / n for n in sorted(want)])
    assert same.equals(table)


def test_runs_without_pandas_names_it(small, monkeypatch):
    path, _ = small
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pandas"):
        tally.runs(str(path))


def test_runs_on_nothing(tmp_path):
    pytest.importorskip("pandas")
    with pytest.raises(FileNotFoundError, match="no file matches"):
        tally.runs(str(tmp_path / "none-*.h5"))
