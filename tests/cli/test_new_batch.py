"""labelcli find-issues --reference-labels / --reference-pred-probs (/ --reference-features,
--fail-above-drift): a new batch checked against a reference set, on the digits sample split in two
(planted errors found in the batch, a shifted class mix and planted outliers detected as drift)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SAMPLE, assert_one_error_line, cli_ok, run_cli


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """Reference: 1,000 random rows of the digits sample; batch: the other 797 (39 planted errors);
    shifted: the batch's rows of classes 0-4; odd: the batch with 80 rows of random features."""
    d = tmp_path_factory.mktemp("split")
    y, p = np.load(SAMPLE / "digits_labels.npy"), np.load(SAMPLE / "digits_pred_probs.npy")
    x, err = np.load(SAMPLE / "digits_features.npy"), np.load(SAMPLE / "digits_is_error.npy")
    perm = np.random.default_rng(0).permutation(len(y))
    parts = {"ref": np.sort(perm[:1000]), "batch": np.sort(perm[1000:])}
    parts["shifted"] = parts["batch"][y[parts["batch"]] < 5]
    for name, rows in parts.items():
        for what, arr in (("labels", y), ("pp", p), ("x", x), ("err", err)):
            np.save(d / f"{name}_{what}.npy", arr[rows])
    odd = x[parts["batch"]].copy()
    planted = np.random.default_rng(1).choice(len(odd), 80, replace=False)
    odd[planted] = np.random.default_rng(2).uniform(0, 16, (80, odd.shape[1]))
    np.save(d / "odd_x.npy", odd)
    np.save(d / "odd_rows.npy", planted)
    return d


def _ref(d):
    return ["--reference-labels", d / "ref_labels.npy", "--reference-pred-probs", d / "ref_pp.npy"]


def test_planted_errors_in_the_batch_are_found(split, tmp_path):
    out = tmp_path / "issues.csv"
    r = cli_ok("find-issues", "-l", split / "batch_labels.npy", "-p", split / "batch_pp.npy", *_ref(split),
               "--all", "--out", out, "--format", "json")
    table = pd.read_csv(out)
    assert len(table) == 797 and sorted(table["index"]) == list(range(797))  # rows numbered in the batch
    err = np.load(split / "batch_err.npy")
    flagged = np.zeros(797, bool)
    flagged[table.loc[table["is_label_issue"], "index"]] = True
    precision, recall = (flagged & err).sum() / flagged.sum(), (flagged & err).sum() / err.sum()
    assert precision > 0.5 and recall > 0.75, (precision, recall)
    doc = json.loads(r.stdout)
    assert doc["num_examples"] == 797 and doc["num_issues"] == flagged.sum()
    assert doc["reference"]["num_examples"] == 1000 and 0.03 < doc["reference"]["estimated_noise_rate"] < 0.1
    assert doc["drift"]["class_mix_tvd"] < 0.1 and doc["drift"]["batch_outlier_rate"] is None
    assert "fitted on" in r.stderr and "issues flagged in the batch only" in r.stderr


def test_shifted_class_mix_trips_the_drift_gate(split):
    batch = ["-l", split / "shifted_labels.npy", "-p", split / "shifted_pp.npy", *_ref(split)]
    r = run_cli("find-issues", *batch, "--fail-above-drift", "0.2", "--format", "json")
    assert r.code == 1
    assert json.loads(r.stdout)["drift"]["class_mix_tvd"] == pytest.approx(0.5, abs=0.05)
    assert "Gate failed: drift class mix tvd" in r.stderr
    same = ["-l", split / "batch_labels.npy", "-p", split / "batch_pp.npy", *_ref(split)]
    assert run_cli("find-issues", *same, "-q", "--fail-above-drift", "0.2").code == 0


