"""The review loop on the command line: `report` (HTML with plots and an image gallery), `fix`
(apply review decisions or an automatic policy) and `evaluate` (did cleaning help?).

Registered on the main app by `register(app)` from the bottom of labelcli/cli.py; the shared
options and first checks come from labelcli.options. Heavy libraries are imported inside the
commands.
"""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from labelcli.options import (
    TABLE_OUT, Classes, Compat, Debug, FeaturePrefix, Folds, Format, LabelCol, Labels, Model, Normalize,
    PredProbs, ProbPrefix, Quiet, Seed,
)
from labelcli.options import check_format as _check_format
from labelcli.options import choice as _choice
from labelcli.options import compat_profile
from labelcli.options import load as _load
from labelcli.options import print_json as _print_json
from labelcli.errors import LabelError

GALLERY_MAX = 128  # thumbnails at most, whatever --top says
FIX_OUT = tuple(dict.fromkeys(TABLE_OUT + (".npy",)))


def register(app) -> None:
    app.command("report")(report_cmd)
    app.command("fix")(fix_cmd)
    app.command("evaluate")(evaluate_cmd)


# ------------------------------------------------------------------------------------- report


def report_cmd(
    labels: Labels,
    pred_probs: Annotated[str, typer.Option("--pred-probs", "-p", help="Out-of-sample predicted probabilities, N x K.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Report folder (created if missing; its parent must exist).")],
    images: Annotated[Optional[str], typer.Option("--images", help="N x H x W (x C) .npy images, or a table with a column of image file paths (--image-col).")] = None,
    image_col: Annotated[str, typer.Option("--image-col", help="Column of image file paths in the --images table (relative paths: from the table's folder).")] = "path",
    top: Annotated[int, typer.Option("--top", help="Most suspect examples in the table and the gallery.")] = 32,
    filter_by: Annotated[Optional[str], typer.Option("--filter-by", help="Filter used to flag issues (see find-issues; default low_adjusted_margin).", show_default=False)] = None,
    rank_by: Annotated[Optional[str], typer.Option("--rank-by", help="Label quality score used to rank them (default adjusted_margin).", show_default=False)] = None,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    normalize: Normalize = False, compat: Compat = None, quiet: Quiet = False, format: Format = "text",
    debug: Debug = False,
) -> None:
    """HTML report of the label issues: noise per class, noise matrix, score histogram, class pairs, top issues (+ image gallery)."""
    from labelcli import htmlreport, plots
    from labelcli.core.filtering import FILTERS, find_label_issues
    from labelcli.core.health import health_summary
    from labelcli.core.ranking import METHODS
    from labelcli.core.validate import check_classes_present

    as_json = _check_format(format, None)
    compat_profile(compat)
    if filter_by is not None:
        _choice(filter_by, FILTERS, "--filter-by")
    if rank_by is not None:
        _choice(rank_by, METHODS, "--rank-by")
    if top < 1:
        raise LabelError(f"--top must be at least 1, got {top}")
    plots.require_matplotlib()  # fail now, not after the work
    _check_folder(out, [labels, pred_probs, images])
    inputs = _load(labels, pred_probs, None, classes, label_col, prob_prefix, None, normalize)
    check_classes_present(inputs.labels, len(inputs.classes), name=labels)
    summary = health_summary(inputs.labels, inputs.pred_probs, class_names=inputs.classes, compat=compat)
    issues = find_label_issues(inputs.labels, inputs.pred_probs, filter_by=filter_by, rank_by=rank_by, compat=compat)
    filter_by, rank_by = issues.filter_by, issues.rank_by  # as resolved
    gallery = None
    shown = issues.ranking[: min(top, GALLERY_MAX)]
    if images is not None and len(shown):
        thumbs = plots.load_gallery_images(images, image_col, shown, len(inputs.labels))
        gallery = plots.gallery(thumbs, _captions(shown, inputs.labels, issues, inputs.classes),
                                title=f"The {len(shown)} most suspect examples (most suspect first)")
    sections, mark = htmlreport.label_issue_sections(summary, issues, inputs.labels, inputs.pred_probs,
                                                     top=top, gallery_png=gallery)
    doc = htmlreport.render(f"labelcli report: {os.path.basename(os.path.abspath(labels))}",
                            htmlreport.label_issue_facts(summary, issues), sections,
                            footer=f"labels: {labels}; pred_probs: {pred_probs}; filter {filter_by}, rank {rank_by}")
    if not os.path.isdir(out):
        os.mkdir(out)
    written = htmlreport.write_report(out, doc, sections)
    _render_report(quiet, summary, issues, written, mark)
    if as_json:
        _print_json({"out": out, "files": written, "num_examples": summary.num_examples,
                     "num_issues": issues.num_issues, "health_score": summary.health_score,
                     "estimated_noise_rate": summary.noise_rate, "marked_score": mark})


