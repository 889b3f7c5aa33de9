"""Did cleaning help, on multi-label (tag) data? The same model -- one-vs-rest logistic regression
(or any --model, one binary model per tag) -- trained on the original and on the cleaned tags, in
the same three settings as labelcli.ml.evaluate (a test set, a held-out fraction, K-fold
cross-validation; folds stratified per tag by the original labels and seeded) and scored against
the same references (by default the cleaned tags of the kept rows).

Scores: subset accuracy (the whole tag set right), micro- and macro-F1 of ``p >= 0.5``, average
precision (AP) per tag with its micro and macro averages, and macro one-vs-rest AUROC. The history
row (labelcli.ml.evaluate.history_row) takes accuracy, macro-F1 and AUROC from here unchanged.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError
from labelcli.ml.evaluate import scored_against

TAG_METRICS = ("accuracy", "micro_f1", "macro_f1", "micro_ap", "macro_ap", "auroc")
PREDICT_THRESHOLD = 0.5
HOLDOUT_PARTS = 20  # --test-fraction: held-out rows are whole twentieths, stratified per tag


@dataclass(frozen=True)
class TagScores:
    accuracy: float  # subset accuracy: the predicted tag set equals the reference set
    micro_f1: float
    macro_f1: float  # over the tags present in the reference or predicted
    micro_ap: float | None  # AP of every (example, tag) cell together
    macro_ap: float | None  # mean of the per-tag APs that are defined
    auroc: float | None  # macro one-vs-rest over tags with positives and negatives in the reference
    ap_per_tag: tuple  # AP of each tag (None: no positive in the reference)

    def to_dict(self, class_names) -> dict:
        out = {m: getattr(self, m) for m in TAG_METRICS}
        out["ap_per_tag"] = dict(zip(map(str, class_names), self.ap_per_tag))
        return out


def tag_scores(reference, proba) -> TagScores:
    """Scores of per-tag probabilities ``proba`` (N x K) against reference tags (N x K, 0/1)."""
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    y = np.asarray(reference, dtype=bool)
    pred = proba >= PREDICT_THRESHOLD
    present = np.flatnonzero(y.any(axis=0) | pred.any(axis=0))
    macro = f1_score(y[:, present], pred[:, present], average="macro", zero_division=0) if present.size else 0.0
    micro = f1_score(y, pred, average="micro", zero_division=0)
    pos = y.sum(axis=0)
    ap = tuple(float(average_precision_score(y[:, c], proba[:, c])) if pos[c] else None for c in range(y.shape[1]))
    defined = [a for a in ap if a is not None]
    aucs = [roc_auc_score(y[:, c], proba[:, c]) for c in range(y.shape[1]) if 0 < pos[c] < len(y)]
    return TagScores(
        accuracy=float(np.mean((pred == y).all(axis=1))), micro_f1=float(micro), macro_f1=float(macro),
        micro_ap=float(average_precision_score(y.ravel(), proba.ravel())) if y.any() else None,
        macro_ap=float(np.mean(defined)) if defined else None,
        auroc=float(np.mean(aucs)) if aucs else None, ap_per_tag=ap,
    )


@dataclass(frozen=True)
class TagComparison:
    """Original vs cleaned tags, the same model and rows to score (fields as labelcli.ml.evaluate.Comparison)."""

    setting: str
    reference: str
    trusted_reference: bool
    model: str
    seed: int
    folds: int | None
    num_train: int
    num_train_cleaned: int
    num_dropped: int
    num_relabeled: int  # rows whose tag set changed
    num_scored: int
    class_names: tuple
    original: TagScores
    cleaned: TagScores

    def difference(self) -> dict:
        out = {}
        for m in TAG_METRICS:
            a, b = getattr(self.original, m), getattr(self.cleaned, m)
            out[m] = None if a is None or b is None else b - a
        return out

    def to_dict(self) -> dict:
        return {
            "task": "multi-label", "setting": self.setting, "reference": self.reference,
            "trusted_reference": self.trusted_reference, "model": self.model, "seed": self.seed,
            "folds": self.folds, "num_train": self.num_train, "num_train_cleaned": self.num_train_cleaned,
            "num_dropped": self.num_dropped, "num_relabeled": self.num_relabeled, "num_scored": self.num_scored,
            "original": self.original.to_dict(self.class_names), "cleaned": self.cleaned.to_dict(self.class_names),
            "difference": self.difference(),
        }


def _fit_predict(x_train, y_train, x_test, *, model: str, seed: int, what: str) -> np.ndarray:
    """A fresh seeded one-vs-rest fit on ``y_train`` (M x K); P(tag present) on x_test (N x K)."""
    from sklearn.exceptions import ConvergenceWarning

    from labelcli.ml.crossval import multilabel_fold_probs, multilabel_model

    est = multilabel_model(model, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # a tag present in every (or no) training row: constant
        try:
            est.fit(x_train, y_train.astype(np.int64))
        except Exception as exc:
            raise LabelError(f"model '{model}' failed to fit on the {what} tags ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'no details'})") from None
        return multilabel_fold_probs(est, model, x_test, y_train.shape[1])


class _Pair:
    """Fits the original and the cleaned model on the same training rows (dropped rows: cleaned model only leaves them out)."""

    def __init__(self, x, y, c, keep, *, model, seed):
        self.x, self.y, self.c, self.keep, self.model, self.seed = x, y, c, keep, model, seed

    def predict(self, train, x_test):
        kept = train[self.keep[train]]
        if len(kept) == 0:
            raise LabelError("every training row is dropped in the cleaned labels; nothing to train")
        kw = dict(model=self.model, seed=self.seed)
        before = _fit_predict(self.x[train], self.y[train], x_test, what="original", **kw)
        after = _fit_predict(self.x[kept], self.c[kept], x_test, what="cleaned", **kw)
        return before, after, len(train), len(kept)


def _check(features, labels, clean_labels, keep, weight):
    x = np.asarray(features)
    y = np.asarray(labels, dtype=bool)
    c = np.asarray(clean_labels, dtype=bool)
    k = np.ones(len(y), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    if not (len(x) == len(y) == len(c) == len(k)) or y.shape != c.shape:
        raise LabelError(f"features ({len(x)} rows), labels ({y.shape}) and cleaned labels ({c.shape}) must have the"
                         " same rows and tags")
    if weight is not None:
        w = np.asarray(weight, dtype=np.float64)
        if not np.isin(w, (0.0, 1.0)).all():
            raise LabelError("multi-label evaluate takes weights of 0 or 1 only (0 = dropped)")
        k = k & (w > 0)
    return x, y, c, k


def _result(setting, reference, trusted, pair, ref, before, after, n, nk, names, folds=None) -> TagComparison:
    return TagComparison(
        setting=setting, reference=reference, trusted_reference=trusted, model=pair.model, seed=pair.seed,
        folds=folds, num_train=n, num_train_cleaned=nk, num_dropped=int(np.count_nonzero(~pair.keep)),
        num_relabeled=int(np.count_nonzero((pair.c != pair.y).any(axis=1))), num_scored=len(ref),
        class_names=tuple(names), original=tag_scores(ref, before), cleaned=tag_scores(ref, after),
    )


def compare_tags_on_test_set(features, labels, clean_labels, test_features, test_labels, *, class_names,
                             keep=None, weight=None, model: str = "logreg", seed: int = 0) -> TagComparison:
    """Fit on every row (original) and every kept row (cleaned); score on the test set's tags."""
    x, y, c, k = _check(features, labels, clean_labels, keep, weight)
    xt, yt = np.asarray(test_features), np.asarray(test_labels, dtype=bool)
    if xt.ndim != 2 or xt.shape[1] != x.shape[1]:
        raise LabelError(f"test features have {xt.shape[-1]} columns but features have {x.shape[1]}; they must match")
    if len(xt) != len(yt):
        raise LabelError(f"test features ({len(xt)} rows) and test labels ({len(yt)}) must have the same rows")
    pair = _Pair(x, y, c, k, model=model, seed=seed)
    before, after, n, nk = pair.predict(np.arange(len(y)), xt)
    return _result("test set", "the test labels", True, pair, yt, before, after, n, nk, class_names)