def test_outliers_scored_against_the_reference(split, tmp_path):
    base = ["find-issues", "-l", split / "batch_labels.npy", "-p", split / "batch_pp.npy", *_ref(split),
            "--reference-features", split / "ref_x.npy", "-q", "--format", "json", "--fail-above-drift", "0.08"]
    clean = run_cli(*base, "-x", split / "batch_x.npy")
    assert clean.code == 0, clean.stderr
    assert abs(json.loads(clean.stdout)["drift"]["outlier_rate_change"]) < 0.03
    out = tmp_path / "odd.csv"
    r = run_cli(*base, "-x", split / "odd_x.npy", "--all", "--out", out)
    assert r.code == 1
    drift = json.loads(r.stdout)["drift"]
    assert drift["batch_outlier_rate"] > drift["reference_outlier_rate"] + 0.07
    assert "outlier rate change" in r.stderr
    table = pd.read_csv(out)
    outliers = set(table.loc[table["is_outlier"], "index"])
    planted = set(np.load(split / "odd_rows.npy").tolist())
    assert len(outliers & planted) >= 0.9 * len(planted) and len(outliers - planted) < 20


@pytest.mark.parametrize("extra, fragments", [
    (["--reference-labels", "REF_LABELS"], ("--reference-labels and --reference-pred-probs",)),
    (["--reference-labels", "REF_LABELS", "--reference-pred-probs", "REF_PP", "-x", "BATCH_X"],
     ("--reference-features",)),
    (["--reference-labels", "REF_LABELS", "--reference-pred-probs", "REF_PP", "--fail-above-drift", "2"],
     ("--fail-above-drift",)),
    (["--reference-labels", "REF_LABELS", "--reference-pred-probs", "REF_PP", "--class", "3"], ("--class",)),
    (["--reference-labels", "REF_LABELS", "--reference-pred-probs", "REF_PP", "--max-memory", "1KB"],
     ("--max-memory", "read whole")),
    (["--reference-labels", "REF_LABELS", "--reference-pred-probs", "BAD_PP"], ("ref_labels.npy", "outside")),
])
def test_bad_input_one_line_exit_2(split, tmp_path, extra, fragments):
    np.save(tmp_path / "bad_pp.npy", np.full((1000, 3), 1 / 3))
    paths = {"REF_LABELS": split / "ref_labels.npy", "REF_PP": split / "ref_pp.npy", "BATCH_X": split / "batch_x.npy",
             "BAD_PP": tmp_path / "bad_pp.npy"}
    r = run_cli("find-issues", "-l", split / "batch_labels.npy", "-p", split / "batch_pp.npy",
                *[paths.get(a, a) for a in extra])
    assert r.code == 2, r.stderr
    assert_one_error_line(r.stderr, *fragments)


def test_python_api(split):
    from labelcli import ReferenceFit, batch_drift, find_batch_issues, fit_reference

    fit = fit_reference(np.load(split / "ref_labels.npy"), np.load(split / "ref_pp.npy"))
    assert isinstance(fit, ReferenceFit)
    issues = find_batch_issues(fit, np.load(split / "batch_labels.npy"), np.load(split / "batch_pp.npy"))
    assert issues.mask.shape == (797,) and issues.num_issues > 0
    assert batch_drift(np.load(split / "ref_labels.npy"), np.load(split / "shifted_labels.npy"), 10).class_mix_tvd > 0.4


def test_batch_class_names_are_checked_against_the_reference(tmp_path):
    """Without --classes the batch is read with the reference's class list; a mismatch says so
    (not "--classes", which the user never gave)."""
    labels = pd.read_csv(SAMPLE / "labels.csv")
    pp = pd.read_csv(SAMPLE / "pred_probs.csv")
    labels[:1000].to_csv(tmp_path / "rl.csv", index=False)
    pp[:1000].to_csv(tmp_path / "rp.csv", index=False)
    labels[1000:].replace({"label": {"zero": "nil"}}).to_csv(tmp_path / "bl.csv", index=False)
    pp[1000:].rename(columns={"zero": "nil"}).to_csv(tmp_path / "bp.csv", index=False)  # a batch of its own names
    ref = ["--reference-labels", tmp_path / "rl.csv", "--reference-pred-probs", tmp_path / "rp.csv"]
    r = run_cli("find-issues", "-l", tmp_path / "bl.csv", "-p", tmp_path / "bp.csv", *ref)
    assert r.code == 2, r.stderr
    assert_one_error_line(r.stderr, "the batch (multi-class, 10 classes: nil, one,",
                          "the reference (multi-class, 10 classes: zero, one,", "give both the same classes")



