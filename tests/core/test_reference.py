"""labelcli.core.reference and core.refknn: a batch checked against a reference set's thresholds,
noise estimate and kNN index; the drift figures."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli import LabelError, find_label_issues, per_class_thresholds
from labelcli.core import reference as ref
from labelcli.core.knn import knn_graph
from labelcli.core.neighbors import outlier_scores
from labelcli.core.refknn import ReferenceIndex
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def digits():
    return np.load(SAMPLE / "digits_labels.npy"), np.load(SAMPLE / "digits_pred_probs.npy")


@pytest.mark.parametrize("compat", [None, "cleanlab"])
def test_reference_equal_to_the_batch_reproduces_the_plain_run(digits, compat):
    y, p = digits
    fit = ref.fit_reference(y, p)
    np.testing.assert_array_equal(fit.thresholds, per_class_thresholds(y, p))
    got = ref.find_batch_issues(fit, y, p, compat=compat)
    want = find_label_issues(y, p, compat=compat)
    np.testing.assert_array_equal(got.mask, want.mask)
    np.testing.assert_array_equal(got.ranking, want.ranking)


def test_thresholds_come_from_the_reference():
    # reference: class 1 is only ever predicted with 0.95+ (threshold 0.95); the batch's own class-1
    # rows are at 0.6, so row 0 (label 0, p1 = 0.7) is confidently class 1 by the batch's own
    # thresholds but not by the reference's.
    ref_y = np.array([0, 0, 1, 1, 2, 2])
    ref_p = np.array([[.9, .05, .05], [.9, .05, .05], [.02, .96, .02], [.03, .95, .02], [.1, .1, .8], [.1, .1, .8]])
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([[.3, .7, 0.], [.9, .05, .05], [.2, .6, .2], [.2, .6, .2], [.1, .1, .8], [.1, .1, .8]])
    alone = find_label_issues(y, p, filter_by="confident_learning")
    assert alone.mask[0]
    fit = ref.fit_reference(ref_y, ref_p)
    assert fit.thresholds[1] == pytest.approx(0.955)
    assert not ref.find_batch_issues(fit, y, p, filter_by="confident_learning").mask[0]


def test_noise_estimate_comes_from_the_reference(digits):
    # a clean batch (the true labels) still gets the reference's noise share flagged by the counted filter
    y, p = digits
    true = np.load(SAMPLE / "digits_true_labels.npy")
    fit = ref.fit_reference(y[:1000], p[:1000])
    batch = ref.find_batch_issues(fit, true[1000:], p[1000:], filter_by="low_posterior")
    from labelcli.core.latent import calibrated_off_diagonal

    assert batch.num_issues == calibrated_off_diagonal(fit.adjusted_joint, np.bincount(true[1000:], minlength=10))
    assert batch.num_issues > 0.5 * fit.noise_rate * 797


def test_batch_checks(digits):
    y, p = digits
    fit = ref.fit_reference(y[y < 5], p[y < 5])  # classes 5..9 never given in the reference
    with pytest.raises(LabelError, match="no example of"):
        ref.find_batch_issues(fit, y, p)
    with pytest.raises(LabelError, match="3 classes but the reference has 10"):
        ref.check_batch(fit, np.array([0, 1, 2]), 3)


def test_class_mix_drift():
    d = ref.batch_drift(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1]), 3)
    assert d.class_mix_tvd == pytest.approx(0.25)
    assert d.figures() == {"class_mix_tvd": pytest.approx(0.25)}
    assert ref.batch_drift(np.array([0, 1]), np.array([1, 0]), 2).class_mix_tvd == 0
    d = ref.batch_drift(np.array([0]), np.array([1]), 2, reference_outlier_rate=0.02, batch_outlier_rate=0.1)
    assert d.class_mix_tvd == 1 and d.figures()["outlier_rate_change"] == pytest.approx(0.08)
    assert d.to_dict(["a", "b"])["class_shares"][1] == {"class": "b", "reference": 0.0, "batch": 1.0, "change": 1.0}


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_reference_index_fit_and_score(metric):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)) + 3
    index = ReferenceIndex.fit(x, k=5, metric=metric)
    own = outlier_scores(knn_graph(x, k=5, metric=metric))
    assert index.scaling == own.scaling and index.threshold == own.threshold
    assert index.outlier_rate == pytest.approx(own.is_outlier.mean())
    q = np.vstack([x[:3] + 1e-3, rng.normal(size=(2, 5)) * 50])
    got = index.score(q)
    # brute force: mean distance to the 5 nearest reference rows
    if metric == "cosine":
        qn, xn = q / np.linalg.norm(q, axis=1, keepdims=True), x / np.linalg.norm(x, axis=1, keepdims=True)
        d = 1 - qn @ xn.T
    else:
        d = np.linalg.norm(q[:, None] - x[None], axis=2)
    np.testing.assert_allclose(got.mean_distance, np.sort(d, axis=1)[:, :5].mean(axis=1), atol=1e-9)
    assert not got.is_outlier[:3].any() and got.is_outlier[3:].all()
    with pytest.raises(LabelError, match="4 columns but the reference features have 5"):
        index.score(q[:, :4])


# --- multi-label: per-tag thresholds from the reference ------------------------------------------


@pytest.fixture(scope="module")
def tags():
    return np.load(SAMPLE / "digits_tags.npy").astype(bool), np.load(SAMPLE / "digits_tag_pred_probs.npy")


@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "both", "confident_learning", "low_self_confidence"])
def test_tag_reference_equal_to_the_batch_reproduces_the_plain_run(tags, filter_by):
    from labelcli.core import multilabel as ml

    y, p = tags
    fit = ref.fit_reference_tags(y, p)
    assert fit.num_classes == y.shape[1] and fit.num_examples == len(y)
    assert fit.noise_rate == ml.health_summary(y, p).noise_rate
    got = ml.find_label_issues(y, p, filter_by=filter_by, reference=fit.tags)
    want = ml.find_label_issues(y, p, filter_by=filter_by)
    np.testing.assert_array_equal(got.tag_issues, want.tag_issues)
    np.testing.assert_array_equal(got.ranking, want.ranking)


def test_tag_thresholds_come_from_the_reference(tags):
    """A reference whose model is less sure of tag 0 lowers that tag's thresholds, so more of the
    batch's tag-0 annotations count as confidently wrong; the other tags' flags do not change."""
    from labelcli.core import multilabel as ml

    y, p = tags
    unsure = p.copy()
    unsure[:, 0] = 0.3 + 0.4 * p[:, 0]
    fit = ref.fit_reference_tags(y, unsure)
    assert (fit.tags[0].thresholds < ref.fit_reference_tags(y, p).tags[0].thresholds - 0.2).all()
    plain = ml.find_label_issues(y, p, filter_by="confident_learning")
    lent = ml.find_label_issues(y, p, filter_by="confident_learning", reference=fit.tags)
    assert lent.tag_issues[:, 0].sum() > plain.tag_issues[:, 0].sum()
    np.testing.assert_array_equal(plain.tag_issues[:, 1:], lent.tag_issues[:, 1:])


def test_a_tag_constant_in_the_reference_is_refused(tags):
    y, p = tags
    y = y.copy()
    y[:, 2] = False
    with pytest.raises(LabelError, match="tag prime is never present in the reference"):
        ref.fit_reference_tags(y, p, ("even", "five", "prime", "loop", "straight", "symmetric"))


def test_python_api_takes_a_tag_fit(tags):
    import labelcli

    y, p = tags
    fit = labelcli.fit_reference_tags(y[:1000], p[:1000])
    got = labelcli.find_batch_issues(fit, y[1000:], p[1000:])
    want = labelcli.multilabel.find_label_issues(y[1000:], p[1000:], reference=fit.tags)
    np.testing.assert_array_equal(got.ranking, want.ranking)
    with pytest.raises(LabelError, match="N x 6 0/1 matrix"):
        labelcli.find_batch_issues(fit, y[1000:, 0].astype(int), p[1000:])
