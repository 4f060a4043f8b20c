"""tally.Results against files built with h5py from the format document (tallyfile.py),
format 1 and 2, valid and crafted: the values read are the builder's exact integers, the
C++ reader accepts what the builder makes, and every crafted file is refused with one
FormatError line -- without allocating what it claims, and without a traceback or a
crash from scripts/analyze."""
import json
import os
import random
import subprocess
import sys

import h5py
import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(SOURCE, "python"))
sys.path.insert(0, HERE)
import tally  # noqa: E402
import tallyfile  # noqa: E402
from tally.results import FormatError  # noqa: E402

TALLY = os.environ.get("TALLY_BIN")
ANALYZE = os.path.join(SOURCE, "scripts", "analyze")
needs_tally = pytest.mark.skipif(not TALLY, reason="TALLY_BIN is not set (run through ctest)")
HUGE = 1 << 27


def _edit(path, change):
    with h5py.File(path, "r+") as f:
        change(f)


@pytest.fixture
def v2(tmp_path):
    path = tmp_path / "v2.h5"
    return path, tallyfile.build(path, tasks=3, samples=1000, lo=-5, hi=90, seed=11, chunk=256)


# ------------------------------------------------------------------ valid files
@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("stream,lo,hi", [("fast", 1, 100), ("numpy", 0, 2**31), ("fast", -(2**63), 2**63 - 1),
                                          ("numpy", 2**50, 2**50 + 2)])
def test_builder_files_read_exactly(tmp_path, version, stream, lo, hi):
    if version == 1 and hi - lo > 2**40:
        pytest.skip("format 1 held int64 sums only")
    path = tmp_path / "f.h5"
    want = tallyfile.build(path, tasks=2, samples=3000, lo=lo, hi=hi, seed=3, stream=stream, chunk=500,
                           version=version)
    r = tally.Results(path)
    assert (r.format_version, r.status, r.filetype) == (version, "complete", "tally-results")
    assert r.task_sums == want["task_sums"] and r.total == want["total"] and r.count == want["count"]
    assert r.task_counts == want["task_counts"] and r.task_tails == want["tails"]
    assert r.chunk_sums_exact() == want["chunk_sums"] and r.chunk_sums.dtype == tally.results.INT128
    assert set(r.validate()) == {"ledger", "tasks", "total", "layout"}
    assert all(type(x) is int for x in r.task_sums + [r.total])
    if version == 2:
        assert r.hosts == ["node1"] and r.starts[0]["exit_code"] == 0 and r.lost == []
        assert r.provenance["kernel_path"] == "portable"
    else:
        assert r.hosts == [] and r.starts == [] and r.provenance == {}
    assert f"format {version}" in repr(r) and str(r.total) in repr(r)


def test_v2_history_hosts_and_lost_ranks(tmp_path):
    path = tmp_path / "h.h5"
    starts = [dict(start_utc=f"2026-11-25T0{i}:00:00Z", end_utc=f"2026-11-25T0{i}:30:00Z", ranks=3, threads=2,
                   hosts="a,b", slurm_job_id="77", slurm_array_job_id="", slurm_array_task_id="",
                   slurm_step_id="0", exit_code=code, command_line="tally run --tasks 2", user="u")
              for i, code in enumerate((85, 0))]
    lost = [dict(start=1, rank=2, host="b", seconds=12.5, chunks_reassigned=4, reason="silent for 12.0 s")]
    tallyfile.build(path, tasks=2, samples=500, ranks=3, hosts=["a", "a", "b"], starts=starts, lost=lost)
    r = tally.Results(path)
    assert r.ranks_per_host() == {"a": [0, 1], "b": [2]}
    assert [s["exit_code"] for s in r.starts] == [85, 0] and r.starts[1]["slurm_job_id"] == "77"
    assert r.lost == lost and r.restarts == 1
    assert "2 start(s), 3 rank(s) x 1 thread(s)" in repr(r)


