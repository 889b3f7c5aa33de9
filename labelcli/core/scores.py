"""Per-example label quality scores in [0, 1] of one block of rows; lower = more likely mislabeled.

Each score depends on its own row only, plus per-class thresholds computed over all rows first
(labelcli.core.engine runs that pass): ``adjusted_margin`` needs the float64 margin thresholds
(core.adjusted.margin_thresholds), ``adjust_pred_probs`` the confident-learning thresholds.
"""
from __future__ import annotations

import numpy as np

from labelcli.core import validate as v
from labelcli.core.adjusted import adjusted_scan

METHODS = ("posterior", "adjusted_margin", "self_confidence", "normalized_margin", "confidence_weighted_entropy")
# Scores that need the noise model fitted on all rows first (labelcli.core.posterior, run by the engine).
MODEL_METHODS = ("posterior",)
CLIP = 1e-6


def check_method(method: str, adjust_pred_probs: bool = False) -> None:
    """A known scoring method, and adjust_pred_probs only where it is defined."""
    # adjusted_margin is normalized_margin of the adjusted pred_probs: adjust_pred_probs is implied.
    if method not in METHODS:
        raise v.LabelError(f"unknown scoring method '{method}'; choose one of {', '.join(METHODS)}")
    if adjust_pred_probs and method in ("confidence_weighted_entropy", *MODEL_METHODS):
        raise v.LabelError(f"adjust_pred_probs is not supported with {method}")


def needs_thresholds(method: str, adjust_pred_probs: bool) -> bool:
    """True when the scores need per-class thresholds of all rows first."""
    return method == "adjusted_margin" or adjust_pred_probs


def _max_other(labels: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Largest probability among the classes other than the given one."""
    masked = block.copy()
    masked[np.arange(len(labels)), labels] = -np.inf
    return masked.max(axis=1)


def _normalized_entropy(block: np.ndarray) -> np.ndarray:
    p = block.astype(np.float64, copy=False)
    plogp = p * np.log(np.where(p > 0, p, 1.0))  # 0 log 0 = 0
    return -plogp.sum(axis=1) / np.log(block.shape[1])


def adjust(block: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Subtract per-class thresholds (shifted to stay positive) and renormalise each row."""
    adj = block - thresholds
    adj += thresholds.max()
    adj /= adj.sum(axis=1, keepdims=True)
    return adj


def _score_block(labels: np.ndarray, block: np.ndarray, method: str) -> np.ndarray:
    self_conf = block[np.arange(len(labels)), labels]
    if method == "self_confidence":
        return self_conf.astype(np.float64)
    if method == "normalized_margin":
        return ((self_conf - _max_other(labels, block) + 1) / 2).astype(np.float64)
    # confidence_weighted_entropy: entropy relative to the given label's confidence,
    # mapped through log(1 + x) / x so that confident, correct labels score near 1.
    sc = np.maximum(self_conf.astype(np.float64), CLIP)
    ratio = _normalized_entropy(block) / sc
    return np.log(ratio + 1) / np.maximum(ratio, CLIP)


def block_scores(labels, pred_probs, method: str, adjust_pred_probs: bool = False, thresholds=None) -> np.ndarray:
    """The scores of these rows (float64). thresholds: the margin thresholds for adjusted_margin,
    the class thresholds for adjust_pred_probs, of all rows (see needs_thresholds)."""
    if method == "adjusted_margin":
        return adjusted_scan(labels, pred_probs, thresholds)[0]
    out = np.empty(len(labels), dtype=np.float64)
    for sl in v.row_blocks(len(labels)):
        block = pred_probs[sl]
        if adjust_pred_probs:
            block = adjust(block, thresholds)
        out[sl] = _score_block(labels[sl], block, method)
    return out
