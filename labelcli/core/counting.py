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
    return pred_probs[np.arange(len(labels)), labels]


def rows_by_class(labels: np.ndarray, k: int):
    """Row indices grouped by label (original order within a class) and the class boundaries:
    the rows labeled c are order[bounds[c]:bounds[c + 1]]."""
    order = np.argsort(labels, kind="stable")
    return order, np.concatenate([[0], np.cumsum(_label_counts(labels, k))])


def _thresholds(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Per-class mean self-confidence, summed exactly as np.mean does in the data's dtype.

    Bit-identical thresholds matter: an example sitting exactly at a threshold is counted or not.
    The array is in the data's dtype, or float64 when a class is absent (its threshold is 2.0).
    """
    k = pred_probs.shape[1]
    order, bounds = rows_by_class(labels, k)
    self_conf = _self_confidence(labels, pred_probs)[order]
    means = [
        np.mean(self_conf[bounds[c] : bounds[c + 1]]) if bounds[c + 1] > bounds[c] else ABSENT_THRESHOLD
        for c in range(k)  # a loop over classes, each a vectorised mean
    ]
    return np.maximum(np.array(means), THRESHOLD_FLOOR)


def per_class_thresholds(labels, pred_probs) -> np.ndarray:
    """t_k: the mean predicted probability of class k over examples labeled k."""
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    return _thresholds(y, p)


def _confident_guess(pred_probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row: the class it confidently belongs to, or -1 when no class reaches its threshold.

    Among several classes at or above their thresholds, the one with the largest probability wins.
    """
    # Subtract in the thresholds' own precision (numpy promotion decides the comparison),
    # as the reference implementation does.
    t = np.asarray(thresholds) - EPS
    out = np.empty(len(pred_probs), dtype=np.int64)
    for sl in v.row_blocks(len(pred_probs)):
        block = pred_probs[sl]
        above = block >= t
        n_above = above.sum(axis=1)
        guess = np.where(n_above > 1, block.argmax(axis=1), above.argmax(axis=1))
        guess[n_above == 0] = -1
        out[sl] = guess
    return out


def _raw_confident_joint(labels, pred_probs, thresholds=None):
    """Uncalibrated confident joint (diagonal >= 1) and the mask of rows counted off-diagonal."""
    k = pred_probs.shape[1]
    if thresholds is None:
        t = _thresholds(labels, pred_probs)
    else:
        t = v.check_class_vector(thresholds, k, name="thresholds")
    guess = _confident_guess(pred_probs, t)
    counted = guess >= 0
    cells = labels[counted] * k + guess[counted]
    cj = np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.int64)
    # Every class keeps at least one correctly labeled example, so calibration never divides by 0.
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    # Column-major like the reference's confusion_matrix(...).T: calibration sums the matrix in
    # memory order, and a one-ulp difference in that total can flip a rounding.
    cj = np.asfortranarray(cj)
    off_diagonal = counted & (guess != labels)
    return cj, off_diagonal


def round_preserving_row_totals(matrix) -> np.ndarray:
    """Round each row to integers so that its (rounded) total is kept.

    Rows that lose or gain by plain rounding are fixed up on the entries with the largest
    (when adding) or smallest (when removing) fractional parts. Exact ties among fractional
    parts are common (equal counts in a row scale identically); they are broken by numpy's
    default sort, as the reference implementation does, so calibrated counts match it exactly.
    """
    m = np.asarray(matrix, dtype=np.float64)
    out = np.round(m)
    target = np.round(m.sum(axis=1))
    for r in np.flatnonzero(np.abs(target - np.round(out.sum(axis=1))) > EPS):  # rows, not examples
        row = out[r]
        while abs(target[r] - np.round(row.sum())) > EPS:
            diff = np.round(target[r] - np.round(row.sum()))
            step = -1 if diff < 0 else 1
            changes = min(int(abs(diff)), len(row))
            row[np.argsort(m[r] - row)[::-step][:changes]] += step
    # Row-major, as the reference returns it: later column sums then add up in the same order.
    return np.ascontiguousarray(out, dtype=np.int64)


def _calibrate(cj: np.ndarray, label_counts: np.ndarray) -> np.ndarray:
    row_sums = np.maximum(cj.sum(axis=1), TINY)
    cal = cj / row_sums[:, None] * label_counts[:, None]
    cal = cal / max(float(cal.sum()), TINY) * label_counts.sum()
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
    out = np.empty(len(labels), dtype=bool)
    bump = pred_probs.dtype.type(EPS)
    for sl in v.row_blocks(len(labels)):
        block = pred_probs[sl].copy()
        rows = np.arange(len(block))
        block[rows, labels[sl]] += bump
        out[sl] = block.argmax(axis=1) == labels[sl]
    return out


def _num_off_diagonal(labels, pred_probs) -> int:
    _, off = _raw_confident_joint(labels, pred_probs)
    return int(np.count_nonzero(off & ~argmax_is_given(labels, pred_probs)))


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


def _clip_noise_rates(m: np.ndarray) -> np.ndarray:
    """Cap off-diagonal rates below 1 and renormalise columns to sum to 1."""
    diag = m.diagonal().copy()
    m = np.clip(m, 0, NOISE_RATE_CAP)
    np.fill_diagonal(m, diag)
    return m / np.maximum(m.sum(axis=0), TINY)


def _clip_priors(py: np.ndarray, low: float) -> np.ndarray:
    py = np.clip(py, low, 1.0)
    return py / max(float(py.sum()), TINY)


def _priors(ps, noise_matrix, inverse_noise_matrix) -> np.ndarray:
    py = inverse_noise_matrix.diagonal() / np.maximum(noise_matrix.diagonal(), TINY) * ps
    return _clip_priors(py, PRIOR_FLOOR)


def _converge(ps, py, nm, inv, outer: int = 3, inner: int = 5):
    """Alternate the estimates of priors and both noise matrices until they agree."""
    for _ in range(outer):
        for _ in range(inner):
            joint = nm * py
            inv = _clip_noise_rates(joint.T / np.maximum(ps, TINY))
            py = _priors(ps, nm, inv)
        joint = (inv * ps).T
        nm = _clip_noise_rates(joint / np.maximum(py, TINY))
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
