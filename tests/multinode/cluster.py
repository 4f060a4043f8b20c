"""Emulated cluster nodes on one Linux machine, for tally's multi-node tests.

A node is a network namespace (its own eth0 and IP on a bridge) plus a UTS namespace
(its own hostname, node1..nodeN); the file system and PID space stay shared, as on a
cluster with a shared file system. The host itself is the login node: mpirun, srun and
slurmctld run there. Open MPI reaches the nodes through a stand-in for ssh that enters
a node's namespaces (written into the work directory); Slurm runs munged and slurmctld
on the host and one slurmd inside each node.

Everything a Cluster creates carries its tag, the pid of the process that owns it:
namespaces tlymn-<tag>-nodeI, bridge tlybr<tag>, veths tly<tag>nI, /etc/hosts lines
ending '# tally-multinode <tag>', state (Open MPI's session directories too) under
/run/tally-multinode/<tag> and
/tmp/tlyslurm-<tag>, and every process it starts (daemons, launchers run with env())
has TALLY_MULTINODE_TAG=<tag> in its environment. stop() removes all of it -- also when
a test fails, raises, hits its watchdog, or gets SIGTERM/SIGINT/SIGHUP. A SIGKILL (what
ctest < 3.27 sends on timeout) cannot be caught: `cluster.py cleanup` then removes what
a dead owner left; clusters whose owner is still alive (another test run on the same
machine) are left alone. Subnet and slurmctld port are chosen free at start, so two
clusters can run side by side.
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

STATE_ROOT = "/run/tally-multinode"
HOSTS_TAG = "# tally-multinode"
SLURM_PREFIX = "/tmp/tlyslurm-"  # short: munge's socket path is limited to 107 bytes
TAG_ENV = "TALLY_MULTINODE_TAG"
SKIP = 77


def sh(*cmd, check=True, timeout=30, **kw):
    return subprocess.run(list(cmd), check=check, timeout=timeout, capture_output=True, text=True, **kw)


def namespaces_permitted():
    """None when this process can make network namespaces, else why not."""
    if sys.platform != "linux":
        return f"network namespaces are Linux only (this is {sys.platform})"
    if os.geteuid() != 0:
        return "not root: network namespaces need CAP_SYS_ADMIN"
    for tool in ("ip", "nsenter", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (iproute2, util-linux)"
    probe = f"tlymn-probe-{os.getpid()}"
    p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if p.returncode != 0:
        return f"ip netns add failed: {p.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def skip_unless_permitted(slurm=False):
    why = namespaces_permitted()
    if not why and slurm:
        missing = [t for t in ("munged", "slurmctld", "slurmd", "srun", "sinfo") if shutil.which(t) is None]
        if missing:
            why = f"{', '.join(missing)} not installed (Debian: munge slurm-wlm)"
    if why:
        print(f"SKIP: {why}")
        sys.exit(SKIP)


# ---------------------------------------------------------------------- /etc/hosts
def _write_hosts(lines):
    # Rewrite in place: /etc/hosts may be a bind mount (containers), so never rename over it.
    with open("/etc/hosts", "r+") as f:
        f.seek(0)
        f.write("".join(lines))
        f.truncate()


def _hosts_tags():
    with open("/etc/hosts") as f:
        return {line.rsplit(HOSTS_TAG, 1)[1].split()[0] for line in f if HOSTS_TAG in line
                and line.rsplit(HOSTS_TAG, 1)[1].split()}


def _remove_hosts_lines(tag):
    with open("/etc/hosts") as f:
        lines = f.readlines()
    kept = [line for line in lines if not line.rstrip("\n").endswith(f"{HOSTS_TAG} {tag}")]
    if kept != lines:
        _write_hosts(kept)


# ---------------------------------------------------------------------- processes
def _start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_alive(pid):
    """Whether process `pid` exists and is not a zombie (a dead child not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def tagged_processes():
    """{tag: [pid, ...]} of every process started with TALLY_MULTINODE_TAG in its environment."""
    found = {}
    prefix = f"{TAG_ENV}=".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            for item in _environ(entry):
                if item.startswith(prefix):
                    found.setdefault(item[len(prefix):].decode(errors="replace"), []).append(int(entry))
    return found


def _kill(pids):
    for pid in pids:
        for sig in (signal.SIGCONT, signal.SIGKILL):  # a stopped process must be woken to die
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


def _netns_pids(ns):
    p = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


def _netns_names():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split(" ")[0] for line in out.splitlines() if line.startswith("tlymn-")]


def _link_names():
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


