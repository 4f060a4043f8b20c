"""Helpers for fault tests: size a workload to a target duration, find rank pids."""
import os
import subprocess
import time

from tallytest import ENV, TALLY, run, tally_json


def calibrated_samples(stream, tasks, seconds, work):
    """Samples per task so that one single-threaded process takes about `seconds`."""
    probe = 400_000_000
    out = os.path.join(work, "calibrate.h5")
    # tally's own clock, not the process's: start-up would dwarf a fast kernel.
    took = tally_json([TALLY, "run", "--stream", stream, "--tasks", "1", "--samples", str(probe), "--threads", "1",
                       "--output", out, "--force", "--quiet"])["wall_seconds"]
    rate = probe / max(took, 1e-3)
    os.remove(out)
    return max(1_000_000, int(rate * seconds / tasks))


def rank_pids(launcher_pid):
    """{rank: pid} of the tally processes under the launcher with `launcher_pid`: Open
    MPI's mpirun starts them itself, MPICH's Hydra through a hydra_pmi_proxy child."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    found, todo = {}, list(children.get(launcher_pid, []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                is_tally = os.path.basename(f.read().split(b"\0")[0]) == b"tally"
        except (OSError, ValueError):
            continue
        rank = env.get(b"OMPI_COMM_WORLD_RANK") or env.get(b"PMI_RANK")
        if rank is not None and is_tally:
            found[int(rank)] = pid
    return found


def start(cmd):
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_ranks(proc, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        pids = rank_pids(proc.pid)
        if len(pids) == count:
            return pids
        time.sleep(0.02)
    return rank_pids(proc.pid)


def wait_until_underway(proc, checkpoint, rng, timeout=120):
    """Waits for the run's first checkpoint (the work has begun on every rank), then a
    seeded 0-1 s more: a fault moment that the machine's load cannot push past the end
    of the run, as a fraction of a reference run's duration could. Returns the seconds
    waited in all."""
    t0 = time.monotonic()
    while time.monotonic() < t0 + timeout and proc.poll() is None and not os.path.exists(checkpoint):
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.0))
    return time.monotonic() - t0


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run_to_completion(cmd, timeout=600):
    return run(cmd, timeout=timeout)
