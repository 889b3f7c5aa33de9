"""`labelcli review` (issue #18 item 1): the page's embedded suspects are the find-issues ranking
(or an --issues table), the bytes are deterministic, data stays text, bad input is one line and
exit 2, and the decisions CSV the page exports is what `fix --decisions` takes."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SAMPLE, assert_bad_input, cli_ok
from tests.render.test_review_page import embedded

L, P = SAMPLE / "digits_labels.npy", SAMPLE / "digits_pred_probs.npy"
EVIL = "<script>alert(1)</script>"


def page(path) -> dict:
    return embedded(path.read_text(encoding="utf-8"))


def test_page_lists_the_find_issues_ranking_with_images(tmp_path):
    out = tmp_path / "r.html"
    r = cli_ok("review", "-l", L, "-p", P, "--images", SAMPLE / "digits_images.npy", "--out", out, "--top", "30",
               "--format", "json")
    cli_ok("find-issues", "-l", L, "-p", P, "--top", "30", "-q", "--out", tmp_path / "i.csv")
    table = pd.read_csv(tmp_path / "i.csv")
    doc = page(out)
    items = doc["items"]
    assert [i["index"] for i in items] == table["index"].tolist()
    assert [i["given"] for i in items] == table["given_label"].astype(str).tolist()
    assert [i["suggested"] for i in items] == table["predicted_label"].astype(str).tolist()
    assert np.allclose([i["score"] for i in items], table["label_score"], atol=1e-6)
    assert all(i["image"].startswith("data:image/png;base64,") and "fields" not in i for i in items)
    assert doc["classes"] == [str(c) for c in range(10)] and doc["given_column"] == "given_label"
    assert json.loads(r.stdout) == {"out": str(out), "num_examples": 1797, "num_reviewed": 30, "num_flagged": 30,
                                    "key": doc["key"]}


def test_same_inputs_same_bytes_other_inputs_other_key(tmp_path):
    a, b, c = tmp_path / "a.html", tmp_path / "b.html", tmp_path / "c.html"
    cli_ok("review", "-l", L, "-p", P, "--images", SAMPLE / "digits_images.npy", "--out", a, "-q")
    cli_ok("review", "-l", L, "-p", P, "--images", SAMPLE / "digits_images.npy", "--out", b, "-q")
    cli_ok("review", "-l", L, "-p", P, "--out", c, "-q", "--top", "10")
    assert a.read_bytes() == b.read_bytes()
    assert page(a)["key"] != page(c)["key"]


def test_tabular_rows_show_their_fields(tmp_path):
    out = tmp_path / "t.html"
    cli_ok("review", "-l", SAMPLE / "digits.csv", "-p", SAMPLE / "digits.csv", "--prob-prefix", "prob_",
           "--out", out, "-q", "--top", "5")
    item = page(out)["items"][0]
    names = [f[0] for f in item["fields"]]
    assert "label" not in names and "index" not in names and names[0] == "prob_zero"
    assert item["fields"][-1] == ["…", "+36 more columns"]  # 76 columns besides the label and index
    assert item["given"] in ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def test_features_are_shown_when_there_is_no_table(tmp_path):
    out = tmp_path / "f.html"
    cli_ok("review", "-l", L, "-p", P, "-x", SAMPLE / "digits_features.npy", "--out", out, "-q", "--top", "3")
    assert page(out)["items"][0]["fields"][:2] == [["feature 0", "0"], ["feature 1", "0"]]


def test_review_an_existing_issues_table(tmp_path):
    issues = tmp_path / "i.csv"
    cli_ok("find-issues", "-l", L, "-p", P, "--all", "-q", "--out", issues)
    table = pd.read_csv(issues)
    part = table.iloc[[40, 3, 1000]]
    part.to_csv(tmp_path / "part.csv", index=False)
    out = tmp_path / "r.html"
    cli_ok("review", "-l", L, "--issues", tmp_path / "part.csv", "--out", out, "-q")  # no pred_probs needed
    items = page(out)["items"]
    assert [i["index"] for i in items] == part["index"].tolist()
    assert [i["flagged"] for i in items] == part["is_label_issue"].tolist()
    assert [i["suggested"] for i in items] == part["predicted_label"].astype(str).tolist()


def test_multi_label_pages_show_suspect_tags(tmp_path):
    out = tmp_path / "m.html"
    ml = SAMPLE / "digits_multilabel.csv"
    cli_ok("review", "-l", ml, "-p", ml, "--prob-prefix", "prob_", "--label-col", "tags", "--out", out, "-q",
           "--top", "20")
    cli_ok("find-issues", "-l", ml, "-p", ml, "--prob-prefix", "prob_", "--label-col", "tags", "--top", "20", "-q",
           "--out", tmp_path / "i.csv")
    table = pd.read_csv(tmp_path / "i.csv", keep_default_na=False)
    doc = page(out)
    assert doc["multi_label"] is True and doc["given_column"] == "given_labels" and doc["sep"] == ","
    assert [i["suspect"] for i in doc["items"]] == table["suspect_tags"].str.lstrip("'").tolist()
    assert doc["items"][0]["suspect"][0] in "+-"
    again = tmp_path / "again.html"  # the same table as --issues: the CSV's formula guard is not shown
    cli_ok("review", "-l", ml, "--label-col", "tags", "--issues", tmp_path / "i.csv", "--out", again, "-q")
    assert [i["suspect"] for i in page(again)["items"]] == [i["suspect"] for i in doc["items"]]
    assert [i["given"] for i in doc["items"]] == table["given_labels"].tolist()


def _evil_data(tmp_path):
    """The sample's names with class 'three' renamed to a script tag."""
    labels = pd.read_csv(SAMPLE / "labels.csv")
    labels["label"] = labels["label"].replace("three", EVIL)
    probs = pd.read_csv(SAMPLE / "pred_probs.csv").rename(columns={"three": EVIL})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    probs.to_csv(tmp_path / "pp.csv", index=False)
    return tmp_path / "labels.csv", tmp_path / "pp.csv"


