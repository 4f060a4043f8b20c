"""Kernel paths from the command line (issue 18): `tally --version` lists the paths this
CPU runs and the one taken; TALLY_KERNEL forces each of them with the same bits, and
the path is recorded per start (/starts/kernel_path, `tally inspect`); an unknown or
unavailable name is one stderr line, exit 2, nothing written. Runs the real binary."""
import os
import subprocess
import sys
import tempfile

import h5py

TALLY = os.path.abspath(os.environ.get("TALLY_BIN") or sys.exit("TALLY_BIN is not set (run through ctest)"))
work = tempfile.mkdtemp(prefix="tally-cli-kernel-")
failures = []


def tally(*args, kernel=None):
    env = dict(os.environ)
    env.pop("TALLY_KERNEL", None)
    if kernel is not None:
        env["TALLY_KERNEL"] = kernel
    return subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=60, cwd=work, env=env)


def expect(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")
    if not ok:
        failures.append(name)


version = tally("--version").stdout
line = next((x for x in version.splitlines() if x.startswith("kernel paths: ")), "")
paths = line.removeprefix("kernel paths: ").split(" (this run: ")[0].split(", ")
chosen = line.split("(this run: ")[-1].rstrip(")")
expect("--version lists the paths, portable last", bool(line) and paths[-1] == "portable", version)
expect("--version: the best path runs by default", chosen == paths[0], version)
flags = open("/proc/cpuinfo").read().split()
if "avx2" in flags:
    expect("a CPU with AVX2 runs avx2", "avx2" in paths, line)
if "avx512f" in flags and "avx512bw" in flags and "avx512dq" in flags and "avx512vl" in flags:
    expect("a CPU with AVX-512 runs avx512 by default", chosen == "avx512", line)

totals = {}
for path in paths + ["auto"]:
    out = os.path.join(work, f"{path}.h5")
    p = tally("run", "--tasks", "3", "--samples", "200000", "--output", out, "--force", "--quiet", kernel=path)
    expect(f"TALLY_KERNEL={path} runs", p.returncode == 0, p.stderr)
    if p.returncode != 0:
        continue
    with h5py.File(out, "r") as f:
        totals[path] = f.attrs["total_sum"]
        recorded = f["starts/kernel_path"][-1].decode()
    expected = paths[0] if path == "auto" else path
    expect(f"TALLY_KERNEL={path}: the start records {expected}", recorded == expected, recorded)
    shown = tally("inspect", out).stdout
    expect(f"TALLY_KERNEL={path}: inspect shows it", f"kernel {expected}" in shown, shown)
expect("every path gives the same total", len(set(totals.values())) == 1, str(totals))

for bad, needle in (("bogus", "is not a kernel path"), ("AVX2", "is not a kernel path"),
                    ("sve" if "sve" not in paths else "avx512" if "avx512" not in paths else "neon",
                     "is not a path this CPU runs")):
    out = os.path.join(work, f"bad-{bad}.h5")
    p = tally("run", "--tasks", "1", "--samples", "10", "--output", out, kernel=bad)
    lines = p.stderr.strip().splitlines()
    ok = p.returncode == 2 and len(lines) == 1 and needle in lines[0] and ", ".join(paths) in lines[0]
    expect(f"TALLY_KERNEL={bad} is refused in one line naming the paths", ok, f"rc {p.returncode}: {p.stderr!r}")
    expect(f"TALLY_KERNEL={bad} writes nothing", not os.path.exists(out))

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
