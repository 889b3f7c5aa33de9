"""The labelcli command line: parse options, call io and core, hand results to report. Thin.

Exit codes: 0 success; 1 a quality gate tripped; 2 bad usage or bad input (one `Error:` line on
stderr); 3 an internal error (a bug: rerun with --debug for the traceback).
"""
from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from labelcli.errors import LabelError

app = typer.Typer(
    name="labelcli",
    help="Find mislabeled examples in classification datasets (confident learning, from files).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# --- options shared by the commands that read data ---------------------------------------------
Labels = Annotated[str, typer.Option("--labels", "-l", help="Labels file (.npy/.csv/.parquet, '-' = CSV on stdin).")]
PredProbs = Annotated[Optional[str], typer.Option("--pred-probs", "-p", help="Out-of-sample predicted probabilities, N x K.")]
Features = Annotated[Optional[str], typer.Option("--features", "-x", help="Features / embeddings, N x D (cross-validated into pred_probs when --pred-probs is absent).")]
Classes = Annotated[Optional[str], typer.Option("--classes", help="Class names in column order, comma-separated: cat,dog,bird.")]
LabelCol = Annotated[str, typer.Option("--label-col", help="Label column in a table.")]
ProbPrefix = Annotated[Optional[str], typer.Option("--prob-prefix", help="Only columns starting with this are pred_probs; the rest of the name is the class.")]
FeaturePrefix = Annotated[Optional[str], typer.Option("--feature-prefix", help="Only columns starting with this are features.")]
Normalize = Annotated[bool, typer.Option("--normalize", help="Rescale pred_probs rows that do not sum to 1 (e.g. float16 files).")]
Out = Annotated[Optional[str], typer.Option("--out", "-o", help="Output file (.csv/.parquet/.json/.jsonl), '-' = CSV on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No report, no progress bar.")]
Format = Annotated[str, typer.Option("--format", help="'text' (report only) or 'json' (also a JSON summary on stdout).")]
Seed = Annotated[int, typer.Option("--seed", help="Seed for cross-validation folds and models.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")]
Model = Annotated[str, typer.Option("--model", "-m", help="logreg, hgb, rf, knn, or package.module:Class (scikit-learn API).")]
Folds = Annotated[int, typer.Option("--folds", help="Cross-validation folds.")]
MultiLabel = Annotated[Optional[bool], typer.Option("--multi-label/--multi-class", help="Force the task (default: multi-label when the labels are lists, 'a,b' tags or a 0/1 matrix).", show_default=False)]
LabelSep = Annotated[str, typer.Option("--label-sep", help="Multi-label: separator of the tags in a CSV cell (an empty cell = no tag).")]
Aggregation = Annotated[str, typer.Option("--aggregation", help="Multi-label: how per-tag scores make one score: exponential_moving_average, softmin, min, mean.")]
Alpha = Annotated[float, typer.Option("--alpha", help="Multi-label: weight of the exponential moving average.")]
Temperature = Annotated[float, typer.Option("--temperature", help="Multi-label: temperature of softmin.")]


def _check_format(fmt: str, out: str | None) -> bool:
    if fmt not in ("text", "json"):
        raise LabelError(f"--format must be 'text' or 'json', got '{fmt}'")
    if fmt == "json" and out == "-":
        raise LabelError("--out - and --format json both write to stdout; choose one")
    return fmt == "json"


TABLE_OUT = (".csv", ".parquet", ".json", ".jsonl")
ARRAY_OUT = (".npy", ".csv", ".parquet")


def _choice(value: str, choices, option: str) -> str:
    """Check an option's value up front (before any loading or cross-validation)."""
    if value not in choices:
        raise LabelError(f"{option} '{value}' is not one of: {', '.join(choices)}")
    return value


def _class_index(name: str | None, classes) -> int | None:
    if name is None:
        return None
    if name not in classes:
        from labelcli._tables import preview

        raise LabelError(f"--class '{name}' is not one of the classes ({preview(list(classes))})")
    return list(classes).index(name)


def _scope(exclude, only_class) -> str | None:
    parts = ([f"class {only_class}"] if only_class else []) + ([f"not in {exclude}"] if exclude else [])
    return ", ".join(parts) or None


def _print_json(doc) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    sys.stdout.flush()


def _load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
          quiet=False, multi_label=None, label_sep=","):
    from labelcli import io, report

    inputs = io.load_inputs(labels, pred_probs, features, classes=classes, label_col=label_col,
                            prob_prefix=prob_prefix, feature_prefix=feature_prefix, normalize=normalize,
                            multi_label=multi_label, label_sep=label_sep)
    if inputs.note:
        report.note(report.console(quiet), f"{inputs.note} (force with --multi-label / --multi-class)")
    return inputs


