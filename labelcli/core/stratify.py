"""Multi-label stratified K-fold: fold ids that keep every tag's share equal across folds.

Iterative stratification (Sechidis, Tsoumakas & Vlahavas, ECML 2011) in batches: the paper
takes the tag with the fewest unassigned examples and sends its examples, one at a time, to the
fold that still needs that tag most (ties: the fold that needs the most examples, then random).
Here all unassigned examples of that tag are sent at once: the fold shares are the paper's
greedy outcome in closed form (water-filling of the folds' remaining need for the tag, rounded by
largest remainder, ties as in the paper). Only a rare tag's few examples (<= SMALL_BATCH per fold)
are placed one by one, to respect their other rare tags. Then folds are brought to equal size and
swaps restore any rare tag missing from a fold. Python loops run over tags and folds (and over
at most SMALL_BATCH * folds examples per tag); N = 100k, K = 50 takes ~0.3 s.
"""
from __future__ import annotations

import numpy as np

from labelcli.core.tagmatrix import as_label_matrix
from labelcli.errors import LabelError

# A tag with at most this many unassigned examples per fold is placed example by example.
SMALL_BATCH = 4


def _check_folds(folds: int, n: int) -> None:
    if int(folds) != folds or folds < 2:
        raise LabelError(f"folds must be a whole number >= 2, got {folds}")
    if folds > n:
        raise LabelError(f"cannot split {n} examples into {folds} folds; use at most {n} folds")


def _tag_name(c: int, class_names) -> str:
    return f"'{class_names[c]}'" if class_names is not None else f"{c} (0-based column)"


def check_tag_counts(labels_matrix, folds: int, class_names=None) -> None:
    """Raise LabelError naming the first tag with fewer than `folds` positives or negatives."""
    y = as_label_matrix(labels_matrix, min_classes=1)
    n, k = y.shape
    _check_folds(folds, n)
    if class_names is not None and len(class_names) != k:
        raise LabelError(f"class_names has {len(class_names)} names but labels have {k} tags")
    pos = y.sum(axis=0)
    neg = n - pos
    few = np.flatnonzero((pos < folds) | (neg < folds))
    if few.size:
        c = int(few[0])
        others = f" ({few.size - 1} more tags too)" if few.size > 1 else ""
        raise LabelError(
            f"tag {_tag_name(c, class_names)} has {int(pos[c])} positive and {int(neg[c])} negative"
            f" examples; {folds}-fold cross-validation needs at least {folds} of each{others};"
            " use fewer folds or drop / merge that tag"
        )


def _water_fill(m: int, need: np.ndarray) -> np.ndarray:
    """Real shares summing to m, given to the largest needs first until they are level."""
    d = np.sort(need)[::-1]
    j = np.arange(1, len(d) + 1)
    levels = (np.cumsum(d) - m) / j
    last = np.flatnonzero(d > levels)
    level = levels[last[-1]] if last.size else levels[-1]
    return np.maximum(need - level, 0.0)


def _apportion(m: int, need: np.ndarray, need_total: np.ndarray, rng) -> np.ndarray:
    """Integer fold shares of m examples: floor of the water-filled shares, then one more for
    the largest remainders (ties: larger need of examples overall, then random)."""
    share = _water_fill(m, need)
    q = np.floor(share + 1e-9).astype(np.int64)
    q = np.minimum(q, m)
    left = m - int(q.sum())
    if left > 0:
        order = np.lexsort((rng.random(len(q)), -need_total, -np.round(share - q, 9)))
        q[order[:left]] += 1
    elif left < 0:  # floating-point surplus; take it back from the smallest remainders
        order = np.lexsort((rng.random(len(q)), need_total, np.round(share - q, 9)))
        order = order[q[order] > 0]
        q[order[:-left]] -= 1
    return q


def _counts(yt: np.ndarray, fold: np.ndarray, folds: int) -> np.ndarray:
    """K x F positives of each tag per fold."""
    onehot = np.zeros((len(fold), folds))
    onehot[np.arange(len(fold)), fold] = 1.0
    return np.rint(yt.astype(np.float64) @ onehot).astype(np.int64)


def _rebalance(yt, fold, folds, totals, order) -> None:
    """Move examples from folds above their size target to folds below it, in place: the ones
    whose tags are least rare and most over-represented leave; never a tag's last copy."""
    n = len(fold)
    sizes = np.bincount(fold, minlength=folds)
    base, extra = divmod(n, folds)
    target = np.full(folds, base)
    target[np.argsort(-sizes, kind="stable")[:extra]] += 1
    if np.array_equal(sizes, target):
        return
    cnt = _counts(yt, fold, folds)
    expected = np.repeat(totals[:, None] / folds, folds, axis=1)
    weight = 1.0 / np.maximum(totals, 1)
    pool = []
    for j in np.flatnonzero(sizes > target):  # a loop over folds
        rows = order[fold[order] == j]
        # Leaving helps a tag above its expected count (-1), hurts one at or below it (+1).
        sign = np.where(cnt[:, j] - expected[:, j] >= 1, -1.0, 1.0)
        last = (cnt[:, j] <= 1) & (totals >= folds)
        cost = (sign * weight) @ yt[:, rows] + 1e9 * (last.astype(np.float64) @ yt[:, rows])
        pool.append(rows[np.argsort(cost, kind="stable")[: sizes[j] - target[j]]])
    pool = np.concatenate(pool)
    for j in np.flatnonzero(sizes < target):  # a loop over folds
        # Arriving helps the tags this fold lacks most.
        gain = (np.maximum(expected[:, j] - cnt[:, j], 0) * weight) @ yt[:, pool]
        take = np.argsort(-gain, kind="stable")[: target[j] - sizes[j]]
        fold[pool[take]] = j
        pool = np.delete(pool, take)


