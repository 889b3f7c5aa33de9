"""The human report: rich tables and panels on stderr. Renders what it is given; never computes."""
from __future__ import annotations

import contextlib
import sys


def console(quiet: bool = False):
    """The rich console of the report: stderr (stdout stays clean for pipes), silent with --quiet."""
    from labelcli.render.safe import safe_console

    return safe_console(stderr=True, quiet=quiet, highlight=False)  # control characters escaped


def progress(quiet: bool = False):
    """A progress bar on stderr, silent with --quiet or when stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(quiet),
        disable=quiet or not sys.stderr.isatty(),
        transient=True,
    )


@contextlib.contextmanager
def steps(quiet: bool, name: str | None = None):
    """Progress of a task, one bar per step (a pass over a file read in chunks, the folds of a
    cross-validation, a kNN search); yields the callback the tasks take, tick(step, done, total).
    name: what the steps read (a file), shown after each step's name."""
    with progress(quiet) as bar:
        tasks: dict = {}

        def tick(step: str, done: int, total: int | None) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step if name is None else f"{step} ({name})", total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield tick


def _fmt(value) -> str:
    if value is None or type(value).__name__ == "NAType":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:.1e}" if 0 < abs(value) < 0.001 else f"{value:.3f}"
    return str(value)


# Short headers so the tables fit an 80-column terminal; the files keep the full column names.
HEADERS = {
    "given_label": "given",
    "predicted_label": "suggested",
    "given_labels": "given tags",
    "predicted_labels": "suggested tags",
    "suspect_tags": "suspect",
    "label_score": "score",
    "estimated_issues": "issues",
    "noise_rate": "noise",
    "inverse_noise_rate": "inv. noise",
    "mean_label_score": "mean score",
    "joint_probability": "joint p",
    "num_overlapping": "examples",
    "a_instead_of_b": "a->b",
    "issue_type": "issues",
    "outlier_score": "outlier score",
    "duplicate_set": "set",
    "b_instead_of_a": "b->a",
}


def _table(df, title: str, *, limit: int | None = None, pct: tuple = ()):
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for col in df.columns:
        numeric = df[col].dtype.kind in "iuf"
        table.add_column(HEADERS.get(col, col), justify="right" if numeric else "left")
    shown = df if limit is None else df.head(limit)
    for row in shown.itertuples(index=False):
        table.add_row(*[f"{v:.1%}" if c in pct else _fmt(v) for c, v in zip(df.columns, row)])
    if limit is not None and len(df) > limit:
        table.caption = f"{limit} of {len(df)} rows shown"
    return table


def _headline(con, title: str, lines: list[str], style: str = "cyan") -> None:
    from rich.panel import Panel

    con.print(Panel("\n".join(lines), title=title, title_align="left", border_style=style, expand=False))


def find_issues(con, *, num_examples, num_classes, num_issues, filter_by, rank_by, top_df, class_df,
                out=None, cv_accuracy=None, show: int = 20, remaining=None, scope=None, batch: bool = False) -> None:
    share = num_issues / num_examples if num_examples else 0.0
    multi = "suspect_tags" in top_df.columns
    top_df = top_df.drop(columns=[c for c in FEATURE_COLUMNS if c in top_df.columns])
    lines = [
        f"[bold]{num_issues:,}[/bold] likely label issues in {num_examples:,} examples"
        f" ({share:.1%}), {num_classes} {'tags (multi-label)' if multi else 'classes'}",
        f"filter: {filter_by}   ranked by: {rank_by} (lower score = more suspect)",
    ]
    if batch:  # a review batch: N rows, flagged or not
        flagged = int(top_df["flagged"].sum())
        lines.append(f"review batch ({scope}): [bold]{len(top_df):,}[/bold] rows, the most suspect first;"
                     f" {flagged:,} of them flagged ({remaining:,} flagged left in scope)")
    elif remaining is not None:
        lines.append(f"[bold]{remaining:,}[/bold] left to review ({scope}); the table lists those")
    if cv_accuracy is not None:
        lines.append(f"pred_probs from cross-validation, accuracy {cv_accuracy:.1%}")
    if out:
        lines.append(f"table written to {out}")
    _headline(con, "labelcli find-issues", lines, "red" if num_issues else "green")
    if multi:  # the suggested tag set is in the file; the terminal shows what to change
        top_df = top_df.drop(columns=["predicted_labels"])
    if len(top_df):
        title = "Most suspect examples (+tag probably missing, -tag probably extra)" if multi \
            else "Most suspect examples (given -> suggested)"
        con.print(_table(top_df, title, limit=show))
    con.print(_table(class_df, "Tags that look wrong most often" if multi else "Issues by given class",
                     limit=20, pct=("share",)))


