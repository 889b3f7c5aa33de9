"""open_dataset: the one entry that reads and validates a run's inputs into a Dataset.

Each file is read once (a path given twice, or '-' twice, is one table) and validated once: the
labels (multi-class or multi-label, detected from their format), the class names and their order,
pred_probs and features; pred_probs larger than the memory budget stay on disk as a chunk reader.
Which columns mean what is labelcli.io.columns; labels and tags are labelcli.io.labels and
labelcli.io.tags; class names are labelcli.io.classes.
"""
from __future__ import annotations

import os
from functools import partial
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from labelcli.core.multilabel import as_label_matrix, as_multilabel_pred_probs
from labelcli.core.validate import as_features, as_labels, as_pred_probs, check_feature_magnitude, check_same_length
from labelcli.errors import LabelError
from labelcli.io import chunks, partitions, tags
from labelcli.io.classes import column_order_warning, parse_classes, resolve_classes, resolve_tags
from labelcli.io.columns import class_names_from_columns, numeric_columns, pick_columns
from labelcli.io.formats import csv_separator, display_name, preview
from labelcli.io.labels import raw_labels, skipped_rows
from labelcli.io.memory import NotEnoughMemory, format_bytes
from labelcli.io.readers import csv_options, read_table


@dataclass(frozen=True, eq=False)
class Dataset:
    """A run's validated inputs. ``labels[i]`` indexes ``classes`` and the pred_probs columns."""

    labels: np.ndarray  # (N,) int64 class indices; multi-label: (N, K) bool tag matrix
    classes: tuple[str, ...]
    multi_label: bool
    pred_probs: np.ndarray | None  # validated N x K, when loaded whole
    # pred_probs larger than the memory budget: a chunk reader (labelcli.io.chunks.ProbsReader,
    # bound to the resolved columns in class order); pred_probs is then None
    pred_probs_chunks: object | None
    features: np.ndarray | None
    labels_path: str
    pred_probs_path: str | None
    features_path: str | None
    label_kind: str  # "int" or "str": how the labels file writes them (fix writes names back as names)
    normalize: bool  # --normalize, for the chunked path
    max_memory: int | None  # the budget the run was opened with (None: everything is loaded)
    note: str | None = None  # why multi-label was chosen automatically, for a one-line note
    warning: str | None = None  # e.g. --classes names unnamed pred_probs columns in an unlikely order
    # rows to skip: keep=false in a labels file written by `fix` (io.labels.skipped_rows); None: none
    skip: np.ndarray | None = None

    @property
    def num_skipped(self) -> int:
        return 0 if self.skip is None else int(np.count_nonzero(self.skip))

    def without_skipped(self) -> "Dataset":
        """The rows not skipped, for figures with no row numbers (health); self when none are."""
        if not self.num_skipped or self.pred_probs_chunks is not None:
            return self
        from dataclasses import replace

        kept = ~self.skip
        pick = lambda a: None if a is None else a[kept]  # noqa: E731
        return replace(self, labels=self.labels[kept], pred_probs=pick(self.pred_probs),
                       features=pick(self.features), skip=None)

    @property
    def task(self) -> str:
        return "multi-label" if self.multi_label else "multi-class"

    @property
    def num_examples(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def open_dataset(
    labels: str,
    pred_probs: str | None = None,
    features: str | None = None,
    *,
    classes: str | Sequence[str] | None = None,
    label_col: str = "label",
    prob_prefix: str | None = None,
    feature_prefix: str | None = None,
    normalize: bool = False,
    multi_label: bool | None = None,
    label_sep: str = ",",
    stdin=None,
    max_memory: int | None = None,
) -> Dataset:
    """Read and validate the inputs; a path given twice (or '-' twice) is read once as one table.

    ``multi_label``: True or False forces the task; None detects it from the label format (a list
    column, separated tags, a 2-D 0/1 matrix) and says why in ``Dataset.note``.
    ``max_memory``: the budget (bytes) of a command that can stream: multi-class pred_probs from
    a file that would not fit it are not loaded; ``Dataset.pred_probs_chunks`` reads them in
    chunks. Class names and label indices are resolved exactly as for a file loaded whole.
    """
    tables: dict[str, object] = {}
    cannot_stream = None if max_memory is None else _cannot_stream(pred_probs, features, multi_label)
    streaming = max_memory is not None and cannot_stream is None and _too_large(pred_probs, max_memory)

    def key(path: str) -> str:
        return "-" if path == "-" else os.path.realpath(path)

    def table(path: str):
        if key(path) not in tables:
            try:
                # a folder or glob of Parquet files: one table (labelcli.io.partitions)
                read = partitions.read_table if partitions.is_partitioned(path) else partial(read_table, stdin=stdin)
                tables[key(path)] = read(path)
            except NotEnoughMemory as e:  # say whether --max-memory would help
                raise e.with_hint(_memory_hint(max_memory, cannot_stream)) from None
        return tables[key(path)]

    shared = pred_probs is not None and features is not None and key(pred_probs) == key(features)
    if shared and not prob_prefix and not feature_prefix:
        raise LabelError(
            f"{display_name(pred_probs)}: pred_probs and features come from the same table; pass"
            " --prob-prefix or --feature-prefix to say which columns are which"
        )
    given = parse_classes(classes) if classes is not None else None
    lab_name = display_name(labels)
    if not label_sep:
        raise LabelError("--label-sep must not be empty")
    # Labels that share a streamed table with pred_probs are read alone (its label column).
    shared_stream = streaming and key(labels) == key(pred_probs)
    lab_src = _label_frame(pred_probs, label_col) if shared_stream else table(labels)
    why = tags.looks_multilabel(lab_src, label_col, label_sep)
    if multi_label is False and why:
        raise LabelError(f"{lab_name}: {why}, which is multi-label data, but --multi-class was given;"
                         " drop --multi-class (or pass --multi-label)")
    multi = bool(multi_label) or why is not None
    note = f"multi-label: {why}" if why and multi_label is None else None
    if streaming and not multi:
        streamed = _streamed(lab_src, labels, pred_probs, given=given, label_col=label_col,
                             prob_prefix=prob_prefix, normalize=normalize, max_memory=max_memory)
        if streamed is not None:
            return streamed
    if multi:
        cannot_stream = "multi-label data"
        if normalize:
            raise LabelError("--normalize is for multi-class pred_probs; multi-label rows need not sum to 1")
        kind, rows, raw, n = tags.flat_tags(table(labels), lab_name, label_col, label_sep)
    else:
        kind, raw = raw_labels(table(labels), lab_name, label_col)

    probs, prob_names, probs_name = None, None, None
    if pred_probs is not None:
        probs_name = display_name(pred_probs)
        p, cols = numeric_columns(table(pred_probs), probs_name, label_col, prob_prefix,
                                  feature_prefix if shared else None, "pred_probs", "--prob-prefix")
        if cols is not None:
            prob_names = class_names_from_columns(cols, prob_prefix, probs_name)
        try:
            probs = as_multilabel_pred_probs(p, name=probs_name) if multi else \
                as_pred_probs(p, name=probs_name, normalize=normalize)
        except LabelError as e:
            if cols is None or prob_prefix:
                raise
            # The columns were picked automatically (every numeric one): say which, and how to choose.
            raise LabelError(f"{e} (pred_probs were read from the numeric columns {preview(cols)};"
                             " pass --prob-prefix to choose them)") from e

    feats = None
    if features is not None:
        feat_name = display_name(features)
        x, _ = numeric_columns(table(features), feat_name, label_col, feature_prefix,
                               prob_prefix if shared else None, "features", "--feature-prefix")
        feats = check_feature_magnitude(as_features(x, name=feat_name), name=feat_name)  # before any model

    k_probs = None if probs is None else probs.shape[1]
    if multi:
        names, y, order = resolve_tags(kind, rows, raw, n, given, prob_names, k_probs, lab_name, probs_name)
    else:
        names, idx, order = resolve_classes(kind, raw, given, prob_names, k_probs, lab_name, probs_name)
    if order is not None:
        probs = probs[:, order]
    opened = dict(labels_path=labels, pred_probs_path=pred_probs, features_path=features,
                  label_kind=label_kind(table(labels), label_col), normalize=normalize, max_memory=max_memory,
                  skip=skipped_rows(table(labels), lab_name))
    if multi:
        y = as_label_matrix(y, num_classes=len(names), name=lab_name)
        return _checked(Dataset(y, tuple(names), True, probs, None, feats, note=note, **opened))
    if probs is None:
        big = np.flatnonzero(idx >= len(names))
        if big.size:
            r = int(big[0])
            raise LabelError(
                f"{lab_name}: label {int(idx[r])} at row {r} (0-based) is outside 0..{len(names) - 1}"
                f" (--classes lists {len(names)} classes); pass --classes or fix the file"
            )
    y = as_labels(idx, num_classes=k_probs, name=lab_name)
    warn = None
    if probs is not None and given is not None and prob_names is None and kind == "str":
        warn = column_order_warning(y, probs, names, probs_name)
    return _checked(Dataset(y, tuple(names), False, probs, None, feats, warning=warn, **opened))


def _checked(ds: Dataset) -> Dataset:
    lab_name = display_name(ds.labels_path)
    if ds.pred_probs is not None:
        check_same_length(len(ds.labels), len(ds.pred_probs), name_a=lab_name,
                          name_b=display_name(ds.pred_probs_path))
    if ds.features is not None:
        check_same_length(len(ds.labels), len(ds.features), name_a=lab_name,
                          name_b=display_name(ds.features_path))
    return ds


def label_kind(src, label_col: str) -> str:
    """How a labels file writes its labels: "int" (numbers) or "str" (names), from the dtype of its
    label column (the column ``label_col``, else the first)."""
    if isinstance(src, np.ndarray):
        numeric = src.dtype.kind in "biuf"
    else:
        col = label_col if label_col in src.columns else src.columns[0]
        numeric = src[col].dtype.kind in "biuf"
    return "int" if numeric else "str"


# -------------------------------------------------------------------------------------- streaming


def _cannot_stream(pred_probs: str | None, features: str | None, multi_label: bool | None) -> str | None:
    """Why pred_probs could not be streamed, as a phrase (None: they could)."""
    if pred_probs is None:
        return "pred_probs from cross-validation"
    if pred_probs == "-":
        return "pred_probs on stdin"
    if features is not None:
        return "runs with --features"
    if multi_label:
        return "multi-label data"
    if partitions.is_partitioned(pred_probs):
        return None
    if chunks.stream_kind(pred_probs) is None:
        return f"{os.path.basename(pred_probs)} (streaming reads .npy, .parquet and .csv files)"
    return None


def _too_large(pred_probs: str, max_memory: int) -> bool:
    if partitions.is_partitioned(pred_probs):
        return partitions.in_memory_bytes(pred_probs) > max_memory
    return os.path.isfile(pred_probs) and chunks.needs_streaming(pred_probs, max_memory)


def _memory_hint(max_memory: int | None, cannot_stream: str | None) -> str:
    """What to do about a file too large to load whole, for this command and these inputs."""
    if max_memory is None:
        return "labelcli find-issues, score and health read larger files in chunks (--max-memory)"
    if cannot_stream is not None:
        return f"--max-memory reads multi-class pred_probs in chunks, but not {cannot_stream}"
    return f"a smaller --max-memory (now {format_bytes(max_memory)}) reads it in chunks"


def _label_frame(path: str, label_col: str):
    if partitions.is_partitioned(path):
        return partitions.label_frame(path, label_col)
    kind = chunks.stream_kind(path)
    if kind == "npy":
        return read_table(path)
    return chunks.label_frame(path, label_col, csv_options(path, path, csv_separator(path)) if kind == "csv" else None)


def _streamed(lab_src, labels: str, pred_probs: str, *, given, label_col, prob_prefix, normalize, max_memory):
    """A Dataset whose pred_probs stay on disk (a chunk reader), with the classes resolved as for
    a file loaded whole; None when a column of the table is not numbers (then loaded whole)."""
    lab_name, probs_name = display_name(labels), display_name(pred_probs)
    kind, raw = raw_labels(lab_src, lab_name, label_col)
    cols = prob_names = options = reader = None
    parted = partitions.is_partitioned(pred_probs)
    if not parted and chunks.stream_kind(pred_probs) == "npy":
        reader = chunks.NpyReader(pred_probs)
        num_rows, k = reader.num_rows, reader.num_classes
    else:
        from pandas.api.types import is_numeric_dtype

        head, num_rows, options = (partitions.table_head if parted else chunks.table_head)(pred_probs)
        cols = pick_columns(head, probs_name, prefix=prob_prefix, label_col=label_col, skip_prefix=None,
                            what="pred_probs", option="--prob-prefix")
        if options is None and not all(is_numeric_dtype(head[c]) for c in cols):
            return None  # text in a Parquet column: the in-memory reader words the problem
        prob_names = class_names_from_columns(cols, prob_prefix, probs_name)
        k = len(cols)
    names, idx, order = resolve_classes(kind, raw, given, prob_names, k, lab_name, probs_name)
    if order is not None:  # --classes in another order than the columns: read them in that order
        cols = [cols[i] for i in order]
    y = as_labels(idx, num_classes=k, name=lab_name)
    if num_rows is not None:
        check_same_length(len(y), num_rows, name_a=lab_name, name_b=probs_name)
    if parted:
        reader = partitions.PartitionedReader(pred_probs, cols)
    elif reader is None:  # the table's columns in class order, parsed as the in-memory reader would
        reader = chunks.StreamSource(pred_probs, tuple(cols), options, max_memory, normalize).reader()
    return Dataset(y, tuple(names), False, None, reader, None, labels, pred_probs, None,
                   label_kind(lab_src, label_col), normalize, max_memory)