def _swap_pair(yt, fold, cnt, eligible, c, donor, j, order, cap_x: int = 256, cap_z: int = 1024):
    """An example x (fold `donor`, has tag c) and z (fold j, lacks c) whose exchange keeps every
    eligible tag present in both folds, fewest tags moved first; None if there is none."""
    xs = order[(fold[order] == donor) & yt[c, order]][:cap_x]
    zs = order[(fold[order] == j) & ~yt[c, order]]
    zs = zs[np.argsort(yt[:, zs].sum(axis=0), kind="stable")][:cap_z]
    if not len(xs) or not len(zs):
        return None
    crit_d = np.flatnonzero(eligible & (cnt[:, donor] == 1))  # x must not take their last copy
    crit_j = np.flatnonzero(eligible & (cnt[:, j] == 1))  # nor z from fold j
    x, z = yt[:, xs].astype(np.float64), yt[:, zs].astype(np.float64)
    bad = x[crit_d].T @ (1 - z[crit_d]) + (1 - x[crit_j]).T @ z[crit_j]  # |xs| x |zs| violations
    moved = x.sum(axis=0)[:, None] + z.sum(axis=0)[None, :]
    ok = np.flatnonzero((bad == 0).ravel())
    if not len(ok):
        return None
    best = ok[np.argmin(moved.ravel()[ok])]
    return xs[best // len(zs)], zs[best % len(zs)]


def _repair_coverage(yt, fold, folds, totals, order) -> None:
    """Swap examples so that every tag with >= folds positives has one in every fold, in place."""
    cnt = _counts(yt, fold, folds)
    eligible = totals >= folds
    for c in np.flatnonzero(eligible & (cnt == 0).any(axis=1)):  # a loop over tags
        for j in np.flatnonzero(cnt[c] == 0):  # and over the folds it misses
            for donor in np.argsort(-cnt[c], kind="stable"):  # folds with a spare copy
                if cnt[c, donor] < 2:
                    break
                pair = _swap_pair(yt, fold, cnt, eligible, c, donor, j, order)
                if pair is not None:
                    x, z = pair
                    fold[x], fold[z] = j, donor
                    cnt[:, donor] += yt[:, z].astype(np.int64) - yt[:, x]
                    cnt[:, j] += yt[:, x].astype(np.int64) - yt[:, z]
                    break


def _place_small(y_rows: np.ndarray, q: np.ndarray, need: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Folds for a small batch (a rare tag's examples), example by example as in the paper, so
    that the examples' other rare tags land where they are still needed. Bounded: at most
    SMALL_BATCH * folds examples per tag."""
    q, need = q.copy(), need.copy()
    weight = 1.0 / np.maximum(totals, 1)
    out = np.empty(y_rows.shape[1], dtype=np.int64)
    for i in np.argsort(-y_rows.sum(axis=0), kind="stable"):  # most tags (most constrained) first
        tags = np.flatnonzero(y_rows[:, i])
        score = (np.maximum(need[tags], 0) * weight[tags, None]).sum(axis=0)
        score[q == 0] = -np.inf
        j = int(np.argmax(score))
        out[i] = j
        q[j] -= 1
        need[tags, j] -= 1
    return out


def multilabel_stratified_folds(labels_matrix, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Fold id (0..folds-1) per example: every tag with >= folds positives in every fold (when
    any swap allows it), tag shares near equal, fold sizes within 1 of N / folds; deterministic."""
    y = as_label_matrix(labels_matrix, min_classes=1)
    n, k = y.shape
    _check_folds(folds, n)
    rng = np.random.default_rng(seed)
    yt = np.ascontiguousarray(y.T)  # tag-major: one tag's examples are a contiguous row
    totals = yt.sum(axis=1).astype(np.int64)
    order = rng.permutation(n)  # the random example order used for every choice among equals
    fold = np.full(n, -1, dtype=np.int64)
    need = np.repeat(totals[:, None] / folds, folds, axis=1)  # K x F positives each fold still needs
    need_total = np.full(folds, n / folds)
    remaining = totals.copy()  # unassigned positives per tag

    while (remaining > 0).any():  # one pass per tag, rarest remaining first
        c = int(np.argmin(np.where(remaining > 0, remaining, np.iinfo(np.int64).max)))
        rows = order[(fold[order] < 0) & yt[c, order]]
        q = _apportion(len(rows), need[c], need_total, rng)
        if len(rows) <= SMALL_BATCH * folds:
            fold[rows] = _place_small(yt[:, rows], q, need, totals)
        else:
            fold[rows] = np.repeat(np.arange(folds), q)
        added = _counts(yt[:, rows], fold[rows], folds)
        need -= added
        need_total -= q
        remaining -= added.sum(axis=1)

    rows = order[fold[order] < 0]  # examples without any tag fill the folds up to size
    fold[rows] = np.repeat(np.arange(folds), _apportion(len(rows), need_total, need_total, rng))
    _rebalance(yt, fold, folds, totals, order)
    _repair_coverage(yt, fold, folds, totals, order)
    return fold
