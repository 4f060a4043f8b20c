"""A ledger that cannot fit in memory (issue 13 G) is refused up front with exit 2 and
the figures, instead of computing and then dying in a checkpoint write (on the code
before the fix: 2^28 one-draw tasks reached 23 GB resident and a 6 GB temp file before
the OOM killer; under a 1 GiB address-space limit 2^24 tasks died with bad_alloc).
The memory tally sees is the least of MemAvailable, the cgroup limit and RLIMIT_AS;
this test sets RLIMIT_AS so it behaves the same on any machine."""
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import TALLY, Checklist, scratch  # noqa: E402

work = scratch("hostile-memory")
report = Checklist()
LIMIT = 1 << 30



def limited(args):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    t0 = time.monotonic()
    p = subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=300, preexec_fn=limit, cwd=work)
    return p, time.monotonic() - t0


p, seconds = limited(["run", "--tasks", str(1 << 24), "--samples", "1", "-o", "many.h5"])
lines = p.stderr.strip().splitlines()
report(p.returncode == 2 and len(lines) == 1 and "need about" in lines[0] and "use fewer tasks" in lines[0]
       and seconds < 10 and not os.listdir(work),
       f"2^24 one-draw tasks under a 1 GiB limit: exit {p.returncode} in {seconds:.1f} s, {lines}, left {os.listdir(work)}")

p, seconds = limited(["run", "--tasks", "2", "--samples", str(1 << 24), "--chunk", "1", "-o", "fine.h5"])
lines = p.stderr.strip().splitlines()
report(p.returncode == 2 and len(lines) == 1 and "use a larger --chunk" in lines[0],
       f"2^25 one-draw chunks under a 1 GiB limit: exit {p.returncode}, {lines}")

p, seconds = limited(["run", "-o", "default.h5", "--quiet"])
report(p.returncode == 0 and os.path.exists(os.path.join(work, "default.h5")),
       f"the default workload under the same limit completes: exit {p.returncode} {p.stderr.strip()[-300:]}")

report.exit()
