"""Independent oracle for the values that must never change silently (issue 13.9):
the configuration fingerprint, the checkpoint digest payload (format 1 and 2) and the
seal, computed here from the rules in docs/file-format.md with Python's FNV-1a and
python3-xxhash — no tally code. tests/data/golden.txt holds the results; the C++ test
tests/io/golden_test.cpp checks that tally computes the same, so a change to
canonical_text() or to the digest payload fails both until golden.txt (and the format
version) are changed on purpose.

Also recomputes, from h5py reads, the fingerprint, digest and seal of the checked-in
checkpoints tests/data/*.ckpt (written by tally format 1 and 2).

    golden_oracle.py           check golden.txt and the fixtures (the ctest)
    golden_oracle.py --write   rewrite golden.txt (only when a format change is intended)
"""
import glob
import os
import struct
import sys

import h5py
import xxhash

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "data")
golden_path = os.path.join(data, "golden.txt")

# The synthetic record (the same in golden_test.cpp): numpy stream, 2 tasks x 10
# draws, chunk 4 (3 chunks per task), a 128-bit seed, sums that need both words.
CONFIG = dict(stream="numpy", seed=(1 << 100) + 7, tasks=2, samples=10, lo=-3, hi=-2, chunk=4)
CHUNKS = [  # (done, sum, missing)
    (1, -7, 0), (0, 0, 0), (1, (1 << 64) + 3, 1),
    (1, -(1 << 70), 2), (1, 12345, 0), (0, 0, 0)]
STATUS, RESTARTS, ELAPSED, HISTOGRAM = "partial", 3, 12.5, [4, 0, 7, 1]
SEAL_PAYLOAD = b"tally golden payload\n" * 10  # after 512 bytes of user block


def canonical_text(c):
    return (f"tally-config-v1 stream={c['stream']} seed={c['seed']} tasks={c['tasks']} samples={c['samples']} "
            f"lo={c['lo']} hi={c['hi']} chunk={c['chunk']}")


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def word(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def text(s):
    b = s.encode()
    return word(len(b)) + b


def digest(config_text, status, chunks, restarts, elapsed, histogram, version):
    """XXH3-128 over the documented payload: format 2 hashes each sum as two words."""
    payload = text(config_text) + text(status) + word(len(chunks))
    for done, total, missing in chunks:
        payload += word(done) + word(total) + (word(total >> 64) if version >= 2 else b"") + word(missing)
    payload += word(restarts) + struct.pack("<d", elapsed) + word(len(histogram))
    for cell in histogram:
        payload += word(cell)
    return xxhash.xxh3_128_hexdigest(payload)


def seal_header(payload):
    return f"tally-seal v1\n{xxhash.xxh3_128_hexdigest(payload)}\n{len(payload)}\n"


def golden():
    config_text = canonical_text(CONFIG)
    return {
        "canonical_text": config_text,
        "fingerprint": fnv1a64(config_text),
        "digest_v1": digest(config_text, STATUS, CHUNKS, RESTARTS, ELAPSED, HISTOGRAM, 1),
        "digest_v2": digest(config_text, STATUS, CHUNKS, RESTARTS, ELAPSED, HISTOGRAM, 2),
        "seal": seal_header(SEAL_PAYLOAD).replace("\n", "\\n"),
    }


def attr(f, name):
    v = f.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def exact_sums(ds):
    arr = ds[...]
    if arr.dtype.names:
        return [(int(h) << 64) | int(lo) for lo, h in zip(arr["lo"].tolist(), arr["hi"].tolist())]
    return [int(v) for v in arr.tolist()]


def check_fixture(path):
    """Fingerprint, digest and seal of a real checkpoint, recomputed from its values."""
    problems = []
    with open(path, "rb") as f:
        header = f.read(512)
        payload = f.read()
    if header.rstrip(b"\0").decode() != seal_header(payload):
        problems.append("seal")
    with h5py.File(path, "r") as f:
        c = {k: attr(f, k) for k in ("stream", "seed", "tasks", "samples", "lo", "hi", "chunk")}
        config_text = canonical_text(c)
        if attr(f, "config_text") != config_text or attr(f, "config_fingerprint") != fnv1a64(config_text):
            problems.append("fingerprint")
        version = int(attr(f, "format_version"))
        done = f["chunks/done"][...].tolist()
        sums = exact_sums(f["chunks/sum"])
        missing = f["chunks/missing"][...].tolist()
        hist = f["histogram/counts"][...].reshape(-1).tolist() if "histogram" in f else []
        chunks = [(d, s if d else 0, m if d else 0) for d, s, m in zip(done, sums, missing)]
        expected = digest(config_text, attr(f, "status"), chunks, int(attr(f, "restarts")),
                          float(attr(f, "elapsed_seconds")), hist, version)
        if attr(f, "digest") != expected:
            problems.append(f"digest (format {version})")
    return problems


def main():
    values = golden()
    if "--write" in sys.argv:
        with open(golden_path, "w") as out:
            out.write("# Pinned by tests/io/golden_oracle.py (independent of tally's code); checked by\n"
                      "# tests/io/golden_test.cpp. Change only with a new format or config-text version.\n")
            for k, v in values.items():
                out.write(f"{k}={v}\n")
        return 0
    failures = []
    stored = {}
    with open(golden_path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                stored[k] = v
    if stored != values:
        failures.append(f"golden.txt differs from the oracle: {stored} vs {values}")
    fixtures = sorted(glob.glob(os.path.join(data, "*.ckpt")))
    if len(fixtures) < 2:
        failures.append(f"expected the format 1 and 2 checkpoint fixtures, found {fixtures}")
    for path in fixtures:
        for p in check_fixture(path):
            failures.append(f"{os.path.basename(path)}: {p} does not match the documented rule")
    print("\n".join(failures) or f"golden values and {len(fixtures)} checkpoint fixtures match the documented rules")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