def found_issues(con, found, table, ds, *, top=None, only=None, scope=None, out=None, batch: bool = False) -> None:
    """The find-issues report of a tasks.IssuesResult and its table (and the feature sections);
    ``batch``: the table is a review batch (flagged or not; a 'flagged' column says which)."""
    from labelcli.render import tables

    issues = found.issues
    shown = table.rename(columns={"is_label_issue": "flagged"}) if batch else \
        table[table["is_label_issue"]].drop(columns="is_label_issue")
    find_issues(con, num_examples=ds.num_examples, num_classes=ds.num_classes, num_issues=issues.num_issues,
                filter_by=found.filter_by, rank_by=found.ranked_by, batch=batch,
                top_df=shown,
                class_df=tables.class_issue_counts(issues, ds.labels, ds.classes), out=out,
                cv_accuracy=found.predictions.cv_accuracy, show=min(top or 20, 50),
                remaining=None if only is None else tables.flagged_in(issues, only), scope=scope)
    if found.features is not None:
        feature_issues(con, found.features.to_dict(ds.classes),
                       tables.issue_type_sections(table, found.features, issues.num_issues), show=min(top or 10, 50))


FEATURE_COLUMNS = ("issue_type", "outlier_score", "is_outlier", "duplicate_set")
SECTION_TITLES = {
    "label": "label issues",
    "conflicting_duplicate": "near duplicates whose labels disagree (label issues too)",
    "outlier": "outliers (far from their nearest neighbours)",
    "near_duplicate": "near duplicates (same content, same label)",
}


def feature_issues(con, doc: dict, sections, *, show: int = 10) -> None:
    """One section per feature-space issue type: how many, and the worst examples."""
    lines = [
        f"{doc['k']} nearest neighbours ({doc['metric']}): [bold]{doc['num_outliers']:,}[/bold] outliers"
        f" ({doc['outlier_rate']:.1%}), [bold]{doc['num_duplicate_sets']:,}[/bold] near-duplicate sets"
        f" holding {doc['num_in_duplicate_sets']:,} examples (duplicate rate {doc['duplicate_rate']:.1%}),"
        f" {doc['num_in_conflicting_sets']:,} in sets whose labels disagree",
    ]
    bal = doc.get("class_balance")
    if bal is not None:
        ratio = bal["largest_to_smallest"]
        lines.append(f"class balance: rarest class {bal['rarest_class']}, largest/smallest "
                     f"{'inf' if ratio is None else f'{ratio:.1f}'}x"
                     + (f"; [bold red]imbalanced[/bold red]: {', '.join(bal['imbalanced_classes'])}" if bal["imbalanced"] else "")
                     + (f"; underpopulated: {', '.join(bal['underpopulated_classes'])}" if bal["underpopulated_classes"] else ""))
    _headline(con, "feature-space checks", lines, "red" if doc["num_outliers"] or doc["num_in_conflicting_sets"] else "green")
    for kind, count, rows in sections:
        if kind == "label" or not count:
            continue
        cols = [c for c in rows.columns if c not in ("is_label_issue", "is_outlier", "predicted_labels")]
        if kind != "outlier":
            cols = [c for c in cols if c != "outlier_score"]
        con.print(_table(rows[cols], f"{count:,} {SECTION_TITLES[kind]}", limit=show))


def importance(con, table, pairs, *, scope=None, out=None, show: int = 20) -> None:
    where = f" in class {scope}" if scope else ""
    lines = [f"review list: the {len(table):,} most important examples{where} (high importance = look first)",
             "importance = how much the example can weigh in a logistic regression's loss (mean 1)"]
    if out:
        lines.append(f"list written to {out}")
    _headline(con, "labelcli score --method importance", lines)
    con.print(_table(table, "Review next", limit=show))
    if pairs is not None and len(pairs):
        con.print(_table(pairs, "Classes the model confuses most (a class to review first)", limit=5, pct=("rate",)))
    elif pairs is None and scope is None:
        con.print("[dim]pass --pred-probs to see which classes the model confuses most[/dim]")


