"""find-issues, score and health with --engine dask: open the partitions, run the distributed
drivers, and hand small results to labelcli.render and labelcli.io as the single-machine
commands do (labelcli.cli.detect calls these when --engine dask is given).
"""
from __future__ import annotations

from types import SimpleNamespace

from labelcli.errors import LabelError


def _executor(cluster):
    from labelcli.distributed.cluster import open_executor

    return open_executor(cluster.scheduler, cluster.workers)


def _open(ex, o: dict, cluster):
    from labelcli.distributed.inputs import open_inputs

    return open_inputs(ex, o["labels"], o["pred_probs"], classes=o.get("classes"), label_col=o.get("label_col", "label"),
                       prob_prefix=o.get("prob_prefix"), normalize=o.get("normalize", False),
                       multi_label=o.get("multi_label"), label_sep=o.get("label_sep", ","), id_col=cluster.id_col)


def refuse(option: str, value) -> None:
    if value:
        raise LabelError(f"{option} is not available with --engine dask yet; run without it on one machine")


def find_issues(o: dict, how, cluster, *, top=None, all_rows=False, out=None, quiet=False, as_json=False,
                fail_on_issues=None):
    """find-issues on the cluster. o: the input options (labels, pred_probs, classes, ...)."""
    from labelcli import io
    from labelcli.core import engine
    from labelcli.core.defaults import defaults
    from labelcli.distributed import driver, outputs
    from labelcli.render import tables, terminal
    from labelcli.tasks import check_detection

    if all_rows:
        outputs.check_out_folder(out, "find-issues --all")
    elif out is not None:
        io.check_output_path(out, [], allowed=io.TABLE_OUT)
    with _executor(cluster) as ex:
        inputs = _open(ex, o, cluster)
        check_detection(how, inputs.multi_label)
        if inputs.multi_label:
            from labelcli.distributed import multilabel

            if all_rows:
                raise LabelError("find-issues --all on multi-label data is not available with --engine dask yet;"
                                 " run it on one machine, or without --all")
            found = multilabel.find_label_issues(ex, inputs, how)
        else:
            profile = defaults(how.compat)
            plan = engine.Plan(profile.filter_by if how.filter_by is None else how.filter_by,
                               profile.rank_by if how.rank_by is None else how.rank_by)
            found = driver.find_label_issues(ex, inputs, plan)
        table = found.table(inputs.classes, cluster.id_col, o.get("label_sep", ","))
        if out is not None:
            if all_rows:
                import os

                os.makedirs(out, exist_ok=True)
                written = found.write_all(ex, inputs, out, table)
            else:
                from labelcli.render.tables import for_file

                shown_rows = table.head(top) if top is not None else table
                io.write_table(for_file(shown_rows, out, "given_labels" in table.columns, o.get("label_sep", ",")), out)
        stats = ex.gathered_bytes
    shown = table.head(top) if top is not None else table
    if not quiet:
        con = terminal.console()
        terminal.find_issues(con, num_examples=inputs.num_rows, num_classes=inputs.num_classes,
                             num_issues=found.num_issues, filter_by=found.filter_by, rank_by=found.ranked_by,
                             top_df=shown.drop(columns="is_label_issue"), class_df=found.class_table(inputs.classes),
                             out=out, show=min(top or 20, 50))
        terminal.note(con, f"dask: {len(inputs.specs)} partitions, {_fmt(stats)} gathered to the client"
                      + (f", {written:,} rows written as parts" if out is not None and all_rows else ""))
    if as_json:
        shim = SimpleNamespace(issues=SimpleNamespace(num_issues=found.num_issues), filter_by=found.filter_by,
                               rank_by=found.rank_by, aggregation=getattr(found, "aggregation", None),
                               predictions=SimpleNamespace(cv_accuracy=None), features=None)
        print_json(tables.found_issues_json(shim, shown, SimpleNamespace(num_examples=inputs.num_rows), top=top,
                                            only=None))
    if fail_on_issues is not None and found.num_issues > fail_on_issues:
        import typer

        from labelcli.errors import ExitCode

        terminal.gate_failed(f"{found.num_issues} label issues found, more than --fail-on-issues {fail_on_issues}")
        raise typer.Exit(ExitCode.GATE)


def print_json(doc) -> None:
    """The --format json summary on stdout (as labelcli.cli.options.print_json writes it)."""
    import json

    from labelcli.io import write_stdout

    text = json.dumps(doc, indent=2) + "\n"
    write_stdout(lambda out: out.write(text))


def _fmt(n: int) -> str:
    from labelcli.io import format_bytes

    return format_bytes(n)


def score(o: dict, how, cluster, *, out=None, quiet=False, as_json=False):
    """score on the cluster: the workers write one Parquet part per partition into --out."""
    from labelcli.core.defaults import defaults
    from labelcli.distributed import outputs, scoring
    from labelcli.render import tables, terminal
    from labelcli.tasks import check_detection

    outputs.check_out_folder(out, "score")
    with _executor(cluster) as ex:
        inputs = _open(ex, o, cluster)
        check_detection(how, inputs.multi_label, "method")
        profile = defaults(how.compat)
        if inputs.multi_label:
            method = profile.multilabel_method if how.rank_by is None else how.rank_by
        else:
            method = profile.rank_by if how.rank_by is None else how.rank_by
        if out is not None:
            import os

            os.makedirs(out, exist_ok=True)
        res = scoring.score(ex, inputs, method, how, out)
    lowest = res.lowest
    if not quiet:
        terminal.scores(terminal.console(), num_examples=inputs.num_rows, method=method, lowest_df=lowest, out=out)
    if as_json:
        print_json({"num_examples": inputs.num_rows, "method": method, "mean_score": float(res.mean),
                    "lowest": tables.records(lowest.head(20))})


def health(o: dict, how, cluster, *, top_pairs=20):
    """health on the cluster: passes 1 and 2, O(K^2) on the client. Returns (tasks.HealthResult, the
    class names); the command writes and shows it as for one machine (with --baseline too)."""
    from labelcli import tasks
    from labelcli.distributed import driver

    with _executor(cluster) as ex:
        inputs = _open(ex, o, cluster)
        tasks.check_detection(how, inputs.multi_label)
        if inputs.multi_label:
            from labelcli.distributed import multilabel

            summary = multilabel.health(ex, inputs, how, top_pairs=top_pairs)
        else:
            summary = driver.health(ex, inputs, top_pairs=top_pairs)
    return tasks.HealthResult(summary, None), inputs.classes
