"""Result tables: core results as pandas DataFrames, in the column contracts of DESIGN.md.

Every table keeps `index`, the example's 0-based row in the input, so it joins back to the data.
"""
from __future__ import annotations

import numpy as np


def _names(classes, idx: np.ndarray):
    """The class names of idx, as the column pandas makes of them: built with Arrow when pandas
    keeps strings in Arrow (its default since 3.0), not as one Python str per row."""
    import pandas as pd

    if len(classes) and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes):
        return np.asarray(classes, dtype=np.int64)[idx]  # integer labels stay integers (see label_values)
    dtype = pd.Series(np.array([""], dtype=object)).dtype  # what pandas makes of str values
    arrow = isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    if arrow and len(idx) and all(isinstance(c, str) for c in classes):  # (no rows: object dtype)
        import pyarrow as pa
        import pyarrow.compute as pc

        names = pa.array(list(classes), type=pa.large_string())
        return pd.arrays.ArrowStringArray(pc.take(names, pa.array(np.asarray(idx, dtype=np.int64))), dtype=dtype)
    return np.asarray(classes, dtype=object)[idx]


def review_rows(labels: np.ndarray, *, exclude=None, class_index: int | None = None) -> np.ndarray:
    """Rows still to review: not in ``exclude`` (row indices already reviewed) and, with
    ``class_index``, given that class (multi-label: carrying that tag). A boolean mask."""
    keep = np.ones(len(labels), dtype=bool)
    if exclude is not None:
        keep[np.asarray(exclude, dtype=np.int64)] = False
    if class_index is not None:
        keep &= labels[:, class_index] if labels.ndim == 2 else labels == class_index
    return keep


def flagged_in(issues, only: np.ndarray) -> int:
    """How many flagged examples fall in the row mask ``only`` (left to review)."""
    return int(np.count_nonzero(issues.mask & only))


def listing_order(issues, include_all: bool = False) -> np.ndarray:
    """The rows an issues listing shows, in order: the flagged rows as ranked; with include_all the
    others after them, lowest score first (ties: lower row first)."""
    rows = issues.ranking
    if include_all:
        rest = np.flatnonzero(~issues.mask)
        rows = np.concatenate([rows, rest[np.argsort(issues.scores[rest], kind="stable")]])
    return rows


def issues_table(issues, labels: np.ndarray, classes, *, include_all: bool = False, top: int | None = None,
                 sep: str = ",", only: np.ndarray | None = None):
    """Ranked issues, most suspect first; with include_all every row (flagged rows first).

    Multi-label (``labels`` an N x K matrix): tags are written as names joined by ``sep``, and
    ``suspect_tags`` names the tags that look wrong ('+tag' probably missing, '-tag' probably extra).
    ``only``: a row mask (see review_rows); other rows are left out, before ``top`` applies.
    """
    import pandas as pd

    rows = listing_order(issues, include_all)
    if only is not None:
        rows = rows[only[rows]]
    if top is not None:
        rows = rows[:top]
    if labels.ndim == 2:
        return pd.DataFrame(
            {
                "index": rows.astype(np.int64),
                "given_labels": format_tags(labels[rows], classes, sep),
                "predicted_labels": format_tags(issues.predicted[rows], classes, sep),
                "suspect_tags": format_changes(issues.suggest_add[rows], issues.suggest_remove[rows], classes),
                "label_score": issues.scores[rows],
                "is_label_issue": issues.mask[rows],
            }
        )
    return pd.DataFrame(
        {
            "index": rows.astype(np.int64),
            "given_label": _names(classes, labels[rows]),
            "predicted_label": _names(classes, issues.predicted[rows]),
            "label_score": issues.scores[rows],
            "is_label_issue": issues.mask[rows],
        }
    )


def found_issues_table(found, labels: np.ndarray, classes, *, include_all: bool = False, top: int | None = None,
                       sep: str = ",", only: np.ndarray | None = None):
    """The find-issues table of a tasks.IssuesResult: label issues, plus the feature-space columns
    when features were checked (combined_issues_table)."""
    if found.features is not None:
        return combined_issues_table(found.issues, found.features, labels, classes, include_all=include_all,
                                     top=top, sep=sep, only=only)
    return issues_table(found.issues, labels, classes, include_all=include_all, top=top, sep=sep, only=only)


