"""The engine (labelcli.core.engine): the same results whatever the chunks and the order in which
they arrive; values checked inside the scan and redone when a chunk fails; the column-wise
adjusted margin equals the row-wise one bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import labelcli as lc
from labelcli.core import adjusted, engine
from labelcli.core.pruning import FILTERS
from labelcli.core.scan import threshold_cut
from labelcli.errors import LabelError


def make(seed: int, n: int, k: int, *, ties: bool = False, dtype=np.float32):
    rng = np.random.default_rng(seed)
    true = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 3.0)))
    flip = rng.random(n) < rng.uniform(0.05, 0.3, size=k)[true]
    given = np.where(flip, rng.integers(0, k, size=n), true)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += rng.uniform(2.0, 4.0)
    if ties:
        logits = np.round(logits)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return given.astype(np.int64), (z / z.sum(axis=1, keepdims=True)).astype(dtype)


class Shuffled(engine.ArraySource):
    """An in-memory source whose chunks arrive in a seeded random order (as from parallel workers)."""

    def __init__(self, array, seed: int):
        super().__init__(array)
        self.rng = np.random.default_rng(seed)

    def chunks(self, rows: int):
        parts = list(super().chunks(rows))
        for i in self.rng.permutation(len(parts)):
            yield parts[i]


def same(a, b, what=""):
    for field in ("mask", "ranking", "scores", "predicted"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), f"{what}: {field}"


@pytest.mark.parametrize("seed,n,k,ties", [(1, 3000, 7, True), (2, 1500, 40, False), (3, 800, 90, True)], ids=str)
def test_chunking_and_arrival_order_do_not_change_the_result(seed, n, k, ties):
    labels, probs = make(seed, n, k, ties=ties)
    for filter_by in FILTERS:
        for rank_by in lc.METHODS:
            plan = engine.Plan(filter_by, rank_by)
            whole = engine.find_label_issues(labels, engine.ArraySource(probs), plan)
            for rows in (1 + n // 7, 97):
                same(engine.find_label_issues(labels, engine.ArraySource(probs), plan, engine.Run(chunk_rows=rows)),
                     whole, f"{filter_by}/{rank_by}/{rows}")
            same(engine.find_label_issues(labels, Shuffled(probs, seed), plan, engine.Run(chunk_rows=n // 5)),
                 whole, f"{filter_by}/{rank_by}/shuffled")


def test_public_api_equals_the_engine_on_one_chunk():
    labels, probs = make(4, 2000, 6)
    same(lc.find_label_issues(labels, probs, compat="cleanlab"),
         engine.find_label_issues(labels, engine.ArraySource(probs), engine.Plan("prune_by_noise_rate", "self_confidence")))


@pytest.mark.parametrize("rows", [None, 150])
def test_a_chunk_that_fails_its_check_is_clipped_and_the_passes_start_over(rows):
    labels, probs = make(5, 1000, 5, dtype=np.float64)
    noisy = probs.copy()
    lo, hi = noisy[620].argmin(), noisy[620].argmax()
    noisy[620, hi] += noisy[620, lo] + 5e-5
    noisy[620, lo] = -5e-5  # rounding noise below 0: clipped, as as_pred_probs does
    expected = lc.find_label_issues(labels, np.clip(noisy, 0, 1), filter_by="both", rank_by="self_confidence")
    got = engine.find_label_issues(labels, engine.ArraySource(noisy), engine.Plan("both"), engine.Run(chunk_rows=rows))
    same(got, expected)


def test_values_are_refused_with_the_row_in_the_whole_input():
    labels, probs = make(6, 1000, 4, dtype=np.float64)
    probs[777, 2] = np.nan
    with pytest.raises(LabelError, match=r"NaN at row 777 \(0-based\), column 2"):
        engine.find_label_issues(labels, engine.ArraySource(probs), engine.Plan(), engine.Run(chunk_rows=100))


@pytest.mark.parametrize("k", [2, 3, 7, 8, 9, 10, 16, 17, 31, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adjusted_margin_column_by_column_equals_row_by_row(k, dtype):
    """adjusted_columns adds the row sum in numpy's pairwise order; any difference in one ulp of
    a score would show here (if numpy changes its summation, this test says so)."""
    rng = np.random.default_rng(k)
    n = 3000
    labels = rng.integers(0, k, n)
    p = rng.dirichlet(np.full(k, 0.3), n).astype(dtype)
    p[::5] = np.round(p[::5], 1)  # ties
    t = rng.uniform(0.05, 0.9, k)
    cut = threshold_cut(rng.uniform(0.05, 0.6, k).astype(dtype), dtype)
    rows_scores, rows_guess = adjusted.adjusted_rows(p, labels, t, cut)
    col_scores, col_guess = adjusted.adjusted_columns(np.ascontiguousarray(p.T), labels, p[np.arange(n), labels], t, cut)
    assert np.array_equal(rows_scores, col_scores)
    assert np.array_equal(rows_guess, col_guess)
