"""Hostile signals (issue 13 H, review 8): SIGHUP (a dropped ssh session) stops like
SIGTERM — checkpoint, exit 85, and the next run completes with the uninterrupted result;
a second stop signal during the stop exits at once with 128+signal, and the checkpoint
on disk stays valid (the same command resumes and completes exactly).
Deterministic (issue 19, defect 9): each signal is sent while tally is held at a named
point (src/io/test_hold.hpp) — after its handlers are installed and its lock taken, or
just before the stop's checkpoint write — not after a sleep that guesses when it gets
there."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, TALLY, Checklist, Hold, file_digest, results, run, scratch  # noqa: E402

work = scratch("hostile-signals")
report = Checklist()


def started(cmd, env):
    return subprocess.Popen(cmd, env=dict(ENV, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# 1024 chunks on one thread: a stop always finds work left to do.
workload = ["run", "--tasks", "4", "--samples", "16777216", "--chunk", "65536", "--threads", "1", "--seed", "7",
            "--quiet", "--checkpoint-every", "0"]
reference = os.path.join(work, "reference.h5")
run([TALLY, *workload, "-o", reference], timeout=600, check=0)
reference_results = results(reference)

# SIGHUP: like SIGTERM. Sent while the run holds its lock, before any work.
out = os.path.join(work, "hup.h5")
locked = Hold(work, "locked")
proc = started([TALLY, *workload, "-o", out], locked.env)
reached = locked.wait_reached(proc)
proc.send_signal(signal.SIGHUP)
locked.release()
_, err = proc.communicate(timeout=120)
report(reached and proc.returncode == 85 and os.path.exists(out + ".ckpt"),
       f"SIGHUP: exit {proc.returncode} (85 expected), checkpoint {os.path.exists(out + '.ckpt')}: {err.strip()[-300:]}")
resumed = run([TALLY, *workload, "-o", out], timeout=600)
report(resumed.returncode == 0 and results(out) == reference_results,
       f"after SIGHUP the run resumes exactly: exit {resumed.returncode}")

# Second signal: a first start leaves a checkpoint; in the second, the first SIGTERM
# starts the stop and the second arrives while the stop is about to write its
# checkpoint: the process must end at once, 143, the first start's checkpoint intact.
out = os.path.join(work, "twice.h5")
ckpt = out + ".ckpt"
run([TALLY, *workload, "-o", out, "--max-seconds", "0.001"], timeout=600, check=85)
before = file_digest(ckpt)
locked, writing = Hold(work, "locked"), Hold(work, "stop-write")
proc = started([TALLY, *workload, "-o", out], Hold.combined(locked, writing))
first = locked.wait_reached(proc)
proc.send_signal(signal.SIGTERM)
locked.release()
second = writing.wait_reached(proc)
proc.send_signal(signal.SIGTERM)
try:
    _, err = proc.communicate(timeout=60)  # it must not need the release
except subprocess.TimeoutExpired:
    writing.release()
    _, err = proc.communicate(timeout=120)
writing.release()
report(first and second and proc.returncode == 128 + signal.SIGTERM,
       f"second SIGTERM during the stop exits at once: exit {proc.returncode} (143 expected): {err.strip()[-300:]}")
# Its lock files stay (holding nothing: flock ends with its holder); no temp file.
leftovers = [n for n in os.listdir(work) if n.startswith(("twice.h5", ".twice.h5"))
             and n != "twice.h5.ckpt" and not n.endswith(".lock")]
report(file_digest(ckpt) == before and not leftovers,
       f"the checkpoint on disk is the first start's, no temp file left: {leftovers}")
finished = run([TALLY, *workload, "-o", out], timeout=600)
report(finished.returncode == 0 and "resumed from" in finished.stderr and results(out) == reference_results,
       f"after two signals the same command resumes and completes exactly: exit {finished.returncode} "
       f"{finished.stderr.strip()[-300:]}")

report.exit()
