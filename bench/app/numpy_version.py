"""The same job the way a NumPy user writes it: 8 tasks of 1,000,000 draws in [1, 100],
one Philox stream per task (tally's numpy stream gives the identical numbers)."""
import numpy as np

total = 0
for t in range(8):
    rng = np.random.Generator(np.random.Philox(key=0).jumped(t))
    total += int(rng.integers(1, 100, size=1_000_000, endpoint=True).sum())
print(total)
