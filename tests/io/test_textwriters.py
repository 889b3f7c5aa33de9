"""labelcli.io.textwriters: the column-wise CSV and JSON writers (every result table is written by
them) must give exactly pandas' CSV and the JSON record loop, whatever the dtypes and slices."""
from __future__ import annotations

import numpy as np
import pytest


def _tricky_table(n: int = 3000):
    import pandas as pd

    rng = np.random.default_rng(5)
    floats = np.concatenate([rng.random(n) * 10.0 ** rng.integers(-30, 30, n),
                             [0.0, -0.0, 1.0, np.nan, np.inf, -np.inf, 1e-4, 9.9999e-5, 1e10, 1e16, 0.5, 5e-324]])
    m = len(floats)
    words = np.array(["a", "b,c", 'q"t', "x\ny", "r\rz", " sp ", "", "ünï", "None", "\\back\x01"], dtype=object)
    text = words[rng.integers(0, len(words), m)]
    missing = text.copy()
    missing[::7] = None
    return pd.DataFrame({"index": np.arange(m), "given_label": text, "predicted_label": missing,
                         "label_score": floats, "is_label_issue": rng.random(m) < 0.5,
                         "small": rng.integers(0, 255, m).astype(np.uint8),
                         "set": pd.array(np.where(rng.random(m) < 0.3, None, rng.integers(-5, 5, m)), dtype="Int64"),
                         "obj": pd.Series(missing, dtype=object)})


@pytest.mark.parametrize("rows", [1 << 17, 1000])  # one slice of rows, or several
def test_csv_writer_equals_pandas(tmp_path, monkeypatch, rows):
    from labelcli.io import textwriters, writers

    monkeypatch.setattr(textwriters, "WRITE_ROWS", rows)
    df = _tricky_table()
    assert textwriters.column_kinds(df) is not None  # every column above takes the column-wise path
    for sub in (df, df.iloc[:0], df.iloc[:1], df[["label_score", "obj"]]):
        writers.write_table(sub, str(tmp_path / "t.csv"))
        assert (tmp_path / "t.csv").read_bytes() == sub.to_csv(index=False, lineterminator="\n").encode()


@pytest.mark.parametrize("rows", [1 << 17, 1000])
def test_json_writers_equal_the_record_loop(tmp_path, monkeypatch, rows):
    from labelcli.io import textwriters, writers

    monkeypatch.setattr(textwriters, "WRITE_ROWS", rows)
    df = _tricky_table()
    for sub in (df, df.iloc[:0], df.iloc[:1], df[["given_label"]]):
        records = [textwriters.dump_json(r) for r in writers.json_records(sub)]
        writers.write_table(sub, str(tmp_path / "t.json"))
        writers.write_table(sub, str(tmp_path / "t.jsonl"))
        assert (tmp_path / "t.json").read_text("utf-8") == "[" + "".join(
            ("\n" if i == 0 else ",\n") + r for i, r in enumerate(records)) + "\n]\n"
        assert (tmp_path / "t.jsonl").read_text("utf-8") == "".join(r + "\n" for r in records)
