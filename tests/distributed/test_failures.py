"""--engine dask when things go wrong: a worker killed mid-run, errors a user can fix (one
`Error:` line, exit 2), and the client's state staying small."""
import logging
import sys
import warnings

import numpy as np
import pytest

from tests.conftest import assert_one_error_line, run_cli
from tests.distributed.conftest import noisy, write_parts


def test_killed_worker_is_retried_with_the_same_result(tmp_path, awkward, monkeypatch):
    from distributed import LocalCluster

    from labelcli.distributed.work import KILL_ENV

    parts, whole = awkward
    monkeypatch.setenv(KILL_ENV, f"2:{tmp_path / 'killed'}")  # partition 2 kills its worker once
    with warnings.catch_warnings():  # Dask's own warnings (ports) at start
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.CRITICAL)
    monkeypatch.delenv(KILL_ENV)
    try:
        r = run_cli("find-issues", "-l", parts, "-p", parts, "--prob-prefix", "prob_", "-o", tmp_path / "d.csv",
                    "-q", "--engine", "dask", "--scheduler", cluster.scheduler_address)
    finally:
        cluster.close()
    assert r.code == 0, r.stderr
    assert (tmp_path / "killed").exists()  # a worker did die
    a = run_cli("find-issues", "-l", whole, "-p", whole, "--prob-prefix", "prob_", "-o", tmp_path / "s.csv", "-q")
    assert a.code == 0
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "d.csv").read_bytes()


def test_unreachable_scheduler(awkward):
    parts, _ = awkward
    r = run_cli("health", "-l", parts, "-p", parts, "--prob-prefix", "prob_", "--engine", "dask",
                "--scheduler", "tcp://127.0.0.1:9")
    assert r.code == 2
    assert_one_error_line(r.stderr, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")


def test_dask_not_installed(awkward, monkeypatch):
    parts, _ = awkward
    monkeypatch.setitem(sys.modules, "distributed", None)
    r = run_cli("score", "-l", parts, "-p", parts, "--engine", "dask", "--workers", "1")
    assert r.code == 2
    assert_one_error_line(r.stderr, "pip install 'labelcli[dask]'")


def test_version_mismatch(awkward, scheduler, monkeypatch):
    import labelcli

    parts, _ = awkward
    monkeypatch.setattr(labelcli, "__version__", "0.0.0-client")
    r = run_cli("find-issues", "-l", parts, "-p", parts, "--prob-prefix", "prob_", "--engine", "dask",
                "--scheduler", scheduler)
    assert r.code == 2
    assert_one_error_line(r.stderr, "labelcli 0.1.0 (client 0.0.0-client)", "install the same versions")


@pytest.mark.parametrize("args, fragment", [
    (["find-issues", "--scheduler", "tcp://127.0.0.1:9"], "--scheduler and --workers go with --engine dask"),
    (["find-issues", "--engine", "spark"], "--engine 'spark' is not one of: local, dask"),
    (["find-issues", "--engine", "dask", "--all", "-o", "x.csv", "--workers", "1"], "folder of Parquet parts"),
    (["score", "--engine", "dask", "-o", "x.parquet", "--workers", "1"], "folder of Parquet parts"),
])
def test_usage_errors(awkward, args, fragment):
    parts, _ = awkward
    r = run_cli(*args[:1], "-l", parts, "-p", parts, *args[1:])
    assert r.code == 2
    assert_one_error_line(r.stderr, fragment)


def test_single_file_is_refused_with_dask(awkward, scheduler):
    _, whole = awkward
    r = run_cli("score", "-l", whole, "-p", whole, "--engine", "dask", "--scheduler", scheduler)
    assert r.code == 2
    assert_one_error_line(r.stderr, "folder or glob of Parquet files")


def test_client_state_is_small(tmp_path, scheduler):
    """What reaches the client grows with K^2, the partitions and the flagged rows, not with N."""
    from labelcli.core.engine import Plan
    from labelcli.distributed import driver
    from labelcli.distributed.cluster import open_executor
    from labelcli.distributed.inputs import open_inputs

    y, p = noisy(60_000, 6, 5)
    cuts = np.linspace(0, 60_000, 9).astype(int)
    parts, _ = write_parts(tmp_path / "big", y, p, cuts, ids=False)
    for filter_by in ("prune_by_noise_rate", "low_self_confidence"):
        with open_executor(scheduler) as ex:
            inputs = open_inputs(ex, parts, parts, prob_prefix="prob_")
            found = driver.find_label_issues(ex, inputs, Plan(filter_by, "self_confidence"))
            moved = ex.gathered_bytes
        budget = 30_000 + 2_000 * len(cuts) + 64 * 36 * 8 + 60 * found.num_issues
        assert moved < budget, (filter_by, moved, budget, found.num_issues)
        assert moved < 60_000 * 4  # less than one float per row
