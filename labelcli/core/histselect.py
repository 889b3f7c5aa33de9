"""Exact selection of each group's n smallest keys across partitions, with small state: a radix
(histogram) descent over the keys' bits, and ties at the cut broken by global row number.

The problem: rows spread over partitions carry (group, key); group g must take the quota[g]
rows with the smallest (key, row), exactly as a stable sort of all rows would (labelcli.core.select
first_n_by_key within each group). Nothing here moves rows: each partition keeps its candidates,
and only histograms and counts are merged:

1. key_bits: keys as unsigned integers in the same order (float32 -> 32 bits, float64 -> 64,
   whatever values a partition holds, so every partition uses the same width).
2. Rounds of DIGIT_BITS bits, most significant first: every partition histograms the next digit
   of its candidates whose higher bits equal the group's prefix so far (digit_histogram, sparse);
   choose_digits sums the histograms and picks, per group, the digit where the running count
   reaches what the group still needs (Descent.update keeps prefix and need per group).
3. After the last round the prefix is the group's cut key, and `need` how many rows with exactly
   that key the group takes. Ties go to the earliest rows: partitions are in row order, so each
   partition's count of keys equal to the cut (tie_counts) decides how many of its own earliest
   tied rows it takes (tie_takes); select() then picks rows below the cut plus those ties.

A group whose candidates number no more than its quota takes them all. Pure numpy; executors
(labelcli.distributed) run digit_histogram / tie_counts / select on the partitions and keep
Descent on the client: O(groups) state per round, whatever the number of rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core.select import radix_lexsort

DIGIT_BITS = 16
DIGIT_MASK = (1 << DIGIT_BITS) - 1


def key_bits(values: np.ndarray) -> np.ndarray:
    """Unsigned integers ordered as the (non-NaN) float keys: float32 (and narrower) as uint32,
    float64 as uint64; -0.0 and +0.0 map to the same integer (they compare equal)."""
    values = np.asarray(values)
    wide = values.dtype.itemsize > 4
    x = values.astype(np.float64 if wide else np.float32)  # a copy, changed in place below
    x += x.dtype.type(0.0)  # -0.0 -> +0.0
    bits = x.view(np.uint64 if wide else np.uint32)
    sign = bits.dtype.type(1 << (8 * bits.itemsize - 1))
    negative = (bits & sign).astype(bool)
    np.invert(bits, out=bits, where=negative)
    np.bitwise_or(bits, sign, out=bits, where=~negative)
    return bits


@dataclass(frozen=True)
class Candidates:
    """One partition's candidate rows: group, key bits and global row, sorted by (group, bits, row)."""

    group: np.ndarray  # int64
    bits: np.ndarray  # uint32 / uint64
    row: np.ndarray  # int64

    @classmethod
    def of(cls, group, keys, row) -> "Candidates":
        group = np.asarray(group, dtype=np.int64)
        bits = key_bits(keys)
        row = np.asarray(row, dtype=np.int64)
        if len(row) > 1:
            order = radix_lexsort([row.view(np.uint64), bits, group.view(np.uint64)])
            group, bits, row = group[order], bits[order], row[order]
        return cls(group, bits, row)

    def __len__(self) -> int:
        return len(self.row)

    @property
    def width(self) -> int:
        return 8 * self.bits.itemsize


def digit_histogram(c: Candidates, prefix: np.ndarray, shift: int, active: np.ndarray):
    """Sparse counts of the digit at `shift` among the candidates of active groups whose bits above
    the digit equal the group's prefix: (group * 2**DIGIT_BITS + digit, count), both int64."""
    if not len(c):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bits = c.bits.astype(np.uint64)
    top = shift + DIGIT_BITS
    high = bits >> np.uint64(top) if top < 64 else np.zeros_like(bits)
    ok = active[c.group] & (high == prefix[c.group])
    digit = ((bits[ok] >> np.uint64(shift)) & np.uint64(DIGIT_MASK)).astype(np.int64)
    ids = (c.group[ok] << DIGIT_BITS) | digit
    return np.unique(ids, return_counts=True)


