"""Ensemble CROWDLAB (labelcli.core.consensus with several models) and the active learning
scores (labelcli.core.consensus_active): definitions, invariants and refusals."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from labelcli.core import consensus_active
from labelcli.core.consensus import consensus
from labelcli.core.consensus_active import (
    active_learning_scores, best_temperature, fine_temperatures, label_shares, temperature_scale,
)
from labelcli.errors import LabelError


def crowd(seed: int, n: int = 120, m: int = 5, k: int = 4):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    mat = np.where(rng.random((n, m)) < 0.75, truth[:, None], rng.integers(0, k, (n, m)))
    mat[rng.random((n, m)) < 0.5] = -1
    mat[np.arange(n), rng.integers(0, m, n)] = truth
    mat[0] = truth[0]
    good = 0.4 * rng.dirichlet(np.ones(k), n)
    good[np.arange(n), truth] += 0.6
    return mat, truth, good, rng


def test_doctests():
    assert doctest.testmod(consensus_active).failed == 0


def test_one_model_as_a_list_or_3d_is_the_same_result_bit_for_bit():
    mat, _, pp, _ = crowd(0)
    a, b, c = consensus(mat, pp), consensus(mat, [pp]), consensus(mat, pp[None])
    for other in (b, c):
        assert np.array_equal(a.quality, other.quality) and np.array_equal(a.posterior, other.posterior)
        assert np.array_equal(a.annotator_quality, other.annotator_quality) and a.model_weight == other.model_weight
    assert a.model_weights is None


def test_a_random_model_gets_the_smaller_weight_and_the_posterior_is_the_weighted_mix():
    mat, truth, pp, rng = crowd(1)
    noise = rng.dirichlet(np.ones(4), len(pp))
    res = consensus(mat, [pp, noise])
    assert res.model_weights[0] > res.model_weights[1] and res.model_weight == pytest.approx(res.model_weights.mean())
    # the posterior by its definition: models and annotators averaged with their weights
    labels = res.labels
    labeled = mat != -1
    likely = np.mean(res.agreement[labeled.sum(axis=1) > 1])
    unlikely = (1 - likely) / 3
    i = 7
    terms = [pp[i], noise[i]] + [np.where(np.arange(4) == mat[i, j], likely, unlikely) for j in np.flatnonzero(labeled[i])]
    weights = np.concatenate([res.model_weights, res.annotator_weight[labeled[i]]])
    np.testing.assert_allclose(res.posterior[i], np.average(terms, axis=0, weights=weights), atol=1e-12)
    assert np.mean(labels == truth) >= np.mean(consensus(mat, noise).labels == truth)


def test_models_of_different_shapes_are_refused():
    mat, _, pp, _ = crowd(2)
    with pytest.raises(LabelError, match="same shape"):
        consensus(mat, [pp, pp[:, :3]])
    with pytest.raises(LabelError, match="one row per example"):
        consensus(mat, [pp[:10], pp[:10]])
    bad = pp.copy()
    bad[5, 1] = np.nan
    with pytest.raises(LabelError, match=r"model 1, row 5"):
        consensus(mat, [pp, bad])


def test_temperature_scale():
    p = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    np.testing.assert_allclose(temperature_scale(p, 1.0), p, atol=1e-12)
    sharp, flat = temperature_scale(p, 0.5), temperature_scale(p, 3.0)
    np.testing.assert_allclose(sharp.sum(axis=1), 1.0)
    assert sharp[0, 0] > p[0, 0] > flat[0, 0]


def test_fine_grid_brackets_the_best_coarse_temperature():
    assert fine_temperatures(0).tolist() == pytest.approx([0.1, 0.125, 0.15, 0.175, 0.2])
    assert fine_temperatures(8).tolist() == pytest.approx([5, 5.75, 6.5, 7.25])
    assert len(fine_temperatures(4)) == 9


def test_label_shares_true_and_cleanlabs():
    mat = np.array([[2, 2, 0], [1, -1, -1], [0, 1, 2]])
    np.testing.assert_allclose(label_shares(mat, 3), [[1 / 3, 0, 2 / 3], [0, 1, 0], [1 / 3, 1 / 3, 1 / 3]])
    # cleanlab 2.9 puts the counts of the classes present on the first classes
    np.testing.assert_allclose(label_shares(mat, 3, compat="cleanlab"), [[1 / 3, 2 / 3, 0], [1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])


def test_overconfident_model_is_cooled_and_a_timid_one_sharpened():
    mat, truth, _, rng = crowd(3)
    n = len(truth)
    onehot = np.eye(4)[rng.integers(0, 4, n)] * 0.97 + 0.01  # confident and often wrong
    assert best_temperature(mat, onehot) > 1
    timid = np.full((n, 4), 0.2)
    timid[np.arange(n), truth] = 0.4  # right but shy
    assert best_temperature(mat, timid) < 1


def test_more_agreeing_labels_raise_the_score_and_unsure_unlabeled_rows_come_first():
    mat, truth, pp, _ = crowd(4)
    al = active_learning_scores(mat, pp, pp[:20])
    assert al.scores.shape == (len(mat),) and ((al.scores > 0) & (al.scores < 1)).all()
    n_agree = (mat == truth[:, None]).sum(axis=1)
    assert al.scores[n_agree >= 3].mean() > al.scores[n_agree == 1].mean()
    sure = np.tile([0.97, 0.01, 0.01, 0.01], (2, 1))
    unsure = np.tile([0.3, 0.3, 0.2, 0.2], (2, 1))
    new = active_learning_scores(mat, pp, np.vstack([sure, unsure])).unlabeled_scores
    assert new[2:].max() < new[:2].min()


def test_one_annotation_each_needs_no_agreement():
    _, truth, pp, _ = crowd(5)
    al = active_learning_scores(truth[:, None], pp)
    # no weights to learn: all ones, no temperature; the score mixes P[label] with 1/K
    np.testing.assert_allclose(al.scores, (pp[np.arange(len(truth)), truth] * 2 + 0.25) / 3)
    assert al.temperature.tolist() == [1.0]


def test_ensemble_of_one_model_scores_as_the_model():
    mat, _, pp, _ = crowd(6)
    a = active_learning_scores(mat, pp, pp[:30])
    b = active_learning_scores(mat, [pp], pp[None, :30])
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-12)
    np.testing.assert_allclose(a.unlabeled_scores, b.unlabeled_scores, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_invariant_to_the_order_of_examples(seed):
    mat, _, pp, rng = crowd(10 + seed)
    rows = rng.permutation(len(mat))
    a = active_learning_scores(mat, pp, pp[:25])
    b = active_learning_scores(mat[rows], pp[rows], pp[:25][::-1])
    np.testing.assert_allclose(a.scores[rows], b.scores, atol=1e-12)
    np.testing.assert_allclose(a.unlabeled_scores[::-1], b.unlabeled_scores, atol=1e-12)


def test_refusals():
    mat, _, pp, _ = crowd(7)
    with pytest.raises(LabelError, match="needs pred_probs"):
        active_learning_scores(mat)
    with pytest.raises(LabelError, match="need their annotations"):
        active_learning_scores(None, pp)
    with pytest.raises(LabelError, match="3 columns but there are 4 classes"):
        active_learning_scores(mat, pp, pp[:, :3])
    with pytest.raises(LabelError, match="from 2 models but"):
        active_learning_scores(mat, pp, [pp[:5], pp[:5]])
    with pytest.raises(LabelError, match="compat"):
        active_learning_scores(mat, pp, compat="sklearn")
    with pytest.raises(LabelError, match="NaN"):
        active_learning_scores(mat, pp, np.full((2, 4), np.nan))


def test_public_api():
    import labelcli

    assert labelcli.active_learning_scores is active_learning_scores and "ActiveLearning" in dir(labelcli)
