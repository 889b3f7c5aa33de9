"""The detection commands: crossval, find-issues, score and health. Each parses its options,
opens the dataset (labelcli.io), runs one task (labelcli.tasks) and hands the result to
labelcli.render; the files it writes go through labelcli.io. Registered by labelcli.cli.app.
"""
from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from labelcli.cli.options import (
    Aggregation, Alpha, Classes, Compat, Debug, DupThreshold, FeaturePrefix, Features, Folds, Format, K, LabelCol,
    Labels, LabelSep, MaxMemory, Metric, Model, MultiLabel, Normalize, Out, OutlierThreshold, PredProbs, ProbPrefix,
    Quiet, Seed, Temperature, Engine, Scheduler, Workers, IdCol, SavePredProbs, add_ids, engine_choice, executor_for,
    partitioned,
    check_format, check_top, class_index, detection, load, memory_budget, print_json,
    read_excluded, steps_for, cv_accuracy,
)
from labelcli.errors import ExitCode, LabelError


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
    from labelcli import io, tasks
    from labelcli.render import terminal

    as_json = check_format(format, out)
    io.check_output_path(out, [features, labels], allowed=io.ARRAY_OUT)
    ds = load(labels, None, features, classes, label_col, None, feature_prefix, False, quiet, multi_label, label_sep)
    with terminal.steps(quiet) as tick:
        cv = tasks.cross_validate(ds, tasks.CrossValidation(model, folds, seed), tick)
    io.write_pred_probs(cv.pred_probs, out, ds.classes, inputs=[features, labels])
    terminal.crossval(terminal.console(quiet), model=model, folds=folds, accuracy=cv.accuracy,
                      fold_accuracies=cv.fold_accuracies, out=out)
    if as_json:
        print_json({"model": model, "folds": folds, "accuracy": cv.accuracy,
                    "fold_accuracies": list(cv.fold_accuracies), "out": out})


