"""`tally verify --all` under `mpirun -np 3 --mca orte_enable_recovery 1` with a worker
rank hung (SIGSTOP, left stopped) or killed (SIGKILL) mid-replay: rank 0 gives it up
within --peer-timeout, replays its share itself and prints exactly the single process's
report, naming the lost rank on stderr; the surviving worker exits within the bound."""
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.dirname(__file__))
from faultlib import calibrated_samples, start, wait_for_ranks  # noqa: E402
from tallytest import MPI_FLAVOUR, MPIRUN, TALLY, check, run, scratch  # noqa: E402

if MPI_FLAVOUR != "openmpi":
    print("SKIP: needs Open MPI's orte_enable_recovery (MPICH's Hydra ends the job when a rank dies)")
    sys.exit(77)

seed = int(os.environ.get("TALLY_FAULT_SEED", "19"))  # fixed: CI runs the same cases every time
print(f"fault seed {seed} (set TALLY_FAULT_SEED to replay)")
rng = random.Random(seed)
work = scratch("verify-lost")
PEER_TIMEOUT = 3
tasks = 6
samples = calibrated_samples("fast", tasks, 6.0, work)  # ~6 s of replay on one thread
good = os.path.join(work, "good.h5")
run([TALLY, "run", "--tasks", str(tasks), "--samples", str(samples), "--seed", str(seed), "--quiet",
     "--output", good], check=0, timeout=300)
t0 = time.monotonic()
single = run([TALLY, "verify", good, "--all", "--threads", "1"], check=0, timeout=300)
single_seconds = time.monotonic() - t0
print(f"{tasks} x {samples}: single-process verify --all {single_seconds:.2f} s")

failures = 0
for fault in ("stop", "kill"):
    cmd = [MPIRUN, "-np", "3", "--oversubscribe", "--bind-to", "none", "--mca", "orte_enable_recovery", "1",
           TALLY, "verify", good, "--all", "--threads", "1", "--peer-timeout", str(PEER_TIMEOUT)]
    proc = start(cmd)
    pids = wait_for_ranks(proc, 3)
    victim_rank = rng.choice([1, 2])
    victim = pids.get(victim_rank)
    time.sleep(rng.uniform(0.3, 0.5) * single_seconds)
    check(proc.poll() is None and victim is not None, "verify ended before the fault could be injected")
    os.kill(victim, signal.SIGSTOP if fault == "stop" else signal.SIGKILL)
    # Rank 0 prints the report and ends; a stopped rank would keep the launcher waiting.
    t_fault = time.monotonic()
    survivors = [pid for rank, pid in pids.items() if rank != victim_rank]
    bound = t_fault + 3 * single_seconds + 2 * PEER_TIMEOUT + 60
    while time.monotonic() < bound and any(
            os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z" for p in survivors):
        time.sleep(0.05)
    lingering = [p for p in survivors
                 if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"]
    if fault == "stop":
        os.kill(victim, signal.SIGKILL)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    notes = [line for line in err.splitlines() if line.startswith(f"tally: rank {victim_rank} ")]
    problems = []
    if out != single.stdout:
        problems.append(f"report differs from the single process's:\n{out}\n--- single\n{single.stdout}")
    if not (len(notes) == 1 and "rank 0 replayed its share" in notes[0]):
        problems.append(f"rank {victim_rank} not named once as replayed by rank 0: {err[-1500:]}")
    if lingering:
        problems.append(f"survivors {lingering} still running at the bound")
    print(f"{'ok  ' if not problems else 'FAIL'} {fault} rank {victim_rank}: {notes}"
          + "".join("\n  " + p for p in problems))
    failures += bool(problems)
sys.exit(1 if failures else 0)
