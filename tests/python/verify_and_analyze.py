"""tally verify passes real runs of both streams and catches tampered copies (exit 1,
naming the failed check); scripts/analyze writes valid PNGs whose numbers equal
`tally inspect --json`."""
import json
import os
import shutil
import subprocess
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402

sys.path.insert(0, os.path.join(os.environ["TALLY_SOURCE_DIR"], "tests", "support"))
os.environ.setdefault("TALLY_BIN", "")
from tallytest import add_to_int, scratch  # noqa: E402

tally = os.environ["TALLY_BIN"]
analyze = os.path.join(os.environ["TALLY_SOURCE_DIR"], "scripts", "analyze")
work = scratch("verify")  # removed however the test ends
failures = []


def verify(path, *extra):
    p = subprocess.run([tally, "verify", path, "--json", *extra], capture_output=True, text=True)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


def failed_checks(report):
    return [c["name"] for c in report.get("checks", []) if not c["passed"]]


for stream in ("fast", "numpy"):
    good = os.path.join(work, f"{stream}.h5")
    subprocess.run([tally, "run", "--stream", stream, "--tasks", "6", "--samples", "200003", "--chunk", "10000",
                    "--range", "-20:80", "--seed", "31337", "--histogram", "--quiet", "--output", good], check=True)
    code, report, _ = verify(good, "--all")
    if code != 0:
        failures.append(f"{stream}: verify of a real run failed: {failed_checks(report)}")

    def tampered(name, edit, expect, *extra):
        copy = os.path.join(work, f"{stream}-{name}.h5")
        shutil.copy(good, copy)
        with h5py.File(copy, "r+") as f:
            edit(f)
        code, report, err = verify(copy, *extra)
        named = failed_checks(report)
        ok = code == 1 and expect in named
        print(f"{'ok  ' if ok else 'FAIL'} {stream} {name}: exit {code}, failed {named} {err.strip()[:120]}")
        if not ok:
            failures.append(f"{stream} {name}")

    def bump(path, index=None):
        return lambda f: add_to_int(f, path, 1, index)

    tampered("chunk-sum", bump("chunks/sum", 3), "task sums")
    tampered("task-sum", bump("tasks/sum", 2), "task sums")
    tampered("total", bump("total/sum"), "total")
    tampered("seed-attribute", lambda f: f.attrs.modify("seed", b"31338"), "schema")

    def consistent_lie(f):  # a chunk, its task and the total all changed together
        for path, index in (("chunks/sum", 0), ("tasks/sum", 0)):
            add_to_int(f, path, 1, index)
        add_to_int(f, "total/sum", 1)
        h = f["histogram/counts"][()]
        h[0, 0] -= 1
        h[0, 1] += 1  # value lo+1 instead of lo: the histogram agrees with the lie too
        f["histogram/counts"][...] = h
    tampered("consistent-lie", consistent_lie, "chunk replay", "--all")

    # analyze: valid PNGs, same numbers as inspect
    out_dir = os.path.join(work, f"plots-{stream}")
    rep = json.loads(subprocess.run([analyze, good, "--out", out_dir, "--json"], capture_output=True, text=True,
                                    check=True).stdout)["files"][0]
    ins = json.loads(subprocess.run([tally, "inspect", good, "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    for key in ("task_sums", "task_counts", "total", "count"):
        if rep[key] != ins[key]:
            failures.append(f"{stream}: analyze {key} {rep[key]} != inspect {ins[key]}")
    if abs(rep["z_score"] - ins["z_score"]) > 1e-6:
        failures.append(f"{stream}: z-scores differ")
    if len(rep["plots"]) < 4:
        failures.append(f"{stream}: expected 4 plots, got {rep['plots']}")
    for png in rep["plots"]:
        with open(png, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                failures.append(f"{png} is not a PNG")
        if matplotlib.image.imread(png).shape[0] < 100:
            failures.append(f"{png} is too small")

code, _, err = verify(os.path.join(work, "missing.h5"))
if code != 2:
    failures.append(f"verify of a missing file exited {code}, not 2")
print("\n".join(failures) or "verify and analyze behave")
sys.exit(1 if failures else 0)
