"""labelcli fix: review decisions and the --auto policies; names stay names, integers stay integers;
inputs are never touched; stale tables are refused.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DIGIT_NAMES as NAMES
from tests.conftest import SAMPLE, assert_bad_input, cli_ok


@pytest.fixture(scope="module")
def labels():
    return np.load(SAMPLE / "digits_labels.npy")


# ---------------------------------------------------------------------------------------- fix


def test_fix_decisions_names_stay_names(tmp_path):
    (tmp_path / "review.csv").write_text(
        "index,action,new_label,reason\n5,relabel,nine,looks like a 9\n0,drop,,\n7,keep,,\n9,relabel,3,\n")
    out, log = tmp_path / "clean.csv", tmp_path / "changes.csv"
    r = cli_ok("fix", "-l", SAMPLE / "labels.csv", "-p", SAMPLE / "pred_probs.csv", "--decisions", tmp_path / "review.csv",
               "--out", out, "--changelog", log, "--format", "json")
    doc = json.loads(r.stdout)
    assert (doc["num_dropped"], doc["num_relabeled"], doc["num_decisions"]) == (1, 2, 4)
    df = pd.read_csv(out)
    assert list(df.columns) == ["index", "label", "original_label", "keep", "weight", "changed"]
    orig = pd.read_csv(SAMPLE / "labels.csv")["label"]
    assert len(df) == 1797 and df["index"].tolist() == list(range(1797))
    assert df["original_label"].tolist() == orig.tolist()
    assert df.loc[5, "label"] == "nine" and df.loc[9, "label"] == "three"  # index 3 = class "three"
    assert df.loc[0, ["keep", "weight"]].tolist() == [False, 0.0] and df.loc[0, "label"] == orig[0]
    assert df["changed"].sum() == 2 and df["keep"].sum() == 1796
    assert (df.drop([5, 9])["label"] == orig.drop([5, 9])).all()
    log_df = pd.read_csv(log, keep_default_na=False)
    assert log_df.to_dict(orient="list") == {
        "index": [0, 5, 7, 9], "action": ["drop", "relabel", "keep", "relabel"],
        "old_label": [orig[0], orig[5], orig[7], orig[9]], "new_label": ["", "nine", orig[7], "three"],
        "reason": ["review: drop", "looks like a 9", "review: keep", "review: relabel"]}


def test_fix_integer_labels_stay_integers_and_npy_output(tmp_path, labels):
    (tmp_path / "review.csv").write_text("index,action,new_label\n3,drop,\n4,relabel,eight\n")
    out = tmp_path / "clean.npy"
    cli_ok("fix", "-l", SAMPLE / "digits_labels.npy", "--classes", ",".join(NAMES), "--decisions",
           tmp_path / "review.csv", "--out", out, "-q")
    got = np.load(out)
    assert got.dtype == np.int64 and got[3] == -1 and got[4] == 8
    assert np.array_equal(np.delete(got, [3, 4]), np.delete(labels, [3, 4]))
    pq = tmp_path / "clean.parquet"
    (tmp_path / "r2.csv").write_text("index,action,new_label\n4,relabel,8\n")
    cli_ok("fix", "-l", SAMPLE / "digits_labels.npy", "--decisions", tmp_path / "r2.csv", "--out", pq, "-q")
    df = pd.read_parquet(pq)
    assert df["label"].dtype == np.int64 and df.loc[4, "label"] == 8
    log = tmp_path / "log.csv"
    cli_ok("fix", "-l", SAMPLE / "labels.csv", "--decisions", tmp_path / "review.csv", "--out", tmp_path / "n.npy",
           "--changelog", log, "-q")
    names = np.load(tmp_path / "n.npy")
    assert names.dtype.kind == "U" and names[3] == "" and names[4] == "eight"


def test_fix_stdout(tmp_path):
    (tmp_path / "review.csv").write_text("index,action,new_label\n1,drop,\n")
    r = cli_ok("fix", "-l", SAMPLE / "digits_labels.npy", "--decisions", tmp_path / "review.csv", "--out", "-", "-q")
    lines = r.stdout.splitlines()
    assert lines[0] == "index,label,original_label,keep,weight,changed" and len(lines) == 1798
    assert lines[2] == "1,8,8,False,0.0,False"


@pytest.mark.parametrize("csv, fragment", [
    ("index,action,new_label\n2000,drop,\n", "review.csv row 0 (0-based): index 2000 is outside 0..1796"),
    ("index,action,new_label\n1,drop,\n1,keep,\n", "review.csv row 1 (0-based): index 1 is listed twice"),
    ("index,action,new_label\n1,remove,\n", "review.csv row 0 (0-based): action is 'remove'; use one of relabel, drop, keep"),
    ("index,action,new_label\n1,keep,\n2,relabel,\n", "review.csv row 1 (0-based): action relabel needs a new_label"),
    ("index,action,new_label\n1,relabel,eleven\n", "review.csv row 0 (0-based): new_label 'eleven' is not a class"),
    ("index,new_label\n1,\n", "review.csv: no column 'action'"),
    ("index,action,given_label\n1,keep,zero\n", "given_label 'zero' but"),
])
def test_fix_bad_decisions(tmp_path, csv, fragment):
    (tmp_path / "review.csv").write_text(csv)
    line = assert_bad_input(["fix", "-l", SAMPLE / "labels.csv", "--decisions", tmp_path / "review.csv", "--out", tmp_path / "clean.csv", "--changelog", tmp_path / "log.csv"], folder=tmp_path)
    assert fragment in line, line


def test_fix_option_errors(tmp_path, default_issues_csv):
    lab = ["-l", SAMPLE / "digits_labels.npy"]
    out = ["--out", tmp_path / "c.csv"]
    assert "give either --decisions" in assert_bad_input(["fix", *lab, *out])
    assert "needs --auto" in assert_bad_input(["fix", *lab, "--issues", default_issues_csv, *out])
    assert "--auto 'fix' is not one of" in assert_bad_input(["fix", *lab, "--issues", default_issues_csv, "--auto", "fix", *out])
    assert "needs --pred-probs" in assert_bad_input(["fix", *lab, "--issues", default_issues_csv, "--auto", "relabel", *out])
    assert "--threshold is for --auto relabel" in assert_bad_input(["fix", *lab, "--issues", default_issues_csv, "--auto", "drop", "--threshold", 0.5, *out])
    assert "would overwrite the input" in assert_bad_input(["fix", *lab, "--issues", default_issues_csv, "--auto", "drop", "--out", default_issues_csv])
    assert "same file" in assert_bad_input(["fix", *lab, "--issues", default_issues_csv, "--auto", "drop", *out, "--changelog", tmp_path / "c.csv"])
    assert "asks for the 180 lowest-scoring" in assert_bad_input(["fix", *lab, "--issues", default_issues_csv, "--auto", "drop", "--fraction", 0.1, *out])
    assert os.listdir(tmp_path) == []


def test_fix_never_touches_inputs(tmp_path, default_issues_csv):
    src = tmp_path / "y.npy"
    src.write_bytes((SAMPLE / "digits_labels.npy").read_bytes())
    before = src.read_bytes(), default_issues_csv.read_bytes()
    cli_ok("fix", "-l", src, "--issues", default_issues_csv, "--auto", "drop", "--out", tmp_path / "c.parquet", "-q")
    assert (src.read_bytes(), default_issues_csv.read_bytes()) == before


def test_fix_auto_drop_fraction_and_relabel(tmp_path, default_issues_csv, labels):
    lab = ["-l", SAMPLE / "digits_labels.npy"]
    cli_ok("fix", *lab, "--issues", default_issues_csv, "--auto", "drop", "--out", tmp_path / "a.parquet", "-q")
    a = pd.read_parquet(tmp_path / "a.parquet")
    flagged = pd.read_csv(default_issues_csv)["index"]
    assert set(a.index[~a["keep"]]) == set(flagged) and a["changed"].sum() == 0
    # --fraction: 2% of 1797 = 36 lowest scores (the table is sorted by score)
    cli_ok("fix", *lab, "--issues", default_issues_csv, "--auto", "drop", "--fraction", 0.02, "--out", tmp_path / "b.csv", "-q")
    b = pd.read_csv(tmp_path / "b.csv")
    assert set(b.index[~b["keep"]]) == set(flagged[:36])
    log = tmp_path / "log.csv"
    r = cli_ok("fix", *lab, "--issues", default_issues_csv, "--auto", "relabel", "-p", SAMPLE / "digits_pred_probs.npy",
               "--threshold", 0.95, "--out", tmp_path / "c.csv", "--changelog", log, "--format", "json")
    c, changes = pd.read_csv(tmp_path / "c.csv"), pd.read_csv(log)
    p = np.load(SAMPLE / "digits_pred_probs.npy")
    relabeled = c.index[c["changed"]].to_numpy()
    assert json.loads(r.stdout)["num_relabeled"] == len(relabeled) > 30
    assert np.all(p[relabeled, c.loc[relabeled, "label"]] >= 0.95)
    assert c["keep"].all() and len(changes) == len(flagged)
    kept = changes[changes["action"] == "keep"]
    assert len(kept) == len(flagged) - len(relabeled)
    assert kept["reason"].str.contains("not relabeled: p\\(suggested\\)").all()


def test_fix_stale_issues_table_is_refused(tmp_path, default_issues_csv):
    shifted = np.roll(np.load(SAMPLE / "digits_labels.npy"), 1)
    np.save(tmp_path / "other.npy", shifted)
    line = assert_bad_input(["fix", "-l", tmp_path / "other.npy", "--issues", default_issues_csv, "--auto", "drop", "--out", tmp_path / "c.csv"])
    assert "was it made from these labels?" in line
