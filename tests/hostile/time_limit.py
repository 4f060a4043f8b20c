"""A requeue loop with a tiny --max-seconds (issue 13 H): every start must make progress,
so the same command repeated always completes, to the result of an uninterrupted run —
threads only and under mpirun -np 2. On the code before the fix every start stopped
before its first batch (exit 85, 0 chunks done) and the loop never ended."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import TALLY, Checklist, mpi_command, results, run, scratch  # noqa: E402

work = scratch("hostile-time-limit")
report = Checklist()



def chunks_done(path):
    p = run([TALLY, "inspect", path, "--json"], timeout=60, check=0)
    return json.loads(p.stdout)["chunks_done"]


def requeue_loop(label, command, out, limit=60):
    """Runs `command` until it completes; each start must leave more chunks done."""
    done_before = 0
    for start in range(1, limit + 1):
        p = run(command, timeout=300)
        if p.returncode == 0:
            return start
        if p.returncode != 85:
            report(False, f"{label}: start {start} exited {p.returncode}: {p.stderr.strip()[-2000:]}")
            return None
        done = chunks_done(out + ".ckpt")
        if done <= done_before:
            report(False, f"{label}: start {start} made no progress ({done} chunks done, {done_before} before)")
            return None
        done_before = done
    report(False, f"{label}: not complete after {limit} starts")
    return None


workload = ["run", "--tasks", "4", "--samples", "400000000", "--chunk", "8388608", "--seed", "11", "--quiet"]
reference = os.path.join(work, "reference.h5")
run([TALLY, *workload, "-o", reference], timeout=600, check=0)

out = os.path.join(work, "threads.h5")
starts = requeue_loop("threads only", [TALLY, *workload, "-o", out, "--max-seconds", "0.001"], out)
if starts is not None:
    report(results(out) == results(reference), f"threads only: complete after {starts} starts, result identical")

# Under mpirun rank 0's own batches are small (it serves the workers): fewer, larger
# chunks keep the number of launches down.
workload = ["run", "--tasks", "2", "--samples", "100000000", "--chunk", "16777216", "--seed", "12", "--quiet"]
reference = os.path.join(work, "reference-mpi.h5")
run([TALLY, *workload, "-o", reference], timeout=600, check=0)
out = os.path.join(work, "mpi.h5")
starts = requeue_loop("mpirun -np 2", mpi_command(2, [*workload, "-o", out, "--max-seconds", "0.001"], 1), out)
if starts is not None:
    report(results(out) == results(reference), f"mpirun -np 2: complete after {starts} starts, result identical")

report.exit()
