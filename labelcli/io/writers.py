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
import stat
import sys
import tempfile
from typing import Sequence

import numpy as np

from labelcli.errors import LabelError, OutputClosed
from labelcli.io import formats
from labelcli.io.formats import ANY_OUT, ARRAY_OUT, JSON_OUT, TABLE_OUT, describe_ext, short_reason, suffix
from labelcli.io.jsonable import json_records, to_jsonable  # noqa: F401 - also re-exported here
from labelcli.io.textwriters import dump_json, write_csv, write_json_rows


def check_output_path(path: str, inputs: Sequence[str | None] = (), *, allowed: Sequence[str] | None = None,
                      option: str = "--out") -> None:
    """Refuse an output path that cannot be written or would overwrite an input; '-' is stdout.
    option: the option that named the path, for the messages."""
    if path == "-":
        return
    allowed = tuple(allowed or ANY_OUT)
    if os.path.isdir(path):
        example = os.path.join(path, "out" + allowed[0])
        raise LabelError(f"{option} {path}: is a folder; give a file path such as {example}")
    for inp in inputs:
        if inp and inp != "-" and _same_file(path, inp):
            raise LabelError(f"{option} {path} would overwrite the input file {inp}; choose another path")
    refuse_special_file(path)
    if suffix(path, allowed) is None:
        raise LabelError(f"{option} {path}: cannot write {describe_ext(path)}; use {', '.join(allowed)} (or - for stdout)")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        what = "is not a folder" if os.path.exists(parent) else "does not exist; create it first"
        raise LabelError(f"{option} {path}: folder '{parent.rstrip('/')}/' {what}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LabelError(f"{option} {path}: folder '{parent.rstrip('/')}/' is not writable")
    if os.path.isfile(path) and not os.access(path, os.W_OK):
        # The atomic rename could replace it anyway; a read-only file is a request not to.
        raise LabelError(f"{option} {path}: the existing file is read-only; remove it or make it writable first")


def _file_type(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    for test, what in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def refuse_special_file(path: str) -> None:
    """Only a regular file or a missing path may be replaced (a link is followed to its target)."""
    try:
        st = os.stat(path)
    except OSError:
        return  # missing, or a dangling link: the write creates the file
    what = _file_type(st.st_mode)
    if what is not None:
        via = f" (through the link to {os.path.realpath(path)})" if os.path.islink(path) else ""
        raise LabelError(f"--out {path}: is {what}{via}, not a regular file; labelcli only replaces regular files")


def same_file(a: str, b: str) -> bool:
    """Whether two paths name the same file, after resolving links."""
    return _same_file(a, b)


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


def lock_temp_file(fd: int) -> bool:
    """Hold an exclusive advisory lock on a temp file for as long as its writer has it open: the
    lock, not a PID (PIDs of other containers or CI jobs sharing a volume mean nothing here), tells
    the cleanup that the file is live. False where advisory locks are not available."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _claim_if_stale(path: str) -> bool:
    """Delete ``path`` if no process holds its lock (its writer was killed); True if deleted."""
    try:
        import fcntl
    except ImportError:
        return False  # no advisory locks: we cannot tell, leave it
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer holds it
        if os.fstat(fd).st_nlink == 0:
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_stale_temp_files(path: str) -> list[str]:
    """Delete temp files that earlier runs writing ``path`` left behind when they were killed
    (SIGKILL, power loss): those whose lock no writer holds any more (see lock_temp_file). Returns
    what was removed."""
    parent = os.path.dirname(path) or "."
    base = os.path.basename(path)[:_TEMP_NAME_MAX]
    pattern = re.compile(re.escape(f".{base}.{TEMP_TAG}-") + r"(\d+)-[A-Za-z0-9_]+\.tmp$")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.listdir(parent):
            m = pattern.match(entry)
            if m and _claim_if_stale(os.path.join(parent, entry)):
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
    refuse_special_file(path)
    remove_stale_temp_files(path)
    while True:  # lock at once; a cleanup that unlinked it in between (not yet locked): make another
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=temp_prefix(path), suffix=".tmp")
        if not lock_temp_file(fd) or os.fstat(fd).st_nlink > 0:
            break
        os.close(fd)
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
        if _STAGE:  # inside all_or_nothing(): published with the others at its end
            _STAGE[-1].append((tmp, path))
            return
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


atomic_file = _atomic  # the public name (tests, other writers of this package)

_STAGE: list[list[tuple[str, str]]] = []  # the open all_or_nothing() blocks: (temp file, target)


@contextlib.contextmanager
def all_or_nothing():
    """Writes inside the block are staged (complete temp files next to their targets) and published
    together when the block ends without error; on any error (a full disk, a signal) the temp files
    are removed and no target is touched. Publishing keeps a hard link to each replaced target until
    every rename succeeded, so a failed rename puts the old files back."""
    staged: list[tuple[str, str]] = []
    _STAGE.append(staged)
    try:
        yield
    except BaseException:
        _STAGE.pop()
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    _STAGE.pop()
    if _STAGE:  # nested in another block (e.g. write_folder inside a command's): published with its files
        _STAGE[-1].extend(staged)
        return
    publish(staged)


def publish(staged: Sequence[tuple[str, str]]) -> None:
    """Rename each (temp, target) into place, all or none (see all_or_nothing)."""
    backups: list[tuple[str, str | None, bool]] = []  # (target, hard link to its old content, existed)
    try:
        for tmp, path in staged:
            old, existed = None, os.path.exists(path)
            if existed:
                try:
                    os.link(path, f"{tmp}.old")
                    old = f"{tmp}.old"
                except OSError:  # no hard links on this filesystem: publish without a way back
                    pass
            backups.append((path, old, existed))
            os.replace(tmp, path)
    except BaseException:
        for path, old, existed in reversed(backups):
            with contextlib.suppress(OSError):
                if old is not None and _same_file(old, path):  # not replaced yet (rename would do nothing)
                    os.unlink(old)
                elif old is not None:
                    os.replace(old, path)
                elif not existed:
                    os.unlink(path)
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    for _, old, _ in backups:
        if old is not None:
            with contextlib.suppress(OSError):
                os.unlink(old)


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
        _silence_stdout(stream)  # else Python's flush at exit fails again
        raise OutputClosed() from None  # the reader went away (`| head`): success
    except OSError as e:
        # What could not be written is still buffered; Python would flush it again at exit (and
        # fail with exit code 120 and a second message): point the descriptor at /dev/null first.
        with contextlib.suppress(Exception):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, stream.fileno())
            os.close(null)
        raise LabelError(f"<stdout>: could not write (--out -): {short_reason(e)}") from e


def _silence_stdout(stream) -> None:
    with contextlib.suppress(Exception):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)


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


def write_folder(folder: str, files: dict[str, bytes], *, inputs: Sequence[str | None] = ()) -> list[str]:
    """Write ``files`` (name -> bytes) into ``folder``, created if missing, all or nothing: every
    file is staged first and published together (index.html last), so a failed run leaves the
    previous report untouched and a folder this run created is removed. No file may replace one
    of ``inputs`` (compared after resolving links). Returns the paths written."""
    for name in files:
        for inp in inputs:
            if inp and inp != "-" and _same_file(os.path.join(folder, name), inp):
                raise LabelError(f"--out {folder}: {name} would overwrite the input file {inp}; choose another folder")
    created = not os.path.isdir(folder)
    if created:
        os.mkdir(folder)
    written: list[str] = []
    name = ""
    try:
        with all_or_nothing():
            for name, data in files.items():
                path = os.path.join(folder, name)
                with _atomic(path, text=False) as f:
                    f.write(data)
                written.append(path)
    except BaseException as e:
        if created:
            with contextlib.suppress(OSError):
                for entry in os.listdir(folder):
                    os.unlink(os.path.join(folder, entry))
                os.rmdir(folder)
        if isinstance(e, OSError):
            raise LabelError(f"--out {folder}: could not write {name}: {e.strerror or e}") from e
        raise
    return written


def write_bytes(data: bytes, path: str, *, inputs: Sequence[str | None] = (), allowed: Sequence[str] = (".png",)) -> None:
    """Write ``data`` (a PNG by default) to ``path`` atomically; '-' is stdout."""
    check_output_path(path, inputs, allowed=allowed)
    if path == "-":
        def put(stream) -> None:
            stream.flush()
            buffer = getattr(stream, "buffer", None)  # a text stream without bytes under it (a test runner)
            buffer.write(data) if buffer is not None else stream.write(data.decode("utf-8", "surrogateescape"))
        write_stdout(put)
        return
    try:
        with _atomic(path, text=False) as f:
            f.write(data)
    except OSError as e:
        raise LabelError(f"{path}: could not write: {short_reason(e)}") from e
