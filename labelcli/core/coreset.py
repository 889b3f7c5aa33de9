"""Which examples to review first: coreset importance (sensitivity) and confused class pairs.

The importance of an example is an estimate of its sensitivity for a multinomial logistic
regression on the features: the largest share of the total loss its own term can take. Coreset
constructions sample examples by this quantity; for review it says which rows the model leans on
or cannot explain. See ``importance_scores`` for the formula.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from labelcli.core import validate as v
from labelcli.core.select import top_indices
from labelcli.errors import LabelError

MAX_FIT_ROWS = 50_000
MAX_ITER = 300
# Eigenvalues of Z^T Z below this fraction of the largest are treated as 0 (collinear columns).
RANK_RTOL = 1e-10
TINY = 1e-12


def _check_rows(features, labels, num_classes, name: str):
    x = v.as_features(features, name=name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise LabelError(f"num_classes must be a whole number >= 2, got {num_classes!r}")
    y = v.as_labels(labels, num_classes=int(num_classes))
    v.check_same_length(len(x), len(y), name_a=name, name_b="labels")
    v.check_classes_present(y, int(num_classes))
    return x, y


def _standardize(x: np.ndarray) -> np.ndarray:
    """Columns to mean 0, variance 1 (constant columns become 0)."""
    z = x.astype(np.float64)
    z -= z.mean(axis=0)
    sd = z.std(axis=0)
    z /= np.where(sd > 0, sd, 1.0)
    return z


def _leverage(z: np.ndarray) -> np.ndarray:
    """h_i = z1_i^T (Z1^T Z1)^+ z1_i for Z1 = [z, 1]: each row's leverage, in [0, 1]."""
    n, d = z.shape
    gram = np.empty((d + 1, d + 1))
    gram[:d, :d] = z.T @ z
    gram[:d, d] = gram[d, :d] = z.sum(axis=0)
    gram[d, d] = n
    lam, vec = np.linalg.eigh(gram)
    keep = lam > RANK_RTOL * lam.max()
    proj = vec[:, keep] / np.sqrt(lam[keep])
    h = np.empty(n)
    for sl in v.row_blocks(n):
        u = z[sl] @ proj[:d] + proj[d]
        h[sl] = np.einsum("ij,ij->i", u, u)
    return np.clip(h, 0.0, 1.0)


