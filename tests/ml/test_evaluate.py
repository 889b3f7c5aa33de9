"""labelcli.ml.evaluate: original vs cleaned labels, same model, three settings."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from labelcli.ml import evaluate
from labelcli.errors import LabelError


def blobs(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = np.array([[0, 0], [2.5, 0], [0, 2.5]])[y] + rng.normal(size=(n, 2))
    return x, y


@pytest.fixture(scope="module")
def data():
    """Three 2-D blobs; 45% of class 0 systematically mislabeled as class 1 (91 of 600 rows)."""
    x, truth = blobs(600, 0)
    xt, yt = blobs(600, 1)
    flip = (truth == 0) & (np.random.default_rng(2).random(600) < 0.45)
    noisy = truth.copy()
    noisy[flip] = 1
    return x, noisy, truth, flip, xt, yt


# ------------------------------------------------------------------------------------ metrics


def test_classification_scores_match_sklearn():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=200)
    y = rng.integers(0, 4, 200)
    s = evaluate.classification_scores(y, proba, 4)
    assert s.accuracy == pytest.approx(np.mean(proba.argmax(1) == y))
    assert s.macro_f1 == pytest.approx(f1_score(y, proba.argmax(1), average="macro"))
    assert s.auroc == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))


def test_classification_scores_hand_computed():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    s = evaluate.classification_scores(y, proba, 2)
    assert s.accuracy == 0.75
    # class 0: P=1 R=0.5 F1=2/3; class 1: P=2/3 R=1 F1=0.8
    assert s.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert s.auroc == 1.0  # every 1 has a higher p(1) than every 0


def test_classification_scores_single_class_reference_has_no_auroc():
    s = evaluate.classification_scores(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]), 2)
    assert s.auroc is None and s.accuracy == 0.5


# ----------------------------------------------------------------------------------- settings


def test_test_set_cleaning_helps_and_is_deterministic(data):
    x, noisy, truth, flip, xt, yt = data
    r = evaluate.compare_on_test_set(x, noisy, truth, xt, yt, num_classes=3, seed=0)
    assert r.setting == "test set" and r.trusted_reference
    assert r.num_relabeled == 91 and r.num_dropped == 0 and r.num_scored == 600
    assert r.cleaned.accuracy > r.original.accuracy + 0.05
    assert r.difference()["accuracy"] == pytest.approx(r.cleaned.accuracy - r.original.accuracy)
    again = evaluate.compare_on_test_set(x, noisy, truth, xt, yt, num_classes=3, seed=0)
    assert again.to_dict() == r.to_dict()


def test_dropped_rows_are_not_trained_on(data):
    """Dropping = training on the kept rows only: their (garbage) labels must not matter."""
    x, noisy, truth, flip, xt, yt = data
    garbage = noisy.copy()
    garbage[flip] = 2  # would hurt if used
    dropped = evaluate.compare_on_test_set(x, noisy, garbage, xt, yt, num_classes=3, keep=~flip)
    subset = evaluate.compare_on_test_set(x[~flip], noisy[~flip], noisy[~flip], xt, yt, num_classes=3)
    assert dropped.cleaned == subset.cleaned
    assert dropped.num_train_cleaned == 600 - 91 and dropped.num_dropped == 91
    # weight 0 means dropped too
    w = (~flip).astype(float)
    by_weight = evaluate.compare_on_test_set(x, noisy, garbage, xt, yt, num_classes=3, weight=w)
    assert by_weight.cleaned == subset.cleaned


def test_fractional_weights_reach_the_model(data):
    x, noisy, truth, flip, xt, yt = data
    w = np.where(flip, 0.05, 1.0)
    r = evaluate.compare_on_test_set(x, noisy, noisy, xt, yt, num_classes=3, weight=w)
    assert r.cleaned != r.original  # same labels, different weights -> a different model
    with pytest.raises(LabelError, match="does not accept sample weights"):
        evaluate.compare_on_test_set(x, noisy, noisy, xt, yt, num_classes=3, weight=w, model="knn")


def test_holdout_against_trusted_reference(data):
    x, noisy, truth, flip, *_ = data
    r = evaluate.compare_on_holdout(x, noisy, truth, num_classes=3, fraction=0.25, reference=truth, seed=3)
    assert r.setting == "held-out fraction" and r.trusted_reference
    assert r.num_scored == 150 and r.num_train == 450
    assert r.cleaned.accuracy > r.original.accuracy
    noisy_ref = evaluate.compare_on_holdout(x, noisy, truth, num_classes=3, fraction=0.25, seed=3, against="original")
    assert not noisy_ref.trusted_reference and "noisy" in noisy_ref.reference
    cleaned_ref = evaluate.compare_on_holdout(x, noisy, truth, num_classes=3, fraction=0.25, seed=3)
    assert cleaned_ref.trusted_reference and cleaned_ref.cleaned == r.cleaned  # cleaned labels = truth here
    # same split, same models: only the reference differs
    assert noisy_ref.num_scored == r.num_scored


def test_stratified_holdout():
    y = np.repeat([0, 1, 2], [10, 20, 1])
    m = evaluate.stratified_holdout(y, 0.3, seed=0)
    assert [int(m[y == k].sum()) for k in range(3)] == [3, 6, 0]  # a 1-example class stays in training
    assert np.array_equal(m, evaluate.stratified_holdout(y, 0.3, seed=0))
    assert not np.array_equal(m, evaluate.stratified_holdout(y, 0.3, seed=1))
    for bad in (0.0, 1.0, -0.2):
        with pytest.raises(LabelError, match="--test-fraction must be between 0 and 1"):
            evaluate.stratified_holdout(y, bad)
    with pytest.raises(LabelError, match="holds out no rows"):
        evaluate.stratified_holdout(np.array([0, 0, 1, 1]), 0.1)


def test_cross_validated_scores_against_original_labels(data):
    x, noisy, truth, flip, *_ = data
    r = evaluate.compare_cross_validated(x, noisy, noisy, num_classes=3, folds=3, seed=0, against="original")
    assert r.setting == "cross-validation" and not r.trusted_reference and r.folds == 3
    assert r.num_scored == 600 and r.num_train == 400
    assert r.cleaned == r.original  # identical labels -> identical models and scores
    done = []
    evaluate.compare_cross_validated(x, noisy, truth, num_classes=3, folds=3, progress=lambda d, t: done.append((d, t)))
    assert done == [(1, 3), (2, 3), (3, 3)]


def test_errors():
    x, y = blobs(30, 0)
    with pytest.raises(LabelError, match="same rows"):
        evaluate.compare_cross_validated(x, y, y[:-1], num_classes=3)
    with pytest.raises(LabelError, match="--folds 40"):
        evaluate.compare_cross_validated(x, y, y, num_classes=3, folds=40)
    with pytest.raises(LabelError, match="test features have 3 columns but features have 2"):
        evaluate.compare_on_test_set(x, y, y, np.zeros((5, 3)), np.zeros(5), num_classes=3)
    with pytest.raises(LabelError, match="every training row is dropped"):
        evaluate.compare_on_test_set(x, y, y, x, y, num_classes=3, keep=np.zeros(30, bool))
    with pytest.raises(LabelError, match="fewer than 2 classes"):
        evaluate.compare_on_test_set(x, y, np.zeros(30, int), x, y, num_classes=3)
    with pytest.raises(LabelError, match="weights must be finite and >= 0"):
        evaluate.compare_on_test_set(x, y, y, x, y, num_classes=3, weight=-np.ones(30))
    with pytest.raises(LabelError, match="unknown model"):
        evaluate.compare_on_test_set(x, y, y, x, y, num_classes=3, model="nope")


def test_cross_validated_default_scores_cleaned_labels_of_kept_rows(data):
    """Issue #14 item 3: correct fixes must not look like a loss. Scored against the noisy labels the
    cleaned model is penalised for disagreeing with the noise; against the cleaned labels it is not."""
    x, noisy, truth, flip, *_ = data
    keep = np.ones(len(noisy), dtype=bool)
    keep[:20] = False
    r = evaluate.compare_cross_validated(x, noisy, truth, num_classes=3, folds=3, seed=0, keep=keep)
    assert r.trusted_reference and r.reference == evaluate.CLEANED_REF and r.num_scored == len(noisy) - 20
    biased = evaluate.compare_cross_validated(x, noisy, truth, num_classes=3, folds=3, seed=0, keep=keep,
                                              against="original")
    assert r.cleaned.accuracy > biased.cleaned.accuracy
    row = evaluate.history_row(r, 2)
    assert list(row) == list(evaluate.HISTORY_COLUMNS) and row["round"] == 2 and row["rows_dropped"] == 20
