"""Feature-space checks on a kNN graph: outliers, near duplicates, class balance, and an
out-of-distribution score from pred_probs. The graph itself is built by labelcli.core.knn."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import validate as v
from labelcli.core.knn import METRICS, KnnGraph, knn_graph  # noqa: F401 (API)
from labelcli.errors import LabelError

# Datalab defaults: outliers beyond Q3 + (1 / 0.37037 - 1) * IQR of the mean kNN distance;
# near duplicates closer than 0.13 x the median nearest-neighbour distance.
OUTLIER_IQR_SCALE = 1 / 0.37037 - 1
NEAR_DUPLICATE_THRESHOLD = 0.13
TINY = 100 * np.finfo(np.float64).eps
COPY_TOL_COSINE, COPY_TOL_EUCLIDEAN = 100 * np.finfo(np.float64).epsneg, np.sqrt(TINY)
OOD_METHODS = ("entropy", "least_confidence")


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
