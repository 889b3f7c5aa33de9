"""bench/accuracy/metrics.py on tiny hand-computed examples."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "accuracy" / "metrics.py"
_spec = importlib.util.spec_from_file_location("accuracy_metrics", _PATH)
m = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(m)

# Ranking (ascending score): rows 0 (0.1), 2 (0.2), 4 (0.3), 1 (0.5), 3 (0.9); hits 1 0 1 0 1.
SCORES = np.array([0.1, 0.5, 0.2, 0.9, 0.3])
TRUTH = np.array([1, 0, 0, 1, 1], dtype=bool)


def test_ranking_breaks_ties_by_row_index():
    assert m.ranking(np.array([0.5, 0.1, 0.5, 0.1, 0.5])).tolist() == [1, 3, 0, 2, 4]


def test_set_metrics():
    mask = np.array([1, 1, 0, 0, 1], dtype=bool)  # 2 hits of 3 flagged, 2 of 3 errors found
    assert m.set_metrics(mask, TRUTH) == pytest.approx((2 / 3, 2 / 3, 2 / 3))


def test_set_metrics_universe_ignores_rows_without_verdict():
    mask = np.array([1, 1, 0, 0, 1], dtype=bool)
    universe = np.array([1, 0, 1, 1, 1], dtype=bool)  # row 1 (a false alarm) was never reviewed
    p, r, f1 = m.set_metrics(mask, TRUTH, universe)
    assert (p, r) == pytest.approx((1.0, 2 / 3))
    assert f1 == pytest.approx(0.8)


def test_empty_flagged_set_has_zero_precision_and_f1():
    assert m.set_metrics(np.zeros(5, dtype=bool), TRUTH) == (0.0, 0.0, 0.0)


def test_average_precision():
    assert m.average_precision(SCORES, TRUTH) == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 3)


def test_average_precision_with_universe():
    universe = np.array([1, 1, 0, 1, 1], dtype=bool)  # drops row 2: hits 1 1 0 1
    assert m.average_precision(SCORES, TRUTH, universe) == pytest.approx((1 + 1 + 3 / 4) / 3)


def test_ties_by_row_index_differ_from_sklearn_step_on_purpose():
    scores, truth = np.array([0.5, 0.5]), np.array([True, False])
    assert m.average_precision(scores, truth) == 1.0  # row 0 ranks first
    assert m.average_precision(scores, truth[::-1]) == 0.5
    assert m.average_precision_sklearn(scores, truth) == pytest.approx(0.5)  # one tied step
    # Without ties the two agree.
    assert m.average_precision_sklearn(SCORES, TRUTH) == pytest.approx(m.average_precision(SCORES, TRUTH))


def test_precision_at_true_count_and_recall_at_k():
    assert m.precision_at(SCORES, TRUTH) == pytest.approx(2 / 3)  # T = 3: rows 0, 2, 4
    assert m.precision_at(SCORES, TRUTH, 1) == 1.0
    assert m.recall_at_k(SCORES, TRUTH, 2) == pytest.approx(1 / 3)
    assert m.recall_at_k(SCORES, TRUTH, 5) == 1.0


def test_no_positives_gives_nan():
    none = np.zeros(5, dtype=bool)
    assert math.isnan(m.average_precision(SCORES, none))
    assert math.isnan(m.precision_at(SCORES, none))
    assert math.isnan(m.set_metrics(np.ones(5, dtype=bool), none)[1])


def test_evaluate_collects_everything():
    out = m.evaluate(np.array([1, 0, 1, 0, 0], dtype=bool), SCORES, TRUTH, k=3)
    assert out["flagged"] == 2 and out["recall_at_k"] == pytest.approx(2 / 3)
    assert out["precision"] == 0.5 and out["ap"] == pytest.approx(m.average_precision(SCORES, TRUTH))
