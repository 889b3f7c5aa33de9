"""Shared fixtures and the one CLI runner of the test suite.

The tests mirror the package (tests/core, tests/io, tests/cli, tests/render, tests/ml); the suites
that cut across it (conformance with cleanlab, properties, fuzz, bad input, real data, the
accuracy benchmark) stay at this level. Import helpers from here: ``from tests.conftest import
run_cli, SAMPLE``.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
# The installed console script, for the few tests that need a real process.
LABELCLI = Path(sys.executable).with_name("labelcli")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# The sample data's class names (digits 0..9), in class order.
DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


# === the CLI runner =================================================================================


class CliRun(NamedTuple):
    code: int  # the exit code
    stdout: str
    stderr: str  # with any Python warnings, one line each


def run_cli(*args, stdin: bytes | str | None = None) -> CliRun:
    """Run ``labelcli.cli.main(argv)`` in this process, as the console script runs it: (exit code,
    stdout, stderr). Arguments are turned into strings. Warnings count as stderr lines, because
    the real process would print them there. ``stdin`` feeds '-' inputs (default: empty, like a
    process started with stdin from /dev/null)."""
    from labelcli.cli import main

    argv = [str(a) for a in (args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args)]
    data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
    out, err = io.StringIO(), io.StringIO()
    fake_stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    saved_stdin, sys.stdin = sys.stdin, fake_stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                main(argv)
                code = 0
            except SystemExit as e:
                code = 0 if e.code is None else e.code
    finally:
        sys.stdin = saved_stdin
    extra = "".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n" for w in caught)
    return CliRun(int(code), out.getvalue(), extra + err.getvalue())


def cli_ok(*args, stdin: bytes | str | None = None) -> CliRun:
    """run_cli that must exit 0; a failure shows the command's output."""
    r = run_cli(*args, stdin=stdin)
    assert r.code == 0, f"exit {r.code}\nstdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-2000:]}"
    return r


def assert_one_error_line(err: str, *fragments: str) -> str:
    """Exactly one stderr line, starting with 'Error: ' and holding every fragment; returns it."""
    lines = err.rstrip("\n").split("\n")
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith("Error: "), line
    assert "Traceback" not in err, err
    for frag in fragments:
        assert frag in line, f"{frag!r} not in {line!r}"
    return line


def assert_bad_input(args, *fragments: str, folder: Path | None = None, out: Path | None = None,
                     stdin: bytes | str | None = None) -> str:
    """Run ``args``: exit 2 with one `Error:` line holding the fragments, empty stdout, nothing
    created or removed in ``folder`` and no ``out`` left behind; returns the line."""
    before = sorted(os.listdir(folder)) if folder is not None else None
    code, stdout, stderr = run_cli(list(args), stdin=stdin)
    assert code == 2, f"exit {code}, stderr: {stderr}"
    line = assert_one_error_line(stderr, *fragments)
    assert stdout == "", stdout
    if out is not None:
        assert not out.exists(), f"{out} was left behind"
    if folder is not None:
        assert sorted(os.listdir(folder)) == before, "files were created or removed by a failed run"
    return line


class OptionalModule:
    """A module imported on first use through pytest.importorskip: a test that uses it is skipped
    when it is not installed, and only that test (cleanlab and psutil are test extras).

        cl_filter = OptionalModule("cleanlab.filter")   # at module level: nothing is imported yet
    """

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(pytest.importorskip(self.name), attr)

    def module(self):
        """The module itself (e.g. to monkeypatch one of its attributes)."""
        return pytest.importorskip(self.name)


@pytest.fixture(scope="session")
def cli():
    """The CLI runner as a fixture: ``cli("find-issues", ...)`` -> CliRun (see run_cli)."""
    return run_cli


def labelcli_script() -> Path:
    """The installed console script (the test is skipped when it is missing)."""
    if not LABELCLI.exists():
        pytest.skip(f"console script not found at {LABELCLI}")
    return LABELCLI


