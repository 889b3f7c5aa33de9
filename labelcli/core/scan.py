"""The row scan of confident learning: self-confidences, per-class thresholds, and one pass over
the rows that finds each row's argmax, its confident class and whether the model agrees with
its label; the (given, confident class) counts of that pass make the confident joint.

Definitions follow Northcutt et al. (JAIR 2021) as implemented in cleanlab 2.9, so that results
agree exactly. Everything here works on one array (or one chunk of a larger input) in cache-sized
row blocks; labelcli.core.engine runs it over chunks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import validate as v

# A probability within EPS of a threshold counts as reaching it (cleanlab: 1e-6).
EPS = 1e-6
# Thresholds are clipped from below so that "p >= t - EPS" is never true for p = 0.
THRESHOLD_FLOOR = 2 * EPS
# Threshold of a class that no example carries: unreachable, so nobody is confidently counted in it.
ABSENT_THRESHOLD = 2.0
# Up to this many classes a block is scanned column by column (short rows make numpy's per-row
# reductions slow); above it, with row-wise reductions.
COLUMN_SCAN_MAX_K = 64


def label_counts(labels: np.ndarray, k: int) -> np.ndarray:
    """Examples per given class."""
    return np.bincount(labels, minlength=k)


def index_dtype(k: int):
    """The smallest signed integer type for class indices 0..k-1 and -1 (per-row state is kept
    compact; outputs are widened to intp)."""
    return np.int16 if k < 1 << 15 else np.int32


def self_confidence(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """p[i, labels[i]] in the data's dtype (a flat take when the array is C-contiguous: faster;
    in blocks, so the index temporaries stay small)."""
    if not pred_probs.flags.c_contiguous:
        return pred_probs[np.arange(len(labels)), labels]
    n, k = pred_probs.shape
    out = np.empty(n, dtype=pred_probs.dtype)
    flat = pred_probs.reshape(-1)
    step = np.arange(0, min(n, 1 << 16) * k, k)
    for sl in v.row_blocks(n, 1 << 16):
        idx = step[: sl.stop - sl.start] + labels[sl]
        idx += sl.start * k
        np.take(flat, idx, out=out[sl], mode="clip")  # labels were validated
    return out


def rows_by_class(labels: np.ndarray, k: int):
    """Row indices grouped by label (original order within a class) and the class boundaries:
    the rows labeled c are order[bounds[c]:bounds[c + 1]]."""
    # A stable sort of a 16-bit copy is a radix sort (O(N)); the order is the same.
    small = labels.astype(np.uint16) if k <= 1 << 16 else labels
    order = np.argsort(small, kind="stable")
    return order, np.concatenate([[0], np.cumsum(label_counts(labels, k))])


def class_means(self_conf: np.ndarray, order: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Thresholds: per class, np.mean of its self-confidences gathered in row order.

    Bit-identical thresholds matter: an example sitting exactly at a threshold is counted or not.
    The array is in the data's dtype, or float64 when a class is absent (its threshold is 2.0).
    """
    means = [
        np.mean(self_conf[order[bounds[c] : bounds[c + 1]]]) if bounds[c + 1] > bounds[c] else ABSENT_THRESHOLD
        for c in range(len(bounds) - 1)  # a loop over classes, each a vectorised mean
    ]
    return np.maximum(np.array(means), THRESHOLD_FLOOR)


