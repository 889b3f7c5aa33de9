"""Fuzz the readers and the CLI with mutated bytes of valid files (hypothesis-driven).

The only acceptable outcomes: the input loads, or a LabelError (one line naming the file); through
the CLI, exit 0, or exit 2 with exactly one `Error:` line on stderr and no partial output.
Anything else (another exception, exit 3, a traceback, a MemoryError) is a crash.

Time-bounded: LABELCLI_FUZZ_SECONDS (default 20) is split over the targets. Each target runs
hypothesis in chunks of CHUNK examples seeded 0, 1, 2, ... until its time is up, so the inputs are
reproducible: a longer budget replays the same chunks first, then goes further.

    make fuzz   ->   LABELCLI_FUZZ_SECONDS=600 .venv/bin/python -m pytest -q tests/test_fuzz.py

Every crash found is kept below as an explicit regression case (REGRESSIONS).
"""
from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st


from labelcli.errors import LabelError
from labelcli.io import open_dataset
from tests.conftest import LABELCLI, run_cli

BUDGET = float(os.environ.get("LABELCLI_FUZZ_SECONDS", "20"))
N, K = 24, 3


# ------------------------------------------------------------------------------------- seeds


def _clean():
    rng = np.random.default_rng(11)
    y = rng.integers(0, K, N)
    p = rng.dirichlet(np.ones(K), N).round(4)
    p[:, -1] = 1 - p[:, :-1].sum(axis=1)
    return y, p


Y, P = _clean()
NAMES = ["cat", "dog", "eel"]


def _table() -> pd.DataFrame:
    return pd.DataFrame({"label": [NAMES[i] for i in Y], **{n: P[:, j] for j, n in enumerate(NAMES)}})


def _npy(arr) -> bytes:
    b = io.BytesIO()
    np.save(b, arr)
    return b.getvalue()


def _parquet() -> bytes:
    b = io.BytesIO()
    _table().to_parquet(b, index=False)
    return b.getvalue()


CSV = _table().to_csv(index=False, lineterminator="\n").encode()
SEEDS = {
    # target: (file name, valid bytes, role) -- role "table" passes the file as labels and pred_probs
    "csv": ("t.csv", CSV, "table"),
    "csv.gz": ("t.csv.gz", gzip.compress(CSV, mtime=0), "table"),
    "parquet": ("t.parquet", _parquet(), "table"),
    "npy_probs": ("p.npy", _npy(P), "pred_probs"),
    "npy_labels": ("y.npy", _npy(Y), "labels"),
}
TEXT_TOKENS = [b",", b";", b"\t", b"\n", b"\r\n", b'"', b"'", b" ", b"nan", b"NaN", b"inf", b"-inf", b"-1",
               b"1e309", b"0", b"1", b"0.5", b"1.5", b"99999999999999999999", b"\xef\xbb\xbf", b"\x00",
               b"label", b"cat", b"NA", b"", b"\xff\xfe", b"\xe9", b"#", b"\\", b"\x1f\x8b", b"PAR1", b"\x93NUMPY"]
NPY_TOKENS = [b"(", b")", b",", b" ", b"'<f8'", b"'<f2'", b"'>i8'", b"'|O'", b"'<U5'", b"'|b1'", b"'<c16'",
              b"True", b"False", b"99999999999", b"4294967296", b"-1", b"0", b"'shape'", b"'descr'", b"{", b"}",
              b"\x00", b"\n", b"\x02", b"\x03", b"\xff"]


def mutations(size: int, tokens: list[bytes], tail: int = 0):
    """A short list of byte-level edits; positions are drawn from the whole file (and, for
    Parquet, more often from the footer where the metadata lives)."""
    pos = st.integers(0, max(size - 1, 0))
    if tail:
        pos = st.one_of(pos, st.integers(max(size - tail, 0), max(size - 1, 0)))
    op = st.one_of(
        st.tuples(st.just("xor"), pos, st.integers(1, 255)),
        st.tuples(st.just("set"), pos, st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, ord(","), ord("\n"), ord("9")])),
        st.tuples(st.just("insert"), pos, st.one_of(st.sampled_from(tokens), st.binary(min_size=1, max_size=12))),
        st.tuples(st.just("replace"), pos, st.sampled_from(tokens)),
        st.tuples(st.just("delete"), pos, st.integers(1, 64)),
        st.tuples(st.just("truncate"), pos),
        st.tuples(st.just("duplicate"), pos, st.integers(1, 96)),
    )
    return st.lists(op, min_size=1, max_size=5)


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op in ops:
        kind, at = op[0], (op[1] % len(b)) if b else 0
        if kind == "xor" and b:
            b[at] ^= op[2]
        elif kind == "set" and b:
            b[at] = op[2]
        elif kind == "insert":
            b[at:at] = op[2]
        elif kind == "replace":
            b[at:at + len(op[2])] = op[2]
        elif kind == "delete":
            del b[at:at + op[2]]
        elif kind == "truncate":
            del b[at:]
        elif kind == "duplicate":
            b[at:at] = b[at:at + op[2]]
    return bytes(b)


