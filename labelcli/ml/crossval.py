"""Out-of-sample predicted probabilities from features, by K-fold cross-validation (scikit-learn).

Confident learning needs pred_probs that the model did not fit on the same rows; this module
produces them from an N x D feature matrix and the given (possibly noisy) labels. No printing and
no file I/O: progress is reported through a callback so the CLI can draw a bar.

scikit-learn is imported inside the functions, so importing this module is cheap.
"""
from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from labelcli.core.validate import as_features, as_labels, check_feature_magnitude, check_same_length
from labelcli.errors import LabelError

MODELS = ("logreg", "hgb", "rf", "knn")


@dataclass(frozen=True)
class CrossValResult:
    """Cross-validated pred_probs and how well they agree with the given labels."""

    pred_probs: np.ndarray  # (N, K) float64, out-of-sample, rows sum to 1, column k = class k
    accuracy: float  # cross-validated accuracy of argmax vs the given labels
    fold_accuracies: tuple[float, ...]
    model: str  # the model spec used
    folds: int


def _builtin_list() -> str:
    return ", ".join(MODELS)


def _builtin_model(spec: str, seed: int):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if spec == "logreg":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    if spec == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed)
    if spec == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)
    if spec == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=10, weights="distance"))
    raise AssertionError(spec)  # pragma: no cover - callers check membership in MODELS


def _import_model(spec: str, seed: int):
    module_name, _, class_name = spec.partition(":")
    module_name, class_name = module_name.strip(), class_name.strip()
    if not module_name or not class_name:
        raise LabelError(
            f"model '{spec}': expected 'package.module:ClassName'; built-in models are {_builtin_list()}"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or anything the module raises while importing
        raise LabelError(
            f"model '{spec}': cannot import module '{module_name}' ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no details'}); built-in models are {_builtin_list()}"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None or not callable(cls):
        raise LabelError(
            f"model '{spec}': module '{module_name}' has no class '{class_name}';"
            f" built-in models are {_builtin_list()}"
        )
    if not isinstance(cls, type) or not (hasattr(cls, "fit") and hasattr(cls, "predict_proba")):
        # never call anything else (os:abort, a CLI entry point ...): only an estimator class
        found = "a class without fit and predict_proba" if isinstance(cls, type) else f"a {type(cls).__name__}"
        raise LabelError(f"the `model` option '{spec}' is {found}, not a classifier class; give a class"
                         " implementing fit and predict_proba (scikit-learn API)")
    try:
        est = cls()
    except Exception as exc:
        raise LabelError(
            f"model '{spec}': cannot create it with no arguments ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no details'}); built-in models are {_builtin_list()}"
        ) from None
    # hasattr is False for sklearn's conditionally available methods (e.g. SVC without probability).
    if not (hasattr(est, "fit") and hasattr(est, "predict_proba")):
        raise LabelError(
            f"model '{spec}' has no predict_proba; use a probabilistic classifier"
            f" (built-in models are {_builtin_list()})"
        )
    get_params = getattr(est, "get_params", None)
    if callable(get_params) and "random_state" in get_params():
        est.set_params(random_state=seed)
    return est


def make_model(spec: str, seed: int = 0):
    """Return an unfitted classifier for a built-in name or a 'package.module:ClassName' spec."""
    if not isinstance(spec, str) or not spec.strip():
        raise LabelError(f"model must be one of {_builtin_list()} or 'package.module:ClassName'")
    spec = spec.strip()
    if spec in MODELS:
        return _builtin_model(spec, seed)
    if ":" in spec:
        return _import_model(spec, seed)
    raise LabelError(
        f"unknown model '{spec}'; use one of {_builtin_list()} or 'package.module:ClassName'"
    )


def _check_folds(folds, y: np.ndarray, num_classes: int, class_names=None, labels_name: str = "labels") -> int:
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)):
        raise LabelError(f"--folds must be a whole number >= 2, got {folds!r}")
    folds = int(folds)
    n = len(y)
    if folds < 2:
        raise LabelError(f"--folds must be at least 2 (got {folds}); cross-validation needs a held-out fold")
    if folds > n:
        raise LabelError(f"--folds {folds} is more than the number of examples ({n}); use a lower --folds")
    counts = np.bincount(y, minlength=num_classes)
    present = np.flatnonzero(counts)
    if len(present) < 2:
        only = class_names[int(present[0])] if class_names is not None else int(present[0])
        raise LabelError(
            f"{labels_name}: every example has the same label ('{only}'); a classifier needs at"
            " least 2 classes present"
        )
    small = present[counts[present] < folds]
    if len(small):
        c = int(small[np.argmin(counts[small])])
        smallest = int(counts[c])
        fix = f"use --folds {smallest} or drop that class" if smallest >= 2 else "drop or relabel that class"
        what = f"class '{class_names[c]}'" if class_names is not None else f"class {c}"
        raise LabelError(
            f"{labels_name}: {what} has {smallest} example{'s' if smallest != 1 else ''}, fewer than"
            f" --folds {folds}; {fix}"
        )
    return folds


