"""Hostile file system (issue 13 C, review 3 and 6): the disk fills up during a periodic
checkpoint and during the final results write, on a small tmpfs mounted for the test.
Each must end with exit 1 (never a crash: it was exit 139, libhdf5 closing a half-closed
file at exit), one stderr line that says "No space left on device", no temp file left,
and the last good checkpoint intact under its own name (the rotation used to rename it
to .prev before writing the new one). After space is freed, the same command resumes
and produces exactly the result of an uninterrupted run."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fault"))
from faultlib import calibrated_samples  # noqa: E402
from tallytest import ENV, TALLY, Checklist, file_digest, results, run, scratch  # noqa: E402

work = scratch("hostile-disk-full")
disk = os.path.join(work, "disk")
os.mkdir(disk)
report = Checklist()



def fill(path, room):
    """Writes zeros until the file system refuses a single byte more, then frees `room`
    bytes: a write then starts and fails part-way (at HDF5's flush or close), the path
    that used to crash, rather than at creating the file."""
    with open(path, "wb", buffering=0) as f:
        for block in (1 << 20, 1 << 16, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * block)
            except OSError:
                pass
        f.truncate(max(0, f.tell() - room))


def leftovers():
    return sorted(n for n in os.listdir(disk) if ".tmp." in n or n.endswith(".lock"))


def disk_full_ok(label, proc_code, err, files_before=None):
    lines = err.strip().splitlines()
    report(proc_code == 1 and len(lines) == 1 and "No space left on device" in lines[0],
           f"{label}: exit {proc_code} (1 expected), {len(lines)} line(s): {err.strip()[-400:]}")
    report(not leftovers(), f"{label}: no temp or lock file left: {leftovers()}")


mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk], capture_output=True, text=True,
                         timeout=30)
if mounted.returncode != 0:
    print(f"SKIP: cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    sys.exit(77)
try:
    samples = calibrated_samples("fast", 4, 8.0, work)
    workload = ["run", "--tasks", "4", "--samples", str(samples), "--chunk", "16777216", "--seed", "11", "--quiet",
                "--threads", "1"]
    reference = os.path.join(work, "reference.h5")
    run([TALLY, *workload, "-o", reference], timeout=600, check=0)
    filler = os.path.join(disk, "filler")

    # 1. Disk full during a periodic checkpoint.
    out = os.path.join(disk, "periodic.h5")
    ckpt = out + ".ckpt"
    cmd = [TALLY, *workload, "-o", out, "--checkpoint-every", "0.2"]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(ckpt + ".prev") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # two generations on disk: the rotation has run at least once
    fill(filler, os.path.getsize(ckpt) // 2)
    _, err = proc.communicate(timeout=300)
    disk_full_ok("checkpoint on a full disk", proc.returncode, err)
    current_ok = os.path.exists(ckpt) and run([TALLY, "inspect", ckpt], timeout=60).returncode == 0
    report(current_ok, "the current checkpoint is still in place and passes inspect (not only .prev)")
    os.remove(filler)
    again = run(cmd, timeout=600)
    report(again.returncode == 0 and results(out) == results(reference),
           f"with room again the same command resumes to the uninterrupted result: exit {again.returncode} "
           f"{again.stderr.strip()[-300:]}")
    if os.path.exists(out):
        os.remove(out)

    # 2. Disk full during the final results write: a checkpoint from an earlier start
    # (stopped by --max-seconds) must survive byte for byte.
    out = os.path.join(disk, "final.h5")
    ckpt = out + ".ckpt"
    cmd = [TALLY, *workload, "-o", out, "--checkpoint-every", "0"]
    first = run([*cmd, "--max-seconds", "1"], timeout=600)
    report(first.returncode == 85 and os.path.exists(ckpt), f"a first start stops at a checkpoint: exit {first.returncode}")
    kept = file_digest(ckpt)
    fill(filler, os.path.getsize(ckpt) // 2)
    second = run(cmd, timeout=600)
    disk_full_ok("results write on a full disk", second.returncode, second.stderr)
    report(not os.path.exists(out) and os.path.exists(ckpt) and file_digest(ckpt) == kept,
           "no results file, and the earlier checkpoint is unchanged")
    os.remove(filler)
    third = run(cmd, timeout=600)
    report(third.returncode == 0 and results(out) == results(reference) and not os.path.exists(ckpt),
           f"with room again the same command completes with the uninterrupted result: exit {third.returncode} "
           f"{third.stderr.strip()[-300:]}")
finally:
    subprocess.run(["umount", "-l", disk], timeout=60)  # scratch() removes the directory at exit

report.exit()
