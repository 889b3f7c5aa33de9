"""Multi-label (tag) columns: detect them and flatten them into (row, tag) pairs.

Three forms are read (DESIGN.md section 2): a list column (Parquet), a delimited string column
(CSV, ``--label-sep``, an empty cell means no tag) and a 2-D 0/1 ``.npy`` matrix. Tags are class
indices or class names; labelcli.io.classes resolves the names and builds the N x K matrix (to_matrix).
"""
from __future__ import annotations

import numpy as np

from labelcli.errors import LabelError
from labelcli.io.formats import preview

_LISTS = (list, tuple, np.ndarray)


def label_column(src, name: str, label_col: str) -> str:
    """The column holding the labels: ``label_col``, or the only column of a one-column table, or
    'labels' of a multi-label `fix` output (which has no column ``label_col``)."""
    col = _tag_column(list(src.columns), label_col)
    if col is not None:
        return col
    cols = list(src.columns)
    raise LabelError(f"{name}: no column '{label_col}' (columns: {preview(cols)}); pass --label-col NAME")


def looks_multilabel(src, label_col: str, sep: str) -> str | None:
    """Why the labels are unambiguously multi-label (a short phrase for the note), else None."""
    if isinstance(src, np.ndarray):
        if src.ndim == 2 and src.shape[1] >= 2:
            return f"labels are a {src.shape[0]} x {src.shape[1]} matrix"
        return None
    col = _tag_column(list(src.columns), label_col)
    if col is None:
        return None  # the multi-class reader names the missing column
    s = src[col]
    if s.dtype == object and s.map(lambda v: isinstance(v, _LISTS)).any():
        return f"column '{col}' holds lists of tags"
    if (s.dtype == object or type(s.dtype).__name__ == "StringDtype") and _separated_tags(s, sep):
        return f"column '{col}' holds '{sep}'-separated tags"
    return None


def _tag_column(cols: list, label_col: str) -> str | None:
    if label_col in cols:
        return label_col
    if len(cols) == 1:
        return cols[0]
    if all(c in cols for c in ("labels", "original_labels", "keep")):  # a multi-label `fix` output
        return "labels"
    return None


def _separated_tags(s, sep: str) -> bool:
    """Cells like "a,b" are tags when a part recurs in another cell ("a", or "a,c"); a class
    name that merely contains the separator ("big, red") is not split."""
    import pandas as pd

    cells = pd.Series(s.dropna().astype(str).str.strip().unique())
    parts = cells.str.split(sep, regex=False).explode().str.strip()
    pairs = pd.DataFrame({"cell": parts.index, "part": parts.to_numpy()})
    pairs = pairs[pairs["part"].notna() & (pairs["part"] != "")].drop_duplicates()
    parts_per_cell = pairs.groupby("cell").size()
    cells_per_part = pairs.groupby("part").size()
    in_multi = pairs.loc[pairs["cell"].isin(parts_per_cell.index[parts_per_cell >= 2]), "part"].unique()
    return bool((cells_per_part.loc[in_multi] >= 2).any())


def flat_tags(src, name: str, label_col: str, sep: str):
    """Tags as ``(kind, rows, values, n)``: value ``values[t]`` is a tag of example ``rows[t]``.

    ``kind`` is "int" (class indices) or "str" (class names), or "matrix" with ``values`` the
    N x K 0/1 matrix itself (and ``rows`` None).
    """
    import pandas as pd

    if isinstance(src, np.ndarray):
        return "matrix", None, _zero_one_matrix(src, name), len(src)
    col = label_column(src, name, label_col)
    where = f" in column '{col}'"
    s = src[col].reset_index(drop=True)
    n = len(s)
    if n == 0:
        raise LabelError(f"{name}: no labels (the input has 0 rows)")
    if s.dtype.kind in "biuf":
        e = s
    elif s.map(lambda v: isinstance(v, _LISTS)).any():
        e = s.map(lambda v: list(v) if isinstance(v, _LISTS) else v).explode()
    else:
        e = s.astype("string").str.split(sep, regex=False).explode()
    e = e[e.notna()]
    if e.dtype == object or type(e.dtype).__name__ == "StringDtype":
        text = e.astype("string").str.strip()
        e = e[(text != "").to_numpy(dtype=bool)]
    rows = e.index.to_numpy(dtype=np.int64)
    values = e.to_numpy(dtype=object) if e.dtype.kind not in "biuf" else e.to_numpy()
    if len(values) == 0:
        raise LabelError(f"{name}: no example has any tag{where}; check --label-col and --label-sep")
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind in ("integer", "boolean") or values.dtype.kind in "biu":
        return "int", rows, values.astype(np.int64), n
    if kind == "floating" or values.dtype.kind == "f":
        f = values.astype(np.float64)
        bad = np.flatnonzero(f != np.round(f))
        if bad.size:
            r = int(bad[0])
            raise LabelError(f"{name}: tag {f[r]:g} at row {int(rows[r])} (0-based){where} is not a"
                             " whole number; tags must be class indices or class names")
        return "int", rows, f.astype(np.int64), n
    strs = np.array([str(v).strip() for v in values], dtype=object) if kind != "string" else \
        pd.Series(values, dtype="string").str.strip().to_numpy(dtype=object)
    return "str", rows, strs, n


def _zero_one_matrix(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim != 2:
        raise LabelError(f"{name}: multi-label labels must be a 2-D 0/1 matrix (N x K), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise LabelError(f"{name}: no labels (the input has 0 rows)")
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind not in "iuf":
        raise LabelError(f"{name}: multi-label labels must be a 0/1 matrix, got dtype {arr.dtype}")
    bad = np.argwhere((arr != 0) & (arr != 1))
    if bad.size:
        r, c = (int(v) for v in bad[0])
        raise LabelError(f"{name}: value {arr[r, c]:g} at row {r}, column {c} (0-based); a multi-label"
                         " matrix holds only 0 and 1 (1 = the example has the tag)")
    return arr == 1


def to_matrix(rows: np.ndarray, idx: np.ndarray, n: int, k: int) -> np.ndarray:
    """The N x K boolean tag matrix from (row, class index) pairs."""
    out = np.zeros((n, k), dtype=bool)
    out[rows, idx] = True
    return out
