"""Build labelcli's sample data: scikit-learn's digits with 90 planted, confusable label errors.

Run from the repository root (no network needed; the digits ship with scikit-learn):

    .venv/bin/python sample_data/make_sample_data.py [OUT_DIR]

OUT_DIR defaults to the folder holding this script. Everything is seeded (seed 0), so running it
twice writes identical files.

How it is made
--------------
1. Load ``sklearn.datasets.load_digits``: 1,797 grayscale 8x8 images (64 pixel features with
   values 0..16) of the digits 0..9, named zero, one, ..., nine. Their labels are the ground truth.
2. Choose which rows to corrupt: ``numpy.random.default_rng(0)`` picks 9 rows of every class
   (class by class, 0 to 9), 90 rows in all (5.0% of 1,797).
3. Choose each corrupted row's new label by *confusion-driven noise*: fit
   ``labelcli.ml.crossval.cross_val_pred_probs(features, true_labels, model='logreg', folds=5, seed=0)``
   and give the row the class that this out-of-sample model finds most probable among the nine
   wrong classes for that very image (e.g. a 1 that looks a bit like a 7 becomes "seven"). This is
   the kind of mistake a human annotator makes, and it is harder to detect than uniform noise.
4. Compute the pred_probs a user would have: ``cross_val_pred_probs(features, noisy_labels,
   model='logreg', folds=5, seed=0)`` on the NOISY labels (out-of-sample, 5-fold, standardised
   logistic regression).

Files written
-------------
digits_features.npy     1797 x 64 float32 pixel values
digits_images.npy       1797 x 8 x 8 uint8 images (0..16), for report galleries
digits_labels.npy       1797 int64 noisy labels (class indices 0..9) -- what a user has
digits_pred_probs.npy   1797 x 10 float32 out-of-sample pred_probs from the noisy labels
digits_true_labels.npy  1797 int64 ground-truth labels
digits_is_error.npy     1797 bool, noisy label != true label (the 90 planted errors)
digits.csv, digits.parquet
                        one table: index, label (noisy, as a name), prob_zero..prob_nine,
                        px_0..px_63, true_label (name), is_error
labels.csv              index, label (noisy, as a name)
pred_probs.csv          zero..nine (the pred_probs; the column names are the class names)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from labelcli.ml.crossval import cross_val_pred_probs

SEED = 0
ERRORS_PER_CLASS = 9
CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# '%.9g' prints every float32 so that it parses back to the same float32.
FLOAT_FORMAT = "%.9g"


def plant_noise(true_labels: np.ndarray, clean_pred_probs: np.ndarray, rng: np.random.Generator):
    """Return noisy labels: ERRORS_PER_CLASS rows per class moved to their most confusable class."""
    num_classes = clean_pred_probs.shape[1]
    chosen = np.concatenate([
        rng.choice(np.flatnonzero(true_labels == k), size=ERRORS_PER_CLASS, replace=False)
        for k in range(num_classes)
    ])
    wrong = clean_pred_probs[chosen].copy()
    wrong[np.arange(len(chosen)), true_labels[chosen]] = -1.0  # exclude the true class
    noisy = true_labels.copy()
    noisy[chosen] = wrong.argmax(axis=1)
    return noisy


def build(out_dir: Path) -> dict:
    digits = load_digits()
    features = digits.data.astype(np.float32)
    true_labels = digits.target.astype(np.int64)
    num_classes = len(CLASS_NAMES)
    rng = np.random.default_rng(SEED)

    clean = cross_val_pred_probs(features, true_labels, num_classes=num_classes, model="logreg",
                                 folds=5, seed=SEED)
    noisy_labels = plant_noise(true_labels, clean.pred_probs, rng)
    is_error = noisy_labels != true_labels

    noisy = cross_val_pred_probs(features, noisy_labels, num_classes=num_classes, model="logreg",
                                 folds=5, seed=SEED)
    pred_probs = noisy.pred_probs.astype(np.float32)

    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "digits_features.npy", features)
    np.save(out_dir / "digits_images.npy", digits.images.astype(np.uint8))
    np.save(out_dir / "digits_labels.npy", noisy_labels)
    np.save(out_dir / "digits_pred_probs.npy", pred_probs)
    np.save(out_dir / "digits_true_labels.npy", true_labels)
    np.save(out_dir / "digits_is_error.npy", is_error)

    names = np.array(CLASS_NAMES, dtype=object)
    table = pd.concat(
        [
            pd.DataFrame({"index": np.arange(len(true_labels), dtype=np.int64),
                          "label": names[noisy_labels]}),
            pd.DataFrame(pred_probs, columns=[f"prob_{c}" for c in CLASS_NAMES]),
            pd.DataFrame(features, columns=[f"px_{j}" for j in range(features.shape[1])]),
            pd.DataFrame({"true_label": names[true_labels], "is_error": is_error}),
        ],
        axis=1,
    )
    table.to_csv(out_dir / "digits.csv", index=False, float_format=FLOAT_FORMAT)
    table.to_parquet(out_dir / "digits.parquet", index=False, engine="pyarrow", compression="zstd")
    table[["index", "label"]].to_csv(out_dir / "labels.csv", index=False)
    pd.DataFrame(pred_probs, columns=list(CLASS_NAMES)).to_csv(
        out_dir / "pred_probs.csv", index=False, float_format=FLOAT_FORMAT
    )

    per_class = np.bincount(true_labels[is_error], minlength=num_classes)
    as_names = lambda y: pd.Categorical(names[y], categories=CLASS_NAMES)  # noqa: E731
    flips = pd.crosstab(as_names(true_labels[is_error]), as_names(noisy_labels[is_error]),
                        rownames=["true"], colnames=["noisy"], dropna=False)
    return {
        "n": len(true_labels),
        "errors": int(is_error.sum()),
        "errors_per_true_class": per_class.tolist(),
        "flips": flips,
        "clean_cv_accuracy": clean.accuracy,
        "noisy_cv_accuracy": noisy.accuracy,
        "accuracy_vs_true": float(np.mean(pred_probs.argmax(axis=1) == true_labels)),
    }


def main(argv: list[str]) -> None:
    out_dir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    summary = build(out_dir)
    flips = summary.pop("flips")
    for key, value in summary.items():
        print(f"{key}: {value}")
    print("planted flips (rows: true label, columns: noisy label):")
    print(flips.to_string())


if __name__ == "__main__":
    main(sys.argv)
