"""scripts/reference (pure NumPy, written from docs/streams.md) against `tally run` on
random small configurations of both streams: per-task sums, total and chunk sums."""
import json
import os
import random
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.join(os.environ["TALLY_SOURCE_DIR"], "python"))
from tally.results import exact_ints  # noqa: E402

tally = os.environ["TALLY_BIN"]
reference = os.path.join(os.environ["TALLY_SOURCE_DIR"], "scripts", "reference")
seed = int(os.environ.get("TALLY_REFERENCE_SEED", random.randrange(1 << 32)))
print(f"case seed {seed} (set TALLY_REFERENCE_SEED to replay)")
rng = random.Random(seed)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tallytest import scratch  # noqa: E402

work = scratch("reference")  # removed however the test ends
failures = 0
for i in range(36):
    stream = "fast" if i % 2 == 0 else "numpy"
    lo = rng.choice([1, 0, -7, -(2**40), rng.randrange(-10**6, 10**6)])
    span = rng.choice([1, 2, 3, 100, 101, 1000, 2**20, 2**20 + 1, 2**31 + 1, 2**32, 2**40])
    tasks, samples = rng.randrange(1, 4), rng.randrange(1, 3000)
    chunk = rng.choice([1, 7, 64, 1000, 1 << 20])
    key = rng.choice([0, 1, rng.randrange(2**64), rng.randrange(2**64, 2**128)])
    args = ["--tasks", str(tasks), "--samples", str(samples), "--range", f"{lo}:{lo + span - 1}",
            "--seed", str(key), "--stream", stream, "--chunk", str(chunk)]
    ref = json.loads(subprocess.run([reference, *args, "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    out = os.path.join(work, f"case{i}.h5")
    got = json.loads(subprocess.run([tally, "run", *args, "--json", "--quiet", "--output", out], capture_output=True,
                                    text=True, check=True).stdout)
    with h5py.File(out, "r") as f:
        chunk_sums = exact_ints(f["chunks/sum"][()])
        chunk_missing = [int(x) for x in f["chunks/missing"][()]]
    same = (got["task_sums"] == ref["task_sums"] and got["total"] == ref["total"]
            and chunk_sums == ref["chunk_sums"] and chunk_missing == ref["chunk_missing"])
    print(f"{'ok  ' if same else 'FAIL'} {' '.join(args)}")
    if not same:
        print(f"  tally {got['task_sums']} reference {ref['task_sums']}")
        failures += 1
sys.exit(1 if failures else 0)
