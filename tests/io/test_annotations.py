"""labelcli.io.annotations: long and wide tables, .npy, class names, ids, and the refusals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelcli.errors import LabelError
from labelcli.io.annotations import read_annotations

LONG = "example,annotator,label\n0,ann,cat\n0,bob,dog\n1,ann,dog\n1,cy,dog\n2,bob,cat\n2,cy,cat\n"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_long_csv_names(tmp_path):
    a = read_annotations(write(tmp_path, "a.csv", LONG))
    assert a.layout == "long" and a.classes == ("cat", "dog") and a.annotators == ("ann", "bob", "cy")
    assert a.matrix.tolist() == [[0, 1, -1], [1, -1, 1], [-1, 0, 0]]
    assert a.examples is None and a.label_kind == "str"


def test_long_with_string_ids_keeps_their_first_order(tmp_path):
    text = "item,who,y\nb7,x,1\na2,x,0\nb7,z,1\na2,z,0\n"
    a = read_annotations(write(tmp_path, "a.csv", text), example_col="item", annotator_col="who", label_col="y")
    assert list(a.examples) == ["b7", "a2"] and a.matrix.tolist() == [[1, 1], [0, 0]]


def test_long_parquet_and_pred_probs_column_names(tmp_path):
    df = pd.DataFrame({"example": [0, 0, 1, 1], "annotator": ["a", "b", "a", "b"], "label": ["dog", "dog", "cat", "dog"]})
    df.to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"dog": [0.9, 0.4], "cat": [0.1, 0.6]}).to_csv(tmp_path / "pp.csv", index=False)
    a = read_annotations(str(tmp_path / "a.parquet"), pred_probs=str(tmp_path / "pp.csv"))
    assert a.classes == ("dog", "cat") and a.matrix.tolist() == [[0, 0], [1, 0]]
    assert a.pred_probs.shape == (2, 2)


def test_wide_csv_with_empty_cells(tmp_path):
    a = read_annotations(write(tmp_path, "w.csv", "r1,r2,r3\n0,,1\n2,2,\n,1,1\n"))
    assert a.layout == "wide" and a.annotators == ("r1", "r2", "r3")
    assert a.matrix.tolist() == [[0, -1, 1], [2, 2, -1], [-1, 1, 1]] and a.classes == ("0", "1", "2")


def test_wide_table_index_and_id_columns_are_not_annotators(tmp_path):
    pd.DataFrame({"r1": [0, 1], "r2": [0, None]}).to_csv(tmp_path / "w.csv")  # pandas' unnamed index
    a = read_annotations(str(tmp_path / "w.csv"))
    assert a.annotators == ("r1", "r2") and a.matrix.tolist() == [[0, 0], [1, -1]]
    b = read_annotations(write(tmp_path, "v.csv", "id,r1,r2\n7,cat,dog\n8,dog,\n"))
    assert b.annotators == ("r1", "r2") and b.classes == ("cat", "dog")


def test_wide_npy_nan_and_minus_one(tmp_path):
    np.save(tmp_path / "w.npy", np.array([[0, np.nan, 1], [1, 1, -1]]))
    a = read_annotations(str(tmp_path / "w.npy"))
    assert a.matrix.tolist() == [[0, -1, 1], [1, 1, -1]] and a.annotators == ("0", "1", "2")


def test_classes_option_orders_the_names(tmp_path):
    a = read_annotations(write(tmp_path, "a.csv", LONG), classes="dog,cat")
    assert a.classes == ("dog", "cat") and a.matrix[0].tolist() == [1, 0, -1]


def test_row_numbers_follow_pred_probs(tmp_path):
    np.save(tmp_path / "pp.npy", np.full((4, 2), 0.5))
    text = "example,annotator,label\n0,a,0\n1,a,1\n2,a,0\n3,a,1\n0,b,0\n"
    a = read_annotations(write(tmp_path, "a.csv", text), pred_probs=str(tmp_path / "pp.npy"))
    assert a.matrix.shape == (4, 2)


@pytest.mark.parametrize("text, fragment", [
    ("example,annotator,label\n0,a,cat\n0,a,dog\n1,b,cat\n", "two labels from annotator 'a'"),
    ("example,annotator,label\n0,a,cat\n2,b,dog\n", "no annotation"),
    ("example,annotator,label\n0,a,cat\n1,b,\n", "has no label"),
    ("example,annotator,label\n0,a,cat\n1,b,bird\n", "bird"),
    ("example,annotator\n0,a\n1,b\n", "no column 'label'"),
])
def test_refused(tmp_path, text, fragment):
    with pytest.raises(LabelError, match=fragment):
        read_annotations(write(tmp_path, "a.csv", text), classes="cat,dog")


def test_example_beyond_pred_probs(tmp_path):
    np.save(tmp_path / "pp.npy", np.full((2, 2), 0.5))
    with pytest.raises(LabelError, match="example 5 is not a row of .*pp.npy"):
        read_annotations(write(tmp_path, "a.csv", "example,annotator,label\n0,a,0\n5,b,1\n"),
                         pred_probs=str(tmp_path / "pp.npy"))


def test_wide_rows_must_match_pred_probs(tmp_path):
    np.save(tmp_path / "pp.npy", np.full((3, 2), 0.5))
    with pytest.raises(LabelError, match="must match"):
        read_annotations(write(tmp_path, "w.csv", "a,b\n0,1\n1,1\n"), pred_probs=str(tmp_path / "pp.npy"))


def test_idle_annotator_column(tmp_path):
    with pytest.raises(LabelError, match="annotator 'c' labeled no example"):
        read_annotations(write(tmp_path, "w.csv", "a,b,c\n0,1,\n1,1,\n"))


def test_unknown_label_names_its_row(tmp_path):
    pd.DataFrame({"dog": [0.9, 0.4, 0.5], "cat": [0.1, 0.6, 0.5]}).to_csv(tmp_path / "pp.csv", index=False)
    wide = write(tmp_path, "w.csv", "a,b\ndog,cat\n,dog\ncat,bird\n")
    with pytest.raises(LabelError, match="'bird' at row 2 "):
        read_annotations(wide, pred_probs=str(tmp_path / "pp.csv"))


@pytest.mark.parametrize("cells", ["inf,1", "1e300,1", "0.5,1", "-inf,1"])
def test_non_integer_float_labels_are_refused_naming_the_file(tmp_path, cells):
    path = write(tmp_path, "w.csv", f"a,b\n{cells}\n1,1\n")
    with np.errstate(all="raise"), pytest.raises(LabelError, match=r"^.*w\.csv: label .* is not a class index"):
        read_annotations(path)


def test_non_integer_npy_label_names_the_file(tmp_path):
    np.save(tmp_path / "w.npy", np.array([[0.5, 1.0], [1.0, 1.0]]))
    with pytest.raises(LabelError, match=r"w\.npy: label 0\.5"):
        read_annotations(str(tmp_path / "w.npy"))


@pytest.mark.parametrize("table, fragment", [
    ({"example": [0, 0], "annotator": ["a", "b"], "label": [[1], [2]]}, "column 'label' holds a list"),
    ({"example": [0, 0], "annotator": [{"q": 1}, {"q": 2}], "label": [1, 2]}, "column 'annotator' holds a struct"),
    ({"a": [[1], [2]], "b": [1, 1]}, "column 'a' holds a list"),
])
def test_nested_parquet_cells_are_refused(tmp_path, table, fragment):
    """Parquet list / struct cells (was: '[1]' taken as a class name, or an internal error)."""
    pd.DataFrame(table).to_parquet(tmp_path / "n.parquet")
    with pytest.raises(LabelError, match=rf"n\.parquet: row 0 \(0-based\) of {fragment}"):
        read_annotations(str(tmp_path / "n.parquet"))


def test_several_models_and_unlabeled_follow_the_class_order(tmp_path):
    a_csv = write(tmp_path, "a.csv", LONG)
    write(tmp_path, "m1.csv", "dog,cat\n0.9,0.1\n0.4,0.6\n0.2,0.8\n")
    np.save(tmp_path / "m2.npy", np.array([[0.7, 0.3], [0.5, 0.5], [0.1, 0.9]]))  # no names: m1's order
    write(tmp_path, "u1.csv", "dog,cat\n0.6,0.4\n")
    np.save(tmp_path / "u2.npy", np.array([[0.2, 0.8]]))
    a = read_annotations(a_csv, pred_probs=[str(tmp_path / "m1.csv"), str(tmp_path / "m2.npy")],
                         unlabeled_pred_probs=[str(tmp_path / "u1.csv"), str(tmp_path / "u2.npy")], classes="cat,dog")
    assert a.classes == ("cat", "dog") and a.pred_probs.shape == (2, 3, 2) and a.unlabeled.shape == (2, 1, 2)
    np.testing.assert_allclose(a.pred_probs[0, 0], [0.1, 0.9])
    np.testing.assert_allclose(a.pred_probs[1, 0], [0.3, 0.7])
    np.testing.assert_allclose(a.unlabeled[:, 0], [[0.4, 0.6], [0.8, 0.2]])
    assert a.models == ("m1.csv", "m2.npy") or all(m.endswith(n) for m, n in zip(a.models, ("m1.csv", "m2.npy")))


@pytest.mark.parametrize("second, fragment", [
    ("cat,dog\n0.9,0.1\n0.4,0.6\n0.2,0.8\n", "class columns"),
    ("dog,cat,owl\n0.8,0.1,0.1\n0.4,0.5,0.1\n0.2,0.7,0.1\n", "3 class columns"),
    ("dog,cat\n0.9,0.1\n", "1 rows"),
    ("dog,cat\n0.9,0.1\nnan,0.5\n0.2,0.8\n", "m2.csv"),
])
def test_models_that_do_not_match_are_refused(tmp_path, second, fragment):
    write(tmp_path, "m1.csv", "dog,cat\n0.9,0.1\n0.4,0.6\n0.2,0.8\n")
    write(tmp_path, "m2.csv", second)
    with pytest.raises(LabelError, match=fragment):
        read_annotations(write(tmp_path, "a.csv", LONG), pred_probs=[str(tmp_path / "m1.csv"), str(tmp_path / "m2.csv")])
