"""Confident learning counts: per-class thresholds, the confident joint, its calibration,
the estimated joint, noise matrices and class priors.

Definitions follow Northcutt et al. (JAIR 2021) as implemented in cleanlab 2.9, so that results
agree exactly; see the README section "How labelcli relates to confident learning".
Arrays are processed in row blocks so temporaries stay bounded on large inputs.
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
TINY = 1e-100
PRIOR_FLOOR = 1e-6
NOISE_RATE_CAP = 0.9999


@dataclass(frozen=True)
class NoiseEstimate:
    """Latent estimates: p(true label), p(given | true), p(true | given) and the calibrated counts."""

    class_priors: np.ndarray  # (K,) p(y = k)
    noise_matrix: np.ndarray  # (K, K) [i, j] = p(given = i | true = j); columns sum to 1
    inverse_noise_matrix: np.ndarray  # (K, K) [i, j] = p(true = i | given = j); columns sum to 1
    confident_joint: np.ndarray  # (K, K) calibrated counts, rows = given, columns = true


# --- thresholds and the confident joint -------------------------------------------------------


def _label_counts(labels: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(labels, minlength=k)


def _self_confidence(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
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
    return order, np.concatenate([[0], np.cumsum(_label_counts(labels, k))])


def _thresholds(labels: np.ndarray, pred_probs: np.ndarray, *, by_class=None, self_conf=None) -> np.ndarray:
    """Per-class mean self-confidence, summed exactly as np.mean does in the data's dtype.

    Bit-identical thresholds matter: an example sitting exactly at a threshold is counted or not.
    The array is in the data's dtype, or float64 when a class is absent (its threshold is 2.0).
    by_class / self_conf: rows_by_class(labels) and the self-confidences, when already at hand.
    """
    k = pred_probs.shape[1]
    order, bounds = by_class if by_class is not None else rows_by_class(labels, k)
    sc = self_conf if self_conf is not None else _self_confidence(labels, pred_probs)
    return class_means(sc, order, bounds)


def class_means(self_conf: np.ndarray, order: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Thresholds: per class, np.mean of its self-confidences gathered in row order."""
    means = [
        np.mean(self_conf[order[bounds[c] : bounds[c + 1]]]) if bounds[c + 1] > bounds[c] else ABSENT_THRESHOLD
        for c in range(len(bounds) - 1)  # a loop over classes, each a vectorised mean
    ]
    return np.maximum(np.array(means), THRESHOLD_FLOOR)


def per_class_thresholds(labels, pred_probs) -> np.ndarray:
    """t_k: the mean predicted probability of class k over examples labeled k."""
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    return _thresholds(y, p)


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


# Up to this many classes a block is scanned column by column (short rows make numpy's per-row
# reductions slow); above it, with row-wise reductions.
COLUMN_SCAN_MAX_K = 64


def _buffer(work, name: str, shape: tuple, dtype) -> np.ndarray:
    """A scratch array reused across blocks (work: a dict owned by the caller's loop; None: new).
    Fresh large arrays cost page faults on every block; reused ones do not."""
    if work is None:
        return np.empty(shape, dtype=dtype)
    size = int(np.prod(shape))
    have = work.get(name)
    if have is None or have.size < size or have.dtype != dtype:
        have = work[name] = np.empty(size, dtype=dtype)
    return have[:size].reshape(shape)


