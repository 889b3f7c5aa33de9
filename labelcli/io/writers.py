"""Writing: results to a file chosen by suffix (labelcli.io.formats), to stdout, or to a folder.

check_output_path (check_output_folder) refuses, before any work, an output that cannot be written
or would overwrite an input. Every file is written by the one atomic writer (_atomic: a temp file
next to the target, fsync, rename; stale temp files of killed runs are removed), so a target is
the previous complete file or the new complete one. The CSV and JSON text itself comes from
labelcli.io.textwriters; to_jsonable turns numpy / pandas / dataclass values into plain JSON types.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import sys
import tempfile
from typing import Sequence

import numpy as np

from labelcli.errors import LabelError
from labelcli.io import formats
from labelcli.io.formats import ANY_OUT, ARRAY_OUT, JSON_OUT, TABLE_OUT, describe_ext, short_reason, suffix
from labelcli.io.textwriters import dump_json, write_csv, write_json_rows


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
    if suffix(path, allowed) is None:
        raise LabelError(f"--out {path}: cannot write {describe_ext(path)}; use {', '.join(allowed)} (or - for stdout)")
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


def _json_column(series) -> list:
    """A column's values as JSON-ready Python objects (NaN and inf -> None), a whole column at once."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        values = series.tolist()  # Python bool / int / float, as to_jsonable would give
        if dtype.kind == "f":
            return [v if math.isfinite(v) else None for v in values]
        return values
    return [to_jsonable(v) for v in series.tolist()]


def json_records(df):
    """The rows of df as JSON-ready dicts (column name -> plain Python value, NaN -> None)."""
    cols = [str(c) for c in df.columns]
    for row in zip(*(_json_column(df.iloc[:, j]) for j in range(df.shape[1]))):
        yield dict(zip(cols, row))


def _write_df(df, path: str) -> None:
    kind = formats.kind(path)
    try:
        if kind == "csv":
            with _atomic(path, text=True) as f:
                write_csv(df, f)
        elif kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            with _atomic(path, text=False) as f:
                pq.write_table(table, f)
        elif kind == "json":
            with _atomic(path, text=True) as f:
                f.write("[")
                if not write_json_rows(df, f, lines=False):  # the same text, a record at a time
                    for i, rec in enumerate(json_records(df)):
                        f.write(("\n" if i == 0 else ",\n") + dump_json(rec))
                f.write("\n]\n")
        else:  # .jsonl
            with _atomic(path, text=True) as f:
                if not write_json_rows(df, f, lines=True):
                    for rec in json_records(df):
                        f.write(dump_json(rec) + "\n")
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
        write_stdout(lambda out: write_csv(df, out))
        return
    _write_df(df, path)


def write_array(arr, path: str, *, columns: Sequence[str] | None = None, inputs: Sequence[str | None] = ()) -> None:
    """Write an array as .npy, or as a .csv/.parquet table with ``columns`` (default "0".."K-1")."""
    check_output_path(path, inputs, allowed=ARRAY_OUT)
    arr = np.asarray(arr)
    if path != "-" and formats.kind(path) == "npy":
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
        return list(json_records(obj))
    if type(obj).__name__ == "Series":
        return to_jsonable(obj.tolist())
    raise TypeError(f"cannot write a {type(obj).__name__} as JSON")


# ---------------------------------------------------------------------------------------- folders


def check_output_folder(folder: str, inputs: Sequence[str | None] = (), *, names: Sequence[str] = ()) -> None:
    """Refuse, before any work, an output folder that cannot be created or written, or whose
    files (``names``) would overwrite an input. The folder may exist; its parent must."""
    if folder == "-":
        raise LabelError("--out for report is a folder (e.g. --out report/), not stdout")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise LabelError(f"--out {folder}: exists and is not a folder; give a folder path")
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        raise LabelError(f"--out {folder}: parent folder '{parent}' does not exist; create it first")
    if not os.access(folder if os.path.isdir(folder) else parent, os.W_OK | os.X_OK):
        raise LabelError(f"--out {folder}: folder is not writable")
    for inp in inputs:
        if inp and inp != "-" and os.path.realpath(os.path.dirname(inp) or ".") == os.path.realpath(folder) \
                and os.path.basename(inp) in names:
            raise LabelError(f"--out {folder} would overwrite the input file {inp}; choose another folder")


def write_folder(folder: str, files: dict[str, bytes]) -> list[str]:
    """Write ``files`` (name -> bytes) into ``folder``, created if missing, each atomically and in
    the given order: put the file that links the others (index.html) last, so that it appears only
    once the rest is complete. Returns the paths written."""
    if not os.path.isdir(folder):
        os.mkdir(folder)
    written: list[str] = []
    name = ""
    try:
        for name, data in files.items():
            path = os.path.join(folder, name)
            with _atomic(path, text=False) as f:
                f.write(data)
            written.append(path)
    except OSError as e:
        raise LabelError(f"--out {folder}: could not write {name}: {e.strerror or e}") from e
    return written


def write_bytes(data: bytes, path: str, *, inputs: Sequence[str | None] = (), allowed: Sequence[str] = (".png",)) -> None:
    """Write ``data`` (a PNG by default) to ``path`` atomically."""
    check_output_path(path, inputs, allowed=allowed)
    try:
        with _atomic(path, text=False) as f:
            f.write(data)
    except OSError as e:
        raise LabelError(f"{path}: could not write: {short_reason(e)}") from e