def _fold_probs(est, spec: str, x_test: np.ndarray, num_classes: int) -> np.ndarray:
    """predict_proba for one fold, with columns placed at their class indices (absent classes = 0)."""
    proba = np.asarray(est.predict_proba(x_test), dtype=np.float64)
    classes = np.asarray(getattr(est, "classes_", np.arange(proba.shape[1])))
    if proba.ndim != 2 or proba.shape != (len(x_test), len(classes)):
        raise LabelError(
            f"model '{spec}': predict_proba returned shape {proba.shape}, expected"
            f" ({len(x_test)}, {len(classes)}) for classes_ {classes.tolist()}"
        )
    if not np.isfinite(proba).all():
        raise LabelError(f"model '{spec}': predict_proba returned NaN or inf; try another --model")
    out = np.zeros((len(x_test), num_classes), dtype=np.float64)
    out[:, classes.astype(np.int64)] = proba
    return out


def _renormalise(p: np.ndarray) -> np.ndarray:
    """Clip negatives, rescale rows to sum to 1; a row with no mass becomes uniform."""
    np.clip(p, 0.0, None, out=p)
    sums = p.sum(axis=1)
    empty = sums <= 0
    if empty.any():
        p[empty] = 1.0 / p.shape[1]
        sums[empty] = 1.0
    p /= sums[:, None]
    # Division leaves rows a few ulps off 1; move the residual onto each row's largest entry.
    top = p.argmax(axis=1)
    rows = np.arange(len(p))
    p[rows, top] += 1.0 - p.sum(axis=1)
    return p


