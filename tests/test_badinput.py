"""Bad input through the real console script: exit 2, one `Error:` line, no traceback, no output.

Every case of tests/badinput/make_corpus.py (the table there says what each one is and what it must
do) runs through the installed `labelcli` script in a subprocess, for the subcommands that take
that input. All runs are launched once, from a session fixture with a small thread pool; the
parametrized tests below only assert on the collected results.

Quick mode (default, for `make test`): the cases issue #6 lists (corpus.CORE), and every case that
needs a real process (stdin, redirected streams, permissions), run as subprocesses; the other cases
run through the same entry point, labelcli.cli.main, in-process (Python warnings count as stderr
lines), one command per distinct expected outcome. LABELCLI_BADINPUT_ALL=1: every case on every
command, all as subprocesses.

Contract (README "Exit codes", DESIGN.md section 2): bad input exits 2 with exactly one stderr line
starting with `Error:` that names the file (its basename) and the problem; never a traceback; never
a partial output (the --out folder stays empty: no target, no temp file). Inputs that a demanding
user expects to work (BOM, ';', quotes, CRLF, gzip without .gz, 3.0 as a label, ...) exit 0 with
byte-identical output to the clean case.
"""
from __future__ import annotations

import concurrent.futures
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IS_ROOT, LABELCLI, run_cli

HERE = Path(__file__).resolve().parent
WORKERS = int(os.environ.get("LABELCLI_BADINPUT_WORKERS", "3"))
MEMORY_LIMIT_KB = 4_000_000  # per subprocess (ulimit -v): a runaway allocation fails instead of swapping the box
OUT_NAME = {"find-issues": "result.csv", "score": "result.csv", "health": "result.json", "crossval": "result.npy"}


def _load_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "badinput" / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


corpus = _load_corpus()
CASES = {c["id"]: c for c in corpus.CASES}
CMDS3 = corpus.CMDS3


def per_cmd(value, cmd: str, default=None):
    """A case field that is either one value or {cmd: value}."""
    if isinstance(value, dict):
        return value.get(cmd, default)
    return default if value is None else value


def expectation(case: dict, cmd: str) -> str:
    return per_cmd(case["expect"], cmd)


FULL = os.environ.get("LABELCLI_BADINPUT_ALL") == "1"


REFERENCES = {c.get("same_as") for c in corpus.CASES if isinstance(c.get("same_as"), str)}
REFERENCES |= {v for c in corpus.CASES if isinstance(c.get("same_as"), dict) for v in c["same_as"].values()}


def runs_of(case: dict, index: int):
    """Which commands a case runs.

    Quick mode (default): one command per distinct expected outcome, rotating over the case's
    commands (find-issues / score / health, and crossval where the case lists it), plus every
    command with its own xfail; the clean references (compared byte for byte) run everything.
    The outcome of the other commands comes from the same shared loader and checks.
    LABELCLI_BADINPUT_ALL=1: every case on every command (and crossval where the case lists it).
    """
    listed = tuple(case.get("cmds", CMDS3))
    pool = tuple(dict.fromkeys(listed + CMDS3))
    if FULL or case["id"] in REFERENCES:
        return [(case["id"], cmd) for cmd in (pool if FULL else listed)]
    chosen = [cmd for cmd in listed if cmd in case.get("xfail", {})]
    by_outcome: dict[tuple, list[str]] = {}
    for cmd in pool:
        outcome = (expectation(case, cmd), repr(per_cmd(case.get("problem"), cmd)))
        by_outcome.setdefault(outcome, []).append(cmd)
    for cmds in by_outcome.values():
        if not any(c in chosen for c in cmds):
            chosen.append(cmds[index % len(cmds)])
    return [(case["id"], cmd) for cmd in pool if cmd in chosen]


ALL_RUNS = [r for i, c in enumerate(corpus.CASES) for r in runs_of(c, i)]
assert len({c["id"] for c in corpus.CASES}) == len(corpus.CASES), "duplicate case ids"


# ------------------------------------------------------------------------------------------ running


