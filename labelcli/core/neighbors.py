"""Feature-space checks: exact k-nearest-neighbour graph, outliers, near duplicates, class balance.

The graph is exact. Similarities are float32 matrix products over block_rows x block_rows tiles of
the upper triangle only (distances are symmetric); every row keeps its best k + SLACK candidates
and a cut-off, and a tile is compared entry by entry only in the pieces whose maximum beats a
cut-off. Memory stays O(N k + block_rows^2). The shortlist is then re-measured in float64 and
sorted by (distance, index): float32 only shortlists.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import validate as v
from labelcli.errors import LabelError

METRICS = ("cosine", "euclidean")
BLOCK_ROWS = 2048
# Extra float32 candidates per row, re-measured in float64, absorb float32 rounding at the k-th place.
SLACK = 8
# Tile rows and columns are screened by their maxima over pieces of this many entries.
SEGMENT = 256
# Datalab defaults: outliers beyond Q3 + (1 / 0.37037 - 1) * IQR of the mean kNN distance;
# near duplicates closer than 0.13 x the median nearest-neighbour distance.
OUTLIER_IQR_SCALE = 1 / 0.37037 - 1
NEAR_DUPLICATE_THRESHOLD = 0.13
TINY = 100 * np.finfo(np.float64).eps
COPY_TOL_COSINE, COPY_TOL_EUCLIDEAN = 100 * np.finfo(np.float64).epsneg, np.sqrt(TINY)
OOD_METHODS = ("entropy", "least_confidence")


@dataclass(frozen=True, eq=False)
class KnnGraph:
    """k nearest neighbours of every row (itself excluded), nearest first; ties by row index."""

    indices: np.ndarray  # (N, k) int64
    distances: np.ndarray  # (N, k) float64, ascending; cosine: 1 - cos similarity
    metric: str
    k: int


# --- exact kNN search -------------------------------------------------------------------------


def _check_features(features, k, metric: str, name: str) -> np.ndarray:
    if metric not in METRICS:
        raise LabelError(f"unknown metric '{metric}'; choose one of {', '.join(METRICS)}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise LabelError(f"k must be a whole number >= 1, got {k!r}")
    x = v.as_features(features, name=name)
    n = len(x)
    if n < k + 1:
        raise LabelError(
            f"{name}: {n} rows are too few for k={k} neighbours; need at least {k + 1} rows"
            f" (use a smaller k, at most {n - 1})"
        )
    if not (x.max(axis=0) > x.min(axis=0)).any():
        raise LabelError(
            f"{name}: all {n} rows are identical, so distances carry no information;"
            " check that the right columns were read as features"
        )
    if metric == "cosine":
        zero = ~(np.abs(x) > 0).any(axis=1)
        if zero.any():
            raise LabelError(
                f"{name}: row {int(np.flatnonzero(zero)[0])} (0-based) is all zeros and has no"
                f" direction under the cosine metric ({int(zero.sum())} such rows); drop them"
                " or use the euclidean metric"
            )
    return x


def _row_norms(x: np.ndarray) -> np.ndarray:
    """float64 row norms, each row scaled by its largest entry first so nothing over/underflows."""
    out = np.empty(len(x))
    for sl in v.row_blocks(len(x)):
        blk = x[sl].astype(np.float64)
        peak = np.abs(blk).max(axis=1)  # > 0: all-zero rows were rejected
        blk /= peak[:, None]
        out[sl] = peak * np.sqrt(np.einsum("ij,ij->i", blk, blk))
    return out


def _search_matrices(x: np.ndarray, metric: str, norms: np.ndarray | None):
    """float32 L, R with L[i] . R[j] = similarity (larger = nearer), symmetric in i, j; and the scale.

    cosine: unit rows. euclidean: centred rows scaled into [-1, 1], augmented so that
    L[i] . R[j] = -|x_i - x_j|^2 / 2 (in the scaled units).
    """
    n, d = x.shape
    if metric == "cosine":
        lft = np.empty((n, d), dtype=np.float32)
        for sl in v.row_blocks(n):
            lft[sl] = x[sl] / norms[sl, None]
        return lft, lft, 1.0
    mean = x.mean(axis=0, dtype=np.float64)
    peak = max(float(np.abs(x[sl] - mean).max()) for sl in v.row_blocks(n))
    scale = 2.0 ** np.ceil(np.log2(peak))  # a power of two: scaling is exact (peak > 0: checked)
    lft = np.empty((n, d + 2), dtype=np.float32)
    rgt = np.empty((n, d + 2), dtype=np.float32)
    for sl in v.row_blocks(n):
        c = (x[sl] - mean) / scale
        half = 0.5 * np.einsum("ij,ij->i", c, c)
        lft[sl, :d] = rgt[sl, :d] = c
        lft[sl, d], lft[sl, d + 1] = -half, 1.0
        rgt[sl, d], rgt[sl, d + 1] = 1.0, -half
    return lft, rgt, scale


class _Best:
    """Running best-m candidates per row (largest similarity first) and each row's cut-off."""

    def __init__(self, n: int, m: int):
        self.m = m
        self.val = np.full((n, m), -np.inf, dtype=np.float32)
        self.idx = np.full((n, m), -1, dtype=np.int64)
        self.cut = np.full(n, -np.inf, dtype=np.float32)

    def merge(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        """Merge new candidates (rows ascending, global indices) into the best-m lists."""
        if len(rows) == 0:
            return
        first = np.concatenate([[True], rows[1:] != rows[:-1]])
        rows, grp = rows[first], np.cumsum(first) - 1
        counts = np.bincount(grp)
        pos = np.arange(len(grp)) - np.repeat(np.cumsum(counts) - counts, counts)
        m, width = self.m, self.m + int(counts.max())
        val = np.full((len(rows), width), -np.inf, dtype=np.float32)
        idx = np.full((len(rows), width), -1, dtype=np.int64)
        val[:, :m], idx[:, :m] = self.val[rows], self.idx[rows]
        val[grp, m + pos], idx[grp, m + pos] = vals, cols
        top = np.argpartition(-val, m - 1, axis=1)[:, :m]
        val = np.take_along_axis(val, top, axis=1)
        self.val[rows], self.idx[rows] = val, np.take_along_axis(idx, top, axis=1)
        self.cut[rows] = val.min(axis=1)


def _above(t: np.ndarray, cut: np.ndarray, axis: int):
    """Entries of tile t above the cut-off of their row (axis=1) or column (axis=0).

    Returns (owner, other, value), sorted by owner: owner = the row (column) index in t,
    other = the column (row). Maxima over SEGMENT-long pieces are checked first; only pieces that
    beat the cut-off are compared entry by entry, which late in the search is a small fraction.
    """
    n = t.shape[axis]
    full = n // SEGMENT * SEGMENT
    found = []
    if full:
        if axis == 1:
            pieces = t[:, :full].reshape(len(t), -1, SEGMENT)
            owner, piece = np.nonzero(pieces.max(axis=2) > cut[:, None])
            vals = pieces[owner, piece]
        else:
            pieces = t[:full].reshape(-1, SEGMENT, t.shape[1])
            piece, owner = np.nonzero(pieces.max(axis=1) > cut[None, :])
            vals = pieces[piece, :, owner]
        i, j = np.nonzero(vals > cut[owner, None])
        found.append((owner[i], piece[i] * SEGMENT + j, vals[i, j]))
    if full < n:  # the short last piece: compare directly
        rest = t[:, full:] if axis == 1 else t[full:].T
        i, j = np.nonzero(rest > cut[:, None])
        found.append((i, full + j, rest[i, j]))
    owner, other, vals = (np.concatenate(a) for a in zip(*found)) if len(found) > 1 else found[0]
    if axis == 0 or len(found) > 1:
        order = np.argsort(owner, kind="stable")
        owner, other, vals = owner[order], other[order], vals[order]
    return owner, other, vals


def _products(lft: np.ndarray, rgt: np.ndarray, jobs: list):
    """Yield (rows, cols, lft[rows] @ rgt[cols].T) per job; the next product is computed in a
    worker thread (matmul releases the GIL) while the caller scans the current one."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    size = max((e - s) * (f - c) for (s, e), (c, f) in jobs)
    bufs = [np.empty(size, dtype=np.float32) for _ in range(2)]

    def product(i):
        (s, e), (c, f) = jobs[i]
        out = bufs[i % 2][: (e - s) * (f - c)].reshape(e - s, f - c)
        return np.matmul(lft[s:e], rgt[c:f].T, out=out)

    # One BLAS thread for the products, the other core scans: oversubscribed BLAS threads spin.
    with ThreadPoolExecutor(max_workers=1) as pool, threadpool_limits(1, user_api="blas"):
        pending = pool.submit(product, 0)
        for i, job in enumerate(jobs):
            tile = pending.result()
            if i + 1 < len(jobs):  # the other buffer: the tile before this one is done with
                pending = pool.submit(product, i + 1)
            yield job[0], job[1], tile


def _scan_diagonal(best: _Best, t: np.ndarray, s: int) -> None:
    """A block against itself, to seed every row's list (the self pair is excluded by index)."""
    r = len(t)
    np.fill_diagonal(t, -np.inf)
    p = min(r, 32 * best.m)
    if p - 1 > best.m:
        # Seed the cut-offs with each row's m-th best among p columns, so few entries pass.
        seed = np.partition(t[:, :p], p - best.m, axis=1)[:, p - best.m]
        best.cut[s : s + r] = np.nextafter(seed, -np.inf)
    own, other, vals = _above(t, best.cut[s : s + r], axis=1)
    best.merge(s + own, s + other, vals)


def _scan_tile(best: _Best, t: np.ndarray, s: int, c: int) -> None:
    """Rows s.. against rows c.. (c > s): one product updates both sides."""
    nr, nc = t.shape
    own, other, vals = _above(t, best.cut[s : s + nr], axis=1)
    best.merge(s + own, c + other, vals)
    own, other, vals = _above(t, best.cut[c : c + nc], axis=0)
    best.merge(c + own, s + other, vals)


def _refine(x, norms, scale: float, cand, k: int, metric: str, block: int):
    """Exact float64 distances to the shortlisted candidates; keep the k nearest by (distance, index)."""
    n = len(x)
    ind = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float64)
    for sl in v.row_blocks(n, max(1, block // 4)):
        c = cand[sl]
        a = x[sl].astype(np.float64)
        g = x[c].astype(np.float64)
        if metric == "cosine":
            # |u - w|^2 / 2 = 1 - cos for unit vectors, without 1 - cos's cancellation near 0.
            g /= norms[c][:, :, None]
            diff = g - (a / norms[sl, None])[:, None, :]
            d = 0.5 * np.einsum("ijk,ijk->ij", diff, diff)
        else:
            diff = (g - a[:, None, :]) / scale  # scale: a power of two that keeps squares finite
            d = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)) * scale
        order = np.lexsort((c, d))[:, :k]
        ind[sl] = np.take_along_axis(c, order, axis=1)
        dist[sl] = np.take_along_axis(d, order, axis=1)
    return ind, dist


