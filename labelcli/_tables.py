"""File formats: read one table or array (.npy / .csv / .parquet / stdin) and write results atomically.

Every problem with a file becomes a one-line LabelError that names the file. pandas and pyarrow are
imported inside the functions that need them, so importing this module stays cheap.

Before anything big is allocated, the in-memory readers compare what a file will need (from the
.npy header or the Parquet footer) with the file's size and the memory available, and refuse with
a pointer to --max-memory (the out-of-core path) instead of dying half-way.
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
import warnings
import weakref
import zlib
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
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
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


# ----------------------------------------------------------------------------------------- memory


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _read_int(path: str) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(path) as f:
            return int(f.read().split()[0])
    return None


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None when the platform does not say.

    The smallest of: the kernel's MemAvailable, the room left under a cgroup (container) limit,
    and the room left under RLIMIT_AS (``ulimit -v``).
    """
    limits: list[int] = []
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo") as f:
            limits.append(next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("MemAvailable:")))
    if not limits:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    cg_max, cg_cur = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if cg_max is not None and cg_cur is not None:  # "max" (no limit) does not parse as an int
        limits.append(max(cg_max - cg_cur, 0))
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            used = 0
            with contextlib.suppress(OSError, ValueError, StopIteration):
                with open("/proc/self/status") as f:
                    used = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmSize:"))
            limits.append(max(soft - used, 0))
    return min(limits) if limits else None


MEMORY_HINT = "use --max-memory to process files larger than memory"


class NotEnoughMemory(LabelError):
    """A file too large to load whole; ``hint`` (what to do) can be replaced by the caller,
    which knows whether the command could have streamed the file."""

    def __init__(self, problem: str, hint: str = MEMORY_HINT):
        super().__init__(f"{problem}; {hint}")
        self.problem = problem

    def with_hint(self, hint: str) -> "NotEnoughMemory":
        return NotEnoughMemory(self.problem, hint)