def choose_digits(need: np.ndarray, hists) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From the partitions' digit_histograms: per group (digit, count below it, total count), the
    digit being the first at which the running count reaches need[group] (-1 when the group's
    total stays below its need). Arrays of len(need)."""
    g = len(need)
    digit = np.full(g, -1, dtype=np.int64)
    below = np.zeros(g, dtype=np.int64)
    total = np.zeros(g, dtype=np.int64)
    ids = np.concatenate([h[0] for h in hists]) if hists else np.zeros(0, np.int64)
    if not len(ids):
        return digit, below, total
    counts = np.concatenate([h[1] for h in hists])
    uniq, inv = np.unique(ids, return_inverse=True)
    summed = np.bincount(inv, weights=counts).astype(np.int64)
    group, d = uniq >> DIGIT_BITS, uniq & DIGIT_MASK
    cum = np.cumsum(summed)
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    base = np.repeat(cum[first] - summed[first], np.diff(np.r_[first, len(group)]))
    within = cum - base  # running count within the group, through this digit
    total[group[first]] = np.add.reduceat(summed, first)
    reached = within >= need[group]
    # the first digit of each group where the running count reaches the need
    pos = np.flatnonzero(reached & np.r_[True, (group[1:] != group[:-1]) | ~reached[:-1]])
    pos = pos[np.r_[True, group[pos][1:] != group[pos][:-1]]] if len(pos) else pos
    digit[group[pos]] = d[pos]
    below[group[pos]] = within[pos] - summed[pos]
    return digit, below, total


class Descent:
    """The client's side of the selection: per group, the prefix found so far and how many rows it
    still needs from keys sharing that prefix."""

    def __init__(self, quota, width: int):
        self.quota = np.asarray(quota, dtype=np.int64)
        self.width = int(width)
        self.need = self.quota.copy()
        self.prefix = np.zeros(len(self.quota), dtype=np.uint64)
        self.active = self.quota > 0
        self.take_all = np.zeros(len(self.quota), dtype=bool)
        self.shift = self.width - DIGIT_BITS
        self.first = True

    @property
    def done(self) -> bool:
        return self.shift < 0 or not self.active.any()

    def update(self, digit: np.ndarray, below: np.ndarray, total: np.ndarray) -> None:
        """One round's choose_digits result."""
        if self.first:  # totals are known: a group with no more candidates than its quota takes all
            self.take_all = self.active & (total <= self.need)
            self.active &= ~self.take_all
            self.first = False
        act = self.active
        if (digit[act] < 0).any():
            raise AssertionError("histogram selection lost candidates")  # partitions changed between rounds
        self.prefix[act] = (self.prefix[act] << np.uint64(DIGIT_BITS)) | digit[act].astype(np.uint64)
        self.need[act] -= below[act]
        self.shift -= DIGIT_BITS

    @property
    def cut(self) -> np.ndarray:
        """Per group, the key bits of its last selected row (meaningful for active groups)."""
        return self.prefix


def tie_counts(c: Candidates, cut: np.ndarray, active: np.ndarray):
    """(groups, counts) of this partition's candidates whose bits equal the group's cut."""
    if not len(c):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    at = active[c.group] & (c.bits.astype(np.uint64) == cut[c.group])
    return np.unique(c.group[at], return_counts=True)


def tie_takes(need: np.ndarray, counts_by_partition: list) -> list:
    """How many of its tied rows each partition takes (partitions in row order): the earliest
    partitions first, until each group's need is met. Returns per partition (groups, takes)."""
    left = np.asarray(need, dtype=np.int64).copy()
    out = []
    for groups, counts in counts_by_partition:  # a loop over partitions, each vectorised over groups
        take = np.minimum(counts, np.maximum(left[groups], 0))
        left[groups] -= take
        out.append((groups, take))
    return out


def select(c: Candidates, d: "Descent | None", takes=None, *, groups: bool = False):
    """The rows this partition contributes (ascending): all candidates of take_all groups, those
    below their group's cut, and the partition's `takes` earliest rows at the cut. groups=True:
    (rows, their groups), in candidate order (a row may be chosen by several groups)."""
    if d is None or not len(c):
        empty = np.zeros(0, np.int64)
        return (empty, empty) if groups else empty
    keep = d.take_all[c.group].copy()
    act = d.active[c.group]
    bits = c.bits.astype(np.uint64)
    cut = d.cut[c.group]
    keep |= act & (bits < cut)
    if takes is not None and len(takes[0]):
        allow = np.zeros(len(d.quota), dtype=np.int64)
        allow[takes[0]] = takes[1]
        at = np.flatnonzero(act & (bits == cut))
        # candidates are sorted by (group, bits, row): ties of a group are consecutive, earliest first
        g = c.group[at]
        start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
        rank = np.arange(len(at)) - np.repeat(start, np.diff(np.r_[start, len(at)]))
        keep[at[rank < allow[g]]] = True
    if groups:
        return c.row[keep], c.group[keep]
    return np.sort(c.row[keep])


def select_all(parts: list, quota) -> list:
    """The whole protocol over candidates held in one process (partitions in row order): per
    partition, the rows selected. labelcli.distributed runs the same steps as tasks."""
    width = max((p.width for p in parts if len(p)), default=32)
    d = Descent(quota, width)
    while not d.done:
        hists = [digit_histogram(p, d.prefix, d.shift, d.active) for p in parts]
        d.update(*choose_digits(d.need, hists))
    takes = tie_takes(d.need, [tie_counts(p, d.cut, d.active) for p in parts])
    return [select(p, d, t) for p, t in zip(parts, takes)]