def read_result(path: Path):
    """A result table written by labelcli, by suffix, keeping class names as strings."""
    import json

    import pandas as pd

    s = str(path)
    if s.endswith(".csv"):
        return pd.read_csv(path, dtype={"given_label": str, "predicted_label": str})
    if s.endswith(".parquet"):
        return pd.read_parquet(path)
    if s.endswith(".jsonl"):
        return pd.DataFrame([json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()])
    if s.endswith(".json"):
        return pd.DataFrame(json.loads(path.read_text()))
    raise AssertionError(s)


# === the sample data given to the CLI (sample_data/: digits, 1,797 examples, 10 classes) =========

# The four ways the same sample data can be given (labels + pred_probs).
SAMPLE_NPY = ["-l", str(SAMPLE / "digits_labels.npy"), "-p", str(SAMPLE / "digits_pred_probs.npy")]
SAMPLE_CSV2 = ["-l", str(SAMPLE / "labels.csv"), "-p", str(SAMPLE / "pred_probs.csv")]
SAMPLE_CSV1 = ["-l", str(SAMPLE / "digits.csv"), "-p", str(SAMPLE / "digits.csv"), "--prob-prefix", "prob_"]
SAMPLE_PQ1 = ["-l", str(SAMPLE / "digits.parquet"), "-p", str(SAMPLE / "digits.parquet"), "--prob-prefix", "prob_"]
SAMPLE_SOURCES = {"npy": SAMPLE_NPY, "csv_two_files": SAMPLE_CSV2, "csv_one_table": SAMPLE_CSV1,
                  "parquet_one_table": SAMPLE_PQ1}


@pytest.fixture(scope="session")
def default_issues_csv(tmp_path_factory) -> Path:
    """The default find-issues table on the .npy sample, as a file (labels are indices 0..9)."""
    out = tmp_path_factory.mktemp("ref") / "issues.csv"
    cli_ok("find-issues", *SAMPLE_NPY, "-q", "--out", out)
    return out


@pytest.fixture(scope="session")
def default_issues(default_issues_csv):
    """The default find-issues table on the .npy sample (the reference for other runs)."""
    return read_result(default_issues_csv)