def find_issues(
    labels: Labels, pred_probs: PredProbs = None, features: Features = None,
    filter_by: Annotated[Optional[str], typer.Option("--filter-by", help="low_posterior (default; multi-label: prune_by_noise_rate), prune_by_noise_rate (cleanlab's default), low_adjusted_margin, prune_by_class, both, confident_learning, predicted_neq_given, low_self_confidence, low_normalized_margin.", show_default=False)] = None,
    rank_by: Annotated[Optional[str], typer.Option("--rank-by", help="posterior (default; multi-label: self_confidence), self_confidence (cleanlab's default), adjusted_margin, normalized_margin, confidence_weighted_entropy.", show_default=False)] = None,
    top: Annotated[Optional[int], typer.Option("--top", help="Keep only the N most suspect rows (table and report). With --class or --exclude: a review batch of N rows, the most suspect first, flagged or not (is_label_issue says which).")] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Write every row (flagged first), not only issues.")] = False,
    out: Out = None,
    fail_on_issues: Annotated[Optional[int], typer.Option("--fail-on-issues", min=0, help="Exit 1 when more than N issues are found.")] = None,
    exclude: Annotated[Optional[List[str]], typer.Option("--exclude", help="Skip rows already reviewed: a table with an 'index' column (e.g. an earlier issues table) or a .npy of row indices. Repeat it to skip the union.")] = None,
    only_class: Annotated[Optional[str], typer.Option("--class", help="Only examples given this class (multi-label: carrying this tag), by name.")] = None,
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False,
    multi_label: MultiLabel = None, label_sep: LabelSep = ",", aggregation: Aggregation = None,
    alpha: Alpha = 0.8, temperature: Temperature = 0.1,
    k: K = 10, metric: Metric = "cosine", dup_threshold: DupThreshold = None, outlier_threshold: OutlierThreshold = None,
    compat: Compat = None, max_memory: MaxMemory = None, quiet: Quiet = False, format: Format = "text",
    debug: Debug = False, engine: Engine = "local", scheduler: Scheduler = None, workers: Workers = None,
    id_col: IdCol = None, save_pred_probs: SavePredProbs = None,
    reference_labels: Annotated[Optional[str], typer.Option("--reference-labels", help="A reference set's labels: per-class thresholds and the noise estimate are fitted on it, and issues flagged in the new batch (--labels, --pred-probs) only, rows numbered in the batch. Also reports the batch's class-mix drift.")] = None,
    reference_pred_probs: Annotated[Optional[str], typer.Option("--reference-pred-probs", help="The reference set's out-of-sample pred_probs (with --reference-labels).")] = None,
    reference_features: Annotated[Optional[str], typer.Option("--reference-features", help="The reference set's features (with --features): the batch's outliers are scored against the reference's kNN index, and the outlier-rate drift reported.")] = None,
    fail_above_drift: Annotated[Optional[float], typer.Option("--fail-above-drift", help="With a reference: exit 1 when a drift figure (class-mix total variation distance; outlier-rate rise) exceeds this (e.g. 0.1).")] = None,
) -> None:
    """Rank the examples most likely to be mislabeled (multi-class or multi-label); with --features
    also outliers, near duplicates and duplicates whose labels disagree; with --reference-* a new
    batch against a reference set."""
    from labelcli import io, tasks
    from labelcli.render import tables, terminal

    as_json = check_format(format, out)
    budget = memory_budget(max_memory)
    how = detection(filter_by, rank_by, compat, aggregation, alpha, temperature)
    if reference_labels or reference_pred_probs or reference_features or fail_above_drift is not None:
        from labelcli.cli import batch  # a new batch against a reference set

        if (engine != "local" or exclude or only_class or save_pred_probs or id_col or top is not None and all_rows
                or max_memory is not None):
            raise LabelError("a reference run takes no --engine dask, --max-memory (both sets are read whole),"
                             " --exclude, --class, --save-pred-probs, --id-col or --top with --all")
        check_top(top)
        return batch.find_batch_issues(
            dict(labels=labels, pred_probs=pred_probs, features=features, classes=classes, label_col=label_col,
                 prob_prefix=prob_prefix, feature_prefix=feature_prefix, normalize=normalize,
                 multi_label=multi_label, label_sep=label_sep), how,
            reference_labels=reference_labels, reference_pred_probs=reference_pred_probs,
            reference_features=reference_features, fail_above_drift=fail_above_drift, top=top, all_rows=all_rows,
            out=out, quiet=quiet, as_json=as_json, fail_on_issues=fail_on_issues, k=k, metric=metric,
            dup_threshold=dup_threshold, outlier_threshold=outlier_threshold)
    io.check_pred_probs_source(pred_probs, features)
    check_top(top)
    cluster = engine_choice(engine, scheduler, workers, id_col)
    if cluster is not None and partitioned(labels, pred_probs):
        # --engine dask over Parquet partitions: labelcli.distributed runs the same passes on the cluster
        from labelcli.distributed import commands

        commands.refuse("--features", features)
        commands.refuse("--save-pred-probs", save_pred_probs)
        commands.refuse("--exclude / --class", exclude or only_class)
        commands.refuse("--top with --all", top is not None and all_rows)
        return commands.find_issues(dict(labels=labels, pred_probs=pred_probs, classes=classes, label_col=label_col,
                                         prob_prefix=prob_prefix, normalize=normalize, multi_label=multi_label,
                                         label_sep=label_sep), how, cluster, top=top, all_rows=all_rows, out=out,
                                    quiet=quiet, as_json=as_json, fail_on_issues=fail_on_issues)
    if out is not None:
        io.check_output_path(out, [labels, pred_probs, features, *(exclude or [])], allowed=io.TABLE_OUT)
    io.check_pred_probs_source(pred_probs, features, save_pred_probs, inputs=[labels, *(exclude or [])], outputs=[out],
                               stdout_taken=out == "-" or as_json)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
              quiet, multi_label, label_sep, None if save_pred_probs else budget)
    only = None
    if exclude is not None or only_class is not None:
        only = tables.review_rows(ds.labels, exclude=read_excluded(exclude, ds), class_index=class_index(only_class, ds))
    batch = only is not None and top is not None  # a review batch: N rows, flagged or not
    if ds.skip is not None:  # a `fix` output as labels: rows it dropped are not listed again
        only = ~ds.skip if only is None else only & ~ds.skip
    # --engine dask with files: folds and kNN tiles on the cluster, the rest here (the same results)
    with executor_for(cluster) as ex, steps_for(ds, quiet) as tick:
        found = tasks.find_issues(ds, how, crossval=tasks.CrossValidation(model, folds, seed),
                                  features=tasks.FeatureChecks(k, metric, dup_threshold, outlier_threshold), progress=tick,
                                  executor=ex)
    table = tables.found_issues_table(found, ds.labels, tables.label_values(ds.classes, ds.label_kind, ds.multi_label),
                                      include_all=all_rows or batch, top=top,
                                      sep=label_sep, only=only)
    table = add_ids(table, labels, id_col)
    srcs = [labels, pred_probs, features, *(exclude or [])]
    with io.all_or_nothing():  # the table and the saved pred_probs, both or neither
        if out is not None:
            io.write_table(tables.for_file(table, out, ds.multi_label, label_sep), out, inputs=srcs)
        if save_pred_probs is not None:
            io.write_pred_probs(found.predictions.array, save_pred_probs, ds.classes, inputs=srcs)
    if not quiet:  # (--quiet: nothing to render, so the report's tables are not made)
        terminal.found_issues(terminal.console(), found, table, ds, top=top, only=only,
                              scope=tables.review_scope(exclude, only_class, ds.num_skipped), out=out,
                              batch=batch)
        terminal.pred_probs_source(terminal.console(), None, save_pred_probs)
    if as_json:
        print_json(tables.found_issues_json(found, table, ds, top=top, only=only))
    issues = found.issues
    if fail_on_issues is not None and issues.num_issues > fail_on_issues:
        terminal.gate_failed(f"{issues.num_issues} label issues found, more than --fail-on-issues {fail_on_issues}")
        raise typer.Exit(ExitCode.GATE)


