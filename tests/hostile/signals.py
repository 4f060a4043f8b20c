"""Hostile signals (issue 13 H, review 8): SIGHUP (a dropped ssh session) stops like
SIGTERM — checkpoint, exit 85, and the next run completes with the uninterrupted result;
a second stop signal during the stop exits at once with 128+signal, and the checkpoint
on disk stays valid (the same command resumes and completes exactly)."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fault"))
from faultlib import calibrated_samples  # noqa: E402
from tallytest import TALLY, Checklist, results, run, scratch  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
work = scratch("hostile-signals")
report = Checklist()



def started(cmd):
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# SIGHUP: like SIGTERM.
# Sized by tally's own speed (about 6 s of one thread), so the signal lands mid-run on any CPU.
workload = ["run", "--tasks", "4", "--samples", str(calibrated_samples("fast", 4, 6.0, work)), "--chunk", "4194304",
            "--seed", "7", "--quiet", "--checkpoint-every", "0"]
reference = os.path.join(work, "reference.h5")
run([TALLY, *workload, "-o", reference], timeout=600, check=0)
out = os.path.join(work, "hup.h5")
proc = started([TALLY, *workload, "-o", out])
time.sleep(0.5)
proc.send_signal(signal.SIGHUP)
_, err = proc.communicate(timeout=120)
report(proc.returncode == 85 and os.path.exists(out + ".ckpt"),
       f"SIGHUP: exit {proc.returncode} (85 expected), checkpoint {os.path.exists(out + '.ckpt')}: {err.strip()[-300:]}")
resumed = run([TALLY, *workload, "-o", out], timeout=600)
report(resumed.returncode == 0 and results(out) == results(reference), f"after SIGHUP the run resumes exactly: "
       f"exit {resumed.returncode}")

# Second signal: a run whose stop takes a while (a big checkpoint to write). The first
# SIGTERM starts the stop; the second, a moment later, must end the process at once.
many = ["run", "--tasks", "4194304", "--samples", "64", "--seed", "9", "--quiet", "--checkpoint-every", "0"]
out = os.path.join(work, "twice.h5")
ckpt = out + ".ckpt"
proc = started([TALLY, *many, "-o", out])
time.sleep(1.5)
proc.send_signal(signal.SIGTERM)
time.sleep(0.05)
t0 = time.monotonic()
proc.send_signal(signal.SIGTERM)
_, err = proc.communicate(timeout=120)
seconds = time.monotonic() - t0
report(proc.returncode == 128 + signal.SIGTERM,
       f"second SIGTERM exits at once: exit {proc.returncode} (143 expected) {seconds:.2f} s after it: "
       f"{err.strip()[-300:]}")
leftovers = [n for n in os.listdir(work) if n.startswith("twice.h5") and n not in ("twice.h5.ckpt", "twice.h5.ckpt.prev")]
finished = run([TALLY, *many, "-o", out], timeout=600)
report(finished.returncode == 0, f"after two signals the same command completes: exit {finished.returncode} "
       f"{finished.stderr.strip()[-300:]}")

report.exit()
