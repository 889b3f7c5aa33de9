"""--max-memory: find-issues, score and health read pred_probs larger than the budget in chunks,
with outputs identical byte for byte.

Each case runs a command twice in-process (run_cli, tests/conftest.py): loaded whole (the default budget)
and streamed (--max-memory 1KB, with LABELCLI_CHUNK_ROWS forcing chunks of a few hundred rows,
so every pass sees many chunks and every class is split across them), and compares the output
files (.csv, .parquet, .json) and stdout byte for byte. A spy checks the second run really
streamed and the first did not.
"""
from __future__ import annotations

import numpy as np
import pytest

from labelcli.io import chunks
from tests.conftest import run_cli

N = 3000
NAMES = ["cat", "dog", "emu", "fox", "gnu", "yak"]
TINY = ["--max-memory", "1KB"]


def _problem(seed: int, n: int, k: int, dtype=np.float32):
    """Class-conditional noise; logits on a coarse grid, so ties among scores and margins occur."""
    rng = np.random.default_rng(seed)
    true = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 3.0)))
    flip = rng.random(n) < 0.15
    given = np.where(flip, rng.integers(0, k, size=n), true)
    logits = np.round(rng.normal(size=(n, k)) * 2) / 2
    logits[np.arange(n), true] += 2.5
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return given.astype(np.int64), (z / z.sum(axis=1, keepdims=True)).astype(dtype)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import pandas as pd

    d = tmp_path_factory.mktemp("stream")
    y, p = _problem(1, N, len(NAMES))
    np.save(d / "y.npy", y)
    np.save(d / "p.npy", p)
    names = np.array(NAMES, dtype=object)[y]
    table = pd.DataFrame({"id": np.arange(N), "label": names, **{f"prob_{c}": p[:, j] for j, c in enumerate(NAMES)}})
    table.to_parquet(d / "t.parquet", index=False, row_group_size=700)
    table.to_csv(d / "t.csv", index=False)
    rough = p.astype(np.float64) * np.random.default_rng(2).uniform(0.97, 1.03, size=(N, 1))
    pd.DataFrame({"label": y, **{f"p{j}": rough[:, j] for j in range(len(NAMES))}}).to_csv(d / "rough.csv", index=False)
    y20, p20 = _problem(3, N, 20, dtype=np.float64)
    np.save(d / "y20.npy", y20)
    np.save(d / "p20.npy", p20)
    return d


@pytest.fixture
def streamed(monkeypatch):
    """Counts the chunked runs of the CLI (each plans its chunk rows once, labelcli.io.chunks.chunk_rows)."""
    calls = []
    real = chunks.chunk_rows
    monkeypatch.setattr(chunks, "chunk_rows", lambda *a, **kw: calls.append("chunked") or real(*a, **kw))
    return calls


def _run(argv, out=None):
    code, stdout, stderr = run_cli([str(a) for a in argv])
    assert code == 0, stderr
    return stdout, (out.read_bytes() if out is not None else None)


def same_both_ways(monkeypatch, streamed, tmp_path, command, inputs, options, suffix):
    """The command's output file and stdout, loaded whole and streamed, are identical."""
    a, b = tmp_path / f"whole{suffix}", tmp_path / f"streamed{suffix}"
    out_a = _run([command, *inputs, *options, "--out", a, "--quiet"], a)
    assert streamed == []
    monkeypatch.setenv(chunks.CHUNK_ROWS_ENV, "300")
    out_b = _run([command, *inputs, *options, "--out", b, "--quiet", *TINY], b)
    monkeypatch.delenv(chunks.CHUNK_ROWS_ENV)
    assert len(streamed) == 1
    streamed.clear()
    assert out_a[1] == out_b[1], f"{command} {options} {suffix}: the files differ"
    assert out_a[0] == out_b[0]
    return out_a[1]


def npy(d):
    return ["-l", d / "y.npy", "-p", d / "p.npy"]


def parquet(d):
    return ["-l", d / "t.parquet", "-p", d / "t.parquet", "--prob-prefix", "prob_"]


def csv(d):
    return ["-l", d / "t.csv", "-p", d / "t.csv", "--prob-prefix", "prob_"]


SOURCES = {"npy": npy, "parquet": parquet, "csv": csv}
FIND = [
    ([], ".csv"),
    (["--filter-by", "both", "--rank-by", "normalized_margin", "--all"], ".parquet"),
    (["--filter-by", "confident_learning", "--rank-by", "confidence_weighted_entropy"], ".json"),
    (["--filter-by", "low_normalized_margin", "--top", "40", "--format", "json"], ".csv"),
    (["--filter-by", "low_adjusted_margin", "--rank-by", "adjusted_margin", "--all"], ".csv"),
    (["--filter-by", "prune_by_class", "--class", "1", "--fail-on-issues", "100000"], ".jsonl"),
]


@pytest.mark.parametrize("source", SOURCES)
def test_find_issues(monkeypatch, streamed, tmp_path, data, source):
    for options, suffix in FIND:
        if "--class" in options and source != "npy":
            options = [o if o != "1" else "dog" for o in options]
        same_both_ways(monkeypatch, streamed, tmp_path, "find-issues", SOURCES[source](data), options, suffix)


