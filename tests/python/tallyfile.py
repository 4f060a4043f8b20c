"""Builds tally files with h5py alone, from docs/file-format.md and the numbers of
tally.reference (NumPy, docs/streams.md): no tally binary involved. Tests use it to make
format 1 and format 2 files of any shape, valid or crafted, and the C++ reader
(`tally verify`) checks that what it builds is what tally writes."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from tally import reference  # noqa: E402
from tally.results import canonical_text, fingerprint  # noqa: E402

INT128 = np.dtype([("lo", "<u8"), ("hi", "<i8")])
M64 = (1 << 64) - 1


def int128(values):
    return np.array([(v & M64, v >> 64) for v in values], dtype=INT128)


def strings(values):
    values = [v.encode() for v in values]
    return np.array(values, dtype=f"S{max([1] + [len(v) for v in values])}")


def text(value):
    return np.bytes_(value.encode())


def set_config(f, c):
    """The configuration attributes and a fingerprint that matches them (crafted or not)."""
    f.attrs["stream"] = text(c["stream"])
    f.attrs["seed"] = text(str(c["seed"]))
    for key in ("tasks", "samples", "lo", "hi", "chunk"):
        f.attrs[key] = np.int64(c[key])
    f.attrs["config_text"] = text(canonical_text(c))
    f.attrs["config_fingerprint"] = text(fingerprint(canonical_text(c)))


def build(path, tasks=3, samples=1000, lo=1, hi=100, seed=5, stream="fast", chunk=256, version=2,
          filetype="tally-results", done=None, histogram=False, ranks=1, hosts=None, starts=None, lost=None,
          provenance=None, seal=None):
    """Writes a tally file. done: chunk mask (default all; a partial file otherwise).
    Returns what the file holds as exact ints: task_sums, task_counts, total, count."""
    c = {"stream": stream, "seed": seed, "tasks": tasks, "samples": samples, "lo": lo, "hi": hi, "chunk": chunk}
    ref = reference.run(tasks, samples, lo, hi, seed, stream, chunk)
    per = -(-samples // chunk)
    sizes = [min(chunk, samples - i * chunk) for i in range(per)]
    done = np.ones(tasks * per, dtype=bool) if done is None else np.asarray(done, dtype=bool)
    sums = [s if d else 0 for s, d in zip(ref["chunk_sums"], done)]
    missing = [m if d else 0 for m, d in zip(ref["chunk_missing"], done)]
    task_sums, tails, counts = [], [], []
    for t in range(tasks):
        rows = range(t * per, (t + 1) * per)
        complete = all(done[i] for i in rows)
        tail = ref["task_sums"][t] - sum(ref["chunk_sums"][i] for i in rows) if complete else 0
        tails.append(tail)
        task_sums.append(sum(sums[i] for i in rows) + tail)
        counts.append(sum(sizes[i % per] - missing[i] for i in rows if done[i]) +
                      (sum(missing[i] for i in rows) if complete else 0))
    wide = version >= 2
    sum_data = (lambda v: int128(v)) if wide else (lambda v: np.array(v, dtype="<i8"))
    status = "complete" if done.all() else "partial"
    hist = None
    if histogram:
        source = reference.FastStream(seed, lo, hi)
        assert stream == "fast" and done.all(), "the builder makes histograms of complete fast runs"
        hist = np.stack([np.bincount(np.array(source.values(t, 0, samples), dtype=object).astype(np.int64) - lo,
                                     minlength=hi - lo + 1) for t in range(tasks)]).astype("<i8")
    with h5py.File(path, "w", userblock_size=512 if filetype == "tally-checkpoint" else 0) as f:
        f.attrs["filetype"] = text(filetype)
        f.attrs["format_version"] = np.int64(version)
        f.attrs["tally_version"] = text("0.1.0")
        set_config(f, c)
        f.attrs["status"] = text(status)
        f.attrs["ranks"] = np.int64(ranks)
        f.attrs["threads"] = np.int64(1)
        f.attrs["wall_seconds"] = np.float64(0.25)
        f.attrs["elapsed_seconds"] = np.float64(0.5)
        f.attrs["restarts"] = np.int64(0 if starts is None else max(0, len(starts) - 1))
        f.attrs["chunks_done"] = np.int64(done.sum())
        f["tasks/sum"] = sum_data(task_sums)
        f["tasks/count"] = np.array(counts, dtype="<i8")
        f["tasks/tail"] = sum_data(tails)
        f["chunks/sum"] = sum_data(sums)
        f["chunks/missing"] = np.array(missing, dtype="<i8")
        f["chunks/done"] = done.astype("u1")
        f.create_dataset("total/sum", data=sum_data([sum(task_sums)])[0])
        f.create_dataset("total/count", data=np.int64(sum(counts)))
        f["ranks/chunks"] = np.full(ranks, int(done.sum()) // ranks, dtype="<i8")
        f["ranks/busy_seconds"] = np.full(ranks, 0.25)
        f["ranks/numbers_per_second"] = np.full(ranks, 1e9)
        if wide:
            f.attrs["total_sum"] = text(str(sum(task_sums)))
            hosts = hosts or ["node1"] * ranks
            f["ranks/host"] = strings(hosts)
            starts = starts if starts is not None else [dict(
                start_utc="2026-11-25T07:00:00Z", end_utc="2026-11-25T07:00:01Z", ranks=ranks, threads=1,
                hosts=",".join(dict.fromkeys(hosts)), slurm_job_id="", slurm_array_job_id="",
                slurm_array_task_id="", slurm_step_id="", exit_code=0 if status == "complete" else 85,
                command_line="tally run", user="tester", kernel_path="avx2")]
            for name in ("start_utc", "end_utc", "hosts", "slurm_job_id", "slurm_array_job_id", "slurm_array_task_id",
                         "slurm_step_id", "command_line", "user", "kernel_path"):
                f[f"starts/{name}"] = strings([s.get(name, "") for s in starts])
            for name in ("ranks", "threads", "exit_code"):
                f[f"starts/{name}"] = np.array([s[name] for s in starts], dtype="<i8")
            lost = lost or []
            for name in ("host", "reason"):
                f[f"lost/{name}"] = strings([x[name] for x in lost])
            for name in ("start", "rank", "chunks_reassigned"):
                f[f"lost/{name}"] = np.array([x[name] for x in lost], dtype="<i8")
            f["lost/seconds"] = np.array([x["seconds"] for x in lost], dtype="<f8")
            g = f.create_group("provenance")
            for k, v in (provenance or {"tally_version": "0.1.0", "git_commit": "unknown", "git_dirty": "unknown",
                                        "build_type": "Release", "compiler": "h5py builder", "compiler_flags": "",
                                        "kernel_path": "portable", "cpu_model": "any",
                                        "mpi_library": "none (threads only)", "hdf5_version": "1.10.8"}).items():
                g.attrs[k] = text(v)
        if hist is not None:
            f["histogram/counts"] = hist
        if filetype == "tally-checkpoint":
            raw = f["chunks/sum"][()]
            lo_w = raw["lo"] if wide else raw.view(np.uint64)
            hi_w = raw["hi"].view(np.uint64) if wide else np.zeros_like(lo_w)
            from tally import integrity
            f.attrs["digest"] = text(integrity.record_digest(
                canonical_text(c), status, done, lo_w, hi_w, np.array(missing), int(f.attrs["restarts"]),
                float(f.attrs["elapsed_seconds"]), hist, wide))
    if filetype == "tally-checkpoint" and seal is not False:
        write_seal(path)
    return {"task_sums": task_sums, "task_counts": counts, "total": sum(task_sums), "count": sum(counts),
            "chunk_sums": sums, "tails": tails}


def write_seal(path):
    """The 512-byte seal of docs/file-format.md over the bytes after it (needs python3-xxhash)."""
    import xxhash
    with open(path, "r+b") as f:
        f.seek(512)
        payload = f.read()
        header = f"tally-seal v1\n{xxhash.xxh3_128(payload).hexdigest()}\n{len(payload)}\n".encode()
        f.seek(0)
        f.write(header.ljust(512, b"\0"))


def refingerprint(f):
    """After editing configuration attributes: make the fingerprint match them again, as a
    forger would, so the reader's other rules are what must catch the edit."""
    a = f.attrs
    c = {"stream": a["stream"].decode(), "seed": a["seed"].decode(), **{k: int(a[k]) for k in
                                                                        ("tasks", "samples", "lo", "hi", "chunk")}}
    a["config_fingerprint"] = text(fingerprint(canonical_text(c)))


