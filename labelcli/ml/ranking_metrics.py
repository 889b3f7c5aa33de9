"""Accuracy metrics of a flagged set and of a ranking of label quality scores.

Shared by `labelcli benchmark` and the accuracy benchmark (bench/accuracy imports it from here).

Conventions (pure numpy; scikit-learn only for average_precision_sklearn):
- scores: lower = more suspect. The ranking is ``np.argsort(scores, kind="stable")``: ascending
  score, equal scores in row-index order (lower index first). float16 pred_probs make many exact
  ties, and this makes the ranking, so AP / precision@T / recall@k, deterministic. (scikit-learn's
  average_precision_score instead treats a run of tied scores as one threshold, which lies
  between the best and worst tie orders; ``average_precision_sklearn`` gives that figure too.)
- universe: an optional bool mask of the rows that have a verdict (label-errors: the reviewed
  rows). Precision and the ranking metrics only look at those rows: unflagged or unreviewed rows
  are neither hits nor false alarms. Recall@k is the exception: it ranks every row, as a reviewer
  working down the full list would.
- precision of an empty flagged set is 0 (scikit-learn's zero_division=0), so F1 is 0 too;
  metrics that need a positive are NaN when there is none.
"""
from __future__ import annotations

import numpy as np


def ranking(scores: np.ndarray) -> np.ndarray:
    """Row indices, most suspect first: ascending score, ties by row index."""
    return np.argsort(np.asarray(scores), kind="stable")


def _restrict(scores, truth, universe):
    scores, truth = np.asarray(scores), np.asarray(truth, dtype=bool)
    if universe is None:
        return scores, truth
    u = np.asarray(universe, dtype=bool)
    return scores[u], truth[u]


def set_metrics(mask, truth, universe=None) -> tuple[float, float, float]:
    """(precision, recall, F1) of a flagged mask against the bool truth."""
    mask, truth = np.asarray(mask, dtype=bool), np.asarray(truth, dtype=bool)
    judged = mask if universe is None else mask & np.asarray(universe, dtype=bool)
    hits = int(np.count_nonzero(mask & truth))
    positives = int(np.count_nonzero(truth))
    flagged = int(np.count_nonzero(judged))
    precision = hits / flagged if flagged else 0.0
    recall = hits / positives if positives else float("nan")
    if not positives:
        f1 = float("nan")
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def average_precision(scores, truth, universe=None) -> float:
    """Mean, over the positives, of the precision of the ranking down to that positive."""
    scores, truth = _restrict(scores, truth, universe)
    hits = truth[ranking(scores)]
    positives = int(hits.sum())
    if not positives:
        return float("nan")
    cum = np.cumsum(hits)
    at = np.flatnonzero(hits)
    return float(np.mean(cum[at] / (at + 1)))


def precision_at(scores, truth, t: int | None = None, universe=None) -> float:
    """Fraction of true errors among the t most suspect rows (t defaults to the number of errors)."""
    scores, truth = _restrict(scores, truth, universe)
    t = int(truth.sum()) if t is None else int(t)
    if t <= 0:
        return float("nan")
    return float(truth[ranking(scores)[:t]].sum() / t)


def average_precision_at(scores, truth, t: int | None = None, universe=None) -> float:
    """AP@T: the sum of the precision at each true error among the t most suspect rows, over
    min(t, errors) (t defaults to the number of errors)."""
    scores, truth = _restrict(scores, truth, universe)
    positives = int(truth.sum())
    t = positives if t is None else int(t)
    if t <= 0 or not positives:
        return float("nan")
    hits = truth[ranking(scores)[:t]]
    at = np.flatnonzero(hits)
    return float((np.cumsum(hits)[at] / (at + 1)).sum() / min(t, positives))


def pr_curve(scores, truth) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) after each row of the ranking, most suspect first."""
    hits = np.asarray(truth, dtype=bool)[ranking(scores)]
    cum = np.cumsum(hits)
    return cum / np.arange(1, len(hits) + 1), cum / max(int(hits.sum()), 1)


def recall_at_k(scores, truth, k: int) -> float:
    """Fraction of true errors among the k most suspect rows of the full ranking."""
    truth = np.asarray(truth, dtype=bool)
    positives = int(truth.sum())
    if not positives:
        return float("nan")
    return float(truth[ranking(scores)[: int(k)]].sum() / positives)


def average_precision_sklearn(scores, truth, universe=None) -> float:
    """scikit-learn's average_precision_score(truth, -scores): tied scores count as one step."""
    from sklearn.metrics import average_precision_score

    scores, truth = _restrict(scores, truth, universe)
    if not truth.any():
        return float("nan")
    return float(average_precision_score(truth, -np.asarray(scores, dtype=np.float64)))


def evaluate(mask, scores, truth, *, universe=None, k: int | None = None) -> dict[str, float]:
    """Every metric of one method on one problem."""
    p, r, f1 = set_metrics(mask, truth, universe)
    out = {
        "precision": p,
        "recall": r,
        "f1": f1,
        "ap": average_precision(scores, truth, universe),
        "p_at_t": precision_at(scores, truth, None, universe),
        "ap_sklearn": average_precision_sklearn(scores, truth, universe),
        "flagged": int(np.count_nonzero(mask)),
    }
    if k is not None:
        out["recall_at_k"] = recall_at_k(scores, truth, k)
    return out
