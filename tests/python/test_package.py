"""pytest for the tally Python package: the docs/python.md session runs as written,
Results reads real files exactly and refuses what is not a valid tally file."""
import doctest
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(SOURCE, "python"))
import tally  # noqa: E402
from tally.results import FormatError  # noqa: E402

TALLY = os.environ.get("TALLY_BIN")
pytestmark = pytest.mark.skipif(not TALLY, reason="TALLY_BIN is not set (run through ctest)")


@pytest.fixture
def run_h5(tmp_path):
    out = tmp_path / "run.h5"
    subprocess.run([TALLY, "run", "--tasks", "4", "--samples", "100000", "--seed", "7", "--output", str(out), "-q"],
                   check=True)
    return out


@pytest.fixture
def sweep(tmp_path):
    """The sweep of docs/python.md: four complete runs and one stopped at a checkpoint."""
    os.makedirs(tmp_path / "sweep")
    for seed in (1, 2, 3, 4):
        subprocess.run([TALLY, "run", "--tasks", "4", "--samples", "100000", "--seed", str(seed), "-o",
                        str(tmp_path / "sweep" / f"seed-{seed}.h5"), "-q"], check=True, timeout=120)
    p = subprocess.run([TALLY, "run", "--tasks", "4", "--samples", "10000000000", "--seed", "5", "--max-seconds",
                        "0.2", "-o", str(tmp_path / "sweep" / "seed-5.h5"), "-q"], timeout=120)
    assert p.returncode == 85 and (tmp_path / "sweep" / "seed-5.h5.ckpt").exists()
    return tmp_path / "sweep"


