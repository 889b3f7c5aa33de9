"""Exact confident learning over row chunks: pure per-chunk reductions and their merges.

Every pass maps each chunk (labels, pred_probs, first row) to a small partial result with a
`*_partial` function, and `*_merge` combines partials (in row order). Nothing here reads files
or keeps state, so another engine (threads, processes, a cluster) could run the partials
unchanged; labelcli.outofcore drives them over files. The result equals the in-memory
find_label_issues bit for bit:

1. classes_partial / classes_merge: labels and self-confidences -> per-class counts and the
   thresholds, each the np.mean of its class's self-confidences in row order (the exact sum the
   in-memory path takes, so the self-confidences, 4 bytes a row, are kept).
2. joint_partial / joint_merge: the row scan (argmax, agreement, off-diagonal, scores) and the
   (given, guess) counts -> the confident joint -> how many rows each noise-rate cell prunes.
3. cells_partial / cells_merge (prune_by_noise_rate and both only): for every cell (k -> j) the
   chunk's best `quota` rows by margin; merging keeps the best `quota` by (key, row). A row in
   the global best `quota` of a cell is in the best `quota` of its own chunk, so nothing is lost.
Per-row vectors (labels, scores, mask, predicted: ~40 bytes a row) stay in memory; the N x K
matrix never does.

The same passes give label_quality_scores (scores_partial / scores_merge, after pass 1 when the
scores are adjusted by the thresholds) and the health summary (passes 1 and 2, then health_finish).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import adjusted as adj
from labelcli.core import validate as v
from labelcli.core.counting import (
    COLUMN_SCAN_MAX_K,
    RowScan,
    _calibrate,
    _self_confidence,
    cell_counts,
    class_means,
    finish_joint,
    rows_by_class,
    scan_block,
    threshold_cut,
)
from labelcli.core.filtering import (
    PRUNING,
    LabelIssues,
    _check_options,
    _prune_counts,
    class_columns,
    issues_mask,
    lowest_mask,
)
from labelcli.core.health import HealthSummary, summary_from_scan
from labelcli.core.ranking import (
    _label_quality_scores,
    first_n_by_key_rows,
    order_by_score,
    radix_lexsort,
    sortable_bits,
)

# --- pass 1: classes and thresholds ----------------------------------------------------------


@dataclass(frozen=True)
class ClassesPartial:
    start: int  # first row of the chunk
    labels: np.ndarray  # (rows,) int64 class indices
    self_conf: np.ndarray  # (rows,) p[i, label_i] in the data's dtype


@dataclass(frozen=True)
class Classes:
    labels: np.ndarray  # (N,) in index_dtype
    self_conf: np.ndarray  # (N,)
    counts: np.ndarray  # (K,) examples per given class
    thresholds: np.ndarray  # (K,) as per_class_thresholds

    def margin_thresholds(self) -> np.ndarray:
        """The float64 thresholds of adjusted_margin (core.adjusted.margin_thresholds)."""
        return adj.margin_thresholds(self.labels, self.self_conf, len(self.counts))


def index_dtype(k: int):
    """The smallest signed integer type for class indices 0..k-1 and -1 (per-row state is kept
    compact; outputs are widened to intp)."""
    return np.int16 if k < 1 << 15 else np.int32


def classes_partial(labels: np.ndarray, pred_probs: np.ndarray, start: int) -> ClassesPartial:
    return ClassesPartial(start, labels, _self_confidence(labels, pred_probs))


def classes_merge(partials, k: int) -> Classes:
    parts = sorted(partials, key=lambda x: x.start)
    labels = np.concatenate([x.labels for x in parts]).astype(index_dtype(k), copy=False)
    sc = np.concatenate([x.self_conf for x in parts])
    order, bounds = rows_by_class(labels, k)
    return Classes(labels, sc, np.diff(bounds), class_means(sc, order, bounds))


# --- pass 2: the confident joint and per-row results ------------------------------------------


@dataclass(frozen=True)
class JointPartial:
    start: int
    cell_counts: np.ndarray  # (K * (K + 1),) counts of (given, guess + 1)
    predicted: np.ndarray
    agrees: np.ndarray
    off_diagonal: np.ndarray
    scores: dict  # method -> (rows,) float64 label quality scores
    adjusted_cells: np.ndarray | None = None  # (K * (K + 1),) counts of (given, adjusted guess + 1)


def joint_partial(labels, pred_probs, start: int, thresholds, *, score_methods=(), margin_thresholds=None,
                  count_adjusted: bool = False) -> JointPartial:
    """Scan one chunk (in cache-sized blocks) against the thresholds from pass 1.

    margin_thresholds (margin_thresholds of all rows, after pass 1): also the adjusted margins,
    and with count_adjusted the (given, adjusted guess) counts that low_adjusted_margin needs."""
    n, k = pred_probs.shape
    cut1 = cut = threshold_cut(thresholds, pred_probs.dtype)
    if k > COLUMN_SCAN_MAX_K:
        cut = np.broadcast_to(cut, (v.rows_per_block(pred_probs), k)).copy()
    sc = _self_confidence(labels, pred_probs)
    predicted = np.empty(n, dtype=index_dtype(k))  # compact; widened to intp by finish
    agrees = np.empty(n, dtype=bool)
    guess = np.empty(n, dtype=index_dtype(k))
    work: dict = {}
    for sl in v.row_blocks(n, v.rows_per_block(pred_probs)):
        predicted[sl], guess[sl], agrees[sl], _ = scan_block(pred_probs[sl], labels[sl], sc[sl], cut, work=work)
    off = (guess >= 0) & (guess != labels)
    counts = cell_counts(labels, guess, k)
    scores = {m: _label_quality_scores(labels, pred_probs, m) for m in score_methods}
    adjusted = None
    if margin_thresholds is not None:
        scores["adjusted_margin"], guess = adj.adjusted_scan(labels, pred_probs, margin_thresholds,
                                                             cut1 if count_adjusted else None)
        adjusted = None if guess is None else cell_counts(labels, guess, k)
    return JointPartial(start, counts, predicted, agrees, off, scores, adjusted)


def joint_merge(partials, k: int, n: int):
    """(RowScan of all n rows, {method: scores}, summed adjusted_cells or None) from the chunks'
    partials, in any order. Takes an iterable, so a driver can hand partials over one by one
    (they are not all kept)."""
    predicted = np.empty(n, dtype=index_dtype(k))
    agrees = np.empty(n, dtype=bool)
    off = np.empty(n, dtype=bool)
    counts = np.zeros(k * (k + 1), dtype=np.int64)
    adjusted = None
    scores: dict = {}
    for x in partials:
        sl = slice(x.start, x.start + len(x.predicted))
        predicted[sl], agrees[sl], off[sl] = x.predicted, x.agrees, x.off_diagonal
        counts += x.cell_counts
        if x.adjusted_cells is not None:
            adjusted = x.adjusted_cells.copy() if adjusted is None else adjusted + x.adjusted_cells
        for method, values in x.scores.items():
            scores.setdefault(method, np.empty(n))[sl] = values
    return RowScan(predicted, agrees, off, finish_joint(counts.reshape(k, k + 1)[:, 1:])), scores, adjusted


def noise_rate_quota(pcm: np.ndarray, counts: np.ndarray, min_examples_per_class: int) -> np.ndarray:
    """Rows to take per cell, flattened as [k * K + j] for cell (given k -> true j): pcm[j, k]
    off the diagonal, 0 for classes left alone (at most max(min_examples_per_class, 1) rows)."""
    quota = pcm.T.copy()
    np.fill_diagonal(quota, 0)
    quota[counts <= max(min_examples_per_class, 1)] = 0
    return np.maximum(quota, 0).reshape(-1)


# --- pass 3: noise-rate candidates per cell --------------------------------------------------

CELL_DTYPE = np.uint32  # cell ids k * K + j (K < 65536)


@dataclass(frozen=True)
class CellCandidates:
    """The best rows seen so far for each noise-rate cell, sorted by (cell, key, row)."""

    cell: np.ndarray  # k * K + j for cell (given k -> true j)
    key: np.ndarray  # p[k] - p[j]: smaller = larger margin = picked first
    row: np.ndarray  # row number in the whole input

    def __len__(self) -> int:
        return len(self.row)


def cells_partial(labels, pred_probs, start: int, quota: np.ndarray, bar=None) -> CellCandidates:
    """Each cell's best quota rows within one chunk (by key, then row), as in margin_picks.

    bar (optional, per cell): only keys strictly below it are kept. With the quota-th best key
    of rows before this chunk as the bar, nothing that can still make the cut is dropped (a later
    row with an equal key ranks after them), so the result stays exact; see CellsMerger.bar.
    """
    k_all = pred_probs.shape[1]
    quota = quota.reshape(k_all, k_all)
    bar = np.full(k_all * k_all, np.inf) if bar is None else bar
    order, bounds = rows_by_class(labels, k_all)
    cells, keys, rows_out = [], [], []
    for k in np.flatnonzero(quota.any(axis=1) & (np.diff(bounds) > 0)):  # a loop over classes
        rows = order[bounds[k] : bounds[k + 1]]
        cols = np.flatnonzero(quota[k])
        own, sub, sub_cols = class_columns(pred_probs, rows, k, cols)
        key = np.subtract(own, sub[:, sub_cols].T, order="C")  # cells x rows, as margin_picks
        take = key < bar[k * k_all + cols][:, None]
        over = np.flatnonzero(np.count_nonzero(take, axis=1) > quota[k, cols])
        if len(over):  # more rows below the bar than the quota: the best quota of them
            take[over] = first_n_by_key_rows(key[over], quota[k, cols[over]])
        cell_i, pos = np.divmod(np.flatnonzero(take), take.shape[1])  # faster than 2-D nonzero
        cells.append((k * k_all + cols[cell_i]).astype(CELL_DTYPE))
        keys.append(key[cell_i, pos])
        rows_out.append(start + rows[pos])
    if not cells:
        return _no_candidates(pred_probs.dtype)
    return CellCandidates(np.concatenate(cells), np.concatenate(keys), np.concatenate(rows_out))


def _no_candidates(dtype) -> CellCandidates:
    return CellCandidates(np.zeros(0, CELL_DTYPE), np.zeros(0, dtype), np.zeros(0, np.int64))


def cells_merge(parts, quota: np.ndarray) -> CellCandidates:
    """Keep each cell's best quota rows of the union; associative, so merge in any grouping."""
    parts = [x for x in parts if len(x)]
    if not parts:
        return _no_candidates(np.float64)
    cell = np.concatenate([x.cell for x in parts]).astype(CELL_DTYPE, copy=False)
    row = np.concatenate([x.row for x in parts])
    key = np.concatenate([x.key for x in parts])
    # by cell, then key, then row: the stable order (np.lexsort's, as a faster radix sort)
    order = radix_lexsort([row.view(np.uint64), sortable_bits(key), cell.view(np.uint32)])
    cell, key, row = cell[order], key[order], row[order]
    del order
    n = len(cell)
    run_start = np.zeros(n, dtype=np.int64)
    starts = np.flatnonzero(cell[1:] != cell[:-1]) + 1
    run_start[starts] = starts
    np.maximum.accumulate(run_start, out=run_start)
    keep = (np.arange(n) - run_start) < quota[cell]  # rank within the cell < its quota
    return CellCandidates(cell[keep], key[keep], row[keep])


