"""labelcli.core.consensus against cleanlab 2.9's multiannotator module on seeded problems:
the same consensus labels, and every score within 1e-6 (get_label_quality_multiannotator with its
defaults: best_quality consensus, crowdlab quality; get_majority_vote_label), and the ensemble and active-learning (ActiveLab) functions."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from labelcli.core.consensus import check_annotations, consensus, majority_vote
from labelcli.core.consensus_active import active_learning_scores, best_temperature, label_shares

multiannotator = pytest.importorskip("cleanlab.multiannotator")

TOL = 1e-6


def problem(seed: int, *, missing: float = 0.4, singles: bool = True):
    """N x M annotations with NaN for missing, and pred_probs leaning to the truth."""
    rng = np.random.default_rng(seed)
    n, m, k = int(rng.integers(20, 250)), int(rng.integers(2, 8)), int(rng.integers(2, 7))
    truth = rng.integers(0, k, n)
    acc = rng.uniform(0.3, 0.95, m)
    ann = np.where(rng.random((n, m)) < acc, truth[:, None], rng.integers(0, k, (n, m))).astype(float)
    ann[rng.random((n, m)) < missing] = np.nan
    ann[np.arange(n), rng.integers(0, m, n)] = truth  # every example has a label
    if not singles:
        ann[np.arange(n), (rng.integers(0, m, n) + 1) % m] = truth
    ann[0] = truth[0]  # every annotator labels something
    pp = rng.dirichlet(np.ones(k) * rng.uniform(0.3, 3), n) * 0.6
    pp[np.arange(n), truth] += 0.4
    return ann, pp


def cleanlab_result(ann, pp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return multiannotator.get_label_quality_multiannotator(ann, pp, verbose=False, return_weights=True)


@pytest.mark.parametrize("seed", range(30))
def test_crowdlab_same_as_cleanlab(seed):
    ann, pp = problem(seed, singles=seed % 3 != 0)
    want = cleanlab_result(ann, pp)
    got = consensus(ann, pp)
    lq = want["label_quality"]
    np.testing.assert_array_equal(got.labels, lq["consensus_label"].to_numpy())
    np.testing.assert_allclose(got.quality, lq["consensus_quality_score"].to_numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(got.agreement, lq["annotator_agreement"].to_numpy(), atol=TOL, rtol=0)
    np.testing.assert_array_equal(got.num_annotations, lq["num_annotations"].to_numpy())
    stats = want["annotator_stats"].sort_index()
    np.testing.assert_allclose(got.annotator_quality, stats["annotator_quality"].to_numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(got.annotator_agreement, stats["agreement_with_consensus"].to_numpy(), atol=TOL, rtol=0)
    np.testing.assert_array_equal(got.num_labeled, stats["num_examples_labeled"].to_numpy())
    np.testing.assert_array_equal(got.worst_class, stats["worst_class"].to_numpy())
    assert got.model_weight == pytest.approx(want["model_weight"], abs=TOL)
    np.testing.assert_allclose(got.annotator_weight, want["annotator_weight"], atol=TOL, rtol=0)
    # each annotation's quality (cleanlab's detailed_label_quality) is the posterior of its label
    detailed = want["detailed_label_quality"].to_numpy()
    rows, cols = np.nonzero(~np.isnan(ann))
    np.testing.assert_allclose(got.posterior[rows, ann[rows, cols].astype(int)], detailed[rows, cols], atol=TOL)


@pytest.mark.parametrize("seed", range(30))
def test_majority_vote_same_as_cleanlab(seed):
    ann, pp = problem(100 + seed)
    k = pp.shape[1]
    mat, _ = check_annotations(ann, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = multiannotator.get_majority_vote_label(ann, pp, verbose=False)
    np.testing.assert_array_equal(majority_vote(mat, k, pp), want)


@pytest.mark.parametrize("seed", range(30))
def test_majority_vote_without_pred_probs_same_as_cleanlab_unless_it_draws_lots(seed):
    # Small label sets make many ties: cleanlab breaks them by class rarity, then by the annotators'
    # agreement with the untied vote, then at random (it warns); labelcli takes the lowest class
    # instead of the lot, so compare the rows cleanlab did not draw.
    rng = np.random.default_rng(seed)
    n, m, k = 60, 4, 3
    ann = rng.integers(0, k, (n, m)).astype(float)
    ann[rng.random((n, m)) < 0.5] = np.nan
    ann[np.arange(n), rng.integers(0, m, n)] = rng.integers(0, k, n)
    ann[0] = 0
    mat, _ = check_annotations(ann, k)
    ann_cl = ann.copy()
    ann_cl[0, :] = 0  # cleanlab counts classes from the largest label
    ann_cl[1, 0] = k - 1
    mat[1, 0] = k - 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        want = multiannotator.get_majority_vote_label(ann_cl, verbose=False)
    drawn = set()
    for w in caught:
        text = str(w.message)
        if "random selection" in text:
            drawn = {int(x) for x in text.split("[")[1].split("]")[0].replace("np.int64(", "").replace(")", "").split(",") if x.strip()}
    keep = np.array([i not in drawn for i in range(n)])
    np.testing.assert_array_equal(majority_vote(mat, k)[keep], want[keep])


def ensemble(seed: int, pp: np.ndarray, n_unlabeled: int = 0):
    """2-4 models' pred_probs: the given one and weaker random ones; unlabeled rows for each."""
    rng = np.random.default_rng(1000 + seed)
    n, k = pp.shape
    p = int(rng.integers(2, 5))
    models = np.stack([pp] + [rng.dirichlet(np.ones(k) * rng.uniform(0.3, 3), n) for _ in range(p - 1)])
    return models, rng.dirichlet(np.ones(k) * 0.5, (p, n_unlabeled))


