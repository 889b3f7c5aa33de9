"""Feature-space checks through the CLI: find-issues --features, health --features gates,
score --method importance. The core's quality is checked in tests/core/test_neighbors.py and test_coreset.py;
here: the table contract, the report sections, the gates and bad input, on the digits sample with
planted duplicates (exact and with conflicting labels) and outliers (uniform noise images)."""
from __future__ import annotations

import io
import json
import numpy as np
import pandas as pd
import pytest

from labelcli.core.featurecheck import check_features
from tests.conftest import SAMPLE, assert_one_error_line, run_cli


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("feat")
    x = np.load(SAMPLE / "digits_features.npy")
    y = np.load(SAMPLE / "digits_labels.npy")
    p = np.load(SAMPLE / "digits_pred_probs.npy")
    rng = np.random.default_rng(0)
    n = len(x)
    src = rng.choice(n, 15, replace=False)
    noise = rng.uniform(0, 16, (10, 64)).astype(np.float32)
    X = np.vstack([x, x[src], noise])
    Y = np.concatenate([y, y[src[:10]], (y[src[10:]] + 1) % 10, rng.integers(0, 10, 10)])
    P = np.vstack([p, p[src], np.full((10, 10), 0.1, np.float32)])
    for name, arr in (("x", X), ("y", Y), ("p", P)):
        np.save(d / f"{name}.npy", arr)
    return {"dir": d, "n": n, "src": src, "copies": np.arange(n, n + 15), "noise": np.arange(n + 15, n + 25),
            "X": X, "Y": Y, "P": P}