def _check_folder(out: str, inputs) -> None:
    from labelcli.htmlreport import INDEX

    if out == "-":
        raise LabelError("--out for report is a folder (e.g. --out report/), not stdout")
    if os.path.exists(out) and not os.path.isdir(out):
        raise LabelError(f"--out {out}: exists and is not a folder; give a folder path")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise LabelError(f"--out {out}: parent folder '{parent}' does not exist; create it first")
    if not os.access(out if os.path.isdir(out) else parent, os.W_OK | os.X_OK):
        raise LabelError(f"--out {out}: folder is not writable")
    names = (INDEX, "gallery.png", "noise_per_class.png", "noise_matrix.png", "class_pairs.png", "score_histogram.png")
    for inp in inputs:
        if inp and inp != "-" and os.path.realpath(os.path.dirname(inp) or ".") == os.path.realpath(out) \
                and os.path.basename(inp) in names:
            raise LabelError(f"--out {out} would overwrite the input file {inp}; choose another folder")


def _captions(rows, labels, issues, classes) -> list[str]:
    from labelcli.plots import short_name

    return [f"#{i}\ngiven: {short_name(classes[labels[i]], 12)}\nsugg.: {short_name(classes[issues.predicted[i]], 12)}"
            f"\nscore {issues.scores[i]:.2g}" for i in rows]


# ---------------------------------------------------------------------------------------- fix


