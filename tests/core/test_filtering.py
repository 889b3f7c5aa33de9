"""Hand-checked unit tests of the core: find_label_issues and its filters (labelcli.core.filtering,
labelcli.core.adjusted).

Every expected value below is worked out by hand from small fixtures (tests/core/handchecked.py);
the arithmetic is in the comments. Conformance against cleanlab itself lives in tests/test_conformance.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from labelcli import LabelIssues, confident_joint, find_label_issues, label_quality_scores, num_label_issues
from labelcli.core.adjusted import THRESHOLD_PRIOR, margin_thresholds
from labelcli.core.defaults import CLEANLAB, LABELCLI
from labelcli.core.scores import adjust as _adjust
from tests.core.handchecked import (
    C_LABELS,
    C_PROBS,
    PRUNING,
    COUNT_BASED,
    flagged,
    raises_one_line,
    A_LABELS,
    A_PROBS,
    A_SELF_CONF,
    A_MARGIN,
    A_ADJ_MARGIN_UNSHRUNK,
    D_LABELS,
    D_PROBS,
    adjusted_margin_formula,
)


# ================================================================================================
# find_label_issues: the seven filters
# ================================================================================================


@pytest.mark.parametrize(
    "filter_by, expected",
    [
        # pcm = C.T = [[2,0,1],[1,3,0],[0,0,2]] (rows true, cols given).
        # given 0: cell (0 -> 1) = 1 row with the largest p1 - p0: r0 -.85, r1 -.5, r2 +.5 -> r2
        # given 2: cell (2 -> 0) = 1 row with the largest p0 - p2: r6 -.7, r7 -.75, r8 +.24 -> r8
        ("prune_by_noise_rate", [2, 8]),
        # given 0: 3 - C[0,0]=2 -> 1 lowest p0 -> r2 (.20); given 1: 3 - 3 = 0;
        # given 2: 3 - 2 = 1 lowest p2 -> r8 (.38)
        ("prune_by_class", [2, 8]),
        ("both", [2, 8]),
        # off-diagonal rows of the raw confident joint
        ("confident_learning", [2, 8]),
        # argmax != given: r2 (1 != 0), r5 (0 != 1), r8 (0 != 2)
        ("predicted_neq_given", [2, 5, 8]),
        # num_label_issues = 2 lowest self-confidence: r2 .20, r5 .35 (r8 is .38)
        ("low_self_confidence", [2, 5]),
        # 2 lowest normalized margin: r2 .25, r8 .38 (r5 is .45)
        ("low_normalized_margin", [2, 8]),
        # The adjusted confident joint (a row counts for the confident class with the largest
        # adjusted p_j - t_j; here no row is confident in two classes) is the raw C above,
        # calibrated to A_CAL_CJ: 2 off the diagonal -> the 2 lowest adjusted margins: r2, r8
        # (.273, .368 unshrunk; r5 .463 is third; with the prior ~ the normalized margins).
        ("low_adjusted_margin", [2, 8]),
    ],
)
def test_filters_fixture_a(filter_by, expected):
    res = find_label_issues(A_LABELS, A_PROBS, filter_by=filter_by, rank_by="self_confidence")
    assert isinstance(res, LabelIssues)
    assert flagged(res) == expected
    assert res.num_issues == len(expected)
    assert res.filter_by == filter_by and res.rank_by == "self_confidence"
    np.testing.assert_allclose(res.scores, A_SELF_CONF, atol=1e-15)
    np.testing.assert_array_equal(res.predicted, [0, 0, 1, 1, 1, 0, 2, 2, 0])
    assert res.mask.dtype == bool and res.mask.shape == (9,)
    # ranking = flagged rows by ascending self-confidence
    assert sorted(res.ranking.tolist()) == expected
    assert np.all(np.diff(res.scores[res.ranking]) >= 0)


def test_default_filter_and_ranking_come_from_the_profile():
    res = find_label_issues(A_LABELS, A_PROBS)
    assert (res.filter_by, res.rank_by) == (LABELCLI.filter_by, LABELCLI.rank_by)
    explicit = find_label_issues(A_LABELS, A_PROBS, filter_by=LABELCLI.filter_by, rank_by=LABELCLI.rank_by)
    np.testing.assert_array_equal(res.ranking, explicit.ranking)
    np.testing.assert_array_equal(res.scores, explicit.scores)
    cl = find_label_issues(A_LABELS, A_PROBS, compat="cleanlab")
    assert (cl.filter_by, cl.rank_by) == (CLEANLAB.filter_by, CLEANLAB.rank_by) == ("prune_by_noise_rate", "self_confidence")
    # cleanlab's default: prune_by_noise_rate flags r2, r8, ranked by self-confidence: r2 .20 < r8 .38
    assert cl.ranking.tolist() == [2, 8]
    np.testing.assert_allclose(cl.scores, A_SELF_CONF, atol=1e-15)


def test_adjusted_margin_pieces_by_hand_fixture_a():
    """The thresholds and the adjustment by hand (unshrunk), then with the prior of pseudo-rows."""
    sc = A_SELF_CONF
    np.testing.assert_allclose(margin_thresholds(A_LABELS, sc, 3, prior=0), [0.6, 1.75 / 3, 0.66], rtol=0, atol=1e-15)
    adj = _adjust(A_PROBS.astype(np.float64), margin_thresholds(A_LABELS, sc, 3, prior=0))
    np.testing.assert_allclose(adj.sum(axis=1), 1.0, atol=1e-15)
    np.testing.assert_allclose(label_quality_scores(A_LABELS, adj, method="normalized_margin"), A_ADJ_MARGIN_UNSHRUNK,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(adjusted_margin_formula(A_LABELS, A_PROBS, prior=0), A_ADJ_MARGIN_UNSHRUNK, rtol=0, atol=1e-12)
    # shrunk: t_k = (sum_k + P * 5.53 / 9) / (3 + P), sum_k = [1.8, 1.75, 1.98]
    p = THRESHOLD_PRIOR
    shrunk = (np.array([1.8, 1.75, 1.98]) + p * 5.53 / 9) / (3 + p)
    np.testing.assert_allclose(margin_thresholds(A_LABELS, sc, 3), shrunk, rtol=0, atol=1e-15)
    got = label_quality_scores(A_LABELS, A_PROBS, method="adjusted_margin")
    adj = _adjust(A_PROBS.astype(np.float64), shrunk)
    np.testing.assert_allclose(got, label_quality_scores(A_LABELS, adj, method="normalized_margin"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got, adjusted_margin_formula(A_LABELS, A_PROBS), rtol=0, atol=1e-12)


def test_adjusted_margin_filter_and_ranking_fixture_a():
    """labelcli's default filter and score: 2 issues (see test_filters_fixture_a), r2 then r8."""
    res = find_label_issues(A_LABELS, A_PROBS, filter_by="low_adjusted_margin", rank_by="adjusted_margin")
    assert flagged(res) == [2, 8] and res.ranking.tolist() == [2, 8]
    np.testing.assert_allclose(res.scores, adjusted_margin_formula(A_LABELS, A_PROBS), rtol=0, atol=1e-12)
    for prior in (0, THRESHOLD_PRIOR):  # r2 < r8 < r5 < the rest, with the prior or without
        order = np.argsort(adjusted_margin_formula(A_LABELS, A_PROBS, prior), kind="stable")
        assert order[:3].tolist() == [2, 8, 5], prior