# ------------------------------------------------------------------------------------- oracles


class Crash(AssertionError):
    pass


def _inputs(folder: Path, target: str, data: bytes) -> tuple[str, str]:
    name, _, role = SEEDS[target]
    path = folder / name
    path.write_bytes(data)
    good_y, good_p = folder / "good_y.npy", folder / "good_p.npy"
    if not good_y.exists():
        np.save(good_y, Y)
        np.save(good_p, P)
    if role == "table":
        return str(path), str(path)
    if role == "pred_probs":
        return str(good_y), str(path)
    return str(path), str(good_p)


def check_loader(labels: str, probs: str) -> str:
    """open_dataset must return, or raise a one-line LabelError naming a file."""
    try:
        open_dataset(labels, probs)
        return "ok"
    except LabelError as e:
        msg = str(e)
        if "\n" in msg or not (os.path.basename(labels) in msg or os.path.basename(probs) in msg):
            raise Crash(f"bad LabelError message: {msg!r}") from e
        return "error"
    except Exception as e:  # noqa: BLE001 - the point of the test
        raise Crash(f"{type(e).__name__}: {e}") from e


def check_cli(labels: str, probs: str, out_dir: Path, cmd: str = "find-issues") -> int:
    for f in out_dir.iterdir():
        f.unlink()
    target = out_dir / ("r.json" if cmd == "health" else "r.csv")
    code, _, err = run_cli([cmd, "-l", labels, "-p", probs, "-q", "--out", str(target)])
    if code == 0:
        if not target.is_file():
            raise Crash("exit 0 without the output file")
        if err:  # -q: nothing on stderr
            raise Crash(f"exit 0 with stderr output: {err[-500:]!r}")
        return 0
    lines = err.rstrip("\n").split("\n")
    if code != 2 or len(lines) != 1 or not lines[0].startswith("Error: ") or "Traceback" in err:
        raise Crash(f"exit {code}: {err[-500:]!r}")
    if list(out_dir.iterdir()):
        raise Crash(f"files left after an error: {sorted(os.listdir(out_dir))}")
    return 2


@pytest.fixture(autouse=True, scope="module")
def _bounded_memory():
    """A runaway allocation fails fast (MemoryError = a crash) instead of swapping the machine."""
    try:
        import resource
    except ImportError:  # pragma: no cover
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        used = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmSize:"))
    limit = used + (3 << 30)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# --------------------------------------------------------------------------------------- fuzzing


CHUNK = 25


