"""Invariants of the confident-learning core (hypothesis), and the CLI across input formats.

Which properties truly hold (and which do not) for confident learning:
- Row permutation equivariance holds on tie-free data only: exact ties (equal margins, equal
  scores) are broken by row index, so permuting rows can change which tied rows are flagged.
  The tie rule itself is tested separately (test_ties_follow_row_order_*).
- Class permutation equivariance holds for the scores, and for the raw confident joint when no
  row has tied top probabilities (a tie goes to the first column, numpy argmax); the calibrated
  joint rounds with ties between equal fractional parts broken by column order (as cleanlab
  does), so the pruning filters are equivariant exactly when the calibrated joints are.
- float16 / float32 / float64 copies of the same values (exactly representable in float16) give
  identical flags and rankings; where float16 rounding *creates* ties, tied rows follow row order.
- `confidence_weighted_entropy` (cleanlab's formula, kept for parity) scores a one-hot row 0 even
  when its label is the certain one: log(1 + r) / max(r, 1e-6) is 0 at r = 0. Documented and
  pinned in test_confidence_weighted_entropy_of_one_hot_rows.
- `adjusted_margin` (labelcli's default score) subtracts per-class mean self-confidences summed in
  row order, so permuting rows moves its scores by a few ulps (not bit-identical, unlike the other
  scores: test_adjusted_margin_row_permutation_is_exact is an expected failure); float16 / float32
  / float64 inputs of different values give scores within the bound their rounding allows.
- `low_adjusted_margin` flags exactly as many rows as its adjusted confident joint counts off the
  diagonal (recomputed here from the definition), the lowest adjusted margins, ties to the
  earlier row.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import labelcli
from labelcli.core.adjusted import THRESHOLD_PRIOR
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

PRUNING = ("prune_by_noise_rate", "prune_by_class", "both")
# LABELCLI_PROPERTY_EXAMPLES=1000 for a deeper (slower) search; CI keeps the default.
SETTINGS = settings(max_examples=int(os.environ.get("LABELCLI_PROPERTY_EXAMPLES", "40")), deadline=None,
                    derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------------- data


def _labels_near(rng, true, k, noise=0.2):
    n = len(true)
    labels = np.where(rng.random(n) < noise, rng.integers(0, k, n), true)
    if n >= 2 and len(np.unique(labels)) < 2:  # finding issues needs two classes present
        labels[0], labels[1] = 0, 1
    return labels.astype(np.int64)


def make_problem(seed: int, n: int, k: int, style: str):
    """(labels, pred_probs) of one of three kinds:
    continuous: Dirichlet rows (no exact ties, no exact 0 or 1);
    quantized:  small integer weights (exact 0 and 1, many exact ties);
    float16:    multiples of 1/1024 summing exactly to 1 (identical in float16/32/64)."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    if style == "continuous":
        p = rng.dirichlet(np.full(k, 0.6), n)
        p[np.arange(n), true] += rng.uniform(0.0, 2.0, n)
        p /= p.sum(axis=1, keepdims=True)
    elif style == "quantized":
        w = rng.integers(0, 3, (n, k))
        w[np.arange(n), true] += rng.integers(0, 6, n)
        w[w.sum(axis=1) == 0, 0] = 1
        p = w / w.sum(axis=1, keepdims=True)
    else:
        conc = rng.dirichlet(np.full(k, 0.6), n)
        conc[np.arange(n), true] += 1.0
        w = np.stack([rng.multinomial(1024, row / row.sum()) for row in conc])
        p = w / 1024.0
    return _labels_near(rng, true, k), p


@st.composite
def problems(draw, styles=("continuous", "quantized", "float16"), min_n=2, max_n=80, max_k=6):
    style = draw(st.sampled_from(styles))
    n = draw(st.integers(min_n, max_n))
    k = draw(st.integers(2, max_k))
    seed = draw(st.integers(0, 2**32 - 1))
    note(f"style={style} n={n} k={k} seed={seed}")
    return make_problem(seed, n, k, style)


