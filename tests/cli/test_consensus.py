"""labelcli consensus through the CLI: the tables, the JSON summary, the refusals (exit 2, one
line), and the seam: its consensus labels as the --labels of find-issues, health and fix."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DIGIT_NAMES, SAMPLE, assert_bad_input, cli_ok, run_cli

PP_CSV = SAMPLE / "pred_probs.csv"  # class-named columns (zero..nine)
PP_NPY = SAMPLE / "digits_pred_probs.npy"


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    """4 annotators of accuracy 0.95, 0.85, 0.7, 0.5 on the digits sample, 1-3 labels per example,
    as a long CSV of class names; the truth and the accuracies."""
    folder = tmp_path_factory.mktemp("crowd")
    truth = np.load(SAMPLE / "digits_true_labels.npy")
    rng = np.random.default_rng(0)
    n, acc = len(truth), np.array([0.95, 0.85, 0.7, 0.5])
    labels = np.where(rng.random((n, 4)) < acc, truth[:, None], rng.integers(0, 10, (n, 4)))
    keep = rng.random((n, 4)) < 0.5
    keep[np.arange(n), rng.integers(0, 4, n)] = True
    rows, cols = np.nonzero(keep)
    long = pd.DataFrame({"example": rows, "annotator": np.array(["ann", "bo", "cy", "dee"])[cols],
                         "label": np.array(DIGIT_NAMES)[labels[rows, cols]]})
    long.sample(frac=1, random_state=0).to_csv(folder / "long.csv", index=False)
    wide = np.where(keep, labels, -1)
    np.save(folder / "wide.npy", wide)
    return folder, truth


def test_crowdlab_tables_and_json(crowd, tmp_path):
    folder, truth = crowd
    out, ann_out = tmp_path / "cons.csv", tmp_path / "annotators.csv"
    r = cli_ok("consensus", "--annotations", folder / "long.csv", "--pred-probs", PP_CSV, "--out", out,
               "--annotators-out", ann_out, "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["method"] == "crowdlab" and doc["num_examples"] == len(truth) and doc["num_annotators"] == 4
    table = pd.read_csv(out)
    assert list(table.columns) == ["index", "consensus_label", "consensus_quality", "annotator_agreement",
                                   "num_annotations", "active_learning_score"]
    assert table["index"].tolist() == list(range(len(truth)))
    accuracy = np.mean(table["consensus_label"].map(DIGIT_NAMES.index).to_numpy() == truth)
    assert accuracy > 0.97
    annotators = pd.read_csv(ann_out)
    assert list(annotators.columns) == ["annotator", "quality", "agreement", "num_labeled", "worst_class"]
    assert annotators["annotator"].tolist() == ["dee", "cy", "bo", "ann"]  # worst first
    assert set(annotators["worst_class"]) <= set(DIGIT_NAMES)
    assert "labelcli consensus" in r.stderr and "Annotators" in r.stderr


def test_majority_vote_without_pred_probs_and_npy(crowd, tmp_path):
    folder, truth = crowd
    out = tmp_path / "cons.parquet"
    r = cli_ok("consensus", "-a", folder / "wide.npy", "--out", out, "-q", "--format", "json")
    assert json.loads(r.stdout)["method"] == "majority_vote" and r.stderr == ""
    table = pd.read_parquet(out)
    assert table["consensus_label"].dtype.kind == "i"
    np.testing.assert_allclose(table["consensus_quality"], table["annotator_agreement"])
    assert np.mean(table["consensus_label"].to_numpy() == truth) > 0.8


def test_features_are_cross_validated(crowd, tmp_path):
    folder, truth = crowd
    out = tmp_path / "cons.csv"
    r = cli_ok("consensus", "-a", folder / "wide.npy", "-x", SAMPLE / "digits_features.npy", "--folds", "3",
               "--out", out, "-q", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["method"] == "crowdlab" and doc["pred_probs"] == "cross-validated" and doc["cv_accuracy"] > 0.7
    assert np.mean(pd.read_csv(out)["consensus_label"].to_numpy() == truth) > 0.95


def test_same_inputs_same_bytes(crowd, tmp_path):
    folder, _ = crowd
    for name in ("a.csv", "b.csv"):
        cli_ok("consensus", "-a", folder / "long.csv", "-p", PP_CSV, "--out", tmp_path / name, "-q",
               "--annotators-out", tmp_path / ("ann_" + name))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "ann_a.csv").read_bytes() == (tmp_path / "ann_b.csv").read_bytes()


def test_seam_consensus_feeds_find_issues_health_and_fix(crowd, tmp_path):
    folder, truth = crowd
    cons, plain = tmp_path / "cons.csv", tmp_path / "labels.csv"
    cli_ok("consensus", "-a", folder / "long.csv", "-p", PP_CSV, "--out", cons, "--labels-out", plain, "-q")
    assert list(pd.read_csv(plain).columns) == ["label"]
    issues = tmp_path / "issues.csv"
    cli_ok("find-issues", "-l", cons, "--label-col", "consensus_label", "-p", PP_CSV, "--out", issues, "-q")
    same = tmp_path / "issues_plain.csv"
    cli_ok("find-issues", "-l", plain, "-p", PP_CSV, "--out", same, "-q")
    assert issues.read_bytes() == same.read_bytes()
    r = cli_ok("health", "-l", plain, "-p", PP_CSV, "-q", "--format", "json")
    assert 0.0 <= json.loads(r.stdout)["estimated_noise_rate"] < 0.2
    fixed = tmp_path / "fixed.csv"
    cli_ok("fix", "-l", cons, "--label-col", "consensus_label", "--issues", issues, "--auto", "drop",
           "--out", fixed, "-q")
    assert len(pd.read_csv(fixed)) == len(truth)


def test_labels_out_npy_is_class_indices(crowd, tmp_path):
    folder, _ = crowd
    cli_ok("consensus", "-a", folder / "long.csv", "-p", PP_CSV, "--labels-out", tmp_path / "y.npy", "-q")
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.int64 and y.min() >= 0 and y.max() <= 9
    cli_ok("find-issues", "-l", tmp_path / "y.npy", "-p", PP_NPY, "-q")


def test_out_to_stdout(crowd):
    folder, truth = crowd
    r = cli_ok("consensus", "-a", folder / "wide.npy", "--out", "-", "-q")
    assert r.stdout.splitlines()[0] == "index,consensus_label,consensus_quality,annotator_agreement,num_annotations"
    assert len(r.stdout.splitlines()) == len(truth) + 1


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, fragments", [
    ("example,annotator,label\n0,a,1\n0,a,2\n1,b,1\n", ("two labels from annotator 'a'",)),
    ("example,annotator,label\n0,a,1\n2,b,1\n2,a,1\n", ("no annotation", "example 1")),
    ("example,annotator,label\n0,a,1\n1,a,0\n", ("single annotation",)),
    ("a,b\n0,\n,1\n", ("single annotation",)),
    ("example,annotator,label\n0,a,cat\n0,b,cat\n1,a,bird\n", ("bird",)),
    ("example,who,label\n0,a,1\n", ("--annotator-col",)),
])
def test_bad_annotations(tmp_path, text, fragments):
    path = _write(tmp_path, "a.csv", text)
    out = tmp_path / "o.csv"
    extra = ("--classes", "cat,dog") if "cat" in text else ()
    assert_bad_input(["consensus", "-a", path, "--out", out, *extra], *fragments, out=out)


def test_bad_options(crowd, tmp_path):
    folder, _ = crowd
    a = folder / "long.csv"
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "-x", SAMPLE / "digits_features.npy"], "not both")
    assert_bad_input(["consensus", "-a", a, "--out", a], "would overwrite the input")
    assert_bad_input(["consensus", "-a", a, "--out", "-", "--format", "json"], "stdout")
    assert_bad_input(["consensus", "-a", a, "-p", SAMPLE / "digits_pred_probs.npy", "--labels-out",
                      tmp_path / "y.txt"], "--labels-out")
    assert_bad_input(["consensus", "-a", a, "--out", tmp_path / "o.csv", "--annotators-out", tmp_path / "o.csv"],
                     "different files")
    r = run_cli("consensus", "--help")
    assert r.code == 0 and "CROWDLAB" in r.stdout


def test_pred_probs_of_other_length(crowd, tmp_path):
    folder, _ = crowd
    np.save(tmp_path / "pp.npy", np.full((5, 10), 0.1))
    assert_bad_input(["consensus", "-a", folder / "wide.npy", "-p", tmp_path / "pp.npy"], "must match")


def test_a_wide_table_says_how_it_was_read(tmp_path):
    """A table without the long columns is read as wide; the note names its annotator columns, so a
    long table with other column names is not mistaken silently."""
    path = _write(tmp_path, "a.csv", "ex,who,lab\n0,x,cat\n0,y,cat\n")
    r = cli_ok("consensus", "--annotations", path)
    assert "read as a wide table: 3 annotator columns (ex, who, lab)" in r.stderr
    assert "example, annotator and label" in r.stderr
