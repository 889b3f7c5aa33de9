"""The fast paths of the core against plain reference implementations (the straightforward numpy
code they replaced), on small seeded inputs built to hit ties, exact cuts and every code path.
Everything is compared exactly."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli.core import counting as c
from labelcli.core import latent
from labelcli.core import passes
from labelcli.core import pruning
from labelcli.core import scan as sc
from labelcli.core import select as r
from labelcli.core import validate as v
from labelcli.errors import LabelError

EPS = 1e-6


# --- references ------------------------------------------------------------------------------


def ref_round_preserving_row_totals(matrix):
    m = np.asarray(matrix, dtype=np.float64)
    out = np.round(m)
    target = np.round(m.sum(axis=1))
    for i in np.flatnonzero(np.abs(target - np.round(out.sum(axis=1))) > EPS):
        row = out[i]
        while abs(target[i] - np.round(row.sum())) > EPS:
            diff = np.round(target[i] - np.round(row.sum()))
            step = -1 if diff < 0 else 1
            row[np.argsort(m[i] - row)[::-step][: min(int(abs(diff)), len(row))]] += step
    return np.ascontiguousarray(out, dtype=np.int64)


def ref_guess(p, thresholds):
    above = p >= np.asarray(thresholds) - EPS
    n_above = above.sum(axis=1)
    guess = np.where(n_above > 1, p.argmax(axis=1), above.argmax(axis=1))
    guess[n_above == 0] = -1
    return guess


def ref_agrees(labels, p):
    bumped = p.copy()
    bumped[np.arange(len(labels)), labels] += p.dtype.type(EPS)
    return bumped.argmax(axis=1) == labels


def ref_noise_rate_mask(labels, p, pcm):
    mask = np.zeros(len(labels), dtype=bool)
    for k in range(p.shape[1]):
        rows = np.flatnonzero(labels == k)
        if len(rows) <= 1:
            continue
        for j in np.flatnonzero(pcm[:, k] > 0):
            if j != k:
                margin = p[rows, j] - p[rows, k]
                mask[rows[np.argsort(-margin, kind="stable")[: pcm[j, k]]]] = True
    return mask


def problem(seed, n, k, *, grid=None, dtype=np.float32):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) * 1.5
    logits[np.arange(n), labels] += 2.0
    if grid:
        logits = np.round(logits / grid) * grid  # many equal rows: ties everywhere
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return labels, (z / z.sum(axis=1, keepdims=True)).astype(dtype)


SHAPES = [(500, 2), (800, 3), (3000, 10), (2000, 64), (2000, 65), (1500, 100), (600, 300)]


# --- counting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n,k", SHAPES, ids=str)
@pytest.mark.parametrize("grid", [None, 1.0])
def test_scan_matches_reference_guess_and_agreement(n, k, grid):
    for dtype in (np.float32, np.float64):
        labels, p = problem(n + k, n, k, grid=grid, dtype=dtype)
        t = sc.thresholds_of(labels, p)
        np.testing.assert_array_equal(c.confident_guess(p, t), ref_guess(p, t))
        np.testing.assert_array_equal(c.argmax_is_given(labels, p), ref_agrees(labels, p))
        scan = c.raw_confident_joint(labels, p, t)[1]
        np.testing.assert_array_equal(scan.predicted, p.argmax(axis=1))
        guess = ref_guess(p, t)
        np.testing.assert_array_equal(scan.off_diagonal, (guess >= 0) & (guess != labels))


def test_guess_with_values_exactly_at_the_cut_and_float64_thresholds():
    """float32 data against float64 thresholds: the cut is rounded up to float32 without
    changing any comparison; values one ulp either side of it."""
    rng = np.random.default_rng(3)
    k = 5
    t = rng.uniform(0.2, 0.5, size=k)  # float64
    cut = t - EPS
    exact = cut.astype(np.float32)
    vals = np.stack([np.nextafter(exact, np.float32(0)), exact, np.nextafter(exact, np.float32(1))])
    p = np.repeat(vals, 40, axis=0)[rng.permutation(120)] * np.float32(0.9)
    p[:, 0] = np.float32(0.0)
    for row in p:
        j = rng.integers(1, k)
        row[j] = vals[rng.integers(0, 3), j]
    p = p.astype(np.float32)
    np.testing.assert_array_equal(c.confident_guess(p, t), ref_guess(p, t))
    np.testing.assert_array_equal(c.confident_guess(p, t.astype(np.float32)), ref_guess(p, t.astype(np.float32)))


@pytest.mark.parametrize("seed", range(6))
def test_round_preserving_row_totals_matches_reference_on_ties(seed):
    rng = np.random.default_rng(seed)
    for k in (2, 5, 37, 300):
        counts = rng.integers(0, 4, size=(k, k)) * rng.integers(0, 2, size=(k, k))  # many zeros
        np.fill_diagonal(counts, rng.integers(1, 50, size=k))
        m = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) * rng.integers(1, 90, size=(k, 1))
        for layout in (np.ascontiguousarray, np.asfortranarray):
            np.testing.assert_array_equal(
                c.round_preserving_row_totals(layout(m)), ref_round_preserving_row_totals(layout(m))
            )
        np.testing.assert_array_equal(c.round_preserving_row_totals(counts), counts)


def ref_latent(cal, label_counts, converge):
    """The latent estimates as first written (fresh arrays everywhere)."""
    tiny = 1e-100

    def clip_rates(m):
        diag = m.diagonal().copy()
        m = np.clip(m, 0, 0.9999)
        np.fill_diagonal(m, diag)
        return m / np.maximum(m.sum(axis=0), tiny)

    def clip_priors(py, low):
        py = np.clip(py, low, 1.0)
        return py / max(float(py.sum()), tiny)

    def priors(ps, nm, inv):
        return clip_priors(inv.diagonal() / np.maximum(nm.diagonal(), tiny) * ps, 1e-6)

    ps = label_counts / float(label_counts.sum())
    nm = cal / np.maximum(cal.sum(axis=0), tiny)
    inv = cal.T / np.maximum(cal.sum(axis=1), tiny)
    py = priors(ps, nm, inv)
    nm, inv = clip_rates(nm), clip_rates(inv)
    if converge:
        for _ in range(3):
            for _ in range(5):
                inv = clip_rates((nm * py).T / np.maximum(ps, tiny))
                py = priors(ps, nm, inv)
            nm = clip_rates((inv * ps).T / np.maximum(py, tiny))
        py = clip_priors(py, 1e-5)
        nm, inv = clip_rates(nm), clip_rates(inv)
    return py, nm, inv


@pytest.mark.parametrize("k", [2, 3, 10, 37, 150])
def test_latent_estimates_match_the_plain_version_bit_for_bit(k):
    rng = np.random.default_rng(k)
    for _ in range(10):
        cal = rng.integers(0, 30, (k, k)) * (rng.random((k, k)) < 0.5)
        np.fill_diagonal(cal, rng.integers(1, 300, k))
        cal = np.ascontiguousarray(cal, dtype=np.int64)
        for converge in (True, False):
            ours = latent.latent_estimates(cal, cal.sum(axis=1), converge)
            for got, want in zip((ours.class_priors, ours.noise_matrix, ours.inverse_noise_matrix),
                                 ref_latent(cal, cal.sum(axis=1), converge)):
                np.testing.assert_array_equal(got, want)


# --- filtering --------------------------------------------------------------------------------


@pytest.mark.parametrize("n,k", [(3000, 3), (6000, 2), (30000, 5), (20000, 10), (3000, 40), (1500, 100)], ids=str)
@pytest.mark.parametrize("grid", [None, 1.0])
def test_noise_rate_mask_matches_stable_argsort_reference(n, k, grid):
    """Covers classes above and below SMALL_CLASS_ROWS, the cells x rows matrix path, the
    per-cell partition with and without the sample prefilter, and heavy ties at the cuts."""
    labels, p = problem(7 * n + k, n, k, grid=grid)
    counts = np.bincount(labels, minlength=k)
    cj, _ = c.raw_confident_joint(labels, p)
    pcm = pruning.prune_counts(latent.calibrate(cj, counts), counts, 1, 1.0, None)
    chunk = passes.Chunk(0, labels, p)
    ours = passes.cells_mask(passes.cells_partial(chunk, pruning.noise_rate_quota(pcm, counts, 1)), len(labels))
    np.testing.assert_array_equal(ours, ref_noise_rate_mask(labels, p, pcm))


# --- ranking primitives ---------------------------------------------------------------------------


def test_selection_and_ordering_primitives():
    rng = np.random.default_rng(0)
    for trial in range(400):
        size = int(rng.choice([1, 7, 300, 5000, 40000]))
        keys = rng.integers(0, 6, size).astype(np.float32) if trial % 2 else rng.random(size)
        n = int(rng.integers(0, size + 2))
        expect = np.sort(np.argsort(keys, kind="stable")[:n])
        np.testing.assert_array_equal(r.first_n_by_key(keys, n), expect)
        scores = np.abs(keys).astype(np.float64)
        np.testing.assert_array_equal(r.stable_argsort(scores), np.argsort(scores, kind="stable"))
    x = np.array([0.5, -0.0, 0.0, -1.5, 0.5, -0.0, np.inf, -np.inf])
    np.testing.assert_array_equal(r.stable_argsort(x), np.argsort(x, kind="stable"))
    keys = rng.integers(0, 4, size=(30, 200)).astype(np.float32)
    ns = rng.integers(-1, 210, size=30)
    take = r.first_n_by_key_rows(keys, ns)
    for i in range(30):
        expect = np.zeros(200, dtype=bool)
        expect[np.argsort(keys[i], kind="stable")[: max(ns[i], 0)]] = True
        np.testing.assert_array_equal(take[i], expect)
    for trial in range(40):
        size = int(rng.choice([3000, 20000]))
        keys = rng.integers(0, 50, size=(5, size)).astype(np.float32) if trial % 2 else rng.random((5, size))
        ns = rng.integers(0, size // (3 if trial % 3 else 60), size=5)
        ns[0] = size - 1 if trial % 4 == 0 else ns[0]  # a cut the sample cannot reach: the fallback
        cols, pos = r.first_n_by_key_columns(np.ascontiguousarray(keys.T), ns)
        for i in range(5):
            expect = np.sort(np.argsort(keys[i], kind="stable")[: ns[i]])
            np.testing.assert_array_equal(np.sort(pos[cols == i]), expect)
    a, b, d = rng.integers(0, 3, 500), rng.integers(0, 3, 500).astype(np.float32), rng.permutation(500)
    np.testing.assert_array_equal(
        r.radix_lexsort([d.astype(np.uint64), r.sortable_bits(b), a.astype(np.uint64)]), np.lexsort((d, b, a))
    )


# --- validation -------------------------------------------------------------------------------


def test_valid_float_input_is_not_copied():
    _, p = problem(1, 1000, 5)
    assert v.as_pred_probs(p) is p
    y, q = v.check_inputs(np.zeros(1000, dtype=np.int64) + np.arange(1000) % 5, p)
    assert q is p


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_value_check_agrees_with_the_full_checks(dtype, monkeypatch):
    """Row sums placed around the tolerance (a few ulps either side), values at 0, 1 and just
    outside: whenever the one-pass check accepts, the full checks accept without changes."""
    rng = np.random.default_rng(9)
    k = 6
    base = rng.dirichlet(np.ones(k), size=400)
    offsets = [0, 1e-3, -1e-3, 1e-3 + 1e-9, -1e-3 - 1e-9, 9.99e-4, 2e-3, 5e-5]
    cases = []
    for off in offsets:
        p = base.copy()
        p[:, 0] += off
        cases.append(np.clip(p, -1e-5, None).astype(dtype))
    edge = base.astype(dtype)
    edge[3] = 0
    edge[3, 1] = 1
    cases.append(edge)

    def full(p):
        with monkeypatch.context() as mp:
            mp.setattr(v, "plainly_valid", lambda *a: False)
            try:
                return v.as_pred_probs(p)
            except LabelError as e:
                return str(e)

    for p in cases:
        fast = v.plainly_valid(p, p.dtype, False)
        slow = full(p)
        if fast:
            assert isinstance(slow, np.ndarray) and np.array_equal(slow, p)
        got = v.as_pred_probs(p) if not isinstance(slow, str) else None
        if isinstance(slow, str):
            with pytest.raises(LabelError) as err:
                v.as_pred_probs(p)
            assert str(err.value) == slow
        else:
            np.testing.assert_array_equal(got, slow)
