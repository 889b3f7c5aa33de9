"""Conformance of labelcli.core.multilabel with cleanlab 2.9's multilabel_classification on seeded
random problems (tests/problems.py).

Intended, documented differences from cleanlab (each pinned by a named test):
1. Ties. cleanlab ranks with an unstable np.argsort; compat="cleanlab" reproduces its order (it
   sorts the same array with the same np.argsort), labelcli's own rule keeps row order among equal
   scores. Rankings are compared exactly.
2. low_self_confidence / low_normalized_margin with return_indices_ranked_by: cleanlab pairs the
   flagged rows in score order with their scores in row order, so its "ranking" is scrambled
   (`test_low_filters_cleanlab_ranking_is_scrambled`); labelcli ranks by score. Masks are equal.
3. Tags that never occur: cleanlab's predicted_neq_given raises (one class in a binary problem);
   labelcli flags rows with p > 1 - p + 1e-6. Tags present in every row: every cleanlab filter
   raises; labelcli solves the binary problem with the "absent" class missing (symmetric case).
4. rank_classes_by_multilabel_quality's "Label Issues" is int(count / N * N), one less than the
   count when the float product rounds down; labelcli reports the exact count.

Comparisons with cleanlab run labelcli with compat="cleanlab" (unset options take cleanlab's
defaults: self-confidence scores aggregated by EMA(0.8)); labelcli's own defaults
(defaults.LABELCLI) are tested in tests/core/test_defaults.py and tests/core/test_multilabel.py, with
the hand-checked cases, input errors, tag pairs and planted noise on real digits.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from labelcli.core import multilabel as ml
from tests.conftest import OptionalModule
from tests.problems import ML_IDS as IDS
from tests.problems import ML_PROBLEMS as PROBLEMS
from tests.problems import MLProblem, assert_same_mask, quiet_single_process, tag_lists
from tests.problems import make_ml_problem as make_problem

cl_ml_filter = OptionalModule("cleanlab.multilabel_classification.filter")
cl_ml_rank = OptionalModule("cleanlab.multilabel_classification.rank")
cl_ml_dataset = OptionalModule("cleanlab.multilabel_classification.dataset")

FILTERS = ml.FILTERS  # every multi-label filter is one of cleanlab's (pinned in test_result_fields_and_public_names)
PRUNE = ("prune_by_noise_rate", "prune_by_class", "both")
METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")  # cleanlab's
# cleanlab's aggregator_kwargs for each of our aggregations ("min" / "mean" are callables there).
CL_AGG = {
    "exponential_moving_average": {"method": "exponential_moving_average", "alpha": 0.8},
    "softmin": {"method": "softmin", "temperature": 0.1},
    "min": {"method": np.min},
    "mean": {"method": np.mean},
}
ATOL = 1e-6


def _present(pb: MLProblem) -> np.ndarray:
    return np.arange(pb.K - pb.absent)


@functools.lru_cache(maxsize=None)
def cl_mask(pb: MLProblem, filter_by: str, options: tuple = ()) -> np.ndarray:
    """cleanlab's mask. predicted_neq_given on a problem with never-occurring tags is run on the
    tags that occur (cleanlab raises otherwise; tags are independent one-vs-rest problems)."""
    labels, p = make_problem(pb)
    cols = _present(pb) if filter_by == "predicted_neq_given" else np.arange(pb.K)
    return quiet_single_process(
        cl_ml_filter.find_label_issues, tag_lists(labels[:, cols]), p[:, cols], filter_by=filter_by, n_jobs=1,
        **dict(options),
    )


@functools.lru_cache(maxsize=None)
def cl_ranked(pb: MLProblem, filter_by: str) -> np.ndarray:
    labels, p = make_problem(pb)
    return quiet_single_process(
        cl_ml_filter.find_label_issues, tag_lists(labels), p, filter_by=filter_by, n_jobs=1,
        return_indices_ranked_by="self_confidence",
    )


@functools.lru_cache(maxsize=None)
def ours(pb: MLProblem, filter_by: str, options: tuple = ()) -> ml.MultiLabelIssues:
    labels, p = make_problem(pb)
    return ml.find_label_issues(labels, p, filter_by=filter_by, **dict(options), compat="cleanlab")


def _num_to_remove(pb: MLProblem) -> tuple:
    return tuple(int(i % 3) for i in range(pb.K))


OPTIONS = {
    "frac_noise": lambda pb: (("frac_noise", 0.6),),
    "min_examples": lambda pb: (("min_examples_per_class", max(2, pb.N // 20)),),
    "num_to_remove": lambda pb: (("num_to_remove_per_class", _num_to_remove(pb)),),
}


def _assert_same_ranking(got: np.ndarray, want: np.ndarray, scores: np.ndarray, what: str) -> None:
    """Identical, tied scores included (compat="cleanlab" orders ties as cleanlab's sort does)."""
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=what)
    np.testing.assert_array_equal(scores[got], scores[want], err_msg=what)


