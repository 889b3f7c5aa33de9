"""labelcli.core.posterior: the noise-model posterior (issue #16 candidate ranking)."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli.core import posterior as P


def _self_conf(y, p):
    return p[np.arange(len(y)), y]


def test_kernel_terms_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    y = np.array([1, 0])
    t = np.array([[0.8, 0.1, 0.0], [0.2, 0.7, 0.5], [0.0, 0.2, 0.5]])  # [given, true]
    qy, u, c, m, mx = P.kernel_terms(y, p, t)
    np.testing.assert_allclose(qy, [0.2, 0.5])
    np.testing.assert_allclose(u, [0.8 / 2, 0.5 / 2])
    # C_i = q_i * sum_{j != i} q_j / (1 - q_j)
    np.testing.assert_allclose(c, [0.2 * (0.7 / 0.3 + 0.1 / 0.9), 0.5 * (0.5 / 0.5 + 0.0)])
    # off-diagonal columns renormalised: col0 [0, .2/.2=1, 0]; col1 [.1/.3, 0, .2/.3]; col2 [0, 1, 0]
    off = np.array([[0, 1 / 3, 0], [1, 0, 1], [0, 2 / 3, 0]])
    np.testing.assert_allclose(m, [p[0] @ off[1], p[1] @ off[0]])
    np.testing.assert_allclose(mx, [0.7, 0.5])
    assert P.kernel_terms(y, p)[3] is None


def test_kernels_sum_to_one_over_given_classes():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=40)
    t = rng.random((5, 5))
    for cls in range(5):
        _, u, c, m, _ = P.kernel_terms(np.full(40, cls), p, t)
        if cls == 0:
            tot = [u.copy(), c.copy(), m.copy()]
        else:
            tot[0] += u
            tot[1] += c
            tot[2] += m
    for x in tot:  # a distribution over the given class for every row (C up to the 1 - q cap)
        np.testing.assert_allclose(x, 1.0, atol=1e-3)


def _planted(kind, n=6000, k=6, rate=0.2, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(k, 0.3), size=n)
    true = np.array([rng.choice(k, p=row) for row in p])
    y = true.copy()
    flip = rng.random(n) < rate
    if kind == "uniform":
        y[flip] = (true[flip] + rng.integers(1, k, flip.sum())) % k
    else:  # to the class the model finds next most likely
        other = p.copy()
        other[np.arange(n), true] = -1
        y[flip] = other[flip].argmax(axis=1)
    return y, p, y != true


def _ap(scores, truth):
    hits = truth[np.argsort(scores, kind="stable")]
    return float(np.mean(np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)))


def test_uniform_noise_keeps_the_self_confidence_order():
    y, p, truth = _planted("uniform")
    scores, model = P.posterior_scores(y, p)
    assert model.kernels == "uniform"
    assert np.array_equal(np.argsort(scores, kind="stable"), np.argsort(-(-_self_conf(y, p)), kind="stable"))


def test_confusion_noise_is_detected_and_ranks_better():
    y, p, truth = _planted("confusion")
    scores, model = P.posterior_scores(y, p)
    assert model.kernels != "uniform" and model.confusion > 0.5
    assert 0.1 <= model.flip_rate <= 0.3
    assert _ap(scores, truth) > _ap(_self_conf(y, p), truth) + 0.05


def test_binary_data_always_orders_by_self_confidence():
    rng = np.random.default_rng(3)
    q = rng.random(500)
    p = np.stack([1 - q, q], axis=1)
    y = (rng.random(500) < 0.5).astype(np.int64)
    scores, model = P.posterior_scores(y, p, np.array([[0.9, 0.2], [0.1, 0.8]]))
    assert model.kernels == "uniform"  # the three kernels coincide: BIC keeps the smallest
    assert np.array_equal(np.argsort(scores, kind="stable"), np.argsort(_self_conf(y, p), kind="stable"))


def test_ties_break_toward_a_confident_other_class():
    p = np.array([[0.0, 0.9, 0.1], [0.0, 0.5, 0.5], [0.0, 0.2, 0.8], [1.0, 0.0, 0.0]])
    y = np.array([0, 0, 0, 0])
    scores, _ = P.posterior_scores(y, p)
    assert list(np.argsort(scores, kind="stable")[:3]) == [0, 2, 1]
    assert np.all((scores >= 0) & (scores <= 1))


def test_row_blocks_and_dtypes_do_not_change_scores(monkeypatch):
    y, p, _ = _planted("confusion", n=900)
    ref, model = P.posterior_scores(y, p)
    monkeypatch.setattr(P, "_ROW_BLOCK_VALUES", 50)
    np.testing.assert_array_equal(P.posterior_scores(y, p)[0], ref)
    s32, _ = P.posterior_scores(y, p.astype(np.float32), model=model)
    np.testing.assert_allclose(s32, ref, atol=1e-6)


def test_rows_permute_with_the_scores():
    y, p, _ = _planted("confusion", n=700, seed=5)
    perm = np.random.default_rng(1).permutation(len(y))
    a, _ = P.posterior_scores(y, p)
    b, _ = P.posterior_scores(y[perm], p[perm])
    np.testing.assert_allclose(b, a[perm], rtol=0, atol=1e-12)


def test_fit_on_a_subset_scales_the_likelihood(monkeypatch):
    y, p, _ = _planted("confusion", n=4000, seed=2)
    full = P.fit_noise_model(y, p)
    monkeypatch.setattr(P, "FIT_ROWS", 2000)
    sub = P.fit_noise_model(y, p)
    assert sub.kernels == full.kernels
    assert sub.log_likelihood == pytest.approx(full.log_likelihood, rel=0.05)


def test_noise_matrix_kernel_needs_support():
    # class-conditional noise: class 0 -> 1 and 2 -> 3 only; the matrix kernel should be chosen
    rng = np.random.default_rng(7)
    n, k = 20000, 4
    true = rng.integers(0, k, n)
    p = np.full((n, k), 0.02)
    p[np.arange(n), true] = 0.94
    y = true.copy()
    flip = (rng.random(n) < 0.3) & np.isin(true, [0, 2])
    y[flip] = true[flip] + 1
    t = np.eye(k)
    t[1, 0] = t[3, 2] = 0.3
    t[0, 0] = t[2, 2] = 0.7
    scores, model = P.posterior_scores(y, p, t)
    assert model.kernels == "uniform+confusion+noise_matrix" and model.noise_matrix > 0.5
    assert set(model.bic) == set(P.KERNELS)


def test_lowest_and_expected_fraction():
    s = np.array([0.5, 0.1, 0.1, 0.9])
    assert list(P.lowest(s, 2)) == [False, True, True, False]
    assert list(P.lowest(s, 1)) == [False, True, False, False]  # ties to the earlier row
    assert P.lowest(s, 0).sum() == 0 and P.lowest(s, 10).all()
    assert P.expected_issue_fraction(s) == pytest.approx(1 - 0.4)


def test_strided_fit_computes_only_the_kernels_it_uses(monkeypatch):
    y, p, _ = _planted("confusion", n=900, seed=4)
    t = np.full((6, 6), 0.02) + np.eye(6) * 0.88
    monkeypatch.setattr(P, "FIT_ROWS", 300)
    scores, model = P.posterior_scores(y, p, t)
    every = P.kernel_terms(y, p, t)
    np.testing.assert_array_equal(scores, P.posterior_from_terms(model, *every))
    take = np.linspace(0, 899, 300).astype(np.int64)
    assert model == P.fit_noise_model(y, p, t, terms=every)
    assert model.flip_rate == P.fit_noise_model(y[take], p[take], t).flip_rate
