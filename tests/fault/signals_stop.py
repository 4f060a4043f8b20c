"""Every stop signal, on rank 0, on a worker or on the launcher, and --max-seconds, ends
the run with exit 85 on every rank and a checkpoint; running the same command again
completes with the uninterrupted result."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.dirname(__file__))
from faultlib import calibrated_samples, finish, start, wait_for_ranks  # noqa: E402
from tallytest import MPI_FLAVOUR, TALLY, check, mpi_command, results, run, scratch, tally_json  # noqa: E402

work = scratch("signals")
tasks = 4
samples = calibrated_samples("fast", tasks, 3.0, work)
workload = ["run", "--tasks", str(tasks), "--samples", str(samples), "--chunk", "4194304", "--seed", "7",
            "--quiet", "--checkpoint-every", "0"]
reference_file = os.path.join(work, "reference.h5")
tally_json([TALLY, *workload, "--output", reference_file])
reference = results(reference_file)

failures = 0


def verdict(label, code, out, expect=(85,)):
    global failures
    stopped = os.path.exists(out + ".ckpt") and not os.path.exists(out)  # tally's own verdict: its files
    resumed = run([TALLY, *workload, "--output", out], timeout=600)
    ok = code in expect and stopped and resumed.returncode == 0 and results(out) == reference
    print(f"{'ok  ' if ok else 'FAIL'} {label}: exit {code}, resume exit {resumed.returncode}")
    if not ok:
        print(resumed.stderr[-1000:])
        failures += 1


# Threads only: the process itself.
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
    out = os.path.join(work, f"local-{sig.name}.h5")
    proc = start([TALLY, *workload, "--output", out])
    time.sleep(0.5)
    proc.send_signal(sig)
    code, _, err = finish(proc)
    check(os.path.exists(out + ".ckpt") or code != 85, f"{sig.name}: exit 85 without a checkpoint")
    verdict(f"threads-only {sig.name}", code, out)

# MPI: a signal on one rank stops every rank. Open MPI's mpirun forwards USR1/USR2 (TERM
# too, but then exits 1 itself); MPICH's Hydra forwards USR1, TERM and INT and returns
# the ranks' 85, while USR2 kills mpiexec and the ranks with no checkpoint
# (docs/parallel.md).
launcher_signals = (signal.SIGUSR1, signal.SIGUSR2) if MPI_FLAVOUR == "openmpi" else (signal.SIGUSR1, signal.SIGTERM,
                                                                                    signal.SIGINT)
for sig, where in ((signal.SIGTERM, "worker"), (signal.SIGINT, "rank 0"),
                   *((s, "launcher") for s in launcher_signals), (signal.SIGUSR1, "worker"), (signal.SIGTERM, "rank 0")):
    out = os.path.join(work, f"mpi-{sig.name}-{where.replace(' ', '')}.h5")
    proc = start(mpi_command(2, [*workload, "--output", out], 1))
    pids = wait_for_ranks(proc, 2)
    time.sleep(0.6)
    target = {"worker": pids.get(1), "rank 0": pids.get(0), "launcher": proc.pid}[where]
    os.kill(target, sig)
    code, _, err = finish(proc)
    noisy = "MPI_ABORT" in err or "Signal:" in err
    check(not noisy, f"{sig.name} on {where}: MPI abort noise:\n{err[-1500:]}")
    # Hydra returns 0 instead of the ranks' 85 in about 1 stop in 10 when the signal went
    # through mpiexec (measured, docs/parallel.md): there the files are the verdict.
    hydra_relay = MPI_FLAVOUR == "mpich" and where == "launcher"
    verdict(f"{MPI_FLAVOUR} launcher -np 2, {sig.name} on {where}", code, out, (85, 0) if hydra_relay else (85,))

# --max-seconds: a time limit of our own.
out = os.path.join(work, "max-seconds.h5")
p = run(mpi_command(2, [*workload, "--output", out, "--max-seconds", "0.5"], 1), timeout=120)
verdict("mpirun -np 2 --max-seconds 0.5", p.returncode, out)
sys.exit(1 if failures else 0)