# --- conformance: masks, rankings, options ------------------------------------------------------


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_mask_matches_cleanlab(pb, filter_by):
    labels, p = make_problem(pb)
    got = ours(pb, filter_by)
    if filter_by == "predicted_neq_given" and pb.absent:
        cols, gone = _present(pb), np.arange(pb.K - pb.absent, pb.K)
        assert_same_mask(got.tag_issues[:, cols].any(axis=1), cl_mask(pb, filter_by), filter_by)
        pa = p[:, gone]
        np.testing.assert_array_equal(got.tag_issues[:, gone], pa > (1 - pa) + pa.dtype.type(1e-6))
    else:
        assert_same_mask(got.mask, cl_mask(pb, filter_by), filter_by)
    assert got.num_issues == int(got.mask.sum())
    np.testing.assert_array_equal(got.mask, got.tag_issues.any(axis=1))


@pytest.mark.parametrize("filter_by", [f for f in FILTERS if not f.startswith("low_")])
@pytest.mark.parametrize("pb", PROBLEMS[::3], ids=IDS[::3])
def test_ranking_matches_cleanlab(pb, filter_by):
    if filter_by == "predicted_neq_given" and pb.absent:
        pytest.skip("cleanlab raises on a tag that never occurs (difference 3)")
    got = ours(pb, filter_by)
    _assert_same_ranking(got.ranking, cl_ranked(pb, filter_by), got.scores, filter_by)


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("filter_by", PRUNE)
@pytest.mark.parametrize("pb", PROBLEMS[::3], ids=IDS[::3])
def test_pruning_options_match_cleanlab(pb, filter_by, option):
    opts = OPTIONS[option](pb)
    assert_same_mask(ours(pb, filter_by, opts).mask, cl_mask(pb, filter_by, opts), f"{filter_by} {opts}")


@pytest.mark.parametrize("pb", PROBLEMS[:12:3], ids=IDS[:12:3])
def test_low_filters_cleanlab_ranking_is_scrambled(pb):
    """Difference 2: cleanlab's ranked low_* output is idx_by_score[argsort(scores in row order)]."""
    labels, p = make_problem(pb)
    got = ours(pb, "low_self_confidence")
    want = cl_ranked(pb, "low_self_confidence")
    assert set(want.tolist()) == set(got.ranking.tolist())
    by_score = np.argsort(got.scores, kind="stable")[: got.num_issues]
    scrambled = by_score[np.argsort(got.scores[np.sort(by_score)], kind="stable")]
    np.testing.assert_array_equal(want, scrambled)
    assert np.all(np.diff(got.scores[got.ranking]) >= 0)


# --- conformance: scores and per-tag scores -----------------------------------------------------


@pytest.mark.parametrize("aggregation", ml.AGGREGATIONS)
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_label_quality_scores_match_cleanlab(pb, aggregation):
    labels, p = make_problem(pb)
    for method in METHODS:
        want = quiet_single_process(cl_ml_rank.get_label_quality_scores, tag_lists(labels), p, method=method,
                      aggregator_kwargs=CL_AGG[aggregation])
        got = ml.label_quality_scores(labels, p, method=method, aggregation=aggregation)
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL, err_msg=method)
        assert got.shape == (pb.N,) and np.all((got >= 0) & (got <= 1 + 1e-12))


@pytest.mark.parametrize("pb", PROBLEMS[::3], ids=IDS[::3])
def test_per_tag_scores_match_cleanlab(pb):
    labels, p = make_problem(pb)
    for method in METHODS:
        want = quiet_single_process(cl_ml_rank.get_label_quality_scores_per_class, tag_lists(labels), p, method=method)
        np.testing.assert_allclose(ml.per_tag_scores(labels, p, method=method), np.asarray(want), atol=ATOL)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_ema_alpha_and_softmin_temperature_match_cleanlab(alpha):
    labels, p = make_problem(PROBLEMS[10])
    want = quiet_single_process(cl_ml_rank.get_label_quality_scores, tag_lists(labels), p,
                  aggregator_kwargs={"method": "exponential_moving_average", "alpha": alpha})
    np.testing.assert_allclose(ml.label_quality_scores(labels, p, alpha=alpha, compat="cleanlab"), want, atol=ATOL)
    t = 0.05 + alpha
    want = quiet_single_process(cl_ml_rank.get_label_quality_scores, tag_lists(labels), p,
                  aggregator_kwargs={"method": "softmin", "temperature": t})
    np.testing.assert_allclose(ml.label_quality_scores(labels, p, aggregation="softmin", temperature=t), want, atol=ATOL)


