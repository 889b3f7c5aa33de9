"""labelcli.io.readers: CSV dialects and the problems a file can have (each a one-line error)."""
from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pytest

from labelcli.errors import LabelError

from labelcli.io import check_output_path, open_dataset, read_table
from tests.conftest import fails, npy, parquet, text

pytestmark = pytest.mark.usefixtures("in_tmp")

P3 = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])


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


def test_memory_check_of_a_gzipped_csv_uses_the_uncompressed_size(tmp_path, monkeypatch):
    """Issue #17 class 6: a few hundred KB of gzip can hold gigabytes of CSV text."""
    import gzip

    from labelcli.io import memory, readers

    path = tmp_path / "y.csv.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"label\n" + b"0\n1\n" * 500_000)
    assert readers.gzip_text_size(str(path)) == 6 + 2_000_000
    assert path.stat().st_size < 20_000
    monkeypatch.setattr(memory, "available_memory", lambda: 1_000_000)  # more than the file, less than its text
    # 1M rows of one short cell: ~40 bytes a row once parsed (readers.csv_memory_need), not the 2 MB of text
    with pytest.raises(LabelError, match=r"y\.csv\.gz: the CSV file \(uncompressed\) needs 40\.0MB"):
        readers.read_table(str(path))


def test_csv_memory_need_counts_rows_not_only_text(tmp_path):
    """Issue #17 class 6: pandas holds a short labels cell in far more bytes than its text (a 197 KiB
    gzipped labels CSV took 3.3 GB), so the estimate counts rows; wide numeric rows stay near 2x text."""
    from labelcli.io import readers

    short = tmp_path / "y.csv"
    short.write_text("label\n" + "cat\n" * 100_000)
    size = short.stat().st_size
    assert readers.csv_memory_need(str(short), size, readers.csv_options(str(short), "y", None)) >= 9 * size
    wide = tmp_path / "p.csv"
    wide.write_text(",".join(f"p{i}" for i in range(20)) + "\n" + ("0.0123456789," * 19 + "0.5\n") * 20_000)
    size = wide.stat().st_size
    assert 2 * size <= readers.csv_memory_need(str(wide), size, readers.csv_options(str(wide), "p", None)) <= 3 * size
