"""Which columns of a table are pred_probs or features, their numbers as a matrix, and the class
names the pred_probs columns give (README "File formats")."""
from __future__ import annotations

import re

import numpy as np

from labelcli.errors import LabelError
from labelcli.io.formats import preview


def numeric_columns(src, name, label_col, prefix, skip_prefix, what, option):
    """The N x M numbers of pred_probs or features: a .npy array as is, or a table's columns
    (those starting with `prefix`, else every numeric one but the label/id and `skip_prefix` ones).
    Returns (array, column names or None)."""
    if isinstance(src, np.ndarray):
        return src, None
    cols = pick_columns(src, name, prefix=prefix, label_col=label_col, skip_prefix=skip_prefix,
                        what=what, option=option)
    return _numeric_matrix(src, cols, name, what), cols


def _is_id_column(c: str) -> bool:
    # "Unnamed: 0" is what pandas calls an empty header, e.g. a saved DataFrame index.
    return c.strip().lower() in ("index", "id") or c.startswith("Unnamed: ")


def pick_columns(df, name, *, prefix, label_col, skip_prefix, what, option) -> list[str]:
    """The columns of df that hold pred_probs or features: those starting with ``prefix``, else
    every numeric one but the label, id-like and ``skip_prefix`` columns. ``option`` is the flag
    named in messages (--prob-prefix, --feature-prefix)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    cols = [str(c) for c in df.columns]
    if prefix:
        chosen = [c for c in cols if c.startswith(prefix) and c != label_col]
        if not chosen:
            raise LabelError(f"{name}: no columns start with {option} '{prefix}' (columns: {preview(cols)})")
        return chosen
    candidates = [c for c in cols if c != label_col and not _is_id_column(c)
                  and not (skip_prefix and c.startswith(skip_prefix)) and not is_bool_dtype(df[c])]
    # A column of numbers with a stray word ('high', 'n/a') is still a number column: keep it, so
    # that _numeric_matrix names the bad cell (dropping it silently changes the classes).
    chosen = [c for c in candidates if is_numeric_dtype(df[c]) or _mostly_numbers(df[c])]
    if not chosen:
        comma = any(_DECIMAL_COMMA.fullmatch(str(v)) for c in candidates for v in df[c].dropna().head(20))
        hint = " (decimal commas? use '.' as the decimal point)" if comma else ""
        raise LabelError(
            f"{name}: no numeric columns to use as {what} (columns: {preview(cols)}){hint}; check the"
            f" file or pass {option}"
        )
    return chosen


_DECIMAL_COMMA = re.compile(r"-?\d*,\d+")


def _mostly_numbers(s) -> bool:
    """Most non-empty values parse as numbers (a text column of labels or names does not)."""
    import pandas as pd

    present = s.dropna()
    if len(present) == 0:
        return False
    return int(pd.to_numeric(present, errors="coerce").notna().sum()) * 2 > len(present)


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
    # Row-major whatever pandas' blocks are (one block comes out column-major): row sums (scores,
    # --normalize) then add up in the same order as for a .npy file or a streamed chunk, so every
    # format gives the same bits.
    return np.ascontiguousarray(sub.to_numpy(dtype=dtype, na_value=np.nan))


def class_names_from_columns(cols: list[str], prefix: str | None, name: str) -> list[str]:
    """Class names from pred_probs column names (without ``prefix``): non-empty and unique."""
    names = [c[len(prefix):].strip() if prefix else c.strip() for c in cols]
    for c, n in zip(cols, names):
        if not n:
            raise LabelError(f"{name}: column '{c}' leaves an empty class name after --prob-prefix '{prefix}'")
    if len(set(names)) != len(names):
        raise LabelError(f"{name}: pred_probs columns give duplicate class names ({preview(names, 5)})")
    return names
