"""labelcli vs cleanlab on real label errors (MNIST, CIFAR-10, IMDB, 20 Newsgroups test sets).

Both tools run their default find_label_issues on the same labels and pred_probs; rows that human
reviewers confirmed as mislabeled (reviewed.csv, confirmed_error) give recall and precision.

    python bench/real_data.py                 # all four datasets, markdown table on stdout
    python bench/real_data.py mnist imdb      # a subset

Data: ../shared/data/label-errors/<dataset>/{labels.npy, pred_probs.npy, reviewed.csv}, next to
the repository (override with LABEL_ERRORS_DIR).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "cifar10", "imdb", "20news")
ROW_SUM_ATOL = 1e-3


def data_dir() -> Path:
    env = os.environ.get("LABEL_ERRORS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "label-errors"


def load(dataset: str, root: Path | None = None):
    """(labels, pred_probs, reviewed index, confirmed-error index, note) for one dataset.

    IMDB's pred_probs hold values up to 1 + 1e-5 (float32 rounding in the source); both tools
    reject values above 1 + 1e-6, so rows are renormalised to sum to 1 there (as `--normalize`
    would) and the note says so. Other datasets are used exactly as stored.
    """
    import pandas as pd

    folder = (root or data_dir()) / dataset
    labels = np.load(folder / "labels.npy")
    pred_probs = np.load(folder / "pred_probs.npy")
    note = ""
    if pred_probs.max() > 1 + 1e-6 or pred_probs.min() < -1e-6:
        sums = pred_probs.sum(axis=1, keepdims=True)
        assert np.all(np.abs(sums - 1) < ROW_SUM_ATOL), f"{dataset}: rows far from summing to 1"
        pred_probs = pred_probs / sums
        note = "rows renormalised (values > 1 in file)"
    reviewed = pd.read_csv(folder / "reviewed.csv")
    confirmed = reviewed.loc[reviewed["confirmed_error"].astype(bool), "index"].to_numpy()
    return labels, pred_probs, reviewed["index"].to_numpy(), confirmed, note


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def _set_metrics(mask: np.ndarray, reviewed: np.ndarray, confirmed: np.ndarray) -> tuple[float, float]:
    """(recall of confirmed errors, precision among reviewed rows) of a flagged mask."""
    hit = np.count_nonzero(mask[confirmed])
    reviewed_flagged = np.count_nonzero(mask[reviewed])
    recall = hit / len(confirmed) if len(confirmed) else float("nan")
    precision = hit / reviewed_flagged if reviewed_flagged else float("nan")
    return recall, precision


def _recall_at_k(lowest_k: np.ndarray, confirmed: np.ndarray) -> float:
    return np.isin(confirmed, lowest_k).mean() if len(confirmed) else float("nan")


def evaluate(dataset: str, *, root: Path | None = None, n_jobs: int | None = None) -> dict:
    """Run labelcli's and cleanlab's defaults on one dataset; counts, agreement, recall, precision.

    n_jobs is passed to cleanlab (None = its default, all cores; results do not depend on it).
    """
    import cleanlab.filter
    import cleanlab.rank

    import labelcli

    labels, pred_probs, reviewed, confirmed, note = load(dataset, root)
    k = len(reviewed)

    t0 = time.perf_counter()
    ours = labelcli.find_label_issues(labels, pred_probs)
    lc_scores = labelcli.label_quality_scores(labels, pred_probs, method="self_confidence")
    t_lc = time.perf_counter() - t0

    t0 = time.perf_counter()
    cl_mask = cleanlab.filter.find_label_issues(labels, pred_probs, n_jobs=n_jobs)
    cl_scores = cleanlab.rank.get_label_quality_scores(labels, pred_probs, method="self_confidence")
    t_cl = time.perf_counter() - t0

    lc_recall, lc_precision = _set_metrics(ours.mask, reviewed, confirmed)
    cl_recall, cl_precision = _set_metrics(cl_mask, reviewed, confirmed)
    return {
        "dataset": dataset,
        "N": len(labels),
        "K": pred_probs.shape[1],
        "reviewed": k,
        "confirmed": len(confirmed),
        "flagged_labelcli": int(ours.mask.sum()),
        "flagged_cleanlab": int(cl_mask.sum()),
        "jaccard": _jaccard(ours.mask, cl_mask),
        "recall_labelcli": lc_recall,
        "recall_cleanlab": cl_recall,
        "precision_labelcli": lc_precision,
        "precision_cleanlab": cl_precision,
        # Lowest-k self-confidence: labelcli keeps row order among equal scores; cleanlab's own
        # helper (find_top_issues) uses numpy's default sort.
        "recall_at_k_labelcli": _recall_at_k(np.argsort(lc_scores, kind="stable")[:k], confirmed),
        "recall_at_k_cleanlab": _recall_at_k(cleanlab.rank.find_top_issues(cl_scores, top=k), confirmed),
        "seconds_labelcli": t_lc,
        "seconds_cleanlab": t_cl,
        "note": note,
    }


COLUMNS = [
    ("dataset", "dataset", "{}"),
    ("N", "N", "{:,}"),
    ("K", "K", "{}"),
    ("flagged_labelcli", "flagged (labelcli)", "{:,}"),
    ("flagged_cleanlab", "flagged (cleanlab)", "{:,}"),
    ("jaccard", "Jaccard", "{:.4f}"),
    ("confirmed", "confirmed errors", "{}"),
    ("recall_labelcli", "recall (labelcli)", "{:.3f}"),
    ("recall_cleanlab", "recall (cleanlab)", "{:.3f}"),
    ("precision_labelcli", "precision@reviewed (labelcli)", "{:.3f}"),
    ("precision_cleanlab", "precision@reviewed (cleanlab)", "{:.3f}"),
    ("reviewed", "k = reviewed", "{}"),
    ("recall_at_k_labelcli", "recall@k (labelcli)", "{:.3f}"),
    ("recall_at_k_cleanlab", "recall@k (cleanlab)", "{:.3f}"),
    ("seconds_labelcli", "s (labelcli)", "{:.3f}"),
    ("seconds_cleanlab", "s (cleanlab)", "{:.3f}"),
]


def markdown_table(rows: list[dict]) -> str:
    head = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" if key == "dataset" else "---:" for key, _, _ in COLUMNS) + "|"
    body = ["| " + " | ".join(fmt.format(r[key]) for key, _, fmt in COLUMNS) + " |" for r in rows]
    notes = [f"- {r['dataset']}: {r['note']}" for r in rows if r["note"]]
    return "\n".join([head, rule, *body] + ([""] + notes if notes else []))


def main(argv: list[str]) -> int:
    names = argv or list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        print(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    if not data_dir().is_dir():
        print(f"data folder not found: {data_dir()} (set LABEL_ERRORS_DIR)", file=sys.stderr)
        return 2
    rows = [evaluate(n) for n in names]
    print(markdown_table(rows))
    print(
        "\nflagged = default find_label_issues (prune_by_noise_rate); recall = confirmed errors"
        " flagged / confirmed errors; precision@reviewed = confirmed errors flagged / reviewed rows"
        " flagged; recall@k = confirmed errors among the k lowest self-confidence scores."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
