"""The review loop on the command line: `report` (HTML with plots and an image gallery), `fix`
(apply review decisions or an automatic policy) and `evaluate` (did cleaning help?).

Registered on the app by labelcli.cli.app; the shared options and first checks come from
labelcli.cli.options. Files are read and written by labelcli.io, shown by labelcli.render; heavy
libraries are imported inside the commands.
"""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from labelcli.cli.options import (
    Classes, Compat, Debug, FeaturePrefix, Folds, Format, LabelCol, Labels, LabelSep, Model, Normalize, PredProbs,
    ProbPrefix,
    Quiet, Seed, check_format, choice, detection, load, print_json,
    DupThreshold, Features, K, Metric, OutlierThreshold, SavePredProbs, cv_accuracy, steps_for,
)
from labelcli.cli.report_features import feature_part
from labelcli.errors import LabelError

GALLERY_MAX = 128  # thumbnails at most, whatever --top says


# ------------------------------------------------------------------------------------- report


def report_cmd(
    labels: Labels,
    out: Annotated[str, typer.Option("--out", "-o", help="Report folder (created if missing; its parent must exist).")],
    pred_probs: PredProbs = None,
    features: Annotated[Optional[str], typer.Option("--features", "-x", help="Features / embeddings, N x D: adds outlier and near-duplicate sections (with --images, their images); cross-validated into pred_probs when --pred-probs is absent.")] = None,
    images: Annotated[Optional[str], typer.Option("--images", help="N x H x W (x C) .npy images, or a table with a column of image file paths (--image-col).")] = None,
    image_col: Annotated[str, typer.Option("--image-col", help="Column of image file paths in the --images table (relative paths: from the table's folder).")] = "path",
    allow_outside_images: Annotated[bool, typer.Option("--allow-outside-images", help="Let the --images table name image files outside its own folder (refused by default).")] = False,
    top: Annotated[int, typer.Option("--top", help="Most suspect examples in the table and the gallery (the gallery: flagged or not, flagged ones marked *); with --features also the most outlying examples and the closest duplicate pairs (at most 16).")] = 32,
    history: Annotated[Optional[str], typer.Option("--history", help="An 'evaluate --history' CSV: adds a plot of accuracy, macro-F1 and AUROC per cleaning round.")] = None,
    filter_by: Annotated[Optional[str], typer.Option("--filter-by", help="Filter used to flag issues (see find-issues; default low_posterior).", show_default=False)] = None,
    rank_by: Annotated[Optional[str], typer.Option("--rank-by", help="Label quality score used to rank them (default posterior).", show_default=False)] = None,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    normalize: Normalize = False, compat: Compat = None, label_sep: LabelSep = ",", quiet: Quiet = False,
    format: Format = "text", debug: Debug = False, model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    feature_prefix: FeaturePrefix = None, k: K = 10, metric: Metric = "cosine", dup_threshold: DupThreshold = None,
    outlier_threshold: OutlierThreshold = None, save_pred_probs: SavePredProbs = None,
) -> None:
    """HTML report of the label issues: noise per class, noise matrix, score histogram, class pairs, top issues (+ image gallery); with --features also outliers and near duplicates.
    Multi-label: suspect tags per example, noise per tag and the tag pairs most often confused."""
    from labelcli import io, tasks
    from labelcli.render import html, html_features, html_tags, plots, terminal

    as_json = check_format(format, None)
    how = detection(filter_by, rank_by, compat, None, 0.8, 0.1)
    if top < 1:
        raise LabelError(f"--top must be at least 1, got {top}")
    plots.require_matplotlib()  # fail now, not after the work
    srcs = [labels, pred_probs, features, images]
    io.check_output_folder(out, srcs, names=html.REPORT_FILES + html_features.REPORT_FILES)
    io.check_pred_probs_source(pred_probs, features, save_pred_probs, inputs=srcs, stdout_taken=as_json)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize, quiet, None,
              label_sep)
    with steps_for(ds, quiet) as tick:
        result = tasks.report(ds, how, tick, crossval=tasks.CrossValidation(model, folds, seed),
                              features=tasks.FeatureChecks(k, metric, dup_threshold, outlier_threshold))
    summary, issues = result.summary, result.issues
    filter_by, rank_by = issues.filter_by, issues.rank_by  # as resolved
    if ds.skip is not None:  # a `fix` output as labels: rows it dropped are not listed again
        from dataclasses import replace

        import numpy as np

        counted = {"num_issues": int(np.count_nonzero(issues.mask & ~ds.skip))} if ds.multi_label else {}  # a field
        issues = replace(issues, mask=issues.mask & ~ds.skip, ranking=issues.ranking[~ds.skip[issues.ranking]],
                         **counted)
    gallery, image_files = None, []
    shown = most_suspect_rows(issues, ds.skip)[: min(top, GALLERY_MAX)]  # flagged or not: the caption says
    if images is not None and len(shown):
        read = io.read_gallery_images(images, image_col, shown, len(ds.labels), allow_outside=allow_outside_images)
        image_files = list(read.paths)
        thumbs = plots.for_display(read)
        flagged = int(issues.mask[shown].sum())
        captions = html_tags.tag_gallery_captions if ds.multi_label else gallery_captions
        gallery = plots.gallery(thumbs, captions(shown, ds.labels, issues, ds.classes),
                                title=f"The {len(shown)} most suspect examples (most suspect first;"
                                      f" {flagged} flagged, marked *)")
    sections, mark = (html_tags.tag_issue_sections if ds.multi_label else html.label_issue_sections)(
        summary, issues, ds.labels, result.predictions.array, top=top, gallery_png=gallery)
    facts = (html_tags.tag_issue_facts if ds.multi_label else html.label_issue_facts)(summary, issues)
    feats = None if result.features is None else feature_part(  # --features: outliers, near duplicates (+ images)
        result.features, ds, top=min(top, GALLERY_MAX), images=images, image_col=image_col, allow_outside=allow_outside_images)
    if feats is not None:
        sections, facts, image_files = sections + feats.sections, facts + feats.facts, image_files + feats.image_files
    if history is not None:
        sections.append(_history_section(history))
    source = pred_probs or f"cross-validated from {features} ({model}, {folds} folds, seed {seed})"
    doc = html.render(f"labelcli report: {os.path.basename(os.path.abspath(labels))}", facts, sections,
                      footer=f"labels: {labels}; pred_probs: {source}; filter {filter_by}, rank {rank_by}")
    with io.all_or_nothing():  # the report and the saved pred_probs, both or neither
        if save_pred_probs is not None:
            io.write_pred_probs(result.predictions.array, save_pred_probs, ds.classes, inputs=[*srcs, *image_files])
        written = io.write_folder(out, html.report_files(doc, sections), inputs=[*srcs, *image_files])  # figures, then index.html
    terminal.report_written(terminal.console(quiet), summary, issues, written, mark)
    terminal.pred_probs_source(terminal.console(quiet), result.predictions, save_pred_probs)
    if as_json:
        print_json({"out": out, "files": written, "num_examples": summary.num_examples,
                    "num_issues": issues.num_issues, "health_score": summary.health_score,
                    "estimated_noise_rate": summary.noise_rate, "marked_score": mark,
                    **cv_accuracy(result.predictions),
                    **({"features": feats.doc} if feats is not None else {}),
                    **(html_tags.tag_report_json(summary) if ds.multi_label else {})})


