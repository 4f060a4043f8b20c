"""tally.Results: one results file or checkpoint, read-only and lazily, checked on request
by the same rules as the C++ reader (src/io/record_layout.cpp, src/core/ledger.cpp,
src/io/hdf5.cpp), with exact Python integers for sums.

Opening reads the configuration, status and provenance only; everything else is read
when first asked for. Reads format_version 1 (int64 sums) and 2 (128-bit sums as the
compound {lo: uint64, hi: int64}, ranks/host, starts/, lost/, provenance/). Before
reading any value it checks the value's type, shape and that the file really stores
that many bytes, so a crafted file can neither crash this reader nor make it allocate
more than the file holds."""
import dataclasses
import functools
import html
import os
import subprocess
import sys

import numpy as np

from . import integrity
from .reference import NumpyStream, config_problem
from .stats import expected_total, z_score

FILETYPES = ("tally-results", "tally-checkpoint")
INT128 = np.dtype([("lo", "<u8"), ("hi", "<i8")])  # how chunk sums are handed out, both formats
MAX_RANKS = 1 << 24          # as src/io/record_layout.cpp: anything larger is a corrupt file
MAX_HISTORY_ROWS = 1 << 20   # starts and lost ranks
MAX_TAIL_RECOMPUTE = 1 << 22  # rejected units per task whose tail is redrawn here; above, bounds only
MAX_FILTER_RATIO = 1100      # deflate cannot compress more than ~1032:1
START_COLUMNS = {"start_utc": "S", "end_utc": "S", "ranks": "i", "threads": "i", "hosts": "S",
                 "slurm_job_id": "S", "slurm_array_job_id": "S", "slurm_array_task_id": "S", "slurm_step_id": "S",
                 "exit_code": "i", "command_line": "S", "user": "S"}
LOST_COLUMNS = {"start": "i", "rank": "i", "host": "S", "seconds": "f", "chunks_reassigned": "i", "reason": "S"}


class FormatError(ValueError):
    """The file is not a (valid) tally file; the message names it and says why, in one line.
    Raised for problems of the file only: anything else (a bug, no memory, no permission)
    propagates as itself."""


