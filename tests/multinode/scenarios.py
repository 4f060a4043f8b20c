"""tally across emulated nodes (tests/multinode/cluster.py), one scenario per ctest:

  mpirun | srun                 3 nodes x 1 rank x 2 threads: bits equal to a threads-only
                                run, node1..node3 recorded in ranks/host and starts/hosts
  coordinator_killed            node1 (rank 0) killed under plain mpirun: the job ends, the
                                same command on the nodes left resumes to the same bits
  recovery_mpirun_rank          tally on node2 killed, mpirun --mca orte_enable_recovery 1
  recovery_srun_rank            tally on node2 killed, srun
  recovery_srun_node_killed     every process of node2 (slurmd too) killed, srun --no-kill
  recovery_srun_node_stopped    node2 SIGSTOPped and left stopped, srun --no-kill
  sbatch_node_lost              jobs/tally.sbatch (sbatch --no-kill, plain mpirun, no in-job
                                recovery): node2 dies, mpirun ends the run, the script
                                retries on node1 and node3 only and completes the run

The recovery scenarios inject the fault at a seeded moment 0-1 s after the run's first
checkpoint (2 s into a >= 10 s run), whatever the machine's load, and require: complete
WITHOUT a restart, bits equal to the threads-only run, the lost rank in lost/ (rank 1,
host node2), and every surviving rank gone within --peer-timeout + 30 s
of the results file. Verdicts come from the results file, never the launcher's code.
Two more faults, same requirements:
  recovery_mpirun_rank_stopped  tally on node2 SIGSTOPped (left stopped), mpirun
                                --mca orte_enable_recovery 1
  recovery_srun_node_unplugged  node2's link pulled (its processes run on), srun --no-kill
Usage: scenarios.py NAME   (exit 77 = skipped: no network namespaces here; the seed is fixed,
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

PEER_TIMEOUT = 5
BOUND = PEER_TIMEOUT + 30
LAUNCH_TIMEOUT = 240

name = sys.argv[1]
skip_unless_permitted(slurm="srun" in name or "sbatch" in name)
seed = int(os.environ.get("TALLY_MULTINODE_SEED", "21"))  # fixed: CI runs the same cases every time
print(f"scenario {name}, seed {seed} (set TALLY_MULTINODE_SEED to replay)")
rng = random.Random(seed)
work = tempfile.mkdtemp(prefix="tally-mn-")
if not os.environ.get("TALLY_MULTINODE_KEEP"):  # TALLY_MULTINODE_KEEP=1 keeps the files to look at
    atexit.register(shutil.rmtree, work, True)
os.chmod(work, 0o755)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def reference_run(workload):
    out = os.path.join(work, "reference.h5")
    subprocess.run([TALLY, *workload, "--threads", "2", "--output", out, "--quiet"], check=True, timeout=600)
    return results(out)


def file_facts(path):
    with h5py.File(path, "r") as f:
        return {"status": text(f.attrs["status"]), "restarts": int(f.attrs["restarts"]),
                "hosts": [text(h) for h in f["ranks/host"][()]],
                "start_hosts": [text(h) for h in f["starts/hosts"][()]],
                "lost": [(int(r), text(h)) for r, h in zip(f["lost/rank"][()], f["lost/host"][()])]}


def finish(proc, timeout):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += "\n[test] launcher killed after its timeout"
    return proc.returncode, err


problems = []
with Cluster(3, work, slurm=name.startswith(("srun", "recovery_srun", "sbatch"))) as cluster:
    env = cluster.env()
    if name == "sbatch_node_lost":
        tasks = 8
        samples = calibrated_samples("fast", tasks, 20.0, work)
        out = os.path.join(work, "job.h5")
        log = os.path.join(work, "job.log")
        reference = reference_run(["run", "--tasks", str(tasks), "--samples", str(samples), "--seed", str(seed)])
        job_env = dict(env, TALLY_BIN=TALLY, TALLY_OUTPUT=out, TALLY_LAUNCHER="mpirun", TALLY_RECOVERY="0",
                       TALLY_CHECKPOINT_EVERY="1", TALLY_PROBE_TIMEOUT="10",
                       TALLY_ARGS=f"--tasks {tasks} --samples {samples} --seed {seed} --peer-timeout {PEER_TIMEOUT}")
        job_env.pop("OMPI_MCA_plm_rsh_agent")  # inside the allocation mpirun starts its daemons with srun
        script = os.path.join(here, "..", "..", "jobs", "tally.sbatch")
        sub = subprocess.run(["sbatch", "--parsable", "-N", "3", "--ntasks=3", "--ntasks-per-node=1", "--cpus-per-task=2",
                              "--no-kill", f"--output={log}", f"--chdir={work}", script], env=job_env,
                             capture_output=True, text=True, timeout=60)
        job = sub.stdout.strip().split(";")[0]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(cluster.tally_pids(n) for n in cluster.names):
            time.sleep(0.1)
        time.sleep(rng.uniform(2, 4))
        victims, ranks = cluster.pids("node2"), cluster.tally_pids("node2")
        cluster.signal_node("node2", signal.SIGKILL)  # the node dies, slurmd with it
        print(f"job {job}: node2 killed ({len(victims)} processes, tally pids {ranks})")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            q = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=env, capture_output=True, text=True)
            if not q.stdout.strip():
                break
            time.sleep(1)
        text_log = open(log).read() if os.path.exists(log) else ""
        print("\n".join(line for line in text_log.splitlines() if "tally.sbatch" in line))
        if not os.path.exists(out):
            problems.append("no results file: " + text_log[-1500:])
        else:
            facts = file_facts(out)
            if results(out) != reference:
                problems.append("results differ from the threads-only run")
            if facts["status"] != "complete" or facts["restarts"] < 1 or facts["start_hosts"][-1] != "node1,node3" \
                    or facts["start_hosts"][0] != "node1,node2,node3":
                problems.append(f"not resumed on the nodes left: {facts}")
            print(f"starts on {facts['start_hosts']}, restarts {facts['restarts']}")
        if "node node2" not in text_log or "leaving it out" not in text_log:
            problems.append("the job script did not leave node2 out")
    elif name in ("mpirun", "srun"):
        workload = ["run", "--tasks", "6", "--samples", "40000000", "--seed", str(seed), "--quiet"]
        reference = reference_run(workload)
        out = os.path.join(work, "r.h5")
        args = [TALLY, *workload, "--threads", "2", "--output", out, "--peer-timeout", str(PEER_TIMEOUT)]
        cmd = cluster.mpirun(args) if name == "mpirun" else cluster.srun(args)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
        if p.returncode != 0 or not os.path.exists(out):
            problems.append(f"launcher exit {p.returncode}: {p.stderr[-1500:]}")
        else:
            facts = file_facts(out)
            if results(out) != reference:
                problems.append("results differ from the threads-only run")
            if facts["hosts"] != ["node1", "node2", "node3"] or facts["start_hosts"] != ["node1,node2,node3"]:
                problems.append(f"hosts recorded: {facts['hosts']} / {facts['start_hosts']}")
            print(f"hosts {facts['hosts']}, starts/hosts {facts['start_hosts']}")
    else:
        tasks = 8
        samples = calibrated_samples("fast", tasks, 24.0, work)  # ~24 s of one thread: >= 10 s on 2 cores
        workload = ["run", "--tasks", str(tasks), "--samples", str(samples), "--seed", str(seed), "--quiet",
                    "--checkpoint-every", "2"]
        t0 = time.monotonic()
        reference = reference_run(workload)
        expected_seconds = time.monotonic() - t0
        out = os.path.join(work, "r.h5")
        args = [TALLY, *workload, "--threads", "2", "--output", out, "--peer-timeout", str(PEER_TIMEOUT)]
        if name == "coordinator_killed":
            cmd = cluster.mpirun(args)
        elif name.startswith("recovery_mpirun"):
            cmd = cluster.mpirun(args, mca=[("orte_enable_recovery", "1")])
        elif name == "recovery_srun_rank":
            cmd = cluster.srun(args)
        else:
            cmd = cluster.srun(args, extra=["--no-kill"])
        victim = "node1" if name == "coordinator_killed" else "node2"
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(cluster.tally_pids(n) for n in cluster.names):
            time.sleep(0.05)
        delay = wait_until_underway(proc, out + ".ckpt", rng)
        if proc.poll() is not None or not cluster.tally_pids(victim):
            problems.append("the run ended before the fault")
        t_fault = time.monotonic()
        if name in ("recovery_mpirun_rank", "recovery_srun_rank"):
            for pid in cluster.tally_pids(victim):
                os.kill(pid, signal.SIGKILL)
        elif name in ("coordinator_killed", "recovery_srun_node_killed"):
            cluster.signal_node(victim, signal.SIGKILL)
        elif name == "recovery_mpirun_rank_stopped":
            for pid in cluster.tally_pids(victim):
                os.kill(pid, signal.SIGSTOP)
        elif name == "recovery_srun_node_unplugged":
            cluster.unplug(victim)
        else:
            cluster.signal_node(victim, signal.SIGSTOP)
        print(f"{name}: fault on {victim} {delay:.2f} s into a {expected_seconds:.1f} s workload")
        survivors = {n: cluster.tally_pids(n) for n in cluster.names if n != victim}
        if name == "coordinator_killed":
            code, err = finish(proc, LAUNCH_TIMEOUT)
            print(f"launcher exit {code} {time.monotonic() - t_fault:.1f} s after the kill")
            if os.path.exists(out):
                problems.append("a results file exists although rank 0 died")
            # The same command on the nodes that are left resumes from the checkpoint.
            resumed = subprocess.run(cluster.mpirun(args, nodes=["node2", "node3"]), env=env, capture_output=True,
                                     text=True, timeout=LAUNCH_TIMEOUT)
            if resumed.returncode != 0 or "resumed from" not in resumed.stderr:
                problems.append(f"resume exit {resumed.returncode}: {resumed.stderr[-1500:]}")
            elif results(out) != reference:
                problems.append("resumed results differ from the threads-only run")
            else:
                facts = file_facts(out)
                if facts["restarts"] != 1 or facts["hosts"] != ["node2", "node3"]:
                    problems.append(f"after resume: {facts}")
                print(f"resumed on {facts['hosts']}, restarts {facts['restarts']}")
        else:
            while not os.path.exists(out) and proc.poll() is None and time.monotonic() < t_fault + 180:
                time.sleep(0.05)
            written = time.monotonic()
            while any(pid_alive(p) for pids in survivors.values() for p in pids) and time.monotonic() < written + BOUND:
                time.sleep(0.1)
            gone = time.monotonic() - written
            lingering = [p for pids in survivors.values() for p in pids if pid_alive(p)]
            if name in ("recovery_srun_node_stopped", "recovery_mpirun_rank_stopped", "recovery_srun_node_unplugged"):
                # The launcher waits for a stopped or unreachable rank: end it, and see the launcher end.
                cluster.signal_node(victim, signal.SIGKILL)
            t_end = time.monotonic()
            code, err = finish(proc, 90)
            print(f"results {written - t_fault:.1f} s after the fault, survivors gone {gone:.1f} s later, "
                  f"launcher exit {code} {time.monotonic() - t_end:.1f} s later")
            if not os.path.exists(out):
                problems.append(f"no results file; launcher said: {err[-1500:]}")
            else:
                facts = file_facts(out)
                if results(out) != reference:
                    problems.append("results differ from the threads-only run")
                if facts["status"] != "complete" or facts["restarts"] != 0:
                    problems.append(f"status {facts['status']}, restarts {facts['restarts']}")
                if facts["lost"] != [(1, "node2")]:
                    problems.append(f"lost ranks recorded: {facts['lost']}")
                print(f"lost {facts['lost']}, hosts {facts['hosts']}")
            if lingering:
                problems.append(f"surviving ranks {lingering} alive {BOUND} s after the results file")
print("\n".join(problems) or f"{name}: ok")
sys.exit(1 if problems else 0)
