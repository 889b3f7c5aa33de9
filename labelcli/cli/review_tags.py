"""`fix` on multi-label data (tags): review decisions (``--decisions``: drop, keep or a new tag set
per row) or an automatic policy (``--issues --auto``: the flagged rows dropped or given their
suggested tag set). Tags are written as names joined by --label-sep (list columns in Parquet). On a
`fix` output, earlier drops and the original tags carry over and the changelog grows, as for
multi-class labels (labelcli.core.fixing.carry_forward, labelcli.io.read_fix_state)."""
from __future__ import annotations

from labelcli.cli.options import print_json
from labelcli.errors import LabelError


def fix_multilabel(ds, *, labels: str, decisions, issues, auto, threshold, fraction, out: str, changelog, srcs,
                   sep: str, quiet: bool, as_json: bool) -> None:
    """The `fix` command on a multi-label dataset ``ds`` (options already checked by fix_cmd)."""
    from labelcli import io
    from labelcli.core.fixing import carry_forward
    from labelcli.render import terminal
    from labelcli.render.tables import for_file

    if threshold is not None or fraction is not None:
        raise LabelError("--threshold and --fraction are for multi-class labels")
    if out != "-" and io.formats.kind(out) == "npy":
        raise LabelError("multi-label cleaned labels are a table (.csv/.parquet/.json), not .npy")
    result = decide_tags(decisions, ds, sep) if decisions is not None else fix_tags(issues, ds, auto, sep)
    prior = io.read_fix_state(labels, ds.classes, sep) if ds.skip is not None else None
    if prior is not None:  # a second round on a fix output: earlier drops and the true original stay
        result = carry_forward(result, original=prior[0], keep=prior[1])
    fixed, log = tag_tables(result, ds.classes, sep)
    with io.all_or_nothing():  # both files or neither
        io.write_table(for_file(fixed, out, True, sep), out, inputs=srcs)
        if changelog is not None:
            before = io.earlier_changelog(changelog) if prior is not None else None
            if before is not None:  # the review loop: this round's rows after the earlier rounds'
                log = io.append_changelog(before, log, changelog)
            io.write_table(for_file(log, changelog, True, sep), changelog, inputs=[s for s in srcs if s != changelog])
    terminal.fix_summary(terminal.console(quiet), len(ds.labels), result, out, changelog)
    if as_json:
        print_json({"num_examples": len(ds.labels), "num_dropped": result.num_dropped,
                    "num_relabeled": result.num_relabeled, "num_decisions": len(result.log_index), "out": out,
                    "changelog": changelog})


def _check_given(df, path: str, ds, idx, sep: str, where) -> None:
    """A table made from other labels is stale: its given_labels must match the labels."""
    from labelcli.core.tagfix import tag_cells

    if "given_labels" not in df.columns:
        return
    given = tag_cells(df["given_labels"].to_numpy(dtype=object), ds.classes, sep, where)
    bad = (given != ds.labels[idx]).any(axis=1).nonzero()[0]
    if bad.size:
        raise LabelError(f"{where(int(bad[0]))}: given_labels differ from {ds.labels_path} at index"
                         f" {int(idx[bad[0]])}; was it made from these labels?")


def decide_tags(path: str, ds, sep: str):
    """The TagFixResult of ``fix --decisions PATH``: columns index, action (drop|keep|relabel;
    blank = not reviewed yet), new_label (the new tag set: names joined by ``sep``, a JSON list or
    a list column; empty = no tags), reason (optional)."""
    import numpy as np

    from labelcli.core.fixing import parse_actions
    from labelcli.core.tagfix import apply_tag_decisions, tag_cells
    from labelcli.io import read_review_table

    df = read_review_table(path, "decisions", ("index", "action"))
    col = lambda c: df[c].to_numpy(dtype=object) if c in df.columns else np.full(len(df), None, dtype=object)  # noqa: E731
    where = lambda r: f"{path} row {r} (0-based)"  # noqa: E731
    pos, idx, acts, why = parse_actions(col("index"), col("action"), num_examples=len(ds.labels),
                                        reason=col("reason"), name=path)
    _check_given(df.iloc[pos], path, ds, idx, sep, lambda j: where(int(pos[j])))
    rel = pos[acts == "relabel"]
    if len(rel) and "new_label" not in df.columns:
        raise LabelError(f"{where(int(rel[0]))}: action relabel needs a column new_label (the new tag set, joined"
                         f" by '{sep}'; empty = no tags)")
    new = np.zeros((len(pos), len(ds.classes)), dtype=bool)
    new[acts == "relabel"] = tag_cells(col("new_label")[rel], ds.classes, sep, lambda j: where(int(rel[j])))
    return apply_tag_decisions(ds.labels, idx, acts, new, why)


