"""Chunked (out-of-core) runs of the engine must equal the in-memory path exactly (the engine of
labelcli.core.engine over the chunk readers of labelcli.io.chunks).

Inputs are read in tiny chunks (a few hundred rows, so every pass sees many chunks and every
class is split across them) from arrays, .npy, Parquet and CSV files; masks, rankings, scores and
predicted labels are compared with np.array_equal, never with a tolerance.
"""
from __future__ import annotations

import numpy as np
import pytest

import labelcli as lc
from labelcli.core import engine
from labelcli.core import passes as s
from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.health import summary_from_scan
from labelcli.errors import LabelError
from labelcli.io import chunk_rows as budget_rows
from labelcli.io import open_probs, plan_chunk_rows, read_labels


def _open(labels_source, pred_probs_source, *, chunk_rows=None, max_memory=None, normalize=False,
          label_col="label", prob_columns=None, progress=None):
    """(labels, reader, engine.Run) for labels and pred_probs given as arrays or files."""
    reader = open_probs(pred_probs_source, label_col=label_col, prob_columns=prob_columns)
    k = reader.num_classes
    labels = v.as_labels(read_labels(labels_source, label_col=label_col), num_classes=k)
    if reader.num_rows is not None:
        v.check_same_length(len(labels), reader.num_rows, name_a="labels", name_b=reader.name)
    if k < 2:
        v.as_pred_probs(np.zeros((1, k)), name=reader.name)
    rows = chunk_rows if chunk_rows is not None else budget_rows(reader, len(labels), max_memory)
    return labels, reader, engine.Run(chunk_rows=rows, normalize=normalize, progress=progress)


def find_label_issues_streaming(labels_source, pred_probs_source, *, filter_by=None, rank_by=None, frac_noise=1.0,
                                num_to_remove_per_class=None, min_examples_per_class=1, compat=None, **kw):
    profile = defaults(compat)
    plan = engine.Plan(profile.filter_by if filter_by is None else filter_by,
                       profile.rank_by if rank_by is None else rank_by, frac_noise,
                       None if num_to_remove_per_class is None else tuple(num_to_remove_per_class),
                       min_examples_per_class)
    labels, reader, run = _open(labels_source, pred_probs_source, **kw)
    plan.check(reader.num_classes)
    v.check_classes_present(labels, reader.num_classes)
    return engine.find_label_issues(labels, reader, plan, run)


def label_quality_scores_streaming(labels_source, pred_probs_source, *, method=None, adjust_pred_probs=False,
                                   compat=None, **kw):
    labels, reader, run = _open(labels_source, pred_probs_source, **kw)
    method = defaults(compat).rank_by if method is None else method
    return engine.label_quality_scores(labels, reader, method, adjust_pred_probs, run)


def health_summary_streaming(labels_source, pred_probs_source, *, class_names=None, top_pairs=20, **kw):
    labels, reader, run = _open(labels_source, pred_probs_source, **kw)
    v.check_classes_present(labels, reader.num_classes)
    classes, scan = engine.confident_scan(labels, reader, run)
    return summary_from_scan(classes.labels, classes.self_conf, scan, reader.num_classes, class_names=class_names,
                             top_pairs=top_pairs)

FIELDS = ("mask", "ranking", "scores", "predicted")


def make(seed: int, n: int, k: int, *, ties: bool = False, dtype=np.float32):
    """Class-conditional noise on an informative model; ties=True rounds logits to a coarse grid
    so many rows (and margins at the cuts) are exactly equal."""
    rng = np.random.default_rng(seed)
    true = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 3.0)))
    flip = rng.random(n) < rng.uniform(0.05, 0.3, size=k)[true]
    given = np.where(flip, rng.integers(0, k, size=n), true)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += rng.uniform(2.0, 4.0)
    if ties:
        logits = np.round(logits)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return given.astype(np.int64), (z / z.sum(axis=1, keepdims=True)).astype(dtype)


