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


def test_docs_session_runs(run_h5, tmp_path, monkeypatch):
    text = open(os.path.join(SOURCE, "docs", "python.md")).read()
    session = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    os.makedirs(tmp_path / "docs")
    shutil.copy(os.path.join(SOURCE, "docs", "python.md"), tmp_path / "docs" / "python.md")
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(session, {}, "docs/python.md", "docs/python.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL)
    runner.run(test)
    assert runner.failures == 0


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
        tally.Results(bad)
    shutil.copy(run_h5, bad)
    with h5py.File(bad, "r+") as f:
        d = f["tasks/sum"]
        v = d[()]
        v[0]["lo"] += 1
        d[...] = v
    with pytest.raises(FormatError, match="chunks and tail"):
        tally.Results(bad)


def test_checkpoint_seal_is_checked(tmp_path):
    pytest.importorskip("xxhash")
    src = os.path.join(SOURCE, "tests", "data", "v1-checkpoint-fast.ckpt")
    good = tally.Results(src)
    assert good.filetype == "tally-checkpoint" and good.status == "partial"
    flipped = tmp_path / "flipped.ckpt"
    data = bytearray(open(src, "rb").read())
    data[len(data) // 2] ^= 0x10
    flipped.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="seal"):
        tally.Results(flipped)


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
