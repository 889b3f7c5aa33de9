"""The rich report (stderr) of the comparisons against an earlier run or a reference set:
`health --baseline` (what got worse) and `find-issues --reference-*` (a new batch: drift)."""
from __future__ import annotations


def _panel(con, title: str, lines: list[str], style: str) -> None:
    from rich.panel import Panel

    con.print(Panel("\n".join(lines), title=title, title_align="left", border_style=style, expand=False))


def baseline_diff(con, diff, *, gated: bool) -> None:
    """health --baseline: the overall change, what got worse (before, now, change; the ones above
    the margin marked), and the classes that appeared or vanished."""
    from rich.markup import escape
    from rich.table import Table

    o = diff.overall
    worse = {c.name for c in diff.worse}
    failed = gated and bool(worse)
    lines = [f"baseline {escape(diff.baseline)}",
             f"estimated noise rate {o.before:.2%} -> {o.now:.2%} ({o.change:+.2%})"]
    if gated:
        verdict = f"FAIL ({len(worse)} above the margin)" if failed else "pass"
        lines.append(f"gate --fail-if-worse {diff.margin:g}: {verdict}")
    plural = "classes" if diff.unit == "class" else "tags"
    if diff.appeared:
        lines.append(f"{plural} appeared (not in the baseline): {escape(', '.join(diff.appeared))}")
    if diff.vanished:
        lines.append(f"{plural} vanished (only in the baseline): {escape(', '.join(diff.vanished))}")
    _panel(con, "compared with the baseline", lines, "red" if failed else "green")
    up = diff.got_worse
    if not up:
        con.print("nothing got worse than the baseline", style="green")
        return
    table = Table(title="Got worse than the baseline", title_justify="left", header_style="bold")
    for col, justify in ((diff.unit, "left"), ("before", "right"), ("now", "right"), ("change", "right"),
                         ("over margin", "left")):
        table.add_column(col, justify=justify)
    for c in up:
        table.add_row(escape(c.name), f"{c.before:.2%}", f"{c.now:.2%}", f"{c.change:+.2%}",
                      "yes" if c.name in worse else "")
    con.print(table)


def batch_drift(con, result, classes, reference: str, limit=None) -> None:
    """find-issues with a reference: what was fitted on it, and the batch's drift (class mix, and
    outlier rate when features were given); the class shares that moved most."""
    from rich.markup import escape
    from rich.table import Table

    fit, d = result.reference, result.drift
    figures = d.figures()
    over = limit is not None and any(v > limit for v in figures.values())
    lines = [f"thresholds and noise estimate fitted on {escape(reference)} ({fit.num_examples:,} examples,"
             f" estimated noise rate {fit.noise_rate:.2%}); issues flagged in the batch only",
             f"class mix drift (total variation distance) {d.class_mix_tvd:.3f}"]
    if d.batch_outlier_rate is not None:
        lines.append(f"outliers against the reference: {d.batch_outlier_rate:.2%} of the batch"
                     f" (the reference's own: {d.reference_outlier_rate:.2%}, change {d.outlier_rate_change:+.2%})")
    if limit is not None:
        lines.append(f"gate --fail-above-drift {limit:g}: {'FAIL' if over else 'pass'}")
    _panel(con, "new batch against the reference", lines, "red" if over else "green")
    moved = sorted(range(len(classes)), key=lambda c: -abs(d.batch_shares[c] - d.reference_shares[c]))[:5]
    table = Table(title="Class shares that moved most", title_justify="left", header_style="bold")
    for col, justify in (("class", "left"), ("reference", "right"), ("batch", "right"), ("change", "right")):
        table.add_column(col, justify=justify)
    for c in moved:
        r, b = d.reference_shares[c], d.batch_shares[c]
        table.add_row(escape(str(classes[c])), f"{r:.1%}", f"{b:.1%}", f"{b - r:+.1%}")
    con.print(table)