def _fit_loss(z: np.ndarray, y: np.ndarray, C: float, seed: int, max_fit_rows: int) -> np.ndarray:
    """Per-example cross-entropy -log p(y_i | x_i) of an L2 multinomial logistic regression."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    fit = np.arange(len(y))
    if len(y) > max_fit_rows:
        fit = np.sort(np.random.default_rng(seed).choice(len(y), max_fit_rows, replace=False))
        if len(np.unique(y[fit])) < len(np.unique(y)):  # keep every present class in the fit
            fit = np.union1d(fit, np.unique(y, return_index=True)[1])
    model = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed)
    # One BLAS thread: lbfgs makes many small products, and threads waiting on each other in
    # them cost 10-40x on a busy machine. An unconverged fit still ranks examples.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(z[fit], y[fit])
    col = np.searchsorted(model.classes_, y)
    loss = np.empty(len(y))
    for sl in v.row_blocks(len(y)):
        logp = model.predict_log_proba(z[sl])
        loss[sl] = -logp[np.arange(len(logp)), col[sl]]
    return np.maximum(loss, 0.0)


def importance_scores(
    features,
    labels,
    num_classes: int,
    *,
    C: float = 1.0,
    seed: int = 0,
    loss_weight: float = 0.5,
    max_fit_rows: int = MAX_FIT_ROWS,
    name: str = "features",
) -> np.ndarray:
    """Per-example importance (sensitivity estimate) for a logistic regression; high = look first.

    A multinomial logistic regression (L2 penalty, inverse strength C) is fitted on the
    standardized features z (on a seeded sample of max_fit_rows rows when N is larger). Then

        importance_i = w * loss_i / mean(loss) + (1 - w) * sqrt(h_i) / mean(sqrt(h))

    with loss_i = -log p(y_i | x_i) at the fit (example i's share of the total loss, times N) and
    h_i the leverage of [z_i, 1] (its squared norm in an orthonormal basis of the data: the
    sqrt-leverage term of the sensitivity bounds of Munteanu et al. 2018, which bounds how
    much any parameter change can move example i's term). w = loss_weight (default 0.5). Scores
    are >= 0 with mean 1: an importance of 8 means 8 times the average example's weight.
    """
    x, y = _check_rows(features, labels, num_classes, name)
    if not C > 0:
        raise LabelError(f"C (inverse regularisation strength) must be > 0, got {C}")
    if not 0 <= loss_weight <= 1:
        raise LabelError(f"loss_weight must be in [0, 1], got {loss_weight}")
    if max_fit_rows < 2:
        raise LabelError(f"max_fit_rows must be >= 2, got {max_fit_rows}")
    z = _standardize(x)
    loss = _fit_loss(z, y, float(C), int(seed), int(max_fit_rows))
    root_h = np.sqrt(_leverage(z))
    return loss_weight * loss / max(loss.mean(), TINY) + (1 - loss_weight) * root_h / max(root_h.mean(), TINY)


def review_order(importance, labels, *, class_index: int | None = None, top: int | None = 50,
                 exclude=None) -> np.ndarray:
    """Row indices to review, most important first (ties: lower row first); optionally one class;
    rows listed in ``exclude`` (already reviewed) left out."""
    imp = np.asarray(importance, dtype=np.float64)
    if imp.ndim != 1:
        raise LabelError(f"importance must be one score per example (1-D), got shape {imp.shape}")
    if not np.isfinite(imp).all():
        bad = int(np.flatnonzero(~np.isfinite(imp))[0])
        raise LabelError(f"importance has NaN or inf at row {bad} (0-based)")
    y = v.as_labels(labels)
    v.check_same_length(len(y), len(imp), name_a="labels", name_b="importance")
    if top is not None and top < 0:
        raise LabelError(f"top must be >= 0, got {top}")
    rows = np.arange(len(y)) if class_index is None else np.flatnonzero(y == class_index)
    if exclude is not None:
        rows = rows[~np.isin(rows, np.asarray(exclude, dtype=np.int64))]
    return rows[top_indices(imp[rows], top)]


class ConfusedPairs(NamedTuple):
    """Class pairs (a < b) the model confuses, most confused first."""

    pair_a: np.ndarray
    pair_b: np.ndarray
    counts: np.ndarray  # examples labeled a predicted b, plus labeled b predicted a
    rates: np.ndarray  # counts / (examples labeled a + examples labeled b)


def confused_class_pairs(labels, pred_probs, *, top: int | None = 10) -> ConfusedPairs:
    """Off-diagonal cells of the confusion matrix (given label vs argmax), both directions summed.

    Only pairs with at least one confusion are returned, by count, then rate, then class index.
    """
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    if top is not None and top < 0:
        raise LabelError(f"top must be >= 0, got {top}")
    k = p.shape[1]
    pred = np.empty(len(y), dtype=np.int64)
    for sl in v.row_blocks(len(y)):
        pred[sl] = p[sl].argmax(axis=1)
    off = y != pred
    lo, hi = np.minimum(y[off], pred[off]), np.maximum(y[off], pred[off])
    key, counts = np.unique(lo * k + hi, return_counts=True)  # observed cells only: no K x K array
    a, b = key // k, key % k
    n_class = np.bincount(y, minlength=k)
    rates = counts / (n_class[a] + n_class[b])
    order = np.lexsort((b, a, -rates, -counts))[:top]
    return ConfusedPairs(a[order], b[order], counts[order].astype(np.int64), rates[order])
