"""Out-of-core find_label_issues: chunked readers and the driver that runs core.streaming.

For pred_probs larger than a memory budget. The file is read in row chunks, in at most three
passes (thresholds; confident joint; noise-rate cells, only for prune_by_noise_rate / both), and
the result is identical to labelcli.find_label_issues on the whole array. Memory: the chunk and
its temporaries, plus ~40 bytes per row for labels and the per-row results.

    >>> from labelcli.outofcore import find_label_issues_streaming, parse_size
    >>> issues = find_label_issues_streaming("labels.npy", "pred_probs.npy", max_memory=parse_size("256MB"))

Readers: .npy (memory-mapped; pages are released after each chunk), Parquet (record batches
within row groups: a row group is decoded whole, so write files with row groups smaller than
the budget), CSV / TSV (pandas in chunks; parsed once per pass).
"""
from __future__ import annotations

import mmap
import os
import re
from typing import Callable, Iterator

import numpy as np

from labelcli.core import streaming as s
from labelcli.core import validate as v
from labelcli.core.filtering import LabelIssues
from labelcli.errors import LabelError

# Bytes per row kept for the whole input (measured peak ~35 with float32 data): labels and
# predicted (2 each while streaming), self-confidence (4), agrees / off-diagonal / mask (3), the
# outputs scores (8) and predicted (8), the class order while computing thresholds (8), the
# noise-rate candidates (~20 per flagged row).
PER_ROW_BYTES = 40
# A chunk may exist up to this many times over (the reader's buffers, a converted or clipped
# copy, gathers of its rows); the row scan itself works in 1 MB blocks.
CHUNK_COPIES = 4
MIN_CHUNK_ROWS = 1024
DEFAULT_MEMORY_FRACTION = 0.5
_UNITS = {"": 1, "B": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def parse_size(text) -> int:
    """Bytes from "256MB", "2GB", "1.5G", "512MiB" or a plain number of bytes (KB = 1000 B)."""
    if isinstance(text, (int, np.integer)):
        return int(text)
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]i?)?b?\s*", str(text), flags=re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise LabelError(f"cannot read the size '{text}'; write e.g. 256MB, 2GB or 1.5GiB")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").upper()])


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_max_memory() -> int:
    """Half of the physical memory (4 GB when it cannot be found out)."""
    total = physical_memory()
    return int(total * DEFAULT_MEMORY_FRACTION) if total else 4 * 10**9


# --- readers ---------------------------------------------------------------------------------


class ProbsReader:
    """Row chunks of an N x K pred_probs source: iterate chunks(rows) for (start, array)."""

    name: str
    num_rows: int | None  # None until read (CSV)
    num_classes: int
    itemsize: int

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        raise NotImplementedError


class ArrayReader(ProbsReader):
    """An array already in memory (or any np.memmap): chunks are views."""

    def __init__(self, array, name: str = "pred_probs"):
        self.array = np.asarray(array) if not isinstance(array, np.memmap) else array
        if self.array.ndim != 2:
            v.as_float_matrix(self.array, name=name)  # raises the usual message
        self.name, (self.num_rows, self.num_classes) = name, self.array.shape
        self.itemsize = self.array.itemsize

    def chunks(self, rows):
        for start in range(0, self.num_rows, rows):
            yield start, self.array[start : start + rows]


class NpyReader(ArrayReader):
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
    def __init__(self, path: str, columns: list[str]):
        import pyarrow.parquet as pq

        self.name, self.columns = path, columns
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
            yield start, _stack([batch.column(i).to_numpy(zero_copy_only=False) for i in range(batch.num_columns)])
            start += batch.num_rows
            pa.default_memory_pool().release_unused()


class CsvReader(ProbsReader):
    def __init__(self, path: str, columns: list[str], sep: str = ","):
        self.name, self.columns, self.sep = path, columns, sep
        self.num_rows, self.num_classes, self.itemsize = None, len(columns), 8

    def chunks(self, rows):
        import pandas as pd

        start = 0
        with pd.read_csv(self.name, sep=self.sep, usecols=self.columns, chunksize=rows, skipinitialspace=True) as it:
            for df in it:
                yield start, _stack([df[c].to_numpy() for c in self.columns])
                start += len(df)