def issues(labels, p, filter_by="prune_by_noise_rate", **kw):
    return find_label_issues(labels, p, filter_by=filter_by, **kw)


# ------------------------------------------------------------------------------- ranges, bounds


@SETTINGS
@given(problems(min_n=1), st.sampled_from(METHODS), st.booleans())
def test_scores_are_in_0_1(problem, method, adjust):
    labels, p = problem
    assume(not (adjust and method in ("confidence_weighted_entropy", "posterior")))
    s = label_quality_scores(labels, p, method=method, adjust_pred_probs=adjust)
    assert s.shape == (len(labels),) and s.dtype == np.float64
    assert np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all(), s


@SETTINGS
@given(problems())
def test_counts_and_health_are_bounded(problem):
    labels, p = problem
    n, k = p.shape
    for method in ("off_diagonal", "off_diagonal_calibrated"):
        assert 0 <= num_label_issues(labels, p, method=method) <= n
    h = health_summary(labels, p)
    assert 0.0 <= h.health_score <= 1.0 and 0.0 <= h.noise_rate <= 1.0
    assert 0 <= h.num_issues <= n and h.num_issues == num_label_issues(labels, p)
    assert np.isclose(h.joint.sum(), 1.0) and (h.joint >= 0).all()
    # p(given | true = j) sums to 1 over j's column, except for a true class the calibrated joint
    # gives no mass at all (possible on tiny data): that column is undefined and left 0, as in cleanlab
    has_mass = h.joint.sum(axis=0) > 0
    assert np.allclose(h.noise_matrix.sum(axis=0)[has_mass], 1.0)
    assert np.allclose(h.noise_matrix.sum(axis=0)[~has_mass], 0.0)
    given_mass = h.joint.sum(axis=1) > 0
    assert np.allclose(h.inverse_noise_matrix.sum(axis=0)[given_mass], 1.0)
    assert ((h.class_noise_rate >= 0) & (h.class_noise_rate <= 1)).all()
    assert np.isclose(h.class_priors.sum(), 1.0)
    cj = confident_joint(labels, p)
    assert cj.sum() == n and (cj.sum(axis=1) == np.bincount(labels, minlength=k)).all()
    for f in FILTERS:
        r = issues(labels, p, f)
        assert r.num_issues <= n and len(r.ranking) == r.num_issues
        assert sorted(r.ranking.tolist()) == np.flatnonzero(r.mask).tolist()


@SETTINGS
@given(problems())
def test_both_is_the_intersection_and_count_filters_respect_the_argmax(problem):
    labels, p = problem
    by_class, by_rate, both = (issues(labels, p, f).mask for f in PRUNING)
    assert (both == (by_class & by_rate)).all()
    bumped = p.copy()
    bumped[np.arange(len(labels)), labels] += 1e-6
    agrees = bumped.argmax(axis=1) == labels
    for f in ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"):
        assert not (issues(labels, p, f).mask & agrees).any(), f


# ----------------------------------------------------------------------------------- determinism


