"""Smoke test of the accuracy benchmark (bench/accuracy): `--quick` on one tiny planted problem and,
when ../shared/data is present, one label-errors set; checks the report and the JSON."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LABEL_ERRORS = ROOT.parent / "shared" / "data" / "label-errors" / "mnist"


def test_quick_run_writes_report_and_json(tmp_path):
    pytest.importorskip("cleanlab")  # the benchmark runs cleanlab beside labelcli
    benchmarks = ["planted"] + (["label-errors"] if LABEL_ERRORS.is_dir() else [])
    md, js = tmp_path / "ACCURACY.md", tmp_path / "results.json"
    env = {**os.environ, "ACCURACY_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "bench.accuracy", "--smoke", "--quiet", "--benchmarks", ",".join(benchmarks),
           "--methods", "cleanlab,labelcli,labelcli-compat,cleanlab[confident_learning]", "--out", str(md), "--json", str(js)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr

    doc = json.loads(js.read_text())
    recs = doc["records"]
    assert {r["method"] for r in recs} == {"cleanlab", "labelcli", "labelcli-compat", "cleanlab[confident_learning]"}
    assert {r["benchmark"] for r in recs} == set(benchmarks)
    assert not [r for r in recs if "error" in r]
    for r in recs:
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and 0 <= r["ap"] <= 1
    planted = [r for r in recs if r["benchmark"] == "planted"]
    assert all(r["errors"] == 30 and r["n"] == 150 for r in planted)  # iris, 20% planted
    # compat mode (or its fallback) reproduces cleanlab's default mask, so the same figures.
    by = {r["method"]: r for r in planted}
    assert by["labelcli-compat"]["f1"] == pytest.approx(by["cleanlab"]["f1"])
    if "label-errors" in benchmarks:
        le = [r for r in recs if r["benchmark"] == "label-errors"]
        assert all(r["recall_at_k"] is not None for r in le)

    text = md.read_text()
    assert "## Targets" in text and "### planted" in text and doc["command"] in text
    assert f"cleanlab {doc['machine']['cleanlab']}" in text  # the machine line
    assert proc.stdout.strip().startswith("# Accuracy benchmark")
