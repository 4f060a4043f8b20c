"""Cost of in-job recovery (docs/performance.md), measured in one run:
1. normal path: the same workloads with a tally built before the recovery machinery
   (--before PATH) and with this one, interleaved (seed workload threads-only and under
   mpirun -np 2; a >= 10 s run under mpirun -np 3);
2. recovery: a worker of three killed halfway under `mpirun --mca orte_enable_recovery 1`
   -- time from the kill to rank 0 declaring it lost (its batches are handed out at
   once), and the run's extra wall time against an undisturbed run.
Usage: recovery_cost.py ROOT [--before OLD_TALLY] [--peer-timeout S]"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import ENV as env, interleaved, machine_line, tally_binary

root = sys.argv[1]
args = sys.argv[2:]
before = args[args.index("--before") + 1] if "--before" in args else None
peer_timeout = float(args[args.index("--peer-timeout") + 1]) if "--peer-timeout" in args else 3.0
tally = tally_binary(root)
work = tempfile.mkdtemp(prefix="tally-recovery-bench-")
mpirun = ["mpirun", "--oversubscribe", "--bind-to", "none"]


def wall(cmd):
    """A run's wall seconds, into a fresh results file each time."""
    out = os.path.join(work, "o.h5")
    t0 = time.perf_counter()
    subprocess.run(cmd + ["--output", out, "--force", "-q"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    os.remove(out)
    return took


print(machine_line("tally recovery cost"))
print(f"# command: bench/app/recovery_cost.py . {' '.join(args)}")

# Calibrate a >= 10 s run of three single-threaded ranks.
probe = json.loads(subprocess.run([tally, "run", "--tasks", "1", "--samples", "2000000000", "--threads", "1", "--json",
                                   "--output", os.path.join(work, "p.h5"), "--force"], env=env, check=True,
                                  capture_output=True, text=True).stdout)
rate = 2e9 / probe["wall_seconds"]
os.remove(os.path.join(work, "p.h5"))
big = ["--tasks", "12", "--samples", str(int(rate * 10 * min(3, os.cpu_count()) / 12))]

if before:
    print("\n## normal path: before vs after the recovery machinery (median wall s, interleaved)")
    for label, extra, repeats in (("seed workload, threads only", [], 15),
                                  ("seed workload, mpirun -np 2", "mpi2", 9),
                                  (">= 10 s run, mpirun -np 3 x 1 thread", "big", 3)):
        cmds = {}
        for name, binary in (("before", before), ("after", tally)):
            if extra == "mpi2":
                cmds[name] = mpirun + ["-np", "2", binary, "run", "--threads", "1"]
            elif extra == "big":
                cmds[name] = mpirun + ["-np", "3", binary, "run", "--threads", "1", *big]
            else:
                cmds[name] = [binary, "run"]
        t = interleaved(cmds, repeats, timer=wall)
        print(f"{label:40s} before {t['before']:8.3f}  after {t['after']:8.3f}  after/before {t['after'] / t['before']:.3f}")

print(f"\n## a worker of three killed halfway (mpirun --mca orte_enable_recovery 1, --peer-timeout {peer_timeout:g})")
cmd = mpirun + ["--mca", "orte_enable_recovery", "1", "-np", "3", tally, "run", "--threads", "1", *big,
                "--peer-timeout", str(peer_timeout), "--checkpoint-every", "0"]
undisturbed = [wall(cmd) for _ in range(2)]
out = os.path.join(work, "k.h5")
t0 = time.perf_counter()
proc = subprocess.Popen(cmd + ["--output", out, "--force", "-q"], env=env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, text=True)
time.sleep(statistics.median(undisturbed) / 2)
pids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
victim = sorted(int(p) for p in pids)[1]
t_kill = time.perf_counter()
os.kill(victim, signal.SIGKILL)
_, err = proc.communicate(timeout=300)
total = time.perf_counter() - t0
lost_line = next((l for l in err.splitlines() if "was lost" in l), "no loss reported")
print(f"undisturbed run (median of 2)            {statistics.median(undisturbed):8.3f} s")
print(f"run that lost one worker halfway         {total:8.3f} s  (+{total - statistics.median(undisturbed):.3f} s)")
print(f"kill at {t_kill - t0:.3f} s; rank 0 said: {lost_line}")
print(f"detection is the silence deadline (--peer-timeout {peer_timeout:g} s) unless MPI reports an error first; "
      f"the lost batches are handed to the next requester at once")
