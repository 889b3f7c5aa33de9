"""labelcli.core.consensus on small hand-checked problems: majority vote and its ties, missing
values, CROWDLAB's posterior against its formula written out per example, worst classes, errors."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli.core.consensus import (
    check_annotations, consensus, crowdlab_posterior, majority_vote, vote_counts, worst_classes,
)
from labelcli.errors import LabelError

NAN = np.nan


def test_majority_vote_plain_and_missing():
    mat = np.array([[0, 0, 1], [2, -1, 2], [-1, 1, -1]])
    assert majority_vote(mat, 3).tolist() == [0, 2, 1]


def test_nan_and_minus_one_are_the_same_missing_value():
    a = np.array([[0, NAN, 1], [1, 1, NAN], [2, 2, 0]])
    b = np.array([[0, -1, 1], [1, 1, -1], [2, 2, 0]])
    ra, rb = consensus(a), consensus(b)
    assert ra.labels.tolist() == rb.labels.tolist() == [0, 1, 2]
    assert ra.num_annotations.tolist() == [2, 2, 3]
    np.testing.assert_allclose(ra.agreement, [0.5, 1.0, 2 / 3])


def test_tie_goes_to_the_larger_pred_prob_first():
    mat = np.array([[0, 1], [0, 0]])
    pp = np.array([[0.3, 0.7], [0.9, 0.1]])
    assert majority_vote(mat, 2, pp).tolist() == [1, 0]


def test_tie_without_pred_probs_goes_to_the_rarer_class():
    # class 1 is given 4 times overall, class 0 twice: the 0/1 tie of row 0 goes to 0
    mat = np.array([[0, 1, -1], [1, 1, 1], [0, -1, -1]])
    assert majority_vote(mat, 2).tolist() == [0, 1, 0]


def test_tie_then_annotator_agreement_then_lowest_index():
    # Classes 0 and 1 equally frequent overall. Row 2 ties 0 (annotator a) against 1 (annotator b);
    # a agrees with the untied majority (rows 0, 1), b does not: 0 wins.
    mat = np.array([[0, 1, 0], [1, 0, 1], [0, 1, -1]])
    assert majority_vote(mat, 2).tolist() == [0, 1, 0]
    # a perfectly symmetric tie: the lowest class index (cleanlab picks at random)
    sym = np.array([[0, 1], [1, 0]])
    assert majority_vote(sym, 2).tolist() == [0, 0]


def test_vote_counts_with_weights():
    mat = np.array([[0, 1, 1], [2, -1, 0]])
    np.testing.assert_array_equal(vote_counts(mat, 3), [[1, 2, 0], [1, 0, 1]])
    np.testing.assert_allclose(vote_counts(mat, 3, [0.5, 2.0, 3.0]), [[0.5, 5.0, 0], [3.0, 0, 0.5]])


def _posterior_by_hand(mat, pp, labels):
    """CROWDLAB's posterior written out example by example (the definition, slow)."""
    n, m = mat.shape
    k = pp.shape[1]
    n_ann = (mat >= 0).sum(axis=1)
    agree = np.array([np.mean([mat[i, j] == labels[i] for j in range(m) if mat[i, j] >= 0]) for i in range(n)])
    multi = n_ann > 1
    likely = agree[multi].mean()
    unlikely = (1 - likely) / (k - 1)
    mode = np.bincount(labels[multi], minlength=k).argmax()
    base_err = max(np.mean(labels[multi] != mode), 1e-6)
    others = []
    for j in range(m):
        num = den = 0.0
        for i in range(n):
            if mat[i, j] >= 0 and n_ann[i] > 1:
                num += sum(mat[i, o] == mat[i, j] for o in range(m) if o != j and mat[i, o] >= 0)
                den += n_ann[i] - 1
        others.append(num / den)
    w = np.clip(1 - (1 - np.array(others)) / base_err, 1e-6, None)
    mw = max(1 - np.mean(pp[multi].argmax(axis=1) != labels[multi]) / base_err, 1e-6) * np.sqrt(n_ann.mean())
    post = np.zeros_like(pp)
    for i in range(n):
        for c in range(k):
            tot = mw * pp[i, c]
            wsum = mw
            for j in range(m):
                if mat[i, j] >= 0:
                    tot += w[j] * (likely if mat[i, j] == c else unlikely)
                    wsum += w[j]
            post[i, c] = tot / wsum
    return post, mw, w


def test_crowdlab_posterior_matches_its_definition():
    rng = np.random.default_rng(3)
    n, m, k = 40, 4, 3
    truth = rng.integers(0, k, n)
    mat = np.where(rng.random((n, m)) < 0.75, truth[:, None], rng.integers(0, k, (n, m)))
    mat[rng.random((n, m)) < 0.3] = -1
    mat[:, 0] = truth
    pp = rng.dirichlet(np.ones(k), n)
    labels = majority_vote(mat, k, pp)
    got = crowdlab_posterior(mat, pp, labels)
    post, mw, w = _posterior_by_hand(mat, pp, labels)
    np.testing.assert_allclose(got.posterior, post, atol=1e-12)
    assert got.model_weight == pytest.approx(mw)
    np.testing.assert_allclose(got.annotator_weight, w)
    np.testing.assert_allclose(got.posterior.sum(axis=1), 1.0)


