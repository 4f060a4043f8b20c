"""Emulated cluster nodes on one Linux machine, for tally's multi-node tests.

A node is a network namespace (its own eth0 and IP on a bridge) plus a UTS namespace
(its own hostname, node1..nodeN); the file system and PID space stay shared, as on a
cluster with a shared file system. The host itself is the login node: mpirun, srun and
slurmctld run there. Open MPI reaches the nodes through a stand-in for ssh that enters
a node's namespaces (written into the work directory); Slurm runs munged and slurmctld
on the host and one slurmd inside each node.

Everything the fixture creates carries its tag (namespaces tlymn-<tag>-nodeI, bridge
tlybr<tag>, /etc/hosts lines ending '# tally-multinode <tag>', state under
/run/tally-multinode/<tag>) and is removed by stop() -- also when a test fails, raises,
or is killed by ctest's timeout (SIGTERM) -- and by `cluster.py cleanup`, which removes
anything any earlier run left behind.
"""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import time

STATE_ROOT = "/run/tally-multinode"
HOSTS_TAG = "# tally-multinode"
SKIP = 77


def sh(*cmd, check=True, timeout=30, **kw):
    return subprocess.run(list(cmd), check=check, timeout=timeout, capture_output=True, text=True, **kw)


def namespaces_permitted():
    """None when this process can make network namespaces, else why not."""
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


def skip_unless_permitted():
    why = namespaces_permitted()
    if why:
        print(f"SKIP: {why}")
        sys.exit(SKIP)


def _write_hosts(lines):
    # Rewrite in place: /etc/hosts may be a bind mount (containers), so never rename over it.
    with open("/etc/hosts", "r+") as f:
        f.seek(0)
        f.write("".join(lines))
        f.truncate()


def _remove_hosts_lines(tag=None):
    marker = HOSTS_TAG + (f" {tag}\n" if tag else "")
    with open("/etc/hosts") as f:
        lines = f.readlines()
    kept = [line for line in lines if not (line.endswith(marker) if tag else HOSTS_TAG in line)]
    if kept != lines:
        _write_hosts(kept)


