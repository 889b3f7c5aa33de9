"""The posterior probability that each given label is correct, under a label-noise model fitted to
the data (issue #16's candidate default ranking).

Model. Read pred_probs as the model's belief q(x) about the true class. A label is kept with
probability 1 - eps; otherwise it flips to another class i drawn from a mixture of three kernels:

- ``uniform``: any other class, U_i = (1 - q_i) / (K - 1) after summing over the true class;
- ``confusion``: a class the model itself finds likely for this very example: from true class j to
  i with probability q_i / (1 - q_j), so C_i = q_i * sum_{j != i} q_j / (1 - q_j);
- ``noise_matrix``: class-conditional flips by the estimated noise matrix (its off-diagonal,
  each true-class column renormalised): M_i = sum_j q_j T[i, j].

So P(label = i | x) = (1 - eps) q_i + eps (w_u U_i + w_c C_i + w_m M_i), and the score is

    P(label i is correct | x, label i) = (1 - eps) q_i / P(label = i | x).

eps and the weights are fitted by maximum likelihood of the given labels on a grid (EPS_GRID x a
simplex of step WEIGHT_STEP). Which kernels may be used is chosen by BIC among three nested
models: uniform alone (1 parameter), + confusion (2), + noise matrix (2 + K(K-1): the matrix is
estimated from the same labels). With uniform flips alone the score orders rows exactly as the
given-class probability (cleanlab's self_confidence); the other kernels enter only when the data
support them well enough to pay for their parameters. With K = 2 the three kernels coincide, so
binary data always gets the self-confidence order.

Exact ties of the posterior (equal given-class probabilities under uniform flips, e.g. the many
zeros of kNN or random-forest probabilities) are broken by the largest other-class probability
(more confident in another class = more suspect), through a 1e-9 share of the score.

Pure numpy, vectorised over rows (Python loops run over the grid and over row blocks only).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EPS_GRID = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)
WEIGHT_STEP = 0.1
# Probabilities are capped at 1 - CLIP so that q / (1 - q) stays finite.
CLIP = 1e-4
# The model is fitted on at most this many rows (a deterministic stride); their log-likelihood is
# scaled to all rows for BIC, so the choice of kernels matches a fit on every row in expectation.
FIT_ROWS = 50_000
TIE_SHARE = 1e-9
KERNELS = ("uniform", "uniform+confusion", "uniform+confusion+noise_matrix")
_ROW_BLOCK_VALUES = 1 << 22  # values of pred_probs converted to float64 at a time


@dataclass(frozen=True)
class NoiseModel:
    """A fitted label-noise model (see the module docstring)."""

    flip_rate: float  # eps: the fitted probability that a label was flipped
    uniform: float  # kernel weights (sum to 1)
    confusion: float
    noise_matrix: float
    kernels: str  # the model BIC chose, one of KERNELS
    log_likelihood: float  # of the given labels (scaled to all rows when fitted on a subset)
    bic: dict = field(default_factory=dict)  # model -> BIC


def _blocks(n: int, k: int):
    step = max(1, _ROW_BLOCK_VALUES // max(k, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _off_diagonal_columns(noise_matrix: np.ndarray) -> np.ndarray:
    """The noise matrix [given i, true j] without its diagonal, each column summing to 1 (a column
    without off-diagonal mass gets uniform flips)."""
    t = np.array(noise_matrix, dtype=np.float64)
    k = len(t)
    np.fill_diagonal(t, 0.0)
    sums = t.sum(axis=0)
    empty = sums <= 0
    if empty.any():
        t[:, empty] = 1.0 / max(k - 1, 1)
        t[np.arange(k)[empty], np.arange(k)[empty]] = 0.0
        sums = t.sum(axis=0)
    return t / sums


def kernel_terms(labels: np.ndarray, pred_probs: np.ndarray, noise_matrix: np.ndarray | None = None,
                 confusion: bool = True):
    """Per-row (q_given, U, C, M, max other class probability), float64 vectors of length N.

    M is None when no noise matrix is given, C when confusion=False (the kernels a fitted model
    does not use need not be computed). pred_probs may be any float dtype."""
    labels = np.asarray(labels)
    n, k = pred_probs.shape
    off = None if noise_matrix is None else _off_diagonal_columns(noise_matrix)
    qy, mx = np.empty(n), np.empty(n)
    cc = np.empty(n) if confusion else None
    mm = None if off is None else np.empty(n)
    for sl in _blocks(n, k):
        q = np.minimum(pred_probs[sl].astype(np.float64), 1.0 - CLIP)
        y = labels[sl]
        rows = np.arange(len(y))
        own = q[rows, y]
        if confusion:
            odds = q / (1.0 - q)
            cc[sl] = own * (odds.sum(axis=1) - odds[rows, y])
            del odds
        if off is not None:
            mm[sl] = np.einsum("nj,nj->n", q, off[y])
        q[rows, y] = -np.inf
        mx[sl] = q.max(axis=1) if k > 1 else 0.0
        qy[sl] = own
    u = (1.0 - qy) / max(k - 1, 1)
    return qy, u, cc, mm, mx


def _weights(step: float):
    m = int(round(1.0 / step))
    for i in range(m + 1):
        for j in range(m + 1 - i):
            yield round(i * step, 10), round(j * step, 10), round(1.0 - (i + j) * step, 10)


def _fit(qy, u, cc, mm, n_all: int, k: int) -> NoiseModel:
    scale = n_all / len(qy)
    eps = np.asarray(EPS_GRID)[:, None]
    best: dict[int, tuple] = {}
    for wu, wc, wm in _weights(WEIGHT_STEP):
        if wm > 0 and mm is None:
            continue
        level = 2 if wm > 0 else 1 if wc > 0 else 0
        if level == 0 and wu != 1.0:
            continue
        mix = wu * u + wc * cc + (wm * mm if wm > 0 else 0.0)
        ll = np.log(np.maximum((1.0 - eps) * qy + eps * mix, 1e-300)).sum(axis=1) * scale
        i = int(np.argmax(ll))
        if level not in best or ll[i] > best[level][0]:
            best[level] = (float(ll[i]), float(EPS_GRID[i]), (wu, wc, wm))
    params = {0: 1, 1: 2, 2: 2 + k * (k - 1)}
    bic = {KERNELS[lv]: -2.0 * best[lv][0] + params[lv] * np.log(n_all) for lv in best}
    chosen = min(bic, key=bic.get)
    ll, e, (wu, wc, wm) = best[KERNELS.index(chosen)]
    return NoiseModel(e, wu, wc, wm, chosen, ll, bic)


def _fit_rows(n: int) -> np.ndarray | None:
    """The rows the model is fitted on: all (None), or FIT_ROWS at a deterministic stride."""
    return None if n <= FIT_ROWS else np.linspace(0, n - 1, FIT_ROWS).astype(np.int64)


def fit_noise_model(labels, pred_probs, noise_matrix=None, *, terms=None) -> NoiseModel:
    """Fit eps and the kernel weights by maximum likelihood; choose the kernels by BIC.

    noise_matrix: [given i, true j] (e.g. labelcli.estimate_noise_matrices(...).noise_matrix);
    None leaves the class-conditional kernel out. terms: kernel_terms(...) of every row when
    already computed (otherwise only the fitted rows' terms are computed).
    """
    n, k = pred_probs.shape
    take = _fit_rows(n)
    if terms is None:
        labels = np.asarray(labels)
        sub = (labels, pred_probs) if take is None else (labels[take], pred_probs[take])
        qy, u, cc, mm, _ = kernel_terms(*sub, noise_matrix)
    else:
        qy, u, cc, mm, _ = terms
        if take is not None:
            qy, u, cc = qy[take], u[take], cc[take]
            mm = None if mm is None else mm[take]
    return _fit(qy, u, cc, mm, n, k)


def posterior_from_terms(model: NoiseModel, qy, u, cc, mm, max_other) -> np.ndarray:
    """The score of every row from its kernel terms (lower = more likely mislabeled)."""
    e = model.flip_rate
    mix = model.uniform * u
    if model.confusion > 0:
        mix = mix + model.confusion * cc
    if model.noise_matrix > 0:
        mix = mix + model.noise_matrix * mm
    keep = (1.0 - e) * qy
    post = keep / np.maximum(keep + e * mix, 1e-300)
    return post * (1.0 - TIE_SHARE) + TIE_SHARE * (1.0 - max_other)


def posterior_scores(labels, pred_probs, noise_matrix=None, *, model: NoiseModel | None = None):
    """(scores, model): the tie-broken posterior probability that each given label is correct
    (lower = more suspect), and the fitted NoiseModel. Inputs are assumed validated (labels
    0..K-1 ints, pred_probs N x K rows summing to 1)."""
    n = len(pred_probs)
    if model is None and _fit_rows(n) is None:  # one pass computes every kernel for fit and scores
        terms = kernel_terms(labels, pred_probs, noise_matrix)
        model = fit_noise_model(labels, pred_probs, noise_matrix, terms=terms)
        return posterior_from_terms(model, *terms), model
    if model is None:  # fitted on a stride of rows; then only the kernels the model uses, on all
        model = fit_noise_model(labels, pred_probs, noise_matrix)
    terms = kernel_terms(labels, pred_probs, noise_matrix if model.noise_matrix > 0 else None,
                         confusion=model.confusion > 0)
    return posterior_from_terms(model, *terms), model


def expected_issue_fraction(scores: np.ndarray) -> float:
    """Mean posterior probability of error (1 - score): the model's own noise-rate estimate."""
    return float(np.mean(1.0 - np.asarray(scores, dtype=np.float64)))


def lowest(scores: np.ndarray, num: int) -> np.ndarray:
    """Boolean mask of the num lowest scores (ties to the earlier row): the low_posterior filter."""
    scores = np.asarray(scores)
    mask = np.zeros(len(scores), dtype=bool)
    num = int(max(0, min(num, len(scores))))
    if num:
        mask[np.argsort(scores, kind="stable")[:num]] = True
    return mask
