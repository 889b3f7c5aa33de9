"""Run the console-script entry in this process, as the bad-input and fuzz suites both need."""
from __future__ import annotations

import contextlib
import io
import warnings


def run_in_process(argv: list[str]) -> tuple[int, bytes, str]:
    """labelcli.cli.main(argv) here: (exit code, stdout bytes, stderr + any Python warnings).

    Warnings count as stderr lines, because the real process would print them there."""
    from labelcli.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = 0 if e.code is None else e.code
    extra = "".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n" for w in caught)
    return code, out.getvalue().encode(), extra + err.getvalue()
