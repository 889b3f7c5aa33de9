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
    terms = P.kernel_terms(y, p, t)
    qy, u, c, m, mx = terms.qy, terms.u, terms.cc, terms.mm, terms.max_other
    np.testing.assert_allclose(qy, [0.2, 0.5])
    np.testing.assert_allclose(u, [0.8 / 2, 0.5 / 2])
    # C_i = q_i * sum_{j != i} q_j / (1 - q_j)
    np.testing.assert_allclose(c, [0.2 * (0.7 / 0.3 + 0.1 / 0.9), 0.5 * (0.5 / 0.5 + 0.0)])
    # off-diagonal columns renormalised: col0 [0, .2/.2=1, 0]; col1 [.1/.3, 0, .2/.3]; col2 [0, 1, 0]
    off = np.array([[0, 1 / 3, 0], [1, 0, 1], [0, 2 / 3, 0]])
    np.testing.assert_allclose(m, [p[0] @ off[1], p[1] @ off[0]])
    np.testing.assert_allclose(mx, [0.7, 0.5])
    assert P.kernel_terms(y, p).mm is None


def test_kernels_sum_to_one_over_given_classes():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=40)
    t = rng.random((5, 5))
    for cls in range(5):
        terms = P.kernel_terms(np.full(40, cls), p, t)
        u, c, m = terms.u, terms.cc, terms.mm
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


@pytest.mark.parametrize("k", [6, 80])
def test_blocks_of_rows_and_dtypes_do_not_change_scores(k):
    """Each row's terms depend on that row alone (column by column below COLUMN_MAX_K classes,
    row by row above): scoring rows in any grouping gives the same bits."""
    y, p, _ = _planted("confusion", n=900, k=k)
    t = np.full((k, k), 0.02) + np.eye(k)
    ref, model = P.posterior_scores(y, p, t)
    parts = [P.posterior_from_terms(model, P.scoring_terms(model, y[a:b], p[a:b], t))
             for a, b in ((0, 7), (7, 400), (400, 401), (401, 900))]
    np.testing.assert_array_equal(np.concatenate(parts), ref)
    s32 = P.posterior_from_terms(model, P.scoring_terms(model, y, p.astype(np.float32), t))
    np.testing.assert_allclose(s32, ref, atol=1e-6)


def test_column_and_row_terms_agree():
    y, p, _ = _planted("confusion", n=500)
    t = np.full((6, 6), 0.03) + np.eye(6)
    off = P.off_diagonal_columns(t)
    cols = P._terms_columns(p, y, off, True)
    rows = P._terms_rows(p, y, off, True)
    for a, b in zip(cols, rows):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_rows_permute_with_the_scores():
    y, p, _ = _planted("confusion", n=700, seed=5)
    perm = np.random.default_rng(1).permutation(len(y))
    a, _ = P.posterior_scores(y, p)
    b, _ = P.posterior_scores(y[perm], p[perm])
    np.testing.assert_allclose(b, a[perm], rtol=0, atol=1e-12)


def test_fit_on_a_subset_scales_the_likelihood(monkeypatch):
    y, p, _ = _planted("confusion", n=4000, seed=2)
    full = P.fit_noise_model(P.kernel_terms(y, p), len(y), p.shape[1])
    monkeypatch.setattr(P, "FIT_ROWS", 2000)
    take = P.fit_rows(len(y))
    assert len(take) == 2000 and take[0] == 0 and take[-1] == len(y) - 1
    sub = P.fit_noise_model(P.kernel_terms(y[take], p[take]), len(y), p.shape[1])
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


def test_expected_fraction():
    s = np.array([0.5, 0.1, 0.1, 0.9])
    assert P.expected_issue_fraction(s) == pytest.approx(1 - 0.4)


def test_strided_fit_computes_only_the_kernels_it_uses(monkeypatch):
    y, p, _ = _planted("confusion", n=900, seed=4)
    t = np.full((6, 6), 0.02) + np.eye(6) * 0.88
    monkeypatch.setattr(P, "FIT_ROWS", 300)
    scores, model = P.posterior_scores(y, p, t)
    take = np.linspace(0, 899, 300).astype(np.int64)
    assert model == P.fit_noise_model(P.kernel_terms(y[take], p[take], t), 900, 6)
    used = P.scoring_terms(model, y, p, t)
    assert (used.cc is None) == (model.confusion == 0) and (used.mm is None) == (model.noise_matrix == 0)
    np.testing.assert_array_equal(scores, P.posterior_from_terms(model, used))


def test_the_default_find_label_issues_is_the_posterior_over_any_chunks():
    import labelcli
    from labelcli.core import engine

    y, p, _ = _planted("confusion", n=3000, seed=6)
    r = labelcli.find_label_issues(y, p)
    assert r.filter_by == "low_posterior" and r.rank_by == "posterior"
    t = labelcli.estimate_noise_matrices(y, p).noise_matrix
    np.testing.assert_array_equal(r.scores, P.posterior_scores(y, p, t)[0])
    np.testing.assert_array_equal(labelcli.label_quality_scores(y, p), r.scores)
    plan = engine.Plan("low_posterior", "posterior")
    for rows in (1, 499, 1200):
        got = engine.find_label_issues(y, engine.ArraySource(p), plan, engine.Run(chunk_rows=rows))
        np.testing.assert_array_equal(got.scores, r.scores)
        np.testing.assert_array_equal(got.mask, r.mask)
    # as many flagged as the adjusted confident joint counts (what low_adjusted_margin flags)
    assert r.num_issues == labelcli.find_label_issues(y, p, filter_by="low_adjusted_margin").num_issues


@pytest.mark.parametrize("kind,seed", [("uniform", 1), ("confusion", 2), ("confusion", 3)])
def test_the_fit_is_the_maximum_likelihood(kind, seed):
    """The Newton fit reaches at least the best likelihood of a fine grid over (eps, weights),
    for each of the three nested models, within the bounds on eps."""
    y, p, _ = _planted(kind, n=3000, seed=seed)
    t = np.full((6, 6), 0.02) + np.eye(6) * 0.8
    t[1, 0] = 0.3
    terms = P.kernel_terms(y, p, t)
    qy, kernels = terms.qy, (terms.u, terms.cc, terms.mm)
    diffs = np.stack([kern - qy for kern in kernels])
    grid = np.linspace(0, 1, 11)
    for level in (1, 2, 3):
        ll, masses = P._maximize(qy, diffs[:level])
        assert np.all(masses >= 0) and P.EPS_LOW - 1e-12 <= masses.sum() <= P.EPS_HIGH + 1e-12
        best = -np.inf
        for e in np.linspace(P.EPS_LOW, P.EPS_HIGH, 30):
            for w in ([(1.0,)] if level == 1 else [(a, 1 - a) for a in grid] if level == 2 else
                      [(a, b, 1 - a - b) for a in grid for b in grid if a + b <= 1 + 1e-9]):
                mix = sum(wk * kern for wk, kern in zip(w, kernels))
                best = max(best, np.log((1 - e) * qy + e * mix).sum())
        assert ll >= best - 1e-6 * abs(best), (level, ll, best)
