"""`tally-analyze FILE… --html REPORT` writes one self-contained page (no script, nothing
fetched from outside it) that a real browser renders: headless Chromium draws the
figures (non-blank: matplotlib's blue in the screenshot, none without the images) and
its DOM holds every file's exact total. Skipped, with the reason, without Chromium."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(SOURCE, "python"))
import tally  # noqa: E402

TALLY = os.environ.get("TALLY_BIN")
ANALYZE = os.path.join(SOURCE, "scripts", "analyze")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not TALLY, reason="TALLY_BIN is not set (run through ctest)")
BLUE = (31, 119, 180)  # matplotlib's first colour: bars and points of every figure


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Three runs (one with a histogram) through tally-analyze --html."""
    work = tmp_path_factory.mktemp("report")
    files = [work / "hist.h5", work / "seed-1.h5", work / "seed-2.h5"]
    subprocess.run([TALLY, "run", "--tasks", "6", "--samples", "200000", "--chunk", "10000", "--range=-20:80",
                    "--seed", "3", "--histogram", "-q", "-o", str(files[0])], check=True, timeout=120)
    for seed, path in ((1, files[1]), (2, files[2])):
        subprocess.run([TALLY, "run", "--tasks", "4", "--samples", "100000", "--seed", str(seed), "-q", "-o",
                        str(path)], check=True, timeout=120)
    page = work / "report.html"
    env = dict(os.environ, MPLCONFIGDIR=os.environ.get("MPLCONFIGDIR", str(work / "mpl")))
    p = subprocess.run([ANALYZE, *map(str, files), "--out", str(work / "plots"), "--html", str(page)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    totals = [tally.Results(f).total for f in files]
    return page, totals


def test_page_is_self_contained(report):
    page, totals = report
    text = page.read_text()
    assert "<script" not in text.lower() and "<link" not in text.lower() and "url(" not in text
    assert not re.search(r"(https?|ftp)://", text), re.search(r"(https?|ftp)://.{0,40}", text)[0]
    sources = re.findall(r"src='([^']*)'", text)
    # comparison; hist.h5: tasks, chunks, ranks, histogram; the others have no full chunk: tasks, ranks
    assert len(sources) == 1 + 4 + 2 + 2
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    for s in sources:
        assert base64.b64decode(s.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for total in totals:
        assert str(total) in text
    assert "Sweep" in text and "Restart history" in text and "Provenance" in text and "Checks" in text


def _chromium(tmp_path, *args):
    profile = tmp_path / f"profile{len(list(tmp_path.iterdir()))}"  # fresh: no state from another run
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _blue_pixels(png):
    import matplotlib.image
    import numpy as np
    rgb = (matplotlib.image.imread(str(png))[..., :3] * 255).round().astype(int)
    return int((np.abs(rgb - np.array(BLUE)).max(axis=-1) <= 12).sum())


@pytest.mark.skipif(not CHROMIUM, reason="no chromium on PATH (Debian: chromium; scripts/setup installs it)")
def test_chromium_renders_the_figures_and_the_totals(report, tmp_path):
    page, totals = report
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>tally report</h1>" in dom.stdout
    for total in totals:
        assert str(total) in dom.stdout
    shot = tmp_path / "shot.png"
    p = _chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri())
    assert p.returncode == 0 and shot.exists(), p.stderr[-2000:]
    drawn = _blue_pixels(shot)
    # The same page without its images: the blue came from the figures, not from the page's style.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<img [^>]*>", "", page.read_text()))
    bare_shot = tmp_path / "bare.png"
    p = _chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={bare_shot}", bare.as_uri())
    assert p.returncode == 0 and bare_shot.exists(), p.stderr[-2000:]
    assert _blue_pixels(bare_shot) == 0 and drawn > 20000, drawn


def test_repr_html_shows_the_summary(report):
    page, totals = report
    with tally.Results(page.parent / "hist.h5") as r:
        text = r._repr_html_()
    assert text.startswith("<table") and str(totals[0]) in text and "[-20, 80]" in text


def test_analyze_expands_a_glob_into_the_sweep_table(report, tmp_path):
    """A quoted glob: tally-analyze expands it (sorted) and reports the sweep through tally.runs."""
    page, totals = report
    env = dict(os.environ, MPLCONFIGDIR=os.environ.get("MPLCONFIGDIR", str(tmp_path / "mpl")))
    p = subprocess.run([ANALYZE, str(page.parent / "seed-*.h5"), "--out", str(tmp_path / "plots"), "--json"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [os.path.basename(r["file"]) for r in out["sweep"]] == ["seed-1.h5", "seed-2.h5"]
    assert [r["total"] for r in out["sweep"]] == totals[1:] and os.path.exists(out["comparison_plot"])
    p = subprocess.run([ANALYZE, str(page.parent / "none-*.h5"), "--out", str(tmp_path / "plots")],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 2 and "no file matches" in p.stderr and len(p.stderr.strip().splitlines()) == 1
