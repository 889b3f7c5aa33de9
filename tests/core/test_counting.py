"""Hand-checked unit tests of the core: thresholds, the confident joint, the joint and noise matrices,
num_label_issues (labelcli.core.counting).

Every expected value below is worked out by hand from small fixtures (tests/core/handchecked.py);
the arithmetic is in the comments. Conformance against cleanlab itself lives in tests/test_conformance.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from labelcli import (
    NoiseEstimate,
    calibrate_confident_joint,
    class_priors,
    confident_joint,
    estimate_joint,
    estimate_noise_matrices,
    find_label_issues,
    num_label_issues,
    per_class_thresholds,
)
from labelcli.core.counting import round_preserving_row_totals
from tests.core.handchecked import A_CAL_CJ, A_LABELS, A_PROBS, A_RAW_CJ, C_LABELS, C_PROBS, raises_one_line


# ================================================================================================
# per_class_thresholds
# ================================================================================================


def test_thresholds_are_mean_self_confidence_per_class():
    t = per_class_thresholds(A_LABELS, A_PROBS)
    # t0 = 1.8/3, t1 = 1.75/3, t2 = 1.98/3 (see fixture A)
    np.testing.assert_allclose(t, [0.6, 1.75 / 3, 0.66], rtol=0, atol=1e-12)
    assert t.dtype == np.float64


def test_thresholds_absent_class_gets_2_and_floor_is_2e_6():
    labels = [0, 0, 1, 1]
    probs = [[1.0, 0.0, 0.0], [0.6, 0.4, 0.0], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]]
    t = per_class_thresholds(labels, probs)
    # t0 = (1.0 + 0.6)/2 = 0.8; t1 = (0 + 0)/2 = 0 -> floor 2e-6; class 2 has no rows -> 2.0
    np.testing.assert_allclose(t, [0.8, 2e-6, 2.0], rtol=0, atol=1e-15)


def test_thresholds_accept_a_single_class():
    # thresholds need only one class present (unlike find_label_issues)
    t = per_class_thresholds([1, 1], [[0.2, 0.8], [0.4, 0.6]])
    np.testing.assert_allclose(t, [2.0, 0.7], atol=1e-12)


# ================================================================================================
# confident joint
# ================================================================================================


def test_confident_joint_uncalibrated_fixture_a():
    cj = confident_joint(A_LABELS, A_PROBS, calibrate=False)
    np.testing.assert_array_equal(cj, A_RAW_CJ)
    # r5 is below all thresholds and is not counted: 8 of 9 rows counted
    assert cj.sum() == 8
    assert np.issubdtype(cj.dtype, np.integer)


def test_confident_joint_counts_a_probability_exactly_at_threshold():
    # labels [0,0,1,1]; class 1 rows both have p1 = 0.6 -> t1 = (0.6 + 0.6)/2 = 0.6 exactly.
    labels = [0, 0, 1, 1]
    probs = [[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]]
    # t0 = 0.9, t1 = 0.6: rows 2,3 have p1 = 0.6 >= 0.6 - 1e-6 -> counted on the diagonal;
    # p0 = 0.4 < 0.9. rows 0,1 -> 0 (p1 = 0.1 < 0.6).
    np.testing.assert_array_equal(confident_joint(labels, probs, calibrate=False), [[2, 0], [0, 2]])


# Fixture B, explicit thresholds t = [0.3, 0.3, 0.9]:
#   r0 label0 [.35,.45,.20]: 0 and 1 reach -> argmax 1        -> C[0,1]
#   r1 label0 [.60,.20,.20]: only 0                           -> C[0,0]
#   r2 label1 [.25,.25,.50]: none (.25<.3, .25<.3, .5<.9)      -> not counted
#   r3 label1 [.10,.85,.05]: only 1                           -> C[1,1]
#   r4 label1 [.30,.31,.39]: 0 (.30>=.3-1e-6) and 1 reach; the row argmax is 2 (below .9)
#                           -> C[1,2]  (cleanlab 2.9: several above -> overall argmax)
#   r5 label2 [.50,.05,.45]: only 0                           -> C[2,0]
#   r6 label2 [.20,.20,.60]: none                             -> not counted
#   raw = [[1,1,0],[0,1,1],[1,0,0]]; diagonal clipped to >= 1 -> C[2,2] = 1
B_LABELS = np.array([0, 0, 1, 1, 1, 2, 2])
B_PROBS = np.array(
    [
        [0.35, 0.45, 0.20],
        [0.60, 0.20, 0.20],
        [0.25, 0.25, 0.50],
        [0.10, 0.85, 0.05],
        [0.30, 0.31, 0.39],
        [0.50, 0.05, 0.45],
        [0.20, 0.20, 0.60],
    ]
)
B_THRESHOLDS = [0.3, 0.3, 0.9]


def test_confident_joint_explicit_thresholds_argmax_and_diagonal_clip():
    cj = confident_joint(B_LABELS, B_PROBS, thresholds=B_THRESHOLDS, calibrate=False)
    np.testing.assert_array_equal(cj, [[1, 1, 0], [0, 1, 1], [1, 0, 1]])


def test_confident_joint_several_above_uses_overall_argmax():
    """Documents (cleanlab 2.9 behaviour): when 2+ classes reach their thresholds the row goes
    to the overall argmax, even if that class did NOT reach its own threshold (row r4 of B).
    README/DESIGN say "the largest such class" (= among those reaching), which would be class 1."""
    cj = confident_joint(B_LABELS[[4]], B_PROBS[[4]], thresholds=B_THRESHOLDS, calibrate=False)
    # only r4 (label 1): C[1,2] = 1; diagonal clipped to 1 everywhere
    np.testing.assert_array_equal(cj, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_confident_joint_absent_class_never_receives_counts():
    labels = [0, 0, 1, 1]
    probs = [[0.1, 0.1, 0.8], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.0, 0.0, 1.0]]
    # t = [(.1+.9)/2 = .5, (.8+0)/2 = .4, 2.0]: column 2 unreachable although p2 = 1.0 in r3.
    # r0 p0 .1, p1 .1 -> none; r1 -> 0; r2 -> 1; r3 -> none.  raw [[1,0,0],[0,1,0],[0,0,0]]
    # -> diagonal clipped: C[2,2] = 1.
    cj = confident_joint(labels, probs, calibrate=False)
    np.testing.assert_array_equal(cj, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    # calibrated: row 2 has 0 examples -> [0,0,0]; rows 0,1 scaled to 2 each
    np.testing.assert_array_equal(confident_joint(labels, probs), [[2, 0, 0], [0, 2, 0], [0, 0, 0]])


def test_confident_joint_calibrated_fixture_a():
    cal = confident_joint(A_LABELS, A_PROBS)
    np.testing.assert_array_equal(cal, A_CAL_CJ)
    np.testing.assert_array_equal(cal.sum(axis=1), [3, 3, 3])
    assert cal.sum() == 9


def test_confident_joint_calibrated_fixture_b_rows_sum_to_class_counts():
    cal = confident_joint(B_LABELS, B_PROBS, thresholds=B_THRESHOLDS)
    # counts = [2, 3, 2]; raw rows: [1,1,0]*2/2 = [1,1,0]; [0,1,1]*3/2 = [0,1.5,1.5];
    # [1,0,1]*2/2 = [1,0,1]. Row 1 is a tie (1.5, 1.5) -> one of them rounds to 1, the other 2.
    np.testing.assert_array_equal(cal[0], [1, 1, 0])
    np.testing.assert_array_equal(cal[2], [1, 0, 1])
    assert cal[1, 0] == 0 and sorted(cal[1, 1:].tolist()) == [1, 2]
    np.testing.assert_array_equal(cal.sum(axis=1), [2, 3, 2])
    assert cal.sum() == len(B_LABELS)


def test_calibrate_confident_joint_hand_case():
    cj = np.array([[2, 1, 1], [1, 4, 0], [0, 0, 4]])
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]  # counts [3, 2, 4]
    # row0: [2,1,1] * 3/4 = [1.5, .75, .75] -> round [2,1,1] = 4 > 3 -> remove 1 from the entry
    #       with the smallest (m - round): [-.5, -.25, -.25] -> index 0 -> [1,1,1]
    # row1: [1,4,0] * 2/5 = [.4, 1.6, 0] -> [0,2,0] (sum 2, no fix)
    # row2: [0,0,4] * 4/4 = [0,0,4]
    out = calibrate_confident_joint(cj, labels)
    np.testing.assert_array_equal(out, [[1, 1, 1], [0, 2, 0], [0, 0, 4]])
    assert out.sum() == 9


def test_calibrate_confident_joint_matches_confident_joint_calibrate_true():
    raw = confident_joint(A_LABELS, A_PROBS, calibrate=False)
    np.testing.assert_array_equal(calibrate_confident_joint(raw, A_LABELS), A_CAL_CJ)


def test_calibrated_rows_sum_to_class_counts_random():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n, k = int(rng.integers(10, 60)), int(rng.integers(2, 6))
        labels = rng.integers(0, k, n)
        probs = rng.dirichlet(np.ones(k), n)
        cal = confident_joint(labels, probs)
        np.testing.assert_array_equal(cal.sum(axis=1), np.bincount(labels, minlength=k))
        assert cal.sum() == n
        assert (cal >= 0).all()


@pytest.mark.parametrize(
    "matrix, expected",
    [
        # already integral: unchanged
        ([[1.0, 2.0, 3.0]], [[1, 2, 3]]),
        # sum 4.0; round -> [1,1,1] = 3; +1 to the largest residual .45 (index 0)
        ([[1.45, 1.3, 1.25]], [[2, 1, 1]]),
        # sum 8.0; round -> [3,3,3] = 9; -1 from the smallest residual -.4 (index 0)
        ([[2.6, 2.7, 2.7]], [[2, 3, 3]]),
        # sum 2.0; all round to 0; +2 to the two largest residuals .45 (0) and .42 (1)
        ([[0.45, 0.42, 0.38, 0.40, 0.35]], [[1, 1, 0, 0, 0]]),
        # several rows: each row fixed independently
        (
            [[1.45, 1.3, 1.25], [1.0, 2.0, 3.0], [2.6, 2.7, 2.7]],
            [[2, 1, 1], [1, 2, 3], [2, 3, 3]],
        ),
    ],
)
def test_round_preserving_row_totals_hand_cases(matrix, expected):
    out = round_preserving_row_totals(np.array(matrix))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out.sum(axis=1), np.round(np.sum(matrix, axis=1)))
    assert np.issubdtype(out.dtype, np.integer)


def test_round_preserving_row_totals_tie_keeps_total():
    # [.5, .5]: round-half-even gives [0, 0]; total 1 -> exactly one entry becomes 1
    out = round_preserving_row_totals(np.array([[0.5, 0.5], [1.5, 1.5]]))
    assert sorted(out[0].tolist()) == [0, 1]  # which one is numpy's tie order
    assert sorted(out[1].tolist()) == [1, 2]  # round -> [2,2] = 4 > 3 -> one loses 1


# ================================================================================================
# joint, noise matrices, priors
# ================================================================================================


def test_estimate_joint_fixture_a():
    q = estimate_joint(A_LABELS, A_PROBS)
    np.testing.assert_allclose(q, A_CAL_CJ / 9.0, atol=1e-15)
    assert q.sum() == pytest.approx(1.0, abs=1e-12)


def test_estimate_joint_with_given_confident_joint():
    # a supplied (uncalibrated) confident joint is calibrated with the labels' counts first
    cj = np.array([[2, 1, 1], [1, 4, 0], [0, 0, 4]])
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    probs = np.full((9, 3), 1 / 3)
    q = estimate_joint(labels, probs, confident_joint=cj)
    np.testing.assert_allclose(q, np.array([[1, 1, 1], [0, 2, 0], [0, 0, 4]]) / 9.0, atol=1e-15)


def test_estimate_noise_matrices_fixture_a():
    est = estimate_noise_matrices(A_LABELS, A_PROBS)
    assert isinstance(est, NoiseEstimate)
    # calibrated C = [[2,1,0],[0,3,0],[1,0,2]] (rows given, cols true); column sums [3,4,2]
    # noise_matrix[i,j] = C[i,j]/colsum_j = [[2/3,1/4,0],[0,3/4,0],[1/3,0,1]]
    np.testing.assert_allclose(
        est.noise_matrix, [[2 / 3, 1 / 4, 0], [0, 3 / 4, 0], [1 / 3, 0, 1]], atol=1e-12
    )
    # inverse[i,j] = C[j,i]/rowsum_j (rowsums 3) = [[2/3,0,1/3],[1/3,1,0],[0,0,2/3]]
    np.testing.assert_allclose(
        est.inverse_noise_matrix, [[2 / 3, 0, 1 / 3], [1 / 3, 1, 0], [0, 0, 2 / 3]], atol=1e-12
    )
    # py = inv.diag / nm.diag * ps = [1, 4/3, 2/3] * 1/3 = [1/3, 4/9, 2/9] (= colsums / 9);
    # it is a fixed point of the convergence loop (nm * py = C / 9).
    np.testing.assert_allclose(est.class_priors, [1 / 3, 4 / 9, 2 / 9], atol=1e-12)
    np.testing.assert_array_equal(est.confident_joint, A_CAL_CJ)
    np.testing.assert_allclose(class_priors(A_LABELS, A_PROBS), [1 / 3, 4 / 9, 2 / 9], atol=1e-12)
    no_conv = estimate_noise_matrices(A_LABELS, A_PROBS, converge=False)
    np.testing.assert_allclose(no_conv.noise_matrix, est.noise_matrix, atol=1e-12)
    np.testing.assert_allclose(no_conv.class_priors, est.class_priors, atol=1e-12)


def test_noise_matrices_identity_for_clean_confident_input():
    labels = [0, 0, 0, 1, 2, 2]
    probs = [
        [0.98, 0.01, 0.01],
        [0.97, 0.02, 0.01],
        [0.99, 0.005, 0.005],
        [0.01, 0.98, 0.01],
        [0.01, 0.01, 0.98],
        [0.02, 0.01, 0.97],
    ]
    # every row counts on its own diagonal -> C = diag(3, 1, 2) -> nm = inv = I, py = ps
    est = estimate_noise_matrices(labels, probs)
    np.testing.assert_array_equal(est.confident_joint, np.diag([3, 1, 2]))
    np.testing.assert_allclose(est.noise_matrix, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(est.inverse_noise_matrix, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(est.class_priors, [3 / 6, 1 / 6, 2 / 6], atol=1e-12)
    assert num_label_issues(labels, probs) == 0
    assert find_label_issues(labels, probs).num_issues == 0


def test_noise_matrices_columns_and_priors_sum_to_one_random():
    rng = np.random.default_rng(11)
    for _ in range(20):
        n, k = int(rng.integers(20, 80)), int(rng.integers(2, 6))
        labels = rng.integers(0, k, n)
        probs = rng.dirichlet(np.ones(k) * 0.7, n)
        est = estimate_noise_matrices(labels, probs)
        np.testing.assert_allclose(est.noise_matrix.sum(axis=0), 1.0, atol=1e-9)
        np.testing.assert_allclose(est.inverse_noise_matrix.sum(axis=0), 1.0, atol=1e-9)
        assert est.class_priors.sum() == pytest.approx(1.0, abs=1e-9)
        assert (est.class_priors > 0).all()
        assert (est.noise_matrix >= 0).all() and (est.inverse_noise_matrix >= 0).all()
        assert estimate_joint(labels, probs).sum() == pytest.approx(1.0, abs=1e-12)


# ================================================================================================
# num_label_issues
# ================================================================================================


def test_num_label_issues_both_methods_fixture_a():
    # off_diagonal: r2 (given 0 -> 1) and r8 (given 2 -> 0); neither has argmax == given -> 2
    assert num_label_issues(A_LABELS, A_PROBS) == 2
    assert num_label_issues(A_LABELS, A_PROBS, method="off_diagonal") == 2
    # calibrated: trace(Q) = (2+3+2)/9 -> round((1 - 7/9) * 9) = 2
    assert num_label_issues(A_LABELS, A_PROBS, method="off_diagonal_calibrated") == 2


def test_num_label_issues_excludes_argmax_equals_given():
    np.testing.assert_array_equal(confident_joint(C_LABELS, C_PROBS, calibrate=False), [[2, 1], [0, 1]])
    assert num_label_issues(C_LABELS, C_PROBS) == 0
    # calibrated: C = [[2,1],[0,3]], trace/6 = 5/6 -> round(6 * 1/6) = 1
    np.testing.assert_array_equal(confident_joint(C_LABELS, C_PROBS), [[2, 1], [0, 3]])
    assert num_label_issues(C_LABELS, C_PROBS, method="off_diagonal_calibrated") == 1


def test_num_label_issues_invalid_method():
    raises_one_line("unknown method 'nope'", num_label_issues, A_LABELS, A_PROBS, method="nope")
