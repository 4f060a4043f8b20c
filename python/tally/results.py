"""tally.Results: one results file or checkpoint, read-only, checked by the same rules
as the C++ reader (src/io/record_layout.cpp), with exact Python integers for sums."""
import os

import numpy as np

from .stats import expected_total, z_score

FILETYPES = ("tally-results", "tally-checkpoint")
MAX_CHUNKS = 1 << 28
SEAL_BYTES = 512


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
        return [(int(h) << 64) | int(lo) for lo, h in zip(flat["lo"].tolist(), flat["hi"].tolist())]
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


def seal_problem(path):
    """None when the checkpoint's whole-file seal (XXH3-128 in the user block) matches, else why."""
    try:
        import xxhash
    except ImportError:
        return None  # python3-xxhash missing: the seal is checked by `tally inspect` / `tally verify`
    with open(path, "rb") as f:
        header = f.read(SEAL_BYTES)
        h = xxhash.xxh3_128()
        length = 0
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            length += len(block)
    lines = header.split(b"\0", 1)[0].decode("ascii", "replace").split("\n")
    if len(header) < SEAL_BYTES or len(lines) < 3 or lines[0] != "tally-seal v1":
        return "it has no tally seal (torn, or not a checkpoint)"
    if lines[2] != str(length):
        return f"it holds {length} bytes after its seal, the seal says {lines[2]} (torn)"
    if lines[1] != h.hexdigest():
        return "its whole-file digest does not match (corrupt)"
    return None


