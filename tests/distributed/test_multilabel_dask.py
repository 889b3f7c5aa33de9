"""--engine dask on multi-label data: the same bytes as one machine on the concatenated file."""
import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.distributed.conftest import read_parts

TAG_FILTERS = ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given",
               "low_self_confidence"]


def pair(tmp_path, scheduler, tagged, *args, name="t.csv", dask_out=None):
    parts, whole = tagged
    one, many = tmp_path / ("one_" + name), dask_out or tmp_path / ("dask_" + name)
    common = ["--label-col", "tags", "--prob-prefix", "prob_", "-q"]
    a = run_cli(args[0], "-l", whole, "-p", whole, *common, *args[1:], "-o", one)
    b = run_cli(args[0], "-l", parts, "-p", parts, *common, *args[1:], "-o", many, "--engine", "dask",
                "--scheduler", scheduler)
    assert a.code == 0 and b.code == 0, (a.stderr, b.stderr)
    return a, b, one, many


@pytest.mark.parametrize("filter_by", TAG_FILTERS)
def test_find_issues(tmp_path, scheduler, tagged, filter_by):
    *_, one, many = pair(tmp_path, scheduler, tagged, "find-issues", "--filter-by", filter_by)
    assert one.read_bytes() == many.read_bytes()


def test_find_issues_cleanlab_defaults(tmp_path, scheduler, tagged):
    *_, one, many = pair(tmp_path, scheduler, tagged, "find-issues", "--compat", "cleanlab")
    assert one.read_bytes() == many.read_bytes()


def test_health(tmp_path, scheduler, tagged):
    *_, one, many = pair(tmp_path, scheduler, tagged, "health", name="h.json")
    assert one.read_bytes() == many.read_bytes()


def test_score(tmp_path, scheduler, tagged):
    a, b, one, many = pair(tmp_path, scheduler, tagged, "score", "--format", "json", name="s.parquet",
                           dask_out=tmp_path / "parts")
    assert a.stdout == b.stdout
    pd.testing.assert_frame_equal(read_parts(many), pd.read_parquet(one), check_exact=True)
