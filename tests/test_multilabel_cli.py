"""Multi-label data through io and the CLI: every label format, detection, tables, gate, errors.

The core is checked against cleanlab in tests/test_multilabel_core.py; here the question is whether
the same tag data given as a Parquet list column, a delimited CSV column or a 0/1 .npy matrix reaches
the core identically, and whether bad tag data gets one clear line and exit code 2.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelcli import io
from labelcli.cli import app, main
from labelcli.core import multilabel
from labelcli.errors import LabelError

runner = CliRunner()
TAGS = ["hat", "beard", "glasses", "smile", "male"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """500 examples x 5 tags, 30 planted tag flips; the same data in every supported form."""
    d = tmp_path_factory.mktemp("ml")
    rng = np.random.default_rng(0)
    n, k = 500, len(TAGS)
    truth = rng.random((n, k)) < 0.3
    probs = np.clip(np.where(truth, 0.8, 0.15) + rng.normal(0, 0.1, (n, k)), 0, 1)
    noisy = truth.copy()
    flips = rng.choice(n, 30, replace=False)
    noisy[flips, rng.integers(0, k, 30)] ^= True
    noisy[7] = False  # an example with no tag at all
    names = np.array(TAGS, dtype=object)
    lists = [list(names[np.flatnonzero(r)]) for r in noisy]
    pd.DataFrame({"image_id": np.arange(n), "tags": lists}).to_parquet(d / "tags.parquet")
    pd.DataFrame(probs, columns=TAGS).to_parquet(d / "probs.parquet")
    pd.DataFrame({"image_id": np.arange(n), "tags": [",".join(t) for t in lists]}).to_csv(d / "tags.csv", index=False)
    pd.DataFrame({"tags": ["|".join(t) for t in lists]}).to_csv(d / "pipe.csv", index=False)
    idx = [",".join(str(TAGS.index(t)) for t in row) for row in lists]
    pd.DataFrame({"label": idx}).to_csv(d / "indices.csv", index=False)
    np.save(d / "y.npy", noisy.astype(np.uint8))
    np.save(d / "p.npy", probs)
    return {"dir": d, "noisy": noisy, "probs": probs, "flips": flips}


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def error_of(capsys, *args) -> str:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    assert e.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    # A detected task is announced on one "note:" line; the failure is one "Error:" line.
    err = [x for x in lines if not x.startswith("note: multi-label")]
    assert len(lines) - len(err) <= 1
    assert len(err) == 1 and err[0].startswith("Error: "), lines
    return err[0]


# ------------------------------------------------------------------------------------------ io


@pytest.mark.parametrize("form", ["parquet_lists", "csv_names", "csv_pipe", "csv_indices", "npy_matrix"])
def test_every_label_form_gives_the_same_matrix(data, form):
    d = data["dir"]
    labels, kw = {
        "parquet_lists": (d / "tags.parquet", {"label_col": "tags"}),
        "csv_names": (d / "tags.csv", {"label_col": "tags"}),
        "csv_pipe": (d / "pipe.csv", {"label_col": "tags", "label_sep": "|", "multi_label": True}),
        "csv_indices": (d / "indices.csv", {"multi_label": True}),
        "npy_matrix": (d / "y.npy", {}),
    }[form]
    probs = d / ("p.npy" if form in ("csv_indices", "npy_matrix") else "probs.parquet")
    inputs = io.open_dataset(str(labels), str(probs), **kw)
    assert inputs.multi_label
    assert inputs.labels.dtype == bool
    np.testing.assert_array_equal(inputs.labels, data["noisy"])
    if form != "csv_indices" and form != "npy_matrix":
        assert inputs.classes == tuple(TAGS)
    np.testing.assert_array_equal(inputs.pred_probs, data["probs"])


def test_detection_notes_why_and_single_tags_stay_multiclass(data, tmp_path):
    d = data["dir"]
    inputs = io.open_dataset(str(d / "tags.parquet"), str(d / "probs.parquet"), label_col="tags")
    assert inputs.note == "multi-label: column 'tags' holds lists of tags"
    assert io.open_dataset(str(d / "y.npy"), str(d / "p.npy")).note.startswith("multi-label: labels are a 500 x 5")
    # One name per cell is ordinary multi-class data unless --multi-label says otherwise.
    pd.DataFrame({"label": ["hat", "beard", "hat", "smile"]}).to_csv(tmp_path / "one.csv", index=False)
    assert not io.open_dataset(str(tmp_path / "one.csv")).multi_label
    forced = io.open_dataset(str(tmp_path / "one.csv"), multi_label=True)
    assert forced.multi_label and forced.labels.shape == (4, 3) and forced.note is None


def test_empty_cells_and_empty_lists_mean_no_tag(tmp_path):
    pd.DataFrame({"label": ["a,b", "", "b", None]}).to_csv(tmp_path / "t.csv", index=False)
    y = io.open_dataset(str(tmp_path / "t.csv"), classes="a,b").labels
    np.testing.assert_array_equal(y, [[1, 1], [0, 0], [0, 1], [0, 0]])
    pd.DataFrame({"label": [["a"], [], ["a", "b"]]}).to_parquet(tmp_path / "t.parquet")
    y = io.open_dataset(str(tmp_path / "t.parquet")).labels
    np.testing.assert_array_equal(y, [[1, 0], [0, 0], [1, 1]])


def test_named_tags_with_unnamed_probabilities_need_classes(data, capsys):
    d = data["dir"]
    msg = error_of(capsys, "score", "-l", d / "tags.csv", "--label-col", "tags", "-p", d / "p.npy")
    assert "tags.csv" in msg and "--classes" in msg
    r = run("score", "-l", d / "tags.csv", "--label-col", "tags", "-p", d / "p.npy",
            "--classes", ",".join(TAGS), "-q", "--out", "-")
    assert r.exit_code == 0
    assert pd.read_csv(__import__("io").StringIO(r.stdout)).shape == (500, 4)


# ------------------------------------------------------------------------------------------ CLI


def test_find_issues_celeba_style_parquet(data, tmp_path):
    d = data["dir"]
    out = tmp_path / "issues.csv"
    r = run("find-issues", "--labels", d / "tags.parquet", "--label-col", "tags",
            "--pred-probs", d / "probs.parquet", "--out", out)
    assert r.exit_code == 0, r.stderr
    assert "multi-label" in r.stderr and "suspect" in r.stderr
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["index", "given_labels", "predicted_labels", "suspect_tags",
                                   "label_score", "is_label_issue"]
    expected = multilabel.find_label_issues(data["noisy"], data["probs"])
    np.testing.assert_array_equal(table["index"], expected.ranking)
    # Every flagged row names at least one suspect tag, written as +tag / -tag with tag names.
    assert all(t and all(w[0] in "+-" and w[1:] in TAGS for w in t.split()) for t in table["suspect_tags"])
    # The planted flips are mostly found (the data is clean apart from them).
    assert len(set(table["index"]) & set(data["flips"].tolist())) >= 20


def test_find_issues_json_all_and_same_table_from_every_form(data, tmp_path):
    d = data["dir"]
    outs = []
    for i, args in enumerate([
        ["-l", d / "tags.parquet", "--label-col", "tags", "-p", d / "probs.parquet"],
        ["-l", d / "tags.csv", "--label-col", "tags", "-p", d / "probs.parquet"],
        ["-l", d / "y.npy", "-p", d / "p.npy", "--classes", ",".join(TAGS)],
    ]):
        out = tmp_path / f"t{i}.csv"
        assert run("find-issues", *args, "--all", "-q", "--out", out).exit_code == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    r = run("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--format", "json", "--top", "3")
    doc = json.loads(r.stdout)
    assert len(doc["issues"]) == 3 and "suspect_tags" in doc["issues"][0]


def test_defaults_and_compat_cleanlab_on_multilabel(data, capsys):
    """Default ranking: softmin; --compat cleanlab: cleanlab's EMA; the adjusted (multi-class)
    filter and score are refused with a message that says why."""
    d = data["dir"]
    base = ["-l", d / "y.npy", "-p", d / "p.npy", "-q", "--format", "json", "--all"]
    ours = json.loads(run("find-issues", *base).stdout)
    theirs = json.loads(run("find-issues", *base, "--compat", "cleanlab").stdout)
    assert ours["aggregation"] == "softmin" and theirs["aggregation"] == "exponential_moving_average"
    assert ours["filter_by"] == theirs["filter_by"] == "prune_by_noise_rate"
    assert ours["num_issues"] == theirs["num_issues"]  # same filter, different ranking
    ema = multilabel.label_quality_scores(data["noisy"], data["probs"], compat="cleanlab")
    r = run("score", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--out", "-", "--compat", "cleanlab")
    got = pd.read_csv(__import__("io").StringIO(r.stdout))["label_score"].to_numpy()
    np.testing.assert_allclose(got, ema, rtol=0, atol=1e-12)
    for option, value in (("--filter-by", "low_adjusted_margin"), ("--rank-by", "adjusted_margin")):
        err = error_of(capsys, "find-issues", "-l", d / "y.npy", "-p", d / "p.npy", option, value)
        assert f"'{value}' is for multi-class data" in err


@pytest.mark.parametrize("aggregation", multilabel.AGGREGATIONS)
def test_score_aggregations(data, aggregation):
    d = data["dir"]
    r = run("score", "-l", d / "y.npy", "-p", d / "p.npy", "--aggregation", aggregation, "--alpha", "0.5",
            "--temperature", "0.2", "-q", "--out", "-")
    assert r.exit_code == 0
    got = pd.read_csv(__import__("io").StringIO(r.stdout))["label_score"].to_numpy()
    want = multilabel.label_quality_scores(data["noisy"], data["probs"], aggregation=aggregation,
                                           alpha=0.5, temperature=0.2)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_health_gate_on_multilabel_noise(data, tmp_path):
    d = data["dir"]
    args = ["health", "-l", d / "tags.parquet", "--label-col", "tags", "-p", d / "probs.parquet"]
    summary = multilabel.health_summary(data["noisy"], data["probs"], class_names=TAGS)
    r = run(*args, "--fail-above", f"{summary.noise_rate - 0.001:.4f}", "-q")
    assert r.exit_code == 1 and "Gate failed" in r.stderr
    out = tmp_path / "h.json"
    assert run(*args, "--fail-above", f"{summary.noise_rate + 0.001:.4f}", "-q", "--out", out).exit_code == 0
    doc = json.loads(out.read_text())
    assert doc["task"] == "multi-label" and doc["estimated_noise_rate"] == pytest.approx(summary.noise_rate)
    assert {t["tag"] for t in doc["per_tag"]} == set(TAGS)


def test_crossval_multilabel_features(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data[:600].astype(np.float32)
    y = np.stack([digits.target[:600] % 2 == 0, digits.target[:600] >= 5, np.isin(digits.target[:600], [2, 3, 5, 7])], 1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.uint8))
    out = tmp_path / "p.npy"
    r = run("crossval", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--out", out, "-q", "--format", "json")
    assert r.exit_code == 0, r.stderr
    p = np.load(out)
    assert p.shape == (600, 3) and ((p >= 0) & (p <= 1)).all()
    assert np.mean((p >= 0.5) == y) > 0.85
    assert json.loads(r.stdout)["accuracy"] == pytest.approx(np.mean((p >= 0.5) == y))
    # Then find-issues straight from features, multi-label end to end.
    r = run("find-issues", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "-q", "--out", tmp_path / "i.csv")
    assert r.exit_code == 0


# --------------------------------------------------------------------------------------- errors


def test_bad_tag_data_one_line(data, tmp_path, capsys):
    d = data["dir"]
    np.save(tmp_path / "p4.npy", data["probs"][:, :4])
    assert "5 tag columns" in error_of(capsys, "find-issues", "-l", d / "y.npy", "-p", tmp_path / "p4.npy")

    pd.DataFrame({"tags": ["hat,beard", "hat,wig"]}).to_csv(tmp_path / "unknown.csv", index=False)
    np.save(tmp_path / "p2.npy", data["probs"][:2])
    msg = error_of(capsys, "score", "-l", tmp_path / "unknown.csv", "--label-col", "tags", "-p", d / "probs.parquet")
    assert "unknown.csv" in msg  # rows differ: 2 vs 500 -> the length error names the file
    pd.DataFrame(data["probs"][:2], columns=TAGS).to_parquet(tmp_path / "p2.parquet")
    msg = error_of(capsys, "score", "-l", tmp_path / "unknown.csv", "--label-col", "tags", "-p", tmp_path / "p2.parquet")
    assert "tag 'wig' at row 1" in msg

    msg = error_of(capsys, "find-issues", "-l", d / "tags.parquet", "--label-col", "tags", "-p", d / "probs.parquet",
                   "--multi-class")
    assert "lists" in msg and "--multi-class" in msg

    bad = data["probs"].copy()
    bad[3, 2] = 1.5
    np.save(tmp_path / "big.npy", bad)
    msg = error_of(capsys, "health", "-l", d / "y.npy", "-p", tmp_path / "big.npy")
    assert "big.npy" in msg and "1.5" in msg

    m = data["noisy"].astype(np.int64)
    m[4, 1] = 2
    np.save(tmp_path / "y2.npy", m)
    assert "value 2 at row 4, column 1" in error_of(capsys, "score", "-l", tmp_path / "y2.npy", "-p", d / "p.npy")

    pd.DataFrame({"label": ["0,1", "0,9"]}).to_csv(tmp_path / "idx.csv", index=False)
    np.save(tmp_path / "p3.npy", data["probs"][:2, :3])
    assert "tag 9 at row 1" in error_of(capsys, "score", "-l", tmp_path / "idx.csv", "-p", tmp_path / "p3.npy")

    assert "--normalize" in error_of(capsys, "score", "-l", d / "y.npy", "-p", d / "p.npy", "--normalize")
    assert "--label-sep" in error_of(capsys, "score", "-l", d / "y.npy", "-p", d / "p.npy", "--label-sep", "")


def test_crossval_rare_tag_is_a_clear_error(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4))
    y = rng.random((60, 3)) < 0.4
    y[:, 2] = False
    y[:3, 2] = True  # 3 positives < 5 folds
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.uint8))
    msg = error_of(capsys, "crossval", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--out", tmp_path / "p.npy",
                   "--classes", "a,b,rare")
    assert "rare" in msg
    assert not (tmp_path / "p.npy").exists()


def test_python_api_exposes_multilabel():
    import labelcli

    assert labelcli.multilabel.find_label_issues is multilabel.find_label_issues
    with pytest.raises(LabelError):
        multilabel.as_label_matrix(np.array([[0, 2], [1, 0]]))
