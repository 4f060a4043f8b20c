"""The numpy stream against NumPy itself: >= 200 random cases per run (seed logged;
TALLY_PARITY_SEED replays) covering keys >= 2^64, task ids up to 2^40, every NumPy
code path (r = hi - lo of 0, 1, 99, 2^32-2, 2^32-1, 2^32, above 2^32, the full int64
range, negative lo), plus one run of N >= 10^8 draws. Sums compared modulo 2^64."""
import os
import random
import subprocess
import sys

import numpy as np

probe = sys.argv[1]
seed = int(os.environ.get("TALLY_PARITY_SEED", random.randrange(1 << 32)))
print(f"parity seed {seed} (set TALLY_PARITY_SEED to replay); numpy {np.__version__}")
rng = random.Random(seed)
MASK = (1 << 64) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


def numpy_sum(key, task, lo, hi, n):
    g = np.random.Generator(np.random.Philox(key=key).jumped(task))
    total, left = 0, n
    while left:  # chunks of 10^7 bound memory for the big case
        take = min(left, 10**7)
        values = g.integers(lo, hi, size=take, endpoint=True, dtype=np.int64)
        total = (total + int(values.view(np.uint64).sum(dtype=np.uint64))) & MASK
        left -= take
    return total


def pick_range():
    r = rng.choice([0, 1, 99, 2**32 - 2, 2**32 - 1, 2**32, 2**32 + 1, 2**40 + 7, 2**63, 2**64 - 2, 2**64 - 1,
                    rng.randrange(2, 2**32), rng.randrange(2**32, 2**64 - 1)])
    lo = rng.choice([0, 1, -5, -(2**40), I64_MIN, rng.randrange(-(2**62), 2**62)])
    lo = max(I64_MIN, min(lo, I64_MAX - r))
    return lo, lo + r


cases = []
for _ in range(220):
    key = rng.choice([rng.randrange(2**64), rng.randrange(2**64, 2**128), 0, 1, 2**128 - 1])
    task = rng.choice([0, 1, rng.randrange(2**20), rng.randrange(2**40), 2**40])
    lo, hi = pick_range()
    n = rng.choice([0, 1, 7, 8, 9, rng.randrange(1, 300), rng.randrange(300, 5000), rng.randrange(5000, 70000)])
    cases.append(("numpy", key, task, lo, hi, n, rng.randrange(n + 1)))
cases.append(("numpy", 1, 0, 1, 100, 100_000_003, 54_321_987))  # the big one (and the note's anchor)

stdin = "".join(f"{s} {k} {t} {lo} {hi} {n} {split}\n" for s, k, t, lo, hi, n, split in cases)
out = subprocess.run([probe], input=stdin, capture_output=True, text=True, check=True).stdout.split("\n")
failures = 0
for case, line in zip(cases, out):
    _, key, task, lo, hi, n, split = case
    got = int(line.split()[0])
    want = numpy_sum(key, task, lo, hi, n)
    if got != want:
        failures += 1
        print(f"FAIL key={key} task={task} range=[{lo}, {hi}] n={n} split={split}: tally {got} numpy {want}")
print(f"{len(cases)} cases, {failures} failures; big case sum {out[len(cases) - 1].split()[0]}")
sys.exit(1 if failures else 0)