def score(
    labels: Labels, pred_probs: PredProbs = None,
    method: Annotated[Optional[str], typer.Option("--method", help="posterior (default; multi-label: self_confidence), self_confidence (cleanlab's default), adjusted_margin, normalized_margin, confidence_weighted_entropy; or importance (with --features): a review list, most important first.", show_default=False)] = None,
    adjust: Annotated[bool, typer.Option("--adjust-pred-probs", help="Subtract per-class thresholds before scoring.")] = False,
    features: Annotated[Optional[str], typer.Option("--features", "-x", help="Features / embeddings, N x D: cross-validated into pred_probs when --pred-probs is absent (as find-issues does); --method importance ranks by them.")] = None,
    only_class: Annotated[Optional[str], typer.Option("--class", help="--method importance: only examples given this class.")] = None,
    top: Annotated[Optional[int], typer.Option("--top", help="--method importance: length of the review list (default 50).")] = None,
    exclude: Annotated[Optional[List[str]], typer.Option("--exclude", help="--method importance: skip rows already reviewed (a table with an 'index' column or a .npy of row indices; repeat for the union).")] = None,
    out: Out = None, classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False, multi_label: MultiLabel = None,
    label_sep: LabelSep = ",", model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    aggregation: Aggregation = None, alpha: Alpha = 0.8, temperature: Temperature = 0.1,
    compat: Compat = None, max_memory: MaxMemory = None, quiet: Quiet = False, format: Format = "text",
    debug: Debug = False, engine: Engine = "local", scheduler: Scheduler = None, workers: Workers = None,
    id_col: IdCol = None, save_pred_probs: SavePredProbs = None,
) -> None:
    """Label quality score for every example, in input order (lower = more suspect); or, with
    --method importance, the next examples to review (most important first)."""
    from labelcli import io, tasks
    from labelcli.render import tables, terminal

    as_json = check_format(format, out)
    budget = memory_budget(max_memory)
    how = detection(None, method, compat, aggregation, alpha, temperature, adjust=adjust, rank_option="--method",
                    extra_methods=("importance",))
    if method == "importance":
        if save_pred_probs is not None:
            raise LabelError("--save-pred-probs is not for --method importance (it makes no pred_probs)")
        return _importance(labels, pred_probs, features, only_class, top, out, classes, label_col, prob_prefix,
                           feature_prefix, normalize, seed, quiet, as_json, exclude)
    io.check_pred_probs_source(pred_probs, features)
    if only_class is not None or top is not None or exclude:
        raise LabelError("--class, --top and --exclude go with --method importance; other methods score every row")
    if pred_probs is not None and features is not None:
        raise LabelError("score uses --features to cross-validate pred_probs when --pred-probs is absent (or with"
                         " --method importance); give --pred-probs or --features, not both")
    if adjust and method == "confidence_weighted_entropy":
        raise LabelError("--adjust-pred-probs works with --method self_confidence or normalized_margin")
    cluster = engine_choice(engine, scheduler, workers, id_col)
    if cluster is not None:  # --engine dask: the workers write the scores as a folder of parts
        from labelcli.distributed import commands

        commands.refuse("--features", features)
        commands.refuse("--save-pred-probs", save_pred_probs)
        return commands.score(dict(labels=labels, pred_probs=pred_probs, classes=classes, label_col=label_col,
                                   prob_prefix=prob_prefix, normalize=normalize, multi_label=multi_label,
                                   label_sep=label_sep), how, cluster, out=out, quiet=quiet, as_json=as_json)
    srcs = [labels, pred_probs, features]
    if out is not None:
        io.check_output_path(out, srcs, allowed=io.TABLE_OUT)
    io.check_pred_probs_source(pred_probs, features, save_pred_probs, inputs=[labels], outputs=[out],
                               stdout_taken=out == "-" or as_json)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
              quiet, multi_label, label_sep, None if save_pred_probs else budget)
    with steps_for(ds, quiet) as tick:
        result = tasks.score(ds, how, progress=tick, crossval=tasks.CrossValidation(model, folds, seed))
    table = add_ids(tables.scores_table(result.scores, ds.labels, result.predicted,
                                        tables.label_values(ds.classes, ds.label_kind, ds.multi_label), sep=label_sep),
                    labels, id_col)
    if ds.skip is not None:  # a `fix` output as labels: dropped rows left out (the rest keep their index)
        table = table[~ds.skip].reset_index(drop=True)
    with io.all_or_nothing():  # the scores and the saved pred_probs, both or neither
        if out is not None:
            io.write_table(tables.for_file(table, out, ds.multi_label, label_sep), out, inputs=srcs)
        if save_pred_probs is not None:
            io.write_pred_probs(result.predictions.array, save_pred_probs, ds.classes, inputs=srcs)
    lowest = table.sort_values("label_score", kind="stable")
    if not quiet:
        terminal.scores(terminal.console(), num_examples=len(table), method=result.method, lowest_df=lowest, out=out)
        terminal.pred_probs_source(terminal.console(), result.predictions, save_pred_probs)
    if as_json:
        print_json({"num_examples": len(table), "method": result.method, "mean_score": float(result.scores.mean()),
                    **cv_accuracy(result.predictions), "lowest": tables.records(lowest.head(20))})


