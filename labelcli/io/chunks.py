"""Chunk readers for pred_probs larger than memory, and when to use them.

ProbsReader and its kinds yield (start row, N x K chunk), as the engine's ArraySource does for an
array in memory (labelcli.core.engine reads any of them): NpyReader (.npy, memory-mapped; pages are released after each chunk), ParquetReader (record
batches within row groups: a row group is decoded whole, so write files with row groups smaller
than the budget), CsvReader (CSV / TSV with pandas in chunks, with the options of the in-memory
reader). stream_kind says which of them reads a path; table_columns, table_head and label_frame
choose the pred_probs columns and read the label column of a table as the in-memory readers do
for a table read whole; read_labels reads class indices. StreamSource and open_probs pick a
reader; needs_streaming says when a file would not fit a memory budget loaded whole, and
plan_chunk_rows (chunk_rows, with the test override) how many rows a chunk may hold. The engine
that runs over the chunks is labelcli.core.engine.
"""
from __future__ import annotations

import contextlib
import mmap
import os
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from labelcli.core import validate as v
from labelcli.core.engine import ArraySource
from labelcli.errors import LabelError
from labelcli.io import formats
from labelcli.io.columns import pick_columns
from labelcli.io.formats import csv_separator, short_reason
from labelcli.io.memory import default_max_memory, format_bytes, parse_size
from labelcli.io.readers import NA_MARKERS, check_duplicates, csv_options, numbers_with_na_markers, parquet_need


class ProbsReader:
    """Row chunks of an N x K pred_probs source: iterate chunks(rows) for (start, array)."""

    name: str
    num_rows: int | None  # None until read (CSV)
    num_classes: int
    itemsize: int

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        raise NotImplementedError


class NpyReader(ArraySource):
    """A .npy file, memory-mapped. After each chunk its pages are dropped from this process
    (they stay in the page cache), so resident memory stays at about one chunk."""

    def __init__(self, path: str):
        try:
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as e:
            raise LabelError(f"{path}: could not read as .npy: {e}") from e
        super().__init__(arr, name=path)

    def chunks(self, rows):
        arr = self.array
        mm = getattr(arr, "_mmap", None)
        row_bytes = self.num_classes * self.itemsize
        for start, chunk in super().chunks(rows):
            yield start, chunk
            if mm is not None and arr.flags.c_contiguous:
                _release(mm, arr.offset + start * row_bytes, len(chunk) * row_bytes)


def _release(mm: mmap.mmap, start: int, length: int) -> None:
    page = mmap.PAGESIZE
    lo = start // page * page
    try:
        mm.madvise(mmap.MADV_DONTNEED, lo, min(len(mm) - lo, start + length - lo))
    except (AttributeError, OSError, ValueError):  # not on this platform: the OS manages it
        pass


class ParquetReader(ProbsReader):
    """A Parquet file's ``columns`` (in class order) in record batches; a row group is decoded
    whole, so write files with row groups smaller than the budget."""

    def __init__(self, path: str, columns: list[str]):
        import pyarrow.parquet as pq

        self.name, self.columns = path, list(columns)
        try:
            # streamed page reads (no pre-buffering of whole column chunks)
            self.file = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
        except Exception as e:
            raise LabelError(f"{path}: could not read as Parquet: {e}") from e
        self.num_rows, self.num_classes = self.file.metadata.num_rows, len(columns)
        types = [self.file.schema_arrow.field(c).type for c in columns]
        self.itemsize = 4 if all(str(t) == "float" for t in types) else 8

    def chunks(self, rows):
        import pyarrow as pa

        start = 0
        for batch in self.file.iter_batches(batch_size=rows, columns=self.columns, use_threads=False):
            # by name: the columns are in class order, which need not be the file's
            yield start, _stack([batch.column(c).to_numpy(zero_copy_only=False) for c in self.columns])
            start += batch.num_rows
            pa.default_memory_pool().release_unused()


class CsvReader(ProbsReader):
    """CSV / TSV in chunks, parsed with the options of the in-memory reader (labelcli.io.readers)."""

    def __init__(self, path: str, columns: list[str], options: dict | None = None):
        self.name, self.columns = path, list(columns)
        self.options = csv_options(path, path, csv_separator(path)) if options is None else options
        self.num_rows, self.num_classes, self.itemsize = None, len(columns), 8

    def chunks(self, rows):
        import pandas as pd

        headerless = self.options["header"] is None
        use = [int(c) for c in self.columns] if headerless else self.columns
        start = 0
        with pd.read_csv(self.name, usecols=use, chunksize=rows, **self.options) as it:
            for df in it:
                yield start, _stack([_csv_numbers(df[c], self.name, str(c), start) for c in use])
                start += len(df)


