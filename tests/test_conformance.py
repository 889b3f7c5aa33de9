"""Conformance: labelcli's confident learning against cleanlab 2.9 on seeded random problems.

Every problem is generated from its seed by `make_problem` (class-conditional label noise on top of
an informative synthetic model), so each test id reproduces on its own. The reference values are
cleanlab's, computed once per problem (`reference`). labelcli runs with compat="cleanlab" (options
left unset take cleanlab 2.9's defaults; labelcli's own defaults are tested in tests/core/test_defaults.py).

Intended, documented differences (each has its own named test below, nothing is hidden):
1. Ties. cleanlab orders with an unstable np.argsort (ranking flagged rows, the top-n rows of each
   noise cell, the lowest scores). compat="cleanlab" reproduces it: where equal keys decide (a cut
   inside a run of equal keys, equal scores in a ranking) it calls np.argsort on the very array
   cleanlab sorts, so tied inputs give cleanlab's rows too (`test_tied_*`); labelcli's own rule
   (no compat) breaks ties by row order. Out-of-core and --engine dask runs, which never hold a
   whole class at once, keep the row-order rule under compat as well.
2. Overlapping class pairs with equal joint mass are compared as sets, not by order
   (`test_health_summary_pairs`).
3. Compute dtype: labelcli computes in the input dtype (float16 is promoted to float32); random
   inputs are float64 with a few float32 problems, and scores are compared with atol 1e-6.
Integer results (confident joints, masks, rankings, counts) are compared exactly.

Targeted tests (tests/test_conformance_edges.py) cover cleanlab details a random problem rarely
hits, and difference 1 on tied inputs. The problems and the comparisons are in tests/problems.py;
cleanlab is imported by the tests that use it (a test extra), so only those are skipped without it.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import labelcli as lc
from tests.conftest import OptionalModule
from tests.problems import (
    ATOL,
    FILTERS,
    IDS,
    LABELCLI_ONLY_FILTERS,
    LABELCLI_ONLY_METHODS,
    PROBLEMS,
    PRUNE_FILTERS,
    RANK_METHODS,
    Problem,
    assert_same_mask,
    assert_same_ranking,
    make_problem,
    quiet,
)

cl_count = OptionalModule("cleanlab.count")
cl_filter = OptionalModule("cleanlab.filter")
cl_rank = OptionalModule("cleanlab.rank")
cl_dataset = OptionalModule("cleanlab.dataset")


def _num_to_remove(pb: Problem):
    """A small num_to_remove_per_class list for which cleanlab's arithmetic is well defined.

    cleanlab divides by each true class's off-diagonal prune mass; when that is 0 its counts become
    NaN/inf and the result is meaningless, so such problems are not used for this comparison.
    """
    labels, pred_probs = make_problem(pb)
    counts = np.bincount(labels, minlength=pb.K)
    cj = quiet(cl_count.compute_confident_joint, labels, pred_probs)
    pcm = cl_filter._keep_at_least_n_per_class(cj.T, n=1, frac_noise=1.0)
    psy = pcm / np.sum(pcm, axis=1)
    if np.any(psy.sum(axis=1) - psy.diagonal() <= 0):
        return None
    return [int(min(2, c // 4)) for c in counts]


def _num_to_remove_problems() -> list[Problem]:
    try:  # the problems are picked with cleanlab's arithmetic; without cleanlab the tests skip
        import cleanlab  # noqa: F401
    except ImportError:
        return []
    return [p for p in PROBLEMS if _num_to_remove(p) is not None]


NUM_TO_REMOVE_PROBLEMS = _num_to_remove_problems()


@functools.lru_cache(maxsize=None)
def reference(pb: Problem) -> dict:
    """cleanlab's results for one problem (computed once, shared by the tests)."""
    labels, pred_probs = make_problem(pb)
    q = quiet
    ref: dict = {}
    ref["thresholds"] = q(cl_count.get_confident_thresholds, labels, pred_probs)
    ref["cj_raw"] = q(cl_count.compute_confident_joint, labels, pred_probs, calibrate=False)
    ref["cj"] = q(cl_count.compute_confident_joint, labels, pred_probs)
    ref["cj_recalibrated"] = q(cl_count.calibrate_confident_joint, ref["cj_raw"], labels)
    ref["joint"] = q(cl_count.estimate_joint, labels, pred_probs)
    for converge in (True, False):
        ref["latent", converge] = q(
            cl_count.estimate_py_and_noise_matrices_from_probabilities,
            labels,
            pred_probs,
            converge_latent_estimates=converge,
        )
    for method in ("off_diagonal", "off_diagonal_calibrated"):
        ref["num", method] = int(
            q(cl_count.num_label_issues, labels, pred_probs, estimation_method=method)
        )
    for f in FILTERS:
        ref["mask", f] = q(cl_filter.find_label_issues, labels, pred_probs, filter_by=f, n_jobs=1)
    for rb in RANK_METHODS:
        ref["ranking", rb] = q(
            cl_filter.find_label_issues, labels, pred_probs, return_indices_ranked_by=rb, n_jobs=1
        )
    for m in RANK_METHODS:
        ref["scores", m, False] = q(cl_rank.get_label_quality_scores, labels, pred_probs, method=m)
    for m in RANK_METHODS[:2]:
        ref["scores", m, True] = q(
            cl_rank.get_label_quality_scores, labels, pred_probs, method=m, adjust_pred_probs=True
        )
    ref["health_score"] = q(cl_dataset.overall_label_health_score, labels, pred_probs, verbose=False)
    ref["classes"] = (
        q(cl_dataset.rank_classes_by_label_quality, labels, pred_probs)
        .sort_values("Class Index")
        .reset_index(drop=True)
    )
    ref["pairs"] = q(cl_dataset.find_overlapping_classes, labels, pred_probs)
    return ref


