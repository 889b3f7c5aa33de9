"""Coreset importance, review order and confused class pairs."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import confusion_matrix

from labelcli.core.coreset import _leverage, confused_class_pairs, importance_scores, review_order
from labelcli.errors import LabelError


@pytest.fixture(scope="module")
def digits_noisy():
    """Digits with 10% of class 3 relabeled (seeded); returns features, noisy labels, flipped rows."""
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    in_class = np.flatnonzero(y == 3)
    flipped = rng.choice(in_class, int(0.1 * len(in_class)), replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, 10, len(flipped))) % 10
    return x, noisy, flipped


def test_planted_errors_rise_to_the_top(digits_noisy):
    x, noisy, flipped = digits_noisy
    imp = importance_scores(x, noisy, 10)
    top = review_order(imp, noisy, top=50)
    expected_at_random = 50 * len(flipped) / len(noisy)  # 0.50 of the 18 planted errors
    ratio = np.isin(flipped, top).sum() / expected_at_random
    assert ratio > 1.5  # measured: 16 of 18 in the top 50, ratio 32
    assert ratio > 20


def test_importance_is_a_normalised_mix(digits_noisy):
    x, noisy, _ = digits_noisy
    imp = importance_scores(x, noisy, 10)
    assert imp.shape == (len(x),) and (imp >= 0).all()
    assert imp.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(imp, importance_scores(x, noisy, 10))  # deterministic
    loss_only = importance_scores(x, noisy, 10, loss_weight=1.0)
    lev_only = importance_scores(x, noisy, 10, loss_weight=0.0)
    np.testing.assert_allclose(imp, 0.5 * loss_only + 0.5 * lev_only)
    assert np.corrcoef(imp, loss_only)[0, 1] > np.corrcoef(imp, lev_only)[0, 1]


def test_subsampled_fit_still_finds_errors(digits_noisy):
    x, noisy, flipped = digits_noisy
    imp = importance_scores(x, noisy, 10, max_fit_rows=600, seed=1)
    assert np.isin(flipped, review_order(imp, noisy, top=50)).sum() >= 8


def test_leverage_is_the_hat_matrix_diagonal():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((40, 4))
    z[:, 3] = 2 * z[:, 0]  # collinear column: pseudo-inverse
    design = np.hstack([z, np.ones((40, 1))])
    hat = design @ np.linalg.pinv(design)
    np.testing.assert_allclose(_leverage(z), np.diag(hat), atol=1e-10)
    assert _leverage(z).sum() == pytest.approx(4.0)  # rank of [z, 1]


def test_constant_columns_are_harmless():
    x, y = load_digits(return_X_y=True)
    x, y = x[:300], y[:300]
    assert (x[:, 0] == 0).all()  # digits' first pixel is always blank
    imp = importance_scores(x, y, 10)
    assert np.isfinite(imp).all()


def test_review_order_ranks_and_filters():
    imp = np.array([0.5, 3.0, 1.0, 3.0, 2.0, 0.1])
    y = np.array([0, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(review_order(imp, y, top=None), [1, 3, 4, 2, 0, 5])  # ties: lower row
    np.testing.assert_array_equal(review_order(imp, y, top=3), [1, 3, 4])
    np.testing.assert_array_equal(review_order(imp, y, class_index=0, top=2), [3, 0])
    assert len(review_order(imp, y, class_index=7)) == 0
    with pytest.raises(LabelError, match="importance has 5 rows but labels has 6"):
        review_order(imp[:5], y)
    with pytest.raises(LabelError, match="NaN or inf at row 2"):
        review_order(np.where(np.arange(6) == 2, np.nan, imp), y)


def test_confused_pairs_match_the_confusion_matrix():
    rng = np.random.default_rng(5)
    k = 6
    y = rng.integers(0, k, 500)
    p = rng.dirichlet(np.ones(k), 500)
    p[np.arange(500), y] += 0.15 * rng.random(500)
    p /= p.sum(axis=1, keepdims=True)
    a, b, counts, rates = confused_class_pairs(y, p, top=None)
    cm = confusion_matrix(y, p.argmax(axis=1), labels=range(k))
    n = np.bincount(y, minlength=k)
    expected = sorted(
        ((-(cm[i, j] + cm[j, i]), -(cm[i, j] + cm[j, i]) / (n[i] + n[j]), i, j)
         for i in range(k) for j in range(i + 1, k) if cm[i, j] + cm[j, i] > 0)
    )
    assert [(int(i), int(j)) for i, j in zip(a, b)] == [(i, j) for _, _, i, j in expected]
    np.testing.assert_array_equal(counts, [-c for c, _, _, _ in expected])
    np.testing.assert_allclose(rates, [-r for _, r, _, _ in expected])
    top = confused_class_pairs(y, p, top=3)
    np.testing.assert_array_equal(top.pair_a, a[:3])
    assert len(confused_class_pairs(y, np.eye(k)[y])[0]) == 0  # a perfect model confuses nothing


@pytest.mark.parametrize(
    "features, labels, kwargs, fragment",
    [
        (np.ones((10, 3)), np.arange(9) % 2, {}, "labels has 9 rows but emb.npy has 10"),
        (np.ones((10, 3)), np.zeros(10, dtype=int), {}, "at least 2 classes"),
        (np.where(np.eye(10, 3) == 1, np.nan, 1.0), np.arange(10) % 2, {}, "NaN at row 0"),
        (np.ones((10, 3)), np.arange(10) % 2, {"C": 0}, "C (inverse regularisation strength)"),
        (np.ones((10, 3)), np.arange(10) % 3, {}, "outside 0..1"),
    ],
)
def test_bad_inputs(features, labels, kwargs, fragment):
    with pytest.raises(LabelError) as err:
        importance_scores(features, labels, 2, name="emb.npy", **kwargs)
    assert fragment in str(err.value)
