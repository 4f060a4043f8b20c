"""Files written by format_version 1 (tests/data/v1-*, made by tally before format 2)
are still read, inspected, verified and resumed: their sums equal scripts/reference,
`tally verify --all` passes them, tally.Results reads them, and resuming the v1
checkpoint gives the bits of a fresh run, written as format 2."""
import json
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
source = os.path.join(here, "..", "..")
sys.path.insert(0, os.path.join(source, "python"))
import tally as tallypy  # noqa: E402

tally = os.environ["TALLY_BIN"]
data = os.path.join(source, "tests", "data")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tallytest import scratch  # noqa: E402

work = scratch("v1")  # removed however the test ends
failures = []


def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


for name, args in (("v1-results-fast.h5", ["--tasks", "3", "--samples", "5000", "--chunk", "1024", "--seed", "7"]),
                   ("v1-results-numpy.h5", ["--stream", "numpy", "--range=-3:12", "--tasks", "3", "--samples", "5000",
                                            "--chunk", "1024", "--seed", "7"])):
    path = os.path.join(data, name)
    ins = json.loads(run(tally, "inspect", path, "--json").stdout)
    ref = json.loads(run(os.path.join(source, "scripts", "reference"), *args, "--json").stdout)
    if ins["format_version"] != 1 or ins["task_sums"] != ref["task_sums"] or ins["total"] != ref["total"]:
        failures.append(f"{name}: inspect {ins.get('format_version')} {ins.get('task_sums')} vs reference {ref['task_sums']}")
    v = run(tally, "verify", path, "--all")
    if v.returncode != 0:
        failures.append(f"{name}: verify failed: {v.stdout[-500:]}")
    r = tallypy.Results(path)
    if r.format_version != 1 or r.total != ref["total"] or r.task_sums != ref["task_sums"]:
        failures.append(f"{name}: tally.Results read {r!r}")

ckpt = os.path.join(data, "v1-checkpoint-fast.ckpt")
v = run(tally, "verify", ckpt, "--chunks", "50")
if v.returncode != 0:
    failures.append(f"v1 checkpoint: verify failed: {v.stdout[-500:]}")
workload = ["run", "--tasks", "3", "--samples", "2000000000", "--quiet", "--threads", "2"]
out = os.path.join(work, "resumed.h5")
shutil.copy(ckpt, out + ".ckpt")
resumed = run(tally, *workload, "--output", out)
fresh = os.path.join(work, "fresh.h5")
run(tally, *workload, "--output", fresh)
if resumed.returncode != 0 or "resumed from" not in resumed.stderr:
    failures.append(f"v1 checkpoint did not resume: exit {resumed.returncode} {resumed.stderr.strip()}")
else:
    a, b = tallypy.Results(out), tallypy.Results(fresh)
    if a.format_version != 2 or a.task_sums != b.task_sums or a.total != b.total or a.restarts != 1:
        failures.append(f"resumed v1 checkpoint {a!r} differs from a fresh run {b!r}")
    if len(a.starts) != 1:  # a v1 checkpoint has no history: only this start is known
        failures.append(f"starts after resuming a v1 checkpoint: {a.starts}")
print("\n".join(failures) or "format 1 files are read, verified and resumed")
sys.exit(1 if failures else 0)
