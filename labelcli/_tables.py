"""File formats: read one table or array (.npy / .csv / .parquet / stdin) and write results atomically.

Every problem with a file becomes a one-line LabelError that names the file. pandas and pyarrow are
imported inside the functions that need them, so importing this module stays cheap.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import gzip
import io
import json
import math
import os
import re
import sys
import tempfile
import weakref
from typing import Sequence

import numpy as np

from labelcli.errors import LabelError

READ_SUFFIXES = (".npy", ".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet", ".pq")
TABLE_OUT = (".csv", ".parquet", ".pq", ".json", ".jsonl")
ARRAY_OUT = (".npy", ".csv", ".parquet", ".pq")
JSON_OUT = (".json",)
ANY_OUT = tuple(dict.fromkeys(TABLE_OUT + ARRAY_OUT + JSON_OUT))

_GZIP_MAGIC = b"\x1f\x8b"
_NPY_MAGIC = b"\x93NUMPY"
_PEEK_BYTES = 1 << 20
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# Bytes read from each stdin stream, so labels and pred_probs can both be "-" (one table).
_stdin_cache: "weakref.WeakKeyDictionary[object, bytes]" = weakref.WeakKeyDictionary()


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def short_reason(e: BaseException) -> str:
    """First line of an exception message, capped, for embedding in a one-line error."""
    text = str(e).strip()
    line = text.splitlines()[0].strip() if text else type(e).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def preview(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in list(names)[:limit])
    return shown + (", ..." if len(names) > limit else "")


def _suffix(path: str, allowed: Sequence[str]) -> str | None:
    low = path.lower()
    for suf in sorted(allowed, key=len, reverse=True):
        if low.endswith(suf):
            return suf
    return None


def _ext_desc(path: str) -> str:
    ext = os.path.splitext(path)[1]
    return f"file type '{ext}'" if ext else "file without an extension"


# ---------------------------------------------------------------------------------------- reading


def read_table(path: str, *, stdin=None):
    """Read ``path`` into a pandas DataFrame (CSV, Parquet, stdin) or a numpy array (.npy)."""
    if path == "-":
        return _read_csv(_stdin_bytes(stdin), "<stdin>", sep=None)
    if not os.path.exists(path):
        raise LabelError(f"{path}: file not found")
    if os.path.isdir(path):
        raise LabelError(f"{path}: is a folder, not a file")
    kind = _suffix(path, READ_SUFFIXES)
    if kind is None:
        raise LabelError(
            f"{path}: unsupported {_ext_desc(path)}; use .npy, .csv, .csv.gz, .tsv, .parquet or .pq"
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
    if kind == ".npy":
        return _read_npy(path)
    if kind in (".parquet", ".pq"):
        return _read_parquet(path)
    return _read_csv(path, path, sep="\t" if kind.startswith(".tsv") else None)


def _stdin_bytes(stdin) -> bytes:
    stream = stdin
    if stream is None:
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        if hasattr(stream, "isatty") and stream.isatty():
            raise LabelError("<stdin>: '-' reads CSV from stdin, but stdin is a terminal; pipe a file in")
    try:
        return _stdin_cache[stream]
    except (KeyError, TypeError):
        pass
    data = stream.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    with contextlib.suppress(TypeError):
        _stdin_cache[stream] = data
    return data


def _read_npy(path: str) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic[:2] == b"PK":
            raise LabelError(f"{path}: is an .npz archive, not a .npy array; save one array with np.save")
        if magic != _NPY_MAGIC:
            raise LabelError(f"{path}: is not a .npy file (no NumPy header); save it with np.save")
        return np.load(path, allow_pickle=False)
    except LabelError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise LabelError(
                f"{path}: the .npy file holds Python objects (pickled); save a numeric or string array"
            ) from e
        raise LabelError(f"{path}: could not read as .npy: {short_reason(e)}") from e
    except Exception as e:  # truncated files, permission races, ...
        raise LabelError(f"{path}: could not read as .npy: {short_reason(e)}") from e


def _read_parquet(path: str):
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except Exception as e:
        raise LabelError(f"{path}: could not read as Parquet: {short_reason(e)}") from e
    _check_duplicates(table.column_names, path)
    if table.num_rows == 0:
        raise LabelError(f"{path}: the table has no rows")
    try:
        df = table.to_pandas()
    except Exception as e:
        raise LabelError(f"{path}: could not convert the Parquet table: {short_reason(e)}") from e
    df.columns = [str(c) for c in df.columns]
    return df


def _check_duplicates(names: Sequence[str], name: str) -> None:
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
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise LabelError(f"{name}: could not read as gzip-compressed CSV: {short_reason(e)}") from e
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


def _read_csv(src: str | bytes, name: str, sep: str | None):
    import pandas as pd

    text, gz = _peek(src, name)
    if not text.strip():
        raise LabelError(f"{name}: file is empty")
    if sep is None:
        sep = _sniff_sep(text.split("\n", 1)[0])
    header = next(csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True), [])
    headerless = _looks_headerless(header)
    if not headerless:
        _check_duplicates([h.strip() for h in header], name)
    source = io.BytesIO(src) if isinstance(src, bytes) else src
    try:
        df = pd.read_csv(
            source,
            sep=sep,
            header=None if headerless else "infer",
            encoding="utf-8-sig",
            compression="gzip" if gz else None,
            skipinitialspace=True,
            low_memory=False,
        )
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
    return df


# ---------------------------------------------------------------------------------------- writing


def check_output_path(path: str, inputs: Sequence[str | None] = (), *, allowed: Sequence[str] | None = None) -> None:
    """Refuse an output path that cannot be written or would overwrite an input; '-' is stdout."""
    if path == "-":
        return
    allowed = tuple(allowed or ANY_OUT)
    if os.path.isdir(path):
        raise LabelError(f"--out {path}: is a folder; give a file path such as {os.path.join(path, 'out' + allowed[0])}")
    for inp in inputs:
        if inp and inp != "-" and _same_file(path, inp):
            raise LabelError(f"--out {path} would overwrite the input file {inp}; choose another path")
    if _suffix(path, allowed) is None:
        raise LabelError(f"--out {path}: cannot write {_ext_desc(path)}; use {', '.join(allowed)} (or - for stdout)")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        what = "is not a folder" if os.path.exists(parent) else "does not exist; create it first"
        raise LabelError(f"--out {path}: folder '{parent.rstrip('/')}/' {what}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LabelError(f"--out {path}: folder '{parent.rstrip('/')}/' is not writable")


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _new_file_mode(path: str) -> int:
    """Keep an existing target's mode; else what open() would give (0o666 minus the umask)."""
    with contextlib.suppress(OSError):
        return os.stat(path).st_mode & 0o7777
    umask = None
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as f:
            umask = next(int(ln.split()[1], 8) for ln in f if ln.startswith("Umask:"))
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def _atomic(path: str, *, text: bool):
    """Yield a temp file next to ``path``; rename it onto ``path`` only if the block succeeds."""
    parent = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=parent, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        f = os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable; not possible everywhere
        dfd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _write_csv(df, f) -> None:
    # pandas writes floats with repr (shortest round-trip); fixed "\n" keeps bytes OS-independent.
    df.to_csv(f, index=False, lineterminator="\n")