def fix_cmd(
    labels: Labels,
    out: Annotated[str, typer.Option("--out", "-o", help="Cleaned labels: .csv/.parquet/.json/.jsonl table, .npy, or '-'.")],
    decisions: Annotated[Optional[str], typer.Option("--decisions", help="Review decisions: a table with columns index, action (relabel|drop|keep), new_label.")] = None,
    issues: Annotated[Optional[str], typer.Option("--issues", help="A find-issues table to act on with --auto.")] = None,
    auto: Annotated[Optional[str], typer.Option("--auto", help="With --issues: 'drop' the flagged rows, or 'relabel' them to the suggested label when confident.")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="--auto relabel: minimum predicted probability of the suggested label (default 0.9).")] = None,
    fraction: Annotated[Optional[float], typer.Option("--fraction", help="With --auto: act on the lowest-scoring fraction of all examples instead of the flagged rows.")] = None,
    pred_probs: PredProbs = None,
    changelog: Annotated[Optional[str], typer.Option("--changelog", help="Write one row per decision: index, action, old_label, new_label, reason.")] = None,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    normalize: Normalize = False, quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Apply review decisions (relabel / drop / keep) or an automatic policy; write the cleaned labels."""
    from labelcli import io
    from labelcli.core import fixing

    as_json = _check_format(format, out)
    if (decisions is None) == (issues is None):
        raise LabelError("give either --decisions (a reviewed table) or --issues with --auto")
    if issues is not None and auto is None:
        raise LabelError("--issues needs --auto drop or --auto relabel")
    if decisions is not None and (auto or threshold is not None or fraction is not None):
        raise LabelError("--auto, --threshold and --fraction work with --issues, not --decisions")
    if auto is not None:
        _choice(auto, fixing.AUTO_ACTIONS, "--auto")
    if threshold is not None and auto != "relabel":
        raise LabelError("--threshold is for --auto relabel (the minimum probability of the suggested label)")
    if auto == "relabel" and pred_probs is None:
        raise LabelError("--auto relabel needs --pred-probs, to check the model is confident in the suggested label")
    srcs = [labels, decisions, issues, pred_probs]
    io.check_output_path(out, srcs, allowed=FIX_OUT)
    if changelog is not None:
        io.check_output_path(changelog, srcs, allowed=TABLE_OUT)
        if changelog == out:
            raise LabelError("--changelog and --out name the same file; give two paths")
    inputs = _load(labels, pred_probs, None, classes, label_col, prob_prefix, None, normalize)
    n, names = len(inputs.labels), inputs.classes
    if decisions is not None:
        dec = _read_decisions(decisions, inputs)
    else:
        dec = _auto_decisions(issues, inputs, auto, fraction, fixing.DEFAULT_THRESHOLD if threshold is None else threshold)
    result = fixing.apply_decisions(inputs.labels, dec, len(names))
    as_label = _label_writer(labels, label_col, names)
    _write_fixed(result, as_label, out, srcs)
    if changelog is not None:
        io.write_table(_changelog_table(result, as_label), changelog, inputs=srcs)
    _render_fix(quiet, n, result, out, changelog)
    if as_json:
        _print_json({"num_examples": n, "num_dropped": result.num_dropped, "num_relabeled": result.num_relabeled,
                     "num_decisions": len(result.log_index), "out": out, "changelog": changelog})


def _table(path: str, what: str, required: tuple[str, ...]):
    import numpy as np

    from labelcli import io

    df = io.read_table(path)
    if isinstance(df, np.ndarray):
        raise LabelError(f"{path}: {what} must be a table (.csv/.parquet) with columns {', '.join(required)}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise LabelError(f"{path}: no column '{missing[0]}' (columns: {', '.join(map(str, list(df.columns)[:10]))});"
                         f" {what} need columns {', '.join(required)}")
    return df


def _check_given(df, path: str, inputs, idx) -> None:
    """A table made from other labels is a stale table: its given_label must match the labels."""
    import numpy as np

    from labelcli.core.fixing import class_indices

    if "given_label" not in df.columns:
        return
    given = class_indices(df["given_label"].to_numpy(dtype=object), inputs.classes, what="given_label",
                          where=lambda r: f"{path} row {r} (0-based)")
    bad = np.flatnonzero(given != inputs.labels[idx])
    if bad.size:
        r = int(bad[0])
        raise LabelError(f"{path} row {r} (0-based): given_label '{df['given_label'].iloc[r]}' but {inputs.labels_path}"
                         f" has '{inputs.classes[inputs.labels[idx[r]]]}' at index {idx[r]}; was it made from these labels?")


def _read_decisions(path: str, inputs):
    import numpy as np

    from labelcli.core import fixing

    df = _table(path, "decisions", ("index", "action"))
    col = lambda c: df[c].to_numpy(dtype=object) if c in df.columns else np.full(len(df), None, dtype=object)  # noqa: E731
    idx = fixing.row_indices(col("index"), len(inputs.labels), lambda r: f"{path} row {r} (0-based)")
    _check_given(df, path, inputs, idx)
    return fixing.parse_decisions(col("index"), col("action"), col("new_label"), classes=inputs.classes,
                                  num_examples=len(inputs.labels), reason=col("reason"), name=path)


def _auto_decisions(path: str, inputs, auto: str, fraction, threshold):
    import numpy as np

    from labelcli.core import fixing

    df = _table(path, "issues", ("index", "predicted_label", "label_score", "is_label_issue"))
    where = lambda r: f"{path} row {r} (0-based)"  # noqa: E731
    idx = fixing.row_indices(df["index"].to_numpy(dtype=object), len(inputs.labels), where)
    _check_given(df, path, inputs, idx)
    sugg = fixing.class_indices(df["predicted_label"].to_numpy(dtype=object), inputs.classes,
                                what="predicted_label", where=where)
    if (sugg < 0).any():
        raise LabelError(f"{where(int(np.flatnonzero(sugg < 0)[0]))}: predicted_label is blank")
    flagged = fixing.bool_cells(df["is_label_issue"].to_numpy(dtype=object), what="is_label_issue", where=where)
    conf = None if inputs.pred_probs is None else inputs.pred_probs[idx, sugg]
    return fixing.auto_decisions(inputs.labels, idx, sugg, df["label_score"].to_numpy(dtype=np.float64), flagged,
                                 action=auto, fraction=fraction, confidence=conf, threshold=threshold)


def _label_writer(labels_path: str, label_col: str, classes):
    """Class index -> the value written: names stay names, integer labels stay integers."""
    import numpy as np

    from labelcli import io

    src = io.read_table(labels_path)
    if isinstance(src, np.ndarray):
        numeric = src.dtype.kind in "biuf"
    else:
        col = label_col if label_col in src.columns else src.columns[0]
        numeric = src[col].dtype.kind in "biuf"
    names = np.asarray(classes, dtype=object)
    if not numeric:
        return lambda idx: names[idx]
    if all(str(c).lstrip("-").isdigit() for c in classes):  # integer labels that are class names (3, 5, 7)
        ints = np.array([int(c) for c in classes], dtype=np.int64)
        return lambda idx: ints[idx]
    return lambda idx: np.asarray(idx, dtype=np.int64)


def _write_fixed(result, as_label, out: str, srcs) -> None:
    import numpy as np

    import pandas as pd

    from labelcli import io

    if out != "-" and out.lower().endswith(".npy"):
        vals = as_label(result.labels)
        if vals.dtype == object:  # names: a string array, "" for dropped rows
            arr = np.where(result.keep, vals, "").astype(str)
        else:  # integers: -1 for dropped rows (scikit-learn's "no label")
            arr = np.where(result.keep, vals, -1).astype(np.int64)
        io.write_array(arr, out, inputs=srcs)
        return
    df = pd.DataFrame({"index": np.arange(len(result.labels), dtype=np.int64), "label": as_label(result.labels),
                       "original_label": as_label(result.original), "keep": result.keep,
                       "weight": result.weight, "changed": result.changed})
    io.write_table(df, out, inputs=srcs)


def _changelog_table(result, as_label):
    import numpy as np

    import pandas as pd

    new = as_label(np.maximum(result.log_new, 0))
    dropped = result.log_new < 0
    new_col = pd.array([None if d else v for v, d in zip(new.tolist(), dropped)],
                       dtype="Int64" if new.dtype != object else object)
    return pd.DataFrame({"index": result.log_index, "action": result.log_action, "old_label": as_label(result.log_old),
                         "new_label": new_col, "reason": result.log_reason})


# ------------------------------------------------------------------------------------ evaluate


def evaluate_cmd(
    features: Annotated[str, typer.Option("--features", "-x", help="Features, N x D (the same rows as --labels).")],
    labels: Labels,
    clean_labels: Annotated[str, typer.Option("--clean-labels", help="Cleaned labels: the table written by 'fix' (keep/weight columns honoured), an .npy (-1 = dropped), or plain labels.")],
    test_features: Annotated[Optional[str], typer.Option("--test-features", help="A separate test set's features.")] = None,
    test_labels: Annotated[Optional[str], typer.Option("--test-labels", help="Trusted labels: of the test set, or with --test-fraction one per row of --labels.")] = None,
    test_fraction: Annotated[Optional[float], typer.Option("--test-fraction", help="Hold out this stratified, seeded fraction of the rows for scoring.")] = None,
    test_label_col: Annotated[Optional[str], typer.Option("--test-label-col", help="Label column of the --test-labels table (default: --label-col).")] = None,
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0, classes: Classes = None,
    label_col: LabelCol = "label", feature_prefix: FeaturePrefix = None,
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Train the same model on the original and the cleaned labels; compare accuracy, macro-F1, AUROC."""
    from labelcli import evaluate, report
    from labelcli.crossval import make_model

    as_json = _check_format(format, None)
    if test_features is not None and test_fraction is not None:
        raise LabelError("give --test-features (a separate test set) or --test-fraction, not both")
    if test_features is not None and test_labels is None:
        raise LabelError("--test-features needs --test-labels (the test set's trusted labels)")
    if test_labels is not None and test_features is None and test_fraction is None:
        raise LabelError("--test-labels needs --test-features (a test set) or --test-fraction (held-out rows)")
    make_model(model, seed)  # a bad --model fails before any loading
    inputs = _load(labels, None, features, classes, label_col, None, feature_prefix, False)
    k = len(inputs.classes)
    clean, keep, weight = evaluate.read_clean_labels(clean_labels, inputs.labels, inputs.classes, label_col,
                                                      labels_name=labels)
    common = dict(num_classes=k, keep=keep, weight=weight, model=model, seed=seed)
    tcol = test_label_col or label_col
    if test_features is not None:
        test = _load(test_labels, None, test_features, list(inputs.classes), tcol, None, feature_prefix, False)
        cmp = evaluate.compare_on_test_set(inputs.features, inputs.labels, clean, test.features, test.labels, **common)
    elif test_fraction is not None:
        ref = None if test_labels is None else _load(test_labels, None, None, list(inputs.classes), tcol, None, None, False).labels
        cmp = evaluate.compare_on_holdout(inputs.features, inputs.labels, clean, fraction=test_fraction, reference=ref, **common)
    else:
        with report.progress(quiet) as bar:
            task = bar.add_task(f"cross-validating ({model}, original vs cleaned)", total=folds)
            cmp = evaluate.compare_cross_validated(inputs.features, inputs.labels, clean, folds=folds, **common,
                                                   progress=lambda d, t: bar.update(task, completed=d))
    _render_evaluate(quiet, cmp)
    if as_json:
        _print_json(cmp.to_dict())


