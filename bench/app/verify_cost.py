"""Cost of `tally verify --all` against the run it checks (docs/performance.md): for each
layout, `tally run` then `tally verify --all` with the same ranks x threads on the same
file; the run's kernel time is its busiest rank's busy seconds (`tally inspect --json`,
rank_timing: ranks compute at the same time). verify's time is the wall time of the whole
command (launcher start-up, MPI_Init, reading the file, replaying every chunk, the
checks). A trivial MPI program's wall time shows the launcher's share. Run once, on a
quiet machine.
Usage: verify_cost.py ROOT [--draws N] [--tasks T]"""
import json
import os
import subprocess
import sys
import tempfile
import time

from benchlib import ENV as env, machine_line, tally_binary

root = sys.argv[1]
args = sys.argv[2:]
draws = int(float(args[args.index("--draws") + 1])) if "--draws" in args else 10**11
tasks = int(args[args.index("--tasks") + 1]) if "--tasks" in args else 4
tally = tally_binary(root)
here = os.path.join(root, "bench", "app")
work = tempfile.mkdtemp(prefix="tally-verify-bench-")
trivial = os.path.join(work, "mpi_trivial")
subprocess.run(["mpicc", "-O2", "-o", trivial, os.path.join(here, "mpi_trivial.c")], check=True)
mpirun2 = ["timeout", "600", "mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none"]


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return time.perf_counter() - t0, p.stdout


print(machine_line("tally verify --all vs the run's kernel time"))
samples = draws // tasks
print(f"# workload: tally run --tasks {tasks} --samples {samples} ({tasks * samples:.3e} draws, fast stream, "
      f"range 1:100, default chunk)")
layouts = [("mpirun -np 2 x 1 thread", mpirun2, 1), ("threads only, 1 x 2 threads", [], 2)]
for name, prefix, threads in layouts:
    out = os.path.join(work, "run.h5")
    run_wall, _ = timed(prefix + [tally, "run", "--tasks", str(tasks), "--samples", str(samples),
                                  "--threads", str(threads), "--output", out, "--force", "--quiet"])
    info = json.loads(timed([tally, "inspect", out, "--json"])[1])
    busy = max(r["busy_seconds"] for r in info["rank_timing"])
    verify_wall, text = timed(prefix + [tally, "verify", out, "--all", "--threads", str(threads), "--json"])
    report = json.loads(text)
    replay = next(c for c in report["checks"] if c["name"] == "chunk replay")
    assert report["passed"] and replay["passed"] and replay["detail"].startswith("all "), replay
    start = timed(prefix + [trivial])[0] if prefix else 0.0
    print(f"{name}: run wall {run_wall:.2f} s, kernel (busiest rank's busy s) {busy:.2f} s, ranks "
          f"{info['ranks']}; verify --all wall {verify_wall:.2f} s ({info['chunks']} chunks replayed); "
          f"trivial MPI program {start:.2f} s")
    print(f"  verify / kernel = {verify_wall / busy:.3f} (target <= 1.2); "
          f"without the launcher's start-up: {(verify_wall - start) / busy:.3f}")
    os.remove(out)