@SETTINGS
@given(problems(), st.sampled_from(FILTERS), st.sampled_from(METHODS))
def test_two_calls_are_byte_identical(problem, filter_by, rank_by):
    labels, p = problem
    a = issues(labels, p, filter_by, rank_by=rank_by)
    b = issues(labels.copy(), p.copy(), filter_by, rank_by=rank_by)
    for field in ("mask", "ranking", "scores", "predicted"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes(), field
    ha = json.dumps(labelcli.health_summary(labels, p).to_dict())
    assert ha == json.dumps(labelcli.health_summary(labels.copy(), p.copy()).to_dict())


# ---------------------------------------------------------------------------------- equivariance


@SETTINGS
@given(problems(styles=("continuous",)), st.integers(0, 2**32 - 1), st.sampled_from(FILTERS),
       st.sampled_from(METHODS))
def test_row_permutation_equivariance_without_ties(problem, seed, filter_by, rank_by):
    labels, p = problem
    perm = np.random.default_rng(seed).permutation(len(labels))
    a = issues(labels, p, filter_by, rank_by=rank_by)
    b = issues(labels[perm], p[perm], filter_by, rank_by=rank_by)
    assert (b.mask == a.mask[perm]).all()
    assert (perm[b.ranking] == a.ranking).all()  # same rows, same order
    if rank_by == "adjusted_margin":  # thresholds are float sums in row order (np.bincount): a few ulps
        np.testing.assert_allclose(b.scores, a.scores[perm], rtol=0, atol=1e-13)
    elif rank_by == "posterior":
        # the noise model's likelihood sums rows in order and its Newton fit stops at steps of
        # 1e-10 (posterior.STEP_TOL): the fitted model, and so the scores, agree to ~1e-9
        np.testing.assert_allclose(b.scores, a.scores[perm], rtol=0, atol=1e-8)
    else:
        assert (b.scores == a.scores[perm]).all()
    assert (confident_joint(labels[perm], p[perm]) == confident_joint(labels, p)).all()
    ha, hb = health_summary(labels, p), health_summary(labels[perm], p[perm])
    assert ha.num_issues == hb.num_issues and np.array_equal(ha.joint, hb.joint)
    assert np.allclose(ha.class_mean_score, hb.class_mean_score, equal_nan=True)


@SETTINGS
@given(problems(styles=("continuous", "quantized")), st.integers(0, 2**32 - 1), st.sampled_from(FILTERS))
def test_class_permutation_and_renaming_equivariance(problem, seed, filter_by):
    labels, p = problem
    k = p.shape[1]
    sigma = np.random.default_rng(seed).permutation(k)  # new class j is old class sigma[j]
    inverse = np.argsort(sigma)
    labels2, p2 = inverse[labels], p[:, sigma]
    s1 = label_quality_scores(labels, p, method="self_confidence")
    assert np.array_equal(s1, label_quality_scores(labels2, p2, method="self_confidence"))
    for m in ("normalized_margin", "confidence_weighted_entropy"):
        assert np.allclose(label_quality_scores(labels, p, method=m), label_quality_scores(labels2, p2, method=m),
                           rtol=0, atol=1e-12)
    raw1 = confident_joint(labels, p, calibrate=False)
    raw2 = confident_joint(labels2, p2, calibrate=False)
    if ((p == p.max(axis=1, keepdims=True)).sum(axis=1) > 1).any():
        # A row whose top probabilities tie goes to the first tied column (numpy argmax, as in
        # cleanlab): the raw joint follows column order. See test_argmax_ties_follow_column_order.
        note("tied maxima: the raw confident joint depends on column order")
    else:
        assert np.array_equal(raw2, raw1[np.ix_(sigma, sigma)])
    a, b = issues(labels, p, filter_by), issues(labels2, p2, filter_by)
    if filter_by in PRUNING:
        cal1, cal2 = confident_joint(labels, p), confident_joint(labels2, p2)
        if not np.array_equal(cal2, cal1[np.ix_(sigma, sigma)]):
            note("calibration rounding broke a tie by column order: pruning is not equivariant here")
            return
    # argmax ties between two non-given classes can change `predicted`, never the flags
    assert (a.mask == b.mask).all()


def test_argmax_ties_follow_column_order():
    """A row confidently in two classes with equal probability counts for the first column."""
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    p = np.array([[0.4, 0.3, 0.3], [0.4, 0.3, 0.3], [0.3, 0.4, 0.3], [0.3, 0.4, 0.3],
                  [0.05, 0.05, 0.9], [0.05, 0.05, 0.9], [0.5, 0.5, 0.0]])  # thresholds 0.4, 0.4, 0.6
    cj = confident_joint(labels, p, calibrate=False)
    assert cj[2].tolist() == [1, 0, 2]  # the tied row (labeled 2) counts for class 0, not 1
    swapped = confident_joint(np.array([1, 1, 0, 0, 2, 2, 2]), p[:, [1, 0, 2]], calibrate=False)
    assert swapped[2].tolist() == [1, 0, 2]  # ... for the class now in column 0


def test_calibration_ties_follow_column_order():
    """The documented exception: equal fractional parts round up in column order (as cleanlab)."""
    labels = np.array([0] * 4 + [1] * 4 + [2] * 4)
    p = np.full((12, 3), 0.05)
    p[np.arange(12), labels] = 0.9
    # class 0: one row goes confidently to 1 and one to 2 -> row 0 of the joint is [2, 1, 1]
    p[1] = [0.05, 0.9, 0.05]
    p[2] = [0.05, 0.05, 0.9]
    cj = confident_joint(labels, p, calibrate=False)
    assert cj[0].tolist() == [2, 1, 1]
    sigma = np.array([0, 2, 1])
    cal1 = confident_joint(labels, p)
    cal2 = confident_joint(np.argsort(sigma)[labels], p[:, sigma])
    # no fractional ties here: the calibrated joint is equivariant
    assert np.array_equal(cal2, cal1[np.ix_(sigma, sigma)])


# -------------------------------------------------------------------------------- planted errors


@st.composite
def separated_with_one_flip(draw):
    """Well-separated pred_probs (own class 0.85-0.95, the flipped row 0.99 for its true class),
    at least 5 examples per class; one row's label is flipped to another class."""
    k = draw(st.integers(2, 6))
    m = draw(st.integers(5, 25))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    true = np.repeat(np.arange(k), m)
    rng.shuffle(true)
    n = len(true)
    own = rng.uniform(0.85, 0.95, n)
    rest = rng.dirichlet(np.ones(k - 1), n) * (1 - own)[:, None] if k > 2 else (1 - own)[:, None]
    p = np.empty((n, k))
    for i in range(n):
        p[i, true[i]] = own[i]
        p[i, [c for c in range(k) if c != true[i]]] = rest[i]
    row = draw(st.integers(0, n - 1))
    wrong = (true[row] + draw(st.integers(1, k - 1))) % k
    p[row] = 0.01 / (k - 1)
    p[row, true[row]] = 0.99
    labels = true.copy()
    labels[row] = wrong
    note(f"k={k} m={m} seed={seed} row={row} {true[row]}->{wrong}")
    return true, labels, p, row


@SETTINGS
@given(separated_with_one_flip())
def test_flipping_a_confident_example_gets_it_flagged_by_every_filter(case):
    true, labels, p, row = case
    for f in FILTERS:
        clean = issues(true, p, f)
        flipped = issues(labels, p, f)
        assert clean.num_issues == 0, (f, np.flatnonzero(clean.mask))
        assert flipped.mask[row] and flipped.num_issues == 1, (f, np.flatnonzero(flipped.mask))
        assert flipped.ranking.tolist() == [row]
    assert num_label_issues(labels, p) == 1 and health_summary(labels, p).num_issues == 1


@SETTINGS
@given(problems(), st.data())
def test_a_given_label_with_probability_one_is_never_flagged(problem, data):
    labels, p = problem
    n, k = p.shape
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=max(1, n // 4), unique=True))
    p = p.copy()
    for r in rows:
        p[r] = 0.0
        p[r, labels[r]] = 1.0 - 1e-12 * (r % 2)  # exactly 1, or a hair below
        if r % 2:
            p[r, (labels[r] + 1) % k] = 1e-12
    assume(len(np.unique(labels)) >= 2)
    for f in FILTERS:
        flagged = issues(labels, p, f).mask
        assert not flagged[rows].any(), (f, [r for r in rows if flagged[r]])


# ------------------------------------------------------------------------------- dtypes and ties


@SETTINGS
@given(problems(styles=("float16",)), st.sampled_from(FILTERS),
       st.sampled_from(("adjusted_margin", "self_confidence", "normalized_margin")))
def test_float16_32_64_of_the_same_values_agree(problem, filter_by, rank_by):
    labels, p64 = problem
    p32, p16 = p64.astype(np.float32), p64.astype(np.float16)
    assert np.array_equal(p16.astype(np.float64), p64) and np.array_equal(p32.astype(np.float64), p64)
    r64, r32, r16 = (issues(labels, q, filter_by, rank_by=rank_by) for q in (p64, p32, p16))
    assert np.array_equal(r64.mask, r32.mask) and np.array_equal(r64.mask, r16.mask)
    assert np.array_equal(r64.ranking, r32.ranking) and np.array_equal(r64.ranking, r16.ranking)
    assert np.array_equal(r64.scores, r16.scores)


@SETTINGS
@given(problems(styles=("continuous", "quantized")), st.sampled_from(FILTERS), st.sampled_from(METHODS))
def test_ranking_is_by_score_then_row_index(problem, filter_by, rank_by):
    """Ties (common after float16 rounding) are broken by row index, earlier first."""
    labels, p = problem
    for q in (p, p.astype(np.float16)):
        r = issues(labels, q, filter_by, rank_by=rank_by)
        flagged = np.flatnonzero(r.mask)
        expect = sorted(flagged.tolist(), key=lambda i: (r.scores[i], i))
        assert r.ranking.tolist() == expect


def test_ties_follow_row_order_in_prune_by_noise_rate_and_prune_by_class():
    """Identical flipped rows: when frac_noise keeps only some of them, the earliest rows win."""
    labels = np.array([0] * 10 + [1] * 10)
    p = np.tile([0.9, 0.1], (20, 1))
    p[10:] = [0.1, 0.9]
    twins = [12, 14, 16, 18]  # labeled 1, identical, confidently class 0
    p[twins] = [0.95, 0.05]
    for f in PRUNING:
        all4 = issues(labels, p, f)
        assert np.flatnonzero(all4.mask).tolist() == twins, f
        half = issues(labels, p, f, frac_noise=0.5)
        assert np.flatnonzero(half.mask).tolist() == twins[:2], f
        assert half.ranking.tolist() == twins[:2]


def test_float16_rounding_creates_ties_broken_by_row_order():
    rng = np.random.default_rng(5)
    labels = np.array([0] * 30 + [1] * 30)
    p = np.empty((60, 2))
    p[:, 0] = np.where(labels == 0, rng.uniform(0.8, 0.9, 60), rng.uniform(0.1, 0.2, 60))
    flipped = np.arange(30, 40)  # labeled 1, confidently 0, distinct in float64 ...
    p[flipped, 0] = 0.97 + np.arange(10) * 1e-5
    p[:, 1] = 1 - p[:, 0]
    p16 = p.astype(np.float16)  # ... but equal in float16 (both columns, rows still sum to 1)
    p16[:, 1] = (1.0 - p16[:, 0].astype(np.float64)).astype(np.float16)
    assert len(np.unique(p16[flipped], axis=0)) == 1 and len(np.unique(p[flipped], axis=0)) == 10
    r64 = issues(labels, p, "prune_by_noise_rate", frac_noise=0.5)
    r16 = issues(labels, p16, "prune_by_noise_rate", frac_noise=0.5)
    # float64: the largest margins (the last rows); float16: all tied, the earliest rows
    assert set(np.flatnonzero(r64.mask)) == set(flipped[-5:].tolist())
    assert np.flatnonzero(r16.mask).tolist() == flipped[:5].tolist()


# ------------------------------------------------------------------------------- edge values


def test_confidence_weighted_entropy_of_one_hot_rows():
    """Known limit of the reference formula, kept for parity with cleanlab 2.9: a one-hot row scores
    0 whether its label is the certain class or not (entropy 0 -> log(1 + 0) / 1e-6 = 0)."""
    labels = np.array([0, 1, 0])
    p = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.4]])
    s = label_quality_scores(labels, p, method="confidence_weighted_entropy")
    assert s[0] == 0.0 and s[1] == 0.0 and 0 < s[2] < 1
    assert label_quality_scores(labels, p, method="self_confidence")[0] == 1.0