def _history_section(path: str):
    from labelcli import io
    from labelcli.ml.evaluate import HISTORY_COLUMNS
    from labelcli.render import html, plots

    t = io.read_table(path)
    if not hasattr(t, "columns") or not set(HISTORY_COLUMNS[:6]) <= set(t.columns) or not len(t):
        raise LabelError(f"{path}: not an evaluate --history file (columns {', '.join(HISTORY_COLUMNS)})")
    metrics = {m: t[m].astype(float).to_numpy() for m in ("accuracy", "macro_f1", "auroc")}
    return html.history_section(plots.metric_per_round(t["round"].to_numpy(), metrics), len(t))


def most_suspect_rows(issues, skip):
    """Every row, flagged ones first (in rank order), then the rest by score; skipped rows left out."""
    import numpy as np

    rest = np.flatnonzero(~issues.mask if skip is None else ~issues.mask & ~skip)
    return np.concatenate([issues.ranking, rest[np.argsort(issues.scores[rest], kind="stable")]]).astype(np.int64)


def gallery_captions(rows, labels, issues, classes) -> list[str]:
    from labelcli.render.plots import short_name

    return [f"{'*' if issues.mask[i] else ''}#{i}\ngiven: {short_name(classes[labels[i]], 12)}"
            f"\nsugg.: {short_name(classes[issues.predicted[i]], 12)}"
            f"\nscore {issues.scores[i]:.2g}{' flagged' if issues.mask[i] else ''}" for i in rows]


