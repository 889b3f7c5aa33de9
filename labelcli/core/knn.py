"""Exact k-nearest-neighbour graph of a feature matrix, in bounded memory.

Similarities are float32 matrix products over block_rows x block_rows tiles of the upper triangle
only (distances are symmetric); every row keeps its best k + SLACK candidates and a cut-off, and a
tile is compared entry by entry only in the pieces whose maximum beats a cut-off. Memory stays
O(N k + block_rows^2). The shortlist is then re-measured in float64 and sorted by (distance, index):
float32 only shortlists.
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
        best.cut[s : s + r] = np.maximum(best.cut[s : s + r], np.nextafter(seed, -np.inf))
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
    return refine_rows(x, norms, scale, np.arange(len(x)), cand, k, metric, block)


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


# Columns sampled for the cut-offs of tiles scanned apart (sample_cuts): a larger sample costs a
# product of that width per row, and gives cuts close enough that few entries of a tile pass.
SAMPLE_COLUMNS = 4096


# --- the same search in pieces, for executors that run tiles elsewhere (labelcli.distributed) ---


def search_inputs(features, *, k: int, metric: str, name: str = "features"):
    """(x, norms, lft, rgt, scale, m): the checked features and what every tile needs, as
    knn_graph computes them; m is the shortlist length per row."""
    x = _check_features(features, k, metric, name)
    norms = _row_norms(x) if metric == "cosine" else None
    lft, rgt, scale = _search_matrices(x, metric, norms)
    return x, norms, lft, rgt, scale, min(k + SLACK, len(x) - 1)


def sample_cuts(lft, rgt, rows: tuple, m: int) -> np.ndarray:
    """Lower bounds of each row's m-th best similarity (rows s:e), from a strided sample of
    SAMPLE_COLUMNS columns (the row itself left out): a tile scanned elsewhere, without the cut-offs that
    earlier tiles give knn_graph, skips every entry below them (they cannot make the shortlist)."""
    n = len(rgt)
    size = min(n, max(SAMPLE_COLUMNS, 32 * m))
    cols = np.unique(np.linspace(0, n - 1, size).astype(np.int64))
    s, e = rows
    t = np.matmul(lft[s:e], rgt[cols].T)
    own = np.flatnonzero((cols >= s) & (cols < e))
    t[cols[own] - s, own] = -np.inf
    if t.shape[1] - 1 <= m:
        return np.full(e - s, -np.inf, dtype=np.float32)
    seed = np.partition(t, t.shape[1] - m, axis=1)[:, t.shape[1] - m]
    return np.nextafter(seed, -np.inf).astype(np.float32)


def tile_shortlists(lft, rgt, rows: tuple, cols: tuple, m: int, cuts: tuple = (None, None)):
    """One tile of the similarity matrix (rows s:e against columns c:f, c >= s), scanned as
    knn_graph scans it: for each side, (global rows, candidate indices, float32 similarities) of
    each row's best m in this tile (the self pair excluded; -1 where the tile has fewer above the
    cut). cuts: sample_cuts of the rows and of the columns (a tile alone has no cut-offs from
    earlier tiles); each side's cut is also seeded from its first columns."""
    (s, e), (c, f) = rows, cols
    t = np.matmul(lft[s:e], rgt[c:f].T)
    # local row numbers: the tile's rows first, then (off the diagonal) its columns
    touched = np.arange(s, e) if s == c else np.r_[np.arange(s, e), np.arange(c, f)]
    best = _Best(len(touched), m)
    nr = e - s
    if cuts[0] is not None:
        best.cut[:nr] = cuts[0]
        if s != c:
            best.cut[nr:] = cuts[1]
    if s == c:
        _scan_diagonal(best, t, 0)
    else:
        for side, sim in ((slice(0, nr), t), (slice(nr, None), t.T)) if cuts[0] is None else ():
            p = min(sim.shape[1], 32 * m)
            if p > m:
                seed = np.partition(sim[:, :p], p - m, axis=1)[:, p - m]
                best.cut[side] = np.maximum(best.cut[side], np.nextafter(seed, -np.inf))
        _scan_tile(best, t, 0, nr)
    idx = best.idx
    return touched, np.where(idx >= 0, touched[np.maximum(idx, 0)], -1), best.val


def merge_shortlists(rows: np.ndarray, parts, m: int):
    """The best m (candidate, similarity) per row of `rows` from several tiles' shortlists."""
    best = _Best(int(rows.max()) + 1 if len(rows) else 0, m)
    for touched, idx, val in parts:
        keep = np.isin(touched, rows)
        r = np.repeat(touched[keep], idx.shape[1])
        i, w = idx[keep].reshape(-1), val[keep].reshape(-1)
        ok = i >= 0
        order = np.argsort(r[ok], kind="stable")
        best.merge(r[ok][order], i[ok][order], w[ok][order])
    return best.idx[rows]


def refine_rows(x, norms, scale: float, rows: np.ndarray, cand: np.ndarray, k: int, metric: str,
                block: int = BLOCK_ROWS):
    """The float64 re-measurement of knn_graph for some rows: (indices, distances) of their k
    nearest among their candidates, ordered by (distance, index)."""
    sub_norms = norms
    ind = np.empty((len(rows), k), dtype=np.int64)
    dist = np.empty((len(rows), k), dtype=np.float64)
    for sl in v.row_blocks(len(rows), max(1, block // 4)):
        r, c = rows[sl], cand[sl]
        a = x[r].astype(np.float64)
        g = x[c].astype(np.float64)
        if metric == "cosine":
            g /= sub_norms[c][:, :, None]
            diff = g - (a / sub_norms[r, None])[:, None, :]
            d = 0.5 * np.einsum("ijk,ijk->ij", diff, diff)
        else:
            diff = (g - a[:, None, :]) / scale
            d = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)) * scale
        order = np.lexsort((c, d))[:, :k]
        ind[sl] = np.take_along_axis(c, order, axis=1)
        dist[sl] = np.take_along_axis(d, order, axis=1)
    return ind, dist


def finish_graph(x, norms, ind, dist, k: int, metric: str) -> KnnGraph:
    """The KnnGraph from every row's refined neighbours (rows with more than k copies made canonical)."""
    _canonical_copies(x, norms, ind, dist, metric)
    return KnnGraph(indices=ind, distances=dist, metric=metric, k=k)
