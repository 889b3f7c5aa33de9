"""`report --features`: the outlier and near-duplicate sections of the report, with their images.

The feature checks come from labelcli.tasks.report (the same kNN graph find-issues uses); here
they are turned into sections (labelcli.render.html_features), with the images of the shown rows
read by labelcli.io. Only the features and the given labels as text are needed, so these
sections sit next to any label sections (multi-class or multi-label).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeaturePart:
    """What the feature checks add to a report: sections, headline facts, the image files read
    (the report must not overwrite them) and the JSON figures."""

    sections: list
    facts: list
    image_files: list
    doc: dict


def row_labels(ds, rows) -> list[str]:
    """The given label of each row as text (multi-label: the tags joined by ',')."""
    import numpy as np

    from labelcli.render.tables import format_tags

    rows = np.asarray(rows, dtype=np.int64)
    if ds.labels.ndim == 2:
        return [str(t) for t in format_tags(ds.labels[rows], ds.classes)]
    names = np.asarray([str(c) for c in ds.classes], dtype=object)
    return list(names[ds.labels[rows]])


def feature_part(feats, ds, *, top: int, images: str | None = None, image_col: str = "path",
                 allow_outside: bool = False) -> FeaturePart:
    """The outlier and duplicate sections for `feats` (labelcli.core.featurecheck.FeatureIssues):
    the `top` most outlying rows and the closest pairs, with image strips when `images` is given."""
    import numpy as np

    from labelcli import io
    from labelcli.render import html_features as hf, plots

    skip = ds.skip
    out_rows = hf.most_outlying(feats, top, skip)
    a, b = feats.duplicates.pairs[:, 0], feats.duplicates.pairs[:, 1]
    differ = ds.labels[a] != ds.labels[b]
    differ = differ.any(axis=1) if differ.ndim == 2 else differ  # (multi-label: any tag)
    picked = hf.closest_pairs(feats, top, skip, differ)
    pair_rows = feats.duplicates.pairs[picked].reshape(-1)
    out_text, pair_flat = row_labels(ds, out_rows), row_labels(ds, pair_rows)
    pair_text = list(zip(pair_flat[0::2], pair_flat[1::2]))
    outliers_png = pairs_png = None
    files: list = []
    n = len(ds.labels)
    if images is not None and len(out_rows):
        read = io.read_gallery_images(images, image_col, out_rows, n, allow_outside=allow_outside)
        files += list(read.paths)
        flagged = int(np.count_nonzero(feats.outliers.is_outlier[out_rows]))
        outliers_png = plots.gallery(plots.for_display(read), hf.outlier_captions(out_rows, out_text, feats),
                                     title=f"The {len(out_rows)} most outlying examples (most outlying first;"
                                           f" {flagged} flagged, marked *)")
    if images is not None and len(pair_rows):
        read = io.read_gallery_images(images, image_col, pair_rows, n, allow_outside=allow_outside)
        files += list(read.paths)
        pairs_png = plots.image_pairs(plots.for_display(read), hf.pair_captions(picked, pair_text, feats),
                                      title=f"The {len(picked)} closest near-duplicate pairs (closest first)")
    sections = [hf.outlier_section(feats, out_rows, out_text, gallery_png=outliers_png),
                hf.duplicate_section(feats, picked, pair_text, pairs_png=pairs_png)]
    doc = feats.to_dict(ds.classes)
    doc["most_outlying"] = [{"index": int(i), "outlier_score": float(feats.outliers.scores[i]),
                             "is_outlier": bool(feats.outliers.is_outlier[i])} for i in out_rows]
    doc["closest_pairs"] = [{"index_a": int(feats.duplicates.pairs[p, 0]), "index_b": int(feats.duplicates.pairs[p, 1]),
                             "distance": float(feats.duplicates.pair_distance[p])} for p in picked]
    return FeaturePart(sections, hf.feature_facts(feats), files, doc)