@SETTINGS
@given(problems(styles=("quantized",), max_k=4))
def test_exact_zero_and_one_probabilities(problem):
    labels, p = problem
    p = p.copy()
    p[0] = 0.0
    p[0, labels[0]] = 1.0
    if len(labels) > 1:
        p[1] = 0.0
        p[1, (labels[1] + 1) % p.shape[1]] = 1.0  # certain, and not the given label
    for f in FILTERS:
        r = issues(labels, p, f)
        assert not r.mask[0]
    assert issues(labels, p, "predicted_neq_given").mask[1] == (len(labels) > 1)
    for m in METHODS:
        s = label_quality_scores(labels, p, method=m)
        assert ((s >= 0) & (s <= 1)).all()


def test_default_filter_never_flags_a_label_with_probability_one():
    """Regression, found by test_exact_zero_and_one_probabilities when the thresholds were plain
    class means: row 0 is the only row of class 0 (t_0 = 1), class 3's rows 1 and 5 have p_3 = 0
    (t_3 = 0), so rows 0 (label 0, p = e_0: certainly right) and 1 (label 3, p = e_0: certainly
    wrong) had the same adjusted row and margin 0.5, and the default flagged row 0, not row 1.
    Thresholds shrunk toward the overall mean keep tiny classes from cancelling their rows."""
    labels = np.array([0, 3, 1, 2, 1, 3, 1])
    p = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0.2, 0.6, 0.1, 0.1], [0, 0.1, 0.7, 0.2],
                  [2 / 11, 6 / 11, 1 / 11, 2 / 11], [1 / 3, 1 / 3, 1 / 3, 0], [1 / 6, 1 / 3, 1 / 6, 1 / 3]])
    assert np.flatnonzero(find_label_issues(labels, p, compat="cleanlab").mask).tolist() == [1]
    r = find_label_issues(labels, p)
    assert not r.mask[0] and r.mask[1], np.flatnonzero(r.mask)
    assert r.scores[1] < r.scores[0]


