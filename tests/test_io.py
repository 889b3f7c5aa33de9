"""Tests for labelcli.io: readers (npy / csv / parquet / stdin), class names, writers (atomic)."""
from __future__ import annotations

import gzip
import io
import json
import os
import re
import types

import numpy as np
import pandas as pd
import pytest

from labelcli.io import writers
from labelcli.errors import LabelError
from labelcli.io import (
    Dataset,
    check_output_path,
    open_dataset,
    read_table,
    write_array,
    write_json,
    write_table,
)

P3 = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # Relative paths keep messages short and let tests assert the exact file name.
    monkeypatch.chdir(tmp_path)


def text(name: str, content: str | bytes) -> str:
    data = content.encode() if isinstance(content, str) else content
    with open(name, "wb") as f:
        f.write(data)
    return name


def npy(name: str, arr, **kw) -> str:
    np.save(name, arr, **kw)
    return name


def parquet(name: str, df: pd.DataFrame) -> str:
    df.to_parquet(name, index=False)
    return name


def fails(func, *args, name: str, match: str | None = None, **kw) -> str:
    """Call expecting a one-line LabelError that names ``name``; return the message."""
    with pytest.raises(LabelError) as ei:
        func(*args, **kw)
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert name in msg, msg
    if match:
        assert re.search(match, msg), msg
    return msg


# ------------------------------------------------------------------------------------ input formats


def test_npy_labels_and_pred_probs():
    r = open_dataset(npy("y.npy", np.array([0, 1, 2, 0])), npy("p.npy", P3))
    assert isinstance(r, Dataset)
    assert r.labels.dtype == np.int64 and r.labels.tolist() == [0, 1, 2, 0]
    assert np.array_equal(r.pred_probs, P3) and r.features is None
    assert r.classes == ("0", "1", "2")
    assert (r.labels_path, r.pred_probs_path, r.features_path) == ("y.npy", "p.npy", None)


def test_npy_labels_n_by_1_and_float32_probs_kept():
    r = open_dataset(npy("y.npy", np.array([[0], [1], [2], [0]])), npy("p.npy", P3.astype(np.float32)))
    assert r.labels.tolist() == [0, 1, 2, 0] and r.pred_probs.dtype == np.float32


def test_csv_files_separate():
    text("y.csv", "label\ncat\ndog\nbird\ncat\n")
    text("p.csv", "cat,dog,bird\n" + "\n".join(",".join(map(str, row)) for row in P3) + "\n")
    r = open_dataset("y.csv", "p.csv")
    assert r.classes == ("cat", "dog", "bird")
    assert r.labels.tolist() == [0, 1, 2, 0]
    assert np.allclose(r.pred_probs, P3)


def test_parquet_table_with_labels_probs_features():
    df = pd.DataFrame({"id": [10, 11, 12, 13], "label": ["a", "b", "c", "a"],
                       "p_a": P3[:, 0], "p_b": P3[:, 1], "p_c": P3[:, 2],
                       "f_0": [1.0, 2, 3, 4], "f_1": [0.5, 0.5, 0.5, 0.5]})
    parquet("t.parquet", df)
    r = open_dataset("t.parquet", "t.parquet", "t.parquet", prob_prefix="p_", feature_prefix="f_")
    assert r.classes == ("a", "b", "c") and r.labels.tolist() == [0, 1, 2, 0]
    assert np.allclose(r.pred_probs, P3)
    assert r.features.shape == (4, 2) and r.features[:, 0].tolist() == [1, 2, 3, 4]


