"""Planted-noise problems on real data that ships with scikit-learn (no downloads).

Multi-class: digits, wine, breast_cancer, iris, and diabetes (its disease-progression target cut
into terciles: a real, low-signal 3-class problem), plus real sets that other packages ship
(bundled.py): mnist5k, hpc, diamonds, spam7 (chosen on, with the five above) and leaf, cells, wvs,
stackoverflow (HELD OUT: the `heldout` benchmark, not looked at while choosing defaults). Each
problem is (dataset, noise kind, rate, seed, model); a *family* is (dataset, model, noise kind):

- rows to corrupt: exactly round(rate * N), chosen uniformly at random;
- noise kinds (the new label of a corrupted row, never its true label):
  ``uniform``        a random other class;
  ``confusion``      sampled from the off-diagonal row of the *annotator*'s confusion matrix for the
                     row's true class (class-level, like the CIFAR-10 noise matrices);
  ``top-confusion``  the other class the annotator finds most probable for that very example
                     (instance-dependent: a 1 that looks like a 7 becomes 7).
  The annotator is a clean 5-fold cross-validated HistGradientBoosting model on the TRUE labels, a
  third model family, so neither detector family is favoured by the noise. With 2 classes the
  three kinds coincide, so breast_cancer runs ``uniform`` only.
- rates 5 / 10 / 20 / 30%; seeds 0-2 on scikit-learn's small sets, 0-1 on the larger bundled ones;
- pred_probs: out-of-sample, 5-fold StratifiedKFold(shuffle, random_state=seed) cross_val_predict
  trained on the NOISY labels, by ``logreg`` (StandardScaler + LogisticRegression), ``rf``
  (RandomForest, 100 trees, random_state=seed), ``hgb`` (HistGradientBoosting, 100 iterations)
  or ``knn`` (StandardScaler + 15 distance-weighted neighbours).

Multi-label: ``digits-tags`` (digits with the six derived tags of sample_data/make_multilabel_data.py)
and ``digits-pairs`` (two digit images side by side, or one beside a blank; tags = the digits
shown, 1 or 2 of 10). A corrupted row gets one tag dropped or one added (50/50; a row without tags
gets an add, a row with every tag a drop). pred_probs: per-tag out-of-sample probabilities from 5-fold
KFold(shuffle, random_state=seed) by ``logreg`` (one-vs-rest StandardScaler + LogisticRegression)
or ``knn`` (StandardScaler + 10 distance-weighted neighbours, one-vs-rest by construction).

Everything is seeded; generated arrays are cached as .npz under bench/_work/accuracy/ keyed by
every parameter and the scikit-learn version, so a rerun only loads files.
"""
from __future__ import annotations

import importlib.util
import os
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CACHE_VERSION = 1

SKLEARN_DATASETS = ("digits", "wine", "breast_cancer", "iris", "diabetes")
# Chosen on (the `planted` benchmark) and held out (`heldout`: never looked at while choosing).
MC_DATASETS = SKLEARN_DATASETS + ("mnist5k", "hpc", "diamonds", "spam7")
HELDOUT_DATASETS = ("leaf", "cells", "wvs", "stackoverflow")
KINDS = ("uniform", "confusion", "top-confusion")
RATES = (0.05, 0.1, 0.2, 0.3)
SEEDS = (0, 1, 2)  # scikit-learn's small sets; the larger bundled sets use BUNDLED_SEEDS
BUNDLED_SEEDS = (0, 1)
MC_MODELS = ("logreg", "rf", "hgb", "knn")

ML_DATASETS = ("digits-tags", "digits-pairs")
ML_MODELS = ("logreg", "knn")
FOLDS = 5


def cache_dir() -> Path:
    import sklearn

    base = Path(os.environ.get("ACCURACY_CACHE_DIR") or ROOT / "bench" / "_work" / "accuracy")
    return base / f"cache-v{CACHE_VERSION}-sklearn{sklearn.__version__}"


def _rng(*parts) -> np.random.Generator:
    """A generator seeded by every part of a problem's key (stable across runs and platforms)."""
    return np.random.default_rng([zlib.crc32(str(p).encode()) for p in parts])


def _cached(name: str, make) -> dict[str, np.ndarray]:
    path = cache_dir() / f"{name}.npz"
    if path.exists():
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    arrays = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return arrays