def review_scope(exclude, only_class: str | None, skipped: int = 0) -> str | None:
    """What a review listing is limited to, in words (None: everything); ``exclude``: a path or
    a list of paths (--exclude, repeatable); ``skipped``: rows dropped in an earlier `fix`."""
    paths = [exclude] if isinstance(exclude, str) else list(exclude or [])
    parts = ([f"class {only_class}"] if only_class else []) + ([f"not in {' + '.join(paths)}"] if paths else [])
    parts += [f"{skipped:,} rows skipped (keep=false in the labels file)"] if skipped else []
    return ", ".join(parts) or None


def found_issues_json(found, table, ds, *, top: int | None, only: np.ndarray | None) -> dict:
    """The --format json summary of find-issues."""
    issues = found.issues
    return {"num_examples": ds.num_examples, "num_issues": issues.num_issues,
            "filter_by": found.filter_by, "rank_by": found.rank_by,
            **({"aggregation": found.aggregation} if found.aggregation is not None else {}),
            "cv_accuracy": found.predictions.cv_accuracy,
            "remaining_to_review": None if only is None else flagged_in(issues, only),
            "num_skipped": ds.num_skipped,
            "issues": records(table[table["is_label_issue"]].head(top or 20)),
            **({"features": found.features.to_dict(ds.classes)} if found.features is not None else {})}


def health_document(summary, feats, classes) -> dict:
    """The health JSON document: the summary, and the feature checks when features were given."""
    doc = summary.to_dict()
    if feats is not None:
        doc["features"] = feats.to_dict(classes)
    return doc


def class_issue_counts(issues, labels: np.ndarray, classes):
    """Per given class: examples, flagged issues and their share, most affected first.

    Multi-label: per tag, the examples carrying it, and how many of them look wrong for that tag
    (probably missing, probably extra)."""
    import pandas as pd

    k = len(classes)
    if labels.ndim == 2:
        missing = issues.suggest_add.sum(axis=0)
        extra = issues.suggest_remove.sum(axis=0)
        df = pd.DataFrame({"tag": list(classes), "examples": labels.sum(axis=0), "flagged": missing + extra,
                           "missing": missing, "extra": extra})
        return df.sort_values("flagged", ascending=False, kind="stable").reset_index(drop=True)
    examples = np.bincount(labels, minlength=k)
    flagged = np.bincount(labels[issues.mask], minlength=k)
    share = np.divide(flagged, examples, out=np.zeros(k), where=examples > 0)
    df = pd.DataFrame({"class": list(classes), "examples": examples, "flagged": flagged, "share": share})
    return df.sort_values(["flagged", "share"], ascending=False, kind="stable").reset_index(drop=True)


def label_values(classes, label_kind: str, multi_label: bool = False):
    """The values a table writes for the classes: integer labels (a labels file of numbers whose
    class names are those numbers) stay integers; names stay names (multi-label: tag names)."""
    if not multi_label and label_kind == "int" and all(str(c).lstrip("-").isdigit() for c in classes):
        return tuple(int(c) for c in classes)
    return tuple(classes)


TAG_COLUMNS = ("given_labels", "predicted_labels", "labels", "original_labels")


def for_file(table, path: str | None, multi_label: bool, sep: str = ","):
    """The table as written to ``path``: in Parquet, multi-label tag columns are list columns
    (a list of tag names per row); other formats keep the names joined by ``sep``."""
    from labelcli.io.formats import kind

    if not multi_label or path is None or path == "-" or kind(path) != "parquet":
        return table
    cols = {c: [[] if not isinstance(v, str) or not v else v.split(sep) for v in table[c].tolist()]
            for c in TAG_COLUMNS if c in table.columns}
    return table.assign(**cols)


