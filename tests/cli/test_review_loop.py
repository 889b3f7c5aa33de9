"""The review loop keeps state (issue #14 item 2): a `fix` output is a labels file; rows it dropped
(keep=false) are skipped and keep their row numbers; a second `fix` keeps earlier drops and the true
original_label and appends to the changelog; a blank action means "not reviewed yet"."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.conftest import SAMPLE, cli_ok

CSV = SAMPLE / "digits.csv"
P = ["-p", CSV, "--prob-prefix", "prob_"]


def _round_one(tmp_path):
    issues, fixed, log = tmp_path / "r1.csv", tmp_path / "f1.csv", tmp_path / "log.csv"
    cli_ok("find-issues", "-l", CSV, *P, "-q", "--top", "20", "--out", issues)
    cli_ok("fix", "-l", CSV, "--issues", issues, "--auto", "drop", "--out", fixed, "--changelog", log, "-q")
    return pd.read_csv(issues), fixed, log


def test_find_issues_on_a_fix_output_skips_dropped_rows(tmp_path):
    first, fixed, _ = _round_one(tmp_path)
    r = cli_ok("find-issues", "-l", fixed, *P, "-q", "--format", "json", "--all", "--out", tmp_path / "r2.csv")
    doc = json.loads(r.stdout)
    assert doc["num_skipped"] == 20
    again = pd.read_csv(tmp_path / "r2.csv")
    assert not set(first["index"]) & set(again["index"])
    assert len(again) == 1797 - 20 and again["index"].max() > 1700  # row numbers are the original ones


def test_second_fix_keeps_drops_original_label_and_appends_the_changelog(tmp_path):
    first, fixed, log = _round_one(tmp_path)
    truth = pd.read_csv(CSV)["label"]
    kept_row = int(np.setdiff1d(np.arange(50), first["index"])[0])
    new = "nine" if truth[kept_row] != "nine" else "eight"
    dec = tmp_path / "d.csv"
    pd.DataFrame({"index": [kept_row, kept_row + 1000], "action": ["relabel", None],
                  "new_label": [new, None]}).to_csv(dec, index=False)
    second = tmp_path / "f2.csv"
    cli_ok("fix", "-l", fixed, "--decisions", dec, "--out", second, "--changelog", log, "-q")
    f2 = pd.read_csv(second)
    assert set(f2.loc[~f2["keep"], "index"]) == set(first["index"])  # earlier drops kept
    assert (f2["original_label"] == truth).all()  # the true original, not round one's labels
    assert f2.loc[kept_row, "label"] == new and f2.loc[kept_row, "changed"]
    assert f2["changed"].sum() == 1  # the blank action (not reviewed yet) changed nothing
    # a third round relabels the row back: it is unchanged against the true original again
    dec3 = tmp_path / "d3.csv"
    pd.DataFrame({"index": [kept_row], "action": ["relabel"], "new_label": [truth[kept_row]]}).to_csv(dec3, index=False)
    third = tmp_path / "f3.csv"
    cli_ok("fix", "-l", second, "--decisions", dec3, "--out", third, "--changelog", log, "-q")
    f3 = pd.read_csv(third)
    assert f3["changed"].sum() == 0 and (~f3["keep"]).sum() == 20
    entries = pd.read_csv(log)
    assert len(entries) == 20 + 1 + 1  # appended, round after round
    assert entries["index"].tolist()[-2:] == [kept_row, kept_row]


def test_an_explicit_keep_restores_an_earlier_drop(tmp_path):
    first, fixed, _ = _round_one(tmp_path)
    row = int(first["index"][0])
    dec = tmp_path / "d.csv"
    pd.DataFrame({"index": [row], "action": ["keep"]}).to_csv(dec, index=False)
    out = tmp_path / "f2.csv"
    cli_ok("fix", "-l", fixed, "--decisions", dec, "--out", out, "-q")
    f2 = pd.read_csv(out)
    assert f2.loc[row, "keep"] and (~f2["keep"]).sum() == 19


def test_blank_action_is_not_reviewed_yet(tmp_path):
    dec = tmp_path / "d.csv"
    pd.DataFrame({"index": [3, 4], "action": ["drop", ""], "new_label": ["", ""]}).to_csv(dec, index=False)
    out = tmp_path / "f.csv"
    r = cli_ok("fix", "-l", CSV, "--decisions", dec, "--out", out, "-q", "--format", "json")
    assert json.loads(r.stdout)["num_decisions"] == 1
    f = pd.read_csv(out)
    assert not f.loc[3, "keep"] and f.loc[4, "keep"]
