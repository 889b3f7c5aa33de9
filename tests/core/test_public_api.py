"""Hand-checked unit tests of the core: the public API surface, determinism, inputs left unmodified,
planted noise.

Every expected value below is worked out by hand from small fixtures (tests/core/handchecked.py);
the arithmetic is in the comments. Conformance against cleanlab itself lives in tests/test_conformance.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import labelcli
from labelcli import FILTERS, METHODS, LabelError, find_label_issues, health_summary, label_quality_scores
from tests.core.handchecked import A_LABELS, A_PROBS, planted_noise


# ================================================================================================
# public API surface
# ================================================================================================


def test_public_api_exports():
    for name in labelcli.__all__:
        assert hasattr(labelcli, name), name
    assert FILTERS == (
        "low_posterior",
        "low_adjusted_margin",
        "prune_by_noise_rate",
        "prune_by_class",
        "both",
        "confident_learning",
        "predicted_neq_given",
        "low_self_confidence",
        "low_normalized_margin",
    )
    assert METHODS == ("posterior", "adjusted_margin", "self_confidence", "normalized_margin", "confidence_weighted_entropy")
    assert issubclass(LabelError, Exception)


# ================================================================================================
# determinism
# ================================================================================================


def test_find_label_issues_is_deterministic():
    s, p, _ = planted_noise(seed=1, n=1000, k=4)
    for f in FILTERS:
        r1 = find_label_issues(s, p, filter_by=f)
        r2 = find_label_issues(s, p, filter_by=f)
        np.testing.assert_array_equal(r1.mask, r2.mask)
        np.testing.assert_array_equal(r1.ranking, r2.ranking)
        np.testing.assert_array_equal(r1.scores, r2.scores)


def test_float32_and_float64_give_the_same_mask():
    # probabilities are multiples of 1/256, exact in both dtypes, and the classes well separated
    rng = np.random.default_rng(8)
    n, k = 600, 3
    y = rng.integers(0, k, n)
    base = np.full((n, k), 0.1)
    base[np.arange(n), y] = 0.8
    counts = np.array([rng.multinomial(256, row) for row in base])
    p64 = counts / 256.0
    s = y.copy()
    flip = rng.random(n) < 0.1
    s[flip] = (y[flip] + 1) % k
    p32 = p64.astype(np.float32)
    for f in FILTERS:
        r64 = find_label_issues(s, p64, filter_by=f)
        r32 = find_label_issues(s, p32, filter_by=f)
        np.testing.assert_array_equal(r64.mask, r32.mask, err_msg=f)
        np.testing.assert_array_equal(r64.ranking, r32.ranking, err_msg=f)
    assert find_label_issues(s, p64).num_issues > 20


def test_inputs_not_modified():
    labels = A_LABELS.copy()
    probs = A_PROBS.copy()
    find_label_issues(labels, probs, filter_by="both")
    label_quality_scores(labels, probs, method="self_confidence", adjust_pred_probs=True)
    health_summary(labels, probs)
    np.testing.assert_array_equal(labels, A_LABELS)
    np.testing.assert_array_equal(probs, A_PROBS)


# ================================================================================================
# planted noise
# ================================================================================================


def test_planted_noise_precision_and_recall():
    # N = 3000, K = 5, 10% uniform flips; logits N(0,1) + 3 on the true class.
    # Measured (seed 0), 318 flipped: cleanlab's defaults flag 314, precision 0.936, recall 0.925;
    # labelcli's (low_adjusted_margin) 324, precision 0.917, recall 0.934.
    s, p, flip = planted_noise(seed=0)
    f1 = {}
    for compat in ("cleanlab", None):
        res = find_label_issues(s, p, compat=compat)
        tp = int((res.mask & flip).sum())
        precision = tp / res.num_issues
        recall = tp / int(flip.sum())
        assert precision >= 0.7, (compat, precision)
        assert recall >= 0.7, (compat, recall)
        f1[compat] = 2 * precision * recall / (precision + recall)
        if compat == "cleanlab":
            assert (precision, recall) == (pytest.approx(0.936, abs=0.01), pytest.approx(0.925, abs=0.01))
    assert f1[None] >= f1["cleanlab"] - 0.02, f1