def scan_block(block: np.ndarray, labels: np.ndarray, self_conf: np.ndarray, cut=None, check=None, work=None):
    """One pass over a row block: (argmax, confident guess, agrees, values ok).

    guess (needs ``cut``, see threshold_cut): the class whose probability is largest among the
    classes at or above their cut (-1 if none; when two or more are above, the row's argmax, as
    the reference does). agrees: the argmax after adding EPS to the given label's probability
    is the given label, derived without a copy: the bumped value q either beats the row maximum,
    ties it with the first maximum after the given label, or the given label is the argmax.
    values ok: ``check`` (a validate.ValueCheck) passes on the block (True without a check).
    work: scratch buffers kept across the blocks of one pass (see _buffer).
    """
    k = block.shape[1]
    with_sums = check is not None and check.atol is not None
    if k <= COLUMN_SCAN_MAX_K:
        argmax, top, guess, sums = _scan_columns(block, cut, with_sums, work)
    else:
        argmax = block.argmax(axis=1)
        top = block[np.arange(len(block)), argmax]
        guess = None if cut is None else _guess_rows(block, cut, argmax, work)
        sums = np.einsum("ij->i", block) if with_sums else None
    ok = check is None or check.block_ok(block, top, sums)
    q = self_conf + block.dtype.type(EPS)
    agrees = (argmax == labels) | (q > top) | ((q == top) & (argmax > labels))
    return argmax, guess, agrees, ok


def _scan_columns(block: np.ndarray, cut, with_sums: bool, work=None):
    """Running max / argmax / above-cut counts (/ row sums) over the columns of a block."""
    cols = _buffer(work, "columns", block.shape[::-1], block.dtype)
    np.copyto(cols, block.T)  # K x B: every column contiguous
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
    above = np.greater_equal(block, full_cut, out=_buffer(work, "above", block.shape, bool))
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


@dataclass(frozen=True)
class RowScan:
    """Per-row results of the confident-joint pass over (labels, pred_probs)."""

    predicted: np.ndarray | None  # (N,) argmax class
    agrees: np.ndarray | None  # (N,) bool: the argmax is the given label (with the EPS lead-in)
    off_diagonal: np.ndarray | None  # (N,) bool: counted in another class than the given one
    joint: np.ndarray | None  # (K, K) raw confident joint, diagonal >= 1 (None without thresholds)
    values_ok: bool = True  # False: the value check failed and the other fields are None


def scan_rows(labels, pred_probs, self_conf, thresholds=None, check=None) -> RowScan:
    """scan_block over the whole array in cache-sized row blocks, accumulating the joint."""
    n, k = pred_probs.shape
    cut = None
    if thresholds is not None:
        cut = threshold_cut(thresholds, pred_probs.dtype)
        if k > COLUMN_SCAN_MAX_K:
            cut = np.broadcast_to(cut, (v.rows_per_block(pred_probs), k)).copy()
    predicted = np.empty(n, dtype=np.intp)
    agrees = np.empty(n, dtype=bool)
    off = None if cut is None else np.empty(n, dtype=bool)
    acc = JointAccumulator(k, n) if cut is not None else None
    work: dict = {}
    for sl in v.row_blocks(n, v.rows_per_block(pred_probs)):
        y = labels[sl]
        a, g, ok_rows, ok = scan_block(pred_probs[sl], y, self_conf[sl], cut, check, work)
        if not ok:
            return RowScan(None, None, None, None, values_ok=False)
        predicted[sl], agrees[sl] = a, ok_rows
        if cut is not None:
            np.logical_and(g >= 0, g != y, out=off[sl])
            acc.add(y, g, sl.start)
    return RowScan(predicted, agrees, off, None if acc is None else acc.joint(labels))


class JointAccumulator:
    """Counts (given, guess) pairs block by block. Few classes: a bincount per block; many
    classes: guesses are kept (2 bytes a row) and counted once, so no K x K bincount per block."""

    def __init__(self, k: int, n: int):
        self.k = k
        self.kept = None if k * (k + 1) <= 1 << 14 else np.empty(n, dtype=np.int16 if k < 1 << 15 else np.int32)
        # column 0 counts "no guess" (-1)
        self.counts = np.zeros(k * (k + 1) if self.kept is None else 0, dtype=np.int64)

    def add(self, labels: np.ndarray, guess: np.ndarray, start: int) -> None:
        if self.kept is None:
            self.counts += self.cell_counts(labels, guess)
        else:
            self.kept[start : start + len(guess)] = guess

    def cell_counts(self, labels: np.ndarray, guess: np.ndarray) -> np.ndarray:
        return cell_counts(labels, guess, self.k)

    def joint(self, labels: np.ndarray) -> np.ndarray:
        if self.kept is not None:  # K x K sized temporaries are few: each costs page faults
            for i, sl in enumerate(v.row_blocks(len(labels), 1 << 20)):
                counts = self.cell_counts(labels[sl], self.kept[sl])
                self.counts = counts if i == 0 else np.add(self.counts, counts, out=self.counts)
        return finish_joint(self.counts.reshape(self.k, self.k + 1)[:, 1:])