@dataclasses.dataclass(frozen=True)
class Config:
    """A run's configuration, as `tally run` takes it (docs/cli.md)."""
    stream: str
    seed: int
    tasks: int
    samples: int
    lo: int
    hi: int
    chunk: int

    @property
    def chunks_per_task(self):
        return -(-self.samples // self.chunk)

    @property
    def chunks(self):
        """Chunks in the ledger: tasks × chunks per task."""
        return self.tasks * self.chunks_per_task

    @property
    def span(self):
        """Values in [lo, hi]."""
        return self.hi - self.lo + 1

    @property
    def canonical_text(self):
        return canonical_text(self)


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _first_line(error):
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def exact_ints(values):
    """Python ints from an int64 array or from tally's int128 compound {lo: uint64, hi: int64}."""
    arr = np.asarray(values)
    if arr.dtype.names:
        flat = arr.reshape(-1)
        return [(int(h) << 64) | int(lo) for lo, h in zip(flat["lo"].astype(np.uint64).tolist(),
                                                           flat["hi"].astype(np.int64).tolist())]
    return [int(v) for v in arr.reshape(-1).tolist()]


def fingerprint(canonical):
    """FNV-1a 64 of the canonical configuration text, as 16 hex digits (src/core/config.cpp)."""
    h = 0xCBF29CE484222325
    for byte in canonical.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def canonical_text(c):
    """The configuration text the fingerprint is taken of; c: a Config or a dict of its fields."""
    c = dataclasses.asdict(c) if isinstance(c, Config) else c
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


def _hdf5_error(error):
    """True for an error the HDF5 library raised about the file's bytes (h5py gives those
    as a plain OSError without errno, or KeyError for an object it cannot open); a
    FileNotFoundError, PermissionError or any other error is not the file's format."""
    return (type(error) is OSError and error.errno is None) or type(error) is KeyError


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
            try:
                obj = obj[part]
            except (OSError, KeyError) as e:
                if not _hdf5_error(e):
                    raise
                raise FormatError(f"{path!r} cannot be opened ({_first_line(e)})") from None
        want = self.h5py.Dataset if kind == "dataset" else self.h5py.Group
        if not isinstance(obj, want):
            raise FormatError(f"{path!r} is not a {kind}")
        return obj

    def exists(self, path):
        obj = self.f
        for part in path.split("/"):
            if not isinstance(obj, self.h5py.Group) or obj.get(part, getlink=True) is None:
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
        try:
            value = np.asarray(obj.attrs[name]).reshape(-1)[0]
        except OSError as e:
            if not _hdf5_error(e):
                raise
            raise FormatError(f"attribute {name!r} cannot be read ({_first_line(e)})") from None
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
        try:
            return d[()]
        except OSError as e:
            if not _hdf5_error(e):
                raise
            raise FormatError(f"dataset {path!r} cannot be read ({_first_line(e)})") from None

    def rows(self, path):
        """Length of a 1-D list dataset (starts/, lost/), without reading it."""
        shape = self.get(path).shape
        if shape is None or len(shape) != 1 or shape[0] > MAX_HISTORY_ROWS:
            raise FormatError(f"{path} is not a list of at most {MAX_HISTORY_ROWS} rows")
        return shape[0]

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


def _read(method):
    """A lazily read value: read once, on first use; a FormatError names the file."""
    @functools.wraps(method)
    def wrapper(self):
        try:
            return method(self)
        except FormatError as e:
            raise FormatError(f"{self.path}: {e}") from None
    return functools.cached_property(wrapper)


class Results:
    """A tally results file or checkpoint, open read-only.

    Opening reads the configuration, status and provenance; the sums, the ledger, the
    per-rank timing, the history and the histogram are read when first used. Each read
    checks the stored type, shape and size; `validate()` checks that the values agree
    with each other (and a checkpoint's seal and digest). Problems of the file raise
    FormatError, one line naming the file; anything else propagates as itself.

        with tally.Results("run.h5") as r:
            print(r.total, r.z_score())
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            import h5py  # here, so `import tally` works without h5py for tally.reference
        except ImportError:
            raise ImportError("reading tally files needs h5py (Debian: python3-h5py)") from None
        self._f = None
        try:
            if not os.path.isfile(self.path):
                raise FormatError("is not a file" if os.path.exists(self.path) else "does not exist")
            try:
                self._f = _open(h5py, self.path)
            except OSError as e:
                if isinstance(e, FileNotFoundError):  # between the check above and here
                    raise FormatError("does not exist (removed while it was being opened: a checkpoint "
                                      "rotating away?)") from None
                if not _hdf5_error(e):
                    raise
                raise FormatError(f"not an HDF5 file ({_first_line(e)})") from None
            self._file = _File(self._f, self._f.id.get_filesize())
            self._read_header(self._file)
        except FormatError as e:
            self.close()
            raise FormatError(f"{self.path}: {e}") from None
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ file
    def close(self):
        """Closes the file; values already read stay available."""
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def _h(self):
        if self._f is None:
            raise ValueError(f"{self.path} is closed (read what you need inside the `with` block)")
        return self._file

    # ------------------------------------------------------------------ read at open
    def _read_header(self, h):
        root = h.f
        self.filetype = h.attr(root, "filetype", "S") if "filetype" in root.attrs else ""
        if self.filetype not in FILETYPES:
            raise FormatError(f"not a tally file (filetype {self.filetype!r})")
        self.format_version = h.attr(root, "format_version", "i")
        if self.format_version not in (1, 2):
            raise FormatError(f"unsupported format_version {self.format_version} (this reader knows 1 and 2)")
        self.config = self._read_config(h)
        self.status = h.attr(root, "status", "S")
        if self.status not in ("complete", "partial"):
            raise FormatError(f"unknown status {self.status!r}")
        self.ranks, self.threads = h.attr(root, "ranks", "i"), h.attr(root, "threads", "i")
        if not (1 <= self.ranks <= MAX_RANKS and 1 <= self.threads <= MAX_RANKS):
            raise FormatError("stored ranks/threads are out of range")
        self.restarts = h.attr(root, "restarts", "i")
        if self.restarts < 0:
            raise FormatError("stored restarts is negative")
        self.wall_seconds = h.attr(root, "wall_seconds", "f")
        self.elapsed_seconds = h.attr(root, "elapsed_seconds", "f")
        self.chunks_done_count = h.attr(root, "chunks_done", "i")
        if not 0 <= self.chunks_done_count <= self.config.chunks:
            raise FormatError(f"stored chunks_done {self.chunks_done_count} is outside [0, {self.config.chunks}]")
        self.provenance = {}
        if self.format_version >= 2:
            g = h.get("provenance", "group")
            names = list(g.attrs.keys())
            if len(names) > 256:
                raise FormatError("group 'provenance' has too many attributes")
            self.provenance = {name: h.attr(g, name, "S") for name in names}

    def _read_config(self, h):
        root = h.f
        stream = h.attr(root, "stream", "S")
        if stream not in ("fast", "numpy"):
            raise FormatError(f"unknown stream {stream!r}")
        seed = parse_seed(h.attr(root, "seed", "S"))
        c = Config(stream, seed, *(h.attr(root, key, "i") for key in ("tasks", "samples", "lo", "hi", "chunk")))
        problem = config_problem(c.tasks, c.samples, c.lo, c.hi, c.chunk, c.seed)
        if problem:
            raise FormatError(f"stored configuration is invalid: {problem}")
        if h.attr(root, "config_fingerprint", "S") != fingerprint(canonical_text(c)):
            raise FormatError("stored configuration does not match its fingerprint (tampered?)")
        return c

    @property
    def _sum_kind(self):
        return "i128" if self.format_version >= 2 else "i8"

    @property
    def progress(self):
        """Fraction of chunks done (1.0 for a complete file), from the stored count."""
        return self.chunks_done_count / self.config.chunks if self.config.chunks else 1.0

    # ------------------------------------------------------------------ read when first used
    @_read
    def chunk_sums(self):
        """Sum of each chunk of the ledger (0 where not done) as an int128 structured array
        {lo: uint64, hi: int64} (value = hi·2^64 + lo); `chunk_sums_exact()` gives Python ints."""
        raw = np.asarray(self._h.dataset("chunks/sum", self.config.chunks, self._sum_kind))
        out = np.empty(raw.shape, INT128)
        if raw.dtype.names:  # by name: a structured assignment would copy fields by position
            out["lo"], out["hi"] = raw["lo"], raw["hi"]
        else:
            out["lo"] = raw.astype(np.int64).view(np.uint64)
            out["hi"] = raw.astype(np.int64) >> 63
        return out

    @_read
    def chunks_done(self):
        """Whether each chunk of the ledger is done (bool array)."""
        done = np.asarray(self._h.dataset("chunks/done", self.config.chunks, "u1"))
        if done.size and done.max() > 1:
            raise FormatError("the ledger holds an invalid done flag")
        return done.astype(bool)

    @_read
    def chunks_missing(self):
        """Rejected units of each chunk (numpy stream; int64 array)."""
        missing = np.asarray(self._h.dataset("chunks/missing", self.config.chunks, "i8")).astype(np.int64)
        bad = np.nonzero((missing < 0) | ((missing > 0) & (self.config.stream != "numpy")))[0]
        if bad.size:
            i = int(bad[0])
            raise FormatError(f"chunk {i} claims {int(missing[i])} rejected units, impossible for this stream")
        return missing

    @_read
    def task_sums(self):
        """Exact sum of each task (list of Python ints)."""
        return exact_ints(self._h.dataset("tasks/sum", self.config.tasks, self._sum_kind))

    @_read
    def task_counts(self):
        """Draws counted in each task (list of Python ints)."""
        return exact_ints(self._h.dataset("tasks/count", self.config.tasks, "i8"))

    @_read
    def task_tails(self):
        """Each complete numpy-stream task's sum of values drawn past its samples to replace
        rejected ones (list of Python ints; 0 for the fast stream)."""
        return exact_ints(self._h.dataset("tasks/tail", self.config.tasks, self._sum_kind))

    @_read
    def total(self):
        """The exact grand total (a Python int)."""
        return exact_ints(self._h.dataset("total/sum", 1, self._sum_kind, scalar_ok=True))[0]

    @_read
    def count(self):
        """Draws in the total (a Python int)."""
        return exact_ints(self._h.dataset("total/count", 1, "i8", scalar_ok=True))[0]

    @_read
    def rank_timing(self):
        """Per rank of the last start: `chunks`, `busy_seconds`, `numbers_per_second` (arrays)."""
        h = self._h
        return {"chunks": np.asarray(h.dataset("ranks/chunks", self.ranks, "i8")).astype(np.int64),
                "busy_seconds": np.asarray(h.dataset("ranks/busy_seconds", self.ranks, "f8")),
                "numbers_per_second": np.asarray(h.dataset("ranks/numbers_per_second", self.ranks, "f8"))}

    @_read
    def hosts(self):
        """Host of each rank of the last start (format 2; empty for format 1)."""
        if self.format_version < 2:
            return []
        return [_text(x) for x in self._h.dataset("ranks/host", self.ranks, "S")]

    @_read
    def starts(self):
        """The restart history: one dict per start (format 2; empty for format 1)."""
        return self._rows("starts", "start_utc", START_COLUMNS) if self.format_version >= 2 else []

    @_read
    def lost(self):
        """Workers lost in-job: one dict per lost rank (format 2; empty for format 1)."""
        if self.format_version < 2:
            return []
        rows = self._rows("lost", "rank", LOST_COLUMNS)
        starts = self._h.rows("starts/start_utc")
        for row in rows:
            if not (0 <= row["start"] < starts and 1 <= row["rank"] < MAX_RANKS and row["chunks_reassigned"] >= 0):
                raise FormatError("a lost-rank row is out of range")
        return rows

    @_read
    def histogram(self):
        """int64 array [tasks, span] (column j counts value lo + j), or None when not recorded."""
        h, c = self._h, self.config
        if not h.exists("histogram/counts"):
            return None
        if c.span > 1 << 16:
            raise FormatError("a histogram is stored for a span too wide to have one")
        return np.asarray(h.dataset("histogram/counts", None, "i8", shape=(c.tasks, c.span))).astype(np.int64)

    def _rows(self, group, key, columns):
        h = self._h
        h.get(group, "group")
        n = h.rows(f"{group}/{key}")
        data = {}
        for name, kind in columns.items():
            values = h.dataset(f"{group}/{name}", n, {"S": "S", "i": "i8", "f": "f8"}[kind])
            data[name] = [_text(v).split("\0", 1)[0] if kind == "S" else (int(v) if kind == "i" else float(v))
                          for v in np.asarray(values).tolist()]
        return [{name: data[name][i] for name in columns} for i in range(n)]

    # ------------------------------------------------------------------ computed
    def chunk_sums_exact(self):
        """Chunk sums as a list of exact Python ints (one object per chunk: mind the memory
        of a large ledger; `chunk_sums` is 16 bytes per chunk)."""
        return exact_ints(self.chunk_sums)

    def expected_total(self):
        """n·(lo+hi)/2 for the draws done: an int, or a Fraction with denominator 2."""
        return expected_total(self.config.lo, self.config.hi, self.count)

    def z_scores(self):
        """Per-task z-scores from exact integers (a list of floats)."""
        lo, hi = self.config.lo, self.config.hi
        return [z_score(s, n, lo, hi) for s, n in zip(self.task_sums, self.task_counts)]

    def z_score(self):
        """z-score of the total."""
        return z_score(self.total, self.count, self.config.lo, self.config.hi)

    def ranks_per_host(self):
        """{host: [ranks]} of the last start."""
        out = {}
        for rank, host in enumerate(self.hosts):
            out.setdefault(host, []).append(rank)
        return out

    def validate(self):
        """Checks the whole file by the reading rules of docs/file-format.md: every value's
        type, shape and size, the ledger, the task sums, counts, tails and total against the
        ledger, the history, and a checkpoint's seal and digest. Raises FormatError on the
        first problem; returns {check: what was checked}. Without python3-xxhash the seal
        and digest cannot be checked here: their entries say so (`tally verify` checks them)."""
        try:
            return self._validate()
        except FormatError as e:
            raise FormatError(f"{self.path}: {e}") from None

    def _validate(self):
        checks = {}
        if self.filetype == "tally-checkpoint":
            checks.update(self._check_seal())
        c = self.config
        per_task = c.chunks_per_task
        done, missing, raw = self.chunks_done, self.chunks_missing, self.chunk_sums
        if int(done.sum()) != self.chunks_done_count:
            raise FormatError(f"stored chunks_done {self.chunks_done_count} but the ledger has {int(done.sum())}")
        if self.status == "complete" and not done.all():
            raise FormatError("says complete but its ledger is not")
        # Most ledgers hold sums that fit int64 (|sum| ≤ chunk·max(|lo|, |hi|)): then the checks
        # run on NumPy int64 arrays wherever no intermediate can overflow, else on Python ints.
        low = raw["lo"].view(np.int64)
        v64 = low if np.array_equal(raw["hi"], low >> 63) else None
        chunk_sums = v64 if v64 is not None else exact_ints(raw)
        last = c.samples - (per_task - 1) * c.chunk
        values = np.where(np.arange(c.chunks) % per_task == per_task - 1, last, c.chunk) - missing
        if (done & (values < 0)).any():
            raise FormatError(f"chunk {int(np.argmax(done & (values < 0)))} claims more rejected units than it has")
        bound = c.chunk * max(abs(c.lo), abs(c.hi))  # |n·lo|, |n·hi|, |sum| of one chunk
        if v64 is not None and bound < 1 << 62:
            wrong = np.nonzero(done & ((v64 < values * c.lo) | (v64 > values * c.hi)))[0]
        else:
            wrong = [i for i in np.nonzero(done)[0].tolist()
                     if not int(values[i]) * c.lo <= int(chunk_sums[i]) <= int(values[i]) * c.hi]
        if len(wrong):
            raise FormatError(f"the ledger holds an impossible sum for chunk {int(wrong[0])}")
        checks["ledger"] = f"{int(done.sum())} of {c.chunks} chunks done, every sum within [n·lo, n·hi]"

        # Stored per-task values must equal what the ledger gives (tails redrawn, as the C++ does).
        starts = np.arange(c.tasks) * per_task
        per_task_sum = lambda a: np.add.reduceat(a, starts) if c.chunks else np.zeros(c.tasks, a.dtype)  # noqa
        complete = (per_task_sum(done.astype(np.int64)) == per_task).tolist()
        rejected = per_task_sum(np.where(done, missing, 0)).tolist()
        counts = (per_task_sum(np.where(done, values, 0)) + np.where(complete, rejected, 0)).tolist()
        if v64 is not None and bound * per_task < 1 << 62:
            chunk_part = per_task_sum(np.where(done, v64, 0)).tolist()
        else:
            kept = [int(x) if d else 0 for x, d in zip(chunk_sums, done.tolist())]
            chunk_part = [sum(kept[t * per_task:(t + 1) * per_task]) for t in range(c.tasks)]
        stored_tails, stored_sums, stored_counts = self.task_tails, self.task_sums, self.task_counts
        tails_redrawn = True
        tails = []
        for t in range(c.tasks):
            if not complete[t] or rejected[t] == 0:
                tails.append(0)
            elif rejected[t] > MAX_TAIL_RECOMPUTE:
                tails_redrawn = False
                ok = rejected[t] * c.lo <= stored_tails[t] <= rejected[t] * c.hi
                tails.append(stored_tails[t] if ok else None)
            else:
                tails.append(NumpyStream(c.seed, c.lo, c.hi).tail(t, c.samples, rejected[t]))
        sums = [part + (tail or 0) for part, tail in zip(chunk_part, tails)]
        mismatched = (tails, sums, counts) != (stored_tails, stored_sums, stored_counts)
        for t in range(c.tasks) if mismatched else ():  # find the first task to name
            if tails[t] is None:
                raise FormatError(f"task {t} stores tail {stored_tails[t]}, impossible for {rejected[t]} values")
            if tails[t] != stored_tails[t]:
                raise FormatError(f"task {t} stores tail {stored_tails[t]} but its rejected units give {tails[t]}")
            if sums[t] != stored_sums[t]:
                raise FormatError(f"task {t} stores {stored_sums[t]} but its chunks and tail sum to {sums[t]}")
            if counts[t] != stored_counts[t]:
                raise FormatError(f"task {t} stores count {stored_counts[t]} but its chunks hold {counts[t]}")
        checks["tasks"] = ("task sums, counts and tails equal the ledger's" +
                           ("" if tails_redrawn else " (tails above 2^22 rejected units: bounds only)"))
        if self.total != sum(stored_sums):
            raise FormatError(f"stored total {self.total} is not the sum of its task sums {sum(stored_sums)}")
        if self.count != sum(stored_counts):
            raise FormatError(f"stored count {self.count} but the tasks hold {sum(stored_counts)}")
        checks["total"] = "total and count equal the tasks'"
        _ = self.rank_timing, self.hosts, self.starts, self.lost, self.histogram  # each read checks its layout
        checks["layout"] = "every dataset typed, shaped and stored as docs/file-format.md says"
        if self.filetype == "tally-checkpoint":
            checks.update(self._check_digest())
        return checks

    def _check_seal(self):
        try:
            sealed = integrity.has_seal(self.path)
        except FileNotFoundError:
            raise FormatError("does not exist any more (a checkpoint rotated away?)") from None
        if not sealed:
            raise FormatError("a checkpoint without its seal (torn, or its first block was overwritten)")
        if integrity.xxhash is None:
            return {"seal": "cannot run: needs python3-xxhash (`tally verify FILE` checks it)"}
        problem = integrity.seal_problem(self.path)
        if problem:
            raise FormatError(f"checkpoint fails its seal: {problem}")
        return {"seal": "XXH3-128 of the whole file matches"}

    def _check_digest(self):
        if integrity.xxhash is None:
            return {"digest": "cannot run: needs python3-xxhash (`tally verify FILE` checks it)"}
        root = self._h.f
        if "digest" not in root.attrs:
            raise FormatError("a checkpoint without its digest attribute")
        stored = self._h.attr(root, "digest", "S")
        raw = self.chunk_sums
        got = integrity.record_digest(canonical_text(self.config), self.status, self.chunks_done, raw["lo"],
                                      raw["hi"].view(np.uint64), self.chunks_missing, self.restarts,
                                      self.elapsed_seconds, self.histogram, wide=self.format_version >= 2)
        if got != stored:
            raise FormatError("checkpoint digest does not match its contents (edited and re-sealed?)")
        return {"digest": "XXH3-128 of the record matches"}

    # ------------------------------------------------------------------ display
    def __repr__(self):
        c = self.config
        total = f", total {self.total}" if self._f is not None or "total" in self.__dict__ else ""
        return (f"<tally.Results {os.path.basename(self.path)!r} format {self.format_version} {self.filetype} "
                f"{self.status} ({100 * self.progress:.0f} %): {c.tasks} tasks x {c.samples} draws in "
                f"[{c.lo}, {c.hi}], stream {c.stream}, seed {c.seed}{total}, "
                f"{self.restarts + 1} start(s), {self.ranks} rank(s) x {self.threads} thread(s)>")

    def summary(self):
        """The run in a few (label, text) pairs: what `_repr_html_` and the HTML report show."""
        c = self.config
        rows = [("file", self.path), ("kind", f"{self.filetype}, format {self.format_version}"),
                ("status", f"{self.status}, {self.chunks_done_count} of {c.chunks} chunks "
                           f"({100 * self.progress:.1f} %)"),
                ("configuration", f"{c.tasks} tasks × {c.samples} draws in [{c.lo}, {c.hi}], stream {c.stream}, "
                                  f"seed {c.seed}, chunk {c.chunk}")]
        if self._f is not None or "total" in self.__dict__:
            rows += [("total", f"{self.total} over {self.count} draws"), ("z-score of the total",
                                                                          f"{self.z_score():+.3f}")]
        rows += [("layout", f"{self.ranks} rank(s) × {self.threads} thread(s)"),
                 ("time", f"{self.wall_seconds:.3f} s this start, {self.elapsed_seconds:.3f} s in all, "
                          f"{self.restarts} restart(s)")]
        if self.provenance:
            rows.append(("built", f"tally {self.provenance.get('tally_version', '?')}, "
                                  f"kernel {self.provenance.get('kernel_path', '?')}"))
        return rows

    def _repr_html_(self):
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                        for k, v in self.summary())
        return f"<table class='tally-results'>{cells}</table>"


_CHILD = ("import sys\nsys.path.insert(0, sys.argv[2])\nimport tally\ntry:\n"
          "    with tally.Results(sys.argv[1]) as r:\n        r.validate()\n"
          "except tally.FormatError as e:\n    print(e)\n    sys.exit(2)\n")


def check_in_subprocess(path, timeout=None):
    """Validates `path` (Results(path).validate()) in a child Python: None when valid, else
    one line. A damaged file can crash or hang the HDF5 library itself (libhdf5 1.10 has
    such bugs), and that must end in a line, not a core dump. timeout: seconds (default:
    60 s plus a second per 20 MB)."""
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
    if "Traceback" in p.stderr:  # not the file's fault: name the error rather than blame the file
        return f"{path}: reading it failed: {p.stderr.strip().splitlines()[-1]}"
    return f"{path}: cannot be read (the HDF5 library failed on it, exit {p.returncode}: a damaged file)"
