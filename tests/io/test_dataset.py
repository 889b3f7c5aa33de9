"""labelcli.io.open_dataset: input formats (.npy, CSV, Parquet, stdin), class names and their
order, label values, lengths."""
from __future__ import annotations

import gzip
import io
import types

import numpy as np
import pandas as pd
import pytest

from labelcli.io import Dataset, open_dataset, read_table
from tests.conftest import fails, npy, parquet, text

pytestmark = pytest.mark.usefixtures("in_tmp")

P3 = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])


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
    fails(open_dataset, "y.npy", npy("p.npy", np.array([[0.5, 0.6], [0.5, 0.5]])), name="p.npy", match="the `normalize` option")
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


def test_struct_labels_are_named_as_such():
    """A Parquet struct column as labels: not "a list ... pass --multi-label"."""
    labels = parquet("s.parquet", pd.DataFrame({"label": [{"a": 1}, {"a": 2}]}))
    msg = fails(open_dataset, labels, npy("p.npy", np.full((2, 2), 0.5)), name="s.parquet", match="is a struct")
    assert "--multi-label" not in msg
