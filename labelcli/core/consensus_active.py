"""Active learning with several annotators: which examples most need one more label (pure numpy).

The scores are those of cleanlab 2.9's ``multiannotator.get_active_learning_scores`` (ActiveLab)
and its ensemble version: each model's pred_probs are first temperature-scaled to fit the
annotators' label distribution (the temperature with the lowest soft cross-entropy on a coarse
then a fine grid); an example's score is its CROWDLAB consensus quality on the scaled pred_probs,
pulled toward 1/K by one average annotator's weight against the weight of what is already known
(its annotators' weights plus the models'). An unlabeled example's score is the models' weighted
confidence pulled toward 1/K alike, so both kinds of score are comparable. Lower = ask first.

Loops run over models and temperatures only (a handful); everything over examples is vectorised.

>>> import numpy as np
>>> votes = np.array([[0, 0, -1], [1, -1, 0], [2, 2, 2], [0, 1, -1]])
>>> pp = np.array([[.8, .1, .1], [.3, .5, .2], [.1, .1, .8], [.5, .4, .1]])
>>> al = active_learning_scores(votes, pp)
>>> int(np.argmin(al.scores))  # an even split the model is unsure about
3
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core.consensus import MISSING, as_models, check_annotations, consensus, majority_vote, vote_counts
from labelcli.errors import LabelError

COARSE_TEMPERATURES = (0.1, 0.2, 0.5, 0.8, 1, 2, 3, 5, 8)
FINE_STEPS = 4
TINY = 1e-30  # the floor of probabilities before a log (cleanlab's SMALL_CONST)
MIN_TEMPERATURE = 1e-6


@dataclass(frozen=True, eq=False)
class ActiveLearning:
    """Active learning scores in [0, 1], lower = label next: ``scores`` one per annotated example
    (empty without annotations), ``unlabeled_scores`` one per unlabeled example (empty without
    them); each model's ``temperature`` and ``model_weight``; the ``annotator_weight``s used."""

    scores: np.ndarray
    unlabeled_scores: np.ndarray
    temperature: np.ndarray
    model_weight: np.ndarray
    annotator_weight: np.ndarray | None


def _softmax(log_p: np.ndarray, temperature: float) -> np.ndarray:
    e = np.exp(log_p / max(temperature, MIN_TEMPERATURE))
    return e / np.sum(e, axis=1, keepdims=True)


def temperature_scale(pred_probs: np.ndarray, temperature: float) -> np.ndarray:
    """pred_probs N x K sharpened (temperature < 1) or smoothed (> 1); rows sum to 1."""
    p = np.clip(pred_probs, TINY, None)
    p = p / np.sum(p, axis=1)[:, None]
    scaled = _softmax(np.log(p), temperature)
    return scaled / np.sum(scaled, axis=1)[:, None]


def _soft_cross_entropy(empirical: np.ndarray, log_p: np.ndarray, temperature: float) -> float:
    scaled = _softmax(log_p, temperature)
    k = log_p.shape[1]
    return float(np.mean(-np.sum(empirical * np.log(np.clip(scaled, TINY, None)), axis=1) / np.log(k)))


def fine_temperatures(best: int) -> np.ndarray:
    """The fine grid around the best coarse temperature (its neighbours' intervals)."""
    coarse = COARSE_TEMPERATURES
    grid = np.array([])
    if best != 0:
        grid = np.append(np.linspace(coarse[best - 1], coarse[best], FINE_STEPS, endpoint=False), grid)
    if best != len(coarse) - 1:
        grid = np.append(grid, np.linspace(coarse[best], coarse[best + 1], FINE_STEPS + 1, endpoint=True))
    return grid


def label_shares(mat: np.ndarray, k: int, *, compat: str | None = None) -> np.ndarray:
    """N x K: the share of each example's annotators who gave each class. ``compat="cleanlab"``:
    cleanlab 2.9's shares, whose counts land on the first classes in order (an example labeled
    {2, 2, 4} gets 2/3 on class 0 and 1/3 on class 1) unless the example saw every class."""
    counts = vote_counts(mat, k)
    if compat == "cleanlab":
        present = counts > 0
        rows, cols = np.nonzero(present)
        slot = np.cumsum(present, axis=1)[rows, cols] - 1
        moved = np.zeros_like(counts)
        moved[rows, slot] = counts[rows, cols]
        counts = moved
    return counts / (mat != MISSING).sum(axis=1)[:, None]


