"""Same-run application benchmarks for tally (docs/performance.md)."""
import json
import os
import subprocess
import sys
import tempfile
import time

from benchlib import ENV as env, interleaved, machine_line, tally_binary, wall

root = sys.argv[1]
quick = "--quick" in sys.argv
tally = tally_binary(root)
here = os.path.join(root, "bench", "app")
py = os.environ.get("PYTHON", "/usr/bin/python3")
work = tempfile.mkdtemp(prefix="tally-bench-")
trivial = os.path.join(work, "mpi_trivial")
subprocess.run(["mpicc", "-O2", "-o", trivial, os.path.join(here, "mpi_trivial.c")], check=True)
out_file = os.path.join(work, "bench.h5")


print(machine_line("tally application benchmarks"))
run = [tally, "run", "--output", out_file, "--force", "--quiet"]
mpirun2 = ["mpirun", "-np", "2", "--bind-to", "core"]

# 1. The default workload: tally (no launcher) vs the NumPy version and the original.
reps = 3 if quick else 7
t = interleaved({"tally": run, "numpy": [py, os.path.join(here, "numpy_version.py")]}, reps)
original = wall([py, os.path.join(here, "original.py")])
print(f"default workload, no launcher: tally {t['tally']:.3f} s, numpy version {t['numpy']:.3f} s, "
      f"original {original:.3f} s -> tally/numpy = {t['tally'] / t['numpy']:.3f} (target <= 0.5)")

# 2. The default workload under mpirun -np 2 vs a trivial MPI program.
t = interleaved({"tally": mpirun2 + run, "trivial": mpirun2 + [trivial]}, reps)
print(f"default workload, mpirun -np 2: tally {t['tally']:.3f} s, trivial MPI program {t['trivial']:.3f} s "
      f"-> ratio {t['tally'] / t['trivial']:.3f} (target <= 1.15)")

# 3. A large run on 2 ranks x 1 thread vs 2 x the single-core kernel rate, same run.
per_core = 2 * 10**9 if quick else 10**10
single = json.loads(subprocess.run(run + ["--json", "--threads", "1", "--tasks", "1", "--samples", str(per_core)],
                                   env=env, check=True, capture_output=True, text=True).stdout)
single_rate = per_core / single["wall_seconds"]
big = 2 * per_core * (1 if quick else 5)
t0 = time.perf_counter()
res = json.loads(subprocess.run(mpirun2 + run + ["--json", "--threads", "1", "--tasks", "8",
                                                 "--samples", str(big // 8), "--chunk", str(1 << 24)],
                                env=env, check=True, capture_output=True, text=True).stdout)
big_wall = time.perf_counter() - t0
rate = big / big_wall
print(f"large run {big:.3g} numbers, mpirun -np 2 x 1 thread: {big_wall:.2f} s wall ({rate:.4g}/s, tally's own "
      f"{big / res['wall_seconds']:.4g}/s) vs single core {single_rate:.4g}/s -> "
      f"{rate / (2 * single_rate):.1%} of 2x single core (target >= 90%)")

# 4. Coordinator throughput with tiny chunks.
chunks = 2 * 10**6 if quick else 10**7
res = json.loads(subprocess.run(mpirun2 + run + ["--json", "--threads", "1", "--tasks", "1",
                                                 "--samples", str(chunks * 4), "--chunk", "4"],
                                env=env, check=True, capture_output=True, text=True).stdout)
print(f"coordinator: {chunks:.3g} chunks of 4 draws on mpirun -np 2 in {res['wall_seconds']:.2f} s -> "
      f"{chunks / res['wall_seconds']:.4g} chunk assignments/s (target >= 1e5)")
