"""All feature-space checks from one kNN graph: outliers, near duplicates (and duplicates whose
labels disagree), class balance, and a prediction-based out-of-distribution score.

The graph is the expensive part (N x N distances, blocked); it is computed once here and shared
by every check, as DESIGN.md asks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core.neighbors import (
    ClassBalance,
    DuplicateSets,
    KnnGraph,
    OutlierResult,
    class_balance,
    knn_graph,
    near_duplicate_sets,
    ood_scores_from_pred_probs,
    outlier_scores,
)
from labelcli.errors import LabelError

ISSUE_TYPES = ("label", "conflicting_duplicate", "outlier", "near_duplicate")


@dataclass(frozen=True, eq=False)
class FeatureIssues:
    """The feature-space checks of one dataset; arrays are per example unless noted."""

    graph: KnnGraph
    outliers: OutlierResult
    duplicates: DuplicateSets
    balance: ClassBalance | None  # multi-class labels only
    ood_scores: np.ndarray | None  # from pred_probs (lower = more unusual), when given

    @property
    def num_examples(self) -> int:
        return len(self.graph.indices)

    @property
    def outlier_rate(self) -> float:
        return float(np.count_nonzero(self.outliers.is_outlier)) / self.num_examples

    @property
    def in_duplicate_set(self) -> np.ndarray:
        return self.duplicates.set_id >= 0

    @property
    def duplicate_rate(self) -> float:
        """Share of examples that are redundant copies: members of sets beyond one per set."""
        extra = int(np.count_nonzero(self.in_duplicate_set)) - self.duplicates.num_sets
        return extra / self.num_examples

    @property
    def conflicting(self) -> np.ndarray:
        """(N,) bool: in a near-duplicate set whose members carry different labels."""
        return self.duplicates.in_conflicting_set

    def to_dict(self, class_names=None) -> dict:
        """A JSON-ready summary (plain Python types)."""
        d = self.duplicates
        doc = {
            "k": int(self.graph.k),
            "metric": self.graph.metric,
            "num_outliers": int(np.count_nonzero(self.outliers.is_outlier)),
            "outlier_rate": self.outlier_rate,
            "outlier_threshold": float(self.outliers.threshold),
            "num_duplicate_sets": int(d.num_sets),
            "num_in_duplicate_sets": int(np.count_nonzero(self.in_duplicate_set)),
            "duplicate_rate": self.duplicate_rate,
            "duplicate_radius": float(d.radius),
            "num_conflicting_sets": int(np.count_nonzero(d.conflicting)) if d.conflicting is not None else None,
            "num_in_conflicting_sets": int(np.count_nonzero(self.conflicting)),
        }
        b = self.balance
        if b is not None:
            names = list(class_names) if class_names is not None else [str(i) for i in range(len(b.counts))]
            doc["class_balance"] = {
                "imbalanced": bool(b.imbalanced),
                "rarest_class": names[b.rarest_class],
                "largest_to_smallest": float(b.ratio) if np.isfinite(b.ratio) else None,
                "imbalanced_classes": [names[i] for i in np.flatnonzero(b.is_imbalanced)],
                "underpopulated_classes": [names[i] for i in np.flatnonzero(b.is_underpopulated)],
            }
        return doc


def _label_codes(labels: np.ndarray) -> np.ndarray:
    """One code per distinct label (multi-label: per distinct tag set), for conflict checks."""
    if labels.ndim == 2:
        return np.unique(labels, axis=0, return_inverse=True)[1].reshape(-1)
    return labels


def check_features(
    features,
    labels=None,
    num_classes: int | None = None,
    *,
    k: int = 10,
    metric: str = "cosine",
    dup_threshold: float | None = None,
    outlier_threshold: float | None = None,
    pred_probs=None,
    ood_method: str = "entropy",
    progress=None,
    name: str = "features",
    graph: KnnGraph | None = None,
) -> FeatureIssues:
    """Run every feature-space check on one shared kNN graph.

    labels: N class indices or an N x K tag matrix (conflicting duplicates, class balance);
    dup_threshold scales the near-duplicate radius (x the median nearest-neighbour distance);
    outlier_threshold is a score cut-off in [0, 1] (default: Q3 + 1.7 IQR of mean distances).
    """
    if graph is None:  # (graph: the same kNN graph computed elsewhere, e.g. on a cluster)
        graph = knn_graph(features, k=k, metric=metric, progress=progress, name=name)
    codes = None if labels is None else _label_codes(np.asarray(labels))
    if codes is not None and len(codes) != len(graph.indices):
        raise LabelError(f"{name} has {len(graph.indices)} rows but labels have {len(codes)}")
    balance = None
    if labels is not None and np.asarray(labels).ndim == 1:
        if num_classes is None:
            raise LabelError("num_classes is needed with labels")
        balance = class_balance(labels, num_classes)
    ood = None if pred_probs is None else ood_scores_from_pred_probs(pred_probs, method=ood_method)
    return FeatureIssues(
        graph=graph,
        outliers=outlier_scores(graph, threshold=outlier_threshold),
        duplicates=near_duplicate_sets(graph, labels=codes, threshold=dup_threshold),
        balance=balance,
        ood_scores=ood,
    )
