"""The program tally grew from (ARCHITECTURE.md), unchanged but for the __main__ guard."""
import multiprocessing
import random


def compute(n):
    return sum([random.randint(1, 100) for i in range(1000000)])


if __name__ == "__main__":
    with multiprocessing.Pool(8) as pool:
        results = pool.map(compute, range(8))
    print(sum(results))