def compare_tags_on_holdout(features, labels, clean_labels, *, class_names, fraction: float = 0.3, reference=None,
                            keep=None, weight=None, model: str = "logreg", seed: int = 0,
                            against: str = "cleaned") -> TagComparison:
    """Hold out a seeded fraction of the rows (in twentieths, stratified per tag like the folds); fit on the rest;
    score the held-out rows against ``reference`` (trusted tags of every row) or the cleaned tags
    of the kept held-out rows (against="original": the original tags of every held-out row)."""
    from labelcli.core.stratify import multilabel_stratified_folds

    x, y, c, k = _check(features, labels, clean_labels, keep, weight)
    if not 0.0 < fraction < 1.0:
        raise LabelError(f"--test-fraction must be between 0 and 1 (exclusive), got {fraction:g}")
    parts = min(HOLDOUT_PARTS, len(y))  # the fraction in steps of 1/20, stratified like the folds
    test = multilabel_stratified_folds(y, folds=parts, seed=seed) < min(max(1, round(fraction * parts)), parts - 1)
    if reference is not None:
        ref = np.asarray(reference, dtype=bool)
        if ref.shape != y.shape:
            raise LabelError(f"reference tags have shape {ref.shape} but labels have {y.shape}; they must match")
        scored, what, trusted = np.ones(len(y), bool), "the trusted --test-labels", True
    else:
        ref, scored, what, trusted = scored_against(against, y, c, k)
    pair = _Pair(x, y, c, k, model=model, seed=seed)
    rows = np.flatnonzero(test & scored)
    if rows.size == 0:
        raise LabelError("every held-out row is dropped in the cleaned labels; nothing to score")
    before, after, n, nk = pair.predict(np.flatnonzero(~test), x[rows])
    return _result("held-out fraction", what, trusted, pair, ref[rows], before, after, n, nk, class_names)


def compare_tags_cross_validated(features, labels, clean_labels, *, class_names, folds: int = 5, keep=None,
                                 weight=None, model: str = "logreg", seed: int = 0, progress=None,
                                 against: str = "cleaned") -> TagComparison:
    """K folds stratified per tag by the original labels (labelcli.core.stratify, seeded); every
    row is predicted by the two models fitted on the other folds and scored against its cleaned
    tags, kept rows only (against="original": every row against its original tags)."""
    from labelcli.core.stratify import check_tag_counts, multilabel_stratified_folds

    x, y, c, k = _check(features, labels, clean_labels, keep, weight)
    ref, scored, what, trusted = scored_against(against, y, c, k)
    check_tag_counts(y, folds, class_names=class_names)
    fold_id = multilabel_stratified_folds(y, folds=folds, seed=seed)
    pair = _Pair(x, y, c, k, model=model, seed=seed)
    before, after = np.zeros(y.shape), np.zeros(y.shape)
    n_train = n_kept = 0
    for f in range(folds):
        train, test = np.flatnonzero(fold_id != f), np.flatnonzero(fold_id == f)
        before[test], after[test], n, nk = pair.predict(train, x[test])
        n_train, n_kept = max(n_train, n), max(n_kept, nk)
        if progress is not None:
            progress(f + 1, folds)
    return _result("cross-validation", what, trusted, pair, ref[scored], before[scored], after[scored],
                   n_train, n_kept, class_names, folds=folds)
