"""The CSV and JSON text of a DataFrame, built column-wise with Arrow kernels.

write_csv writes the bytes of DataFrame.to_csv(index=False, lineterminator="\n") and
write_json_rows the records of the JSON record loop (labelcli.io.writers.json_records with dump_json), a
column at a time instead of a Python object per cell (5-10x faster), WRITE_ROWS rows at a time
(bounded memory); tables holding other dtypes are written the slow way. pyarrow and pandas are
imported inside the functions.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula
_NUMBER_TEXT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$"


def defuse_cell(text: str) -> str:
    """A text cell that a spreadsheet would run as a formula (=, +, -, @ first; not a number such as
    -1) gets a leading apostrophe, which spreadsheets show as text."""
    import re

    if text.startswith(FORMULA_START) and not re.match(_NUMBER_TEXT, text.strip(), flags=re.IGNORECASE):
        return "'" + text
    return text


def defuse_formulas(df):
    """df with its text cells and column names passed through defuse_cell (CSV only: Parquet and
    JSON keep the raw values); the same df when nothing needs it. Vectorised per column."""
    import pandas as pd
    from pandas.api.types import is_object_dtype, is_string_dtype

    changed = {}
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if not (is_object_dtype(col.dtype) or is_string_dtype(col.dtype)):
            continue
        text = col.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            number = text.str.strip().str.match(_NUMBER_TEXT, case=False).fillna(False).to_numpy(dtype=bool)
            hit = risky & ~number
            if hit.any():
                values = col.to_numpy(dtype=object).copy()
                values[hit] = ["'" + str(v) for v in values[hit]]
                changed[j] = pd.Series(values, index=col.index, dtype=col.dtype if is_string_dtype(col.dtype)
                                       and not is_object_dtype(col.dtype) else object)
    names = [defuse_cell(c) if isinstance(c, str) else c for c in df.columns]
    if not changed and names == list(df.columns):
        return df
    out = df.copy()
    for j, values in changed.items():
        out.isetitem(j, values)
    out.columns = names
    return out


def write_csv(df, f) -> None:
    """Write df as CSV text to the text file f: the bytes of DataFrame.to_csv(index=False), with
    formula-like text cells defused (defuse_formulas)."""
    df = defuse_formulas(df)
    # pandas writes floats with repr (shortest round-trip); fixed "\n" keeps bytes OS-independent.
    kinds = column_kinds(df) if df.shape[1] >= 2 else None  # one column: pandas quotes an empty cell
    if kinds is None:
        df.to_csv(f, index=False, lineterminator="\n")
        return
    f.write(",".join(_csv_field(str(c)) for c in df.columns) + "\n")
    for start in range(0, len(df), WRITE_ROWS):
        _write_buffer(f, _concat(_csv_lines(df.iloc[start : start + WRITE_ROWS], kinds)))


def _write_buffer(f, buf) -> None:
    """UTF-8 bytes to a text file: to its binary buffer when it has one (no decoding)."""
    raw = getattr(f, "buffer", None)
    if raw is None:
        f.write(bytes(buf).decode("utf-8"))
    else:
        f.flush()
        raw.write(buf)


# --- column-wise writers: the bytes of DataFrame.to_csv(index=False, lineterminator="\n") and of
# the JSON record loop (json_records), built with Arrow kernels a column at a time instead of a Python
# object per cell (5-10x faster), WRITE_ROWS rows at a time (bounded memory). Tables holding other
# dtypes are written the slow way.

WRITE_ROWS = 1 << 17


def column_kinds(df) -> list[str] | None:
    """Per column: 'bool', 'int' (numpy or nullable), 'float' (float64), 'str' (pandas' string
    dtype) or 'object' (str values); None when a column is anything else or names repeat."""
    from pandas.api.types import is_integer_dtype, is_string_dtype

    names = [str(c) for c in df.columns]
    if not names or len(set(names)) < len(names):
        return None
    kinds = []
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        numpy = isinstance(s.dtype, np.dtype)
        if numpy and s.dtype.kind == "b":
            kinds.append("bool")
        elif is_integer_dtype(s.dtype):
            kinds.append("int")
        elif numpy and s.dtype == np.float64 and _arrow_formats_like_repr():
            kinds.append("float")
        elif is_string_dtype(s.dtype) and not numpy:
            kinds.append("str")
        elif _object_strings(s):
            kinds.append("object")
        else:
            return None
    return kinds


def _object_strings(series) -> bool:
    """An object column of str values (None / NaN for missing) only."""
    from pandas.api.types import infer_dtype

    return series.dtype == object and infer_dtype(series, skipna=True) in ("string", "empty")


def _arrow_strings(series, kind: str, pa):
    return pa.Array.from_pandas(series) if kind == "str" else \
        pa.array(series.to_numpy(), type=pa.large_string(), from_pandas=True)


def _csv_field(text: str) -> str:
    """One field as csv.writer (QUOTE_MINIMAL, as pandas uses it) writes it."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([text, ""])
    return out.getvalue()[:-2]


def _quoted_chars() -> str:
    """The characters that make csv.writer quote a field (it changed across Python versions)."""
    return "".join(c for c in ',"\n\r' if _csv_field(f"a{c}b").startswith('"'))


