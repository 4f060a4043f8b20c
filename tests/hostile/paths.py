"""Hostile paths (issue 13 A, B, E): output, checkpoint and checkpoint.prev that alias one
another, symlinks, device nodes, fifos, directories, and a missing or read-only checkpoint
directory are all refused up front with one line and exit 2 — before any work, and
without touching what is on disk. "Before any work" is checked without a clock (issue
19, defect 9): a refused run must end before it reaches the "locked" hold point
(src/io/test_hold.hpp), where it would hold its lock and start computing."""
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, Checklist, Hold, TALLY, file_digest, run, scratch  # noqa: E402

work = scratch("hostile-paths")
os.chdir(work)
small = ["run", "--tasks", "2", "--samples", "1000", "--seed", "3", "--quiet"]
# Far more work than a test could wait for: a run that is not refused never ends by itself.
big = ["run", "--tasks", "4", "--samples", "4000000000000", "--seed", "3", "--quiet"]
report = Checklist()


def refused(label, args, word, extra_check=lambda: True):
    hold = Hold(work, "locked")
    proc = subprocess.Popen([TALLY, *big, *args], env=dict(ENV, **hold.env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    reached = hold.wait_reached(proc, seconds=120)
    if reached or proc.poll() is None:  # not refused up front: end it
        proc.kill()
    hold.release()
    _, err = proc.communicate(timeout=60)
    err = err.strip()
    code = "held at work" if reached else proc.returncode
    ok = code == 2 and len(err.splitlines()) == 1 and word in err and extra_check()
    report(ok, f"{label}: exit {code}: {err[-300:]}")


run([TALLY, *small, "-o", "good.h5"], check=0)
good = file_digest("good.h5")
intact = lambda: file_digest("good.h5") == good  # noqa: E731

# A: aliasing.
refused("-o k.h5 --checkpoint k.h5", ["-o", "k.h5", "--checkpoint", "k.h5"], "same file",
        lambda: not os.path.exists("k.h5"))
refused("-o k.h5 --checkpoint ./k.h5", ["-o", "k.h5", "--checkpoint", "./k.h5"], "same file",
        lambda: not os.path.exists("k.h5"))
refused("-o k.h5 --checkpoint <abs>/k.h5", ["-o", "k.h5", "--checkpoint", os.path.join(work, "k.h5")], "same file")
refused("-o c.prev --checkpoint c", ["-o", "c.prev", "--checkpoint", "c"], "same file")
os.link("good.h5", "hard.ckpt")
refused("checkpoint a hard link to the output", ["-o", "good.h5", "--force", "--checkpoint", "hard.ckpt"],
        "same file", intact)
os.mkdir("sub")
refused("-o sub/../k.h5 --checkpoint k.h5", ["-o", "sub/../k.h5", "--checkpoint", "k.h5"], "same file")

# B: symlinks (refused, documented), device nodes, fifos, directories — even with --force.
os.symlink("good.h5", "link.h5")
refused("-o a symlink --force", ["-o", "link.h5", "--force"], "symbolic link",
        lambda: os.path.islink("link.h5") and intact())
refused("--checkpoint a symlink", ["-o", "new.h5", "--checkpoint", "link.h5"], "symbolic link",
        lambda: os.path.islink("link.h5") and intact())
os.symlink("nowhere.h5", "dangling.h5")
refused("-o a dangling symlink", ["-o", "dangling.h5"], "symbolic link",
        lambda: os.path.islink("dangling.h5") and not os.path.exists("nowhere.h5"))
os.mkfifo("fifo.h5")
refused("-o a fifo --force", ["-o", "fifo.h5", "--force"], "not a regular file",
        lambda: stat.S_ISFIFO(os.lstat("fifo.h5").st_mode))
if os.geteuid() == 0:
    os.mknod("null.h5", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    refused("-o a character device --force", ["-o", "null.h5", "--force"], "not a regular file",
            lambda: stat.S_ISCHR(os.lstat("null.h5").st_mode))
refused("-o a directory --force", ["-o", "sub", "--force"], "directory", lambda: os.path.isdir("sub"))

# E: the checkpoint directory is checked with the output.
refused("--checkpoint in a missing directory", ["-o", "e.h5", "--checkpoint", "missing/e.ckpt"], "does not exist",
        lambda: not os.path.exists("e.h5"))
if os.geteuid() == 0:
    # Root ignores permission bits; a read-only mount refuses even root.
    os.mkdir("ro")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tally-ro", "ro"]).returncode == 0:
        try:
            refused("--checkpoint in a read-only directory", ["-o", "e.h5", "--checkpoint", "ro/e.ckpt"],
                    "not writable", lambda: not os.path.exists("e.h5"))
        finally:
            subprocess.run(["umount", "ro"])

report.exit()
