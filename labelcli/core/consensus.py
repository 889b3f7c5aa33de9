"""Consensus labels from several annotators, and a quality score per annotator (pure numpy).

Input: an N x M matrix of class indices, one column per annotator, -1 where that annotator did
not label that example. With out-of-sample pred_probs the method is CROWDLAB (the method of
cleanlab's ``multiannotator.get_label_quality_multiannotator``, "best_quality" consensus): a
majority vote, then each example's posterior = a weighted mix of the model's pred_probs and the
annotators' labels, with annotator weights from their agreement with the other annotators
adjusted for chance (the error of always answering the most common class) and the model's weight
from its accuracy against the consensus; the consensus is the posterior's argmax and its quality
the posterior of the consensus label. Without pred_probs: a majority vote and agreement scores.
Several models' pred_probs (an ensemble, cleanlab's ``get_label_quality_multiannotator_ensemble``)
enter the mix each with its own weight; vote ties go to their mean. Active learning scores built
on this are in labelcli.core.consensus_active.

Every step is vectorised over examples; the only loops run over annotators' columns (M, small).

>>> import numpy as np
>>> votes = np.array([[0, 0, 1], [1, 1, -1], [2, 0, 2]])
>>> consensus(votes, num_classes=3).labels.tolist()
[0, 1, 2]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError

CLIP = 1e-6  # the floor of weights and errors (cleanlab's CLIPPING_LOWER_BOUND)
MISSING = -1


@dataclass(frozen=True, eq=False)
class Consensus:
    """A consensus label per example, its quality and agreement; a quality per annotator.

    ``labels``, ``quality``, ``agreement`` (the fraction of an example's annotators who gave the
    consensus label) and ``num_annotations`` have one entry per example; ``annotator_quality``,
    ``annotator_agreement`` (with the consensus, over the examples it labeled), ``num_labeled``
    and ``worst_class`` one per annotator. ``posterior`` is N x K (None without pred_probs);
    ``model_weight`` and ``annotator_weight`` are CROWDLAB's weights (None without pred_probs);
    with an ensemble ``model_weights`` holds each model's weight and ``model_weight`` their mean.
    """

    labels: np.ndarray
    quality: np.ndarray
    agreement: np.ndarray
    num_annotations: np.ndarray
    annotator_quality: np.ndarray
    annotator_agreement: np.ndarray
    num_labeled: np.ndarray
    worst_class: np.ndarray
    method: str
    posterior: np.ndarray | None = None
    model_weight: float | None = None
    annotator_weight: np.ndarray | None = None
    model_weights: np.ndarray | None = None

    @property
    def annotator_order(self) -> np.ndarray:
        """Annotators worst first: by quality, then agreement, then column (stable)."""
        return np.lexsort((np.arange(len(self.annotator_quality)), self.annotator_agreement,
                           self.annotator_quality))


def check_annotations(annotations, num_classes: int | None = None, pred_probs=None) -> tuple[np.ndarray, int]:
    """The annotations as an N x M int64 matrix with -1 for missing (NaN or -1 in the input) and
    the number of classes; one-line errors for what cannot be a consensus problem."""
    arr = np.asarray(annotations)
    if arr.ndim != 2:
        raise LabelError(f"annotations must be a 2-D matrix (examples x annotators), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise LabelError(f"annotations have shape {arr.shape}; need at least one example and one annotator")
    if arr.dtype.kind == "f":
        missing = np.isnan(arr) | (arr == MISSING)
        vals = np.where(missing, 0, arr)
        bad = ~missing & ((vals != np.round(vals)) | ~np.isfinite(vals))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise LabelError(f"annotation {arr[r, c]} at row {r}, annotator column {c} is not a class index")
        mat = np.where(missing, MISSING, vals).astype(np.int64)
    elif arr.dtype.kind in "biu":
        mat = arr.astype(np.int64)
    else:
        raise LabelError(f"annotations must be class indices, got dtype {arr.dtype}")
    if (mat < MISSING).any():
        r, c = np.argwhere(mat < MISSING)[0]
        raise LabelError(f"annotation {mat[r, c]} at row {r}, annotator column {c} is negative (use -1 or NaN for missing)")
    if pred_probs is not None:
        pred_probs = as_models(pred_probs)
        if pred_probs.shape[1] != len(mat):
            raise LabelError(f"pred_probs have shape {pred_probs.shape[-2:]} but there are {len(mat)} annotated"
                             " examples; they must have one row per example")
        k = pred_probs.shape[2] if num_classes is None else num_classes
        if pred_probs.shape[2] != k:
            raise LabelError(f"pred_probs have {pred_probs.shape[2]} columns but there are {k} classes")
    else:
        k = int(mat.max()) + 1 if num_classes is None else num_classes
    if mat.max() >= k:
        r, c = np.argwhere(mat >= k)[0]
        raise LabelError(f"annotation {mat[r, c]} at row {r}, annotator column {c} is outside 0..{k - 1}")
    if k < 2:
        raise LabelError(f"annotations have {k} class; need at least 2 classes")
    empty = np.flatnonzero((mat == MISSING).all(axis=1))
    if len(empty):
        raise LabelError(f"{len(empty)} examples have no annotations (first: row {empty[0]}); "
                         "every example needs at least one label")
    idle = np.flatnonzero((mat == MISSING).all(axis=0))
    if len(idle):
        raise LabelError(f"annotator column {idle[0]} labeled no example; drop it")
    return mat, k


def as_models(pred_probs) -> np.ndarray:
    """pred_probs as a P x N x K float array: one N x K array (P = 1), a list of them (an
    ensemble: every model the same N x K) or a P x N x K array; NaN, inf and negative values refused."""
    if isinstance(pred_probs, (list, tuple)):
        shapes = {np.shape(p) for p in pred_probs}
        if not pred_probs or len(shapes) != 1:
            raise LabelError(f"the models' pred_probs must all have the same shape (examples x classes), got"
                             f" {', '.join(str(np.shape(p)) for p in pred_probs) or 'none'}")
    arr = np.asarray(pred_probs, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise LabelError(f"pred_probs must be N x K (one model) or P x N x K (an ensemble), got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        p, r, _ = np.argwhere(~np.isfinite(arr) | (arr < 0))[0]
        which = f"model {p}, " if len(arr) > 1 else ""
        raise LabelError(f"pred_probs ({which}row {r}) hold a NaN, infinite or negative value")
    return arr


def vote_counts(mat: np.ndarray, k: int, weights=None) -> np.ndarray:
    """N x K: how many annotators (or how much annotator weight) gave each class to each example."""
    n, m = mat.shape
    rows, cols = np.nonzero(mat != MISSING)
    w = None if weights is None else np.asarray(weights, dtype=float)[cols]
    return np.bincount(rows * k + mat[rows, cols], weights=w, minlength=n * k).reshape(n, k).astype(float)


def _keep_best(tied: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Among each row's tied classes keep those with the highest score."""
    s = np.where(tied, score, -np.inf)
    return tied & (s == s.max(axis=1, keepdims=True))