def test_a_class_named_script_stays_data(tmp_path):
    lab, pp = _evil_data(tmp_path)
    out = tmp_path / "r.html"
    cli_ok("review", "-l", lab, "-p", pp, "--out", out, "-q")
    html = out.read_text(encoding="utf-8")
    assert EVIL not in html and html.count("<script") == 2
    doc = embedded(html)
    assert EVIL in doc["classes"] and any(EVIL in (i["given"], i["suggested"]) for i in doc["items"])


def test_the_export_format_is_what_fix_takes(tmp_path):
    """The CSV the page's export writes (index, action, new_label, given_label; blank = not
    reviewed), made here from the embedded items as the page's script makes it."""
    lab, pp = _evil_data(tmp_path)
    out = tmp_path / "r.html"
    cli_ok("review", "-l", lab, "-p", pp, "--out", out, "-q")
    items = page(out)["items"]
    actions = ["keep", "drop", "relabel"] + [""] * (len(items) - 3)
    new = ["", "", EVIL] + [""] * (len(items) - 3)
    dec = pd.DataFrame({"index": [i["index"] for i in items], "action": actions, "new_label": new,
                        "given_label": [i["given"] for i in items]})
    dec.to_csv(tmp_path / "decisions.csv", index=False)
    cli_ok("fix", "-l", lab, "--decisions", tmp_path / "decisions.csv", "--out", tmp_path / "clean.csv", "-q")
    clean = pd.read_csv(tmp_path / "clean.csv").set_index("index")
    i0, i1, i2 = (items[j]["index"] for j in range(3))
    assert clean.loc[i0, "keep"] and clean.loc[i0, "label"] == items[0]["given"]
    assert not clean.loc[i1, "keep"]
    assert clean.loc[i2, "label"] == EVIL and clean["changed"].sum() == (items[2]["given"] != EVIL)


