"""Atomic, loss-free outputs: a target is the previous complete file or the new complete file, never partial.

Writers (labelcli/io/writers.py) write into a temp file in the target's folder, named
``.<name>.labelcli-<pid>-<random>.tmp``, fsync it and rename it onto the target. A run killed with
SIGKILL leaves at most that temp file (nothing can run on SIGKILL); the next write to the same
target removes temp files whose process no longer exists.

Checked here: every writer (csv, parquet, json, jsonl, npy, health json) is atomic and cleans up on
failure (in-process); SIGKILL at seeded random moments of a 300k-row `find-issues --all` write
(subprocess; CSV and Parquet); a write that fails half-way (RLIMIT_FSIZE -> EFBIG) keeps the old
file; --out onto an existing file replaces it only on success; stale temp files; read-only and
symlinked targets.
"""
from __future__ import annotations

import errno
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelcli.errors import LabelError
from labelcli.io import write_array, write_json, write_table, writers
from tests.conftest import IS_ROOT, LABELCLI

TEMP = re.compile(r"^\.(?P<target>.+)\.labelcli-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")
DF = pd.DataFrame({"index": [2, 0, 1], "given_label": ["a", "b", "a"], "predicted_label": ["b", "b", "a"],
                   "label_score": [0.1, 0.5, 0.9], "is_label_issue": [True, False, False]})
PREVIOUS = b"previous complete file\n"


def temp_files(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if TEMP.match(n) or n.endswith(".tmp"))


def _write(kind: str, path: Path) -> None:
    if kind == "npy":
        write_array(np.arange(6.0).reshape(3, 2), str(path))
    elif kind == "health":
        write_json({"health_score": 0.9, "per_class": [1, 2]}, str(path))
    else:
        write_table(DF, str(path))


WRITERS = {"csv": "out.csv", "parquet": "out.parquet", "pq": "out.pq", "json": "out.json",
           "jsonl": "out.jsonl", "npy": "out.npy", "health": "health.json"}


# ------------------------------------------------------------------------- every writer, in-process