def _canonical_copies(x, norms, ind, dist, metric: str) -> None:
    """Rows with more than k exact copies list the k lowest-indexed other copies (in place).

    Without this, which of many equal-distance copies a row keeps would depend on search order,
    and groups of copies could split into several near-duplicate sets.
    """
    k = ind.shape[1]
    rows = np.flatnonzero(dist[:, k - 1] == 0)
    if len(rows) == 0:
        return
    vec = x[rows].astype(np.float64)
    if metric == "cosine":
        vec /= norms[rows, None]
    vec = np.ascontiguousarray(vec + 0.0)  # -0.0 -> 0.0, so equal values have equal bytes
    _, grp = np.unique(vec.view(np.dtype((np.void, vec.shape[1] * 8))).ravel(), return_inverse=True)
    order = np.lexsort((rows, grp))
    members, grp = rows[order], grp[order]
    size = np.bincount(grp)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    big = size[grp] >= k + 1  # a float64 underflow can make a "0" between unequal rows
    members, grp = members[big], grp[big]
    rank = np.flatnonzero(big) - start[grp]
    cols = np.arange(k + 1)
    drop = np.minimum(rank, k)[:, None]
    take = (start[grp][:, None] + cols)[cols != drop].reshape(len(members), k)
    ind[members] = rows[order][take]
    dist[members] = 0.0


