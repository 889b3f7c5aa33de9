"""The posterior probability that each given label is correct, under a label-noise model fitted to
the data (labelcli's default ranking and, through low_posterior, its default filter; issue #16).

Model. Read pred_probs as the model's belief q(x) about the true class. A label is kept with
probability 1 - eps; otherwise it flips to another class i drawn from a mixture of three kernels:

- ``uniform``: any other class, U_i = (1 - q_i) / (K - 1) after summing over the true class;
- ``confusion``: a class the model itself finds likely for this very example: from true class j to
  i with probability q_i / (1 - q_j), so C_i = q_i * sum_{j != i} q_j / (1 - q_j);
- ``noise_matrix``: class-conditional flips by the estimated noise matrix (its off-diagonal,
  each true-class column renormalised): M_i = sum_j q_j T[i, j].

So P(label = i | x) = (1 - eps) q_i + eps (w_u U_i + w_c C_i + w_m M_i), and the score is

    P(label i is correct | x, label i) = (1 - eps) q_i / P(label = i | x).

eps and the weights are fitted by maximum likelihood of the given labels, eps in [EPS_LOW,
EPS_HIGH]: with kernel masses a_k = eps w_k the log-likelihood sum_i log(q_i + a . (K(i) - q_i)) is
concave in a, so an active-set Newton method finds the maximum in a few steps (a grid search
over (eps, w) measured the same accuracy at ~20x the time). Which kernels may be used is chosen by BIC among three nested
models: uniform alone (1 parameter), + confusion (2), + noise matrix (2 + K(K-1): the matrix is
estimated from the same labels). With uniform flips alone the score orders rows exactly as the
given-class probability (cleanlab's self_confidence); the other kernels enter only when the data
support them well enough to pay for their parameters. With K = 2 the three kernels coincide, so
binary data always gets the self-confidence order.

Exact ties of the posterior (equal given-class probabilities under uniform flips, e.g. the many
zeros of kNN or random-forest probabilities) are broken by the largest other-class probability
(more confident in another class = more suspect), through a 1e-9 share of the score.

Pure numpy, vectorised over rows (Python loops run over Newton steps, over row blocks and, with few
classes, over columns). labelcli.core.engine runs it over chunks: the noise matrix after the
confident joint, the fit on a fixed stride of rows, then the scores chunk by chunk.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The flip rate is fitted within these bounds; Newton steps stop when the step is below STEP_TOL.
EPS_LOW, EPS_HIGH = 0.01, 0.6
MAX_NEWTON_STEPS = 100
STEP_TOL = 1e-10
MULT_TOL = 1e-9
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


def uses_noise_matrix(n: int, k: int) -> bool:
    """The class-conditional kernel is offered to the fit only when there are at least as many
    rows as the K(K-1) off-diagonal cells it estimates: with fewer, its BIC penalty (K(K-1) log N
    > N log N) cannot be paid, and its K x K matrices (which need not fit in memory for 100,000
    classes) are not computed at all."""
    return k * (k - 1) <= n


def off_diagonal_columns(noise_matrix: np.ndarray) -> np.ndarray:
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


@dataclass(frozen=True, eq=False)
class KernelTerms:
    """Per-row terms of the model: q_given, U, C (None when not needed), M (None when not
    needed) and the largest other-class probability; float64 vectors."""

    qy: np.ndarray
    u: np.ndarray
    cc: np.ndarray | None
    mm: np.ndarray | None
    max_other: np.ndarray

    def take(self, rows: np.ndarray) -> "KernelTerms":
        pick = (lambda a: None if a is None else a[rows])  # noqa: E731
        return KernelTerms(self.qy[rows], self.u[rows], pick(self.cc), pick(self.mm), self.max_other[rows])


def concatenate(parts: list) -> KernelTerms:
    """The terms of several groups of rows, in the given order."""
    def cat(name):
        arrays = [getattr(x, name) for x in parts]
        return None if arrays[0] is None else np.concatenate(arrays)

    return KernelTerms(*(cat(name) for name in ("qy", "u", "cc", "mm", "max_other")))


# Up to this many classes the terms are computed column by column (like the row scan).
COLUMN_MAX_K = 64


def kernel_terms(labels: np.ndarray, pred_probs: np.ndarray, noise_matrix: np.ndarray | None = None,
                 confusion: bool = True) -> KernelTerms:
    """The kernel terms of every row. noise_matrix: [given i, true j] (None: no M); confusion=False
    leaves C out (the kernels a fitted model does not use need not be computed). Each row's terms
    depend on that row alone, computed the same way in any block, so chunked runs give the same
    bits. pred_probs may be any float dtype."""
    return kernel_terms_of_rows(labels, pred_probs, None, noise_matrix, confusion)


def kernel_terms_of_rows(labels: np.ndarray, pred_probs: np.ndarray, rows, noise_matrix=None,
                         confusion: bool = True) -> KernelTerms:
    """kernel_terms of the rows `rows` (row indices, increasing; None: every row), gathered a
    block at a time (no copy of all those rows at once)."""
    labels = np.asarray(labels)
    n = len(pred_probs) if rows is None else len(rows)
    k = pred_probs.shape[1]
    off = None if noise_matrix is None else off_diagonal_columns(noise_matrix)
    qy, mx = np.empty(n), np.empty(n)
    cc = np.empty(n) if confusion else None
    mm = None if off is None else np.empty(n)
    step = max(64, (1 << 20) // (8 * max(k, 1)))  # rows of about 1 MB of float64
    for start in range(0, n, step):
        sl = slice(start, min(n, start + step))
        if rows is None:
            block, y = pred_probs[sl], labels[sl]
        else:
            block, y = pred_probs[rows[sl]], labels[rows[sl]]
        parts = _terms_columns(block, y, off, confusion) if k <= COLUMN_MAX_K else _terms_rows(block, y, off, confusion)
        qy[sl], mx[sl] = parts[0], parts[3]
        if cc is not None:
            cc[sl] = parts[1]
        if mm is not None:
            mm[sl] = parts[2]
    return KernelTerms(qy, (1.0 - qy) / max(k - 1, 1), cc, mm, mx)


def _terms_columns(block, y, off, confusion: bool):
    """(q_given, C, M, max other) of a row block, one column at a time (few classes)."""
    b, k = block.shape
    own = np.minimum(block[np.arange(b), y].astype(np.float64), 1.0 - CLIP)
    odds = np.zeros(b) if confusion else None
    mm = np.zeros(b) if off is not None else None
    mx = np.full(b, -np.inf)
    for j in range(k):  # a loop over classes
        q = np.minimum(block[:, j].astype(np.float64), 1.0 - CLIP)
        np.maximum(mx, q, out=mx, where=y != j)
        if odds is not None:
            odds += q / (1.0 - q)
        if mm is not None:
            mm += q * off[y, j]
    cc = None if odds is None else own * (odds - own / (1.0 - own))
    return own, cc, mm, (mx if k > 1 else np.zeros(b))


def _terms_rows(block, y, off, confusion: bool):
    """(q_given, C, M, max other) of a row block with row-wise reductions (many classes)."""
    q = np.minimum(block.astype(np.float64), 1.0 - CLIP)
    rows = np.arange(len(y))
    own = q[rows, y]
    cc = mm = None
    if confusion:
        odds = q / (1.0 - q)
        cc = own * (odds.sum(axis=1) - odds[rows, y])
        del odds
    if off is not None:
        prod = off[y]
        prod *= q
        mm = prod.sum(axis=1)
        del prod
    q[rows, y] = -np.inf
    return own, cc, mm, q.max(axis=1)


def _masses_ll(masses: np.ndarray, qy: np.ndarray, diffs: np.ndarray) -> float:
    """The log-likelihood of the given labels at kernel masses a (a_k = eps * w_k)."""
    prob = qy + masses @ diffs
    if prob.min() <= 0:
        return -np.inf
    return float(np.log(prob).sum())


def _constraint_rows(active: list, d: int) -> np.ndarray:
    """The rows of the equality constraints of the active set: a_k = 0, or sum(a) at a bound."""
    rows = [np.eye(d)[con[1]] if con[0] == "zero" else np.ones(d) for con in active]
    return np.array(rows).reshape(-1, d)


def _maximize(qy: np.ndarray, diffs: np.ndarray) -> tuple[float, np.ndarray]:
    """The maximum-likelihood kernel masses a >= 0 with EPS_LOW <= sum(a) <= EPS_HIGH: the
    log-likelihood sum_i log(q_i + a . D_i) (D_ki = kernel_k(i) - q_i) is concave in a, so an
    active-set Newton method on the few masses finds the maximum; returns (log-likelihood, a)."""
    d = len(diffs)
    a = np.full(d, 0.1 / d)
    active: list = []  # ("zero", k), ("low",), ("high",): constraints held as equalities
    f = _masses_ll(a, qy, diffs)
    for _ in range(MAX_NEWTON_STEPS):
        ratio = diffs / (qy + a @ diffs)
        g, h = ratio.sum(axis=1), -(ratio @ ratio.T)
        c = _constraint_rows(active, d)
        m = len(c)
        kkt = np.block([[h, c.T], [c, np.zeros((m, m))]])
        sol = np.linalg.lstsq(kkt, np.concatenate([-g, np.zeros(m)]), rcond=None)[0]
        step, mult = sol[:d], sol[d:]
        if np.abs(step).max() < STEP_TOL:
            # at the optimum of this face: release a constraint that pulls the wrong way (its
            # multiplier says the likelihood rises into the feasible side), else done
            # (at s = 0, C'mu = -g: a lower bound holds while its mu >= 0, i.e. the likelihood
            # falls into it; the upper bound on sum(a) while its mu <= 0)
            pull = [(mu if con[0] == "high" else -mu) for con, mu in zip(active, mult)]
            if not pull or max(pull) <= MULT_TOL:
                break
            active.pop(int(np.argmax(pull)))
            continue
        t, block = 1.0, None  # the longest feasible step, and the constraint that stops it
        for k in range(d):
            if ("zero", k) not in active and step[k] < 0 and a[k] + step[k] < 0:
                if a[k] / -step[k] < t:
                    t, block = a[k] / -step[k], ("zero", k)
        total, dsum = a.sum(), step.sum()
        if dsum > 0 and ("high",) not in active and total + dsum > EPS_HIGH and (EPS_HIGH - total) / dsum < t:
            t, block = (EPS_HIGH - total) / dsum, ("high",)
        if dsum < 0 and ("low",) not in active and total + dsum < EPS_LOW and (EPS_LOW - total) / dsum < t:
            t, block = (EPS_LOW - total) / dsum, ("low",)
        while True:  # backtrack until the likelihood does not fall
            new = np.maximum(a + t * step, 0.0)
            f_new = _masses_ll(new, qy, diffs)
            if f_new >= f or t < 1e-12:
                break
            t, block = t / 2, None
        if f_new < f:
            break
        a, f = new, f_new
        if block is not None:
            active.append(block)
    return f, a


def fit_noise_model(terms: KernelTerms, n_all: int, k: int) -> NoiseModel:
    """Fit the flip rate and the kernel weights by maximum likelihood on these rows' terms; choose
    the kernels by BIC (three nested models), the log-likelihood scaled to n_all rows."""
    qy = terms.qy
    kernels = [terms.u] + ([terms.cc] if terms.cc is not None else []) + ([terms.mm] if terms.mm is not None else [])
    diffs = np.stack([kern - qy for kern in kernels])
    scale = n_all / len(qy)
    params = {0: 1, 1: 2, 2: 2 + k * (k - 1)}
    fits, bic = {}, {}
    for level in range(len(kernels)):  # uniform; + confusion; + noise matrix
        ll, masses = _maximize(qy, diffs[: level + 1])
        fits[level] = (ll * scale, masses)
        bic[KERNELS[level]] = -2.0 * ll * scale + params[level] * np.log(n_all)
    chosen = min(bic, key=bic.get)
    ll, masses = fits[KERNELS.index(chosen)]
    weights = np.zeros(3)
    weights[: len(masses)] = masses / masses.sum()
    return NoiseModel(float(masses.sum()), *map(float, weights), chosen, float(ll), bic)


def fit_rows(n: int) -> np.ndarray:
    """The rows the model is fitted on: every row, or FIT_ROWS at a deterministic stride."""
    return np.arange(n) if n <= FIT_ROWS else np.linspace(0, n - 1, FIT_ROWS).astype(np.int64)


def posterior_from_terms(model: NoiseModel, terms: KernelTerms) -> np.ndarray:
    """The score of every row from its kernel terms (lower = more likely mislabeled)."""
    e = model.flip_rate
    mix = model.uniform * terms.u
    if model.confusion > 0:
        mix = mix + model.confusion * terms.cc
    if model.noise_matrix > 0:
        mix = mix + model.noise_matrix * terms.mm
    keep = (1.0 - e) * terms.qy
    post = keep / np.maximum(keep + e * mix, 1e-300)
    return post * (1.0 - TIE_SHARE) + TIE_SHARE * (1.0 - terms.max_other)


def scoring_terms(model: NoiseModel, labels: np.ndarray, pred_probs: np.ndarray, noise_matrix) -> KernelTerms:
    """The terms of these rows that the fitted model uses (the others are left out)."""
    return kernel_terms(labels, pred_probs, noise_matrix if model.noise_matrix > 0 else None,
                        confusion=model.confusion > 0)


def posterior_scores(labels, pred_probs, noise_matrix=None) -> tuple[np.ndarray, NoiseModel]:
    """(scores, model) for validated arrays: the tie-broken posterior probability that each given
    label is correct (lower = more suspect), and the fitted NoiseModel. noise_matrix: [given i,
    true j], e.g. labelcli.estimate_noise_matrices(...).noise_matrix (None: no class-conditional
    kernel). labelcli.label_quality_scores(method="posterior") computes it from the data."""
    labels = np.asarray(labels)
    n, k = pred_probs.shape
    if not uses_noise_matrix(n, k):
        noise_matrix = None
    take = fit_rows(n)
    model = fit_noise_model(kernel_terms(labels[take], pred_probs[take], noise_matrix), n, k)
    return posterior_from_terms(model, scoring_terms(model, labels, pred_probs, noise_matrix)), model


def expected_issue_fraction(scores: np.ndarray) -> float:
    """Mean posterior probability of error (1 - score): the model's own noise-rate estimate."""
    return float(np.mean(1.0 - np.asarray(scores, dtype=np.float64)))