@needs_tally
@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("filetype", ["tally-results", "tally-checkpoint"])
def test_cpp_reader_accepts_builder_files(tmp_path, version, filetype):
    """The builder writes what tally writes: the C++ reader verifies its files, seals and digests included."""
    pytest.importorskip("xxhash")
    path = tmp_path / "b.h5"
    per = 4  # 1000 samples in chunks of 256
    done = None if filetype == "tally-results" else [i % 3 != 1 for i in range(3 * per)]
    want = tallyfile.build(path, tasks=3, samples=1000, chunk=256, stream="numpy", lo=0, hi=2**31, version=version,
                           filetype=filetype, done=done)
    p = subprocess.run([TALLY, "verify", str(path), "--json", "--all"], capture_output=True, text=True)
    report = json.loads(p.stdout)
    assert p.returncode == 0, [c for c in report["checks"] if not c["passed"]]
    ins = json.loads(subprocess.run([TALLY, "inspect", str(path), "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    assert ins["task_sums"] == want["task_sums"] and ins["total"] == want["total"]
    r = tally.Results(path)
    assert r.task_sums == ins["task_sums"] and r.status == ins["status"]
    if filetype == "tally-checkpoint":
        assert r.validate()["digest"].startswith("XXH3-128")


@needs_tally
def test_builder_layout_is_the_binarys(tmp_path):
    """Same objects, classes and element sizes as a file of the binary (the verification group aside)."""
    made, built = tmp_path / "made.h5", tmp_path / "built.h5"
    subprocess.run([TALLY, "run", "--tasks", "2", "--samples", "1000", "--chunk", "256", "-q", "-o", str(made)],
                   check=True)
    tallyfile.build(built, tasks=2, samples=1000, chunk=256)

    def layout(path):
        out = {}
        with h5py.File(path, "r") as f:
            if f.attrs["format_version"] != 2:
                pytest.skip("this tally writes format 1")
            f.visititems(lambda name, obj: out.__setitem__(name, (
                obj.dtype.kind, obj.dtype.itemsize if obj.dtype.kind != "S" else "S", len(obj.shape))
                if isinstance(obj, h5py.Dataset) else sorted(obj.attrs)))
            out["/"] = sorted(f.attrs)
        return {k: v for k, v in out.items() if not k.startswith("verification")}
    assert layout(built) == layout(made)


def test_v1_fixtures_from_the_format_1_binary():
    data = os.path.join(SOURCE, "tests", "data")
    for name, stream, lo, hi in (("v1-results-fast.h5", "fast", 1, 100), ("v1-results-numpy.h5", "numpy", -3, 12)):
        r = tally.Results(os.path.join(data, name))
        ref = tally.reference.run(3, 5000, lo, hi, seed=7, stream=stream, chunk=1024)
        assert r.format_version == 1 and r.task_sums == ref["task_sums"] and r.total == ref["total"]
    ckpt = tally.Results(os.path.join(data, "v1-checkpoint-fast.ckpt"))
    assert ckpt.filetype == "tally-checkpoint" and ckpt.status == "partial" and 0 < ckpt.progress < 1
    if integrity_available():
        assert ckpt.validate()["seal"].startswith("XXH3-128")


def test_partial_numpy_checkpoint_and_tails(tmp_path):
    pytest.importorskip("xxhash")
    path = tmp_path / "c.ckpt"
    done = [i not in (1, 4) for i in range(9)]  # tasks 0 and 1 incomplete, task 2 complete
    want = tallyfile.build(path, tasks=3, samples=1000, stream="numpy", lo=0, hi=2**31, chunk=400,
                           filetype="tally-checkpoint", done=done)
    r = tally.Results(path)
    assert r.task_sums == want["task_sums"] and r.task_tails[:2] == [0, 0] and r.task_tails[2] != 0
    assert r.status == "partial" and "bounds only" not in r.validate()["tasks"]


# ------------------------------------------------------------------ refused files
def integrity_available():
    from tally import integrity
    return integrity.xxhash is not None


def _set(name, value):
    return lambda f: f.attrs.__setitem__(name, value)


def _bump_lo(path, index=0, by=1):
    def change(f):
        d = f[path]
        v = d[()]
        if d.shape == ():
            v["lo"] += by
        else:
            v[index]["lo"] += by
        d[...] = v
    return change


def _replace(path, data):
    def change(f):
        del f[path]
        f[path] = data
    return change


def _config(**fields):
    def change(f):
        for k, v in fields.items():
            f.attrs[k] = np.int64(v) if isinstance(v, int) else v
        tallyfile.refingerprint(f)
    return change


def _unallocated(path, shape, dtype):
    def change(f):
        if path in f:
            del f[path]
        f.create_dataset(path, shape=shape, dtype=dtype)  # never written: no storage behind it
    return change


CRAFTED = {
    # name: (edit, words the one-line message must contain)
    "not tally": (_set("filetype", np.bytes_(b"something")), "not a tally file"),
    "format 3": (_set("format_version", np.int64(3)), "format_version 3"),
    "lo > hi": (_config(lo=100, hi=1), "lo > hi"),
    "fingerprint": (_set("samples", np.int64(999)), "fingerprint"),
    "tampered total": (_bump_lo("total/sum"), "total"),
    "tampered chunk": (_bump_lo("chunks/sum", 3), "task 0"),
    "consistent lie past n*hi": (lambda f: [_bump_lo(p, 0, 10**6)(f) for p in ("chunks/sum", "tasks/sum",
                                                                              "total/sum")], "impossible sum"),
    "done flag 2": (lambda f: f["chunks/done"].__setitem__(0, 2), "done flag"),
    "fast stream missing": (lambda f: f["chunks/missing"].__setitem__(0, 5), "rejected units"),
    "tasks x samples overflow": (_config(tasks=4, samples=2**62), "2^63"),
    "2^28 chunks": (_config(tasks=2**20, samples=2**10, chunk=1), "2^28"),
    "2-D dataset": (_replace("tasks/count", np.zeros((3, 1), dtype="<i8")), "shape"),
    "float sums": (_replace("tasks/count", np.zeros(3)), "type"),
    "oversized strings": (_replace("tasks/count", np.zeros(3, dtype="S70000")), "type"),
    "soft link loop": (lambda f: (f.__delitem__("tasks"), f.__setitem__("tasks", h5py.SoftLink("/tasks"))),
                       "SoftLink"),
    "external link": (lambda f: (f.__delitem__("tasks/sum"),
                                 f.__setitem__("tasks/sum", h5py.ExternalLink("/etc/passwd", "/x"))), "ExternalLink"),
    "array attribute": (_set("tasks", np.array([3, 3], dtype="<i8")), "wrong type or shape"),
    "vlen string": (_set("status", "complete"), "wrong type or shape"),
    "unknown status": (_set("status", np.bytes_(b"done")), "status"),
    "huge ranks rows": (lambda f: (_set("ranks", np.int64(1 << 24))(f),
                                   [_unallocated(f"ranks/{k}", (1 << 24,), t)(f) for k, t in
                                    (("chunks", "<i8"), ("busy_seconds", "<f8"), ("numbers_per_second", "<f8"),
                                     ("host", "S65536"))]), "claims"),
    "too many ranks": (_set("ranks", np.int64(1 << 25)), "ranks/threads"),
    "negative restarts": (_set("restarts", np.int64(-1)), "restarts"),
    "huge history": (lambda f: [_unallocated(f"starts/{k}", (1 << 20,), "S65536" if k.endswith("utc") else "<i8")(f)
                                for k in ("start_utc", "end_utc")], "claims"),
    "ragged history": (_replace("starts/user", np.zeros(2, dtype="S3")), "shape"),
    "lost row outside starts": (lambda f: [_replace(f"lost/{k}", v)(f) for k, v in (
        ("start", np.array([4])), ("rank", np.array([1])), ("host", np.array([b"h"])), ("seconds", np.array([1.0])),
        ("chunks_reassigned", np.array([0])), ("reason", np.array([b"x"])))], "lost-rank"),
    "unallocated histogram": (_unallocated("histogram/counts", (3, 96), "<i8"), "claims"),
    "histogram of a wide span": (lambda f: (_config(hi=2**20)(f), f.__setitem__("histogram/counts",
                                                                               np.zeros((3, 96), dtype="<i8"))),
                                 "too wide"),
    "checkpoint filetype, unsealed": (_set("filetype", np.bytes_(b"tally-checkpoint")), "seal"),
    "provenance not strings": (lambda f: f["provenance"].attrs.__setitem__("cpu_model", np.int64(1)), "cpu_model"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_files_are_refused_in_one_line(v2, name, tmp_path):
    path, _ = v2
    edit, words = CRAFTED[name]
    _edit(path, edit)
    with pytest.raises(FormatError) as e:
        tally.Results(path).validate()
    message = str(e.value)
    assert "\n" not in message and message.startswith(str(path)), message
    assert any(w.lower() in message.lower() for w in words.split("|")), message
    assert "MemoryError" not in message


def test_crafted_huge_claims_allocate_nothing(tmp_path):
    """A 10 kB file claiming 2^27 tasks (consistent fingerprint, datasets never written) is
    refused in a child limited to 1 GiB of address space beyond what it starts with."""
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.attrs["filetype"] = np.bytes_(b"tally-results")
        f.attrs["format_version"] = np.int64(2)
        tallyfile.set_config(f, {"stream": "fast", "seed": 0, "tasks": HUGE, "samples": 1, "lo": 1, "hi": 100,
                                 "chunk": 1})
        f.attrs["status"] = np.bytes_(b"complete")
        for name, dtype in (("chunks/done", "u1"), ("chunks/sum", tallyfile.INT128), ("chunks/missing", "<i8"),
                            ("tasks/sum", tallyfile.INT128), ("tasks/count", "<i8"), ("tasks/tail", tallyfile.INT128)):
            f.create_dataset(name, shape=(HUGE,), dtype=dtype)
    assert os.path.getsize(path) < 20000
    code = ("import resource, sys; sys.path.insert(0, sys.argv[2]); import tally, h5py\n"
            "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
            "used = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
            "resource.setrlimit(resource.RLIMIT_AS, (used + (1 << 30), hard))\n"
            "try:\n    tally.Results(sys.argv[1]).validate()\nexcept tally.FormatError as e:\n    print(e); sys.exit(3)\n")
    p = subprocess.run([sys.executable, "-c", code, str(path), os.path.join(SOURCE, "python")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 3 and "claims" in p.stdout and "MemoryError" not in p.stdout, p.stdout + p.stderr


def test_resealed_edited_checkpoint_fails_its_digest(tmp_path):
    pytest.importorskip("xxhash")
    path = tmp_path / "c.ckpt"
    tallyfile.build(path, tasks=2, samples=1000, chunk=256, filetype="tally-checkpoint", done=[True] * 7 + [False])
    tally.Results(path).validate()
    # A consistent edit (chunk, task and total together), re-sealed: only the digest can tell.
    _edit(path, lambda f: [_bump_lo(p, 0, 1)(f) for p in ("chunks/sum", "tasks/sum", "total/sum")])
    tallyfile.write_seal(path)
    with pytest.raises(FormatError, match="digest"):
        tally.Results(path).validate()
    # Edited without re-sealing: the seal catches it before h5py parses anything.
    _edit(path, lambda f: f.attrs.__setitem__("restarts", np.int64(5)))
    with pytest.raises(FormatError, match="seal"):
        tally.Results(path).validate()


def test_checkpoint_without_xxhash_says_the_seal_cannot_be_checked(tmp_path, monkeypatch):
    """Without python3-xxhash, validate() says the seal and digest checks cannot run; it
    starts no process (no hidden `tally verify`), whatever binary is on PATH."""
    from tally import integrity
    path = tmp_path / "c.ckpt"
    pytest.importorskip("xxhash")
    tallyfile.build(path, tasks=2, samples=1000, chunk=256, filetype="tally-checkpoint", done=[True] * 7 + [False])
    monkeypatch.setattr(integrity, "xxhash", None)

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")
    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    checks = tally.Results(path).validate()
    assert checks["seal"].startswith("cannot run") and "xxhash" in checks["seal"]
    assert checks["digest"].startswith("cannot run")


# ------------------------------------------------------------------ scripts/analyze
def _analyze(*args, timeout=300):
    env = dict(os.environ, MPLCONFIGDIR=os.environ.get("MPLCONFIGDIR", "/tmp/tally-mpl"))
    return subprocess.run([ANALYZE, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("name", ["lo > hi", "fingerprint", "tampered total", "checkpoint filetype, unsealed",
                                  "soft link loop", "2-D dataset", "huge ranks rows"])
def test_analyze_refuses_invalid_files_in_one_line(v2, tmp_path, name):
    path, _ = v2
    _edit(path, CRAFTED[name][0])
    p = _analyze(path, "--out", tmp_path / "plots")
    assert p.returncode == 2 and p.stdout == "", p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("analyze: error:") and "Traceback" not in p.stderr, p.stderr


def test_analyze_survives_bit_flips(v2, tmp_path):
    """Random one-bit flips of a results file: each is read normally or refused in one
    line with exit 2; never a traceback, a crash or a hang."""
    path, _ = v2
    good = path.read_bytes()
    rng = random.Random(int(os.environ.get("TALLY_FLIP_SEED", "1")))
    outcomes = {0: 0, 2: 0}
    for trial in range(int(os.environ.get("TALLY_FLIPS", "24"))):
        data = bytearray(good)
        at = rng.randrange(len(data))
        data[at] ^= 1 << rng.randrange(8)
        flipped = tmp_path / f"flip{trial}.h5"
        flipped.write_bytes(bytes(data))
        problem = tally.results.check_in_subprocess(flipped, timeout=60)
        if problem:
            assert "\n" not in problem and str(flipped) in problem
            outcomes[2] += 1
        else:
            outcomes[0] += 1
    # And end to end through the script on one flip that the reader refuses.
    assert outcomes[2] > 0, outcomes
    data = bytearray(good)
    with h5py.File(path, "r") as f:
        at = f["chunks/sum"].id.get_offset() + 3  # inside the ledger: a wrong sum
    data[at] ^= 0x40
    (tmp_path / "ledger.h5").write_bytes(bytes(data))
    p = _analyze(tmp_path / "ledger.h5", "--out", tmp_path / "plots")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_analyze_reads_valid_builder_files(tmp_path):
    path = tmp_path / "ok.h5"
    want = tallyfile.build(path, tasks=3, samples=2000, chunk=100, lo=2**50, hi=2**50 + 3, histogram=True)
    p = _analyze(path, "--out", tmp_path / "plots", "--json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)["files"][0]
    assert rep["task_sums"] == want["task_sums"] and rep["total"] == want["total"]
    assert len(rep["plots"]) == 4
