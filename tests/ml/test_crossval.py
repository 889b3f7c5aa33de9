"""Tests for labelcli.ml.crossval (out-of-sample pred_probs) and the shipped sample_data files."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelcli.errors import LabelError
from labelcli.ml.crossval import MODELS, CrossValResult, _fold_probs, cross_val_pred_probs, make_model
from tests.conftest import DIGIT_NAMES as CLASS_NAMES
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(np.float32), d.target.astype(np.int64)


@pytest.fixture(scope="module")
def small(digits):
    """Classes 0, 1, 2 only, 60 rows of each (180 rows): fast enough for every model."""
    x, y = digits
    rows = np.concatenate([np.flatnonzero(y == k)[:60] for k in range(3)])
    return x[rows], y[rows]


def _assert_probs(p: np.ndarray, n: int, k: int) -> None:
    assert p.shape == (n, k)
    assert p.dtype == np.float64
    assert np.isfinite(p).all()
    assert (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- results


def test_logreg_on_digits_shape_rowsums_and_accuracy(digits):
    x, y = digits
    r = cross_val_pred_probs(x, y, num_classes=10)
    assert isinstance(r, CrossValResult)
    _assert_probs(r.pred_probs, len(y), 10)
    assert r.model == "logreg" and r.folds == 5
    assert len(r.fold_accuracies) == 5
    assert r.accuracy == pytest.approx(np.mean(r.pred_probs.argmax(axis=1) == y))
    assert min(r.fold_accuracies) <= r.accuracy <= max(r.fold_accuracies)
    # Out-of-sample on clean labels: good, but not the 100% an in-sample fit reaches.
    assert 0.93 < r.accuracy < 1.0


def test_knn_is_out_of_sample(digits):
    """Distance-weighted kNN scores 100% on its own training rows; held-out rows do not."""
    x, y = digits
    r = cross_val_pred_probs(x, y, num_classes=10, model="knn")
    assert 0.9 < r.accuracy < 1.0
    in_sample = make_model("knn").fit(x, y).predict(x)
    assert np.mean(in_sample == y) == 1.0


def test_random_labels_give_chance_accuracy():
    """Labels unrelated to the features: out-of-sample accuracy stays near chance (1/4)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 5))
    y = rng.integers(0, 4, size=400)
    r = cross_val_pred_probs(x, y, num_classes=4, model="knn")
    assert r.accuracy < 0.4


@pytest.mark.parametrize("model", MODELS)
def test_each_builtin_model(small, model):
    x, y = small
    r = cross_val_pred_probs(x, y, num_classes=3, model=model, folds=3)
    _assert_probs(r.pred_probs, len(y), 3)
    assert r.accuracy > 0.9
    assert r.model == model and r.folds == 3


def test_module_class_spec(small):
    x, y = small
    r = cross_val_pred_probs(x, y, num_classes=3, model="sklearn.naive_bayes:GaussianNB", folds=3)
    _assert_probs(r.pred_probs, len(y), 3)
    assert r.accuracy > 0.8
    assert r.model == "sklearn.naive_bayes:GaussianNB"


def test_module_class_gets_seed():
    est = make_model("sklearn.ensemble:ExtraTreesClassifier", seed=7)
    assert est.get_params()["random_state"] == 7


def test_builtin_models_get_seed():
    assert make_model("hgb", seed=3).random_state == 3
    rf = make_model("rf", seed=4)
    assert rf.random_state == 4 and rf.n_estimators == 200 and rf.n_jobs == 1


def test_missing_class_gets_zero_column(digits):
    """Classes 0..4 declared, class 3 has no examples: its column is 0, the rest sum to 1."""
    x, y = digits
    rows = np.flatnonzero(np.isin(y, [0, 1, 2, 4]))
    r = cross_val_pred_probs(x[rows], y[rows], num_classes=5, folds=3)
    _assert_probs(r.pred_probs, len(rows), 5)
    assert (r.pred_probs[:, 3] == 0).all()
    assert (r.pred_probs.argmax(axis=1) != 3).all()
    assert r.accuracy > 0.95


def test_fold_probs_maps_classes_to_columns():
    class Fake:
        classes_ = np.array([0, 2, 3])

        def predict_proba(self, x):
            return np.tile([0.2, 0.3, 0.5], (len(x), 1))

    p = _fold_probs(Fake(), "fake", np.zeros((2, 1)), 5)
    np.testing.assert_array_equal(p, [[0.2, 0, 0.3, 0.5, 0]] * 2)


def test_deterministic_bitwise(digits, small):
    x, y = digits
    a = cross_val_pred_probs(x, y, num_classes=10, seed=3).pred_probs
    b = cross_val_pred_probs(x, y, num_classes=10, seed=3).pred_probs
    assert a.tobytes() == b.tobytes()
    xs, ys = small
    for model in ("hgb", "rf", "knn"):
        a = cross_val_pred_probs(xs, ys, num_classes=3, model=model, folds=3, seed=1).pred_probs
        b = cross_val_pred_probs(xs, ys, num_classes=3, model=model, folds=3, seed=1).pred_probs
        assert a.tobytes() == b.tobytes(), model