def test_pq_suffix_and_features_only():
    parquet("t.pq", pd.DataFrame({"label": [0, 1, 1], "x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}))
    r = open_dataset("t.pq", features="t.pq")
    assert r.pred_probs is None and r.features.shape == (3, 2) and r.classes == ("0", "1")


def test_shared_table_needs_a_prefix_and_one_prefix_is_enough():
    text("t.csv", "label,p_0,p_1,emb1,emb2\n0,0.9,0.1,1,2\n1,0.2,0.8,3,4\n")
    fails(open_dataset, "t.csv", "t.csv", "t.csv", name="t.csv", match="--prob-prefix")
    r = open_dataset("t.csv", "t.csv", "t.csv", prob_prefix="p_")
    assert r.classes == ("0", "1") and r.features.tolist() == [[1, 2], [3, 4]]
    r = open_dataset("t.csv", "t.csv", "t.csv", feature_prefix="emb")
    assert r.pred_probs.tolist() == [[0.9, 0.1], [0.2, 0.8]] and r.features.shape == (2, 2)


def test_features_from_npy_and_csv_separate():
    y = npy("y.npy", np.array([0, 1, 1]))
    r = open_dataset(y, features=npy("x.npy", np.arange(6.0).reshape(3, 2)))
    assert r.features.shape == (3, 2) and r.classes == ("0", "1")
    text("x.csv", "index,a,b,name\n0,1.5,2,foo\n1,3,4,bar\n2,5,6,baz\n")
    r = open_dataset(y, features="x.csv")
    assert r.features.tolist() == [[1.5, 2], [3, 4], [5, 6]]  # index and text columns skipped


def test_stdin_one_table_read_once():
    data = b"label,cat,dog\ncat,0.9,0.1\ndog,0.3,0.7\n"
    stream = io.BytesIO(data)
    r = open_dataset("-", "-", stdin=stream)
    assert r.classes == ("cat", "dog") and r.labels.tolist() == [0, 1]
    assert r.labels_path == "-"


def test_stdin_labels_with_npy_probs_and_stdin_read_helper():
    r = open_dataset("-", npy("p.npy", P3), stdin=io.BytesIO(b"y\n0\n1\n2\n2\n"))
    assert r.labels.tolist() == [0, 1, 2, 2]
    stream = io.BytesIO(b"a,b\n1,2\n")
    assert read_table("-", stdin=stream).equals(read_table("-", stdin=stream))  # cached bytes
    fails(read_table, "-", stdin=io.BytesIO(b""), name="<stdin>", match="empty")
    gz = read_table("-", stdin=io.BytesIO(gzip.compress(b"a;b\r\n1;2\r\n")))
    assert gz.to_dict("list") == {"a": [1], "b": [2]}


def test_stdin_default_text_stream_and_terminal(monkeypatch):
    class Terminal(io.BytesIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(b"label\n1\n0\n")))
    assert open_dataset("-", features=npy("x.npy", np.ones((2, 1)))).labels.tolist() == [1, 0]
    assert read_table("-", stdin=io.StringIO("a\n5\n"))["a"].tolist() == [5]  # text streams too
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=Terminal()))
    fails(read_table, "-", name="<stdin>", match="terminal")


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, labelcli.io; assert not {'pandas', 'pyarrow'} & set(sys.modules), sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_saved_index_column_is_not_a_probability():
    pd.DataFrame({"label": [0, 1], "a": [0.9, 0.2], "b": [0.1, 0.8]}, index=[5, 6]).to_csv("t.csv")
    r = open_dataset("t.csv", "t.csv")
    assert r.classes == ("a", "b") and r.pred_probs.shape == (2, 2)


def test_read_table_returns_dataframe_or_array():
    assert isinstance(read_table(npy("a.npy", P3)), np.ndarray)
    assert isinstance(read_table(text("a.csv", "a\n1\n")), pd.DataFrame)


# ------------------------------------------------------------------------------------- class names


def test_rule1_classes_string_and_sequence():
    y, p = npy("y.npy", np.array([0, 1, 2, 0])), npy("p.npy", P3)
    assert open_dataset(y, p, classes="cat, dog,bird").classes == ("cat", "dog", "bird")
    assert open_dataset(y, p, classes=["x", "y", "z"]).classes == ("x", "y", "z")
    fails(open_dataset, y, p, classes="a,b", name="p.npy", match="--classes lists 2 classes but p.npy has 3")
    fails(open_dataset, y, p, classes="a,a,b", name="'a'", match="twice")
    fails(open_dataset, y, p, classes="a,,b", name="--classes", match="empty")


