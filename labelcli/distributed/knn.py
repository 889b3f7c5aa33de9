"""The exact kNN graph of labelcli.core.knn as tiles across the cluster: every tile of the upper
triangle of the similarity matrix is a task (one float32 product, each side's best m candidates
per row), each row block's candidates are merged and re-measured in float64 on a worker, and the
client assembles the graph (N x k) and runs the outlier quantiles and duplicate components on it
(labelcli.core.neighbors), as one machine does. Exact: the same candidates reach the float64
ordering by (distance, index); no approximate search is used.
"""
from __future__ import annotations

import numpy as np

TILE_ROWS = 4096


def _merge_refine(x, norms, scale, rows, parts, m, k, metric):
    from labelcli.core.knn import merge_shortlists, refine_rows

    cand = merge_shortlists(rows, parts, m)
    return refine_rows(x, norms, scale, rows, cand, k, metric)


def knn_graph(ex, features, *, k: int = 10, metric: str = "cosine", block_rows: int | None = None,
              name: str = "features", progress=None):
    """core.knn.knn_graph with its tiles on the cluster (ex: a labelcli.distributed Executor)."""
    from labelcli.core.knn import finish_graph, sample_cuts, search_inputs, tile_shortlists

    x, norms, lft, rgt, scale, m = search_inputs(features, k=k, metric=metric, name=name)
    n = len(x)
    block = int(block_rows or TILE_ROWS)
    starts = list(range(0, n, block))
    if len(starts) > 1 and n - starts[-1] <= m + 1:
        starts.pop()  # as knn_graph: every block seeds its own rows
    blocks = list(zip(starts, starts[1:] + [n]))
    scatter = ex.client.scatter
    lf = scatter(lft, broadcast=True, hash=False)
    rf = lf if rgt is lft else scatter(rgt, broadcast=True, hash=False)
    cuts = [ex.submit(sample_cuts, lf, rf, b, m) for b in blocks]  # each row's cut-off, from a sample
    tiles = {(i, j): ex.submit(tile_shortlists, lf, rf, blocks[i], blocks[j], m, (cuts[i], cuts[j]))
             for i in range(len(blocks)) for j in range(i, len(blocks))}
    xf = scatter(x, broadcast=True, hash=False)
    nf = None if norms is None else scatter(norms, broadcast=True, hash=False)
    merged = []
    for i, (s, e) in enumerate(blocks):
        mine = [f for (a, b), f in tiles.items() if i in (a, b)]
        merged.append(ex.submit(_merge_refine, xf, nf, scale, np.arange(s, e), mine, m, k, metric))
    ind = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float64)
    for done, ((s, e), f) in enumerate(zip(blocks, merged), start=1):
        ind[s:e], dist[s:e] = ex.gather(f)
        if progress is not None:
            progress(done, len(blocks))
    ex.release(list(tiles.values()), merged)
    return finish_graph(x, norms, ind, dist, k, metric)
