"""Confident learning counts from labels and pred_probs: per-class thresholds, the confident
joint (raw and calibrated), the estimated joint, noise matrices, class priors and the number of
label issues. Each checks its arguments and runs the engine (labelcli.core.engine) for the
row passes; the K x K algebra is labelcli.core.latent.

Definitions follow Northcutt et al. (JAIR 2021) as implemented in cleanlab 2.9, so that results
agree exactly; see the README section "How labelcli relates to confident learning".
"""
from __future__ import annotations

import numpy as np

from labelcli.core import validate as v
from labelcli.core.engine import ArraySource, Run, confident_scan
from labelcli.core.latent import (  # noqa: F401 (API)
    NoiseEstimate,
    calibrate,
    joint_from_calibrated,
    latent_estimates,
    round_preserving_row_totals,
)
from labelcli.core.scan import count_issues, label_counts, rows_by_class, scan_block, threshold_cut


def _checked(labels, pred_probs):
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    return y, p


def raw_confident_joint(labels, pred_probs, thresholds=None):
    """(uncalibrated confident joint with diagonal >= 1, RowScan) of validated inputs; thresholds:
    the caller's instead of the per-class means."""
    if thresholds is None:
        classes, scan = confident_scan(labels, ArraySource(pred_probs), Run(checked=True))
        return scan.joint, scan
    t = v.check_class_vector(thresholds, pred_probs.shape[1], name="thresholds")
    classes, scan = confident_scan(labels, ArraySource(pred_probs), Run(checked=True), thresholds=t)
    return scan.joint, scan


def per_class_thresholds(labels, pred_probs) -> np.ndarray:
    """t_k: the mean predicted probability of class k over examples labeled k."""
    from labelcli.core.scan import thresholds_of

    y, p = _checked(labels, pred_probs)
    return thresholds_of(y, p)


def calibrate_confident_joint(confident_joint, labels) -> np.ndarray:
    """Rescale confident counts so row i sums to the number of examples labeled i."""
    cj = np.asarray(confident_joint)
    if cj.ndim != 2:
        raise v.LabelError(f"confident_joint must be a K x K matrix; got shape {cj.shape}")
    cj = v.check_class_matrix(cj, len(cj), name="confident_joint")
    y = v.as_labels(labels, num_classes=len(cj))
    return calibrate(cj, label_counts(y, len(cj)))


def confident_joint(labels, pred_probs, *, thresholds=None, calibrate: bool = True) -> np.ndarray:
    """C[i][j]: examples labeled i that confidently belong to class j (calibrated by default)."""
    from labelcli.core.latent import calibrate as calibrated

    y, p = _checked(labels, pred_probs)
    cj, _ = raw_confident_joint(y, p, thresholds)
    return calibrated(cj, label_counts(y, p.shape[1])) if calibrate else cj


def estimate_joint(labels, pred_probs, *, confident_joint=None) -> np.ndarray:
    """Q[i][j] = p(given = i, true = j), from the calibrated confident joint."""
    y, p = _checked(labels, pred_probs)
    k = p.shape[1]
    if confident_joint is None:
        cj, _ = raw_confident_joint(y, p)
    else:
        cj = v.check_class_matrix(confident_joint, k, name="confident_joint")
    return joint_from_calibrated(calibrate(cj, label_counts(y, k)))


def argmax_is_given(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Rows whose given label is the argmax, counting a 1e-6 lead-in for the given label.

    Such rows are never flagged by the count-based filters: the model agrees with the label.
    """
    return raw_confident_joint(labels, pred_probs)[1].agrees


def confident_guess(pred_probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row: the class it confidently belongs to, or -1 when no class reaches its threshold.

    Among several classes at or above their thresholds, the one with the largest probability wins.
    """
    from labelcli.core.scan import block_cut

    n = len(pred_probs)
    cut = block_cut(threshold_cut(thresholds, pred_probs.dtype), pred_probs)
    out = np.empty(n, dtype=np.int64)
    for sl in v.row_blocks(n, v.rows_per_block(pred_probs)):
        zeros = np.zeros(sl.stop - sl.start, dtype=np.intp)
        out[sl] = scan_block(pred_probs[sl], zeros, zeros.astype(pred_probs.dtype), cut)[1]
    return out


def num_label_issues(labels, pred_probs, *, method: str = "off_diagonal") -> int:
    """Estimated number of label issues.

    ``off_diagonal``: rows counted off the diagonal of the confident joint (minus rows whose
    argmax is their given label); ``off_diagonal_calibrated``: N * (1 - trace of the joint).
    """
    y, p = _checked(labels, pred_probs)
    if method not in ("off_diagonal", "off_diagonal_calibrated"):
        raise v.LabelError(
            f"unknown method '{method}' for num_label_issues; use off_diagonal or off_diagonal_calibrated"
        )
    cj, scan = raw_confident_joint(y, p)
    if method == "off_diagonal":
        return count_issues(scan)
    joint = joint_from_calibrated(calibrate(cj, label_counts(y, p.shape[1])))
    return int(np.rint((1.0 - joint.trace()) * len(y)))


def estimate_noise_matrices(labels, pred_probs, *, converge: bool = True) -> NoiseEstimate:
    """Class priors, noise matrix and inverse noise matrix from the calibrated confident joint."""
    y, p = _checked(labels, pred_probs)
    counts = label_counts(y, p.shape[1])
    cj, _ = raw_confident_joint(y, p)
    return latent_estimates(calibrate(cj, counts), counts, converge)


def class_priors(labels, pred_probs) -> np.ndarray:
    """Estimated p(true label = k) for every class."""
    return estimate_noise_matrices(labels, pred_probs).class_priors


__all__ = [
    "NoiseEstimate", "argmax_is_given", "calibrate_confident_joint", "class_priors", "confident_guess",
    "confident_joint", "estimate_joint", "estimate_noise_matrices", "num_label_issues", "per_class_thresholds",
    "raw_confident_joint", "round_preserving_row_totals", "rows_by_class",
]