# ----------------------------------------------------------------------------------- rendering


def _panel(quiet: bool, title: str, lines: list[str], style: str = "cyan"):
    from rich.panel import Panel

    from labelcli.report import console

    con = console(quiet)
    con.print(Panel("\n".join(lines), title=title, title_align="left", border_style=style, expand=False))
    return con


def _render_report(quiet, summary, issues, written, mark) -> None:
    lines = [f"{issues.num_issues:,} likely label issues in {summary.num_examples:,} examples, "
             f"{summary.num_classes} classes; health score {summary.health_score:.3f}",
             f"report written to [bold]{written[-1]}[/bold] (+ {len(written) - 1} PNG files)"]
    if mark is not None:
        lines.append(f"histogram marks the least suspect flagged score: {mark:.3g}")
    _panel(quiet, "labelcli report", lines)


def _render_fix(quiet, n, result, out, changelog) -> None:
    lines = [f"{len(result.log_index):,} decisions on {n:,} examples: {result.num_relabeled:,} relabeled, "
             f"{result.num_dropped:,} dropped, {result.num_kept:,} kept",
             f"cleaned labels written to {'stdout' if out == '-' else out}"]
    if changelog:
        lines.append(f"changelog written to {'stdout' if changelog == '-' else changelog}")
    _panel(quiet, "labelcli fix", lines)


