"""The files of the review loop: rows already reviewed (find-issues --exclude), review tables
(fix --decisions, fix --issues) and cleaned labels (evaluate --clean-labels, as fix writes them).
"""
from __future__ import annotations

import numpy as np

from labelcli.errors import LabelError
from labelcli.io.formats import display_name, preview
from labelcli.io.readers import read_table


def read_row_indices(path: str, num_rows: int) -> np.ndarray:
    """Row indices listed in a file: the ``index`` column of a table (e.g. a reviewed issues
    table) or a 1-D integer ``.npy``. Used by ``find-issues --exclude``."""
    name = display_name(path)
    src = read_table(path)
    if isinstance(src, np.ndarray):
        values = src.reshape(-1) if src.ndim <= 2 and src.size == len(src) else None
        if values is None or values.dtype.kind not in "iu":
            raise LabelError(f"{name}: expected a 1-D array of row indices, got {src.dtype} with shape {src.shape}")
    else:
        if "index" not in src.columns:
            raise LabelError(f"{name}: no 'index' column (columns: {preview(list(src.columns))}); the file"
                             " should list reviewed rows by their 'index', as find-issues writes it")
        col = src["index"]
        values = col.to_numpy()
        if col.isna().any() or values.dtype.kind not in "iu":
            bad = int(np.flatnonzero(col.isna().to_numpy() | ~col.astype(str).str.fullmatch(r"\d+").to_numpy())[0])
            raise LabelError(f"{name}: 'index' at row {bad} (0-based) is '{col.iloc[bad]}', not a row number")
    values = values.astype(np.int64)
    out = np.flatnonzero((values < 0) | (values >= num_rows))
    if out.size:
        raise LabelError(f"{name}: index {int(values[out[0]])} is outside 0..{num_rows - 1}; is this file from"
                         " another dataset?")
    return values


def read_review_table(path: str, what: str, required: tuple[str, ...]):
    """A table (.csv / .parquet) that must have the ``required`` columns, e.g. review decisions
    (``what`` names it in messages: "decisions", "issues")."""
    df = read_table(path)
    if isinstance(df, np.ndarray):
        raise LabelError(f"{path}: {what} must be a table (.csv/.parquet) with columns {', '.join(required)}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise LabelError(f"{path}: no column '{missing[0]}' (columns: {', '.join(map(str, list(df.columns)[:10]))});"
                         f" {what} need columns {', '.join(required)}")
    return df


def rows_in_index_order(src, n: int, path: str):
    """A cleaned-labels table (n rows, like --labels) in row order: by its `index` column when it
    has one (which must list the rows 0..n-1)."""
    if len(src) != n:
        raise LabelError(f"{path}: {len(src)} rows but --labels has {n}; was it made from these labels?")
    if "index" in src.columns:
        order = np.argsort(src["index"].to_numpy(), kind="stable")
        if not np.array_equal(src["index"].to_numpy()[order], np.arange(n)):
            raise LabelError(f"{path}: column index is not the rows 0..{n - 1}; was it made from these labels?")
        src = src.iloc[order].reset_index(drop=True)
    return src


def read_clean_labels(path: str, labels, classes, label_col: str = "label", *, labels_name: str = "labels"):
    """Read cleaned labels as (class indices, keep, weight or None), aligned with `labels`: the table
    written by `fix` (keep / weight / original_label / index columns honoured), an .npy array
    (-1 or "" = dropped), or plain labels (nothing dropped). Names map through `classes`."""
    from labelcli.core.fixing import bool_cells, class_indices

    n, names = len(labels), classes
    src = read_table(path)
    where = lambda r: f"{path} row {r} (0-based)"  # noqa: E731
    if isinstance(src, np.ndarray):
        if src.ndim != 1 or len(src) != n:
            raise LabelError(f"{path}: cleaned labels have shape {src.shape} but --labels has {n} rows")
        vals = src.astype(object)
        keep = ~((src == -1) if src.dtype.kind in "iuf" else (src.astype(str) == ""))
        weight = None
    else:
        src = rows_in_index_order(src, n, path)
        col = "label" if "label" in src.columns else label_col if label_col in src.columns else \
            src.columns[0] if len(src.columns) == 1 else None
        if col is None:
            raise LabelError(f"{path}: no column 'label' (columns: {', '.join(map(str, list(src.columns)[:10]))})")
        vals = src[col].to_numpy(dtype=object)
        keep = bool_cells(src["keep"].to_numpy(dtype=object), what="keep", where=where) if "keep" in src.columns \
            else np.ones(n, dtype=bool)
        weight = src["weight"].to_numpy(dtype=np.float64) if "weight" in src.columns else None
        if "original_label" in src.columns:
            orig = class_indices(src["original_label"].to_numpy(dtype=object), names, what="original_label", where=where)
            bad = np.flatnonzero(orig != labels)
            if bad.size:
                raise LabelError(f"{where(int(bad[0]))}: original_label differs from {labels_name}; was it"
                                 " made from these labels?")
    idx = np.where(keep, -1, labels)
    idx[keep] = class_indices(vals[keep], names, what="label", where=lambda r: where(int(np.flatnonzero(keep)[r])))
    if (idx < 0).any():
        raise LabelError(f"{where(int(np.flatnonzero(idx < 0)[0]))}: label is blank on a kept row")
    return idx, keep, weight


