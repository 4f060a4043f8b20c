"""A ledger that cannot fit in memory (issue 13 G) is refused up front with exit 2 and
the figures, instead of computing and then dying in a checkpoint write (on the code
before the fix: 2^28 one-draw tasks reached 23 GB resident and a 6 GB temp file before
the OOM killer; under a 1 GiB address-space limit 2^24 tasks died with bad_alloc).
The memory tally sees is the least of MemAvailable, the cgroup limit and RLIMIT_AS;
this test sets RLIMIT_AS so it behaves the same on any machine. "Up front" is checked
without a clock (issue 19, defect 9): a refused run ends before the "locked" hold point
(src/io/test_hold.hpp), after which it would compute."""
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, TALLY, Checklist, Hold, scratch  # noqa: E402

work = scratch("hostile-memory")
holds_dir = scratch("hostile-memory-holds")  # beside work, which must stay empty
report = Checklist()
LIMIT = 1 << 30



def limited(args, hold=True):
    """Runs tally under the address-space limit; returns (exit code, stderr), the code
    "held at work" when it got past its up-front checks while it should not have."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    holds = Hold(holds_dir, "locked") if hold else None
    proc = subprocess.Popen([TALLY, *args], env=dict(ENV, **(holds.env if holds else {})), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limit, cwd=work)
    reached = holds.wait_reached(proc) if holds else False
    if reached:
        proc.kill()
        holds.release()
    _, err = proc.communicate(timeout=300)
    return ("held at work" if reached else proc.returncode), err


code, err = limited(["run", "--tasks", str(1 << 24), "--samples", "1", "-o", "many.h5"])
lines = err.strip().splitlines()
left = [n for n in os.listdir(work) if not n.endswith(".lock")]
report(code == 2 and len(lines) == 1 and "need about" in lines[0] and "use fewer tasks" in lines[0] and not left,
       f"2^24 one-draw tasks under a 1 GiB limit: exit {code}, {lines}, left {left}")

code, err = limited(["run", "--tasks", "2", "--samples", str(1 << 24), "--chunk", "1", "-o", "fine.h5"])
lines = err.strip().splitlines()
report(code == 2 and len(lines) == 1 and "use a larger --chunk" in lines[0],
       f"2^25 one-draw chunks under a 1 GiB limit: exit {code}, {lines}")

code, err = limited(["run", "-o", "default.h5", "--quiet"], hold=False)
report(code == 0 and os.path.exists(os.path.join(work, "default.h5")),
       f"the default workload under the same limit completes: exit {code} {err.strip()[-300:]}")

report.exit()
