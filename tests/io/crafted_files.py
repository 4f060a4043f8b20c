"""Crafted and damaged files against the real `tally inspect` / `tally verify` (issue 13
F, J, 4): every one ends in one line and a defined exit code, never a crash, an
internal exception or unbounded memory; a checkpoint that fails its seal or digest is
never shown as if good; verify says what its replay sample proves and checks every
chunk's bounds. Files are made by tally itself, then altered with h5py (and re-sealed
with python3-xxhash, so the damage reaches the checks behind the seal)."""
import os
import resource
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import xxhash

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
from tally.results import canonical_text, fingerprint  # noqa: E402

tally = os.environ["TALLY_BIN"]
work = tempfile.mkdtemp(prefix="tally-crafted-")
failures = []
MEMORY_LIMIT = 1 << 30  # 1 GiB of address space: the crafted file claims ~8 GiB of ledger


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(*args):
    return subprocess.run([tally, *args], capture_output=True, text=True, timeout=60, preexec_fn=limit_memory)


def expect(name, p, code, *needles):
    """Exit `code`; stderr one `tally: error:` line (exit 2/3) holding every needle."""
    text = p.stdout + p.stderr
    problems = []
    if p.returncode != code:
        problems.append(f"exit {p.returncode}, expected {code}")
    if code in (2, 3) and (len(p.stderr.strip().splitlines()) != 1 or not p.stderr.startswith("tally: error: ")):
        problems.append("stderr is not one error line")
    for bad in ("std::", "terminate", "bad_alloc", "Traceback", "HDF5-DIAG"):
        if bad in text:
            problems.append(f"output shows '{bad}'")
    for needle in needles:
        if needle not in text:
            problems.append(f"'{needle}' missing")
    if problems:
        failures.append(f"{name}: {'; '.join(problems)}\n    stdout: {p.stdout.strip()[-600:]}\n    stderr: {p.stderr.strip()}")


def exact(rec):
    return (int(rec["hi"]) << 64) | int(rec["lo"])


def add_int128(ds, index, delta):
    arr = ds[...]
    value = exact(arr[index] if arr.shape else arr) + delta
    row = np.array((value & (2**64 - 1), value >> 64), dtype=ds.dtype)
    if arr.shape:
        arr[index] = row
    else:
        arr = row
    ds[...] = arr


def reseal(path):
    """Writes a valid seal for the file's current bytes (docs/file-format.md)."""
    with open(path, "r+b") as f:
        f.seek(512)
        payload = f.read()
        header = f"tally-seal v1\n{xxhash.xxh3_128_hexdigest(payload)}\n{len(payload)}\n".encode()
        f.seek(0)
        f.write(header.ljust(512, b"\0"))


def copy(src, name):
    dst = os.path.join(work, name)
    shutil.copy(src, dst)
    return dst


# Real files: a complete results file (fast stream) and a partial checkpoint.
results = os.path.join(work, "r.h5")
p = run("run", "--tasks", "3", "--samples", "5000", "--chunk", "1024", "--seed", "5", "--quiet", "-o", results)
assert p.returncode == 0, p.stderr
ckpt = os.path.join(work, "k.ckpt")
p = run("run", "--tasks", "3", "--samples", "2000000000", "--chunk", "1000000", "--quiet", "--threads", "1",
        "--max-seconds", "0.3", "-o", os.path.join(work, "k.h5"), "--checkpoint", ckpt)
assert p.returncode == 85 and os.path.exists(ckpt), p.stderr

# The good ones pass.
expect("good results: inspect", run("inspect", results), 0, "complete")
expect("good checkpoint: inspect", run("inspect", ckpt), 0, "partial")
expect("good checkpoint: verify", run("verify", ckpt), 0, "PASS  seal", "PASS  digest", "PASS  chunk bounds")

# F: a file claiming 2^28 tasks (1-value chunks) whose datasets were never written.
huge = os.path.join(work, "huge.h5")
tasks = 1 << 28
with h5py.File(results, "r") as s, h5py.File(huge, "w") as d:
    for k, v in s.attrs.items():
        d.attrs[k] = v
    config = {k: s.attrs[k].decode() if isinstance(s.attrs[k], bytes) else s.attrs[k]
              for k in ("stream", "seed", "lo", "hi")}
    config.update(tasks=tasks, samples=1, chunk=1)
    for k in ("tasks", "samples", "chunk"):
        d.attrs[k] = np.int64(config[k])
    d.attrs["config_text"] = np.bytes_(canonical_text(config))
    d.attrs["config_fingerprint"] = np.bytes_(fingerprint(canonical_text(config)))
    for name in ("chunks/done", "chunks/sum", "chunks/missing", "tasks/sum", "tasks/count", "tasks/tail"):
        d.create_dataset(name, shape=(tasks,), dtype=s[name].dtype)  # declared, never written: no storage
    for name in ("total/sum", "total/count"):
        d.create_dataset(name, data=s[name][()])
