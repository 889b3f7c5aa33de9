"""--engine dask against the single-machine run on the concatenated file: the same bytes."""
import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli
from tests.distributed.conftest import noisy, read_parts, write_parts

FILTERS = ["prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given",
           "low_self_confidence", "low_normalized_margin", "low_adjusted_margin", "low_posterior"]


def both_runs(tmp_path, scheduler, parts, whole, args, out_name="t.csv", dask_out=None):
    one = tmp_path / ("one_" + out_name)
    many = dask_out or tmp_path / ("dask_" + out_name)
    a = run_cli(*args[:1], "-l", whole, "-p", whole, "--prob-prefix", "prob_", *args[1:], "-o", one, "-q")
    b = run_cli(*args[:1], "-l", parts, "-p", parts, "--prob-prefix", "prob_", *args[1:], "-o", many, "-q",
                "--engine", "dask", "--scheduler", scheduler)
    assert a.code == 0 and b.code == 0, (a.stderr, b.stderr)
    assert b.stderr == ""  # no shutdown noise
    return one, many


@pytest.mark.parametrize("filter_by", FILTERS)
def test_find_issues_flagged_rows_same_bytes(tmp_path, scheduler, awkward, filter_by):
    one, many = both_runs(tmp_path, scheduler, *awkward, ["find-issues", "--filter-by", filter_by])
    assert one.read_bytes() == many.read_bytes()


@pytest.mark.parametrize("filter_by", ["prune_by_noise_rate", "low_adjusted_margin", "both", "low_posterior"])
def test_find_issues_all_as_parts(tmp_path, scheduler, awkward, filter_by):
    one, many = both_runs(tmp_path, scheduler, *awkward, ["find-issues", "--filter-by", filter_by, "--all"],
                          out_name="t.parquet", dask_out=tmp_path / "all_parts")
    pd.testing.assert_frame_equal(read_parts(many), pd.read_parquet(one), check_exact=True)


@pytest.mark.parametrize("method", ["posterior", "adjusted_margin", "self_confidence", "normalized_margin",
                                    "confidence_weighted_entropy"])
def test_score_parts_and_summary(tmp_path, scheduler, awkward, method):
    parts, whole = awkward
    a = run_cli("score", "-l", whole, "-p", whole, "--prob-prefix", "prob_", "--method", method,
                "-o", tmp_path / "one.parquet", "--format", "json", "-q")
    b = run_cli("score", "-l", parts, "-p", parts, "--prob-prefix", "prob_", "--method", method,
                "-o", tmp_path / "parts", "--format", "json", "-q", "--engine", "dask", "--scheduler", scheduler)
    assert a.code == 0 and b.code == 0, (a.stderr, b.stderr)
    assert a.stdout == b.stdout  # mean (pairwise sum rebuilt) and the lowest rows
    pd.testing.assert_frame_equal(read_parts(tmp_path / "parts"), pd.read_parquet(tmp_path / "one.parquet"),
                                  check_exact=True)


def test_find_issues_defaults_same_bytes(tmp_path, scheduler, awkward):
    """No options: labelcli's default (low_posterior ranked by the posterior)."""
    one, many = both_runs(tmp_path, scheduler, *awkward, ["find-issues"], out_name="d.csv")
    assert one.read_bytes() == many.read_bytes()


def test_health_same_bytes(tmp_path, scheduler, awkward):
    one, many = both_runs(tmp_path, scheduler, *awkward, ["health"], out_name="h.json")
    assert one.read_bytes() == many.read_bytes()


def test_health_baseline_gate_on_the_cluster(tmp_path, scheduler, awkward):
    """health --baseline --fail-if-worse on partitions: the same summary, diff and exit code as one
    machine (a CI gate that runs where the data is)."""
    parts, whole = awkward
    baseline = tmp_path / "before.json"
    doc = json.loads((both_runs(tmp_path, scheduler, *awkward, ["health"], out_name="h.json")[0]).read_text())
    for c in doc["per_class"]:  # an earlier release where every class was cleaner
        c["noise_rate"] = 0.0
    doc["estimated_noise_rate"] = 0.0
    baseline.write_text(json.dumps(doc))
    gate = ["--baseline", str(baseline), "--fail-if-worse", "0.01", "--format", "json", "-q"]
    a = run_cli("health", "-l", whole, "-p", whole, "--prob-prefix", "prob_", *gate)
    b = run_cli("health", "-l", parts, "-p", parts, "--prob-prefix", "prob_", *gate, "--engine", "dask",
                "--scheduler", scheduler)
    assert a.code == b.code == 1, (a.stderr, b.stderr)
    assert a.stdout == b.stdout and json.loads(b.stdout)["compared_to_baseline"]["worse"]
    assert a.stderr == b.stderr and "Gate failed" in b.stderr


def test_float64_and_id_col(tmp_path, scheduler):
    y, p = noisy(2000, 4, 3, np.float64)
    parts, whole = write_parts(tmp_path / "p64", y, p, [0, 500, 500, 1999, 2000])
    one, many = both_runs(tmp_path, scheduler, parts, whole, ["find-issues", "--id-col", "example_id"])
    assert one.read_bytes() == many.read_bytes()
    assert pd.read_csv(one).columns[1] == "example_id"


def test_one_worker_same_as_two(tmp_path, scheduler, awkward):
    parts, _ = awkward
    outs = []
    for how in (["--workers", "1"], ["--scheduler", scheduler]):
        out = tmp_path / f"w{len(outs)}.csv"
        r = run_cli("find-issues", "-l", parts, "-p", parts, "--prob-prefix", "prob_", "-o", out, "-q",
                    "--engine", "dask", *how)
        assert r.code == 0 and r.stderr == "", r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_partitions_without_dask_chunked(tmp_path, awkward, monkeypatch):
    parts, whole = awkward
    a = run_cli("find-issues", "-l", whole, "-p", whole, "--prob-prefix", "prob_", "--all", "-o", tmp_path / "a.csv", "-q")
    monkeypatch.setenv("LABELCLI_CHUNK_ROWS", "256")
    b = run_cli("find-issues", "-l", parts, "-p", f"{parts}/*.parquet", "--prob-prefix", "prob_", "--all",
                "-o", tmp_path / "b.csv", "-q", "--max-memory", "150KB")
    assert a.code == 0 and b.code == 0, b.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