def test_rule1_classes_without_pred_probs():
    text("y.csv", "label\nb\na\nc\n")
    r = open_dataset("y.csv", features=npy("x.npy", np.ones((3, 2))), classes="c,b,a")
    assert r.classes == ("c", "b", "a") and r.labels.tolist() == [1, 2, 0]
    npy("yi.npy", np.array([0, 1, 5]))
    fails(open_dataset, "yi.npy", features="x.npy", classes="a,b,c", name="yi.npy",
          match=r"label 5 at row 2 \(0-based\) is outside 0..2")


def test_rule1_reorders_prob_columns_named_like_the_classes():
    text("t.csv", "label,dog,cat\ncat,0.1,0.9\ndog,0.7,0.3\n")
    r = open_dataset("t.csv", "t.csv", classes="cat,dog")
    assert r.classes == ("cat", "dog") and r.labels.tolist() == [0, 1]
    assert r.pred_probs.tolist() == [[0.9, 0.1], [0.3, 0.7]]
    fails(open_dataset, "t.csv", "t.csv", classes="cat,wolf", name="t.csv", match="differ from --classes")
    r = open_dataset(text("y.csv", "label\n0\n1\n"), text("p.csv", "0,1\n0.9,0.1\n0.3,0.7\n"), classes="x,y")
    assert r.classes == ("x", "y")  # unrelated names: positional


def test_rule2_prob_column_names_with_prefix():
    text("t.csv", "id,label,prob_cat,prob_dog\n0,1,0.2,0.8\n1,0,0.6,0.4\n")
    r = open_dataset("t.csv", "t.csv", prob_prefix="prob_")
    assert r.classes == ("cat", "dog") and r.labels.tolist() == [1, 0]
    fails(open_dataset, "t.csv", "t.csv", prob_prefix="q_", name="t.csv", match="no columns start with")


def test_rule3_sorted_unique_string_labels():
    text("y.csv", "label\nzebra\nant\nmole\nant\n")
    r = open_dataset("y.csv", features=npy("x.npy", np.ones((4, 1))))
    assert r.classes == ("ant", "mole", "zebra") and r.labels.tolist() == [2, 0, 1, 0]
    npy("ys.npy", np.array(["10", "2", "2", "1"]))  # integer names sort numerically
    r = open_dataset("ys.npy", features="x.npy")
    assert r.classes == ("1", "2", "10") and r.labels.tolist() == [2, 1, 1, 0]


def test_rule3_string_labels_with_npy_probs():
    # Names cannot be matched to unnamed columns by guessing (alphabetical order would silently
    # mislabel everything when the columns follow another order): --classes is required.
    text("y.csv", "label\nb\na\nc\nb\n")
    fails(open_dataset, "y.csv", npy("p.npy", P3), name="y.csv",
          match=r"labels are class names but p.npy has no column names; pass --classes")
    r = open_dataset("y.csv", "p.npy", classes="c,b,a")
    assert r.classes == ("c", "b", "a") and r.labels.tolist() == [1, 2, 0, 1]
    text("y2.csv", "label\nb\na\na\nb\n")
    fails(open_dataset, "y2.csv", "p.npy", name="y2.csv", match=r"pass --classes")
    npy("yd.npy", np.array(["0", "2", "2", "0"]))  # digit strings index the columns by name
    r = open_dataset("yd.npy", "p.npy")
    assert r.classes == ("0", "1", "2") and r.labels.tolist() == [0, 2, 2, 0]


