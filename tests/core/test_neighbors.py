"""Feature-space checks: exact kNN graph, outliers, near duplicates, class balance."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.datasets import load_digits, load_iris
from sklearn.neighbors import NearestNeighbors

from labelcli.core.neighbors import (
    KnnGraph,
    class_balance,
    knn_graph,
    near_duplicate_sets,
    ood_scores_from_pred_probs,
    outlier_scores,
)
from labelcli.errors import LabelError


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x, y


# --- kNN graph --------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_knn_matches_sklearn_brute(metric, dtype):
    rng = np.random.default_rng(7)
    # 700 rows in 64-row tiles: many off-diagonal tiles and a folded last block (700 = 10 x 64 + 60).
    x = (rng.standard_normal((700, 12)) + 5 * rng.standard_normal((1, 12))).astype(dtype)
    g = knn_graph(x, k=9, metric=metric, block_rows=64)
    nn = NearestNeighbors(n_neighbors=10, metric=metric, algorithm="brute")
    ref_d, ref_i = nn.fit(x.astype(np.float64)).kneighbors()  # same values, float64 arithmetic
    assert g.indices.shape == (700, 9) and g.indices.dtype == np.int64
    np.testing.assert_allclose(g.distances, ref_d[:, :9], rtol=1e-9, atol=1e-12)
    # Indices agree except between neighbours whose distances tie (none expected here).
    near_tie = np.diff(ref_d, axis=1) < 1e-12  # [:, j]: positions j and j + 1
    tied = near_tie[:, :9].copy()
    tied[:, 1:] |= near_tie[:, :8]
    np.testing.assert_array_equal(g.indices[~tied], ref_i[:, :9][~tied])
    assert tied.mean() < 0.01
    if dtype == np.float32:  # sklearn in float32 arithmetic: same distances within its rounding
        np.testing.assert_allclose(g.distances, nn.fit(x).kneighbors()[0][:, :9], atol=1e-5)
    assert (g.metric, g.k) == (metric, 9)


def test_knn_integer_features_agree_with_sklearn_up_to_ties(digits):
    x, _ = digits
    g = knn_graph(x, k=10, block_rows=256)
    ref_d, ref_i = NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute").fit(x).kneighbors()
    np.testing.assert_allclose(g.distances, ref_d, atol=1e-9)
    # Wherever a row has no tied distances, the neighbour lists are identical.
    untied = (np.diff(ref_d, axis=1) > 1e-12).all(axis=1)
    assert untied.mean() > 0.9
    np.testing.assert_array_equal(g.indices[untied], ref_i[untied])
    # The result does not depend on the tiling (ties are broken by row index).
    g2 = knn_graph(x, k=10, block_rows=97)
    np.testing.assert_array_equal(g.indices, g2.indices)
    np.testing.assert_array_equal(g.distances, g2.distances)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_copies_self_excluded_by_index(metric):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((60, 5))
    x[[10, 11]] = x[4]  # row 4 has two exact copies: distance 0, but never itself
    g = knn_graph(x, k=3, metric=metric, block_rows=16)
    assert not (g.indices == np.arange(60)[:, None]).any()
    assert (np.diff(g.distances, axis=1) >= 0).all()
    np.testing.assert_array_equal(g.indices[4, :2], [10, 11])
    np.testing.assert_array_equal(g.indices[11, :2], [4, 10])
    assert (g.distances[[4, 10, 11], :2] == 0).all()


@pytest.mark.parametrize("block_rows", [8, 64, 4096])
def test_more_than_k_copies_list_lowest_indexed_copies(block_rows):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 6))
    # 23 copies, k = 4: more copies than the search shortlists (k + 8), most of them in a later
    # tile than the lowest-indexed ones.
    copies = np.array([3, 10, 20] + list(range(70, 90)))
    x[copies] = x[3]
    g = knn_graph(x, k=4, metric="euclidean", block_rows=block_rows)
    np.testing.assert_array_equal(g.indices[3], [10, 20, 70, 71])
    np.testing.assert_array_equal(g.indices[71], [3, 10, 20, 70])
    np.testing.assert_array_equal(g.indices[89], [3, 10, 20, 70])
    assert (g.distances[copies] == 0).all()


def test_differences_below_float32_resolution_are_ordered_exactly():
    rng = np.random.default_rng(6)
    u = rng.standard_normal((6, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    # Rows 1..6 at distance 1 + (6 - i) 1e-9 from row 0: equal in float32, the last is nearest.
    x = np.vstack([np.zeros(3), u * (1 + 1e-9 * np.arange(5, -1, -1))[:, None]])
    x = np.vstack([x, 50 + rng.standard_normal((30, 3))])
    g = knn_graph(x, k=2, metric="euclidean")
    np.testing.assert_array_equal(g.indices[0], [6, 5])
    np.testing.assert_allclose(g.distances[0], [1.0, 1 + 1e-9], rtol=1e-13)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n=st.integers(4, 70),
    d=st.integers(1, 5),
    k=st.integers(1, 6),
    copies=st.integers(0, 12),
    block_rows=st.sampled_from([3, 16, 2048]),
    metric=st.sampled_from(["cosine", "euclidean"]),
    seed=st.integers(0, 2**16),
)
def test_knn_invariants_against_brute_force(n, d, k, copies, block_rows, metric, seed):
    k = min(k, n - 1)
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (n, d)).astype(float)  # small integers: many exact ties and copies
    x[rng.integers(0, n, copies)] = x[0]
    if (x == x[0]).all():
        x[-1] = x[0] + 1  # not all rows identical
    x[~x.any(axis=1)] = 1.0  # cosine needs a direction
    g = knn_graph(x, k=k, metric=metric, block_rows=block_rows)
    if metric == "cosine":
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        full = 0.5 * ((u[:, None, :] - u[None, :, :]) ** 2).sum(axis=2)
    else:
        full = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(full, np.inf)
    rows = np.arange(n)[:, None]
    assert not (g.indices == rows).any()
    assert all(len(set(r)) == k for r in g.indices.tolist())
    np.testing.assert_allclose(g.distances, full[rows, g.indices], atol=1e-12)  # listed = true
    np.testing.assert_allclose(g.distances, np.sort(full, axis=1)[:, :k], atol=1e-12)  # the k nearest
    # Among equal distances the lower row index comes first.
    same = np.diff(g.distances, axis=1) == 0
    assert (np.diff(g.indices, axis=1)[same] > 0).all()


def test_progress_reports_every_tile():
    calls = []
    knn_graph(np.random.default_rng(0).standard_normal((300, 4)), k=5, block_rows=64,
              progress=lambda done, total: calls.append((done, total)))
    dones = [d for d, _ in calls]
    # 5 blocks (4 x 64 + 44 rows): 5 diagonal tiles, then 4 + 3 + 2 + 1 off-diagonal ones.
    assert dones == [5, 9, 12, 14, 15] and {t for _, t in calls} == {15}


@pytest.mark.parametrize(
    "make, kwargs, fragment",
    [
        (lambda x: np.where(np.arange(8)[None, :] == 2, np.nan, x), {}, "NaN at row 0"),
        (lambda x: np.where(np.arange(40)[:, None] == 5, np.inf, x), {}, "inf at row 5"),
        (lambda x: x[:, :0], {}, "0 columns"),
        (lambda x: np.ones_like(x), {"metric": "euclidean"}, "all 40 rows are identical"),
        (lambda x: np.vstack([x[:7], np.zeros((1, 8)), x[8:]]), {}, "row 7 (0-based) is all zeros"),
        (lambda x: x[:10], {}, "10 rows are too few for k=10"),
        (lambda x: x, {"metric": "manhattan"}, "unknown metric"),
        (lambda x: x, {"k": 0}, "k must be"),
        (lambda x: x.astype(str), {}, "must be numbers"),
    ],
)
def test_bad_features_raise_one_line(make, kwargs, fragment):
    x = make(np.random.default_rng(1).standard_normal((40, 8)))
    with pytest.raises(LabelError) as err:
        knn_graph(x, name="emb.npy", **kwargs)
    msg = str(err.value)
    assert fragment in msg and "\n" not in msg
    if "metric" not in kwargs and "k" not in kwargs:
        assert msg.startswith("emb.npy")


@pytest.mark.parametrize("scale", [2.0**-1000, 2.0**1000])
def test_extreme_scales(scale):
    x = np.random.default_rng(2).standard_normal((50, 4))
    ref = knn_graph(x, k=3, metric="euclidean")
    g = knn_graph(x * scale, k=3, metric="euclidean")  # no underflow to 0 nor overflow to inf
    np.testing.assert_array_equal(g.indices, ref.indices)
    np.testing.assert_allclose(g.distances / scale, ref.distances, rtol=1e-12)
    ref, g = knn_graph(x, k=3), knn_graph(x * scale, k=3)
    np.testing.assert_array_equal(g.indices, ref.indices)
    np.testing.assert_allclose(g.distances, ref.distances, rtol=1e-12)


def test_zero_rows_are_fine_under_euclidean():
    x = np.random.default_rng(1).standard_normal((40, 8))
    x[7] = 0
    assert knn_graph(x, k=5, metric="euclidean").indices.shape == (40, 5)


# --- outliers ---------------------------------------------------------------------------------


def test_outlier_scores_match_cleanlab_ood(digits):
    from cleanlab.outlier import OutOfDistribution

    x, _ = digits
    res = outlier_scores(knn_graph(x, k=10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OutOfDistribution().fit_score(features=x)  # cosine, k = 10 for D > 3
    assert spearmanr(res.scores, ref).statistic >= 0.999
    np.testing.assert_allclose(res.scores, ref, atol=1e-9)
    assert 0 < res.scores.min() and res.scores.max() <= 1


def test_planted_outliers_ranked_first(digits):
    x, _ = digits
    rng = np.random.default_rng(0)
    # 5 iris rows mapped into 64 dims. (A group of about k or more alike foreign rows would be
    # each other's neighbours and not look outlying: a limit of every kNN outlier score.)
    iris = load_iris().data[rng.choice(150, 5, replace=False)]
    foreign = np.abs(iris @ rng.standard_normal((4, 64)))
    foreign *= 16 / foreign.max()
    noise = rng.uniform(0, 16, (20, 64))
    data = np.vstack([x, foreign, noise])
    planted = np.arange(len(x), len(data))
    res = outlier_scores(knn_graph(data, k=10))
    top = np.argsort(res.scores, kind="stable")[: int(0.02 * len(data))]
    assert np.isin(planted, top).mean() >= 0.8
    assert res.is_outlier[planted].mean() >= 0.8
    assert res.is_outlier[: len(x)].mean() < 0.05
    cut = np.percentile(res.mean_distance, 75) + 1.7 * _iqr(res.mean_distance)  # Datalab's rule
    assert res.threshold == pytest.approx(np.exp(-cut / res.scaling), rel=1e-3)


def _iqr(a):
    q1, q3 = np.percentile(a, [25, 75])
    return q3 - q1


def test_outlier_threshold_is_a_score_cutoff(digits):
    g = knn_graph(digits[0][:400], k=5)
    res = outlier_scores(g, threshold=0.3)
    np.testing.assert_array_equal(res.is_outlier, res.scores < 0.3)
    with pytest.raises(LabelError, match="in \\[0, 1\\]"):
        outlier_scores(g, threshold=1.5)
    with pytest.raises(LabelError, match="KnnGraph"):
        outlier_scores(np.zeros((3, 3)))


@pytest.mark.parametrize("method", ["entropy", "least_confidence"])
def test_ood_from_pred_probs_matches_cleanlab(method):
    from cleanlab.outlier import OutOfDistribution

    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.full(6, 0.3), size=300)
    p[:5] = np.eye(6)[:5]  # zeros: 0 log 0 = 0
    ours = ood_scores_from_pred_probs(p, method=method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OutOfDistribution(params={"adjust_pred_probs": False, "method": method}).fit_score(pred_probs=p)
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    with pytest.raises(LabelError, match="unknown OOD method"):
        ood_scores_from_pred_probs(p, method="gen")


# --- near duplicates --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_duplicates(digits):
    x, y = digits
    rng = np.random.default_rng(2)
    src = rng.choice(len(x), 45, replace=False)
    exact, near, conflict = src[:15], src[15:40], src[40:]
    copies = np.vstack([x[exact], x[near] + rng.normal(0, 0.05, (25, 64)), x[conflict]])
    labels = np.concatenate([y, y[exact], y[near], (y[conflict] + 1) % 10])
    data = np.vstack([x, copies])
    planted = np.stack([src, np.arange(len(x), len(data))], axis=1)
    return data, labels, planted, np.arange(len(x) + 40, len(data))


def test_planted_duplicates_found(planted_duplicates):
    data, labels, planted, conflict_rows = planted_duplicates
    dup = near_duplicate_sets(knn_graph(data, k=10), labels=labels)
    found = {tuple(p) for p in dup.pairs.tolist()}
    truth = {tuple(sorted(p)) for p in planted.tolist()}
    assert len(found & truth) / len(truth) >= 0.95
    assert len(found - truth) / max(len(found), 1) < 0.05
    assert dup.in_conflicting_set[conflict_rows].all()
    assert dup.num_sets == len(dup.conflicting) >= 43
    # Sets are numbered 0.. by their smallest member; pairs sorted with i < j.
    firsts = [np.flatnonzero(dup.set_id == s)[0] for s in range(dup.num_sets)]
    assert firsts == sorted(firsts)
    assert (dup.pairs[:, 0] < dup.pairs[:, 1]).all()
    assert (np.diff(dup.pairs[:, 0] * len(data) + dup.pairs[:, 1]) > 0).all()
    assert (dup.pair_distance <= dup.radius).all()


def test_flags_match_datalab_issue_managers(planted_duplicates):
    """Who is flagged equals Datalab's outlier and near_duplicate checks on the same kNN graph.

    Datalab itself needs extra packages, so its issue managers' rules are called directly.
    """
    from cleanlab.datalab.internal.issue_manager.duplicate import NearDuplicateIssueManager
    from cleanlab.datalab.internal.issue_manager.outlier import OutlierIssueManager
    from cleanlab.internal.neighbor.knn_graph import create_knn_graph_and_index

    data = planted_duplicates[0]
    ref_graph, _ = create_knn_graph_and_index(data, n_neighbors=10, metric="cosine")
    ref_dist = ref_graph.data.reshape(len(data), -1)
    rule = OutlierIssueManager._compute_threshold_and_issue_column_from_distances
    _, _, ref_outlier = rule(None, ref_dist, None)
    median_nn = max(np.median(ref_dist[:, 0]), 1e-8)
    ref_sets = NearDuplicateIssueManager._neighbors_within_radius(ref_graph, 0.13, median_nn)
    g = knn_graph(data, k=10)
    np.testing.assert_allclose(g.distances, ref_dist, atol=1e-12)
    np.testing.assert_array_equal(outlier_scores(g).is_outlier, ref_outlier)
    assert ref_outlier.sum() > 20
    np.testing.assert_array_equal(near_duplicate_sets(g).set_id >= 0, [len(s) > 0 for s in ref_sets])


def test_conflicting_needs_different_labels():
    x = np.random.default_rng(4).standard_normal((50, 6))
    x[[20, 30]] = x[10]
    x[41] = x[40]
    y = np.zeros(50, dtype=int)
    y[30] = 1
    dup = near_duplicate_sets(knn_graph(x, k=3), labels=y)
    np.testing.assert_array_equal(dup.set_id[[10, 20, 30, 40, 41]], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(dup.conflicting, [True, False])
    assert near_duplicate_sets(knn_graph(x, k=3)).conflicting is None


def test_more_than_k_copies_form_one_set():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((200, 8))
    copies = rng.choice(200, 20, replace=False)
    x[copies] = x[copies[0]]
    dup = near_duplicate_sets(knn_graph(x, k=3, block_rows=32), threshold=0)
    assert dup.num_sets == 1
    np.testing.assert_array_equal(np.flatnonzero(dup.set_id == 0), np.sort(copies))
    assert len(dup.pairs) < 20 * 19 // 2  # a spanning subset of the pairs, not all of them


def test_radius_scales_with_threshold(digits):
    g = knn_graph(digits[0], k=5)
    small, big = near_duplicate_sets(g, threshold=0.13), near_duplicate_sets(g, threshold=1.0)
    assert big.radius == pytest.approx(small.radius / 0.13)
    assert small.radius == pytest.approx(0.13 * np.median(g.distances[:, 0]))
    assert len(big.pairs) > len(small.pairs)
    with pytest.raises(LabelError, match="labels has 3 rows but features has 1797"):
        near_duplicate_sets(g, labels=[0, 1, 2])


# --- class balance ----------------------------------------------------------------------------


def test_class_balance_flags():
    y = np.array([0] * 50 + [1] * 45 + [2] * 3 + [3] * 2)
    cb = class_balance(y, 5, min_examples=3, imbalance_ratio=0.1)
    np.testing.assert_array_equal(cb.counts, [50, 45, 3, 2, 0])
    np.testing.assert_allclose(cb.share, [0.5, 0.45, 0.03, 0.02, 0.0])
    assert cb.expected_share == pytest.approx(0.2)
    np.testing.assert_array_equal(cb.is_underpopulated, [False, False, False, True, True])
    np.testing.assert_array_equal(cb.is_imbalanced, [False, False, False, True, True])  # < 0.02
    assert cb.rarest_class == 4 and cb.ratio == np.inf and cb.imbalanced
    balanced = class_balance(np.arange(100) % 4, 4)
    assert not balanced.imbalanced and balanced.ratio == 1.0
    with pytest.raises(LabelError, match="outside 0..1"):
        class_balance([0, 1, 2], 2)


def test_knn_graph_is_frozen():
    g = knn_graph(np.random.default_rng(0).standard_normal((20, 3)), k=2)
    assert isinstance(g, KnnGraph)
    with pytest.raises(Exception):
        g.k = 3
