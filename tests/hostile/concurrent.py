"""Hostile concurrency (issue 13, review 2): two runs on one results file, or on one
checkpoint with different results files, threads-only or under mpirun, must not both proceed. The second refuses up
front (exit 2, one line naming the first's pid and host) while the first completes
with the uninterrupted result; a lock left by a run killed with SIGKILL never blocks
the next one (flock dies with its holder), and a complete run leaves no lock file.
Review 1: a file that another program puts at -o during an MPI run is refused at the
end in one line, at once (no rank waits on a peer), with the finished state saved."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fault"))
from faultlib import calibrated_samples  # noqa: E402
from tallytest import ENV, TALLY, Checklist, mpi_command, results, run, scratch  # noqa: E402

work = scratch("hostile-concurrent")
os.chdir(work)
report = Checklist()



def started(cmd):
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.path.exists(path)


def refused(label, cmd, holder_pid):
    t0 = time.monotonic()
    try:
        p = run(cmd, timeout=30)
        code, err = p.returncode, p.stderr.strip()
    except subprocess.TimeoutExpired:
        code, err = "timeout", ""
    seconds = time.monotonic() - t0
    lines = err.splitlines()
    report(code == 2 and seconds < 5 and len(lines) == 1 and f"pid {holder_pid} on host {socket.gethostname()}" in err,
           f"{label}: exit {code} in {seconds:.1f} s: {err[-300:]}")


# About 8 s of one thread: run A is surely still computing while B to E try.
samples = calibrated_samples("fast", 4, 8.0, work)
workload = ["run", "--tasks", "4", "--samples", str(samples), "--seed", "5", "--quiet", "--threads", "1"]
run([TALLY, *workload, "-o", "reference.h5"], timeout=600, check=0)

a = started([TALLY, *workload, "-o", "same.h5"])
report(wait_for("same.h5.lock", a), "run A holds same.h5.lock")
refused("run B with the same -o", [TALLY, *workload, "-o", "same.h5"], a.pid)
refused("run C with the same --checkpoint, another -o",
        [TALLY, *workload, "-o", "other.h5", "--checkpoint", "same.h5.ckpt"], a.pid)
refused("run D with --force on the same -o", [TALLY, *workload, "-o", "same.h5", "--force"], a.pid)
# Under MPI rank 0 takes the lock; its refusal is the start-up verdict every rank exits with.
t0 = time.monotonic()
m = run(mpi_command(2, [*workload, "-o", "same.h5"]), timeout=60)
report(m.returncode == 2 and f"in use by another tally run (pid {a.pid} " in m.stderr and time.monotonic() - t0 < 20,
       f"run E under mpirun -np 2 with the same -o: exit {m.returncode} in {time.monotonic() - t0:.1f} s")
_, err = a.communicate(timeout=600)
report(a.returncode == 0 and results("same.h5") == results("reference.h5"),
       f"run A completes with the uninterrupted result: exit {a.returncode} {err.strip()[-300:]}")
left = sorted(n for n in os.listdir(work) if n.startswith(("same", "other", ".same", ".other")))
report(left == ["same.h5"], f"after A: only same.h5, no lock, checkpoint or temp file: {left}")

# Review 1: an error that reaches rank 0 only at the end (someone else's file appears
# at -o during an MPI run, so the no-clobber link fails) must reach the user at once
# as one line, not leave rank 0 in MPI_Finalize and the worker waiting --peer-timeout.
# The finished state is saved, so --force then only writes the file.
t0 = time.monotonic()
m = started(mpi_command(2, [*workload, "-o", "late.h5", "--peer-timeout", "60"]))
report(wait_for("late.h5.lock", m), "the MPI run holds late.h5.lock")
time.sleep(1)  # past the second path check under the lock: the work is under way
with open("late.h5", "w") as f:
    f.write("someone else's file\n")
try:
    _, err = m.communicate(timeout=180)
except subprocess.TimeoutExpired:
    m.kill()
    _, err = m.communicate()
seconds = time.monotonic() - t0
lines = [line for line in err.splitlines() if line.startswith("tally")]
with open("late.h5") as f:
    untouched = f.read() == "someone else's file\n"
report(m.returncode == 2 and len(lines) == 1 and "late.h5 exists" in err and untouched
       and os.path.exists("late.h5.ckpt"),
       f"output created during an MPI run: exit {m.returncode}, one line, file untouched, checkpoint kept: "
       f"{err.strip()[-300:]}")
# The work is about 8 s of one thread; a wait on a peer would add --peer-timeout (60 s).
report(seconds < 45, f"the run ended without waiting --peer-timeout: {seconds:.1f} s")
t0 = time.monotonic()
forced = run([TALLY, *workload, "-o", "late.h5", "--force"], timeout=600)
report(forced.returncode == 0 and results("late.h5") == results("reference.h5")
       and time.monotonic() - t0 < 5 and not os.path.exists("late.h5.ckpt"),
       f"--force then writes the saved result without recomputing: exit {forced.returncode} in "
       f"{time.monotonic() - t0:.1f} s {forced.stderr.strip()[-200:]}")

# A killed holder: its lock file stays, holding nothing; the next run proceeds and resumes.
k = started([TALLY, *workload, "-o", "killed.h5", "--checkpoint-every", "0.2"])
wait_for("killed.h5.ckpt", k)
k.send_signal(signal.SIGKILL)
k.communicate(timeout=60)
report(os.path.exists("killed.h5.lock"), "a SIGKILLed run leaves its lock file behind")
after = run([TALLY, *workload, "-o", "killed.h5"], timeout=600)
report(after.returncode == 0 and results("killed.h5") == results("reference.h5")
       and not os.path.exists("killed.h5.lock"),
       f"the next run is not blocked by it, resumes to the uninterrupted result and removes it: "
       f"exit {after.returncode} {after.stderr.strip()[-300:]}")

# A lock file that is another output's name would be deleted with the lock: refused.
p = run([TALLY, *workload, "-o", "x.h5.ckpt.lock", "--checkpoint", "x.h5.ckpt"], timeout=30)
report(p.returncode == 2 and "same file" in p.stderr, f"-o naming the checkpoint's lock file: exit {p.returncode} "
       f"{p.stderr.strip()[-200:]}")

report.exit()