assert os.path.getsize(huge) < 64 * 1024
expect("huge claim: inspect", run("inspect", huge), 2, "chunks/done", "claims 268435456 elements")
expect("huge claim: verify", run("verify", huge), 1, "FAIL  schema", "claims 268435456 elements")

# F: a dataset kept in an external file (would read any file on the machine as data).
external = copy(results, "external.h5")
with h5py.File(external, "r+") as f:
    done = f["chunks/done"][...]
    del f["chunks/done"]
    raw = os.path.join(work, "outside.bin")
    with open(raw, "wb") as out:
        out.write(done.tobytes())
    f.create_dataset("chunks/done", shape=done.shape, dtype=done.dtype, external=[(raw, 0, done.nbytes)])
expect("external storage: inspect", run("inspect", external), 2, "storage layout tally does not write")

# F: rejected units on a fast-stream file: a named check, not an internal exception.
missing = copy(results, "missing.h5")
with h5py.File(missing, "r+") as f:
    f["chunks/missing"][0] = 5
expect("missing on fast: inspect", run("inspect", missing), 2, "chunk 0 claims 5 rejected units")
expect("missing on fast: verify", run("verify", missing), 1, "FAIL  schema", "chunk 0 claims 5 rejected units")

# J + 4: a flipped byte in a checkpoint: inspect refuses (exit 3), verify fails the
# seal, and neither lets libhdf5 parse the damaged file.
flipped = copy(ckpt, "flipped.ckpt")
with open(flipped, "r+b") as f:
    f.seek(3000)
    b = f.read(1)
    f.seek(3000)
    f.write(bytes([b[0] ^ 0x10]))
expect("flipped checkpoint: inspect", run("inspect", flipped), 3, "fails its seal", "not parsed")
expect("flipped checkpoint: verify", run("verify", flipped), 1, "FAIL  seal")
# The seal's block zeroed: HDF5 would still find the superblock at 512; tally does not look.
unsealed = copy(ckpt, "unsealed.ckpt")
with open(unsealed, "r+b") as f:
    f.write(b"\0" * 512)
expect("zeroed seal: inspect", run("inspect", unsealed), 3, "no tally seal")
# Torn: shorter than its seal says.
torn = copy(ckpt, "torn.ckpt")
os.truncate(torn, os.path.getsize(torn) - 100)
expect("torn checkpoint: inspect", run("inspect", torn), 3, "torn")

# J: a chunk sum changed in a checkpoint and the file re-sealed: the seal passes, the
# digest behind it does not; inspect says so instead of showing the values.
lie = copy(ckpt, "lie.ckpt")
with h5py.File(lie, "r+") as f:
    done = np.flatnonzero(f["chunks/done"][...])
    add_int128(f["chunks/sum"], int(done[0]), 1)
reseal(lie)
expect("re-sealed lie: inspect", run("inspect", lie), 3, "fails its digest")
expect("re-sealed lie: verify", run("verify", lie, "--chunks", "1"), 1, "PASS  seal", "FAIL  digest")

# J: a consistent lie in a results file (one chunk, its task and the total changed
# together): every sum check holds, so only a replay of that chunk can catch it.
consistent = copy(results, "consistent.h5")
with h5py.File(consistent, "r+") as f:
    chunk, task = 4, 4 // int(f["chunks/sum"].shape[0] // 3)
    add_int128(f["chunks/sum"], chunk, 1)
    add_int128(f["tasks/sum"], task, 1)
    add_int128(f["total/sum"], (), 1)
    f.attrs["total_sum"] = np.bytes_(str(exact(f["total/sum"][()])))
p = run("verify", consistent, "--seed", "1", "--chunks", "2")
if "this proves those 2 only" not in p.stdout or "escape this sample with probability" not in p.stdout:
    failures.append(f"verify does not say what its sample proves:\n{p.stdout}")
expect("consistent lie: verify --all", run("verify", consistent, "--all"), 1, "FAIL  chunk replay", "chunk 4 stored",
       "PASS  chunk bounds", "PASS  task sums", "PASS  total ")
# Out of bounds (more than 100 per value): caught without any replay.
wild = copy(results, "wild.h5")
with h5py.File(wild, "r+") as f:
    add_int128(f["chunks/sum"], 0, 1 << 40)
expect("chunk out of bounds: verify", run("verify", wild, "--chunks", "1"), 1, "FAIL  schema", "impossible sum for chunk 0")

# --chunks 0 and negative are refused up front.
for bad in ("0", "-1"):
    expect(f"verify --chunks {bad}", run("verify", results, "--chunks", bad), 2, "--chunks must be at least 1")

shutil.rmtree(work)
print("\n".join(failures) or "crafted files: every one refused or reported cleanly")
sys.exit(1 if failures else 0)