class Cluster:
    """Cluster(3) as a context manager: node names node1..node3, IPs 10.78.<k>.11..."""

    def __init__(self, n, work, slurm=False):
        self.n = n
        self.work = work
        self.tag = f"{os.getpid() % 100000:05d}"
        self.state = os.path.join(STATE_ROOT, self.tag)
        self.bridge = f"tlybr{self.tag}"
        self.net = f"10.78.{20 + os.getpid() % 200}"
        self.names = [f"node{i}" for i in range(1, n + 1)]
        self.slurm = slurm
        self.slurm_dir = f"/tmp/tlyslurm-{self.tag}"  # short: munge's socket path is limited to 107 bytes
        self.port = 17917
        self.rsh = os.path.join(self.state, "fake-rsh")
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self):
        atexit.register(self.stop)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
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

    def netns(self, name):
        return f"tlymn-{self.tag}-{name}"

    def ip(self, name):
        return f"{self.net}.{10 + self.names.index(name) + 1}"

    def start(self):
        os.makedirs(os.path.join(self.state, "uts"), exist_ok=True)
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.net}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        hosts = []
        for i, name in enumerate(self.names, start=1):
            ns, veth = self.netns(name), f"tly{self.tag}n{i}"
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.ip(name)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            uts = os.path.join(self.state, "uts", name)
            open(uts, "w").close()
            sh("unshare", f"--uts={uts}", "hostname", name)  # a persistent UTS namespace
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
        if self.slurm:
            self._stop_slurm()
        for name in self.names:
            ns = self.netns(name)
            for pid in self.pids(name):
                for sig in (signal.SIGCONT, signal.SIGKILL):  # a stopped process must be woken to die
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            subprocess.run(["umount", os.path.join(self.state, "uts", name)], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        _remove_hosts_lines(self.tag)
        shutil.rmtree(self.state, ignore_errors=True)
        shutil.rmtree(self.slurm_dir, ignore_errors=True)

    # ------------------------------------------------------------------ nodes
    def pids(self, name):
        p = subprocess.run(["ip", "netns", "pids", self.netns(name)], capture_output=True, text=True)
        return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []

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

    def signal_node(self, name, sig):
        """Sends `sig` to every process on node `name` (SIGKILL: the node died)."""
        for pid in self.pids(name):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def unplug(self, name):
        sh("ip", "link", "set", f"tly{self.tag}n{self.names.index(name) + 1}", "down")

    def on(self, name, *cmd):
        return ["nsenter", f"--net=/run/netns/{self.netns(name)}", f"--uts={self.state}/uts/{name}", "--", *cmd]

    # ------------------------------------------------------------------ launchers
    def env(self):
        return dict(os.environ, OMPI_MCA_plm_rsh_agent=self.rsh, OMPI_MCA_btl="tcp,self",
                    OMPI_MCA_btl_tcp_if_include=f"{self.net}.0/24", OMPI_MCA_oob_tcp_if_include=f"{self.net}.0/24",
                    OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                    SLURM_CONF=os.path.join(self.slurm_dir, "slurm.conf"))

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

    # ------------------------------------------------------------------ Slurm
    def _start_slurm(self):
        d = self.slurm_dir
        for sub in ("state", "log"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(d, 0o700)
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
        sh("munged", "--force", f"--key-file={key}", f"--socket={d}/munge.socket", f"--pid-file={d}/munged.pid",
           f"--log-file={d}/log/munged.log", f"--seed-file={d}/munged.seed")
        sh("slurmctld", "-f", conf, "-i")
        for name in self.names:
            sh(*self.on(name, "slurmd", "-f", conf, "-N", name))
        env = self.env()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            idle = sh("sinfo", "-h", "-N", "-t", "idle", "-o", "%N", check=False, env=env).stdout.split()
            if len(set(idle)) == self.n:
                return
            time.sleep(0.2)
        raise RuntimeError("Slurm nodes did not come up: " + sh("sinfo", "-N", check=False, env=env).stdout)

    def _stop_slurm(self):
        d = self.slurm_dir
        pidfiles = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".pid")] if os.path.isdir(d) else []
        for path in sorted(pidfiles, key=lambda p: "munged" in p):  # munged last
            try:
                pid = int(open(path).read().strip())
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def srun(self, args, extra=()):
        return ["srun", "-N", str(self.n), "--ntasks-per-node=1", "--cpus-per-task=2", *extra, *args]


def cleanup_all():
    """Removes whatever any earlier run left: namespaces, bridges, hosts lines, daemons."""
    for ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n"):
        name = ns.split(" ")[0]
        if name.startswith("tlymn-"):
            for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
                for sig in (signal.SIGCONT, signal.SIGKILL):
                    try:
                        os.kill(int(pid), sig)
                    except (ProcessLookupError, ValueError):
                        pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith("tlybr"):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
    for d in ([os.path.join("/tmp", x) for x in os.listdir("/tmp") if x.startswith("tlyslurm-")]):
        for f in os.listdir(d):
            if f.endswith(".pid"):
                try:
                    os.kill(int(open(os.path.join(d, f)).read().strip()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        shutil.rmtree(d, ignore_errors=True)
    if os.path.isdir(STATE_ROOT):
        for tag in os.listdir(STATE_ROOT):
            for f in os.listdir(os.path.join(STATE_ROOT, tag, "uts")) if os.path.isdir(
                    os.path.join(STATE_ROOT, tag, "uts")) else []:
                subprocess.run(["umount", os.path.join(STATE_ROOT, tag, "uts", f)], capture_output=True)
        shutil.rmtree(STATE_ROOT, ignore_errors=True)
    _remove_hosts_lines()


if __name__ == "__main__" and sys.argv[1:] == ["cleanup"]:
    if os.geteuid() == 0:
        cleanup_all()
    print("multinode: no leftovers")
