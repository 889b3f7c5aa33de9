"""`review`: one self-contained HTML page to review the suspects in a browser (keep / drop /
relabel / skip, by keyboard), which exports the decisions CSV that `fix --decisions` takes.

The suspects are the find-issues ranking (or an existing find-issues table, --issues); the page is
made by labelcli.render.review_page and written atomically by labelcli.io. Registered by
labelcli.cli.app.
"""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from labelcli.cli.options import (
    Classes, Compat, Debug, FeaturePrefix, Features, Folds, Format, LabelCol, Labels, LabelSep, Model, MultiLabel,
    Normalize, PredProbs, ProbPrefix, Quiet, Seed, check_format, check_top, detection, load, print_json, steps_for,
)
from labelcli.errors import LabelError

PAGE_MAX = 5000  # suspects on one page at most (each may carry an image)


def review_cmd(
    labels: Labels,
    out: Annotated[str, typer.Option("--out", "-o", help="The review page to write (.html): one self-contained file, nothing fetched.")],
    pred_probs: PredProbs = None,
    features: Features = None,
    images: Annotated[Optional[str], typer.Option("--images", help="N x H x W (x C) .npy images, or a table with a column of image file paths (--image-col); shown inline.")] = None,
    image_col: Annotated[str, typer.Option("--image-col", help="Column of image file paths in the --images table (relative paths: from the table's folder).")] = "path",
    allow_outside_images: Annotated[bool, typer.Option("--allow-outside-images", help="Let the --images table name image files outside its own folder (refused by default).")] = False,
    issues: Annotated[Optional[str], typer.Option("--issues", help="Review the rows of an existing find-issues table, in its order, instead of running find-issues.")] = None,
    top: Annotated[int, typer.Option("--top", help=f"Review the N most suspect examples (at most {PAGE_MAX}).")] = 200,
    all_rows: Annotated[bool, typer.Option("--all", help="Fill the --top rows with unflagged examples too (after the flagged ones, lowest score first): a review batch on labels already cleaned, or of the borderline rows.")] = False,
    filter_by: Annotated[Optional[str], typer.Option("--filter-by", help="Filter used to flag issues (see find-issues; default low_posterior).", show_default=False)] = None,
    rank_by: Annotated[Optional[str], typer.Option("--rank-by", help="Label quality score used to rank them (default posterior).", show_default=False)] = None,
    classes: Classes = None, label_col: LabelCol = "label", prob_prefix: ProbPrefix = None,
    feature_prefix: FeaturePrefix = None, normalize: Normalize = False, multi_label: MultiLabel = None,
    label_sep: LabelSep = ",", compat: Compat = None, model: Model = "logreg", folds: Folds = 5, seed: Seed = 0,
    quiet: Quiet = False, format: Format = "text", debug: Debug = False,
) -> None:
    """Write a review page (HTML): the suspects one by one or in a grid, with the image or the row's
    fields, given vs suggested label (multi-label: suspect tags) and the score. Keys: k keep, d drop,
    r relabel (type to filter, Enter), s skip, u undo, arrows / h j move, g grid, e export. Progress is
    kept in the browser; "export decisions" downloads a CSV for `labelcli fix --decisions`."""
    from labelcli import io, tasks
    from labelcli.render import review_page, terminal

    as_json = check_format(format, out)
    how = detection(filter_by, rank_by, compat, None, 0.8, 0.1)
    check_top(top)
    if top > PAGE_MAX:
        raise LabelError(f"--top {top} is more than one page holds ({PAGE_MAX}); review in batches"
                         " (find-issues --exclude) instead")
    if all_rows and issues is not None:
        raise LabelError("--all applies to the find-issues ranking; with --issues the page shows that table's rows"
                         " (write it with find-issues --all)")
    srcs = [labels, pred_probs, features, images, issues]
    io.check_output_path(out, srcs, allowed=(".html",))
    if issues is None:
        io.check_pred_probs_source(pred_probs, features)
    ds = load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize, quiet,
              multi_label, label_sep)
    if issues is not None:
        picked = issue_table_rows(issues, ds, top, label_sep)
    else:
        with steps_for(ds, quiet) as tick:
            preds = tasks.predictions(ds, tasks.CrossValidation(model, folds, seed), tick)
            found = tasks.label_issues(ds, preds, how, tick)
        picked = ranked_rows(found, ds, top, label_sep, all_rows)
    rows = picked["rows"]
    pictures, image_files = None, []
    if images is not None and len(rows):
        from labelcli.render import plots

        read = io.read_gallery_images(images, image_col, rows, len(ds.labels), allow_outside=allow_outside_images)
        image_files = list(read.paths)
        pictures = [review_page.png_data_uri(im) for im in plots.for_display(read)]
    fields = row_fields(ds, labels, features, label_col, rows) if pictures is None else None
    items = review_page.review_items(rows, picked["given"], picked["suggested"], picked["scores"], picked["flagged"],
                                     suspect=picked.get("suspect"), fields=fields, images=pictures)
    name = os.path.basename(os.path.abspath(labels)) if labels != "-" else "stdin"
    source = f"labels: {labels}" + (f"; issues: {issues}" if issues else f"; pred_probs: {pred_probs}"
                                    if pred_probs else f"; cross-validated from {features} ({model}, {folds} folds,"
                                    f" seed {seed})")
    doc = review_page.page_document(title=f"labelcli review: {name}", classes=ds.classes, items=items,
                                    multi_label=ds.multi_label, sep=label_sep,
                                    given_column="given_labels" if ds.multi_label else "given_label", source=source)
    io.write_bytes(review_page.review_page(doc).encode("utf-8"), out, inputs=[*srcs, *image_files],
                   allowed=(".html",))
    hint = " Nothing is flagged; --all lists the lowest-scored rows anyway." if not items and issues is None else ""
    terminal.console(quiet).print(f"Wrote the review page {'to stdout' if out == '-' else out}: {len(items)} examples"
                                  f" to review ({sum(i['flagged'] for i in items)} flagged). Open it in a browser;"
                                  f" 'export decisions' gives a CSV for labelcli fix --decisions.{hint}",
                                  markup=False, highlight=False)
    if as_json:
        print_json({"out": out, "num_examples": len(ds.labels), "num_reviewed": len(items),
                    "num_flagged": sum(i["flagged"] for i in items), "key": doc["key"]})