def majority_vote(mat: np.ndarray, k: int, pred_probs: np.ndarray | None = None) -> np.ndarray:
    """The most common label of each example. Ties (cleanlab's order): the class with the larger
    pred_prob, then the class rarer over all annotations, then the class whose annotators agree
    more with the untied majority; last, the lowest class index (cleanlab picks at random)."""
    counts = vote_counts(mat, k)
    tied = counts == counts.max(axis=1, keepdims=True)
    untied = tied.sum(axis=1) == 1
    if pred_probs is not None:
        tied = _keep_best(tied, np.asarray(pred_probs, dtype=float))
    tied = _keep_best(tied, np.broadcast_to(-counts.sum(axis=0), tied.shape))
    open_rows = tied.sum(axis=1) > 1
    if open_rows.any():
        first = tied.argmax(axis=1)
        labeled = mat != MISSING
        sub = labeled & untied[:, None]
        hits = ((mat == first[:, None]) & sub).sum(axis=0)
        n_sub = sub.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            agree = np.where(n_sub > 0, hits / np.maximum(n_sub, 1), np.nan)
        if np.isnan(agree).all():
            agree = np.zeros_like(agree)
        agree = np.where(np.isnan(agree), np.nanmean(agree), agree)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_agree = vote_counts(mat, k, agree) / counts
        tied = _keep_best(tied, mean_agree)
    return tied.argmax(axis=1)


