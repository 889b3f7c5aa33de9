"""The one engine of confident learning: the passes of labelcli.core.passes run over the chunks
of a pred_probs source, in a fixed number of passes, with results identical whatever the chunks.

A source is anything with ``name``, ``num_rows`` (None until read), ``num_classes``, ``itemsize``
and ``chunks(rows) -> iterator of (first row, rows x K array)`` that can be read more than once:
ArraySource for an array in memory (one chunk unless told otherwise), labelcli.io's chunk readers
for files larger than memory. The functions here take validated labels; the public functions of
labelcli (find_label_issues, label_quality_scores, health_summary, the counting functions) check
their arguments and run the engine on an ArraySource.

Values are checked where they are read: inside the joint pass (the block checks of
validate.ValueCheck), or before scoring; a chunk that fails goes through validate.as_pred_probs,
which words the problem or returns the clipped (--normalize: rescaled) rows, and the passes start
over with that chunk fixed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from labelcli.core import passes as ps
from labelcli.core import validate as v
from labelcli.core.adjusted import adjusted_issue_count
from labelcli.core.latent import calibrate, latent_estimates
from labelcli.core.pruning import (
    COUNTED_FILTERS,
    PRUNING,
    LabelIssues,
    check_options,
    issues_mask,
    noise_rate_quota,
    prune_counts,
)
from labelcli.core.scan import RowScan
from labelcli.core.scores import MODEL_METHODS, check_method, needs_thresholds
from labelcli.core.select import lowest_mask, order_by_score
from labelcli.errors import LabelError


class ArraySource:
    """pred_probs already in memory (or memory-mapped): chunks are row slices (views).

    dtype: the dtype the values were given in, when the array is a converted copy (float16
    files keep their own row-sum tolerance, see validate.as_pred_probs)."""

    def __init__(self, array, name: str = "pred_probs", dtype=None):
        self.array = array if isinstance(array, np.memmap) else np.asarray(array)
        self.dtype = np.dtype(dtype) if dtype is not None else self.array.dtype
        if self.array.ndim != 2:
            v.as_float_matrix(self.array, name=name)  # raises the usual message
        self.name, (self.num_rows, self.num_classes) = name, self.array.shape
        self.itemsize = self.array.itemsize

    def chunks(self, rows: int):
        for start in range(0, self.num_rows, rows):
            yield start, self.array[start : start + rows]


@dataclass(frozen=True)
class Run:
    """How to run the passes. chunk_rows: rows per chunk (None: the whole source when it is in
    memory, else as many as max_memory allows). normalize: rescale rows that do not sum to 1.
    checked: the values were validated already (no checks in the passes). progress(pass name,
    rows done, total rows or None) after each chunk."""

    chunk_rows: int | None = None
    max_memory: int | None = None
    normalize: bool = False
    checked: bool = False
    progress: Callable[[str, int, int | None], None] | None = field(default=None, compare=False)


# Rows per chunk of a source that is not an array in memory, unless the run says otherwise
# (labelcli.io plans chunk rows from the memory budget).
DEFAULT_CHUNK_ROWS = 1 << 16


class ChunkStream:
    """The chunks of one run, read the same way in every pass (one pass = one iteration).

    A chunk is taken as read (validate.as_float_matrix) with the block checks of
    validate.ValueCheck attached, for the pass that scans it to run. A chunk whose check failed
    goes through validate.as_pred_probs (clipped, or refused with the precise message) in every
    pass from then on; so does every chunk with normalize. check_up_front: check each chunk
    when it is read (passes that do not scan)."""

    def __init__(self, source, labels: np.ndarray, run: Run, *, check_up_front: bool = False):
        self.source, self.labels, self.run = source, labels, run
        self.name = getattr(source, "name", "pred_probs")
        self.k = source.num_classes
        self.n = len(labels)
        if source.num_rows is not None:
            v.check_same_length(self.n, source.num_rows, name_a="labels", name_b=self.name)
        if self.k < 2:
            v.as_pred_probs(np.zeros((1, self.k)), name=self.name)  # raises the usual message
        rows = run.chunk_rows
        if rows is None:
            in_memory = isinstance(source, ArraySource) and not isinstance(source.array, np.memmap)
            rows = self.n if in_memory else DEFAULT_CHUNK_ROWS
        self.rows = max(1, int(rows))
        self.check_up_front = check_up_front
        self.fixed: set[int] = set()  # first rows of the chunks that go through as_pred_probs
        self.valid: set[int] = set()  # ... of the chunks whose values passed their check
        self.tick = run.progress or (lambda *a: None)

    def __iter__(self):
        for start, raw in self.source.chunks(self.rows):
            y = self.labels[start : start + len(raw)]
            if len(y) < len(raw):
                self.length_error(start + len(raw))
            yield self._chunk(start, y, raw)

    def _chunk(self, start: int, y: np.ndarray, raw) -> ps.Chunk:
        dtype = getattr(self.source, "dtype", None) or np.asarray(raw).dtype
        if self.run.normalize or start in self.fixed:
            return ps.Chunk(start, y, v.as_pred_probs(raw, name=self.name, normalize=self.run.normalize,
                                                      row_offset=start, source_dtype=dtype))
        p = v.as_float_matrix(raw, name=self.name)
        if self.run.checked or start in self.valid:
            return ps.Chunk(start, y, p)
        if self.check_up_front:
            if v.plainly_valid(p, dtype, False):
                self.valid.add(start)
                return ps.Chunk(start, y, p)
            self.fixed.add(start)
            return self._chunk(start, y, raw)
        return ps.Chunk(start, y, p, v.ValueCheck.for_array(p, dtype, name=self.name))

    def length_error(self, n_probs: int):
        v.check_same_length(self.n, n_probs, name_a="labels", name_b=self.name)


def _classes(stream: ChunkStream) -> ps.Classes:
    """Pass 1: per-class counts, self-confidences and thresholds."""
    parts = []
    for chunk in stream:
        parts.append(ps.classes_partial(chunk))
        stream.tick("thresholds", chunk.start + len(chunk), stream.n)
    classes = ps.classes_merge(parts, stream.k)
    if len(classes.labels) != stream.n:
        stream.length_error(len(classes.labels))
    return classes


def _joint(stream: ChunkStream, classes: ps.Classes, plan=None):
    """Pass 2: the row scan and the confident joint; (RowScan, {method: scores}, adjusted cell
    counts or None), with the scores the plan needs."""
    margin = classes.margin_thresholds() if plan is not None and plan.needs_margin else None
    kw = {} if plan is None else dict(score_methods=plan.score_methods, margin_thresholds=margin,
                                      count_adjusted=plan.count_adjusted, joint=plan.needs_joint,
                                      adjusted_scores="adjusted_margin" in plan.scores)

    def parts():
        for chunk in stream:
            sc = classes.self_conf[chunk.start : chunk.start + len(chunk)]
            yield ps.joint_partial(chunk, classes.thresholds, self_conf=sc, **kw)
            if chunk.check is not None:
                stream.valid.add(chunk.start)
            stream.tick("confident joint", chunk.start + len(chunk), stream.n)

    return ps.joint_merge(parts(), stream.k, stream.n)


def _with_checks(stream: ChunkStream, passes: Callable):
    """Run passes(); when the values of a chunk fail their check, fix that chunk and start over."""
    while True:
        try:
            return passes()
        except ps.ValuesUnchecked as e:
            stream.fixed.add(e.start)


def confident_scan(labels: np.ndarray, source, run: Run = Run(), *, thresholds=None) -> tuple[ps.Classes, RowScan]:
    """Passes 1 and 2 without scores: the classes (thresholds) and the row scan with the raw
    confident joint (what the counting functions and health_summary need). thresholds: the
    caller's, instead of the per-class means."""
    stream = ChunkStream(source, labels, run)

    def passes():
        classes = _classes(stream)
        if thresholds is not None:
            classes.thresholds = thresholds  # instead of the class means
        return classes, _joint(stream, classes)[0]

    return _with_checks(stream, passes)


