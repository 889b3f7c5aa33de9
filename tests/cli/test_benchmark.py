"""labelcli benchmark (issue #14 item 7): a find-issues or score table checked against known errors
or true labels, with the metric functions the accuracy benchmark uses (labelcli.ml.ranking_metrics)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelcli.ml import ranking_metrics as rm
from tests.conftest import SAMPLE, cli_ok, run_cli
from tests.conftest import SAMPLE_NPY as NPY

KEYS = {"precision", "recall", "f1", "ap", "ap_at_t", "recall_at_k", "n_errors", "n_flagged"}
ERR = str(SAMPLE / "digits_is_error.npy")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    cli_ok("find-issues", *NPY, "-q", "--out", d / "issues.csv")
    cli_ok("score", *NPY, "-q", "--out", d / "scores.csv")
    return d


def test_find_issues_table_against_errors(tables):
    out = tables / "m.json"
    r = cli_ok("benchmark", "--issues", tables / "issues.csv", "--truth", ERR, "--out", out, "--format", "json")
    doc = json.loads(out.read_text())
    assert KEYS <= set(doc) and json.loads(r.stdout) == doc
    t = pd.read_csv(tables / "issues.csv")
    truth = np.load(ERR)
    flagged = t["index"][t["is_label_issue"]].to_numpy()
    assert doc["n_flagged"] == len(flagged) and doc["n_errors"] == int(truth.sum())
    assert doc["precision"] == pytest.approx(truth[flagged].mean())
    assert doc["recall"] == pytest.approx(truth[flagged].sum() / truth.sum())
    scores = np.full(len(truth), np.inf)
    scores[t["index"]] = t["label_score"]
    assert doc["ap"] == pytest.approx(rm.average_precision(scores, truth))
    assert 0 < doc["ap_at_t"] <= doc["ap"] + 1e-12 <= 1 + 1e-12


def test_true_labels_equal_error_flags_on_a_full_table(tables):
    a = json.loads(cli_ok("benchmark", "-i", tables / "scores.csv", "-t", ERR, "--format", "json").stdout)
    b = json.loads(cli_ok("benchmark", "-i", tables / "scores.csv", "-t", SAMPLE / "digits_true_labels.npy",
                          "--format", "json").stdout)
    for key in KEYS:
        assert a[key] == b[key], key
    assert a["n_flagged"] == a["n_errors"] and "no is_label_issue column" in a["flagged_by"]


def test_true_labels_need_a_full_table(tables):
    r = run_cli("benchmark", "-i", tables / "issues.csv", "-t", SAMPLE / "digits_true_labels.npy", "-q")
    assert r.code == 2 and "digits_true_labels.npy" in r.stderr and "--all" in r.stderr


def test_plot_and_text(tables):
    png = tables / "pr.png"
    r = cli_ok("benchmark", "-i", tables / "issues.csv", "-t", ERR, "--plot", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "AP@T" in r.stderr and "precision-recall curve written" in r.stderr


def test_multilabel_truth_per_example(tmp_path):
    ml = ["-l", SAMPLE / "digits_tags.npy", "-p", SAMPLE / "digits_tag_pred_probs.npy"]
    cli_ok("find-issues", *ml, "-q", "--out", tmp_path / "ml.csv")
    doc = json.loads(cli_ok("benchmark", "-i", tmp_path / "ml.csv", "-t", SAMPLE / "digits_tag_is_error.npy",
                            "--format", "json").stdout)
    assert doc["n_errors"] == int(np.load(SAMPLE / "digits_tag_is_error.npy").sum()) and doc["ap"] > 0.3


def test_average_precision_at_hand_example():
    scores = np.array([0.1, 0.5, 0.2, 0.9, 0.3])  # ranking 0, 2, 4, 1, 3; hits 1 0 1 0 1
    truth = np.array([1, 0, 0, 1, 1], dtype=bool)
    assert rm.average_precision_at(scores, truth) == pytest.approx((1 + 2 / 3) / 3)  # T = 3
    assert rm.average_precision_at(scores, truth, 5) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)


def test_index_outside_truth_is_refused(tmp_path):
    pd.DataFrame({"index": [0, 5], "label_score": [0.1, 0.2]}).to_csv(tmp_path / "t.csv", index=False)
    np.save(tmp_path / "e.npy", np.array([True, False, False]))
    r = run_cli("benchmark", "-i", tmp_path / "t.csv", "-t", tmp_path / "e.npy", "-q")
    assert r.code == 2 and "t.csv" in r.stderr