def scores_table(scores: np.ndarray, labels: np.ndarray, predicted: np.ndarray, classes, *, sep: str = ","):
    """One row per example in input order (multi-label: tags joined by ``sep``)."""
    import pandas as pd

    if labels.ndim == 2:
        return pd.DataFrame(
            {
                "index": np.arange(len(labels), dtype=np.int64),
                "given_labels": format_tags(labels, classes, sep),
                "predicted_labels": format_tags(predicted, classes, sep),
                "label_score": scores,
            }
        )
    return pd.DataFrame(
        {
            "index": np.arange(len(labels), dtype=np.int64),
            "given_label": _names(classes, labels),
            "predicted_label": _names(classes, predicted),
            "label_score": scores,
        }
    )


def health_class_table(summary):
    """Per-class health, worst label quality first (multi-label: per tag, noisiest first)."""
    import pandas as pd

    if hasattr(summary, "tags"):
        t, order = summary.tags, summary.tag_order
        return pd.DataFrame(
            {
                "tag": np.asarray(summary.class_names, dtype=object)[order],
                "examples": t.examples_with_tag[order],
                "estimated_issues": t.estimated_issues[order],
                "missing": t.missing[order],
                "extra": t.extraneous[order],
                "noise_rate": t.noise_rate[order],
                "mean_label_score": t.mean_score[order],
            }
        )

    df = pd.DataFrame(
        {
            "class": list(summary.class_names),
            "examples": summary.class_examples,
            "estimated_issues": summary.class_issues,
            "noise_rate": summary.class_noise_rate,
            "inverse_noise_rate": summary.class_inverse_noise_rate,
            "mean_label_score": summary.class_mean_score,
        }
    )
    return df.sort_values("noise_rate", ascending=False, kind="stable").reset_index(drop=True)


def health_pairs_table(summary):
    import pandas as pd

    names = np.asarray(summary.class_names, dtype=object)
    if hasattr(summary, "tags"):
        return pd.DataFrame(
            {
                "tag_a": names[summary.pair_a],
                "tag_b": names[summary.pair_b],
                "a_instead_of_b": summary.pair_a_to_b,
                "b_instead_of_a": summary.pair_b_to_a,
                "inconsistent": summary.pair_inconsistent,
                "examples": summary.pair_count,
            }
        )
    return pd.DataFrame(
        {
            "class_a": names[summary.pair_a],
            "class_b": names[summary.pair_b],
            "joint_probability": summary.pair_joint,
            "num_overlapping": summary.pair_count,
        }
    )


def records(df) -> list[dict]:
    """JSON-ready records (numpy scalars to Python, NaN to None)."""
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: _py(v) for k, v in row.items()})
    return out


