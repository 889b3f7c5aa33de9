"""Load labels, pred_probs and features from files into validated arrays; write results.

Formats and low-level reading/writing live in ``labelcli._tables``; this module decides which
columns mean what, resolves class names and maps labels to class indices.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labelcli._tables import (
    check_output_path,
    display_name,
    preview,
    read_table,
    write_array,
    write_json,
    write_table,
)
from labelcli.core.validate import as_features, as_labels, as_pred_probs, check_same_length
from labelcli.errors import LabelError

__all__ = [
    "Inputs",
    "load_inputs",
    "read_table",
    "check_output_path",
    "write_table",
    "write_json",
    "write_array",
]

_INT_NAME = re.compile(r"^(0|-?[1-9]\d*)$")


@dataclass(frozen=True, eq=False)
class Inputs:
    """Validated inputs for one run. ``labels[i]`` indexes ``classes`` and the pred_probs columns."""

    labels: np.ndarray
    pred_probs: np.ndarray | None
    features: np.ndarray | None
    classes: tuple[str, ...]
    labels_path: str
    pred_probs_path: str | None
    features_path: str | None


def load_inputs(
    labels: str,
    pred_probs: str | None = None,
    features: str | None = None,
    *,
    classes: str | Sequence[str] | None = None,
    label_col: str = "label",
    prob_prefix: str | None = None,
    feature_prefix: str | None = None,
    normalize: bool = False,
    stdin=None,
) -> Inputs:
    """Read and validate the inputs; a path given twice (or '-' twice) is read once as one table."""
    tables: dict[str, object] = {}

    def key(path: str) -> str:
        return "-" if path == "-" else os.path.realpath(path)

    def table(path: str):
        if key(path) not in tables:
            tables[key(path)] = read_table(path, stdin=stdin)
        return tables[key(path)]

    shared = pred_probs is not None and features is not None and key(pred_probs) == key(features)
    if shared and not prob_prefix and not feature_prefix:
        raise LabelError(
            f"{display_name(pred_probs)}: pred_probs and features come from the same table; pass"
            " --prob-prefix or --feature-prefix to say which columns are which"
        )
    given = _parse_classes(classes) if classes is not None else None
    lab_name = display_name(labels)
    kind, raw = _raw_labels(table(labels), lab_name, label_col)

    probs, prob_names, probs_name = None, None, None
    if pred_probs is not None:
        probs_name = display_name(pred_probs)
        p, cols = _matrix(table(pred_probs), probs_name, label_col, prob_prefix,
                          feature_prefix if shared else None, "pred_probs", "--prob-prefix")
        if cols is not None:
            prob_names = _class_names_from_columns(cols, prob_prefix, probs_name)
        probs = as_pred_probs(p, name=probs_name, normalize=normalize)

    feats = None
    if features is not None:
        feat_name = display_name(features)
        x, _ = _matrix(table(features), feat_name, label_col, feature_prefix,
                       prob_prefix if shared else None, "features", "--feature-prefix")
        feats = as_features(x, name=feat_name)

    k_probs = None if probs is None else probs.shape[1]
    names, idx, order = _resolve_classes(kind, raw, given, prob_names, k_probs, lab_name, probs_name)
    if order is not None:
        probs = probs[:, order]
    if probs is None:
        big = np.flatnonzero(idx >= len(names))
        if big.size:
            r = int(big[0])
            raise LabelError(
                f"{lab_name}: label {int(idx[r])} at row {r} (0-based) is outside 0..{len(names) - 1}"
                f" (--classes lists {len(names)} classes); pass --classes or fix the file"
            )
    y = as_labels(idx, num_classes=k_probs, name=lab_name)
    if probs is not None:
        check_same_length(len(y), len(probs), name_a=lab_name, name_b=probs_name)
    if feats is not None:
        check_same_length(len(y), len(feats), name_a=lab_name, name_b=display_name(features))
    return Inputs(y, probs, feats, tuple(names), labels, pred_probs, features)


# ---------------------------------------------------------------------------------------- classes


def _parse_classes(classes: str | Sequence[str]) -> list[str]:
    names = classes.split(",") if isinstance(classes, str) else [str(c) for c in classes]
    names = [n.strip() for n in names]
    if any(not n for n in names):
        raise LabelError(f"--classes '{classes}': class names must not be empty")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise LabelError(f"--classes lists '{n}' twice; class names must be unique")
        seen.add(n)
    if len(names) < 2:
        raise LabelError(f"--classes lists {len(names)} class; need at least 2")
    return names


def _is_int_name(s: str) -> bool:
    return bool(_INT_NAME.match(s))


def _sorted_names(values) -> list[str]:
    """Sorted unique names; numeric order when every name is an integer ("2" before "10")."""
    uniq = set(values)
    if all(_is_int_name(u) for u in uniq):
        return sorted(uniq, key=int)
    return sorted(uniq)


def _matrix(src, name, label_col, prefix, skip_prefix, what, option):
    """The N x M numbers of pred_probs or features: a .npy array as is, or a table's columns
    (those starting with `prefix`, else every numeric one but the label/id and `skip_prefix` ones).
    Returns (array, column names or None)."""
    if isinstance(src, np.ndarray):
        return src, None
    cols = _pick_columns(src, name, prefix=prefix, label_col=label_col, skip_prefix=skip_prefix,
                         what=what, option=option)
    return _numeric_matrix(src, cols, name, what), cols


def _resolve_classes(kind, raw, given, prob_names, k_probs, lab_name, probs_name):
    """Pick the class names (rules 1-4) and map labels to indices; returns (names, idx, order).

    ``order`` permutes pred_probs columns when they name the --classes in a different order.
    """
    order = None
    if given is not None:
        names = given
        if k_probs is not None and len(names) != k_probs:
            raise LabelError(
                f"--classes lists {len(names)} classes but {probs_name} has {k_probs} columns;"
                " they must match"
            )
        if prob_names is not None:
            order = _align(prob_names, names, probs_name)
    elif prob_names is not None:
        names = prob_names
    elif kind == "str":
        names = _sorted_names(raw)
        if k_probs is not None:
            if all(_is_int_name(n) for n in names) and max(int(n) for n in names) < k_probs:
                names = [str(i) for i in range(k_probs)]
            else:
                # Guessing that unnamed columns follow the alphabetical order of the names is
                # silently wrong when they don't (most rows then look mislabeled): ask instead.
                raise LabelError(
                    f"{lab_name}: labels are class names but {probs_name} has no column names;"
                    f" pass --classes with the {len(names)} names in column order"
                    f" (e.g. --classes {','.join(names[:3])},...)"
                )
    else:
        k = k_probs if k_probs is not None else max(int(raw.max()), 0) + 1
        names = [str(i) for i in range(k)]
    names = list(names)
    if kind == "str":
        idx = _map_names(raw, names, lab_name)
    elif all(_is_int_name(n) for n in names) and names != [str(i) for i in range(len(names))]:
        # Classes named "1", "2", "3" (or "3", "5", "7"): an integer label is a name, not a position.
        idx = _map_names(raw.astype(str).astype(object), names, lab_name)
    else:
        idx = raw
    return names, idx, order


def _align(prob_names: list[str], given: list[str], probs_name: str):
    if prob_names == given:
        return None
    if set(prob_names) == set(given):
        return [prob_names.index(c) for c in given]
    if set(prob_names) & set(given):
        raise LabelError(
            f"{probs_name}: the columns name classes ({preview(prob_names, 5)}) that differ from"
            f" --classes ({preview(given, 5)}); make them match or drop --classes"
        )
    return None  # unrelated names (e.g. "0", "1"): --classes names the columns by position


def _map_names(raw: np.ndarray, names: list[str], lab_name: str) -> np.ndarray:
    import pandas as pd

    lookup = {n: i for i, n in enumerate(names)}
    codes, uniq = pd.factorize(raw)  # hashing, in row order: fast on millions of strings
    idx = np.array([lookup.get(u, -1) for u in uniq], dtype=np.int64)[codes]
    bad = np.flatnonzero(idx < 0)
    if bad.size:
        r = int(bad[0])
        raise LabelError(
            f"{lab_name}: label '{raw[r]}' at row {r} (0-based) is not one of the {len(names)}"
            f" classes ({preview(names, 5)}); pass --classes or fix the file"
        )
    return idx


# ----------------------------------------------------------------------------------------- labels


def _raw_labels(src, name: str, label_col: str):
    """Labels as ("int", int64 array) or ("str", object array of str), with missing values refused."""
    where = ""
    if isinstance(src, np.ndarray):
        arr = src
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        elif arr.ndim == 2:
            raise LabelError(
                f"{name}: labels have shape {arr.shape}; 2-D labels look like multi-label data,"
                " which is not supported yet"
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
        if isinstance(v, (list, tuple, np.ndarray, dict, set)):
            raise LabelError(
                f"{name}: label at row {r} (0-based){where} is a list; lists of labels are"
                " multi-label data, which is not supported yet"
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


# ---------------------------------------------------------------------------------------- columns


def _is_id_column(c: str) -> bool:
    # "Unnamed: 0" is what pandas calls an empty header, e.g. a saved DataFrame index.
    return c.strip().lower() in ("index", "id") or c.startswith("Unnamed: ")


def _pick_columns(df, name, *, prefix, label_col, skip_prefix, what, option) -> list[str]:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    cols = [str(c) for c in df.columns]
    if prefix:
        chosen = [c for c in cols if c.startswith(prefix) and c != label_col]
        if not chosen:
            raise LabelError(f"{name}: no columns start with {option} '{prefix}' (columns: {preview(cols)})")
        return chosen
    chosen = [
        c for c in cols
        if c != label_col and not _is_id_column(c)
        and not (skip_prefix and c.startswith(skip_prefix))
        and is_numeric_dtype(df[c]) and not is_bool_dtype(df[c])
    ]
    if not chosen:
        raise LabelError(
            f"{name}: no numeric columns to use as {what} (columns: {preview(cols)}); check the"
            f" file or pass {option}"
        )
    return chosen


def _numeric_matrix(df, cols: list[str], name: str, what: str) -> np.ndarray:
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    sub = df[cols]
    for c in cols:
        s = sub[c]
        if is_numeric_dtype(s):
            continue
        conv = pd.to_numeric(s, errors="coerce")
        bad = np.flatnonzero((conv.isna() & s.notna()).to_numpy())
        if bad.size:
            r = int(bad[0])
            v = str(s.iloc[r])
            hint = " (decimal comma? use '.' as the decimal point)" if re.fullmatch(r"-?\d*,\d+", v) else ""
            raise LabelError(
                f"{name}: column '{c}' holds text ('{v}' at row {r} (0-based)); {what} must be"
                f" numbers{hint}"
            )
        sub = sub.assign(**{c: conv})
    dtype = np.float32 if all(sub[c].dtype == np.float32 for c in cols) else np.float64
    return sub.to_numpy(dtype=dtype, na_value=np.nan)


def _class_names_from_columns(cols: list[str], prefix: str | None, name: str) -> list[str]:
    names = [c[len(prefix):].strip() if prefix else c.strip() for c in cols]
    for c, n in zip(cols, names):
        if not n:
            raise LabelError(f"{name}: column '{c}' leaves an empty class name after --prob-prefix '{prefix}'")
    if len(set(names)) != len(names):
        raise LabelError(f"{name}: pred_probs columns give duplicate class names ({preview(names, 5)})")
    return names
