"""128-bit sums and exact statistics at every range the CLI accepts: totals past 2^63
equal scripts/reference (Python big integers) and z-scores equal an exact computation
with Python's fractions, for ranges far from zero, tiny spans and the int64 extremes;
`tally verify` passes every one of these correct files."""
import json
import math
import os
import subprocess
import sys
from fractions import Fraction

tally = os.environ["TALLY_BIN"]
reference = os.path.join(os.environ["TALLY_SOURCE_DIR"], "scripts", "reference")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from tallytest import scratch  # noqa: E402

work = scratch("exact")  # removed however the test ends
I64 = 1 << 63


def exact_z(total, n, lo, hi):
    """Independent of tally.stats: the deviation and variance as Fractions, one float at the end."""
    s = hi - lo + 1
    if s == 1:
        return 0.0
    deviation = Fraction(total) - Fraction(n * (lo + hi), 2)
    variance = Fraction(n * (s * s - 1), 12)
    z2 = deviation * deviation / variance
    return math.copysign(math.sqrt(z2), deviation)


cases = [  # (tasks, samples, lo, hi, stream, seed)
    (2, 2047, 1125899906855555, 1125899906855556, "fast", 2),   # the case: exact z is 0.88
    (3, 5000, 2**50, 2**50 + 2, "numpy", 7),
    (2, 3000, -(2**50) - 5, -(2**50), "fast", 11),
    (4, 4000, 0, 2**40 - 1, "fast", 3),                           # sums far past 2^63
    (4, 4000, 0, 2**40 - 1, "numpy", 3),
    (2, 1000, -I64, I64 - 1, "fast", 5),                          # full int64 range
    (2, 1000, -I64, I64 - 1, "numpy", 5),
    (2, 1000, I64 - 3, I64 - 1, "numpy", 9),                      # top of int64
    (2, 1000, -I64, -I64 + 1, "fast", 9),                         # bottom of int64
    (1, 10, 5, 5, "fast", 1),                                     # constant
]
failures = 0
for tasks, samples, lo, hi, stream, seed in cases:
    args = ["--tasks", str(tasks), "--samples", str(samples), f"--range={lo}:{hi}", "--seed", str(seed),
            "--stream", stream, "--chunk", "512"]
    out = os.path.join(work, f"{stream}-{lo}-{hi}.h5")
    p = subprocess.run([tally, "run", *args, "--json", "--quiet", "--output", out, "--force"],
                       capture_output=True, text=True)
    problems = []
    if p.returncode != 0:
        problems.append(f"tally exit {p.returncode}: {p.stderr.strip()}")
    else:
        got = json.loads(p.stdout)
        ref = json.loads(subprocess.run([reference, *args, "--json"], capture_output=True, text=True,
                                        check=True).stdout)
        if got["task_sums"] != ref["task_sums"] or got["total"] != ref["total"]:
            problems.append(f"sums {got['task_sums']} vs reference {ref['task_sums']}")
        z = exact_z(got["total"], got["count"], lo, hi)
        if abs(got["z_score"] - z) > 1e-9 * max(1, abs(z)):
            problems.append(f"z {got['z_score']} vs exact {z}")
        v = subprocess.run([tally, "verify", out, "--all", "--json"], capture_output=True, text=True)
        if v.returncode != 0:
            problems.append(f"verify failed a correct file: {v.stdout[-400:]}")
        if abs(got["total"]) >= I64:
            print(f"     (total {got['total']} is beyond int64)")
    print(("ok   " if not problems else "FAIL ") + " ".join(args) + ("; " + "; ".join(problems) if problems else ""))
    failures += bool(problems)
sys.exit(1 if failures else 0)
