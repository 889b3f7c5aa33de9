"""labelcli score: every method, in input order; --adjust-pred-probs.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import cli_ok, read_result
from tests.conftest import SAMPLE_CSV2 as CSV2
from tests.conftest import SAMPLE_NPY as NPY

RANKERS = ["posterior", "adjusted_margin", "self_confidence", "normalized_margin", "confidence_weighted_entropy"]


def csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"given_label": str, "predicted_label": str})


@pytest.mark.parametrize("method", RANKERS)
def test_score_every_method_in_input_order(tmp_path, method, sample_labels, sample_pred_probs):
    out = tmp_path / "scores.csv"
    cli_ok("score", *NPY, "--method", method, "-q", "--out", out)
    t = read_result(out)
    assert list(t.columns)[:2] == ["index", "given_label"] and "label_score" in t.columns
    assert list(t["index"]) == list(range(1797))
    assert (t["given_label"].astype(int).to_numpy() == sample_labels).all()
    assert t["label_score"].between(0, 1).all()
    if method == "self_confidence":
        np.testing.assert_allclose(t["label_score"], sample_pred_probs[np.arange(1797), sample_labels], rtol=1e-6)
    js = json.loads(cli_ok("score", *NPY, "--method", method, "-q", "--format", "json").stdout)
    assert js["method"] == method and js["num_examples"] == 1797
    assert js["mean_score"] == pytest.approx(t["label_score"].mean())
    lowest = t.sort_values("label_score", kind="stable")["index"].head(20).tolist()
    assert [row["index"] for row in js["lowest"]] == lowest


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_score_adjust_pred_probs(method):
    plain = csv_text(cli_ok("score", *CSV2, "--method", method, "-q", "--out", "-").stdout)
    adj = csv_text(cli_ok("score", *CSV2, "--method", method, "--adjust-pred-probs", "-q", "--out", "-").stdout)
    assert list(adj["index"]) == list(range(1797))
    assert adj["label_score"].between(0, 1).all()
    assert not np.allclose(adj["label_score"], plain["label_score"])