@dataclass(frozen=True)
class Plan:
    """What the passes compute for one call of find_label_issues (options already resolved)."""

    filter_by: str = "prune_by_noise_rate"
    rank_by: str = "self_confidence"
    frac_noise: float = 1.0
    num_to_remove_per_class: tuple | None = None
    min_examples_per_class: int = 1
    confident_joint: np.ndarray | None = field(default=None, compare=False)  # the caller's, instead of the estimate
    ties: str = "row"  # core.select.TIES; "numpy" reproduces cleanlab where a whole class is in one chunk
    # A reference set's (core.reference): pass 1's per-class thresholds and the posterior's noise
    # matrix, instead of this data's; with its confident_joint the rows are scanned against them.
    thresholds: np.ndarray | None = field(default=None, compare=False)
    noise_matrix: np.ndarray | None = field(default=None, compare=False)
    count_joint: np.ndarray | None = field(default=None, compare=False)  # sets the counted filters' count (else confident_joint)

    @property
    def needs_cells(self) -> bool:
        return self.filter_by in ("prune_by_noise_rate", "both")

    @property
    def score_methods(self) -> tuple:
        """Scores pass 2 computes per chunk (self_confidence comes from pass 1; adjusted_margin
        needs the margin thresholds of all rows, see needs_margin; posterior the noise model)."""
        return tuple(sorted(self.scores - {"self_confidence", "adjusted_margin", *MODEL_METHODS}))

    @property
    def scores(self) -> set:
        """The label quality scores the filter and the ranking read."""
        wanted = {self.rank_by}
        if self.filter_by.startswith("low_"):
            wanted.add(self.filter_by[len("low_") :])
        return wanted

    @property
    def count_adjusted(self) -> bool:
        """The count of the counted filters comes from the adjusted guesses (not a caller's joint)."""
        return self.filter_by in COUNTED_FILTERS and self.confident_joint is None

    @property
    def needs_joint(self) -> bool:
        """Every filter but low_adjusted_margin reads the confident joint or the per-row scan, and
        the posterior's noise model is estimated from the joint."""
        return self.filter_by != "low_adjusted_margin" or self.needs_posterior

    @property
    def needs_margin(self) -> bool:
        """The margin thresholds: for the adjusted margin, and for the counted filters' count."""
        return "adjusted_margin" in self.scores or self.count_adjusted

    @property
    def needs_posterior(self) -> bool:
        return "posterior" in self.scores

    def check(self, k: int) -> None:
        check_options(self.filter_by, self.rank_by, self.frac_noise, self.num_to_remove_per_class,
                      self.min_examples_per_class, k)
        if self.confident_joint is not None:
            v.check_class_matrix(self.confident_joint, k, name="confident_joint")
        if self.thresholds is not None and np.shape(self.thresholds) != (k,):
            raise LabelError(f"thresholds has shape {np.shape(self.thresholds)}; expected ({k},) for {k} classes")

    def prune_counts(self, classes: ps.Classes, joint: np.ndarray) -> np.ndarray | None:
        if self.filter_by not in PRUNING:
            return None
        cj = joint if self.confident_joint is None else self.confident_joint
        return prune_counts(calibrate(cj, classes.counts), classes.counts, self.min_examples_per_class,
                            self.frac_noise, self.num_to_remove_per_class)


