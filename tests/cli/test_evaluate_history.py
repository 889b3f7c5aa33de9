"""evaluate in a cleaning loop (issue #14 item 3): the first output line says what the scores are
measured against; --history appends a row per run; report --history plots metric per round."""
from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import SAMPLE, cli_ok, run_cli
from tests.conftest import SAMPLE_NPY as NPY


def _round(tmp_path, fixed: int, labels, truth):
    clean = labels.copy()
    wrong = np.flatnonzero(labels != truth)[:fixed]
    clean[wrong] = truth[wrong]
    np.save(tmp_path / "clean.npy", clean)
    return cli_ok("evaluate", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--clean-labels",
                  tmp_path / "clean.npy", "--folds", 3, "--history", tmp_path / "h.csv")


def test_history_rounds_and_report_plot(tmp_path, sample_labels):
    x = np.load(SAMPLE / "digits_features.npy")[:400]
    y, truth = sample_labels[:400], np.load(SAMPLE / "digits_true_labels.npy")[:400]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    for i, fixed in enumerate((5, 10, 20)):
        r = _round(tmp_path, fixed, y, truth)
        body = [ln.strip("│ ").strip() for ln in r.stderr.splitlines() if ln.startswith("│")]
        assert body[0].startswith("scores measured against the cleaned labels of the kept rows")
    h = pd.read_csv(tmp_path / "h.csv")
    assert h["round"].tolist() == [1, 2, 3]
    assert h["rows_relabeled"].tolist() == [min(f, int((y != truth).sum())) for f in (5, 10, 20)]
    assert {"accuracy", "macro_f1", "auroc", "rows_dropped"} <= set(h.columns)
    out = tmp_path / "rep"
    cli_ok("report", *NPY, "--history", tmp_path / "h.csv", "-q", "--out", out)
    assert (out / "history.png").read_bytes()[:4] == b"\x89PNG"
    assert "Cleaning rounds" in (out / "index.html").read_text()


def test_history_refuses_another_csv(tmp_path, sample_labels):
    np.save(tmp_path / "x.npy", np.load(SAMPLE / "digits_features.npy")[:200])
    np.save(tmp_path / "y.npy", sample_labels[:200])
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "h.csv", index=False)
    r = run_cli("evaluate", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--clean-labels", tmp_path / "y.npy",
                "--folds", 3, "--history", tmp_path / "h.csv", "-q")
    assert r.code == 2 and "h.csv" in r.stderr and "--history" in r.stderr
    assert pd.read_csv(tmp_path / "h.csv").columns.tolist() == ["a"]  # untouched