def test_consensus_follows_a_confident_model_over_a_weak_vote():
    # Two unreliable annotators split; the model is sure: the consensus is the model's class.
    rng = np.random.default_rng(0)
    n, k = 200, 3
    truth = rng.integers(0, k, n)
    good = truth.copy()
    noisy = np.where(rng.random(n) < 0.5, truth, (truth + 1) % k)
    mat = np.stack([good, noisy, good], axis=1)
    mat[:100, 2] = -1
    pp = np.full((n, k), 0.05)
    pp[np.arange(n), truth] = 0.9
    res = consensus(mat, pp)
    assert res.method == "crowdlab"
    assert np.mean(res.labels == truth) == 1.0
    assert res.annotator_quality[1] < min(res.annotator_quality[0], res.annotator_quality[2])
    assert ((res.quality > 0) & (res.quality <= 1)).all()


def test_worst_class():
    # annotator 0 is always right on class 0, wrong half the time on class 1
    mat = np.array([[0, 0], [1, 1], [1, 0], [0, 0]])
    labels = np.array([0, 1, 0, 0])
    assert worst_classes(mat, labels, np.ones(4), 2).tolist() == [1, 0]


def test_without_pred_probs_agreement_scores():
    mat = np.array([[0, 0, 1], [1, 1, 1], [2, 2, -1], [0, -1, -1]])
    res = consensus(mat)
    assert res.method == "majority_vote" and res.posterior is None
    np.testing.assert_allclose(res.quality, res.agreement)
    # annotator 2 disagrees on one of its two shared examples
    np.testing.assert_allclose(res.annotator_quality, [1.0, 1.0, 0.5])
    assert res.num_labeled.tolist() == [4, 3, 2]
    assert res.annotator_order.tolist()[0] == 2


def test_deterministic():
    rng = np.random.default_rng(1)
    mat = rng.integers(-1, 4, (300, 5))
    mat[:, 0] = rng.integers(0, 4, 300)
    pp = rng.dirichlet(np.ones(4), 300)
    a, b = consensus(mat, pp), consensus(mat.copy(), pp.copy())
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.quality, b.quality)
    assert np.array_equal(a.annotator_quality, b.annotator_quality)


@pytest.mark.parametrize("mat, pp, fragment", [
    (np.array([[0, 1], [-1, -1]]), None, "no annotations"),
    (np.array([[0, -1], [-1, 1]]), None, "single annotation"),
    (np.array([[0], [1]]), None, "single annotation"),
    (np.array([[0, 1], [1, 5]]), np.full((2, 2), 0.5), "outside 0..1"),
    (np.array([[0.5, 1.0], [1.0, 1.0]]), None, "not a class index"),
    (np.array([[0, 1], [1, -2]]), None, "negative"),
    (np.array([[0, 1], [1, 1]]), np.full((3, 2), 0.5), "one row per example"),
    (np.array([[0, -1, 1], [1, -1, 1]]), None, "labeled no example"),
    (np.array([0, 1]), None, "2-D"),
    (np.array([["a", "b"]]), None, "class indices"),
])
def test_bad_input(mat, pp, fragment):
    with pytest.raises(LabelError, match=fragment):
        consensus(mat, pp)


def test_check_annotations_counts_classes():
    mat, k = check_annotations(np.array([[0, NAN], [3, 3]]))
    assert k == 4 and mat.dtype == np.int64 and mat[0, 1] == -1


def test_public_api():
    import labelcli

    res = labelcli.consensus(np.array([[0, 0], [1, 0], [1, 1]]), np.array([[0.8, 0.2], [0.3, 0.7], [0.1, 0.9]]))
    assert res.labels.tolist() == [0, 1, 1]
    assert "consensus" in dir(labelcli)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("with_pp", [True, False])
def test_invariant_to_the_order_of_examples_and_annotators(seed, with_pp):
    rng = np.random.default_rng(seed)
    n, m, k = 80, 5, 4
    truth = rng.integers(0, k, n)
    mat = np.where(rng.random((n, m)) < 0.7, truth[:, None], rng.integers(0, k, (n, m)))
    mat[rng.random((n, m)) < 0.5] = -1
    mat[np.arange(n), rng.integers(0, m, n)] = truth
    mat[0] = truth[0]
    pp = rng.dirichlet(np.ones(k), n) if with_pp else None
    rows, cols = rng.permutation(n), rng.permutation(m)
    a = consensus(mat, pp, num_classes=k)
    b = consensus(mat[rows][:, cols], None if pp is None else pp[rows], num_classes=k)
    np.testing.assert_array_equal(a.labels[rows], b.labels)
    np.testing.assert_allclose(a.quality[rows], b.quality, atol=1e-12)
    np.testing.assert_allclose(a.annotator_quality[cols], b.annotator_quality, atol=1e-12)
    np.testing.assert_array_equal(a.worst_class[cols], b.worst_class)
