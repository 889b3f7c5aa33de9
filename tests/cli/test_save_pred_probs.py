"""find-issues --save-pred-probs (issue #14 item 8): the pred_probs cross-validated from --features
are kept, and reusing them gives the same issues without cross-validating again."""
from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import SAMPLE, cli_ok, run_cli


def test_saved_pred_probs_reproduce_the_run(tmp_path, sample_labels):
    np.save(tmp_path / "x.npy", np.load(SAMPLE / "digits_features.npy")[:500])
    np.save(tmp_path / "y.npy", sample_labels[:500])
    base = ["-l", tmp_path / "y.npy", "-q", "--all"]
    cli_ok("find-issues", *base, "-x", tmp_path / "x.npy", "--folds", 3, "--out", tmp_path / "a.csv",
           "--save-pred-probs", tmp_path / "p.npy")
    p = np.load(tmp_path / "p.npy")
    assert p.shape == (500, 10) and np.allclose(p.sum(axis=1), 1)
    cli_ok("find-issues", *base, "-p", tmp_path / "p.npy", "--out", tmp_path / "b.csv")
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    cols = ["index", "given_label", "predicted_label", "label_score", "is_label_issue"]
    assert set(cols) <= set(b.columns)
    a = a[a["is_label_issue"]].sort_values("index")[cols].reset_index(drop=True)  # a also has feature issues
    b = b[b["is_label_issue"]].sort_values("index")[cols].reset_index(drop=True)
    assert len(a) > 5
    pd.testing.assert_frame_equal(a, b)


def test_save_pred_probs_table_has_class_columns(tmp_path):
    cli_ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "digits_pred_probs.npy", "-q",
           "--save-pred-probs", tmp_path / "p.csv")
    t = pd.read_csv(tmp_path / "p.csv")
    assert len(t) == 1797 and t.shape[1] == 10
    np.testing.assert_allclose(t.to_numpy(), np.load(SAMPLE / "digits_pred_probs.npy"), rtol=1e-6)


def test_save_pred_probs_bad_suffix(tmp_path):
    r = run_cli("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "digits_pred_probs.npy", "-q",
                "--save-pred-probs", tmp_path / "p.txt")
    assert r.code == 2 and "p.txt" in r.stderr
    assert not (tmp_path / "p.txt").exists()


def test_health_cross_validates_from_features_like_crossval(tmp_path, sample_labels):
    """health --features without --pred-probs runs the same crossval as find-issues and crossval."""
    import json

    np.save(tmp_path / "x.npy", np.load(SAMPLE / "digits_features.npy")[:500])
    np.save(tmp_path / "y.npy", sample_labels[:500])
    cli_ok("crossval", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--folds", 3, "-q", "--out", tmp_path / "p.npy")
    cli_ok("health", "-l", tmp_path / "y.npy", "-x", tmp_path / "x.npy", "--folds", 3, "-q", "--out", tmp_path / "a.json")
    cli_ok("health", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "-q", "--out", tmp_path / "b.json")
    a, b = json.loads((tmp_path / "a.json").read_text()), json.loads((tmp_path / "b.json").read_text())
    assert a["estimated_num_issues"] == b["estimated_num_issues"] and a["per_class"] == b["per_class"]
    assert "features" in a and "features" not in b
    r = run_cli("health", "-l", tmp_path / "y.npy", "-q")
    assert r.code == 2 and "--features" in r.stderr
