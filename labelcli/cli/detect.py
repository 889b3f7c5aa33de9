"""The detection commands: crossval, find-issues, score and health. Each parses its options, opens
the dataset (labelcli.io), runs the engine (labelcli.core, labelcli.outofcore for chunked
pred_probs) and hands the results to labelcli.render. Registered on the app by labelcli.cli.app.
"""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from labelcli.cli.options import (
    Aggregation, Alpha, Classes, Compat, Debug, DupThreshold, FeaturePrefix, Features, Folds, Format, K, LabelCol,
    Labels, LabelSep, MaxMemory, Metric, Model, MultiLabel, Normalize, Out, OutlierThreshold, PredProbs, ProbPrefix,
    Quiet, Seed, Temperature, check_format, check_top, choice, compat_profile, load, memory_budget, print_json,
)
from labelcli.errors import ExitCode, LabelError


def _class_index(name: str | None, classes) -> int | None:
    if name is None:
        return None
    if name not in classes:
        from labelcli.io import preview

        raise LabelError(f"--class '{name}' is not one of the classes ({preview(list(classes))})")
    return list(classes).index(name)


def _scope(exclude, only_class) -> str | None:
    parts = ([f"class {only_class}"] if only_class else []) + ([f"not in {exclude}"] if exclude else [])
    return ", ".join(parts) or None


def _cross_validate(ds, model, folds, seed, quiet):
    from labelcli.io import display_name
    from labelcli.ml.crossval import cross_val_multilabel_pred_probs, cross_val_pred_probs
    from labelcli.render import terminal

    with terminal.progress(quiet) as bar:
        task = bar.add_task(f"cross-validating ({model})", total=folds)
        tick = lambda done, total: bar.update(task, completed=done)  # noqa: E731
        if ds.multi_label:
            return cross_val_multilabel_pred_probs(ds.features, ds.labels, model=model, folds=folds,
                                                   seed=seed, class_names=ds.classes, progress=tick)
        return cross_val_pred_probs(ds.features, ds.labels, num_classes=len(ds.classes),
                                    class_names=ds.classes, labels_name=display_name(ds.labels_path),
                                    model=model, folds=folds, seed=seed, progress=tick)


def _feature_checks(ds, probs, k, metric, dup_threshold, outlier_threshold, quiet):
    """The kNN-based checks on --features (one shared graph), with a progress bar."""
    from labelcli.core.featurecheck import check_features
    from labelcli.render import terminal

    choice(metric, ("cosine", "euclidean"), "--metric")
    with terminal.progress(quiet) as bar:
        task = bar.add_task(f"{k} nearest neighbours ({metric})", total=None)
        return check_features(ds.features, ds.labels, len(ds.classes), k=k, metric=metric,
                              dup_threshold=dup_threshold, outlier_threshold=outlier_threshold,
                              pred_probs=None if ds.multi_label else probs,
                              progress=lambda done, total: bar.update(task, completed=done, total=total),
                              name=ds.features_path)


def _multilabel_options(filter_by, method, aggregation):
    """Check option values against the multi-label core (after loading told us the task)."""
    from labelcli.core import multilabel

    for value, allowed, option in ((filter_by, multilabel.FILTERS, "--filter-by"),
                                   (method, multilabel.METHODS, "--rank-by/--method"),
                                   (aggregation, multilabel.AGGREGATIONS, "--aggregation")):
        if value in ("low_adjusted_margin", "adjusted_margin"):
            raise LabelError(f"{option} '{value}' is for multi-class data; multi-label takes: {', '.join(allowed)}")
        if value is not None:  # None: the profile's default (--compat)
            choice(value, allowed, option)
    return multilabel


