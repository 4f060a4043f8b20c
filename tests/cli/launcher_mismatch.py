"""tally under the launcher of the other MPI (Open MPI's mpirun for an MPICH build,
MPICH's mpiexec for an Open MPI build; srun --mpi=pmix for MPICH is the same case)
gets N singletons that would each compute everything and race on one output file.
It must refuse: exit 2, one error line (from launcher rank 0), no file written."""
import os
import shutil
import subprocess
import sys
import tempfile

TALLY = os.path.abspath(os.environ.get("TALLY_BIN") or sys.exit("TALLY_BIN is not set (run through ctest)"))
linked = subprocess.run(["ldd", TALLY], capture_output=True, text=True).stdout
if "libmpich" in linked:
    other = [shutil.which("mpirun.openmpi"), "-np", "2", "--oversubscribe"]
else:
    other = [shutil.which("mpiexec.mpich"), "-n", "2"]
if other[0] is None:
    print("SKIP: the other MPI's launcher is not installed (scripts/setup installs both)")
    sys.exit(77)
work = tempfile.mkdtemp(prefix="tally-cli-launcher-")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
failures = []
cases = {"under the other launcher": (other + [TALLY], env)}
if "libmpich" in linked:  # srun --mpi=pmix's environment for rank 0 of 2, without srun
    cases["as srun --mpi=pmix would start it"] = ([TALLY], dict(env, PMIX_RANK="0", SLURM_PROCID="0",
                                                               SLURM_STEP_NUM_TASKS="2"))
for name, (prefix, case_env) in cases.items():
    out = os.path.join(work, name.replace(" ", "-") + ".h5")
    p = subprocess.run(prefix + ["run", "--output", out, "--quiet"], capture_output=True, text=True, env=case_env,
                       timeout=120)
    errors = [line for line in p.stderr.splitlines() if line.startswith("tally: error")]
    ok = (p.returncode == 2 and len(errors) == 1 and "does not match the MPI" in errors[0]
          and not os.path.exists(out))
    print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {p.returncode}, {errors}, file {os.path.exists(out)}")
    if not ok:
        print(p.stderr[-1500:])
        failures.append(name)
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failures else 0)
