"""Reading: one table or array (.npy / .csv / .parquet / stdin) into memory.

Every problem with a file becomes a one-line LabelError that names the file; pandas and pyarrow
are imported inside the functions that need them, so importing this module stays cheap. Before
anything big is allocated, the readers compare what a file will need (from the .npy header or the
Parquet footer) with the file's size and the memory available (labelcli.io.memory), and refuse with a pointer to --max-memory (the out-of-core path) instead of
dying half-way. csv_options sniffs a CSV's separator, header and compression for pandas (the
chunk readers use it too). Which reader reads a path is decided by its suffix (labelcli.io.formats).
"""
from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import os
import re
import sys
import warnings
import weakref
import zlib
from typing import Sequence

import numpy as np

from labelcli.errors import LabelError
from labelcli.io import formats, memory
from labelcli.io.formats import READ_SUFFIXES, csv_separator, describe_ext, short_reason, suffix
from labelcli.io.memory import NotEnoughMemory, format_bytes

_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_PEEK_BYTES = 1 << 20
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# Bytes read from each stdin stream, so labels and pred_probs can both be "-" (one table).
_stdin_cache: "weakref.WeakKeyDictionary[object, bytes]" = weakref.WeakKeyDictionary()

# ---------------------------------------------------------------------------------------- reading


