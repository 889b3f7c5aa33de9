"""The passes of confident learning over chunks of rows: a per-chunk partial and a merge each.

A chunk is (first row, labels, pred_probs) of some rows of the input; a partial depends only on
its chunk (and on small state from earlier passes) and carries the chunk's first row, so the
merges can combine partials arriving in any order. labelcli.core.engine runs these passes; in
memory the whole array is one chunk, out of core a file gives many, and any executor that can
run a function on a chunk could run them. The merged results equal the computation on the whole
array bit for bit:

1. classes: labels and self-confidences -> per-class counts and the thresholds, each the np.mean
   of its class's self-confidences in row order (the exact sum the reference takes).
2. joint: the row scan (argmax, agreement, off-diagonal, scores) and the (given, confident class)
   counts -> the confident joint.
3. cells (prune_by_noise_rate and both only): for every noise-rate cell (k -> j) the chunk's best
   `quota` rows by margin; merging keeps the best `quota` by (key, row). A row in the global best
   `quota` of a cell is in the best `quota` of its own chunk, so nothing is lost.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from labelcli.core import adjusted as adj
from labelcli.core.pruning import class_columns, margin_picks
from labelcli.core.scan import (
    COLUMN_SCAN_MAX_K,
    block_cut,
    columns,
    cell_counts,
    class_means,
    index_dtype,
    joint_from_cells,
    rows_by_class,
    RowScan,
    scan_block,
    self_confidence,
    threshold_cut,
)
from labelcli.core.scores import block_scores
from labelcli.core.select import radix_lexsort, sortable_bits
from labelcli.core import validate as v


@dataclass(frozen=True)
class Chunk:
    """Some consecutive rows of the input: their first row number, labels and pred_probs."""

    start: int
    labels: np.ndarray  # (rows,) class indices
    pred_probs: np.ndarray  # (rows, K) floats
    check: object = None  # a validate.ValueCheck the joint pass runs on the values, when not yet known valid

    def __len__(self) -> int:
        return len(self.labels)


class ValuesUnchecked(Exception):
    """A chunk's values failed the checks run inside the joint pass: the engine redoes the chunk
    through validate.as_pred_probs (which words the problem or clips) and runs the passes again."""

    def __init__(self, start: int):
        super().__init__(start)
        self.start = start


# --- pass 1: classes and thresholds ----------------------------------------------------------


@dataclass(frozen=True)
class ClassesPartial:
    start: int  # first row of the chunk
    labels: np.ndarray  # (rows,) class indices
    self_conf: np.ndarray  # (rows,) p[i, label_i] in the data's dtype


class Classes:
    """Pass 1 merged: the labels and self-confidences of all rows, and what follows from them
    (computed when first asked for: the score-only path needs the margin thresholds alone)."""

    def __init__(self, labels: np.ndarray, self_conf: np.ndarray, k: int):
        self.labels = labels  # (N,) in index_dtype
        self.self_conf = self_conf  # (N,)
        self.k = k

    @cached_property
    def by_class(self) -> tuple:
        """rows_by_class(labels): (order, bounds)."""
        return rows_by_class(self.labels, self.k)

    @cached_property
    def counts(self) -> np.ndarray:
        """(K,) examples per given class."""
        return np.diff(self.by_class[1])

    @cached_property
    def thresholds(self) -> np.ndarray:
        """(K,) as per_class_thresholds."""
        return class_means(self.self_conf, *self.by_class)

    def margin_thresholds(self) -> np.ndarray:
        """The float64 thresholds of adjusted_margin (core.adjusted.margin_thresholds)."""
        return adj.margin_thresholds(self.labels, self.self_conf, self.k)


def classes_partial(chunk: Chunk) -> ClassesPartial:
    return ClassesPartial(chunk.start, chunk.labels, self_confidence(chunk.labels, chunk.pred_probs))


def classes_merge(partials, k: int) -> Classes:
    parts = sorted(partials, key=lambda x: x.start)
    labels = np.concatenate([x.labels for x in parts]).astype(index_dtype(k), copy=False)
    sc = parts[0].self_conf if len(parts) == 1 else np.concatenate([x.self_conf for x in parts])
    return Classes(labels, sc, k)


# --- pass 2: the confident joint and per-row results ------------------------------------------


@dataclass(frozen=True)
class JointPartial:
    start: int
    cell_counts: np.ndarray | None  # (K * (K + 1),) counts of (given, guess + 1); None without the joint
    predicted: np.ndarray
    agrees: np.ndarray
    off_diagonal: np.ndarray | None
    scores: dict  # method -> (rows,) float64 label quality scores
    adjusted_cells: np.ndarray | None = None  # (K * (K + 1),) counts of (given, adjusted guess + 1)


def joint_partial(chunk: Chunk, thresholds, *, score_methods=(), margin_thresholds=None,
                  count_adjusted: bool = False, joint: bool = True, self_conf=None,
                  adjusted_scores: bool = True) -> JointPartial:
    """Scan one chunk (in cache-sized blocks) against the thresholds from pass 1.

    margin_thresholds (of all rows, after pass 1): also the adjusted margins, and with
    count_adjusted the (given, adjusted guess) counts that low_adjusted_margin needs. joint=False:
    only the argmax, not the confident joint (low_adjusted_margin needs no more).
    adjusted_scores=False: the adjusted guesses (the count) without the adjusted margins. self_conf: the
    chunk's self-confidences from pass 1, when at hand.
    chunk.check (validate.ValueCheck): the values are checked block by block as they are
    scanned; raises ValuesUnchecked when they fail."""
    labels, pred_probs = chunk.labels, chunk.pred_probs
    n, k = pred_probs.shape
    cut1 = threshold_cut(thresholds, pred_probs.dtype)
    cut = block_cut(cut1, pred_probs) if joint else None
    sc = self_confidence(labels, pred_probs) if self_conf is None else self_conf
    predicted = np.empty(n, dtype=index_dtype(k))  # compact; widened to intp by finish
    agrees = np.empty(n, dtype=bool)
    guess = np.empty(n, dtype=index_dtype(k)) if joint else None
    adjusted_cut = cut1 if count_adjusted else None
    adjusted = np.empty(n) if margin_thresholds is not None and adjusted_scores else None
    adjusted_guess = np.empty(n, dtype=index_dtype(k)) if count_adjusted else None
    work: dict = {}
    for sl in v.row_blocks(n, v.rows_per_block(pred_probs)):
        block, y = pred_probs[sl], labels[sl]
        cols = columns(block, work) if k <= COLUMN_SCAN_MAX_K else None
        predicted[sl], g, agrees[sl], ok = scan_block(block, y, sc[sl], cut, chunk.check, work, cols)
        if not ok:
            raise ValuesUnchecked(chunk.start)
        if joint:
            guess[sl] = g
        if margin_thresholds is not None:
            if cols is not None:
                a, g = adj.adjusted_columns(cols, y, sc[sl], margin_thresholds, adjusted_cut, adjusted is not None)
            else:
                a, g = adj.adjusted_rows(block, y, margin_thresholds, adjusted_cut, adjusted is not None)
            if adjusted is not None:
                adjusted[sl] = a
            if adjusted_guess is not None:
                adjusted_guess[sl] = g
    off, counts = None, None
    if joint:
        off = (guess >= 0) & (guess != labels)
        counts = cell_counts(labels, guess, k)
        del guess
    scores = {m: block_scores(labels, pred_probs, m) for m in score_methods}
    if adjusted is not None:
        scores["adjusted_margin"] = adjusted
    adjusted_cells = None if adjusted_guess is None else cell_counts(labels, adjusted_guess, k)
    return JointPartial(chunk.start, counts, predicted, agrees, off, scores, adjusted_cells)


def joint_merge(partials, k: int, n: int):
    """(RowScan of all n rows, {method: scores}, summed adjusted cells or None) from the chunks'
    partials, in any order. Takes an iterable, so a driver can hand partials over one by one
    (they are not all kept). Without the joint (joint_partial(joint=False)) the RowScan holds
    the argmax only."""
    predicted = agrees = off = None
    counts = adjusted = None
    scores: dict = {}
    for x in partials:
        if x.cell_counts is not None:
            counts = x.cell_counts.copy() if counts is None else counts + x.cell_counts
        if x.adjusted_cells is not None:
            adjusted = x.adjusted_cells.copy() if adjusted is None else adjusted + x.adjusted_cells
        if x.start == 0 and len(x.predicted) == n:  # one chunk: its arrays are the result
            predicted, agrees, off, scores = x.predicted, x.agrees, x.off_diagonal, dict(x.scores)
            continue
        if predicted is None:
            predicted, agrees = np.empty(n, dtype=index_dtype(k)), np.empty(n, dtype=bool)
            off = None if x.off_diagonal is None else np.empty(n, dtype=bool)
        sl = slice(x.start, x.start + len(x.predicted))
        predicted[sl], agrees[sl] = x.predicted, x.agrees
        if off is not None:
            off[sl] = x.off_diagonal
        for method, values in x.scores.items():
            scores.setdefault(method, np.empty(n))[sl] = values
    joint = None if counts is None else joint_from_cells(counts, k)
    return RowScan(predicted, agrees, off, joint), scores, adjusted


# --- pass 3: noise-rate candidates per cell --------------------------------------------------

CELL_DTYPE = np.uint32  # cell ids k * K + j (K < 65536)


@dataclass(frozen=True)
class CellCandidates:
    """The best rows seen so far for each noise-rate cell (sorted by (cell, key, row) once merged)."""

    cell: np.ndarray  # k * K + j for cell (given k -> true j)
    key: np.ndarray  # p[k] - p[j]: smaller = larger margin = picked first
    row: np.ndarray  # row number in the whole input

    def __len__(self) -> int:
        return len(self.row)


def cells_partial(chunk: Chunk, quota: np.ndarray, bar=None, by_class=None, keys: bool = True,
                  ties: str = "row") -> CellCandidates:
    """Each cell's best quota rows within one chunk (by key, then row), chosen by margin_picks.

    bar (optional, per cell): only keys strictly below it are kept. With the quota-th best key
    of rows before this chunk as the bar, nothing that can still make the cut is dropped (a later
    row with an equal key ranks after them), so the result stays exact; see CellsMerger.bar.
    by_class: rows_by_class of the chunk's labels, when already at hand. keys=False: the rows
    only (cell and key left empty), for a chunk that holds every row (nothing to merge).
    ties: core.select.TIES ("numpy" only for a chunk that holds every row).
    """
    labels, pred_probs = chunk.labels, chunk.pred_probs
    k_all = pred_probs.shape[1]
    quota = quota.reshape(k_all, k_all)
    order, bounds = rows_by_class(labels, k_all) if by_class is None else by_class
    sizes = np.diff(bounds)
    buffer = None
    cells, key_parts, rows_out = [], [], []
    for k in np.flatnonzero(quota.any(axis=1) & (sizes > 0)):  # a loop over classes
        rows = order[bounds[k] : bounds[k + 1]]
        cols = np.flatnonzero(quota[k])
        if buffer is None and 4 * (len(cols) + 1) >= k_all:  # whole rows are gathered: one buffer
            buffer = np.empty((int(sizes.max()), k_all), dtype=pred_probs.dtype)
        own, sub, sub_cols = class_columns(pred_probs, rows, k, cols, buffer)
        cell_i, pos = margin_picks(own, sub, sub_cols, quota[k, cols], ties)
        rows_out.append(chunk.start + rows[pos])
        if not keys:
            continue
        key = own[pos] - sub[pos, sub_cols[cell_i]]
        cell = (k * k_all + cols[cell_i]).astype(CELL_DTYPE)
        if bar is not None:
            keep = key < bar[cell]
            cell, key, rows_out[-1] = cell[keep], key[keep], rows_out[-1][keep]
        cells.append(cell)
        key_parts.append(key)
    if not rows_out:
        return _no_candidates(pred_probs.dtype)
    if not keys:
        empty = _no_candidates(pred_probs.dtype)
        return CellCandidates(empty.cell, empty.key, np.concatenate(rows_out))
    return CellCandidates(np.concatenate(cells), np.concatenate(key_parts), np.concatenate(rows_out))


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
    """Merges pass-3 partials in bounded memory: partials wait until they outgrow the merged
    state; a merge then goes through ranges of cells (the state is sorted by cell), so its
    temporaries stay small next to the state itself. The result does not depend on the order in
    which partials arrive.

    bar: per cell, the worst key among its kept rows once it has its quota of them (+inf before).
    It lets cells_partial drop rows of a later chunk that cannot enter, and is only valid for
    chunks after every row merged so far: ``bar_for(start)`` gives it only then (None otherwise)."""

    def __init__(self, quota: np.ndarray):
        self.quota = quota
        self.state = _no_candidates(np.float64)
        self.bar = np.full(len(quota), np.inf)
        self.pending: list = []
        self.pending_rows = 0
        self.rows_before = 0  # every row below this has been added, in order (the bar holds for later chunks)
        self.in_order = True

    def bar_for(self, start: int):
        """The bar for a chunk starting at row `start`, or None when chunks came out of order."""
        return self.bar if self.in_order and start == self.rows_before else None

    def add(self, part: CellCandidates, start: int, rows: int) -> None:
        """The candidates of the chunk of `rows` rows starting at row `start`."""
        self.in_order = self.in_order and start == self.rows_before
        self.rows_before = start + rows
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


# --- label quality scores alone ---------------------------------------------------------------


@dataclass(frozen=True)
class ScoresPartial:
    start: int
    scores: np.ndarray  # (rows,) float64 label quality scores
    predicted: np.ndarray | None  # (rows,) argmax class (None: not asked for)


def scores_partial(chunk: Chunk, method: str, adjust_pred_probs: bool = False, thresholds=None,
                   predicted: bool = True) -> ScoresPartial:
    """label_quality_scores of one chunk. thresholds, from pass 1 over all rows: margin_thresholds
    for adjusted_margin, the class thresholds for adjust_pred_probs (each score depends on its
    own row and these only)."""
    scores = block_scores(chunk.labels, chunk.pred_probs, method, adjust_pred_probs, thresholds)
    return ScoresPartial(chunk.start, scores, chunk.pred_probs.argmax(axis=1) if predicted else None)


def scores_merge(partials, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, predicted or None) of all n rows from the chunks' partials, in any order."""
    scores, predicted = None, None
    for x in partials:
        if x.start == 0 and len(x.scores) == n:  # one chunk: its arrays are the result
            scores, predicted = x.scores, None if x.predicted is None else x.predicted.astype(np.intp, copy=False)
            continue
        if scores is None:
            scores = np.empty(n, dtype=np.float64)
            predicted = None if x.predicted is None else np.empty(n, dtype=np.intp)
        sl = slice(x.start, x.start + len(x.scores))
        scores[sl] = x.scores
        if predicted is not None:
            predicted[sl] = x.predicted
    return scores, predicted