def thresholds_of(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Per-class mean self-confidence, summed exactly as np.mean does in the data's dtype."""
    order, bounds = rows_by_class(labels, pred_probs.shape[1])
    return class_means(self_confidence(labels, pred_probs), order, bounds)


def threshold_cut(thresholds, dtype) -> np.ndarray:
    """t - EPS (in the thresholds' own precision, as the reference computes it), converted to the
    data's dtype without changing the outcome of any comparison p >= cut: a wider cut is rounded
    up to the next value of the data's dtype."""
    cut = np.asarray(thresholds) - EPS
    dtype = np.dtype(dtype)
    if np.can_cast(cut.dtype, dtype, "safe"):
        return cut.astype(dtype)
    low = cut.astype(dtype)
    return np.where(low < cut, np.nextafter(low, dtype.type(np.inf)), low).astype(dtype)


def scratch(work, name: str, shape: tuple, dtype) -> np.ndarray:
    """A scratch array reused across blocks (work: a dict owned by the caller's loop; None: new).
    Fresh large arrays cost page faults on every block; reused ones do not."""
    if work is None:
        return np.empty(shape, dtype=dtype)
    size = int(np.prod(shape))
    have = work.get(name)
    if have is None or have.size < size or have.dtype != dtype:
        have = work[name] = np.empty(size, dtype=dtype)
    return have[:size].reshape(shape)


def columns(block: np.ndarray, work=None) -> np.ndarray:
    """The block transposed, K x B, every column contiguous (in a scratch buffer of work)."""
    cols = scratch(work, "columns", block.shape[::-1], block.dtype)
    np.copyto(cols, block.T)
    return cols


def scan_block(block: np.ndarray, labels: np.ndarray, self_conf: np.ndarray, cut=None, check=None, work=None,
               cols=None):
    """One pass over a row block: (argmax, confident guess, agrees, values ok).

    guess (needs ``cut``, see threshold_cut): the class whose probability is largest among the
    classes at or above their cut (-1 if none; when two or more are above, the row's argmax, as
    the reference does). agrees: the argmax after adding EPS to the given label's probability
    is the given label, derived without a copy: the bumped value q either beats the row maximum,
    ties it with the first maximum after the given label, or the given label is the argmax.
    values ok: ``check`` (a validate.ValueCheck) passes on the block (True without a check).
    work: scratch buffers kept across the blocks of one pass (see scratch). cols: columns(block)
    when the caller has it (few classes).
    """
    k = block.shape[1]
    with_sums = check is not None and check.atol is not None
    if k <= COLUMN_SCAN_MAX_K:
        argmax, top, guess, sums = _scan_columns(columns(block, work) if cols is None else cols, cut, with_sums)
    else:
        argmax = block.argmax(axis=1)
        top = block[np.arange(len(block)), argmax]
        guess = None if cut is None else _guess_rows(block, cut, argmax, work)
        sums = np.einsum("ij->i", block) if with_sums else None
    ok = check is None or check.block_ok(block, top, sums)
    q = self_conf + block.dtype.type(EPS)
    agrees = (argmax == labels) | (q > top) | ((q == top) & (argmax > labels))
    return argmax, guess, agrees, ok


def _scan_columns(cols: np.ndarray, cut, with_sums: bool):
    """Running max / argmax / above-cut counts (/ row sums) over the columns (K x B) of a block."""
    n = cols.shape[1]
    top = cols[0].copy()
    sums = cols[0].copy() if with_sums else None
    argmax = np.zeros(n, dtype=np.int8)
    greater = np.empty(n, dtype=bool)
    if cut is not None:
        above = cols[0] >= cut[0]
        count = above.view(np.int8).copy()
        last = np.zeros(n, dtype=np.int8)
    for j in range(1, len(cols)):  # a loop over classes
        col, j8 = cols[j], np.int8(j)
        np.greater(col, top, out=greater)  # strictly: the first maximum wins, as in argmax
        np.maximum(top, col, out=top)
        # where(greater, j, argmax) == max(argmax, greater * j) because argmax < j
        np.maximum(argmax, greater.view(np.int8) * j8, out=argmax)
        if with_sums:
            sums += col
        if cut is not None:
            np.greater_equal(col, cut[j], out=above)
            count += above.view(np.int8)
            np.maximum(last, above.view(np.int8) * j8, out=last)
    if cut is None:
        return argmax, top, None, sums
    # one class above: it is `last`; several: the argmax; none: -1
    guess = np.where(count > 1, argmax, last).astype(np.int16)
    guess[count == 0] = -1
    return argmax, top, guess, sums


def _guess_rows(block: np.ndarray, cut: np.ndarray, argmax: np.ndarray, work=None) -> np.ndarray:
    # A cut materialised at the block's shape: comparing against a broadcast row is ~3x slower.
    full_cut = cut[: len(block)] if cut.ndim == 2 else np.broadcast_to(cut, block.shape).copy()
    above = np.greater_equal(block, full_cut, out=scratch(work, "above", block.shape, bool))
    first = above.argmax(axis=1)
    any_above = above[np.arange(len(block)), first]
    guess = np.where(any_above, first, -1)
    # When the first class above is the argmax, one or several above both give the argmax. Else
    # the guess is the argmax exactly when another class is above too.
    other = np.flatnonzero(any_above & (first != argmax))
    if len(other):
        rest = above[other]
        rest[np.arange(len(other)), first[other]] = False
        more = other[rest.any(axis=1)]
        guess[more] = argmax[more]
    return guess


def block_cut(cut: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """The cut as scan_block wants it for this array: a row vector, or (many classes) a matrix of
    one row block's shape."""
    if pred_probs.shape[1] > COLUMN_SCAN_MAX_K:
        return np.broadcast_to(cut, (v.rows_per_block(pred_probs), pred_probs.shape[1])).copy()
    return cut


def cell_counts(labels: np.ndarray, guess: np.ndarray, k: int) -> np.ndarray:
    """Counts of (given, guess + 1) as a flat K * (K + 1) vector (guess -1 = not counted); in row
    blocks, so the int64 temporaries stay small."""
    counts = None
    for sl in v.row_blocks(len(labels), 1 << 18):
        cells = labels[sl].astype(np.int64) * (k + 1)
        cells += guess[sl]
        cells += 1
        part = np.bincount(cells, minlength=k * (k + 1))
        counts = part if counts is None else np.add(counts, part, out=counts)
    return np.zeros(k * (k + 1), dtype=np.int64) if counts is None else counts


def finish_joint(counts: np.ndarray) -> np.ndarray:
    """Raw confident joint from (given, guess) counts."""
    # Column-major like the reference's confusion_matrix(...).T: calibration sums the matrix in
    # memory order, and a one-ulp difference in that total can flip a rounding.
    cj = np.asarray(counts, dtype=np.int64, order="F")
    if cj is counts or np.shares_memory(cj, counts):
        cj = cj.copy(order="F")
    # Every class keeps at least one correctly labeled example, so calibration never divides by 0.
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    return cj


def joint_from_cells(cells: np.ndarray, k: int) -> np.ndarray:
    """The raw confident joint from summed cell_counts."""
    return finish_joint(cells.reshape(k, k + 1)[:, 1:])


@dataclass(frozen=True)
class RowScan:
    """Per-row results of the confident-joint pass over (labels, pred_probs)."""

    predicted: np.ndarray  # (N,) argmax class
    agrees: np.ndarray  # (N,) bool: the argmax is the given label (with the EPS lead-in)
    off_diagonal: np.ndarray | None  # (N,) bool: counted in another class than the given one
    joint: np.ndarray | None  # (K, K) raw confident joint, diagonal >= 1 (None: not computed)


def count_issues(scan: RowScan) -> int:
    """Rows counted off-diagonal whose argmax is not their given label (cleanlab's off_diagonal)."""
    return int(np.count_nonzero(scan.off_diagonal & ~scan.agrees))
