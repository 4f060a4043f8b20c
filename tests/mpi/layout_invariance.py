"""Per-task sums, the total and every chunk sum are bit-identical for every layout:
ranks 1…4 (oversubscribed) × threads 1…4 × several chunk sizes, and equal to the
single-process run without MPI."""
import itertools
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from tallytest import TALLY, check, mpi_command, results, scratch, tally_json  # noqa: E402

stream = sys.argv[1] if len(sys.argv) > 1 else "fast"
workload = ["--tasks", "5", "--samples", "300007", "--range", "-7:93", "--seed", "0x1234567890abcdef1234",
            "--stream", stream, "--quiet", "--force"]
work = scratch("layout")
failures = 0
for chunk in (65536, 99991, 1048576):
    base_file = os.path.join(work, f"single-{chunk}.h5")
    single = tally_json([TALLY, "run", *workload, "--chunk", str(chunk), "--threads", "1", "--output", base_file])
    check(single["ranks"] == 1, "the single-process run must not use MPI")
    reference = results(base_file)
    for ranks, threads in itertools.product((1, 2, 3, 4), (1, 2, 4)):
        out = os.path.join(work, f"np{ranks}-t{threads}-{chunk}.h5")
        got = tally_json(mpi_command(ranks, ["run", *workload, "--chunk", str(chunk), "--output", out], threads))
        label = f"{stream} chunk={chunk} np={ranks} threads={threads}"
        check(got["ranks"] == ranks, f"{label}: file says {got['ranks']} ranks")
        if got["task_sums"] != single["task_sums"] or got["total"] != single["total"]:
            print(f"FAIL {label}: task sums {got['task_sums']} != {single['task_sums']}")
            failures += 1
        if results(out) != reference:
            print(f"FAIL {label}: results file differs from the single-process one")
            failures += 1
        else:
            print(f"ok   {label}: total {got['total']}")
    if chunk != 65536:
        check(single["task_sums"] == first_sums, f"{stream}: chunk {chunk} changed the task sums")
    else:
        first_sums = single["task_sums"]
sys.exit(1 if failures else 0)