def _one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


# --- base data -----------------------------------------------------------------------------------


def load_multiclass(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(features float64 N x D, true labels int64) of a bundled dataset."""
    from sklearn import datasets

    if name not in SKLEARN_DATASETS:
        from bench.accuracy import bundled

        return bundled.load(name)

    if name == "diabetes":
        d = datasets.load_diabetes()
        cuts = np.quantile(d.target, [1 / 3, 2 / 3])
        return d.data.astype(np.float64), np.searchsorted(cuts, d.target, side="right").astype(np.int64)
    loader = {"digits": datasets.load_digits, "wine": datasets.load_wine,
              "breast_cancer": datasets.load_breast_cancer, "iris": datasets.load_iris}[name]
    d = loader()
    return d.data.astype(np.float64), d.target.astype(np.int64)


def _tag_module():
    spec = importlib.util.spec_from_file_location("make_multilabel_data", ROOT / "sample_data" / "make_multilabel_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_multilabel(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(features, true N x K 0/1 tag matrix) of a derived multi-label dataset."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, digit = d.data.astype(np.float64), d.target
    if name == "digits-tags":
        return x, _tag_module().tag_matrix(digit).astype(bool)
    if name == "digits-pairs":
        rng = _rng("digits-pairs-base")
        n = len(x)
        partner = rng.integers(0, n, size=n)
        single = rng.random(n) < 1 / 3  # a blank right half: one tag only
        right = np.where(single[:, None], 0.0, x[partner])
        tags = np.zeros((n, 10), dtype=bool)
        tags[np.arange(n), digit] = True
        tags[np.flatnonzero(~single), digit[partner[~single]]] = True
        return np.hstack([x, right]), tags
    raise KeyError(name)


# --- models --------------------------------------------------------------------------------------


def _multiclass_model(model: str, seed: int):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if model == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    if model == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15, weights="distance"))
    raise KeyError(model)


def cv_pred_probs(x: np.ndarray, labels: np.ndarray, model: str, seed: int) -> np.ndarray:
    """Out-of-sample N x K pred_probs (5-fold stratified cross_val_predict)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")  # convergence / tiny-class warnings on small sets
        p = cross_val_predict(_multiclass_model(model, seed), x, labels, cv=folds, method="predict_proba")
    return p / p.sum(axis=1, keepdims=True)


def cv_tag_probs(x: np.ndarray, tags: np.ndarray, model: str, seed: int) -> np.ndarray:
    """Out-of-sample N x K per-tag probabilities (5-fold KFold, one-vs-rest)."""
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        est = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=2000)))
    elif model == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        est = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=10, weights="distance"))
    else:
        raise KeyError(model)
    y = tags.astype(np.int64)
    out = np.zeros(tags.shape, dtype=np.float64)
    with warnings.catch_warnings(), _one_thread():
        warnings.simplefilter("ignore")  # a tag constant in a training fold
        for train, test in KFold(FOLDS, shuffle=True, random_state=seed).split(x):
            est.fit(x[train], y[train])
            proba = est.predict_proba(x[test])
            if isinstance(proba, list):  # native multi-output: one (n, classes) array per tag
                for c, pc in enumerate(proba):
                    classes = est[-1].classes_[c]
                    out[test, c] = pc[:, list(classes).index(1)] if 1 in classes else 0.0
            else:
                out[test] = proba
    return np.clip(out, 0.0, 1.0)


# --- noise ---------------------------------------------------------------------------------------


def annotator_probs(dataset: str) -> np.ndarray:
    """Clean out-of-sample pred_probs (HistGradientBoosting on the TRUE labels), cached."""
    def make():
        x, y = load_multiclass(dataset)
        return {"pred_probs": cv_pred_probs(x, y, "hgb", seed=0)}

    return _cached(f"annotator-{dataset}", make)["pred_probs"]