def test_ranking_rank_by_normalized_margin():
    res = find_label_issues(A_LABELS, A_PROBS, filter_by="predicted_neq_given", rank_by="normalized_margin")
    # margins: r2 .25, r8 .38, r5 .45
    assert res.ranking.tolist() == [2, 8, 5]
    np.testing.assert_allclose(res.scores, A_MARGIN, atol=1e-12)
    res = find_label_issues(A_LABELS, A_PROBS, filter_by="predicted_neq_given", rank_by="self_confidence")
    # self-confidence: r2 .20, r5 .35, r8 .38
    assert res.ranking.tolist() == [2, 5, 8]
    res = find_label_issues(A_LABELS, A_PROBS, filter_by="predicted_neq_given", rank_by="adjusted_margin")
    # adjusted margins: r2, r8, r5 (test_adjusted_margin_filter_and_ranking_fixture_a)
    assert res.ranking.tolist() == [2, 8, 5]


def test_filters_fixture_d():
    # raw = calibrated C = [[4,2],[1,2]]; pcm = [[4,1],[2,2]]
    # given 0: cell (0 -> 1) = 2 rows with the largest p1 - p0: r3 +.6, r4 +.4 -> r3, r4
    # given 1: cell (1 -> 0) = 1 row with the largest p0 - p1: r8 +.4
    assert flagged(find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_noise_rate")) == [3, 4, 8]
    # by class: given 0: 6 - 4 = 2 lowest p0 (.2 r3, .3 r4); given 1: 3 - 2 = 1 lowest p1 (.3 r8)
    assert flagged(find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_class")) == [3, 4, 8]
    assert flagged(find_label_issues(D_LABELS, D_PROBS, filter_by="both")) == [3, 4, 8]
    ranked = find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_noise_rate", rank_by="self_confidence")
    assert ranked.ranking.tolist() == [3, 4, 8]  # .2, .3, .3 (tie: row order)


def test_supplied_confident_joint_drives_pruning():
    # E: K=2. t0 = (.9+.4+.45+.9)/4 = .6625, t1 = (.9+.9)/2 = .9
    #   r0 [.9,.1] -> 0; r1 [.4,.6] p1 .6 < .9, p0 .4 < .6625 -> none; r2 [.45,.55] -> none;
    #   r3 [.9,.1] -> 0; r4, r5 [.1,.9] -> 1 (.9 >= .9). raw C = [[2,0],[0,2]] -> no off-diagonal.
    # calibrated: row 0 [2,0]*4/2 = [4,0]. pcm = [[4,0],[0,2]] -> nothing to prune at all.
    labels = [0, 0, 0, 0, 1, 1]
    probs = [[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]]
    for f in PRUNING + ("confident_learning",):
        assert flagged(find_label_issues(labels, probs, filter_by=f)) == [], f
    # predicted_neq_given still sees r1, r2 (argmax 1 != 0)
    assert flagged(find_label_issues(labels, probs, filter_by="predicted_neq_given")) == [1, 2]
    # Now give prune_by_class and prune_by_noise_rate different picks with a supplied confident
    # joint [[2,2],[0,2]] -> calibrated rows: [2,2]*4/4 = [2,2]; [0,2] -> pcm = [[2,0],[2,2]]:
    #   by class, given 0: 4 - 2 = 2 lowest p0 -> r1 (.4), r2 (.45)
    #   by noise rate, given 0 -> 1: 2 largest p1 - p0 -> r1 (+.2), r2 (+.1)
    cj = np.array([[2, 2], [0, 2]])
    for f in PRUNING:
        assert flagged(find_label_issues(labels, probs, filter_by=f, confident_joint=cj)) == [1, 2], f
    # a joint [[3,1],[0,2]] -> pcm = [[3,0],[1,2]]: 1 row each: by class lowest p0 -> r1 (.4);
    # by noise rate largest p1 - p0 -> r1. Intersection r1.
    cj = np.array([[3, 1], [0, 2]])
    for f in PRUNING:
        assert flagged(find_label_issues(labels, probs, filter_by=f, confident_joint=cj)) == [1], f


def test_both_intersection_differs_from_each():
    # K=3 with a supplied confident joint so that by-class and by-noise-rate pick different rows.
    # labels all 0 for rows 0..3, class 1 rows 4,5, class 2 rows 6,7.
    labels = [0, 0, 0, 0, 1, 1, 2, 2]
    probs = [
        [0.90, 0.05, 0.05],
        [0.30, 0.10, 0.60],  # lowest p0 (.30); margin p1-p0 = -.20
        [0.35, 0.60, 0.05],  # p0 .35;          margin p1-p0 = +.25
        [0.40, 0.55, 0.05],  # p0 .40;          margin p1-p0 = +.15
        [0.05, 0.90, 0.05],
        [0.05, 0.90, 0.05],
        [0.05, 0.05, 0.90],
        [0.05, 0.05, 0.90],
    ]
    # supplied C: row 0 = [2, 2, 0] (given 0: 2 truly class 1), others diagonal.
    # calibrated row 0: [2,2,0] * 4/4; pcm column 0 = [2, 2, 0]
    #   by noise rate: 2 rows with the largest p1 - p0: r2 (+.25), r3 (+.15) -> {2, 3}
    #   by class: 4 - 2 = 2 lowest p0: r1 (.30), r2 (.35)                 -> {1, 2}
    #   both: {2}
    cj = np.array([[2, 2, 0], [0, 2, 0], [0, 0, 2]])
    got = {f: flagged(find_label_issues(labels, probs, filter_by=f, confident_joint=cj)) for f in PRUNING}
    assert got == {"prune_by_noise_rate": [2, 3], "prune_by_class": [1, 2], "both": [2]}


@pytest.mark.parametrize("filter_by", COUNT_BASED)
def test_argmax_equal_given_never_flagged(filter_by):
    # fixture C: r2 is off-diagonal in C, but its argmax is its label -> never flagged
    res = find_label_issues(C_LABELS, C_PROBS, filter_by=filter_by)
    agrees = C_PROBS.argmax(axis=1) == C_LABELS
    assert not (res.mask & agrees).any()
    if filter_by == "predicted_neq_given":
        assert flagged(res) == [3, 4]  # argmax 0 != 1
    else:
        assert flagged(res) == []


@pytest.mark.parametrize("filter_by", COUNT_BASED)
def test_argmax_equal_given_never_flagged_random(filter_by):
    rng = np.random.default_rng(5)
    for _ in range(10):
        labels = rng.integers(0, 3, 40)
        probs = rng.dirichlet(np.ones(3), 40)
        res = find_label_issues(labels, probs, filter_by=filter_by)
        assert not (res.mask & (probs.argmax(axis=1) == labels)).any()


def test_exact_tie_with_given_label_counts_as_agreeing():
    # r2: label 1, p = [.5, .5]: numpy argmax is 0, but the given label gets a 1e-6 lead-in,
    # so the model "agrees" and even predicted_neq_given does not flag it.
    labels = [0, 0, 1, 1]
    probs = [[0.9, 0.1], [0.5, 0.5], [0.5, 0.5], [0.1, 0.9]]
    res = find_label_issues(labels, probs, filter_by="predicted_neq_given")
    assert flagged(res) == []
    assert res.predicted.tolist() == [0, 0, 0, 1]


def test_low_filters_take_as_many_as_num_label_issues():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 200)
    probs = rng.dirichlet(np.ones(4), 200)
    n = num_label_issues(labels, probs)
    for f in ("low_self_confidence", "low_normalized_margin"):
        res = find_label_issues(labels, probs, filter_by=f)
        assert res.num_issues == n
        # they are the n lowest of the filter's own score
        s = label_quality_scores(labels, probs, method=f[len("low_"):])
        assert s[res.mask].max() <= s[~res.mask].min()


def test_ranking_ascending_with_ties_in_row_order():
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    probs = [
        [0.9, 0.1],
        [0.3, 0.7],  # r1 sc .3
        [0.2, 0.8],  # r2 sc .2
        [0.3, 0.7],  # r3 sc .3
        [0.8, 0.2],  # r4 sc .2
        [0.1, 0.9],
        [0.7, 0.3],  # r6 sc .3
        [0.1, 0.9],
    ]
    res = find_label_issues(labels, probs, filter_by="predicted_neq_given", rank_by="self_confidence")
    # flagged {1,2,3,4,6}; .2: r2, r4; .3: r1, r3, r6
    assert res.ranking.tolist() == [2, 4, 1, 3, 6]
    assert res.num_issues == 5
    # Adjusted margins: t_1 - t_0 = (2.3 - 1.7) / (4 + P) > 0, so a = p + [t_1 - t_0, 0] (rows
    # sum to 1 + t_1 - t_0): a given-1 row scores a little below a given-0 row with the same
    # p_given. .2: r4 < r2; .3: r6 < r1 = r3 (identical rows: row order).
    res = find_label_issues(labels, probs, filter_by="predicted_neq_given", rank_by="adjusted_margin")
    assert res.ranking.tolist() == [4, 2, 6, 1, 3]
    assert res.scores[1] == res.scores[3]
    np.testing.assert_allclose(res.scores, adjusted_margin_formula(labels, probs), rtol=0, atol=1e-12)


def test_prune_by_noise_rate_ties_go_to_the_earlier_row():
    # D with r3 = r4 = [.25, .75]: thresholds unchanged (t0 = (.9+.9+.8+.25+.25+.9)/6 = 4/6),
    # raw C = [[4,2],[1,2]]. With min_examples_per_class = 5, cell (0 -> 1) drops to 1 (see
    # test_min_examples_per_class) -> the single row with the largest margin: r3 and r4 tie -> r3.
    probs = D_PROBS.copy()
    probs[3] = probs[4] = [0.25, 0.75]
    for f in PRUNING:
        assert flagged(find_label_issues(D_LABELS, probs, filter_by=f, min_examples_per_class=5)) == [3], f


def test_frac_noise_zero_flags_nothing_for_pruning_filters():
    for f in PRUNING:
        for labels, probs in ((A_LABELS, A_PROBS), (D_LABELS, D_PROBS)):
            assert find_label_issues(labels, probs, filter_by=f, frac_noise=0.0).num_issues == 0, f


def test_frac_noise_half_truncates():
    # D: pcm = [[4,1],[2,2]] (rows true, cols given). frac_noise .5 halves the off-diagonals
    # and moves the removed mass to the diagonal of the same column:
    #   col 0 = [4, 2] -> [4 + 1, 1] = [5, 1];  col 1 = [1, 2] -> [.5, 2 + .5] -> int -> [0, 2]
    # given 0: 1 row -> r3 (largest margin .6); given 1: cell 0 -> nothing
    assert flagged(find_label_issues(D_LABELS, D_PROBS, frac_noise=0.5, filter_by="prune_by_noise_rate")) == [3]
    # by class: given 0: 6 - 5 = 1 lowest p0 -> r3; given 1: 3 - 2 = 1 lowest p1 -> r8
    # (truncating the diagonal 2.5 -> 2 flags one more than by noise rate, as cleanlab does)
    assert flagged(find_label_issues(D_LABELS, D_PROBS, frac_noise=0.5, filter_by="prune_by_class")) == [3, 8]
    assert flagged(find_label_issues(D_LABELS, D_PROBS, frac_noise=0.5, filter_by="both")) == [3]


def test_min_examples_per_class():
    # D, prune_by_noise_rate: [3, 4, 8].
    # min 3: class 1 has 3 rows <= 3 -> skipped. Class 0: pcm diag [4,2] -> [4,3]; column 1
    #   loses 1 on its off-diagonal; column 0 unchanged -> given 0 still flags r3, r4.
    by_rate = {"filter_by": "prune_by_noise_rate"}
    assert flagged(find_label_issues(D_LABELS, D_PROBS, min_examples_per_class=3, **by_rate)) == [3, 4]
    # min 5: diag [4,2] -> [5,5]; column 0 off-diagonal 2 - 1 = 1 -> only r3; class 1 skipped
    assert flagged(find_label_issues(D_LABELS, D_PROBS, min_examples_per_class=5, **by_rate)) == [3]
    assert flagged(
        find_label_issues(D_LABELS, D_PROBS, min_examples_per_class=5, filter_by="prune_by_class")
    ) == [3]  # 6 - 5 = 1 lowest p0 -> r3
    # min 6: both classes have <= 6 rows -> both skipped
    for f in PRUNING:
        assert find_label_issues(D_LABELS, D_PROBS, min_examples_per_class=6, filter_by=f).num_issues == 0
    # large on fixture A: every class (3 rows) skipped
    for f in PRUNING:
        assert find_label_issues(A_LABELS, A_PROBS, min_examples_per_class=100, filter_by=f).num_issues == 0
    # non-pruning filters ignore it
    assert flagged(find_label_issues(A_LABELS, A_PROBS, min_examples_per_class=100, filter_by="confident_learning")) == [2, 8]


def test_num_to_remove_per_class_prune_by_class():
    # D: pcm = [[4,1],[2,2]], row sums [5,4]; psy = pcm / rowsums broadcast over COLUMNS:
    #   [[4/5, 1/4],[2/5, 2/4]]; noise_per_s = [1/4, 2/5].
    # rem = [1, 0]: row0 = psy[0]*1/(1/4) = [3.2, 1]; row1 = 0; diagonal = counts - rem = [5, 3]
    #   -> given 0 flags 6 - 5 = 1 lowest p0 (r3 .2); given 1 flags 0.
    assert flagged(find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_class", num_to_remove_per_class=[1, 0])) == [3]
    # rem = [1, 1]: -> r3 and 3 - 2 = 1 lowest p1 in class 1 (r8 .3)
    assert flagged(find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_class", num_to_remove_per_class=[1, 1])) == [3, 8]
    # rem = [2, 1]: diagonal [4, 2] -> r3, r4 and r8
    assert flagged(find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_class", num_to_remove_per_class=[2, 1])) == [3, 4, 8]
    # rem = [0, 0]: nothing
    assert flagged(find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_class", num_to_remove_per_class=[0, 0])) == []


def test_num_to_remove_per_class_prune_by_noise_rate():
    # rem = [1, 1]: rows: [3.2, 1] -> diag 5 -> [5, 1]; psy[1]*1/(2/5) = [1, 1.25] -> diag 2 ->
    #   [1, 2]. Column 0 (given 0) off-diagonal 1 -> r3; column 1 (given 1) off-diagonal 1 -> r8.
    res = find_label_issues(D_LABELS, D_PROBS, filter_by="prune_by_noise_rate", num_to_remove_per_class=[1, 1])
    assert flagged(res) == [3, 8]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_num_to_remove_per_class_when_a_true_class_has_no_noise():
    """Fixture A: pcm row 2 (true class 2) is [0, 0, 2] -> noise_per_s[2] = 0 -> 0/0 in the
    reference formula. prune_by_class still removes exactly rem[k] per class (only the diagonal
    counts), while prune_by_noise_rate removes none from class 0 (its column holds the NaN row),
    exactly like cleanlab 2.9 (which returns [8] too)."""
    res = find_label_issues(A_LABELS, A_PROBS, filter_by="prune_by_class", num_to_remove_per_class=[1, 0, 1])
    assert flagged(res) == [2, 8]
    res = find_label_issues(A_LABELS, A_PROBS, filter_by="prune_by_noise_rate", num_to_remove_per_class=[1, 0, 1])
    assert flagged(res) == [8]


def test_single_example_class_never_flagged_by_pruning():
    # labels [0,0,0,1]; r3 (the only class-1 row) is p = [.95,.05], clearly mislabeled.
    # t0 = (.9+.8+.9)/3 = .8667, t1 = .05. r0: .9 and .1 reach -> argmax 0; r1: .8 < .8667,
    # .2 >= .05 -> C[0,1] (but argmax 0 = given); r2 -> 0; r3: .95, .05 reach -> argmax 0 -> C[1,0].
    labels = [0, 0, 0, 1]
    probs = [[0.9, 0.1], [0.8, 0.2], [0.9, 0.1], [0.95, 0.05]]
    np.testing.assert_array_equal(confident_joint(labels, probs, calibrate=False), [[2, 1], [1, 1]])
    for f in PRUNING:
        for m in (0, 1):
            res = find_label_issues(labels, probs, filter_by=f, min_examples_per_class=m)
            assert not res.mask[3], (f, m)
            assert res.num_issues == 0
    # the other filters do flag it (num_label_issues = 1: r3)
    for f in ("confident_learning", "predicted_neq_given", "low_self_confidence", "low_normalized_margin"):
        assert flagged(find_label_issues(labels, probs, filter_by=f)) == [3], f


def test_find_label_issues_invalid_options():
    raises_one_line("unknown filter 'nope'", find_label_issues, A_LABELS, A_PROBS, filter_by="nope")
    raises_one_line("unknown rank_by 'nope'", find_label_issues, A_LABELS, A_PROBS, rank_by="nope")
    for bad in (-0.1, 1.5, float("nan")):
        raises_one_line("frac_noise must be in", find_label_issues, A_LABELS, A_PROBS, frac_noise=bad)
    raises_one_line("min_examples_per_class", find_label_issues, A_LABELS, A_PROBS, min_examples_per_class=-1)
    raises_one_line(
        "needs 3 values", find_label_issues, A_LABELS, A_PROBS, filter_by="prune_by_noise_rate",
        num_to_remove_per_class=[1, 1],
    )
    # The pruning options need a pruning filter: with labelcli's default filter (not a pruning
    # one) num_to_remove_per_class is refused by name; compat="cleanlab" prunes by noise rate.
    raises_one_line(
        f"works only with .*not '{LABELCLI.filter_by}'", find_label_issues, A_LABELS, A_PROBS,
        num_to_remove_per_class=[1, 0, 1],
    )
    # (D by noise rate with [1, 1]: r3 and r8, see test_num_to_remove_per_class_prune_by_noise_rate)
    assert flagged(find_label_issues(D_LABELS, D_PROBS, num_to_remove_per_class=[1, 1], compat="cleanlab")) == [3, 8]
    raises_one_line("unknown compat 'nope'", find_label_issues, A_LABELS, A_PROBS, compat="nope")
    raises_one_line(
        "works only with",
        find_label_issues,
        A_LABELS,
        A_PROBS,
        filter_by="confident_learning",
        num_to_remove_per_class=[1, 0, 1],
    )


def test_find_label_issues_frac_noise_bounds_are_inclusive():
    for f in PRUNING:
        assert find_label_issues(A_LABELS, A_PROBS, filter_by=f, frac_noise=1.0).num_issues == 2
        assert find_label_issues(A_LABELS, A_PROBS, filter_by=f, frac_noise=0.0).num_issues == 0