def _importance(labels, pred_probs, features, only_class, top, out, classes, label_col, prob_prefix,
                feature_prefix, normalize, seed, quiet, as_json, exclude=None):
    """score --method importance: a review list from logistic-regression sensitivity on features."""
    from labelcli import io, tasks
    from labelcli.render import tables, terminal

    if features is None:
        raise LabelError("--method importance needs --features (the examples' features or embeddings)")
    check_top(top)
    if out is not None:
        io.check_output_path(out, [labels, pred_probs, features], allowed=io.TABLE_OUT)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
              quiet, False)
    with terminal.steps(quiet) as tick:
        result = tasks.importance(ds, class_index=class_index(only_class, ds), top=top or 50, seed=seed, progress=tick,
                                  exclude=read_excluded(exclude, ds))
    table = tables.importance_table(result.order, result.importance, ds.labels, ds.classes, predicted=result.predicted)
    pairs = None if result.confused_pairs is None else tables.confused_pairs_table(result.confused_pairs, ds.classes)
    if out is not None:
        io.write_table(table, out, inputs=[labels, pred_probs, features])
    terminal.importance(terminal.console(quiet), table, pairs, scope=only_class, out=out)
    if as_json:
        print_json({"method": "importance", "class": only_class, "review": tables.records(table),
                    "confused_pairs": None if pairs is None else tables.records(pairs)})


