"""Thread counts from the environment (issue 19, defect 14): OMP_NUM_THREADS and
SLURM_CPUS_PER_TASK obey the bound --threads has (1 to 4096 per rank, docs/cli.md).
Above it: one line naming the variable, exit 2, no SIGSEGV in libgomp (65535 crashed
it, 32768-50000 failed 'Thread creation failed', 16384 was accepted), threads-only and
under mpirun alike. --threads, when given, wins over the environment."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, TALLY, Checklist, mpi_command, scratch  # noqa: E402
import subprocess  # noqa: E402

work = scratch("hostile-threads")
os.chdir(work)
report = Checklist()
small = ["run", "--tasks", "2", "--samples", "1000", "--quiet", "--seed", "2"]
env = {k: v for k, v in ENV.items() if k not in ("OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK")}


def tally(cmd, extra, out):
    cmd = cmd + ["-o", out] if "run" in cmd else cmd
    return subprocess.run(cmd, env=dict(env, **extra), capture_output=True, text=True, timeout=120)


def refused(label, cmd, extra, word):
    out = f"r{len(os.listdir(work))}.h5"
    p = tally(cmd, extra, out)
    lines = [line for line in p.stderr.strip().splitlines() if line.startswith("tally")]
    report(p.returncode == 2 and len(set(lines)) == 1 and word in p.stderr and not os.path.exists(out),
           f"{label}: exit {p.returncode} (2 expected): {p.stderr.strip()[-200:]}")


for value in ("65535", "40000", "32768", "16384", "4097", "99999999999999999999"):
    refused(f"OMP_NUM_THREADS={value}", [TALLY, *small], {"OMP_NUM_THREADS": value}, "OMP_NUM_THREADS")
for value in ("65535", "16384"):
    refused(f"SLURM_CPUS_PER_TASK={value}", [TALLY, *small], {"SLURM_CPUS_PER_TASK": value}, "SLURM_CPUS_PER_TASK")
refused("--threads 16384", [TALLY, *small, "--threads", "16384"], {}, "--threads")
refused("OMP_NUM_THREADS=65535 under mpirun -np 2", mpi_command(2, small), {"OMP_NUM_THREADS": "65535"},
        "OMP_NUM_THREADS")

p = tally([TALLY, *small, "--threads", "2"], {"OMP_NUM_THREADS": "65535"}, "given.h5")
report(p.returncode == 0, f"--threads 2 wins over OMP_NUM_THREADS=65535: exit {p.returncode} {p.stderr.strip()[-200:]}")
refused("verify with OMP_NUM_THREADS=65535", [TALLY, "verify", "given.h5"], {"OMP_NUM_THREADS": "65535"},
        "OMP_NUM_THREADS")
p = tally([TALLY, *small], {"OMP_NUM_THREADS": "64"}, "fine.h5")
report(p.returncode == 0, f"OMP_NUM_THREADS=64 (more than the cores) is accepted: exit {p.returncode}")
report.exit()