def test_fix_outputs_as_reference_and_as_batch(split, tmp_path):
    """A `fix` output is a labels file here too: the reference is the rows it kept; the batch's
    dropped rows are not listed again and the others keep their row numbers."""
    plain = tmp_path / "plain.csv"
    cli_ok("find-issues", "-l", split / "batch_labels.npy", "-p", split / "batch_pp.npy", *_ref(split), "-q",
           "--out", plain)
    listed = pd.read_csv(plain)["index"].tolist()
    pd.DataFrame({"index": listed[:2], "action": "drop"}).to_csv(tmp_path / "d.csv", index=False)
    cli_ok("fix", "-l", split / "batch_labels.npy", "--decisions", tmp_path / "d.csv", "--out", tmp_path / "f.csv",
           "-q")
    again = tmp_path / "again.csv"
    r = cli_ok("find-issues", "-l", tmp_path / "f.csv", "-p", split / "batch_pp.npy", *_ref(split), "--out", again)
    assert pd.read_csv(again)["index"].tolist() == listed[2:]
    assert "2 rows skipped" in r.stderr
    ref_fix = tmp_path / "ref_fixed.csv"  # the reference cleaned by fix: its dropped rows are not fitted on
    n_ref = len(np.load(split / "ref_labels.npy"))
    pd.DataFrame({"index": range(100), "action": "drop"}).to_csv(tmp_path / "rd.csv", index=False)
    cli_ok("fix", "-l", split / "ref_labels.npy", "--decisions", tmp_path / "rd.csv", "--out", ref_fix, "-q")
    r = cli_ok("find-issues", "-l", split / "batch_labels.npy", "-p", split / "batch_pp.npy", "--reference-labels",
               ref_fix, "--reference-pred-probs", split / "ref_pp.npy", "--format", "json", "-q")
    assert json.loads(r.stdout)["reference"]["num_examples"] == n_ref - 100


def test_multi_label_batch_against_a_reference(tmp_path):
    """Tag lists in Parquet: per-tag thresholds from the reference, the batch's planted tag errors
    found about as well as by the batch alone, tag-share drift; a multi-class reference refused."""
    table = pd.read_parquet(SAMPLE / "digits_multilabel.parquet")
    perm = np.random.default_rng(0).permutation(len(table))
    table.iloc[np.sort(perm[:1000])].reset_index(drop=True).to_parquet(tmp_path / "ref.parquet")
    batch = table.iloc[np.sort(perm[1000:])].reset_index(drop=True)
    batch.to_parquet(tmp_path / "batch.parquet")
    common = ["--label-col", "tags", "--prob-prefix", "prob_", "--format", "json", "-q"]
    r = cli_ok("find-issues", "-l", tmp_path / "batch.parquet", "-p", tmp_path / "batch.parquet", *common,
               "--reference-labels", tmp_path / "ref.parquet", "--reference-pred-probs", tmp_path / "ref.parquet",
               "--out", tmp_path / "i.parquet")
    doc = json.loads(r.stdout)
    assert doc["reference"]["num_examples"] == 1000 and doc["drift"]["class_mix_tvd"] < 0.1
    flagged = pd.read_parquet(tmp_path / "i.parquet")["index"].to_numpy()
    err = batch["is_error"].to_numpy(dtype=bool)
    precision, recall = err[flagged].mean(), err[flagged].sum() / err.sum()
    assert precision > 0.75 and recall > 0.75, (precision, recall)
    assert pd.read_parquet(tmp_path / "i.parquet")["given_labels"].map(type).eq(np.ndarray).all()  # list column
    r = run_cli("find-issues", "-l", tmp_path / "batch.parquet", "-p", tmp_path / "batch.parquet", *common,
                "--reference-labels", SAMPLE / "digits_labels.npy", "--reference-pred-probs", SAMPLE / "digits_pred_probs.npy")
    assert r.code == 2
    assert_one_error_line(r.stderr, "the batch (multi-label, 6 tags: even,", "the reference (multi-class, 10")
