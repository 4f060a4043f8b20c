"""Long output names (issue 19, defect 11): every file a run writes takes a temp name
about 40 bytes longer than its own (".<name>.tmp.<host>.<pid>.<16 hex>", the longest
being the previous checkpoint's, "<output>.ckpt.prev"). A name whose temp names do not
fit the directory's NAME_MAX is refused at start (exit 2, one line, nothing written),
never after the whole computation; the longest name accepted writes every generation.
Deterministic: no timing; the refusals are seen before the run takes its lock."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import TALLY, Checklist, results, run, scratch  # noqa: E402

work = scratch("hostile-long-names")
os.chdir(work)
report = Checklist()
# Many chunks on one thread: each start with --max-seconds 0.001 does one batch and stops,
# so the checkpoint rotates (its .prev written through a link temp) on every later start.
workload = ["run", "--tasks", "4", "--samples", "16777216", "--chunk", "65536", "--threads", "1", "--seed", "11",
            "--quiet"]
run([TALLY, *workload, "-o", "reference.h5"], timeout=300, check=0)

name_max = os.pathconf(".", "PC_NAME_MAX")
host = "".join(c if c.isalnum() or c in "-._" else "_" for c in socket.gethostname())[:64] or "host"
# ".<output>.ckpt.prev.tmp.<host>.<7-digit pid>.<16 hex>" must fit NAME_MAX.
longest_ok = name_max - len(f"..ckpt.prev.tmp.{host}.") - 7 - 1 - 16

for length in (216, 230, 245, 246, 250, 255, 256, 300, longest_ok + 1):
    name = "n" * length
    p = run([TALLY, *workload, "-o", name], timeout=120)
    lines = p.stderr.strip().splitlines()
    left = [n for n in os.listdir(work) if n.lstrip(".").startswith("n")]
    report(p.returncode == 2 and len(lines) == 1 and "too long" in p.stderr and not left,
           f"-o of {length} bytes: exit {p.returncode} (2 expected), one line, nothing written ({left[:2]}): "
           f"{p.stderr.strip()[:90]}…")

name = "k" * longest_ok
codes = []
for start in range(200):
    p = run([TALLY, *workload, "-o", name, "--max-seconds", "0.001"], timeout=300)
    codes.append(p.returncode)
    if p.returncode != 85:
        break
report(codes[-1] == 0 and codes.count(85) >= 2 and set(codes) <= {0, 85} and results(name) == results("reference.h5"),
       f"-o of {longest_ok} bytes (the longest this host accepts) checkpoints, rotates and completes exactly: "
       f"{codes.count(85)} stops, then exit {codes[-1]} {p.stderr.strip()[-200:]}")
report.exit()
