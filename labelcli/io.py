"""Load labels, pred_probs and features from files into validated arrays; write results.

Formats and low-level reading/writing live in ``labelcli._readers`` and ``labelcli._writers``;
this module decides which columns mean what, resolves class names and maps labels to class
indices.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labelcli._common import display_name, human_bytes, preview
from labelcli._readers import NotEnoughMemory, csv_options, read_table
from labelcli._writers import check_output_path, write_array, write_json, write_table
from labelcli import _tags
from labelcli._classes import parse_classes, resolve_classes, resolve_tags
from labelcli.core.multilabel import as_label_matrix, as_multilabel_pred_probs
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
    multi_label: bool = False  # then ``labels`` is an N x K boolean tag matrix
    note: str | None = None  # why multi-label was chosen automatically, for a one-line note
    # pred_probs too large for the memory budget: how to read them in chunks (labelcli.outofcore
    # StreamSource); pred_probs is then None
    stream: object | None = None


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
    multi_label: bool | None = None,
    label_sep: str = ",",
    stdin=None,
    max_memory: int | None = None,
) -> Inputs:
    """Read and validate the inputs; a path given twice (or '-' twice) is read once as one table.

    ``multi_label``: True or False forces the task; None detects it from the label format (a list
    column, separated tags, a 2-D 0/1 matrix) and says why in ``Inputs.note``.
    ``max_memory``: the budget (bytes) of a command that can stream: multi-class pred_probs from
    a file that would not fit it are not loaded; ``Inputs.stream`` says how to read them in
    chunks. Class names and label indices are resolved exactly as for a file loaded whole.
    """
    tables: dict[str, object] = {}
    cannot_stream = None if max_memory is None else _cannot_stream(pred_probs, features, multi_label)
    streaming = max_memory is not None and cannot_stream is None and _too_large(pred_probs, max_memory)

    def key(path: str) -> str:
        return "-" if path == "-" else os.path.realpath(path)

    def table(path: str):
        if key(path) not in tables:
            try:
                tables[key(path)] = read_table(path, stdin=stdin)
            except NotEnoughMemory as e:  # say whether --max-memory would help
                raise e.with_hint(_memory_hint(max_memory, cannot_stream)) from None
        return tables[key(path)]

    shared = pred_probs is not None and features is not None and key(pred_probs) == key(features)
    if shared and not prob_prefix and not feature_prefix:
        raise LabelError(
            f"{display_name(pred_probs)}: pred_probs and features come from the same table; pass"
            " --prob-prefix or --feature-prefix to say which columns are which"
        )
    given = parse_classes(classes) if classes is not None else None
    lab_name = display_name(labels)
    if not label_sep:
        raise LabelError("--label-sep must not be empty")
    # Labels that share a streamed table with pred_probs are read alone (its label column).
    shared_stream = streaming and key(labels) == key(pred_probs)
    lab_src = _label_frame(pred_probs, label_col) if shared_stream else table(labels)
    why = _tags.looks_multilabel(lab_src, label_col, label_sep)
    if multi_label is False and why:
        raise LabelError(f"{lab_name}: {why}, which is multi-label data, but --multi-class was given;"
                         " drop --multi-class (or pass --multi-label)")
    multi = bool(multi_label) or why is not None
    note = f"multi-label: {why}" if why and multi_label is None else None
    if streaming and not multi:
        streamed = _streamed(lab_src, labels, pred_probs, given=given, label_col=label_col,
                             prob_prefix=prob_prefix, normalize=normalize, max_memory=max_memory)
        if streamed is not None:
            return streamed
    if multi:
        cannot_stream = "multi-label data"
        if normalize:
            raise LabelError("--normalize is for multi-class pred_probs; multi-label rows need not sum to 1")
        kind, rows, raw, n = _tags.flat_tags(table(labels), lab_name, label_col, label_sep)
    else:
        kind, raw = _raw_labels(table(labels), lab_name, label_col)

    probs, prob_names, probs_name = None, None, None
    if pred_probs is not None:
        probs_name = display_name(pred_probs)
        p, cols = _matrix(table(pred_probs), probs_name, label_col, prob_prefix,
                          feature_prefix if shared else None, "pred_probs", "--prob-prefix")
        if cols is not None:
            prob_names = _class_names_from_columns(cols, prob_prefix, probs_name)
        try:
            probs = as_multilabel_pred_probs(p, name=probs_name) if multi else \
                as_pred_probs(p, name=probs_name, normalize=normalize)
        except LabelError as e:
            if cols is None or prob_prefix:
                raise
            # The columns were picked automatically (every numeric one): say which, and how to choose.
            raise LabelError(f"{e} (pred_probs were read from the numeric columns {preview(cols)};"
                             " pass --prob-prefix to choose them)") from e

    feats = None
    if features is not None:
        feat_name = display_name(features)
        x, _ = _matrix(table(features), feat_name, label_col, feature_prefix,
                       prob_prefix if shared else None, "features", "--feature-prefix")
        feats = as_features(x, name=feat_name)

    k_probs = None if probs is None else probs.shape[1]
    if multi:
        names, y, order = resolve_tags(kind, rows, raw, n, given, prob_names, k_probs, lab_name, probs_name)
    else:
        names, idx, order = resolve_classes(kind, raw, given, prob_names, k_probs, lab_name, probs_name)
    if order is not None:
        probs = probs[:, order]
    if multi:
        y = as_label_matrix(y, num_classes=len(names), name=lab_name)
        return _checked(Inputs(y, probs, feats, tuple(names), labels, pred_probs, features, True, note))
    if probs is None:
        big = np.flatnonzero(idx >= len(names))
        if big.size:
            r = int(big[0])
            raise LabelError(
                f"{lab_name}: label {int(idx[r])} at row {r} (0-based) is outside 0..{len(names) - 1}"
                f" (--classes lists {len(names)} classes); pass --classes or fix the file"
            )
    y = as_labels(idx, num_classes=k_probs, name=lab_name)
    return _checked(Inputs(y, probs, feats, tuple(names), labels, pred_probs, features))


def _checked(inputs: Inputs) -> Inputs:
    lab_name = display_name(inputs.labels_path)
    if inputs.pred_probs is not None:
        check_same_length(len(inputs.labels), len(inputs.pred_probs), name_a=lab_name,
                          name_b=display_name(inputs.pred_probs_path))
    if inputs.features is not None:
        check_same_length(len(inputs.labels), len(inputs.features), name_a=lab_name,
                          name_b=display_name(inputs.features_path))
    return inputs


# -------------------------------------------------------------------------------------- streaming


def _cannot_stream(pred_probs: str | None, features: str | None, multi_label: bool | None) -> str | None:
    """Why pred_probs could not be streamed, as a phrase (None: they could)."""
    from labelcli.chunks import stream_kind

    if pred_probs is None:
        return "pred_probs from cross-validation"
    if pred_probs == "-":
        return "pred_probs on stdin"
    if features is not None:
        return "runs with --features"
    if multi_label:
        return "multi-label data"
    if stream_kind(pred_probs) is None:
        return f"{os.path.basename(pred_probs)} (streaming reads .npy, .parquet and .csv files)"
    return None


def _too_large(pred_probs: str, max_memory: int) -> bool:
    from labelcli.outofcore import needs_streaming

    return os.path.isfile(pred_probs) and needs_streaming(pred_probs, max_memory)


def _memory_hint(max_memory: int | None, cannot_stream: str | None) -> str:
    """What to do about a file too large to load whole, for this command and these inputs."""
    if max_memory is None:
        return "labelcli find-issues, score and health read larger files in chunks (--max-memory)"
    if cannot_stream is not None:
        return f"--max-memory reads multi-class pred_probs in chunks, but not {cannot_stream}"
    return f"a smaller --max-memory (now {human_bytes(max_memory)}) reads it in chunks"


def _label_frame(path: str, label_col: str):
    from labelcli.chunks import label_frame, stream_kind

    if stream_kind(path) == "npy":
        return read_table(path)
    tsv = "\t" if ".tsv" in path.lower() else None
    return label_frame(path, label_col, csv_options(path, path, tsv) if stream_kind(path) == "csv" else None)


def _streamed(lab_src, labels: str, pred_probs: str, *, given, label_col, prob_prefix, normalize, max_memory):
    """Inputs whose pred_probs stay on disk (Inputs.stream), with the classes resolved as
    load_inputs does; None when a column of the table is not numbers (then loaded whole)."""
    from labelcli import outofcore

    lab_name, probs_name = display_name(labels), display_name(pred_probs)
    kind, raw = _raw_labels(lab_src, lab_name, label_col)
    cols = prob_names = options = None
    if outofcore.stream_kind(pred_probs) == "npy":
        reader = outofcore.NpyReader(pred_probs)
        num_rows, k = reader.num_rows, reader.num_classes
    else:
        from pandas.api.types import is_numeric_dtype

        head, num_rows, options = outofcore.table_head(pred_probs)
        cols = _pick_columns(head, probs_name, prefix=prob_prefix, label_col=label_col, skip_prefix=None,
                             what="pred_probs", option="--prob-prefix")
        if options is None and not all(is_numeric_dtype(head[c]) for c in cols):
            return None  # text in a Parquet column: the in-memory reader words the problem
        prob_names = _class_names_from_columns(cols, prob_prefix, probs_name)
        k = len(cols)
    names, idx, order = resolve_classes(kind, raw, given, prob_names, k, lab_name, probs_name)
    if order is not None:  # --classes in another order than the columns: read them in that order
        cols = [cols[i] for i in order]
    y = as_labels(idx, num_classes=k, name=lab_name)
    if num_rows is not None:
        check_same_length(len(y), num_rows, name_a=lab_name, name_b=probs_name)
    source = outofcore.StreamSource(pred_probs, None if cols is None else tuple(cols), options, max_memory, normalize)
    return Inputs(y, None, None, tuple(names), labels, pred_probs, None, stream=source)


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


# ---------------------------------------------------------------------------------------- columns


def _matrix(src, name, label_col, prefix, skip_prefix, what, option):
    """The N x M numbers of pred_probs or features: a .npy array as is, or a table's columns
    (those starting with `prefix`, else every numeric one but the label/id and `skip_prefix` ones).
    Returns (array, column names or None)."""
    if isinstance(src, np.ndarray):
        return src, None
    cols = _pick_columns(src, name, prefix=prefix, label_col=label_col, skip_prefix=skip_prefix,
                         what=what, option=option)
    return _numeric_matrix(src, cols, name, what), cols


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


def _class_names_from_columns(cols: list[str], prefix: str | None, name: str) -> list[str]:
    names = [c[len(prefix):].strip() if prefix else c.strip() for c in cols]
    for c, n in zip(cols, names):
        if not n:
            raise LabelError(f"{name}: column '{c}' leaves an empty class name after --prob-prefix '{prefix}'")
    if len(set(names)) != len(names):
        raise LabelError(f"{name}: pred_probs columns give duplicate class names ({preview(names, 5)})")
    return names


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
