"""jobs/ against a real Slurm (scripts/slurm-local): normal completion, USR1 ->
checkpoint -> requeue -> resume, a rank killed -> retried, a job array, a pipeline
with a dependency, and bad input failing once with exit 2. Results are compared
with a direct mpirun run of the same workload; the requeued run's file must carry both
starts with this job's Slurm ids and the binary's provenance."""
import json
import os
import re
import signal
import subprocess
import sys
import time

source = os.environ["TALLY_SOURCE_DIR"]
tally = os.environ["TALLY_BIN"]
jobs = os.path.join(source, "jobs")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tallytest import scratch  # noqa: E402

work = scratch("slurm")  # removed however the test ends
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", TALLY_BIN=tally,
           TALLY_ANALYZE=os.path.join(source, "scripts", "analyze"))
conf = subprocess.run([os.path.join(source, "scripts", "slurm-local"), "env"], capture_output=True, text=True,
                      check=True).stdout.strip().split("=", 1)[1]
env["SLURM_CONF"] = conf
failures = []
LONG = "--quiet --stream numpy --tasks 4 --samples 2500000000 --chunk 4194304"
SHORT = "--quiet --tasks 4 --samples 3000000"


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), env=kw.pop("env", env), capture_output=True, text=True, **kw)


def submit(script, log, extra_env=None, options=()):
    e = dict(env, **(extra_env or {}))
    p = sh("sbatch", "--parsable", "-o", log, *options, script, env=e)
    if p.returncode != 0:
        raise AssertionError(f"sbatch failed: {p.stderr}")
    return p.stdout.strip().split(";")[0]