def _csv_numbers(s, name: str, col: str, start: int) -> np.ndarray:
    """A chunk's column as numbers; NA markers ('NaN', 'null') are NaN, other text is an error
    naming the row in the whole file (as labelcli.io.columns does for a file read whole)."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype


    if is_numeric_dtype(s) and s.dtype.kind != "b":
        return s.to_numpy()
    text = s.astype(str).str.strip().where(s.notna())
    conv = pd.to_numeric(text.where(~text.isin(NA_MARKERS)), errors="coerce")
    bad = np.flatnonzero((conv.isna() & s.notna() & ~text.isin(NA_MARKERS)).to_numpy())
    if bad.size:
        r = int(bad[0])
        raise LabelError(f"{name}: column '{col}' holds text ('{s.iloc[r]}' at row {start + r} (0-based));"
                         " pred_probs must be numbers")
    return conv.to_numpy(dtype=np.float64)


def _stack(cols: list[np.ndarray]) -> np.ndarray:
    """N x K from columns: float32 when every column is float32, else float64 (as labelcli.io.columns)."""
    dtype = np.float32 if all(c.dtype == np.float32 for c in cols) else np.float64
    out = np.empty((len(cols[0]), len(cols)), dtype=dtype)
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def table_columns(path: str, *, label_col: str = "label", prob_prefix: str | None = None) -> list[str]:
    """pred_probs columns of a Parquet / CSV file, chosen as labelcli.io.columns chooses them in a
    table read whole: those starting with prob_prefix, else the numeric columns but the label and
    id-like ones (index, id), from the file's first rows."""
    return pick_columns(table_head(path)[0], path, prefix=prob_prefix, label_col=label_col, skip_prefix=None,
                        what="pred_probs", option="--prob-prefix")


def _kind(path: str) -> str:
    kind = stream_kind(path)
    if kind is None:
        raise LabelError(f"{path}: streaming reads .npy, .parquet / .pq and .csv / .tsv files")
    return kind


def stream_kind(path: str) -> str | None:
    """'npy', 'parquet' or 'csv' (CSV and TSV) for a file this module can stream, else None."""
    kind = formats.kind(path)
    return {"npy": "npy", "parquet": "parquet", "csv": "csv", "tsv": "csv"}.get(kind)


def read_labels(source, *, label_col: str = "label") -> np.ndarray:
    """Class indices from an array, a .npy file, or the label column of a Parquet / CSV file.
    (Class names must be mapped to indices first; labelcli.io does that for the CLI.)"""
    if not isinstance(source, (str, os.PathLike)):
        return np.asarray(source)
    path = os.fspath(source)
    kind = _kind(path)
    if kind == "npy":
        return np.load(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=[label_col]).column(0).to_numpy()
    import pandas as pd

    return pd.read_csv(path, sep=csv_separator(path) or ",", usecols=[label_col],
                       skipinitialspace=True)[label_col].to_numpy()


def table_head(path: str, rows: int = 1000):
    """(the first rows of a Parquet / CSV table as a DataFrame, its row count or None for CSV,
    the CSV options), read as labelcli.io.readers reads the whole file; for choosing the columns."""

    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
            check_duplicates(pf.schema_arrow.names, path)
            batch = next(pf.iter_batches(batch_size=rows, use_threads=False), None)
        except LabelError:
            raise
        except Exception as e:
            raise LabelError(f"{path}: could not read as Parquet: {short_reason(e)}") from e
        if batch is None or pf.metadata.num_rows == 0:
            raise LabelError(f"{path}: the table has no rows")
        head = batch.to_pandas()
        head.columns = [str(c) for c in head.columns]
        return head, pf.metadata.num_rows, None
    import pandas as pd

    options = csv_options(path, path, csv_separator(path))
    try:
        head = pd.read_csv(path, nrows=rows, **options)
    except Exception as e:
        raise LabelError(f"{path}: could not read as CSV: {short_reason(e)}") from e
    head.columns = [str(c) for c in head.columns]
    if len(head) == 0:
        raise LabelError(f"{path}: has a header but no data rows")
    return numbers_with_na_markers(head), None, options


def label_frame(path: str, label_col: str, csv_opts: dict | None = None):
    """The label column of a Parquet / CSV table, read alone (the pred_probs columns are not
    loaded). Without such a column: an empty frame with the table's columns, so that the caller
    words the error as for a table read whole."""
    import pandas as pd

    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        if label_col not in pf.schema_arrow.names:
            return pd.DataFrame(columns=pf.schema_arrow.names)
        df = pf.read(columns=[label_col]).to_pandas()
        df.columns = [str(c) for c in df.columns]
        return df
    names = [str(c) for c in pd.read_csv(path, nrows=0, **csv_opts).columns]
    if csv_opts["header"] is None or label_col not in names:
        return pd.DataFrame(columns=names if csv_opts["header"] is not None else [str(i) for i in range(len(names))])
    df = pd.read_csv(path, usecols=[label_col], low_memory=False, **csv_opts)
    return numbers_with_na_markers(df)


