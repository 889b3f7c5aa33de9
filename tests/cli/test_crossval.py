"""labelcli crossval: out-of-sample pred_probs from features, written as .npy or class-named tables.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DIGIT_NAMES as NAMES
from tests.conftest import SAMPLE, cli_ok

CLASSES_OPT = ",".join(NAMES)


def csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"given_label": str, "predicted_label": str})


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """First 600 rows of the one-table sample (labels as names, px_ features), as .parquet."""
    d = tmp_path_factory.mktemp("subset")
    df = pd.read_parquet(SAMPLE / "digits.parquet").iloc[:600].reset_index(drop=True)
    path = d / "subset.parquet"
    df.to_parquet(path, index=False)
    return path, df

# ====================================================================== 1. every subcommand


def test_crossval_npy_full_sample(tmp_path, sample_labels):
    out = tmp_path / "pp.npy"
    r = cli_ok("crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy",
               "--folds", 3, "--out", out, "--format", "json")
    p = np.load(out)
    assert p.shape == (1797, 10)
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    doc = json.loads(r.stdout)
    assert doc["folds"] == 3 and doc["model"] == "logreg" and len(doc["fold_accuracies"]) == 3
    acc = float(np.mean(p.argmax(axis=1) == sample_labels))
    assert doc["accuracy"] == pytest.approx(acc)
    assert 0.8 < acc < 0.97, acc  # out-of-sample on 5% noisy labels
    assert "pred_probs written to" in r.stderr  # the report is on stderr


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_crossval_table_outputs_have_class_named_columns(tmp_path, subset, suffix):
    path, df = subset
    out = tmp_path / f"pp{suffix}"
    cli_ok("crossval", "-x", path, "-l", path, "--feature-prefix", "px_", "--classes", CLASSES_OPT,
           "--folds", 3, "-q", "--out", out)
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(got.columns) == NAMES
    assert got.shape == (600, 10)
    np.testing.assert_allclose(got.to_numpy().sum(axis=1), 1.0, atol=1e-6)
    # The written table is valid sample_pred_probs input: its columns carry the class names back in.
    res = cli_ok("score", "-l", path, "-p", out, "-q", "--out", "-")
    scores = csv_text(res.stdout)
    assert list(scores["given_label"]) == list(df["label"])


def test_crossval_string_labels_without_classes_sorts_names(tmp_path, subset):
    """DESIGN 2: class order is --classes, else pred_probs columns, else sorted unique labels."""
    path, _ = subset
    out = tmp_path / "pp.csv"
    cli_ok("crossval", "-x", path, "-l", path, "--feature-prefix", "px_", "--folds", 3, "-q", "--out", out)
    assert list(pd.read_csv(out).columns) == sorted(NAMES)


def test_crossval_is_deterministic_and_out_dash_is_csv(tmp_path, subset):
    path, _ = subset
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    args = ["crossval", "-x", path, "-l", path, "--feature-prefix", "px_", "--classes", CLASSES_OPT,
            "--folds", 3, "-q"]
    cli_ok(*args, "--out", a)
    cli_ok(*args, "--out", b)
    assert a.read_bytes() == b.read_bytes()
    r = cli_ok(*args, "--out", "-")
    assert r.stdout.encode() == a.read_bytes()