@pytest.mark.parametrize("target", list(SEEDS))
def test_fuzz_readers_and_cli(target, tmp_path):
    name, seed, _ = SEEDS[target]
    tokens = NPY_TOKENS if target.startswith("npy") else TEXT_TOKENS
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    work = tmp_path / "in"
    work.mkdir()
    # the valid seed itself must load and run
    labels, probs = _inputs(work, target, seed)
    assert check_loader(labels, probs) == "ok"
    assert check_cli(labels, probs, out_dir) == 0
    seconds = BUDGET / len(SEEDS)
    start = time.monotonic()
    stop_at = start + seconds
    seen = {"ok": 0, "error": 0}

    @settings(max_examples=CHUNK, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(mutations(len(seed), tokens, tail=400 if target == "parquet" else 0), st.booleans())
    def fuzz(ops, via_plaintext):
        if time.monotonic() > stop_at:
            return
        data = mutate(seed, ops)
        if target == "csv.gz" and via_plaintext:  # mutate the text, then compress
            data = gzip.compress(mutate(CSV, ops), mtime=0)
        note(f"{target}: {data!r}")
        labels, probs = _inputs(work, target, data)
        seen[check_loader(labels, probs)] += 1
        check_cli(labels, probs, out_dir)

    chunk = 0
    while time.monotonic() < stop_at:
        hypothesis_seed(chunk)(fuzz)()  # a failure names the chunk: rerun with the same seed to replay it
        chunk += 1
    print(f"\nfuzz {target}: {chunk} chunks, {seen['ok']} loaded, {seen['error']} LabelError,"
          f" {time.monotonic() - start:.1f}s")
    assert seen["ok"] + seen["error"] >= 5, seen


# ------------------------------------------------------------------------- real subprocess spot checks


def _spot_cases():
    rng = random.Random(20240606)
    cases = []
    for target in SEEDS:
        _, seed, _ = SEEDS[target]
        for _ in range(2):
            b = bytearray(seed)
            for _ in range(3):
                b[rng.randrange(len(b))] = rng.randrange(256)
            cases.append((target, bytes(b)))
    return cases


@pytest.mark.skipif(not LABELCLI.exists(), reason="console script not installed")
def test_mutated_files_through_the_console_script(tmp_path):
    """A few seeded mutations through the real script: exit 0, or 2 with one Error: line."""
    import concurrent.futures

    def one(i, target, data):
        folder = tmp_path / f"c{i}"
        folder.mkdir()
        labels, probs = _inputs(folder, target, data)
        out = folder / "out"
        out.mkdir()
        p = subprocess.run([str(LABELCLI), "score", "-l", labels, "-p", probs, "--out", str(out / "s.csv")],
                           capture_output=True, timeout=120)
        return target, data, p, sorted(os.listdir(out))

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda a: one(*a), [(i, t, d) for i, (t, d) in enumerate(_spot_cases())]))
    for target, data, p, left in results:
        err = p.stderr.decode(errors="replace")
        assert "Traceback" not in err, (target, err)
        if p.returncode == 0:
            assert left == ["s.csv"], (target, left)
        else:
            assert p.returncode == 2, (target, p.returncode, err)
            assert err.count("\n") == 1 and err.startswith("Error: "), (target, err)
            assert left == [], (target, left)


# ------------------------------------------------------------------------------ regressions
# Inputs the fuzzer (or the bad-input corpus) once crashed on; each must now load or give a
# LabelError, and the CLI must exit 0 or 2 with one line.


def _npy_header(descr: str, shape: str, fortran: str = "False") -> bytes:
    text = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    text = text + " " * (118 - len(text)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")


REGRESSIONS = {
    # .npy headers whose shape needs far more memory than exists, with tiny bodies
    "npy_huge_shape": ("npy_probs", _npy_header("'<f8'", "(1000000000000, 10)") + b"\0" * 64),
    "npy_huge_1d_labels": ("npy_labels", _npy_header("'<i8'", "(4611686018427387904,)") + b"\0" * 64),
    "npy_overflowing_shape": ("npy_probs", _npy_header("'<f8'", "(9223372036854775807, 9223372036854775807)")),
    "npy_negative_shape": ("npy_probs", _npy_header("'<f8'", "(-1, 3)") + b"\0" * 64),
    "npy_object_descr": ("npy_probs", _npy_header("'|O'", "(24, 3)") + b"\0" * 576),
    "npy_header_not_a_dict": ("npy_probs", b"\x93NUMPY\x01\x00\x10\x00" + b"[1, 2, 3]      \n"),
    "npy_version_9": ("npy_probs", b"\x93NUMPY\x09\x00" + _npy(P)[8:]),
    # a Python 2 header ("24L"): numpy warns on stderr; valid data must load silently
    "npy_python2_header": ("npy_probs", _npy(P).replace(b"(24, 3), ", b"(24L, 3),")),
    "npy_python2_header_truncated": ("npy_probs", _npy(P).replace(b"(24, 3), ", b"(24L, 30),")),
    # Parquet / CSV content under the other suffix
    "parquet_bytes_as_csv": ("csv", _parquet()),
    "npy_bytes_as_csv": ("csv", _npy(P)),
    "npy_bytes_as_parquet": ("parquet", _npy(P)),
    "nul_in_csv": ("csv", CSV.replace(b"cat", b"c\0t", 1)),
}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_regression(name, tmp_path):
    target, data = REGRESSIONS[name]
    labels, probs = _inputs(tmp_path, target, data)
    check_loader(labels, probs)
    out = tmp_path / "out"
    out.mkdir()
    check_cli(labels, probs, out)
