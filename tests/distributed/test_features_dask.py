"""--engine dask with --features: the exact kNN graph as tiles on the cluster, and the
cross-validation folds in parallel there; the same outputs as one machine."""
import numpy as np
import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def feature_files(tmp_path_factory):
    rng = np.random.default_rng(4)
    n, d, k = 2500, 12, 3
    y = rng.integers(0, k, n)
    x = (rng.normal(size=(n, d)) + 1.5 * np.eye(k, d)[y]).astype(np.float32)
    x[10:14] = x[9]  # a few copies (near duplicates)
    x[-1] *= 40  # an outlier
    y[rng.integers(0, n, 100)] = rng.integers(0, k, 100)
    folder = tmp_path_factory.mktemp("feat")
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return folder / "x.npy", folder / "y.npy"


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_graph_tiles_equal_one_machine(scheduler, feature_files, metric):
    from labelcli.core.knn import knn_graph
    from labelcli.distributed import knn
    from labelcli.distributed.cluster import open_executor

    x = np.load(feature_files[0])
    one = knn_graph(x, k=10, metric=metric)
    with open_executor(scheduler) as ex:
        many = knn.knn_graph(ex, x, k=10, metric=metric, block_rows=700)
    assert np.array_equal(one.indices, many.indices) and np.array_equal(one.distances, many.distances)


def test_find_issues_features_and_folds_on_the_cluster(tmp_path, scheduler, feature_files):
    x, y = feature_files
    a = run_cli("find-issues", "-l", y, "-x", x, "--all", "-o", tmp_path / "a.csv", "-q")
    b = run_cli("find-issues", "-l", y, "-x", x, "--all", "-o", tmp_path / "b.csv", "-q", "--engine", "dask",
                "--scheduler", scheduler)
    assert a.code == 0 and b.code == 0, b.stderr
    assert b.stderr == ""
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