def knn_graph(
    features,
    *,
    k: int = 10,
    metric: str = "cosine",
    block_rows: int | None = None,
    progress=None,
    name: str = "features",
) -> KnnGraph:
    """Exact k nearest neighbours of every row, excluding the row itself (by index).

    metric: ``cosine`` (distance 1 - cos similarity; all-zero rows are rejected) or ``euclidean``.
    block_rows: tile size (default 2048); memory is about 8 x block_rows^2 bytes (two float32
    tiles) plus 12 x N x (k + 8) for the shortlist. progress: ``progress(done, total)`` in tiles.
    Deterministic: equal distances are ordered by row index; a row with more than k exact copies
    lists the k lowest-indexed other copies. (When more than 8 rows tie exactly at the k-th place
    without being copies, e.g. on integer features, the ones kept are fixed but need not be the
    lowest-indexed.)
    """
    x = _check_features(features, k, metric, name)
    block = int(block_rows or BLOCK_ROWS)
    if block < 1:
        raise LabelError(f"block_rows must be >= 1, got {block_rows}")
    n = len(x)
    norms = _row_norms(x) if metric == "cosine" else None
    lft, rgt, scale = _search_matrices(x, metric, norms)
    best = _Best(n, min(k + SLACK, n - 1))
    starts = list(range(0, n, block))
    if len(starts) > 1 and n - starts[-1] <= best.m + 1:
        starts.pop()  # fold a tiny last block into the previous one, so each block seeds itself
    ends = starts[1:] + [n]
    blocks = list(zip(starts, ends))
    jobs = [(b, b) for b in blocks] + [(b, c) for i, b in enumerate(blocks) for c in blocks[i + 1 :]]
    # Report after the diagonal tiles, then after each block's row of tiles.
    report = set(np.cumsum([len(blocks)] + list(range(len(blocks) - 1, 0, -1))).tolist())
    for done, ((s, e), (c, f), t) in enumerate(_products(lft, rgt, jobs), start=1):
        if s == c:
            _scan_diagonal(best, t, s)
        else:
            _scan_tile(best, t, s, c)
        if progress is not None and done in report:
            progress(done, len(jobs))
    del lft, rgt
    ind, dist = _refine(x, norms, scale, best.idx, k, metric, block)
    _canonical_copies(x, norms, ind, dist, metric)
    return KnnGraph(indices=ind, distances=dist, metric=metric, k=k)


