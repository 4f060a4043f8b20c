"""A good checkpoint held open by another program (issue 19, defect 13): h5py with mode
"r+" (which takes HDF5's exclusive file lock and marks the file open for writing), the
same without HDF5 file locking (only the mark), or any exclusive flock. tally says the
checkpoint is busy (exit 2, one line), never that it is corrupt, never advises removing
it, and neither falls back to the previous generation nor changes either file; once
the other program closes it, the same command resumes from it. `tally inspect` and
`tally verify` say the same of a busy checkpoint or results file."""
import fcntl
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, TALLY, Checklist, file_digest, results, run, scratch  # noqa: E402

work = scratch("hostile-busy")
os.chdir(work)
report = Checklist()
workload = ["run", "--tasks", "4", "--samples", "16777216", "--chunk", "65536", "--threads", "1", "--seed", "13",
            "--quiet"]
run([TALLY, *workload, "-o", "reference.h5"], timeout=300, check=0)
# Two stops: a checkpoint and its previous generation, both good.
for _ in range(2):
    run([TALLY, *workload, "-o", "busy.h5", "--max-seconds", "0.001"], timeout=300, check=85)
ckpt = "busy.h5.ckpt"
before = (file_digest(ckpt), file_digest(ckpt + ".prev"))

# Each holder runs tally while it holds the checkpoint, in the same Python process.
HOLDER = r"""
import fcntl, subprocess, sys, h5py
how, ckpt, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
if how == "flock":
    f = open(ckpt, "rb"); fcntl.flock(f, fcntl.LOCK_EX)
else:
    f = h5py.File(ckpt, "r+")
p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
f.close()
sys.stdout.write(f"{p.returncode}\n{p.stderr}")
"""
holders = {"h5py r+": ("h5py", {}), "h5py r+ without HDF5 file locking": ("h5py", {"HDF5_USE_FILE_LOCKING": "FALSE"}),
           "an exclusive flock": ("flock", {})}
for label, (how, extra) in holders.items():
    p = subprocess.run(["/usr/bin/python3", "-c", HOLDER, how, ckpt, TALLY, *workload, "-o", "busy.h5"],
                       env=dict(ENV, **extra), capture_output=True, text=True, timeout=300)
    code, _, err = p.stdout.partition("\n")
    lines = [line for line in err.strip().splitlines() if line.startswith("tally")]
    report(code == "2" and len(lines) == 1 and "open" in err and "another program" in err
           and "corrupt" not in err and "Remove" not in err and "remove" not in err,
           f"checkpoint held by {label}: exit {code} (2 expected), busy, not corrupt: {err.strip()[-260:]} "
           f"{p.stderr.strip()[-200:]}")
    after = (file_digest(ckpt), file_digest(ckpt + ".prev"))
    report(after == before, f"… and both generations are as they were: {after == before}")

# inspect and verify read the same bytes: busy there too, never "fails its seal" or "not
# an HDF5 file" (what they said before), for a checkpoint and for a results file alike.
for label, (how, extra) in holders.items():
    for held in (ckpt, "reference.h5"):
        for command in (["inspect", held], ["verify", held]):
            p = subprocess.run(["/usr/bin/python3", "-c", HOLDER, how, held, TALLY, *command],
                               env=dict(ENV, **extra), capture_output=True, text=True, timeout=300)
            code, _, err = p.stdout.partition("\n")
            lines = [line for line in err.strip().splitlines() if line.startswith("tally")]
            report(code == "2" and len(lines) == 1 and "another program" in err and "seal" not in err
                   and "corrupt" not in err and "not an HDF5" not in err,
                   f"tally {command[0]} on {held} held by {label}: exit {code} (2 expected), busy: "
                   f"{err.strip()[-200:]} {p.stderr.strip()[-200:]}")
report(run([TALLY, "verify", ckpt], timeout=300).returncode == 0, "released, the checkpoint verifies")

p = run([TALLY, *workload, "-o", "busy.h5"], timeout=300)
report(p.returncode == 0 and "resumed from busy.h5.ckpt (" in p.stderr and results("busy.h5") == results("reference.h5"),
       f"closed again, the same command resumes from the newest generation and completes exactly: "
       f"exit {p.returncode} {p.stderr.strip()[-200:]}")
report.exit()