def scores(con, *, num_examples, method, lowest_df, out=None, show: int = 10) -> None:
    lines = [f"label quality scores for {num_examples:,} examples (method: {method})"]
    if out:
        lines.append(f"scores written to {out}")
    _headline(con, "labelcli score", lines)
    con.print(_table(lowest_df, "Lowest scores", limit=show))


def health(con, summary, class_df, pairs_df, *, fail_above=None, out=None, show: int = 20) -> None:
    style = "green" if fail_above is None or summary.noise_rate <= fail_above else "red"
    lines = [
        f"label health score [bold]{summary.health_score:.3f}[/bold]",
        f"estimated noise rate {summary.noise_rate:.2%} "
        f"({summary.num_issues:,} of {summary.num_examples:,} examples, {summary.num_classes} "
        f"{'tags, multi-label' if hasattr(summary, 'tags') else 'classes'})",
    ]
    if fail_above is not None:
        verdict = "FAIL" if summary.noise_rate > fail_above else "pass"
        lines.append(f"gate --fail-above {fail_above:g}: {verdict}")
    if out:
        lines.append(f"summary written to {out}")
    _headline(con, "labelcli health", lines, style)
    multi = "tag" in class_df.columns
    con.print(_table(class_df, "Tags, noisiest first" if multi else "Classes, noisiest first", limit=show,
                     pct=("noise_rate", "inverse_noise_rate")))
    note = getattr(summary, "issues_note", None)
    if note is not None and note() is not None:
        con.print(f"note: {note()}", style="dim", soft_wrap=True, markup=False)
    if len(pairs_df):
        title = "Tag pairs most often confused or co-assigned inconsistently" if multi \
            else "Most overlapping class pairs (consider merging or clarifying)"
        con.print(_table(pairs_df, title, limit=10))


def benchmark(con, metrics: dict, flagged_by: str, *, out=None, plot=None) -> None:
    def f(x):
        return "n/a" if x is None or x != x else f"{x:.3f}"

    lines = [
        f"{metrics['n_errors']:,} true errors in {metrics['n_examples']:,} examples;"
        f" {metrics['n_flagged']:,} flagged ({flagged_by})",
        f"precision {f(metrics['precision'])}  recall {f(metrics['recall'])}  F1 {f(metrics['f1'])}",
        f"AP {f(metrics['ap'])}  AP@T {f(metrics['ap_at_t'])}  recall@{metrics['k']:,} {f(metrics['recall_at_k'])}",
    ]
    lines += [f"metrics written to {out}"] if out and out != "-" else []
    lines += [f"precision-recall curve written to {plot}"] if plot else []
    _headline(con, "labelcli benchmark", lines)


def crossval(con, *, model, folds, accuracy, fold_accuracies, out) -> None:
    per_fold = ", ".join(f"{a:.1%}" for a in fold_accuracies)
    _headline(
        con,
        "labelcli crossval",
        [
            f"model {model}, {folds}-fold stratified cross-validation",
            f"out-of-sample accuracy [bold]{accuracy:.1%}[/bold] (folds: {per_fold})",
            f"pred_probs written to {out}",
        ],
    )


def gate_failed(message: str) -> None:
    """The reason a quality gate tripped; printed even with --quiet (it explains exit code 1)."""
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[bold red]Gate failed:[/bold red] {message}")


def note(con, message: str) -> None:
    """A one-line remark on stderr (e.g. why the task was detected as multi-label)."""
    con.print(f"[dim]note: {message}[/dim]", soft_wrap=True)


def pred_probs_source(con, predictions, saved: str | None = None) -> None:
    """One line on where the pred_probs came from (cross-validated: the accuracy) and where they were
    saved (--save-pred-probs); nothing when they were given and not saved."""
    parts = [] if predictions is None or predictions.cv_accuracy is None else \
        [f"pred_probs cross-validated from --features, accuracy {predictions.cv_accuracy:.1%}"]
    if saved is not None:
        parts.append(f"pred_probs saved to {'stdout' if saved == '-' else saved}")
    if parts:
        note(con, "; ".join(parts))


def warning(con, message: str) -> None:
    """A one-line warning on stderr, shown even with --quiet (the result may be wrong)."""
    con.print(f"warning: {message}", soft_wrap=True, markup=False, style="yellow")


# --------------------------------------------------------------------------------- review loop