def test_rule4_integer_labels():
    r = open_dataset(npy("y.npy", np.array([0, 3, 1])), features=npy("x.npy", np.ones((3, 2))))
    assert r.classes == ("0", "1", "2", "3")
    fails(open_dataset, "y.npy", npy("p.npy", P3[:3]), name="y.npy", match=r"label 3 at row 1 .*outside 0..2")
    fails(open_dataset, npy("neg.npy", np.array([0, -1, 1])), "p.npy", name="neg.npy", match="negative")


def test_integer_labels_map_by_name_when_classes_are_integer_names():
    text("t.csv", "label,1,2,3\n1,0.8,0.1,0.1\n3,0.1,0.1,0.8\n2,0.2,0.7,0.1\n")
    r = open_dataset("t.csv", "t.csv")
    assert r.classes == ("1", "2", "3") and r.labels.tolist() == [0, 2, 1]
    text("bad.csv", "label,1,2,3\n0,0.8,0.1,0.1\n3,0.1,0.1,0.8\n")
    fails(open_dataset, "bad.csv", "bad.csv", name="bad.csv", match=r"label '0' at row 0 \(0-based\)")


def test_unknown_label_name_message():
    text("labels.csv", "label\n" + "\n".join(["cat", "dog"] * 8 + ["cat", "wolf"]) + "\n")
    names = "cat,dog,ant,bee,cow,elk,fox,gnu,hen,ibis"
    npy("p.npy", np.full((18, 10), 0.1))
    msg = fails(open_dataset, "labels.csv", "p.npy", classes=names, name="labels.csv")
    assert msg == ("labels.csv: label 'wolf' at row 17 (0-based) is not one of the 10 classes"
                   " (cat, dog, ant, bee, cow, ...); pass --classes or fix the file")


# ------------------------------------------------------------------------------------ label values


def test_float_labels():
    text("y.csv", "label\n0.0\n2.0\n1.0\n")
    assert open_dataset("y.csv", npy("p.npy", P3[:3])).labels.tolist() == [0, 2, 1]
    text("bad.csv", "label\n0.0\n3.5\n1.0\n")
    fails(open_dataset, "bad.csv", "p.npy", name="bad.csv", match=r"label 3.5 at row 1 \(0-based\).*whole")


def test_missing_label_values():
    text("num.csv", "label,a\n0,1\n,2\n1,3\n")
    fails(open_dataset, "num.csv", features="num.csv", name="num.csv", match=r"missing at row 1 \(0-based\) in column 'label'")
    text("str.csv", "label,a\ncat,1\ndog,2\n,3\n")
    fails(open_dataset, "str.csv", features="str.csv", name="str.csv", match=r"missing at row 2")
    fails(open_dataset, npy("nan.npy", np.array([0.0, np.nan])), name="nan.npy", match="missing at row 1")
    parquet("n.parquet", pd.DataFrame({"label": pd.array([1, None, 0], dtype="Int64")}))
    fails(open_dataset, "n.parquet", name="n.parquet", match="missing at row 1")


def test_mixed_int_and_string_labels_are_names():
    text("y.csv", "label\n3\ncat\n3\n")
    r = open_dataset("y.csv", features=npy("x.npy", np.ones((3, 1))))
    assert r.classes == ("3", "cat") and r.labels.tolist() == [0, 1, 0]
    fails(open_dataset, "y.csv", npy("p.npy", P3[:3]), classes="cat,dog,bird", name="y.csv", match="label '3' at row 0")


def test_label_column_choice():
    text("t.csv", "a,b,c\n0,1,2\n")
    fails(open_dataset, "t.csv", name="t.csv", match=r"no column 'label' \(columns: a, b, c\); pass --label-col")
    text("one.csv", "target\n0\n1\n")
    assert open_dataset("one.csv", features=npy("x.npy", np.ones((2, 1)))).labels.tolist() == [0, 1]
    text("t2.csv", "y,p0,p1\n1,0.4,0.6\n0,0.5,0.5\n")
    r = open_dataset("t2.csv", "t2.csv", label_col="y")
    assert r.labels.tolist() == [1, 0] and r.classes == ("p0", "p1")


