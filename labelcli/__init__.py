"""labelcli: find mislabeled examples in classification datasets.

Every command-line feature is a Python function here, taking and returning numpy arrays:

    >>> from labelcli import find_label_issues
    >>> issues = find_label_issues(labels, pred_probs)
    >>> issues.ranking[:10]          # the ten most suspect rows
"""
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
from labelcli.core.ranking import METHODS, label_quality_scores
from labelcli.errors import LabelError

__version__ = "0.1.0"

__all__ = [
    "FILTERS",
    "METHODS",
    "HealthSummary",
    "LabelError",
    "LabelIssues",
    "NoiseEstimate",
    "calibrate_confident_joint",
    "class_priors",
    "confident_joint",
    "estimate_joint",
    "estimate_noise_matrices",
    "find_label_issues",
    "health_summary",
    "label_quality_scores",
    "num_label_issues",
    "per_class_thresholds",
]
