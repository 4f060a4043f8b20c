"""Shared helpers for tally's scenario tests (mpi, fault): run the real binary under
the real mpirun, read the real HDF5 files with h5py. No mocks."""
import atexit
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

TALLY = os.environ.get("TALLY_BIN") or sys.exit("TALLY_BIN is not set (run through ctest)")
# The project's own Python package (python/tally) reads int128 sums exactly.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from tally.results import exact_ints  # noqa: E402


def add_to_int(f, path, delta, index=None):
    """Adds `delta` to element `index` (None: a scalar) of an int64 or int128 dataset, exactly."""
    d = f[path]
    values = exact_ints(d[()])
    values[0 if index is None else index] += delta
    if d.dtype.names:
        data = np.array([(v & ((1 << 64) - 1), v >> 64) for v in values], dtype=d.dtype)
    else:
        data = np.array(values, dtype=d.dtype)
    d[...] = data[0] if index is None else data
# The launcher of the MPI tally was built with: TALLY_MPIRUN (the release-mpich test
# preset sets mpiexec.mpich), else mpirun. Open MPI's mpirun and MPICH's Hydra mpiexec
# take different flags; MPI_FLAVOUR says which one this is.
MPIRUN = os.environ.get("TALLY_MPIRUN") or shutil.which("mpirun") or "mpirun"


def _flavour(launcher):
    try:
        text = subprocess.run([launcher, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return "mpich" if "HYDRA" in text else "openmpi" if "Open MPI" in text else "unknown"


def _linked_flavour(binary):
    try:
        text = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return "mpich" if "libmpich" in text else "openmpi" if "libmpi.so" in text else "unknown"


MPI_FLAVOUR = _flavour(MPIRUN)
if "unknown" not in (MPI_FLAVOUR, _linked_flavour(TALLY)) and MPI_FLAVOUR != _linked_flavour(TALLY):
    sys.exit(f"{TALLY} is built with {_linked_flavour(TALLY)} but the launcher {MPIRUN} is {MPI_FLAVOUR}'s: "
             f"set TALLY_MPIRUN (ctest --preset release-mpich sets mpiexec.mpich)")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", TALLY_MPI_FLAVOUR=MPI_FLAVOUR)


def mpi_command(np_, args, threads=None):
    if MPI_FLAVOUR == "mpich":  # Hydra: oversubscribes and does not bind unless asked
        cmd = [MPIRUN, "-n", str(np_), TALLY] + list(args)
    else:
        cmd = [MPIRUN, "-np", str(np_), "--oversubscribe", "--bind-to", "none", TALLY] + list(args)
    if threads:
        cmd += ["--threads", str(threads)]
    return cmd


def run(cmd, timeout=120, check=None):
    """Runs cmd; returns CompletedProcess. check: expected exit code (asserted)."""
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{' '.join(cmd)}\nexit {p.returncode}, expected {check}\n"
                             f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
    return p


def tally_json(cmd, timeout=120):
    p = run(cmd + ["--json"], timeout=timeout, check=0)
    return json.loads(p.stdout)


def results(path):
    """What a results file says, minus timing and layout: the bits that must not change."""
    with h5py.File(path, "r") as f:
        out = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()
               if k not in ("wall_seconds", "elapsed_seconds", "ranks", "threads", "restarts", "digest")}
        for name in ("tasks/sum", "tasks/count", "tasks/tail", "chunks/sum", "chunks/missing", "chunks/done",
                     "total/sum", "total/count"):
            value = f[name][()]
            out[name] = exact_ints(value) if np.asarray(value).dtype.names else np.asarray(value).tolist()
    return out


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def scratch(prefix):
    """A fresh work directory, removed when the test ends: normally, by an exception or
    by ctest's SIGTERM at its timeout (TALLY_TEST_KEEP=1 keeps it for a look)."""
    work = tempfile.mkdtemp(prefix=f"tally-{prefix}-")
    if os.environ.get("TALLY_TEST_KEEP") != "1":
        atexit.register(shutil.rmtree, work, True)
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return work


class Checklist:
    """ok/FAIL lines for scenario tests that go on after a failed check; exit() ends
    the test with 1 when any check failed."""

    def __init__(self):
        self.failures = 0

    def __call__(self, ok, label):
        print(f"{'ok  ' if ok else 'FAIL'} {label}", flush=True)
        self.failures += 0 if ok else 1

    def exit(self):
        sys.exit(1 if self.failures else 0)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class Hold:
    """Holds a tally process at a named point (src/io/test_hold.hpp) until released, so a
    test acts at that point whatever the machine's load, instead of sleeping and hoping:

        hold = Hold(work, "stop-write")
        proc = subprocess.Popen(cmd, env=dict(ENV, **hold.env))
        hold.wait_reached(proc)     # True once the process waits at the point
        ...                         # act: signal it, kill it, start a second run
        hold.release()

    Every wait is bounded; a process never released goes on by itself after the hook's
    own bound (10 minutes). Several holds in one process: env=Hold.combined(a, b)."""

    def __init__(self, work, point):
        self.point = point
        self.fifo = os.path.join(work, f"hold-{point}-{len(os.listdir(work))}.fifo")
        os.mkfifo(self.fifo)
        self.env = {"TALLY_TEST_HOLD": f"{point}:{self.fifo}"}
        self._fd = None

    @staticmethod
    def combined(*holds):
        return {"TALLY_TEST_HOLD": ",".join(h.env["TALLY_TEST_HOLD"] for h in holds)}

    def wait_reached(self, proc=None, seconds=300):
        """True when the process holds at the point: it has the FIFO open for reading, so
        a non-blocking open for writing succeeds. False when `proc` ended first or after
        `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                return True
            except OSError as e:
                if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.005)
        return False

    def release(self):
        """Lets the held process go on (a no-op when it never reached the point)."""
        if self._fd is not None:
            try:
                os.write(self._fd, b"x")
            except OSError:  # the process ended meanwhile (killed by the test)
                pass
            os.close(self._fd)
            self._fd = None
