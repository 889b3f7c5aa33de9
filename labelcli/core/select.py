"""Exact selection and ordering: the n smallest keys, stable orders, as radix sorts and
partitions. Each gives exactly what np.argsort(kind="stable") would (ties in position order), only
faster; rankings and every "lowest n" selection of labelcli go through here.
"""
from __future__ import annotations

import numpy as np


# Two rules for equal keys. "row" (labelcli's): the earlier row first, the same on every machine.
# "numpy" (compat="cleanlab"): the order np.argsort's default, unstable sort gives, which is what
# cleanlab 2.9 gets; it depends on the whole array (and on numpy's sort kernel for the CPU), so
# it is reproduced by calling np.argsort on the very array cleanlab sorts, and only where equal
# keys make a difference (a cut inside a run of equal keys, equal scores in a ranking).
TIES = ("row", "numpy")


def order_by_score(indices: np.ndarray, scores: np.ndarray, ties: str = "row") -> np.ndarray:
    """Sort indices by ascending score; equal scores keep row order (ties="row"), or the order
    np.argsort(scores[indices]) gives them (ties="numpy", cleanlab's ranking)."""
    indices = np.asarray(indices)
    if ties == "numpy":
        return indices[np.argsort(np.asarray(scores)[indices])]
    return indices[stable_argsort(np.asarray(scores)[indices])]


def cut_is_tied(keys: np.ndarray, picked: np.ndarray) -> bool:
    """Whether keys outside the picked positions equal the largest picked key (so which of the
    equal keys make the cut is a matter of the tie rule)."""
    if len(picked) == 0 or len(picked) == len(keys):
        return False
    return bool(np.count_nonzero(keys <= keys[picked].max()) > len(picked))


def first_n(keys: np.ndarray, n: int, ties: str = "row") -> np.ndarray:
    """Positions (ascending) of the n smallest keys under the tie rule: first_n_by_key, or for
    ties="numpy" (when the cut falls inside a run of equal keys) the set np.argsort(keys)[:n]."""
    picked = first_n_by_key(keys, n)
    if ties == "numpy" and cut_is_tied(keys, picked):
        return np.sort(np.argsort(keys)[:n])
    return picked


PREFILTER_MIN = 1 << 14  # above this many keys, first_n_by_key first narrows to a candidate set


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """np.argsort(values, kind="stable") for 1-D floats, as a radix sort (see radix_lexsort).

    float64 scores holding float32 values (the common case) sort on 32 bits, other float64 on 64.
    NaN falls back to numpy.
    """
    values = np.asarray(values)
    if values.dtype.kind != "f" or len(values) < 2 or np.isnan(values).any():
        return np.argsort(values, kind="stable")
    return radix_lexsort([sortable_bits(values)])


def sortable_bits(values: np.ndarray) -> np.ndarray:
    """Unsigned integers that order like the (non-NaN) floats: flip all bits of negatives and the
    sign bit of the rest; -0.0 becomes +0.0 first, since the two compare equal. 32 bits when the
    values are all float32 numbers."""
    narrow = np.asarray(values).astype(np.float32)
    if values.dtype.itemsize > 4 and not np.array_equal(narrow, values):
        narrow = values.astype(np.float64)  # a copy, changed in place below
    narrow += narrow.dtype.type(0.0)
    bits = narrow.view(np.uint32 if narrow.itemsize == 4 else np.uint64)
    sign = bits.dtype.type(1 << (8 * bits.itemsize - 1))
    negative = (bits & sign).astype(bool)
    if negative.any():
        np.invert(bits, out=bits, where=negative)
    np.bitwise_or(bits, sign, out=bits, where=~negative)
    return bits


def radix_lexsort(keys: list) -> np.ndarray:
    """np.lexsort(keys) for unsigned integer keys (last key primary, ties in position order):
    least significant digit first, 16 bits at a time, each digit ordered with numpy's stable sort
    of 16-bit integers (a radix sort). Digits that are constant are skipped."""
    perm = None
    for key in keys:
        key = np.asarray(key)
        for shift in range(0, 8 * key.itemsize, 16):
            digit = (key >> key.dtype.type(shift)).astype(np.uint16)
            if perm is not None:
                digit = digit[perm]
            if digit.min() == digit.max():  # a constant digit does not reorder anything
                continue
            step = np.argsort(digit, kind="stable")
            perm = step if perm is None else perm[step]
    return np.arange(len(keys[0])) if perm is None else perm