def fix_tags(path: str, ds, auto: str, sep: str):
    """The TagFixResult of ``fix --issues PATH --auto drop|relabel`` on multi-label ``ds``."""
    from labelcli.core.fixing import bool_cells, row_indices
    from labelcli.core.tagfix import auto_tag_fix, tag_cells
    from labelcli.io import read_review_table

    df = read_review_table(path, "multi-label issues", ("index", "predicted_labels", "is_label_issue"))
    where = lambda r: f"{path} row {r} (0-based)"  # noqa: E731
    idx = row_indices(df["index"].to_numpy(dtype=object), len(ds.labels), where)
    flagged = bool_cells(df["is_label_issue"].to_numpy(dtype=object), what="is_label_issue", where=where)
    _check_given(df, path, ds, idx, sep, where)
    new = tag_cells(df["predicted_labels"].to_numpy(dtype=object)[flagged], ds.classes, sep,
                    lambda r: where(int(flagged.nonzero()[0][r])))
    return auto_tag_fix(ds.labels, idx[flagged], new, action=auto)


def tag_tables(result, classes, sep: str):
    """(the cleaned-labels table, the changelog table) of a TagFixResult."""
    import numpy as np
    import pandas as pd

    from labelcli.render.tables import format_tags

    n = len(result.labels)
    fixed = pd.DataFrame({"index": np.arange(n, dtype=np.int64), "labels": format_tags(result.labels, classes, sep),
                          "original_labels": format_tags(result.original, classes, sep), "keep": result.keep,
                          "weight": result.weight, "changed": result.changed})
    i = result.log_index
    new = format_tags(result.labels[i], classes, sep)
    log = pd.DataFrame({"index": i, "action": result.log_action,
                        "old_labels": format_tags(result.log_old, classes, sep),
                        "new_labels": [None if a == "drop" else v for a, v in zip(result.log_action, new)],
                        "reason": result.log_reason})
    return fixed, log


def evaluate_tags(ds, clean_labels: str, *, label_col: str, sep: str, test_features, test_labels, test_fraction,
                  test_label_col, against: str, model: str, folds: int, seed: int, feature_prefix, quiet: bool):
    """`evaluate` on a multi-label dataset ``ds`` (options already checked by evaluate_cmd): the
    TagComparison of labelcli.ml.evaluate_tags, in the setting the options choose."""
    from labelcli import io
    from labelcli.cli.options import load
    from labelcli.ml import evaluate_tags as ev
    from labelcli.render import terminal

    clean, keep, weight = io.read_clean_tags(clean_labels, ds.labels, ds.classes, label_col, sep,
                                             labels_name=ds.labels_path)
    common = dict(class_names=ds.classes, keep=keep, weight=weight, model=model, seed=seed)
    tcol = test_label_col or label_col

    def trusted(path, feats):  # the test set's (or the held-out rows') trusted tags, in the same tag order
        return load(path, None, feats, list(ds.classes), tcol, None, feature_prefix, False, quiet, True, sep)

    if test_features is not None:
        test = trusted(test_labels, test_features)
        return ev.compare_tags_on_test_set(ds.features, ds.labels, clean, test.features, test.labels, **common)
    if test_fraction is not None:
        ref = None if test_labels is None else trusted(test_labels, None).labels
        return ev.compare_tags_on_holdout(ds.features, ds.labels, clean, fraction=test_fraction, reference=ref,
                                          against=against, **common)
    with terminal.progress(quiet) as bar:
        task = bar.add_task(f"cross-validating ({model}, one-vs-rest, original vs cleaned)", total=folds)
        return ev.compare_tags_cross_validated(ds.features, ds.labels, clean, folds=folds, against=against,
                                               progress=lambda d, t: bar.update(task, completed=d), **common)