@pytest.mark.parametrize("source", SOURCES)
def test_score(monkeypatch, streamed, tmp_path, data, source):
    for options, suffix in ([], ".csv"), (["--method", "normalized_margin", "--adjust-pred-probs"], ".parquet"), \
            (["--method", "confidence_weighted_entropy", "--format", "json"], ".json"), \
            (["--method", "adjusted_margin"], ".csv"):
        same_both_ways(monkeypatch, streamed, tmp_path, "score", SOURCES[source](data), options, suffix)


@pytest.mark.parametrize("source", SOURCES)
def test_health(monkeypatch, streamed, tmp_path, data, source):
    text = same_both_ways(monkeypatch, streamed, tmp_path, "health", SOURCES[source](data),
                          ["--top-pairs", "5", "--format", "json"], ".json")
    assert b'"per_class"' in text


def test_class_order_from_classes_option(monkeypatch, streamed, tmp_path, data):
    """--classes in another order than the columns: the streamed columns are reordered too."""
    order = ["--classes", ",".join(reversed(NAMES))]
    for source in (parquet, csv):
        same_both_ways(monkeypatch, streamed, tmp_path, "find-issues", source(data), order + ["--all"], ".csv")
        same_both_ways(monkeypatch, streamed, tmp_path, "score", source(data), order + ["--method", "adjusted_margin"], ".csv")


def test_normalize(monkeypatch, streamed, tmp_path, data):
    inputs = ["-l", data / "rough.csv", "-p", data / "rough.csv", "--normalize"]
    same_both_ways(monkeypatch, streamed, tmp_path, "find-issues", inputs, ["--all"], ".csv")
    same_both_ways(monkeypatch, streamed, tmp_path, "health", inputs, [], ".json")


def test_a_small_budget_alone_streams(streamed, tmp_path, data):
    """No forced chunk size: --max-memory sets it (3,000 x 20 float64 = 480 KB; 800KB gives ~1,000 rows)."""
    inputs = ["-l", data / "y20.npy", "-p", data / "p20.npy"]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    whole = _run(["find-issues", *inputs, "--out", a, "-q", "--all"], a)[1]
    assert streamed == []
    assert _run(["find-issues", *inputs, "--out", b, "-q", "--all", "--max-memory", "800KB"], b)[1] == whole
    assert streamed == ["chunked"]
    code, _, err = run_cli(["find-issues", *map(str, inputs), "--max-memory", "300KB"])
    assert code == 2 and err.startswith("Error: --max-memory 300.0KB is too small") and err.count("\n") == 1


@pytest.mark.parametrize("size", ["0", "-1", "lots", "12XB", "0.0001"])
@pytest.mark.parametrize("command", ["find-issues", "score", "health"])
def test_bad_sizes(data, command, size):
    code, out, err = run_cli([command, *map(str, npy(data)), "--max-memory", size])
    assert code == 2 and out == ""
    assert err.startswith("Error: --max-memory: cannot read the size") and err.count("\n") == 1, err


def test_multilabel_is_loaded_whole_and_says_so_when_too_large(monkeypatch, streamed, tmp_path, data):
    import pandas as pd

    from labelcli.io import memory

    tags = pd.DataFrame({"label": ["cat,dog", "dog", "", "cat"] * 50, "p_cat": 0.6, "p_dog": 0.3})
    tags.to_csv(tmp_path / "tags.csv", index=False)
    inputs = ["-l", tmp_path / "tags.csv", "-p", tmp_path / "tags.csv", "--prob-prefix", "p_"]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert _run(["score", *inputs, "--out", a, "-q"], a)[1] == _run(["score", *inputs, "--out", b, "-q", *TINY], b)[1]
    assert streamed == []
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    code, _, err = run_cli(["score", *map(str, inputs), "-q", *TINY])
    assert code == 2 and "needs" in err and "--max-memory reads multi-class pred_probs in chunks, but not" \
        " multi-label data" in err, err


def test_one_byte_format_for_the_budget_in_every_message(monkeypatch, tmp_path, data):
    """Drift bug (issue #13): two formatters described one budget (--max-memory 10MB was echoed as
    "9.5 MiB" by one message and "10.0MB" by the other). Every message now formats sizes with
    labelcli.io.format_bytes, in the decimal units --max-memory takes, so a size in a message can
    be given back to --max-memory."""
    from labelcli.io import format_bytes, memory, parse_size

    inputs = [*map(str, npy(data)), "-q"]
    # The file would fit 10MB loaded whole, but (patched) memory is nearly full: the hint echoes the budget.
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    code, _, err = run_cli(["score", *inputs, "--max-memory", "10MB"])
    assert code == 2 and "a smaller --max-memory (now 10.0MB) reads it in chunks" in err, err
    monkeypatch.undo()
    # Streamed, but the budget cannot hold the per-row results: the same format, and "at least"
    # names a size that --max-memory reads back.
    code, _, err = run_cli(["find-issues", *inputs, "--max-memory", "50KB"])
    assert code == 2 and err.startswith("Error: --max-memory 50.0KB is too small"), err
    need = err.rsplit("give at least ", 1)[1].strip()
    assert format_bytes(parse_size(need)) == need
    for unit in ("KiB", "MiB", "GiB", " bytes in memory"):
        assert unit not in err
