"""The example scripts in examples/ (the five jobs of the README), run as a user runs them: bash,
the installed console script first on PATH, a fresh output folder. Each must exit 0, write
something into its folder, and print no traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPTS = sorted((ROOT / "examples").glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_runs(script: Path, tmp_path: Path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = tmp_path / "out"
    run = subprocess.run(["bash", str(script), str(out)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{script.name} exited {run.returncode}:\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert out.is_dir() and any(out.rglob("*")), f"{script.name} wrote nothing into {out}"
