"""The review report: one self-contained HTML file (figures embedded as base64 PNG), built from a
list of sections, plus the same PNGs as files next to it (report_files; labelcli.io writes them).

A report is a title, a few headline facts and a list of `Section`s, each a list of blocks
(`Paragraph`, `Figure`, `Table`). `label_issue_sections` builds the sections for multi-class label
issues; other analyses (outliers, near duplicates, multi-label) add their own sections to the list.
All text is escaped; nothing is fetched from the network when the file is opened.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import numpy as np

INDEX = "index.html"
# Every file a report may write (the input check refuses a folder where one would overwrite an input).
REPORT_FILES = (INDEX, "gallery.png", "noise_per_class.png", "noise_matrix.png", "class_pairs.png",
                "score_histogram.png", "history.png", "noise_per_tag.png", "tag_pairs.png")


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Figure:
    filename: str  # written next to index.html, e.g. "noise_per_class.png"
    png: bytes
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]  # cells already formatted as text
    numeric: tuple[bool, ...] = ()  # right-align these columns
    caption: str = ""


@dataclass(frozen=True)
class Section:
    anchor: str  # the HTML id, e.g. "issues"
    title: str
    blocks: tuple = field(default_factory=tuple)


def figures(sections) -> list[Figure]:
    """Every figure of the report, in order (what to write as PNG files)."""
    return [b for s in sections for b in s.blocks if isinstance(b, Figure)]


# ---------------------------------------------------------------------------------------- render

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.facts{display:flex;flex-wrap:wrap;gap:.6em;margin:1em 0}.fact{background:#f4f4f6;border-radius:6px;padding:.5em .9em}
.fact b{display:block;font-size:1.3em}nav a{margin-right:1em}figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.92em}table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{border-bottom:1px solid #e3e3e3;padding:.25em .7em;text-align:left}th{background:#f4f4f6}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;color:#555;padding:.3em 0}
footer{color:#888;font-size:.85em;margin-top:3em}
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _block(b) -> str:
    if isinstance(b, Paragraph):
        return f"<p>{_esc(b.text)}</p>"
    if isinstance(b, Figure):
        data = base64.b64encode(b.png).decode("ascii")
        cap = f"<figcaption>{_esc(b.caption)}</figcaption>" if b.caption else ""
        return f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(b.alt)}">{cap}</figure>'
    if isinstance(b, Table):
        num = b.numeric or (False,) * len(b.columns)
        cls = [' class="num"' if n else "" for n in num]
        head = "".join(f"<th{c}>{_esc(h)}</th>" for c, h in zip(cls, b.columns))
        body = "".join("<tr>" + "".join(f"<td{c}>{_esc(v)}</td>" for c, v in zip(cls, row)) + "</tr>"
                       for row in b.rows)
        cap = f"<caption>{_esc(b.caption)}</caption>" if b.caption else ""
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    raise TypeError(f"unknown report block {type(b).__name__}")


def render(title: str, facts, sections, *, footer: str = "") -> str:
    """The whole HTML document. facts: (label, value) pairs shown as headline boxes."""
    nav = " ".join(f'<a href="#{_esc(s.anchor)}">{_esc(s.title)}</a>' for s in sections)
    boxes = "".join(f'<div class="fact"><b>{_esc(v)}</b>{_esc(k)}</div>' for k, v in facts)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>", f'<div class="facts">{boxes}</div>', f"<nav>{nav}</nav>",
    ]
    for s in sections:
        parts.append(f'<section id="{_esc(s.anchor)}"><h2>{_esc(s.title)}</h2>')
        parts.extend(_block(b) for b in s.blocks)
        parts.append("</section>")
    if footer:
        parts.append(f"<footer>{_esc(footer)}</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------------------- files


def report_files(document: str, sections) -> dict[str, bytes]:
    """The report's files, name -> bytes: every figure as a PNG, then index.html (last, for
    labelcli.io.write_folder: the page appears only once the figures it names are complete)."""
    files = {fig.filename: fig.png for fig in figures(sections)}
    files[INDEX] = document.encode("utf-8")
    return files


# ------------------------------------------------------------------------ label issue sections


def _num(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return format(v, fmt)


def _prob(v: float) -> str:
    return f"{v:.1e}" if 0 < v < 0.001 else f"{v:.3f}"


def label_issue_sections(summary, issues, labels, pred_probs, *, top: int, gallery_png: bytes | None = None,
                         gallery_note: str = "") -> tuple[list[Section], float | None]:
    """Sections for multi-class label issues: top issues (table, gallery), per-class noise, the
    noise matrix, overlapping class pairs and the score distribution. Returns (sections, mark):
    mark is the score marked on the histogram (the least suspect flagged example)."""
    from labelcli.render import plots, tables

    names = list(summary.class_names)
    rows = issues.ranking[:top]
    issue_rows = tuple(
        (str(r + 1), str(i), names[labels[i]], names[issues.predicted[i]], _num(float(issues.scores[i]), ".3g"),
         _prob(float(pred_probs[i, labels[i]])), _prob(float(pred_probs[i, issues.predicted[i]])))
        for r, i in enumerate(rows)
    )
    top_blocks = [
        Paragraph(f"{issues.num_issues:,} of {summary.num_examples:,} examples are flagged "
                  f"(filter {issues.filter_by}); the {len(rows)} most suspect are listed, ranked by "
                  f"{issues.rank_by} (lower = more suspect). 'index' is the 0-based row in your data."),
    ]
    if gallery_png is not None:
        top_blocks.append(Figure("gallery.png", gallery_png, "gallery of the most suspect examples",
                                 gallery_note or "Most suspect first; each caption: #index, given label, "
                                 "suggested label, label score."))
    if issue_rows:
        top_blocks.append(Table(("rank", "index", "given label", "suggested label", "score", "p(given)",
                                 "p(suggested)"), issue_rows, (True, True, False, False, True, True, True)))
    top_blocks.append(Paragraph("To act on these: write them with 'labelcli find-issues --out review.csv', add "
                                "columns action (relabel|drop|keep) and new_label, then run 'labelcli fix "
                                "--decisions review.csv'."))

    cls = tables.health_class_table(summary)
    class_rows = tuple(
        (str(r["class"]), f"{int(r['examples']):,}", f"{int(r['estimated_issues']):,}", f"{r['noise_rate']:.1%}",
         f"{r['inverse_noise_rate']:.1%}", _num(float(r["mean_label_score"]), ".3f"))
        for r in cls.to_dict(orient="records")
    )
    noise_blocks = [
        Figure("noise_per_class.png", plots.noise_per_class(names, summary.class_noise_rate, summary.class_issues,
                                                            summary.class_examples),
               "estimated noise per class", "Noise: estimated share of the examples given a label whose true "
               "label is another class (from the confident joint)."),
        Table(("class", "examples", "est. issues", "noise", "inverse noise", "mean score"), class_rows,
              (False, True, True, True, True, True), "Classes, noisiest first. Inverse noise: share of a "
              "class's true examples that carry another label."
              + (f" Note: {summary.issues_note()}." if summary.issues_note() else "")),
    ]
    matrix_blocks = [Figure("noise_matrix.png", plots.noise_matrix(names, summary.joint, summary.num_examples),
                            "estimated joint of given and true labels",
                            "Row = given label, column = estimated true label; off-diagonal cells estimate how "
                            "many examples carry the row's label but belong to the column's class.")]
    pairs = tables.health_pairs_table(summary)
    pair_blocks: list = []
    if len(pairs):
        pair_blocks.append(Figure("class_pairs.png", plots.class_pairs(pairs["class_a"], pairs["class_b"],
                                                                        pairs["num_overlapping"]),
                                  "most overlapping class pairs",
                                  "Pairs a / b ranked by the estimated examples labeled a that are b, plus b that "
                                  "are a. Large overlaps suggest unclear guidelines or classes to merge."))
    else:
        pair_blocks.append(Paragraph("No overlapping class pairs."))
    hist, mark = plots.score_histogram(issues.scores, issues.mask, rank_by=issues.rank_by)
    marked = "no example is flagged" if mark is None else \
        f"the dashed line marks the score of the least suspect flagged example ({mark:.3g})"
    score_blocks = [Figure("score_histogram.png", hist, "label quality score histogram",
                           f"Flagged examples in red; {marked}. The filter uses the estimated noise per class "
                           "pair, not a score cut-off, so some unflagged examples may score lower.")]
    sections = [
        Section("issues", "Most suspect examples", tuple(top_blocks)),
        Section("classes", "Noise per class", tuple(noise_blocks)),
        Section("matrix", "Noise matrix", tuple(matrix_blocks)),
        Section("pairs", "Overlapping classes", tuple(pair_blocks)),
        Section("scores", "Score distribution", tuple(score_blocks)),
    ]
    return sections, mark


def label_issue_facts(summary, issues) -> list[tuple[str, str]]:
    return [
        ("examples", f"{summary.num_examples:,}"),
        ("classes", f"{summary.num_classes}"),
        ("label health score", f"{summary.health_score:.3f}"),
        ("estimated noise rate", f"{summary.noise_rate:.2%} ({summary.num_issues:,} estimated issues)"),
        ("flagged label issues", f"{issues.num_issues:,}"),
    ]


def history_section(png: bytes, rounds: int) -> Section:
    """`report --history`: the cleaned model's metrics after each round of `evaluate --history`."""
    return Section("history", "Cleaning rounds", (Figure(
        "history.png", png, "metric per cleaning round",
        f"Accuracy, macro-F1 and AUROC of the model trained on the cleaned labels after each of the {rounds}"
        " rounds, as 'evaluate --history' recorded them (each round scored against the reference it names)."),))