@SETTINGS
@given(problems(styles=("continuous", "quantized"), min_n=4), st.sampled_from(PRUNING))
def test_an_only_example_of_its_class_is_never_pruned(problem, filter_by):
    labels, p = problem
    k = p.shape[1] + 1
    p = np.column_stack([p * 0.98, np.full(len(labels), 0.02)])  # a new class k-1 ...
    labels = labels.copy()
    labels[0] = k - 1  # ... carried by one example
    assume(len(np.unique(labels)) >= 2)
    assert not issues(labels, p, filter_by).mask[0]
    h = health_summary(labels, p)
    assert h.class_examples[k - 1] == 1 and 0 <= h.health_score <= 1


def test_bad_arrays_raise_label_error_not_crash():
    for labels, p in [([0, 1], [[np.nan, 1.0], [0.5, 0.5]]), ([0, 1], [[1.5, -0.5], [0.5, 0.5]]),
                      ([0, 2], [[0.5, 0.5], [0.5, 0.5]]), ([0], [[1.0]]), ([], np.zeros((0, 2)))]:
        with pytest.raises(LabelError):
            find_label_issues(np.array(labels), np.array(p, dtype=float))


# ------------------------------------------------------- labelcli's default: the adjusted margin


def _margin_thresholds_reference(labels, p):
    """t_k: the mean self-confidence of the rows labeled k, shrunk toward the overall mean by
    THRESHOLD_PRIOR pseudo-rows, in float64 (labelcli/core/adjusted.py)."""
    p = np.asarray(p, dtype=np.float64)
    n, k = p.shape
    sc = p[np.arange(n), labels]
    sums = np.array([sc[labels == c].sum() for c in range(k)])
    counts = np.array([np.count_nonzero(labels == c) for c in range(k)])
    return (sums + THRESHOLD_PRIOR * sc.mean()) / (counts + THRESHOLD_PRIOR)


