"""Issue #17 fault conditions that need a real process or a small filesystem: SIGTERM mid-run,
a closed pipe on stdout, a disk filling between the two files of `fix`, and the Python API
promises (LabelError is a ValueError; an integer num_to_remove_per_class applies to every class).
The in-process hostile scenarios (links, special files, option values, ...) are in
tests/test_badinput.py (tests/badinput/hostile.py)."""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import IS_ROOT, LABELCLI, SAMPLE_NPY, run_cli

GOOD = Path(__file__).resolve().parent / "badinput" / "cases" / "_good"


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------------------ 5. SIGTERM


def _slow_writer(tmp_path: Path, sig: int) -> tuple[int, list[str], Path]:
    """A child process that runs the CLI with a write that blocks mid-file; send it `sig`."""
    out = tmp_path / "o.csv"
    code = (
        "import sys, time\n"
        "from labelcli.io import textwriters\n"
        "real = textwriters.write_csv\n"
        "def slow(df, f):\n"
        "    f.write('index,partial\\n'); f.flush(); print('writing', flush=True, file=sys.__stdout__)\n"
        "    time.sleep(30); real(df, f)\n"
        "textwriters.write_csv = slow\n"
        "import labelcli.io.writers as w; w.write_csv = slow\n"
        "from labelcli.cli import main\n"
        f"sys.argv = ['labelcli', 'score', *{SAMPLE_NPY!r}, '-q', '--out', {str(out)!r}]\n"
        "main()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
        assert _temps(tmp_path), "the writer has no temp file open"
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        with contextlib.suppress(OSError):
            proc.kill()
    return proc.returncode, _temps(tmp_path), out


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_write_leaves_no_temp_file(tmp_path, sig, code):
    rc, temps, out = _slow_writer(tmp_path, sig)
    assert temps == [] and not out.exists()
    assert rc == code


# -------------------------------------------------------------------------- 9. a closed pipe


def test_out_dash_into_a_closed_pipe_exits_0_silently():
    shell = f'"{LABELCLI}" find-issues {" ".join(SAMPLE_NPY)} --all -q --out - | head -1 >/dev/null; echo "${{PIPESTATUS[0]}}"'
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "0", proc.stdout + proc.stderr
    assert proc.stderr == ""


# ------------------------------------------------------------- 3. two files, all or nothing


def _fix_argv(tmp_path: Path, a: Path, b: Path) -> list[str]:
    dec = tmp_path / "dec.csv"
    dec.write_text("index,action,new_label\n3,relabel,0\n")
    return ["fix", "-l", str(GOOD / "y.npy"), "--decisions", str(dec), "--out", str(a), "--changelog", str(b), "-q"]


def test_fix_disk_full_before_the_changelog_replaces_neither(tmp_path, monkeypatch):
    a, b = tmp_path / "clean.csv", tmp_path / "log.csv"
    a.write_text("previous\n")
    calls = []

    def full_on_the_second_file(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_on_the_second_file)
    code, _, err = run_cli(*_fix_argv(tmp_path, a, b))
    assert code == 2 and "No space left" in err, err
    assert a.read_text() == "previous\n" and not b.exists() and _temps(tmp_path) == []


def test_fix_on_a_real_full_filesystem(tmp_path):
    """The same on a 64 KiB tmpfs that really fills (needs root and mount; else skipped)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if not IS_ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                     capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and mount permission)")
    try:
        (mnt / "filler").write_bytes(b"\0" * 40_000)
        a, b = mnt / "clean.csv", mnt / "log.csv"
        a.write_text("previous\n")
        argv = _fix_argv(tmp_path, a, b)
        big = tmp_path / "y_big.npy"
        np.save(big, np.tile(np.load(GOOD / "y.npy"), 400))  # 12,000 rows: its table does not fit
        argv[2] = str(big)
        proc = subprocess.run([str(LABELCLI), *argv], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("Error:") and proc.stderr.count("\n") == 1, proc.stderr
        assert a.read_text() == "previous\n" and not b.exists() and _temps(mnt) == []
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


# ---------------------------------------------------------------------------- 11. the API


def test_label_error_is_a_value_error():
    from labelcli.errors import LabelError

    assert issubclass(LabelError, ValueError)
    import labelcli

    with pytest.raises(ValueError):
        labelcli.find_label_issues(np.array([0, 1, 5]), np.full((3, 2), 0.5))


def test_an_integer_num_to_remove_per_class_applies_to_every_class():
    import labelcli

    y, p = np.load(GOOD / "y.npy"), np.load(GOOD / "p.npy")
    one = labelcli.find_label_issues(y, p, num_to_remove_per_class=1, filter_by="prune_by_class")
    each = labelcli.find_label_issues(y, p, num_to_remove_per_class=[1, 1, 1], filter_by="prune_by_class")
    assert np.array_equal(one.mask, each.mask) and one.mask.sum() <= 3
