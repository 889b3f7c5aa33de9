"""Hand-checked unit tests of the core: health_summary (labelcli.core.health).

Every expected value below is worked out by hand from small fixtures (tests/core/handchecked.py);
the arithmetic is in the comments. Conformance against cleanlab itself lives in tests/test_conformance.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from labelcli import HealthSummary, health_summary, num_label_issues
from labelcli.core.health import overlapping_pairs
from labelcli.core.select import top_indices
from tests.core.handchecked import (
    raises_one_line,
    A_LABELS,
    A_PROBS,
    A_CAL_CJ,
    D_LABELS,
    D_PROBS,
    planted_noise,
)


# ================================================================================================
# health_summary
# ================================================================================================


def test_health_summary_fixture_a():
    h = health_summary(A_LABELS, A_PROBS)
    assert isinstance(h, HealthSummary)
    assert h.num_examples == 9 and h.num_classes == 3
    assert h.class_names == ("0", "1", "2")
    # 2 issues of 9
    assert h.num_issues == 2
    assert h.health_score == pytest.approx(7 / 9, abs=1e-12)
    assert h.noise_rate == pytest.approx(2 / 9, abs=1e-12)
    np.testing.assert_allclose(h.joint, A_CAL_CJ / 9, atol=1e-15)
    np.testing.assert_array_equal(h.class_examples, [3, 3, 3])
    # given mass [3,3,3]/9, diagonal [2,3,2]/9 -> noise = [1/3, 0, 1/3]
    np.testing.assert_allclose(h.class_noise_rate, [1 / 3, 0, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(h.class_label_quality, [2 / 3, 1, 2 / 3], atol=1e-12)
    # true mass [3,4,2]/9 -> inverse noise = [1/3, 1/4, 0]
    np.testing.assert_allclose(h.class_inverse_noise_rate, [1 / 3, 1 / 4, 0], atol=1e-12)
    np.testing.assert_array_equal(h.class_issues, [1, 0, 1])
    np.testing.assert_array_equal(h.class_inverse_issues, [1, 1, 0])
    np.testing.assert_allclose(h.class_mean_score, [0.6, 1.75 / 3, 0.66], atol=1e-12)
    np.testing.assert_allclose(h.class_priors, [1 / 3, 4 / 9, 2 / 9], atol=1e-12)
    np.testing.assert_allclose(h.noise_matrix, [[2 / 3, 1 / 4, 0], [0, 3 / 4, 0], [1 / 3, 0, 1]], atol=1e-12)
    # pairs: (0,1): 1/9 + 0; (0,2): 0 + 1/9; (1,2): 0 -> tie (0,1),(0,2) in index order
    assert list(zip(h.pair_a.tolist(), h.pair_b.tolist())) == [(0, 1), (0, 2), (1, 2)]
    np.testing.assert_allclose(h.pair_joint, [1 / 9, 1 / 9, 0], atol=1e-15)
    np.testing.assert_array_equal(h.pair_count, [1, 1, 0])


def test_health_summary_top_pairs_and_names():
    h = health_summary(A_LABELS, A_PROBS, class_names=["cat", "dog", "eel"], top_pairs=1)
    assert list(zip(h.pair_a.tolist(), h.pair_b.tolist())) == [(0, 1)]
    d = h.to_dict()
    assert d["overlapping_pairs"] == [
        {"class_a": "cat", "class_b": "dog", "joint_probability": pytest.approx(1 / 9), "num_overlapping": 1}
    ]
    assert d["classes"] == ["cat", "dog", "eel"]
    assert health_summary(A_LABELS, A_PROBS, top_pairs=0).pair_a.size == 0
    assert health_summary(A_LABELS, A_PROBS, top_pairs=None).pair_a.size == 3
    raises_one_line("class_names has 2 names", health_summary, A_LABELS, A_PROBS, class_names=["a", "b"])


def test_health_summary_pairs_ranked_by_symmetric_joint():
    # D (K=2, one pair), then the pair-ranking helper on a hand-made joint.
    h = health_summary(D_LABELS, D_PROBS)
    # C = [[4,2],[1,2]] -> pair (0,1) mass (2+1)/9 = 1/3, 3 examples; 3 issues (r3, r4, r8)
    assert h.pair_a.tolist() == [0] and h.pair_b.tolist() == [1]
    assert h.pair_joint[0] == pytest.approx(1 / 3)
    assert h.pair_count.tolist() == [3]
    assert h.num_issues == 3 and h.health_score == pytest.approx(6 / 9)
    joint = np.array([[0.50, 0.05, 0.02], [0.10, 0.20, 0.00], [0.03, 0.00, 0.10]])
    # (0,1): .05 + .10 = .15; (0,2): .02 + .03 = .05; (1,2): 0
    a, b, j, c = overlapping_pairs(joint, 100, top=None)
    assert list(zip(a.tolist(), b.tolist())) == [(0, 1), (0, 2), (1, 2)]
    np.testing.assert_allclose(j, [0.15, 0.05, 0.0], atol=1e-15)
    assert c.tolist() == [15, 5, 0]
    a, b, _, _ = overlapping_pairs(joint, 100, top=2)
    assert list(zip(a.tolist(), b.tolist())) == [(0, 1), (0, 2)]
    # (1,2) heavier than (0,2) when joint[2,1] is large
    joint2 = joint.copy()
    joint2[2, 1] = 0.12  # (1,2) = 0 + .12 = .12: between (0,1) .15 and (0,2) .05
    a, b, _, _ = overlapping_pairs(joint2, 100, top=None)
    assert list(zip(a.tolist(), b.tolist())) == [(0, 1), (1, 2), (0, 2)]


def test_health_summary_to_dict_json_and_keys():
    h = health_summary(A_LABELS, A_PROBS)
    d = h.to_dict()
    json.dumps(d)  # must be serialisable
    assert set(d) == {
        "num_examples",
        "num_classes",
        "health_score",
        "estimated_noise_rate",
        "estimated_num_issues",
        "per_class_estimated_issues_total",
        "issues_note",
        "classes",
        "per_class",
        "overlapping_pairs",
        "noise_matrix",
        "joint",
        "class_priors",
    }
    assert d["num_examples"] == 9 and d["estimated_num_issues"] == 2
    assert d["health_score"] == pytest.approx(7 / 9)
    assert d["estimated_noise_rate"] == pytest.approx(2 / 9)
    assert len(d["per_class"]) == 3
    assert set(d["per_class"][0]) == {
        "class",
        "class_index",
        "examples",
        "estimated_issues",
        "noise_rate",
        "inverse_issues",
        "inverse_noise_rate",
        "label_quality",
        "mean_label_score",
    }
    assert d["per_class"][0] == {
        "class": "0",
        "class_index": 0,
        "examples": 3,
        "estimated_issues": 1,
        "noise_rate": pytest.approx(1 / 3),
        "inverse_issues": 1,
        "inverse_noise_rate": pytest.approx(1 / 3),
        "label_quality": pytest.approx(2 / 3),
        "mean_label_score": pytest.approx(0.6),
    }
    assert np.array(d["joint"]).shape == (3, 3)


def test_health_summary_absent_class_is_json_safe():
    # class 2 has no rows: mean score NaN -> None in JSON (json.dumps would write NaN otherwise)
    labels = [0, 0, 1, 1]
    probs = [[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]]
    h = health_summary(labels, probs)
    assert np.isnan(h.class_mean_score[2])
    d = h.to_dict()
    assert d["per_class"][2]["mean_label_score"] is None
    json.dumps(d, allow_nan=False)


def test_health_summary_health_score_is_one_minus_issue_fraction_random():
    s, p, _ = planted_noise(seed=4, n=500, k=4)
    h = health_summary(s, p)
    n_iss = num_label_issues(s, p)
    assert h.num_issues == n_iss
    assert h.health_score == pytest.approx(1 - n_iss / 500)
    assert h.noise_rate == pytest.approx(n_iss / 500)


def test_top_indices_ties_in_index_order():
    vals = np.array([3.0, 1.0, 3.0, 2.0, 3.0])
    assert top_indices(vals, None).tolist() == [0, 2, 4, 3, 1]
    assert top_indices(vals, 10).tolist() == [0, 2, 4, 3, 1]
    assert top_indices(vals, 2).tolist() == [0, 2]
    assert top_indices(vals, 4).tolist() == [0, 2, 4, 3]
    assert top_indices(vals, 0).tolist() == []
    assert top_indices(vals, -1).tolist() == []
    # the cut value itself is tied: [1,2,2,2,0], top 2 -> the first two 2s
    assert top_indices(np.array([1.0, 2.0, 2.0, 2.0, 0.0]), 2).tolist() == [1, 2]
    # mixed: 5 above, then ties at 4
    assert top_indices(np.array([4.0, 5.0, 4.0, 4.0]), 3).tolist() == [1, 0, 2]
