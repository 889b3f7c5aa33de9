"""Health figures that add up (issue #14 item 5): the headline's estimated issues (rows counted off
the confident joint's diagonal) and the per-class issues (the calibrated joint's off-diagonal mass)
are two named figures; where they differ, the terminal, the JSON and the HTML report say both and why."""
from __future__ import annotations

import json

import numpy as np

from labelcli.core.health import health_summary
from tests.conftest import SAMPLE_NPY as NPY
from tests.conftest import cli_ok


def test_summary_names_both_figures(sample_labels, sample_pred_probs):
    s = health_summary(sample_labels, sample_pred_probs)
    assert s.class_issues_total == int(s.class_issues.sum())
    assert s.num_issues != s.class_issues_total  # digits: 91 vs 111
    note = s.issues_note()
    assert f"sum to {s.class_issues_total:,}" in note and f"the {s.num_issues:,} estimated issues" in note


def test_summary_no_note_when_they_agree():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    p = np.full((150, 3), 0.05)
    p[np.arange(150), y] = 0.9
    s = health_summary(y, p)
    assert s.num_issues == s.class_issues_total == 0 and s.issues_note() is None
    assert rng is not None


def test_json_and_terminal_explain_the_difference(tmp_path):
    out = tmp_path / "h.json"
    r = cli_ok("health", *NPY, "--out", out)
    doc = json.loads(out.read_text())
    total = sum(c["estimated_issues"] for c in doc["per_class"])
    assert doc["per_class_estimated_issues_total"] == total != doc["estimated_num_issues"]
    assert str(total) in doc["issues_note"] and str(doc["estimated_num_issues"]) in doc["issues_note"]
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("note: per-class issues sum to")]
    assert len(notes) == 1 and f"sum to {total}" in notes[0]


def test_html_report_explains_the_difference(tmp_path):
    out = tmp_path / "report"
    cli_ok("report", *NPY, "-q", "--out", out)
    html = (out / "index.html").read_text()
    assert "per-class issues sum to 111" in html and "91 estimated issues" in html