def crossval(
    features: Annotated[str, typer.Option("--features", "-x", help="Features / embeddings, N x D.")],
    labels: Labels,
    out: Annotated[str, typer.Option("--out", "-o", help="pred_probs output (.npy/.csv/.parquet/.pq; tables get class-named columns).")],
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0, classes: Classes = None,
    label_col: LabelCol = "label", feature_prefix: FeaturePrefix = None,
    multi_label: MultiLabel = None, label_sep: LabelSep = ",",
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Out-of-sample predicted probabilities from features by stratified K-fold cross-validation."""
    from labelcli import io
    from labelcli.render import terminal

    as_json = check_format(format, out)
    io.check_output_path(out, [features, labels], allowed=io.ARRAY_OUT)
    ds = load(labels, None, features, classes, label_col, None, feature_prefix, False,
              quiet, multi_label, label_sep)
    cv = _cross_validate(ds, model, folds, seed, quiet)
    io.write_array(cv.pred_probs, out, columns=list(ds.classes), inputs=[features, labels])
    terminal.crossval(terminal.console(quiet), model=model, folds=folds, accuracy=cv.accuracy,
                      fold_accuracies=cv.fold_accuracies, out=out)
    if as_json:
        print_json({"model": model, "folds": folds, "accuracy": cv.accuracy,
                    "fold_accuracies": list(cv.fold_accuracies), "out": out})


def find_issues(
    labels: Labels, pred_probs: PredProbs = None, features: Features = None,
    filter_by: Annotated[Optional[str], typer.Option("--filter-by", help="low_adjusted_margin (default), prune_by_noise_rate (cleanlab's default), prune_by_class, both, confident_learning, predicted_neq_given, low_self_confidence, low_normalized_margin.", show_default=False)] = None,
    rank_by: Annotated[Optional[str], typer.Option("--rank-by", help="adjusted_margin (default; multi-label: self_confidence), self_confidence (cleanlab's default), normalized_margin, confidence_weighted_entropy.", show_default=False)] = None,
    top: Annotated[Optional[int], typer.Option("--top", help="Keep only the N most suspect rows (table and report).")] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Write every row (flagged first), not only issues.")] = False,
    out: Out = None,
    fail_on_issues: Annotated[Optional[int], typer.Option("--fail-on-issues", help="Exit 1 when more than N issues are found.")] = None,
    exclude: Annotated[Optional[str], typer.Option("--exclude", help="Skip rows already reviewed: a table with an 'index' column (e.g. an earlier issues table) or a .npy of row indices.")] = None,
    only_class: Annotated[Optional[str], typer.Option("--class", help="Only examples given this class (multi-label: carrying this tag), by name.")] = None,
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False,
    multi_label: MultiLabel = None, label_sep: LabelSep = ",", aggregation: Aggregation = None,
    alpha: Alpha = 0.8, temperature: Temperature = 0.1,
    k: K = 10, metric: Metric = "cosine", dup_threshold: DupThreshold = None, outlier_threshold: OutlierThreshold = None,
    compat: Compat = None, max_memory: MaxMemory = None, quiet: Quiet = False, format: Format = "text",
    debug: Debug = False,
) -> None:
    """Rank the examples most likely to be mislabeled (multi-class or multi-label); with --features
    also outliers, near duplicates and duplicates whose labels disagree."""
    from labelcli import io, outofcore
    from labelcli.core.filtering import FILTERS, find_label_issues
    from labelcli.core.ranking import METHODS
    from labelcli.core.validate import check_classes_present
    from labelcli.render import tables, terminal

    as_json = check_format(format, out)
    budget = memory_budget(max_memory)
    compat_profile(compat)
    if filter_by is not None:
        choice(filter_by, FILTERS, "--filter-by")
    if rank_by is not None:
        choice(rank_by, METHODS, "--rank-by")  # multi-label values are checked once the task is known
    if pred_probs is None and features is None:
        raise LabelError("give --pred-probs, or --features to compute pred_probs by cross-validation")
    check_top(top)
    if out is not None:
        io.check_output_path(out, [labels, pred_probs, features], allowed=io.TABLE_OUT)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
              quiet, multi_label, label_sep, budget)
    ml = _multilabel_options(filter_by, rank_by, aggregation) if ds.multi_label else None
    if ml is None:
        check_classes_present(ds.labels, len(ds.classes), name=labels)
        io.check_class_pairs_fit(len(ds.classes), name=pred_probs or labels)
    probs, cv_acc = ds.pred_probs, None
    if probs is None and ds.pred_probs_chunks is None:
        cv = _cross_validate(ds, model, folds, seed, quiet)
        probs, cv_acc = cv.pred_probs, cv.accuracy
    if ds.pred_probs_chunks is not None:
        with terminal.pass_progress(quiet, pred_probs) as tick:
            issues = outofcore.find_label_issues_streaming(
                ds.labels, ds.pred_probs_chunks, max_memory=ds.max_memory, normalize=ds.normalize,
                filter_by=filter_by, rank_by=rank_by, compat=compat, progress=tick)
    elif ml is not None:
        issues = ml.find_label_issues(ds.labels, probs, filter_by=filter_by, method=rank_by,
                                      aggregation=aggregation, alpha=alpha, temperature=temperature, compat=compat)
    else:
        issues = find_label_issues(ds.labels, probs, filter_by=filter_by, rank_by=rank_by, compat=compat)
    filter_by, rank_by = issues.filter_by, issues.method if ml is not None else issues.rank_by  # as resolved
    ranked_by = rank_by if ml is None else f"{rank_by}, {issues.aggregation}"
    only = None
    if exclude is not None or only_class is not None:
        skip = io.read_row_indices(exclude, len(ds.labels)) if exclude is not None else None
        only = tables.review_rows(ds.labels, exclude=skip, class_index=_class_index(only_class, ds.classes))
    feats = None
    if ds.features is not None:
        feats = _feature_checks(ds, probs, k, metric, dup_threshold, outlier_threshold, quiet)
        table = tables.combined_issues_table(issues, feats, ds.labels, ds.classes, include_all=all_rows,
                                             top=top, sep=label_sep, only=only)
    else:
        table = tables.issues_table(issues, ds.labels, ds.classes, include_all=all_rows, top=top,
                                    sep=label_sep, only=only)
    if out is not None:
        io.write_table(table, out, inputs=[labels, pred_probs, features])
    if not quiet:  # (--quiet: nothing to render, so the report's tables are not made)
        terminal.find_issues(terminal.console(), num_examples=len(ds.labels), num_classes=len(ds.classes),
                             num_issues=issues.num_issues, filter_by=filter_by, rank_by=ranked_by,
                             top_df=table[table["is_label_issue"]].drop(columns="is_label_issue"),
                             class_df=tables.class_issue_counts(issues, ds.labels, ds.classes),
                             out=out, cv_accuracy=cv_acc, show=min(top or 20, 50),
                             remaining=None if only is None else tables.flagged_in(issues, only),
                             scope=_scope(exclude, only_class))
        if feats is not None:
            terminal.feature_issues(terminal.console(), feats.to_dict(ds.classes),
                                    tables.issue_type_sections(table, feats, issues.num_issues),
                                    show=min(top or 10, 50))
    if as_json:
        print_json({"num_examples": len(ds.labels), "num_issues": issues.num_issues,
                    "filter_by": filter_by, "rank_by": rank_by,
                    **({"aggregation": issues.aggregation} if ml is not None else {}), "cv_accuracy": cv_acc,
                    "remaining_to_review": None if only is None else tables.flagged_in(issues, only),
                    "issues": tables.records(table[table["is_label_issue"]].head(top or 20)),
                    **({"features": feats.to_dict(ds.classes)} if feats is not None else {})})
    if fail_on_issues is not None and issues.num_issues > fail_on_issues:
        terminal.gate_failed(f"{issues.num_issues} label issues found, more than --fail-on-issues {fail_on_issues}")
        raise typer.Exit(ExitCode.GATE)


def score(
    labels: Labels, pred_probs: PredProbs = None,
    method: Annotated[Optional[str], typer.Option("--method", help="adjusted_margin (default; multi-label: self_confidence), self_confidence (cleanlab's default), normalized_margin, confidence_weighted_entropy; or importance (with --features): a review list, most important first.", show_default=False)] = None,
    adjust: Annotated[bool, typer.Option("--adjust-pred-probs", help="Subtract per-class thresholds before scoring.")] = False,
    features: Annotated[Optional[str], typer.Option("--features", "-x", help="Features / embeddings, N x D (for --method importance).")] = None,
    only_class: Annotated[Optional[str], typer.Option("--class", help="--method importance: only examples given this class.")] = None,
    top: Annotated[Optional[int], typer.Option("--top", help="--method importance: length of the review list (default 50).")] = None,
    out: Out = None, classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False, multi_label: MultiLabel = None,
    label_sep: LabelSep = ",", seed: Seed = 0,
    aggregation: Aggregation = None, alpha: Alpha = 0.8, temperature: Temperature = 0.1,
    compat: Compat = None, max_memory: MaxMemory = None, quiet: Quiet = False, format: Format = "text",
    debug: Debug = False,
) -> None:
    """Label quality score for every example, in input order (lower = more suspect); or, with
    --method importance, the next examples to review (most important first)."""
    from labelcli import io, outofcore
    from labelcli.core.ranking import METHODS, label_quality_scores
    from labelcli.render import tables, terminal

    as_json = check_format(format, out)
    budget = memory_budget(max_memory)
    profile = compat_profile(compat)
    if method is not None:
        choice(method, (*METHODS, "importance"), "--method")
    if method == "importance":
        return _importance(labels, pred_probs, features, only_class, top, out, classes, label_col, prob_prefix,
                           feature_prefix, normalize, seed, quiet, as_json)
    if pred_probs is None:
        raise LabelError("scores need --pred-probs (or use --method importance with --features)")
    if only_class is not None or top is not None or features is not None:
        raise LabelError("--features, --class and --top go with --method importance; other methods score every row")
    if adjust and method == "confidence_weighted_entropy":
        raise LabelError("--adjust-pred-probs works with --method self_confidence or normalized_margin")
    if out is not None:
        io.check_output_path(out, [labels, pred_probs], allowed=io.TABLE_OUT)
    ds = load(labels, pred_probs, None, classes, label_col, prob_prefix, None, normalize,
              quiet, multi_label, label_sep, budget)
    if ds.pred_probs_chunks is not None:
        with terminal.pass_progress(quiet, pred_probs) as tick:
            scores, predicted = outofcore.label_quality_scores_streaming(
                ds.labels, ds.pred_probs_chunks, max_memory=ds.max_memory, normalize=ds.normalize, method=method,
                adjust_pred_probs=adjust, compat=compat, progress=tick)
    elif ds.multi_label:
        ml = _multilabel_options(None, method, aggregation)
        if adjust:
            raise LabelError("--adjust-pred-probs is for multi-class data")
        scores = ml.label_quality_scores(ds.labels, ds.pred_probs, method=method,
                                         aggregation=aggregation, alpha=alpha, temperature=temperature, compat=compat)
        predicted = ds.pred_probs >= 0.5
    else:
        scores = label_quality_scores(ds.labels, ds.pred_probs, method=method, adjust_pred_probs=adjust,
                                      compat=compat)
        predicted = ds.pred_probs.argmax(axis=1)
    if method is None:  # what the profile chose, for the report
        method = profile.multilabel_method if ds.multi_label else profile.rank_by
    table = tables.scores_table(scores, ds.labels, predicted, ds.classes, sep=label_sep)
    if out is not None:
        io.write_table(table, out, inputs=[labels, pred_probs])
    lowest = table.sort_values("label_score", kind="stable")
    if not quiet:
        terminal.scores(terminal.console(), num_examples=len(table), method=method, lowest_df=lowest, out=out)
    if as_json:
        print_json({"num_examples": len(table), "method": method, "mean_score": float(scores.mean()),
                    "lowest": tables.records(lowest.head(20))})


def _importance(labels, pred_probs, features, only_class, top, out, classes, label_col, prob_prefix,
                feature_prefix, normalize, seed, quiet, as_json):
    """score --method importance: a review list from logistic-regression sensitivity on features."""
    from labelcli import io
    from labelcli.core.coreset import confused_class_pairs, importance_scores, review_order
    from labelcli.render import tables, terminal

    if features is None:
        raise LabelError("--method importance needs --features (the examples' features or embeddings)")
    check_top(top)
    if out is not None:
        io.check_output_path(out, [labels, pred_probs, features], allowed=io.TABLE_OUT)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
              quiet, False)
    with terminal.progress(quiet) as bar:
        bar.add_task("fitting logistic regression for importance", total=None)
        importance = importance_scores(ds.features, ds.labels, len(ds.classes), seed=seed, name=features)
    order = review_order(importance, ds.labels, class_index=_class_index(only_class, ds.classes), top=top or 50)
    probs = ds.pred_probs
    table = tables.importance_table(order, importance, ds.labels, ds.classes,
                                    predicted=None if probs is None else tables.argmax_rows(probs))
    pairs = None if probs is None else tables.confused_pairs_table(
        confused_class_pairs(ds.labels, probs, top=5), ds.classes)
    if out is not None:
        io.write_table(table, out, inputs=[labels, pred_probs, features])
    terminal.importance(terminal.console(quiet), table, pairs, scope=only_class, out=out)
    if as_json:
        print_json({"method": "importance", "class": only_class, "review": tables.records(table),
                    "confused_pairs": None if pairs is None else tables.records(pairs)})


def health(
    labels: Labels, pred_probs: Annotated[str, typer.Option("--pred-probs", "-p", help="Predicted probabilities, N x K.")],
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Write the summary as JSON (.json) or '-' for stdout.")] = None,
    fail_above: Annotated[Optional[float], typer.Option("--fail-above", help="Exit 1 when the estimated noise rate exceeds this (e.g. 0.05).")] = None,
    top_pairs: Annotated[int, typer.Option("--top-pairs", help="How many overlapping class pairs to report.")] = 20,
    features: Annotated[Optional[str], typer.Option("--features", "-x", help="Features / embeddings, N x D: adds outlier rate, duplicate rate and class balance.")] = None,
    fail_above_outliers: Annotated[Optional[float], typer.Option("--fail-above-outliers", help="With --features: exit 1 when the outlier rate exceeds this.")] = None,
    fail_above_duplicates: Annotated[Optional[float], typer.Option("--fail-above-duplicates", help="With --features: exit 1 when the duplicate rate exceeds this (e.g. 0.01).")] = None,
    fail_on_imbalance: Annotated[bool, typer.Option("--fail-on-imbalance", help="With --features: exit 1 when a class is far below its expected share.")] = False,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False, multi_label: MultiLabel = None,
    label_sep: LabelSep = ",", k: K = 10, metric: Metric = "cosine", dup_threshold: DupThreshold = None,
    outlier_threshold: OutlierThreshold = None,
    compat: Compat = None, max_memory: MaxMemory = None, quiet: Quiet = False, format: Format = "text",
    debug: Debug = False,
) -> None:
    """Dataset health: overall score, estimated noise per class, overlapping classes. The CI gate."""
    from labelcli import io, outofcore
    from labelcli.core.health import health_summary
    from labelcli.core.validate import check_classes_present
    from labelcli.render import tables, terminal

    as_json = check_format(format, out)
    budget = memory_budget(max_memory)
    compat_profile(compat)
    for option, rate in (("--fail-above", fail_above), ("--fail-above-outliers", fail_above_outliers),
                         ("--fail-above-duplicates", fail_above_duplicates)):
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise LabelError(f"{option} is a rate in [0, 1], got {rate}")
    if features is None and (fail_above_outliers is not None or fail_above_duplicates is not None or fail_on_imbalance):
        raise LabelError("--fail-above-outliers, --fail-above-duplicates and --fail-on-imbalance need --features")
    if out is not None:
        io.check_output_path(out, [labels, pred_probs, features], allowed=io.JSON_OUT)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
              quiet, multi_label, label_sep, budget)
    if ds.multi_label:
        from labelcli.core import multilabel

        summary = multilabel.health_summary(ds.labels, ds.pred_probs, class_names=ds.classes,
                                            top_pairs=top_pairs, compat=compat)
    else:
        check_classes_present(ds.labels, len(ds.classes), name=labels)
        io.check_class_pairs_fit(len(ds.classes), name=pred_probs)
        if ds.pred_probs_chunks is not None:
            with terminal.pass_progress(quiet, pred_probs) as tick:
                summary = outofcore.health_summary_streaming(
                    ds.labels, ds.pred_probs_chunks, max_memory=ds.max_memory, normalize=ds.normalize,
                    class_names=ds.classes, top_pairs=top_pairs, progress=tick)
        else:
            summary = health_summary(ds.labels, ds.pred_probs, class_names=ds.classes,
                                     top_pairs=top_pairs, compat=compat)
    doc = summary.to_dict()
    feats = None
    if features is not None:
        feats = _feature_checks(ds, ds.pred_probs, k, metric, dup_threshold, outlier_threshold, quiet)
        doc["features"] = feats.to_dict(ds.classes)
    if out is not None:
        io.write_json(doc, out, inputs=[labels, pred_probs, features])
    if not quiet:
        con = terminal.console()
        terminal.health(con, summary, tables.health_class_table(summary),
                        tables.health_pairs_table(summary), fail_above=fail_above, out=out)
        if feats is not None:
            terminal.feature_issues(con, doc["features"], [])
    if as_json:
        print_json(doc)
    failed = []
    if fail_above is not None and summary.noise_rate > fail_above:
        failed.append(f"estimated noise rate {summary.noise_rate:.2%} is above --fail-above {fail_above:g}")
    if feats is not None:
        f = doc["features"]
        if fail_above_outliers is not None and f["outlier_rate"] > fail_above_outliers:
            failed.append(f"outlier rate {f['outlier_rate']:.2%} is above --fail-above-outliers {fail_above_outliers:g}")
        if fail_above_duplicates is not None and f["duplicate_rate"] > fail_above_duplicates:
            failed.append(f"duplicate rate {f['duplicate_rate']:.2%} is above --fail-above-duplicates {fail_above_duplicates:g}")
        bal = f.get("class_balance")
        if fail_on_imbalance and bal is not None and (bal["imbalanced"] or bal["underpopulated_classes"]):
            rare = bal["imbalanced_classes"] + bal["underpopulated_classes"]
            failed.append(f"class imbalance: {', '.join(dict.fromkeys(rare))} far below the expected share (--fail-on-imbalance)")
    for message in failed:
        terminal.gate_failed(message)
    if failed:
        raise typer.Exit(ExitCode.GATE)
