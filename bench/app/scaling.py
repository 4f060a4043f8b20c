"""Strong and weak scaling on the machine at hand (docs/performance.md, "Scaling curves"):
tally run on 1 .. all cores as threads only (1 rank x T threads) and as MPI ranks
(N ranks x 1 thread under mpirun), plus oversubscribed ranks (more ranks than cores).
Strong: the same work on every layout (about `--seconds` of one core). Weak: work in
proportion to the cores used. Each layout's time is the median of `--repeats` runs taken
round-robin; both the launcher's wall time and tally's own clock (`wall_seconds`, from
MPI_Init's end to the results file) are kept. Writes a table to stdout and, with
--plot PNG, the curves. Last, start-up against the rank count: the seed workload under
mpirun -np N (N up to 32, oversubscribed) against a trivial MPI program (init, barrier,
finalize), so the difference is tally's own start-up (hello and verdict per worker,
the results file).
Usage: scaling.py ROOT [--seconds S] [--repeats R] [--plot PNG]"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import ENV as env, machine_line, tally_binary

root = sys.argv[1]
args = sys.argv[2:]
seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 8.0
repeats = int(args[args.index("--repeats") + 1]) if "--repeats" in args else 3
plot = args[args.index("--plot") + 1] if "--plot" in args else None
tally = tally_binary(root)
work = tempfile.mkdtemp(prefix="tally-scaling-")
cores = os.cpu_count()
mpirun = ["mpirun", "--oversubscribe", "--bind-to", "none"]
TASKS = 16


def run(ranks, threads, draws, mpi):
    out = os.path.join(work, "o.h5")
    samples = str(max(1, int(draws / TASKS)))
    cmd = ([*mpirun, "-np", str(ranks)] if mpi else []) + [tally, "run", "--tasks", str(TASKS), "--samples", samples,
                                                           "--threads", str(threads), "--json", "--quiet",
                                                           "--output", out, "--force"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    launcher = time.perf_counter() - t0
    own = json.loads(p.stdout)["wall_seconds"]
    os.remove(out)
    return launcher, own


print(machine_line("tally scaling"))
print(f"# command: bench/app/scaling.py . {' '.join(args)}")
probe_draws = 2e9
_, took = run(1, 1, probe_draws, False)
rate = probe_draws / took  # one core, fast stream, [1, 100]
base = rate * seconds
print(f"# one core: {rate:.3e} draws/s; strong-scaling work {base:.3e} draws (~{seconds:.0f} s on one core)")

layouts = []  # (kind, label, cores used, ranks, threads, mpi, draws)
for c in range(1, cores + 1):
    layouts.append(("strong", f"1 x {c} threads", c, 1, c, False, base))
    layouts.append(("strong", f"{c} ranks x 1", c, c, 1, True, base))
    layouts.append(("weak", f"1 x {c} threads", c, 1, c, False, base * c / cores))
    layouts.append(("weak", f"{c} ranks x 1", c, c, 1, True, base * c / cores))
for over in (2 * cores, 4 * cores):
    layouts.append(("strong", f"{over} ranks x 1 (oversubscribed)", cores, over, 1, True, base))

times = {i: ([], []) for i in range(len(layouts))}
for _ in range(repeats):
    for i, (kind, label, used, ranks, threads, mpi, draws) in enumerate(layouts):
        launcher, own = run(ranks, threads, draws, mpi)
        times[i][0].append(launcher)
        times[i][1].append(own)

print(f"\n{'kind':6} {'layout':32} {'cores':>5} {'draws':>10} {'launcher s':>10} {'tally s':>8} "
      f"{'speedup':>8} {'efficiency':>10}")
rows = []
ref = {}
for i, (kind, label, used, ranks, threads, mpi, draws) in enumerate(layouts):
    launcher, own = statistics.median(times[i][0]), statistics.median(times[i][1])
    key = (kind, "mpi" if mpi else "threads")
    if used == 1 and ranks == 1:
        ref[key] = launcher
    rows.append((kind, label, used, ranks, mpi, draws, launcher, own))
for kind, label, used, ranks, mpi, draws, launcher, own in rows:
    r = ref[(kind, "mpi" if mpi else "threads")]
    # Strong: speedup = t(1) / t(c), efficiency = speedup / c. Weak: efficiency = t(1) / t(c).
    speedup = r / launcher if kind == "strong" else used * r / launcher
    efficiency = speedup / used
    print(f"{kind:6} {label:32} {used:5d} {draws:10.3e} {launcher:10.2f} {own:8.2f} {speedup:8.2f} {efficiency:9.0%}")

if plot:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
    for mpi, style in ((False, "o-"), (True, "s--")):
        pts = [(u, ref[("strong", "mpi" if mpi else "threads")] / t) for k, lab, u, n, m, d, t, o in rows
               if k == "strong" and m == mpi and "oversubscribed" not in lab]
        a.plot(*zip(*pts), style, label="MPI ranks x 1 thread" if mpi else "1 rank x threads")
        pts = [(u, ref[("weak", "mpi" if mpi else "threads")] / t) for k, lab, u, n, m, d, t, o in rows
               if k == "weak" and m == mpi]
        b.plot(*zip(*pts), style, label="MPI ranks x 1 thread" if mpi else "1 rank x threads")
    a.plot([1, cores], [1, cores], ":", color="grey", label="ideal")
    b.plot([1, cores], [1, 1], ":", color="grey", label="ideal")
    a.set(title=f"strong scaling (~{seconds:.0f} s of one core)", xlabel="cores", ylabel="speedup",
          xticks=range(1, cores + 1))
    b.set(title="weak scaling (work ∝ cores)", xlabel="cores", ylabel="efficiency", xticks=range(1, cores + 1),
          ylim=(0, 1.1))
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(plot, dpi=100)
    print(f"# plot: {plot}")

here = os.path.dirname(os.path.abspath(__file__))
trivial = os.path.join(work, "mpi_trivial")
subprocess.run(["mpicc", "-O2", "-o", trivial, os.path.join(here, "mpi_trivial.c")], check=True)
print(f"\n{'ranks':>5} {'trivial MPI s':>13} {'tally seed workload s':>21} {'difference s':>12}   (median of {repeats})")
for n in (2, 8, 32):
    t_trivial, t_tally = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([*mpirun, "-np", str(n), trivial], env=env, check=True, capture_output=True)
        t_trivial.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([*mpirun, "-np", str(n), tally, "run", "--threads", "1", "--quiet", "--output",
                        os.path.join(work, "s.h5"), "--force"], env=env, check=True, capture_output=True)
        t_tally.append(time.perf_counter() - t0)
    a, b = statistics.median(t_trivial), statistics.median(t_tally)
    print(f"{n:5d} {a:13.2f} {b:21.2f} {b - a:12.2f}")