@pytest.mark.parametrize("extra, fragments", [
    (["--out", "{tmp}/r.txt"], ["--out", ".html"]),
    (["--out", "{tmp}/missing/r.html"], ["does not exist"]),
    (["--out", "{tmp}/r.html", "--top", "0"], ["--top must be at least 1"]),
    (["--out", "{tmp}/r.html", "--top", "100000"], ["--top 100000", "review in batches"]),
    (["--out", "{tmp}/r.html", "--rank-by", "nope"], ["--rank-by", "nope"]),
    (["--out", "{tmp}/r.html", "--issues", "{tmp}/noindex.csv"], ["noindex.csv", "no column 'index'"]),
    (["--out", "{tmp}/r.html", "--issues", "{tmp}/far.csv"], ["far.csv row 0"]),
    (["--out", "{tmp}/r.html", "--images", "{tmp}/small.npy"], ["small.npy", "must match"]),
    (["--out", "{tmp}/r.html", "--issues", "{tmp}/words.csv"], ["words.csv", "label_score", "numbers"]),
    (["--out", "{tmp}/r.html", "--issues", "{tmp}/plain.csv"], ["plain.csv", "not a find-issues table"]),
    (["--out", "{tmp}/r.html", "--issues", "{tmp}/other.csv"], ["other.csv", "example 3", "these labels"]),
    (["--out", "-", "--format", "json"], ["both write to stdout"]),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, extra, fragments):
    pd.DataFrame({"row": [1]}).to_csv(tmp_path / "noindex.csv", index=False)
    pd.DataFrame({"index": [5000]}).to_csv(tmp_path / "far.csv", index=False)
    np.save(tmp_path / "small.npy", np.zeros((3, 8, 8)))
    pd.DataFrame({"index": [1], "label_score": ["low"]}).to_csv(tmp_path / "words.csv", index=False)
    pd.DataFrame({"index": [1], "x": [2]}).to_csv(tmp_path / "plain.csv", index=False)
    given = int(np.load(L)[3])  # a table made from other labels: its given label at row 3 differs
    pd.DataFrame({"index": [3], "given_label": [(given + 1) % 10], "label_score": [0.1]}).to_csv(
        tmp_path / "other.csv", index=False)
    args = ["review", "-l", L, "-p", P] + [a.replace("{tmp}", str(tmp_path)) for a in extra]
    assert_bad_input(args, *fragments, folder=tmp_path)


def test_labels_alone_is_one_line(tmp_path):
    assert_bad_input(["review", "-l", L, "--out", tmp_path / "r.html"], "--pred-probs", folder=tmp_path)


def test_refuses_to_overwrite_an_input(tmp_path):
    lab = tmp_path / "l.html"
    lab.write_text("x")
    assert_bad_input(["review", "-l", L, "-p", P, "--issues", lab, "--out", lab], "overwrite", folder=tmp_path)


def test_rows_an_earlier_fix_dropped_are_left_out(tmp_path):
    first = tmp_path / "first.html"
    cli_ok("review", "-l", SAMPLE / "labels.csv", "-p", SAMPLE / "pred_probs.csv", "--out", first, "-q", "--top", "10")
    top = [i["index"] for i in page(first)["items"]]
    pd.DataFrame({"index": top[:3], "action": "drop"}).to_csv(tmp_path / "d.csv", index=False)
    cli_ok("fix", "-l", SAMPLE / "labels.csv", "--decisions", tmp_path / "d.csv", "--out", tmp_path / "f.csv", "-q")
    again = tmp_path / "again.html"
    cli_ok("review", "-l", tmp_path / "f.csv", "-p", SAMPLE / "pred_probs.csv", "--out", again, "-q", "--top", "7")
    assert [i["index"] for i in page(again)["items"]] == top[3:10]


def test_no_suspects_makes_an_empty_page(tmp_path):
    labels = np.array([0, 1] * 10)
    probs = np.where(np.eye(2)[labels] > 0, 0.9, 0.1)
    np.save(tmp_path / "y.npy", labels)
    np.save(tmp_path / "p.npy", probs)
    out = tmp_path / "r.html"
    cli_ok("review", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "--out", out, "-q")
    assert page(out)["items"] == [] and "Nothing to review" in out.read_text(encoding="utf-8")


def test_out_dash_writes_the_page_to_stdout(tmp_path):
    r = cli_ok("review", "-l", L, "-p", P, "--top", "5", "--out", "-")
    cli_ok("review", "-l", L, "-p", P, "--top", "5", "--out", tmp_path / "r.html", "-q")
    assert r.stdout == (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "to stdout" in r.stderr and not (tmp_path / "-").exists()


def test_issues_table_of_the_same_labels_in_any_tag_order(tmp_path):
    """A multi-label issues table whose tag sets are written in another order (or empty) is the same
    labels; the check of its given labels compares sets."""
    ml = SAMPLE / "digits_multilabel.csv"
    cli_ok("find-issues", "-l", ml, "-p", ml, "--prob-prefix", "prob_", "--label-col", "tags", "--all", "-q",
           "--out", tmp_path / "i.csv")
    table = pd.read_csv(tmp_path / "i.csv", keep_default_na=False)
    table["given_labels"] = [",".join(reversed(t.split(","))) for t in table["given_labels"]]
    assert (table["given_labels"] == "").any()
    table.to_csv(tmp_path / "shuffled.csv", index=False)
    cli_ok("review", "-l", ml, "--label-col", "tags", "--issues", tmp_path / "shuffled.csv", "--top", "1000",
           "--out", tmp_path / "r.html", "-q")


def test_all_fills_the_page_as_find_issues_all_does(tmp_path):
    """On labels a fix cleaned, nothing may be flagged: --all lists the lowest-scored kept rows, in
    find-issues --all's order; without it the page is empty and says how to get them."""
    cli_ok("find-issues", "-l", SAMPLE / "labels.csv", "-p", SAMPLE / "pred_probs.csv", "-q", "--out", tmp_path / "i.csv")
    cli_ok("fix", "-l", SAMPLE / "labels.csv", "--issues", tmp_path / "i.csv", "--auto", "drop", "-q",
           "--out", tmp_path / "f.csv")
    base = ["-l", tmp_path / "f.csv", "-p", SAMPLE / "pred_probs.csv", "--top", "20"]
    r = cli_ok("review", *base, "--out", tmp_path / "empty.html")
    assert page(tmp_path / "empty.html")["items"] == [] and "--all" in r.stderr
    cli_ok("review", *base, "--all", "--out", tmp_path / "r.html", "-q")
    cli_ok("find-issues", *base, "--all", "-q", "--out", tmp_path / "a.csv")
    assert [i["index"] for i in page(tmp_path / "r.html")["items"]] == pd.read_csv(tmp_path / "a.csv")["index"].tolist()
    assert_bad_input(["review", "-l", L, "--issues", tmp_path / "i.csv", "--all", "--out", tmp_path / "x.html"],
                     "--all", "--issues", folder=tmp_path)
