"""Annotations from several annotators: a long table (one row per example, annotator, label) or
a wide N x M table or .npy (one column per annotator, missing values empty, NaN or -1), read into
the N x M class-index matrix of labelcli.core.consensus (-1 = not labeled).

Policies (README "Several annotators"): in a long table, integer example ids are row numbers
(0..N-1, the rows of --pred-probs); other ids keep the order they first appear in and are carried
into the output. Duplicate (example, annotator) rows, a row without a label, an example without
any annotation and a label that is not a class are refused with one line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labelcli.errors import LabelError
from labelcli.io.classes import parse_classes, resolve_classes
from labelcli.io.columns import class_names_from_columns, numeric_columns
from labelcli.io.formats import display_name, preview
from labelcli.io.readers import read_table

MISSING = -1


@dataclass(frozen=True, eq=False)
class Annotations:
    """The annotations matrix (N x M int64, -1 missing), annotator names, class names, the
    example ids of a long table with non-integer ids (else None), and pred_probs if given: N x K
    for one model, P x N x K for several (``models`` names their files); ``unlabeled`` the
    models' pred_probs for examples nobody labeled (U x K or P x U x K), if given."""

    matrix: np.ndarray
    annotators: tuple
    classes: tuple
    examples: np.ndarray | None
    pred_probs: np.ndarray | None
    label_kind: str  # "int" or "str": how the labels were written (the consensus is written alike)
    layout: str  # "long" or "wide"
    models: tuple = ()
    unlabeled: np.ndarray | None = None


def _missing_cells(values: np.ndarray) -> np.ndarray:
    """Empty cells: None, NaN, '' or -1."""
    import pandas as pd

    s = pd.Series(values, dtype=object)
    blank = s.isna().to_numpy() | s.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy()
    minus = s.map(lambda v: (isinstance(v, (int, float, np.integer, np.floating)) and v == -1)
                  or (isinstance(v, str) and v.strip() == "-1")).to_numpy()
    return blank | minus


def _raw_values(values: np.ndarray, name: str):
    """The given labels as ("int", int64) or ("str", object array of stripped names)."""
    if values.dtype.kind in "biu":
        if values.dtype.kind == "u" and values.size and values.max() > 2**62:
            raise LabelError(f"{name}: label {values.max()} is not a class index")
        return "int", values.astype(np.int64)
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values) | (np.abs(values) >= 2.0**62)
        bad |= ~bad & (values != np.round(np.where(bad, 0, values)))
        if bad.any():
            raise LabelError(f"{name}: label {values[bad][0]} is not a class index or name")
        return "int", values.astype(np.int64)
    vals = np.array([str(v).strip() for v in values], dtype=object)
    return "str", vals


def _classes_and_indices(values, given, prob_names, k_probs, name, probs_name, rows=None):
    kind, raw = _raw_values(values, name)
    if kind == "int" and (raw < 0).any():
        raise LabelError(f"{name}: label {int(raw[raw < 0][0])} is negative (use an empty cell, NaN or -1 for missing)")
    names, idx, order = resolve_classes(kind, raw, given, prob_names, k_probs, name, probs_name, rows=rows)
    idx = np.asarray(idx, dtype=np.int64)
    if (idx >= len(names)).any():
        bad = int(idx[idx >= len(names)][0])
        raise LabelError(f"{name}: label {bad} is outside 0..{len(names) - 1} ({len(names)} classes);"
                         " pass --classes or fix the file")
    return kind, names, idx, order


def read_pred_probs(path: str, *, prob_prefix: str | None, normalize: bool):
    """pred_probs N x K and their column (class) names, or None when the file is a .npy."""
    from labelcli.core.validate import as_pred_probs

    name = display_name(path)
    p, cols = numeric_columns(read_table(path), name, "label", prob_prefix, None, "pred_probs", "--prob-prefix")
    names = class_names_from_columns(cols, prob_prefix, name) if cols is not None else None
    return as_pred_probs(p, name=name, normalize=normalize), names


def read_models(paths: Sequence[str], *, prob_prefix: str | None, normalize: bool, option: str = "--pred-probs",
                like=None):
    """Several models' pred_probs (one file each): a list of N x K arrays, the class names of the
    first file with column names (or None). Every file has the same rows and class columns (and
    ``like``'s, a (K, names) pair, when given)."""
    arrays, names, named, first = [], None, None, display_name(paths[0])
    for path in paths:
        name = display_name(path)
        p, cols = read_pred_probs(path, prob_prefix=prob_prefix, normalize=normalize)
        k_want = arrays[0].shape[1] if arrays else (like[0] if like else p.shape[1])
        if p.shape[1] != k_want:
            against = first if arrays else "--pred-probs"
            raise LabelError(f"{name} has {p.shape[1]} class columns but {against} has {k_want};"
                             f" every {option} file needs the same classes")
        if arrays and len(p) != len(arrays[0]):
            raise LabelError(f"{name} has {len(p)} rows but {first} has {len(arrays[0])}; every {option} file"
                             " needs one row per example, in the same order")
        want = names if names is not None else (like[1] if like else None)
        if cols is not None and want is not None and tuple(cols) != tuple(want):
            raise LabelError(f"{name}: class columns {preview([str(c) for c in cols])} differ from"
                             f" {named or '--pred-probs'}'s {preview([str(c) for c in want])};"
                             " every file needs the same class columns in the same order")
        if cols is not None and names is None:
            names, named = tuple(cols), name
        arrays.append(p)
    return arrays, names


