"""A real results file read back by h5py and h5dump equals what `tally run --json` said."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

tally = os.environ["TALLY_BIN"]
work = tempfile.mkdtemp(prefix="tally-readback-")
out = os.path.join(work, "r.h5")
run = json.loads(subprocess.run([tally, "run", "--tasks", "5", "--samples", "123457", "--chunk", "10000",
                                 "--stream", "numpy", "--range", "-3:12", "--seed", "0xabcdef0123456789abcdef",
                                 "--histogram", "--json", "--output", out], capture_output=True, text=True,
                                check=True).stdout)
errors = []
with h5py.File(out, "r") as f:
    a = f.attrs
    for key in ("tasks", "samples", "lo", "hi", "chunk"):
        if int(a[key]) != run[key]:
            errors.append(f"attribute {key} {a[key]} != {run[key]}")
    seed = a["seed"].decode() if isinstance(a["seed"], bytes) else str(a["seed"])
    if seed != str(int("0xabcdef0123456789abcdef", 16)):
        errors.append(f"seed attribute {seed!r}")
    if list(f["tasks/sum"][()]) != run["task_sums"] or int(f["total/sum"][()]) != run["total"]:
        errors.append("sums differ from --json")
    chunks = f["chunks/sum"][()].astype(object)
    per_task = len(chunks) // 5
    for t in range(5):
        if sum(chunks[t * per_task:(t + 1) * per_task]) + int(f["tasks/tail"][t]) != run["task_sums"][t]:
            errors.append(f"task {t}: chunks + tail != task sum")
    hist = f["histogram/counts"][()]
    if hist.shape != (5, 16) or list(hist.sum(axis=1)) != run["task_counts"]:
        errors.append(f"histogram shape {hist.shape} or counts")
    if int((hist * np.arange(-3, 13)).sum()) != run["total"]:
        errors.append("histogram does not reproduce the total")
    for name in ("ranks/busy_seconds", "verification/z_score", "verification/task_z_scores", "chunks/done"):
        if name not in f:
            errors.append(f"{name} missing")
dump = subprocess.run([shutil.which("h5dump") or "h5dump", "-d", "/total/sum", out], capture_output=True, text=True)
if dump.returncode != 0 or f"(0): {run['total']}" not in dump.stdout:
    errors.append(f"h5dump: {dump.returncode} {dump.stdout[-300:]}")
header = subprocess.run(["h5dump", "-H", out], capture_output=True, text=True)
for group in ("tasks", "chunks", "total", "ranks", "verification", "histogram"):
    if f'GROUP "{group}"' not in header.stdout:
        errors.append(f"h5dump -H lacks group {group}")
print("\n".join(errors) or "h5py and h5dump agree with --json")
sys.exit(1 if errors else 0)
