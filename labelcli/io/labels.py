"""Labels as read: one column of class indices or class names, with missing values refused.

raw_labels gives ("int", int64 indices) or ("str", names); labelcli.io.classes then maps names to
class indices. Multi-label columns are labelcli.io.tags.
"""
from __future__ import annotations

import numpy as np

from labelcli.errors import LabelError
from labelcli.io.formats import preview


def raw_labels(src, name: str, label_col: str):
    """Labels as ("int", int64 array) or ("str", object array of str), with missing values refused."""
    where = ""
    if isinstance(src, np.ndarray):
        arr = src
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        elif arr.ndim == 2:
            raise LabelError(
                f"{name}: labels have shape {arr.shape}; 2-D labels look like multi-label data;"
                " pass --multi-label"
            )
        elif arr.ndim != 1:
            raise LabelError(f"{name}: labels must be 1-D (one per example), got shape {arr.shape}")
    else:
        cols = list(src.columns)
        if label_col in cols:
            col = label_col
        elif len(cols) == 1:
            col = cols[0]
        else:
            raise LabelError(
                f"{name}: no column '{label_col}' (columns: {preview(cols)}); pass --label-col NAME"
            )
        s = src[col]
        where = f" in column '{col}'"
        if type(s.dtype).__name__ == "StringDtype" and len(s):
            return _string_labels(s.str.strip(), name, where)
        arr = s.to_numpy() if s.dtype.kind in "biuf" else s.to_numpy(dtype=object)
    if len(arr) == 0:
        raise LabelError(f"{name}: no labels (the input has 0 rows)")
    if arr.dtype.kind in "biu":
        big = np.flatnonzero(arr > np.iinfo(np.int64).max) if arr.dtype.kind == "u" else []
        if len(big):  # uint64 above int64: the cast would wrap to negative numbers
            r = int(big[0])
            raise LabelError(f"{name}: label {arr[r]} at row {r} (0-based){where} is too large to be a class index")
        return "int", arr.astype(np.int64)
    if arr.dtype.kind == "f":
        return "int", _float_labels(arr, name, where)
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "utf-8", errors="replace")
    if arr.dtype.kind == "U":
        import pandas as pd

        return _string_labels(pd.Series(np.char.strip(arr), dtype=object), name, where)
    if arr.dtype.kind != "O":
        raise LabelError(f"{name}: labels must be class indices or names, got dtype {arr.dtype}")
    return _object_labels(arr, name, where)


def _missing(r: int, name: str, where: str) -> LabelError:
    return LabelError(f"{name}: label missing at row {r} (0-based){where}; fill in or drop those rows")


def _float_labels(arr: np.ndarray, name: str, where: str) -> np.ndarray:
    nan = np.flatnonzero(np.isnan(arr))
    if nan.size:
        raise _missing(int(nan[0]), name, where)
    bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
    if bad.size:
        r = int(bad[0])
        raise LabelError(
            f"{name}: label {arr[r]:g} at row {r} (0-based){where} is not a whole number;"
            " labels must be class indices or class names"
        )
    big = np.flatnonzero(np.abs(arr) >= 2.0**62)  # checked before the cast, which would wrap around
    if big.size:
        r = int(big[0])
        raise LabelError(f"{name}: label {arr[r]:g} at row {r} (0-based){where} is far outside any class index;"
                         " labels must be class indices 0..K-1 or class names")
    return arr.astype(np.int64)


def _string_labels(s, name: str, where: str):
    """Stripped string labels (a pandas Series); NaN or blank is a missing label."""
    missing = s.isna().to_numpy(dtype=bool) | (s.fillna("x") == "").to_numpy(dtype=bool)
    if missing.any():
        raise _missing(int(np.flatnonzero(missing)[0]), name, where)
    return "str", s.to_numpy(dtype=object)


def _object_labels(arr: np.ndarray, name: str, where: str):
    ints = floats = True
    for r, v in enumerate(arr):
        if v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType"):
            raise _missing(r, name, where)
        if isinstance(v, dict):
            raise LabelError(f"{name}: label at row {r} (0-based){where} is a struct (a Parquet record), not a"
                             " class; give a column of class names or indices")
        if isinstance(v, (list, tuple, np.ndarray, set)):
            raise LabelError(
                f"{name}: label at row {r} (0-based){where} is a list; lists of labels are"
                " multi-label data, pass --multi-label"
            )
        is_num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        ints = ints and is_num and isinstance(v, (int, np.integer))
        floats = floats and is_num
    if ints:
        return "int", arr.astype(np.int64)
    if floats:
        return "int", _float_labels(arr.astype(np.float64), name, where)
    out = np.array([str(v).strip() for v in arr], dtype=object)
    empty = np.flatnonzero(out == "")
    if empty.size:
        raise _missing(int(empty[0]), name, where)
    return "str", out


FIX_COLUMNS = ("original_label", "keep")  # a table written by `fix` has these (and index, label)
TAG_FIX_COLUMNS = ("original_labels", "keep")  # ... on multi-label data (and index, labels)


def is_fix_output(src) -> bool:
    """A labels table written by `fix` (a first-class labels file: label, original_label, keep;
    multi-label: labels, original_labels, keep)."""
    return not isinstance(src, np.ndarray) and any(all(c in src.columns for c in cols)
                                                    for cols in (FIX_COLUMNS, TAG_FIX_COLUMNS))


def skipped_rows(src, name: str):
    """The ONE rule for a `fix` output read as labels: rows with keep=false were dropped by an
    earlier review and are skipped (they keep their row numbers). A boolean mask (True = skip),
    or None for any other labels file."""
    if not is_fix_output(src):
        return None
    from labelcli.core.fixing import bool_cells

    keep = bool_cells(src["keep"].to_numpy(dtype=object), what="keep",
                      where=lambda r: f"{name} row {r} (0-based)")
    return ~keep
