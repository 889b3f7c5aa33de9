"""Result tables: core results as pandas DataFrames, in the column contracts of DESIGN.md.

Every table keeps `index`, the example's 0-based row in the input, so it joins back to the data.
"""
from __future__ import annotations

import numpy as np


def _names(classes, idx: np.ndarray) -> np.ndarray:
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


def issues_table(issues, labels: np.ndarray, classes, *, include_all: bool = False, top: int | None = None,
                 sep: str = ",", only: np.ndarray | None = None):
    """Ranked issues, most suspect first; with include_all every row (flagged rows first).

    Multi-label (``labels`` an N x K matrix): tags are written as names joined by ``sep``, and
    ``suspect_tags`` names the tags that look wrong ('+tag' probably missing, '-tag' probably extra).
    ``only``: a row mask (see review_rows); other rows are left out, before ``top`` applies.
    """
    import pandas as pd

    rows = issues.ranking
    if include_all:
        rest = np.flatnonzero(~issues.mask)
        rest = rest[np.argsort(issues.scores[rest], kind="stable")]
        rows = np.concatenate([rows, rest])
    if only is not None:
        rows = rows[only[rows]]
    if top is not None:
        rows = rows[:top]
    if labels.ndim == 2:
        from labelcli._tags import format_changes, format_tags

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


def scores_table(scores: np.ndarray, labels: np.ndarray, predicted: np.ndarray, classes, *, sep: str = ","):
    """One row per example in input order (multi-label: tags joined by ``sep``)."""
    import pandas as pd

    if labels.ndim == 2:
        from labelcli._tags import format_tags

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
