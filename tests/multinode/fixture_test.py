"""The multi-node fixture itself (tests/multinode/cluster.py): it must never leave anything.

Each cluster is made by a child process (this file, `hold MODE`) that starts it, runs
something on every node and a launcher on the host, hangs one node with SIGSTOP, says
"ready", then ends as a test would: SIGTERM (ctest >= 3.27 on timeout, or a user's
Ctrl-C), an exception, its own watchdog, or SIGKILL (ctest < 3.27 on timeout). After
each, nothing of that cluster may be left (namespaces, links, /etc/hosts lines, state,
daemons, processes) -- after SIGKILL only once `cluster.py cleanup` has run, and that
cleanup must leave a cluster whose owner is alive untouched. Two Slurm clusters run side
by side on different subnets and ports, and mpirun and srun reach the nodes of each.
Usage: fixture_test.py   (exit 77 = skipped: no network namespaces here)"""
import atexit
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import cluster as mn  # noqa: E402


def hold(mode, slurm):
    # Inside the parent's directory: a holder killed with SIGKILL cannot remove its own.
    work = tempfile.mkdtemp(prefix="hold-", dir=os.environ["TALLY_MNFIX_ROOT"])
    atexit.register(shutil.rmtree, work, True)
    with mn.Cluster(2, work, slurm=slurm, watchdog=6 if mode == "watchdog" else 0) as c:
        env = c.env()
        pids = []
        for name in c.names:
            pids.append(subprocess.Popen(c.on(name, "sleep", "300"), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL).pid)
        # A launcher on the host (its output not on our pipes: the parent reads them to EOF).
        pids.append(subprocess.Popen(["sleep", "300"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL).pid)
        time.sleep(0.2)
        c.signal_node("node2", signal.SIGSTOP)  # a hung node: cleanup must wake it to kill it
        launched = subprocess.run(c.mpirun(["hostname"]), env=env, capture_output=True, text=True, timeout=60)
        hosts = sorted(launched.stdout.split())
        if slurm:
            c.signal_node("node2", signal.SIGCONT)  # slurmd on node2 must answer for srun
            launched = subprocess.run(c.srun(["hostname"]), env=env, capture_output=True, text=True, timeout=60)
            hosts += sorted(launched.stdout.split())
            c.signal_node("node2", signal.SIGSTOP)
        print(f"ready {c.tag} {c.net} {c.port} {','.join(hosts)} {' '.join(map(str, pids))}", flush=True)
        if mode == "raise":
            raise RuntimeError("a test failed")
        while True:
            time.sleep(1)


class Held:
    everyone = []

    def __init__(self, mode, slurm=False):
        self.mode = mode
        self.proc = subprocess.Popen([sys.executable, __file__, "hold", mode, "slurm" if slurm else "plain"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        Held.everyone.append(self)

    @staticmethod
    def end_all():
        """However this test ends, no cluster it made outlives it: SIGTERM, then the sweep."""
        running = [h for h in Held.everyone if h.proc.poll() is None]
        for held in running:
            held.proc.send_signal(signal.SIGTERM)
        for held in running:
            try:
                held.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                held.proc.kill()
        if running:
            subprocess.run([sys.executable, os.path.join(here, "cluster.py"), "cleanup"], capture_output=True,
                           timeout=120)

    def ready(self):
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        line = self.proc.stdout.readline().split() if ready else []
        if not line or line[0] != "ready":
            self.proc.kill()
            sys.exit(f"{self.mode}: the cluster did not start: {self.proc.stderr.read()[-2000:]}")
        self.tag, self.net, self.port, hosts = line[1], line[2], line[3], line[4]
        self.hosts = hosts.split(",")
        self.pids = [int(p) for p in line[5:]]
        return self

    def end(self, timeout=60):
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            try:  # something it started may still hold its pipes open
                _, err = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                err = ""
            problems.append(f"{self.mode}: the test process did not end within {timeout} s")
        return self.proc.returncode, err

    def left(self):
        what = list(mn.all_tags().get(self.tag, []))
        what += [f"process {p}" for p in self.pids if mn.pid_alive(p)]
        return what


problems = []


def expect_clean(held, how):
    left = held.left()
    if left:
        problems.append(f"{how}: left {left}")
    else:
        print(f"{how}: nothing left")


if __name__ == "__main__" and sys.argv[1:2] == ["hold"]:
    hold(sys.argv[2], sys.argv[3] == "slurm")
    sys.exit(0)

mn.skip_unless_permitted(slurm=True)
os.environ["TALLY_MNFIX_ROOT"] = tempfile.mkdtemp(prefix="tally-mnfix-")
atexit.register(shutil.rmtree, os.environ["TALLY_MNFIX_ROOT"], True)  # runs after end_all (registered later)
atexit.register(Held.end_all)
signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
t0 = time.monotonic()
a, b = Held("wait", slurm=True), Held("wait", slurm=True)  # started side by side
a.ready(), b.ready()
print(f"two clusters in {time.monotonic() - t0:.1f} s: {a.tag} on {a.net}.0/24 port {a.port}, "
      f"{b.tag} on {b.net}.0/24 port {b.port}")
if a.net == b.net or a.port == b.port:
    problems.append("two clusters share a subnet or a port")
for held in (a, b):
    if held.hosts != ["node1", "node2"] * 2:
        problems.append(f"cluster {held.tag}: mpirun then srun ran on {held.hosts}, not node1,node2 each")

# SIGKILL: the owner cannot clean up; `cluster.py cleanup` must, and must spare cluster a.
b.proc.kill()
b.end()
if not b.left():
    problems.append("SIGKILL: nothing left to clean up, so this test cannot tell whether cleanup works")
t = time.monotonic()
swept = subprocess.run([sys.executable, os.path.join(here, "cluster.py"), "cleanup"], capture_output=True,
                       text=True, timeout=120)
print(swept.stdout.strip(), f"({time.monotonic() - t:.1f} s)")
expect_clean(b, "SIGKILL, then cluster.py cleanup")
if not any(w.startswith("netns") for w in a.left()) or not all(mn.pid_alive(p) for p in a.pids):
    problems.append("cluster.py cleanup touched a cluster whose owner is alive")
if a.tag not in swept.stdout or f"{b.tag}:" not in swept.stdout:
    problems.append(f"cleanup did not report what it removed and what it left: {swept.stdout}")

# SIGTERM: the owner cleans up by itself.
a.proc.send_signal(signal.SIGTERM)
code, _ = a.end()
if code != 128 + signal.SIGTERM:
    problems.append(f"SIGTERM: exit {code}, not {128 + signal.SIGTERM}")
expect_clean(a, "SIGTERM")

# An exception in the test, and the watchdog that fires before ctest's timeout would.
for mode, wanted in (("raise", "RuntimeError: a test failed"), ("watchdog", "multinode watchdog")):
    held = Held(mode).ready()
    code, err = held.end()
    if code == 0 or wanted not in err:
        problems.append(f"{mode}: exit {code}, stderr {err[-500:]}")
    expect_clean(held, mode)

print(f"fixture test took {time.monotonic() - t0:.1f} s")
print("\n".join(problems) or "fixture: ok")
sys.exit(1 if problems else 0)
