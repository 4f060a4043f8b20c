"""Option parsing, the same way for every option (issue 13.I): integers are decimal
(CLI11 alone reads --samples 010 as octal 8), numbers of seconds finite and bounded,
--threads 1..4096, out-of-range values reported as typed, ledger advice that can be
followed, enumerated options checked by CLI11 and listed in --help. Every refusal is
one stderr line and exit 2. Runs the real binary."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TALLY = os.path.abspath(os.environ.get("TALLY_BIN") or sys.exit("TALLY_BIN is not set (run through ctest)"))
work = tempfile.mkdtemp(prefix="tally-cli-options-")
failures = []


def tally(*args, timeout=60):
    return subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=timeout, cwd=work)


def expect(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}")
    if not ok:
        failures.append(name)


def run_json(*args):
    small = [x for opt, value in (("--tasks", "2"), ("--samples", "1000")) if opt not in args for x in (opt, value)]
    p = tally("run", *small, "--output", "x.h5", "--force", "--json", *args)
    if p.returncode != 0:
        return None, p
    return json.loads(p.stdout), p


def refused(name, args, *needles, sub="run"):
    """Exit 2, exactly one stderr line, which names the option and what was typed."""
    p = tally("run", "--output", "never.h5", "--quiet", *args) if sub == "run" else tally(*args)
    lines = p.stderr.strip().splitlines()
    ok = p.returncode == 2 and len(lines) == 1 and all(n in lines[0] for n in needles)
    expect(name, ok, f"exit {p.returncode}, stderr {p.stderr.strip()!r}, wanted {needles}")
    expect(f"{name}: nothing written", not os.path.exists(os.path.join(work, "never.h5")))


# Decimal everywhere: what --seed always did, --samples/--tasks/--chunk/--threads now do.
d, p = run_json("--samples", "010", "--tasks", "02", "--seed", "010", "--threads", "01")
expect("--samples 010 is ten, --tasks 02 two, --seed 010 ten",
       d is not None and (d["samples"], d["tasks"], d["seed"], d["threads"]) == (10, 2, "10", 1),
       str(d and (d["samples"], d["tasks"], d["seed"], d["threads"])) + p.stderr)
refused("--samples 0x10 (hex is only documented for --seed)", ["--samples", "0x10"], "--samples", "'0x10'")
refused("--chunk 1e6", ["--chunk", "1e6"], "--chunk", "'1e6'")
refused("--samples -5", ["--samples", "-5"], "--samples", "'-5'")
d, _ = run_json("--seed", "0x10")
expect("--seed 0x10 is sixteen (documented)", d is not None and d["seed"] == "16")

# Out of range: reported as typed, not as a product of a saturated value.
refused("--samples 99999999999999999999", ["--samples", "99999999999999999999"], "--samples",
        "'99999999999999999999'")
refused("--tasks 2^63", ["--tasks", "9223372036854775808"], "--tasks", "'9223372036854775808'")

# --threads: 1 to 4096, as the message says.
refused("--threads 0", ["--threads", "0"], "--threads", "1 to 4096", "'0'")
refused("--threads 4097", ["--threads", "4097"], "--threads", "'4097'")
refused("verify --threads 0", ["verify", "x.h5", "--threads", "0"], "--threads", sub="")

# Seconds: finite and bounded.
for option in ("--peer-timeout", "--max-seconds", "--checkpoint-every", "--progress-interval"):
    for bad in ("nan", "inf", "-inf", "-1", "0x10", "1e99"):
        refused(f"{option} {bad}", [option, bad], option, f"'{bad}'")
refused("--progress-interval 0.01 (below 0.1 s)", ["--progress-interval", "0.01"], "--progress-interval")
refused("--peer-timeout 0", ["--peer-timeout", "0"], "--peer-timeout")
refused("verify --z-limit nan", ["verify", "x.h5", "--z-limit", "nan"], "--z-limit", sub="")
refused("verify --chunks -1", ["verify", "x.h5", "--chunks", "-1"], "--chunks", "'-1'", sub="")
d, p = run_json("--max-seconds", "0", "--checkpoint-every", "0", "--peer-timeout", "0.5", "--progress-interval", "0.1")
expect("0 = no limit / only when stopping; small finite values accepted", d is not None and d["status"] == "complete",
       p.stderr)

# Ledger advice that can be followed.
p = tally("run", "--tasks", "300000000", "--samples", "1", "--quiet", "--output", "never.h5")
expect("--tasks beyond 2^28: no --chunk advice (no chunk can help)",
       p.returncode == 2 and "--chunk" not in p.stderr and "tasks" in p.stderr, p.stderr)
tasks, samples = 1000, 10**11
p = tally("run", "--tasks", str(tasks), "--samples", str(samples), "--chunk", "4", "--quiet", "--output", "never.h5")
advice = p.stderr.split("--chunk ")[-1].split()[0] if "--chunk " in p.stderr else ""
expect("too many chunks: advice names a chunk", p.returncode == 2 and advice.isdigit(), p.stderr)
if advice.isdigit():
    chunk = int(advice)
    chunks = lambda c: tasks * -(-samples // c)  # noqa: E731  (the ledger rule, docs/cli.md)
    expect("the advised chunk fits the ledger and one less would not",
           chunks(chunk) <= 1 << 28 < chunks(chunk - 1), f"chunk {chunk}")
    # (Not run: any accepted chunk this close to the limit means a ledger of ~2^28 chunks.)

# Enumerated options: CLI11's IsMember refuses other words and --help lists the words.
refused("--stream mt19937", ["--stream", "mt19937"], "--stream", "mt19937", "{fast,numpy}")
refused("--resume sometimes", ["--resume", "sometimes"], "--resume", "{auto,require,never}")
refused("--file-locking maybe", ["--file-locking", "maybe"], "--file-locking", "{on,off,best-effort}")
refused("inspect --file-locking maybe", ["inspect", "x.h5", "--file-locking", "maybe"], "{on,off,best-effort}", sub="")
help_text = tally("run", "--help").stdout
for listed in ("{fast,numpy}", "{auto,require,never}", "{on,off,best-effort}", "1 to 4096"):
    expect(f"run --help lists {listed}", listed in help_text)
for sub in ("inspect", "verify"):
    expect(f"{sub} --help lists the locking choices", "{on,off,best-effort}" in tally(sub, "--help").stdout)
d, _ = run_json("--stream", "numpy", "--file-locking", "off", "--resume", "never")
expect("the words still select what they name", d is not None and d["stream"] == "numpy")

print(f"{len(failures)} failure(s)" if failures else "all option checks passed")
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failures else 0)