def best_temperature(mat: np.ndarray, pred_probs: np.ndarray, *, compat: str | None = None) -> float:
    """The temperature whose scaled pred_probs (N x K) best fit the annotators' label shares
    (lowest mean soft cross-entropy; first of equals)."""
    empirical = label_shares(mat, pred_probs.shape[1], compat=compat)
    log_p = np.log(pred_probs, where=pred_probs > 0, out=np.full(pred_probs.shape, -np.inf))
    coarse = [_soft_cross_entropy(empirical, log_p, t) for t in COARSE_TEMPERATURES]
    fine = fine_temperatures(int(np.argmin(coarse)))
    return float(fine[int(np.argmin([_soft_cross_entropy(empirical, log_p, t) for t in fine]))])


def _labeled_scores(annotations, models: np.ndarray, num_classes: int | None, compat: str | None):
    """(scores, temperatures, model weights, annotator weights) of the annotated examples."""
    mat, k = check_annotations(annotations, num_classes, models)
    labeled = mat != MISSING
    if (labeled.sum(axis=1) == 1).all():  # one label each: no agreement to learn weights from
        temps = np.ones(len(models))
        mean = np.mean(models, axis=0)
        labels = majority_vote(mat, k, mean)
        quality = mean[np.arange(len(labels)), labels]
        model_weight, annotator_weight = np.ones(len(models)), np.ones(mat.shape[1])
    else:
        temps = np.array([best_temperature(mat, p, compat=compat) for p in models])
        scaled = np.stack([temperature_scale(p, t) for p, t in zip(models, temps)])
        res = consensus(mat, scaled, num_classes=k)
        quality, annotator_weight = res.quality, res.annotator_weight
        model_weight = res.model_weights if res.model_weights is not None else np.array([res.model_weight])
    known = labeled.astype(float) @ annotator_weight + model_weight.sum()
    avg = float(np.mean(annotator_weight))
    scores = (quality * known + avg / k) / (known + avg)
    return scores, temps, model_weight, annotator_weight, k


def active_learning_scores(annotations=None, pred_probs=None, unlabeled_pred_probs=None, *,
                           num_classes: int | None = None, compat: str | None = None) -> ActiveLearning:
    """Which examples most need another label (lower score = label first), for annotated examples
    (``annotations`` N x M with -1/NaN for missing, and ``pred_probs``) and for examples nobody
    labeled yet (``unlabeled_pred_probs``); pred_probs of one model (N x K) or an ensemble (a list
    of N x K arrays or P x N x K), the same models for both. ``compat="cleanlab"`` fits the
    temperatures to cleanlab 2.9's misplaced label shares (see ``label_shares``) and so reproduces
    its scores exactly; by default the shares are each example's true ones.
    """
    if compat not in (None, "cleanlab"):
        raise LabelError(f"the `compat` option '{compat}' is not one of: cleanlab")
    if pred_probs is None and unlabeled_pred_probs is None:
        raise LabelError("active learning needs pred_probs, unlabeled pred_probs or both")
    if pred_probs is not None:
        if annotations is None:
            raise LabelError("pred_probs of annotated examples need their annotations")
        models = as_models(pred_probs)
        scores, temps, model_weight, annotator_weight, k = _labeled_scores(annotations, models, num_classes, compat)
        avg = float(np.mean(annotator_weight))
    else:
        scores, annotator_weight, avg = np.array([]), None, 1.0
    unlabeled = np.array([])
    if unlabeled_pred_probs is not None:
        new = as_models(unlabeled_pred_probs)
        if pred_probs is None:
            k = new.shape[2] if num_classes is None else num_classes
            temps, model_weight = np.ones(len(new)), np.ones(len(new))
        if new.shape[0] != len(temps):
            raise LabelError(f"unlabeled pred_probs come from {new.shape[0]} models but the annotated examples'"
                             f" from {len(temps)}; give both for the same models")
        if new.shape[2] != k:
            raise LabelError(f"unlabeled pred_probs have {new.shape[2]} columns but there are {k} classes")
        unlabeled = unlabeled_scores(new, temps, model_weight, avg)
    return ActiveLearning(scores, unlabeled, temps, model_weight, annotator_weight)


def unlabeled_scores(models: np.ndarray, temps: np.ndarray, model_weight: np.ndarray, avg: float) -> np.ndarray:
    """Scores of unlabeled examples: the models' (temperature-scaled) vote, its weighted
    probability pulled toward 1/K by one average annotator's weight."""
    k = models.shape[2]
    scaled = np.stack([temperature_scale(p, t) for p, t in zip(models, temps)])
    votes = np.argmax(scaled, axis=2).T  # each model's class: the annotations of the "model annotators"
    labels = majority_vote(votes, k, np.mean(scaled, axis=0))
    mix = ((scaled * model_weight[:, None, None]).sum(axis=0) + avg / k) / (model_weight.sum() + avg)
    return mix[np.arange(len(labels)), labels]
