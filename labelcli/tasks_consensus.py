"""The consensus task: annotations (labelcli.io.annotations) and pred_probs (given, or
cross-validated from features against the majority vote) -> labelcli.core.consensus.

Kept beside labelcli.tasks (one function per command) as its own module: it shares nothing with
the single-label tasks but the cross-validation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from labelcli.core.consensus import Consensus, check_annotations, consensus, majority_vote
from labelcli.core.consensus_active import ActiveLearning, active_learning_scores


@dataclass(frozen=True, eq=False)
class ConsensusRun:
    """A consensus result with the pred_probs it used and where they came from, and the active
    learning scores (with pred_probs: which examples most need another label)."""

    result: Consensus
    pred_probs: np.ndarray | None
    source: str  # "none", "given" or "cross-validated"
    cv_accuracy: float | None = None
    active: ActiveLearning | None = None


def run_consensus(ann, features: np.ndarray | None = None, *, model: str = "logreg", folds: int = 5,
                  seed: int = 0, compat: str | None = None, progress: Callable | None = None) -> ConsensusRun:
    """CROWDLAB with the given pred_probs, or with pred_probs cross-validated from features on the
    majority-vote labels (the labels a model would be trained on before any consensus), or a
    majority vote when there are neither. With pred_probs (of one model or several), also the
    active learning scores of the annotated examples and of ``ann.unlabeled``'s examples."""
    k = len(ann.classes)
    if ann.pred_probs is not None:
        result = consensus(ann.matrix, ann.pred_probs, num_classes=k)
        active = active_learning_scores(ann.matrix, ann.pred_probs, ann.unlabeled, num_classes=k, compat=compat)
        return ConsensusRun(result, ann.pred_probs, "given", active=active)
    if features is None:
        return ConsensusRun(consensus(ann.matrix, num_classes=k), None, "none")
    from labelcli.core.validate import check_same_length
    from labelcli.ml.crossval import cross_val_pred_probs

    check_same_length(len(ann.matrix), len(features), name_a="annotations", name_b="features")
    mat, _ = check_annotations(ann.matrix, k)
    vote = majority_vote(mat, k)
    tick = None if progress is None else (lambda done, total: progress(f"cross-validating ({model})", done, total))
    cv = cross_val_pred_probs(features, vote, num_classes=k, model=model, folds=folds, seed=seed,
                              class_names=ann.classes, labels_name="majority-vote labels", progress=tick)
    result = consensus(mat, cv.pred_probs, num_classes=k)
    active = active_learning_scores(mat, cv.pred_probs, num_classes=k, compat=compat)
    return ConsensusRun(result, cv.pred_probs, "cross-validated", cv.accuracy, active)
