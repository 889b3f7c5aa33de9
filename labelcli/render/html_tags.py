"""The review report's sections for multi-label (tag) data: the most suspect examples with their
given, suggested and suspect tags (table and gallery captions), the estimated noise per tag and
the tag pairs most often swapped or missing together. The figures are the health command's
(labelcli.core.multilabel.MultiLabelHealth: per-tag one-vs-rest confident learning), so the
report, `health` and `report --format json` say the same numbers."""
from __future__ import annotations

import numpy as np

from labelcli.render.html import Figure, Paragraph, Section, Table


def _p(v: float) -> str:
    return f"{v:.1e}" if 0 < v < 0.001 else f"{v:.2f}"


def suspect_with_probs(add_row, remove_row, probs_row, classes) -> str:
    """One example's suspect tags with the model's probability of each, e.g. '+prime 0.93 -even 0.04'."""
    return " ".join([f"+{classes[j]} {_p(float(probs_row[j]))}" for j in np.flatnonzero(add_row)]
                    + [f"-{classes[j]} {_p(float(probs_row[j]))}" for j in np.flatnonzero(remove_row)])


def tag_gallery_captions(rows, labels, issues, classes) -> list[str]:
    """Gallery captions: #index, given tags, suspect tags (+ probably missing, - probably extra), score."""
    from labelcli.render.plots import short_name
    from labelcli.render.tables import format_changes, format_tags

    given = format_tags(labels[rows], classes, ",")
    suspect = format_changes(issues.suggest_add[rows], issues.suggest_remove[rows], classes)
    return [f"{'*' if issues.mask[i] else ''}#{i}\ngiven: {short_name(g or '(none)', 16)}"
            f"\n{short_name(s or 'no suspect tag', 22)}\nscore {issues.scores[i]:.2g}{' flagged' if issues.mask[i] else ''}"
            for i, g, s in zip(rows, given, suspect)]


def _top_blocks(summary, issues, labels, pred_probs, top: int, gallery_png) -> list:
    from labelcli.render.tables import format_changes, format_tags

    names = list(summary.class_names)
    rows = issues.ranking[:top]
    given, sugg = format_tags(labels[rows], names, ", "), format_tags(issues.predicted[rows], names, ", ")
    suspect = [suspect_with_probs(issues.suggest_add[i], issues.suggest_remove[i], pred_probs[i], names) for i in rows]
    changes = format_changes(issues.suggest_add[rows], issues.suggest_remove[rows], names)
    table_rows = tuple((str(r + 1), str(i), g or "(none)", s or "(none)", c, f"{float(issues.scores[i]):.3g}", p)
                       for r, (i, g, s, c, p) in enumerate(zip(rows, given, sugg, changes, suspect)))
    blocks: list = [Paragraph(
        f"{issues.num_issues:,} of {summary.num_examples:,} examples have at least one suspect tag (filter "
        f"{issues.filter_by}, one-vs-rest per tag); the {len(rows)} most suspect are listed, ranked by "
        f"{issues.method} aggregated with {issues.aggregation} (lower = more suspect). Suspect tags: "
        "+tag probably missing, -tag probably extra. 'index' is the 0-based row in your data.")]
    if gallery_png is not None:
        blocks.append(Figure("gallery.png", gallery_png, "gallery of the most suspect examples",
                             "Most suspect first; each caption: #index, given tags, suspect tags, label score."))
    if table_rows:
        blocks.append(Table(("rank", "index", "given tags", "suggested tags", "suspect tags", "score",
                             "p(suspect tags)"), table_rows, (True, True, False, False, False, True, False)))
    blocks.append(Paragraph("To act on these: write them with 'labelcli find-issues --out review.csv', add columns "
                            "action (relabel|drop|keep) and new_label (the new tag set, joined by --label-sep; "
                            "empty = no tags), then run 'labelcli fix --decisions review.csv'."))
    return blocks