def _resolve(name: str | None, case_dir: Path, good_dir: Path) -> str | None:
    if name is None or name == "-":
        return name
    if (case_dir / name).exists() or name in CASES_FILES.get(case_dir.name, ()):
        return str(case_dir / name)
    if name in corpus.GOOD:
        return str(good_dir / name)
    return str(case_dir / name)  # a path that does not exist, on purpose


CASES_FILES = {c["id"]: tuple(c["files"]) for c in corpus.CASES}


def _argv(case: dict, cmd: str, case_dir: Path, good_dir: Path, out: str) -> list[str]:
    labels = _resolve(case["labels"], case_dir, good_dir)
    if cmd == "crossval":
        feats = _resolve(case.get("features", "x.npy"), case_dir, good_dir)
        return [cmd, "-x", feats, "-l", labels, "--folds", "3", *case.get("cv_extra", []), "--out", out]
    probs = _resolve(case["pred_probs"], case_dir, good_dir)
    return [cmd, "-l", labels, "-p", probs, *case.get("extra", []), "--out", out]


def _out_path(case: dict, cmd: str, out_dir: Path, labels_path: str | None) -> Path:
    spec = case.get("out", "tmp")
    name = OUT_NAME[cmd]
    if spec == "tmp":
        return out_dir / name
    if spec in ("stdout", "none"):
        return None
    if spec == "missing_dir":
        return out_dir / "missing" / name
    if spec == "input":
        return Path(labels_path)
    if spec == "readonly_file":
        target = out_dir / name
        target.write_bytes(b"previous contents\n")
        target.chmod(0o444)
        return target
    if spec == "readonly_dir":
        out_dir.chmod(0o555)
        return out_dir / name
    return out_dir / spec


def _snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.name: (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(folder.iterdir())}


def needs_process(case: dict) -> bool:
    return (FULL or case["id"] in corpus.CORE or "stdin" in case or "redirect" in case
            or case.get("needs_user", False) or case["labels"] == "-" or case.get("pred_probs") == "-")


def _run_one(case: dict, cmd: str, work: Path, in_process: bool = False) -> dict:
    case_dir, good_dir = work / "cases" / case["id"], work / "cases" / "_good"
    out_dir = work / "out" / case["id"] / cmd
    out_dir.mkdir(parents=True)
    labels_path = _resolve(case["labels"], case_dir, good_dir)
    out = _out_path(case, cmd, out_dir, labels_path)
    before = _snapshot(out_dir)
    input_before = Path(labels_path).read_bytes() if case.get("out") == "input" else None
    argv = _argv(case, cmd, case_dir, good_dir, "-" if out is None else str(out))
    if case.get("out") == "none":
        argv = argv[:-2]
    shell = f'ulimit -v {MEMORY_LIMIT_KB} 2>/dev/null; exec "$@" {case.get("redirect", "")}'
    if in_process:
        code, out_text, stderr = run_cli(argv)
        stdout = out_text.encode()  # as bytes, like a subprocess's
    else:
        # stdin: the case's bytes, then closed (a writer that stopped); else nothing (like /dev/null)
        feed = {"input": case["stdin"]} if "stdin" in case else {"stdin": subprocess.DEVNULL}
        proc = subprocess.run(
            ["bash", "-c", shell, "labelcli", str(LABELCLI), *argv], **feed,
            capture_output=True, timeout=300, cwd=work,
            env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
        )
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr.decode("utf-8", errors="replace")
    if case.get("out") == "readonly_dir":
        out_dir.chmod(0o755)
    return {
        "argv": argv,
        "via": "in-process main()" if in_process else "subprocess",
        "code": code,
        "stdout": stdout,
        "stderr": stderr,
        "before": before,
        "after": _snapshot(out_dir),
        "out": out,
        "out_bytes": out.read_bytes() if out is not None and out.is_file() and case.get("out") != "input" else None,
        "input_before": input_before,
        "input_after": Path(labels_path).read_bytes() if input_before is not None else None,
    }