def check_fits_in_memory(name: str, need: int, what: str) -> None:
    """Refuse (before allocating) when ``need`` bytes are more than the memory available."""
    avail = available_memory()
    if avail is not None and need > avail:
        raise NotEnoughMemory(
            f"{name}: {what} needs {human_bytes(need)} in memory, more than the {human_bytes(avail)} available"
        )


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
        described = f"shape {shape} {dtype} ({human_bytes(need)})"
        cut = f"; the file also holds only {human_bytes(max(body, 0))} of data (truncated)" if body < need else ""
        avail = available_memory()
        if avail is not None and need > avail:
            raise NotEnoughMemory(
                f"{path}: the .npy header declares {described}, more than the {human_bytes(avail)} of"
                f" memory available{cut}"
            )
        if body < need:
            raise LabelError(
                f"{path}: could not read as .npy: the file is truncated: its header declares {described}"
                f" but only {human_bytes(max(body, 0))} of data follow (not completely written?)"
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


def _parquet_need(pf) -> int:
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
        need = _parquet_need(pf)
    except Exception as e:
        raise LabelError(f"{path}: could not read as Parquet: {short_reason(e)}") from e
    _check_duplicates(names, path)
    if pf.metadata.num_rows == 0:
        raise LabelError(f"{path}: the table has no rows")
    check_fits_in_memory(path, need, f"the Parquet table ({pf.metadata.num_rows:,} rows x {len(names)} columns)")
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
        _check_duplicates([h.strip() for h in header], name)
    return dict(
        sep=sep,
        header=None if headerless else "infer",
        encoding="utf-8-sig",
        compression="gzip" if gz else None,
        skipinitialspace=True,
        keep_default_na=False,  # a class may be called "None" or "NA"; only empty cells are missing
        na_values=[""],
    )


def _read_csv(src: str | bytes, name: str, sep: str | None):
    import pandas as pd

    options = csv_options(src, name, sep)
    if isinstance(src, str) and not options["compression"]:
        check_fits_in_memory(name, os.path.getsize(src), "the CSV file")
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
    return _numbers_with_na_markers(df)


# pandas' default missing-value strings. In a column of numbers they still mean NaN; in a text
# column (labels, class names) they are ordinary values.
_NA_MARKERS = frozenset(["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                         "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])


def _numbers_with_na_markers(df):
    """Columns of numbers that use NA markers ("NaN", "NA", "null", ...) become numeric (NaN)."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    for c in df.columns:
        col = df[c]
        if is_numeric_dtype(col):
            continue
        text = col.astype(str).str.strip().where(col.notna())
        marker = text.isin(_NA_MARKERS)
        rest = text[~marker & text.notna()]
        if not marker.any() or len(rest) == 0:
            continue
        nums = pd.to_numeric(rest, errors="coerce")
        if nums.notna().all():
            df[c] = pd.to_numeric(text.where(~marker), errors="coerce")
    return df


# ---------------------------------------------------------------------------------------- writing


def check_output_path(path: str, inputs: Sequence[str | None] = (), *, allowed: Sequence[str] | None = None) -> None:
    """Refuse an output path that cannot be written or would overwrite an input; '-' is stdout."""
    if path == "-":
        return
    allowed = tuple(allowed or ANY_OUT)
    if os.path.isdir(path):
        example = os.path.join(path, "out" + allowed[0])
        raise LabelError(f"--out {path}: is a folder; give a file path such as {example}")
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
    if os.path.isfile(path) and not os.access(path, os.W_OK):
        # The atomic rename could replace it anyway; a read-only file is a request not to.
        raise LabelError(f"--out {path}: the existing file is read-only; remove it or make it writable first")


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


TEMP_TAG = "labelcli"
_TEMP_NAME_MAX = 100  # of the target's name inside the temp name: file names have a length limit


def temp_prefix(path: str) -> str:
    """Temp files for ``path`` are ``.<name>.labelcli-<pid>-<random>.tmp`` in the same folder."""
    return f".{os.path.basename(path)[:_TEMP_NAME_MAX]}.{TEMP_TAG}-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there: never clean up
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (someone else's), or we cannot tell: leave its file alone
    return True


def remove_stale_temp_files(path: str) -> list[str]:
    """Delete temp files that earlier runs writing ``path`` left behind when they were killed
    (SIGKILL, power loss): those whose writer process no longer exists. Returns what was removed."""
    parent = os.path.dirname(path) or "."
    base = os.path.basename(path)[:_TEMP_NAME_MAX]
    pattern = re.compile(re.escape(f".{base}.{TEMP_TAG}-") + r"(\d+)-[A-Za-z0-9_]+\.tmp$")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.listdir(parent):
            m = pattern.match(entry)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(parent, entry))
                    removed.append(entry)
    return removed


@contextlib.contextmanager
def _atomic(path: str, *, text: bool):
    """Yield a temp file next to ``path``; rename it onto ``path`` only if the block succeeds.

    A killed run leaves at most its clearly named temp file (see ``temp_prefix``), never a
    partial ``path``; the next write to the same path removes such leftovers. A symlink target
    is written through: the file it points to is replaced, the link is kept.
    """
    if os.path.islink(path):
        path = os.path.realpath(path)
    parent = os.path.dirname(path) or "."
    remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=temp_prefix(path), suffix=".tmp")
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
    kinds = _kinds(df) if df.shape[1] >= 2 else None  # one column: pandas quotes an empty cell
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
# the JSON record loop (_records), built with Arrow kernels a column at a time instead of a Python
# object per cell (5-10x faster), WRITE_ROWS rows at a time (bounded memory). Tables holding other
# dtypes are written the slow way.

WRITE_ROWS = 1 << 17


def _kinds(df) -> list[str] | None:
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
    """Each row of df as _dump(record) writes it, between before and after, as an Arrow string
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
            words = pa.array([_dump(v) for v in coded.dictionary.to_pylist()], type=text)
            col = pc.fill_null(pc.take(words, coded.indices), "null")
        parts += [pa.scalar((", " if j else "") + _dump(str(df.columns[j])) + ": ", text), col.cast(text)]
    parts.append(pa.scalar("}" + after, text))
    return pc.binary_join_element_wise(*parts, pa.scalar("", text))


def _write_json_rows(df, f, *, lines: bool) -> bool:
    """The records of df, column-wise: as a .json array's items (lines=False) or .jsonl lines;
    False (nothing written) when a column's dtype is not handled."""
    kinds = _kinds(df)
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


def _json_column(series) -> list:
    """A column's values as JSON-ready Python objects (NaN and inf -> None), a whole column at once."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        values = series.tolist()  # Python bool / int / float, as to_jsonable would give
        if dtype.kind == "f":
            return [v if math.isfinite(v) else None for v in values]
        return values
    return [to_jsonable(v) for v in series.tolist()]


def _records(df):
    cols = [str(c) for c in df.columns]
    for row in zip(*(_json_column(df.iloc[:, j]) for j in range(df.shape[1]))):
        yield dict(zip(cols, row))


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
                if not _write_json_rows(df, f, lines=False):  # the same text, a record at a time
                    for i, rec in enumerate(_records(df)):
                        f.write(("\n" if i == 0 else ",\n") + _dump(rec))
                f.write("\n]\n")
        else:  # .jsonl
            with _atomic(path, text=True) as f:
                if not _write_json_rows(df, f, lines=True):
                    for rec in _records(df):
                        f.write(_dump(rec) + "\n")
    except OSError as e:
        raise LabelError(f"{path}: could not write: {short_reason(e)}") from e


def write_stdout(write) -> None:
    """Run write(stream) on stdout: a closed stdout or a full disk is a LabelError, not a crash."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed (`>&-`)
        raise LabelError("<stdout>: --out - writes to stdout, but stdout is closed; give --out PATH")
    try:
        write(stream)
        stream.flush()
    except BrokenPipeError:
        raise  # the reader went away (`| head`): the CLI treats that as success
    except OSError as e:
        # What could not be written is still buffered; Python would flush it again at exit (and
        # fail with exit code 120 and a second message): point the descriptor at /dev/null first.
        with contextlib.suppress(Exception):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, stream.fileno())
            os.close(null)
        raise LabelError(f"<stdout>: could not write (--out -): {short_reason(e)}") from e


def write_table(df, path: str, *, inputs: Sequence[str | None] = ()) -> None:
    """Write a DataFrame by suffix (.csv .parquet .pq .json .jsonl); '-' writes CSV to stdout."""
    check_output_path(path, inputs, allowed=TABLE_OUT)
    if path == "-":
        write_stdout(lambda out: _write_csv(df, out))
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
        write_stdout(lambda out: out.write(text))
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