# ---------------------------------------------------------------------------------------- fix


def fix_cmd(
    labels: Labels,
    out: Annotated[str, typer.Option("--out", "-o", help="Cleaned labels: .csv/.parquet/.pq/.json/.jsonl table, .npy, or '-'.")],
    decisions: Annotated[Optional[str], typer.Option("--decisions", help="Review decisions: a table with columns index, action (relabel|drop|keep; blank = not reviewed yet), new_label (multi-label: the new tag set joined by --label-sep, or a JSON list; empty = no tags).")] = None,
    issues: Annotated[Optional[str], typer.Option("--issues", help="A find-issues table to act on with --auto.")] = None,
    auto: Annotated[Optional[str], typer.Option("--auto", help="With --issues: 'drop' the flagged rows, or 'relabel' them to the suggested label when confident.")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0.0, max=1.0, help="--auto relabel: minimum predicted probability of the suggested label (default 0.9).")] = None,
    fraction: Annotated[Optional[float], typer.Option("--fraction", help="With --auto: act on the lowest-scoring fraction of all examples instead of the flagged rows.")] = None,
    pred_probs: PredProbs = None,
    changelog: Annotated[Optional[str], typer.Option("--changelog", help="Write one row per decision: index, action, old_label, new_label, reason. When --labels is a fix output and this file exists, the rows are appended.")] = None,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    normalize: Normalize = False, label_sep: LabelSep = ",", quiet: Quiet = False, format: Format = "text",
    debug: Debug = False,
) -> None:
    """Apply review decisions (relabel / drop / keep) or an automatic policy; write the cleaned labels.
    On a fix output (--labels): earlier drops and original_label carry over (a review loop)."""
    from labelcli import io
    from labelcli.core import fixing
    from labelcli.render import terminal

    as_json = check_format(format, out)
    if (decisions is None) == (issues is None):
        raise LabelError("give either --decisions (a reviewed table) or --issues with --auto")
    if issues is not None and auto is None:
        raise LabelError("--issues needs --auto drop or --auto relabel")
    if decisions is not None and (auto or threshold is not None or fraction is not None):
        raise LabelError("--auto, --threshold and --fraction work with --issues, not --decisions")
    if auto is not None:
        choice(auto, fixing.AUTO_ACTIONS, "--auto")
    if threshold is not None and auto != "relabel":
        raise LabelError("--threshold is for --auto relabel (the minimum probability of the suggested label)")
    if auto == "relabel" and pred_probs is None:
        raise LabelError("--auto relabel needs --pred-probs, to check the model is confident in the suggested label")
    srcs = [labels, decisions, issues, pred_probs]
    io.check_output_path(out, srcs, allowed=tuple(dict.fromkeys(io.TABLE_OUT + (".npy",))))
    if changelog is not None:
        io.check_output_path(changelog, srcs, allowed=io.TABLE_OUT)
        if changelog == out or (out != "-" and io.same_file(changelog, out)):
            raise LabelError("--changelog and --out name the same file; give two paths")
    ds = load(labels, pred_probs, None, classes, label_col, prob_prefix, None, normalize, quiet, None, label_sep)
    if ds.multi_label:  # tags: labelcli.cli.review_tags
        from labelcli.cli.review_tags import fix_multilabel

        return fix_multilabel(ds, labels=labels, decisions=decisions, issues=issues, auto=auto, threshold=threshold,
                              fraction=fraction, out=out, changelog=changelog, srcs=srcs, sep=label_sep, quiet=quiet,
                              as_json=as_json)
    n, names = len(ds.labels), ds.classes
    if decisions is not None:
        dec = _read_decisions(decisions, ds)
    else:
        dec = _auto_decisions(issues, ds, auto, fraction, fixing.DEFAULT_THRESHOLD if threshold is None else threshold)
    result = fixing.apply_decisions(ds.labels, dec, len(names))
    prior = io.read_fix_state(labels, names) if ds.skip is not None else None
    if prior is not None:  # a second round on a fix output: earlier drops and the true original stay
        result = fixing.carry_forward(result, original=prior[0], keep=prior[1])
    as_label = _label_writer(ds.label_kind, names)
    with io.all_or_nothing():  # both files or neither (a full disk between them replaces nothing)
        _write_fixed(result, as_label, out, srcs)
        if changelog is not None:
            log = _changelog_table(result, as_label)
            before = io.earlier_changelog(changelog) if prior is not None else None
            if before is not None:  # the review loop: this round's rows after the earlier rounds'
                log = io.append_changelog(before, log, changelog)
            io.write_table(log, changelog, inputs=[s for s in srcs if s != changelog])
    terminal.fix_summary(terminal.console(quiet), n, result, out, changelog)
    if as_json:
        print_json({"num_examples": n, "num_dropped": result.num_dropped, "num_relabeled": result.num_relabeled,
                    "num_decisions": len(result.log_index), "out": out, "changelog": changelog})