def _cl_mask(pb: Problem, filter_by: str, **kw) -> np.ndarray:
    labels, pred_probs = make_problem(pb)
    return quiet(cl_filter.find_label_issues, labels, pred_probs, filter_by=filter_by, n_jobs=1, **kw)


# --- the compared lists ----------------------------------------------------------------------------


def test_compared_lists_are_cleanlabs_own():
    """FILTERS / RANK_METHODS are exactly what cleanlab accepts, and together with the declared
    labelcli-only options they cover every option labelcli has: nothing escapes comparison."""
    assert set(FILTERS) | set(LABELCLI_ONLY_FILTERS) == set(lc.FILTERS)
    assert not set(FILTERS) & set(LABELCLI_ONLY_FILTERS)
    assert set(RANK_METHODS) | set(LABELCLI_ONLY_METHODS) == set(lc.METHODS)
    assert not set(RANK_METHODS) & set(LABELCLI_ONLY_METHODS)
    labels, pred_probs = make_problem(PROBLEMS[0])
    for f in FILTERS:
        assert _cl_mask(PROBLEMS[0], f).shape == labels.shape
    for f in LABELCLI_ONLY_FILTERS:
        with pytest.raises(AssertionError):  # cleanlab asserts filter_by is one of its own
            _cl_mask(PROBLEMS[0], f)
    for m in RANK_METHODS:
        assert quiet(cl_rank.get_label_quality_scores, labels, pred_probs, method=m).shape == labels.shape
    for m in LABELCLI_ONLY_METHODS:
        with pytest.raises(ValueError, match="not a valid scoring method"):
            quiet(cl_rank.get_label_quality_scores, labels, pred_probs, method=m)


# --- counting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_per_class_thresholds(pb):
    labels, pred_probs = make_problem(pb)
    ours = lc.per_class_thresholds(labels, pred_probs)
    assert ours.shape == (pb.K,)
    np.testing.assert_allclose(ours, reference(pb)["thresholds"], rtol=0, atol=ATOL)


@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_confident_joint(pb):
    labels, pred_probs = make_problem(pb)
    ref = reference(pb)
    raw = lc.confident_joint(labels, pred_probs, calibrate=False)
    cal = lc.confident_joint(labels, pred_probs)
    assert raw.dtype == np.int64 and cal.dtype == np.int64
    np.testing.assert_array_equal(raw, ref["cj_raw"], err_msg="uncalibrated")
    np.testing.assert_array_equal(cal, ref["cj"], err_msg="calibrated")
    np.testing.assert_array_equal(
        lc.calibrate_confident_joint(ref["cj_raw"], labels), ref["cj_recalibrated"]
    )
    assert cal.sum() == pb.N
    np.testing.assert_array_equal(cal.sum(axis=1), np.bincount(labels, minlength=pb.K))


@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_confident_joint_with_given_thresholds(pb):
    labels, pred_probs = make_problem(pb)
    t = np.linspace(0.2, 0.8, pb.K)
    theirs = quiet(cl_count.compute_confident_joint, labels, pred_probs, thresholds=t, calibrate=False)
    np.testing.assert_array_equal(lc.confident_joint(labels, pred_probs, thresholds=t, calibrate=False), theirs)


@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_estimate_joint(pb):
    labels, pred_probs = make_problem(pb)
    ref = reference(pb)
    np.testing.assert_allclose(lc.estimate_joint(labels, pred_probs), ref["joint"], rtol=0, atol=ATOL)
    # From a supplied (raw) confident joint, which is calibrated first.
    theirs = quiet(cl_count.estimate_joint, labels, pred_probs, confident_joint=ref["cj_raw"])
    ours = lc.estimate_joint(labels, pred_probs, confident_joint=ref["cj_raw"])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL)