def test_seed_changes_folds(small):
    x, y = small
    a = cross_val_pred_probs(x, y, num_classes=3, folds=3, seed=0).pred_probs
    b = cross_val_pred_probs(x, y, num_classes=3, folds=3, seed=1).pred_probs
    assert not np.array_equal(a, b)


def test_progress_called_once_per_fold(small):
    x, y = small
    calls = []
    cross_val_pred_probs(x, y, num_classes=3, folds=4, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_accepts_lists_and_float_labels():
    x = [[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]]
    r = cross_val_pred_probs(x, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], num_classes=2, folds=3)
    _assert_probs(r.pred_probs, 6, 2)


def test_convergence_warnings_are_silenced(small, monkeypatch):
    """A model that stops before converging must not print sklearn's ConvergenceWarning."""
    import warnings

    from sklearn.linear_model import LogisticRegression

    import labelcli.ml.crossval as cv

    monkeypatch.setattr(cv, "_builtin_model", lambda spec, seed: LogisticRegression(max_iter=1))
    x, y = small
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cross_val_pred_probs(x, y, num_classes=3, folds=2)
        # Sanity: the same fit outside cross_val_pred_probs does warn.
        LogisticRegression(max_iter=1).fit(x, y)
    assert len([w for w in caught if "converge" in str(w.message).lower()]) == 1


# ---------------------------------------------------------------- errors


def _one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert msg and "\n" not in msg
    return msg


@pytest.mark.parametrize(
    "spec",
    ["nope", "", "   ", "nosuch_module_xyz:Model", "sklearn.naive_bayes:NoSuchClass", ":GaussianNB",
     "sklearn.naive_bayes:"],
)
def test_bad_model_spec(spec):
    with pytest.raises(LabelError) as ei:
        make_model(spec)
    msg = _one_line_error(ei)
    assert "logreg" in msg and "knn" in msg


def test_model_without_predict_proba():
    for spec in ("sklearn.svm:SVC", "sklearn.linear_model:SGDClassifier"):
        with pytest.raises(LabelError, match="has no predict_proba") as ei:
            make_model(spec)
        _one_line_error(ei)


def test_bad_model_spec_fails_before_fitting(small):
    x, y = small
    calls = []
    with pytest.raises(LabelError, match="unknown model 'xgb'"):
        cross_val_pred_probs(x, y, num_classes=3, model="xgb", progress=lambda d, t: calls.append(d))
    assert calls == []


@pytest.mark.parametrize("folds", [1, 0, -3])
def test_folds_below_two(small, folds):
    x, y = small
    with pytest.raises(LabelError, match="at least 2") as ei:
        cross_val_pred_probs(x, y, num_classes=3, folds=folds)
    _one_line_error(ei)


def test_folds_more_than_rows():
    x = np.arange(6.0).reshape(-1, 1)
    with pytest.raises(LabelError, match="more than the number of examples"):
        cross_val_pred_probs(x, [0, 0, 0, 1, 1, 1], num_classes=2, folds=7)


def test_folds_not_integer(small):
    x, y = small
    with pytest.raises(LabelError, match="whole number"):
        cross_val_pred_probs(x, y, num_classes=3, folds=2.5)


def test_class_with_too_few_examples(small):
    x, y = small
    x, y = x[:122], y[:122]  # rows are 60 x class 0, 60 x class 1, then class 2: keep 2 of it
    assert np.bincount(y).tolist() == [60, 60, 2]
    with pytest.raises(LabelError) as ei:
        cross_val_pred_probs(x, y, num_classes=3, folds=5)
    msg = _one_line_error(ei)
    assert "class 2 has 2 examples, fewer than --folds 5" in msg
    assert "--folds 2" in msg
    # The suggestion works.
    cross_val_pred_probs(x, y, num_classes=3, folds=2)


def test_class_with_one_example():
    x = np.arange(7.0).reshape(-1, 1)
    with pytest.raises(LabelError, match="class 1 has 1 example, fewer than --folds 2; drop"):
        cross_val_pred_probs(x, [0, 0, 0, 1, 2, 2, 2], num_classes=3, folds=2)


def test_single_class_present():
    with pytest.raises(LabelError, match="at least 2 classes"):
        cross_val_pred_probs(np.zeros((10, 2)), np.zeros(10, dtype=int), num_classes=2, folds=2)