def agreement_with(mat: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per example: the fraction of its annotators who gave ``labels``."""
    labeled = mat != MISSING
    return (mat == labels[:, None]).sum(axis=1) / labeled.sum(axis=1)


def annotator_agreement_with_others(mat: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per annotator: how often another annotator of the same example gave the same label
    (pairs weighted as cleanlab weights them); the mean of the others for one who shares none."""
    labeled = mat != MISSING
    n_ann = labeled.sum(axis=1)
    safe = np.where(labeled, mat, 0)
    same = np.take_along_axis(counts, safe, axis=1) - 1  # others of the row who gave this label
    num = np.where(labeled, same, 0).sum(axis=0)
    den = np.where(labeled, n_ann[:, None] - 1, 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    if np.isnan(agree).all():
        raise LabelError("no example has two or more annotations; annotator quality needs some overlap")
    return np.where(np.isnan(agree), np.nanmean(agree), agree)


@dataclass(frozen=True, eq=False)
class _Stats:
    agreement: np.ndarray
    posterior: np.ndarray
    model_weight: np.ndarray  # one per model
    annotator_weight: np.ndarray


def crowdlab_posterior(mat: np.ndarray, pred_probs: np.ndarray, labels: np.ndarray) -> _Stats:
    """CROWDLAB's posterior of every class for every example, given a consensus ``labels``;
    ``pred_probs`` N x K, or P x N x K (P models, each weighted by its accuracy against the consensus)."""
    pred_probs = as_models(pred_probs)
    k = pred_probs.shape[2]
    labeled = mat != MISSING
    n_ann = labeled.sum(axis=1)
    agreement = agreement_with(mat, labels)
    multi = n_ann != 1
    if not multi.any():
        raise LabelError("every example has one annotation; CROWDLAB needs examples labeled by two or more")
    likely = float(np.mean(agreement[multi]))
    unlikely = (1 - likely) / (k - 1)
    sub = labels[multi]
    top_class_error = max(float(np.mean(sub != np.argmax(np.bincount(sub, minlength=k)))), CLIP)
    counts = vote_counts(mat, k)
    others = annotator_agreement_with_others(mat, counts)
    weight = np.clip(1 - (1 - others) / top_class_error, CLIP, None)
    model_error = np.mean(np.argmax(pred_probs[:, multi], axis=2) != sub, axis=1)
    model_weight = np.maximum(1 - model_error / top_class_error, CLIP) * float(np.sqrt(np.mean(n_ann)))
    total = labeled.astype(float) @ weight
    # one model: its pred_probs times its weight, exactly (a sum over one term)
    post = (pred_probs * model_weight[:, None, None]).sum(axis=0) + (total * unlikely)[:, None] \
        + vote_counts(mat, k, weight) * (likely - unlikely)
    post /= (total + model_weight.sum())[:, None]
    return _Stats(agreement, post, model_weight, weight)


def _per_annotator_mean(mat: np.ndarray, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Per annotator: the mean of an N x M matrix over the examples it labeled (within ``rows``);
    NaN for an annotator with none."""
    use = mat != MISSING
    if rows is not None:
        use = use & rows[:, None]
    n = use.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(use, values, 0).sum(axis=0) / np.maximum(n, 1), np.nan)


def worst_classes(mat: np.ndarray, labels: np.ndarray, quality: np.ndarray, k: int) -> np.ndarray:
    """Per annotator: the class (among those it gave) where it agrees least with the consensus;
    ties: the class it gave most often, then the higher mean consensus quality, then the lowest index."""
    m = mat.shape[1]
    rows, cols = np.nonzero(mat != MISSING)
    given = mat[rows, cols]
    key = cols * k + given
    size = m * k
    n = np.bincount(key, minlength=size).reshape(m, k).astype(float)
    hit = np.bincount(key, weights=(labels[rows] == given).astype(float), minlength=size).reshape(m, k)
    qual = np.bincount(key, weights=quality[rows], minlength=size).reshape(m, k)
    present = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = hit / n
        mean_q = qual / n
    cand = _keep_best(present, -acc)
    cand = _keep_best(cand, n)
    cand = _keep_best(cand, mean_q)
    return cand.argmax(axis=1)


def consensus(annotations, pred_probs=None, *, num_classes: int | None = None) -> Consensus:
    """Consensus labels and quality scores from several annotators (CROWDLAB with pred_probs,
    majority vote and agreement without).

    annotations: N x M class indices, NaN or -1 where an annotator did not label an example.
    pred_probs: optional N x K out-of-sample predicted probabilities, or several models' (a list
    of N x K arrays or a P x N x K array: ensemble CROWDLAB, each model weighted by its accuracy).
    """
    mat, k = check_annotations(annotations, num_classes, pred_probs)
    labeled = mat != MISSING
    n_ann = labeled.sum(axis=1)
    multi = n_ann != 1
    if mat.shape[1] < 2 or not multi.any():
        raise LabelError("every example has a single annotation (one annotator): there is no consensus to find;"
                         " use those labels as --labels with find-issues")
    if pred_probs is None:
        labels = majority_vote(mat, k)
        agreement = agreement_with(mat, labels)
        match = (mat == labels[:, None]).astype(float)
        quality = _per_annotator_mean(mat, match, multi)
        quality = np.where(np.isnan(quality), np.nanmean(quality), quality)  # no shared example: the average
        return Consensus(labels, agreement, agreement, n_ann, quality,
                         _per_annotator_mean(mat, match), labeled.sum(axis=0),
                         worst_classes(mat, labels, agreement, k), "majority_vote")
    models = as_models(pred_probs)
    vote = majority_vote(mat, k, np.mean(models, axis=0))  # ties: the models' mean pred_probs
    first = crowdlab_posterior(mat, models, vote)
    best = first.posterior == first.posterior.max(axis=1, keepdims=True)
    labels = np.where(best.sum(axis=1) == 1, best.argmax(axis=1), vote)
    stats = crowdlab_posterior(mat, models, labels)
    post = stats.posterior
    quality = post[np.arange(len(labels)), labels]
    safe = np.where(labeled, mat, 0)
    label_quality = np.take_along_axis(post, safe, axis=1)  # each annotation's posterior
    lqs = _per_annotator_mean(mat, label_quality)
    match = (mat == labels[:, None]).astype(float)
    agree_multi = _per_annotator_mean(mat, match, multi)
    model_weight = float(np.mean(stats.model_weight))  # an ensemble's annotators are scored with the mean
    weight_adjusted = stats.annotator_weight.sum() * (np.mean(n_ann) / mat.shape[1])
    w = model_weight / (model_weight + weight_adjusted)
    # An annotator who only labeled examples nobody else labeled has no agreement (cleanlab: NaN);
    # its quality is then the model's view alone.
    annotator_quality = np.where(np.isnan(agree_multi), lqs, w * lqs + (1 - w) * agree_multi)
    return Consensus(labels, quality, stats.agreement, n_ann, annotator_quality, _per_annotator_mean(mat, match),
                     labeled.sum(axis=0), worst_classes(mat, labels, quality, k), "crowdlab",
                     post, model_weight, stats.annotator_weight, stats.model_weight if len(models) > 1 else None)