def _adjusted_margin_reference(labels, p):
    """From the definition, in float64: a = p - t + max(t) (t: _margin_thresholds_reference), rows
    renormalised; (a_given - max other + 1) / 2."""
    p = np.asarray(p, dtype=np.float64)
    n, k = p.shape
    t = _margin_thresholds_reference(labels, p)
    a = p - t + t.max()
    a /= a.sum(axis=1, keepdims=True)
    other = np.where(np.eye(k, dtype=bool)[labels], -np.inf, a).max(axis=1)
    return (a[np.arange(n), labels] - other + 1) / 2


def _adjusted_count_reference(labels, p):
    """How many rows low_adjusted_margin flags, from its definition (labelcli/core/adjusted.py): a
    row counts for the classes at or above their confident-joint cut (t_k - 1e-6, t_k as
    per_class_thresholds gives it), and among them for the one with the largest p_j - t64_j (t64:
    _margin_thresholds_reference); rows reaching no cut are not counted; diagonal at least 1 (as
    in the confident joint); calibrated; the off-diagonal total."""
    n, k = p.shape
    confident = p >= per_class_thresholds(labels, p) - 1e-6
    d = np.where(confident, p - _margin_thresholds_reference(labels, p), -np.inf)
    cj = np.zeros((k, k), dtype=np.int64)
    for i in np.flatnonzero(confident.any(axis=1)):  # small inputs: a loop over rows is fine
        cj[labels[i], int(np.argmax(d[i]))] += 1
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    cal = calibrate_confident_joint(np.asfortranarray(cj), labels)  # the joint's memory layout
    return int(cal.sum() - np.trace(cal))