def health(
    labels: Labels, pred_probs: PredProbs = None,
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Write the summary as JSON (.json) or '-' for stdout.")] = None,
    fail_above: Annotated[Optional[float], typer.Option("--fail-above", help="Exit 1 when the estimated noise rate exceeds this (e.g. 0.05).")] = None,
    top_pairs: Annotated[int, typer.Option("--top-pairs", min=0, help="How many overlapping class pairs to report.")] = 20,
    features: Annotated[Optional[str], typer.Option("--features", "-x", help="Features / embeddings, N x D: adds outlier rate, duplicate rate and class balance (and are cross-validated into pred_probs when --pred-probs is absent).")] = None,
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    fail_above_outliers: Annotated[Optional[float], typer.Option("--fail-above-outliers", help="With --features: exit 1 when the outlier rate exceeds this.")] = None,
    fail_above_duplicates: Annotated[Optional[float], typer.Option("--fail-above-duplicates", help="With --features: exit 1 when the duplicate rate exceeds this (e.g. 0.01).")] = None,
    fail_on_imbalance: Annotated[bool, typer.Option("--fail-on-imbalance", help="With --features: exit 1 when a class is far below its expected share.")] = False,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False, multi_label: MultiLabel = None,
    label_sep: LabelSep = ",", k: K = 10, metric: Metric = "cosine", dup_threshold: DupThreshold = None,
    outlier_threshold: OutlierThreshold = None,
    compat: Compat = None, max_memory: MaxMemory = None, quiet: Quiet = False, format: Format = "text",
    debug: Debug = False, engine: Engine = "local", scheduler: Scheduler = None, workers: Workers = None,
    save_pred_probs: SavePredProbs = None,
    baseline: Annotated[Optional[str], typer.Option("--baseline", help="An earlier run's health summary (the .json `health --out` wrote): report what got worse, overall and per class (matched by name).")] = None,
    fail_if_worse: Annotated[Optional[float], typer.Option("--fail-if-worse", help="With --baseline: exit 1 when the estimated noise rate, overall or of any class, rose by more than this (e.g. 0.01; 0: any rise).")] = None,
) -> None:
    """Dataset health: overall score, estimated noise per class, overlapping classes. The CI gate
    (against a fixed rate, or against an earlier run with --baseline)."""
    from labelcli import io, tasks
    from labelcli.render import tables, terminal

    as_json = check_format(format, out)
    budget = memory_budget(max_memory)
    how = detection(None, None, compat, None, 0.8, 0.1)
    for option, rate in (("--fail-above", fail_above), ("--fail-above-outliers", fail_above_outliers),
                         ("--fail-above-duplicates", fail_above_duplicates), ("--fail-if-worse", fail_if_worse)):
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise LabelError(f"{option} is a rate in [0, 1], got {rate}")
    io.check_pred_probs_source(pred_probs, features)
    if features is None and (fail_above_outliers is not None or fail_above_duplicates is not None or fail_on_imbalance):
        raise LabelError("--fail-above-outliers, --fail-above-duplicates and --fail-on-imbalance need --features")
    if fail_if_worse is not None and baseline is None:
        raise LabelError("--fail-if-worse needs --baseline (an earlier run's `health --out x.json`)")
    before = None if baseline is None else _read_baseline(baseline)  # refused before any work
    cluster = engine_choice(engine, scheduler, workers)
    srcs = [labels, pred_probs, features, baseline]
    if out is not None:
        io.check_output_path(out, srcs, allowed=io.JSON_OUT)
    if cluster is not None and partitioned(labels, pred_probs):  # passes 1 and 2 on the cluster, O(K^2) here
        from labelcli.distributed import commands

        commands.refuse("--features", features)
        commands.refuse("--save-pred-probs", save_pred_probs)
        result, names = commands.health(dict(labels=labels, pred_probs=pred_probs, classes=classes,
                                             label_col=label_col, prob_prefix=prob_prefix, normalize=normalize,
                                             multi_label=multi_label, label_sep=label_sep), how, cluster,
                                        top_pairs=top_pairs)
        return _health_outputs(result, names, srcs, before, out=out, quiet=quiet, as_json=as_json,
                               fail_above=fail_above, fail_if_worse=fail_if_worse, baseline=baseline)
    io.check_pred_probs_source(pred_probs, features, save_pred_probs, inputs=[labels], outputs=[out],
                               stdout_taken=out == "-" or as_json)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
              quiet, multi_label, label_sep, None if save_pred_probs else budget)
    if ds.num_skipped and save_pred_probs is not None:  # health sees only the kept rows; the file must fit all
        raise LabelError(f"--save-pred-probs: {labels} drops {ds.num_skipped:,} rows (keep=false) and health works on"
                         " the kept rows only; save pred_probs of every row with find-issues --save-pred-probs")
    ds = ds.without_skipped()  # (rows dropped by a fix: skipped)
    with executor_for(cluster) as ex, steps_for(ds, quiet) as tick:  # (dask: the kNN tiles on the cluster)
        result = tasks.health(ds, how, top_pairs=top_pairs, features=tasks.FeatureChecks(k, metric, dup_threshold,
                                                                                        outlier_threshold), progress=tick,
                              executor=ex, crossval=tasks.CrossValidation(model, folds, seed))
    _health_outputs(result, ds.classes, srcs, before, out=out, quiet=quiet, as_json=as_json, fail_above=fail_above,
                    fail_if_worse=fail_if_worse, baseline=baseline, save_pred_probs=save_pred_probs,
                    fail_above_outliers=fail_above_outliers, fail_above_duplicates=fail_above_duplicates,
                    fail_on_imbalance=fail_on_imbalance)


