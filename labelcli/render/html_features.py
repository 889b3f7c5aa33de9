"""The report's feature-space sections (`report --features`): the most outlying examples and the
closest near-duplicate pairs, as tables with their images when the report has images, and the
headline figures. Built from the feature checks find-issues computes (labelcli.core.featurecheck,
one kNN graph); they need only the features and one text per row for the given label, so they
compose with any label section (multi-class or multi-label).
"""
from __future__ import annotations

import numpy as np

from labelcli.render.html import Figure, Paragraph, Section, Table

OUTLIERS_PNG, DUPLICATES_PNG = "outliers.png", "duplicates.png"
REPORT_FILES = (OUTLIERS_PNG, DUPLICATES_PNG)  # the files these sections may add to a report
MAX_PAIRS = 16  # duplicate pairs shown at most, whatever --top says


def most_outlying(feats, top: int, skip=None) -> np.ndarray:
    """The `top` rows with the lowest outlier scores (most outlying first; ties: lower row first),
    rows in ``skip`` (dropped by an earlier fix) left out."""
    rows = np.arange(len(feats.outliers.scores)) if skip is None else np.flatnonzero(~skip)
    order = np.argsort(feats.outliers.scores[rows], kind="stable")
    return rows[order[:top]].astype(np.int64)


def closest_pairs(feats, top: int, skip=None, differ=None) -> np.ndarray:
    """Positions in ``feats.duplicates.pairs`` of the `top` closest near-duplicate pairs, pairs with
    a row in ``skip`` left out. Ties (e.g. exact copies, distance 0): pairs whose labels differ
    (``differ``, one bool per pair) first, then row order."""
    dup = feats.duplicates
    keep = np.arange(len(dup.pairs))
    if skip is not None and len(keep):
        keep = keep[~(skip[dup.pairs[:, 0]] | skip[dup.pairs[:, 1]])]
    same = np.ones(len(keep), dtype=bool) if differ is None else ~np.asarray(differ, dtype=bool)[keep]
    order = np.lexsort((keep, same, dup.pair_distance[keep]))
    return keep[order[:min(top, MAX_PAIRS)]].astype(np.int64)


def outlier_captions(rows, label_text, feats) -> list[str]:
    """Gallery captions: #index, given label, outlier score; flagged outliers marked *."""
    from labelcli.render.plots import short_name

    o = feats.outliers
    return [f"{'*' if o.is_outlier[i] else ''}#{i}\ngiven: {short_name(t, 12)}\noutlier {o.scores[i]:.2g}"
            for i, t in zip(rows, label_text)]


def pair_captions(picked, pair_text, feats) -> list[str]:
    """Captions for the pair strip, two per pair (a then b): pair number, #index, given label."""
    from labelcli.render.plots import short_name

    dup = feats.duplicates
    out = []
    for n, (p, (ta, tb)) in enumerate(zip(picked, pair_text), start=1):
        a, b = dup.pairs[p]
        out.append(f"pair {n}\n#{a}\ngiven: {short_name(ta, 12)}")
        out.append(f"d {dup.pair_distance[p]:.2g}\n#{b}\ngiven: {short_name(tb, 12)}")
    return out


def outlier_section(feats, rows, label_text, *, gallery_png: bytes | None = None) -> Section:
    """The most outlying examples: mean distance to their k nearest neighbours, largest first."""
    o, g = feats.outliers, feats.graph
    n_out = int(np.count_nonzero(o.is_outlier))
    blocks: list = [Paragraph(
        f"{n_out:,} of {feats.num_examples:,} examples ({feats.outlier_rate:.1%}) are flagged as outliers (outlier"
        f" score below {o.threshold:.3g}); the {len(rows)} most outlying are listed. Outlier score ="
        f" exp(-mean distance to the {g.k} nearest neighbours ({g.metric}) / its median): lower = more outlying.")]
    if gallery_png is not None:
        blocks.append(Figure(OUTLIERS_PNG, gallery_png, "the most outlying examples",
                             "Most outlying first; each caption: #index, given label, outlier score; * = flagged."))
    if len(rows):
        cells = tuple((str(r + 1), str(i), str(t), f"{o.scores[i]:.3g}", f"{o.mean_distance[i]:.3g}",
                       "yes" if o.is_outlier[i] else "no") for r, (i, t) in enumerate(zip(rows, label_text)))
        blocks.append(Table(("rank", "index", "given label", "outlier score", "mean kNN distance", "flagged"), cells,
                            (True, True, False, True, True, False)))
    return Section("outliers", "Outliers", tuple(blocks))


def duplicate_section(feats, picked, pair_text, *, pairs_png: bytes | None = None) -> Section:
    """The closest near-duplicate pairs (distance within the radius), closest first."""
    dup = feats.duplicates
    n_conf = 0 if dup.conflicting is None else int(np.count_nonzero(dup.conflicting))
    blocks: list = [Paragraph(
        f"{dup.num_sets:,} near-duplicate sets hold {int(np.count_nonzero(feats.in_duplicate_set)):,} examples"
        f" (duplicate rate {feats.duplicate_rate:.1%}); {n_conf:,} sets mix different labels, so at least one"
        f" label in each is wrong. Pairs are neighbours within {dup.radius:.3g} ({feats.graph.metric} distance);"
        + (f" the {len(picked)} closest are listed." if len(picked) else " none were found."))]
    if pairs_png is not None:
        blocks.append(Figure(DUPLICATES_PNG, pairs_png, "the closest near-duplicate pairs",
                             "Each pair side by side (a, then b), closest first; d = distance."))
    if len(picked):
        cells = []
        for n, (p, (ta, tb)) in enumerate(zip(picked, pair_text), start=1):
            a, b = dup.pairs[p]
            cells.append((str(n), str(a), str(b), str(ta), str(tb), f"{dup.pair_distance[p]:.3g}",
                          str(int(dup.set_id[a])), "no" if ta == tb else "yes"))
        blocks.append(Table(("pair", "index a", "index b", "given a", "given b", "distance", "set", "labels differ"),
                            tuple(cells), (True, True, True, False, False, True, True, False)))
    return Section("duplicates", "Near duplicates", tuple(blocks))


def feature_facts(feats) -> list[tuple[str, str]]:
    """Headline boxes: outliers and near duplicates."""
    dup = feats.duplicates
    n_conf = 0 if dup.conflicting is None else int(np.count_nonzero(dup.conflicting))
    return [
        ("outliers", f"{int(np.count_nonzero(feats.outliers.is_outlier)):,} ({feats.outlier_rate:.1%})"),
        ("near-duplicate sets", f"{dup.num_sets:,} ({n_conf:,} with different labels)"),
    ]
