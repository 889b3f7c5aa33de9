"""`fix --decisions` on multi-label data (issue #14 item 1): drop / keep / a new tag set per row,
blank = not reviewed yet; a second fix on a fix output keeps earlier drops and the original tags
and appends to the changelog; the seam find-issues -> fix --decisions -> find-issues."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelcli.core.fixing import carry_forward
from labelcli.core.tagfix import apply_tag_decisions, tag_cells
from labelcli.errors import LabelError
from tests.conftest import SAMPLE, assert_one_error_line, cli_ok, run_cli

PQ = SAMPLE / "digits_multilabel.parquet"
ML = ["-l", PQ, "--label-col", "tags", "-p", PQ, "--prob-prefix", "prob_"]
TAGS = ["even", "five_or_more", "has_loop", "prime", "straight_strokes", "symmetric"]  # class order


def tagsets(col) -> list[frozenset]:
    return [frozenset() if not isinstance(v, str) or not v else frozenset(v.split(",")) for v in col]


def given_sets():
    return [frozenset(t) for t in pd.read_parquet(PQ)["tags"]]


# ------------------------------------------------------------------------------------------ core


def test_tag_cells_reads_joined_names_json_lists_and_blanks():
    m = tag_cells(["a;b", '["c"]', "", None, ["b", "c"], "'a"], ["a", "b", "c"], ";", lambda r: f"row {r}")
    assert m.astype(int).tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0], [0, 1, 1], [1, 0, 0]]
    with pytest.raises(LabelError, match=r"row 1: tag 'z' is not one of the tags \(a, b, c\)"):
        tag_cells(["a", "a;z"], ["a", "b", "c"], ";", lambda r: f"row {r}")
    with pytest.raises(LabelError, match="not a JSON list"):
        tag_cells(['["a", '], ["a", "b"], ",", lambda r: f"row {r}")
    deep = "[" * 100_000 + "]" * 100_000  # was a RecursionError (exit 3) and a 200 KB message
    for cell in (deep, '[["a"]]'):
        with pytest.raises(LabelError, match="not a JSON list") as e:
            tag_cells([cell], ["a", "b"], ",", lambda r: f"row {r}")
        assert len(str(e.value)) < 200


def test_apply_tag_decisions_and_carry_forward():
    y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]], dtype=bool)
    new = np.array([[0, 0, 0], [0, 0, 0], [1, 1, 0]], dtype=bool)
    r = apply_tag_decisions(y, [3, 0, 2], ["relabel", "drop", "relabel"], new)
    assert r.log_index.tolist() == [0, 2, 3] and r.log_action.tolist() == ["drop", "keep", "relabel"]
    assert r.labels[3].tolist() == [False, False, False] and r.keep.tolist() == [False, True, True, True]
    assert r.changed.tolist() == [False, False, False, True] and r.weight.tolist() == [0, 1, 1, 1]
    # round 2 on the output: row 0 stays dropped, row 1 (dropped earlier) is restored by a keep,
    # the original is round 1's, so row 3 still counts as changed
    r2 = apply_tag_decisions(r.labels, [1], ["keep"], np.zeros((1, 3), bool))
    r2 = carry_forward(r2, original=y, keep=np.array([False, False, True, True]))
    assert r2.keep.tolist() == [False, True, True, True] and r2.changed.tolist() == [False, False, False, True]
    assert (r2.original == y).all()


# ------------------------------------------------------------------------------------------- CLI


def test_fix_decisions_on_multilabel_was_refused_and_now_applies_each_decision(tmp_path):
    issues = tmp_path / "issues.csv"
    cli_ok("find-issues", *ML, "-q", "--out", issues)
    t = pd.read_csv(issues, keep_default_na=False)
    t["action"] = ""  # blank = not reviewed yet
    t.loc[0:2, "action"] = "relabel"
    t.loc[3:5, "action"] = "drop"
    t.loc[6, "action"] = "keep"
    t["new_label"] = ""
    t.loc[0, "new_label"] = "even,prime"
    t.loc[1, "new_label"] = '["has_loop", "symmetric"]'  # a JSON list
    t.loc[2, "new_label"] = ""  # no tags at all
    dec = tmp_path / "dec.csv"
    t.to_csv(dec, index=False)
    out, log = tmp_path / "fixed.csv", tmp_path / "log.csv"
    r = cli_ok("fix", *ML, "--decisions", dec, "--out", out, "--changelog", log, "-q", "--format", "json")
    f = pd.read_csv(out, keep_default_na=False)
    idx = t["index"].tolist()
    got = tagsets(f["labels"])
    assert got[idx[0]] == {"even", "prime"} and got[idx[1]] == {"has_loop", "symmetric"} and got[idx[2]] == set()
    assert set(f.index[~f["keep"]]) == set(idx[3:6])
    assert tagsets(f["original_labels"]) == given_sets()
    untouched = [i for i in range(len(f)) if i not in idx[:3]]
    assert [got[i] for i in untouched] == [given_sets()[i] for i in untouched]
    lg = pd.read_csv(log, keep_default_na=False)
    assert sorted(lg["index"]) == sorted(idx[:7])  # the blank rows are not decisions
    assert set(lg["action"]) <= {"relabel", "drop", "keep"}
    import json

    doc = json.loads(r.stdout)
    assert doc["num_dropped"] == 3 and doc["num_decisions"] == 7


def test_seam_find_issues_fix_decisions_find_issues_and_a_second_round(tmp_path):
    issues, dec = tmp_path / "i.csv", tmp_path / "d.csv"
    cli_ok("find-issues", *ML, "-q", "--out", issues)
    t = pd.read_csv(issues, keep_default_na=False)
    t["action"] = ["drop"] * 4 + [""] * (len(t) - 4)
    t.to_csv(dec, index=False)
    f1, log = tmp_path / "f1.parquet", tmp_path / "log.csv"
    cli_ok("fix", *ML, "--decisions", dec, "--out", f1, "--changelog", log, "-q")
    dropped = set(t["index"][:4])
    # find-issues on the fix output (labels column found without --label-col): dropped rows skipped
    again = tmp_path / "again.csv"
    r = cli_ok("find-issues", "-l", f1, "-p", PQ, "--prob-prefix", "prob_", "--out", again)
    assert "4 rows dropped by an earlier fix" in r.stderr
    listed = set(pd.read_csv(again)["index"])
    assert not listed & dropped and listed == set(t["index"][4:])
    # round 2 on the fix output: relabel one row, restore one earlier drop; the rest stays dropped
    first = int(t["index"][4])
    restored = int(t["index"][0])
    pd.DataFrame({"index": [first, restored], "action": ["relabel", "keep"],
                  "new_label": ["prime", None]}).to_csv(tmp_path / "d2.csv", index=False)
    f2 = tmp_path / "f2.csv"
    cli_ok("fix", "-l", f1, "-p", PQ, "--prob-prefix", "prob_", "--decisions", tmp_path / "d2.csv",
           "--out", f2, "--changelog", log, "-q")
    f = pd.read_csv(f2, keep_default_na=False)
    assert set(f.index[~f["keep"]]) == dropped - {restored}
    assert tagsets(f["original_labels"]) == given_sets()  # the true original, not round 1's output
    assert tagsets(f["labels"])[first] == {"prime"} and f["changed"].sum() == 1
    lg = pd.read_csv(log)
    assert lg["index"].tolist() == sorted(dropped) + sorted([first, restored])  # appended


def test_bad_multilabel_decisions_one_line_exit_2(tmp_path):
    def err(rows: str, *extra) -> str:
        (tmp_path / "d.csv").write_text(rows)
        code, _, stderr = run_cli("fix", *ML, "--decisions", tmp_path / "d.csv", "--out", tmp_path / "o.csv",
                                  *extra)
        assert code == 2 and not (tmp_path / "o.csv").exists()
        return stderr.strip().splitlines()[-1]

    assert_one_error_line(err('index,action,new_label\n3,relabel,"even,wig"\n'),
                          "d.csv row 0 (0-based)", "tag 'wig' is not one of the tags")
    assert_one_error_line(err("index,action,new_label\n3,flip,even\n"), "row 0", "action is 'flip'")
    assert_one_error_line(err("index,action,new_label\n99999,drop,\n"), "index 99999 is outside")
    assert_one_error_line(err("index,action\n3,relabel\n"), "needs a column new_label")
    assert_one_error_line(err('index,action,new_label\n3,relabel,"[""even"", "\n'), "not a JSON list")
    assert_one_error_line(err("index,action,new_label\n3,drop,\n", "--fraction", "0.1"), "--fraction")
    assert_one_error_line(err("index,action,given_labels\n3,drop,even\n"), "given_labels differ")