@pytest.fixture(scope="session")
def results(tmp_path_factory) -> dict:
    """Run every (case, command) once; {(case id, cmd): result}."""
    if not LABELCLI.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    if not corpus.os.path.isdir(corpus.CASES_DIR):
        pytest.fail("tests/badinput/cases/ is missing: run python tests/badinput/make_corpus.py")
    work = tmp_path_factory.mktemp("badinput")
    shutil.copytree(corpus.CASES_DIR, work / "cases")
    for case in corpus.CASES:
        if case.get("dynamic"):
            corpus.build_dynamic(case, str(work / "cases" / case["id"]))
        else:
            (work / "cases" / case["id"]).mkdir(exist_ok=True)
    todo = [(CASES[cid], cmd) for cid, cmd in ALL_RUNS if not (CASES[cid].get("needs_user") and IS_ROOT)]
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {(c["id"], cmd): pool.submit(_run_one, c, cmd, work) for c, cmd in todo if needs_process(c)}
        # the rest in this thread meanwhile (redirecting sys.stdout/stderr is process-wide)
        done = {(c["id"], cmd): _run_one(c, cmd, work, in_process=True)
                for c, cmd in todo if not needs_process(c)}
        done.update({key: f.result() for key, f in futures.items()})
        return done


# ------------------------------------------------------------------------------------------ checks


def _problem_names(case: dict) -> str:
    if "names" in case:
        return case["names"]
    bad = [n for n in (case["labels"], case.get("pred_probs")) if n and n not in corpus.GOOD]
    return os.path.basename(bad[-1]) if bad else os.path.basename(case["labels"])


def _params():
    for cid, cmd in ALL_RUNS:
        case = CASES[cid]
        marks = []
        reason = case.get("xfail", {}).get(cmd) or case.get("xfail", {}).get("*")
        if reason:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        if case.get("needs_user") and IS_ROOT:
            marks.append(pytest.mark.skip(reason="running as root: permissions do not stop root"))
        yield pytest.param(cid, cmd, id=f"{cid}-{cmd}", marks=marks)


def _describe(r: dict) -> str:
    return (f"labelcli {' '.join(r['argv'])}  [{r['via']}]\nexit {r['code']}\nstderr:\n{r['stderr'][-3000:]}"
            f"\nstdout: {r['stdout'][:300]!r}")


@pytest.mark.parametrize("cid, cmd", list(_params()))
def test_case(results, cid, cmd):
    import re

    case = CASES[cid]
    r = results[(cid, cmd)]
    assert "Traceback" not in r["stderr"], _describe(r)
    if expectation(case, cmd) == "ok":
        assert r["code"] == 0, _describe(r)
        assert "Error:" not in r["stderr"], _describe(r)
        if r["out"] is not None:
            assert r["out_bytes"], f"no output written\n{_describe(r)}"
            assert set(r["after"]) == set(r["before"]) | {r["out"].name}, f"stray files {r['after'].keys()}"
        ref = per_cmd(case.get("same_as"), cmd)
        if ref:
            assert (ref, cmd) in results, f"reference {ref} has no {cmd} run"
            assert r["out_bytes"] == results[(ref, cmd)]["out_bytes"], f"output differs from {ref}\n{_describe(r)}"
        return
    assert r["code"] == 2, _describe(r)
    if "2>&-" in case.get("redirect", ""):
        return  # stderr closed: the exit code is all a pipeline gets
    lines = r["stderr"].rstrip("\n").split("\n")
    assert len(lines) == 1, f"expected exactly one stderr line\n{_describe(r)}"
    line = lines[0]
    assert line.startswith("Error: "), _describe(r)
    assert _problem_names(case) in line, f"the error does not name {_problem_names(case)!r}\n{_describe(r)}"
    for pattern in per_cmd(case.get("problem"), cmd, []):
        assert re.search(pattern, line), f"{pattern!r} not in the error\n{_describe(r)}"
    assert r["stdout"] == b"", _describe(r)
    # no partial output, no temp file; a previous file (read-only case) is untouched
    assert r["after"] == r["before"], f"the out folder changed: {sorted(r['after'])}\n{_describe(r)}"
    if r["input_before"] is not None:
        assert r["input_after"] == r["input_before"], "an input file was modified"


def test_every_case_documented():
    """tests/badinput/README.md lists every case id (the table of what each does)."""
    readme = (HERE / "badinput" / "README.md").read_text()
    missing = [c["id"] for c in corpus.CASES if f"`{c['id']}`" not in readme]
    assert not missing, f"add to tests/badinput/README.md: {missing}"