def test_find_issues_with_features_table_and_sections(planted, tmp_path):
    d = planted["dir"]
    out = tmp_path / "t.csv"
    r = run_cli("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "--out", out)
    assert r.code == 0, r.stderr
    for title in ("feature-space checks", "near duplicates whose labels disagree", "outliers", "near duplicates (same"):
        assert title in r.stderr
    t = pd.read_csv(out)
    assert list(t.columns) == ["index", "given_label", "predicted_label", "label_score", "is_label_issue",
                               "issue_type", "outlier_score", "is_outlier", "duplicate_set"]
    assert t["index"].is_unique
    kinds = t.set_index("index")["issue_type"]
    # Conflicting copies (the last 5 copies and their sources) are always flagged as such.
    conflicting = np.r_[planted["src"][10:], planted["copies"][10:]]
    assert all("conflicting_duplicate" in kinds[i] for i in conflicting)
    # Same-label exact copies are near duplicates, sharing a set id with their source.
    sets = t.set_index("index")["duplicate_set"]
    for s, c in zip(planted["src"][:10], planted["copies"][:10]):
        assert sets[s] == sets[c] and "duplicate" in kinds[c]
    # The noise images are the most outlying examples.
    by_score = t.sort_values("outlier_score")["index"].to_numpy()
    assert set(planted["noise"]) <= set(by_score[:15])
    # Every flagged label issue is listed, label issues first in label-score order.
    lab = t[t["issue_type"].str.startswith("label")]
    assert lab["label_score"].is_monotonic_increasing and lab["is_label_issue"].all()


def test_find_issues_features_top_per_type_and_json(planted):
    d = planted["dir"]
    r = run_cli("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "--top", "3", "--out", "-",
                "-q")
    t = pd.read_csv(io.StringIO(r.stdout))
    first = t["issue_type"].str.split(",").str[0]
    assert first.value_counts().max() <= 3 and set(first) == {"label", "conflicting_duplicate", "outlier",
                                                              "near_duplicate"}
    r = run_cli("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "-q", "--format", "json")
    doc = json.loads(r.stdout)["features"]
    feats = check_features(planted["X"], planted["Y"], 10)
    assert doc["num_outliers"] == int(feats.outliers.is_outlier.sum())
    assert doc["num_conflicting_sets"] >= 5 and doc["num_duplicate_sets"] >= 15


def test_find_issues_features_multilabel_and_deterministic(planted, tmp_path):
    d = planted["dir"]
    tags = np.stack([planted["Y"] % 2 == 0, planted["Y"] >= 5], axis=1).astype(np.uint8)
    np.save(tmp_path / "tags.npy", tags)
    probs = np.stack([planted["P"][:, ::2].sum(1), planted["P"][:, 5:].sum(1)], axis=1).clip(0, 1)
    np.save(tmp_path / "tp.npy", probs)
    outs = []
    for i in range(2):
        out = tmp_path / f"m{i}.csv"
        r = run_cli("find-issues", "-l", tmp_path / "tags.npy", "-p", tmp_path / "tp.npy", "-x", d / "x.npy",
                    "-q", "--out", out)
        assert r.code == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    t = pd.read_csv(tmp_path / "m0.csv")
    assert {"suspect_tags", "issue_type", "duplicate_set"} <= set(t.columns)
    assert (t["issue_type"].str.contains("conflicting_duplicate")).sum() >= 2


def test_health_feature_gates(planted, tmp_path):
    d = planted["dir"]
    base = ["health", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "-q"]
    out = tmp_path / "h.json"
    assert run_cli(*base, "--out", out).code == 0
    f = json.loads(out.read_text())["features"]
    assert 0 < f["duplicate_rate"] < 0.02 and 0 < f["outlier_rate"] < 0.1
    r = run_cli(*base, "--fail-above-duplicates", f"{f['duplicate_rate'] / 2:.5f}")
    assert r.code == 1 and "duplicate rate" in r.stderr
    assert run_cli(*base, "--fail-above-duplicates", "0.5", "--fail-above-outliers", "0.5").code == 0
    r = run_cli(*base, "--fail-above-outliers", "0.001")
    assert r.code == 1 and "outlier rate" in r.stderr
    # A class far below its expected share trips --fail-on-imbalance.
    y = planted["Y"].copy()
    keep = (y != 3) | (np.cumsum(y == 3) <= 4)
    for name, arr in (("yi", y[keep]), ("pi", planted["P"][keep]), ("xi", planted["X"][keep])):
        np.save(tmp_path / f"{name}.npy", arr)
    r = run_cli("health", "-l", tmp_path / "yi.npy", "-p", tmp_path / "pi.npy", "-x", tmp_path / "xi.npy", "-q",
                "--fail-on-imbalance")
    assert r.code == 1 and "class imbalance: 3" in r.stderr


def test_score_importance_review_list(tmp_path):
    errors = np.load(SAMPLE / "digits_is_error.npy")
    labels = np.load(SAMPLE / "digits_labels.npy")
    out = tmp_path / "review.csv"
    r = run_cli("score", "--method", "importance", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy",
                "-p", SAMPLE / "digits_pred_probs.npy", "--class", "8", "--top", "20", "--out", out)
    assert r.code == 0, r.stderr
    assert "Classes the model confuses most" in r.stderr
    t = pd.read_csv(out)
    assert list(t.columns) == ["index", "given_label", "predicted_label", "importance", "review_rank"]
    assert len(t) == 20 and (labels[t["index"]] == 8).all() and t["importance"].is_monotonic_decreasing
    # Review by importance finds planted errors far faster than random order in that class.
    found = errors[t["index"]].mean()
    base = errors[labels == 8].mean()
    assert found > 2 * base


def test_feature_bad_input(planted, tmp_path):
    d = planted["dir"]

    def err(*args):
        code, _, stderr = run_cli(*args)
        assert code == 2
        return assert_one_error_line(stderr)

    x = planted["X"].copy()
    x[5, 3] = np.nan
    np.save(tmp_path / "nan.npy", x)
    assert "nan.npy" in err("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-x", tmp_path / "nan.npy")
    np.save(tmp_path / "short.npy", planted["X"][:100])
    assert "short.npy" in err("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-x", tmp_path / "short.npy")
    np.save(tmp_path / "d0.npy", np.zeros((len(planted["X"]), 0), np.float32))
    assert "d0.npy" in err("health", "-l", d / "y.npy", "-p", d / "p.npy", "-x", tmp_path / "d0.npy")
    assert "--metric" in err("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "--metric", "l3")
    np.save(tmp_path / "y5.npy", np.array([0, 1, 0, 1, 0]))
    np.save(tmp_path / "p5.npy", np.eye(2)[[0, 1, 0, 1, 0]])
    np.save(tmp_path / "x5.npy", np.random.default_rng(0).normal(size=(5, 3)))
    msg = err("find-issues", "-l", tmp_path / "y5.npy", "-p", tmp_path / "p5.npy", "-x", tmp_path / "x5.npy")
    assert "x5.npy" in msg and "too few for k=10" in msg
    assert "needs --features" in err("score", "--method", "importance", "-l", d / "y.npy")
    assert "--pred-probs" in err("score", "-l", d / "y.npy")
    assert "need --features" in err("health", "-l", d / "y.npy", "-p", d / "p.npy", "--fail-on-imbalance")