@pytest.mark.parametrize("converge", [True, False], ids=["converge", "no-converge"])
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_noise_matrices(pb, converge):
    labels, pred_probs = make_problem(pb)
    py, nm, inv, cj = reference(pb)["latent", converge]
    est = lc.estimate_noise_matrices(labels, pred_probs, converge=converge)
    np.testing.assert_allclose(est.class_priors, py, rtol=0, atol=ATOL, err_msg="class_priors")
    np.testing.assert_allclose(est.noise_matrix, nm, rtol=0, atol=ATOL, err_msg="noise_matrix")
    np.testing.assert_allclose(est.inverse_noise_matrix, inv, rtol=0, atol=ATOL, err_msg="inverse")
    np.testing.assert_array_equal(est.confident_joint, cj)
    if converge:
        np.testing.assert_allclose(lc.class_priors(labels, pred_probs), py, rtol=0, atol=ATOL)


@pytest.mark.parametrize("method", ["off_diagonal", "off_diagonal_calibrated"])
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_num_label_issues(pb, method):
    labels, pred_probs = make_problem(pb)
    ours = lc.num_label_issues(labels, pred_probs, method=method)
    assert isinstance(ours, (int, np.integer))
    assert ours == reference(pb)["num", method]


# --- find_label_issues ---------------------------------------------------------------------------


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_find_label_issues_mask(pb, filter_by):
    labels, pred_probs = make_problem(pb)
    theirs = reference(pb)["mask", filter_by]
    res = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, compat="cleanlab")
    assert_same_mask(res.mask, theirs, filter_by)
    # The ranking of any filter is cleanlab's order_label_issues of that mask.
    cl_ranking = quiet(cl_rank.order_label_issues, theirs, labels, pred_probs, rank_by="self_confidence")
    assert_same_ranking(res.ranking, cl_ranking, res.scores, f"{filter_by} ranking")


@pytest.mark.parametrize("rank_by", RANK_METHODS)
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_find_label_issues_ranking(pb, rank_by):
    labels, pred_probs = make_problem(pb)
    ref = reference(pb)
    res = lc.find_label_issues(labels, pred_probs, rank_by=rank_by, compat="cleanlab")
    np.testing.assert_allclose(res.scores, ref["scores", rank_by, False], rtol=0, atol=ATOL)
    assert_same_ranking(res.ranking, ref["ranking", rank_by], res.scores, rank_by)


@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_find_label_issues_result_fields(pb):
    labels, pred_probs = make_problem(pb)
    res = lc.find_label_issues(labels, pred_probs, compat="cleanlab")
    assert res.mask.shape == (pb.N,) and res.scores.shape == (pb.N,)
    assert res.num_issues == int(res.mask.sum()) == len(res.ranking)
    np.testing.assert_array_equal(np.sort(res.ranking), np.flatnonzero(res.mask))
    assert res.ranking.dtype == np.int64
    np.testing.assert_array_equal(res.predicted, np.argmax(pred_probs, axis=1))
    # The pruning filters never flag a row whose argmax is its given label.
    assert not np.any(res.mask & (res.predicted == labels))


@pytest.mark.parametrize("filter_by", PRUNE_FILTERS)
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_frac_noise(pb, filter_by):
    labels, pred_probs = make_problem(pb)
    theirs = _cl_mask(pb, filter_by, frac_noise=0.5)
    ours = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, frac_noise=0.5, compat="cleanlab").mask
    assert_same_mask(ours, theirs, f"{filter_by} frac_noise=0.5")
    assert ours.sum() <= reference(pb)["mask", filter_by].sum()


@pytest.mark.parametrize("filter_by", PRUNE_FILTERS)
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_min_examples_per_class(pb, filter_by):
    labels, pred_probs = make_problem(pb)
    theirs = _cl_mask(pb, filter_by, min_examples_per_class=5)
    ours = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, min_examples_per_class=5, compat="cleanlab").mask
    assert_same_mask(ours, theirs, f"{filter_by} min_examples_per_class=5")


@pytest.mark.parametrize("filter_by", PRUNE_FILTERS)
@pytest.mark.parametrize("pb", NUM_TO_REMOVE_PROBLEMS, ids=[p.id for p in NUM_TO_REMOVE_PROBLEMS])
def test_num_to_remove_per_class(pb, filter_by):
    labels, pred_probs = make_problem(pb)
    n_remove = _num_to_remove(pb)
    theirs = _cl_mask(pb, filter_by, num_to_remove_per_class=n_remove)
    ours = lc.find_label_issues(
        labels, pred_probs, filter_by=filter_by, num_to_remove_per_class=n_remove, compat="cleanlab"
    ).mask
    assert_same_mask(ours, theirs, f"{filter_by} num_to_remove_per_class={n_remove}")