@pytest.fixture(scope="session")
def bad(tmp_path_factory, sample_labels, sample_pred_probs):
    """A folder of broken inputs derived from the sample data (read-only by convention)."""
    import numpy as np

    d = tmp_path_factory.mktemp("bad")
    noisy_labels, pred_probs = sample_labels, sample_pred_probs
    p64 = pred_probs.astype(np.float64)
    np.save(d / "short.npy", pred_probs[:100])
    np.save(d / "oned.npy", pred_probs[:, 0])
    q = pred_probs.copy(); q[5, 3] = np.nan; np.save(d / "nan.npy", q)  # noqa: E702
    q = pred_probs.copy(); q[7, 2] = np.inf; np.save(d / "inf.npy", q)  # noqa: E702
    q = p64.copy(); q[9, 2] += q[9, 1] + 0.2; q[9, 1] = -0.2; np.save(d / "negative.npy", q)  # noqa: E702 (sums to 1)
    np.save(d / "half.npy", p64 * 0.5)  # every row sums to 0.5, values stay in [0, 1]
    np.save(d / "x1_5.npy", p64 * 1.5)  # rows sum to 1.5, some values above 1
    np.save(d / "one_col.npy", np.ones((len(noisy_labels), 1)))
    q = noisy_labels.copy(); q[11] = 10; np.save(d / "label10.npy", q)  # noqa: E702
    np.save(d / "same_label.npy", np.zeros(len(noisy_labels), dtype=np.int64))
    (d / "garbage.parquet").write_bytes(b"\x00not a parquet file\xff" * 50)
    raw = (SAMPLE / "digits_pred_probs.npy").read_bytes()
    (d / "truncated.npy").write_bytes(raw[: len(raw) // 2])
    (d / "labels.txt").write_text("label\n0\n1\n")
    names = [DIGIT_NAMES[i] for i in noisy_labels]
    names[1796] = "eleven"
    (d / "unknown_name.csv").write_text("label\n" + "\n".join(names) + "\n")
    (d / "string_labels.csv").write_text("label\n" + "\n".join(DIGIT_NAMES[i] for i in noisy_labels) + "\n")
    return d


# === multi-label data =============================================================================

TAG_NAMES = ["hat", "beard", "glasses", "smile", "male"]


@pytest.fixture(scope="session")
def tag_data(tmp_path_factory):
    """500 examples x 5 tags, 30 planted tag flips; the same data in every supported form."""
    import numpy as np
    import pandas as pd

    d = tmp_path_factory.mktemp("ml")
    rng = np.random.default_rng(0)
    n, k = 500, len(TAG_NAMES)
    truth = rng.random((n, k)) < 0.3
    probs = np.clip(np.where(truth, 0.8, 0.15) + rng.normal(0, 0.1, (n, k)), 0, 1)
    noisy = truth.copy()
    flips = rng.choice(n, 30, replace=False)
    noisy[flips, rng.integers(0, k, 30)] ^= True
    noisy[7] = False  # an example with no tag at all
    names = np.array(TAG_NAMES, dtype=object)
    lists = [list(names[np.flatnonzero(r)]) for r in noisy]
    pd.DataFrame({"image_id": np.arange(n), "tags": lists}).to_parquet(d / "tags.parquet")
    pd.DataFrame(probs, columns=TAG_NAMES).to_parquet(d / "probs.parquet")
    pd.DataFrame({"image_id": np.arange(n), "tags": [",".join(t) for t in lists]}).to_csv(d / "tags.csv", index=False)
    pd.DataFrame({"tags": ["|".join(t) for t in lists]}).to_csv(d / "pipe.csv", index=False)
    idx = [",".join(str(TAG_NAMES.index(t)) for t in row) for row in lists]
    pd.DataFrame({"label": idx}).to_csv(d / "indices.csv", index=False)
    np.save(d / "y.npy", noisy.astype(np.uint8))
    np.save(d / "p.npy", probs)
    return {"dir": d, "noisy": noisy, "probs": probs, "flips": flips}


# === small files in the current folder (the io tests run in a temp folder: short names in messages)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test in its temp folder: relative paths keep messages short and let tests assert
    the exact file name."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def text(name: str, content: str | bytes) -> str:
    """Write a file (text or bytes); returns its name."""
    data = content.encode() if isinstance(content, str) else content
    with open(name, "wb") as f:
        f.write(data)
    return name


def npy(name: str, arr, **kw) -> str:
    """np.save an array; returns the file name."""
    import numpy as np

    np.save(name, arr, **kw)
    return name


def parquet(name: str, df) -> str:
    """Write a DataFrame as Parquet (no index); returns the file name."""
    df.to_parquet(name, index=False)
    return name


def fails(func, *args, name: str, match: str | None = None, **kw) -> str:
    """Call expecting a one-line LabelError that names ``name`` (and matches ``match``); returns
    the message."""
    import re

    from labelcli.errors import LabelError

    with pytest.raises(LabelError) as ei:
        func(*args, **kw)
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert name in msg, msg
    if match:
        assert re.search(match, msg), msg
    return msg


# === the sample data (sample_data/: digits, 1,797 examples, 10 classes, planted label errors) =====


@pytest.fixture(scope="session")
def sample_labels():
    import numpy as np

    return np.load(SAMPLE / "digits_labels.npy")


@pytest.fixture(scope="session")
def sample_pred_probs():
    import numpy as np

    return np.load(SAMPLE / "digits_pred_probs.npy")


@pytest.fixture(scope="session")
def sample_is_error():
    import numpy as np

    return np.load(SAMPLE / "digits_is_error.npy")


# === real-data fixtures (tests/test_real_data.py) ==================================================
# The shared data sits next to the repository checkout: <checkout>/../shared/data.

SHARED_DATA_DIR = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def label_errors_dir() -> Path:
    """Folder of the real label-error datasets (mnist, cifar10, imdb, 20news); skips if absent."""
    folder = SHARED_DATA_DIR / "label-errors"
    if not folder.is_dir():
        pytest.skip(f"real label-error data not found at {folder}")
    return folder