def _stack(cols: list[np.ndarray]) -> np.ndarray:
    """N x K from columns: float32 when every column is float32, else float64 (as labelcli.io)."""
    dtype = np.float32 if all(c.dtype == np.float32 for c in cols) else np.float64
    out = np.empty((len(cols[0]), len(cols)), dtype=dtype)
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def table_columns(path: str, *, label_col: str = "label", prob_prefix: str | None = None) -> list[str]:
    """pred_probs columns of a Parquet / CSV file: those starting with prob_prefix, else every
    numeric column except the label column and id-like columns (index, id)."""
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        schema = pq.ParquetFile(path).schema_arrow
        names = schema.names
        numeric = {n for n in names if _arrow_numeric(schema.field(n).type)}
    else:
        import pandas as pd

        head = pd.read_csv(path, sep=_sep(path), nrows=100, skipinitialspace=True)
        names = [str(c) for c in head.columns]
        numeric = {n for n in names if head[n].dtype.kind in "if"}
    if prob_prefix:
        cols = [n for n in names if n.startswith(prob_prefix) and n != label_col]
    else:
        cols = [n for n in names if n in numeric and n != label_col and n.strip().lower() not in ("index", "id")]
    if not cols:
        raise LabelError(f"{path}: no pred_probs columns found (columns: {', '.join(names[:10])})")
    return cols


def _arrow_numeric(t) -> bool:
    import pyarrow.types as pt

    return pt.is_floating(t) or pt.is_integer(t)


def _kind(path: str) -> str:
    p = path.lower()
    if p.endswith(".npy"):
        return "npy"
    if p.endswith((".parquet", ".pq")):
        return "parquet"
    if p.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
        return "csv"
    raise LabelError(f"{path}: streaming reads .npy, .parquet / .pq and .csv / .tsv files")


def _sep(path: str) -> str:
    return "\t" if ".tsv" in path.lower() else ","


def open_probs(source, *, label_col: str = "label", prob_columns=None, prob_prefix=None) -> ProbsReader:
    """A reader for pred_probs given as a path (.npy, Parquet, CSV) or an array."""
    if not isinstance(source, (str, os.PathLike)):
        return ArrayReader(source)
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise LabelError(f"{path}: file not found")
    kind = _kind(path)
    if kind == "npy":
        return NpyReader(path)
    cols = list(prob_columns) if prob_columns else table_columns(path, label_col=label_col, prob_prefix=prob_prefix)
    return ParquetReader(path, cols) if kind == "parquet" else CsvReader(path, cols, _sep(path))


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

    return pd.read_csv(path, sep=_sep(path), usecols=[label_col], skipinitialspace=True)[label_col].to_numpy()


# --- the driver ------------------------------------------------------------------------------


def plan_chunk_rows(num_rows: int, num_classes: int, itemsize: int, max_memory: int) -> int:
    """Rows per chunk so that per-row state + CHUNK_COPIES chunks fit in max_memory."""
    fixed = PER_ROW_BYTES * num_rows
    room = max_memory - fixed
    rows = room // (CHUNK_COPIES * num_classes * max(itemsize, 4)) if room > 0 else 0
    if rows < MIN_CHUNK_ROWS:
        need = fixed + CHUNK_COPIES * MIN_CHUNK_ROWS * num_classes * max(itemsize, 4)
        raise LabelError(
            f"--max-memory {_human(max_memory)} is too small for {num_rows:,} rows x {num_classes} classes:"
            f" per-row results alone take {_human(fixed)}; give at least {_human(need)}"
        )
    return int(min(rows, num_rows))


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1000
    return f"{n:.1f}TB"


class _Chunks:
    """Reads the chunks the same way in every pass. The first pass checks each chunk's values;
    chunks that needed as_pred_probs (clipped or normalised) are redone so in later passes."""

    def __init__(self, reader: ProbsReader, rows: int, labels: np.ndarray, normalize: bool):
        self.reader, self.rows, self.labels, self.normalize = reader, rows, labels, normalize
        self.fixed: set[int] = set()
        self.checked = False

    def __iter__(self):
        for i, (start, raw) in enumerate(self.reader.chunks(self.rows)):
            y = self.labels[start : start + len(raw)]
            if len(y) < len(raw):
                self.length_error(start + len(raw))
            if i in self.fixed or (not self.checked and self._needs_fixing(raw)):
                self.fixed.add(i)
                p = v.as_pred_probs(raw, name=self.reader.name, normalize=self.normalize, row_offset=start)
            else:
                p = v.as_float_matrix(raw, name=self.reader.name)
            yield y, p, start
        self.checked = True

    def _needs_fixing(self, raw) -> bool:
        p = v.as_float_matrix(raw, name=self.reader.name)
        return p.shape[1] < 2 or self.normalize or not v._plainly_valid(p, np.asarray(raw).dtype, False)

    def length_error(self, n_probs: int):
        v.check_same_length(len(self.labels), n_probs, name_a="labels", name_b=self.reader.name)


