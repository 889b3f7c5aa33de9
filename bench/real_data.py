"""labelcli vs cleanlab on real label errors (MNIST, CIFAR-10, IMDB, 20 Newsgroups test sets).

Three runs on the same labels and pred_probs: labelcli's defaults, labelcli with compat="cleanlab"
(cleanlab 2.9's defaults reproduced: its flagged set must equal cleanlab's) and cleanlab 2.9's
defaults. Rows that human reviewers confirmed as mislabeled (reviewed.csv, confirmed_error) give
recall and precision of each flagged set, and recall@k of each default score.

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


RUNS = ("labelcli", "compat", "cleanlab")  # labelcli's defaults, compat="cleanlab", cleanlab 2.9
RUN_TITLES = {"labelcli": "labelcli", "compat": "labelcli --compat cleanlab", "cleanlab": "cleanlab"}


def evaluate(dataset: str, *, root: Path | None = None, n_jobs: int | None = None) -> dict:
    """Run labelcli's defaults, labelcli with compat="cleanlab" and cleanlab's defaults on one
    dataset: counts, agreement of compat with cleanlab, recall, precision and recall@k of each.

    n_jobs is passed to cleanlab (None = its default, all cores; results do not depend on it).
    """
    import cleanlab.filter
    import cleanlab.rank

    import labelcli

    labels, pred_probs, reviewed, confirmed, note = load(dataset, root)
    k = len(reviewed)
    masks, scores, seconds = {}, {}, {}

    for run, compat in (("labelcli", None), ("compat", "cleanlab")):
        t0 = time.perf_counter()
        masks[run] = labelcli.find_label_issues(labels, pred_probs, compat=compat).mask
        scores[run] = labelcli.label_quality_scores(labels, pred_probs, compat=compat)
        seconds[run] = time.perf_counter() - t0

    t0 = time.perf_counter()
    masks["cleanlab"] = cleanlab.filter.find_label_issues(labels, pred_probs, n_jobs=n_jobs)
    scores["cleanlab"] = cleanlab.rank.get_label_quality_scores(labels, pred_probs)
    seconds["cleanlab"] = time.perf_counter() - t0

    out = {
        "dataset": dataset,
        "N": len(labels),
        "K": pred_probs.shape[1],
        "reviewed": k,
        "confirmed": len(confirmed),
        # compat="cleanlab" against cleanlab: the same flagged rows expected
        "jaccard": _jaccard(masks["compat"], masks["cleanlab"]),
        "rows_differing": int(np.count_nonzero(masks["compat"] != masks["cleanlab"])),
        "note": note,
    }
    for run in RUNS:
        recall, precision = _set_metrics(masks[run], reviewed, confirmed)
        # Lowest-k scores: labelcli keeps row order among equal scores; cleanlab's own helper
        # (find_top_issues) uses numpy's default sort.
        if run == "cleanlab":
            lowest_k = cleanlab.rank.find_top_issues(scores[run], top=k)
        else:
            lowest_k = np.argsort(scores[run], kind="stable")[:k]
        out |= {
            f"flagged_{run}": int(masks[run].sum()),
            f"recall_{run}": recall,
            f"precision_{run}": precision,
            f"recall_at_k_{run}": _recall_at_k(lowest_k, confirmed),
            f"seconds_{run}": seconds[run],
        }
    return out


def _per_run(key: str, title: str, fmt: str) -> list[tuple[str, str, str]]:
    return [(f"{key}_{run}", f"{title} ({RUN_TITLES[run]})", fmt) for run in RUNS]


COLUMNS = [
    ("dataset", "dataset", "{}"),
    ("N", "N", "{:,}"),
    ("K", "K", "{}"),
    *_per_run("flagged", "flagged", "{:,}"),
    ("jaccard", "Jaccard (compat vs cleanlab)", "{:.4f}"),
    ("confirmed", "confirmed errors", "{}"),
    *_per_run("recall", "recall", "{:.3f}"),
    *_per_run("precision", "precision@reviewed", "{:.3f}"),
    ("reviewed", "k = reviewed", "{}"),
    *_per_run("recall_at_k", "recall@k", "{:.3f}"),
    *_per_run("seconds", "s", "{:.3f}"),
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
    from labelcli.core.defaults import CLEANLAB, LABELCLI

    print(
        f"\nflagged = find_label_issues with its defaults: labelcli's (filter {LABELCLI.filter_by}, score"
        f" {LABELCLI.rank_by}), compat=\"cleanlab\" and cleanlab 2.9's (filter {CLEANLAB.filter_by}, score"
        f" {CLEANLAB.rank_by}); Jaccard of the compat and cleanlab flagged sets (1 = identical);"
        " recall = confirmed errors flagged / confirmed errors; precision@reviewed = confirmed errors"
        " flagged / reviewed rows flagged; recall@k = confirmed errors among the k lowest default"
        " scores."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
