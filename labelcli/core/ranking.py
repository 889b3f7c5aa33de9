"""Per-example label quality scores in [0, 1]; lower means more likely mislabeled."""
from __future__ import annotations

import numpy as np

from labelcli.core import validate as v
from labelcli.core.counting import _thresholds

METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
CLIP = 1e-6


def _max_other(labels: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Largest probability among the classes other than the given one."""
    masked = block.copy()
    masked[np.arange(len(labels)), labels] = -np.inf
    return masked.max(axis=1)


def _normalized_entropy(block: np.ndarray) -> np.ndarray:
    p = block.astype(np.float64, copy=False)
    plogp = p * np.log(np.where(p > 0, p, 1.0))  # 0 log 0 = 0
    return -plogp.sum(axis=1) / np.log(block.shape[1])


def _adjust(block: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
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


def _check_method(method: str, adjust_pred_probs: bool) -> None:
    if method not in METHODS:
        raise v.LabelError(f"unknown scoring method '{method}'; choose one of {', '.join(METHODS)}")
    if adjust_pred_probs and method == "confidence_weighted_entropy":
        raise v.LabelError("adjust_pred_probs is not supported with confidence_weighted_entropy")


def _label_quality_scores(labels, pred_probs, method="self_confidence", adjust_pred_probs=False):
    _check_method(method, adjust_pred_probs)
    thresholds = _thresholds(labels, pred_probs) if adjust_pred_probs else None
    out = np.empty(len(labels), dtype=np.float64)
    for sl in v.row_blocks(len(labels)):
        block = pred_probs[sl]
        if thresholds is not None:
            block = _adjust(block, thresholds)
        out[sl] = _score_block(labels[sl], block, method)
    return out


def label_quality_scores(
    labels, pred_probs, *, method: str = "self_confidence", adjust_pred_probs: bool = False
) -> np.ndarray:
    """Label quality score per example (lower = more suspect).

    method: ``self_confidence`` (p[given]), ``normalized_margin`` ((p[given] - max other + 1) / 2)
    or ``confidence_weighted_entropy``. ``adjust_pred_probs`` first subtracts the per-class
    thresholds, which corrects for classes the model is systematically over-confident in.
    """
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    return _label_quality_scores(y, p, method, adjust_pred_probs)


def order_by_score(indices: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Sort indices by ascending score; equal scores keep row order (deterministic ties)."""
    return indices[np.argsort(scores[indices], kind="stable")]
