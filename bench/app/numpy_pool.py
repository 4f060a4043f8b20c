"""The 8 x 10^8 workload the way a NumPy user scales the original program: a
multiprocessing.Pool of 8 workers, one task each, 10^8 draws in [1, 100] per task from
its own Philox stream (tally's numpy stream gives the identical numbers), summed in
pieces of 10^7 so that memory stays small. Usage: numpy_pool.py [SAMPLES] [TASKS]"""
import multiprocessing
import sys

import numpy as np

SAMPLES = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000_000
TASKS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
PIECE = 10_000_000


def compute(t):
    rng = np.random.Generator(np.random.Philox(key=0).jumped(t))
    total, left = 0, SAMPLES
    while left > 0:
        n = min(PIECE, left)
        total += int(rng.integers(1, 100, size=n, endpoint=True).sum())
        left -= n
    return total


if __name__ == "__main__":
    with multiprocessing.Pool(TASKS) as pool:
        print(sum(pool.map(compute, range(TASKS))))
