"""Bad input under mpirun -np 2 never hangs: every rank exits 2, the message is printed
once, and an existing file is left untouched."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import check, file_digest, mpi_command, run, scratch  # noqa: E402

work = scratch("bad-input")
existing = os.path.join(work, "existing.h5")
with open(existing, "wb") as f:
    f.write(b"precious bytes that must survive")
before = file_digest(existing)
readonly_dir = os.path.join(work, "readonly")
os.mkdir(readonly_dir)
os.chmod(readonly_dir, 0o500)

cases = {
    "nonsense flag": ["run", "--no-such-flag"],
    "zero tasks": ["run", "--tasks", "0"],
    "empty range": ["run", "--range", "5:1"],
    "too many draws": ["run", "--tasks", "4", "--samples", "4000000000000000000"],
    "bad stream": ["run", "--stream", "mt19937"],
    "bad seed": ["run", "--seed", "-3"],
    "missing output directory": ["run", "--output", os.path.join(work, "no", "such", "dir", "x.h5")],
    "existing output without --force": ["run", "--output", existing],
    "resume required without checkpoint": ["run", "--output", os.path.join(work, "r.h5"), "--resume", "require"],
}
if os.geteuid() != 0:  # root writes anywhere, so the read-only case only means something for users
    cases["unwritable output directory"] = ["run", "--output", os.path.join(readonly_dir, "x.h5")]

failures = 0
for name, args in cases.items():
    expected = 3 if "resume required" in name else 2
    p = run(mpi_command(2, args + ["--quiet"]), timeout=60)
    errors = [line for line in p.stderr.splitlines() if line.startswith("tally: error")]
    ok = p.returncode == expected and len(errors) == 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {p.returncode}, {len(errors)} error line(s): {errors[:1]}")
    failures += not ok
check(file_digest(existing) == before, "the existing output file was modified")
sys.exit(1 if failures else 0)