@SETTINGS
@given(problems(min_n=1), st.sampled_from(["float64", "float32", "float16"]))
def test_adjusted_margin_is_in_0_1_and_follows_its_definition(problem, dtype):
    labels, p = problem
    q = p.astype(dtype)
    s = label_quality_scores(labels, q, method="adjusted_margin")
    assert s.shape == (len(labels),) and s.dtype == np.float64
    assert np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all(), s
    # computed in float64 from the values as given (float16 is not rounded again)
    np.testing.assert_allclose(s, _adjusted_margin_reference(labels, q), rtol=0, atol=1e-12)


@SETTINGS
@given(problems(styles=("continuous",)))
def test_adjusted_margin_float16_float32_float64_within_rounding(problem):
    """Rounding p to float16 moves every entry (and so every threshold) by at most 2^-12: a_j by
    3 * 2^-12, the row sum S >= 1 by 3K * 2^-12, the score by at most (3 + 1.5K) * 2^-12."""
    labels, p = problem
    k = p.shape[1]
    s64 = label_quality_scores(labels, p, method="adjusted_margin")
    s32 = label_quality_scores(labels, p.astype(np.float32), method="adjusted_margin")
    s16 = label_quality_scores(labels, p.astype(np.float16), method="adjusted_margin")
    np.testing.assert_allclose(s32, s64, rtol=0, atol=(3 + 1.5 * k) * 2.0**-24)
    np.testing.assert_allclose(s16, s64, rtol=0, atol=(3 + 1.5 * k) * 2.0**-12)


@SETTINGS
@given(problems(styles=("continuous", "quantized")), st.integers(0, 2**32 - 1))
def test_adjusted_margin_row_permutation_within_ulps(problem, seed):
    labels, p = problem
    perm = np.random.default_rng(seed).permutation(len(labels))
    a = label_quality_scores(labels, p, method="adjusted_margin")
    b = label_quality_scores(labels[perm], p[perm], method="adjusted_margin")
    np.testing.assert_allclose(b, a[perm], rtol=0, atol=1e-13)


@SETTINGS
@given(problems(styles=("continuous", "quantized", "float16")))
def test_low_adjusted_margin_flags_its_count_of_lowest_scores(problem):
    """Exactly the adjusted count (<= N) of rows, the lowest adjusted margins, ties to the earlier
    row; and the ranking of the default is by adjusted margin."""
    labels, p = problem
    n = len(labels)
    r = issues(labels, p, "low_adjusted_margin", rank_by="adjusted_margin")
    num = _adjusted_count_reference(labels, p)
    assert 0 <= num <= n
    assert r.num_issues == num
    s = label_quality_scores(labels, p, method="adjusted_margin")
    np.testing.assert_array_equal(r.scores, s)
    expect = np.zeros(n, dtype=bool)
    expect[np.argsort(s, kind="stable")[:num]] = True
    np.testing.assert_array_equal(r.mask, expect)
    assert r.ranking.tolist() == sorted(np.flatnonzero(expect).tolist(), key=lambda i: (s[i], i))