def plant_multiclass(true: np.ndarray, k: int, kind: str, rate: float, rng: np.random.Generator,
                     annot: np.ndarray | None = None) -> np.ndarray:
    """Noisy labels: exactly round(rate * N) rows moved to another class by `kind`."""
    n = len(true)
    rows = np.sort(rng.choice(n, size=int(round(rate * n)), replace=False))
    noisy = true.copy()
    if kind == "uniform":
        shift = rng.integers(1, k, size=len(rows))
        noisy[rows] = (true[rows] + shift) % k
        return noisy
    if annot is None:
        raise ValueError(f"noise kind {kind!r} needs the annotator's pred_probs")
    if kind == "confusion":
        conf = np.zeros((k, k))
        np.add.at(conf, (true, annot.argmax(axis=1)), 1.0)
        np.fill_diagonal(conf, 0.0)
        for r in rows:
            w = conf[true[r]]
            if w.sum() == 0:  # the annotator never errs on this class: uniform
                w = np.ones(k)
                w[true[r]] = 0.0
            noisy[r] = rng.choice(k, p=w / w.sum())
        return noisy
    if kind == "top-confusion":
        other = annot[rows].copy()
        other[np.arange(len(rows)), true[rows]] = -np.inf
        noisy[rows] = other.argmax(axis=1)
        return noisy
    raise KeyError(kind)


def plant_multilabel(true: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Noisy tags: round(rate * N) rows each get one tag dropped or one tag added."""
    n, k = true.shape
    rows = np.sort(rng.choice(n, size=int(round(rate * n)), replace=False))
    drop = rng.random(len(rows)) < 0.5
    noisy = true.copy()
    for r, d in zip(rows, drop):
        has, lacks = np.flatnonzero(true[r]), np.flatnonzero(~true[r])
        if (d and has.size) or not lacks.size:
            noisy[r, rng.choice(has)] = False
        else:
            noisy[r, rng.choice(lacks)] = True
    return noisy


# --- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedSpec:
    dataset: str
    kind: str
    rate: float
    seed: int
    model: str
    multilabel: bool = False

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.kind}/r{self.rate:g}/s{self.seed}/{self.model}"

    @property
    def key(self) -> str:
        return self.name.replace("/", "_")


NUM_CLASSES = {"digits": 10, "wine": 3, "breast_cancer": 2, "iris": 3, "diabetes": 3, "mnist5k": 10, "hpc": 4,
               "diamonds": 5, "spam7": 2, "leaf": 32, "cells": 2, "wvs": 3, "stackoverflow": 5}


def num_classes(dataset: str) -> int:
    return NUM_CLASSES[dataset]


def multiclass_specs(datasets=MC_DATASETS, kinds=KINDS, rates=RATES, seeds=None, models=MC_MODELS):
    """seeds=None: SEEDS for scikit-learn's small sets, BUNDLED_SEEDS for the others."""
    for d in datasets:
        for kind in kinds if num_classes(d) > 2 else ("uniform",):
            for rate in rates:
                for seed in seeds if seeds is not None else SEEDS if d in SKLEARN_DATASETS else BUNDLED_SEEDS:
                    for model in models:
                        yield PlantedSpec(d, kind, rate, seed, model)


def multilabel_specs(datasets=ML_DATASETS, rates=RATES, seeds=SEEDS, models=ML_MODELS):
    for d in datasets:
        for rate in rates:
            for seed in seeds:
                for model in models:
                    yield PlantedSpec(d, "drop-add", rate, seed, model, multilabel=True)


def generate(spec: PlantedSpec) -> dict[str, np.ndarray]:
    """{'labels', 'pred_probs', 'true'} of one planted problem (cached)."""
    def make():
        if spec.multilabel:
            x, true = load_multilabel(spec.dataset)
            noisy = plant_multilabel(true, spec.rate, _rng(spec.dataset, spec.kind, spec.rate, spec.seed))
            return {"labels": noisy, "pred_probs": cv_tag_probs(x, noisy, spec.model, spec.seed), "true": true}
        x, true = load_multiclass(spec.dataset)
        annot = None if spec.kind == "uniform" else annotator_probs(spec.dataset)
        # The noise does not depend on the model: both families see the same noisy labels.
        rng = _rng(spec.dataset, spec.kind, spec.rate, spec.seed)
        noisy = plant_multiclass(true, num_classes(spec.dataset), spec.kind, spec.rate, rng, annot)
        return {"labels": noisy, "pred_probs": cv_pred_probs(x, noisy, spec.model, spec.seed), "true": true}

    return _cached(spec.key, make)
