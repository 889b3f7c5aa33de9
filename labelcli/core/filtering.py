"""find_label_issues for multi-class data: which examples are likely mislabeled, ranked."""
from __future__ import annotations

import numpy as np

from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.engine import ArraySource, Plan, Run
from labelcli.core.engine import find_label_issues as run_find_label_issues
from labelcli.core.pruning import FILTERS, PRUNING, LabelIssues  # noqa: F401 (API)


def find_label_issues(
    labels,
    pred_probs,
    *,
    filter_by: str | None = None,
    frac_noise: float = 1.0,
    num_to_remove_per_class=None,
    min_examples_per_class: int = 1,
    rank_by: str | None = None,
    confident_joint=None,
    compat: str | None = None,
) -> LabelIssues:
    """Flag likely label errors with confident learning and rank them, most suspect first.

    filter_by: ``low_posterior`` (labelcli's default: the lowest posteriors that the given label is
    correct under a fitted label-noise model, see core.posterior; as many rows as the calibrated
    adjusted confident joint counts off its diagonal), ``low_adjusted_margin``,
    ``prune_by_noise_rate`` (cleanlab's default), ``prune_by_class``, ``both``,
    ``confident_learning``, ``predicted_neq_given``, ``low_self_confidence``,
    ``low_normalized_margin``. frac_noise, num_to_remove_per_class (one count per class, or one
    count for every class) and min_examples_per_class tune the pruning filters. rank_by: the label
    quality score that orders the flagged rows (default ``posterior``).
    compat="cleanlab": unset options take cleanlab 2.9's defaults, and exactly tied rows are
    chosen and ordered as cleanlab's unstable sorts do, so results equal cleanlab's.
    """
    profile = defaults(compat)
    y, p, check = v.check_inputs_deferred(labels, pred_probs)
    k = p.shape[1]
    plan = Plan(
        profile.filter_by if filter_by is None else filter_by,
        profile.rank_by if rank_by is None else rank_by,
        frac_noise,
        per_class_counts(num_to_remove_per_class, k),
        min_examples_per_class,
        confident_joint,
        profile.ties,
    )
    source = ArraySource(p, name=check.name, dtype=np.asarray(pred_probs).dtype)
    return run_find_label_issues(y, source, plan, Run())


def per_class_counts(num_to_remove_per_class, k: int) -> tuple | None:
    """num_to_remove_per_class as K counts: one number applies to every class (as in cleanlab)."""
    if num_to_remove_per_class is None:
        return None
    if isinstance(num_to_remove_per_class, (int, float)) or getattr(num_to_remove_per_class, "ndim", 1) == 0:
        return (num_to_remove_per_class,) * k
    return tuple(num_to_remove_per_class)
