"""Did cleaning help? Train the same model on the original and on the cleaned labels, compare.

Three settings, from most to least trustworthy:

- ``test set``: fit on all rows, score on a separate test set with its own (trusted) labels;
- ``held-out fraction``: hold out a seeded, stratified fraction of the rows, fit on the rest and
  score the held-out rows against a reference: trusted labels when given (e.g. verified labels),
  else the original labels;
- ``cross-validation``: stratified K folds; every row is scored once, by models that did not see it,
  against the original labels.

Scoring against the original (noisy) labels is biased *against* cleaning: a model trained on the
noisy labels learns to repeat their systematic mistakes and is rewarded for it. A gain measured
that way is real; a loss may only be the noise. Only a trusted reference measures the true effect.

scikit-learn is imported inside the functions. No printing and no files: the cleaned labels
written by `fix` are read by labelcli.io.read_clean_labels.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError
from labelcli.ml.crossval import make_model

METRICS = ("accuracy", "macro_f1", "auroc")


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    auroc: float | None  # one-vs-rest, macro over the classes present in the reference (None if < 2)

    def to_dict(self) -> dict:
        return {m: getattr(self, m) for m in METRICS}


@dataclass(frozen=True)
class Comparison:
    """Original vs cleaned labels, the same model and rows to score."""

    setting: str  # "test set", "held-out fraction" or "cross-validation"
    reference: str  # what the predictions are scored against
    trusted_reference: bool  # False when scored against the original (noisy) labels
    model: str
    seed: int
    folds: int | None
    num_train: int  # training rows for the original-labels model (per fit)
    num_train_cleaned: int  # of those, rows the cleaned model trains on (dropped rows excluded)
    num_dropped: int
    num_relabeled: int
    num_scored: int
    original: Scores
    cleaned: Scores

    def difference(self) -> dict:
        out = {}
        for m in METRICS:
            a, b = getattr(self.original, m), getattr(self.cleaned, m)
            out[m] = None if a is None or b is None else b - a
        return out

    def to_dict(self) -> dict:
        return {
            "setting": self.setting, "reference": self.reference,
            "trusted_reference": self.trusted_reference, "model": self.model, "seed": self.seed,
            "folds": self.folds, "num_train": self.num_train, "num_train_cleaned": self.num_train_cleaned,
            "num_dropped": self.num_dropped, "num_relabeled": self.num_relabeled,
            "num_scored": self.num_scored, "original": self.original.to_dict(),
            "cleaned": self.cleaned.to_dict(), "difference": self.difference(),
        }


def classification_scores(reference, proba, num_classes: int) -> Scores:
    """Accuracy, macro-F1 (over the classes in the reference or predicted) and one-vs-rest AUROC."""
    from sklearn.metrics import f1_score, roc_auc_score

    y = np.asarray(reference, dtype=np.int64)
    pred = proba.argmax(axis=1)
    present = np.union1d(np.unique(y), np.unique(pred))
    f1 = f1_score(y, pred, labels=present, average="macro", zero_division=0)
    aucs = []
    for k in np.unique(y):  # a class needs positives and negatives in the reference
        pos = y == k
        if 0 < pos.sum() < len(y):
            aucs.append(roc_auc_score(pos, proba[:, k]))
    return Scores(float(np.mean(pred == y)), float(f1), float(np.mean(aucs)) if aucs else None)


def _fit_predict(x_train, y_train, w_train, x_test, *, model: str, seed: int, num_classes: int, what: str) -> np.ndarray:
    """Fit a fresh seeded model, return predict_proba on x_test with columns at class indices."""
    from sklearn.exceptions import ConvergenceWarning

    if len(np.unique(y_train)) < 2:
        raise LabelError(f"the {what} training rows have fewer than 2 classes; nothing to train")
    est = make_model(model, seed)
    fit_kw = {}
    if w_train is not None and not np.all(w_train == w_train[0]):
        # Weighted fits (coreset weights): a Pipeline routes sample_weight to its last step.
        last = getattr(est, "steps", None)
        fit_kw = {f"{last[-1][0]}__sample_weight" if last else "sample_weight": w_train}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(x_train, y_train, **fit_kw)
        except TypeError as exc:
            if fit_kw:
                raise LabelError(f"model '{model}' does not accept sample weights; give weights of 0 or 1 only") from exc
            raise
        except Exception as exc:
            raise LabelError(f"model '{model}' failed to fit on the {what} labels ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'no details'})") from None
        proba = np.asarray(est.predict_proba(x_test), dtype=np.float64)
    out = np.zeros((len(x_test), num_classes), dtype=np.float64)
    out[:, np.asarray(est.classes_, dtype=np.int64)] = proba
    return out


def _check(features, labels, clean_labels, keep, weight):
    x = np.asarray(features)
    y = np.asarray(labels, dtype=np.int64)
    c = np.asarray(clean_labels, dtype=np.int64)
    k = np.ones(len(y), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    w = k.astype(np.float64) if weight is None else np.asarray(weight, dtype=np.float64)
    if not (len(x) == len(y) == len(c) == len(k) == len(w)):
        raise LabelError(f"features ({len(x)} rows), labels ({len(y)}) and cleaned labels ({len(c)}) must have the same rows")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise LabelError("weights must be finite and >= 0")
    k = k & (w > 0)
    return x, y, c, k, w


class _Pair:
    """Fits the original and the cleaned model on the same training rows."""

    def __init__(self, x, y, c, keep, w, *, model, seed, num_classes):
        self.x, self.y, self.c, self.keep, self.w = x, y, c, keep, w
        self.kw = dict(model=model, seed=seed, num_classes=num_classes)

    def predict(self, train: np.ndarray, x_test: np.ndarray):
        kept = train[self.keep[train]]
        if len(kept) == 0:
            raise LabelError("every training row is dropped in the cleaned labels; nothing to train")
        before = _fit_predict(self.x[train], self.y[train], None, x_test, what="original", **self.kw)
        after = _fit_predict(self.x[kept], self.c[kept], self.w[kept], x_test, what="cleaned", **self.kw)
        return before, after, len(train), len(kept)


CLEANED_REF = "the cleaned labels of the kept rows"
ORIGINAL_REF = "the original (possibly noisy) labels"


def scored_against(against: str, y, c, keep):
    """(reference labels, rows scored, description, trusted) for `against` = cleaned or original."""
    if against == "cleaned":
        return c, keep, CLEANED_REF, True
    if against == "original":
        return y, np.ones(len(y), dtype=bool), ORIGINAL_REF, False
    raise LabelError(f"the `against` option must be 'cleaned' or 'original', got '{against}'")


def _result(setting, reference, trusted, pair, ref, before, after, n_train, n_kept, folds=None) -> Comparison:
    k = pair.kw["num_classes"]
    return Comparison(
        setting=setting, reference=reference, trusted_reference=trusted, model=pair.kw["model"],
        seed=pair.kw["seed"], folds=folds, num_train=n_train, num_train_cleaned=n_kept,
        num_dropped=int(np.count_nonzero(~pair.keep)), num_relabeled=int(np.count_nonzero(pair.c != pair.y)),
        num_scored=len(ref), original=classification_scores(ref, before, k),
        cleaned=classification_scores(ref, after, k),
    )


def compare_on_test_set(features, labels, clean_labels, test_features, test_labels, *, num_classes: int,
                        keep=None, weight=None, model: str = "logreg", seed: int = 0) -> Comparison:
    """Fit on every row (original) and every kept row (cleaned); score on the test set."""
    x, y, c, k, w = _check(features, labels, clean_labels, keep, weight)
    xt = np.asarray(test_features)
    yt = np.asarray(test_labels, dtype=np.int64)
    if xt.ndim != 2 or xt.shape[1] != x.shape[1]:
        raise LabelError(f"test features have {xt.shape[-1]} columns but features have {x.shape[1]}; they must match")
    if len(xt) != len(yt):
        raise LabelError(f"test features ({len(xt)} rows) and test labels ({len(yt)}) must have the same rows")
    pair = _Pair(x, y, c, k, w, model=model, seed=seed, num_classes=num_classes)
    before, after, n, nk = pair.predict(np.arange(len(y)), xt)
    return _result("test set", "the test labels", True, pair, yt, before, after, n, nk)


def stratified_holdout(labels, fraction: float, seed: int = 0) -> np.ndarray:
    """A seeded held-out mask: round(fraction * n_k) rows of every class k (at least one row stays)."""
    if not 0.0 < fraction < 1.0:
        raise LabelError(f"--test-fraction must be between 0 and 1 (exclusive), got {fraction:g}")
    y = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for k in np.unique(y):
        rows = np.flatnonzero(y == k)
        take = min(int(round(fraction * len(rows))), len(rows) - 1)
        test[rng.permutation(rows)[:take]] = True
    if not test.any():
        raise LabelError(f"--test-fraction {fraction:g} holds out no rows; use a larger fraction")
    return test


def compare_on_holdout(features, labels, clean_labels, *, num_classes: int, fraction: float = 0.3,
                       reference=None, keep=None, weight=None, model: str = "logreg",
                       seed: int = 0, against: str = "cleaned") -> Comparison:
    """Hold out a stratified fraction; fit on the rest; score the held-out rows against
    `reference` (N trusted labels, e.g. verified) or, when None, the cleaned labels of the kept
    held-out rows (against="original": the original labels of every held-out row)."""
    x, y, c, k, w = _check(features, labels, clean_labels, keep, weight)
    test = stratified_holdout(y, fraction, seed)
    if reference is not None:
        ref, scored, what, trusted = np.asarray(reference, dtype=np.int64), np.ones(len(y), bool), \
            "the trusted --test-labels", True
        if len(ref) != len(y):
            raise LabelError(f"reference labels have {len(ref)} rows but labels have {len(y)}; they must match")
    else:
        ref, scored, what, trusted = scored_against(against, y, c, k)
    pair = _Pair(x, y, c, k, w, model=model, seed=seed, num_classes=num_classes)
    rows = np.flatnonzero(test & scored)
    if rows.size == 0:
        raise LabelError("every held-out row is dropped in the cleaned labels; nothing to score")
    before, after, n, nk = pair.predict(np.flatnonzero(~test), x[rows])
    return _result("held-out fraction", what, trusted, pair, ref[rows], before, after, n, nk)


def compare_cross_validated(features, labels, clean_labels, *, num_classes: int, folds: int = 5,
                            keep=None, weight=None, model: str = "logreg", seed: int = 0,
                            progress=None, against: str = "cleaned") -> Comparison:
    """Stratified K folds (by the original labels); every row is predicted by the two models fitted
    on the other folds and scored against its cleaned label, kept rows only (against="original":
    every row against its original label, which is biased against cleaning)."""
    from sklearn.model_selection import StratifiedKFold

    x, y, c, k, w = _check(features, labels, clean_labels, keep, weight)
    ref, scored, what, trusted = scored_against(against, y, c, k)
    counts = np.bincount(y, minlength=num_classes)
    small = counts[counts > 0].min()
    if folds < 2 or small < folds:
        raise LabelError(f"--folds {folds}: need 2 <= folds <= the smallest class size ({small}); lower --folds"
                         " or give a test set")
    pair = _Pair(x, y, c, k, w, model=model, seed=seed, num_classes=num_classes)
    before = np.zeros((len(y), num_classes))
    after = np.zeros_like(before)
    n_train = n_kept = 0
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for done, (train, test) in enumerate(skf.split(np.zeros((len(y), 1)), y), start=1):
        before[test], after[test], n, nk = pair.predict(train, x[test])
        n_train, n_kept = max(n_train, n), max(n_kept, nk)
        if progress is not None:
            progress(done, folds)
    return _result("cross-validation", what, trusted, pair, ref[scored], before[scored], after[scored],
                   n_train, n_kept, folds=folds)


HISTORY_COLUMNS = ("round", "rows_dropped", "rows_relabeled", "accuracy", "macro_f1", "auroc", "reference",
                   "num_scored")


def history_row(cmp: Comparison, round_number: int) -> dict:
    """One `--history` row: the cleaned model's scores after this round of cleaning."""
    return {"round": int(round_number), "rows_dropped": cmp.num_dropped, "rows_relabeled": cmp.num_relabeled,
            "accuracy": cmp.cleaned.accuracy, "macro_f1": cmp.cleaned.macro_f1, "auroc": cmp.cleaned.auroc,
            "reference": cmp.reference, "num_scored": cmp.num_scored}
