"""Multi-label data through the CLI: tables from every label form, defaults and --compat cleanlab,
aggregations, the gate, crossval, and bad tag data (one clear line, exit code 2).

The core is checked in tests/core/test_multilabel.py and against cleanlab in
tests/test_conformance_multilabel.py; the label forms reaching the core identically in
tests/io/test_tags.py.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelcli.core import multilabel
from labelcli.errors import LabelError
from tests.conftest import TAG_NAMES, run_cli


def error_of(*args) -> str:
    code, _, stderr = run_cli(*args)
    assert code == 2
    lines = stderr.strip().splitlines()
    # A detected task is announced on one "note:" line; the failure is one "Error:" line.
    err = [x for x in lines if not x.startswith("note: multi-label")]
    assert len(lines) - len(err) <= 1
    assert len(err) == 1 and err[0].startswith("Error: "), lines
    return err[0]


def test_named_tags_with_unnamed_probabilities_need_classes(tag_data):
    d = tag_data["dir"]
    msg = error_of("score", "-l", d / "tags.csv", "--label-col", "tags", "-p", d / "p.npy")
    assert "tags.csv" in msg and "--classes" in msg
    r = run_cli("score", "-l", d / "tags.csv", "--label-col", "tags", "-p", d / "p.npy",
                "--classes", ",".join(TAG_NAMES), "-q", "--out", "-")
    assert r.code == 0
    assert pd.read_csv(__import__("io").StringIO(r.stdout)).shape == (500, 4)


# ------------------------------------------------------------------------------------------ CLI


def test_find_issues_celeba_style_parquet(tag_data, tmp_path):
    d = tag_data["dir"]
    out = tmp_path / "issues.csv"
    r = run_cli("find-issues", "--labels", d / "tags.parquet", "--label-col", "tags",
                "--pred-probs", d / "probs.parquet", "--out", out)
    assert r.code == 0, r.stderr
    assert "multi-label" in r.stderr and "suspect" in r.stderr
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["index", "given_labels", "predicted_labels", "suspect_tags",
                                   "label_score", "is_label_issue"]
    expected = multilabel.find_label_issues(tag_data["noisy"], tag_data["probs"])
    np.testing.assert_array_equal(table["index"], expected.ranking)
    # Every flagged row names at least one suspect tag, written as +tag / -tag with tag names (in CSV
    # with a leading ' so that spreadsheets do not read "+smiling -glasses" as a formula: issue #17).
    tags = [t[1:] if t.startswith("'") else t for t in table["suspect_tags"]]
    assert all(t and all(w[0] in "+-" and w[1:] in TAG_NAMES for w in t.split()) for t in tags)
    # The planted flips are mostly found (the data is clean apart from them).
    assert len(set(table["index"]) & set(tag_data["flips"].tolist())) >= 20


def test_find_issues_json_all_and_same_table_from_every_form(tag_data, tmp_path):
    d = tag_data["dir"]
    outs = []
    for i, args in enumerate([
        ["-l", d / "tags.parquet", "--label-col", "tags", "-p", d / "probs.parquet"],
        ["-l", d / "tags.csv", "--label-col", "tags", "-p", d / "probs.parquet"],
        ["-l", d / "y.npy", "-p", d / "p.npy", "--classes", ",".join(TAG_NAMES)],
    ]):
        out = tmp_path / f"t{i}.csv"
        assert run_cli("find-issues", *args, "--all", "-q", "--out", out).code == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    r = run_cli("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--format", "json", "--top", "3")
    doc = json.loads(r.stdout)
    assert len(doc["issues"]) == 3 and "suspect_tags" in doc["issues"][0]


def test_defaults_and_compat_cleanlab_on_multilabel(tag_data):
    """Default ranking: softmin; --compat cleanlab: cleanlab's EMA; the adjusted (multi-class)
    filter and score are refused with a message that says why."""
    d = tag_data["dir"]
    base = ["-l", d / "y.npy", "-p", d / "p.npy", "-q", "--format", "json", "--all"]
    ours = json.loads(run_cli("find-issues", *base).stdout)
    theirs = json.loads(run_cli("find-issues", *base, "--compat", "cleanlab").stdout)
    assert ours["aggregation"] == "softmin" and theirs["aggregation"] == "exponential_moving_average"
    assert ours["filter_by"] == theirs["filter_by"] == "prune_by_noise_rate"
    assert ours["num_issues"] == theirs["num_issues"]  # same filter, different ranking
    ema = multilabel.label_quality_scores(tag_data["noisy"], tag_data["probs"], compat="cleanlab")
    r = run_cli("score", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--out", "-", "--compat", "cleanlab")
    got = pd.read_csv(__import__("io").StringIO(r.stdout))["label_score"].to_numpy()
    np.testing.assert_allclose(got, ema, rtol=0, atol=1e-12)
    for option, value in (("--filter-by", "low_adjusted_margin"), ("--rank-by", "adjusted_margin"),
                          ("--filter-by", "low_posterior"), ("--rank-by", "posterior")):
        err = error_of("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", option, value)
        assert f"{option} '{value}' is for multi-class data" in err
    err = error_of("score", "-l", d / "y.npy", "-p", d / "p.npy", "--method", "posterior")
    assert "--method 'posterior' is for multi-class data" in err


@pytest.mark.parametrize("aggregation", multilabel.AGGREGATIONS)
def test_score_aggregations(tag_data, aggregation):
    d = tag_data["dir"]
    r = run_cli("score", "-l", d / "y.npy", "-p", d / "p.npy", "--aggregation", aggregation, "--alpha", "0.5",
                "--temperature", "0.2", "-q", "--out", "-")
    assert r.code == 0
    got = pd.read_csv(__import__("io").StringIO(r.stdout))["label_score"].to_numpy()
    want = multilabel.label_quality_scores(tag_data["noisy"], tag_data["probs"], aggregation=aggregation,
                                           alpha=0.5, temperature=0.2)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_health_gate_on_multilabel_noise(tag_data, tmp_path):
    d = tag_data["dir"]
    args = ["health", "-l", d / "tags.parquet", "--label-col", "tags", "-p", d / "probs.parquet"]
    summary = multilabel.health_summary(tag_data["noisy"], tag_data["probs"], class_names=TAG_NAMES)
    r = run_cli(*args, "--fail-above", f"{summary.noise_rate - 0.001:.4f}", "-q")
    assert r.code == 1 and "Gate failed" in r.stderr
    out = tmp_path / "h.json"
    assert run_cli(*args, "--fail-above", f"{summary.noise_rate + 0.001:.4f}", "-q", "--out", out).code == 0
    doc = json.loads(out.read_text())
    assert doc["task"] == "multi-label" and doc["estimated_noise_rate"] == pytest.approx(summary.noise_rate)
    assert {t["tag"] for t in doc["per_tag"]} == set(TAG_NAMES)


def test_crossval_multilabel_features(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data[:600].astype(np.float32)
    y = np.stack([digits.target[:600] % 2 == 0, digits.target[:600] >= 5, np.isin(digits.target[:600], [2, 3, 5, 7])], 1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.uint8))
    out = tmp_path / "p.npy"
    r = run_cli("crossval", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--out", out, "-q", "--format", "json")
    assert r.code == 0, r.stderr
    p = np.load(out)
    assert p.shape == (600, 3) and ((p >= 0) & (p <= 1)).all()
    assert np.mean((p >= 0.5) == y) > 0.85
    assert json.loads(r.stdout)["accuracy"] == pytest.approx(np.mean((p >= 0.5) == y))
    # Then find-issues straight from features, multi-label end to end.
    r = run_cli("find-issues", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "-q", "--out", tmp_path / "i.csv")
    assert r.code == 0


# --------------------------------------------------------------------------------------- errors


def test_bad_tag_data_one_line(tag_data, tmp_path):
    d = tag_data["dir"]
    np.save(tmp_path / "p4.npy", tag_data["probs"][:, :4])
    assert "5 tag columns" in error_of("find-issues", "-l", d / "y.npy", "-p", tmp_path / "p4.npy")

    pd.DataFrame({"tags": ["hat,beard", "hat,wig"]}).to_csv(tmp_path / "unknown.csv", index=False)
    np.save(tmp_path / "p2.npy", tag_data["probs"][:2])
    msg = error_of("score", "-l", tmp_path / "unknown.csv", "--label-col", "tags", "-p", d / "probs.parquet")
    assert "unknown.csv" in msg  # rows differ: 2 vs 500 -> the length error names the file
    pd.DataFrame(tag_data["probs"][:2], columns=TAG_NAMES).to_parquet(tmp_path / "p2.parquet")
    msg = error_of("score", "-l", tmp_path / "unknown.csv", "--label-col", "tags", "-p", tmp_path / "p2.parquet")
    assert "tag 'wig' at row 1" in msg

    msg = error_of("find-issues", "-l", d / "tags.parquet", "--label-col", "tags", "-p", d / "probs.parquet",
                   "--multi-class")
    assert "lists" in msg and "--multi-class" in msg

    bad = tag_data["probs"].copy()
    bad[3, 2] = 1.5
    np.save(tmp_path / "big.npy", bad)
    msg = error_of("health", "-l", d / "y.npy", "-p", tmp_path / "big.npy")
    assert "big.npy" in msg and "1.5" in msg

    m = tag_data["noisy"].astype(np.int64)
    m[4, 1] = 2
    np.save(tmp_path / "y2.npy", m)
    assert "value 2 at row 4, column 1" in error_of("score", "-l", tmp_path / "y2.npy", "-p", d / "p.npy")

    pd.DataFrame({"label": ["0,1", "0,9"]}).to_csv(tmp_path / "idx.csv", index=False)
    np.save(tmp_path / "p3.npy", tag_data["probs"][:2, :3])
    assert "tag 9 at row 1" in error_of("score", "-l", tmp_path / "idx.csv", "-p", tmp_path / "p3.npy")

    assert "--normalize" in error_of("score", "-l", d / "y.npy", "-p", d / "p.npy", "--normalize")
    assert "--label-sep" in error_of("score", "-l", d / "y.npy", "-p", d / "p.npy", "--label-sep", "")


def test_crossval_rare_tag_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4))
    y = rng.random((60, 3)) < 0.4
    y[:, 2] = False
    y[:3, 2] = True  # 3 positives < 5 folds
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.uint8))
    msg = error_of("crossval", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--out", tmp_path / "p.npy",
                   "--classes", "a,b,rare")
    assert "rare" in msg
    assert not (tmp_path / "p.npy").exists()


def test_python_api_exposes_multilabel():
    import labelcli

    assert labelcli.multilabel.find_label_issues is multilabel.find_label_issues
    with pytest.raises(LabelError):
        multilabel.as_label_matrix(np.array([[0, 2], [1, 0]]))
