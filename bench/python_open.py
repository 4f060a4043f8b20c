"""Opening a large results file with tally.Results: seconds and resident memory of a
fresh process that opens it and reads its summary (total, z-score, history), for a
ledger of 2^CHUNKS_LOG2 chunks. With --old PACKAGE_PARENT, the same for another copy of
the package (e.g. `git archive <commit> python/tally`), interleaved, for a ratio.

    /usr/bin/python3 bench/python_open.py [--log2 24] [--repeat 5] [--old DIR]

Writes the file (16 bytes + 9 per chunk) in a temporary directory and removes it."""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(SOURCE, "tests", "python"))
import tallyfile  # noqa: E402

CHILD = ("import resource, sys, time; sys.path.insert(0, sys.argv[2]); import tally, h5py\n"
         "statm = lambda: int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize()\n"
         "before = statm(); t = time.perf_counter()\n"
         "r = tally.Results(sys.argv[1]); r.total; r.z_score(); r.starts; r.lost; r.hosts\n"
         "print(time.perf_counter() - t, (statm() - before) / 2**20)\n")


def measure(path, package_parent):
    p = subprocess.run([sys.executable, "-c", CHILD, path, package_parent], capture_output=True, text=True,
                       check=True, timeout=3600)
    seconds, mib = map(float, p.stdout.split())
    return seconds, mib


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--log2", type=int, default=24)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--old")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "large.h5")
        tasks = 16
        tallyfile.build_constant(path, tasks=tasks, samples=(1 << args.log2) // tasks, chunk=1)
        print(f"file: {1 << args.log2} chunks ({tasks} tasks x {(1 << args.log2) // tasks} one-draw chunks), "
              f"{os.path.getsize(path) / 2**20:.0f} MiB")
        for i in range(args.repeat):
            new = measure(path, os.path.join(SOURCE, "python"))
            line = f"run {i}: this tree {new[0]:.3f} s, resident +{new[1]:.1f} MiB"
            if args.old:
                old = measure(path, args.old)
                line += f"; old {old[0]:.3f} s, +{old[1]:.1f} MiB; old/new time {old[0] / new[0]:.0f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
