"""`evaluate` on multi-label data (issue #14 item 1; it used to refuse): micro/macro-F1, AP per tag,
the "scores measured against" first line and --history as for multi-class labels; the seam
find-issues -> fix -> evaluate."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelcli.ml.evaluate_tags import compare_tags_cross_validated, tag_scores
from tests.conftest import SAMPLE, assert_one_error_line, cli_ok, run_cli

PQ = SAMPLE / "digits_multilabel.parquet"
X = SAMPLE / "digits_features.npy"
TAGS = ["even", "five_or_more", "has_loop", "prime", "straight_strokes", "symmetric"]  # sorted: the class order
EV = ["evaluate", "-x", X, "-l", PQ, "--label-col", "tags"]


def matrix(col) -> np.ndarray:
    return np.array([[t in list(v) for t in TAGS] for v in col], dtype=bool)


def test_tag_scores_match_sklearn():
    from sklearn.metrics import average_precision_score, f1_score

    rng = np.random.default_rng(0)
    y = rng.random((200, 4)) < 0.4
    y[:, 3] = False  # no positive: AP undefined for that tag
    p = np.clip(y * 0.6 + rng.random((200, 4)) * 0.5, 0, 1)
    s = tag_scores(y, p)
    assert s.ap_per_tag[3] is None
    assert s.ap_per_tag[0] == pytest.approx(average_precision_score(y[:, 0], p[:, 0]))
    assert s.macro_ap == pytest.approx(np.mean([average_precision_score(y[:, c], p[:, c]) for c in range(3)]))
    assert s.micro_f1 == pytest.approx(f1_score(y, p >= 0.5, average="micro"))
    assert s.accuracy == pytest.approx(np.mean(((p >= 0.5) == y).all(axis=1)))


def test_evaluate_on_multilabel_was_refused_and_now_scores_each_tag(tmp_path):
    src = pd.read_parquet(PQ)
    y = matrix(src["tags"])
    r = cli_ok(*EV, "--clean-labels", PQ, "--format", "json")  # plain tags: nothing changed
    doc = json.loads(r.stdout)
    assert "scores measured against the cleaned labels of the kept rows" in " ".join(r.stderr.split())
    assert doc["task"] == "multi-label" and doc["setting"] == "cross-validation" and doc["folds"] == 5
    assert set(doc["cleaned"]["ap_per_tag"]) == set(TAGS)
    for key in ("micro_f1", "macro_f1", "micro_ap", "macro_ap", "accuracy", "auroc"):
        assert 0.5 < doc["cleaned"][key] <= 1 and doc["cleaned"][key] == doc["original"][key]
    # the same folds and seed as the Python API
    want = compare_tags_cross_validated(np.load(X), y, y, class_names=TAGS, seed=0)
    assert doc["cleaned"]["macro_ap"] == pytest.approx(want.cleaned.macro_ap, abs=1e-12)
    assert doc["cleaned"]["ap_per_tag"]["even"] == pytest.approx(want.cleaned.ap_per_tag[0], abs=1e-12)


def test_cleaning_to_the_true_tags_scores_better_against_trusted_tags(tmp_path):
    src = pd.read_parquet(PQ)
    true = pd.DataFrame({"labels": [",".join(t) for t in src["true_tags"]]})
    true.to_csv(tmp_path / "true.csv", index=False)
    doc = json.loads(cli_ok(*EV, "--clean-labels", tmp_path / "true.csv", "--test-fraction", "0.3",
                            "--test-labels", PQ, "--test-label-col", "true_tags", "-q", "--format", "json").stdout)
    assert doc["reference"] == "the trusted --test-labels" and doc["setting"] == "held-out fraction"
    assert doc["num_relabeled"] == int(src["is_error"].sum())
    assert abs(doc["num_scored"] - 0.3 * len(src)) < 0.03 * len(src)
    # ~1% wrong annotations per tag: the thresholded figures gain, the ranking (AP) barely moves
    assert doc["cleaned"]["micro_f1"] > doc["original"]["micro_f1"] + 0.002
    assert doc["cleaned"]["accuracy"] > doc["original"]["accuracy"] + 0.01
    assert abs(doc["cleaned"]["macro_ap"] - doc["original"]["macro_ap"]) < 0.01


def test_seam_find_issues_fix_evaluate_with_history_and_report(tmp_path):
    ml = ["-l", PQ, "--label-col", "tags", "-p", PQ, "--prob-prefix", "prob_"]
    issues, fixed, hist = tmp_path / "i.parquet", tmp_path / "f.csv", tmp_path / "h.csv"
    cli_ok("find-issues", *ml, "-q", "--out", issues)
    cli_ok("fix", *ml, "--issues", issues, "--auto", "relabel", "--out", fixed, "-q")
    for _ in range(2):
        doc = json.loads(cli_ok(*EV, "--clean-labels", fixed, "--history", hist, "--folds", "3", "-q",
                                "--format", "json").stdout)
    h = pd.read_csv(hist)
    assert h["round"].tolist() == [1, 2] and h["rows_relabeled"].tolist() == [doc["num_relabeled"]] * 2
    assert h["macro_f1"].iloc[-1] == pytest.approx(doc["cleaned"]["macro_f1"])
    assert h["auroc"].iloc[-1] == pytest.approx(doc["cleaned"]["auroc"])
    assert doc["num_relabeled"] > 50 and doc["num_dropped"] == 0
    cli_ok("report", *ml, "--history", hist, "--out", tmp_path / "rep", "-q")
    assert (tmp_path / "rep" / "history.png").exists()


def test_bad_multilabel_evaluate_input_one_line_exit_2(tmp_path):
    def err(*args) -> str:
        code, _, stderr = run_cli(*EV, *args, "-q")
        assert code == 2
        return assert_one_error_line(stderr)

    pd.DataFrame({"labels": ["even,wig"] + ["even"] * 1796}).to_csv(tmp_path / "bad.csv", index=False)
    assert "tag 'wig'" in err("--clean-labels", tmp_path / "bad.csv") and "row 0" in err("--clean-labels",
                                                                                          tmp_path / "bad.csv")
    pd.DataFrame({"labels": ["even"] * 10}).to_csv(tmp_path / "short.csv", index=False)
    assert "10 rows" in err("--clean-labels", tmp_path / "short.csv")
    np.save(tmp_path / "m.npy", np.zeros((1797, 3)))
    assert "1797 x 6" in err("--clean-labels", tmp_path / "m.npy")
    assert "--folds" in err("--clean-labels", PQ, "--folds", "1")
    assert "against" in err("--clean-labels", PQ, "--against", "noisy")