# --- conformance: health ------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def cl_health(pb: MLProblem) -> dict:
    labels, p = make_problem(pb)
    lists = tag_lists(labels)
    return {
        "score": quiet_single_process(cl_ml_dataset.overall_multilabel_health_score, lists, p),
        "common": quiet_single_process(cl_ml_dataset.common_multilabel_issues, labels=lists, pred_probs=p),
        "classes": quiet_single_process(cl_ml_dataset.rank_classes_by_multilabel_quality, labels=lists, pred_probs=p)
        .sort_values("Class Index").reset_index(drop=True),
    }


@pytest.mark.parametrize("pb", PROBLEMS[1::3], ids=IDS[1::3])
def test_health_matches_cleanlab(pb):
    labels, p = make_problem(pb)
    ref = cl_health(pb)
    h = ml.health_summary(labels, p, compat="cleanlab")
    assert h.health_score == pytest.approx(ref["score"], abs=1e-12)
    assert h.noise_rate == pytest.approx(1 - ref["score"], abs=1e-12)
    common = ref["common"]
    given_true = common[common["In Given Label"]].set_index("Class Index").sort_index()
    given_false = common[~common["In Given Label"]].set_index("Class Index").sort_index()
    np.testing.assert_array_equal(h.tags.extraneous, given_true["Num Examples"].to_numpy())
    np.testing.assert_array_equal(h.tags.missing, given_false["Num Examples"].to_numpy())
    np.testing.assert_allclose(h.tags.extraneous_rate, given_true["Issue Probability"], atol=1e-12)
    np.testing.assert_allclose(h.tags.missing_rate, given_false["Issue Probability"], atol=1e-12)
    classes = ref["classes"]
    np.testing.assert_allclose(h.tags.extraneous_rate, classes["Label Noise"], atol=1e-12)
    np.testing.assert_allclose(h.tags.missing_rate, classes["Inverse Label Noise"], atol=1e-12)
    np.testing.assert_allclose(h.tags.label_quality, classes["Label Quality Score"], atol=1e-12)
    # Difference 4: cleanlab's counts are int(rate * N), which can fall one short of the count.
    np.testing.assert_array_equal(classes["Label Issues"], (h.tags.extraneous / pb.N * pb.N).astype(int))
    np.testing.assert_array_equal(classes["Inverse Label Issues"], (h.tags.missing / pb.N * pb.N).astype(int))


def test_cleanlab_label_issues_count_can_fall_one_short():
    """Difference 4 on a value where it bites: 29 / 100 * 100 == 28.999999999999996."""
    assert int(29 / 100 * 100) == 28


# --- the never-occurring / always-present tag ---------------------------------------------------


def test_tag_in_every_row_mirrors_the_never_occurring_tag():
    """Difference 3: complementing a tag (labels and probabilities) swaps its binary classes, so a
    tag present everywhere must give the flags of the same tag absent everywhere."""
    rng = np.random.default_rng(5)
    y = rng.random((300, 3)) < 0.4
    y[:, 0] = False
    p = rng.uniform(0, 1, (300, 3))
    p[:, 0] = rng.choice([0.05, 0.2, 0.7, 0.93, 0.99], 300)  # exactly complementable values
    flipped_y, flipped_p = y.copy(), p.copy()
    flipped_y[:, 0], flipped_p[:, 0] = True, 1 - p[:, 0]
    for f in FILTERS:
        a = ml.find_label_issues(y, p, filter_by=f).tag_issues[:, 0]
        b = ml.find_label_issues(flipped_y, flipped_p, filter_by=f).tag_issues[:, 0]
        np.testing.assert_array_equal(a, b, err_msg=f)
    assert ml.find_label_issues(y, p, filter_by="predicted_neq_given").tag_issues[:, 0].sum() == np.sum(p[:, 0] > 0.5)
    with pytest.raises(ValueError):  # cleanlab refuses this input
        quiet_single_process(cl_ml_filter.find_label_issues, tag_lists(flipped_y), flipped_p, n_jobs=1)