def report_written(con, summary, issues, written, mark) -> None:
    """What `report` wrote: the issues found and the report's files."""
    lines = [f"{issues.num_issues:,} likely label issues in {summary.num_examples:,} examples, "
             f"{summary.num_classes} classes; health score {summary.health_score:.3f}",
             f"report written to [bold]{written[-1]}[/bold] (+ {len(written) - 1} PNG files)"]
    if hasattr(summary, "tags"):  # multi-label: the noisiest tags and tag pair, as in the report
        lines[0] = lines[0].replace(" classes;", " tags;")
        lines += tag_lines(summary)
    if mark is not None:
        lines.append(f"histogram marks the least suspect flagged score: {mark:.3g}")
    _headline(con, "labelcli report", lines)


def tag_lines(summary, show: int = 3) -> list[str]:
    """Multi-label health in two lines: the noisiest tags and the tag pair most often confused."""
    names, t = summary.class_names, summary.tags
    noisy = ", ".join(f"{names[c]} {t.noise_rate[c]:.2%} ({int(t.estimated_issues[c])})"
                      for c in summary.tag_order[:show])
    lines = [f"noisiest tags (estimated wrong annotations): {noisy}"]
    if len(summary.pair_count):
        a, b = names[summary.pair_a[0]], names[summary.pair_b[0]]
        lines.append(f"tag pair most often confused: {a} / {b} ({int(summary.pair_count[0])} flagged examples)")
    return lines


def fix_summary(con, n, result, out, changelog) -> None:
    """What `fix` did: the decisions applied and where the cleaned labels went."""
    lines = [f"{len(result.log_index):,} decisions on {n:,} examples: {result.num_relabeled:,} relabeled, "
             f"{result.num_dropped:,} dropped, {result.num_kept:,} kept",
             f"cleaned labels written to {'stdout' if out == '-' else out}"]
    if changelog:
        lines.append(f"changelog written to {'stdout' if changelog == '-' else changelog}")
    _headline(con, "labelcli fix", lines)


def evaluation(con, cmp) -> None:
    """`evaluate`: the setting, and original vs cleaned labels metric by metric."""
    from rich.table import Table

    where = {"test set": f"a separate test set ({cmp.num_scored:,} rows)",
             "held-out fraction": f"{cmp.num_scored:,} held-out rows",
             "cross-validation": f"{cmp.folds}-fold cross-validation ({cmp.num_scored:,} rows)"}[cmp.setting]
    lines = [f"scores measured against {cmp.reference}, on {where}",
             f"model {cmp.model}: trained on {cmp.num_train:,} rows with the original labels, "
             f"{cmp.num_train_cleaned:,} with the cleaned labels"]
    if not cmp.trusted_reference:
        lines.append("[yellow]noisy reference: biased against cleaning (a gain is real, a loss may be the noise);"
                     " give trusted --test-labels for an unbiased answer[/yellow]")
    _headline(con, "labelcli evaluate", lines)
    table = Table(title="Original vs cleaned labels", title_justify="left", header_style="bold")
    for c in ("metric", "original", "cleaned", "change"):
        table.add_column(c, justify="left" if c == "metric" else "right")
    diff = cmp.difference()
    fmt = (lambda v: "-" if v is None else f"{v:.4f}")
    for m, label in EVALUATION_ROWS["multi-label" if hasattr(cmp, "class_names") else "multi-class"]:
        a, b, d = getattr(cmp.original, m), getattr(cmp.cleaned, m), diff[m]
        table.add_row(label, fmt(a), fmt(b), "-" if d is None else f"{d:+.4f}")
    for c, name in enumerate(getattr(cmp, "class_names", ())):  # multi-label: AP of each tag
        a, b = cmp.original.ap_per_tag[c], cmp.cleaned.ap_per_tag[c]
        table.add_row(f"AP {name}", fmt(a), fmt(b), "-" if a is None or b is None else f"{b - a:+.4f}")
    con.print(table)


EVALUATION_ROWS = {  # (metric, shown as) of labelcli.ml.evaluate.Scores and labelcli.ml.evaluate_tags.TagScores
    "multi-class": (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("auroc", "AUROC (one-vs-rest)")),
    "multi-label": (("accuracy", "subset accuracy"), ("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"),
                    ("micro_ap", "AP (micro)"), ("macro_ap", "AP (macro over tags)"), ("auroc", "AUROC (macro over tags)")),
}