def first_n_by_key(keys: np.ndarray, n: int) -> np.ndarray:
    """Positions (ascending) of the first n entries of a stable ascending sort of 1-D keys.

    The set is: every key below the n-th smallest value, plus the earliest positions among the keys
    equal to it. Found with a partition instead of a sort; large inputs are first narrowed to the
    keys at or below a cut estimated from a sample (exact whenever the cut keeps >= n keys).
    """
    size = len(keys)
    if n <= 0:
        return np.zeros(0, dtype=np.intp)
    if n >= size:
        return np.arange(size)
    if size > PREFILTER_MIN and n < size // 3:
        sample = keys[:: size // 4096]  # a strided sample: deterministic, ~4096 keys
        at = min(len(sample) - 1, int(n / size * len(sample) * 1.25) + 32)
        cut = np.partition(sample, at)[at]
        cand = np.flatnonzero(keys <= cut)
        if n <= len(cand) < size:  # the n-th smallest key is <= cut: the answer is in cand
            return cand[first_n_by_key(keys[cand], n)]
    kth = np.partition(keys, n - 1)[n - 1]
    take = keys < kth
    ties = np.flatnonzero(keys == kth)[: n - np.count_nonzero(take)]
    take[ties] = True
    return np.flatnonzero(take)


def first_n_by_key_rows(keys: np.ndarray, ns: np.ndarray) -> np.ndarray:
    """first_n_by_key for every row of a 2-D array at once (row r takes ns[r]); a boolean mask."""
    m, size = keys.shape
    ns = np.minimum(np.asarray(ns), size)
    most = int(max(ns.max(initial=1), 1))
    # The `most` smallest of every row (one partition), then ordered: the ns[r]-th smallest.
    smallest = np.partition(keys, most - 1, axis=1)[:, :most] if most < size else keys
    kth = np.sort(smallest, axis=1)[np.arange(m), np.maximum(ns, 1) - 1][:, None]
    take = keys <= kth
    over = np.flatnonzero(np.count_nonzero(take, axis=1) > ns)
    if len(over):  # ties at the cut: only the earliest of the tied keys are taken
        sub, cut = keys[over], kth[over]
        ties = sub == cut
        need = ns[over] - np.count_nonzero(sub < cut, axis=1)
        take[over] = (sub < cut) | (ties & (np.cumsum(ties, axis=1) <= need[:, None]))
    take[ns <= 0] = False
    return take


def first_n_by_key_columns(keys: np.ndarray, ns: np.ndarray):
    """first_n_by_key down every column of a 2-D array (column c takes ns[c]), for long columns
    and small ns: each column is first narrowed to the keys at or below a cut estimated from a
    strided sample of rows (one compare per key instead of a partition); the candidates of all
    columns are then ordered at once by (column, key, position). Columns whose cut kept too few
    keys go through first_n_by_key. Returns (column index, position) of the picks."""
    size, m = keys.shape
    ns = np.asarray(ns)
    sample = keys[:: max(1, size // 2048)]
    height = sample.shape[0]
    at = np.minimum(height - 1, (ns / size * height * 1.25).astype(np.int64) + 8)
    top = int(at.max())  # the smallest top + 1 sample keys of every column, in order
    sample = np.sort(np.partition(sample, top, axis=0)[: top + 1] if top + 1 < height else sample, axis=0)
    cand = keys <= sample[at, np.arange(m)]
    enough = np.count_nonzero(cand, axis=0) >= ns
    cand[:, ~enough] = False
    flat = np.flatnonzero(cand)
    pos, col = np.divmod(flat, m)
    order = radix_lexsort([pos.astype(np.uint64), sortable_bits(keys.reshape(-1)[flat]), col.astype(np.uint64)])
    col, pos = col[order], pos[order]
    run_start = np.zeros(len(col), dtype=np.int64)
    starts = np.flatnonzero(col[1:] != col[:-1]) + 1
    run_start[starts] = starts
    np.maximum.accumulate(run_start, out=run_start)
    keep = (np.arange(len(col)) - run_start) < ns[col]
    cols, positions = [col[keep]], [pos[keep]]
    for c in np.flatnonzero(~enough):  # rare: the sample misjudged the column
        picked = first_n_by_key(np.ascontiguousarray(keys[:, c]), int(ns[c]))
        cols.append(np.full(len(picked), c))
        positions.append(picked)
    return np.concatenate(cols), np.concatenate(positions)


def lowest_mask(scores: np.ndarray, num: int, ties: str = "row") -> np.ndarray:
    """The num lowest scores (ties to the earlier row, or see first_n), as a boolean mask."""
    mask = np.zeros(len(scores), dtype=bool)
    mask[first_n(scores, num, ties)] = True
    return mask


def top_indices(values: np.ndarray, top: int | None) -> np.ndarray:
    """Indices of the `top` largest values, largest first; ties keep index order."""
    n = len(values)
    if top is None or top >= n:
        return np.argsort(-values, kind="stable")
    if top <= 0:
        return np.zeros(0, dtype=np.int64)
    chosen = first_n_by_key(-values, top)  # the top largest, ties to the lower index
    return chosen[np.argsort(-values[chosen], kind="stable")]