def ranked_rows(found, ds, top: int, sep: str, all_rows: bool = False) -> dict:
    """The flagged rows, most suspect first (all_rows: then the others, lowest score first; rows an
    earlier fix dropped left out), as display strings."""
    import numpy as np

    from labelcli.render.tables import format_changes, format_tags, listing_order

    rows = listing_order(found, all_rows)
    if ds.skip is not None:
        rows = rows[~ds.skip[rows]]
    rows = np.asarray(rows[:top], dtype=np.int64)
    out = {"rows": rows, "scores": found.scores[rows], "flagged": found.mask[rows]}
    if ds.multi_label:
        out.update(given=format_tags(ds.labels[rows], ds.classes, sep),
                   suggested=format_tags(found.predicted[rows], ds.classes, sep),
                   suspect=format_changes(found.suggest_add[rows], found.suggest_remove[rows], ds.classes))
    else:
        names = np.asarray(ds.classes, dtype=object)
        out.update(given=names[ds.labels[rows]], suggested=names[found.predicted[rows]])
    return out


def issue_table_rows(path: str, ds, top: int, sep: str) -> dict:
    """The first `top` rows of a find-issues table, in its order; the given labels from --labels."""
    import numpy as np

    from labelcli import io
    from labelcli.core import fixing
    from labelcli.render.tables import format_tags

    df = io.read_review_table(path, "issues", ("index",)).head(top)
    rows = fixing.row_indices(df["index"].to_numpy(dtype=object), len(ds.labels),
                              lambda r: f"{path} row {r} (0-based)")
    col = lambda c, fill: df[c].to_numpy(dtype=object) if c in df.columns else np.full(len(df), fill, dtype=object)  # noqa: E731
    text = lambda c: np.array([undefused(v) for v in col(c, "")], dtype=object)  # noqa: E731
    try:
        scores = np.asarray(col("label_score", np.nan), dtype=np.float64)
    except (TypeError, ValueError):
        raise LabelError(f"{path}: column 'label_score' must hold numbers") from None
    flagged = np.array([str(v).strip().lower() in ("true", "1", "yes") for v in col("is_label_issue", True)])
    out = {"rows": rows, "scores": scores, "flagged": flagged}
    given_col = "given_labels" if ds.multi_label else "given_label"
    known = ("label_score", "is_label_issue", given_col, "predicted_labels" if ds.multi_label else "predicted_label")
    if not any(c in df.columns for c in known):
        raise LabelError(f"{path}: not a find-issues table (none of the columns {', '.join(known)});"
                         " give the table `labelcli find-issues --out` wrote")
    if ds.multi_label:
        out.update(given=format_tags(ds.labels[rows], ds.classes, sep), suggested=text("predicted_labels"),
                   suspect=text("suspect_tags"))
    else:
        out.update(given=np.asarray(ds.classes, dtype=object)[ds.labels[rows]], suggested=text("predicted_label"))
    if given_col in df.columns:
        check_given(path, given_col, col(given_col, ""), out["given"], rows, sep)
    return out


def check_given(path: str, column: str, cells, given, rows, sep: str) -> None:
    """The issues table's given labels must be those of --labels at its rows (else the table was made
    from other labels, and its rows would point at the wrong examples)."""
    def as_text(cell) -> str:
        if isinstance(cell, (list, tuple)) or getattr(cell, "ndim", 0) == 1:
            return sep.join(str(c) for c in cell)
        if cell is None or (isinstance(cell, float) and cell != cell):  # an empty cell (no tags)
            return ""
        return str(undefused(cell)).strip()

    def same(cell, want) -> bool:
        if column == "given_labels":  # tag sets: the order they are written in does not matter
            return {t.strip() for t in as_text(cell).split(sep) if t.strip()} == {t for t in str(want).split(sep) if t}
        return as_text(cell) == str(want)

    for j, (cell, want) in enumerate(zip(cells, given)):
        if not same(cell, want):
            raise LabelError(f"{path}: row {j} (0-based) gives {column} '{as_text(cell)}' for example {rows[j]},"
                             f" but --labels has '{want}'; was the table made from these labels?")


def undefused(cell):
    """A cell of a CSV table as written: without the apostrophe that guards a text starting like a
    spreadsheet formula ('+tag -tag' is written as "'+tag -tag")."""
    if isinstance(cell, str) and len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def row_fields(ds, labels: str, features: str | None, label_col: str, rows):
    """Per row, [[column, value], ...]: the labels table's other columns, or the features' columns."""
    import numpy as np

    from labelcli import io
    from labelcli.render.review_page import row_fields as fields_of

    if labels != "-" and io.formats.kind(labels) != "npy":
        table = io.read_table(labels)
        if hasattr(table, "columns"):
            cols = [c for c in table.columns if c not in (label_col, "index")]
            if cols:
                sub = table.iloc[np.asarray(rows, dtype=np.int64)][cols]
                return [fields_of(cols, r) for r in sub.itertuples(index=False, name=None)]
    if ds.features is not None:
        names = [f"feature {j}" for j in range(ds.features.shape[1])]
        return [fields_of(names, ds.features[i].tolist()) for i in np.asarray(rows, dtype=np.int64)]
    return None
