"""A LocalCluster of 2 workers on 127.0.0.1 shared by the distributed tests (its workers sleep a
seeded random time before each partition read, so tasks finish out of order), and partitioned
data with awkward partitionings."""
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def scheduler():
    """The address of a 2-worker LocalCluster (closed at the end of the session)."""
    import logging

    from distributed import LocalCluster

    from labelcli.distributed.work import JITTER_ENV

    os.environ[JITTER_ENV] = "7"  # inherited by the worker processes only at their start
    try:
        with warnings.catch_warnings():  # Dask's own warnings (ports) at start
            warnings.simplefilter("ignore")
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, scheduler_kwargs={"dashboard": False},
                                   silence_logs=logging.CRITICAL)
    finally:
        del os.environ[JITTER_ENV]
    yield cluster.scheduler_address
    cluster.close()


def noisy(n: int, k: int, seed: int, dtype=np.float32):
    """Labels (names) and pred_probs with label noise, tied rows and a class left out of a stretch."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k) * 0.6, n)
    p[np.arange(n), y] += 0.6
    p /= p.sum(1, keepdims=True)
    p = p.astype(dtype)
    dup = rng.integers(0, n, n // 10)  # ties: the same row (label and probs) again elsewhere
    p[dup[1:]] = p[dup[0]]
    y[dup[1:]] = y[dup[0]]
    y[n // 3 : n // 3 + n // 10][y[n // 3 : n // 3 + n // 10] == 1] = 0  # class 1 absent from a stretch
    return y, p


def write_parts(folder, y, p, cuts, names=None, ids=True):
    """Parquet files part-NNN.parquet holding rows cuts[i]:cuts[i+1] (empty and 1-row ones too),
    and the same rows in one file all.parquet beside the folder. Returns (folder, file)."""
    import pandas as pd

    k = p.shape[1]
    names = names or [f"c{i}" for i in range(k)]
    df = pd.DataFrame({"label": np.array(names, dtype=object)[y]})
    if ids:
        df["example_id"] = [f"ex{i:06d}" for i in range(len(y))]
    for j in range(k):
        df[f"prob_{names[j]}"] = p[:, j]
    os.makedirs(folder, exist_ok=True)
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        df.iloc[a:b].to_parquet(os.path.join(folder, f"part-{i:03d}.parquet"), index=False)
    whole = str(folder).rstrip("/") + "_all.parquet"
    df.to_parquet(whole, index=False)
    return str(folder), whole


def read_parts(folder):
    import glob

    import pandas as pd

    files = sorted(glob.glob(os.path.join(folder, "*.parquet")))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


@pytest.fixture(scope="session")
def awkward(tmp_path_factory):
    """3,000 x 5 float32 rows in uneven partitions: empty files, single-row files, a class missing."""
    y, p = noisy(3000, 5, 1)
    cuts = [0, 0, 1, 700, 700, 701, 1500, 2999, 3000]
    return write_parts(tmp_path_factory.mktemp("awk") / "parts", y, p, cuts)


@pytest.fixture(scope="session")
def tagged(tmp_path_factory):
    """Multi-label: 2,000 rows x 4 tags as a list column, a 1-row file without tags, an empty file."""
    import pandas as pd

    rng = np.random.default_rng(2)
    n, k = 2000, 4
    names = [f"t{i}" for i in range(k)]
    y = rng.random((n, k)) < 0.35
    p = np.clip(np.where(y, 0.7, 0.2) + rng.normal(0, 0.2, (n, k)), 0, 1).astype(np.float32)
    y ^= rng.random((n, k)) < 0.05
    y[0] = False
    p[900:950] = p[899]  # ties across an edge
    y[900:950] = y[899]
    df = pd.DataFrame({"tags": [[names[j] for j in np.flatnonzero(r)] for r in y]})
    for j in range(k):
        df[f"prob_{names[j]}"] = p[:, j]
    folder = tmp_path_factory.mktemp("tags") / "parts"
    os.makedirs(folder)
    cuts = [0, 1, 1, 920, 921, 2000]
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        df.iloc[a:b].to_parquet(folder / f"p{i:02d}.parquet", index=False)
    whole = str(folder) + "_all.parquet"
    df.to_parquet(whole, index=False)
    return str(folder), whole
