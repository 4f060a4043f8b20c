"""Checkpoint integrity, as the C++ checks it (src/io/seal.cpp, src/io/digest.cpp).

A checkpoint carries two XXH3-128 digests:
  * the seal: 512-byte user block "tally-seal v1\\n<32 hex>\\n<bytes after the block>\\n",
    the digest of every byte after the block. tally checks it before HDF5 parses the
    file; here `Results.validate()` checks it (in a child: `check_in_subprocess`).
  * the `digest` attribute: the digest of the record itself (configuration text, status,
    the ledger, restarts, elapsed seconds, histogram), so a checkpoint re-sealed after an
    edit is still caught.

Both need XXH3-128 (Debian: python3-xxhash). Without it `Results.validate()` says that
they cannot run here, and `tally verify FILE` checks them; no process is started."""
import struct

import numpy as np

SEAL_BYTES = 512
SEAL_MAGIC = "tally-seal v1"

try:
    import xxhash
except ImportError:  # checked by the binary instead, or reported as unchecked
    xxhash = None


def has_seal(path):
    """True when the file starts with a tally seal block (only checkpoints have one)."""
    with open(path, "rb") as f:
        return f.read(len(SEAL_MAGIC)) == SEAL_MAGIC.encode()


def seal_problem(path):
    """None when the whole-file seal matches; else why, in the C++ reader's words."""
    with open(path, "rb") as f:
        header = f.read(SEAL_BYTES)
        if len(header) != SEAL_BYTES:
            return "it is shorter than its seal (torn)"
        h = xxhash.xxh3_128()
        length = 0
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            length += len(block)
    lines = header.split(b"\0", 1)[0].decode("ascii", "replace").split("\n")
    if len(lines) < 3 or lines[0] != SEAL_MAGIC or not lines[2].isdigit() or \
            not (0 < len(lines[1]) <= 32 and all(c in "0123456789abcdef" for c in lines[1])):
        return "it has no tally seal (not a checkpoint, or its first block is damaged)"
    if int(lines[2]) != length:
        return f"it holds {length} bytes after its seal, the seal says {lines[2]} (torn)"
    if lines[1] != h.hexdigest():
        return "its whole-file digest does not match (corrupt)"
    return None


def record_digest(canonical_text, status, done, sum_lo, sum_hi, missing, restarts, elapsed_seconds, histogram,
                  wide):
    """XXH3-128 of a record as src/io/digest.cpp hashes it, as 32 hex digits. sum_lo / sum_hi
    are the low and high 64-bit words of the chunk sums (uint64 arrays); words are
    little-endian, strings are their length then their bytes. A chunk not done is hashed
    as sum 0, missing 0 (the ledger keeps nothing for it)."""
    h = xxhash.xxh3_128()

    def words(*values):
        h.update(struct.pack(f"<{len(values)}Q", *[v & 0xFFFFFFFFFFFFFFFF for v in values]))

    for text in (canonical_text, status):
        raw = text.encode()
        words(len(raw))
        h.update(raw)
    n = len(done)
    words(n)
    done = np.asarray(done, dtype=bool)
    columns = [done.astype("<u8"), np.where(done, sum_lo, 0).astype("<u8")]
    if wide:
        columns.append(np.where(done, sum_hi, 0).astype("<u8"))
    columns.append(np.where(done, np.asarray(missing).astype(np.uint64), 0).astype("<u8"))
    h.update(np.ascontiguousarray(np.stack(columns, axis=1)).tobytes())
    words(restarts)
    h.update(struct.pack("<d", elapsed_seconds))
    cells = np.zeros(0, dtype="<i8") if histogram is None else np.ascontiguousarray(histogram, dtype="<i8")
    words(cells.size)
    h.update(cells.reshape(-1).view("<u8").tobytes())
    return h.hexdigest()
