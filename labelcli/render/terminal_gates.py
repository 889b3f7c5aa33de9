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