def test_input_validation(small):
    x, y = small
    with pytest.raises(LabelError, match="must describe the same examples"):
        cross_val_pred_probs(x[:-1], y, num_classes=3)
    with pytest.raises(LabelError, match="outside 0..1"):
        cross_val_pred_probs(x, y, num_classes=2)
    with pytest.raises(LabelError, match="num_classes"):
        cross_val_pred_probs(x, y, num_classes=1)
    bad = x.copy()
    bad[5, 3] = np.nan
    with pytest.raises(LabelError, match="NaN"):
        cross_val_pred_probs(bad, y, num_classes=3)
    with pytest.raises(LabelError, match="2-D"):
        cross_val_pred_probs(x[:, 0], y, num_classes=3)


def test_model_fit_failure_is_label_error(small):
    x, y = small
    with pytest.raises(LabelError, match="failed to fit fold 1 of 2") as ei:
        # MultinomialNB rejects negative features.
        cross_val_pred_probs(x - 100, y, num_classes=3, model="sklearn.naive_bayes:MultinomialNB", folds=2)
    _one_line_error(ei)


# ---------------------------------------------------------------- sample_data


@pytest.fixture(scope="module")
def sample():
    return {
        name: np.load(SAMPLE / f"digits_{name}.npy")
        for name in ("features", "labels", "pred_probs", "true_labels", "is_error")
    }


def test_sample_npy_shapes_and_ground_truth(sample):
    n = 1797
    assert sample["features"].shape == (n, 64) and sample["features"].dtype == np.float32
    assert sample["pred_probs"].shape == (n, 10) and sample["pred_probs"].dtype == np.float32
    for key in ("labels", "true_labels"):
        assert sample[key].shape == (n,) and sample[key].dtype == np.int64
        assert sample[key].min() == 0 and sample[key].max() == 9
    assert sample["is_error"].dtype == np.bool_
    np.testing.assert_array_equal(sample["is_error"], sample["labels"] != sample["true_labels"])
    assert sample["is_error"].sum() == 90  # 5.0%
    # Every true class lost some labels.
    assert (np.bincount(sample["true_labels"][sample["is_error"]], minlength=10) > 0).all()
    np.testing.assert_allclose(sample["pred_probs"].sum(axis=1), 1.0, atol=1e-5)


def test_sample_true_labels_are_sklearn_digits(sample, digits):
    x, y = digits
    np.testing.assert_array_equal(sample["true_labels"], y)
    np.testing.assert_array_equal(sample["features"], x)


def test_sample_pred_probs_regenerate(sample):
    r = cross_val_pred_probs(sample["features"], sample["labels"], num_classes=10, model="logreg",
                             folds=5, seed=0)
    np.testing.assert_allclose(r.pred_probs, sample["pred_probs"], atol=1e-5)


def _check_table(df: pd.DataFrame, sample) -> None:
    names = np.array(CLASS_NAMES)
    assert len(df) == 1797
    expected_cols = (["index", "label"] + [f"prob_{c}" for c in CLASS_NAMES]
                     + [f"px_{j}" for j in range(64)] + ["true_label", "is_error"])
    assert list(df.columns) == expected_cols
    np.testing.assert_array_equal(df["index"].to_numpy(), np.arange(1797))
    np.testing.assert_array_equal(df["label"].to_numpy(dtype=object), names[sample["labels"]])
    np.testing.assert_array_equal(df["true_label"].to_numpy(dtype=object), names[sample["true_labels"]])
    np.testing.assert_array_equal(df["is_error"].to_numpy(dtype=bool), sample["is_error"])
    probs = df[[f"prob_{c}" for c in CLASS_NAMES]].to_numpy(dtype=np.float64).astype(np.float32)
    np.testing.assert_array_equal(probs, sample["pred_probs"])
    px = df[[f"px_{j}" for j in range(64)]].to_numpy(dtype=np.float64).astype(np.float32)
    np.testing.assert_array_equal(px, sample["features"])


def test_sample_csv_table_matches_npy(sample):
    _check_table(pd.read_csv(SAMPLE / "digits.csv"), sample)


def test_sample_parquet_table_matches_npy(sample):
    _check_table(pd.read_parquet(SAMPLE / "digits.parquet"), sample)


def test_sample_two_file_form(sample):
    names = np.array(CLASS_NAMES)
    labels = pd.read_csv(SAMPLE / "labels.csv")
    assert list(labels.columns) == ["index", "label"]
    np.testing.assert_array_equal(labels["index"].to_numpy(), np.arange(1797))
    np.testing.assert_array_equal(labels["label"].to_numpy(dtype=object), names[sample["labels"]])
    probs = pd.read_csv(SAMPLE / "pred_probs.csv")
    assert list(probs.columns) == CLASS_NAMES
    np.testing.assert_array_equal(probs.to_numpy(dtype=np.float64).astype(np.float32), sample["pred_probs"])


def test_sample_size_is_small():
    total = sum(p.stat().st_size for p in SAMPLE.iterdir() if p.is_file())
    assert total < 3_000_000