def find_label_issues(labels: np.ndarray, source, plan: Plan, run: Run = Run()) -> LabelIssues:
    """find_label_issues over the chunks of source. labels: validated class indices (callers
    check that at least two classes occur, see validate.check_classes_present)."""
    stream = ChunkStream(source, labels, run)
    plan.check(stream.k)

    def passes():
        classes = _classes(stream)
        if plan.thresholds is not None:
            classes.thresholds = plan.thresholds  # a reference set's, instead of the class means
        scan, scores, adjusted = _joint(stream, classes, plan)
        if plan.needs_posterior:
            noise = _noise_matrix(stream, classes, scan) if plan.noise_matrix is None else plan.noise_matrix
            scores["posterior"] = _posterior(stream, noise)
        pcm = plan.prune_counts(classes, scan.joint)
        cells = _cells(stream, classes, pcm, plan) if plan.needs_cells else None
        return _finish(plan, classes, scan, scores, pcm, cells, adjusted)

    return _with_checks(stream, passes)


def _cells(stream: ChunkStream, classes: ps.Classes, pcm: np.ndarray, plan: Plan):
    """Pass 3: each noise-rate cell's rows."""
    quota = noise_rate_quota(pcm, classes.counts, plan.min_examples_per_class)
    merger = ps.CellsMerger(quota)
    for chunk in stream:
        whole = chunk.start == 0 and len(chunk) == stream.n
        part = ps.cells_partial(chunk, quota, merger.bar_for(chunk.start), classes.by_class if whole else None,
                                keys=not whole, ties=plan.ties if whole else "row")
        if whole:  # one chunk holds every row: its picks are the result
            return part
        merger.add(part, chunk.start, len(chunk))
        stream.tick("noise-rate cells", chunk.start + len(chunk), stream.n)
    return merger.result()


def _finish(plan: Plan, classes: ps.Classes, scan: RowScan, scores: dict, pcm, cells, adjusted_cells) -> LabelIssues:
    """The LabelIssues of find_label_issues from the merged results of the passes."""
    y, sc = classes.labels, classes.self_conf
    all_scores = {"self_confidence": lambda: sc.astype(np.float64), **{m: (lambda m=m: scores[m]) for m in scores}}
    if plan.filter_by in COUNTED_FILTERS:
        if plan.confident_joint is None:
            num = adjusted_issue_count(adjusted_cells, classes.counts)
        else:  # the caller's joint sets the count, as it does for cleanlab's low_* filters
            from labelcli.core.latent import calibrated_off_diagonal

            num = calibrated_off_diagonal(plan.confident_joint if plan.count_joint is None else plan.count_joint,
                                          classes.counts)
        mask = lowest_mask(scores[plan.filter_by[len("low_") :]], num, plan.ties)
    else:
        mask = issues_mask(
            plan.filter_by, y, sc, scan, classes.by_class, pcm, plan.min_examples_per_class,
            (lambda: ps.cells_mask(cells, len(y))) if plan.needs_cells else None,
            all_scores.get(plan.filter_by[len("low_") :]), plan.ties,
        )
    rank_scores = all_scores[plan.rank_by]()
    ranking = order_by_score(np.flatnonzero(mask), rank_scores, plan.ties)
    predicted = scan.predicted.astype(np.intp)
    return LabelIssues(mask, ranking, rank_scores, predicted, plan.filter_by, plan.rank_by)


