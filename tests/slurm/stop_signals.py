"""jobs/tally.sbatch never drops a stop signal and never waits for good on a launcher
(issue 19, defects 6 and 16), under the real Slurm of scripts/slurm-local:
- USR1 while the script reads tally's verdict, before the first launch: the script
  (set -u) used to die on an unset $launcher; now no launch follows, the job requeues
  and its next start completes;
- USR1 during the pause before a retry: it used to go to the dead launcher, and the
  next launch ran on unstopped to the time limit; now the pause ends at once, no launch
  follows, the job requeues from the checkpoint and completes;
- a launcher that does not return after the results file is complete is ended after
  TALLY_LAUNCHER_GRACE seconds and the job ends complete.
Deterministic: a stand-in TALLY_BIN (tally_stand_in.sh) holds the script where the
signal must land, instead of a sleep that guesses when it gets there."""
import json
import os
import re
import subprocess
import sys
import time

source = os.environ["TALLY_SOURCE_DIR"]
tally = os.environ["TALLY_BIN"]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tallytest import Checklist, scratch  # noqa: E402

work = scratch("slurm-stops")
conf = subprocess.run([os.path.join(source, "scripts", "slurm-local"), "env"], capture_output=True, text=True,
                      check=True).stdout.strip().split("=", 1)[1]
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", SLURM_CONF=conf,
           TALLY_BIN=os.path.join(os.path.dirname(os.path.abspath(__file__)), "tally_stand_in.sh"), WRAP_REAL=tally)
# 1024 chunks: a start stopped by --max-seconds 0.001 leaves most of the work to the next.
ARGS = "--quiet --tasks 4 --samples 16777216 --chunk 65536"
report = Checklist()


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), env=kw.pop("env", env), capture_output=True, text=True, timeout=120, **kw)


def submit(name, extra):
    state = os.path.join(work, name)
    os.mkdir(state)
    log = os.path.join(work, f"{name}.log")
    e = dict(env, WRAP_DIR=state, TALLY_OUTPUT=os.path.join(work, f"{name}.h5"), TALLY_ARGS=ARGS, **extra)
    p = sh("sbatch", "--parsable", "-o", log, os.path.join(source, "jobs", "tally.sbatch"), env=e)
    if p.returncode != 0:
        raise AssertionError(f"sbatch failed: {p.stderr}")
    return p.stdout.strip().split(";")[0], state, log


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def gone(job, timeout=180):
    ok = wait_until(lambda: not sh("squeue", "-h", "-j", job, "-o", "%T").stdout.strip(), timeout)
    if not ok:
        sh("scancel", job)
    return ok


def text(log):
    return open(log).read() if os.path.exists(log) else ""


def in_log(log, pattern):
    return lambda: re.search(pattern, text(log)) is not None


def sums(path):
    p = sh(tally, "inspect", path, "--json")
    return (json.loads(p.stdout)["total"], json.loads(p.stdout)["status"]) if p.returncode == 0 else None


reference = os.path.join(work, "reference.h5")
subprocess.run([tally, "run", *ARGS.split(), "-o", reference], check=True, timeout=300)
expected = sums(reference)

# 1. USR1 before the first launch (the script reading its verdict).
job, state, log = submit("before", {"WRAP_HOLD_INSPECT": "1"})
held = wait_until(lambda: os.path.exists(os.path.join(state, "held")), 120)
sh("scancel", "-b", "-s", "USR1", job)
open(os.path.join(state, "release"), "w").close()
done = gone(job)
t = text(log)
report(held and done and "stop asked before the launch: not launching" in t and "start 2]" in t
       and "unbound variable" not in t and sums(os.path.join(work, "before.h5")) == expected,
       f"USR1 before the first launch: no launch, requeued, next start complete: {t[-700:]}")

# 2. USR1 during the pause before a retry (the first launch failed after a checkpoint).
job, state, log = submit("pause", {"WRAP_FAIL_FIRST_RUN": "1", "TALLY_RETRY_PAUSE": "600"})
paused = wait_until(in_log(log, r"retry 1 of \d+ .* in 600 s"), 180)
t0 = time.monotonic()
sh("scancel", "-b", "-s", "USR1", job)
done = gone(job)
t = text(log)
start1 = t.split("start 2]")[0]
report(paused and done and "stop asked before the launch: not launching" in start1 and start1.count("launcher (pid") == 0
       and "start 2]" in t and "resumed from" in t and sums(os.path.join(work, "pause.h5")) == expected,
       f"USR1 in the retry pause: pause ended ({time.monotonic() - t0:.0f} s), no second launch, requeued, "
       f"resumed and complete: {t[-700:]}")

# 3. A launcher that never returns after the results are complete.
job, state, log = submit("hang", {"WRAP_HANG_AFTER_RUN": "1", "TALLY_LAUNCHER_GRACE": "3"})
done = gone(job, 150)
t = text(log)
report(done and "has not exited 3 s later; ending it" in t and "complete:" in t
       and sums(os.path.join(work, "hang.h5")) == expected,
       f"a launcher hung after the results: ended after TALLY_LAUNCHER_GRACE, job complete: {t[-700:]}")
report.exit()
