"""Types in outputs (issue #14 item 10): integer labels stay integers in Parquet and JSON; an
empty issue_type is null, not ""."""
from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq

from tests.conftest import SAMPLE, cli_ok

NPY = ["-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "digits_pred_probs.npy"]


def test_integer_labels_stay_integers_in_parquet_and_json(tmp_path):
    out = tmp_path / "i.parquet"
    r = cli_ok("find-issues", *NPY, "-q", "--out", out, "--format", "json")
    schema = pq.read_schema(out)
    assert str(schema.field("given_label").type) == "int64"
    assert str(schema.field("predicted_label").type) == "int64"
    first = json.loads(r.stdout)["issues"][0]
    assert isinstance(first["given_label"], int) and isinstance(first["predicted_label"], int)
    s = tmp_path / "s.parquet"
    cli_ok("score", *NPY, "-q", "--out", s)
    assert str(pq.read_schema(s).field("given_label").type) == "int64"
    # and a fix on that table still maps them (names first: 3 is the class "3")
    fixed = tmp_path / "f.csv"
    cli_ok("fix", "-l", SAMPLE / "digits_labels.npy", "--issues", out, "--auto", "drop", "--out", fixed, "-q")
    assert (~pd.read_csv(fixed)["keep"]).sum() == len(pd.read_parquet(out))


def test_named_labels_stay_names(tmp_path):
    out = tmp_path / "n.parquet"
    cli_ok("find-issues", "-l", SAMPLE / "digits.parquet", "-p", SAMPLE / "digits.parquet", "--prob-prefix", "prob_",
           "-q", "--out", out)
    assert "string" in str(pq.read_schema(out).field("given_label").type)


def test_empty_issue_type_is_null(tmp_path):
    out = tmp_path / "f.parquet"
    cli_ok("find-issues", *NPY, "-x", SAMPLE / "digits_features.npy", "--all", "-q", "--out", out)
    t = pd.read_parquet(out)
    assert t["issue_type"].isna().any() and not (t["issue_type"] == "").any()
    flagged = t[t["is_label_issue"]]
    assert flagged["issue_type"].str.contains("label").all()
    j = tmp_path / "f.json"
    cli_ok("find-issues", *NPY, "-x", SAMPLE / "digits_features.npy", "--all", "-q", "--out", j)
    text = j.read_text()
    assert '"issue_type": ""' not in text and '"issue_type":""' not in text


def test_fix_auto_on_multilabel_drops_or_relabels_to_the_suggested_tags(tmp_path):
    import numpy as np

    from tests.conftest import run_cli

    pq_ml = SAMPLE / "digits_multilabel.parquet"
    ml = ["-l", pq_ml, "--label-col", "tags", "-p", pq_ml, "--prob-prefix", "prob_"]
    issues = tmp_path / "m.parquet"
    cli_ok("find-issues", *ml, "-q", "--out", issues)
    flagged = pd.read_parquet(issues)
    src = pd.read_parquet(pq_ml)
    truth = [frozenset(t) for t in src["true_tags"]]

    def sets(col):
        return [frozenset() if not isinstance(v, str) else frozenset(v.split(",")) for v in col]

    fixed, log = tmp_path / "f.csv", tmp_path / "log.csv"
    cli_ok("fix", *ml, "--issues", issues, "--auto", "relabel", "--out", fixed, "--changelog", log, "-q")
    f = pd.read_csv(fixed)
    assert f["keep"].all() and (sets(f["original_labels"]) == [frozenset(t) for t in src["tags"]])
    before = np.mean([frozenset(t) == u for t, u in zip(src["tags"], truth)])
    after = np.mean([a == u for a, u in zip(sets(f["labels"]), truth)])
    assert after > before + 0.03  # the suggested tag sets fix most planted errors
    assert len(pd.read_csv(log)) == len(flagged)
    dropped = tmp_path / "d.parquet"
    cli_ok("fix", *ml, "--issues", issues, "--auto", "drop", "--out", dropped, "-q")
    d = pd.read_parquet(dropped)
    assert set(d.loc[~d["keep"], "index"]) == set(flagged["index"]) and not d["changed"].any()
    code, _, err = run_cli("fix", *ml, "--decisions", issues, "--out", tmp_path / "x.csv")
    assert code == 2 and "no column 'action'" in err  # an issues table is not yet a decisions table


def test_multilabel_tags_are_list_columns_in_parquet_and_joined_in_csv(tmp_path):
    pq_ml = SAMPLE / "digits_multilabel.parquet"
    ml = ["-l", pq_ml, "--label-col", "tags", "-p", pq_ml, "--prob-prefix", "prob_", "-q"]
    out, csv = tmp_path / "m.parquet", tmp_path / "m.csv"
    cli_ok("find-issues", *ml, "--out", out)
    cli_ok("find-issues", *ml, "--out", csv)
    schema = pq.read_schema(out)
    assert str(schema.field("given_labels").type) == "list<element: string>"
    assert str(schema.field("predicted_labels").type) == "list<element: string>"
    a, b = pd.read_parquet(out), pd.read_csv(csv)
    assert [",".join(v) for v in a["given_labels"]] == b["given_labels"].fillna("").tolist()
    s = tmp_path / "s.parquet"
    cli_ok("score", *ml, "--out", s)
    assert str(pq.read_schema(s).field("given_labels").type) == "list<element: string>"
    fixed = tmp_path / "f.parquet"  # fix reads the list columns back, and writes lists
    cli_ok("fix", *ml, "--issues", out, "--auto", "drop", "--out", fixed)
    assert str(pq.read_schema(fixed).field("labels").type) == "list<element: string>"
