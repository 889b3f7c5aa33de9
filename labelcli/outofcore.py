"""Out-of-core confident learning: the memory budget and the drivers that run core.streaming.

For pred_probs larger than a memory budget (parse_size, default_max_memory, needs_streaming,
plan_chunk_rows). The file is read in row chunks (the readers are in labelcli.chunks; StreamSource
and open_probs pick one), in a fixed number of passes, and every result is identical to the
in-memory function on the whole array: find_label_issues_streaming (thresholds; confident joint;
noise-rate cells, only for prune_by_noise_rate / both), label_quality_scores_streaming (scores;
thresholds first when the method needs them), health_summary_streaming (thresholds; confident
joint). Memory: the chunk and its temporaries, plus ~40 bytes per row for labels and the per-row
results. The CLI (find-issues, score, health with --max-memory) gets its StreamSource from
labelcli.io, which resolves the columns and class names as for a file loaded whole.

    >>> from labelcli.outofcore import find_label_issues_streaming, parse_size
    >>> issues = find_label_issues_streaming("labels.npy", "pred_probs.npy", max_memory=parse_size("256MB"))
"""
from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from labelcli.chunks import (  # noqa: F401 (stream_kind, table_head, label_frame: re-exported for labelcli.io)
    ArrayReader,
    CsvReader,
    NpyReader,
    ParquetReader,
    ProbsReader,
    _kind,
    label_frame,
    read_labels,
    stream_kind,
    table_columns,
    table_head,
)
from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.pruning import LabelIssues
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
        size = int(text)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]i?)?b?\s*", str(text), flags=re.IGNORECASE)
        size = int(float(m.group(1)) * _UNITS[(m.group(2) or "").upper()]) if m else 0
    if size < 1:
        raise LabelError(f"cannot read the size '{text}'; write e.g. 256MB, 2GB or 1.5GiB")
    return size


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_max_memory() -> int:
    """Half of the physical memory (4 GB when it cannot be found out)."""
    total = physical_memory()
    return int(total * DEFAULT_MEMORY_FRACTION) if total else 4 * 10**9


@dataclass(frozen=True)
class StreamSource:
    """A pred_probs file to stream, as labelcli.io resolved it: the table columns in class order
    (None for .npy), the CSV parsing options, and the run's memory budget and --normalize."""

    path: str
    columns: tuple[str, ...] | None = None
    csv_options: dict | None = field(default=None, hash=False)
    max_memory: int | None = None
    normalize: bool = False

    def reader(self) -> ProbsReader:
        kind = _kind(self.path)
        if kind == "npy":
            return NpyReader(self.path)
        if kind == "parquet":
            return ParquetReader(self.path, list(self.columns))
        return CsvReader(self.path, list(self.columns), self.csv_options)


def open_probs(source, *, label_col: str = "label", prob_columns=None, prob_prefix=None) -> ProbsReader:
    """A reader for pred_probs given as a path (.npy, Parquet, CSV), a StreamSource or an array."""
    if isinstance(source, ProbsReader):
        return source
    if isinstance(source, StreamSource):
        return source.reader()
    if not isinstance(source, (str, os.PathLike)):
        return ArrayReader(source)
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise LabelError(f"{path}: file not found")
    kind = _kind(path)
    if kind == "npy":
        return NpyReader(path)
    cols = list(prob_columns) if prob_columns else table_columns(path, label_col=label_col, prob_prefix=prob_prefix)
    return ParquetReader(path, cols) if kind == "parquet" else CsvReader(path, cols, None)


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


CHUNK_ROWS_ENV = "LABELCLI_CHUNK_ROWS"  # hidden, for tests: force the rows per chunk


def _chunk_rows_override() -> int | None:
    text = os.environ.get(CHUNK_ROWS_ENV)
    if not text:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise LabelError(f"{CHUNK_ROWS_ENV}={text!r}: give a number of rows (at least 1)")
    return int(text)


def _run(labels_source, pred_probs_source, *, max_memory, chunk_rows, normalize, label_col, prob_columns,
         prob_prefix, progress):
    """(labels, reader, engine Run) for the streaming entry points."""
    from labelcli.core.engine import Run

    if isinstance(pred_probs_source, StreamSource):
        max_memory = pred_probs_source.max_memory if max_memory is None else max_memory
        normalize = normalize or pred_probs_source.normalize
    reader = open_probs(pred_probs_source, label_col=label_col, prob_columns=prob_columns, prob_prefix=prob_prefix)
    k = reader.num_classes
    labels = v.as_labels(read_labels(labels_source, label_col=label_col), num_classes=k)
    if reader.num_rows is not None:
        v.check_same_length(len(labels), reader.num_rows, name_a="labels", name_b=reader.name)
    if k < 2:
        v.as_pred_probs(np.zeros((1, k)), name=reader.name)  # raises the usual message
    if chunk_rows is None:
        chunk_rows = _chunk_rows_override()
    if chunk_rows is None:
        budget = default_max_memory() if max_memory is None else parse_size(max_memory)
        chunk_rows = plan_chunk_rows(len(labels), k, reader.itemsize, budget)
    return labels, reader, Run(chunk_rows=chunk_rows, normalize=normalize, progress=progress)


