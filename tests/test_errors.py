"""labelcli.errors: the user-facing error type and the exit codes.

Drift bug (issue #13): LabelError was a bare Exception, so code written for cleanlab (which raises
ValueError on bad input) did not catch labelcli's errors.
"""
from __future__ import annotations

import numpy as np
import pytest

import labelcli
from labelcli.errors import ExitCode, LabelError
from tests.conftest import SAMPLE_NPY, run_cli


def test_label_error_is_a_value_error_with_a_one_line_message():
    assert issubclass(LabelError, ValueError) and labelcli.LabelError is LabelError
    e = LabelError("p.npy: NaN at row 3; fix the file")
    assert e.message == str(e) == "p.npy: NaN at row 3; fix the file" and e.args == (e.message,)
    with pytest.raises(ValueError, match="NaN"):  # as cleanlab users catch it
        labelcli.find_label_issues(np.array([0, 1, 1]), np.array([[0.9, 0.1], [np.nan, 0.5], [0.2, 0.8]]))
    with pytest.raises(ValueError, match="unknown filter"):
        labelcli.find_label_issues(np.array([0, 1]), np.eye(2), filter_by="nope")


def test_exit_codes():
    assert [(c.name, int(c)) for c in ExitCode] == [("OK", 0), ("GATE", 1), ("BAD_INPUT", 2), ("INTERNAL", 3)]
    assert run_cli("health", *SAMPLE_NPY, "-q").code == ExitCode.OK
    assert run_cli("health", *SAMPLE_NPY, "-q", "--fail-above", "0.001").code == ExitCode.GATE
    assert run_cli("health", "-l", "missing.npy", "-p", "missing.npy").code == ExitCode.BAD_INPUT
    assert run_cli("health", *SAMPLE_NPY, "--no-such-option").code == ExitCode.BAD_INPUT


def test_printable_escapes_terminal_controls_and_bidi_overrides():
    from labelcli.errors import printable

    assert printable("a\x1b[2Jb\x07") == "a\\x1b[2Jb\\x07"
    # a right-to-left override in a class name would reorder what the report shows after it
    assert printable("cat\u202etac\u2066x\u2069") == "cat\\u202etac\\u2066x\\u2069"
    assert printable("line\nnext\tcol é 猫") == "line\nnext\tcol é 猫"
