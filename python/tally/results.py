"""tally.Results: one results file or checkpoint, read-only, checked by the same rules
as the C++ reader (src/io/record_layout.cpp, src/core/ledger.cpp, src/io/hdf5.cpp), with
exact Python integers for sums.

Reads format_version 1 (int64 sums) and 2 (128-bit sums as the compound
{lo: uint64, hi: int64}, ranks/host, starts/, lost/, provenance/). Before reading any
value it checks the value's type, shape and that the file really stores that many
bytes, so a crafted file can neither crash this reader nor make it allocate more than
the file holds."""
import os
import subprocess
import sys
import warnings

import numpy as np

from . import integrity
from .reference import NumpyStream, config_problem
from .stats import expected_total, z_score

FILETYPES = ("tally-results", "tally-checkpoint")
MAX_RANKS = 1 << 24          # as src/io/record_layout.cpp: anything larger is a corrupt file
MAX_HISTORY_ROWS = 1 << 20   # starts and lost ranks
MAX_TAIL_RECOMPUTE = 1 << 22  # rejected units per task whose tail is redrawn here; above, bounds only
MAX_FILTER_RATIO = 1100      # deflate cannot compress more than ~1032:1
START_COLUMNS = {"start_utc": "S", "end_utc": "S", "ranks": "i", "threads": "i", "hosts": "S",
                 "slurm_job_id": "S", "slurm_array_job_id": "S", "slurm_array_task_id": "S", "slurm_step_id": "S",
                 "exit_code": "i", "command_line": "S", "user": "S"}
LOST_COLUMNS = {"start": "i", "rank": "i", "host": "S", "seconds": "f", "chunks_reassigned": "i", "reason": "S"}


class FormatError(ValueError):
    """The file is not a (valid) tally file; the message says why, in one line."""


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def exact_ints(values):
    """Python ints from an int64 array or from tally's int128 compound {lo: uint64, hi: int64}."""
    arr = np.asarray(values)
    if arr.dtype.names:
        if set(arr.dtype.names) != {"lo", "hi"}:
            raise FormatError(f"unexpected compound fields {arr.dtype.names}")
        flat = arr.reshape(-1)
        return [(int(h) << 64) | int(lo) for lo, h in zip(flat["lo"].astype(np.uint64).tolist(),
                                                           flat["hi"].astype(np.int64).tolist())]
    if arr.dtype.kind not in "iu":
        raise FormatError(f"expected integers, found {arr.dtype}")
    return [int(v) for v in arr.reshape(-1).tolist()]


def fingerprint(canonical_text):
    """FNV-1a 64 of the canonical configuration text, as 16 hex digits (src/core/config.cpp)."""
    h = 0xCBF29CE484222325
    for byte in canonical_text.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def canonical_text(c):
    return (f"tally-config-v1 stream={c['stream']} seed={c['seed']} tasks={c['tasks']} samples={c['samples']} "
            f"lo={c['lo']} hi={c['hi']} chunk={c['chunk']}")


def parse_seed(text):
    """A seed as tally parses it (core::parse_u128): decimal, or hexadecimal after 0x; below 2^128."""
    hexa = len(text) > 2 and text[:2] in ("0x", "0X")
    digits = text[2:] if hexa else text
    allowed = "0123456789abcdefABCDEF" if hexa else "0123456789"
    if not digits or any(ch not in allowed for ch in digits):
        raise FormatError(f"stored seed must be a non-negative integer, not {text!r}")
    value = int(digits, 16 if hexa else 10)
    if value >= 1 << 128:
        raise FormatError(f"stored seed must be below 2^128, not {text!r}")
    return value


