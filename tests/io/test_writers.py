"""labelcli.io.writers: every output format, stdout, determinism, file modes, atomic replacement,
refused outputs."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from labelcli.io import check_output_path, write_array, write_json, write_table, writers
from tests.conftest import fails, text

pytestmark = pytest.mark.usefixtures("in_tmp")

P3 = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])


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