def test_2d_npy_labels_are_multilabel():
    r = open_dataset(npy("y.npy", np.eye(3, dtype=int)))
    assert r.multi_label and r.classes == ("0", "1", "2") and r.note.startswith("multi-label: labels are a 3 x 3")
    fails(open_dataset, "y.npy", multi_label=False, name="y.npy", match="multi-label data")
    fails(open_dataset, npy("y3.npy", np.zeros((2, 2, 2))), name="y3.npy", match="1-D")


def test_list_labels_in_parquet_are_multilabel():
    parquet("m.parquet", pd.DataFrame({"label": [[0, 1], [1]]}))
    r = open_dataset("m.parquet")
    assert r.multi_label and r.labels.tolist() == [[True, True], [False, True]]
    fails(open_dataset, "m.parquet", multi_label=False, name="m.parquet", match="multi-label")


def test_length_mismatch():
    fails(open_dataset, npy("y.npy", np.array([0, 1])), npy("p.npy", P3), name="p.npy",
          match="p.npy has 4 rows but y.npy has 2")


def test_pred_probs_validation_uses_core():
    npy("y.npy", np.array([0, 1]))
    fails(open_dataset, "y.npy", npy("p.npy", np.array([[0.5, 0.6], [0.5, 0.5]])), name="p.npy", match="--normalize")
    r = open_dataset("y.npy", "p.npy", normalize=True)
    assert np.allclose(r.pred_probs.sum(1), 1)
    fails(open_dataset, "y.npy", npy("s.npy", np.array([["a", "b"], ["c", "d"]])), name="s.npy", match="strings")


def test_text_probability_columns():
    parquet("t.parquet", pd.DataFrame({"label": [0, 1], "p_0": ["0.5", "0.3"], "p_1": ["0.5", "x"]}))
    fails(open_dataset, "t.parquet", "t.parquet", prob_prefix="p_", name="t.parquet", match=r"column 'p_1' holds text \('x' at row 1")
    parquet("ok.parquet", pd.DataFrame({"label": [0, 1], "p_0": ["0.5", "0.3"], "p_1": ["0.5", "0.7"]}))
    assert open_dataset("ok.parquet", "ok.parquet", prob_prefix="p_").pred_probs.tolist() == [[0.5, 0.5], [0.3, 0.7]]
    text("eu.csv", "label;p_0;p_1\n0;0,5;0,5\n")
    fails(open_dataset, "eu.csv", "eu.csv", prob_prefix="p_", name="eu.csv", match="decimal comma")
    text("none.csv", "label,name\n0,a\n1,b\n")
    fails(open_dataset, "none.csv", "none.csv", name="none.csv", match=r"no numeric columns .*columns: label, name")


# --------------------------------------------------------------------------------------- CSV dialects


@pytest.mark.parametrize("content", [
    b"\xef\xbb\xbflabel,cat,dog\ncat,0.1,0.9\ndog,0.6,0.4\n",          # UTF-8 BOM
    b"label;cat;dog\ncat;0.1;0.9\ndog;0.6;0.4\n",                      # semicolons
    b"label\tcat\tdog\ncat\t0.1\t0.9\ndog\t0.6\t0.4\n",                # tabs
    b"label,cat,dog\r\ncat,0.1,0.9\r\ndog,0.6,0.4\r\n",               # Windows line endings
    b'"label","cat","dog"\n"cat",0.1,"0.9"\n"dog",0.6,0.4\n',          # quoted fields
    b"label, cat, dog\ncat, 0.1, 0.9\ndog, 0.6, 0.4\n",                # spaces after commas
    gzip.compress(b"label,cat,dog\ncat,0.1,0.9\ndog,0.6,0.4\n", mtime=0),  # gzip without .gz
])
def test_csv_dialects(content):
    text("t.csv", content)
    r = open_dataset("t.csv", "t.csv")
    assert r.classes == ("cat", "dog") and r.labels.tolist() == [0, 1]
    assert r.pred_probs.tolist() == [[0.1, 0.9], [0.6, 0.4]]