def assert_same(ours, ref, what=""):
    for f in FIELDS:
        a, b = getattr(ours, f), getattr(ref, f)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{what}: {f} differs"
    assert ours.filter_by == ref.filter_by and ours.rank_by == ref.rank_by


CASES = [(seed, 20000, 10, False) for seed in (1, 2)] + [
    (3, 3000, 50, False),
    (4, 3000, 50, True),
    (5, 20000, 10, True),
    (6, 2500, 100, False),  # K > 64: the row-wise scan
    (7, 4000, 3, True),
]


@pytest.mark.parametrize("seed,n,k,ties", CASES, ids=lambda x: str(x))
def test_array_source_every_filter(seed, n, k, ties):
    labels, probs = make(seed, n, k, ties=ties)
    for filter_by in lc.FILTERS:
        ref = lc.find_label_issues(labels, probs, filter_by=filter_by)
        ours = find_label_issues_streaming(labels, probs, filter_by=filter_by, chunk_rows=377)
        assert_same(ours, ref, filter_by)


@pytest.mark.parametrize("rank_by", lc.METHODS)
def test_rank_by_and_options(rank_by):
    labels, probs = make(11, 6000, 12, ties=True)
    for kw in ({}, {"frac_noise": 0.5}, {"min_examples_per_class": 400}, {"num_to_remove_per_class": [3] * 12}):
        for filter_by in ("prune_by_noise_rate", "both", "prune_by_class"):
            ref = lc.find_label_issues(labels, probs, filter_by=filter_by, rank_by=rank_by, **kw)
            ours = find_label_issues_streaming(labels, probs, filter_by=filter_by, rank_by=rank_by, chunk_rows=500, **kw)
            assert_same(ours, ref, f"{filter_by} {kw}")


def test_chunk_size_does_not_matter():
    labels, probs = make(12, 5000, 20, ties=True)
    ref = lc.find_label_issues(labels, probs)
    for rows in (1, 64, 999, 5000, 10**6):
        if rows == 1:  # one row per chunk: slow, so on a prefix
            sub = lc.find_label_issues(labels[:400], probs[:400])
            assert_same(find_label_issues_streaming(labels[:400], probs[:400], chunk_rows=1), sub, "1 row")
            continue
        assert_same(find_label_issues_streaming(labels, probs, chunk_rows=rows), ref, f"{rows} rows")


def test_npy_source_with_a_tiny_memory_budget(tmp_path):
    labels, probs = make(21, 20000, 10)
    np.save(tmp_path / "y.npy", labels)
    np.save(tmp_path / "p.npy", probs)
    budget = plan_rows_budget(len(labels), 10, 4, rows=1500)
    ours = find_label_issues_streaming(str(tmp_path / "y.npy"), str(tmp_path / "p.npy"), max_memory=budget)
    assert_same(ours, lc.find_label_issues(labels, probs), "npy")
    assert probs.nbytes > budget - 40 * len(labels)  # the matrix is larger than the room for it


def plan_rows_budget(n, k, itemsize, rows):
    """A max_memory that makes plan_chunk_rows choose `rows` rows per chunk."""
    budget = 40 * n + 4 * rows * k * itemsize
    assert plan_chunk_rows(n, k, itemsize, budget) == rows
    return budget


@pytest.mark.parametrize("seed,n,k,ties", [(31, 20000, 10, False), (32, 3000, 50, True)], ids=str)
def test_parquet_source(tmp_path, seed, n, k, ties):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    labels, probs = make(seed, n, k, ties=ties)
    cols = {f"prob_{j}": probs[:, j] for j in range(k)}
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"id": np.arange(n), "label": labels, **cols}), path, row_group_size=1500)
    for filter_by in ("prune_by_noise_rate", "both", "low_normalized_margin"):
        ref = lc.find_label_issues(labels, probs, filter_by=filter_by)
        ours = find_label_issues_streaming(str(path), str(path), filter_by=filter_by, chunk_rows=400)
        assert_same(ours, ref, f"parquet {filter_by}")
    # explicit columns, labels from an array
    ours = find_label_issues_streaming(labels, str(path), prob_columns=list(cols), chunk_rows=1000)
    assert_same(ours, lc.find_label_issues(labels, probs), "parquet columns")


