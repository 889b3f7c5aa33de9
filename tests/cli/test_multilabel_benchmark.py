"""`benchmark` on multi-label issue tables (issue #14 item 4): truth as errors per example or as
true tag sets (compared as sets with given_labels) gives the same metrics; a 2-D truth matrix or
tag sets against a table of flagged rows only are one clear line, exit 2."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from labelcli.ml.benchmark import tag_truth_mask
from tests.conftest import SAMPLE, assert_one_error_line, cli_ok, run_cli

PQ = SAMPLE / "digits_multilabel.parquet"
ML = ["-l", PQ, "--label-col", "tags", "-p", PQ, "--prob-prefix", "prob_", "-q"]


def test_tag_truth_mask_compares_sets_in_any_order():
    given = np.array(["a,b", "", "c", None], dtype=object)
    truth = np.array([["b", "a"], [], np.array(["c", "a"]), "a;b"], dtype=object)
    assert tag_truth_mask(truth, given).tolist() == [False, False, True, True]
    assert tag_truth_mask(np.array([0, 1, 1, 0]), None).tolist() == [False, True, True, False]


def test_benchmark_multilabel_tables_with_errors_or_true_tag_sets(tmp_path):
    scores, issues = tmp_path / "s.csv", tmp_path / "i.parquet"
    cli_ok("score", *ML, "--out", scores)
    cli_ok("find-issues", *ML, "--out", issues)
    src = pd.read_parquet(PQ)
    src[["true_tags"]].to_parquet(tmp_path / "true.parquet")
    pd.DataFrame({"label": [",".join(t) for t in src["true_tags"]]}).to_csv(tmp_path / "true.csv", index=False)
    docs = [json.loads(cli_ok("benchmark", "--issues", scores, "--truth", t, "-q", "--format", "json").stdout)
            for t in (SAMPLE / "digits_tag_is_error.npy", tmp_path / "true.parquet", tmp_path / "true.csv")]
    metrics = [{k: v for k, v in d.items() if k not in ("truth",)} for d in docs]
    assert metrics[0] == metrics[1] == metrics[2]
    assert docs[0]["n_errors"] == int(src["is_error"].sum()) and docs[0]["ap"] > 0.8
    flagged = json.loads(cli_ok("benchmark", "--issues", issues, "--truth", SAMPLE / "digits_tag_is_error.npy",
                                "-q", "--format", "json").stdout)
    assert flagged["n_flagged"] == len(pd.read_parquet(issues)) and flagged["precision"] > 0.7


def test_bad_multilabel_truth_one_line_exit_2(tmp_path):
    issues = tmp_path / "i.csv"
    cli_ok("find-issues", *ML, "--out", issues)
    src = pd.read_parquet(PQ)
    src[["true_tags"]].to_parquet(tmp_path / "true.parquet")
    code, _, err = run_cli("benchmark", "--issues", issues, "--truth", tmp_path / "true.parquet")
    assert code == 2
    assert_one_error_line(err, "true tag sets", "--all")
    code, _, err = run_cli("benchmark", "--issues", issues, "--truth", SAMPLE / "digits_true_tags.npy")
    assert code == 2
    assert_one_error_line(err, "digits_true_tags.npy", "(1797, 6)")
