"""labelcli evaluate: original vs cleaned labels on a test set, a held-out fraction or by
cross-validation; its errors.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelcli.ml import evaluate
from tests.conftest import SAMPLE, assert_bad_input, cli_ok


@pytest.fixture(scope="module")
def labels():
    return np.load(SAMPLE / "digits_labels.npy")


# ----------------------------------------------------------------------------------- evaluate


def test_evaluate_demo_pipeline_holdout_against_truth(tmp_path, default_issues_csv):
    clean = tmp_path / "clean.parquet"
    cli_ok("fix", "-l", SAMPLE / "digits_labels.npy", "--issues", default_issues_csv, "--auto", "drop", "--out", clean, "-q")
    r = cli_ok("evaluate", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--clean-labels", clean,
               "--test-fraction", 0.3, "--test-labels", SAMPLE / "digits_true_labels.npy", "--seed", 0, "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["setting"] == "held-out fraction" and doc["trusted_reference"] is True
    assert doc["num_scored"] == 539 and doc["num_dropped"] == 111
    assert doc["original"]["accuracy"] == pytest.approx(0.9406, abs=5e-4)
    assert doc["cleaned"]["accuracy"] == pytest.approx(0.9647, abs=5e-4)  # 0.9629 with cleanlab's default
    assert doc["difference"]["macro_f1"] > 0.01
    assert "Original vs cleaned labels" in r.stderr and "+0.0241" in r.stderr


def test_evaluate_test_set_and_cross_validation(tmp_path):
    df = pd.read_parquet(SAMPLE / "digits.parquet").iloc[:300]
    truth = df["true_label"]
    df.iloc[:200].to_parquet(tmp_path / "train.parquet")
    df.iloc[200:].to_parquet(tmp_path / "test.parquet")
    fixed = pd.DataFrame({"label": truth.iloc[:200].to_numpy()})
    fixed.to_csv(tmp_path / "clean.csv", index=False)
    common = ["-x", tmp_path / "train.parquet", "--feature-prefix", "px_", "-l", tmp_path / "train.parquet",
              "--clean-labels", tmp_path / "clean.csv", "--format", "json", "-q"]
    r = cli_ok("evaluate", *common, "--test-features", tmp_path / "test.parquet", "--test-labels", tmp_path / "test.parquet",
               "--test-label-col", "true_label")
    doc = json.loads(r.stdout)
    assert doc["setting"] == "test set" and doc["num_scored"] == 100 and doc["trusted_reference"]
    assert doc["num_relabeled"] == int((df["label"].iloc[:200] != truth.iloc[:200]).sum()) > 5
    r = cli_ok("evaluate", *common, "--folds", 2)
    cv = json.loads(r.stdout)
    assert cv["setting"] == "cross-validation" and cv["trusted_reference"] is True and cv["num_scored"] == 200
    assert cv["reference"] == "the cleaned labels of the kept rows"
    r = cli_ok("evaluate", *common, "--folds", 2, "--against", "original")
    cv = json.loads(r.stdout)
    assert cv["trusted_reference"] is False and cv["num_scored"] == 200
    assert cv["folds"] == 2 and cv["num_train"] == 100


def test_evaluate_npy_clean_labels_and_noisy_reference_warning(tmp_path, labels):
    x = np.load(SAMPLE / "digits_features.npy")[:300]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", labels[:300])
    clean = labels[:300].copy()
    clean[:30] = -1  # the .npy form written by fix: -1 = dropped
    np.save(tmp_path / "clean.npy", clean)
    r = cli_ok("evaluate", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--clean-labels", tmp_path / "clean.npy",
               "--test-fraction", 0.5, "--format", "json", "--against", "original")
    doc = json.loads(r.stdout)
    assert "biased against cleaning" in r.stderr and doc["trusted_reference"] is False
    test = evaluate.stratified_holdout(labels[:300], 0.5, seed=0)
    assert doc["num_scored"] == test.sum()
    r = cli_ok("evaluate", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--clean-labels", tmp_path / "clean.npy",
               "--test-fraction", 0.5, "--format", "json")
    default = json.loads(r.stdout)  # the cleaned labels of the kept held-out rows
    assert "biased" not in r.stderr and default["trusted_reference"] is True
    assert default["num_scored"] == test[30:].sum()
    assert doc["num_dropped"] == 30 and doc["num_relabeled"] == 0
    assert (doc["num_train"], doc["num_train_cleaned"]) == ((~test).sum(), (~test[30:]).sum())


def test_evaluate_errors(tmp_path, labels):
    x = ["-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy"]
    np.save(tmp_path / "short.npy", labels[:10])
    assert "has 1797 rows" in assert_bad_input(["evaluate", *x, "--clean-labels", tmp_path / "short.npy"])
    assert "needs --test-labels" in assert_bad_input(["evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy", "--test-features", SAMPLE / "digits_features.npy"])
    assert "not both" in assert_bad_input(["evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy", "--test-features", SAMPLE / "digits_features.npy", "--test-fraction", 0.2])
    assert "needs --test-features" in assert_bad_input(["evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy", "--test-labels", SAMPLE / "digits_true_labels.npy"])
    assert "unknown model" in assert_bad_input(["evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy", "-m", "zzz"])
    pd.DataFrame({"index": range(1797), "label": labels, "original_label": np.roll(labels, 1)}).to_csv(
        tmp_path / "other.csv", index=False)
    assert "original_label differs" in assert_bad_input(["evaluate", *x, "--clean-labels", tmp_path / "other.csv"])
    pd.DataFrame({"index": range(1797), "label": ["x"] * 1797}).to_csv(tmp_path / "names.csv", index=False)
    assert "label 'x' is not a class" in assert_bad_input(["evaluate", *x, "--clean-labels", tmp_path / "names.csv"])
