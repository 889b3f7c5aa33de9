"""The task of `find-issues` with a reference set (beside labelcli.tasks, same contract: Datasets
and option objects in, a result object out; no files, no printing): confident learning fitted on
the reference, issues flagged in a new batch (labelcli.core.reference), outliers against the
reference's kNN index (labelcli.core.refknn), and the batch's drift.

    >>> from labelcli.io import open_dataset
    >>> ref = open_dataset("ref_labels.csv", "ref_pred_probs.npy")
    >>> batch = open_dataset("new_labels.csv", "new_pred_probs.npy", classes=ref.classes)
    >>> result = find_batch_issues(batch, ref)
    >>> result.found.issues.ranking[:10], result.drift.class_mix_tvd
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from labelcli.errors import LabelError
from labelcli.tasks import Detection, FeatureChecks, IssuesResult, Tick, check_detection, feature_checks, predictions


@dataclass(frozen=True, eq=False)
class BatchResult:
    """find-issues with a reference: the batch's issues (an IssuesResult, rows of the batch), the
    reference fit (core.reference.ReferenceFit) and the batch's drift (core.reference.BatchDrift)."""

    found: IssuesResult
    reference: object
    drift: object


def _check_inputs(ds, reference_ds) -> None:
    from labelcli.core.validate import check_classes_present
    from labelcli.io import check_class_pairs_fit, display_name

    if ds.multi_label != reference_ds.multi_label:
        raise LabelError(f"the batch is {ds.task} but the reference is {reference_ds.task}; give both the same kind"
                         " of labels")
    if reference_ds.pred_probs is None or ds.pred_probs is None:
        raise LabelError("a reference needs pred_probs of the batch and of the reference (the `pred_probs` and"
                         " `reference_pred_probs` options)")
    if ds.features is not None and reference_ds.features is None:
        raise LabelError("the `features` option with a reference needs the `reference_features` option too")
    if list(ds.classes) != list(reference_ds.classes):
        raise LabelError(f"the batch's classes ({', '.join(map(str, ds.classes[:5]))}, ...) differ from the"
                         f" reference's ({', '.join(map(str, reference_ds.classes[:5]))}, ...); give both the"
                         " same classes (the `classes` option)")
    if not ds.multi_label:
        check_classes_present(ds.labels, ds.num_classes, name=display_name(ds.labels_path))
        check_class_pairs_fit(ds.num_classes, name=display_name(ds.pred_probs_path or ds.labels_path))


def find_batch_issues(ds, reference_ds, detection: Detection = Detection(), *, features: FeatureChecks | None = None,
                      progress: Tick | None = None) -> BatchResult:
    """find-issues --reference-*: thresholds and noise estimate fitted on the reference dataset,
    issues flagged in the batch (ds); with features on both, outliers against the reference's kNN
    index; the drift of the class mix (and outlier rate) from the reference."""
    from labelcli.core import engine, reference as ref
    from labelcli.io import display_name

    _check_inputs(ds, reference_ds)
    check_detection(detection, ds.multi_label)
    preds = predictions(ds, None, progress)
    if ds.multi_label:  # one binary fit per tag, lending each tag's thresholds
        fit = ref.fit_reference_tags(reference_ds.labels, reference_ds.pred_probs, reference_ds.classes)
        source, options = preds.array, dict(aggregation=detection.aggregation, alpha=detection.alpha,
                                            temperature=detection.temperature)
    else:
        fit = ref.fit_reference(reference_ds.labels, engine.ArraySource(reference_ds.pred_probs),
                                engine.Run(checked=True))
        source, options = engine.ArraySource(preds.array), {}  # (checked once already: no second pass)
    issues = ref.find_batch_issues(fit, ds.labels, source, filter_by=detection.filter_by, rank_by=detection.rank_by,
                                   compat=detection.compat, run=engine.Run(checked=True),
                                   name=display_name(ds.labels_path), **options)
    feats, rates = None, {}
    if reference_ds.features is not None:
        from labelcli.core.refknn import ReferenceIndex

        options = features or FeatureChecks()
        index = ReferenceIndex.fit(reference_ds.features, k=options.k, metric=options.metric,
                                   threshold=options.outlier_threshold, name=display_name(reference_ds.features_path))
        rates["reference_outlier_rate"] = index.outlier_rate
        if ds.features is not None:
            feats = feature_checks(ds, preds, options, progress)
            feats = replace(feats, outliers=index.score(ds.features, display_name(ds.features_path)))
            rates["batch_outlier_rate"] = feats.outlier_rate
    drift = ref.batch_drift(reference_ds.labels, ds.labels, ds.num_classes, **rates)
    extra = (issues.aggregation,) if ds.multi_label else ()
    return BatchResult(IssuesResult(issues, feats, preds, issues.filter_by, issues.rank_by, *extra), fit, drift)