def test_corpus_is_up_to_date():
    """The committed files are exactly what make_corpus.py writes (Parquet: same table)."""
    problems = corpus.check()
    real = []
    for p in problems:
        kind, rel = p.split(" ", 1)
        if kind == "differs" and rel.endswith(".parquet"):
            # Parquet bytes embed the writer's version; the content is what matters.
            import pyarrow.parquet as pq

            try:
                a = pq.read_table(os.path.join(corpus.CASES_DIR, rel))
                b = pq.read_table(__import__("io").BytesIO(corpus.corpus_files()[rel]))
                if a.equals(b):
                    continue
            except Exception:  # a deliberately broken Parquet file: its bytes are the content
                pass
        real.append(p)
    assert not real, f"run python tests/badinput/make_corpus.py: {real}"


def test_corpus_is_small():
    total = sum(len(d) for d in corpus.corpus_files().values())
    assert total < 256 * 1024, total


# ------------------------------------------------------------------------------ resource limits
# The in-memory readers refuse, before allocating, a file that needs more memory than there is
# (labelcli/io/readers.py); the message points at --max-memory, the out-of-core path.


def _no_allocation(monkeypatch):
    """Make any attempt to load the array / table fail loudly."""
    import numpy as np
    import pyarrow.parquet as pq

    def boom(*a, **k):
        raise AssertionError("the reader allocated before checking the size")

    monkeypatch.setattr(np, "load", boom)
    monkeypatch.setattr(pq.ParquetFile, "read", boom)


def test_npy_larger_than_memory_is_refused_before_allocation(tmp_path, monkeypatch):
    import numpy as np

    from labelcli.io import memory, readers
    from labelcli.errors import LabelError

    path = tmp_path / "p.npy"
    np.save(path, np.zeros((4096, 64)))  # 2 MiB, complete
    monkeypatch.setattr(memory, "available_memory", lambda: 1 << 20)
    _no_allocation(monkeypatch)
    with pytest.raises(LabelError) as e:
        readers.read_table(str(path))
    msg = str(e.value)
    assert "p.npy" in msg and "(4096, 64)" in msg and "2.1MB" in msg and "--max-memory" in msg
    assert "truncated" not in msg


def test_npy_header_claiming_terabytes(tmp_path, monkeypatch):
    from labelcli.io import readers
    from labelcli.errors import LabelError

    path = tmp_path / "huge.npy"
    corpus.huge_shape_npy(str(path))
    assert path.stat().st_size < 256
    _no_allocation(monkeypatch)
    with pytest.raises(LabelError) as e:
        readers.read_table(str(path))
    msg = str(e.value)
    assert "(1000000000000, 10)" in msg and "80.0TB" in msg and "--max-memory" in msg
    assert "truncated" in msg  # the file also lacks the data


@pytest.mark.parametrize("body", [0, 100, 719])
def test_truncated_npy_says_so(tmp_path, monkeypatch, body):
    import numpy as np

    from labelcli.io import readers
    from labelcli.errors import LabelError

    full = tmp_path / "full.npy"
    np.save(full, np.zeros((30, 3)))
    data = full.read_bytes()
    cut = tmp_path / "cut.npy"
    cut.write_bytes(data[: len(data) - 720 + body])
    _no_allocation(monkeypatch)
    with pytest.raises(LabelError, match=rf"cut.npy: could not read as \.npy: the file is truncated: .*\(30, 3\)"
                                         rf" float64 \(720 bytes\) but only {body} bytes"):
        readers.read_table(str(cut))