def _check_given(df, path: str, ds, idx) -> None:
    """A table made from other labels is a stale table: its given_label must match the labels."""
    import numpy as np

    from labelcli.core.fixing import class_indices

    if "given_label" not in df.columns:
        return
    given = class_indices(df["given_label"].to_numpy(dtype=object), ds.classes, what="given_label",
                          where=lambda r: f"{path} row {r} (0-based)")
    bad = np.flatnonzero(given != ds.labels[idx])
    if bad.size:
        r = int(bad[0])
        raise LabelError(f"{path} row {r} (0-based): given_label '{df['given_label'].iloc[r]}' but {ds.labels_path}"
                         f" has '{ds.classes[ds.labels[idx[r]]]}' at index {idx[r]}; was it made from these labels?")


def _read_decisions(path: str, ds):
    import numpy as np

    from labelcli.core import fixing

    from labelcli.io import read_review_table

    df = read_review_table(path, "decisions", ("index", "action"))
    col = lambda c: df[c].to_numpy(dtype=object) if c in df.columns else np.full(len(df), None, dtype=object)  # noqa: E731
    idx = fixing.row_indices(col("index"), len(ds.labels), lambda r: f"{path} row {r} (0-based)")
    _check_given(df, path, ds, idx)
    return fixing.parse_decisions(col("index"), col("action"), col("new_label"), classes=ds.classes,
                                  num_examples=len(ds.labels), reason=col("reason"), name=path)


def _auto_decisions(path: str, ds, auto: str, fraction, threshold):
    import numpy as np

    from labelcli.core import fixing

    from labelcli.io import read_review_table

    df = read_review_table(path, "issues", ("index", "predicted_label", "label_score", "is_label_issue"))
    where = lambda r: f"{path} row {r} (0-based)"  # noqa: E731
    idx = fixing.row_indices(df["index"].to_numpy(dtype=object), len(ds.labels), where)
    _check_given(df, path, ds, idx)
    sugg = fixing.class_indices(df["predicted_label"].to_numpy(dtype=object), ds.classes,
                                what="predicted_label", where=where)
    if (sugg < 0).any():
        raise LabelError(f"{where(int(np.flatnonzero(sugg < 0)[0]))}: predicted_label is blank")
    flagged = fixing.bool_cells(df["is_label_issue"].to_numpy(dtype=object), what="is_label_issue", where=where)
    conf = None if ds.pred_probs is None else ds.pred_probs[idx, sugg]
    return fixing.auto_decisions(ds.labels, idx, sugg, df["label_score"].to_numpy(dtype=np.float64), flagged,
                                 action=auto, fraction=fraction, confidence=conf, threshold=threshold)


def _label_writer(label_kind: str, classes):
    """Class index -> the value written: names stay names, integer labels stay integers
    (label_kind: how the labels file wrote them, Dataset.label_kind)."""
    import numpy as np

    names = np.asarray(classes, dtype=object)
    if label_kind == "str":
        return lambda idx: names[idx]
    if all(str(c).lstrip("-").isdigit() for c in classes):  # integer labels that are class names (3, 5, 7)
        ints = np.array([int(c) for c in classes], dtype=np.int64)
        return lambda idx: ints[idx]
    return lambda idx: np.asarray(idx, dtype=np.int64)