def _records(df):
    cols = [str(c) for c in df.columns]
    for row in zip(*(df[c].tolist() for c in df.columns)):
        yield dict(zip(cols, (to_jsonable(v) for v in row)))


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _write_df(df, path: str) -> None:
    suffix = _suffix(path, TABLE_OUT)
    try:
        if suffix == ".csv":
            with _atomic(path, text=True) as f:
                _write_csv(df, f)
        elif suffix in (".parquet", ".pq"):
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            with _atomic(path, text=False) as f:
                pq.write_table(table, f)
        elif suffix == ".json":
            with _atomic(path, text=True) as f:
                f.write("[")
                for i, rec in enumerate(_records(df)):
                    f.write(("\n" if i == 0 else ",\n") + _dump(rec))
                f.write("\n]\n")
        else:  # .jsonl
            with _atomic(path, text=True) as f:
                for rec in _records(df):
                    f.write(_dump(rec) + "\n")
    except OSError as e:
        raise LabelError(f"{path}: could not write: {short_reason(e)}") from e


def write_table(df, path: str, *, inputs: Sequence[str | None] = ()) -> None:
    """Write a DataFrame by suffix (.csv .parquet .pq .json .jsonl); '-' writes CSV to stdout."""
    check_output_path(path, inputs, allowed=TABLE_OUT)
    if path == "-":
        _write_csv(df, sys.stdout)
        sys.stdout.flush()
        return
    _write_df(df, path)


def write_array(arr, path: str, *, columns: Sequence[str] | None = None, inputs: Sequence[str | None] = ()) -> None:
    """Write an array as .npy, or as a .csv/.parquet table with ``columns`` (default "0".."K-1")."""
    check_output_path(path, inputs, allowed=ARRAY_OUT)
    arr = np.asarray(arr)
    if path != "-" and _suffix(path, ARRAY_OUT) == ".npy":
        try:
            with _atomic(path, text=False) as f:
                np.save(f, arr, allow_pickle=False)
        except OSError as e:
            raise LabelError(f"{path}: could not write: {short_reason(e)}") from e
        return
    import pandas as pd

    mat = arr.reshape(len(arr), -1) if arr.ndim != 2 else arr
    names = [str(c) for c in columns] if columns is not None else [str(i) for i in range(mat.shape[1])]
    if len(names) != mat.shape[1]:
        raise ValueError(f"{len(names)} column names for an array with {mat.shape[1]} columns")
    df = pd.DataFrame({name: mat[:, j] for j, name in enumerate(names)})
    write_table(df, path, inputs=inputs)


def write_json(obj, path: str, *, inputs: Sequence[str | None] = ()) -> None:
    """Write ``obj`` as pretty JSON (numpy types converted, NaN -> null); '-' writes to stdout."""
    check_output_path(path, inputs, allowed=JSON_OUT)
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with _atomic(path, text=True) as f:
            f.write(text)
    except OSError as e:
        raise LabelError(f"{path}: could not write: {short_reason(e)}") from e


def to_jsonable(obj):
    """Convert numpy / pandas / dataclass values to plain JSON types; NaN and inf become None."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, dict):
        return {k if isinstance(k, str) else str(to_jsonable(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "isoformat"):  # datetime, date, pandas Timestamp
        return obj.isoformat()
    if type(obj).__name__ in ("NAType", "NaTType"):
        return None
    if type(obj).__name__ == "DataFrame":
        return list(_records(obj))
    if type(obj).__name__ == "Series":
        return to_jsonable(obj.tolist())
    raise TypeError(f"cannot write a {type(obj).__name__} as JSON")