def fit_fold(x, y, train, test, model, seed, num_classes, done, folds) -> np.ndarray:
    """One fold: a fresh, identically seeded model fitted on `train`; its pred_probs of `test`."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = make_model(model, seed)
        try:
            est.fit(x[train], y[train])
        except LabelError:
            raise
        except Exception as exc:
            raise LabelError(
                f"model '{model}' failed to fit fold {done} of {folds} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else 'no details'})"
            ) from None
        return _renormalise(_fold_probs(est, model, x[test], num_classes))


def _map_in_order(fn, jobs, progress=None) -> list:
    out = []
    for args in jobs:
        out.append(fn(*args))
        if progress is not None:
            progress(args[-2], args[-1])
    return out


def cross_val_pred_probs(
    features,
    labels,
    *,
    num_classes: int,
    model: str = "logreg",
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    class_names=None,
    labels_name: str = "labels",
    map_folds=None,
) -> CrossValResult:
    """Out-of-sample pred_probs from stratified K-fold cross-validation of `model` on features.

    features: N x D floats; labels: N class indices in 0..num_classes-1 (classes with no
    examples are allowed; their column is 0). progress(done_folds, total_folds) is called after
    each fold. Same inputs and seed give bitwise identical results. map_folds(fit_fold, jobs,
    progress): runs the folds (default: here, in order) and returns their pred_probs in order.
    """
    from sklearn.model_selection import StratifiedKFold

    x = check_feature_magnitude(as_features(features))
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise LabelError(f"num_classes must be a whole number >= 2, got {num_classes!r}")
    num_classes = int(num_classes)
    y = as_labels(labels, num_classes=num_classes)
    check_same_length(len(x), len(y), name_a="features", name_b="labels")
    folds = _check_folds(folds, y, num_classes, class_names, labels_name)
    make_model(model, seed)  # fail fast on a bad spec, before any fitting

    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    pred_probs = np.zeros((len(y), num_classes), dtype=np.float64)
    fold_acc: list[float] = []
    splits = list(skf.split(np.zeros((len(y), 1)), y))
    jobs = [(x, y, train, test, model, seed, num_classes, done, folds)
            for done, (train, test) in enumerate(splits, start=1)]
    # map_folds(fit_fold, jobs): folds elsewhere (labelcli.distributed runs them on a cluster)
    results = (map_folds or _map_in_order)(fit_fold, jobs, progress)
    for (train, test), p in zip(splits, results):
        pred_probs[test] = p
        fold_acc.append(float(np.mean(p.argmax(axis=1) == y[test])))

    accuracy = float(np.mean(pred_probs.argmax(axis=1) == y))
    return CrossValResult(
        pred_probs=pred_probs,
        accuracy=accuracy,
        fold_accuracies=tuple(fold_acc),
        model=model.strip() if isinstance(model, str) else model,
        folds=folds,
    )


def multilabel_model(spec: str, seed: int):
    """Built-in models become one-vs-rest (one binary model per tag); an imported estimator is
    used as it is and must accept an N x K 0/1 target (scikit-learn's multi-output API)."""
    est = make_model(spec, seed)
    if spec.strip() in MODELS:
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(est)
    return est


def multilabel_fold_probs(est, spec: str, x_test: np.ndarray, k: int) -> np.ndarray:
    """P(tag present) per tag: an N x K array (one-vs-rest) or a list of K N x 2 arrays (multi-output)."""
    proba = est.predict_proba(x_test)
    if isinstance(proba, list):
        cols = []
        for j, p in enumerate(proba):
            p = np.asarray(p, dtype=np.float64)
            classes = list(getattr(est, "classes_", [[0, 1]] * k)[j]) if hasattr(est, "classes_") else [0, 1]
            cols.append(p[:, classes.index(1)] if 1 in classes else np.zeros(len(x_test)))
        proba = np.stack(cols, axis=1)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.shape != (len(x_test), k):
        raise LabelError(
            f"model '{spec}': predict_proba returned shape {proba.shape}, expected ({len(x_test)}, {k})"
            " for multi-label data; use a multi-output classifier"
        )
    if not np.isfinite(proba).all():
        raise LabelError(f"model '{spec}': predict_proba returned NaN or inf; try another --model")
    return np.clip(proba, 0.0, 1.0)


def cross_val_multilabel_pred_probs(
    features,
    labels,
    *,
    model: str = "logreg",
    folds: int = 5,
    seed: int = 0,
    class_names=None,
    progress: Callable[[int, int], None] | None = None,
) -> CrossValResult:
    """Out-of-sample per-tag probabilities for multi-label data (labels: N x K 0/1 matrix).

    Folds are stratified for multi-label data (every tag with enough positives appears in every
    fold); built-in models are fitted one-vs-rest. ``accuracy`` is the mean per-tag accuracy of
    ``p >= 0.5`` against the given tags.
    """
    from sklearn.exceptions import ConvergenceWarning

    from labelcli.core.multilabel import as_label_matrix
    from labelcli.core.stratify import check_tag_counts, multilabel_stratified_folds

    x = check_feature_magnitude(as_features(features))
    y = as_label_matrix(labels)
    check_same_length(len(x), len(y), name_a="features", name_b="labels")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise LabelError(f"--folds must be a whole number >= 2, got {folds!r}")
    folds = int(folds)
    if folds > len(y):
        raise LabelError(f"--folds {folds} is more than the number of examples ({len(y)}); use a lower --folds")
    check_tag_counts(y, folds, class_names=class_names)
    make_model(model, seed)
    fold_id = multilabel_stratified_folds(y, folds=folds, seed=seed)
    k = y.shape[1]
    pred_probs = np.zeros(y.shape, dtype=np.float64)
    fold_acc: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for f in range(folds):
            train, test = np.flatnonzero(fold_id != f), np.flatnonzero(fold_id == f)
            est = multilabel_model(model, seed)
            try:
                est.fit(x[train], y[train].astype(np.int64))
            except LabelError:
                raise
            except Exception as exc:
                raise LabelError(
                    f"model '{model}' failed to fit fold {f + 1} of {folds} ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else 'no details'})"
                ) from None
            p = multilabel_fold_probs(est, model, x[test], k)
            pred_probs[test] = p
            fold_acc.append(float(np.mean((p >= 0.5) == y[test])))
            if progress is not None:
                progress(f + 1, folds)
    return CrossValResult(
        pred_probs=pred_probs,
        accuracy=float(np.mean((pred_probs >= 0.5) == y)),
        fold_accuracies=tuple(fold_acc),
        model=model.strip(),
        folds=folds,
    )