class _File:
    """Typed, bounded access to an open h5py file: every read checks the stored type and
    shape first and that the file holds the bytes it claims (no huge allocations)."""

    def __init__(self, f, size):
        import h5py
        self.h5py, self.f, self.size = h5py, f, size

    # -------------------------------------------------------------- objects
    def get(self, path, kind="dataset"):
        obj = self.f
        for part in path.split("/"):
            if not isinstance(obj, self.h5py.Group):
                raise FormatError(f"{path!r} is missing (a dataset where a group should be)")
            link = obj.get(part, getlink=True)
            if link is None:
                raise FormatError(f"{kind} {path!r} is missing")
            if not isinstance(link, self.h5py.HardLink):  # soft or external: loops, other files
                raise FormatError(f"{path!r} is a {type(link).__name__}; tally writes plain objects only")
            obj = obj[part]
        want = self.h5py.Dataset if kind == "dataset" else self.h5py.Group
        if not isinstance(obj, want):
            raise FormatError(f"{path!r} is not a {kind}")
        return obj

    def exists(self, path):
        obj = self.f
        for part in path.split("/"):
            if not isinstance(obj, self.h5py.Group) or part not in obj:
                return False
            obj = obj[part]
        return True

    # -------------------------------------------------------------- attributes
    def attr(self, obj, name, kind):
        """One attribute: kind 'i' (8-byte integer), 'f' (8-byte float) or 'S' (fixed-length string)."""
        if name not in obj.attrs:
            raise FormatError(f"attribute {name!r} is missing")
        aid = obj.attrs.get_id(name)
        dt, n = aid.dtype, (0 if aid.shape is None else int(np.prod(aid.shape, dtype=object)))
        ok = {"i": dt.kind in "iu" and dt.itemsize == 8, "f": dt.kind == "f" and dt.itemsize == 8,
              "S": dt.kind == "S" and 0 < dt.itemsize <= 1 << 20}[kind]
        if not ok or n != 1:
            raise FormatError(f"attribute {name!r} has the wrong type or shape ({dt}, {aid.shape})")
        value = np.asarray(obj.attrs[name]).reshape(-1)[0]
        if kind == "i":
            value = int(value)
            if not -(1 << 63) <= value < 1 << 63:
                raise FormatError(f"attribute {name!r} is out of the int64 range")
            return value
        return float(value) if kind == "f" else _text(value).split("\0", 1)[0]

    # -------------------------------------------------------------- datasets
    def dataset(self, path, n, kind, scalar_ok=False, shape=None):
        """The n values of a 1-D dataset (or one of shape `shape`), after checking its type,
        shape and stored size. kind: 'i8', 'u1' (flags), 'f8', 'i128' (int64 in format 1,
        the {lo, hi} compound in 2) or 'S' (fixed-length strings)."""
        d = self.get(path)
        want = shape or (n,)
        if tuple(d.shape) != want and not (scalar_ok and n == 1 and d.shape == ()):
            raise FormatError(f"dataset {path!r} has shape {d.shape}, expected {want}")
        dt = d.dtype
        if kind == "i128":
            ok = (dt.names is not None and set(dt.names) == {"lo", "hi"} and dt.itemsize == 16
                  and dt["lo"].kind == "u" and dt["lo"].itemsize == 8 and dt["hi"].kind == "i"
                  and dt["hi"].itemsize == 8)
        elif kind == "S":
            ok = dt.kind == "S" and 0 < dt.itemsize <= 1 << 16
        else:
            ok = dt.names is None and dt.kind in {"i8": "iu", "u1": "iu", "f8": "f"}[kind] and \
                dt.itemsize == int(kind[1])
        if not ok:
            raise FormatError(f"dataset {path!r} has type {dt}, not tally's {kind}")
        self.bounded(d, path)
        return d[()]

    def bounded(self, d, path):
        """Refuses a dataset that claims more bytes than the file stores for it (unallocated,
        external or virtual storage, or a crafted dimension)."""
        nbytes = int(np.prod(d.shape, dtype=object)) * d.dtype.itemsize
        if nbytes == 0:
            return
        storage = d.id.get_storage_size()
        filtered = d.id.get_create_plist().get_nfilters() > 0
        limit = min(storage, self.size) * (MAX_FILTER_RATIO if filtered else 1)
        if nbytes > limit:
            raise FormatError(f"dataset {path!r} claims {nbytes} bytes but the file stores {storage} for it")


def _open(h5py, path):
    """Read-only, locking where the file system can (as tally's default): NFS or Lustre
    mounts without working locks must not make a good file unreadable."""
    try:
        return h5py.File(path, "r", locking="best-effort")
    except (TypeError, ValueError):  # an h5py or libhdf5 without the locking option
        return h5py.File(path, "r")


