"""The two sets of defaults: labelcli's own, chosen on measured accuracy (bench/ACCURACY.md), and
cleanlab 2.9's, reproduced exactly with ``compat="cleanlab"`` (what the conformance tests use).

An option the caller sets always wins; the profile only fills in the ones left as None.
"""
from __future__ import annotations

from dataclasses import dataclass

from labelcli.errors import LabelError


@dataclass(frozen=True)
class Defaults:
    filter_by: str  # find_label_issues, multi-class
    rank_by: str  # find_label_issues' ranking and label_quality_scores' method, multi-class
    multilabel_filter_by: str
    multilabel_method: str
    multilabel_aggregation: str
    ties: str = "row"  # equal keys at a cut or in a ranking: see core.select.TIES


LABELCLI = Defaults(
    filter_by="low_posterior",
    rank_by="posterior",
    multilabel_filter_by="prune_by_noise_rate",
    multilabel_method="self_confidence",
    multilabel_aggregation="softmin",
)
CLEANLAB = Defaults(
    filter_by="prune_by_noise_rate",
    rank_by="self_confidence",
    multilabel_filter_by="prune_by_noise_rate",
    multilabel_method="self_confidence",
    multilabel_aggregation="exponential_moving_average",
    ties="numpy",
)
PROFILES = {"labelcli": LABELCLI, "cleanlab": CLEANLAB}


def defaults(compat: str | None) -> Defaults:
    """The profile for ``compat``: None or "labelcli" (labelcli's defaults), "cleanlab"."""
    if compat is None:
        return LABELCLI
    if compat not in PROFILES:
        raise LabelError(f"unknown compat '{compat}'; choose one of {', '.join(PROFILES)}")
    return PROFILES[compat]
