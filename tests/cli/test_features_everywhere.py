"""Features once, everywhere (issue #14 item 8): score, health and report cross-validate pred_probs
from --features exactly as find-issues does (one place: tasks.predictions), all four keep them with
--save-pred-probs, and a saved file is a --pred-probs input for every command (the seam tests).
The report's outlier and near-duplicate sections are in tests/cli/test_report_features.py."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelcli import io as lio
from tests.conftest import SAMPLE, assert_bad_input, cli_ok, run_cli

CV = ("--folds", 3, "--seed", 7)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """400 digits rows (features, labels, images) and the pred_probs find-issues cross-validated and saved."""
    d = tmp_path_factory.mktemp("everywhere")
    np.save(d / "x.npy", np.load(SAMPLE / "digits_features.npy")[:400])
    np.save(d / "y.npy", np.load(SAMPLE / "digits_labels.npy")[:400])
    np.save(d / "im.npy", np.load(SAMPLE / "digits_images.npy")[:400])
    cli_ok("find-issues", "-l", d / "y.npy", "-x", d / "x.npy", *CV, "-q", "--save-pred-probs", d / "p.npy")
    return d


def test_saved_pred_probs_are_the_same_bytes_from_every_command(data, tmp_path):
    """Same features and seed: find-issues, score, health and report save byte-identical pred_probs."""
    d = data
    base = ("-l", d / "y.npy", "-x", d / "x.npy", *CV, "-q")
    cli_ok("score", *base, "--save-pred-probs", tmp_path / "score.npy")
    cli_ok("health", *base, "--save-pred-probs", tmp_path / "health.npy")
    cli_ok("report", *base, "--out", tmp_path / "rep", "--save-pred-probs", tmp_path / "report.npy")
    want = (d / "p.npy").read_bytes()
    for name in ("score", "health", "report"):
        assert (tmp_path / f"{name}.npy").read_bytes() == want, name
    p = np.load(d / "p.npy")
    assert p.shape == (400, 10) and np.allclose(p.sum(axis=1), 1)


def test_same_seed_same_bytes_other_seed_other_pred_probs(data, tmp_path):
    base = ("score", "-l", data / "y.npy", "-x", data / "x.npy", "--folds", 3, "-q")
    cli_ok(*base, "--seed", 7, "--save-pred-probs", tmp_path / "a.csv")
    cli_ok(*base, "--seed", 7, "--save-pred-probs", tmp_path / "b.csv")
    cli_ok(*base, "--seed", 8, "--save-pred-probs", tmp_path / "c.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()


def test_score_from_features_equals_score_from_saved_pred_probs(data, tmp_path):
    """The seam: find-issues --features --save-pred-probs p.npy, then score --pred-probs p.npy."""
    d = data
    r = cli_ok("score", "-l", d / "y.npy", "-x", d / "x.npy", *CV, "--out", tmp_path / "a.csv", "--format", "json")
    cli_ok("score", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--out", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    doc = json.loads(r.stdout)
    assert 0.8 < doc["cv_accuracy"] < 1.0  # the JSON says the pred_probs were cross-validated
    assert "cross-validated from --features" in r.stderr


def test_health_from_features_equals_health_from_saved_pred_probs(data, tmp_path):
    d = data
    cli_ok("health", "-l", d / "y.npy", "-x", d / "x.npy", *CV, "-q", "--out", tmp_path / "a.json")
    cli_ok("health", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--out", tmp_path / "b.json")
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert "features" in a and "features" not in b
    a.pop("features")
    assert a == b


def test_report_from_features_equals_report_from_saved_pred_probs(data, tmp_path):
    d = data
    ra = cli_ok("report", "-l", d / "y.npy", "-x", d / "x.npy", *CV, "-q", "--out", tmp_path / "a", "--format", "json")
    rb = cli_ok("report", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--out", tmp_path / "b", "--format", "json")
    a, b = json.loads(ra.stdout), json.loads(rb.stdout)
    for key in ("num_examples", "num_issues", "health_score", "estimated_noise_rate", "marked_score"):
        assert a[key] == b[key], key
    assert 0.8 < a["cv_accuracy"] < 1.0 and "cv_accuracy" not in b  # given pred_probs: the summary as before
    assert "features" in a and "features" not in b
    # The label part of the page is the same (the figures are the same bytes).
    for png in ("noise_per_class.png", "noise_matrix.png", "class_pairs.png", "score_histogram.png"):
        assert (tmp_path / "a" / png).read_bytes() == (tmp_path / "b" / png).read_bytes(), png


def test_saved_table_has_class_named_columns_and_is_an_input(data, tmp_path):
    """A .csv or .parquet with --classes names: one column per class, read back by every command."""
    d = data
    names = "zero,one,two,three,four,five,six,seven,eight,nine"
    for suffix in (".csv", ".parquet"):
        saved = tmp_path / f"p{suffix}"
        cli_ok("health", "-l", d / "y.npy", "-x", d / "x.npy", *CV, "-q", "--classes", names, "--save-pred-probs", saved)
        t = pd.read_csv(saved) if suffix == ".csv" else pd.read_parquet(saved)
        assert list(t.columns) == names.split(",")
        np.testing.assert_allclose(t.to_numpy(), np.load(d / "p.npy"), rtol=1e-6)
        cli_ok("score", "-l", d / "y.npy", "-p", saved, "-q", "--out", tmp_path / f"s{suffix}.csv")
    cli_ok("score", "-l", d / "y.npy", "-p", d / "p.npy", "-q", "--out", tmp_path / "ref.csv")
    ref = pd.read_csv(tmp_path / "ref.csv")
    for suffix in (".csv", ".parquet"):
        got = pd.read_csv(tmp_path / f"s{suffix}.csv")
        np.testing.assert_allclose(got["label_score"], ref["label_score"], rtol=1e-9, atol=1e-12)


def test_multilabel_score_cross_validates_and_saves(tmp_path):
    """Multi-label tags: score --features cross-validates per tag; the saved table (tag-named columns)
    gives the same scores."""
    t = pd.read_csv(SAMPLE / "digits_multilabel.csv").head(300)
    t[["tags"]].to_csv(tmp_path / "tags.csv", index=False)
    np.save(tmp_path / "x.npy", np.load(SAMPLE / "digits_features.npy")[:300])
    base = ("score", "-l", tmp_path / "tags.csv", "--label-col", "tags", "-q")
    cli_ok(*base, "-x", tmp_path / "x.npy", *CV, "--out", tmp_path / "a.csv", "--save-pred-probs", tmp_path / "p.csv")
    cli_ok(*base, "-p", tmp_path / "p.csv", "--out", tmp_path / "b.csv")
    p = pd.read_csv(tmp_path / "p.csv")
    assert p.shape == (300, 6) and "even" in p.columns
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("command", ["score", "health", "report"])
def test_features_of_the_wrong_row_count(data, tmp_path, command):
    np.save(tmp_path / "x.npy", np.load(SAMPLE / "digits_features.npy")[:399])
    args = [command, "-l", data / "y.npy", "-x", tmp_path / "x.npy", *CV, "-q",
            "--save-pred-probs", tmp_path / "p.npy"]
    if command == "report":
        args += ["--out", tmp_path / "rep"]
    assert_bad_input(args, "399", "400", folder=tmp_path)


@pytest.mark.parametrize("command", ["find-issues", "score", "health", "report"])
def test_save_pred_probs_onto_an_input_or_bad_suffix(data, tmp_path, command):
    d = data
    (tmp_path / "y.npy").write_bytes((d / "y.npy").read_bytes())
    extra = ["--out", tmp_path / "rep"] if command == "report" else []
    base = [command, "-l", tmp_path / "y.npy", "-x", d / "x.npy", *CV, "-q", *extra]
    before = (tmp_path / "y.npy").read_bytes()
    assert_bad_input(base + ["--save-pred-probs", tmp_path / "y.npy"], "--save-pred-probs", "y.npy", "input",
                     folder=tmp_path)
    assert_bad_input(base + ["--save-pred-probs", d / "x.npy"], "--save-pred-probs", "x.npy", folder=tmp_path)
    assert_bad_input(base + ["--save-pred-probs", tmp_path / "p.txt"], "--save-pred-probs", "p.txt", ".npy",
                     folder=tmp_path)
    assert (tmp_path / "y.npy").read_bytes() == before


@pytest.mark.parametrize("command,out", [("find-issues", "t.csv"), ("score", "t.csv"), ("health", "t.json")])
def test_save_pred_probs_and_out_are_one_file(data, tmp_path, command, out):
    path = tmp_path / out.replace(".json", ".csv") if command != "health" else tmp_path / "t.json"
    args = [command, "-l", data / "y.npy", "-p", data / "p.npy", "-q", "--out", path, "--save-pred-probs", path]
    if command == "health":  # .json is not a pred_probs suffix: the suffix check says so first
        assert_bad_input(args, "--save-pred-probs", ".json", folder=tmp_path)
    else:
        assert_bad_input(args, "--save-pred-probs", "same file", folder=tmp_path)


def test_score_refuses_pred_probs_and_features_together(data, tmp_path):
    assert_bad_input(["score", "-l", data / "y.npy", "-p", data / "p.npy", "-x", data / "x.npy", "-q"],
                     "--pred-probs", "--features", "not both")
    assert_bad_input(["score", "-l", data / "y.npy", "-q"], "--pred-probs", "--features")
    assert_bad_input(["score", "-l", data / "y.npy", "-x", data / "x.npy", "--method", "importance", "-q",
                      "--save-pred-probs", tmp_path / "p.npy"], "--save-pred-probs", "importance", folder=tmp_path)


def test_report_needs_pred_probs_or_features(data, tmp_path):
    assert_bad_input(["report", "-l", data / "y.npy", "--out", tmp_path / "rep", "-q"], "--pred-probs", "--features",
                     folder=tmp_path)


@pytest.mark.parametrize("command,out", [("score", "s.csv"), ("health", "h.json"), ("report", "rep")])
def test_outputs_are_all_or_nothing(data, tmp_path, monkeypatch, command, out):
    """A failure while saving the pred_probs leaves neither the pred_probs nor the command's output."""
    def broken(*args, **kw):
        lio.write_array(*args[:2], inputs=kw.get("inputs", ()))  # stage a temp file first, then fail
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lio, "write_pred_probs", broken)
    r = run_cli(command, "-l", data / "y.npy", "-p", data / "p.npy", "-q", "--out", tmp_path / out,
                "--save-pred-probs", tmp_path / "p.npy")
    assert r.code != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.iterdir())


