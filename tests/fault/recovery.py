"""In-job recovery on one machine: under `mpirun --mca orte_enable_recovery 1` a worker
rank is killed (SIGKILL) or hung (SIGSTOP, left stopped) at a random (seeded, logged)
moment; the run must complete WITHOUT a restart, with results bit-identical to a
threads-only run, the lost rank named, and every surviving rank gone within the
documented bound (peer timeout + 30 s) after the results file is written."""
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.dirname(__file__))
from faultlib import calibrated_samples, rank_pids, start, wait_for_ranks  # noqa: E402
from tallytest import MPI_FLAVOUR, MPIRUN, TALLY, check, results, scratch, tally_json  # noqa: E402

import h5py  # noqa: E402

if MPI_FLAVOUR != "openmpi":
    print("SKIP: in-job recovery needs Open MPI's orte_enable_recovery; MPICH's Hydra kills the survivors "
          "even with -disable-auto-cleanup (measured, docs/parallel.md)")
    sys.exit(77)

seed = int(os.environ.get("TALLY_FAULT_SEED", "19"))  # fixed: CI runs the same cases every time
print(f"fault seed {seed} (set TALLY_FAULT_SEED to replay)")
rng = random.Random(seed)
work = scratch("recovery")
PEER_TIMEOUT = 3
BOUND = PEER_TIMEOUT + 30
tasks = 6
samples = calibrated_samples("fast", tasks, 8.0, work)  # ~8 s of one thread: ≥ 4 s on 3 ranks
workload = ["run", "--tasks", str(tasks), "--samples", str(samples), "--seed", str(seed), "--quiet",
            "--checkpoint-every", "1", "--peer-timeout", str(PEER_TIMEOUT)]
reference_file = os.path.join(work, "reference.h5")
t0 = time.monotonic()
tally_json([TALLY, *workload, "--threads", "2", "--output", reference_file, "--force"], timeout=300)
reference_seconds = time.monotonic() - t0
reference = results(reference_file)
print(f"workload {tasks} x {samples}: threads-only {reference_seconds:.2f} s")


def lost_rows(path):
    with h5py.File(path, "r") as f:
        if "lost" not in f:
            return None  # files before format 2 do not record lost ranks
        return [int(r) for r in f["lost/rank"][()]]


failures = 0
for fault in ("kill", "stop"):
    out = os.path.join(work, f"{fault}.h5")
    cmd = [MPIRUN, "-np", "3", "--oversubscribe", "--bind-to", "none", "--mca", "orte_enable_recovery", "1",
           TALLY, *workload, "--threads", "1", "--output", out]
    proc = start(cmd)
    pids = wait_for_ranks(proc, 3)
    victim_rank = rng.choice([1, 2])
    victim = pids.get(victim_rank)
    delay = rng.uniform(0.2, 0.5) * reference_seconds
    time.sleep(delay)
    check(proc.poll() is None and victim is not None, "the run ended before the fault could be injected")
    t_fault = time.monotonic()
    os.kill(victim, signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
    # Judge by the results file, never by mpirun's exit code (recovery mode returns 0 anyway).
    deadline = t_fault + 120
    while not os.path.exists(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    written = time.monotonic()
    survivors = [pid for rank, pid in pids.items() if rank != victim_rank]
    while time.monotonic() < written + BOUND and any(os.path.exists(f"/proc/{p}") and
                                                     open(f"/proc/{p}/stat").read().split()[2] != "Z"
                                                     for p in survivors):
        time.sleep(0.05)
    survivors_gone = time.monotonic() - written
    lingering = [p for p in survivors if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"]
    if fault == "stop":
        os.kill(victim, signal.SIGKILL)  # the launcher waits for a stopped rank forever: end it
    try:
        _, err = proc.communicate(timeout=60)
    except Exception:
        proc.kill()
        _, err = proc.communicate()
    ok = os.path.exists(out)
    problems = []
    if not ok:
        problems.append("no results file")
    else:
        if results(out) != reference:
            problems.append("results differ from the threads-only run")
        with h5py.File(out, "r") as f:
            if f.attrs["status"] != b"complete" and f.attrs["status"] != "complete":
                problems.append(f"status {f.attrs['status']}")
            if int(f.attrs["restarts"]) != 0:
                problems.append("it restarted")
        rows = lost_rows(out)
        if rows is not None and rows != [victim_rank]:
            problems.append(f"lost ranks recorded {rows}, expected [{victim_rank}]")
    if f"rank {victim_rank} on" not in err or "was lost" not in err:
        problems.append("rank 0 did not report the lost rank")
    if lingering:
        problems.append(f"surviving ranks {lingering} still alive {BOUND} s after the results were written")
    print(("ok   " if not problems else "FAIL ") +
          f"{fault} rank {victim_rank} after {delay:.2f} s: results {written - t_fault:.2f} s after the fault, "
          f"survivors gone {survivors_gone:.2f} s later; launcher exit {proc.returncode}; " + "; ".join(problems))
    if problems:
        print(err[-2000:])
        failures += 1
sys.exit(1 if failures else 0)
