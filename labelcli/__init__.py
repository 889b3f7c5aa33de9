"""labelcli: find mislabeled examples in classification datasets.

Every command-line feature is a Python function here, taking and returning numpy arrays:

    >>> from labelcli import find_label_issues
    >>> issues = find_label_issues(labels, pred_probs)
    >>> issues.ranking[:10]          # the ten most suspect rows

Multi-label (tag) data has the same functions in ``labelcli.multilabel``, taking an N x K 0/1
tag matrix and N x K per-tag probabilities.
"""
from labelcli.core import multilabel
from labelcli.core.counting import (
    NoiseEstimate,
    calibrate_confident_joint,
    class_priors,
    confident_joint,
    estimate_joint,
    estimate_noise_matrices,
    num_label_issues,
    per_class_thresholds,
)
from labelcli.core.filtering import FILTERS, LabelIssues, find_label_issues
from labelcli.core.health import HealthSummary, health_summary
from labelcli.core.multilabel import MultiLabelHealth, MultiLabelIssues, TagQuality
from labelcli.core.ranking import METHODS, label_quality_scores
from labelcli.core.stratify import check_tag_counts, multilabel_stratified_folds
from labelcli.errors import LabelError

__version__ = "0.1.0"

__all__ = [
    "FILTERS",
    "METHODS",
    "HealthSummary",
    "LabelError",
    "LabelIssues",
    "MultiLabelHealth",
    "MultiLabelIssues",
    "TagQuality",
    "NoiseEstimate",
    "calibrate_confident_joint",
    "check_tag_counts",
    "class_priors",
    "confident_joint",
    "estimate_joint",
    "estimate_noise_matrices",
    "find_label_issues",
    "health_summary",
    "label_quality_scores",
    "multilabel",
    "multilabel_stratified_folds",
    "num_label_issues",
    "per_class_thresholds",
]
