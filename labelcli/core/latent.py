"""Calibration and latent algebra of confident learning: the calibrated confident joint, the
estimated joint, class priors and the noise matrices, from K x K counts.

Pure K x K arithmetic, in the reference's operation order (cleanlab 2.9), so results agree exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core.scan import EPS

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
    # NaN cells (see pruning.prune_counts) become 0: the reference's cast gives a platform-dependent
    # integer there (INT64_MIN on x86), which every reader clips to 0.
    if np.isnan(out).any():
        out[np.isnan(out)] = 0
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


def calibrate(cj: np.ndarray, label_counts: np.ndarray) -> np.ndarray:
    """Rescale confident counts so row i sums to the number of examples labeled i (and the total
    is N), then round keeping the row totals."""
    row_sums = np.maximum(cj.sum(axis=1), TINY)
    cal = cj / row_sums[:, None]  # then in place: the same operations, in the same layout
    cal *= label_counts[:, None]
    cal /= max(float(cal.sum()), TINY)
    cal *= label_counts.sum()
    return round_preserving_row_totals(cal)


def joint_from_calibrated(cal: np.ndarray) -> np.ndarray:
    """Q[i][j] = p(given = i, true = j) from calibrated counts."""
    return cal / max(float(cal.sum()), TINY)


def calibrated_off_diagonal(joint: np.ndarray, label_counts: np.ndarray) -> int:
    """Off-diagonal total of a raw confident joint once calibrated to the label counts."""
    cal = calibrate(joint, label_counts)
    return int(cal.sum() - np.trace(cal))


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


def latent_estimates(cal: np.ndarray, label_counts: np.ndarray, converge: bool = True) -> NoiseEstimate:
    """Priors and both noise matrices from calibrated counts (converge: alternate the estimates
    until they agree, as the reference does)."""
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
