"""The docs cannot drift: (1) docs/cli.md lists exactly the options that `tally run
--help`, `tally inspect --help` and `tally verify --help` print, with the defaults
they print; (2) no link or path in README.md or docs/*.md leaves the repository (a
user's clone has nothing outside it); (3) every repository file or folder a page names
(`scripts/x`, `tests/x`, `docs/x`, `src/x`, `jobs/x`, …) exists."""
import glob
import os
import re
import subprocess
import sys

TALLY = os.environ.get("TALLY_BIN") or sys.exit("TALLY_BIN is not set (run through ctest)")
root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
pages = [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md")))
failures = []


def expect(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}")
    if not ok:
        failures.append(name)


# 1. docs/cli.md against --help --------------------------------------------------
def help_options(sub):
    """{option: default or None} from CLI11's help: '  --name[,-x] TYPE[:check][=default]  text'."""
    text = subprocess.run([TALLY, sub, "--help"], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in text.split("Options:", 1)[1].splitlines():
        m = re.match(r"\s{2}((?:-{1,2}[\w-]+,?)+)(?: ((?:\S| (?! ))+))?", line)
        if not m:
            continue
        names = [n for n in m.group(1).split(",") if n.startswith("--") and n != "--help"]
        if not names:
            continue
        kind = m.group(2) or ""
        default = kind.rsplit("=", 1)[1].split(" ")[0] if "=" in kind else None  # CLI11 may leave one space
        found[names[0]] = default
    return found


def doc_options(sub):
    """{option: default cell} from the table under '## `tally SUB`' in docs/cli.md."""
    text = open(os.path.join(root, "docs", "cli.md"), encoding="utf-8").read()
    m = re.search(rf"^## `tally {sub}[^`]*`\n(.*?)(?=^## )", text + "\n## end", re.S | re.M)
    if not m:
        return None
    found = {}
    for row in re.findall(r"^\|(.*)\|\s*$", m.group(1), re.M):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)]
        for name in re.findall(r"`(--[\w-]+)", cells[0]):
            found[name] = cells[1] if len(cells) > 1 else ""
    return found


for sub in ("run", "inspect", "verify"):
    want, have = help_options(sub), doc_options(sub)
    expect(f"docs/cli.md has a '## `tally {sub}`' table", have is not None)
    if have is None:
        continue
    missing, stale = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    expect(f"docs/cli.md lists every `tally {sub}` option", not missing, missing)
    expect(f"docs/cli.md lists no option `tally {sub}` lacks", not stale, stale)
    for name in sorted(set(want) & set(have)):
        if want[name] is not None:
            cell = have[name].replace("`", "")
            expect(f"{sub} {name}: default {want[name]} as --help says", re.search(
                rf"(?<![\w.]){re.escape(want[name])}(?![\w.])", cell) is not None, f"docs say {have[name]!r}")

# 2 and 3. Links and named paths ---------------------------------------------------
link = re.compile(r"\]\(([^)\s]+)\)")                       # [text](target)
url = re.compile(r"\b(?:https?|ftp)://\S+")
relative = re.compile(r"(?<![\w./-])((?:\.\./)+[\w.{},*/-]+)")  # ../x, ../../x
named = re.compile(r"(?<![\w./$~-])((?:scripts|tests|docs|src|jobs|bench|python|cmake)/[\w.{},*/+-]*[\w*}/])")


def expand(path):
    """a/{b,c}.d -> a/b.d, a/c.d (as docs write pairs of files)."""
    m = re.search(r"\{([^{}]*)\}", path)
    if not m:
        return [path]
    return [p for part in m.group(1).split(",") for p in expand(path[:m.start()] + part + path[m.end():])]


def exists(path):
    return any(glob.glob(os.path.join(root, p)) for p in expand(path))


for page in pages:
    name = os.path.relpath(page, root)
    text = open(page, encoding="utf-8").read()
    here = os.path.dirname(page)
    outside, absent = [], []
    for target in url.findall(text):
        outside.append(target)
    for target in link.findall(text):
        if target.startswith("#") or url.match(target):
            continue
        path = os.path.realpath(os.path.join(here, target.split("#")[0]))
        if not (path == root or path.startswith(root + os.sep)):
            outside.append(target)
        elif not os.path.exists(path):
            absent.append(target)
    for target in relative.findall(text):
        # Read from the page's folder or from the repository root, it must stay inside
        # and exist (docs/../shared/x is inside but absent: it meant a folder outside).
        target = target.rstrip(".,;:")
        paths = [os.path.realpath(os.path.join(base, target)) for base in (here, root)]
        if not any(os.path.exists(p) and p.startswith(root + os.sep) for p in paths):
            outside.append(target)
    for target in set(named.findall(text)):
        target = target.rstrip(".,;:")
        if not exists(target):
            absent.append(target)
    expect(f"{name}: no link or path leaves the repository", not outside, outside)
    expect(f"{name}: every file it names exists", not absent, sorted(set(absent)))

print(f"{len(failures)} failure(s)" if failures else "docs match the binary and the tree")
sys.exit(1 if failures else 0)