@pytest.mark.parametrize("seed", range(30))
def test_ensemble_crowdlab_same_as_cleanlab(seed):
    ann, pp = problem(200 + seed, singles=seed % 3 != 0)
    models, _ = ensemble(seed, pp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = multiannotator.get_label_quality_multiannotator_ensemble(ann, models.copy(), verbose=False,
                                                                        return_weights=True)
    got = consensus(ann, list(models))
    lq = want["label_quality"]
    np.testing.assert_array_equal(got.labels, lq["consensus_label"].to_numpy())
    np.testing.assert_allclose(got.quality, lq["consensus_quality_score"].to_numpy(), atol=TOL, rtol=0)
    stats = want["annotator_stats"].sort_index()
    np.testing.assert_allclose(got.annotator_quality, stats["annotator_quality"].to_numpy(), atol=TOL, rtol=0)
    np.testing.assert_array_equal(got.worst_class, stats["worst_class"].to_numpy())
    np.testing.assert_allclose(got.model_weights, want["model_weight"], atol=TOL, rtol=0)
    np.testing.assert_allclose(got.annotator_weight, want["annotator_weight"], atol=TOL, rtol=0)
    np.testing.assert_array_equal(consensus(ann, models).labels, got.labels)  # a 3-D array alike


@pytest.mark.parametrize("seed", range(20))
def test_ensemble_vote_ties_follow_the_mean_pred_probs(seed):
    # few annotators and classes: many tied votes, broken by the models' mean pred_probs
    rng = np.random.default_rng(300 + seed)
    n, m, k = 80, 4, 3
    ann = rng.integers(0, k, (n, m)).astype(float)
    ann[rng.random((n, m)) < 0.5] = np.nan
    ann[np.arange(n), rng.integers(0, m, n)] = rng.integers(0, k, n)
    ann[0] = np.arange(m) % k
    models = rng.dirichlet(np.ones(k), (2, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = multiannotator.get_label_quality_multiannotator_ensemble(ann, models.copy(), verbose=False)
    np.testing.assert_array_equal(consensus(ann, models).labels, want["label_quality"]["consensus_label"].to_numpy())


def _al_problem(seed):
    ann, pp = problem(400 + seed, singles=seed % 3 != 0)
    if seed % 5 == 4:  # one annotation per example (one annotator): no weights to learn
        ann = np.nanmax(ann, axis=1, keepdims=True)
    models, unlabeled = ensemble(seed, pp, n_unlabeled=int(np.random.default_rng(seed).integers(1, 60)))
    return ann, models, unlabeled


@pytest.mark.parametrize("seed", range(30))
def test_active_learning_scores_same_as_cleanlab(seed):
    ann, models, unlabeled = _al_problem(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, want_new = multiannotator.get_active_learning_scores(ann, models[0].copy(), unlabeled[0].copy())
        want_ens, want_ens_new = multiannotator.get_active_learning_scores_ensemble(ann, models.copy(), unlabeled.copy())
        _, want_only_new = multiannotator.get_active_learning_scores(None, None, unlabeled[0].copy())
    got = active_learning_scores(ann, models[0], unlabeled[0], compat="cleanlab")
    np.testing.assert_allclose(got.scores, want, atol=TOL, rtol=0)
    np.testing.assert_allclose(got.unlabeled_scores, want_new, atol=TOL, rtol=0)
    ens = active_learning_scores(ann, list(models), unlabeled, compat="cleanlab")
    np.testing.assert_allclose(ens.scores, want_ens, atol=TOL, rtol=0)
    np.testing.assert_allclose(ens.unlabeled_scores, want_ens_new, atol=TOL, rtol=0)
    only_new = active_learning_scores(unlabeled_pred_probs=unlabeled[0])
    np.testing.assert_allclose(only_new.unlabeled_scores, want_only_new, atol=TOL, rtol=0)
    assert len(only_new.scores) == 0


@pytest.mark.parametrize("seed", range(10))
def test_label_shares_compat_are_cleanlabs_and_default_are_true_shares(seed):
    from cleanlab.internal.multiannotator_utils import compute_soft_cross_entropy, find_best_temp_scaler

    ann, models, _ = _al_problem(seed)
    mat, k = check_annotations(ann, models.shape[2])
    assert best_temperature(mat, models[0], compat="cleanlab") == find_best_temp_scaler(ann, models[0])
    shares = label_shares(mat, k)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    np.testing.assert_allclose(shares[np.arange(len(mat)), mat[:, 0].clip(0)][mat[:, 0] >= 0] > 0, True)
    # cleanlab's soft cross-entropy is ours with its (misplaced) shares
    want = compute_soft_cross_entropy(ann, models[0])
    got = -np.sum(label_shares(mat, k, compat="cleanlab") * np.log(np.clip(models[0], 1e-30, None)), axis=1) / np.log(k)
    np.testing.assert_allclose(got, want, atol=1e-12)