def read_fix_state(path: str, classes, sep: str | None = None):
    """The state a `fix` output carries into the next round: (original_label as class indices,
    keep), or None when ``path`` is not a `fix` output (labelcli.io.labels.is_fix_output).
    Multi-label (``sep``: --label-sep): original_labels as an N x K tag matrix."""
    from labelcli.core.fixing import bool_cells, class_indices
    from labelcli.io.labels import is_fix_output

    src = read_table(path)
    if not is_fix_output(src):
        return None
    where = lambda r: f"{display_name(path)} row {r} (0-based)"  # noqa: E731
    if "index" in src.columns:
        src = src.iloc[np.argsort(src["index"].to_numpy(), kind="stable")].reset_index(drop=True)
    keep = bool_cells(src["keep"].to_numpy(dtype=object), what="keep", where=where)
    if sep is not None:
        from labelcli.core.tagfix import tag_cells

        if "original_labels" not in src.columns:
            raise LabelError(f"{display_name(path)}: a multi-label fix output has a column original_labels")
        return tag_cells(src["original_labels"].to_numpy(dtype=object), classes, sep, where), keep
    orig = class_indices(src["original_label"].to_numpy(dtype=object), classes, what="original_label", where=where)
    if (orig < 0).any():
        raise LabelError(f"{where(int(np.flatnonzero(orig < 0)[0]))}: original_label is blank")
    return orig, keep


def earlier_changelog(path: str | None):
    """An existing --changelog table, to append this round's rows to (None: no such file)."""
    import os

    if path is None or path == "-" or not os.path.exists(path):
        return None
    df = read_table(path)
    if isinstance(df, np.ndarray):
        raise LabelError(f"{display_name(path)}: an existing changelog must be a table to append to")
    return df


def append_changelog(before, log, path: str):
    """The earlier rounds' changelog rows (``before``, earlier_changelog), then this round's, in
    this round's column types."""
    import pandas as pd

    missing = [c for c in log.columns if c not in before.columns]
    if missing:
        raise LabelError(f"{path}: the existing changelog has no column '{missing[0]}'; give a new --changelog path")

    def cells(col):
        return [None if pd.isna(v) else v for v in before[col].tolist()] + log[col].tolist()

    return pd.DataFrame({c: pd.array(cells(c), dtype=log[c].dtype) for c in log.columns})


def read_clean_tags(path: str, labels, classes, label_col: str = "label", sep: str = ",", *,
                    labels_name: str = "labels"):
    """Multi-label read_clean_labels: (N x K tags, keep, weight or None) aligned with ``labels``
    (N x K): the table `fix` writes (labels, original_labels, keep, weight, index honoured), a
    tags table (column ``label_col``) or a 2-D 0/1 .npy matrix (nothing dropped)."""
    from labelcli.core.fixing import bool_cells
    from labelcli.core.tagfix import tag_cells

    n, k = labels.shape
    src = read_table(path)
    where = lambda r: f"{path} row {r} (0-based)"  # noqa: E731
    if isinstance(src, np.ndarray):
        if src.shape != (n, k) or src.dtype.kind not in "biuf" or not np.isin(src, (0, 1)).all():
            raise LabelError(f"{path}: cleaned tags must be a {n} x {k} 0/1 matrix (like --labels), got {src.dtype}"
                             f" with shape {src.shape}")
        return src.astype(bool), np.ones(n, dtype=bool), None
    src = rows_in_index_order(src, n, path)
    col = "labels" if "labels" in src.columns else label_col if label_col in src.columns else None
    if col is None:
        raise LabelError(f"{path}: no column 'labels' or '{label_col}' (columns: {preview(list(src.columns))})")
    tags = tag_cells(src[col].to_numpy(dtype=object), classes, sep, where)
    keep = bool_cells(src["keep"].to_numpy(dtype=object), what="keep", where=where) if "keep" in src.columns \
        else np.ones(n, dtype=bool)
    weight = src["weight"].to_numpy(dtype=np.float64) if "weight" in src.columns else None
    if "original_labels" in src.columns:
        bad = np.flatnonzero((tag_cells(src["original_labels"].to_numpy(dtype=object), classes, sep, where)
                              != labels).any(axis=1))
        if bad.size:
            raise LabelError(f"{where(int(bad[0]))}: original_labels differ from {labels_name}; was it made from"
                             " these labels?")
    return tags, keep, weight