def _py(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


# ------------------------------------------------------------------------- feature-space checks


def combined_issues_table(issues, feats, labels: np.ndarray, classes, *, include_all: bool = False,
                          top: int | None = None, sep: str = ",", only: np.ndarray | None = None):
    """Label issues plus the feature-space ones, one row per example.

    ``issue_type`` lists every check that flags the row (label, conflicting_duplicate, outlier,
    near_duplicate). Rows come grouped by their first type: label issues by label score, duplicate
    sets together (lowest set first), outliers by outlier score; ``top`` applies within each
    group, so a short listing still shows every kind of issue.
    """
    from labelcli.core.featurecheck import ISSUE_TYPES

    base = issues_table(issues, labels, classes, include_all=True, sep=sep)
    rows = base["index"].to_numpy()
    conflicting = feats.conflicting[rows]
    kinds = np.stack([issues.mask[rows], conflicting, feats.outliers.is_outlier[rows],
                      feats.in_duplicate_set[rows] & ~conflicting], axis=1)
    flagged = kinds.any(axis=1)
    primary = np.where(flagged, kinds.argmax(axis=1), len(ISSUE_TYPES))
    set_id = feats.duplicates.set_id[rows]
    position = np.arange(len(rows), dtype=np.float64)  # label-score rank (flagged first)
    secondary = np.select([primary == 1, primary == 2, primary == 3],
                          [set_id, feats.outliers.scores[rows], set_id], position)
    order = np.lexsort((position, secondary, primary))
    keep = np.ones(len(rows), dtype=bool) if include_all else flagged
    if only is not None:
        keep &= only[rows]
    order = order[keep[order]]
    if top is not None:
        group = primary[order]
        starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
        first = np.repeat(starts, np.diff(np.r_[starts, len(group)]))
        order = order[np.arange(len(order)) - first < top]
    table = base.iloc[order].reset_index(drop=True)
    ids = set_id[order]
    return table.assign(
        issue_type=_join(kinds[order], np.asarray(ISSUE_TYPES, dtype=object), ",", None),  # no issue: null
        outlier_score=feats.outliers.scores[rows[order]],
        is_outlier=feats.outliers.is_outlier[rows[order]],
        duplicate_set=_nullable(ids),
    )


def _nullable(ids: np.ndarray):
    import pandas as pd

    return pd.arrays.IntegerArray(np.where(ids >= 0, ids, 0).astype(np.int64), ids < 0)  # -1 -> missing


def issue_type_sections(table, feats, label_count: int) -> list[tuple[str, int, object]]:
    """(issue type, how many examples, its rows in the table) for the report, in type order."""
    from labelcli.core.featurecheck import ISSUE_TYPES

    counts = {
        "label": label_count,
        "conflicting_duplicate": int(np.count_nonzero(feats.conflicting)),
        "outlier": int(np.count_nonzero(feats.outliers.is_outlier)),
        "near_duplicate": int(np.count_nonzero(feats.in_duplicate_set & ~feats.conflicting)),
    }
    types = table["issue_type"].fillna("").astype(str)
    order_by = {"outlier": ["outlier_score"], "conflicting_duplicate": ["duplicate_set", "index"],
                "near_duplicate": ["duplicate_set", "index"]}
    out = []
    for kind in ISSUE_TYPES:  # four sections, not a loop over examples
        rows = table[types.str.contains(f"(?:^|,){kind}(?:,|$)").to_numpy(dtype=bool)]
        if kind in order_by:
            rows = rows.sort_values(order_by[kind], kind="stable")
        out.append((kind, counts[kind], rows))
    return out


def importance_table(order: np.ndarray, importance: np.ndarray, labels: np.ndarray, classes,
                     predicted: np.ndarray | None = None):
    """A review list: rows in the given order with their importance (high = look first)."""
    import pandas as pd

    df = pd.DataFrame({"index": order.astype(np.int64), "given_label": _names(classes, labels[order])})
    if predicted is not None:
        df["predicted_label"] = _names(classes, predicted[order])
    df["importance"] = importance[order]
    df["review_rank"] = np.arange(1, len(order) + 1)
    return df


def argmax_rows(pred_probs: np.ndarray) -> np.ndarray:
    """The most probable class of each row."""
    return pred_probs.argmax(axis=1)


def confused_pairs_table(pairs, classes):
    """Class pairs a model confuses most (both directions), for choosing a class to review."""
    import pandas as pd

    names = np.asarray(classes, dtype=object)
    return pd.DataFrame({"class_a": names[pairs.pair_a], "class_b": names[pairs.pair_b],
                         "confused": pairs.counts, "rate": pairs.rates})


# -------------------------------------------------------------------------------- tags as text


def format_tags(matrix: np.ndarray, classes, sep: str = ",") -> np.ndarray:
    """Each row's tags as one string of class names joined by ``sep`` (empty when no tag)."""
    return _join(matrix, np.asarray(classes, dtype=object), sep, "")


def format_changes(add: np.ndarray, remove: np.ndarray, classes) -> np.ndarray:
    """Each row's suspect tags as '+added -removed' (names), e.g. '+wearing_hat -no_beard'."""
    names = np.asarray(classes, dtype=object)
    plus = _join(add, np.array(["+" + str(c) for c in names], dtype=object), " ", "")
    minus = _join(remove, np.array(["-" + str(c) for c in names], dtype=object), " ", "")
    both = np.array([(a + " " + b).strip() for a, b in zip(plus, minus)], dtype=object)
    return both


def _join(matrix: np.ndarray, names: np.ndarray, sep: str, empty: str) -> np.ndarray:
    # Group the (row, column) pairs of the True cells by row, then join each row's names once.
    rows, cols = np.nonzero(matrix)
    out = np.full(matrix.shape[0], empty, dtype=object)
    if rows.size:
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        ends = np.r_[starts[1:], rows.size]
        pieces = names[cols]
        out[rows[starts]] = [sep.join(pieces[a:b]) for a, b in zip(starts, ends)]
    return out
