"""64 ranks over 8 emulated nodes (tests/multinode/cluster.py), 8 ranks x 1 thread per node,
oversubscribed on whatever cores the machine has, under mpirun --mca orte_enable_recovery 1:
one worker (a rank on node5) is SIGKILLed at a seeded moment 0-1 s after the run's first
checkpoint (2 s in; a moment the machine's load cannot push past the end). The run
must complete in-job (no restart) with bits equal to a threads-only run, record exactly
that rank as lost (with its host), record every rank's host, and leave no surviving rank
behind. Scale in the small: 63 workers talking to one rank 0 across 8 network namespaces.

Usage: many_ranks.py   (exit 77 = skipped: no network namespaces here; the seed is fixed,
TALLY_MULTINODE_SEED replays another, and TALLY_MULTINODE_KEEP=1 keeps the work directory)"""
import atexit
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "support"))
sys.path.insert(0, os.path.join(here, "..", "fault"))
sys.path.insert(0, here)
from cluster import Cluster, pid_alive, skip_unless_permitted  # noqa: E402
from faultlib import calibrated_samples, wait_until_underway  # noqa: E402
from tallytest import TALLY, results  # noqa: E402

import h5py  # noqa: E402

NODES = 8
RANKS_PER_NODE = 8
RANKS = NODES * RANKS_PER_NODE
VICTIM_NODE = "node5"
# 64 processes share two cores here: a rank can wait a while for a core, so the silence
# deadline is longer than the 3-node scenarios' 5 s.
PEER_TIMEOUT = 10
BOUND = PEER_TIMEOUT + 30
LAUNCH_TIMEOUT = 300

skip_unless_permitted()
seed = int(os.environ.get("TALLY_MULTINODE_SEED", "21"))  # fixed: CI runs the same cases every time
print(f"many_ranks: {RANKS} ranks on {NODES} nodes, seed {seed} (set TALLY_MULTINODE_SEED to replay)")
rng = random.Random(seed)
work = tempfile.mkdtemp(prefix="tally-mn64-")
if not os.environ.get("TALLY_MULTINODE_KEEP"):
    atexit.register(shutil.rmtree, work, True)
os.chmod(work, 0o755)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def rank_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        return int(env[b"OMPI_COMM_WORLD_RANK"])
    except (OSError, KeyError, ValueError):
        return None


problems = []
tasks = 16
samples = calibrated_samples("fast", tasks, 16.0, work)  # ~16 s of one thread: >= 8 s on 2 cores
workload = ["run", "--tasks", str(tasks), "--samples", str(samples), "--seed", str(seed), "--quiet",
            "--checkpoint-every", "2"]
t0 = time.monotonic()
reference_out = os.path.join(work, "reference.h5")
subprocess.run([TALLY, *workload, "--threads", "2", "--output", reference_out], check=True, timeout=200)
expected_seconds = time.monotonic() - t0
reference = results(reference_out)

with Cluster(NODES, work) as cluster:
    env = cluster.env()
    out = os.path.join(work, "r.h5")
    cmd = ["mpirun", "--hostfile", cluster.hostfile(slots=RANKS_PER_NODE), "-np", str(RANKS), "--bind-to", "none",
           "--mca", "orte_enable_recovery", "1",
           TALLY, *workload, "--threads", "1", "--output", out, "--peer-timeout", str(PEER_TIMEOUT)]
    t_launch = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and \
            sum(len(cluster.tally_pids(n)) for n in cluster.names) < RANKS:
        time.sleep(0.1)
    started = time.monotonic() - t_launch
    delay = wait_until_underway(proc, out + ".ckpt", rng)
    candidates = sorted((rank_of(p), p) for p in cluster.tally_pids(VICTIM_NODE) if rank_of(p) is not None)
    if proc.poll() is not None or not candidates:
        problems.append(f"the run ended (or never reached {VICTIM_NODE}) before the fault")
        victim_rank = None
    else:
        victim_rank, victim_pid = rng.choice(candidates)
        os.kill(victim_pid, signal.SIGKILL)
        for _ in range(50):
            if not pid_alive(victim_pid):
                break
            time.sleep(0.1)
        else:
            problems.append(f"rank {victim_rank} (pid {victim_pid}) still alive 5 s after SIGKILL")
    t_fault = time.monotonic()
    print(f"all ranks up {started:.1f} s after launch; rank {victim_rank} on {VICTIM_NODE} killed {delay:.2f} s "
          f"later, in a {expected_seconds:.1f} s threads-only workload")
    survivors = [p for n in cluster.names for p in cluster.tally_pids(n) if pid_alive(p)]
    while not os.path.exists(out) and proc.poll() is None and time.monotonic() < t_fault + 240:
        time.sleep(0.05)
    written = time.monotonic()
    while any(pid_alive(p) for p in survivors) and time.monotonic() < written + BOUND:
        time.sleep(0.1)
    gone = time.monotonic() - written
    lingering = [p for p in survivors if pid_alive(p)]
    # The verdict is the results file's: Open MPI 4.1's mpirun in recovery mode may linger
    # after its ranks are gone (shared/notes/multinode), so it gets 20 s, then is ended.
    try:
        _, err = proc.communicate(timeout=20)
        launcher = f"launcher exit {proc.returncode}"
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        launcher = "launcher still running 20 s later: killed"
    print(f"results {written - t_fault:.1f} s after the fault, survivors gone {gone:.1f} s later, {launcher}; "
          f"{time.monotonic() - t_launch:.1f} s from launch to the end")
    if not os.path.exists(out):
        problems.append(f"no results file; launcher said: {err[-2000:]}")
    else:
        if results(out) != reference:
            problems.append("results differ from the threads-only run")
        with h5py.File(out, "r") as f:
            status, restarts = text(f.attrs["status"]), int(f.attrs["restarts"])
            hosts = [text(h) for h in f["ranks/host"][()]]
            lost = [(int(r), text(h)) for r, h in zip(f["lost/rank"][()], f["lost/host"][()])]
            chunks = [int(c) for c in f["ranks/chunks"][()]]
        if status != "complete" or restarts != 0:
            problems.append(f"status {status}, restarts {restarts}")
        if lost != [(victim_rank, VICTIM_NODE)]:
            problems.append(f"lost ranks recorded: {lost}, expected [({victim_rank}, '{VICTIM_NODE}')]")
        expected_hosts = [f"node{1 + r // RANKS_PER_NODE}" for r in range(RANKS)]
        if hosts != expected_hosts:
            problems.append(f"hosts recorded: {hosts}")
        working = sum(1 for r, c in enumerate(chunks) if c > 0 and r != victim_rank)
        print(f"lost {lost}; {working} of {RANKS - 1} living ranks reported chunks")
        if working < RANKS // 2:
            problems.append(f"only {working} ranks computed anything: the work was not shared")
    if lingering:
        problems.append(f"surviving ranks {lingering} alive {BOUND} s after the results file")
if problems:
    print("launcher's stderr (end):\n" + "\n".join(err.splitlines()[-40:]))
print("\n".join(problems) or "many_ranks: ok")
sys.exit(1 if problems else 0)