def test_health_with_skipped_rows_refuses_to_save(data, tmp_path):
    """A fix output drops rows; health works on the kept rows, so it cannot save pred_probs of every row."""
    y = np.load(data / "y.npy")
    pd.DataFrame({"index": np.arange(400), "label": y, "original_label": y, "keep": np.arange(400) % 10 != 0,
                  "weight": 1.0, "changed": False}).to_csv(tmp_path / "fixed.csv", index=False)
    assert_bad_input(["health", "-l", tmp_path / "fixed.csv", "-p", data / "p.npy", "-q",
                      "--save-pred-probs", tmp_path / "p.npy"], "--save-pred-probs", "keep=false", folder=tmp_path)


def test_report_folder_failure_leaves_no_saved_pred_probs(data, tmp_path, monkeypatch):
    """The report folder fails after being staged: the saved pred_probs are not published either."""
    real = lio.write_folder

    def broken(folder, files, **kw):
        real(folder, files, **kw)  # staged in the command's block, not yet published
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lio, "write_folder", broken)
    r = run_cli("report", "-l", data / "y.npy", "-p", data / "p.npy", "-q", "--out", tmp_path / "rep",
                "--save-pred-probs", tmp_path / "p.npy")
    assert r.code != 0
    assert not (tmp_path / "p.npy").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "rep"] == []
    assert not (tmp_path / "rep").exists() or list((tmp_path / "rep").iterdir()) == []


@pytest.mark.parametrize("task", ["find_issues", "score", "health", "report"])
def test_every_task_cross_validates_once_through_the_one_place(data, monkeypatch, task):
    """tasks.predictions decides given vs cross-validated; each task fits the folds once (report
    used to ask twice: for the issues and again for the health summary)."""
    from labelcli import tasks

    calls = []
    real = tasks.cross_validate
    monkeypatch.setattr(tasks, "cross_validate", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    ds = lio.open_dataset(str(data / "y.npy"), None, str(data / "x.npy"))
    result = getattr(tasks, task)(ds, crossval=tasks.CrossValidation(folds=3, seed=7))
    assert len(calls) == 1
    np.testing.assert_array_equal(result.predictions.array, np.load(data / "p.npy"))