def read_features(path: str, *, feature_prefix: str | None):
    """Features N x D, checked as for every other command."""
    from labelcli.core.validate import as_features, check_feature_magnitude

    name = display_name(path)
    x, _ = numeric_columns(read_table(path), name, "label", feature_prefix, None, "features", "--feature-prefix")
    return check_feature_magnitude(as_features(x, name=name), name=name)


def read_annotations(
    path: str,
    *,
    pred_probs: str | Sequence[str] | None = None,
    unlabeled_pred_probs: Sequence[str] | None = None,
    classes: str | Sequence[str] | None = None,
    example_col: str = "example",
    annotator_col: str = "annotator",
    label_col: str = "label",
    prob_prefix: str | None = None,
    normalize: bool = False,
) -> Annotations:
    """Read annotations (long or wide) and optional pred_probs (one file per model; and the same
    models' pred_probs of unlabeled examples) into an Annotations."""
    name = display_name(path)
    given = parse_classes(classes) if classes is not None else None
    probs, prob_names, probs_name, models, unlabeled = None, None, None, (), None
    paths = [pred_probs] if isinstance(pred_probs, str) else list(pred_probs or [])
    if unlabeled_pred_probs and not paths:
        raise LabelError("--unlabeled-pred-probs needs --pred-probs (the same models' pred_probs of the labeled examples)")
    if paths:
        arrays, prob_names = read_models(paths, prob_prefix=prob_prefix, normalize=normalize)
        probs = arrays[0] if len(arrays) == 1 else np.stack(arrays)
        probs_name, models = display_name(paths[0]), tuple(display_name(p) for p in paths)
    if unlabeled_pred_probs:
        if len(unlabeled_pred_probs) != len(paths):
            raise LabelError(f"{len(unlabeled_pred_probs)} --unlabeled-pred-probs files for {len(paths)} --pred-probs"
                             " files; give one per model, in the same order")
        new, _ = read_models(unlabeled_pred_probs, prob_prefix=prob_prefix, normalize=normalize,
                             option="--unlabeled-pred-probs", like=(probs.shape[-1], prob_names))
        unlabeled = new[0] if len(new) == 1 else np.stack(new)
    k_probs = None if probs is None else probs.shape[-1]
    src = read_table(path)
    if isinstance(src, np.ndarray):
        layout, rows, cols, values, annotators, examples = "wide", *_wide_npy(src, name)
    else:
        present = [c for c in (example_col, annotator_col, label_col) if c in src.columns]
        if len(present) == 3:
            layout, (rows, cols, values, annotators, examples) = "long", _long(src, name, example_col,
                                                                                annotator_col, label_col)
        elif annotator_col in src.columns or (label_col in src.columns and example_col in src.columns):
            missing = [c for c in (example_col, annotator_col, label_col) if c not in src.columns]
            raise LabelError(f"{name}: a long annotations table needs the columns '{example_col}', '{annotator_col}'"
                             f" and '{label_col}'; no column {', '.join(repr(m) for m in missing)}"
                             f" (columns: {preview([str(c) for c in src.columns])}); pass --example-col,"
                             " --annotator-col or --label-col")
        else:
            layout, (rows, cols, values, annotators, examples) = "wide", _wide_table(src, name, example_col)
    if layout == "wide":
        n = src.shape[0]
    elif examples is not None:
        n = len(examples)
    else:  # row numbers: the rows of pred_probs when given
        n = int(rows.max()) + 1 if len(rows) else 0
        if probs is not None:
            n_probs = probs.shape[-2]
            if n > n_probs:
                raise LabelError(f"{name}: example {n - 1} is not a row of {probs_name} (it has {n_probs} rows)")
            n = n_probs
    if len(values) == 0:
        raise LabelError(f"{name}: no annotations")
    # messages name the file's row: a long table's row, a wide table's example row
    where = np.arange(len(values)) if layout == "long" else rows
    kind, names, idx, order = _classes_and_indices(values, given, prob_names, k_probs, name, probs_name, where)
    if order is not None:
        probs = probs[..., order]
        unlabeled = None if unlabeled is None else unlabeled[..., order]
    mat = np.full((n, len(annotators)), MISSING, dtype=np.int64)
    mat[rows, cols] = idx
    if probs is not None and probs.shape[-2] != n:
        raise LabelError(f"{name} has {n} examples but {probs_name} has {probs.shape[-2]} rows; they must match")
    empty = np.flatnonzero((mat == MISSING).all(axis=1))
    if len(empty):
        which = examples[empty[0]] if examples is not None else empty[0]
        raise LabelError(f"{name}: {len(empty)} examples have no annotation (first: example {which}); "
                         "every example needs at least one label")
    idle = np.flatnonzero((mat == MISSING).all(axis=0))
    if len(idle):
        raise LabelError(f"{name}: annotator '{annotators[idle[0]]}' labeled no example; drop the column")
    return Annotations(mat, tuple(annotators), tuple(names), examples, probs, kind, layout, models, unlabeled)