@pytest.mark.parametrize("kind", list(WRITERS))
def test_writer_renames_a_complete_temp_file_from_the_same_folder(tmp_path, monkeypatch, kind):
    target = tmp_path / WRITERS[kind]
    target.write_bytes(PREVIOUS)
    seen = []
    real_replace = os.replace

    def spy_fsync(fd):
        # Right before the rename: the target is untouched, the temp holds the whole new file.
        seen.append(("fsync", target.read_bytes(), temp_files(tmp_path)))

    def spy_replace(src, dst):
        seen.append(("replace", os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    _write(kind, target)
    fsyncs = [s for s in seen if s[0] == "fsync"]
    replaces = [s for s in seen if s[0] == "replace"]
    assert fsyncs and fsyncs[0][1] == PREVIOUS, "the target changed before the rename"
    assert len(fsyncs[0][2]) == 1, fsyncs
    assert len(replaces) == 1, replaces
    _, src, dst = replaces[0]
    assert os.path.dirname(src) == str(tmp_path) and dst == str(target)
    m = TEMP.match(os.path.basename(src))
    assert m and m["target"] == target.name and int(m["pid"]) == os.getpid(), src
    assert target.read_bytes() != PREVIOUS and temp_files(tmp_path) == []


@pytest.mark.parametrize("kind", list(WRITERS))
def test_writer_failure_keeps_previous_file_and_removes_temp(tmp_path, monkeypatch, kind):
    target = tmp_path / WRITERS[kind]
    target.write_bytes(PREVIOUS)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(LabelError, match=r"could not write: .*No space left"):
        _write(kind, target)
    assert target.read_bytes() == PREVIOUS
    assert temp_files(tmp_path) == []
    fresh = tmp_path / ("new_" + WRITERS[kind])
    with pytest.raises(LabelError):
        _write(kind, fresh)
    assert not fresh.exists() and temp_files(tmp_path) == []


# ------------------------------------------------------------------------------- stale temp files


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "x.csv"
    dead = _dead_pid()
    stale = tmp_path / f".x.csv.labelcli-{dead}-abc123.tmp"
    other_target = tmp_path / f".y.csv.labelcli-{dead}-ghi789.tmp"
    unrelated = tmp_path / ".x.csv.bak"
    for p in (stale, other_target, unrelated):
        p.write_bytes(b"partial")
    write_table(DF, str(target))
    assert not stale.exists()
    assert other_target.exists() and unrelated.exists()
    assert writers.remove_stale_temp_files(str(tmp_path / "y.csv")) == [other_target.name]


def test_a_live_writers_temp_file_is_kept_whatever_its_pid(tmp_path):
    """Issue #17 class 4: liveness is the writer's lock, not its PID. A writer in another PID
    namespace (a container sharing the volume) has a PID that means nothing here: here a PID
    that no longer exists, but a process that holds the file's lock."""
    dead = _dead_pid()
    live = tmp_path / f".x.csv.labelcli-{dead}-def456.tmp"
    live.write_bytes(b"partial")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR);"
         " fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(live)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        write_table(DF, str(tmp_path / "x.csv"))
        assert live.exists(), "a live writer's temp file was deleted"
    finally:
        holder.kill()
        holder.wait()
    assert writers.remove_stale_temp_files(str(tmp_path / "x.csv")) == [live.name]  # its writer is gone now


def test_the_writer_holds_the_lock_while_writing(tmp_path):
    target = tmp_path / "x.json"
    seen = []
    with writers.atomic_file(str(target), text=True) as f:  # noqa: F841
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        seen = writers.remove_stale_temp_files(str(target))
        f.write("{}")
        assert temps and all(p.exists() for p in temps)
    assert seen == [] and target.read_text() == "{}"


# ------------------------------------------------------------------- the report folder, same writer
# Drift bug (issue #13): the HTML report had its own atomic writer, with other temp names, that no
# later run ever cleaned up after a crash. `report` now writes every file through write_folder,
# i.e. the writer above: same temp names, the same clean-up of dead runs' leftovers, index.html last.


def _report(out: Path, *extra):
    from tests.conftest import SAMPLE_NPY, run_cli

    return run_cli("report", *SAMPLE_NPY, "--top", 4, "-q", "--out", out, *extra)


def test_write_folder_writes_each_file_atomically_index_last(tmp_path, monkeypatch):
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: renamed.append((src, dst)) or real_replace(src, dst))
    folder = tmp_path / "rep"
    written = writers.write_folder(str(folder), {"a.png": b"A", "b.png": b"B", "index.html": b"<html>"})
    assert written == [str(folder / n) for n in ("a.png", "b.png", "index.html")]
    assert [os.path.basename(d) for _, d in renamed] == ["a.png", "b.png", "index.html"]
    for src, dst in renamed:  # the one writer's temp names, next to the target
        m = TEMP.match(os.path.basename(src))
        assert m and m["target"] == os.path.basename(dst) and os.path.dirname(src) == str(folder), src
    assert (folder / "index.html").read_bytes() == b"<html>" and temp_files(folder) == []


def test_report_is_written_by_the_one_writer(tmp_path, monkeypatch):
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: renamed.append((src, dst)) or real_replace(src, dst))
    out = tmp_path / "rep"
    r = _report(out)
    assert r.code == 0, r.stderr
    names = [os.path.basename(d) for _, d in renamed]
    assert names[-1] == "index.html" and set(names) == set(os.listdir(out)), names
    assert all(TEMP.match(os.path.basename(src)) for src, _ in renamed)


def test_report_failing_half_way_leaves_no_temp_file_and_no_index(tmp_path, monkeypatch):
    calls = []

    def disk_full_on_the_third_file(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full_on_the_third_file)
    out = tmp_path / "rep"
    r = _report(out)
    assert r.code == 2 and r.stderr.count("\n") == 1 and "could not write" in r.stderr, r.stderr
    assert "No space left" in r.stderr
    assert not out.exists()  # issue #17 class 3: the folder this run created is removed


def test_a_failed_report_rerun_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    """Issue #17 class 3: every file is staged, then all are published: never a mix."""
    out = tmp_path / "rep"
    assert _report(out).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def disk_full_on_the_third_file(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full_on_the_third_file)
    r = _report(out, "--top", "5")
    assert r.code == 2, r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_report_removes_temp_files_left_by_a_killed_report(tmp_path):
    out = tmp_path / "rep"
    out.mkdir()
    dead = _dead_pid()
    stale = [out / f".index.html.labelcli-{dead}-abc123.tmp", out / f".noise_matrix.png.labelcli-{dead}-x1.tmp"]
    for p in stale:
        p.write_bytes(b"partial")
    r = _report(out)
    assert r.code == 0, r.stderr
    assert temp_files(out) == [] and (out / "index.html").exists()


