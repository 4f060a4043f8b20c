"""Restart history and provenance through a real stop and resume: a run stopped by
--max-seconds (exit 85) under fake Slurm ids, then resumed with another thread count
and job id. The checkpoint has one start (exit 85); the results file keeps that row
unchanged and adds the resume (exit 0); command line, user, host, Slurm ids, and the
provenance of the binary (git commit = `git rev-parse HEAD` of the source tree it was
built from, CPU model from /proc/cpuinfo, HDF5 version, no MPI) are what they should
be, in h5py, in `inspect --json` and in the text summary."""
import getpass
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

import h5py

tally = os.environ["TALLY_BIN"]
source = os.environ.get("TALLY_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
work = tempfile.mkdtemp(prefix="tally-history-")
out, ckpt = os.path.join(work, "r.h5"), os.path.join(work, "r.ckpt")
failures = []


def check(what, got, expected):
    if got != expected:
        failures.append(f"{what}: {got!r}, expected {expected!r}")


def tally_run(threads, job, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(SLURM_JOB_ID=job, SLURM_ARRAY_JOB_ID="77", SLURM_ARRAY_TASK_ID="3", SLURM_STEP_ID="0")
    cmd = [tally, "run", "--tasks", "3", "--samples", "3000000000", "--chunk", "4000000", "--threads", str(threads),
           "--quiet", "-o", out, "--checkpoint", ckpt, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300), cmd


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


first, first_cmd = tally_run(1, "1001", "--max-seconds", "0.3")
check("first start exit", first.returncode, 85)
ins = json.loads(subprocess.run([tally, "inspect", ckpt, "--json"], capture_output=True, text=True).stdout)
check("checkpoint starts", len(ins["starts"]), 1)
row0 = ins["starts"][0]
check("checkpoint start exit_code", row0["exit_code"], 85)
check("checkpoint start threads", row0["threads"], 1)
check("checkpoint start slurm", [row0[k] for k in ("slurm_job_id", "slurm_array_job_id", "slurm_array_task_id",
                                                   "slurm_step_id")], ["1001", "77", "3", "0"])
check("checkpoint start user", row0["user"], getpass.getuser())
if "--max-seconds 0.3" not in row0["command_line"] or "run --tasks 3" not in row0["command_line"]:
    failures.append(f"command line {row0['command_line']!r}")

second, _ = tally_run(2, "1002")
check("resume exit", second.returncode, 0)
with h5py.File(out, "r") as f:
    check("restarts", int(f.attrs["restarts"]), 1)
    starts = {k: [text(v) for v in f["starts/" + k][()]] for k in f["starts"]}
    check("starts rows", len(starts["start_utc"]), 2)
    for key in ("start_utc", "end_utc", "command_line", "user", "slurm_job_id", "hosts"):
        check(f"first row {key} kept through the resume", starts[key][0], text(row0[key]))
    check("exit codes", starts["exit_code"], ["85", "0"])
    check("threads", starts["threads"], ["1", "2"])
    check("slurm job ids", starts["slurm_job_id"], ["1001", "1002"])
    for stamp in starts["start_utc"] + starts["end_utc"]:
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp):
            failures.append(f"timestamp {stamp!r} is not ISO-8601 UTC")
    check("starts in order", starts["start_utc"][0] <= starts["start_utc"][1], True)
    check("ranks/host", [text(h) for h in f["ranks/host"][()]], [socket.gethostname()])
    check("lost rows", f["lost/rank"].shape, (0,))
    prov = {k: text(v) for k, v in f["provenance"].attrs.items()}

expected_keys = {"tally_version", "git_commit", "git_dirty", "build_type", "compiler", "compiler_flags",
                 "kernel_path", "cpu_model", "mpi_library", "hdf5_version"}
check("provenance keys", set(prov), expected_keys)
check("mpi_library", prov.get("mpi_library"), "none (threads only)")
check("kernel_path known", prov.get("kernel_path") in ("avx512", "portable"), True)
if not re.fullmatch(r"\d+\.\d+\.\d+", prov.get("hdf5_version", "")):
    failures.append(f"hdf5_version {prov.get('hdf5_version')!r}")
with open("/proc/cpuinfo") as f:
    models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
if models:
    check("cpu_model", prov.get("cpu_model"), models[0])
head = subprocess.run(["git", "-C", source, "rev-parse", "HEAD"], capture_output=True, text=True)
if head.returncode == 0:  # built from a git checkout: the commit is recorded at build time
    commit = prov.get("git_commit", "")
    committed_at = int(subprocess.run(["git", "-C", source, "log", "-1", "--format=%ct"], capture_output=True,
                                      text=True).stdout)
    if os.path.getmtime(tally) > committed_at + 1:  # built after HEAD was committed: it must be HEAD
        check("git_commit", commit, head.stdout.strip())
    else:  # HEAD moved since the build: the binary's commit must at least be in HEAD's history
        known = subprocess.run(["git", "-C", source, "merge-base", "--is-ancestor", commit, "HEAD"])
        check(f"git_commit {commit} is an ancestor of HEAD (binary older than HEAD)", known.returncode, 0)
    check("git_dirty", prov.get("git_dirty") in ("yes", "no"), True)
else:
    check("git_commit outside git", prov.get("git_commit"), "unknown")

summary = subprocess.run([tally, "inspect", out], capture_output=True, text=True).stdout
for needle in ("start 0", "start 1", "exit 85", prov.get("git_commit", "?")[:12], socket.gethostname()):
    if needle not in summary:
        failures.append(f"inspect summary lacks {needle!r}:\n{summary}")

shutil.rmtree(work)
print("\n".join(failures) or "restart history and provenance survive a stop and a resume")
sys.exit(1 if failures else 0)
