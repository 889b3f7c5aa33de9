"""Check a ranking against known errors: the metrics of a find-issues or score table, given the
true errors (a 0/1 or bool per example) or the true labels (an error = given label != true label).

Rows missing from the table (a find-issues table lists only the flagged rows) rank after every
listed row, in row order. The flagged set is the rows with is_label_issue true; a table without
that column (score) flags its n_errors most suspect rows, and says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError
from labelcli.ml import ranking_metrics as rm


@dataclass(frozen=True)
class Benchmark:
    metrics: dict  # precision, recall, f1, ap, ap_at_t, recall_at_k, k, n_errors, n_flagged, n_examples
    scores: np.ndarray  # per example, lower = more suspect (+inf: not in the table)
    truth: np.ndarray  # bool per example
    flagged_by: str  # "is_label_issue" or "the n_errors lowest scores"


def truth_mask(truth, given=None, *, name: str = "truth") -> np.ndarray:
    """Bool per example: truth as 0/1 or bool (errors), or true labels compared with ``given``."""
    t = np.asarray(truth)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise LabelError(f"{name}: need one value per example (0/1 or bool true errors, or true labels),"
                         f" got shape {t.shape}")
    if t.dtype == bool:
        return t
    if t.dtype.kind in "iuf" and np.isin(t, (0, 1)).all() and not (given is not None and _labels_like(given)):
        return t.astype(bool)
    if given is None:
        raise LabelError(f"{name}: these look like true labels; the `issues` table must then list every"
                         " example with its given_label (write it with --all, or use the score table)")
    g = np.asarray(given)
    if len(g) != len(t):
        raise LabelError(f"{name}: {len(t)} true labels but the table gives labels for {len(g)} examples")
    return g.astype(str) != t.astype(str)


def tag_truth_mask(truth, given=None, *, sep: str = ",", name: str = "truth") -> np.ndarray:
    """Multi-label: bool per example from truth as 0/1 or bool errors, or as true tag sets (a list
    of tag names, or names joined by ``sep``, per example) compared as sets with ``given`` (the
    table's given_labels, in row order)."""
    t = np.asarray(truth) if not isinstance(truth, np.ndarray) else truth
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise LabelError(f"{name}: need one value per example, got shape {t.shape}: true errors (0/1 or bool; from a"
                         " per-tag error matrix, whether any tag is wrong) or true tag sets (a column of tag names)")
    if t.dtype.kind in "biuf":
        return truth_mask(t, None, name=name)
    if given is None:
        raise LabelError(f"{name}: these look like true tag sets; the `issues` table must then list every example"
                         " with its given_labels (write it with --all, or use the score table)")
    if len(given) != len(t):
        raise LabelError(f"{name}: {len(t)} true tag sets but the table gives tags for {len(given)} examples")
    return np.array([a != b for a, b in zip(_tag_sets(given, sep), _tag_sets(t, sep))], dtype=bool)


def _tag_sets(cells, sep: str) -> list:
    """Each cell's tags as a frozenset of names (a list / array of names, or names joined by sep)."""
    out = []
    for v in cells:  # (the benchmark's own rows; a set per example)
        if v is None or (isinstance(v, float) and v != v):
            names = []
        elif isinstance(v, str):
            names = v.split(sep)
        else:
            names = list(v)
        out.append(frozenset(str(x).strip() for x in names if str(x).strip()))
    return out


def _labels_like(given) -> bool:
    g = np.asarray(given)
    return not (g.dtype.kind in "iub" and np.isin(g, (0, 1)).all())


def benchmark(index, label_score, is_issue, truth: np.ndarray, *, k: int | None = None,
              name: str = "issues") -> Benchmark:
    """Metrics of a table's ranking (index, label_score, optional is_label_issue) against truth."""
    n = len(truth)
    index = np.asarray(index, dtype=np.int64)
    if index.size and (index.min() < 0 or index.max() >= n):
        raise LabelError(f"{name}: row index {int(index.max())} is outside the {n:,} examples of the truth")
    if np.unique(index).size != index.size:
        raise LabelError(f"{name}: the index column repeats rows")
    scores = np.full(n, np.inf)
    scores[index] = np.asarray(label_score, dtype=np.float64)
    n_errors = int(truth.sum())
    if is_issue is not None:
        mask = np.zeros(n, dtype=bool)
        mask[index] = np.asarray(is_issue, dtype=bool)
        flagged_by = "is_label_issue"
    else:
        mask = np.zeros(n, dtype=bool)
        mask[rm.ranking(scores)[:n_errors]] = True
        flagged_by = "the n_errors lowest scores (the table has no is_label_issue column)"
    n_flagged = int(mask.sum())
    k = k if k is not None else (n_flagged or n_errors)
    p, r, f1 = rm.set_metrics(mask, truth)
    metrics = {"precision": p, "recall": r, "f1": f1, "ap": rm.average_precision(scores, truth),
               "ap_at_t": rm.average_precision_at(scores, truth), "recall_at_k": rm.recall_at_k(scores, truth, k),
               "k": int(k), "n_errors": n_errors, "n_flagged": n_flagged, "n_examples": n}
    return Benchmark(metrics, scores, truth, flagged_by)
