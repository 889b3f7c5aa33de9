"""numpy's float sum (np.add.reduce over a contiguous 1-D array, hence np.mean) over rows spread
across partitions, bit for bit, from O(partitions x log N) partial sums.

numpy sums pairwise: a run of more than BLOCK values splits at half its length (rounded down to a
multiple of 8) and adds the two halves' sums; a run of at most BLOCK values is summed with eight
accumulators. The split points depend on N alone, so the client can lay out the tree (plan):
every node whose rows sit inside one partition is that partition's np.add.reduce of the slice;
a leaf that straddles partitions is summed from its (at most BLOCK) values brought together.
combine() then adds the nodes in the tree's order.
"""
from __future__ import annotations

import numpy as np

BLOCK = 128


def plan(n: int, starts) -> list:
    """The nodes to compute for a sum of n rows whose partitions start at `starts` (ascending,
    first 0): (lo, length, partition or -1 for a leaf across partitions)."""
    starts = np.asarray(starts, dtype=np.int64)
    out: list = []

    def walk(lo: int, size: int) -> None:
        first = int(np.searchsorted(starts, lo, side="right") - 1)
        last = int(np.searchsorted(starts, lo + size - 1, side="right") - 1)
        if first == last:
            out.append((lo, size, first))
        elif size <= BLOCK:
            out.append((lo, size, -1))
        else:
            half = size // 2
            half -= half % 8
            walk(lo, half)
            walk(lo + half, size - half)

    if n:
        walk(0, n)
    return out


def partials(values: np.ndarray, start: int, nodes) -> dict:
    """On a partition holding rows start.. of `values`: each node's sum (its rows inside), or the
    values it holds of a leaf across partitions."""
    end = start + len(values)
    out = {}
    for lo, size, part in nodes:
        a, b = max(lo, start), min(lo + size, end)
        if a >= b:
            continue
        piece = values[a - start : b - start]
        out[(lo, size)] = np.add.reduce(piece) if part >= 0 else piece.copy()
    return out


def combine(n: int, nodes, results: list):
    """The sum of all n rows from the partitions' partials (in partition order)."""
    whole = {}
    pieces: dict = {}
    for r in results:
        for key, value in r.items():
            if isinstance(value, np.ndarray):
                pieces.setdefault(key, []).append(value)
            else:
                whole[key] = value
    for key, vals in pieces.items():
        whole[key] = np.add.reduce(np.concatenate(vals))

    def walk(lo: int, size: int):
        if (lo, size) in whole:
            return whole[(lo, size)]
        half = size // 2
        half -= half % 8
        return walk(lo, half) + walk(lo + half, size - half)

    return walk(0, n)
