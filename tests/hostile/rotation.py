"""Hostile timing for checkpoint rotation (issue 13, review 6): a run that checkpoints
continuously is SIGKILLed at 25 seeded random moments, most of them inside a checkpoint
write. After every kill, once a checkpoint has ever been written, the current checkpoint
name must hold a complete generation that passes `tally inspect` (the old rotation
renamed it to .prev before writing the new one, so a kill then left only .prev), and no
more than two generations plus killed temp files may exist, and the next run must resume
from what the kill left. Finally, one run is killed while held between a rotation's link
and rename (src/io/test_hold.hpp, so this state is reached whatever the load): current
and previous are then two names of one file, and the same command completes with the
uninterrupted result and leaves no temp file."""
import math
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fault"))
from faultlib import calibrated_samples  # noqa: E402
from tallytest import Hold, ENV, TALLY, Checklist, results, run, scratch  # noqa: E402

work = scratch("hostile-rotation")
os.chdir(work)
report = Checklist()
seed = int(os.environ.get("TALLY_TEST_SEED", "13"))
rng = random.Random(seed)
print(f"seed {seed} (TALLY_TEST_SEED)", flush=True)



tasks = 16
# About 20 s of one thread in all (25 kills of at most 0.6 s leave work to finish),
# in about 50 000 chunks: a checkpoint of a few MB takes a good share of the
# 0.1 s between checkpoints to write, so many kills land inside a write.
samples = calibrated_samples("fast", tasks, 20.0, work)
chunk = 1 << max(16, round(math.log2(samples * tasks / 50_000)))
workload = ["run", "--tasks", str(tasks), "--samples", str(samples), "--seed", "21", "--quiet", "--threads", "1",
            "--chunk", str(chunk)]
run([TALLY, *workload, "-o", "reference.h5"], timeout=600, check=0)
cmd = [TALLY, *workload, "-o", "r.h5", "--checkpoint-every", "0.1"]
ever = False
bad = 0
mid_write = 0
seen_temps = set()
for trial in range(25):
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(rng.uniform(0.15, 0.6))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    ever = ever or os.path.exists("r.h5.ckpt") or os.path.exists("r.h5.ckpt.prev")
    if proc.returncode == 0:
        break  # finished before the kill: nothing more to test
    if proc.returncode != -signal.SIGKILL:
        bad += 1  # e.g. refused the files an earlier kill left
        print(f"FAIL trial {trial}: exit {proc.returncode} before the kill: {proc.stderr.strip()[-300:]}", flush=True)
    if not ever:
        continue
    temps = {n for n in os.listdir(work) if ".tmp." in n}
    mid_write += bool(temps - seen_temps)  # a new temp file: killed inside a write
    seen_temps |= temps
    current = os.path.exists("r.h5.ckpt") and run([TALLY, "inspect", "r.h5.ckpt"], timeout=60).returncode == 0
    if not current:
        bad += 1
        print(f"FAIL trial {trial}: no loadable current checkpoint; files: {sorted(os.listdir(work))}", flush=True)
# Whatever the random kills hit (on a loaded machine perhaps no write at all), one kill
# lands between a rotation's link and its rename (io/atomic_file.hpp steps 2-3), held
# there (src/io/test_hold.hpp): current and previous are then one file, plus a link temp.
hold = Hold(work, "rotation-link")
proc = subprocess.Popen(cmd, env=dict(ENV, **hold.env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
held = hold.wait_reached(proc)
proc.send_signal(signal.SIGKILL)
proc.communicate(timeout=60)
hold.release()
os.remove(hold.fifo)
one_file = held and os.path.samefile("r.h5.ckpt", "r.h5.ckpt.prev")
ever = ever or one_file
report(one_file, f"killed between a rotation's link and rename: current and previous are one file ({held})")
print(f"{mid_write} kills landed inside a checkpoint write (a temp file was left)", flush=True)
report(ever and bad == 0, f"after every kill the current checkpoint was complete and the next run resumed "
       f"({bad} trials failed)")
done = run(cmd, timeout=600)
left = sorted(n for n in os.listdir(work) if n != "reference.h5" and n != "calibrate.h5")
report(left == ["r.h5"], f"killed runs' temp and lock files are gone after the complete run: {left}")
report(done.returncode == 0 and results("r.h5") == results("reference.h5"),
       f"the same command then completes with the uninterrupted result: exit {done.returncode} "
       f"{done.stderr.strip()[-300:]}")

report.exit()