def test_low_adjusted_margin_ties_go_to_the_earlier_row():
    """K = 2, 12 rows per label. Labeled 1: rows 12, 13 = [.95, .05] (confidently class 0), six
    identical rows 14-19 = [.5, .5] (confident in no class), rows 20-23 = [.1, .9]; labeled 0: all
    [.9, .1]. Confident-joint thresholds [.9, (2 * .05 + 6 * .5 + 4 * .9) / 12 = .558]: the
    adjusted joint's given-1 row is [2, 4] (6 rows counted), calibrated to 12 rows: [4, 8] -> 4
    issues. Adjusted margins, lowest first: rows 12, 13, the six twins (equal), the rest (near
    .05, .5 and .9 with the shrunk thresholds; .292, .627, >= .671 unshrunk) -> rows 12, 13 and
    the first two twins, 14 and 15."""
    labels = np.array([0] * 12 + [1] * 12)
    p = np.tile([0.9, 0.1], (24, 1))
    p[12:14] = [0.95, 0.05]
    p[14:20] = [0.5, 0.5]
    p[20:] = [0.1, 0.9]
    assert _adjusted_count_reference(labels, p) == 4
    r = issues(labels, p, "low_adjusted_margin", rank_by="adjusted_margin")
    assert np.flatnonzero(r.mask).tolist() == [12, 13, 14, 15]
    assert r.ranking.tolist() == [12, 13, 14, 15]
    np.testing.assert_allclose(r.scores, _adjusted_margin_reference(labels, p), rtol=0, atol=1e-12)
    assert len(np.unique(r.scores[14:20])) == 1 and r.scores[13] < r.scores[14] < np.delete(r.scores, range(12, 20)).min()


# --------------------------------------------------------------------- the CLI across formats


def _cli(args):
    from tests.conftest import cli_ok

    return cli_ok(*args)


@pytest.mark.parametrize("seed, n, k", [(0, 200, 4), (1, 57, 2), (2, 120, 7)])
def test_cli_outputs_are_byte_identical_across_npy_csv_parquet(tmp_path, seed, n, k):
    labels, p = make_problem(seed, n, k, "continuous")
    cols = {str(j): p[:, j] for j in range(k)}
    np.save(tmp_path / "y.npy", labels)
    np.save(tmp_path / "p.npy", p)
    table = pd.DataFrame({"label": labels, **cols})
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_parquet(tmp_path / "t.parquet", index=False)
    pd.DataFrame({"label": labels}).to_csv(tmp_path / "y.csv", index=False)
    pd.DataFrame(cols).to_parquet(tmp_path / "p.parquet", index=False)
    sources = {"npy": ("y.npy", "p.npy"), "csv": ("t.csv", "t.csv"), "parquet": ("t.parquet", "t.parquet"),
               "mixed": ("y.csv", "p.parquet")}
    outputs = {}
    for name, (y, pp) in sources.items():
        got = []
        for cmd, extra, out in [("find-issues", ["--all"], "i.csv"),
                                ("find-issues", ["--filter-by", "both"], "b.parquet"),
                                ("score", ["--method", "normalized_margin"], "s.csv"), ("health", [], "h.json")]:
            target = tmp_path / f"{name}_{out}"
            _cli([cmd, "-l", tmp_path / y, "-p", tmp_path / pp, *extra, "-q", "--out", target])
            got.append(target.read_bytes())
        outputs[name] = got
    for name in ("csv", "parquet", "mixed"):
        for a, b in zip(outputs["npy"], outputs[name]):
            assert a == b, name