MERGE_MIN_ROWS = 1 << 16  # pending candidates merged once there are this many (or the state's size)
MERGE_GROUP_ROWS = 1 << 18  # a merge sorts at most about this many candidates at a time


class CellsMerger:
    """Merges pass-3 partials of chunks taken in row order, in bounded memory: partials wait
    until they outgrow the merged state; a merge then goes through ranges of cells (the state is
    sorted by cell), so its temporaries stay small next to the state itself.

    bar: per cell, the worst key among its kept rows once it has its quota of them (+inf before),
    for cells_partial to drop rows of later chunks that cannot enter."""

    def __init__(self, quota: np.ndarray):
        self.quota = quota
        self.state = _no_candidates(np.float64)
        self.bar = np.full(len(quota), np.inf)
        self.pending: list = []
        self.pending_rows = 0

    def add(self, part: CellCandidates) -> None:
        self.pending.append(part)
        self.pending_rows += len(part)
        if self.pending_rows > max(len(self.state), MERGE_MIN_ROWS):
            self._merge()

    def _merge(self) -> None:
        new = [x for x in self.pending if len(x)]
        self.pending, self.pending_rows = [], 0
        if not new:
            return
        cell = np.concatenate([x.cell for x in new])
        by_cell = radix_lexsort([cell])
        new = CellCandidates(cell[by_cell], np.concatenate([x.key for x in new])[by_cell],
                             np.concatenate([x.row for x in new])[by_cell])
        old = self.state
        # cut the cell ids into ranges holding about MERGE_GROUP_ROWS candidates each
        total = np.bincount(old.cell, minlength=len(self.quota)) + np.bincount(new.cell, minlength=len(self.quota))
        ends = np.searchsorted(np.cumsum(total), np.arange(MERGE_GROUP_ROWS, total.sum(), MERGE_GROUP_ROWS))
        bounds = np.unique(np.concatenate([[0], ends + 1, [len(self.quota)]]))
        pieces = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):  # a loop over ranges of cells
            a = slice(*np.searchsorted(old.cell, [lo, hi]))
            b = slice(*np.searchsorted(new.cell, [lo, hi]))
            pieces.append(cells_merge([_part(old, a), _part(new, b)], self.quota))
        del old, new
        self.state = st = CellCandidates(
            np.concatenate([p.cell for p in pieces]),
            np.concatenate([p.key for p in pieces]),
            np.concatenate([p.row for p in pieces]),
        )
        last = np.flatnonzero(np.append(st.cell[1:] != st.cell[:-1], True))  # end of each cell's run
        full = np.diff(np.concatenate([[-1], last])) >= self.quota[st.cell[last]]
        self.bar[st.cell[last[full]]] = st.key[last[full]]

    def result(self) -> CellCandidates:
        self._merge()
        return self.state


