"""labelcli: find mislabeled examples in classification datasets.

Every command-line feature is a Python function here, taking and returning numpy arrays:

    >>> from labelcli import find_label_issues
    >>> issues = find_label_issues(labels, pred_probs)
    >>> issues.ranking[:10]          # the ten most suspect rows

Multi-label (tag) data has the same functions in ``labelcli.multilabel``, taking an N x K 0/1
tag matrix and N x K per-tag probabilities.
"""
# Names are resolved on first use (PEP 562), so `import labelcli` and `labelcli --help` stay fast:
# numpy and the core load only when a function is actually used.
_WHERE = {
    "multilabel": "labelcli.core.multilabel",
    "confused_class_pairs": "labelcli.core.coreset",
    "importance_scores": "labelcli.core.coreset",
    "Consensus": "labelcli.core.consensus",
    "consensus": "labelcli.core.consensus",
    "ActiveLearning": "labelcli.core.consensus_active",
    "active_learning_scores": "labelcli.core.consensus_active",
    "review_order": "labelcli.core.coreset",
    "NoiseEstimate": "labelcli.core.counting",
    "calibrate_confident_joint": "labelcli.core.counting",
    "class_priors": "labelcli.core.counting",
    "confident_joint": "labelcli.core.counting",
    "estimate_joint": "labelcli.core.counting",
    "estimate_noise_matrices": "labelcli.core.counting",
    "num_label_issues": "labelcli.core.counting",
    "per_class_thresholds": "labelcli.core.counting",
    "FILTERS": "labelcli.core.filtering",
    "LabelIssues": "labelcli.core.filtering",
    "find_label_issues": "labelcli.core.filtering",
    "FeatureIssues": "labelcli.core.featurecheck",
    "check_features": "labelcli.core.featurecheck",
    "HealthSummary": "labelcli.core.health",
    "health_summary": "labelcli.core.health",
    "MultiLabelHealth": "labelcli.core.multilabel",
    "MultiLabelIssues": "labelcli.core.multilabel",
    "TagQuality": "labelcli.core.multilabel",
    "ClassBalance": "labelcli.core.neighbors",
    "DuplicateSets": "labelcli.core.neighbors",
    "KnnGraph": "labelcli.core.neighbors",
    "OutlierResult": "labelcli.core.neighbors",
    "class_balance": "labelcli.core.neighbors",
    "knn_graph": "labelcli.core.neighbors",
    "near_duplicate_sets": "labelcli.core.neighbors",
    "ood_scores_from_pred_probs": "labelcli.core.neighbors",
    "outlier_scores": "labelcli.core.neighbors",
    "METHODS": "labelcli.core.ranking",
    "label_quality_scores": "labelcli.core.ranking",
    "check_tag_counts": "labelcli.core.stratify",
    "multilabel_stratified_folds": "labelcli.core.stratify",
    "LabelError": "labelcli.errors",
    "HealthDiff": "labelcli.core.baseline",
    "compare_health": "labelcli.core.baseline",
    "ReferenceFit": "labelcli.core.reference",
    "ReferenceIndex": "labelcli.core.refknn",
    "batch_drift": "labelcli.core.reference",
    "find_batch_issues": "labelcli.core.reference",
    "fit_reference": "labelcli.core.reference",
    "fit_reference_tags": "labelcli.core.reference",
    "TagReferenceFit": "labelcli.core.reference",
}

__version__ = "0.1.0"


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'labelcli' has no attribute {name!r}")
    import importlib

    mod = importlib.import_module(module)
    value = mod if name == module.rsplit(".", 1)[-1] and not hasattr(mod, name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)


__all__ = [
    "ActiveLearning",
    "ClassBalance",
    "Consensus",
    "DuplicateSets",
    "FILTERS",
    "FeatureIssues",
    "HealthDiff",
    "HealthSummary",
    "KnnGraph",
    "LabelError",
    "LabelIssues",
    "METHODS",
    "MultiLabelHealth",
    "MultiLabelIssues",
    "NoiseEstimate",
    "OutlierResult",
    "ReferenceFit",
    "ReferenceIndex",
    "TagQuality",
    "TagReferenceFit",
    "calibrate_confident_joint",
    "check_features",
    "check_tag_counts",
    "active_learning_scores",
    "batch_drift",
    "class_balance",
    "class_priors",
    "compare_health",
    "consensus",
    "confident_joint",
    "confused_class_pairs",
    "estimate_joint",
    "estimate_noise_matrices",
    "find_batch_issues",
    "find_label_issues",
    "fit_reference",
    "fit_reference_tags",
    "health_summary",
    "importance_scores",
    "knn_graph",
    "label_quality_scores",
    "multilabel",
    "multilabel_stratified_folds",
    "near_duplicate_sets",
    "num_label_issues",
    "ood_scores_from_pred_probs",
    "outlier_scores",
    "per_class_thresholds",
    "review_order",
]
