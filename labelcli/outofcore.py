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

from labelcli.core import streaming as s
from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.filtering import LabelIssues
from labelcli.errors import LabelError
from labelcli.io.chunks import ProbsReader, StreamSource, open_probs, plan_chunk_rows, read_labels
from labelcli.io.memory import default_max_memory, parse_size


CHUNK_ROWS_ENV = "LABELCLI_CHUNK_ROWS"  # hidden, for tests: force the rows per chunk


def _chunk_rows_override() -> int | None:
    text = os.environ.get(CHUNK_ROWS_ENV)
    if not text:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise LabelError(f"{CHUNK_ROWS_ENV}={text!r}: give a number of rows (at least 1)")
    return int(text)


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


class _Run:
    """One streamed computation: the reader, the labels, the chunks and the progress callback."""

    def __init__(self, labels_source, pred_probs_source, *, max_memory, chunk_rows, normalize, label_col,
                 prob_columns, prob_prefix, progress):
        if isinstance(pred_probs_source, StreamSource):
            max_memory = pred_probs_source.max_memory if max_memory is None else max_memory
            normalize = normalize or pred_probs_source.normalize
        self.reader = reader = open_probs(pred_probs_source, label_col=label_col, prob_columns=prob_columns,
                                          prob_prefix=prob_prefix)
        self.k = k = reader.num_classes
        labels = v.as_labels(read_labels(labels_source, label_col=label_col), num_classes=k)
        if reader.num_rows is not None:
            v.check_same_length(len(labels), reader.num_rows, name_a="labels", name_b=reader.name)
        if k < 2:
            v.as_pred_probs(np.zeros((1, k)), name=reader.name)  # raises the usual message
        self.n = len(labels)
        if chunk_rows is None:
            chunk_rows = _chunk_rows_override()
        if chunk_rows is None:
            budget = default_max_memory() if max_memory is None else parse_size(max_memory)
            chunk_rows = plan_chunk_rows(len(labels), k, reader.itemsize, budget)
        self.chunks = _Chunks(reader, max(1, int(chunk_rows)), labels, normalize)
        self.tick = progress or (lambda *a: None)

    def classes(self) -> s.Classes:
        """Pass 1: per-class counts, self-confidences and thresholds (and the values checked)."""
        parts = []
        for y, p, start in self.chunks:
            parts.append(s.classes_partial(y, p, start))
            self.tick("thresholds", start + len(y), self.n)
        classes = s.classes_merge(parts, self.k)
        del parts
        if len(classes.labels) != self.n:
            self.chunks.length_error(len(classes.labels))
        self.chunks.labels = classes.labels  # the merged copy; drop the first one
        return classes

    def joint(self, classes: s.Classes, plan: s.Plan | None = None):
        """Pass 2: the row scan and the confident joint; (RowScan, {method: scores}, adjusted
        cell counts or None), with the scores the plan needs."""
        margin = classes.margin_thresholds() if plan is not None and plan.needs_margin else None
        kw = {} if plan is None else dict(score_methods=plan.score_methods, margin_thresholds=margin,
                                          count_adjusted=plan.filter_by == "low_adjusted_margin")

        def parts():
            for y, p, start in self.chunks:
                yield s.joint_partial(y, p, start, classes.thresholds, **kw)
                self.tick("confident joint", start + len(y), self.n)

        return s.joint_merge(parts(), self.k, self.n)


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
    """find_label_issues over pred_probs read in chunks; the same LabelIssues, bit for bit.

    labels_source: class indices (array, .npy, or the label_col column of a Parquet / CSV file).
    pred_probs_source: a path (.npy, .parquet / .pq, .csv / .tsv), a StreamSource or an array.
    Table columns: prob_columns, else those starting with prob_prefix, else every numeric column
    but the label. max_memory: bytes or a size like "2GB" (default: half the physical memory);
    it sets the chunk size unless chunk_rows is given. progress(pass_name, rows_done, total_rows)
    after each chunk. Every filter_by / rank_by of find_label_issues is supported, with the same
    defaults (compat="cleanlab": cleanlab's).
    """
    profile = defaults(compat)
    plan = s.Plan(profile.filter_by if filter_by is None else filter_by,
                  profile.rank_by if rank_by is None else rank_by, frac_noise,
                  None if num_to_remove_per_class is None else tuple(num_to_remove_per_class),
                  min_examples_per_class)
    run = _Run(labels_source, pred_probs_source, max_memory=max_memory, chunk_rows=chunk_rows, normalize=normalize,
               label_col=label_col, prob_columns=prob_columns, prob_prefix=prob_prefix, progress=progress)
    plan.check(run.k)
    classes = run.classes()
    v.check_classes_present(classes.labels, run.k)
    scan, scores, adjusted = run.joint(classes, plan)
    pcm = plan.prune_counts(classes, scan.joint)
    cells = None
    if plan.needs_cells:
        merger = s.CellsMerger(s.noise_rate_quota(pcm, classes.counts, min_examples_per_class))
        for y, p, start in run.chunks:
            merger.add(s.cells_partial(y, p, start, merger.quota, merger.bar))
            run.tick("noise-rate cells", start + len(y), run.n)
        cells = merger.result()
    return s.finish(plan, classes, scan, scores, pcm, cells, adjusted)


def label_quality_scores_streaming(labels_source, pred_probs_source, *, method: str | None = None,
                                   adjust_pred_probs: bool = False, max_memory=None, chunk_rows: int | None = None,
                                   normalize: bool = False, label_col: str = "label", prob_columns=None,
                                   prob_prefix: str | None = None, progress=None,
                                   compat: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(label_quality_scores, argmax class) over pred_probs read in chunks; bit for bit the
    in-memory results. One pass, or two when the method needs thresholds of all rows first
    (adjusted_margin, adjust_pred_probs)."""
    from labelcli.core.ranking import _check_method

    method = defaults(compat).rank_by if method is None else method
    _check_method(method, adjust_pred_probs)
    run = _Run(labels_source, pred_probs_source, max_memory=max_memory, chunk_rows=chunk_rows, normalize=normalize,
               label_col=label_col, prob_columns=prob_columns, prob_prefix=prob_prefix, progress=progress)
    thresholds = None
    if method == "adjusted_margin":
        thresholds = run.classes().margin_thresholds()
    elif adjust_pred_probs:
        thresholds = run.classes().thresholds

    def parts():
        for y, p, start in run.chunks:
            yield s.scores_partial(y, p, start, method, adjust_pred_probs, thresholds)
            run.tick("scores", start + len(y), run.n)

    return s.scores_merge(parts(), run.n)


def health_summary_streaming(labels_source, pred_probs_source, *, class_names=None, top_pairs: int | None = 20,
                             max_memory=None, chunk_rows: int | None = None, normalize: bool = False,
                             label_col: str = "label", prob_columns=None, prob_prefix: str | None = None,
                             progress=None):
    """labelcli.health_summary over pred_probs read in chunks (two passes); the same numbers."""
    run = _Run(labels_source, pred_probs_source, max_memory=max_memory, chunk_rows=chunk_rows, normalize=normalize,
               label_col=label_col, prob_columns=prob_columns, prob_prefix=prob_prefix, progress=progress)
    classes = run.classes()
    v.check_classes_present(classes.labels, run.k)
    scan, _, _ = run.joint(classes)
    return s.health_finish(classes, scan, class_names, top_pairs)
