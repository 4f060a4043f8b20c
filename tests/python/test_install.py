"""`pip install --no-build-isolation ./python` into a fresh virtual environment that uses
the system's NumPy and h5py (offline: --no-index, Debian's setuptools builds it) gives
`import tally` from the environment and the commands tally-analyze and tally-reference."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
TALLY = os.environ.get("TALLY_BIN")


def test_pip_install_into_a_venv(tmp_path):
    pytest.importorskip("setuptools")
    venv = tmp_path / "venv"
    p = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], capture_output=True,
                       text=True, timeout=300)
    if p.returncode != 0 and "ensurepip" in p.stdout + p.stderr:
        pytest.skip("python3 -m venv cannot make environments with pip here (Debian: python3-venv)")
    assert p.returncode == 0, p.stdout + p.stderr
    # A copy: pip builds in the directory it installs (build/, tally.egg-info/), and the
    # source tree must stay as it is.
    src = tmp_path / "python"
    shutil.copytree(os.path.join(SOURCE, "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", MPLCONFIGDIR=str(tmp_path / "mpl"))
    # --no-deps: Debian registers its h5py as "h5py._debian_h5py_serial", which pip does not
    # count as h5py; the environment sees the system one all the same.
    p = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-index", "--no-build-isolation", "--no-deps",
                        str(src)],
                       capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    shutil.rmtree(src)  # the environment must not need the tree it was installed from
    p = subprocess.run([str(venv / "bin" / "python"), "-c", "import tally, sys; print(tally.__file__); "
                        "print(tally.__version__)"], capture_output=True, text=True, timeout=120, env=env,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    where, version = p.stdout.split()
    assert where.startswith(str(venv)), where
    project = re.search(r"project\(tally VERSION (\S+)", open(os.path.join(SOURCE, "CMakeLists.txt")).read())[1]
    assert version == project

    p = subprocess.run([str(venv / "bin" / "tally-reference"), "--tasks", "2", "--samples", "1000", "--json"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    reference = json.loads(p.stdout)
    p = subprocess.run([str(venv / "bin" / "tally-reference"), "--range", "5:1"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    if not TALLY:
        return
    run = tmp_path / "run.h5"
    subprocess.run([TALLY, "run", "--tasks", "2", "--samples", "1000", "-q", "-o", str(run)], check=True, timeout=120)
    p = subprocess.run([str(venv / "bin" / "tally-analyze"), str(run), "--out", str(tmp_path / "plots"), "--html",
                        str(tmp_path / "r.html"), "--json"], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout)["files"][0]["total"] == reference["total"]
    assert "data:image/png;base64," in (tmp_path / "r.html").read_text()
