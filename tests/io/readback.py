"""A real results file read back by h5py and h5dump equals what `tally run --json` said."""
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from tally.results import exact_ints  # noqa: E402

tally = os.environ["TALLY_BIN"]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tallytest import scratch  # noqa: E402

work = scratch("readback")  # removed however the test ends
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
    if exact_ints(f["tasks/sum"][()]) != run["task_sums"] or exact_ints(f["total/sum"][()]) != [run["total"]]:
        errors.append("sums differ from --json")
    if f["total/sum"].dtype.names != ("lo", "hi") or a["format_version"] != 2:
        errors.append(f"total/sum is not the int128 compound of format 2: {f['total/sum'].dtype}")
    if (a["total_sum"].decode() if isinstance(a["total_sum"], bytes) else a["total_sum"]) != str(run["total"]):
        errors.append("total_sum attribute differs")
    chunks = exact_ints(f["chunks/sum"][()])
    tails = exact_ints(f["tasks/tail"][()])
    per_task = len(chunks) // 5
    for t in range(5):
        if sum(chunks[t * per_task:(t + 1) * per_task]) + tails[t] != run["task_sums"][t]:
            errors.append(f"task {t}: chunks + tail != task sum")
    hist = f["histogram/counts"][()]
    if hist.shape != (5, 16) or list(hist.sum(axis=1)) != run["task_counts"]:
        errors.append(f"histogram shape {hist.shape} or counts")
    if int((hist * np.arange(-3, 13)).sum()) != run["total"]:
        errors.append("histogram does not reproduce the total")
    for name in ("ranks/busy_seconds", "ranks/host", "starts/start_utc", "starts/hosts", "lost/rank", "provenance",
                 "verification/z_score", "verification/task_z_scores", "chunks/done"):
        if name not in f:
            errors.append(f"{name} missing")
dump = subprocess.run([shutil.which("h5dump") or "h5dump", "-a", "/total_sum", out], capture_output=True, text=True)
if dump.returncode != 0 or f'"{run["total"]}"' not in dump.stdout:
    errors.append(f"h5dump total_sum: {dump.returncode} {dump.stdout[-300:]}")
dump = subprocess.run(["h5dump", "-d", "/total/sum", out], capture_output=True, text=True)
if dump.returncode != 0 or '"lo"' not in dump.stdout or '"hi"' not in dump.stdout:
    errors.append(f"h5dump total/sum: {dump.returncode} {dump.stdout[-300:]}")
header = subprocess.run(["h5dump", "-H", out], capture_output=True, text=True)
for group in ("tasks", "chunks", "total", "ranks", "starts", "lost", "provenance", "verification", "histogram"):
    if f'GROUP "{group}"' not in header.stdout:
        errors.append(f"h5dump -H lacks group {group}")
print("\n".join(errors) or "h5py and h5dump agree with --json")
sys.exit(1 if errors else 0)