# --- outliers ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OutlierResult:
    """Outlier score per example in (0, 1]; lower = more outlying (cleanlab's convention)."""

    scores: np.ndarray  # (N,) exp(-mean_distance / scaling)
    is_outlier: np.ndarray  # (N,) bool, scores < threshold
    threshold: float  # the score cut-off used
    mean_distance: np.ndarray  # (N,) mean distance to the k neighbours
    scaling: float  # median of mean_distance (floored at 100 float64 eps)


def _check_graph(graph) -> KnnGraph:
    if not isinstance(graph, KnnGraph):
        raise LabelError(f"expected a KnnGraph from knn_graph(), got {type(graph).__name__}")
    return graph


def outlier_scores(graph: KnnGraph, *, threshold: float | None = None) -> OutlierResult:
    """Outlier scores from the mean distance to the k nearest neighbours.

    score = exp(-mean_distance / median(mean_distance)): 1 for a point sitting on its neighbours,
    e^-1 for a typical point, towards 0 for isolated ones (cleanlab's OutOfDistribution, t = 1).
    threshold: flag scores below it. Default: Datalab's rule, mean distance above
    Q3 + 1.7 x IQR of the mean distances, expressed as the matching score.
    """
    g = _check_graph(graph)
    mean = g.distances.mean(axis=1)
    scaling = max(float(np.median(mean)), TINY)
    scores = np.exp(-mean / scaling)
    # Mean distances within rounding of 0 (exact copies) score exactly 1, with cleanlab's tolerances.
    scores[mean < (COPY_TOL_COSINE if g.metric == "cosine" else COPY_TOL_EUCLIDEAN)] = 1.0
    if threshold is None:
        q1, q3 = np.percentile(mean, [25, 75])
        threshold = float(np.exp(-(q3 + OUTLIER_IQR_SCALE * (q3 - q1)) / scaling))
    elif not 0 <= threshold <= 1:
        raise LabelError(f"outlier threshold must be a score in [0, 1], got {threshold}")
    return OutlierResult(
        scores=scores,
        is_outlier=scores < threshold,
        threshold=float(threshold),
        mean_distance=mean,
        scaling=scaling,
    )