# --- label quality scores ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,adjust",
    [(m, False) for m in RANK_METHODS] + [(m, True) for m in RANK_METHODS[:2]],
    ids=lambda x: str(x),
)
@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_label_quality_scores(pb, method, adjust):
    labels, pred_probs = make_problem(pb)
    ours = lc.label_quality_scores(labels, pred_probs, method=method, adjust_pred_probs=adjust, compat="cleanlab")
    assert ours.shape == (pb.N,)
    np.testing.assert_allclose(ours, reference(pb)["scores", method, adjust], rtol=0, atol=ATOL)


# --- health summary ------------------------------------------------------------------------------


@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_health_summary(pb):
    labels, pred_probs = make_problem(pb)
    ref = reference(pb)
    hs = lc.health_summary(labels, pred_probs, compat="cleanlab")
    assert hs.num_examples == pb.N and hs.num_classes == pb.K
    assert hs.health_score == pytest.approx(ref["health_score"], abs=1e-12)
    assert hs.noise_rate == pytest.approx(1 - ref["health_score"], abs=1e-12)
    assert hs.num_issues == ref["num", "off_diagonal"]
    np.testing.assert_allclose(hs.joint, ref["joint"], rtol=0, atol=ATOL)
    py, nm, inv, _ = ref["latent", True]
    np.testing.assert_allclose(hs.class_priors, py, rtol=0, atol=ATOL)
    np.testing.assert_allclose(hs.noise_matrix, nm, rtol=0, atol=ATOL)
    np.testing.assert_allclose(hs.inverse_noise_matrix, inv, rtol=0, atol=ATOL)

    df = ref["classes"]
    np.testing.assert_array_equal(df["Class Index"], np.arange(pb.K))
    counts = np.bincount(labels, minlength=pb.K)
    np.testing.assert_array_equal(hs.class_examples, counts)
    np.testing.assert_array_equal(hs.class_issues, df["Label Issues"])
    np.testing.assert_array_equal(hs.class_inverse_issues, df["Inverse Label Issues"])
    for ours, col in [
        (hs.class_noise_rate, "Label Noise"),
        (hs.class_inverse_noise_rate, "Inverse Label Noise"),
        (hs.class_label_quality, "Label Quality Score"),
    ]:
        np.testing.assert_allclose(ours, df[col], rtol=0, atol=ATOL, err_msg=col)
    # Not a cleanlab quantity: the mean self-confidence of each given class (NaN when empty).
    sc = pred_probs[np.arange(pb.N), labels].astype(np.float64)
    for k in range(pb.K):
        if counts[k]:
            assert hs.class_mean_score[k] == pytest.approx(sc[labels == k].mean(), abs=ATOL)
        else:
            assert np.isnan(hs.class_mean_score[k])


def _pair_dict(a, b, joint, count) -> dict:
    return {(int(x), int(y)): (float(j), int(c)) for x, y, j, c in zip(a, b, joint, count)}


@pytest.mark.parametrize("pb", PROBLEMS, ids=IDS)
def test_health_summary_pairs(pb):
    """Difference 2: pairs with equal joint mass (many zeros) are compared as sets, not by order."""
    labels, pred_probs = make_problem(pb)
    df = reference(pb)["pairs"]
    theirs = _pair_dict(
        df["Class Index A"], df["Class Index B"], df["Joint Probability"], df["Num Overlapping Examples"]
    )
    full = lc.health_summary(labels, pred_probs, top_pairs=None, compat="cleanlab")
    ours = _pair_dict(full.pair_a, full.pair_b, full.pair_joint, full.pair_count)
    assert ours.keys() == theirs.keys()  # every pair a < b, once
    for key, (j, c) in theirs.items():
        assert ours[key][0] == pytest.approx(j, abs=1e-12), key
        assert ours[key][1] == c, key
    assert np.all(np.diff(full.pair_joint) <= 0), "pairs not ranked by joint mass"
    assert np.all(full.pair_a < full.pair_b)

    top = lc.health_summary(labels, pred_probs, compat="cleanlab")  # top_pairs=20
    n_top = min(20, pb.K * (pb.K - 1) // 2)
    assert len(top.pair_a) == n_top
    np.testing.assert_allclose(
        top.pair_joint, df["Joint Probability"].to_numpy()[:n_top], rtol=0, atol=1e-12
    )
    for key, j in zip(zip(top.pair_a, top.pair_b), top.pair_joint):
        assert theirs[(int(key[0]), int(key[1]))][0] == pytest.approx(j, abs=1e-12)


@pytest.mark.parametrize("pb", PROBLEMS[:: max(1, len(PROBLEMS) // 8)], ids=lambda p: p.id)
def test_health_summary_class_names(pb):
    labels, pred_probs = make_problem(pb)
    names = [f"class-{k}" for k in range(pb.K)]
    hs = lc.health_summary(labels, pred_probs, class_names=names, compat="cleanlab")
    assert list(hs.class_names) == names