def test_parquet_larger_than_memory_is_refused_before_reading(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from labelcli.io import memory, readers
    from labelcli.errors import LabelError

    path = tmp_path / "t.parquet"
    pd.DataFrame({"label": np.arange(50_000) % 3, "a": 0.5, "b": 0.5}).to_parquet(path, index=False)
    monkeypatch.setattr(memory, "available_memory", lambda: 100_000)
    _no_allocation(monkeypatch)
    with pytest.raises(LabelError, match=r"t.parquet: the Parquet table \(50,000 rows x 3 columns\) needs"
                                         r" 1.2MB in memory, more than the 100.0KB available; use --max-memory"):
        readers.read_table(str(path))


def test_csv_larger_than_memory_is_refused(tmp_path, monkeypatch):
    from labelcli.io import memory, readers
    from labelcli.errors import LabelError

    path = tmp_path / "t.csv"
    path.write_bytes(corpus.CLEAN_CSV * 10)
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    with pytest.raises(LabelError, match="t.csv: the CSV file needs .* than the 1.0KB available; use --max-memory"):
        readers.read_table(str(path))


def test_available_memory_respects_ulimit():
    code = "from labelcli.io.memory import available_memory as a; print(a())"
    p = subprocess.run(["bash", "-c", f'ulimit -v 2000000 && exec "{sys.executable}" -c "{code}"'],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    assert 0 < int(p.stdout) <= 2_000_000 * 1024


def test_format_bytes():
    """One byte formatter for every message (the memory budget included): decimal units, as
    --max-memory takes them, so a size in a message can be given back to --max-memory."""
    from labelcli.io.memory import format_bytes, parse_size

    assert [format_bytes(n) for n in (0, 999, 1000, 1536, 999_949, 5 << 30, 80 * 10**12)] == [
        "0 bytes", "999 bytes", "1.0KB", "1.5KB", "999.9KB", "5.4GB", "80.0TB"]
    for n in (1000, 1536, 300_000, 2_000_000_000):
        assert abs(parse_size(format_bytes(n)) - n) <= 0.05 * n


# ------------------------------------------------------------------ issue #17: hostile scenarios
# tests/badinput/hostile.py: links, special files, overlapping inputs and outputs, bombs, option
# values, overflow, --model, formula injection, terminal escapes, image paths (in-process: fast).
# Signals and disk-full need real processes or a small filesystem: tests/test_badinput_faults.py.

def _load_hostile():
    spec = importlib.util.spec_from_file_location("hostile", HERE / "badinput" / "hostile.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


hostile = _load_hostile()


def _hostile_work(tmp_path: Path) -> Path:
    import numpy as np

    shutil.copytree(HERE / "badinput" / "cases" / "_good", tmp_path / "good")
    tags = ["a", "b", "c", "a,b", "b,c", "a,c"] * 5
    (tmp_path / "good" / "tags.csv").write_text("label\n" + "\n".join(f'"{t}"' for t in tags) + "\n")
    rng = np.random.default_rng(0)
    np.save(tmp_path / "good" / "tagprobs.npy", np.round(rng.uniform(0.05, 0.95, size=(30, 3)), 2))
    return tmp_path


@pytest.mark.parametrize("sc", hostile.SCENARIOS, ids=[s["id"] for s in hostile.SCENARIOS])
def test_hostile_scenario(sc, tmp_path):
    work = _hostile_work(tmp_path)
    argv = sc["setup"](work)
    before = {p: p.read_bytes() for p in work.rglob("*") if p.is_file() and not p.is_symlink()
              and "good" not in p.parts}
    code, _, stderr = run_cli(*argv)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert code == sc["code"], (code, stderr)
    assert "Traceback" not in stderr and "\x1b" not in stderr and "\x07" not in stderr, stderr
    if sc["error"] is None:
        assert not any(ln.startswith("Error:") for ln in lines), stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("Error:"), stderr
        assert __import__("re").search(sc["error"], lines[0]), lines[0]
    if code == 2:  # nothing written, no input touched, no temp file left
        for p, data in before.items():
            assert p.read_bytes() == data, f"{p.name} changed"
        left = [p.name for p in work.rglob("*") if p.name.endswith(".tmp")]
        assert left == [], left
    if sc.get("check"):
        sc["check"](work)


def test_hostile_corpus_covers_every_command_and_class():
    cmds = {s["cmd"] for s in hostile.SCENARIOS}
    assert {"find-issues", "score", "health", "crossval", "report", "fix", "evaluate"} <= cmds
    classes = {s["cls"] for s in hostile.SCENARIOS}
    assert {1, 2, 6, 7, 8, 10, 12, 13, 14} <= classes  # 3, 4, 5, 9, 11: tests/test_badinput_faults.py
