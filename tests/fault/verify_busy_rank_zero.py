"""`tally verify --all` under `mpirun -np 3 --peer-timeout 1` with rank 0 held for 3 s
(three times the timeout) at a test-only hold point (src/io/test_hold.hpp): before it
reads the file ("verify-read") and after the replay, before its statistics and report
("verify-report"). Rank 0 reads, checks and reports beside its MPI thread, which keeps
the workers' links alive, so the job ends with exit 0 and the single process's report,
and no worker gives up on rank 0. With rank 0 doing that work on its MPI thread, every
worker gave up while rank 0 was held after the replay ("no message from the coordinator
(rank 0) … giving up", exit 1)."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, TALLY, Checklist, Hold, mpi_command, run, scratch  # noqa: E402

PEER_TIMEOUT = 1
HELD_SECONDS = 3 * PEER_TIMEOUT
work = scratch("verify-busy")
good = os.path.join(work, "good.h5")
run([TALLY, "run", "--tasks", "3", "--samples", "30000", "--chunk", "1000", "--range", "0:99", "--histogram",
     "--seed", "7", "--quiet", "--output", good], check=0)
single = run([TALLY, "verify", good, "--all", "--threads", "1"], check=0)

check = Checklist()
for point in ("verify-read", "verify-report"):
    hold = Hold(work, point)
    cmd = mpi_command(3, ["verify", good, "--all", "--peer-timeout", str(PEER_TIMEOUT)], 1)
    proc = subprocess.Popen(cmd, env=dict(ENV, **hold.env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reached = hold.wait_reached(proc, seconds=120)
    check(reached, f"{point}: rank 0 reached the hold point")
    time.sleep(HELD_SECONDS)
    hold.release()
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    print(f"--- {point}: exit {proc.returncode}\n{out}{err}", flush=True)
    check(proc.returncode == 0, f"{point}: exit {proc.returncode}, expected 0")
    check(out == single.stdout, f"{point}: the single process's report")
    check("giving up" not in err and "was lost" not in err and "silent" not in err,
          f"{point}: no rank gave up on another")
check.exit()
