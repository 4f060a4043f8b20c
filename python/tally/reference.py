"""tally's streams written again from docs/streams.md with NumPy only, for small runs.

    scripts/reference [--tasks N] [--samples N] [--range LO:HI] [--seed S]
                      [--stream fast|numpy] [--chunk N] [--json]

Prints per-task sums and the total (and, with --json, chunk sums and missing counts).
Nothing here is shared with the C++: if both agree, both follow the document."""
import json
import re
import sys

import numpy as np

from ._cli import ArgumentParser

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1


# ---------------------------------------------------------------- Philox4x32-10
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Vectorised over uint64 arrays that hold 32-bit values; keys are Python ints."""
    c0, c1, c2, c3 = (np.asarray(x, dtype=np.uint64) for x in (c0, c1, c2, c3))
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
        p0 = c0 * np.uint64(0xD2511F53)
        p1 = c2 * np.uint64(0xCD9E8D57)
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & np.uint64(M32),
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & np.uint64(M32))
    return c0, c1, c2, c3


def fast_key(seed):
    words = [(seed >> (32 * i)) & M32 for i in range(4)]
    out = philox4x32(*[[w] for w in words], 0x6C6C6174, 0x00000079)
    return int(out[0][0]), int(out[1][0])


class FastStream:
    def __init__(self, seed, lo, hi):
        self.lo, self.span = lo, hi - lo + 1
        self.k0, self.k1 = fast_key(seed)
        if self.span == 1:
            self.mode = "constant"
        elif self.span <= 1 << 20:
            self.mode, self.k, m = "packed", 0, 1
            while m * self.span <= 1 << 20:
                m, self.k = m * self.span, self.k + 1
            self.modulus, self.threshold = m, (1 << 32) % m
        else:
            self.mode = "wide"
            self.threshold = (1 << 64) % self.span if self.span < 1 << 64 else 0

    def words(self, task, first_block, blocks):
        b = np.arange(first_block, first_block + blocks, dtype=np.uint64)
        out = philox4x32(b & np.uint64(M32), b >> np.uint64(32), np.full_like(b, task & M32),
                         np.full_like(b, task >> 32), self.k0, self.k1)
        return np.stack(out, axis=1).reshape(-1)  # word 4b + i

    def retry(self, task, unit, attempt):
        out = philox4x32([unit & M32], [unit >> 32], [task & M32], [task >> 32],
                         (self.k0 + attempt) & M32, self.k1 ^ M32)
        return [int(x[0]) for x in out]

    def values(self, task, a, b):
        """Values a … b-1 of the task as Python ints."""
        if b <= a:
            return []
        if self.mode == "constant":
            return [self.lo] * (b - a)
        if self.mode == "packed":
            k, s = self.k, self.span
            j0, j1 = a // k, (b - 1) // k + 1
            words = self.words(task, j0 // 4, (j1 - 1) // 4 - j0 // 4 + 1)[j0 % 4:][: j1 - j0]
            out = []
            for offset, w in enumerate(words.tolist()):
                j, attempt = j0 + offset, 0
                while (w * self.modulus) & M32 < self.threshold:
                    attempt += 1
                    w = self.retry(task, j, attempt)[0]
                v = (w * self.modulus) >> 32
                for i in range(k):
                    if a <= j * k + i < b:
                        out.append(self.lo + (v // s ** i) % s)
            return out
        out = []
        words = self.words(task, a // 2, (b - 1) // 2 - a // 2 + 1).tolist()
        for n in range(a, b):
            i = 2 * (n - 2 * (a // 2))
            x, attempt = words[i] | words[i + 1] << 32, 0
            while self.span < 1 << 64 and (x * self.span) & M64 < self.threshold:
                attempt += 1
                w = self.retry(task, n, attempt)
                x = w[0] | w[1] << 32
            out.append(self.lo + (x if self.span == 1 << 64 else (x * self.span) >> 64))
        return out

    def chunk(self, task, a, b):
        return sum(self.values(task, a, b)), 0

    def tail(self, task, n, missing):
        return 0


# ---------------------------------------------------------------- numpy stream
class NumpyStream:
    """NumPy's own Generator is the definition; chunks are raw-unit ranges. A unit is a
    32-bit half of Philox's 64-bit output (low half first) for spans up to 2^32, else a
    whole 64-bit output; Philox.advance skips to a unit without drawing the prefix."""

    def __init__(self, seed, lo, hi):
        self.seed, self.lo, self.hi, self.span = seed, lo, hi, hi - lo + 1
        self.wide = self.span > 1 << 32

    def units(self, task, a, b):
        """Raw units a … b-1 of the task as a uint64 array."""
        if b <= a:
            return np.zeros(0, dtype=np.uint64)
        bitgen = np.random.Philox(key=self.seed).jumped(task)
        per_unit = 1 if self.wide else 2          # units per 64-bit output
        first, last = a // per_unit, (b - 1) // per_unit + 1
        block = first // 4                         # Philox4x64 counts blocks of four outputs
        raw = bitgen.advance(block).random_raw(last - 4 * block)
        if not self.wide:
            raw = np.stack([raw & np.uint64(M32), raw >> np.uint64(32)], axis=1).reshape(-1)
        skip = a - 4 * block * per_unit
        return raw[skip:skip + b - a]

    def accept(self, x):
        """Offsets d = value − lo of the accepted units (uint64 or Python ints) and how many were rejected."""
        s = self.span
        if s == 1:
            return np.zeros(len(x), dtype=np.uint64), 0
        if s in (1 << 32, 1 << 64):
            return x, 0
        if not self.wide:                           # x < 2^32, s < 2^32: the product fits 64 bits
            m = x * np.uint64(s)
            keep = (m & np.uint64(M32)) >= np.uint64((1 << 32) % s)
            return (m >> np.uint64(32))[keep], int(len(x) - keep.sum())
        threshold = (1 << 64) % s                   # 128-bit products: Python ints
        kept = [m >> 64 for m in (int(v) * s for v in x.tolist()) if m & M64 >= threshold]
        return kept, len(x) - len(kept)

    def offsets_sum(self, d):
        if isinstance(d, list):
            return sum(d)
        # Offsets below 2^32 (narrow) sum exactly in uint64 over at most 2^31 of them at a time.
        if self.wide:
            return sum(int(v) for v in d.tolist())
        return sum(int(d[i:i + (1 << 31)].sum()) for i in range(0, len(d), 1 << 31))

    def chunk(self, task, a, b):
        if self.span == 1:
            return self.lo * (b - a), 0
        d, missing = self.accept(self.units(task, a, b))
        return self.lo * (b - a - missing) + self.offsets_sum(d), missing

    def tail(self, task, n, missing):
        """Sum of the first `missing` accepted values after unit n − 1 (the task's rejection tail)."""
        total, u = 0, n
        while missing:
            batch = max(64, 2 * missing)
            d, _ = self.accept(self.units(task, u, u + batch))
            d = d[:missing]
            total += self.lo * len(d) + self.offsets_sum(d)
            missing -= len(d)
            u += batch
        return total

    def task_sum(self, task, n):
        g = np.random.Generator(np.random.Philox(key=self.seed).jumped(task))
        return sum(int(v) for v in g.integers(self.lo, self.hi, size=n, endpoint=True, dtype=np.int64))


def run(tasks, samples, lo, hi, seed=0, stream="fast", chunk=1 << 20):
    """Everything `tally run` computes, from docs/streams.md alone: {"task_sums", "total",
    "chunk_sums", "chunk_missing"} as exact Python ints. Raises ValueError for a
    configuration tally refuses. Meant for small runs (pure NumPy)."""
    problem = config_problem(tasks, samples, lo, hi, chunk, seed)
    if problem:
        raise ValueError(problem)
    source = (FastStream if stream == "fast" else NumpyStream)(seed, lo, hi)
    chunk_sums, chunk_missing, task_sums = [], [], []
    for t in range(tasks):
        total = missing = 0
        for a in range(0, samples, chunk):
            s, m = source.chunk(t, a, min(a + chunk, samples))
            chunk_sums.append(s)
            chunk_missing.append(m)
            total, missing = total + s, missing + m
        total += source.tail(t, samples, missing)
        if stream == "numpy":  # the document's chunk + tail rule against NumPy's own sum
            assert total == source.task_sum(t, samples), "chunks + tail disagree with NumPy"
        task_sums.append(total)
    return {"task_sums": task_sums, "total": sum(task_sums), "chunk_sums": chunk_sums,
            "chunk_missing": chunk_missing}


def config_problem(tasks, samples, lo, hi, chunk, seed=0):
    """The first reason tally would refuse this configuration, in its words
    (core::Config::problems in src/core/config.cpp), or None. Sums are exact at any size,
    so only the draw count (< 2^63) and the ledger (at most 2^28 chunks) are bounded."""
    for name, value in (("lo", lo), ("hi", hi)):
        if not -(1 << 63) <= value < 1 << 63:
            return f"{name} = {value} is outside int64"
    if not 0 <= seed < 1 << 128:
        return "seed must be a non-negative integer below 2^128"
    if tasks <= 0:
        return f"tasks must be at least 1, not {tasks}"
    if samples <= 0:
        return f"samples must be at least 1, not {samples}"
    if lo > hi:
        return f"range {lo}:{hi} is empty (lo > hi)"
    if chunk <= 0 or chunk > 1 << 40:
        return f"chunk must be between 1 and 2^40, not {chunk}"
    if tasks * samples >= 1 << 63:
        return f"tasks × samples = {tasks * samples} exceeds 2^63 - 1 draws"
    chunks = tasks * -(-samples // chunk)
    if chunks > 1 << 28:
        return f"chunk {chunk} gives {chunks} chunks, more than the 2^28 the ledger allows; use a larger --chunk"
    return None


def main(argv):
    p = ArgumentParser(prog="tally-reference", description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=8)
    p.add_argument("--samples", type=int, default=1_000_000)
    p.add_argument("--range", default="1:100")
    p.add_argument("--seed", default="0")
    p.add_argument("--stream", choices=["fast", "numpy"], default="fast")
    p.add_argument("--chunk", type=int, default=1 << 20)
    p.add_argument("--json", action="store_true")
    # Accept "--range -5:5" like tally does (argparse would take "-5:5" for an option).
    argv = list(argv)
    for i, arg in enumerate(argv[:-1]):
        if arg == "--range":
            argv[i:i + 2] = [f"--range={argv[i + 1]}"]
            break
    args = p.parse_args(argv)
    match = re.fullmatch(r"(-?\d+):(-?\d+)", args.range)
    try:  # as tally: decimal, or hexadecimal with 0x
        seed = int(args.seed[2:], 16) if args.seed[:2].lower() == "0x" else int(args.seed, 10)
    except ValueError:
        seed = -1
    if not match:
        p.error(f"--range must be LO:HI, not {args.range!r}")
    lo, hi = int(match[1]), int(match[2])
    problem = config_problem(args.tasks, args.samples, lo, hi, args.chunk, seed)
    if problem:
        p.error(problem)
    result = run(args.tasks, args.samples, lo, hi, seed, args.stream, args.chunk)
    task_sums = result["task_sums"]
    if args.json:
        print(json.dumps(result))
    else:
        for t, s in enumerate(task_sums):
            print(f"task {t}: {s}")
        print(f"total: {sum(task_sums)}")
    return 0


def cli():
    """Console entry point `tally-reference`."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
