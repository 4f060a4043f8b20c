"""A checkpoint write longer than --peer-timeout does not look like a dead coordinator
(issue 19, defect 2): rank 0 writes on a helper thread while its MPI thread keeps
heartbeating and receiving. Each write is held TALLY_TEST_CHECKPOINT_DELAY = 2.5 s (a
test-only hook standing for a ledger of ~2·10^7 chunks) against --peer-timeout 1:
the run completes, no rank is lost, bit-identical to a threads-only run. Runtime ~20 s."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import ENV, TALLY, Checklist, mpi_command, results, run, scratch  # noqa: E402

import subprocess  # noqa: E402

work = scratch("slow-checkpoint")
ok = Checklist()
workload = ["run", "--tasks", "4", "--samples", str(1 << 29), "--chunk", str(1 << 26), "--seed", "9", "--quiet"]
reference = os.path.join(work, "reference.h5")
run([TALLY, *workload, "--threads", "2", "-o", reference], timeout=300, check=0)

out = os.path.join(work, "slow.h5")
p = subprocess.run(mpi_command(3, [*workload, "--peer-timeout", "1", "--checkpoint-every", "0.5", "-o", out], 1),
                   env=dict(ENV, TALLY_TEST_CHECKPOINT_DELAY="2.5"), capture_output=True, text=True, timeout=300)
same = p.returncode == 0 and os.path.exists(out) and results(out) == results(reference)
ok(same, f"checkpoint writes of 2.5 s against --peer-timeout 1: exit {p.returncode}, bit-identical")
ok("was lost" not in p.stderr and "giving up" not in p.stderr, "no rank lost or given up")
if not same or "was lost" in p.stderr:
    print(p.stderr[-3000:])
ok.exit()