def _noise_matrix(stream: ChunkStream, classes: ps.Classes, scan: RowScan) -> np.ndarray | None:
    """The noise matrix of the posterior's class-conditional kernel, from the confident joint
    (None when the data are too few for it, see core.posterior.uses_noise_matrix)."""
    from labelcli.core import posterior

    if not posterior.uses_noise_matrix(stream.n, stream.k):
        return None
    counts = classes.counts
    return latent_estimates(calibrate(scan.joint, counts), counts, converge=True).noise_matrix


def _posterior(stream: ChunkStream, noise: np.ndarray | None) -> np.ndarray:
    """The posterior scores (core.posterior): the model fitted on a fixed stride of rows
    (gathered from the chunks in row order), then every chunk scored by the kernels the model
    uses. noise: the noise matrix (_noise_matrix)."""
    from labelcli.core import posterior

    take = posterior.fit_rows(stream.n)
    picked = []  # (first row, kernel terms) of the fit rows in each chunk
    for chunk in stream:
        lo, hi = np.searchsorted(take, [chunk.start, chunk.start + len(chunk)])
        picked.append((chunk.start, posterior.kernel_terms_of_rows(chunk.labels, chunk.pred_probs,
                                                                   take[lo:hi] - chunk.start, noise)))
        stream.tick("noise model", chunk.start + len(chunk), stream.n)
    picked.sort(key=lambda part: part[0])  # in row order, whatever order the chunks came in
    terms = posterior.concatenate([part[1] for part in picked])
    del picked
    model = posterior.fit_noise_model(terms, stream.n, stream.k)
    if len(take) == stream.n:  # fitted on every row: their terms give the scores (the same bits)
        return posterior.posterior_from_terms(model, terms)
    scores = np.empty(stream.n)
    for chunk in stream:
        sl = slice(chunk.start, chunk.start + len(chunk))
        scores[sl] = posterior.posterior_from_terms(
            model, posterior.scoring_terms(model, chunk.labels, chunk.pred_probs, noise))
        stream.tick("posterior", chunk.start + len(chunk), stream.n)
    return scores


def label_quality_scores(labels: np.ndarray, source, method: str, adjust_pred_probs: bool = False,
                         run: Run = Run(), *, predicted: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """(label quality scores, argmax class or None without `predicted`) over the chunks of source:
    one pass, or two when the method needs thresholds of all rows first (adjusted_margin,
    adjust_pred_probs); the posterior takes the passes of the confident joint first."""
    check_method(method, adjust_pred_probs)
    if method in MODEL_METHODS:
        from labelcli.core.posterior import uses_noise_matrix

        if not uses_noise_matrix(len(labels), source.num_classes):  # no class pairs: the rows alone
            stream = ChunkStream(source, labels, run, check_up_front=True)
            scores = _posterior(stream, None)
            return scores, (ps.scores_merge((ps.scores_partial(c, "self_confidence") for c in stream), stream.n)[1]
                            if predicted else None)
        stream = ChunkStream(source, labels, run)

        def passes():
            classes = _classes(stream)
            scan = _joint(stream, classes)[0]
            scores = _posterior(stream, _noise_matrix(stream, classes, scan))
            return scores, scan.predicted.astype(np.intp) if predicted else None

        return _with_checks(stream, passes)
    stream = ChunkStream(source, labels, run, check_up_front=True)
    thresholds = None
    if needs_thresholds(method, adjust_pred_probs):
        parts = [ps.classes_partial(c) for c in stream]
        classes = ps.classes_merge(parts, stream.k)
        del parts
        thresholds = classes.margin_thresholds() if method == "adjusted_margin" else classes.thresholds

    def parts():
        for chunk in stream:
            yield ps.scores_partial(chunk, method, adjust_pred_probs, thresholds, predicted)
            stream.tick("scores", chunk.start + len(chunk), stream.n)

    return ps.scores_merge(parts(), stream.n)
