"""Conformance with cleanlab 2.9, targeted: details a random problem rarely hits, and the ties.

The argmax rule of the confident joint, single-example classes, near ties with the given label,
missing classes, the summation order of the calibration total, probabilities exactly on a threshold
cut; the ties (difference 1 of tests/test_conformance.py: compat="cleanlab" reproduces cleanlab's
unstable sorts, labelcli's own rule keeps row order) on float16-quantised and coarse-grid inputs;
a regression at K = 100.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import labelcli as lc
from tests.conftest import OptionalModule
from tests.problems import (
    FILTERS,
    PROBLEMS,
    PRUNE_FILTERS,
    RANK_METHODS,
    Problem,
    assert_same_mask,
    assert_same_ranking,
    assert_ties_in_row_order,
    has_ties,
    make_problem,
    quiet,
)

cl_count = OptionalModule("cleanlab.count")
cl_filter = OptionalModule("cleanlab.filter")
cl_rank = OptionalModule("cleanlab.rank")


def _cl_mask(pb: Problem, filter_by: str, **kw) -> np.ndarray:
    labels, pred_probs = make_problem(pb)
    return quiet(cl_filter.find_label_issues, labels, pred_probs, filter_by=filter_by, n_jobs=1, **kw)


# --- targeted edge cases ---------------------------------------------------------------------------


def test_confident_joint_uses_argmax_even_when_argmax_is_below_its_threshold():
    """With 2+ classes above their thresholds, cleanlab counts the row in the overall argmax class,
    even if that class itself is below its threshold. labelcli must do the same."""
    rng = np.random.default_rng(11)
    labels = np.repeat([0, 1, 2], 40)
    p = rng.dirichlet([1, 1, 1], size=120)
    p[labels == 0] = [0.95, 0.025, 0.025]  # class 0's threshold is 0.95
    p[:5] = [0.8, 0.1, 0.1]  # below t_0 but the argmax
    pred_probs = p / p.sum(axis=1, keepdims=True)
    t = quiet(cl_count.get_confident_thresholds, labels, pred_probs)
    row = pred_probs[0]
    assert row.argmax() == 0 and row[0] < t[0]
    for calibrate in (False, True):
        theirs = quiet(cl_count.compute_confident_joint, labels, pred_probs, calibrate=calibrate)
        np.testing.assert_array_equal(lc.confident_joint(labels, pred_probs, calibrate=calibrate), theirs)
    for f in FILTERS:
        assert_same_mask(
            lc.find_label_issues(labels, pred_probs, filter_by=f, compat="cleanlab").mask,
            quiet(cl_filter.find_label_issues, labels, pred_probs, filter_by=f, n_jobs=1),
            f,
        )


@pytest.mark.parametrize("min_examples", [0, 1, 2])
def test_single_example_class_is_never_pruned(min_examples):
    """cleanlab only writes a class's pruning mask back when the class has 2+ examples, so a class
    with one (clearly mislabeled) example is never flagged by the pruning filters, whatever
    min_examples_per_class is."""
    pb = Problem(seed=77, K=4, N=400, tiny=(1,))
    labels, pred_probs = make_problem(pb)
    lone = int(np.flatnonzero(labels == 3)[0])
    for f in PRUNE_FILTERS:
        theirs = _cl_mask(pb, f, min_examples_per_class=min_examples)
        ours = lc.find_label_issues(labels, pred_probs, filter_by=f, min_examples_per_class=min_examples, compat="cleanlab")
        assert_same_mask(ours.mask, theirs, f"{f} min_examples_per_class={min_examples}")
        assert not ours.mask[lone]


def test_near_tie_with_given_label_is_not_flagged():
    """A given label within 1e-6 of the top class counts as agreeing with the model (cleanlab's
    FLOATING_POINT_COMPARISON), so the pruning filters never flag it; the low_* filters may."""
    pb = Problem(seed=5, K=3, N=600, near_ties=0)
    labels, pred_probs = make_problem(pb)
    p = np.array(pred_probs)
    rows = np.arange(20)
    for i in rows:  # the given label 5e-10 below another class
        other = (labels[i] + 1) % 3
        p[i] = 0.1
        p[i, labels[i]] = 0.45 - 2.5e-10
        p[i, other] = 0.45 + 2.5e-10
    for f in FILTERS:
        theirs = quiet(cl_filter.find_label_issues, labels, p, filter_by=f, n_jobs=1)
        ours = lc.find_label_issues(labels, p, filter_by=f, compat="cleanlab").mask
        assert_same_mask(ours, theirs, f)
        if f not in ("predicted_neq_given", "low_self_confidence", "low_normalized_margin"):
            assert not ours[rows].any()


def test_missing_class_threshold_is_unreachable():
    """A class with no given labels: threshold unreachable (cleanlab's 2.0), nothing is counted in it."""
    pb = Problem(seed=3, K=5, N=700, missing=1)
    labels, pred_probs = make_problem(pb)
    assert not np.any(labels == 4)
    t = lc.per_class_thresholds(labels, pred_probs)
    assert t[4] == pytest.approx(2.0)
    cj = lc.confident_joint(labels, pred_probs, calibrate=False)
    np.testing.assert_array_equal(cj[:, 4], [0, 0, 0, 0, 1])  # only the forced diagonal 1
    np.testing.assert_array_equal(cj, quiet(cl_count.compute_confident_joint, labels, pred_probs, calibrate=False))


def test_calibration_total_is_summed_in_reference_order():
    """Regression, found on problem s1044 (K=100, N=4000). cleanlab's raw confident joint is
    `confusion_matrix(...).T`, a Fortran-ordered array, and its calibration keeps that layout, so
    the total it divides by (np.sum of the whole matrix) is summed in column-major order:
    4000.0000000000005, where a row-major sum gives 4000.0. That 1-ulp difference moves calibrated
    counts off exact halves (1.4999999999999998 instead of 1.5), so rounding differs in 14 cells of
    the calibrated confident joint, and everything downstream (joint, noise matrices, prune counts,
    masks, health) follows. cleanlab's calibrate_confident_joint itself depends on the memory layout
    of the matrix it is given; labelcli's public function mirrors that (both layouts are checked)."""
    pb = Problem(seed=1044, K=100, N=4000, near_ties=100)
    assert pb in PROBLEMS
    labels, pred_probs = make_problem(pb)
    raw = quiet(cl_count.compute_confident_joint, labels, pred_probs, calibrate=False)
    for layout in (np.ascontiguousarray, np.asfortranarray):
        cj = layout(raw)
        np.testing.assert_array_equal(
            lc.calibrate_confident_joint(cj, labels),
            quiet(cl_count.calibrate_confident_joint, cj, labels),
            err_msg=layout.__name__,
        )
    np.testing.assert_array_equal(
        lc.confident_joint(labels, pred_probs),
        quiet(cl_count.compute_confident_joint, labels, pred_probs),
        err_msg="calibrated confident joint from labels and pred_probs",
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_probability_exactly_at_threshold_cut_is_counted(dtype):
    """cleanlab counts p as confident when p >= t_k - 1e-6, with t_k = np.mean of the class's
    self-confidences in the input dtype. A probability placed exactly on that cut must be counted
    by labelcli too, so its threshold has to be the same number to the last bit (a mean summed in
    another order or in float64 for float32 input is a few ulps away and misses the row)."""
    checked = 0
    for seed in range(300, 320):
        labels, pred_probs = make_problem(Problem(seed=seed, K=3, N=500, dtype=dtype))
        p = np.array(pred_probs)
        cut = quiet(cl_count.get_confident_thresholds, labels, p) - 1e-6  # cleanlab's own cut
        k = 0
        value = p.dtype.type(cut[k])
        if value < cut[k]:
            value = np.nextafter(value, p.dtype.type(2))
        # A row labeled elsewhere that is confident in no class; move mass from its largest other
        # column onto column k (thresholds do not change: t_k only averages rows labeled k).
        for i in np.flatnonzero((labels != k) & ((p >= cut).sum(axis=1) == 0)):
            j = 1 + int(np.argmax(p[i, 1:]))
            delta = value - p[i, k]
            if p[i, j] > delta:
                p[i, j] -= delta
                p[i, k] = value
                break
        else:
            continue
        assert (p >= quiet(cl_count.get_confident_thresholds, labels, p) - 1e-6)[i].sum() == 1
        theirs = quiet(cl_count.compute_confident_joint, labels, p, calibrate=False)
        np.testing.assert_array_equal(lc.confident_joint(labels, p, calibrate=False), theirs, err_msg=f"seed {seed}")
        checked += 1
        if checked == 3:
            break
    assert checked == 3


# --- difference 1: ties ----------------------------------------------------------------------------


def _stable_reference_mask(labels, pred_probs, filter_by, frac_noise=1.0, min_examples_per_class=1):
    """cleanlab's find_label_issues with every unstable argsort replaced by a stable one (ties go
    to the earlier row): the behaviour labelcli documents. Built from cleanlab's own pieces."""
    n, k_all = pred_probs.shape
    cj, off_idx = quiet(
        cl_count.compute_confident_joint, labels, pred_probs, return_indices_of_off_diagonals=True
    )
    mask = np.zeros(n, dtype=bool)
    if filter_by.startswith("low_"):
        scores = quiet(cl_rank.get_label_quality_scores, labels, pred_probs, method=filter_by[4:])
        num = quiet(cl_count.num_label_issues, labels, pred_probs)
        mask[np.argsort(scores, kind="stable")[:num]] = True
        return mask
    if filter_by == "confident_learning":
        mask[off_idx] = True
    elif filter_by == "predicted_neq_given":
        mask = pred_probs.argmax(axis=1) != labels
    else:
        pcm = cl_filter._keep_at_least_n_per_class(cj.T, n=min_examples_per_class, frac_noise=frac_noise)
        by_class = np.zeros(n, dtype=bool)
        by_rate = np.zeros(n, dtype=bool)
        for k in range(k_all):
            rows = np.flatnonzero(labels == k)
            if len(rows) <= max(min_examples_per_class, 1):
                continue
            num = len(rows) - pcm[k, k]
            if num >= 1:
                by_class[rows[np.argsort(pred_probs[rows, k], kind="stable")[:num]]] = True
            for j in range(k_all):
                if j != k and pcm[j, k] > 0:
                    margin = pred_probs[rows, j] - pred_probs[rows, k]
                    by_rate[rows[np.argsort(-margin, kind="stable")[: pcm[j, k]]]] = True
        mask = {"prune_by_class": by_class, "prune_by_noise_rate": by_rate}.get(filter_by, by_class & by_rate)
    mask[cl_count._reduce_issues(pred_probs=pred_probs, labels=labels)] = False
    return mask


# float16-quantised probabilities (ties mostly among confident rows, like the real data files) and
# probabilities from logits on a coarse grid (many identical rows, ties right at the cuts).
TIED_PROBLEMS = [
    Problem(seed=501, K=10, N=3000, signal=6.0, float16=True, dtype="float32"),
    Problem(seed=502, K=3, N=2000, signal=5.0, float16=True, dtype="float32"),
    Problem(seed=503, K=2, N=2000, signal=4.0, prior="dirichlet", float16=True),
    Problem(seed=504, K=20, N=3000, signal=5.0, prior="dirichlet", float16=True),
    Problem(seed=601, K=3, N=2000, logit_step=1.0),
    Problem(seed=602, K=4, N=3000, logit_step=1.0, prior="dirichlet"),
    Problem(seed=603, K=10, N=3000, logit_step=1.5, signal=4.0),
    Problem(seed=604, K=2, N=1000, logit_step=0.5),
]


@pytest.mark.parametrize("filter_by", FILTERS)
@pytest.mark.parametrize("pb", TIED_PROBLEMS, ids=lambda p: p.id)
def test_tied_inputs_masks(pb, filter_by):
    """Difference 1 on inputs with exact ties. compat="cleanlab" flags exactly cleanlab's rows
    (the equal keys at a cut go where cleanlab's unstable sort puts them); labelcli's own tie rule
    (no compat) is cleanlab with stable sorts: the earlier row first."""
    labels, pred_probs = make_problem(pb)
    sc = pred_probs[np.arange(len(labels)), labels]
    assert has_ties(sc), "the problem should contain exact ties"
    ours = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, compat="cleanlab")
    theirs = quiet(cl_filter.find_label_issues, labels, pred_probs, filter_by=filter_by, n_jobs=1)
    assert_same_mask(ours.mask, theirs, filter_by)
    again = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, compat="cleanlab")
    np.testing.assert_array_equal(ours.ranking, again.ranking)  # deterministic
    stable = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, rank_by="self_confidence")
    assert_same_mask(stable.mask, _stable_reference_mask(labels, pred_probs, filter_by), "stable reference")