def test_quoted_label_with_comma_and_tsv_and_csv_gz():
    text("q.csv", 'label,x\n"big, red",1\nsmall,2\n')
    r = open_dataset("q.csv", features="q.csv")
    assert r.classes == ("big, red", "small")
    text("t.tsv", "label\tx\n0\t1\n1\t2\n")
    assert open_dataset("t.tsv", features="t.tsv").features.tolist() == [[1], [2]]
    text("t.csv.gz", gzip.compress(b"label,x\n0,1\n1,2\n"))
    assert open_dataset("t.csv.gz", features="t.csv.gz").features.tolist() == [[1], [2]]
    text("cut.csv", gzip.compress(b"label,x\n" + b"0,1\n" * 1000)[:40])
    fails(read_table, "cut.csv", name="cut.csv", match="gzip")


def test_headerless_numeric_csv_keeps_first_row():
    np.savetxt("p.csv", P3, delimiter=",")
    np.savetxt("y.csv", np.array([0, 1, 2, 0]))
    r = open_dataset("y.csv", "p.csv")
    assert r.labels.tolist() == [0, 1, 2, 0] and np.allclose(r.pred_probs, P3)


def test_csv_structural_errors():
    text("dup.csv", "label,a,a\n0,1,2\n")
    fails(read_table, "dup.csv", name="dup.csv", match="column 'a' appears more than once")
    fails(read_table, text("empty.csv", ""), name="empty.csv", match="empty")
    fails(read_table, text("blank.csv", "\n\n  \n"), name="blank.csv", match="empty")
    fails(read_table, text("head.csv", "label,a,b\n"), name="head.csv", match="header but no data rows")
    fails(read_table, text("ragged.csv", "a,b\n1,2\n1,2,3,4\n"), name="ragged.csv", match="could not read as CSV")
    fails(read_table, text("latin.csv", "label\ncaf\xe9\n".encode("latin-1")), name="latin.csv", match="UTF-8")


# ---------------------------------------------------------------------------------- file problems


