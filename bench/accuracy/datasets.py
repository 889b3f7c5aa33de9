"""Benchmark loaders: each yields named Problems with ground truth.

Benchmarks (``BENCHMARKS``):
- ``cifar10-noisy``: the Confident Learning paper's 12 CIFAR-10 noise settings
  (<shared>/cifar10-noisy/sparsity_S_noise_A/{labels,pred_probs}.npy); truth = labels != true_labels.
- ``label-errors``: MNIST / CIFAR-10 / IMDB / 20news test sets with human-verified errors, loaded by
  bench/real_data.py's ``load`` (IMDB rows renormalised there). Truth is partial: positives are the
  ``confirmed_error`` rows of reviewed.csv, and only reviewed rows have a verdict, so precision and
  the ranking metrics are measured among reviewed rows (``universe``) and recall@k uses k = number
  of reviewed rows over the full ranking.
- ``planted`` / ``planted-multilabel``: bench/accuracy/planted.py (the sets defaults are chosen on).
- ``heldout``: planted noise on the held-out datasets (planted.HELDOUT_DATASETS), reported apart and
  never looked at while choosing.

<shared> is ../shared/data beside the repository, or $LABELCLI_SHARED_DATA; $CIFAR10_NOISY_DIR and
$LABEL_ERRORS_DIR override the two folders.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from bench.accuracy import planted

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ("cifar10-noisy", "label-errors", "planted", "planted-multilabel", "heldout")
CIFAR_SETTINGS = tuple(f"sparsity_{s}_noise_{a}" for s in ("0.0", "0.2", "0.4", "0.6") for a in ("0.2", "0.4", "0.6"))
LABEL_ERROR_SETS = ("mnist", "cifar10", "imdb", "20news")


@dataclass(frozen=True, eq=False)
class Problem:
    """One labelled dataset with out-of-sample pred_probs and (possibly partial) ground truth."""

    name: str  # unique, e.g. "cifar10-noisy/sparsity_0.0_noise_0.2"
    group: str  # the benchmark
    dataset: str  # what the per-dataset means average over (planted: digits, wine, ...)
    labels: np.ndarray  # (N,) int class indices, or (N, K) bool tag matrix when multilabel
    pred_probs: np.ndarray
    truth: np.ndarray  # (N,) bool: the given label is wrong (label-errors: confirmed error)
    universe: np.ndarray | None = None  # (N,) bool rows that have a verdict (None = all)
    k: int | None = None  # label-errors: rows reviewed, for recall@k
    true_rate: float | None = None  # true fraction mislabeled (None when unknown)
    note: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def task(self) -> str:
        return "multilabel" if self.labels.ndim == 2 else "multiclass"

    def __iter__(self):  # (name, group, labels, pred_probs, truth), as a plain tuple
        return iter((self.name, self.group, self.labels, self.pred_probs, self.truth))


def shared_dir() -> Path:
    env = os.environ.get("LABELCLI_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def cifar_dir() -> Path:
    env = os.environ.get("CIFAR10_NOISY_DIR")
    return Path(env) if env else shared_dir() / "cifar10-noisy"


def label_errors_dir() -> Path:
    env = os.environ.get("LABEL_ERRORS_DIR")
    return Path(env) if env else shared_dir() / "label-errors"


def cifar10_noisy(settings=CIFAR_SETTINGS) -> Iterator[Problem]:
    folder = cifar_dir()
    true = np.load(folder / "true_labels.npy")
    for s in settings:
        labels = np.load(folder / s / "labels.npy")
        truth = labels != true
        yield Problem(
            name=f"cifar10-noisy/{s}", group="cifar10-noisy", dataset="cifar10",
            labels=labels, pred_probs=np.load(folder / s / "pred_probs.npy"), truth=truth,
            true_rate=float(truth.mean()), meta={"setting": s},
        )


def label_errors(sets=LABEL_ERROR_SETS) -> Iterator[Problem]:
    from bench.real_data import load

    root = label_errors_dir()
    for name in sets:
        labels, pred_probs, reviewed, confirmed, note = load(name, root)
        n = len(labels)
        truth = np.zeros(n, dtype=bool)
        truth[confirmed] = True
        universe = np.zeros(n, dtype=bool)
        universe[reviewed] = True
        yield Problem(
            name=f"label-errors/{name}", group="label-errors", dataset=name,
            labels=labels, pred_probs=pred_probs, truth=truth, universe=universe, k=len(reviewed),
            true_rate=None, note=note,
            meta={"reviewed": len(reviewed), "confirmed": len(confirmed), "confirmed_rate": len(confirmed) / n,
                  "reviewed_in_lowest_margin_k": reviewed_share_of_lowest_margin(labels, pred_probs, universe)},
        )


def reviewed_share_of_lowest_margin(labels, pred_probs, reviewed: np.ndarray) -> float:
    """Share of the k lowest normalized-margin rows (k = reviewed rows) that were reviewed.

    1.0 means the study reviewed exactly the rows that this score ranks first, so recall@k rewards
    agreeing with that selection: rows outside it have no verdict and count as misses."""
    p = np.asarray(pred_probs, dtype=np.float64)
    rows = np.arange(len(labels))
    own = p[rows, labels]
    other = p.copy()
    other[rows, labels] = -np.inf
    margin = own - other.max(axis=1)
    k = int(reviewed.sum())
    return float(reviewed[np.argsort(margin, kind="stable")[:k]].mean())


def _planted(specs, group: str) -> Iterator[Problem]:
    for spec in specs:
        a = planted.generate(spec)
        truth = a["labels"] != a["true"]
        if truth.ndim == 2:
            truth = truth.any(axis=1)
        yield Problem(
            name=f"{group}/{spec.name}", group=group, dataset=spec.dataset,
            labels=a["labels"], pred_probs=a["pred_probs"], truth=truth, true_rate=float(truth.mean()),
            meta={"kind": spec.kind, "rate": spec.rate, "seed": spec.seed, "model": spec.model},
        )


def _installed(names) -> tuple:
    """The datasets whose source package is installed (a missing one is skipped with a note)."""
    import sys

    from bench.accuracy import bundled

    keep = tuple(d for d in names if d in planted.SKLEARN_DATASETS or bundled.available(d))
    if len(keep) < len(names):
        print(f"skipped (package not installed): {', '.join(d for d in names if d not in keep)}", file=sys.stderr)
    return keep


def planted_multiclass(**choices) -> Iterator[Problem]:
    choices["datasets"] = _installed(choices.get("datasets", planted.MC_DATASETS))
    return _planted(planted.multiclass_specs(**choices), "planted")


def heldout(**choices) -> Iterator[Problem]:
    choices["datasets"] = _installed(choices.get("datasets", planted.HELDOUT_DATASETS))
    return _planted(planted.multiclass_specs(**choices), "heldout")


def planted_multilabel(**choices) -> Iterator[Problem]:
    return _planted(planted.multilabel_specs(**choices), "planted-multilabel")


def available(benchmark: str) -> bool:
    if benchmark == "cifar10-noisy":
        return (cifar_dir() / "true_labels.npy").exists()
    if benchmark == "label-errors":
        return label_errors_dir().is_dir()
    if benchmark == "heldout":
        from bench.accuracy import bundled

        return any(bundled.available(d) for d in planted.HELDOUT_DATASETS)
    return True


# `--smoke`: one tiny problem per benchmark (the test suite's smoke test).
SMOKE = {
    "cifar10-noisy": lambda: cifar10_noisy(CIFAR_SETTINGS[:1]),
    "label-errors": lambda: label_errors(("mnist",)),
    "planted": lambda: planted_multiclass(datasets=("iris",), kinds=("uniform",), rates=(0.2,), seeds=(0,), models=("logreg",)),
    "planted-multilabel": lambda: planted_multilabel(datasets=("digits-tags",), rates=(0.2,), seeds=(0,), models=("knn",)),
    "heldout": lambda: heldout(datasets=("cells",), kinds=("uniform",), rates=(0.2,), seeds=(0,), models=("logreg",)),
}
# `--quick`: every family (dataset x model x noise kind) once, at 10% noise and seed 0; three
# CIFAR-10 settings. Minutes from a fresh clone, seconds once cached.
QUICK = {
    "cifar10-noisy": lambda: cifar10_noisy(CIFAR_SETTINGS[::4]),
    "label-errors": label_errors,
    "planted": lambda: planted_multiclass(rates=(0.1,), seeds=(0,)),
    "planted-multilabel": lambda: planted_multilabel(rates=(0.1,), seeds=(0,)),
    "heldout": lambda: heldout(rates=(0.1,), seeds=(0,)),
}
FULL = {
    "cifar10-noisy": cifar10_noisy,
    "label-errors": label_errors,
    "planted": planted_multiclass,
    "planted-multilabel": planted_multilabel,
    "heldout": heldout,
}


def problems(benchmark: str, quick: bool = False, smoke: bool = False) -> Iterator[Problem]:
    """Every problem of one benchmark (a generator: arrays are loaded one problem at a time)."""
    return (SMOKE if smoke else QUICK if quick else FULL)[benchmark]()