@pytest.mark.parametrize("filter_by", PRUNE_FILTERS)
@pytest.mark.parametrize("pb", TIED_PROBLEMS, ids=lambda p: p.id)
def test_tied_inputs_options(pb, filter_by):
    labels, pred_probs = make_problem(pb)
    for kw in ({"frac_noise": 0.5}, {"min_examples_per_class": 5}):
        ours = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, **kw, compat="cleanlab").mask
        theirs = quiet(cl_filter.find_label_issues, labels, pred_probs, filter_by=filter_by, n_jobs=1, **kw)
        assert_same_mask(ours, theirs, str(kw))
        stable = lc.find_label_issues(labels, pred_probs, filter_by=filter_by, rank_by="self_confidence", **kw).mask
        assert_same_mask(stable, _stable_reference_mask(labels, pred_probs, filter_by, **kw), str(kw))


@pytest.mark.parametrize("rank_by", RANK_METHODS)
@pytest.mark.parametrize("pb", TIED_PROBLEMS, ids=lambda p: p.id)
def test_tied_inputs_ranking(pb, rank_by):
    labels, pred_probs = make_problem(pb)
    res = lc.find_label_issues(labels, pred_probs, rank_by=rank_by, compat="cleanlab")
    theirs = quiet(cl_filter.find_label_issues, labels, pred_probs, return_indices_ranked_by=rank_by, n_jobs=1)
    np.testing.assert_array_equal(res.ranking, theirs)
    own = lc.find_label_issues(labels, pred_probs, filter_by="prune_by_noise_rate", rank_by=rank_by)
    assert_ties_in_row_order(own.ranking, own.scores)
    flagged = np.flatnonzero(own.mask)
    np.testing.assert_array_equal(own.ranking, flagged[np.argsort(own.scores[flagged], kind="stable")])