def ood_scores_from_pred_probs(
    pred_probs, *, method: str = "entropy", name: str = "pred_probs"
) -> np.ndarray:
    """Out-of-distribution score in [0, 1] from predicted probabilities; lower = more unusual.

    ``entropy``: 1 - entropy / log(K). ``least_confidence``: the largest probability.
    Equal to cleanlab's OutOfDistribution pred_probs scores with adjust_pred_probs=False.
    """
    if method not in OOD_METHODS:
        raise LabelError(f"unknown OOD method '{method}'; choose one of {', '.join(OOD_METHODS)}")
    p = v.as_pred_probs(pred_probs, name=name)
    out = np.empty(len(p))
    for sl in v.row_blocks(len(p)):
        blk = p[sl].astype(np.float64)
        if method == "least_confidence":
            out[sl] = blk.max(axis=1)
        else:
            plogp = blk * np.log(np.where(blk > 0, blk, 1.0))  # 0 log 0 = 0
            out[sl] = 1.0 + plogp.sum(axis=1) / np.log(p.shape[1])
    return out


# --- near duplicates --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DuplicateSets:
    """Sets of (near) duplicates: connected components of neighbour pairs within the radius."""

    set_id: np.ndarray  # (N,) int64, -1 = in no set; sets numbered 0.. by their smallest member
    pairs: np.ndarray  # (M, 2) int64 neighbour pairs within the radius, i < j, sorted
    pair_distance: np.ndarray  # (M,)
    radius: float  # pairs are at distance <= radius
    conflicting: np.ndarray | None  # (num_sets,) bool: members carry different labels
    num_sets: int
    median_nn_distance: float  # median distance to the nearest neighbour

    @property
    def set_size(self) -> np.ndarray:
        """(num_sets,) number of members in each set."""
        return np.bincount(self.set_id[self.set_id >= 0], minlength=self.num_sets)

    @property
    def in_conflicting_set(self) -> np.ndarray:
        """(N,) bool: the example is in a set whose members carry different labels."""
        if self.conflicting is None or self.num_sets == 0:
            return np.zeros(len(self.set_id), dtype=bool)
        return (self.set_id >= 0) & self.conflicting[np.maximum(self.set_id, 0)]