def test_parquet_problems():
    parquet("good.parquet", pd.DataFrame({"label": np.arange(200) % 2}))
    data = open("good.parquet", "rb").read()
    fails(read_table, text("cut.parquet", data[: len(data) // 2]), name="cut.parquet", match="could not read as Parquet")
    fails(read_table, text("junk.parquet", b"hello world, not parquet"), name="junk.parquet", match="Parquet")
    parquet("none.parquet", pd.DataFrame({"label": pd.Series([], dtype=int)}))
    fails(read_table, "none.parquet", name="none.parquet", match="no rows")


def test_npy_problems():
    npy("obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    fails(read_table, "obj.npy", name="obj.npy", match="pickled")
    fails(read_table, text("fake.npy", "label\n0\n"), name="fake.npy", match="not a .npy file")
    np.savez("arch.npz", a=P3)
    os.replace("arch.npz", "arch.npy")
    fails(read_table, "arch.npy", name="arch.npy", match="npz")
    data = open(npy("full.npy", np.arange(1000.0)), "rb").read()
    fails(read_table, text("cut.npy", data[:300]), name="cut.npy", match="could not read as .npy")


def test_path_problems(tmp_path):
    fails(read_table, "nope.csv", name="nope.csv", match="not found")
    os.mkdir("dir.csv")
    fails(read_table, "dir.csv", name="dir.csv", match="folder")
    fails(read_table, text("data.xlsx", "x"), name="data.xlsx", match=r"unsupported file type '.xlsx'; use .npy, .csv")
    fails(read_table, text("noext", "x"), name="noext", match="without an extension")
    fails(open_dataset, "nope.npy", name="nope.npy", match="not found")


def test_permission_message_without_needing_a_non_root_user(monkeypatch):
    text("secret.csv", "label\n0\n")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    fails(read_table, "secret.csv", name="secret.csv", match="permission denied")
    fails(check_output_path, "out.csv", [], name="out.csv", match="not writable")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file():
    text("secret.csv", "label\n0\n")
    os.chmod("secret.csv", 0)
    try:
        fails(read_table, "secret.csv", name="secret.csv", match="permission denied")
    finally:
        os.chmod("secret.csv", 0o644)


# ------------------------------------------------------------------------------------------ writers


DF = pd.DataFrame({"index": [3, 0, 1], "given_label": ["cat", "dog", "cat"],
                   "label_score": [1 / 3, 0.1, 2e-17], "is_label_issue": [True, False, True]})


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"])
def test_write_table_round_trips(suffix):
    write_table(DF, "out" + suffix)
    back = pd.read_csv("out.csv") if suffix == ".csv" else pd.read_parquet("out" + suffix)
    assert back["label_score"].tolist() == DF["label_score"].tolist()  # full float precision
    assert back["given_label"].tolist() == ["cat", "dog", "cat"]
    assert back["is_label_issue"].tolist() == [True, False, True] and list(back.columns) == list(DF.columns)


def test_write_table_json_and_jsonl():
    df = DF.assign(label_score=[np.nan, 0.5, 1 / 3])
    write_table(df, "out.json")
    recs = json.load(open("out.json"))
    assert recs[0] == {"index": 3, "given_label": "cat", "label_score": None, "is_label_issue": True}
    assert recs[2]["label_score"] == 1 / 3
    write_table(df, "out.jsonl")
    lines = open("out.jsonl").read().splitlines()
    assert len(lines) == 3 and json.loads(lines[1])["given_label"] == "dog"
    write_table(df.iloc[:0], "empty.json")
    assert json.load(open("empty.json")) == []


def test_write_table_stdout(capsys):
    write_table(DF, "-")
    out = capsys.readouterr().out
    assert out.startswith("index,given_label,label_score,is_label_issue\n3,cat,0.3333333333333333,True\n")


def test_write_json_numpy_and_nan(capsys):
    obj = {"score": np.float32(0.5), "n": np.int64(3), "m": np.eye(2), "nan": float("nan"),
           "flags": np.array([True, False]), "inf": np.inf, 7: ("a", None)}
    write_json(obj, "h.json")
    text_out = open("h.json").read()
    assert json.loads(text_out) == {"score": 0.5, "n": 3, "m": [[1.0, 0.0], [0.0, 1.0]], "nan": None,
                                    "flags": [True, False], "inf": None, "7": ["a", None]}
    assert text_out.startswith('{\n  "score": 0.5,') and text_out.endswith("\n")
    write_json({"rows": DF.iloc[:1], "when": pd.Timestamp("2024-01-02")}, "df.json")
    assert json.load(open("df.json")) == {"rows": [{"index": 3, "given_label": "cat", "label_score": 1 / 3,
                                                    "is_label_issue": True}], "when": "2024-01-02T00:00:00"}
    write_json({"b": 1, "a": 2}, "-")
    assert capsys.readouterr().out == '{\n  "b": 1,\n  "a": 2\n}\n'  # insertion order kept
    fails(write_json, {}, "h.csv", name="h.csv", match=r"use \.json")


def test_write_array_formats(capsys):
    arr = np.array([[0.25, 0.75], [1 / 3, 2 / 3]])
    write_array(arr, "a.npy")
    assert np.array_equal(np.load("a.npy"), arr)
    write_array(arr, "a.csv", columns=["cat", "dog"])
    assert pd.read_csv("a.csv").to_numpy().tolist() == arr.tolist()
    assert open("a.csv").readline() == "cat,dog\n"
    write_array(arr, "a.parquet")
    assert list(pd.read_parquet("a.parquet").columns) == ["0", "1"]
    write_array(np.array([1, 2]), "-")
    assert capsys.readouterr().out == "0\n1\n2\n"
    fails(write_array, arr, "a.json", name="a.json", match="cannot write")


def test_outputs_are_deterministic():
    for suffix in (".csv", ".parquet", ".json", ".jsonl"):
        write_table(DF, "one" + suffix)
        write_table(DF.copy(), "two" + suffix)
        assert open("one" + suffix, "rb").read() == open("two" + suffix, "rb").read(), suffix
    write_array(P3, "one.npy")
    write_array(P3, "two.npy")
    assert open("one.npy", "rb").read() == open("two.npy", "rb").read()


def test_new_file_permissions_follow_umask():
    old = os.umask(0o027)
    try:
        write_table(DF, "perm.csv")
    finally:
        os.umask(old)
    assert os.stat("perm.csv").st_mode & 0o777 == 0o640
    os.chmod("perm.csv", 0o600)
    write_table(DF, "perm.csv")  # an existing target keeps its mode
    assert os.stat("perm.csv").st_mode & 0o777 == 0o600


def leftovers():
    return [n for n in os.listdir(".") if n.endswith(".tmp")]


def test_atomic_write_keeps_old_target_on_failure(monkeypatch):
    text("out.csv", "old contents\n")

    def half_then_boom(df, f):
        f.write("index,partial\n1,")
        raise RuntimeError("boom")

    monkeypatch.setattr(writers, "write_csv", half_then_boom)
    with pytest.raises(RuntimeError):
        write_table(DF, "out.csv")
    assert open("out.csv").read() == "old contents\n" and leftovers() == []
    with pytest.raises(RuntimeError):
        write_table(DF, "new.csv")
    assert not os.path.exists("new.csv") and leftovers() == []


def test_atomic_parquet_and_json_failures_leave_nothing(monkeypatch):
    import pyarrow.parquet as pq

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", boom)
    fails(write_table, DF, "out.parquet", name="out.parquet", match="could not write: .*No space")
    assert not os.path.exists("out.parquet") and leftovers() == []
    with pytest.raises(TypeError):
        write_json({"x": object()}, "h.json")
    assert not os.path.exists("h.json") and leftovers() == []


def test_check_output_path():
    text("y.csv", "label\n0\n")
    check_output_path("-", ["y.csv"])
    check_output_path("out.csv", ["y.csv", None, "-"])
    fails(check_output_path, "y.csv", ["y.csv"], name="y.csv", match="would overwrite the input file y.csv")
    os.mkdir("sub")
    fails(check_output_path, "sub/../y.csv", ["y.csv"], name="y.csv", match="overwrite")
    os.symlink("y.csv", "link.csv")
    fails(check_output_path, "link.csv", ["y.csv"], name="link.csv", match="overwrite")
    os.link("y.csv", "hard.csv")
    fails(check_output_path, "hard.csv", ["y.csv"], name="hard.csv", match="overwrite")
    fails(check_output_path, "x/out.csv", [], name="x/out.csv", match="folder 'x/' does not exist; create it first")
    fails(check_output_path, "y.csv/out.csv", [], name="y.csv/out.csv", match="not a folder")
    fails(check_output_path, "sub", [], name="sub", match="is a folder")
    fails(check_output_path, "out.txt", [], name="out.txt", match="cannot write file type '.txt'")


def test_writers_refuse_inputs_and_missing_folders():
    text("y.csv", "label\n0\n")
    fails(write_table, DF, "y.csv", inputs=["y.csv"], name="y.csv", match="overwrite")
    assert open("y.csv").read() == "label\n0\n"
    fails(write_json, {}, "no/h.json", name="no/h.json", match="does not exist")
    fails(write_array, P3, "no/a.npy", name="no/a.npy", match="does not exist")
    fails(write_table, DF, "out.npy", name="out.npy", match="cannot write")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder():
    os.mkdir("ro")
    os.chmod("ro", 0o555)
    try:
        fails(check_output_path, "ro/out.csv", [], name="ro/out.csv", match="not writable")
    finally:
        os.chmod("ro", 0o755)
