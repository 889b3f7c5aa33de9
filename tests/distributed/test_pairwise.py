"""numpy's pairwise sum rebuilt from partitions (labelcli.core.pairwise), bit for bit."""
import numpy as np
import pytest

from labelcli.core import pairwise


@pytest.mark.parametrize("n", [1, 7, 128, 129, 1000, 8193, 65537, 300_001])
def test_sum_of_partitions_is_numpys(n):
    rng = np.random.default_rng(n)
    a = rng.random(n) * rng.choice([1.0, 1e8, 1e-8], n)
    cuts = np.unique(np.r_[0, rng.integers(0, n, 6), n // 2 + 1, n])
    cuts = cuts[cuts < n]
    nodes = pairwise.plan(n, cuts)
    ends = np.r_[cuts[1:], n]
    results = [pairwise.partials(a[s:e], s, nodes) for s, e in zip(cuts, ends)]
    total = pairwise.combine(n, nodes, results)
    assert total == np.add.reduce(a) and total / n == a.mean()
