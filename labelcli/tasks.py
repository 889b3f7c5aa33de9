"""One function per command: a Dataset (labelcli.io.open_dataset) and small option objects in, a
result object out. This is where the engine is chosen: pred_probs in memory run as one chunk,
pred_probs left on disk run chunk by chunk through the same passes (labelcli.core.engine),
multi-label data runs one-vs-rest (labelcli.core.multilabel, on the same engine), and pred_probs
that were not given are cross-validated from the features first. No files are read or written
here and nothing is printed; progress goes to an optional callback tick(step, done, total).

    >>> from labelcli.io import open_dataset
    >>> from labelcli import tasks
    >>> ds = open_dataset("labels.csv", "pred_probs.npy")
    >>> result = tasks.find_issues(ds, tasks.Detection())
    >>> result.issues.ranking[:10]
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from labelcli.errors import LabelError

Tick = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class Detection:
    """How label issues are found and scored (None: the compat profile's default). rank_by names
    the label quality score for both tasks (multi-label: the per-tag score, aggregated)."""

    filter_by: str | None = None
    rank_by: str | None = None
    compat: str | None = None
    aggregation: str | None = None  # multi-label
    alpha: float = 0.8  # multi-label, exponential_moving_average
    temperature: float = 0.1  # multi-label, softmin
    adjust_pred_probs: bool = False  # scores of multi-class data


@dataclass(frozen=True)
class CrossValidation:
    """How pred_probs are made from features when none are given."""

    model: str = "logreg"
    folds: int = 5
    seed: int = 0


@dataclass(frozen=True)
class FeatureChecks:
    """The kNN-based checks on features (outliers, near duplicates, class balance)."""

    k: int = 10
    metric: str = "cosine"
    dup_threshold: float | None = None
    outlier_threshold: float | None = None


@dataclass(frozen=True, eq=False)
class Predictions:
    """The pred_probs a run works on: loaded (array), on disk (chunks) or cross-validated."""

    array: np.ndarray | None
    chunks: object | None
    cv_accuracy: float | None = None
    cv_fold_accuracies: tuple = ()


def check_detection(detection: Detection, multi_label: bool, rank_option: str = "rank_by") -> None:
    """The option values, against the task's own lists (multi-label has no adjusted margin).
    rank_option: what the caller calls rank_by in its messages (the score command: method)."""
    from labelcli.core import multilabel
    from labelcli.core.defaults import defaults
    from labelcli.core.pruning import FILTERS
    from labelcli.core.scores import METHODS

    defaults(detection.compat)
    if multi_label:
        lists = ((detection.filter_by, multilabel.FILTERS, "filter_by"), (detection.rank_by, multilabel.METHODS, rank_option),
                 (detection.aggregation, multilabel.AGGREGATIONS, "aggregation"))
        for value, allowed, option in lists:
            if value in ("low_adjusted_margin", "adjusted_margin", "low_posterior", "posterior"):
                raise LabelError(f"the `{option}` option '{value}' is for multi-class data; multi-label takes:"
                                 f" {', '.join(allowed)}")
        if detection.adjust_pred_probs:
            raise LabelError("the `adjust_pred_probs` option is for multi-class data")
    else:
        lists = ((detection.filter_by, FILTERS, "filter_by"), (detection.rank_by, METHODS, rank_option))
    for value, allowed, option in lists:
        if value is not None and value not in allowed:
            raise LabelError(f"the `{option}` option '{value}' is not one of: {', '.join(allowed)}")


def predictions(ds, crossval: CrossValidation | None = None, progress: Tick | None = None,
                executor=None) -> Predictions:
    """The dataset's pred_probs, or out-of-sample ones cross-validated from its features."""
    if ds.pred_probs is not None or ds.pred_probs_chunks is not None:
        return Predictions(ds.pred_probs, ds.pred_probs_chunks)
    if ds.features is None:
        raise LabelError("give the `pred_probs` option, or the `features` option to compute pred_probs by"
                         " cross-validation")
    cv = cross_validate(ds, crossval or CrossValidation(), progress, executor)
    return Predictions(cv.pred_probs, None, cv.accuracy, tuple(cv.fold_accuracies))


def cross_validate(ds, crossval: CrossValidation, progress: Tick | None = None, executor=None):
    """Out-of-sample pred_probs of the dataset's features (labelcli.ml.crossval); with an executor
    (--engine dask, labelcli.distributed) the folds run in parallel on the cluster."""
    from labelcli.ml.crossval import cross_val_multilabel_pred_probs, cross_val_pred_probs

    if ds.features is None:
        raise LabelError("cross-validation needs the `features` option")
    tick = None if progress is None else (lambda done, total: progress(f"cross-validating ({crossval.model})",
                                                                       done, total))
    common = dict(model=crossval.model, folds=crossval.folds, seed=crossval.seed, class_names=ds.classes,
                  progress=tick)
    if ds.multi_label:
        return cross_val_multilabel_pred_probs(ds.features, ds.labels, **common)
    from labelcli.io import display_name

    if executor is not None:
        from labelcli.distributed.crossval import map_folds

        common["map_folds"] = map_folds(executor)
    return cross_val_pred_probs(ds.features, ds.labels, num_classes=ds.num_classes,
                                labels_name=display_name(ds.labels_path), **common)


def _source_and_run(ds, preds: Predictions, progress: Tick | None):
    """The engine's source and run options for multi-class pred_probs in memory or on disk."""
    from labelcli.core.engine import ArraySource, Run

    if preds.chunks is None:
        return ArraySource(preds.array), Run(checked=True)
    from labelcli.io.chunks import chunk_rows

    rows = chunk_rows(preds.chunks, ds.num_examples, ds.max_memory)
    return preds.chunks, Run(chunk_rows=rows, normalize=ds.normalize, progress=progress)


def _check_multiclass(ds) -> None:
    """What confident learning needs of multi-class labels beyond their values."""
    from labelcli.core.validate import check_classes_present
    from labelcli.io import check_class_pairs_fit, display_name

    check_classes_present(ds.labels, ds.num_classes, name=display_name(ds.labels_path))
    check_class_pairs_fit(ds.num_classes, name=display_name(ds.pred_probs_path or ds.labels_path))


# --- find-issues -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class IssuesResult:
    """find_issues: the label issues (LabelIssues or MultiLabelIssues), the feature checks when
    features were given, and the options as resolved (filter_by, rank_by; multi-label also the
    aggregation)."""

    issues: object
    features: object | None
    predictions: Predictions
    filter_by: str
    rank_by: str
    aggregation: str | None = None

    @property
    def ranked_by(self) -> str:
        """The ranking as shown to people (multi-label: score and aggregation)."""
        return self.rank_by if self.aggregation is None else f"{self.rank_by}, {self.aggregation}"


def label_issues(ds, preds: Predictions, detection: Detection, progress: Tick | None = None):
    """LabelIssues (multi-class) or MultiLabelIssues of the dataset with these pred_probs."""
    check_detection(detection, ds.multi_label)
    if ds.multi_label:
        from labelcli.core import multilabel

        return multilabel.find_label_issues(ds.labels, preds.array, filter_by=detection.filter_by,
                                            rank_by=detection.rank_by, aggregation=detection.aggregation,
                                            alpha=detection.alpha, temperature=detection.temperature,
                                            compat=detection.compat)
    from labelcli.core import engine
    from labelcli.core.defaults import defaults

    _check_multiclass(ds)
    profile = defaults(detection.compat)
    plan = engine.Plan(profile.filter_by if detection.filter_by is None else detection.filter_by,
                       profile.rank_by if detection.rank_by is None else detection.rank_by, ties=profile.ties)
    plan.check(ds.num_classes)
    source, run = _source_and_run(ds, preds, progress)
    return engine.find_label_issues(ds.labels, source, plan, run)


def find_issues(ds, detection: Detection = Detection(), *, crossval: CrossValidation | None = None,
                features: FeatureChecks | None = None, progress: Tick | None = None, executor=None) -> IssuesResult:
    """find-issues: label issues, and with features the feature-space checks too. executor: a
    labelcli.distributed Executor (--engine dask): folds and kNN tiles run on its cluster."""
    check_detection(detection, ds.multi_label)
    preds = predictions(ds, crossval, progress, executor)
    issues = label_issues(ds, preds, detection, progress)
    feats = feature_checks(ds, preds, features or FeatureChecks(), progress, executor) \
        if ds.features is not None else None
    if ds.multi_label:
        return IssuesResult(issues, feats, preds, issues.filter_by, issues.rank_by, issues.aggregation)
    return IssuesResult(issues, feats, preds, issues.filter_by, issues.rank_by)


def feature_checks(ds, preds: Predictions, options: FeatureChecks, progress: Tick | None = None, executor=None):
    """Outliers, near duplicates and class balance from one kNN graph of the features (its tiles
    on the executor's cluster when one is given: the same graph)."""
    from labelcli.core.featurecheck import check_features
    from labelcli.io import display_name

    if options.metric not in ("cosine", "euclidean"):
        raise LabelError(f"the `metric` option '{options.metric}' is not one of: cosine, euclidean")
    step = f"{options.k} nearest neighbours ({options.metric})"
    tick = None if progress is None else (lambda done, total: progress(step, done, total))
    graph = None
    if executor is not None:
        from labelcli.distributed.knn import knn_graph

        graph = knn_graph(executor, ds.features, k=options.k, metric=options.metric, progress=tick,
                          name=display_name(ds.features_path))
    return check_features(ds.features, ds.labels, ds.num_classes, k=options.k, metric=options.metric, graph=graph,
                          dup_threshold=options.dup_threshold, outlier_threshold=options.outlier_threshold,
                          pred_probs=None if ds.multi_label else preds.array, progress=tick,
                          name=display_name(ds.features_path))


# --- score -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ScoresResult:
    """score: one label quality score per example (input order), the suggested label(s) and the
    method as resolved."""

    scores: np.ndarray
    predicted: np.ndarray  # argmax class; multi-label: (N, K) bool tags with p >= 0.5
    method: str
    predictions: Predictions | None = None


def score(ds, detection: Detection = Detection(), progress: Tick | None = None, *,
          crossval: CrossValidation | None = None, executor=None) -> ScoresResult:
    """score: label quality scores of every example (without pred_probs: cross-validated from the
    features, as find-issues does)."""
    from labelcli.core.defaults import defaults

    check_detection(detection, ds.multi_label, "method")
    profile = defaults(detection.compat)
    preds = predictions(ds, crossval, progress, executor)
    if ds.multi_label:
        from labelcli.core import multilabel

        method = profile.multilabel_method if detection.rank_by is None else detection.rank_by
        scores = multilabel.label_quality_scores(ds.labels, preds.array, method=method,
                                                 aggregation=detection.aggregation, alpha=detection.alpha,
                                                 temperature=detection.temperature, compat=detection.compat)
        return ScoresResult(scores, preds.array >= multilabel.PREDICT_THRESHOLD, method, preds)
    from labelcli.core import engine

    method = profile.rank_by if detection.rank_by is None else detection.rank_by
    source, run = _source_and_run(ds, preds, progress)
    scores, predicted = engine.label_quality_scores(ds.labels, source, method, detection.adjust_pred_probs, run)
    return ScoresResult(scores, predicted, method, preds)


@dataclass(frozen=True, eq=False)
class ImportanceResult:
    """score --method importance: rows to review in order, their importance, the suggested labels
    (when pred_probs were given) and the class pairs the model confuses most."""

    order: np.ndarray
    importance: np.ndarray
    predicted: np.ndarray | None
    confused_pairs: object | None


def importance(ds, *, class_index: int | None = None, top: int = 50, seed: int = 0,
               progress: Tick | None = None, exclude=None) -> ImportanceResult:
    """A review list: coreset importance of a logistic regression on the features (rows in
    ``exclude``, already reviewed, are left out of the list)."""
    from labelcli.core.coreset import confused_class_pairs, importance_scores, review_order
    from labelcli.io import display_name

    if ds.multi_label:
        raise LabelError("importance is for multi-class labels; multi-label data is reviewed by find-issues")
    if ds.features is None:
        raise LabelError("importance needs the `features` option (the examples' features or embeddings)")
    if progress is not None:
        progress("fitting logistic regression for importance", 0, None)
    imp = importance_scores(ds.features, ds.labels, ds.num_classes, seed=seed, name=display_name(ds.features_path))
    order = review_order(imp, ds.labels, class_index=class_index, top=top, exclude=exclude)
    probs = ds.pred_probs
    pairs = None if probs is None else confused_class_pairs(ds.labels, probs, top=5)
    return ImportanceResult(order, imp, None if probs is None else probs.argmax(axis=1), pairs)


# --- health ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HealthResult:
    """health: the summary (HealthSummary or MultiLabelHealth) and the feature checks, if any."""

    summary: object
    features: object | None
    predictions: Predictions | None = None


def health(ds, detection: Detection = Detection(), *, top_pairs: int = 20, features: FeatureChecks | None = None,
           progress: Tick | None = None, executor=None, crossval: CrossValidation | None = None) -> HealthResult:
    """health: overall label health, per-class noise and overlapping classes (without pred_probs:
    cross-validated from the features, as find-issues does)."""
    check_detection(detection, ds.multi_label)
    preds = predictions(ds, crossval, progress, executor)
    summary = health_summary(ds, preds, detection, top_pairs=top_pairs, progress=progress)
    feats = feature_checks(ds, preds, features or FeatureChecks(), progress, executor) \
        if ds.features is not None else None
    return HealthResult(summary, feats, preds)


def health_summary(ds, preds: Predictions, detection: Detection = Detection(), *, top_pairs: int = 20,
                   progress: Tick | None = None):
    """The health summary (HealthSummary or MultiLabelHealth) of the dataset with these pred_probs."""
    if ds.multi_label:
        from labelcli.core import multilabel

        return multilabel.health_summary(ds.labels, preds.array, class_names=ds.classes, top_pairs=top_pairs,
                                         compat=detection.compat)
    from labelcli.core import engine
    from labelcli.core.health import summary_from_scan

    _check_multiclass(ds)
    source, run = _source_and_run(ds, preds, progress)
    classes, scan = engine.confident_scan(ds.labels, source, run)
    return summary_from_scan(classes.labels, classes.self_conf, scan, ds.num_classes,
                             class_names=ds.classes, top_pairs=top_pairs)


def health_gates(result: HealthResult, *, fail_above=None, fail_above_outliers=None, fail_above_duplicates=None,
                 fail_on_imbalance: bool = False) -> list[str]:
    """The quality gates a health result trips, one message each (empty: all pass)."""
    summary, feats = result.summary, result.features
    failed = []
    if fail_above is not None and summary.noise_rate > fail_above:
        failed.append(f"estimated noise rate {summary.noise_rate:.2%} is above --fail-above {fail_above:g}")
    if feats is None:
        return failed
    if fail_above_outliers is not None and feats.outlier_rate > fail_above_outliers:
        failed.append(f"outlier rate {feats.outlier_rate:.2%} is above --fail-above-outliers {fail_above_outliers:g}")
    if fail_above_duplicates is not None and feats.duplicate_rate > fail_above_duplicates:
        failed.append(f"duplicate rate {feats.duplicate_rate:.2%} is above --fail-above-duplicates"
                      f" {fail_above_duplicates:g}")
    bal = feats.to_dict(summary.class_names).get("class_balance")
    if fail_on_imbalance and bal is not None and (bal["imbalanced"] or bal["underpopulated_classes"]):
        rare = bal["imbalanced_classes"] + bal["underpopulated_classes"]
        failed.append(f"class imbalance: {', '.join(dict.fromkeys(rare))} far below the expected share"
                      " (--fail-on-imbalance)")
    return failed


def health_against_baseline(result: HealthResult, baseline_doc, *, margin: float = 0.0, baseline: str = "the baseline"):
    """health --baseline: this run's noise rates (overall, per class or tag, matched by name)
    against an earlier run's health document (labelcli.core.baseline.HealthDiff)."""
    from labelcli.core.baseline import compare_health

    return compare_health(baseline_doc, result.summary.to_dict(), margin=margin, baseline=baseline)


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReportResult:
    """report: the health summary and the label issues of one dataset, from the same pred_probs;
    with features also the feature checks (outliers, near duplicates), from the same kNN graph
    find-issues uses."""

    summary: object
    issues: object
    predictions: Predictions
    features: object | None = None


def report(ds, detection: Detection = Detection(), progress: Tick | None = None, *,
           crossval: CrossValidation | None = None, features: FeatureChecks | None = None,
           executor=None) -> ReportResult:
    """The numbers behind the HTML report: health and label issues from the same pred_probs (given,
    or cross-validated from the features once), and the feature checks when features are given
    (multi-label: MultiLabelHealth and MultiLabelIssues, the health and find-issues figures)."""
    preds = predictions(ds, crossval, progress, executor)
    if preds.chunks is not None:
        raise LabelError("the HTML report needs pred_probs in memory; raise the `max_memory` option")
    issues = label_issues(ds, preds, detection, progress)
    # health's figures are of the rows a fix kept (as `health` on a fix output gives them)
    kept = ds.without_skipped()
    kept_preds = preds if kept is ds else replace(preds, array=preds.array[~ds.skip])
    summary = health_summary(kept, kept_preds, Detection(compat=detection.compat), progress=progress)
    feats = feature_checks(ds, preds, features or FeatureChecks(), progress, executor) \
        if ds.features is not None else None
    return ReportResult(summary, issues, preds, feats)
