"""find_label_issues for multi-class data: which examples are likely mislabeled, ranked."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import validate as v
from labelcli.core.counting import (
    _calibrate,
    _label_counts,
    _raw_confident_joint,
    argmax_is_given,
    round_preserving_row_totals,
    rows_by_class,
)
from labelcli.core.ranking import METHODS, _label_quality_scores, order_by_score

FILTERS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
PRUNING = ("prune_by_noise_rate", "prune_by_class", "both")


@dataclass(frozen=True)
class LabelIssues:
    """Result of find_label_issues."""

    mask: np.ndarray  # (N,) bool, True = likely label issue
    ranking: np.ndarray  # indices of flagged rows, most suspect first
    scores: np.ndarray  # (N,) label quality scores by `rank_by` (lower = more suspect)
    predicted: np.ndarray  # (N,) argmax class of pred_probs (the suggested label)
    filter_by: str
    rank_by: str

    @property
    def num_issues(self) -> int:
        return int(self.mask.sum())


def _prune_counts(cal_cj, label_counts, min_examples_per_class, frac_noise, num_to_remove):
    """How many examples to flag per (given, true) cell: [true j, given k] (columns = given)."""
    pcm = cal_cj.T.astype(np.float64)
    diag = pcm.diagonal().copy()
    new_diag = np.maximum(diag, min_examples_per_class)
    nonzero_off = np.maximum(np.count_nonzero(pcm, axis=0) - 1.0, 1.0)
    new = pcm - (new_diag - diag) / nonzero_off
    new[new < 0] = 0
    np.fill_diagonal(new, new_diag)
    # frac_noise: keep that fraction of the off-diagonal counts; what is removed goes to the
    # diagonal. Truncation (not rounding) is deliberate, as in the reference implementation.
    reduced = new * frac_noise
    np.fill_diagonal(reduced, new.diagonal())
    np.fill_diagonal(reduced, new.diagonal() + (new - reduced).sum(axis=0))
    pcm = round_preserving_row_totals(reduced.astype(np.int64))
    if num_to_remove is not None:
        rem = np.asarray(num_to_remove, dtype=np.float64)
        psy = pcm / np.sum(pcm, axis=1)  # broadcasts over columns, as the reference does
        noise_per_s = psy.sum(axis=1) - psy.diagonal()
        tmp = (psy.T * rem / noise_per_s).T
        np.fill_diagonal(tmp, label_counts - rem)
        pcm = round_preserving_row_totals(tmp)
    return pcm


def _prune(labels, pred_probs, pcm, min_examples_per_class, by_noise_rate: bool) -> np.ndarray:
    """Per given class k: flag the rows that the prune counts assign away from k.

    by_noise_rate: for each cell (k -> j), the rows with the largest margin p[j] - p[k];
    otherwise (by class): the rows with the lowest p[k]. Ties go to the earlier row.
    """
    n, k_all = pred_probs.shape
    mask = np.zeros(n, dtype=bool)
    order, bounds = rows_by_class(labels, k_all)
    for k in range(k_all):  # a loop over classes; every step is vectorised over its rows
        rows = order[bounds[k] : bounds[k + 1]]
        # Classes at or below min_examples_per_class, and single-example classes, are left alone.
        if len(rows) <= max(min_examples_per_class, 1):
            continue
        counts = pcm[:, k]
        if by_noise_rate:
            cols = np.flatnonzero(counts > 0)
            cols = cols[cols != k]
            if len(cols) == 0:
                continue
            sub = pred_probs[rows]
            margins = sub[:, cols] - sub[:, [k]]
            ranked = np.argsort(-margins, axis=0, kind="stable")
            take = np.arange(len(rows))[:, None] < counts[cols][None, :]
            mask[rows[ranked[take]]] = True
        else:
            num = len(rows) - counts[k]
            if num >= 1:
                lowest = np.argsort(pred_probs[rows, k], kind="stable")[:num]
                mask[rows[lowest]] = True
    return mask


def _check_options(filter_by, rank_by, frac_noise, num_to_remove, min_examples, k):
    if filter_by not in FILTERS:
        raise v.LabelError(f"unknown filter '{filter_by}'; choose one of {', '.join(FILTERS)}")
    if rank_by not in METHODS:
        raise v.LabelError(f"unknown rank_by '{rank_by}'; choose one of {', '.join(METHODS)}")
    if not 0.0 <= frac_noise <= 1.0:
        raise v.LabelError(f"frac_noise must be in [0, 1], got {frac_noise}")
    if min_examples < 0:
        raise v.LabelError(f"min_examples_per_class must be >= 0, got {min_examples}")
    if num_to_remove is not None:
        if filter_by not in PRUNING:
            raise v.LabelError(
                f"num_to_remove_per_class works only with {', '.join(PRUNING)}, not '{filter_by}'"
            )
        if len(num_to_remove) != k:
            raise v.LabelError(f"num_to_remove_per_class needs {k} values, got {len(num_to_remove)}")


def find_label_issues(
    labels,
    pred_probs,
    *,
    filter_by: str = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class=None,
    min_examples_per_class: int = 1,
    rank_by: str = "self_confidence",
    confident_joint=None,
) -> LabelIssues:
    """Flag likely label errors with confident learning and rank them, most suspect first.

    filter_by: ``prune_by_noise_rate`` (default), ``prune_by_class``, ``both``,
    ``confident_learning``, ``predicted_neq_given``, ``low_self_confidence``,
    ``low_normalized_margin``. frac_noise, num_to_remove_per_class and min_examples_per_class
    tune the pruning filters. rank_by: the label quality score used to order the flagged rows.
    """
    y, p = v.check_inputs(labels, pred_probs)
    k = p.shape[1]
    _check_options(filter_by, rank_by, frac_noise, num_to_remove_per_class, min_examples_per_class, k)
    counts = _label_counts(y, k)
    raw_cj, off_diagonal = _raw_confident_joint(y, p)
    agrees = argmax_is_given(y, p)

    if filter_by in PRUNING:
        given = raw_cj if confident_joint is None else v.check_class_matrix(confident_joint, k, name="confident_joint")
        cal = _calibrate(given, counts)
        pcm = _prune_counts(cal, counts, min_examples_per_class, frac_noise, num_to_remove_per_class)
        mask = None
        if filter_by in ("prune_by_class", "both"):
            mask = _prune(y, p, pcm, min_examples_per_class, by_noise_rate=False)
        if filter_by in ("prune_by_noise_rate", "both"):
            by_rate = _prune(y, p, pcm, min_examples_per_class, by_noise_rate=True)
            mask = by_rate if mask is None else mask & by_rate
    elif filter_by == "confident_learning":
        mask = off_diagonal.copy()
    elif filter_by == "predicted_neq_given":
        mask = p.argmax(axis=1) != y
    else:  # low_self_confidence / low_normalized_margin: the lowest-scoring rows, as many as
        # the confident joint estimates there are issues.
        num = int(np.count_nonzero(off_diagonal & ~agrees))
        low = _label_quality_scores(y, p, filter_by[len("low_") :])
        mask = np.zeros(len(y), dtype=bool)
        mask[np.argsort(low, kind="stable")[:num]] = True
    if not filter_by.startswith("low_"):
        mask &= ~agrees

    scores = _label_quality_scores(y, p, rank_by)
    ranking = order_by_score(np.flatnonzero(mask), scores)
    return LabelIssues(mask, ranking, scores, p.argmax(axis=1), filter_by, rank_by)