class Results:
    """A tally results file or checkpoint. Raises FormatError for anything that is not a
    valid tally file (no traceback from h5py reaches the caller)."""

    def __init__(self, path):
        import h5py  # imported here so `import tally` works without h5py for tally.reference

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FormatError(f"{self.path} does not exist or is not a file")
        size = os.path.getsize(self.path)
        with open(self.path, "rb") as f:
            head = f.read(16)
        if head.startswith(b"tally-seal v1"):
            problem = seal_problem(self.path)
            if problem:
                raise FormatError(f"{self.path}: checkpoint fails its seal: {problem}")
        try:
            with h5py.File(self.path, "r") as f:
                self._read(f, size)
        except FormatError as e:
            raise FormatError(f"{self.path}: {e}") from None
        except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError) as e:
            raise FormatError(f"{self.path}: not a valid tally file ({type(e).__name__}: {e})") from None

    # ------------------------------------------------------------------ reading
    def _read(self, f, size):
        a = f.attrs
        self.filetype = _text(a.get("filetype", ""))
        if self.filetype not in FILETYPES:
            raise FormatError(f"not a tally file (filetype {self.filetype!r})")
        self.format_version = int(a["format_version"])
        if self.format_version not in (1, 2):
            raise FormatError(f"unsupported format_version {self.format_version}")
        c = {"stream": _text(a["stream"]), "seed": int(_text(a["seed"]), 0), "tasks": int(a["tasks"]),
             "samples": int(a["samples"]), "lo": int(a["lo"]), "hi": int(a["hi"]), "chunk": int(a["chunk"])}
        if c["stream"] not in ("fast", "numpy") or c["tasks"] < 1 or c["samples"] < 1 or c["lo"] > c["hi"] \
                or not 1 <= c["chunk"] <= 1 << 40 or c["tasks"] * c["samples"] >= 1 << 63:
            raise FormatError("stored configuration is invalid")
        if _text(a["config_fingerprint"]) != fingerprint(canonical_text(c)):
            raise FormatError("stored configuration does not match its fingerprint (tampered?)")
        self.config = c
        per_task = -(-c["samples"] // c["chunk"])
        chunks = c["tasks"] * per_task
        if chunks > MAX_CHUNKS or chunks > 8 * size + 1024:  # a done flag is a byte: no file holds more
            raise FormatError(f"claims {chunks} chunks, more than its {size} bytes can hold")

        def dataset(name, n, kinds="iu"):
            d = f[name]
            if d.shape != (n,) and not (n == 1 and d.shape == ()):
                raise FormatError(f"dataset {name!r} has shape {d.shape}, expected ({n},)")
            if d.dtype.names is None and d.dtype.kind not in kinds:
                raise FormatError(f"dataset {name!r} has type {d.dtype}")
            return d[()]

        sums = 'iu' if self.format_version == 1 else 'iuV'
        self.status = _text(a["status"])
        if self.status not in ("complete", "partial"):
            raise FormatError(f"unknown status {self.status!r}")
        self.task_sums = exact_ints(dataset("tasks/sum", c["tasks"], sums))
        self.task_counts = exact_ints(dataset("tasks/count", c["tasks"]))
        self.task_tails = exact_ints(dataset("tasks/tail", c["tasks"], sums))
        self.total = exact_ints(dataset("total/sum", 1, sums))[0]
        self.count = exact_ints(dataset("total/count", 1))[0]
        done = np.asarray(dataset("chunks/done", chunks)).astype(bool)
        chunk_sums = exact_ints(dataset("chunks/sum", chunks, sums))
        missing = np.asarray(dataset("chunks/missing", chunks), dtype=np.int64)
        self.chunks = {"sum": np.array(chunk_sums, dtype=object), "missing": missing, "done": done}
        # The same consistency rules as tally verify: chunks within [n·lo, n·hi], tasks = chunks + tail, total = tasks.
        for t in range(c["tasks"]):
            s = sum(chunk_sums[i] for i in range(t * per_task, (t + 1) * per_task) if done[i]) + self.task_tails[t]
            if s != self.task_sums[t]:
                raise FormatError(f"task {t} stores {self.task_sums[t]} but its chunks and tail sum to {s}")
        if sum(self.task_sums) != self.total:
            raise FormatError(f"stored total {self.total} is not the sum of its task sums")
        if self.status == "complete" and not done.all():
            raise FormatError("says complete but not every chunk is done")
        self.ranks, self.threads = int(a["ranks"]), int(a["threads"])
        self.restarts = int(a["restarts"])
        self.wall_seconds, self.elapsed_seconds = float(a["wall_seconds"]), float(a["elapsed_seconds"])
        self.rank_timing = {k: np.asarray(dataset(f"ranks/{k}", self.ranks, "iuf"))
                            for k in ("chunks", "busy_seconds", "numbers_per_second")}
        self.histogram = None
        if "histogram" in f:
            span = c["hi"] - c["lo"] + 1
            h = f["histogram/counts"]
            if span > 1 << 16 or h.shape != (c["tasks"], span):
                raise FormatError(f"histogram has shape {h.shape}")
            self.histogram = h[()]
        self.hosts, self.starts, self.lost, self.provenance = [], [], [], {}
        if self.format_version >= 2:
            self.hosts = [_text(h) for h in dataset("ranks/host", self.ranks, "S")]
            self.starts = self._rows(f, "starts", "start_utc")
            self.lost = self._rows(f, "lost", "rank")
            self.provenance = {k: _text(v) for k, v in f["provenance"].attrs.items()}

    @staticmethod
    def _rows(f, group, key):
        g = f[group]
        n = g[key].shape[0]
        if n > 1 << 20:
            raise FormatError(f"{group} has {n} rows")
        columns = {}
        for name, d in g.items():
            if d.shape != (n,):
                raise FormatError(f"{group}/{name} has shape {d.shape}, expected ({n},)")
            columns[name] = [_text(v) if isinstance(v, bytes) else v.item() for v in d[()]]
        return [{name: col[i] for name, col in columns.items()} for i in range(n)]

    # ------------------------------------------------------------------ derived
    @property
    def task_count_total(self):
        return sum(self.task_counts)

    def expected_total(self):
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

    def __repr__(self):
        c = self.config
        return (f"<tally.Results {os.path.basename(self.path)!r} {self.filetype} {self.status}: {c['tasks']} tasks x "
                f"{c['samples']} draws in [{c['lo']}, {c['hi']}], stream {c['stream']}, seed {c['seed']}, "
                f"total {self.total}, {self.restarts} restart(s)>")
