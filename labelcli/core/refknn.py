"""Outliers of a new batch against a reference set's kNN index (cleanlab's OutOfDistribution
fit / score split): fit on the reference (its own kNN graph, core.knn: the scaling = median mean
distance and the outlier cut-off, Q3 + 1.7 IQR), then score the batch by its mean distance to its
k nearest reference rows, with the reference's scaling and cut-off.

    >>> index = ReferenceIndex.fit(reference_features, k=10, metric="cosine")
    >>> result = index.score(batch_features)        # an OutlierResult, rows of the batch
    >>> result.is_outlier.mean(), index.outlier_rate
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import validate as v
from labelcli.core.knn import METRICS, knn_graph
from labelcli.core.neighbors import COPY_TOL_COSINE, COPY_TOL_EUCLIDEAN, OutlierResult, outlier_scores
from labelcli.errors import LabelError

# float64 distance values computed at a time (batch rows x reference rows)
BLOCK_VALUES = 1 << 22


@dataclass(frozen=True, eq=False)
class ReferenceIndex:
    """The reference's features (unit rows for cosine), k, metric, and what its own graph gave:
    the scaling, the outlier score cut-off and the reference's outlier rate."""

    features: np.ndarray
    k: int
    metric: str
    scaling: float
    threshold: float
    outlier_rate: float

    @classmethod
    def fit(cls, features, *, k: int = 10, metric: str = "cosine", threshold: float | None = None,
            name: str = "reference features", progress=None) -> "ReferenceIndex":
        """The reference's own kNN graph and outlier scores (itself excluded, as check_features)."""
        own = outlier_scores(knn_graph(features, k=k, metric=metric, name=name, progress=progress),
                             threshold=threshold)
        x = np.asarray(features, dtype=np.float64)
        if metric == "cosine":
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return cls(x, k, metric, own.scaling, own.threshold, float(np.count_nonzero(own.is_outlier)) / len(x))

    def mean_distances(self, features, name: str = "features") -> np.ndarray:
        """(M,) mean distance of each batch row to its k nearest reference rows."""
        if self.metric not in METRICS:
            raise LabelError(f"metric must be one of {', '.join(METRICS)}, got '{self.metric}'")
        q = v.as_features(features, name=name).astype(np.float64)
        if q.shape[1] != self.features.shape[1]:
            raise LabelError(f"{name} has {q.shape[1]} columns but the reference features have"
                             f" {self.features.shape[1]}; give features from the same model")
        ref = self.features
        if self.metric == "cosine":
            norms = np.linalg.norm(q, axis=1, keepdims=True)
            if np.any(norms == 0):
                raise LabelError(f"{name}: row {int(np.flatnonzero(norms[:, 0] == 0)[0])} is all zeros; cosine"
                                 " distance needs a direction (use the `metric` option euclidean)")
            q = q / norms
        else:
            ref_sq = np.einsum("ij,ij->i", ref, ref)
        k = min(self.k, len(ref))
        out = np.empty(len(q))
        for sl in v.row_blocks(len(q), max(1, BLOCK_VALUES // max(len(ref), 1))):
            sim = q[sl] @ ref.T
            if self.metric == "cosine":
                d = np.maximum(1.0 - sim, 0.0)
            else:
                d = np.sqrt(np.maximum(np.einsum("ij,ij->i", q[sl], q[sl])[:, None] + ref_sq[None, :] - 2 * sim, 0.0))
            near = np.partition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else d
            out[sl] = near.mean(axis=1)
        return out

    def score(self, features, name: str = "features") -> OutlierResult:
        """Outlier scores of batch rows against the reference (lower = more outlying); flagged
        below the reference's cut-off."""
        mean = self.mean_distances(features, name)
        scores = np.exp(-mean / self.scaling)
        scores[mean < (COPY_TOL_COSINE if self.metric == "cosine" else COPY_TOL_EUCLIDEAN)] = 1.0
        return OutlierResult(scores=scores, is_outlier=scores < self.threshold, threshold=self.threshold,
                             mean_distance=mean, scaling=self.scaling)