def _wide_npy(arr: np.ndarray, name: str):
    if arr.ndim != 2:
        raise LabelError(f"{name}: annotations in a .npy must be 2-D (examples x annotators), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise LabelError(f"{name}: annotations in a .npy must be class indices, got dtype {arr.dtype}")
    miss = (arr == MISSING) | (np.isnan(arr) if arr.dtype.kind == "f" else False)
    rows, cols = np.nonzero(~miss)
    return rows, cols, arr[rows, cols], [str(j) for j in range(arr.shape[1])], None


def _id_like(col, example_col: str) -> bool:
    """A wide table's columns that are not annotators: the example ids, an index (pandas writes
    "Unnamed: 0" for an unnamed one), an id."""
    c = str(col)
    return c == example_col or c.strip().lower() in ("index", "id") or c.startswith("Unnamed: ")


def _wide_table(df, name: str, example_col: str):
    cols_all = [c for c in df.columns if not _id_like(c, example_col)]
    if not cols_all:
        raise LabelError(f"{name}: no annotator columns")
    _check_scalars(df, cols_all + ([example_col] if example_col in df.columns else []), name)
    examples = df[example_col].to_numpy(dtype=object) if example_col in df.columns else None
    block = df[cols_all].to_numpy(dtype=object)
    miss = _missing_cells(block.ravel()).reshape(block.shape)
    rows, cols = np.nonzero(~miss)
    values = _as_values(block[rows, cols])
    return rows, cols, values, [str(c) for c in cols_all], examples


def _as_values(obj: np.ndarray) -> np.ndarray:
    """Object cells as numbers when they all are, else as strings."""
    import pandas as pd

    num = pd.to_numeric(pd.Series(obj, dtype=object), errors="coerce").to_numpy(dtype=float)
    if len(num) and not np.isnan(num).any():
        return num
    return np.array([str(v) for v in obj], dtype=object)


def _check_scalars(df, columns, name: str) -> None:
    """Each cell one value: a list, dict or array (Parquet nested types) is refused naming its row."""
    for col in columns:
        if df[col].dtype != object:  # numbers, or strings in an Arrow / string dtype
            continue
        cells = df[col].to_numpy(dtype=object)
        nested = np.fromiter((isinstance(c, (list, tuple, dict, set, np.ndarray)) for c in cells), bool, len(cells))
        if nested.any():
            r = int(np.flatnonzero(nested)[0])
            what = "struct" if isinstance(cells[r], dict) else "list"
            raise LabelError(f"{name}: row {r} (0-based) of column '{col}' holds a {what}, not one value;"
                             " annotations take one class per example and annotator")


def _long(df, name: str, example_col: str, annotator_col: str, label_col: str):
    import pandas as pd

    _check_scalars(df, (example_col, annotator_col, label_col), name)
    lab = df[label_col].to_numpy(dtype=object)
    miss = _missing_cells(lab)
    if miss.any():
        r = int(np.flatnonzero(miss)[0])
        raise LabelError(f"{name}: row {r} (0-based) has no label in column '{label_col}'; drop the row")
    ex = df[example_col]
    for col in (example_col, annotator_col):
        bad = df[col].isna().to_numpy()
        if bad.any():
            raise LabelError(f"{name}: row {int(np.flatnonzero(bad)[0])} (0-based) has no value in column '{col}'")
    dup = df.duplicated(subset=[example_col, annotator_col]).to_numpy()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        raise LabelError(f"{name}: example {df[example_col].iloc[r]} has two labels from annotator"
                         f" '{df[annotator_col].iloc[r]}' (row {r}, 0-based); keep one row per example and annotator")
    ann_codes, annotators = pd.factorize(df[annotator_col].astype(str), sort=False)
    num = pd.to_numeric(ex, errors="coerce").to_numpy(dtype=float)
    if not np.isnan(num).any() and np.all(num == np.round(num)) and (num >= 0).all():
        rows, examples = num.astype(np.int64), None  # row numbers
    else:
        rows, uniq = pd.factorize(ex.astype(str), sort=False)
        examples = np.asarray(uniq, dtype=object)
    return rows, ann_codes, _as_values(lab), list(annotators), examples
