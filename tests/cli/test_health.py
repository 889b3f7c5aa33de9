"""labelcli health: the JSON summary (--out, --format json, --out -) and the --fail-above gate.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import DIGIT_NAMES as NAMES
from tests.conftest import cli_ok, run_cli
from tests.conftest import SAMPLE_CSV2 as CSV2
from tests.conftest import SAMPLE_NPY as NPY


def test_health_out_json_and_format_json(tmp_path):
    out = tmp_path / "health.json"
    r = cli_ok("health", *CSV2, "--out", out, "--format", "json")
    doc = json.loads(out.read_text())
    for key in ("health_score", "estimated_noise_rate", "per_class", "overlapping_pairs", "noise_matrix"):
        assert key in doc, key
    assert json.loads(r.stdout) == doc
    assert doc["health_score"] == pytest.approx(1 - doc["estimated_noise_rate"])
    assert 0.03 < doc["estimated_noise_rate"] < 0.08  # 5.0% planted
    assert [c["class"] for c in doc["per_class"]] == NAMES
    assert sum(c["examples"] for c in doc["per_class"]) == 1797
    nm = np.array(doc["noise_matrix"])
    assert nm.shape == (10, 10)
    np.testing.assert_allclose(nm.sum(axis=0), 1.0, atol=1e-6)  # P(given | true) columns
    pairs = doc["overlapping_pairs"]
    assert pairs and {"class_a", "class_b", "joint_probability"} <= set(pairs[0])
    assert [p["joint_probability"] for p in pairs] == sorted((p["joint_probability"] for p in pairs), reverse=True)
    assert "label health score" in r.stderr


def test_health_out_dash_prints_json(tmp_path):
    r = cli_ok("health", *NPY, "-q", "--out", "-")
    doc = json.loads(r.stdout)
    assert doc["classes"] == [str(i) for i in range(10)]


def test_health_fail_above_gate():
    r = run_cli("health", *CSV2, "--fail-above", 0.01)
    assert r.code == 1
    assert "Gate failed" in r.stderr and "--fail-above 0.01" in r.stderr
    quiet = run_cli("health", *CSV2, "--fail-above", 0.01, "-q")
    assert quiet.code == 1 and "--fail-above 0.01" in quiet.stderr
    assert run_cli("health", *CSV2, "--fail-above", 0.5, "-q").code == 0
