"""Hand-checked unit tests of the core: label_quality_scores (labelcli.core.ranking).

Every expected value below is worked out by hand from small fixtures (tests/core/handchecked.py);
the arithmetic is in the comments. Conformance against cleanlab itself lives in tests/test_conformance.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from labelcli import METHODS, label_quality_scores
from labelcli.core.defaults import LABELCLI
from tests.core.handchecked import (
    raises_one_line,
    A_LABELS,
    A_PROBS,
    A_SELF_CONF,
    A_MARGIN,
    adjusted_margin_formula,
)


# ================================================================================================
# label_quality_scores
# ================================================================================================


def test_label_quality_scores_self_confidence_and_margin():
    np.testing.assert_allclose(label_quality_scores(A_LABELS, A_PROBS, method="self_confidence"), A_SELF_CONF, atol=1e-15)
    np.testing.assert_allclose(label_quality_scores(A_LABELS, A_PROBS, compat="cleanlab"), A_SELF_CONF, atol=1e-15)
    np.testing.assert_allclose(
        label_quality_scores(A_LABELS, A_PROBS, method="normalized_margin"), A_MARGIN, atol=1e-12
    )
    np.testing.assert_allclose(
        label_quality_scores(A_LABELS, A_PROBS, method="adjusted_margin"), adjusted_margin_formula(A_LABELS, A_PROBS),
        rtol=0, atol=1e-12,
    )
    np.testing.assert_array_equal(
        label_quality_scores(A_LABELS, A_PROBS), label_quality_scores(A_LABELS, A_PROBS, method=LABELCLI.rank_by)
    )


def test_label_quality_scores_confidence_weighted_entropy_hand():
    labels = [0, 0, 2, 0]
    probs = [[0.5, 0.5, 0.0], [0.6, 0.3, 0.1], [0.6, 0.3, 0.1], [0.9, 0.1, 0.0]]
    # H = -sum p ln p / ln K (K = 3), ratio x = H / p_given, score = ln(1 + x) / x
    # r0: H = ln2/ln3 = .630930, x = 1.261860, score = ln(2.261860)/1.261860
    h0 = math.log(2) / math.log(3)
    # r1: H = -(.6 ln .6 + .3 ln .3 + .1 ln .1)/ln 3 = .897946/1.098612 = .817345
    h1 = -(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1)) / math.log(3)
    # r3: H = -(.9 ln .9 + .1 ln .1)/ln 3 = .325083/1.098612 = .295904
    h3 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / math.log(3)
    expected = [
        math.log(1 + h0 / 0.5) / (h0 / 0.5),
        math.log(1 + h1 / 0.6) / (h1 / 0.6),  # = 0.631027
        math.log(1 + h1 / 0.1) / (h1 / 0.1),  # = 0.271160
        math.log(1 + h3 / 0.9) / (h3 / 0.9),
    ]
    got = label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got[1] == pytest.approx(0.6310267127, abs=1e-9)
    assert got[2] == pytest.approx(0.2711600068, abs=1e-9)
    # K = 2, [.5,.5] labelled 0: H = 1, x = 2, score = ln 3 / 2
    got2 = label_quality_scores([0, 1], [[0.5, 0.5], [0.1, 0.9]], method="confidence_weighted_entropy")
    assert got2[0] == pytest.approx(math.log(3) / 2, abs=1e-12)


def test_confidence_weighted_entropy_one_hot_row_scores_zero():
    """Documents a reference quirk: a one-hot row has entropy 0, so x = 0 and the score is
    ln(1)/max(0, 1e-6) = 0 -- the *lowest* possible score for a perfectly confident, correct
    label (cleanlab 2.9 gives 0 too; the limit of ln(1+x)/x as x -> 0 would be 1)."""
    got = label_quality_scores([0, 1], [[1.0, 0.0], [0.0, 1.0]], method="confidence_weighted_entropy")
    np.testing.assert_array_equal(got, [0.0, 0.0])


def test_label_quality_scores_adjust_pred_probs():
    labels = [0, 0, 1, 1]
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    # t = [.7, .8]; adjusted = (p - t + max t) / row sum, row sum = 1 - 1.5 + 2*.8 = 1.1
    #   r0 [.9, .2]/1.1, r1 [.7, .4]/1.1, r2 [.4, .7]/1.1, r3 [.2, .9]/1.1
    sc = label_quality_scores(labels, probs, method="self_confidence", adjust_pred_probs=True)
    np.testing.assert_allclose(sc, [9 / 11, 7 / 11, 7 / 11, 9 / 11], atol=1e-12)
    # margin: r0 (9/11 - 2/11 + 1)/2 = 9/11; r1 (7/11 - 4/11 + 1)/2 = 7/11; same for r2, r3
    nm = label_quality_scores(labels, probs, method="normalized_margin", adjust_pred_probs=True)
    np.testing.assert_allclose(nm, [9 / 11, 7 / 11, 7 / 11, 9 / 11], atol=1e-12)
    # adjusted_margin has its own adjustment built in (shrunk thresholds): the flag changes nothing
    am = label_quality_scores(labels, probs, method="adjusted_margin")
    np.testing.assert_array_equal(label_quality_scores(labels, probs, method="adjusted_margin", adjust_pred_probs=True), am)
    np.testing.assert_allclose(am, adjusted_margin_formula(labels, probs), rtol=0, atol=1e-12)
    # unshrunk, it is the normalized margin of the adjusted rows above
    np.testing.assert_allclose(adjusted_margin_formula(labels, probs, prior=0), [9 / 11, 7 / 11, 7 / 11, 9 / 11], atol=1e-12)
    # the input is not modified
    np.testing.assert_array_equal(probs, [[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])


def test_label_quality_scores_in_unit_interval_random():
    rng = np.random.default_rng(7)
    for k in (2, 3, 5):
        labels = rng.integers(0, k, 300)
        probs = rng.dirichlet(np.ones(k) * 0.5, 300)
        probs[:5] = np.eye(k)[rng.integers(0, k, 5)]  # some one-hot rows
        for method in METHODS:
            for adjust in (False, True):
                if adjust and method in ("confidence_weighted_entropy", "posterior"):
                    continue
                s = label_quality_scores(labels, probs, method=method, adjust_pred_probs=adjust)
                assert s.shape == (300,) and s.dtype == np.float64
                assert np.isfinite(s).all()
                assert (s >= 0).all() and (s <= 1).all(), (method, adjust)


def test_label_quality_scores_invalid_method():
    raises_one_line("unknown scoring method 'nope'", label_quality_scores, A_LABELS, A_PROBS, method="nope")
    raises_one_line(
        "adjust_pred_probs is not supported",
        label_quality_scores,
        A_LABELS,
        A_PROBS,
        method="confidence_weighted_entropy",
        adjust_pred_probs=True,
    )