# ------------------------------------------------------------------------------ choosing a reader


@dataclass(frozen=True)
class StreamSource:
    """A pred_probs file to stream, as labelcli.io.open_dataset resolved it: the table columns in
    class order (None for .npy), the CSV parsing options, and the run's memory budget and --normalize."""

    path: str
    columns: tuple[str, ...] | None = None
    csv_options: dict | None = field(default=None, hash=False)
    max_memory: int | None = None
    normalize: bool = False

    def reader(self) -> ProbsReader:
        """The chunk reader of this file, bound to the columns and CSV options."""
        kind = _kind(self.path)
        if kind == "npy":
            return NpyReader(self.path)
        if kind == "parquet":
            return ParquetReader(self.path, list(self.columns))
        return CsvReader(self.path, list(self.columns), self.csv_options)


def open_probs(source, *, label_col: str = "label", prob_columns=None, prob_prefix=None) -> ProbsReader:
    """A reader for pred_probs given as a path (.npy, Parquet, CSV), a StreamSource or an array."""
    if isinstance(source, (ProbsReader, ArraySource)):
        return source
    if isinstance(source, StreamSource):
        return source.reader()
    if not isinstance(source, (str, os.PathLike)):
        return source if hasattr(source, "chunks") else ArraySource(source)
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise LabelError(f"{path}: file not found")
    kind = _kind(path)
    if kind == "npy":
        return NpyReader(path)
    cols = list(prob_columns) if prob_columns else table_columns(path, label_col=label_col, prob_prefix=prob_prefix)
    return ParquetReader(path, cols) if kind == "parquet" else CsvReader(path, cols, None)


def in_memory_bytes(path: str) -> int:
    """About what loading pred_probs whole takes: twice a .npy's size (the array and the
    computation's temporaries); a Parquet table's decoded size three times over (Arrow, pandas,
    the matrix); a CSV four times its text (the parser's buffers and the frame)."""
    kind = _kind(path)
    size = os.path.getsize(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        with contextlib.suppress(Exception):  # a damaged file: the in-memory reader words the error
            return 3 * parquet_need(pq.ParquetFile(path))
        return 0
    return size * (2 if kind == "npy" else 4)


def needs_streaming(pred_probs_path: str, max_memory=None) -> bool:
    """True when pred_probs would not fit the budget loaded whole (see in_memory_bytes); the CLI
    then streams it."""
    budget = default_max_memory() if max_memory is None else parse_size(max_memory)
    return in_memory_bytes(pred_probs_path) > budget


# Bytes per row kept for the whole input (measured peak ~35 with float32 data): labels and
# predicted (2 each while streaming), self-confidence (4), agrees / off-diagonal / mask (3), the
# outputs scores (8) and predicted (8), the class order while computing thresholds (8), the
# noise-rate candidates (~20 per flagged row).
PER_ROW_BYTES = 40
# A chunk may exist up to this many times over (the reader's buffers, a converted or clipped
# copy, gathers of its rows); the row scan itself works in 1 MB blocks.
CHUNK_COPIES = 4
MIN_CHUNK_ROWS = 1024


def plan_chunk_rows(num_rows: int, num_classes: int, itemsize: int, max_memory: int) -> int:
    """Rows per chunk so that per-row state + CHUNK_COPIES chunks fit in max_memory."""
    fixed = PER_ROW_BYTES * num_rows
    room = max_memory - fixed
    rows = room // (CHUNK_COPIES * num_classes * max(itemsize, 4)) if room > 0 else 0
    if rows < MIN_CHUNK_ROWS:
        need = fixed + CHUNK_COPIES * MIN_CHUNK_ROWS * num_classes * max(itemsize, 4)
        raise LabelError(
            f"--max-memory {format_bytes(max_memory)} is too small for {num_rows:,} rows x {num_classes} classes:"
            f" per-row results alone take {format_bytes(fixed)}; give at least {format_bytes(need)}"
        )
    return int(min(rows, num_rows))


CHUNK_ROWS_ENV = "LABELCLI_CHUNK_ROWS"  # hidden, for tests: force the rows per chunk


def chunk_rows(reader, num_rows: int, max_memory: int | None) -> int:
    """Rows per chunk for reading this pred_probs source within the memory budget
    (plan_chunk_rows; LABELCLI_CHUNK_ROWS forces a number, for tests)."""
    text = os.environ.get(CHUNK_ROWS_ENV)
    if text:
        if not text.strip().isdigit() or int(text) < 1:
            raise LabelError(f"{CHUNK_ROWS_ENV}={text!r}: give a number of rows (at least 1)")
        return int(text)
    budget = default_max_memory() if max_memory is None else max_memory
    return plan_chunk_rows(num_rows, reader.num_classes, reader.itemsize, budget)