def find_label_issues_streaming(
    labels_source,
    pred_probs_source,
    *,
    max_memory=None,
    filter_by: str = "prune_by_noise_rate",
    rank_by: str = "self_confidence",
    frac_noise: float = 1.0,
    num_to_remove_per_class=None,
    min_examples_per_class: int = 1,
    chunk_rows: int | None = None,
    normalize: bool = False,
    label_col: str = "label",
    prob_columns=None,
    prob_prefix: str | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> LabelIssues:
    """find_label_issues over pred_probs read in chunks; the same LabelIssues, bit for bit.

    labels_source: class indices (array, .npy, or the label_col column of a Parquet / CSV file).
    pred_probs_source: a path (.npy, .parquet / .pq, .csv / .tsv) or an array. Table columns:
    prob_columns, else those starting with prob_prefix, else every numeric column but the label.
    max_memory: bytes or a size like "2GB" (default: half the physical memory); it sets the chunk
    size unless chunk_rows is given. progress(pass_name, rows_done, total_rows) after each chunk.
    Every filter_by / rank_by of find_label_issues is supported.
    """
    reader = open_probs(pred_probs_source, label_col=label_col, prob_columns=prob_columns, prob_prefix=prob_prefix)
    k = reader.num_classes
    labels = v.as_labels(read_labels(labels_source, label_col=label_col), num_classes=k)
    if reader.num_rows is not None:
        v.check_same_length(len(labels), reader.num_rows, name_a="labels", name_b=reader.name)
    if k < 2:
        v.as_pred_probs(np.zeros((1, k)), name=reader.name)  # raises the usual message
    plan = s.Plan(filter_by, rank_by, frac_noise,
                  None if num_to_remove_per_class is None else tuple(num_to_remove_per_class),
                  min_examples_per_class)
    plan.check(k)
    if chunk_rows is None:
        budget = default_max_memory() if max_memory is None else parse_size(max_memory)
        chunk_rows = plan_chunk_rows(len(labels), k, reader.itemsize, budget)
    chunks = _Chunks(reader, max(1, int(chunk_rows)), labels, normalize)
    tick = progress or (lambda *a: None)

    parts = []
    for y, p, start in chunks:
        parts.append(s.classes_partial(y, p, start))
        tick("thresholds", start + len(y), len(labels))
    classes = s.classes_merge(parts, k)
    del parts
    if len(classes.labels) != len(labels):
        chunks.length_error(len(classes.labels))
    labels = chunks.labels = classes.labels  # the merged copy; drop the first one
    v.check_classes_present(labels, k)

    def joint_parts():
        for y, p, start in chunks:
            yield s.joint_partial(y, p, start, classes.thresholds, score_methods=plan.score_methods)
            tick("confident joint", start + len(y), len(labels))

    scan, scores = s.joint_merge(joint_parts(), k, len(labels))
    pcm = plan.prune_counts(classes, scan.joint)

    cells = None
    if plan.needs_cells:
        merger = s.CellsMerger(s.noise_rate_quota(pcm, classes.counts, min_examples_per_class))
        for y, p, start in chunks:
            merger.add(s.cells_partial(y, p, start, merger.quota, merger.bar))
            tick("noise-rate cells", start + len(y), len(labels))
        cells = merger.result()
    return s.finish(plan, classes, scan, scores, pcm, cells)


def needs_streaming(pred_probs_path: str, max_memory=None) -> bool:
    """True when loading pred_probs whole (about twice its file size, plus per-row results)
    would not fit the budget; the CLI then calls find_label_issues_streaming."""
    budget = default_max_memory() if max_memory is None else parse_size(max_memory)
    size = os.path.getsize(pred_probs_path)
    factor = 2 if _kind(pred_probs_path) == "npy" else 4  # text and Parquet expand when parsed
    return size * factor > budget
