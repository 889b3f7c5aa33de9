"""find-issues with a reference set (--reference-labels, --reference-pred-probs,
--reference-features): parse, open both datasets (labelcli.io), run labelcli.tasks_batch, render
and write; the gates --fail-on-issues and --fail-above-drift. Called by cli.detect.find_issues."""
from __future__ import annotations

import typer

from labelcli.errors import ExitCode, LabelError


def find_batch_issues(o: dict, how, *, reference_labels, reference_pred_probs, reference_features,
                      fail_above_drift, top, all_rows, out, quiet, as_json, fail_on_issues, k, metric,
                      dup_threshold, outlier_threshold) -> None:
    """The new batch (o: the batch's input options) against the reference."""
    from labelcli import io, tasks
    from labelcli.cli.options import load, print_json, steps_for
    from labelcli.render import tables, terminal, terminal_gates
    from labelcli.tasks_batch import find_batch_issues as run

    if reference_labels is None or reference_pred_probs is None:
        raise LabelError("a reference needs both --reference-labels and --reference-pred-probs")
    if o["pred_probs"] is None:
        raise LabelError("with a reference, give the batch's --pred-probs (cross-validating a batch alone is not"
                         " supported)")
    if (o["features"] is None) != (reference_features is None):
        raise LabelError("--features and --reference-features go together (outliers of the batch are scored"
                         " against the reference's features)")
    if fail_above_drift is not None and not 0.0 <= fail_above_drift <= 1.0:
        raise LabelError(f"--fail-above-drift is a share in [0, 1], got {fail_above_drift}")
    srcs = [o["labels"], o["pred_probs"], o["features"], reference_labels, reference_pred_probs, reference_features]
    if out is not None:
        io.check_output_path(out, srcs, allowed=io.TABLE_OUT)
    common = (o["label_col"], o["prob_prefix"], o["feature_prefix"], o["normalize"], quiet, o["multi_label"],
              o["label_sep"])
    ref = load(reference_labels, reference_pred_probs, reference_features, o["classes"], *common)
    try:
        ds = load(o["labels"], o["pred_probs"], o["features"], list(ref.classes), *common)
    except LabelError:
        if o["classes"] is not None:
            raise
        # The batch is read with the reference's class list, not a --classes the user gave: when it
        # reads on its own, say how the two differ.
        alone = load(o["labels"], o["pred_probs"], o["features"], None, *common[:4], True, *common[5:])
        raise LabelError(f"the batch ({alone.task}, {_classes(alone)}) does not match the reference ({ref.task},"
                         f" {_classes(ref)}); give both the same classes") from None
    # A `fix` output: the reference is the rows it kept; the batch's dropped rows are not listed
    # again (the others keep their row numbers), as in find-issues without a reference.
    only = None if ds.skip is None else ~ds.skip
    with steps_for(ds, quiet) as tick:
        result = run(ds, ref.without_skipped(), how,
                     features=tasks.FeatureChecks(k, metric, dup_threshold, outlier_threshold), progress=tick)
    found = result.found
    table = tables.found_issues_table(found, ds.labels, tables.label_values(ds.classes, ds.label_kind, ds.multi_label),
                                      include_all=all_rows, top=top, sep=o["label_sep"], only=only)
    if out is not None:
        io.write_table(tables.for_file(table, out, ds.multi_label, o["label_sep"]), out, inputs=srcs)
    if not quiet:
        con = terminal.console()
        terminal.found_issues(con, found, table, ds, top=top, out=out, only=only,
                              scope=tables.review_scope(None, None, ds.num_skipped))
        terminal_gates.batch_drift(con, result, ds.classes, reference_labels, fail_above_drift)
    if as_json:
        doc = tables.found_issues_json(found, table, ds, top=top, only=only)
        doc["reference"] = {"labels": reference_labels, "num_examples": result.reference.num_examples,
                            "estimated_noise_rate": result.reference.noise_rate}
        doc["drift"] = result.drift.to_dict(ds.classes)
        print_json(doc)
    failed = []
    if fail_on_issues is not None and found.issues.num_issues > fail_on_issues:
        failed.append(f"{found.issues.num_issues} label issues found in the batch, more than --fail-on-issues"
                      f" {fail_on_issues}")
    if fail_above_drift is not None:
        failed += [f"drift {name.replace('_', ' ')} {value:.3f} is above --fail-above-drift {fail_above_drift:g}"
                   for name, value in result.drift.figures().items() if value > fail_above_drift]
    for message in failed:
        terminal.gate_failed(message)
    if failed:
        raise typer.Exit(ExitCode.GATE)


def _classes(ds) -> str:
    from labelcli.io.formats import preview

    return f"{ds.num_classes} {'tags' if ds.multi_label else 'classes'}: {preview(ds.classes, 5)}"
