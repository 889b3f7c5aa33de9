"""New batches against a reference set (find-issues --reference-*): the batch's planted errors found
with the reference's fit vs by the batch alone, on the digits sample split at random (10 splits,
reference 1,000 rows, batches of 797 / 300 / 100 of the other rows). Prints the README's tables.

    .venv/bin/python bench/reference.py

Multi-class: the reference lends thresholds and its noise estimate (core.reference.fit_reference).
Multi-label: it lends each tag's thresholds; "+ joint" also lends the tag's binary confident joint,
the variant measured and not taken (core.reference.TagReferenceFit says why).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
SIZES = (797, 300, 100)


def splits(n: int, seeds=range(10)):
    """(reference rows, rows left) per seed."""
    for seed in seeds:
        perm = np.random.default_rng(seed).permutation(n)
        yield np.sort(perm[:1000]), perm[1000:]


def multi_class() -> dict:
    from labelcli import find_label_issues
    from labelcli.core.reference import find_batch_issues, fit_reference

    y, p = np.load(SAMPLE / "digits_labels.npy"), np.load(SAMPLE / "digits_pred_probs.npy")
    err = np.load(SAMPLE / "digits_is_error.npy").astype(bool)
    out: dict = {}
    for ref, rest in splits(len(y)):
        fit = fit_reference(y[ref], p[ref])
        for size in SIZES:
            b = np.sort(rest[:size])
            masks = {"with the reference": find_batch_issues(fit, y[b], p[b]).mask,
                     "batch alone": find_label_issues(y[b], p[b]).mask}
            for how, m in masks.items():
                out.setdefault((size, how), []).append(counts(m, err[b]))
    return out


def multi_label() -> dict:
    from labelcli.core import multilabel as ml
    from labelcli.core.reference import fit_reference, fit_reference_tags

    y = np.load(SAMPLE / "digits_tags.npy").astype(bool)
    p = np.load(SAMPLE / "digits_tag_pred_probs.npy")
    err = np.load(SAMPLE / "digits_tag_is_error.npy").astype(bool)
    err = err.any(axis=1) if err.ndim == 2 else err
    out: dict = {}
    for ref, rest in splits(len(y)):
        fit = fit_reference_tags(y[ref], p[ref])
        joint = tuple(fit_reference(y[ref, c].astype(np.int64), ml.binary_problem(p[ref, c]))
                      for c in range(y.shape[1]))
        for size in SIZES:
            b = np.sort(rest[:size])
            masks = {"with the reference": ml.find_label_issues(y[b], p[b], reference=fit.tags).mask,
                     "batch alone": ml.find_label_issues(y[b], p[b]).mask,
                     "+ joint (not taken)": ml.find_label_issues(y[b], p[b], reference=joint).mask}
            for how, m in masks.items():
                out.setdefault((size, how), []).append(counts(m, err[b]))
    return out


def counts(mask: np.ndarray, err: np.ndarray) -> tuple[int, float, float]:
    """(flagged, precision, recall) of one flagged set against the planted errors."""
    hit = int((mask & err).sum())
    return int(mask.sum()), hit / max(int(mask.sum()), 1), hit / max(int(err.sum()), 1)


def table(title: str, results: dict) -> str:
    lines = [f"## {title}", "", "| batch rows | fit | flagged | precision | recall |", "|---|---|---|---|---|"]
    for (size, how), rows in sorted(results.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
        f, pr, rc = np.mean(rows, axis=0)
        lines.append(f"| {size} | {how} | {f:.1f} | {pr:.3f} | {rc:.3f} |")
    return "\n".join(lines)


def main() -> None:
    print(table("Multi-class (90 planted errors)", multi_class()))
    print()
    print(table("Multi-label (120 planted tag errors)", multi_label()))


if __name__ == "__main__":
    main()
