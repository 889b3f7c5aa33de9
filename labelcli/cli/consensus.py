"""The consensus command: several annotators' labels -> a consensus label per example and a
quality score per annotator (CROWDLAB with --pred-probs or --features, majority vote without).
Registered by labelcli.cli.app."""
from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from labelcli.cli.options import (
    Classes, Compat, Debug, FeaturePrefix, Folds, Format, Model, Normalize, ProbPrefix, Quiet, Seed, check_format,
    compat_profile, print_json,
)
from labelcli.errors import LabelError


def consensus_cmd(
    annotations: Annotated[str, typer.Option("--annotations", "-a", help="Annotations: a long table (columns example, annotator, label) or a wide one (one column per annotator, empty = not labeled), or an N x M .npy of class indices with NaN or -1 for missing.")],
    pred_probs: Annotated[Optional[List[str]], typer.Option("--pred-probs", "-p", metavar="<str>", help="Out-of-sample pred_probs, N x K (one row per example): enables CROWDLAB and the active_learning_score column. Repeat for an ensemble (one file per model, the same rows and class columns): each model weighted by its accuracy against the consensus.")] = None,
    unlabeled_pred_probs: Annotated[Optional[List[str]], typer.Option("--unlabeled-pred-probs", metavar="<str>", help="The same models' pred_probs (one file per --pred-probs, same order) of examples nobody labeled yet: scored for --active-learning-out.")] = None,
    active_learning_out: Annotated[Optional[str], typer.Option("--active-learning-out", help="With --unlabeled-pred-probs: index, active_learning_score of the unlabeled rows, lowest (label first) first.")] = None,
    features: Annotated[Optional[str], typer.Option("--features", "-x", help="Features, N x D: cross-validated into pred_probs (trained on the majority vote) when --pred-probs is absent.")] = None,
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Per-example table: index, consensus_label, consensus_quality, annotator_agreement, num_annotations (.csv/.parquet/.pq/.json/.jsonl, '-' = CSV on stdout). A --labels input with --label-col consensus_label.")] = None,
    annotators_out: Annotated[Optional[str], typer.Option("--annotators-out", help="Per-annotator table: annotator, quality, agreement, num_labeled, worst_class (worst first).")] = None,
    labels_out: Annotated[Optional[str], typer.Option("--labels-out", help="The consensus labels as a plain labels file (column 'label'; .npy: class indices).")] = None,
    example_col: Annotated[str, typer.Option("--example-col", help="Long table: the example column (integers = row numbers of --pred-probs).")] = "example",
    annotator_col: Annotated[str, typer.Option("--annotator-col", help="Long table: the annotator column.")] = "annotator",
    label_col: Annotated[str, typer.Option("--label-col", help="Long table: the label column.")] = "label",
    classes: Classes = None, prob_prefix: ProbPrefix = None, feature_prefix: FeaturePrefix = None,
    normalize: Normalize = False, model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    compat: Compat = None, quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """A consensus label per example and a quality score per annotator, from several annotators'
    labels (CROWDLAB with --pred-probs or --features; majority vote without)."""
    from labelcli import io
    from labelcli.io.annotations import read_annotations, read_features
    from labelcli.render import consensus as show, terminal
    from labelcli.tasks_consensus import run_consensus

    as_json = check_format(format, out)
    compat_profile(compat)
    if pred_probs and features is not None:
        raise LabelError("give --pred-probs or --features (cross-validated into pred_probs), not both")
    if unlabeled_pred_probs and not pred_probs:
        raise LabelError("--unlabeled-pred-probs needs --pred-probs (the same models' pred_probs of the labeled examples)")
    if bool(unlabeled_pred_probs) != (active_learning_out is not None):
        raise LabelError("--unlabeled-pred-probs and --active-learning-out go together: give both or neither")
    inputs = [annotations, *(pred_probs or []), *(unlabeled_pred_probs or []), features]
    outs = [p for p in (out, annotators_out, labels_out, active_learning_out) if p is not None]
    if sum(p == "-" for p in outs) > 1:
        raise LabelError("only one of --out, --annotators-out, --labels-out and --active-learning-out can be '-' (stdout)")
    files = [p for p in outs if p != "-"]
    if any(io.same_file(a, b) or a == b for i, a in enumerate(files) for b in files[i + 1:]):
        raise LabelError("--out, --annotators-out, --labels-out and --active-learning-out must be different files")
    if as_json and "-" in outs:
        raise LabelError("'-' (stdout) and --format json both write to stdout; choose one")
    for path, option in ((out, "--out"), (annotators_out, "--annotators-out"),
                         (active_learning_out, "--active-learning-out")):
        if path is not None:
            io.check_output_path(path, inputs, allowed=io.TABLE_OUT, option=option)
    if labels_out is not None:
        io.check_output_path(labels_out, inputs, allowed=io.ARRAY_OUT, option="--labels-out")
    ann = read_annotations(annotations, pred_probs=pred_probs, unlabeled_pred_probs=unlabeled_pred_probs, classes=classes, example_col=example_col,
                           annotator_col=annotator_col, label_col=label_col, prob_prefix=prob_prefix,
                           normalize=normalize)
    feats = read_features(features, feature_prefix=feature_prefix) if features is not None else None
    with terminal.steps(quiet) as tick:
        run = run_consensus(ann, feats, model=model, folds=folds, seed=seed, compat=compat, progress=tick)
    if ann.layout == "wide" and io.formats.kind(annotations) != "npy":  # say how the table was read
        terminal.note(terminal.console(quiet), f"read as a wide table: {len(ann.annotators)} annotator columns"
                      f" ({io.formats.preview(ann.annotators, 5)}); a long table has the columns {example_col},"
                      f" {annotator_col} and {label_col}")
    examples = show.example_table(ann, run.result, run.active)
    annotators = show.annotator_table(ann, run.result)
    with io.all_or_nothing():  # every table or none
        if out is not None:
            io.write_table(examples, out, inputs=inputs)
        if annotators_out is not None:
            io.write_table(annotators, annotators_out, inputs=inputs)
        if labels_out is not None:
            _write_labels(io, ann, run.result, labels_out, inputs)
        if active_learning_out is not None:
            io.write_table(show.unlabeled_table(run.active), active_learning_out, inputs=inputs)
    if not quiet:
        show.report(terminal.console(), ann, run, examples, annotators, outs=outs)
    if as_json:
        print_json(show.summary(ann, run, examples, annotators))


def _write_labels(io, ann, result, path: str, inputs) -> None:
    from labelcli.io.formats import kind
    from labelcli.render import consensus as show

    if path != "-" and kind(path) == "npy":
        io.write_array(result.labels.astype("int64"), path, inputs=inputs)
    else:
        io.write_table(show.labels_table(ann, result), path, inputs=inputs)