def _tag_blocks(summary) -> list:
    from labelcli.render import plots
    from labelcli.render.tables import health_class_table

    names, t, n = list(summary.class_names), summary.tags, summary.num_examples
    table = health_class_table(summary)
    rows = tuple((str(r["tag"]), f"{int(r['examples']):,}", f"{int(r['estimated_issues']):,}", f"{int(r['missing']):,}",
                  f"{int(r['extra']):,}", f"{r['noise_rate']:.2%}", f"{r['mean_label_score']:.3f}")
                 for r in table.to_dict(orient="records"))
    png = plots.noise_per_class(names, t.noise_rate, t.estimated_issues, np.full(len(names), n),
                                xlabel="estimated noise: % of all examples whose annotation of this tag is wrong",
                                title="Estimated label noise per tag", unit="tags")
    return [
        Figure("noise_per_tag.png", png, "estimated noise per tag",
               "Per tag, the annotations estimated wrong (missing + extra) out of all examples, from the tag's "
               "one-vs-rest confident joint (tag present / absent, given vs estimated true)."),
        Table(("tag", "examples with tag", "est. wrong", "missing", "extra", "noise", "mean score"), rows,
              (False, True, True, True, True, True, True),
              "Tags, noisiest first. Missing: the tag is absent but probably applies; extra: the tag is given "
              "but probably does not apply."),
    ]


def _pair_blocks(summary) -> list:
    from labelcli.render import plots
    from labelcli.render.tables import health_pairs_table

    pairs = health_pairs_table(summary)
    if not len(pairs):
        return [Paragraph("No tag pairs are involved in the suspect examples together.")]
    rows = tuple((str(r["tag_a"]), str(r["tag_b"]), f"{int(r['a_instead_of_b']):,}", f"{int(r['b_instead_of_a']):,}",
                  f"{int(r['inconsistent']):,}", f"{int(r['examples']):,}")
                 for r in pairs.to_dict(orient="records"))
    png = plots.class_pairs(pairs["tag_a"], pairs["tag_b"], pairs["examples"],
                            xlabel="flagged examples where the pair's tags are swapped or missing / extra together",
                            title="Tag pairs most often confused")
    return [
        Figure("tag_pairs.png", png, "tag pairs most often confused",
               "Over the flagged examples: how often the pair is swapped (one tag suggested removed, the other "
               "added) or its co-assignment changes (both present in one of the given and suggested tag sets "
               "but not the other)."),
        Table(("tag a", "tag b", "a given instead of b", "b given instead of a", "together changed", "total"),
              rows, (False, False, True, True, True, True),
              "Pairs with the most issues first. 'a given instead of b': a suggested removed and b added."),
    ]


def tag_issue_sections(summary, issues, labels, pred_probs, *, top: int,
                       gallery_png: bytes | None = None) -> tuple[list[Section], float | None]:
    """Sections for multi-label issues (MultiLabelHealth ``summary``, MultiLabelIssues ``issues``):
    suspect examples, noise per tag, tag pairs, score distribution. Returns (sections, mark) as
    labelcli.render.html.label_issue_sections does."""
    from labelcli.render import plots

    hist, mark = plots.score_histogram(issues.scores, issues.mask, rank_by=f"{issues.method}, {issues.aggregation}")
    marked = "no example is flagged" if mark is None else \
        f"the dashed line marks the score of the least suspect flagged example ({mark:.3g})"
    score_blocks = (Figure("score_histogram.png", hist, "label quality score histogram",
                           f"Flagged examples in red; {marked}. Examples are flagged tag by tag (one-vs-rest), "
                           "not by a score cut-off, so some unflagged examples may score lower."),)
    sections = [
        Section("issues", "Most suspect examples", tuple(_top_blocks(summary, issues, labels, pred_probs, top,
                                                                     gallery_png))),
        Section("tags", "Noise per tag", tuple(_tag_blocks(summary))),
        Section("pairs", "Tag pairs", tuple(_pair_blocks(summary))),
        Section("scores", "Score distribution", score_blocks),
    ]
    return sections, mark


def tag_issue_facts(summary, issues) -> list[tuple[str, str]]:
    return [
        ("examples", f"{summary.num_examples:,}"),
        ("tags", f"{summary.num_classes}"),
        ("label health score", f"{summary.health_score:.3f}"),
        ("estimated noise rate", f"{summary.noise_rate:.2%} ({summary.num_issues:,} examples with a wrong tag)"),
        ("suspect tag annotations", f"{summary.num_tag_issues:,}"),
        ("flagged examples", f"{issues.num_issues:,}"),
    ]


def tag_report_json(summary) -> dict:
    """`report --format json` on multi-label data: the per-tag noise and tag pairs shown in the report."""
    doc = summary.to_dict()
    return {"task": "multi-label", "estimated_num_tag_issues": doc["estimated_num_tag_issues"],
            "per_tag": [{k: r[k] for k in ("tag", "examples_with_tag", "estimated_issues", "missing", "extraneous",
                                           "noise_rate")} for r in doc["per_tag"]],
            "tag_pairs": doc["tag_pairs"]}