# ---------------------------------------------------------------------- the cluster
class Cluster:
    """Cluster(3, work) as a context manager: nodes node1..node3 on a free 10.78.X.0/24."""

    def __init__(self, n, work, slurm=False, watchdog=None):
        self.n = n
        self.work = work
        self.tag = str(os.getpid())
        self.state = os.path.join(STATE_ROOT, self.tag)
        self.bridge = f"tlybr{self.tag}"
        self.names = [f"node{i}" for i in range(1, n + 1)]
        self.slurm = slurm
        self.slurm_dir = SLURM_PREFIX + self.tag
        self.rsh = os.path.join(self.state, "fake-rsh")
        # Open MPI's session directories (ompi.HOST.UID) here, not in the shared /tmp: the
        # nodes' host names are the same in every cluster, and remove() takes them along.
        self.ompi_tmp = os.path.join(self.state, "ompi")
        # Seconds after which the test gives up by itself and cleans up, before ctest's
        # TIMEOUT kills it with SIGKILL (which no handler sees). ctest passes it in the env.
        self.watchdog = watchdog if watchdog is not None else float(os.environ.get("TALLY_MULTINODE_WATCHDOG", 0))
        self.net = None
        self.port = None
        self._stopped = False
        self._old_handlers = {}

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        atexit.register(self.stop)
        # Whatever the test starts from now on (launchers, reference runs) is tagged, so
        # stop() ends it too: nothing the test started outlives it.
        os.environ[TAG_ENV] = self.tag
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        if self.watchdog > 0:
            self._old_handlers[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_watchdog)
            signal.alarm(max(1, int(self.watchdog)))
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _on_signal(self, signum, _frame):
        self.stop()
        sys.exit(128 + signum)

    def _on_watchdog(self, _signum, _frame):
        raise TimeoutError(f"multinode watchdog: still running after {self.watchdog:.0f} s, giving up")

    def netns(self, name):
        return f"tlymn-{self.tag}-{name}"

    def veth(self, name):
        return f"tly{self.tag}n{self.names.index(name) + 1}"

    def ip(self, name):
        return f"{self.net}.{10 + self.names.index(name) + 1}"

    def _free_subnet(self):
        used = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
        for k in range(200):
            net = f"10.78.{20 + (int(self.tag) + k) % 200}"
            if f" {net}." not in used:
                return net
        raise RuntimeError("no free 10.78.X.0/24 subnet for the emulated nodes")

    def _free_port(self):
        # slurmctld listens on the host: two clusters side by side need two ports. The
        # slurmds sit in their nodes' network namespaces, where port+1 is always free.
        # Each tag starts from a port of its own, so two clusters starting at once rarely race.
        for k in range(41):
            port = 17917 + 2 * ((int(self.tag) + k) % 41)
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("", port))
                    return port
                except OSError:
                    continue
        raise RuntimeError("no free port for slurmctld in 17917..17999")

    def start(self):
        os.makedirs(os.path.join(self.state, "uts"), exist_ok=True)
        os.makedirs(self.ompi_tmp, exist_ok=True)
        with open(os.path.join(self.state, "owner"), "w") as f:  # lets cleanup tell a live owner from pid reuse
            f.write(f"{self.tag} {_start_time(self.tag)}\n")
        self.net = self._free_subnet()
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.net}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        hosts = []
        for name in self.names:
            ns = self.netns(name)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", self.veth(name), "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", self.veth(name), "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.ip(name)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            uts = os.path.join(self.state, "uts", name)
            open(uts, "w").close()
            sh("unshare", f"--uts={uts}", "hostname", name)  # a persistent UTS namespace, bind-mounted on `uts`
            hosts.append(f"{self.ip(name)} {name} {HOSTS_TAG} {self.tag}\n")
        with open("/etc/hosts") as f:
            _write_hosts(f.readlines() + hosts)
        with open(self.rsh, "w") as f:  # ssh stand-in: drop ssh options, run the rest with sh on HOST
            f.write("#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nhost=$1; shift\n"
                    f"exec nsenter --net=/run/netns/tlymn-{self.tag}-$host --uts={self.state}/uts/$host "
                    "-- /bin/sh -c \"$*\"\n")
        os.chmod(self.rsh, 0o755)
        if self.slurm:
            self._start_slurm()

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        signal.alarm(0)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # a second signal must not cut cleanup short
            signal.signal(sig, signal.SIG_IGN)
        try:
            remove(self.tag)
        finally:
            os.environ.pop(TAG_ENV, None)
            for sig, handler in self._old_handlers.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    # ------------------------------------------------------------------ nodes
    def pids(self, name):
        return _netns_pids(self.netns(name))

    def tally_pids(self, name):
        out = []
        for pid in self.pids(name):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "tally":
                        out.append(pid)
            except OSError:
                pass
        return out

    def kill_rank(self, name):
        """SIGKILL the tally process(es) on node `name`; the node's daemons live on."""
        pids = self.tally_pids(name)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def signal_node(self, name, sig):
        """Sends `sig` to every process on node `name` (SIGKILL: the node died; SIGSTOP: it hangs)."""
        for pid in self.pids(name):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def unplug(self, name):
        """The node's cable is pulled: its link to the bridge goes down, its processes run on."""
        sh("ip", "link", "set", self.veth(name), "down")

    def plug(self, name):
        sh("ip", "link", "set", self.veth(name), "up")

    def on(self, name, *cmd):
        return ["nsenter", f"--net=/run/netns/{self.netns(name)}", f"--uts={self.state}/uts/{name}", "--", *cmd]

    # ------------------------------------------------------------------ launchers
    def env(self):
        """The environment for launchers (mpirun, srun, sbatch, squeue) and what they start."""
        return dict(os.environ, OMPI_MCA_plm_rsh_agent=self.rsh, OMPI_MCA_btl="tcp,self",
                    OMPI_MCA_btl_tcp_if_include=f"{self.net}.0/24", OMPI_MCA_oob_tcp_if_include=f"{self.net}.0/24",
                    OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_orte_tmpdir_base=self.ompi_tmp,
                    SLURM_CONF=os.path.join(self.slurm_dir, "slurm.conf"), **{TAG_ENV: self.tag})

    def hostfile(self, nodes=None, slots=1):
        path = os.path.join(self.work, f"hosts-{'-'.join(nodes or self.names)}")
        with open(path, "w") as f:
            for name in nodes or self.names:
                f.write(f"{name} slots={slots}\n")
        return path

    def mpirun(self, args, nodes=None, mca=(), np_=None):
        nodes = nodes or self.names
        cmd = ["mpirun", "--hostfile", self.hostfile(nodes), "-np", str(np_ or len(nodes)), "--bind-to", "none"]
        for key, value in mca:
            cmd += ["--mca", key, value]
        return cmd + list(args)

    def srun(self, args, extra=()):
        return ["srun", "-N", str(self.n), "--ntasks-per-node=1", "--cpus-per-task=2", *extra, *args]

    # ------------------------------------------------------------------ Slurm
    def _start_slurm(self):
        d = self.slurm_dir
        for sub in ("state", "log"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(d, 0o700)
        self.port = self._free_port()
        host = sh("hostname", "-s").stdout.strip()
        lines = [
            "ClusterName=tally-mn", f"SlurmctldHost={host}({self.net}.1)", f"SlurmctldPort={self.port}",
            f"SlurmdPort={self.port + 1}", "SlurmUser=root", "AuthType=auth/munge", "CredType=cred/munge",
            f"AuthInfo=socket={d}/munge.socket,cred_expire=5", f"StateSaveLocation={d}/state",
            f"SlurmdSpoolDir={d}/spool/%n", f"TmpFS={d}/tmp/%n", f"SlurmctldPidFile={d}/slurmctld.pid",
            f"SlurmdPidFile={d}/slurmd-%n.pid", f"SlurmctldLogFile={d}/log/slurmctld.log",
            f"SlurmdLogFile={d}/log/slurmd-%n.log", "ProctrackType=proctrack/pgid", "TaskPlugin=task/none",
            "SwitchType=switch/none", "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
            "MpiDefault=pmix", "ReturnToService=2", "MailProg=/bin/true",
            "SchedulerParameters=sched_interval=1,bf_interval=1,batch_sched_delay=0", "MinJobAge=300",
            "KillWait=2", "SlurmdTimeout=10", "SlurmdParameters=config_overrides",
        ]
        for name in self.names:
            os.makedirs(os.path.join(d, "spool", name), exist_ok=True)  # Slurm expands %n but does not create it
            os.makedirs(os.path.join(d, "tmp", name), exist_ok=True)    # pmix files per node: /tmp is shared
            lines.append(f"NodeName={name} NodeAddr={self.ip(name)} CPUs=2 RealMemory=1000 State=UNKNOWN")
        lines.append("PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES")
        conf = os.path.join(d, "slurm.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        key = os.path.join(d, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        env = self.env()  # tagged: stop() and cleanup find the daemons by their environment
        sh("munged", "--force", f"--key-file={key}", f"--socket={d}/munge.socket", f"--pid-file={d}/munged.pid",
           f"--log-file={d}/log/munged.log", f"--seed-file={d}/munged.seed", env=env)
        sh("slurmctld", "-f", conf, "-i", env=env)
        for name in self.names:
            sh(*self.on(name, "slurmd", "-f", conf, "-N", name), env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            idle = sh("sinfo", "-h", "-N", "-t", "idle", "-o", "%N", check=False, env=env).stdout.split()
            if len(set(idle)) == self.n:
                return
            time.sleep(0.2)
        raise RuntimeError("Slurm nodes did not come up: " + sh("sinfo", "-N", check=False, env=env).stdout)


# ---------------------------------------------------------------------- cleanup
def remove(tag):
    """Removes everything of cluster `tag`: processes, namespaces, links, hosts lines, state."""
    # Launchers and daemons first, so that nothing restarts what is killed next.
    _kill(tagged_processes().get(tag, []))
    for ns in _netns_names():
        if ns.startswith(f"tlymn-{tag}-"):
            _kill(_netns_pids(ns))
    state = os.path.join(STATE_ROOT, tag)
    uts = os.path.join(state, "uts")
    for f in os.listdir(uts) if os.path.isdir(uts) else []:
        subprocess.run(["umount", os.path.join(uts, f)], capture_output=True)
    for ns in _netns_names():
        if ns.startswith(f"tlymn-{tag}-"):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for link in _link_names():  # a veth goes with its namespace; this catches one whose namespace is gone
        if link.startswith(f"tly{tag}n"):
            subprocess.run(["ip", "link", "del", link], capture_output=True)
    subprocess.run(["ip", "link", "del", f"tlybr{tag}"], capture_output=True)
    _remove_hosts_lines(tag)
    shutil.rmtree(state, ignore_errors=True)
    shutil.rmtree(SLURM_PREFIX + tag, ignore_errors=True)


def all_tags():
    """Tags that have anything on this machine, and what."""
    found = {}
    for ns in _netns_names():
        found.setdefault(ns.split("-")[1], []).append(f"netns {ns}")
    for link in _link_names():
        if link.startswith("tlybr"):
            found.setdefault(link[len("tlybr"):], []).append(f"bridge {link}")
        elif link.startswith("tly") and link[3:4].isdigit():  # the host end of a node's veth: tly<tag>nI
            found.setdefault(link[3:].split("n")[0], []).append(f"veth {link}")
    for tag in _hosts_tags():
        found.setdefault(tag, []).append("/etc/hosts lines")
    for d in os.listdir(STATE_ROOT) if os.path.isdir(STATE_ROOT) else []:
        found.setdefault(d, []).append(f"{STATE_ROOT}/{d}")
    for d in os.listdir("/tmp"):
        if ("/tmp/" + d).startswith(SLURM_PREFIX):
            found.setdefault(d[len(SLURM_PREFIX) - len("/tmp/"):], []).append(f"/tmp/{d}")
    for tag, pids in tagged_processes().items():
        found.setdefault(tag, []).append(f"processes {pids}")
    return found


def owner_alive(tag):
    """Whether the test process that made cluster `tag` still runs (then its cluster is in use)."""
    if not tag.isdigit() or _start_time(int(tag)) is None:
        return False
    try:
        with open(os.path.join(STATE_ROOT, tag, "owner")) as f:
            return f.read().split()[1] == _start_time(int(tag))
    except (OSError, IndexError):
        pass
    # No owner record (half started or half removed): alive while a multinode test runs with that pid.
    try:
        with open(f"/proc/{int(tag)}/cmdline", "rb") as f:
            return b"multinode" in f.read()
    except OSError:
        return False


def cleanup(everything=False):
    """Removes what dead owners left (all clusters with `everything`); returns what it removed."""
    removed = []
    for tag, what in sorted(all_tags().items()):
        if everything or not owner_alive(tag):
            remove(tag)
            removed.append(f"{tag}: {', '.join(what)}")
    return removed


if __name__ == "__main__":
    if sys.argv[1:] not in (["cleanup"], ["cleanup", "--all"]):
        sys.exit("usage: cluster.py cleanup [--all]   (--all: clusters of live test runs too)")
    if os.geteuid() != 0:
        print("multinode: not root, nothing can have been left")
        sys.exit(0)
    for line in cleanup(everything="--all" in sys.argv):
        print(f"multinode: removed leftovers of {line}")
    left = all_tags()
    print(f"multinode: clusters in use by live test runs: {sorted(left)}" if left else "multinode: no leftovers")
