"""report on a `fix` output: its health figures are those of the rows the fix kept, the same as
`health` gives on that file (they once came from every row, dropped ones included: health score
0.949 in the report against 1.000 from health on the same labels)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLE, SAMPLE_NPY, cli_ok

pytest.importorskip("matplotlib")


def test_report_health_figures_match_health_on_a_fix_output(tmp_path, default_issues_csv):
    fixed = tmp_path / "fixed.csv"
    cli_ok("fix", "-l", SAMPLE / "digits_labels.npy", "--issues", default_issues_csv, "--auto", "drop",
           "--out", fixed, "-q")
    probs = ["-p", SAMPLE / "digits_pred_probs.npy"]
    health = json.loads(cli_ok("health", "-l", fixed, *probs, "--format", "json", "-q").stdout)
    report = json.loads(cli_ok("report", "-l", fixed, *probs, "--out", tmp_path / "rep", "--format", "json",
                               "-q").stdout)
    assert report["num_examples"] == health["num_examples"] < 1797
    assert report["health_score"] == health["health_score"]
    assert report["estimated_noise_rate"] == health["estimated_noise_rate"]
    whole = json.loads(cli_ok("report", *SAMPLE_NPY, "--out", tmp_path / "rep0", "--format", "json", "-q").stdout)
    assert whole["num_examples"] == 1797  # without a fix, every row
