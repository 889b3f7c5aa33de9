"""Per-example label quality scores in [0, 1]; lower means more likely mislabeled."""
from __future__ import annotations

import numpy as np

from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.engine import ArraySource, Run
from labelcli.core.engine import label_quality_scores as run_label_quality_scores
from labelcli.core.scores import CLIP, METHODS, MODEL_METHODS, check_method  # noqa: F401 (API)
from labelcli.core.select import order_by_score  # noqa: F401 (API)


def label_quality_scores(
    labels, pred_probs, *, method: str | None = None, adjust_pred_probs: bool = False, compat: str | None = None
) -> np.ndarray:
    """Label quality score per example (lower = more suspect).

    method: ``posterior`` (labelcli's default: the probability that the given label is correct under
    a label-noise model fitted to the data, labelcli.core.posterior), ``adjusted_margin`` (normalized
    margin of the pred_probs minus the per-class thresholds, in float64), ``self_confidence`` (p[given]; cleanlab's default),
    ``normalized_margin`` ((p[given] - max other + 1) / 2) or ``confidence_weighted_entropy``.
    ``adjust_pred_probs`` first subtracts the per-class thresholds, which corrects for classes the
    model is systematically over-confident in. compat="cleanlab": cleanlab 2.9's default method.
    """
    if method is None and adjust_pred_probs and defaults(compat).rank_by in MODEL_METHODS:
        raise v.LabelError(f"adjust_pred_probs works with method self_confidence or normalized_margin, not with the"
                           f" default ({defaults(compat).rank_by}); pass method too")
    method = defaults(compat).rank_by if method is None else method
    y, p = v.check_inputs(labels, pred_probs, min_classes_present=1)
    check_method(method, adjust_pred_probs)
    return run_label_quality_scores(y, ArraySource(p), method, adjust_pred_probs, Run(checked=True), predicted=False)[0]