def _cross_validate(inputs, model, folds, seed, quiet):
    from labelcli import report
    from labelcli.crossval import cross_val_multilabel_pred_probs, cross_val_pred_probs

    with report.progress(quiet) as bar:
        task = bar.add_task(f"cross-validating ({model})", total=folds)
        tick = lambda done, total: bar.update(task, completed=done)  # noqa: E731
        if inputs.multi_label:
            return cross_val_multilabel_pred_probs(inputs.features, inputs.labels, model=model, folds=folds,
                                                   seed=seed, class_names=inputs.classes, progress=tick)
        return cross_val_pred_probs(inputs.features, inputs.labels, num_classes=len(inputs.classes),
                                    model=model, folds=folds, seed=seed, progress=tick)


def _multilabel_options(filter_by, method, aggregation):
    """Check option values against the multi-label core (after loading told us the task)."""
    from labelcli.core import multilabel

    if filter_by is not None:
        _choice(filter_by, multilabel.FILTERS, "--filter-by")
    _choice(method, multilabel.METHODS, "--rank-by/--method")
    _choice(aggregation, multilabel.AGGREGATIONS, "--aggregation")
    return multilabel


@app.command()
def crossval(
    features: Annotated[str, typer.Option("--features", "-x", help="Features / embeddings, N x D.")],
    labels: Labels,
    out: Annotated[str, typer.Option("--out", "-o", help="pred_probs output (.npy/.csv/.parquet; tables get class-named columns).")],
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0, classes: Classes = None,
    label_col: LabelCol = "label", feature_prefix: FeaturePrefix = None,
    multi_label: MultiLabel = None, label_sep: LabelSep = ",",
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Out-of-sample predicted probabilities from features by stratified K-fold cross-validation."""
    from labelcli import io, report

    as_json = _check_format(format, out)
    io.check_output_path(out, [features, labels], allowed=ARRAY_OUT)
    inputs = _load(labels, None, features, classes, label_col, None, feature_prefix, False,
                   quiet, multi_label, label_sep)
    cv = _cross_validate(inputs, model, folds, seed, quiet)
    io.write_array(cv.pred_probs, out, columns=list(inputs.classes), inputs=[features, labels])
    report.crossval(report.console(quiet), model=model, folds=folds, accuracy=cv.accuracy,
                    fold_accuracies=cv.fold_accuracies, out=out)
    if as_json:
        _print_json({"model": model, "folds": folds, "accuracy": cv.accuracy,
                     "fold_accuracies": list(cv.fold_accuracies), "out": out})


@app.command("find-issues")
def find_issues(
    labels: Labels, pred_probs: PredProbs = None, features: Features = None,
    filter_by: Annotated[str, typer.Option("--filter-by", help="prune_by_noise_rate, prune_by_class, both, confident_learning, predicted_neq_given, low_self_confidence, low_normalized_margin.")] = "prune_by_noise_rate",
    rank_by: Annotated[str, typer.Option("--rank-by", help="self_confidence, normalized_margin, confidence_weighted_entropy.")] = "self_confidence",
    top: Annotated[Optional[int], typer.Option("--top", help="Keep only the N most suspect rows (table and report).")] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Write every row (flagged first), not only issues.")] = False,
    out: Out = None,
    fail_on_issues: Annotated[Optional[int], typer.Option("--fail-on-issues", help="Exit 1 when more than N issues are found.")] = None,
    exclude: Annotated[Optional[str], typer.Option("--exclude", help="Skip rows already reviewed: a table with an 'index' column (e.g. an earlier issues table) or a .npy of row indices.")] = None,
    only_class: Annotated[Optional[str], typer.Option("--class", help="Only examples given this class (multi-label: carrying this tag), by name.")] = None,
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False,
    multi_label: MultiLabel = None, label_sep: LabelSep = ",", aggregation: Aggregation = "exponential_moving_average",
    alpha: Alpha = 0.8, temperature: Temperature = 0.1,
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Rank the examples most likely to be mislabeled (multi-class or multi-label)."""
    from labelcli import io, report, results
    from labelcli.core.filtering import FILTERS, find_label_issues
    from labelcli.core.ranking import METHODS
    from labelcli.core.validate import check_classes_present

    as_json = _check_format(format, out)
    _choice(filter_by, FILTERS, "--filter-by")
    _choice(rank_by, METHODS, "--rank-by")  # multi-label values are checked once the task is known
    if pred_probs is None and features is None:
        raise LabelError("give --pred-probs, or --features to compute pred_probs by cross-validation")
    if top is not None and top < 1:
        raise LabelError(f"--top must be at least 1, got {top}")
    if out is not None:
        io.check_output_path(out, [labels, pred_probs, features], allowed=TABLE_OUT)
    inputs = _load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
                   quiet, multi_label, label_sep)
    ml = _multilabel_options(filter_by, rank_by, aggregation) if inputs.multi_label else None
    if ml is None:
        check_classes_present(inputs.labels, len(inputs.classes), name=labels)
    probs, cv_acc = inputs.pred_probs, None
    if probs is None:
        cv = _cross_validate(inputs, model, folds, seed, quiet)
        probs, cv_acc = cv.pred_probs, cv.accuracy
    if ml is not None:
        issues = ml.find_label_issues(inputs.labels, probs, filter_by=filter_by, method=rank_by,
                                      aggregation=aggregation, alpha=alpha, temperature=temperature)
    else:
        issues = find_label_issues(inputs.labels, probs, filter_by=filter_by, rank_by=rank_by)
    only = None
    if exclude is not None or only_class is not None:
        skip = io.read_row_indices(exclude, len(inputs.labels)) if exclude is not None else None
        only = results.review_rows(inputs.labels, exclude=skip, class_index=_class_index(only_class, inputs.classes))
    table = results.issues_table(issues, inputs.labels, inputs.classes, include_all=all_rows, top=top,
                                 sep=label_sep, only=only)
    if out is not None:
        io.write_table(table, out, inputs=[labels, pred_probs, features])
    report.find_issues(report.console(quiet), num_examples=len(inputs.labels), num_classes=len(inputs.classes),
                       num_issues=issues.num_issues, filter_by=filter_by, rank_by=rank_by,
                       top_df=table[table["is_label_issue"]].drop(columns="is_label_issue"),
                       class_df=results.class_issue_counts(issues, inputs.labels, inputs.classes),
                       out=out, cv_accuracy=cv_acc, show=min(top or 20, 50),
                       remaining=None if only is None else results.flagged_in(issues, only),
                       scope=_scope(exclude, only_class))
    if as_json:
        _print_json({"num_examples": len(inputs.labels), "num_issues": issues.num_issues,
                     "filter_by": filter_by, "rank_by": rank_by, "cv_accuracy": cv_acc,
                     "remaining_to_review": None if only is None else results.flagged_in(issues, only),
                     "issues": results.records(table[table["is_label_issue"]].head(top or 20))})
    if fail_on_issues is not None and issues.num_issues > fail_on_issues:
        report.gate_failed(f"{issues.num_issues} label issues found, more than --fail-on-issues {fail_on_issues}")
        raise typer.Exit(1)