def _render_evaluate(quiet, cmp) -> None:
    from rich.table import Table

    where = {"test set": f"a separate test set ({cmp.num_scored:,} rows)",
             "held-out fraction": f"{cmp.num_scored:,} held-out rows",
             "cross-validation": f"{cmp.folds}-fold cross-validation ({cmp.num_scored:,} rows)"}[cmp.setting]
    lines = [f"model {cmp.model}: trained on {cmp.num_train:,} rows with the original labels, "
             f"{cmp.num_train_cleaned:,} with the cleaned labels", f"scored on {where} against {cmp.reference}"]
    if not cmp.trusted_reference:
        lines.append("[yellow]noisy reference: biased against cleaning (a gain is real, a loss may be the noise);"
                     " give trusted --test-labels for an unbiased answer[/yellow]")
    con = _panel(quiet, "labelcli evaluate", lines)
    table = Table(title="Original vs cleaned labels", title_justify="left", header_style="bold")
    for c in ("metric", "original", "cleaned", "change"):
        table.add_column(c, justify="left" if c == "metric" else "right")
    diff = cmp.difference()
    for m, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("auroc", "AUROC (one-vs-rest)")):
        a, b, d = getattr(cmp.original, m), getattr(cmp.cleaned, m), diff[m]
        fmt = (lambda v: "-" if v is None else f"{v:.4f}")
        table.add_row(label, fmt(a), fmt(b), "-" if d is None else f"{d:+.4f}")
    con.print(table)
