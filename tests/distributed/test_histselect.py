"""Exact histogram selection (labelcli.core.histselect) against a stable sort of all rows."""
import numpy as np
import pytest

from labelcli.core import histselect as hs
from labelcli.core.select import first_n_by_key


def reference(group, keys, quota):
    rows = []
    for g in range(len(quota)):
        at = np.flatnonzero(group == g)
        rows.append(at[first_n_by_key(keys[at], int(quota[g]))])
    return np.sort(np.concatenate(rows))


def split(group, keys, cuts):
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        parts.append(hs.Candidates.of(group[a:b], keys[a:b], np.arange(a, b)))
    return parts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(6))
def test_matches_a_stable_sort(dtype, seed):
    rng = np.random.default_rng(seed)
    n, g = 3000, 7
    group = rng.integers(0, g, n)
    # few distinct values: many ties, across partition edges too; negatives and -0.0
    keys = rng.choice(np.array([-0.5, -0.0, 0.0, 0.25, 1e-8, 0.3, 0.7], dtype=dtype), n)
    if seed % 2:
        keys = (rng.random(n) - 0.5).astype(dtype)
    quota = rng.integers(0, 600, g)
    quota[0] = 0
    quota[1] = 10_000  # more than the group has: all of it
    cuts = np.unique(np.r_[0, rng.integers(0, n, 5), 0, 1, n])
    got = np.concatenate(hs.select_all(split(group, keys, cuts), quota))
    assert np.array_equal(got, reference(group, keys, quota))


def test_key_bits_order_and_width():
    x = np.array([-np.inf, -1.0, -0.0, 0.0, 1e-300, 1.0, np.inf])
    b = hs.key_bits(x)
    assert b.dtype == np.uint64 and b[2] == b[3] and (np.diff(b.astype(np.float64)) >= 0).all()
    assert hs.key_bits(x.astype(np.float32)).dtype == np.uint32
    # float64 holding float32 values keep 64 bits (every partition the same width)
    assert hs.key_bits(np.array([0.5, 0.25])).dtype == np.uint64


def test_empty_partitions_and_groups():
    parts = [hs.Candidates.of([], np.zeros(0, np.float32), []), hs.Candidates.of([1, 1], np.float32([0.2, 0.1]), [5, 6])]
    got = hs.select_all(parts, np.array([3, 1]))
    assert got[0].size == 0 and list(got[1]) == [6]