def find_label_issues_streaming(
    labels_source,
    pred_probs_source,
    *,
    max_memory=None,
    filter_by: str | None = None,
    rank_by: str | None = None,
    frac_noise: float = 1.0,
    num_to_remove_per_class=None,
    min_examples_per_class: int = 1,
    chunk_rows: int | None = None,
    normalize: bool = False,
    label_col: str = "label",
    prob_columns=None,
    prob_prefix: str | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    compat: str | None = None,
) -> LabelIssues:
    """find_label_issues over pred_probs read in chunks; the same LabelIssues, bit for bit."""
    from labelcli.core import engine

    profile = defaults(compat)
    plan = engine.Plan(profile.filter_by if filter_by is None else filter_by,
                       profile.rank_by if rank_by is None else rank_by, frac_noise,
                       None if num_to_remove_per_class is None else tuple(num_to_remove_per_class),
                       min_examples_per_class)
    labels, reader, run = _run(labels_source, pred_probs_source, max_memory=max_memory, chunk_rows=chunk_rows,
                               normalize=normalize, label_col=label_col, prob_columns=prob_columns,
                               prob_prefix=prob_prefix, progress=progress)
    plan.check(reader.num_classes)
    v.check_classes_present(labels, reader.num_classes)
    return engine.find_label_issues(labels, reader, plan, run)


def label_quality_scores_streaming(labels_source, pred_probs_source, *, method: str | None = None,
                                   adjust_pred_probs: bool = False, max_memory=None, chunk_rows: int | None = None,
                                   normalize: bool = False, label_col: str = "label", prob_columns=None,
                                   prob_prefix: str | None = None, progress=None,
                                   compat: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(label_quality_scores, argmax class) over pred_probs read in chunks."""
    from labelcli.core import engine
    from labelcli.core.scores import check_method

    method = defaults(compat).rank_by if method is None else method
    check_method(method, adjust_pred_probs)
    labels, reader, run = _run(labels_source, pred_probs_source, max_memory=max_memory, chunk_rows=chunk_rows,
                               normalize=normalize, label_col=label_col, prob_columns=prob_columns,
                               prob_prefix=prob_prefix, progress=progress)
    return engine.label_quality_scores(labels, reader, method, adjust_pred_probs, run)


def health_summary_streaming(labels_source, pred_probs_source, *, class_names=None, top_pairs: int | None = 20,
                             max_memory=None, chunk_rows: int | None = None, normalize: bool = False,
                             label_col: str = "label", prob_columns=None, prob_prefix: str | None = None,
                             progress=None):
    """labelcli.health_summary over pred_probs read in chunks (two passes); the same numbers."""
    from labelcli.core import engine
    from labelcli.core.health import summary_from_scan

    labels, reader, run = _run(labels_source, pred_probs_source, max_memory=max_memory, chunk_rows=chunk_rows,
                               normalize=normalize, label_col=label_col, prob_columns=prob_columns,
                               prob_prefix=prob_prefix, progress=progress)
    v.check_classes_present(labels, reader.num_classes)
    classes, scan = engine.confident_scan(labels, reader, run)
    return summary_from_scan(classes.labels, classes.self_conf, scan, reader.num_classes,
                             class_names=class_names, top_pairs=top_pairs)


def in_memory_bytes(path: str) -> int:
    """About what loading pred_probs whole takes: twice a .npy's size (the array and the
    computation's temporaries); a Parquet table's decoded size three times over (Arrow, pandas,
    the matrix); a CSV four times its text (the parser's buffers and the frame)."""
    kind = _kind(path)
    size = os.path.getsize(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        from labelcli._readers import _parquet_need

        with contextlib.suppress(Exception):  # a damaged file: the in-memory reader words the error
            return 3 * _parquet_need(pq.ParquetFile(path))
        return 0
    return size * (2 if kind == "npy" else 4)


def needs_streaming(pred_probs_path: str, max_memory=None) -> bool:
    """True when pred_probs would not fit the budget loaded whole (see in_memory_bytes); the CLI
    then streams it."""
    budget = default_max_memory() if max_memory is None else parse_size(max_memory)
    return in_memory_bytes(pred_probs_path) > budget
