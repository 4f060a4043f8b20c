"""`tally verify` under mpirun -np 2 and -np 3 spreads the chunk replay over the ranks
and prints exactly what the single process prints (text and --json, same exit code):
for a good file, for a file with one chunk altered consistently (only the replay can
catch it; the altered chunk lies in the last rank's share), for a checkpoint, for a
checkpoint whose seal is broken (rank 0 stops before any replay) and for a file that is
not HDF5 (exit 2 on every rank, one error line). A rank whose working directory lacks
the file, or holds another file by that name, says so in one line and rank 0 replays
its share: the report is still the single process's."""
import json
import os
import shutil
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import MPI_FLAVOUR, MPIRUN, TALLY, add_to_int, check, mpi_command, run, scratch  # noqa: E402

stream = sys.argv[1] if len(sys.argv) > 1 else "fast"
data = os.path.join(os.path.dirname(__file__), "..", "data")
work = scratch("verify-ranks")
good = os.path.join(work, "good.h5")
run([TALLY, "run", "--stream", stream, "--tasks", "5", "--samples", "300001", "--chunk", "10000", "--range", "-20:80",
     "--seed", "4242", "--histogram", "--quiet", "--output", good], check=0)

# One chunk, its task sum, the total and the histogram changed together: every check
# but the replay agrees with the lie. The last chunk is replayed by the last rank.
lie = os.path.join(work, "lie.h5")
shutil.copy(good, lie)
with h5py.File(lie, "r+") as f:
    last_chunk = len(f["chunks/done"]) - 1
    last_task = f["histogram/counts"].shape[0] - 1
    add_to_int(f, "chunks/sum", 1, last_chunk)
    add_to_int(f, "tasks/sum", 1, last_task)
    add_to_int(f, "total/sum", 1)
    h = f["histogram/counts"][()]
    h[last_task, 0] -= 1
    h[last_task, 1] += 1
    f["histogram/counts"][...] = h

checkpoint = os.path.join(data, "v1-checkpoint-fast.ckpt" if stream == "fast" else "v2-checkpoint-wide.ckpt")
torn = os.path.join(work, "torn.ckpt")
shutil.copy(checkpoint, torn)
with open(torn, "r+b") as f:
    f.seek(os.path.getsize(torn) // 2)
    byte = f.read(1)
    f.seek(-1, os.SEEK_CUR)
    f.write(bytes([byte[0] ^ 0x40]))
junk = os.path.join(work, "junk.h5")
with open(junk, "w") as f:
    f.write("not an HDF5 file\n")

cases = [  # name, arguments, expected exit code, a check that must fail (None: none)
    ("good --all", [good, "--all"], 0, None),
    ("good --all --json", [good, "--all", "--json"], 0, None),
    ("good sample", [good, "--chunks", "7", "--seed", "99"], 0, None),
    ("consistent lie --all", [lie, "--all"], 1, "chunk replay"),
    ("consistent lie --all --json", [lie, "--all", "--json"], 1, "chunk replay"),
    ("checkpoint --all", [checkpoint, "--all"], 0, None),
    ("torn checkpoint", [torn, "--all"], 1, "seal"),
    ("not HDF5", [junk, "--all"], 2, None),
]
failures = 0
for name, args, expected, failing in cases:
    single = run([TALLY, "verify", *args, "--threads", "2"], timeout=120)
    check(single.returncode == expected, f"{name}: single process exit {single.returncode}, expected {expected}\n"
                                         f"{single.stdout}{single.stderr}")
    if failing:
        failed = ([c["name"] for c in json.loads(single.stdout)["checks"] if not c["passed"]] if "--json" in args
                  else [line.split(None, 1)[1][:26].strip() for line in single.stdout.splitlines()
                        if line.startswith("  FAIL")])
        check(failed == [failing], f"{name}: the single process failed {failed}, expected ['{failing}']")
    for ranks, threads in ((2, 1), (3, 1), (2, 2)):
        p = run(mpi_command(ranks, ["verify", *args], threads), timeout=180)
        label = f"{stream} {name} np={ranks} threads={threads}"
        errors = [line for line in p.stderr.splitlines() if line.startswith("tally:")]
        ok = p.returncode == expected and p.stdout == single.stdout
        if expected == 2:  # one line from rank 0, as the single process prints it
            ok = ok and errors == [line for line in single.stderr.splitlines() if line.startswith("tally:")]
        else:  # every rank replayed its own share: rank 0 made up for nobody
            ok = ok and not errors
        print(f"{'ok  ' if ok else 'FAIL'} {label}: exit {p.returncode}" + ("" if ok else
              f"\n--- single (exit {single.returncode})\n{single.stdout}{single.stderr}"
              f"--- mpirun\n{p.stdout}{p.stderr}"))
        failures += not ok

# Rank 1 starts in another directory (MPMD): first without the file, then with another
# run's file under the same name. Rank 0 must notice and replay rank 1's share itself.
elsewhere = os.path.join(work, "elsewhere")
os.mkdir(elsewhere)
single = subprocess.run([TALLY, "verify", "good.h5", "--all"], cwd=work, capture_output=True, text=True, timeout=120)
check(single.returncode == 0, f"single process in {work}: {single.stdout}{single.stderr}")
for case in ("missing", "another file"):
    if case == "another file":
        run([TALLY, "run", "--stream", stream, "--tasks", "5", "--samples", "300001", "--chunk", "10000", "--range",
             "-20:80", "--seed", "4243", "--histogram", "--quiet", "--output", os.path.join(elsewhere, "good.h5")],
            check=0)
    n, extra = ("-n", []) if MPI_FLAVOUR == "mpich" else ("-np", ["--oversubscribe", "--bind-to", "none"])
    cmd = [MPIRUN, *extra, n, "1", "-wdir", work, TALLY, "verify", "good.h5", "--all", ":",
           n, "1", "-wdir", elsewhere, TALLY, "verify", "good.h5", "--all"]
    p = run(cmd, timeout=180)
    notes = [line for line in p.stderr.splitlines() if line.startswith("tally:")]
    ok = (p.returncode == 0 and p.stdout == single.stdout and len(notes) == 1
          and notes[0].startswith("tally: rank 1 could not replay its share") and "rank 0 replayed it" in notes[0])
    print(f"{'ok  ' if ok else 'FAIL'} {stream} rank 1's file {case}: exit {p.returncode}, {notes}"
          + ("" if ok else f"\n{p.stdout}{p.stderr}"))
    failures += not ok
sys.exit(1 if failures else 0)