def _csv_lines(df, kinds):
    """Each row of df as to_csv writes it, "\n" included, as an Arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = []
    for j, kind in enumerate(kinds):
        s = df.iloc[:, j]
        if kind == "bool":
            col = pc.if_else(pa.array(s.to_numpy()), "True", "False")
        elif kind == "int":  # missing -> empty
            col = pc.fill_null(pc.cast(pa.Array.from_pandas(s), pa.string()), "")
        elif kind == "float":
            col = _float_cells(s.to_numpy(), pa, pc, json=False)
        else:
            col = _string_cells(_arrow_strings(s, kind, pa), pa, pc)
        cells.append(col.cast(pa.large_string()))
    text = pa.large_string()
    rows = pc.binary_join_element_wise(*cells, pa.scalar(",", text))
    return pc.binary_join_element_wise(rows, pa.scalar("", text), pa.scalar("\n", text))  # each row + "\n"


def _concat(strings):
    """The concatenated values of an Arrow string array without nulls, as a buffer (no copy)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64 if "large" in str(strings.type) else np.int32)
    first, last = offsets[strings.offset], offsets[strings.offset + len(strings)]
    return strings.buffers()[2].slice(int(first), int(last - first))


_FLOAT_ARROW_RANGE = (1e-4, 1e10)  # where Arrow's shortest float formatting is Python's repr


def _float_cells(values: np.ndarray, pa, pc, json: bool):
    """repr of each float (NaN: an empty field; JSON: null for NaN and inf): Arrow formats the
    common range the same way; the rest (whole numbers, tiny, huge, inf) go through repr."""
    mag = np.abs(values)
    arrow = (mag >= _FLOAT_ARROW_RANGE[0]) & (mag < _FLOAT_ARROW_RANGE[1]) & (values != np.floor(values))
    cells = pc.cast(pa.array(values), pa.string())
    rest = np.flatnonzero(~arrow)
    if len(rest):
        odd = "null" if json else ""
        fixed = [repr(v) if math.isfinite(v) or (v == v and not json) else odd for v in values[rest].tolist()]
        cells = pc.replace_with_mask(cells, pa.array(~arrow), pa.array(fixed, type=pa.string()))
    return cells


_ARROW_REPR_OK: list = []


def _arrow_formats_like_repr() -> bool:
    """Arrow's float -> string cast equals repr in _FLOAT_ARROW_RANGE (checked once, on probes
    across that range, in case a pyarrow version formats differently)."""
    if not _ARROW_REPR_OK:
        import pyarrow as pa
        import pyarrow.compute as pc

        rng = np.random.default_rng(0)
        probes = np.concatenate([rng.random(400) * 10.0 ** rng.integers(-4, 10, 400),
                                 rng.random(100).astype(np.float32).astype(np.float64), [1e-4 * 1.5, 0.1, 0.5]])
        probes = probes[(probes >= _FLOAT_ARROW_RANGE[0]) & (probes < _FLOAT_ARROW_RANGE[1])]
        _ARROW_REPR_OK.append(pc.cast(pa.array(probes), pa.string()).to_pylist() == [repr(v) for v in probes.tolist()])
    return _ARROW_REPR_OK[0]


_QUOTED: list = []


def _string_cells(arr, pa, pc):
    """Strings as csv.writer writes them: missing -> empty; quoted (and quotes doubled) only when
    they hold a character that needs it."""
    if not _QUOTED:
        _QUOTED.append("[" + re.escape(_quoted_chars()) + "]")
    arr = pc.fill_null(arr, "")
    needs = pc.match_substring_regex(arr, _QUOTED[0])
    if pc.any(needs).as_py():
        rows = np.flatnonzero(needs.to_numpy(zero_copy_only=False))
        fixed = [_csv_field(v) for v in pc.take(arr, pa.array(rows)).to_pylist()]
        arr = pc.replace_with_mask(arr, needs, pa.array(fixed, type=arr.type))
    return arr


def _json_lines(df, kinds, before: str, after: str):
    """Each row of df as dump_json(record) writes it, between before and after, as an Arrow string
    array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    parts = [pa.scalar(before + "{", text)]
    for j, kind in enumerate(kinds):
        s = df.iloc[:, j]
        if kind == "bool":
            col = pc.if_else(pa.array(s.to_numpy()), "true", "false")
        elif kind == "int":
            col = pc.fill_null(pc.cast(pa.Array.from_pandas(s), pa.string()), "null")
        elif kind == "float":
            col = _float_cells(s.to_numpy(), pa, pc, json=True)
        else:
            coded = pc.dictionary_encode(_arrow_strings(s, kind, pa))  # each distinct string escaped once
            words = pa.array([dump_json(v) for v in coded.dictionary.to_pylist()], type=text)
            col = pc.fill_null(pc.take(words, coded.indices), "null")
        parts += [pa.scalar((", " if j else "") + dump_json(str(df.columns[j])) + ": ", text), col.cast(text)]
    parts.append(pa.scalar("}" + after, text))
    return pc.binary_join_element_wise(*parts, pa.scalar("", text))


def write_json_rows(df, f, *, lines: bool) -> bool:
    """The records of df, column-wise: as a .json array's items (lines=False) or .jsonl lines;
    False (nothing written) when a column's dtype is not handled."""
    kinds = column_kinds(df)
    if kinds is None:
        return False
    for start in range(0, len(df), WRITE_ROWS):
        chunk = df.iloc[start : start + WRITE_ROWS]
        if lines:
            _write_buffer(f, _concat(_json_lines(chunk, kinds, "", "\n")))
        else:  # "\n" before the first record, ",\n" before the others
            buf = _concat(_json_lines(chunk, kinds, ",\n", ""))
            if start == 0:
                f.write("\n")
                buf = buf.slice(2)
            _write_buffer(f, buf)
    return True


def dump_json(obj) -> str:
    """One JSON value on one line (UTF-8 kept, NaN refused), as every JSON writer words it."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)