@pytest.mark.parametrize("seed,n,k,ties", [(41, 8000, 10, True), (42, 3000, 50, False)], ids=str)
def test_csv_source(tmp_path, seed, n, k, ties):
    pd = pytest.importorskip("pandas")
    labels, probs = make(seed, n, k, ties=ties)
    path = tmp_path / "data.csv"
    df = pd.DataFrame({"label": labels, **{f"p{j}": probs[:, j] for j in range(k)}})
    df.to_csv(path, index=False, float_format="%.9g")
    # The in-memory reference parses the same text the same way (float64, row-major as labelcli.io
    # makes it: row sums in the adjusted margin depend on the layout).
    parsed = pd.read_csv(path, skipinitialspace=True)
    p64 = np.ascontiguousarray(parsed[[f"p{j}" for j in range(k)]].to_numpy())
    assert p64.dtype == np.float64
    ref = lc.find_label_issues(labels, p64)
    ours = find_label_issues_streaming(str(path), str(path), chunk_rows=333)
    assert_same(ours, ref, "csv")


def test_values_slightly_outside_0_1_are_clipped_per_chunk():
    labels, probs = make(51, 3000, 5, dtype=np.float64)
    probs = probs.copy()
    moved = probs[1234, 0] + 5e-5
    probs[1234, 0] = -5e-5  # within RANGE_ATOL: clipped, in memory as in the stream
    probs[1234, 1] += moved
    probs[2999] = 0.0
    probs[2999, 1] = 1 + 5e-5
    ref = lc.find_label_issues(labels, probs)
    assert_same(find_label_issues_streaming(labels, probs, chunk_rows=100), ref, "clipped")


def test_normalize_rescales_rows_like_the_in_memory_path():
    labels, probs = make(52, 4000, 8)
    rough = (probs * np.random.default_rng(0).uniform(0.9, 1.1, size=(4000, 1))).astype(np.float32)
    ref = lc.find_label_issues(labels, lc.core.validate.as_pred_probs(rough, normalize=True))
    assert_same(find_label_issues_streaming(labels, rough, chunk_rows=300, normalize=True), ref, "normalize")
    with pytest.raises(LabelError, match="pass the `normalize` option"):
        find_label_issues_streaming(labels, rough, chunk_rows=300)


def test_float16_input_is_computed_in_float32():
    labels, probs = make(53, 3000, 6)
    half = probs.astype(np.float16)
    assert_same(find_label_issues_streaming(labels, half, chunk_rows=256), lc.find_label_issues(labels, half), "f16")


def test_errors_name_the_row_in_the_whole_file():
    labels, probs = make(54, 2000, 4, dtype=np.float64)
    bad = probs.copy()
    bad[1500, 2] = np.nan
    with pytest.raises(LabelError, match=r"NaN at row 1500 \(0-based\), column 2"):
        find_label_issues_streaming(labels, bad, chunk_rows=100)
    with pytest.raises(LabelError, match="row 1234 .* is outside 0..3"):
        y = labels.copy()
        y[1234] = 7
        find_label_issues_streaming(y, probs, chunk_rows=100)
    with pytest.raises(LabelError, match="rows"):
        find_label_issues_streaming(labels[:-1], probs, chunk_rows=100)
    with pytest.raises(LabelError, match="unknown filter"):
        find_label_issues_streaming(labels, probs, filter_by="nope")
    with pytest.raises(LabelError, match="at least 2 classes"):
        find_label_issues_streaming(np.zeros(2000, dtype=np.int64), probs, chunk_rows=100)


