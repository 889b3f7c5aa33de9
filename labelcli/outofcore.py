"""Out-of-core confident learning: the drivers that run core.streaming over pred_probs read in chunks.

TEMPORARY: the engine is being unified (issue #13); this module keeps only the three drivers and
their helpers (_Run, _Chunks). The chunk readers, the memory budget and when to stream are in
labelcli.io (chunks, memory). The file is read in row chunks, in a fixed number of passes, and
every result is identical to the in-memory function on the whole array:
find_label_issues_streaming (thresholds; confident joint; noise-rate cells, only for
prune_by_noise_rate / both), label_quality_scores_streaming (scores; thresholds first when the
method needs them), health_summary_streaming (thresholds; confident joint). Memory: the chunk and
its temporaries, plus ~40 bytes per row for labels and the per-row results. The CLI gets its chunk
reader from labelcli.io.open_dataset, which resolves the columns and class names as for a file
loaded whole.

    >>> from labelcli.io import parse_size
    >>> from labelcli.outofcore import find_label_issues_streaming
    >>> issues = find_label_issues_streaming("labels.npy", "pred_probs.npy", max_memory=parse_size("256MB"))
"""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.pruning import LabelIssues
from labelcli.errors import LabelError
from labelcli.io.chunks import StreamSource, open_probs, plan_chunk_rows, read_labels
from labelcli.io.memory import default_max_memory, parse_size


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