def test_docs_session_runs(run_h5, sweep, tmp_path, monkeypatch):
    text = open(os.path.join(SOURCE, "docs", "python.md")).read()
    session = "".join(re.findall(r"```python\n(.*?)```", text, re.S))  # every python block, in order
    os.makedirs(tmp_path / "docs")
    shutil.copy(os.path.join(SOURCE, "docs", "python.md"), tmp_path / "docs" / "python.md")
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(session, {}, "docs/python.md", "docs/python.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL)
    runner.run(test)
    assert runner.failures == 0 and test.examples


@pytest.mark.skipif(not os.environ.get("TALLY_BUILD_DIR"), reason="TALLY_BUILD_DIR is not set (run through ctest)")
def test_installed_package_runs_the_docs_session(run_h5, sweep, tmp_path):
    """After `cmake --install`, the PYTHONPATH docs/python.md names imports the installed
    package (not the source tree's) and the session of that page runs with it."""
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", os.environ["TALLY_BUILD_DIR"], "--prefix", str(prefix)], check=True,
                   capture_output=True)
    package = prefix / "share" / "tally" / "python"
    code = ("import doctest, re, sys, tally\n"
            "assert tally.__file__.startswith(sys.argv[2]), tally.__file__\n"
            "text = open(sys.argv[1]).read()\n"
            "session = ''.join(re.findall(r'```python\\n(.*?)```', text, re.S))\n"
            "test = doctest.DocTestParser().get_doctest(session, {}, 'python.md', 'python.md', 0)\n"
            "runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL)\n"
            "runner.run(test)\n"
            "sys.exit(1 if runner.failures or not test.examples else 0)\n")
    os.makedirs(tmp_path / "docs")
    shutil.copy(prefix / "share" / "doc" / "tally" / "python.md", tmp_path / "docs" / "python.md")
    env = dict(os.environ, PYTHONPATH=str(package))
    p = subprocess.run([sys.executable, "-c", code, "docs/python.md", str(package)], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_exact_sums_match_inspect(run_h5):
    import json
    ins = json.loads(subprocess.run([TALLY, "inspect", str(run_h5), "--json"], capture_output=True, text=True,
                                    check=True).stdout)
    r = tally.Results(run_h5)
    assert r.task_sums == ins["task_sums"] and r.total == ins["total"] and r.count == ins["count"]
    assert abs(r.z_score() - ins["z_score"]) < 1e-9
    assert r.provenance["git_commit"] == ins["provenance"]["git_commit"]
    assert "tally.Results" in repr(r) and str(r.total) in repr(r)


def test_refuses_other_hdf5_files(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(FormatError, match="not a tally file"):
        tally.Results(other)
    with pytest.raises(FormatError, match="does not exist"):
        tally.Results(tmp_path / "missing.h5")


def test_refuses_tampered_and_huge_claims(run_h5, tmp_path):
    bad = tmp_path / "bad.h5"
    shutil.copy(run_h5, bad)
    with h5py.File(bad, "r+") as f:
        f.attrs.modify("tasks", 1 << 28)  # a crafted claim: 2^28 tasks in a few kB
    with pytest.raises(FormatError):
        tally.Results(bad).validate()
    shutil.copy(run_h5, bad)
    with h5py.File(bad, "r+") as f:
        d = f["tasks/sum"]
        v = d[()]
        v[0]["lo"] += 1
        d[...] = v
    with pytest.raises(FormatError, match="chunks and tail"):
        tally.Results(bad).validate()


def test_checkpoint_seal_is_checked(tmp_path):
    pytest.importorskip("xxhash")
    src = os.path.join(SOURCE, "tests", "data", "v1-checkpoint-fast.ckpt")
    good = tally.Results(src)
    assert good.validate()["seal"].startswith("XXH3-128")
    assert good.filetype == "tally-checkpoint" and good.status == "partial"
    flipped = tmp_path / "flipped.ckpt"
    data = bytearray(open(src, "rb").read())
    data[len(data) // 2] ^= 0x10
    flipped.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="seal"):
        tally.Results(flipped).validate()


def test_reference_refuses_what_tally_refuses():
    with pytest.raises(ValueError):
        tally.reference.run(0, 10, 1, 100)
    with pytest.raises(ValueError):
        tally.reference.run(2, 1 << 62, 1, 100)
    with pytest.raises(ValueError):
        tally.reference.run(1, 10, 5, 4)


def test_exact_z_far_from_zero():
    from fractions import Fraction
    lo, hi, n = 2**50, 2**50 + 1, 4094
    total = n * lo + 2100  # 2100 highs of 4094
    deviation = Fraction(total) - Fraction(n * (lo + hi), 2)    # span 2: variance n·(2²−1)/12
    exact = float(deviation) / float(Fraction(n * 3, 12)) ** 0.5
    assert abs(tally.z_score(total, n, lo, hi) - exact) < 1e-12


@pytest.mark.parametrize("lo,hi", [(2**50, 2**50 + 1), (2**50, 2**50), (-(2**63), 2**63 - 1), (2**63 - 2, 2**63 - 1),
                                   (-(2**63), -(2**63) + 2), (-(2**50) - 7, -(2**50)), (1, 100)])
def test_z_and_expected_exact_at_extremes(lo, hi):
    """tally.stats against Fractions for sums a float could not hold (2^50·n, 2^63·n)."""
    from fractions import Fraction
    import random
    rng = random.Random(lo ^ hi)
    for n in (1, 2, 2047, 10**12, 2**62):
        s = hi - lo + 1
        sd = Fraction(n * (s * s - 1), 12)
        total = n * lo + rng.randrange(n * (s - 1) + 1)     # any reachable total
        mean = Fraction(n * (lo + hi), 2)
        assert tally.stats.expected_total(lo, hi, n) == mean
        exact = 0.0
        if s > 1:  # z = dev/sqrt(var): the correctly rounded dev²/var, then its root
            z2 = (Fraction(total) - mean) ** 2 / sd
            exact = (1 if total >= mean else -1) * float(z2) ** 0.5
        assert abs(tally.z_score(total, n, lo, hi) - exact) <= 1e-15 * max(1.0, abs(exact))


def test_results_z_scores_exact_far_from_zero(tmp_path):
    from fractions import Fraction
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import tallyfile
    lo, hi = 1125899906855555, 1125899906855556  # the case: float statistics said z = 16
    path = tmp_path / "far.h5"
    tallyfile.build(path, tasks=2, samples=2047, lo=lo, hi=hi, seed=2, chunk=512)
    r = tally.Results(path)
    for s, n, z in zip(r.task_sums + [r.total], r.task_counts + [r.count], r.z_scores() + [r.z_score()]):
        z2 = (Fraction(s) - Fraction(n * (lo + hi), 2)) ** 2 / Fraction(n * 3, 12)
        assert abs(abs(z) - float(z2) ** 0.5) < 1e-12 and abs(z) < 6