class Results:
    """A tally results file or checkpoint. Raises FormatError, with one line, for anything
    that is not a valid tally file; no h5py exception reaches the caller. (A damaged file
    can still crash the HDF5 library itself: `tally.results.check_in_subprocess(path)`
    validates in a child process first.)"""

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FormatError(f"{self.path} does not exist or is not a file")
        try:
            import h5py  # here, so `import tally` works without h5py for tally.reference
        except ImportError:
            raise FormatError("reading tally files needs h5py (Debian: python3-h5py)") from None
        size = os.path.getsize(self.path)
        try:
            sealed = integrity.has_seal(self.path)
            self.integrity = self._check_seal() if sealed else {"seal": "none (results files are not sealed)"}
            with _open(h5py, self.path) as f:
                self._read(_File(f, size))
            if self.filetype == "tally-checkpoint":
                if not sealed:
                    raise FormatError("a checkpoint without its seal (torn, or its first block was overwritten)")
                self._check_digest()
        except FormatError as e:
            raise FormatError(f"{self.path}: {e}") from None
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError, IndexError,
                OverflowError, MemoryError) as e:
            first = str(e).splitlines()[0] if str(e) else ""
            raise FormatError(f"{self.path}: not a valid tally file ({type(e).__name__}: {first})") from None

    # ------------------------------------------------------------------ integrity
    def _check_seal(self):
        if integrity.xxhash is not None:
            problem = integrity.seal_problem(self.path)
            if problem:
                raise FormatError(f"checkpoint fails its seal: {problem}")
            return {"seal": "XXH3-128 of the whole file matches"}
        binary = integrity.tally_binary()
        found = integrity.problems_from_binary(self.path, binary) if binary else None
        if found:
            raise FormatError(f"checkpoint fails its integrity checks ({binary} verify): {'; '.join(found)}")
        if found is None:
            warnings.warn(f"{self.path}: checkpoint seal and digest not checked (no python3-xxhash, no tally "
                          "binary); `tally verify` checks them", stacklevel=3)
            return {"seal": "not checked (no xxhash module, no tally binary)", "digest": "not checked"}
        return {"seal": f"checked by {binary} verify", "digest": f"checked by {binary} verify"}

    def _check_digest(self):
        if integrity.xxhash is None:
            return  # done with the seal by the binary, or reported as not checked
        if self._digest is None:
            raise FormatError("a checkpoint without its digest attribute")
        raw = self._raw_sums
        lo = raw["lo"].astype(np.uint64) if raw.dtype.names else raw.astype(np.int64).view(np.uint64)
        hi = raw["hi"].astype(np.int64).view(np.uint64) if raw.dtype.names else np.zeros_like(lo)
        got = integrity.record_digest(canonical_text(self.config), self.status, self.chunks["done"], lo, hi,
                                      self.chunks["missing"], self.restarts, self.elapsed_seconds, self.histogram,
                                      wide=self.format_version >= 2)
        if got != self._digest:
            raise FormatError("checkpoint digest does not match its contents (edited and re-sealed?)")
        self.integrity["digest"] = "XXH3-128 of the record matches"

    # ------------------------------------------------------------------ reading
    def _read(self, h):
        root = h.f
        self.filetype = h.attr(root, "filetype", "S") if "filetype" in root.attrs else ""
        if self.filetype not in FILETYPES:
            raise FormatError(f"not a tally file (filetype {self.filetype!r})")
        self.format_version = h.attr(root, "format_version", "i")
        if self.format_version not in (1, 2):
            raise FormatError(f"unsupported format_version {self.format_version} (this reader knows 1 and 2)")
        c = self._read_config(h)
        self.config = c
        per_task = -(-c["samples"] // c["chunk"])
        n_chunks = c["tasks"] * per_task
        self.status = h.attr(root, "status", "S")
        if self.status not in ("complete", "partial"):
            raise FormatError(f"unknown status {self.status!r}")
        self._digest = h.attr(root, "digest", "S") if "digest" in root.attrs else None

        # The ledger, and the rules of core::Ledger::restore.
        done = np.asarray(h.dataset("chunks/done", n_chunks, "u1"))
        if done.size and (done.max() > 1 or done.min() < 0):
            raise FormatError("the ledger holds an invalid done flag")
        done = done.astype(bool)
        self._raw_sums = raw = np.asarray(h.dataset("chunks/sum", n_chunks, self._sum_kind))
        missing = np.asarray(h.dataset("chunks/missing", n_chunks, "i8")).astype(np.int64)
        bad = np.nonzero((missing < 0) | ((missing > 0) & (c["stream"] != "numpy")))[0]
        if bad.size:
            i = int(bad[0])
            raise FormatError(f"chunk {i} claims {int(missing[i])} rejected units, impossible for this stream")
        # Most ledgers hold sums that fit int64 (|sum| ≤ chunk·max(|lo|, |hi|)): then the checks
        # run on NumPy int64 arrays wherever no intermediate can overflow, else on Python ints.
        v64 = raw.astype(np.int64) if raw.dtype.names is None else None
        if v64 is None:
            low = raw["lo"].astype(np.uint64).view(np.int64)
            if np.array_equal(raw["hi"].astype(np.int64), low >> 63):
                v64 = low
        chunk_sums = v64.tolist() if v64 is not None else exact_ints(raw)
        lo, hi = c["lo"], c["hi"]
        last = c["samples"] - (per_task - 1) * c["chunk"]
        values = np.where(np.arange(n_chunks) % per_task == per_task - 1, last, c["chunk"]) - missing
        if (done & (values < 0)).any():
            raise FormatError(f"chunk {int(np.argmax(done & (values < 0)))} claims more rejected units than it has")
        bound = c["chunk"] * max(abs(lo), abs(hi))  # |n·lo|, |n·hi|, |sum| of one chunk
        if v64 is not None and bound < 1 << 62:
            wrong = np.nonzero(done & ((v64 < values * lo) | (v64 > values * hi)))[0]
        else:
            wrong = [i for i in np.nonzero(done)[0].tolist()
                     if not int(values[i]) * lo <= chunk_sums[i] <= int(values[i]) * hi]
        if len(wrong):
            raise FormatError(f"the ledger holds an impossible sum for chunk {int(wrong[0])}")
        self.chunks = {"sum": np.array(chunk_sums, dtype=object), "missing": missing, "done": done}
        if self.status == "complete" and not done.all():
            raise FormatError("says complete but its ledger is not")

        # Stored per-task values must equal what the ledger gives (tails redrawn, as the C++ does).
        self.task_sums = exact_ints(h.dataset("tasks/sum", c["tasks"], self._sum_kind))
        self.task_counts = exact_ints(h.dataset("tasks/count", c["tasks"], "i8"))
        self.task_tails = exact_ints(h.dataset("tasks/tail", c["tasks"], self._sum_kind))
        starts = np.arange(c["tasks"]) * per_task
        per_task_sum = lambda a: np.add.reduceat(a, starts) if n_chunks else np.zeros(c["tasks"], a.dtype)  # noqa
        complete = (per_task_sum(done.astype(np.int64)) == per_task).tolist()
        rejected = per_task_sum(np.where(done, missing, 0)).tolist()
        counts = (per_task_sum(np.where(done, values, 0)) + np.where(complete, rejected, 0)).tolist()
        if v64 is not None and bound * per_task < 1 << 62:
            chunk_part = per_task_sum(np.where(done, v64, 0)).tolist()
        else:
            kept = [x if d else 0 for x, d in zip(chunk_sums, done.tolist())]
            chunk_part = [sum(kept[t * per_task:(t + 1) * per_task]) for t in range(c["tasks"])]
        self.tails_recomputed = True
        tails = [self._expected_tail(t, rejected[t], self.task_tails[t]) if complete[t] else 0
                 for t in range(c["tasks"])]
        sums = [part + (tail or 0) for part, tail in zip(chunk_part, tails)]
        mismatched = (tails, sums, counts) != (self.task_tails, self.task_sums, self.task_counts)
        for t in range(c["tasks"]) if mismatched else ():  # find the first task to name
            if tails[t] is None:
                raise FormatError(f"task {t} stores tail {self.task_tails[t]}, impossible for {rejected[t]} values")
            if tails[t] != self.task_tails[t]:
                raise FormatError(f"task {t} stores tail {self.task_tails[t]} but its rejected units give {tails[t]}")
            if sums[t] != self.task_sums[t]:
                raise FormatError(f"task {t} stores {self.task_sums[t]} but its chunks and tail sum to {sums[t]}")
            if counts[t] != self.task_counts[t]:
                raise FormatError(f"task {t} stores count {self.task_counts[t]} but its chunks hold {counts[t]}")
        self.total = exact_ints(h.dataset("total/sum", 1, self._sum_kind, scalar_ok=True))[0]
        self.count = exact_ints(h.dataset("total/count", 1, "i8", scalar_ok=True))[0]
        if self.total != sum(self.task_sums):
            raise FormatError(f"stored total {self.total} is not the sum of its task sums {sum(self.task_sums)}")
        if self.count != sum(self.task_counts):
            raise FormatError(f"stored count {self.count} but the tasks hold {sum(self.task_counts)}")

        # The run: ranks, timing, hosts, history, provenance.
        self.ranks, self.threads = h.attr(root, "ranks", "i"), h.attr(root, "threads", "i")
        if not (1 <= self.ranks <= MAX_RANKS and 1 <= self.threads <= MAX_RANKS):
            raise FormatError("stored ranks/threads are out of range")
        self.restarts = h.attr(root, "restarts", "i")
        if self.restarts < 0:
            raise FormatError("stored restarts is negative")
        self.wall_seconds = h.attr(root, "wall_seconds", "f")
        self.elapsed_seconds = h.attr(root, "elapsed_seconds", "f")
        self.rank_timing = {"chunks": np.asarray(h.dataset("ranks/chunks", self.ranks, "i8")).astype(np.int64),
                            "busy_seconds": np.asarray(h.dataset("ranks/busy_seconds", self.ranks, "f8")),
                            "numbers_per_second": np.asarray(h.dataset("ranks/numbers_per_second", self.ranks,
                                                                       "f8"))}
        self.hosts, self.starts, self.lost, self.provenance = [], [], [], {}
        if self.format_version >= 2:
            self.hosts = [_text(x) for x in h.dataset("ranks/host", self.ranks, "S")]
            self.starts = self._rows(h, "starts", "start_utc", START_COLUMNS)
            self.lost = self._rows(h, "lost", "rank", LOST_COLUMNS)
            for row in self.lost:
                if not (0 <= row["start"] < len(self.starts) and 1 <= row["rank"] < MAX_RANKS
                        and row["chunks_reassigned"] >= 0):
                    raise FormatError("a lost-rank row is out of range")
            self.provenance = self._provenance(h)
        self.histogram = None
        if h.exists("histogram/counts"):
            span = hi - lo + 1
            if span > 1 << 16:
                raise FormatError("a histogram is stored for a span too wide to have one")
            self.histogram = np.asarray(h.dataset("histogram/counts", None, "i8", shape=(c["tasks"], span)))
            self.histogram = self.histogram.astype(np.int64)

    @property
    def _sum_kind(self):
        return "i128" if self.format_version >= 2 else "i8"

    def _read_config(self, h):
        root = h.f
        stream = h.attr(root, "stream", "S")
        if stream not in ("fast", "numpy"):
            raise FormatError(f"unknown stream {stream!r}")
        c = {"stream": stream, "seed": parse_seed(h.attr(root, "seed", "S"))}
        for key in ("tasks", "samples", "lo", "hi", "chunk"):
            c[key] = h.attr(root, key, "i")
        problem = config_problem(c["tasks"], c["samples"], c["lo"], c["hi"], c["chunk"], c["seed"])
        if problem:
            raise FormatError(f"stored configuration is invalid: {problem}")
        if h.attr(root, "config_fingerprint", "S") != fingerprint(canonical_text(c)):
            raise FormatError("stored configuration does not match its fingerprint (tampered?)")
        return c

    def _expected_tail(self, task, rejected, stored):
        """The task's tail as the C++ reader recomputes it: the numpy stream's first `rejected`
        accepted values after the task's samples. Past MAX_TAIL_RECOMPUTE units only its bounds."""
        c = self.config
        if rejected == 0:
            return 0
        if rejected > MAX_TAIL_RECOMPUTE:
            self.tails_recomputed = False
            return stored if rejected * c["lo"] <= stored <= rejected * c["hi"] else None
        return NumpyStream(c["seed"], c["lo"], c["hi"]).tail(task, c["samples"], rejected)

    @staticmethod
    def _rows(h, group, key, columns):
        h.get(group, "group")
        shape = h.get(f"{group}/{key}").shape
        if shape is None or len(shape) != 1 or shape[0] > MAX_HISTORY_ROWS:
            raise FormatError(f"{group}/{key} is not a list of at most {MAX_HISTORY_ROWS} rows")
        n = shape[0]
        data = {}
        for name, kind in columns.items():
            values = h.dataset(f"{group}/{name}", n, {"S": "S", "i": "i8", "f": "f8"}[kind])
            data[name] = [_text(v).split("\0", 1)[0] if kind == "S" else (int(v) if kind == "i" else float(v))
                          for v in np.asarray(values).tolist()]
        return [{name: data[name][i] for name in columns} for i in range(n)]

    @staticmethod
    def _provenance(h):
        g = h.get("provenance", "group")
        names = list(g.attrs.keys())
        if len(names) > 256:
            raise FormatError("group 'provenance' has too many attributes")
        return {name: h.attr(g, name, "S") for name in names}

    # ------------------------------------------------------------------ derived
    @property
    def task_count_total(self):
        return sum(self.task_counts)

    def expected_total(self):
        """n·(lo+hi)/2 for the draws done: an int, or a Fraction with denominator 2."""
        return expected_total(self.config["lo"], self.config["hi"], self.count)

    def z_scores(self):
        """Per-task z-scores from exact integers (a list of floats)."""
        lo, hi = self.config["lo"], self.config["hi"]
        return [z_score(s, n, lo, hi) for s, n in zip(self.task_sums, self.task_counts)]

    def z_score(self):
        """z-score of the total."""
        return z_score(self.total, self.count, self.config["lo"], self.config["hi"])

    def ranks_per_host(self):
        out = {}
        for rank, host in enumerate(self.hosts):
            out.setdefault(host, []).append(rank)
        return out

    @property
    def progress(self):
        """Fraction of chunks done (1.0 for a complete file)."""
        done = self.chunks["done"]
        return float(done.mean()) if done.size else 1.0

    def __repr__(self):
        c = self.config
        where = ""
        if self.hosts:
            where = f", {self.ranks} rank(s) on {len(self.ranks_per_host())} host(s)"
        return (f"<tally.Results {os.path.basename(self.path)!r} format {self.format_version} {self.filetype} "
                f"{self.status} ({100 * self.progress:.0f} %): {c['tasks']} tasks x {c['samples']} draws in "
                f"[{c['lo']}, {c['hi']}], stream {c['stream']}, seed {c['seed']}, total {self.total}, "
                f"{len(self.starts) or self.restarts + 1} start(s){where}>")


_CHILD = ("import sys\nsys.path.insert(0, sys.argv[2])\nimport tally\ntry:\n    tally.Results(sys.argv[1])\n"
          "except tally.FormatError as e:\n    print(e)\n    sys.exit(2)\n")


def check_in_subprocess(path, timeout=None):
    """Validates `path` with Results in a child Python: None when valid, else one line. A
    damaged file can crash or hang the HDF5 library itself (libhdf5 1.10 has such bugs),
    and that must end in a line, not a core dump. timeout: seconds (default: 60 s plus
    a second per 20 MB)."""
    path = os.fspath(path)
    if timeout is None:
        timeout = 60 + (os.path.getsize(path) if os.path.isfile(path) else 0) / 20e6
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        p = subprocess.run([sys.executable, "-c", _CHILD, path, package_parent], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"{path}: reading it did not finish in {timeout:.0f} s (a damaged file?)"
    if p.returncode == 0:
        return None
    if p.returncode == 2 and p.stdout.strip():
        return p.stdout.strip().splitlines()[-1]
    return f"{path}: cannot be read (the HDF5 library failed on it, exit {p.returncode}: a damaged file)"
