"""Result tables: core results as pandas DataFrames, in the column contracts of DESIGN.md.

Every table keeps `index`, the example's 0-based row in the input, so it joins back to the data.
"""
from __future__ import annotations

import numpy as np


def _names(classes, idx: np.ndarray) -> np.ndarray:
    return np.asarray(classes, dtype=object)[idx]


def issues_table(issues, labels: np.ndarray, classes, *, include_all: bool = False, top: int | None = None):
    """Ranked issues, most suspect first; with include_all every row (flagged rows first)."""
    import pandas as pd

    rows = issues.ranking
    if include_all:
        rest = np.flatnonzero(~issues.mask)
        rest = rest[np.argsort(issues.scores[rest], kind="stable")]
        rows = np.concatenate([rows, rest])
    if top is not None:
        rows = rows[:top]
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
    """Per given class: examples, flagged issues and their share, most affected first."""
    import pandas as pd

    k = len(classes)
    examples = np.bincount(labels, minlength=k)
    flagged = np.bincount(labels[issues.mask], minlength=k)
    share = np.divide(flagged, examples, out=np.zeros(k), where=examples > 0)
    df = pd.DataFrame({"class": list(classes), "examples": examples, "flagged": flagged, "share": share})
    return df.sort_values(["flagged", "share"], ascending=False, kind="stable").reset_index(drop=True)


def scores_table(scores: np.ndarray, labels: np.ndarray, predicted: np.ndarray, classes):
    """One row per example in input order."""
    import pandas as pd

    return pd.DataFrame(
        {
            "index": np.arange(len(labels), dtype=np.int64),
            "given_label": _names(classes, labels),
            "predicted_label": _names(classes, predicted),
            "label_score": scores,
        }
    )


def health_class_table(summary):
    """Per-class health, worst label quality first."""
    import pandas as pd

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