def build_constant(path, tasks, samples, chunk=1, value=3, slab=1 << 20):
    """A complete, valid format-2 results file of a constant run (lo = hi = value), written
    slab by slab so that a ledger of 2^24 chunks and more costs little memory to make."""
    c = {"stream": "fast", "seed": 0, "tasks": tasks, "samples": samples, "lo": value, "hi": value, "chunk": chunk}
    per = -(-samples // chunk)
    n = tasks * per
    sizes = np.array([min(chunk, samples - i * chunk) for i in range(per)], dtype=np.int64)
    with h5py.File(path, "w") as f:
        f.attrs["filetype"] = text("tally-results")
        f.attrs["format_version"] = np.int64(2)
        f.attrs["tally_version"] = text("0.1.0")
        set_config(f, c)
        f.attrs["status"] = text("complete")
        for name, v in (("ranks", 1), ("threads", 1), ("restarts", 0), ("chunks_done", n)):
            f.attrs[name] = np.int64(v)
        f.attrs["wall_seconds"] = np.float64(1.0)
        f.attrs["elapsed_seconds"] = np.float64(1.0)
        f.attrs["total_sum"] = text(str(value * tasks * samples))
        sums = f.create_dataset("chunks/sum", (n,), INT128)
        missing = f.create_dataset("chunks/missing", (n,), "<i8")
        done = f.create_dataset("chunks/done", (n,), "u1")
        for at in range(0, n, slab):
            rows = np.arange(at, min(n, at + slab))
            sums[at:at + rows.size] = int128_array(sizes[rows % per] * value)
            missing[at:at + rows.size] = 0
            done[at:at + rows.size] = 1
        f["tasks/sum"] = int128([value * samples] * tasks)
        f["tasks/count"] = np.full(tasks, samples, dtype="<i8")
        f["tasks/tail"] = int128([0] * tasks)
        f.create_dataset("total/sum", data=int128([value * tasks * samples])[0])
        f.create_dataset("total/count", data=np.int64(tasks * samples))
        f["ranks/chunks"] = np.array([n], dtype="<i8")
        f["ranks/busy_seconds"] = np.array([1.0])
        f["ranks/numbers_per_second"] = np.array([tasks * samples / 1.0])
        f["ranks/host"] = strings(["node1"])
        for name in ("start_utc", "end_utc", "hosts", "slurm_job_id", "slurm_array_job_id", "slurm_array_task_id",
                     "slurm_step_id", "command_line", "user"):
            f[f"starts/{name}"] = strings(["node1" if name == "hosts" else ""])
        for name in ("ranks", "threads", "exit_code"):
            f[f"starts/{name}"] = np.array([1 if name != "exit_code" else 0], dtype="<i8")
        for name in ("host", "reason"):
            f[f"lost/{name}"] = strings([])
        for name in ("start", "rank", "chunks_reassigned"):
            f[f"lost/{name}"] = np.zeros(0, dtype="<i8")
        f["lost/seconds"] = np.zeros(0, dtype="<f8")
        g = f.create_group("provenance")
        g.attrs["tally_version"] = text("0.1.0")
        g.attrs["kernel_path"] = text("portable")
    return {"total": value * tasks * samples, "chunks": n}


def int128_array(values):
    """int128 compound of an int64 NumPy array (vectorised)."""
    values = np.asarray(values, dtype=np.int64)
    out = np.empty(values.shape, INT128)
    out["lo"] = values.view(np.uint64)
    out["hi"] = values >> 63
    return out
