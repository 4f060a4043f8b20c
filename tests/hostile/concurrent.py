"""Hostile concurrency (issue 13, review 2): two runs on one results file, or on one
checkpoint with different results files, threads-only or under mpirun, must not both proceed. The second refuses up
front (exit 2, one line naming the first's pid and host) while the first completes
with the uninterrupted result; a lock left by a run killed with SIGKILL never blocks
the next one (flock dies with its holder), and a complete run leaves no lock file.
Review 1: a file that another program puts at -o during an MPI run is refused at the
end in one line, at once (no rank waits on a peer), with the finished state saved.
Issue 19: the lock covers every name a run writes, its previous checkpoint included
(defect 12); the first run is held at a named point, not raced against a clock (defect 9)."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, TALLY, Checklist, Hold, mpi_command, results, run, scratch  # noqa: E402

work = scratch("hostile-concurrent")
os.chdir(work)
report = Checklist()


def started(cmd, hold=None):
    return subprocess.Popen(cmd, env=dict(ENV, **(hold.env if hold else {})), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def refused(label, cmd, holder_pid):
    # The message comes from the run lock, which is taken before any work: no clock needed.
    try:
        p = run(cmd, timeout=60)
        code, err = p.returncode, p.stderr.strip()
    except subprocess.TimeoutExpired:
        code, err = "timeout", ""
    lines = err.splitlines()
    report(code == 2 and len(lines) == 1 and f"pid {holder_pid} on host {socket.gethostname()}" in err,
           f"{label}: exit {code}: {err[-300:]}")


# Run A holds its lock at the "locked" point (src/io/test_hold.hpp) while B to F try, so
# they meet it there whatever the machine's load; then A is let go and must complete.
workload = ["run", "--tasks", "4", "--samples", "16777216", "--chunk", "65536", "--seed", "5", "--quiet",
            "--threads", "1"]
run([TALLY, *workload, "-o", "reference.h5"], timeout=600, check=0)

hold = Hold(work, "locked")
a = started([TALLY, *workload, "-o", "same.h5"], hold)
report(hold.wait_reached(a) and os.path.exists("same.h5.lock"), "run A holds same.h5.lock")
refused("run B with the same -o", [TALLY, *workload, "-o", "same.h5"], a.pid)
refused("run C with the same --checkpoint, another -o",
        [TALLY, *workload, "-o", "other.h5", "--checkpoint", "same.h5.ckpt"], a.pid)
refused("run D with --force on the same -o", [TALLY, *workload, "-o", "same.h5", "--force"], a.pid)
# Issue 19, defect 12: A's previous checkpoint is a name A writes; it is locked too.
refused("run F with -o A's previous checkpoint (same.h5.ckpt.prev)", [TALLY, *workload, "-o", "same.h5.ckpt.prev"],
        a.pid)
refused("run G with --checkpoint A's previous checkpoint",
        [TALLY, *workload, "-o", "g.h5", "--checkpoint", "same.h5.ckpt.prev"], a.pid)
# Under MPI rank 0 takes the lock; its refusal is the start-up verdict every rank exits with.
m = run(mpi_command(2, [*workload, "-o", "same.h5"]), timeout=120)
report(m.returncode == 2 and f"in use by another tally run (pid {a.pid} " in m.stderr,
       f"run E under mpirun -np 2 with the same -o: exit {m.returncode}")
hold.release()
_, err = a.communicate(timeout=600)
report(a.returncode == 0 and results("same.h5") == results("reference.h5"),
       f"run A completes with the uninterrupted result: exit {a.returncode} {err.strip()[-300:]}")
left = sorted(n for n in os.listdir(work) if n.startswith(("same", "other", ".same", ".other", "g.h5")))
report(left == ["same.h5"], f"after A: only same.h5, no lock, checkpoint or temp file: {left}")

# Review 1: an error that reaches rank 0 only at the end (someone else's file appears
# at -o during an MPI run, so the no-clobber link fails) must reach the user at once
# as one line, not leave rank 0 in MPI_Finalize and the worker waiting --peer-timeout.
# The finished state is saved, so --force then only writes the file. Rank 0 is held
# just past its second path check under the lock while the file appears.
hold = Hold(work, "locked")
m = started(mpi_command(2, [*workload, "-o", "late.h5", "--peer-timeout", "60"]), hold)
report(hold.wait_reached(m) and os.path.exists("late.h5.lock"), "the MPI run holds late.h5.lock")
with open("late.h5", "w") as f:
    f.write("someone else's file\n")
t0 = time.monotonic()
hold.release()
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
# The work is well under a second of one thread; a wait on a peer would add --peer-timeout (60 s).
report(seconds < 45, f"the run ended without waiting --peer-timeout: {seconds:.1f} s")
forced = run([TALLY, *workload, "-o", "late.h5", "--force"], timeout=600)
report(forced.returncode == 0 and results("late.h5") == results("reference.h5")
       and "(1024 of 1024 chunks done" in forced.stderr and not os.path.exists("late.h5.ckpt"),
       f"--force then writes the saved result without recomputing: exit {forced.returncode} "
       f"{forced.stderr.strip()[-200:]}")

# A killed holder: its lock files stay, holding nothing; the next run proceeds.
hold = Hold(work, "locked")
k = started([TALLY, *workload, "-o", "killed.h5"], hold)
report(hold.wait_reached(k), "run K holds its lock")
k.send_signal(signal.SIGKILL)
k.communicate(timeout=60)
hold.release()
report(os.path.exists("killed.h5.lock"), "a SIGKILLed run leaves its lock file behind")
after = run([TALLY, *workload, "-o", "killed.h5"], timeout=600)
report(after.returncode == 0 and results("killed.h5") == results("reference.h5")
       and not any(n.startswith("killed.h5") and n.endswith(".lock") for n in os.listdir(work)),
       f"the next run is not blocked by it, completes with the uninterrupted result and removes them: "
       f"exit {after.returncode} {after.stderr.strip()[-300:]}")

# A lock file that is another output's name would be deleted with the lock: refused.
p = run([TALLY, *workload, "-o", "x.h5.ckpt.lock", "--checkpoint", "x.h5.ckpt"], timeout=30)
report(p.returncode == 2 and "lock file" in p.stderr, f"-o naming the checkpoint's lock file: exit {p.returncode} "
       f"{p.stderr.strip()[-200:]}")
# Another run's lock file, even with --force (issue 19): it would replace that run's lock,
# so both could write one file. Refused by its name, as long as that run holds it.
hold = Hold(work, "locked")
h = started([TALLY, *workload, "-o", "held.h5"], hold)
report(hold.wait_reached(h), "run H holds held.h5.lock")
for args in (["-o", "held.h5.lock", "--force"], ["-o", "y.h5", "--checkpoint", "held.h5.lock"]):
    p = run([TALLY, *workload, *args], timeout=30)
    report(p.returncode == 2 and "lock file" in p.stderr and len(p.stderr.strip().splitlines()) == 1
           and os.path.exists("held.h5.lock") and not os.path.exists("y.h5"),
           f"{' '.join(args)} while run H holds it: exit {p.returncode} {p.stderr.strip()[-200:]}")
hold.release()
_, err = h.communicate(timeout=600)
report(h.returncode == 0 and results("held.h5") == results("reference.h5") and not os.path.exists("held.h5.lock"),
       f"run H then completes with the uninterrupted result: exit {h.returncode} {err.strip()[-200:]}")

report.exit()