def _write_fixed(result, as_label, out: str, srcs) -> None:
    import numpy as np

    import pandas as pd

    from labelcli import io

    if out != "-" and io.formats.kind(out) == "npy":
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
    against: Annotated[str, typer.Option("--against", help="Without --test-labels, score against: cleaned (the cleaned labels of the kept rows, default) or original (biased against cleaning).")] = "cleaned",
    history: Annotated[Optional[str], typer.Option("--history", help="Append this run (round, rows dropped/relabeled, accuracy, macro-F1, AUROC) to this CSV.")] = None,
    model: Model = "logreg", folds: Folds = 5, seed: Seed = 0, classes: Classes = None,
    label_col: LabelCol = "label", feature_prefix: FeaturePrefix = None, label_sep: LabelSep = ",",
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Train the same model on the original and the cleaned labels; compare accuracy, macro-F1, AUROC.
    Multi-label: one-vs-rest per tag; subset accuracy, micro/macro-F1, AP per tag (micro/macro), AUROC."""
    from labelcli import io
    from labelcli.ml import evaluate
    from labelcli.ml.crossval import make_model
    from labelcli.render import terminal

    as_json = check_format(format, None)
    if test_features is not None and test_fraction is not None:
        raise LabelError("give --test-features (a separate test set) or --test-fraction, not both")
    if test_features is not None and test_labels is None:
        raise LabelError("--test-features needs --test-labels (the test set's trusted labels)")
    if test_labels is not None and test_features is None and test_fraction is None:
        raise LabelError("--test-labels needs --test-features (a test set) or --test-fraction (held-out rows)")
    if against not in ("cleaned", "original"):
        raise LabelError(f"--against must be 'cleaned' or 'original', got '{against}'")
    if history is not None:
        io.check_output_path(history, [features, labels, clean_labels], allowed=(".csv",))
    make_model(model, seed)  # a bad --model fails before any loading
    ds = load(labels, None, features, classes, label_col, None, feature_prefix, False, quiet, None, label_sep)
    if ds.multi_label:  # tags: labelcli.cli.review_tags
        from labelcli.cli.review_tags import evaluate_tags

        cmp = evaluate_tags(ds, clean_labels, label_col=label_col, sep=label_sep, test_features=test_features,
                            test_labels=test_labels, test_fraction=test_fraction, test_label_col=test_label_col,
                            against=against, model=model, folds=folds, seed=seed, feature_prefix=feature_prefix,
                            quiet=quiet)
        return _evaluated(cmp, history, [features, labels, clean_labels], quiet, as_json)
    k = len(ds.classes)
    clean, keep, weight = io.read_clean_labels(clean_labels, ds.labels, ds.classes, label_col,
                                               labels_name=labels)
    common = dict(num_classes=k, keep=keep, weight=weight, model=model, seed=seed)
    tcol = test_label_col or label_col
    if test_features is not None:
        test = load(test_labels, None, test_features, list(ds.classes), tcol, None, feature_prefix, False)
        cmp = evaluate.compare_on_test_set(ds.features, ds.labels, clean, test.features, test.labels, **common)
    elif test_fraction is not None:
        ref = None if test_labels is None else load(test_labels, None, None, list(ds.classes), tcol, None, None, False).labels
        cmp = evaluate.compare_on_holdout(ds.features, ds.labels, clean, fraction=test_fraction, reference=ref,
                                          against=against, **common)
    else:
        with terminal.progress(quiet) as bar:
            task = bar.add_task(f"cross-validating ({model}, original vs cleaned)", total=folds)
            cmp = evaluate.compare_cross_validated(ds.features, ds.labels, clean, folds=folds, **common,
                                                   against=against,
                                                   progress=lambda d, t: bar.update(task, completed=d))
    _evaluated(cmp, history, [features, labels, clean_labels], quiet, as_json)


def _evaluated(cmp, history, inputs, quiet: bool, as_json: bool) -> None:
    """evaluate's output, both tasks: the --history row, the terminal table, the JSON."""
    from labelcli.render import terminal

    if history is not None:
        _append_history(history, cmp, inputs)
    terminal.evaluation(terminal.console(quiet), cmp)
    if as_json:
        print_json(cmp.to_dict())


def _append_history(path: str, cmp, inputs) -> None:
    """Append one row to the --history CSV (rewritten atomically; round = previous rows + 1)."""
    import os

    import pandas as pd

    from labelcli import io
    from labelcli.ml import evaluate

    old = io.read_table(path) if os.path.exists(path) and os.path.getsize(path) else None
    if old is not None and list(old.columns) != list(evaluate.HISTORY_COLUMNS):
        raise LabelError(f"{path}: not an evaluate --history file (columns {', '.join(evaluate.HISTORY_COLUMNS)})")
    rows = [] if old is None else old.to_dict(orient="records")
    rows.append(evaluate.history_row(cmp, len(rows) + 1))
    io.write_table(pd.DataFrame(rows, columns=list(evaluate.HISTORY_COLUMNS)), path, inputs=inputs)