def read_table(path: str, *, stdin=None):
    """Read ``path`` into a pandas DataFrame (CSV, Parquet, stdin) or a numpy array (.npy).

    Library warnings (e.g. numpy's note about .npy files written by Python 2) are silenced: on the
    command line they would be extra stderr lines, and whatever matters is a LabelError.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read_table(path, stdin)


def _read_table(path: str, stdin):
    if path == "-":
        return _read_csv(_stdin_bytes(stdin), "<stdin>", sep=None)
    if not os.path.exists(path):
        raise LabelError(f"{path}: file not found")
    if os.path.isdir(path):
        raise LabelError(f"{path}: is a folder, not a file")
    kind = formats.kind(path) if suffix(path, READ_SUFFIXES) else None
    if kind is None:
        raise LabelError(
            f"{path}: unsupported {describe_ext(path)}; use {', '.join(READ_SUFFIXES[:-1])} or {READ_SUFFIXES[-1]}"
            " (or - for CSV on stdin)"
        )
    if not os.access(path, os.R_OK):
        raise LabelError(f"{path}: permission denied (cannot read the file)")
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise LabelError(f"{path}: cannot read the file: {short_reason(e)}") from e
    if size == 0:
        raise LabelError(f"{path}: file is empty")
    if kind == "npy":
        return _read_npy(path)
    if kind == "parquet":
        return _read_parquet(path)
    return _read_csv(path, path, sep=csv_separator(path))


def _binary_kind(head: bytes) -> str | None:
    """What a file is, from its first bytes, when it is a binary format rather than text."""
    if head.startswith(_NPY_MAGIC):
        return "a .npy array (NumPy binary)"
    if head.startswith(_PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(_ZIP_MAGIC):
        return "a ZIP archive (an .xlsx workbook or an .npz?)"
    return None


_RENAME = {"a .npy array (NumPy binary)": "give it the .npy suffix",
           "a Parquet file": "give it the .parquet suffix"}


def _not_csv(name: str, kind: str) -> LabelError:
    fix = _RENAME.get(kind, "export it as CSV")
    return LabelError(f"{name}: is {kind}, not CSV text; {fix}")


def _stdin_bytes(stdin) -> bytes:
    stream = stdin
    if stream is None:
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        if stream is None:  # the process was started with stdin closed (`<&-`)
            raise LabelError("<stdin>: '-' reads CSV from stdin, but stdin is closed; pipe a file in")
        if hasattr(stream, "isatty") and stream.isatty():
            raise LabelError("<stdin>: '-' reads CSV from stdin, but stdin is a terminal; pipe a file in")
    try:
        return _stdin_cache[stream]
    except (KeyError, TypeError):
        pass
    try:
        data = stream.read()
    except OSError as e:
        raise LabelError(f"<stdin>: could not read: {short_reason(e)}") from e
    if isinstance(data, str):
        data = data.encode("utf-8")
    with contextlib.suppress(TypeError):
        _stdin_cache[stream] = data
    return data


def _npy_header(f, path: str):
    """(shape, fortran_order, dtype) from an open .npy file positioned at 0; LabelError if broken."""
    from numpy.lib import format as fmt

    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            return fmt.read_array_header_1_0(f)
        # 2.0 and 3.0 share the layout (3.0 only allows UTF-8 field names, which we refuse anyway)
        return fmt.read_array_header_2_0(f)
    except Exception as e:
        raise LabelError(f"{path}: the .npy header is damaged ({short_reason(e)}); re-save it with np.save") from e


def _read_npy(path: str) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
            if magic[:4] == _ZIP_MAGIC:
                raise LabelError(f"{path}: is an .npz archive, not a .npy array; save one array with np.save")
            if magic != _NPY_MAGIC:
                if magic[:4] == _PARQUET_MAGIC:
                    raise LabelError(f"{path}: is not a .npy file (it is a Parquet file); give it the .parquet suffix")
                if _is_texty(magic):
                    raise LabelError(f"{path}: is not a .npy file (it is text, CSV?); give it the .csv suffix")
                raise LabelError(f"{path}: is not a .npy file (no NumPy header); save it with np.save")
            f.seek(0)
            shape, _, dtype = _npy_header(f, path)
            body = os.fstat(f.fileno()).st_size - f.tell()
        if dtype.hasobject:
            raise LabelError(
                f"{path}: the .npy file holds Python objects (pickled); save a numeric or string array"
            )
        need = math.prod(shape) * dtype.itemsize
        described = f"shape {shape} {dtype} ({format_bytes(need)})"
        cut = f"; the file also holds only {format_bytes(max(body, 0))} of data (truncated)" if body < need else ""
        avail = memory.available_memory()
        if avail is not None and need > avail:
            raise NotEnoughMemory(
                f"{path}: the .npy header declares {described}, more than the {format_bytes(avail)} of"
                f" memory available{cut}"
            )
        if body < need:
            raise LabelError(
                f"{path}: could not read as .npy: the file is truncated: its header declares {described}"
                f" but only {format_bytes(max(body, 0))} of data follow (not completely written?)"
            )
        return np.load(path, allow_pickle=False)
    except LabelError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise LabelError(
                f"{path}: the .npy file holds Python objects (pickled); save a numeric or string array"
            ) from e
        raise LabelError(f"{path}: could not read as .npy: {short_reason(e)}") from e
    except Exception as e:  # permission races, I/O errors, ...
        raise LabelError(f"{path}: could not read as .npy: {short_reason(e)}") from e


def _is_texty(head: bytes) -> bool:
    return bool(head) and all(32 <= b < 127 or b in (9, 10, 13) for b in head)


def parquet_need(pf) -> int:
    """A lower bound of the bytes a Parquet file takes in memory, from its footer only: the
    fixed-width columns at their width, and at least the uncompressed size of all the data."""
    import pyarrow as pa

    meta = pf.metadata
    fixed = 0
    for field in pf.schema_arrow:
        with contextlib.suppress(ValueError):
            if pa.types.is_primitive(field.type):
                fixed += field.type.bit_width // 8
    uncompressed = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups))
    return max(meta.num_rows * fixed, uncompressed)


def _read_parquet(path: str):
    with open(path, "rb") as f:
        head = f.read(6)
    if not head.startswith(_PARQUET_MAGIC) and (head.startswith(_NPY_MAGIC) or _is_texty(head)):
        kind, suffix = (("a .npy array", ".npy") if head.startswith(_NPY_MAGIC) else ("text, CSV?", ".csv"))
        raise LabelError(f"{path}: could not read as Parquet (it is {kind}); give it the {suffix} suffix")
    try:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        need = parquet_need(pf)
    except Exception as e:
        raise LabelError(f"{path}: could not read as Parquet: {short_reason(e)}") from e
    check_duplicates(names, path)
    if pf.metadata.num_rows == 0:
        raise LabelError(f"{path}: the table has no rows")
    memory.check_fits_in_memory(path, need, f"the Parquet table ({pf.metadata.num_rows:,} rows x {len(names)} columns)")
    try:
        table = pf.read()
    except Exception as e:
        raise LabelError(f"{path}: could not read as Parquet: {short_reason(e)}") from e
    if table.num_rows == 0:
        raise LabelError(f"{path}: the table has no rows")
    try:
        df = table.to_pandas()
    except Exception as e:
        raise LabelError(f"{path}: could not convert the Parquet table: {short_reason(e)}") from e
    df.columns = [str(c) for c in df.columns]
    return df


def check_duplicates(names: Sequence[str], name: str) -> None:
    """Refuse a table whose column names repeat (pandas would rename or drop them silently)."""
    seen: set[str] = set()
    for c in names:
        if c in seen and c != "":
            raise LabelError(f"{name}: column '{c}' appears more than once; rename the duplicates")
        seen.add(c)


def _peek(src: str | bytes, name: str) -> tuple[str, bool]:
    """First ~1 MB of the (decompressed) text, and whether the content is gzip-compressed."""
    try:
        if isinstance(src, bytes):
            gz = src[:2] == _GZIP_MAGIC
            raw = gzip.GzipFile(fileobj=io.BytesIO(src)).read(_PEEK_BYTES) if gz else src[:_PEEK_BYTES]
        else:
            with open(src, "rb") as f:
                raw = f.read(_PEEK_BYTES)
            gz = raw[:2] == _GZIP_MAGIC
            if gz:
                with gzip.open(src, "rb") as g:
                    raw = g.read(_PEEK_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise LabelError(f"{name}: could not read as gzip-compressed CSV: {short_reason(e)}") from e
    kind = _binary_kind(raw)
    if kind:
        raise _not_csv(name, kind)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise LabelError(f"{name}: is UTF-16 text; save it as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise LabelError(f"{name}: contains NUL bytes (line {line}); it is binary data, not CSV text")
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff"), gz


def _sniff_sep(first_line: str) -> str:
    if "," in first_line:
        return ","
    semi, tab = first_line.count(";"), first_line.count("\t")
    if semi or tab:
        return ";" if semi >= tab else "\t"
    return ","


def _looks_headerless(fields: list[str]) -> bool:
    """True when the first row is data (np.savetxt writes no header), not column names."""
    if not fields or not all(_NUMBER.match(f.strip()) for f in fields):
        return False
    ints = [f.strip() for f in fields if re.fullmatch(r"-?\d+", f.strip())]
    if len(fields) == 1:
        # pandas writes an unnamed Series with the header "0"; any other lone number is data.
        return fields[0].strip() != "0"
    return len(ints) < len(fields) or len(set(ints)) < len(ints)


def csv_options(src: str | bytes, name: str, sep: str | None = None) -> dict:
    """pandas.read_csv options for a CSV file (or stdin bytes), from its first ~1 MB: separator,
    header or not (``header=None``: columns are then named "0", "1", ...), compression."""
    text, gz = _peek(src, name)
    if not text.strip():
        raise LabelError(f"{name}: file is empty")
    if sep is None:
        sep = _sniff_sep(text.split("\n", 1)[0])
    header = next(csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True), [])
    headerless = _looks_headerless(header)
    if not headerless:
        check_duplicates([h.strip() for h in header], name)
    return dict(
        sep=sep,
        header=None if headerless else "infer",
        encoding="utf-8-sig",
        compression="gzip" if gz else None,
        skipinitialspace=True,
        keep_default_na=False,  # a class may be called "None" or "NA"; only empty cells are missing
        na_values=[""],
    )


# pandas holds a parsed CSV cell in about 16 bytes (a value or an object pointer plus the parser's
# buffers) and a row in about 24 more: a one-column labels file of short names takes ~40 bytes a
# row, 10-20x its text (measured: 33 B/row for "3", 39 for "cat", 5M rows).
CSV_CELL_BYTES, CSV_ROW_BYTES = 16, 24
_CSV_SAMPLE = 1 << 16


def csv_memory_need(path: str, size: int, options: dict) -> int:
    """An estimate of the memory a CSV file takes once parsed: at least twice its text, and per
    row (counted on the first 64 KiB of text) CSV_ROW_BYTES + CSV_CELL_BYTES per column."""
    try:
        opener = gzip.open if options.get("compression") == "gzip" else open
        with opener(path, "rb") as f:
            head = f.read(_CSV_SAMPLE)
    except (OSError, EOFError):
        return size
    lines = head.count(b"\n") or 1
    rows = lines if len(head) < _CSV_SAMPLE else size * lines / len(head)
    cols = head.split(b"\n", 1)[0].count(options.get("sep", ",").encode()) + 1
    return int(max(2 * size, rows * (CSV_ROW_BYTES + CSV_CELL_BYTES * cols)))


def gzip_text_size(path: str) -> int:
    """Uncompressed size of a gzip file from its trailer (ISIZE, modulo 4 GiB), never less than the
    compressed size (a lower bound when the true size wrapped around)."""
    size = os.path.getsize(path)
    try:
        with open(path, "rb") as f:
            f.seek(max(size - 4, 0))
            isize = int.from_bytes(f.read(4), "little")
    except OSError:
        return size
    return max(isize, size)


def _read_csv(src: str | bytes, name: str, sep: str | None):
    import pandas as pd

    options = csv_options(src, name, sep)
    if isinstance(src, str):  # the text's size, uncompressed (a small .gz can hold gigabytes)
        size = gzip_text_size(src) if options["compression"] else os.path.getsize(src)
        memory.check_fits_in_memory(name, csv_memory_need(src, size, options),
                                    "the CSV file" + (" (uncompressed)" if options["compression"] else ""))
    headerless = options["header"] is None
    source = io.BytesIO(src) if isinstance(src, bytes) else src
    try:
        df = pd.read_csv(source, low_memory=False, **options)
    except pd.errors.EmptyDataError as e:
        raise LabelError(f"{name}: file is empty") from e
    except UnicodeDecodeError as e:
        raise LabelError(f"{name}: is not UTF-8 text ({short_reason(e)}); save it as UTF-8") from e
    except Exception as e:
        raise LabelError(f"{name}: could not read as CSV: {short_reason(e)}") from e
    if headerless:
        df.columns = [str(i) for i in range(df.shape[1])]
    else:
        df.columns = [str(c) for c in df.columns]
    if len(df) == 0:
        raise LabelError(f"{name}: has a header but no data rows")
    return numbers_with_na_markers(df)


# pandas' default missing-value strings. In a column of numbers they still mean NaN; in a text
# column (labels, class names) they are ordinary values.
NA_MARKERS = frozenset(["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                        "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])


def numbers_with_na_markers(df):
    """Columns of numbers that use NA markers ("NaN", "NA", "null", ...) become numeric (NaN)."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    for c in df.columns:
        col = df[c]
        if is_numeric_dtype(col):
            continue
        text = col.astype(str).str.strip().where(col.notna())
        marker = text.isin(NA_MARKERS)
        rest = text[~marker & text.notna()]
        if not marker.any() or len(rest) == 0:
            continue
        nums = pd.to_numeric(rest, errors="coerce")
        if nums.notna().all():
            df[c] = pd.to_numeric(text.where(~marker), errors="coerce")
    return df