def test_tied_ranking_toy_example():
    """Rows 1, 3, 4 and 7 are flagged with the same self-confidence: labelcli ranks them in row
    order; compat="cleanlab" as cleanlab's sort does."""
    labels = np.array([0, 0, 1, 0, 0, 1, 1, 1, 0, 1])
    p0 = np.array([0.875, 0.25, 0.125, 0.25, 0.25, 0.0625, 0.125, 0.75, 0.875, 0.625])
    pred_probs = np.stack([p0, 1 - p0], axis=1)
    own = lc.find_label_issues(labels, pred_probs, filter_by="predicted_neq_given", rank_by="self_confidence")
    np.testing.assert_array_equal(own.ranking, [1, 3, 4, 7, 9])
    res = lc.find_label_issues(labels, pred_probs, filter_by="predicted_neq_given", compat="cleanlab")
    theirs = quiet(
        cl_filter.find_label_issues, labels, pred_probs, filter_by="predicted_neq_given",
        return_indices_ranked_by="self_confidence", n_jobs=1,
    )
    np.testing.assert_array_equal(res.ranking, theirs)


# --- regression: frac_noise together with min_examples_per_class at K = 100 -------------------
# The prune counts are truncated (astype(int)) after a column sum; that sum must add up in the
# reference's memory order or 14.0 becomes 13.999... -> 13 (found on these seeds).
@pytest.mark.parametrize("seed", [3, 7])
@pytest.mark.parametrize("filter_by", ["prune_by_class", "prune_by_noise_rate", "both"])
def test_frac_noise_with_min_examples_at_k100(seed, filter_by):
    cf = pytest.importorskip("cleanlab.filter")

    rng = np.random.default_rng(seed)
    n, k = 3000, 100
    true = rng.choice(k, n, p=rng.dirichlet(np.ones(k) * 5))
    true[:k] = np.arange(k)
    given = true.copy()
    flip = rng.random(n) < 0.2
    given[flip] = rng.integers(0, k, flip.sum())
    logits = np.eye(k)[true] * 3 + rng.normal(0, 1.5, (n, k))
    probs = np.exp(logits)
    probs /= probs.sum(1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cf.find_label_issues(
            given, probs, filter_by=filter_by, frac_noise=0.5, min_examples_per_class=5, n_jobs=1
        )
    got = lc.find_label_issues(given, probs, filter_by=filter_by, frac_noise=0.5, min_examples_per_class=5, compat="cleanlab")
    np.testing.assert_array_equal(got.mask, expected)