def near_duplicate_sets(graph: KnnGraph, *, labels=None, threshold: float | None = None) -> DuplicateSets:
    """Group examples that sit within a small radius of each other into duplicate sets.

    radius = threshold x the median nearest-neighbour distance (threshold default 0.13, as
    Datalab's near_duplicate check); threshold scales the radius linearly. Exact duplicates
    (distance 0) always pair up. Sets are connected components, so chains of close pairs merge.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = _check_graph(graph)
    n = len(g.indices)
    if threshold is None:
        threshold = NEAR_DUPLICATE_THRESHOLD
    elif not threshold >= 0:
        raise LabelError(f"near-duplicate threshold must be >= 0, got {threshold}")
    y = None
    if labels is not None:
        y = v.as_labels(labels, name="labels")
        v.check_same_length(n, len(y), name_a="features", name_b="labels")
    median_nn = float(np.median(g.distances[:, 0]))
    radius = float(threshold) * max(median_nn, TINY)
    close = g.distances <= radius
    a = np.repeat(np.arange(n), close.sum(axis=1))
    b = g.indices[close]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key, first = np.unique(lo * n + hi, return_index=True)
    pairs = np.stack([key // n, key % n], axis=1).astype(np.int64)
    pair_distance = g.distances[close][first]
    graph_m = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph_m, directed=False)
    _, first = np.unique(comp, return_index=True)  # each component's smallest member
    is_set = np.bincount(comp) >= 2
    order = np.flatnonzero(is_set)[np.argsort(first[is_set])]
    renumber = np.full(len(first), -1, dtype=np.int64)
    renumber[order] = np.arange(len(order))
    set_id = renumber[comp]
    conflicting = None
    if y is not None:
        members = np.flatnonzero(set_id >= 0)
        lo_lab = np.full(len(order), np.iinfo(np.int64).max)
        hi_lab = np.full(len(order), -1)
        np.minimum.at(lo_lab, set_id[members], y[members])
        np.maximum.at(hi_lab, set_id[members], y[members])
        conflicting = lo_lab != hi_lab
    return DuplicateSets(
        set_id=set_id,
        pairs=pairs,
        pair_distance=pair_distance,
        radius=radius,
        conflicting=conflicting,
        num_sets=len(order),
        median_nn_distance=median_nn,
    )


# --- class balance ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClassBalance:
    """How evenly examples spread over the classes. Per-class arrays are in class-index order."""

    counts: np.ndarray  # (K,) examples per class
    share: np.ndarray  # (K,) counts / N
    expected_share: float  # 1 / K, the share of every class in a balanced dataset
    is_underpopulated: np.ndarray  # (K,) bool: fewer than min_examples examples
    is_imbalanced: np.ndarray  # (K,) bool: share < imbalance_ratio x expected_share
    rarest_class: int
    ratio: float  # largest count / smallest count (inf when a class has no examples)
    min_examples: int
    imbalance_ratio: float

    @property
    def imbalanced(self) -> bool:
        """Datalab's class_imbalance issue: the rarest class is below the imbalance ratio."""
        return bool(self.is_imbalanced[self.rarest_class])


def class_balance(
    labels, num_classes: int, *, min_examples: int = 5, imbalance_ratio: float = 0.1
) -> ClassBalance:
    """Class counts, shares and which classes are too small or too rare.

    min_examples: below this a class cannot be split over 5 cross-validation folds (default 5).
    imbalance_ratio: a class is rare when its share is below this fraction of 1 / K (default 0.1,
    Datalab's class_imbalance threshold).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise LabelError(f"num_classes must be a whole number >= 1, got {num_classes!r}")
    if min_examples < 0:
        raise LabelError(f"min_examples must be >= 0, got {min_examples}")
    if not 0 <= imbalance_ratio <= 1:
        raise LabelError(f"imbalance_ratio must be in [0, 1], got {imbalance_ratio}")
    y = v.as_labels(labels, num_classes=int(num_classes))
    counts = np.bincount(y, minlength=num_classes)
    share = counts / len(y)
    expected = 1.0 / num_classes
    rarest = int(np.argmin(counts))
    return ClassBalance(
        counts=counts,
        share=share,
        expected_share=expected,
        is_underpopulated=counts < min_examples,
        is_imbalanced=share < imbalance_ratio * expected,
        rarest_class=rarest,
        ratio=float(counts.max() / counts[rarest]) if counts[rarest] else float("inf"),
        min_examples=int(min_examples),
        imbalance_ratio=float(imbalance_ratio),
    )