def test_cells_merge_is_order_and_grouping_independent():
    """The pass-3 merge keeps each cell's best quota by (key, row) whatever the grouping."""
    rng = np.random.default_rng(5)
    k = 4
    quota = rng.integers(0, 6, size=k * k)
    parts = []
    for start in range(0, 400, 50):
        m = 30
        parts.append(s.CellCandidates(rng.integers(0, k * k, m), rng.integers(0, 4, m).astype(np.float32),
                                      start + rng.permutation(50)[:m]))
    one = s.cells_merge(parts, quota)
    merger = s.CellsMerger(quota)
    for i, p in enumerate(parts):
        merger.add(p, 50 * i, 50)
    assert np.array_equal(merger.result().row, one.row)
    two = s.cells_merge([s.cells_merge(parts[:3], quota), s.cells_merge(parts[3:][::-1], quota)], quota)
    for a, b in ((one.cell, two.cell), (one.key, two.key), (one.row, two.row)):
        assert np.array_equal(a, b)
    # brute force: per cell, a stable sort by key then row
    cell = np.concatenate([p.cell for p in parts])
    key = np.concatenate([p.key for p in parts])
    row = np.concatenate([p.row for p in parts])
    for c in range(k * k):
        idx = np.flatnonzero(cell == c)
        best = idx[np.lexsort((row[idx], key[idx]))][: quota[c]]
        assert sorted(row[best].tolist()) == sorted(one.row[one.cell == c].tolist())


@pytest.mark.parametrize("seed,n,k,ties", [(61, 20000, 10, True), (62, 3000, 50, False), (63, 2500, 100, True)], ids=str)
def test_frequent_merges_with_bars(monkeypatch, seed, n, k, ties):
    """Merging after every chunk makes each cell's bar (its quota-th best key so far) drop rows
    of later chunks early; the result must not change."""
    monkeypatch.setattr(s, "MERGE_MIN_ROWS", 1)
    monkeypatch.setattr(s, "MERGE_GROUP_ROWS", 50)  # merges go through many ranges of cells
    labels, probs = make(seed, n, k, ties=ties)
    for filter_by in ("prune_by_noise_rate", "both"):
        ref = lc.find_label_issues(labels, probs, filter_by=filter_by)
        assert_same(find_label_issues_streaming(labels, probs, filter_by=filter_by, chunk_rows=250), ref, filter_by)


@pytest.mark.parametrize("seed,n,k,ties", [(71, 6000, 12, True), (72, 2500, 100, False)], ids=str)
def test_label_quality_scores(seed, n, k, ties):
    labels, probs = make(seed, n, k, ties=ties)
    for method in lc.METHODS:
        for adjust in (False, True):
            if adjust and method in ("confidence_weighted_entropy", "posterior"):
                continue
            ref = lc.label_quality_scores(labels, probs, method=method, adjust_pred_probs=adjust)
            got, predicted = label_quality_scores_streaming(labels, probs, method=method, adjust_pred_probs=adjust,
                                                            chunk_rows=333)
            assert got.dtype == ref.dtype and np.array_equal(got, ref), f"{method} adjust={adjust}"
            assert np.array_equal(predicted, probs.argmax(axis=1))


@pytest.mark.parametrize("seed,n,k,ties", [(81, 20000, 10, True), (82, 3000, 50, False), (83, 2500, 100, True)],
                         ids=str)
def test_health_summary(seed, n, k, ties):
    """Every number of the health summary, compared exactly (NaN where a class has no examples)."""
    import dataclasses

    labels, probs = make(seed, n, k, ties=ties)
    names = [f"c{j}" for j in range(k)]
    ref = lc.health_summary(labels, probs, class_names=names, top_pairs=15)
    ticks = []
    got = health_summary_streaming(labels, probs, class_names=names, top_pairs=15, chunk_rows=700,
                                   progress=lambda *a: ticks.append(a))
    for f in dataclasses.fields(ref):
        a, b = getattr(got, f.name), getattr(ref, f.name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=b.dtype.kind == "f"), f.name
        else:
            assert a == b, f.name
    assert [t[0] for t in ticks[:: -(-n // 700)]] == ["thresholds", "confident joint"]
    assert ticks[-1] == ("confident joint", n, n)