def cell_counts(labels: np.ndarray, guess: np.ndarray, k: int) -> np.ndarray:
    """Counts of (given, guess + 1) as a flat K * (K + 1) vector (guess -1 = not counted)."""
    cells = labels.astype(np.int64) * (k + 1)
    cells += guess
    cells += 1
    return np.bincount(cells, minlength=k * (k + 1))


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


def _confident_guess(pred_probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row: the class it confidently belongs to, or -1 when no class reaches its threshold.

    Among several classes at or above their thresholds, the one with the largest probability wins.
    """
    n = len(pred_probs)
    cut = threshold_cut(thresholds, pred_probs.dtype)
    out = np.empty(n, dtype=np.int64)
    for sl in v.row_blocks(n, v.rows_per_block(pred_probs)):
        zeros = np.zeros(sl.stop - sl.start, dtype=np.intp)
        out[sl] = scan_block(pred_probs[sl], zeros, zeros.astype(pred_probs.dtype), cut)[1]
    return out


def checked_scan(labels, pred_probs, by_class, check, original):
    """(pred_probs, self-confidences, scan) for the count-based functions, the value checks of
    v.check_inputs_deferred run inside the scan. When they fail, as_pred_probs(original) raises
    the precise error or returns the clipped copy that everything is then computed on."""
    sc = _self_confidence(labels, pred_probs)
    scan = scan_rows(labels, pred_probs, sc, _thresholds(labels, pred_probs, by_class=by_class, self_conf=sc), check)
    if not scan.values_ok:
        clipped = v.as_pred_probs(original, name=check.name)
        return checked_scan(labels, clipped, by_class, None, original)
    return pred_probs, sc, scan


def _raw_confident_joint(labels, pred_probs, thresholds=None):
    """Uncalibrated confident joint (diagonal >= 1) and the mask of rows counted off-diagonal."""
    k = pred_probs.shape[1]
    sc = _self_confidence(labels, pred_probs)
    if thresholds is None:
        t = _thresholds(labels, pred_probs, self_conf=sc)
    else:
        t = v.check_class_vector(thresholds, k, name="thresholds")
    scan = scan_rows(labels, pred_probs, sc, t)
    return scan.joint, scan.off_diagonal


def round_preserving_row_totals(matrix) -> np.ndarray:
    """Round each row to integers so that its (rounded) total is kept.

    Rows that lose or gain by plain rounding are fixed up on the entries with the largest
    (when adding) or smallest (when removing) fractional parts. Exact ties among fractional
    parts are common (equal counts in a row scale identically); they are broken by numpy's
    default sort, as the reference implementation does, so calibrated counts match it exactly.
    """
    arr = np.asarray(matrix)
    if arr.dtype.kind in "iub" and (arr.size == 0 or np.abs(arr).max() < 2**53):
        return np.ascontiguousarray(arr, dtype=np.int64)  # already whole: nothing to round or fix
    m = arr.astype(np.float64, copy=False)
    out = np.round(m)
    target = np.round(m.sum(axis=1))
    fix = np.flatnonzero(np.abs(target - np.round(out.sum(axis=1))) > EPS)  # rows, not examples
    if len(fix):
        _first_fix_step(m, out, target, fix)
    for r in fix:  # further steps (rare): row by row, as the reference does
        row = out[r]
        while abs(target[r] - np.round(row.sum())) > EPS:
            diff = np.round(target[r] - np.round(row.sum()))
            step = -1 if diff < 0 else 1
            changes = min(int(abs(diff)), len(row))
            row[np.argsort(m[r] - row)[::-step][:changes]] += step
    # Row-major, as the reference returns it: later column sums then add up in the same order.
    return np.ascontiguousarray(out, dtype=np.int64)


def _first_fix_step(m: np.ndarray, out: np.ndarray, target: np.ndarray, fix: np.ndarray) -> None:
    """The reference's first fix-up step for all rows in `fix` at once: a 2-D np.argsort along
    rows orders each row exactly as a 1-D argsort of that row (same kernel, row by row), so the
    entries chosen among ties are the same. Adding takes the last `changes` of that order,
    removing the first `changes`."""
    rows = out[fix]
    diff = np.round(target[fix] - np.round(rows.sum(axis=1)))
    step = np.where(diff < 0, -1.0, 1.0)
    k = m.shape[1]
    changes = np.minimum(np.abs(diff), k)[:, None]
    order = np.argsort(m[fix] - rows, axis=1)
    position = np.arange(k)
    take = np.where(step[:, None] > 0, position >= k - changes, position < changes)
    r = np.nonzero(take)[0]
    rows[r, order[take]] += step[r]
    out[fix] = rows


def _calibrate(cj: np.ndarray, label_counts: np.ndarray) -> np.ndarray:
    row_sums = np.maximum(cj.sum(axis=1), TINY)
    cal = cj / row_sums[:, None]  # then in place: the same operations, in the same layout
    cal *= label_counts[:, None]
    cal /= max(float(cal.sum()), TINY)
    cal *= label_counts.sum()
    return round_preserving_row_totals(cal)


def calibrate_confident_joint(confident_joint, labels) -> np.ndarray:
    """Rescale confident counts so row i sums to the number of examples labeled i."""
    cj = np.asarray(confident_joint)
    if cj.ndim != 2:
        raise v.LabelError(f"confident_joint must be a K x K matrix; got shape {cj.shape}")
    cj = v.check_class_matrix(cj, len(cj), name="confident_joint")
    y = v.as_labels(labels, num_classes=len(cj))
    return _calibrate(cj, _label_counts(y, len(cj)))


def confident_joint(labels, pred_probs, *, thresholds=None, calibrate: bool = True) -> np.ndarray:
    """C[i][j]: examples labeled i that confidently belong to class j (calibrated by default)."""
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    cj, _ = _raw_confident_joint(y, p, thresholds)
    return _calibrate(cj, _label_counts(y, p.shape[1])) if calibrate else cj


def _joint_from_calibrated(cal: np.ndarray) -> np.ndarray:
    return cal / max(float(cal.sum()), TINY)


def estimate_joint(labels, pred_probs, *, confident_joint=None) -> np.ndarray:
    """Q[i][j] = p(given = i, true = j), from the calibrated confident joint."""
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    k = p.shape[1]
    if confident_joint is None:
        cj, _ = _raw_confident_joint(y, p)
    else:
        cj = v.check_class_matrix(confident_joint, k, name="confident_joint")
    return _joint_from_calibrated(_calibrate(cj, _label_counts(y, k)))


def argmax_is_given(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Rows whose given label is the argmax, counting a 1e-6 lead-in for the given label.

    Such rows are never flagged by the count-based filters: the model agrees with the label.
    """
    return scan_rows(labels, pred_probs, _self_confidence(labels, pred_probs)).agrees


def _num_off_diagonal(labels, pred_probs) -> int:
    sc = _self_confidence(labels, pred_probs)
    return count_issues(scan_rows(labels, pred_probs, sc, _thresholds(labels, pred_probs, self_conf=sc)))


def count_issues(scan: RowScan) -> int:
    """Rows counted off-diagonal whose argmax is not their given label (cleanlab's off_diagonal)."""
    return int(np.count_nonzero(scan.off_diagonal & ~scan.agrees))


def num_label_issues(labels, pred_probs, *, method: str = "off_diagonal") -> int:
    """Estimated number of label issues.

    ``off_diagonal``: rows counted off the diagonal of the confident joint (minus rows whose
    argmax is their given label); ``off_diagonal_calibrated``: N * (1 - trace of the joint).
    """
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    if method == "off_diagonal":
        return _num_off_diagonal(y, p)
    if method == "off_diagonal_calibrated":
        cj, _ = _raw_confident_joint(y, p)
        joint = _joint_from_calibrated(_calibrate(cj, _label_counts(y, p.shape[1])))
        return int(np.rint((1.0 - joint.trace()) * len(y)))
    raise v.LabelError(
        f"unknown method '{method}' for num_label_issues; use off_diagonal or off_diagonal_calibrated"
    )


# --- latent algebra: priors and noise matrices --------------------------------------------------


def _clip_noise_rates(m: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Cap off-diagonal rates below 1 and renormalise columns to sum to 1 (in m itself when
    inplace: the same operations on an array of the same layout, so the same numbers)."""
    diag = m.diagonal().copy()
    m = np.clip(m, 0, NOISE_RATE_CAP, out=m if inplace else None)
    np.fill_diagonal(m, diag)
    return np.divide(m, np.maximum(m.sum(axis=0), TINY), out=m if inplace else None)


def _clip_priors(py: np.ndarray, low: float) -> np.ndarray:
    py = np.clip(py, low, 1.0)
    return py / max(float(py.sum()), TINY)


def _priors(ps, noise_matrix, inverse_noise_matrix) -> np.ndarray:
    py = inverse_noise_matrix.diagonal() / np.maximum(noise_matrix.diagonal(), TINY) * ps
    return _clip_priors(py, PRIOR_FLOOR)


def _converge(ps, py, nm, inv, outer: int = 3, inner: int = 5):
    """Alternate the estimates of priors and both noise matrices until they agree.

    K x K results are written into the arrays of the first iteration (same shapes and layouts
    every time: the same numbers, without ~70 fresh K x K allocations at large K)."""
    ps_floor = np.maximum(ps, TINY)
    joint = joint2 = inv_buf = nm_buf = None
    for _ in range(outer):
        for _ in range(inner):
            joint = np.multiply(nm, py, out=joint)
            inv = inv_buf = _clip_noise_rates(np.divide(joint.T, ps_floor, out=inv_buf), inplace=True)
            py = _priors(ps, nm, inv)
        joint2 = np.multiply(inv, ps, out=joint2)
        nm = nm_buf = _clip_noise_rates(np.divide(joint2.T, np.maximum(py, TINY), out=nm_buf), inplace=True)
    return py, nm, inv


def _latent(cal: np.ndarray, label_counts: np.ndarray, converge: bool) -> NoiseEstimate:
    ps = label_counts / float(label_counts.sum())
    nm = cal / np.maximum(cal.sum(axis=0), TINY)
    inv = cal.T / np.maximum(cal.sum(axis=1), TINY)
    py = _priors(ps, nm, inv)
    nm, inv = _clip_noise_rates(nm), _clip_noise_rates(inv)
    if converge:
        py, nm, inv = _converge(ps, py, nm, inv)
        py = _clip_priors(py, 1e-5)
        nm, inv = _clip_noise_rates(nm), _clip_noise_rates(inv)
    return NoiseEstimate(py, nm, inv, cal)


def estimate_noise_matrices(labels, pred_probs, *, converge: bool = True) -> NoiseEstimate:
    """Class priors, noise matrix and inverse noise matrix from the calibrated confident joint."""
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    counts = _label_counts(y, p.shape[1])
    cj, _ = _raw_confident_joint(y, p)
    return _latent(_calibrate(cj, counts), counts, converge)


def class_priors(labels, pred_probs) -> np.ndarray:
    """Estimated p(true label = k) for every class."""
    return estimate_noise_matrices(labels, pred_probs).class_priors
