"""Partitioned Parquet inputs: a folder of Parquet files, or a glob, read as one table.

The files, in sorted name order (their paths relative to the folder, or as the glob matched them),
define the row numbers: file i's first row follows file i - 1's last. Files with 0 rows are
allowed (they hold no rows). Every file must have the same columns. A single machine reads such an
input whole (read_table) or chunk by chunk through the engine (PartitionedReader, a ProbsReader);
labelcli.distributed reads one file per task (Partition).
"""
from __future__ import annotations

import glob as globmod
import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from labelcli.errors import LabelError
from labelcli.io.chunks import ProbsReader, ParquetReader
from labelcli.io.formats import short_reason

PARQUET_SUFFIXES = (".parquet", ".pq")
GLOB_CHARS = "*?["


def is_partitioned(path: str | None) -> bool:
    """True for a folder or a glob pattern (not '-' and not a plain file)."""
    if not path or path == "-":
        return False
    return os.path.isdir(path) or (any(c in path for c in GLOB_CHARS) and not os.path.exists(path))


def expand(path: str) -> list[str]:
    """The Parquet files of a folder (recursively, sorted by relative path; hidden and _-prefixed
    names skipped, as Spark and Dask write _SUCCESS and _metadata) or of a glob (sorted)."""
    if os.path.isdir(path):
        found = []
        for root, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
            found += [os.path.join(root, f) for f in files
                      if f.lower().endswith(PARQUET_SUFFIXES) and not f.startswith((".", "_"))]
        files = sorted(found, key=lambda f: os.path.relpath(f, path))
        what = f"folder {path}"
    else:
        files = sorted(f for f in globmod.glob(path, recursive=True) if os.path.isfile(f))
        what = f"pattern {path}"
    if not files:
        raise LabelError(f"{what}: no Parquet files (.parquet, .pq) found; give a folder or glob of Parquet files")
    bad = [f for f in files if not f.lower().endswith(PARQUET_SUFFIXES)]
    if bad:
        raise LabelError(f"{bad[0]}: a partitioned input holds only Parquet files (.parquet, .pq)")
    return files


@dataclass(frozen=True)
class Partition:
    """One file of a partitioned input: its path, first row and row count."""

    index: int
    path: str
    start: int
    rows: int


@dataclass(frozen=True)
class PartitionSet:
    """The files of a partitioned input, in row order, with their columns (from the first file)."""

    path: str
    parts: tuple[Partition, ...]
    columns: tuple[str, ...]

    @property
    def num_rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def nonempty(self) -> list[Partition]:
        return [p for p in self.parts if p.rows]


def open_partitions(path: str) -> PartitionSet:
    """The PartitionSet of a folder or glob, from the files' footers (no data is read)."""
    import pyarrow.parquet as pq

    parts, columns = [], None
    start = 0
    for i, f in enumerate(expand(path)):
        try:
            meta = pq.ParquetFile(f)
            names = tuple(str(c) for c in meta.schema_arrow.names)
            rows = meta.metadata.num_rows
        except Exception as e:
            raise LabelError(f"{f}: could not read as Parquet: {short_reason(e)}") from e
        if columns is None:
            columns = names
        elif set(names) != set(columns):
            raise LabelError(f"{f}: has columns {list(names)[:6]} but {parts[0].path} has {list(columns)[:6]};"
                             " every file of a partitioned input needs the same columns")
        parts.append(Partition(i, f, start, rows))
        start += rows
    if start == 0:
        raise LabelError(f"{path}: the table has no rows (every file is empty)")
    return PartitionSet(path, tuple(parts), columns)


def read_partition(part: Partition, columns=None):
    """One file's columns as a DataFrame (column names as str, as labelcli.io.readers reads them)."""
    import pyarrow.parquet as pq

    try:
        df = pq.read_table(part.path, columns=None if columns is None else list(columns)).to_pandas()
    except Exception as e:
        raise LabelError(f"{part.path}: could not read as Parquet: {short_reason(e)}") from e
    df.columns = [str(c) for c in df.columns]
    return df


def read_table(path: str):
    """The whole partitioned input as one DataFrame (0-row files contribute nothing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ps = open_partitions(path)
    tables = []
    for p in ps.nonempty():
        try:
            tables.append(pq.read_table(p.path))
        except Exception as e:
            raise LabelError(f"{p.path}: could not read as Parquet: {short_reason(e)}") from e
    first = tables[0].schema
    try:
        table = pa.concat_tables([t.select(first.names) for t in tables], promote_options="none")
    except Exception as e:
        raise LabelError(f"{path}: the files' column types differ ({short_reason(e)}); write them with one schema") from e
    df = table.to_pandas()
    df.columns = [str(c) for c in df.columns]
    return df


def read_column(path: str, column: str) -> np.ndarray:
    """One column of a table file or a partitioned input, in row order (e.g. --id-col)."""
    import pandas as pd

    if is_partitioned(path):
        ps = open_partitions(path)
        if column not in ps.columns:
            raise LabelError(f"{path}: no column '{column}' (for --id-col)")
        parts = [read_partition(p, [column])[column] for p in ps.nonempty()]
        return pd.concat(parts, ignore_index=True).to_numpy()
    from labelcli.io.readers import read_table as read_whole

    df = read_whole(path)
    if isinstance(df, np.ndarray) or column not in df.columns:
        raise LabelError(f"{path}: no column '{column}' (for --id-col); --id-col names a column of the labels table")
    return df[column].to_numpy()


class PartitionedReader(ProbsReader):
    """pred_probs ``columns`` (in class order) of a partitioned input, file after file, for the
    single-machine engine: chunks carry row numbers of the whole input."""

    def __init__(self, path: str, columns):
        self.ps = open_partitions(path)
        self.name, self.columns = path, list(columns)
        self.num_rows, self.num_classes = self.ps.num_rows, len(self.columns)
        first = ParquetReader(self.ps.parts[0].path, self.columns)
        self.itemsize = first.itemsize

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        for p in self.ps.nonempty():
            for start, chunk in ParquetReader(p.path, self.columns).chunks(rows):
                yield p.start + start, chunk


def table_head(path: str, rows: int = 1000):
    """(the first rows of the first non-empty file, the row count of all files, None): as
    labelcli.io.chunks.table_head gives them for one file, for choosing the columns."""
    ps = open_partitions(path)
    head = read_partition(ps.nonempty()[0]).head(rows)
    return head, ps.num_rows, None


def label_frame(path: str, label_col: str):
    """The label column of every file, concatenated (an empty frame with the columns when there
    is no such column, so that the caller words the error)."""
    import pandas as pd

    ps = open_partitions(path)
    if label_col not in ps.columns:
        return pd.DataFrame(columns=list(ps.columns))
    return pd.concat([read_partition(p, [label_col]) for p in ps.nonempty()], ignore_index=True)


def in_memory_bytes(path: str) -> int:
    """About what loading the input whole takes (labelcli.io.chunks.in_memory_bytes, summed)."""
    import pyarrow.parquet as pq

    from labelcli.io.readers import parquet_need

    return sum(3 * parquet_need(pq.ParquetFile(p.path)) for p in open_partitions(path).parts)
