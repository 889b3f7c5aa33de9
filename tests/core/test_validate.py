"""Hand-checked unit tests of the core: validation of labels, pred_probs and options (labelcli.core.validate).

Every expected value below is worked out by hand from small fixtures (tests/core/handchecked.py);
the arithmetic is in the comments. Conformance against cleanlab itself lives in tests/test_conformance.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from labelcli import (
    FILTERS,
    METHODS,
    LabelError,
    calibrate_confident_joint,
    confident_joint,
    find_label_issues,
    health_summary,
    label_quality_scores,
    num_label_issues,
    per_class_thresholds,
)
from labelcli.core import validate as v
from tests.core.handchecked import PRUNING, raises_one_line, A_LABELS, A_PROBS, planted_noise


# ================================================================================================
# validation
# ================================================================================================

P4 = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.1, 0.7]])


def test_labels_whole_floats_accepted():
    labels = np.array([0.0, 1.0, 2.0, 3.0])
    res = find_label_issues(labels, P4)
    ref = find_label_issues(np.array([0, 1, 2, 3]), P4)
    np.testing.assert_array_equal(res.mask, ref.mask)
    assert v.as_labels(labels, num_classes=4).dtype == np.int64
    np.testing.assert_array_equal(v.as_labels([[0], [1], [3]]), [0, 1, 3])  # (N, 1) column


@pytest.mark.parametrize(
    "labels, match",
    [
        ([0.0, 1.0, 3.5, 2.0], r"whole class indices, found 3.5 at row 2"),
        ([0.0, np.nan, 1.0, 2.0], r"NaN\) at row 1"),
        ([0, 1, -1, 2], r"label -1 at row 2 \(0-based\) is negative"),
        ([0, 1, 4, 2], r"label 4 at row 2 \(0-based\) is outside 0..3"),
        (["a", "b", "c", "d"], r"labels are strings"),
        ([[0, 1], [1, 0], [0, 1], [1, 0]], r"1-D"),
    ],
)
def test_bad_labels_rejected(labels, match):
    for fn in (find_label_issues, label_quality_scores, num_label_issues, health_summary, per_class_thresholds):
        raises_one_line(match, fn, labels, P4)


@pytest.mark.parametrize(
    "probs, match",
    [
        ([[0.5, np.nan], [0.5, 0.5]], r"NaN at row 0 \(0-based\), column 1"),
        ([[0.5, 0.5], [np.inf, 0.5]], r"inf at row 1 \(0-based\), column 0"),
        ([[0.5, 0.5], [-0.2, 1.2]], r"found -0.2 at row 1.*softmax"),
        ([[0.5, 0.5], [1.5, 0.5]], r"found 1.5 at row 1"),
        ([[0.5, 0.5], [0.3, 0.3]], r"row 1 \(0-based\) sums to 0.6"),
        ([[0.0, 0.0], [0.5, 0.5]], r"row 0 \(0-based\) of pred_probs sums to 0"),
        ([0.5, 0.5], r"2-D"),
        ([[1.0], [1.0]], r"1 column"),
        (np.zeros((0, 2)), r"no rows"),
        ([["0.5", "0.5"], ["0.5", "0.5"]], r"must be numbers.*strings"),
        (np.array([[0.5 + 0j, 0.5], [0.5, 0.5]]), r"complex"),
    ],
)
def test_bad_pred_probs_rejected(probs, match):
    labels = [0, 1] if len(np.asarray(probs)) == 2 else []
    for fn in (find_label_issues, label_quality_scores, num_label_issues, health_summary, confident_joint):
        raises_one_line(match, fn, labels, probs)


def test_row_sum_tolerance_and_normalize():
    # within 1e-3 -> accepted as is
    ok = v.as_pred_probs([[0.5, 0.5009], [0.3, 0.7]])
    np.testing.assert_array_equal(ok, [[0.5, 0.5009], [0.3, 0.7]])
    raises_one_line(r"sums to 1.0011 \(1 rows off\); pass the `normalize` option", v.as_pred_probs, [[0.5, 0.5011], [0.3, 0.7]])
    # normalize=True rescales (also rows with values > 1, e.g. counts)
    fixed = v.as_pred_probs([[2.0, 2.0], [1.0, 3.0], [0.3, 0.3]], normalize=True)
    np.testing.assert_allclose(fixed, [[0.5, 0.5], [0.25, 0.75], [0.5, 0.5]], atol=1e-15)
    y, p = v.check_inputs([0, 1, 1], [[2.0, 2.0], [1.0, 3.0], [0.3, 0.3]], normalize=True)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # negatives are still rejected with normalize=True
    raises_one_line("found -1", v.as_pred_probs, [[2.0, -1.0], [1.0, 3.0]], normalize=True)


def test_float16_promoted_and_k_ulps_tolerance():
    p16 = np.array([[0.75, 0.25], [0.25, 0.75]], dtype=np.float16)
    out = v.as_pred_probs(p16)
    assert out.dtype == np.float32
    res = find_label_issues([0, 1], p16)
    assert res.scores.dtype == np.float64
    # K = 4 float16 row: each 0.25 + 2 ulps (ulp = 2^-12 in [.25,.5)) -> sum 1 + 8 * 2^-12
    # = 1.00195 (off by 1.95e-3 > 1e-3 but <= K * eps16 = 4 * 2^-10 = 3.9e-3) -> accepted
    q = np.float16(0.25 + 2 * 2.0**-12)
    assert float(q) == 0.25 + 2 * 2.0**-12
    row = np.full((1, 4), q, dtype=np.float16)
    p = np.concatenate([row, np.eye(4, dtype=np.float16)[1:]])
    assert v.as_pred_probs(p).dtype == np.float32
    # the same numbers as float32 get only the 1e-3 tolerance -> rejected
    raises_one_line("must sum to 1", v.as_pred_probs, p.astype(np.float32))
    # 5 ulps each -> off by 20 * 2^-12 = 4.9e-3 > 3.9e-3 -> rejected even as float16
    q5 = np.full((1, 4), np.float16(0.25 + 5 * 2.0**-12), dtype=np.float16)
    raises_one_line("must sum to 1", v.as_pred_probs, q5)


def test_integer_and_bool_pred_probs_are_promoted():
    assert v.as_pred_probs(np.array([[1, 0], [0, 1]])).dtype == np.float64
    assert v.as_pred_probs(np.array([[True, False], [False, True]])).dtype == np.float64


def test_mismatched_lengths_rejected():
    raises_one_line(r"pred_probs has 4 rows but labels has 3", find_label_issues, [0, 1, 2], P4)
    raises_one_line(r"pred_probs has 4 rows but labels has 5", label_quality_scores, [0, 1, 2, 3, 0], P4)


def test_all_labels_same_class_rejected_by_find_label_issues():
    raises_one_line(r"every example has the same label \(2\)", find_label_issues, [2, 2, 2, 2], P4)
    raises_one_line(r"every example has the same label", health_summary, [2, 2, 2, 2], P4)
    # the per-example functions accept it
    assert label_quality_scores([2, 2, 2, 2], P4).shape == (4,)


def test_tiny_out_of_range_values_are_tolerated():
    # -5e-7 and 1 + 5e-7 are within RANGE_ATOL = 1e-6 -> no error
    p = v.as_pred_probs([[1 + 5e-7, -5e-7], [0.2, 0.8]])
    assert p.shape == (2, 2)


def test_tiny_out_of_range_values_are_clipped_so_scores_stay_in_unit_interval():
    probs = [[1 + 5e-7, -5e-7], [0.2, 0.8], [0.9, 0.1]]
    labels = [1, 1, 0]
    for method in ("self_confidence", "normalized_margin"):
        s = label_quality_scores(labels, probs, method=method)
        assert (s >= 0).all() and (s <= 1).all(), (method, s)  # self_confidence[0] = -5e-7


def test_confident_joint_wrong_threshold_length_is_label_error():
    raises_one_line("thresholds", confident_joint, A_LABELS, A_PROBS, thresholds=[0.5, 0.5])


def test_find_label_issues_wrong_confident_joint_shape_is_label_error():
    for f in PRUNING:
        raises_one_line("confident_joint", find_label_issues, A_LABELS, A_PROBS, filter_by=f, confident_joint=np.eye(2))
    raises_one_line("confident_joint", find_label_issues, A_LABELS, A_PROBS, confident_joint=np.eye(2), compat="cleanlab")


def test_find_label_issues_default_filter_does_not_ignore_a_bad_confident_joint():
    raises_one_line("confident_joint", find_label_issues, A_LABELS, A_PROBS, confident_joint=np.eye(2))


def test_default_filter_takes_its_count_from_a_supplied_confident_joint():
    k = A_PROBS.shape[1]
    counts = np.bincount(A_LABELS, minlength=k)
    for off in range(0, 3):
        cj = np.diag(counts).astype(np.int64)
        cj[0, 0] -= off
        cj[0, 1] += off
        issues = find_label_issues(A_LABELS, A_PROBS, confident_joint=cj)
        assert issues.num_issues == off
        lowest = np.argsort(issues.scores, kind="stable")[:off]
        assert set(np.flatnonzero(issues.mask)) == set(lowest)


def test_pruning_options_with_the_default_filter_are_refused():
    raises_one_line("pass filter_by too", find_label_issues, A_LABELS, A_PROBS, frac_noise=0.5)
    raises_one_line("pass filter_by too", find_label_issues, A_LABELS, A_PROBS, min_examples_per_class=3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_float_label_reported_as_out_of_range():
    raises_one_line(r"at row 1 \(0-based\) is outside 0..1", find_label_issues, [0.0, 1e20], [[0.5, 0.5], [0.5, 0.5]])


def test_huge_uint64_label_reported_as_out_of_range():
    labels = np.array([0, 2**63], dtype=np.uint64)
    raises_one_line(r"is outside 0..1", find_label_issues, labels, [[0.5, 0.5], [0.5, 0.5]])


def test_non_integer_label_message_shows_the_fraction():
    err = raises_one_line("whole class indices", find_label_issues, [0.0, 1.0000000001], [[0.5, 0.5], [0.5, 0.5]])
    assert "found 1 " not in str(err), str(err)


def test_row_blocks_do_not_change_results(monkeypatch):
    """The core walks rows in blocks (65536 rows, or rows_per_block of the array); force blocks of
    7 rows everywhere and compare."""
    s, p, _ = planted_noise(seed=6, n=300, k=4)
    before = {f: find_label_issues(s, p, filter_by=f) for f in FILTERS}
    scores = {m: label_quality_scores(s, p, method=m) for m in METHODS}
    adj = label_quality_scores(s, p, method="normalized_margin", adjust_pred_probs=True)
    cj = confident_joint(s, p, calibrate=False)
    real = v.row_blocks
    monkeypatch.setattr(v, "row_blocks", lambda n, block_rows=None: real(n, 7))
    assert len(list(v.row_blocks(300))) == 43
    for f in FILTERS:
        r = find_label_issues(s, p, filter_by=f)
        np.testing.assert_array_equal(r.mask, before[f].mask, err_msg=f)
        np.testing.assert_array_equal(r.ranking, before[f].ranking, err_msg=f)
    for m in METHODS:
        np.testing.assert_array_equal(label_quality_scores(s, p, method=m), scores[m])
    np.testing.assert_array_equal(label_quality_scores(s, p, method="normalized_margin", adjust_pred_probs=True), adj)
    np.testing.assert_array_equal(confident_joint(s, p, calibrate=False), cj)
    # the row reported for a NaN in a later block is the absolute row
    bad = p.copy()
    bad[123, 2] = np.nan
    raises_one_line(r"NaN at row 123 \(0-based\), column 2", find_label_issues, s, bad)


def test_every_label_error_is_one_line():
    cases = [
        lambda: find_label_issues([0, 1], [[0.5, 0.5]]),
        lambda: find_label_issues([0, 9], [[0.5, 0.5], [0.5, 0.5]]),
        lambda: find_label_issues([0, 1], [[0.5, 0.7], [0.5, 0.5]]),
        lambda: find_label_issues([0, 1], [[0.5, 0.5], [0.5, 0.5]], filter_by="x"),
        lambda: label_quality_scores([0, 1], [[0.5, 0.5], [0.5, 0.5]], method="x"),
        lambda: num_label_issues([0, 1], [[0.5, 0.5], [0.5, 0.5]], method="x"),
        lambda: health_summary([0, 0], [[0.5, 0.5], [0.5, 0.5]]),
        lambda: calibrate_confident_joint(np.eye(2, dtype=int), [0, 5]),
        lambda: v.as_features(np.zeros((3, 0))),
        lambda: v.as_features([[np.nan]]),
    ]
    for case in cases:
        with pytest.raises(LabelError) as info:
            case()
        assert "\n" not in str(info.value), str(info.value)
        assert info.value.message == str(info.value)