# --------------------------------------------------------------------------- read-only and symlinks


def test_read_only_target_is_refused_without_needing_a_non_root_user(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_bytes(PREVIOUS)
    real_access = os.access
    monkeypatch.setattr(os, "access",
                        lambda p, mode: False if os.fspath(p) == str(target) else real_access(p, mode))
    with pytest.raises(LabelError, match="read-only"):
        write_table(DF, str(target))
    assert target.read_bytes() == PREVIOUS


@pytest.mark.skipif(IS_ROOT, reason="root writes through chmod 444")
def test_read_only_target_is_refused(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(PREVIOUS)
    target.chmod(0o444)
    with pytest.raises(LabelError, match="read-only"):
        write_table(DF, str(target))
    assert target.read_bytes() == PREVIOUS


def test_symlinked_target_is_written_through(tmp_path):
    real = tmp_path / "reports" / "2024.csv"
    real.parent.mkdir()
    real.write_bytes(PREVIOUS)
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    write_table(DF, str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes().startswith(b"index,given_label")
    assert temp_files(real.parent) == [] and temp_files(tmp_path) == []


# ------------------------------------------------------------------------------ the real command


@pytest.fixture(scope="module")
def big_inputs(tmp_path_factory):
    """300k rows x 10 classes: `find-issues --all` spends about a second writing the table."""
    folder = tmp_path_factory.mktemp("atomic_inputs")
    rng = np.random.default_rng(2024)
    n, k = 300_000, 10
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.full(k, 0.3), n)
    p[np.arange(n), y] += 1.0
    p /= p.sum(axis=1, keepdims=True)
    np.save(folder / "y.npy", y)
    np.save(folder / "p.npy", p)
    return folder


def _cmd(inputs: Path, out: Path) -> list[str]:
    return [str(LABELCLI), "find-issues", "-l", str(inputs / "y.npy"), "-p", str(inputs / "p.npy"),
            "--all", "-q", "--out", str(out)]


def _kill_during_write(argv, folder: Path, target_name: str, delay: float, wait_for_temp: bool) -> int:
    """Start the command; SIGKILL it `delay` s after its temp file appears (or after the start)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    mine = re.compile(re.escape(f".{target_name}.labelcli-{proc.pid}-"))
    if wait_for_temp:
        while proc.poll() is None and not any(mine.match(n) for n in os.listdir(folder)):
            if time.monotonic() - start > 120:
                break
            time.sleep(0.002)
        start = time.monotonic()
    while proc.poll() is None and time.monotonic() - start < delay:
        time.sleep(0.002)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc.pid


def _observe_write(argv, folder: Path, target: Path) -> float:
    """Run to completion, polling: seconds from the temp file's appearance to the rename."""
    before = target.read_bytes()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    mine = re.compile(re.escape(f".{target.name}.labelcli-{proc.pid}-"))
    t_temp = t_done = None
    while proc.poll() is None:
        now = time.monotonic()
        if t_temp is None and any(mine.match(n) for n in os.listdir(folder)):
            t_temp = now
        if t_temp is not None and t_done is None and target.read_bytes() != before:
            t_done = now
        time.sleep(0.001)
    assert proc.wait() == 0, proc.stderr.read().decode()
    return (t_done or time.monotonic()) - (t_temp or time.monotonic())


@pytest.mark.skipif(not LABELCLI.exists(), reason="console script not installed")
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sigkill_never_leaves_a_partial_target(tmp_path, big_inputs, suffix):
    rng = random.Random(f"sigkill{suffix}")
    target = tmp_path / f"x{suffix}"
    target.write_bytes(PREVIOUS)
    argv = _cmd(big_inputs, target)
    window = _observe_write(argv, tmp_path, target)  # also leaves the complete new file
    new = target.read_bytes()
    assert new != PREVIOUS and temp_files(tmp_path) == []
    target.write_bytes(PREVIOUS)
    killed = []
    # three kills while the temp file is being written (seeded fractions of the observed write
    # window), one at a seeded moment from the start (anywhere: loading, computing, writing)
    plan = [(rng.uniform(0.05, 0.5) * window, True) for _ in range(3)] + [(rng.uniform(0.5, 2.0), False)]
    states = []
    for delay, during_write in plan:
        pid = _kill_during_write(argv, tmp_path, target.name, delay, during_write)
        killed.append(pid)
        states.append((delay, during_write, target.read_bytes(), temp_files(tmp_path)))
    # a run that completes: the same new file, and every leftover of the killed runs removed
    done = subprocess.run(argv, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert target.read_bytes() == new and temp_files(tmp_path) == []
    for delay, during_write, data, leftovers in states:
        assert data in (PREVIOUS, new), f"partial target after SIGKILL at {delay:.3f}s ({len(data)} bytes)"
        for name in leftovers:  # only clearly named temp files of runs that were killed
            m = TEMP.match(name)
            assert m and m["target"] == target.name and int(m["pid"]) in killed, name
        assert len(leftovers) <= 1, leftovers  # each run removes its dead predecessors' files
    # the kills inside the write window really hit it (else this test proves nothing): the target
    # was still the previous file and the killed run's temp file was there
    hit = [s for s in states if s[1] and s[2] == PREVIOUS and s[3]]
    assert len(hit) >= 1, (window, [(round(d, 3), w, len(b), t) for d, w, b, t in states])


@pytest.mark.skipif(not LABELCLI.exists(), reason="console script not installed")
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_failing_half_way_keeps_the_old_file(tmp_path, big_inputs, suffix):
    """RLIMIT_FSIZE makes write() fail with EFBIG after 512 KiB: a real half-written temp file."""
    target = tmp_path / f"x{suffix}"
    target.write_bytes(PREVIOUS)
    shell = 'ulimit -f 512 && exec "$@"'
    p = subprocess.run(["bash", "-c", shell, "labelcli", *_cmd(big_inputs, target)],
                       capture_output=True, timeout=300)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("Error: ") and "could not write" in err, err
    assert target.name in err and "Traceback" not in err
    assert target.read_bytes() == PREVIOUS and temp_files(tmp_path) == []


@pytest.mark.skipif(not LABELCLI.exists(), reason="console script not installed")
@pytest.mark.parametrize("cmd, name", [("find-issues", "issues.parquet"), ("score", "scores.jsonl"),
                                       ("health", "health.json")])
def test_out_onto_existing_file_replaced_only_on_success(tmp_path, cmd, name):
    y, p = tmp_path / "y.npy", tmp_path / "p.npy"
    np.save(y, np.array([0, 1, 2, 0, 1, 2]))
    probs = np.full((6, 3), 0.1)
    probs[np.arange(6), [0, 1, 2, 1, 1, 2]] = 0.8
    np.save(p, probs)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.where(np.arange(6)[:, None] == 4, np.nan, probs))
    target = tmp_path / name
    target.write_bytes(PREVIOUS)
    fail = subprocess.run([str(LABELCLI), cmd, "-l", str(y), "-p", str(bad), "--out", str(target)],
                          capture_output=True, timeout=120)
    assert fail.returncode == 2 and b"NaN" in fail.stderr
    assert target.read_bytes() == PREVIOUS and temp_files(tmp_path) == []
    ok = subprocess.run([str(LABELCLI), cmd, "-l", str(y), "-p", str(p), "-q", "--out", str(target)],
                        capture_output=True, timeout=120)
    assert ok.returncode == 0, ok.stderr.decode()
    data = target.read_bytes()
    assert data != PREVIOUS and temp_files(tmp_path) == []
    if name.endswith(".json"):
        assert "health_score" in json.loads(data)
    elif name.endswith(".jsonl"):
        assert len(data.decode().splitlines()) == 6
    else:
        assert pd.read_parquet(target)["index"].notna().all()


def test_publish_puts_the_old_files_back_when_a_rename_fails(tmp_path, monkeypatch):
    """all_or_nothing: the second rename fails after the first target was replaced: both old files stay."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("old a\n")
    b.write_text("old b\n")
    real_replace = os.replace
    calls = []

    def fail_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, "I/O error")
        return real_replace(src, dst)

    with pytest.raises(OSError):
        with writers.all_or_nothing():
            for p in (a, b):
                with writers.atomic_file(str(p), text=True) as f:
                    f.write("new\n")
            monkeypatch.setattr(os, "replace", fail_second)
    monkeypatch.setattr(os, "replace", real_replace)
    assert a.read_text() == "old a\n" and b.read_text() == "old b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]
