"""The benchmark command: a find-issues or score table checked against known errors (or true labels).
Registered by labelcli.cli.app."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from labelcli.cli.options import Debug, Format, LabelSep, Quiet, check_format, print_json
from labelcli.errors import LabelError


def benchmark_cmd(
    issues: Annotated[str, typer.Option("--issues", "-i", help="A find-issues or score table (.csv/.parquet): index, label_score[, is_label_issue, given_label].")],
    truth: Annotated[str, typer.Option("--truth", "-t", help="True errors (0/1 or bool, one per example) or true labels (multi-label: true tag sets) (.npy/.csv/.parquet).")],
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Write the metrics as JSON (.json, or - for stdout).")] = None,
    plot: Annotated[Optional[str], typer.Option("--plot", help="Write the precision-recall curve of the ranking as a PNG.")] = None,
    k: Annotated[Optional[int], typer.Option("--k", help="recall_at_k: share of the errors among the k most suspect rows (default: the flagged count).")] = None,
    label_sep: LabelSep = ",", quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Check a ranking against known errors: precision, recall, F1 of the flagged rows, AP, AP@T
    (T = number of errors) and recall@k of the ranking. Multi-label tables: true errors per example,
    or true tag sets compared with given_labels."""
    from labelcli import io
    from labelcli.ml.benchmark import benchmark, tag_truth_mask, truth_mask
    from labelcli.render import terminal

    as_json = check_format(format, out)
    if out is not None:
        io.check_output_path(out, [issues, truth], allowed=io.JSON_OUT)
    if plot is not None:
        io.check_output_path(plot, [issues, truth], allowed=(".png",))
    if k is not None and k < 1:
        raise LabelError(f"--k must be at least 1, got {k}")
    table = io.read_table(issues)
    name = io.display_name(issues)
    if not hasattr(table, "columns") or not {"index", "label_score"} <= set(table.columns):
        raise LabelError(f"{name}: need the columns index and label_score (a find-issues or score table)")
    raw = io.read_table(truth)
    raw = raw.to_numpy() if hasattr(raw, "to_numpy") else raw
    given = None
    col = "given_labels" if "given_labels" in table.columns else "given_label"  # multi-label: tag sets
    if col in table.columns and len(table) == len(raw):
        given = table.sort_values("index", kind="stable")[col].to_numpy(dtype=object if col == "given_labels" else None)
    if col == "given_labels":
        t = tag_truth_mask(raw, given, sep=label_sep, name=io.display_name(truth))
    else:
        t = truth_mask(raw, given, name=io.display_name(truth))
    is_issue = table["is_label_issue"].to_numpy() if "is_label_issue" in table.columns else None
    b = benchmark(table["index"].to_numpy(), table["label_score"].to_numpy(), is_issue, t, k=k, name=name)
    doc = dict(b.metrics, flagged_by=b.flagged_by, issues=issues, truth=truth)
    if out is not None:
        io.write_json(doc, out, inputs=[issues, truth])
    if plot is not None:
        from labelcli.render import plots

        io.write_bytes(plots.pr_curve(b.scores, b.truth, ap=b.metrics["ap"]), plot, inputs=[issues, truth])
    if as_json:
        print_json(io.to_jsonable(doc))
    else:
        terminal.benchmark(terminal.console(quiet), b.metrics, b.flagged_by, out=out, plot=plot)