def _health_outputs(result, classes, srcs, before, *, out, quiet, as_json, fail_above, fail_if_worse, baseline,
                    save_pred_probs=None, fail_above_outliers=None, fail_above_duplicates=None,
                    fail_on_imbalance=False) -> None:
    """health's summary (and --baseline diff) written, shown and gated: one machine or a cluster."""
    from labelcli import io, tasks
    from labelcli.render import tables, terminal

    summary, feats = result.summary, result.features
    doc = tables.health_document(summary, feats, classes)
    diff = None if before is None else tasks.health_against_baseline(
        result, before, margin=0.0 if fail_if_worse is None else fail_if_worse, baseline=baseline)
    if diff is not None:  # (the health keys stay as they are: this file is the next run's baseline)
        doc["compared_to_baseline"] = diff.to_dict()
    with io.all_or_nothing():  # the summary and the saved pred_probs, both or neither
        if out is not None:
            io.write_json(doc, out, inputs=srcs)
        if save_pred_probs is not None:
            io.write_pred_probs(result.predictions.array, save_pred_probs, classes, inputs=srcs)
    if not quiet:
        con = terminal.console()
        terminal.health(con, summary, tables.health_class_table(summary),
                        tables.health_pairs_table(summary), fail_above=fail_above, out=out)
        if feats is not None:
            terminal.feature_issues(con, doc["features"], [])
        terminal.pred_probs_source(con, result.predictions, save_pred_probs)
        if diff is not None:
            from labelcli.render import terminal_gates

            terminal_gates.baseline_diff(con, diff, gated=fail_if_worse is not None)
    if as_json:
        print_json(doc)
    worse = [] if diff is None or fail_if_worse is None else [
        f"estimated noise rate{'' if c.name == 'overall' else f' of {diff.unit} {c.name}'} rose from {c.before:.2%}"
        f" to {c.now:.2%} ({c.change:+.2%}), more than --fail-if-worse {fail_if_worse:g}" for c in diff.worse]
    _gates(result, fail_above, fail_above_outliers, fail_above_duplicates, fail_on_imbalance, worse)


def _read_baseline(path: str) -> dict:
    """The baseline health document, checked (not JSON, not a health summary: one line, exit 2)."""
    from labelcli.core.baseline import noise_rates
    from labelcli.io.baseline import read_json_document

    doc = read_json_document(path)
    noise_rates(doc, path)
    return doc


def _gates(result, fail_above, fail_above_outliers, fail_above_duplicates, fail_on_imbalance, worse=()) -> None:
    from labelcli import tasks
    from labelcli.render import terminal

    failed = tasks.health_gates(result, fail_above=fail_above, fail_above_outliers=fail_above_outliers,
                                fail_above_duplicates=fail_above_duplicates, fail_on_imbalance=fail_on_imbalance)
    failed = [*failed, *worse]
    for message in failed:
        terminal.gate_failed(message)
    if failed:
        raise typer.Exit(ExitCode.GATE)