def wait_gone(job, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sh("squeue", "-h", "-j", job, "-o", "%T").stdout.strip():
            return True
        time.sleep(0.5)
    return False


def wait_for(path, pattern, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and re.search(pattern, open(path).read()):
            return True
        time.sleep(0.2)
    return False


def wait_exists(path, timeout=120):
    """Waits (bounded) for a file: the state a signal or a kill must find, not a guess of time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not os.path.exists(path):
        time.sleep(0.1)
    return os.path.exists(path)


def sums(path):
    p = sh(tally, "inspect", path, "--json")
    if p.returncode != 0:
        return None
    d = json.loads(p.stdout)
    return d["task_sums"], d["total"], d["status"]


def expect(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}")
    if not ok:
        failures.append(name)


def direct(args, name):
    out = os.path.join(work, f"direct-{name}.h5")
    sh("mpirun", "-np", "2", "--oversubscribe", tally, "run", *args.split(), "--output", out, check=True)
    return sums(out)


reference_long, reference_short = direct(LONG, "long"), direct(SHORT, "short")

# 1. Normal completion through srun.
out = os.path.join(work, "normal.h5")
log = os.path.join(work, "normal.log")
job = submit(os.path.join(jobs, "tally.sbatch"), log, {"TALLY_OUTPUT": out, "TALLY_ARGS": SHORT})
expect("normal completion", wait_gone(job) and sums(out) == reference_short, open(log).read()[-300:] if os.path.exists(log) else "")

# 2. USR1 -> checkpoint -> requeue -> resume -> identical to direct mpirun.
out = os.path.join(work, "requeue.h5")
log = os.path.join(work, "requeue.log")
job = submit(os.path.join(jobs, "tally.sbatch"), log,
             {"TALLY_OUTPUT": out, "TALLY_ARGS": LONG, "TALLY_CHECKPOINT_EVERY": "1"})
# Once the first checkpoint exists, tally runs and the stop must resume from a checkpoint.
started = wait_for(log, r"start 1\] output") and wait_exists(out + ".ckpt")
sh("scancel", "-b", "-s", "USR1", job)
done = wait_gone(job, 180)
text = open(log).read() if os.path.exists(log) else ""
expect("USR1 -> checkpoint -> requeue -> resume",
       started and done and "requeueing" in text and "start 2]" in text and "resumed from" in text
       and sums(out) == reference_long, text[-600:] if sums(out) != reference_long else "")
# The restart history and provenance of that file, written under a real Slurm (issue 14).
p = sh(tally, "inspect", out, "--json")
facts = json.loads(p.stdout) if p.returncode == 0 else {"starts": [], "provenance": {}}
starts, prov = facts["starts"], facts["provenance"]
expect("history under Slurm: one row per start, this job's id, exit 85 then 0",
       [s["exit_code"] for s in starts] == [85, 0] and all(s["slurm_job_id"] == job and s["slurm_step_id"] != ""
                                                         and s["hosts"] and s["ranks"] >= 1 for s in starts),
       json.dumps(starts)[:600])
expect("provenance under Slurm: the MPI library, HDF5, kernel path, version",
       prov.get("mpi_library", "").startswith("Open MPI") and prov.get("hdf5_version", "").startswith("1.")
       and prov.get("kernel_path") in ("avx512", "portable") and bool(prov.get("tally_version")),
       json.dumps(prov)[:600])

# 3. A rank killed with -9 -> retried inside the allocation -> identical result.
out = os.path.join(work, "killed.h5")
log = os.path.join(work, "killed.log")
job = submit(os.path.join(jobs, "tally.sbatch"), log,
             {"TALLY_OUTPUT": out, "TALLY_ARGS": LONG, "TALLY_CHECKPOINT_EVERY": "1", "TALLY_LAUNCHER": "mpirun"})
wait_for(log, r"start 1\] output")
wait_exists(out + ".ckpt")  # every rank is up and a checkpoint exists to retry from
victims = [int(pid) for pid in sh("pgrep", "-x", "tally").stdout.split()
           if out in open(f"/proc/{pid}/cmdline").read().replace("\0", " ")]
if victims:
    os.kill(victims[-1], signal.SIGKILL)
done = wait_gone(job, 180)
text = open(log).read() if os.path.exists(log) else ""
expect("rank killed -> retried -> identical", bool(victims) and done and "retry 1 of" in text
       and sums(out) == reference_long, text[-600:] if sums(out) != reference_long else "")

# 4. A job array of 3: one file per index, seeds 0..2.
sweep_dir = os.path.join(work, "sweep")
job = submit(os.path.join(jobs, "sweep.sbatch"), os.path.join(work, "sweep-%a.log"),
             {"TALLY_ARGS": SHORT, "TALLY_SWEEP_DIR": sweep_dir}, ["--array=0-2"])
wait_gone(job, 120)
results = [sums(os.path.join(sweep_dir, f"tally-{i}.h5")) for i in range(3)]
expect("array of 3", all(r and r[2] == "complete" for r in results) and len({r[1] for r in results if r}) == 3
       and results[0] == reference_short, str([r and r[1] for r in results]))

# 5. Pipeline: run, then analysis after it succeeded.
out = os.path.join(work, "pipeline.h5")
p = sh(os.path.join(jobs, "pipeline"), "-o", os.path.join(work, "pipeline-%j.log"), cwd=work,
       env=dict(env, TALLY_OUTPUT=out, TALLY_ARGS=SHORT))
ids = re.findall(r"job (\d+)", p.stdout)
for i in ids:
    wait_gone(i, 120)
report = out[:-3] + "-report"
expect("pipeline run -> analysis (afterok)", p.returncode == 0 and len(ids) == 2
       and os.path.exists(os.path.join(report, "verify.json"))
       and json.load(open(os.path.join(report, "verify.json")))["passed"]
       and os.path.exists(os.path.join(report, "summary.txt")), p.stdout + p.stderr)

# 6. Bad configuration: exit 2 once, a clear line, no requeue loop.
log = os.path.join(work, "bad.log")
job = submit(os.path.join(jobs, "tally.sbatch"), log, {"TALLY_OUTPUT": os.path.join(work, "bad.h5"),
                                                        "TALLY_ARGS": "--tasks 0"})
gone = wait_gone(job, 60)
time.sleep(1)
text = open(log).read() if os.path.exists(log) else ""
state = sh("scontrol", "show", "job", job).stdout
expect("bad configuration fails with exit 2, no requeue", gone and "tally: error: --tasks: must be a decimal integer from 1" in text
       and "not retrying" in text and "start 2]" not in text
       and ("ExitCode=2:0" in state or "ExitCode" not in state), text[-400:])

sys.exit(1 if failures else 0)
