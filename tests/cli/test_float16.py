"""float16 pred_probs (issue #14 item 6): the documented row-sum tolerance max(1e-3, K x eps(dtype))
applies to the file's dtype in every command and reader path (whole or chunked); rows beyond it
are refused with a message that names the file."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import npy, run_cli

pytestmark = pytest.mark.usefixtures("in_tmp")

K = 10


def _half_probs(off: float, n: int = 600, seed: int = 0):
    """float16 pred_probs, K = 10, like the CIFAR-10 noisy files: every row's sum is off by up to
    ``off`` (one row by exactly about ``off``), plus labels that mostly agree with them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    p = rng.dirichlet(np.full(K, 0.3), n)
    p[np.arange(n), y] += 2.0
    p /= p.sum(axis=1, keepdims=True)
    p *= 1 + rng.uniform(-off, off, (n, 1)) * 0.5
    p[0] *= (1 - off) / p[0].sum()
    h = p.astype(np.float16)
    got = np.abs(h.astype(np.float64).sum(axis=1) - 1).max()
    assert abs(got - off) < 0.002 and (got < K * np.finfo(np.float16).eps) == (off < 0.008), got
    return npy("y.npy", y), npy("p16.npy", h)


@pytest.mark.parametrize("cmd,out", [("find-issues", "o.csv"), ("score", "o.csv"), ("health", "o.json"),
                                     ("report", "o.html")])
def test_float16_within_k_eps_accepted(cmd, out):
    y, p = _half_probs(0.0044)
    assert 0.0044 < K * np.finfo(np.float16).eps
    r = run_cli(cmd, "-l", y, "-p", p, "-q", "--out", out)
    assert r.code == 0, r.stderr


@pytest.mark.parametrize("cmd", ["find-issues", "score", "health"])
def test_float16_within_tolerance_chunked(cmd, monkeypatch):
    monkeypatch.setenv("LABELCLI_CHUNK_ROWS", "128")
    y, p = _half_probs(0.0044)
    r = run_cli(cmd, "-l", y, "-p", p, "-q", "--max-memory", "1KB", "--out", "o.json" if cmd == "health" else "o.csv")
    assert r.code == 0, r.stderr


@pytest.mark.parametrize("cmd", ["find-issues", "score", "health", "report"])
@pytest.mark.parametrize("chunked", [False, True])
def test_float16_beyond_tolerance_names_the_file(cmd, chunked, monkeypatch):
    monkeypatch.setenv("LABELCLI_CHUNK_ROWS", "128")
    y, p = _half_probs(0.0137)  # the worst CIFAR-10 noisy file: beyond 10 x eps(float16) = 0.0098
    extra = ["--max-memory", "1KB"] if chunked and cmd != "report" else []
    out = {"health": "o.json", "report": "o.html"}.get(cmd, "o.csv")
    r = run_cli(cmd, "-l", y, "-p", p, "-q", *extra, "--out", out)
    assert r.code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: p16.npy: ") and "--normalize" in lines[0]
    assert run_cli(cmd, "-l", y, "-p", p, "-q", "--normalize", "--out", out).code == 0