def _part(c: CellCandidates, sl: slice) -> CellCandidates:
    return CellCandidates(c.cell[sl], c.key[sl], c.row[sl])


def cells_mask(cands: CellCandidates, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[cands.row] = True
    return mask


# --- finishing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the passes compute for one call of find_label_issues (options already checked)."""

    filter_by: str = "prune_by_noise_rate"
    rank_by: str = "self_confidence"
    frac_noise: float = 1.0
    num_to_remove_per_class: tuple | None = None
    min_examples_per_class: int = 1

    @property
    def needs_cells(self) -> bool:
        return self.filter_by in ("prune_by_noise_rate", "both")

    @property
    def score_methods(self) -> tuple:
        """Scores pass 2 computes per chunk (self_confidence comes from pass 1; adjusted_margin
        needs the margin thresholds of all rows, see needs_margin)."""
        wanted = {self.rank_by}
        if self.filter_by.startswith("low_"):
            wanted.add(self.filter_by[len("low_") :])
        return tuple(sorted(wanted - {"self_confidence", "adjusted_margin"}))

    @property
    def needs_margin(self) -> bool:
        return "adjusted_margin" in (self.rank_by, self.filter_by[len("low_") :])

    def check(self, k: int) -> None:
        _check_options(
            self.filter_by, self.rank_by, self.frac_noise, self.num_to_remove_per_class,
            self.min_examples_per_class, k,
        )

    def prune_counts(self, classes: Classes, joint: np.ndarray) -> np.ndarray | None:
        if self.filter_by not in PRUNING:
            return None
        cal = _calibrate(joint, classes.counts)
        return _prune_counts(
            cal, classes.counts, self.min_examples_per_class, self.frac_noise, self.num_to_remove_per_class
        )


def finish(plan: Plan, classes: Classes, scan: RowScan, scores: dict, pcm, cells, adjusted_cells=None) -> LabelIssues:
    """The LabelIssues of find_label_issues from the merged results of the passes."""
    y, sc = classes.labels, classes.self_conf
    all_scores = {"self_confidence": lambda: sc.astype(np.float64), **{m: (lambda m=m: scores[m]) for m in scores}}
    by_class = rows_by_class(y, len(classes.counts)) if plan.filter_by in ("prune_by_class", "both") else None
    if plan.filter_by == "low_adjusted_margin":
        mask = lowest_mask(scores["adjusted_margin"], adj.adjusted_issue_count(adjusted_cells, classes.counts))
    else:
        mask = issues_mask(
            plan.filter_by, y, sc, scan, by_class, pcm, plan.min_examples_per_class,
            (lambda: cells_mask(cells, len(y))) if plan.needs_cells else None,
            all_scores.get(plan.filter_by[len("low_") :]),
        )
    rank_scores = all_scores[plan.rank_by]()
    ranking = order_by_score(np.flatnonzero(mask), rank_scores)
    predicted = scan.predicted.astype(np.intp)
    return LabelIssues(mask, ranking, rank_scores, predicted, plan.filter_by, plan.rank_by)


# --- label quality scores ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScoresPartial:
    start: int
    scores: np.ndarray  # (rows,) float64 label quality scores
    predicted: np.ndarray  # (rows,) argmax class


def scores_partial(labels, pred_probs, start: int, method: str, adjust_pred_probs: bool = False,
                   thresholds=None) -> ScoresPartial:
    """label_quality_scores of one chunk. thresholds, from pass 1 over all rows: margin_thresholds
    for adjusted_margin, the class thresholds for adjust_pred_probs (each score depends on its
    own row and these only)."""
    scores = _label_quality_scores(labels, pred_probs, method, adjust_pred_probs, thresholds)
    return ScoresPartial(start, scores, pred_probs.argmax(axis=1))


def scores_merge(partials, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, predicted) of all n rows from the chunks' partials, in any order."""
    scores, predicted = np.empty(n, dtype=np.float64), np.empty(n, dtype=np.intp)
    for x in partials:
        sl = slice(x.start, x.start + len(x.scores))
        scores[sl], predicted[sl] = x.scores, x.predicted
    return scores, predicted


# --- health summary -----------------------------------------------------------------------------


def health_finish(classes: Classes, scan: RowScan, class_names=None, top_pairs: int | None = 20) -> HealthSummary:
    """health_summary from the merged passes 1 and 2 (the same arithmetic, on the same arrays)."""
    return summary_from_scan(classes.labels, classes.self_conf, scan, len(classes.counts),
                             class_names=class_names, top_pairs=top_pairs)