@app.command()
def score(
    labels: Labels, pred_probs: Annotated[str, typer.Option("--pred-probs", "-p", help="Predicted probabilities, N x K.")],
    method: Annotated[str, typer.Option("--method", help="self_confidence, normalized_margin, confidence_weighted_entropy.")] = "self_confidence",
    adjust: Annotated[bool, typer.Option("--adjust-pred-probs", help="Subtract per-class thresholds before scoring.")] = False,
    out: Out = None, classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    normalize: Normalize = False, multi_label: MultiLabel = None, label_sep: LabelSep = ",",
    aggregation: Aggregation = "exponential_moving_average", alpha: Alpha = 0.8, temperature: Temperature = 0.1,
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Label quality score for every example, in input order (lower = more suspect)."""
    from labelcli import io, report, results
    from labelcli.core.ranking import METHODS, label_quality_scores

    as_json = _check_format(format, out)
    _choice(method, METHODS, "--method")
    if adjust and method == "confidence_weighted_entropy":
        raise LabelError("--adjust-pred-probs works with --method self_confidence or normalized_margin")
    if out is not None:
        io.check_output_path(out, [labels, pred_probs], allowed=TABLE_OUT)
    inputs = _load(labels, pred_probs, None, classes, label_col, prob_prefix, None, normalize,
                   quiet, multi_label, label_sep)
    if inputs.multi_label:
        ml = _multilabel_options(None, method, aggregation)
        if adjust:
            raise LabelError("--adjust-pred-probs is for multi-class data")
        scores = ml.label_quality_scores(inputs.labels, inputs.pred_probs, method=method,
                                         aggregation=aggregation, alpha=alpha, temperature=temperature)
        predicted = inputs.pred_probs >= 0.5
    else:
        scores = label_quality_scores(inputs.labels, inputs.pred_probs, method=method, adjust_pred_probs=adjust)
        predicted = inputs.pred_probs.argmax(axis=1)
    table = results.scores_table(scores, inputs.labels, predicted, inputs.classes, sep=label_sep)
    if out is not None:
        io.write_table(table, out, inputs=[labels, pred_probs])
    lowest = table.sort_values("label_score", kind="stable")
    report.scores(report.console(quiet), num_examples=len(table), method=method, lowest_df=lowest, out=out)
    if as_json:
        _print_json({"num_examples": len(table), "method": method, "mean_score": float(scores.mean()),
                     "lowest": results.records(lowest.head(20))})


@app.command()
def health(
    labels: Labels, pred_probs: Annotated[str, typer.Option("--pred-probs", "-p", help="Predicted probabilities, N x K.")],
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Write the summary as JSON (.json) or '-' for stdout.")] = None,
    fail_above: Annotated[Optional[float], typer.Option("--fail-above", help="Exit 1 when the estimated noise rate exceeds this (e.g. 0.05).")] = None,
    top_pairs: Annotated[int, typer.Option("--top-pairs", help="How many overlapping class pairs to report.")] = 20,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    normalize: Normalize = False, multi_label: MultiLabel = None, label_sep: LabelSep = ",",
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Dataset health: overall score, estimated noise per class, overlapping classes. The CI gate."""
    from labelcli import io, report, results
    from labelcli.core.health import health_summary
    from labelcli.core.validate import check_classes_present

    as_json = _check_format(format, out)
    if fail_above is not None and not 0.0 <= fail_above <= 1.0:
        raise LabelError(f"--fail-above is a noise rate in [0, 1], got {fail_above}")
    if out is not None:
        io.check_output_path(out, [labels, pred_probs], allowed=(".json",))
    inputs = _load(labels, pred_probs, None, classes, label_col, prob_prefix, None, normalize,
                   quiet, multi_label, label_sep)
    if inputs.multi_label:
        from labelcli.core import multilabel

        summary = multilabel.health_summary(inputs.labels, inputs.pred_probs, class_names=inputs.classes,
                                            top_pairs=top_pairs)
    else:
        check_classes_present(inputs.labels, len(inputs.classes), name=labels)
        summary = health_summary(inputs.labels, inputs.pred_probs, class_names=inputs.classes, top_pairs=top_pairs)
    doc = summary.to_dict()
    if out is not None:
        io.write_json(doc, out, inputs=[labels, pred_probs])
    report.health(report.console(quiet), summary, results.health_class_table(summary),
                  results.health_pairs_table(summary), fail_above=fail_above, out=out)
    if as_json:
        _print_json(doc)
    if fail_above is not None and summary.noise_rate > fail_above:
        report.gate_failed(f"estimated noise rate {summary.noise_rate:.2%} is above --fail-above {fail_above:g}")
        raise typer.Exit(1)


from labelcli.cli_review import register as _register_review; _register_review(app)  # noqa: E402,E702


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_error(e: Exception) -> bool:
    """Click's (or typer's vendored click's) usage errors: exit code 2 and a formatted message."""
    return getattr(e, "exit_code", None) == 2 and hasattr(e, "format_message")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app; turn every failure into an exit code and one line."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args, prog_name="labelcli", standalone_mode=False)
    except LabelError as e:
        sys.stderr.write(f"Error: {_one_line(e)}\n")
        code = 2
    except (typer.Exit, typer.Abort, KeyboardInterrupt) as e:
        code = getattr(e, "exit_code", 130)
    except BrokenPipeError:
        code = 0  # the reader of our stdout went away (e.g. `| head`): not an error
    except Exception as e:
        name = type(e).__name__
        if name == "NoArgsIsHelpError":
            code = 0
        elif _usage_error(e):
            ctx = getattr(e, "ctx", None)
            cmd = ctx.command_path if ctx is not None else "labelcli"
            sys.stderr.write(f"Error: {_one_line(e.format_message())} (see '{cmd} --help')\n")
            code = 2
        elif name in ("Exit", "Abort"):
            code = getattr(e, "exit_code", 1)
        elif "--debug" in args:
            raise
        else:  # a bug: keep it to one line unless asked
            sys.stderr.write(f"Error: internal error ({name}: {_one_line(e)}); "
                             "this is a bug, rerun with --debug for the traceback\n")
            code = 3
    sys.exit(code if isinstance(code, int) else 0)
