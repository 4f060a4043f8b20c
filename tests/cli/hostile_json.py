"""Every JSON tally prints is valid JSON whatever the paths hold: `run --json`,
`inspect --json`, `verify --json` and the progress lines, with output names holding
quotes, backslashes, control characters, a newline, the old writer's marker and bytes
that are not UTF-8 (those become U+FFFD, docs/cli.md). Sums past 2^64 either way are
exact JSON numbers, equal to the NumPy reference of docs/streams.md. Parsed by
Python's json module from strictly decoded UTF-8."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
from tally import reference  # noqa: E402

TALLY = os.path.abspath(os.environ.get("TALLY_BIN") or sys.exit("TALLY_BIN is not set (run through ctest)"))
work = tempfile.mkdtemp(prefix="tally-cli-json-").encode()
failures = []


def expect(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)[-600:]}")
    if not ok:
        failures.append(name)


def tally(*args, timeout=120):
    return subprocess.run([TALLY.encode(), *[a if isinstance(a, bytes) else str(a).encode() for a in args]],
                          capture_output=True, timeout=timeout, cwd=work)


def parse(raw, what):
    """One JSON document per line, from bytes that must be valid UTF-8."""
    try:
        return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        expect(f"{what} parses", False, f"{e}: {raw[:300]!r}")
        return None


hostile = [b'q"uote.h5', b"back\\slash\\.h5", b"tab\there.h5", b"ctl\x01\x1f\x7f.h5", b"new\nline.h5",
           b"\x01tally-int:123.h5", b'"}, {"x": 1.h5', b"caf\xe9-\xff\xfe.h5", b"r\xc3\xa9sultat-\xe2\x9c\x93.h5"]
for name in hostile:
    path = name  # relative (cwd is the scratch directory): the JSON string starts with the name
    shown = path.decode("utf-8", "replace")  # what the JSON must say: invalid bytes as U+FFFD
    p = tally("run", "--tasks", "3", "--samples", "5000", "--chunk", "1000", "--output", path, "--json")
    docs = parse(p.stdout, f"run --json -o {name!r}")
    expect(f"run --json -o {name!r}", p.returncode == 0 and docs and len(docs) == 1 and docs[0]["file"] == shown,
           (p.returncode, docs and docs[0].get("file"), p.stderr))
    p = tally("inspect", path, "--json")
    docs = parse(p.stdout, f"inspect --json {name!r}")
    expect(f"inspect --json {name!r}", p.returncode == 0 and docs and docs[0]["file"] == shown
           and docs[0]["total"] == sum(docs[0]["task_sums"]), (p.returncode, p.stderr))
    p = tally("verify", path, "--json", "--all")
    docs = parse(p.stdout, f"verify --json {name!r}")
    expect(f"verify --json {name!r}", p.returncode == 0 and docs and docs[0]["file"] == shown and docs[0]["passed"],
           (p.returncode, p.stderr))

# Exact integers beyond 64 bits, both signs, against the NumPy reference.
for lo, hi in ((2**63 - 1000, 2**63 - 1), (-2**63, -2**63 + 1000)):
    for stream in ("fast", "numpy"):
        p = tally("run", "--tasks", "3", "--samples", "2000", "--chunk", "500", "--range", f"{lo}:{hi}",
                  "--stream", stream, "--output", f"big-{lo}-{stream}.h5", "--json")
        docs = parse(p.stdout, f"run --json --range {lo}:{hi}")
        want = reference.run(3, 2000, lo, hi, 0, stream, 500)
        ok = p.returncode == 0 and docs and docs[0]["task_sums"] == want["task_sums"] and docs[0]["total"] == want["total"]
        expect(f"{stream} [{lo}, {hi}]: task sums and total (|total| > 2^64) exact, equal to the reference",
               ok and abs(docs[0]["total"]) > 2**64 and all(type(v) is int for v in docs[0]["task_sums"]),
               docs and (docs[0]["total"], want["total"]))
        p = tally("inspect", f"big-{lo}-{stream}.h5", "--json")
        docs = parse(p.stdout, "inspect --json big")
        expect(f"{stream} [{lo}, {hi}]: inspect --json gives the same exact total",
               docs and docs[0]["total"] == want["total"])

# Progress lines on a non-terminal stderr: each one a JSON object.
p = tally("run", "--tasks", "4", "--samples", "400000000", "--threads", "1", "--progress-interval", "0.1",
          "--output", os.path.join(work, hostile[0]), "--force", timeout=300)
lines = [line for line in p.stderr.decode("utf-8").splitlines() if line.startswith("{")]
docs = parse("\n".join(lines).encode(), "progress lines")
expect("progress lines are JSON objects with the documented keys",
       p.returncode == 0 and docs and all(set(d) == {"progress", "done", "total", "numbers_per_second", "eta_seconds",
                                                      "elapsed_seconds"} for d in docs), p.stderr[-400:])
expect("the last progress line says 100 %", docs and docs[-1]["progress"] == 1 and docs[-1]["done"] == 1_600_000_000,
       docs and docs[-1])

print(f"{len(failures)} failure(s)" if failures else "all JSON outputs valid")
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failures else 0)
