"""The one user-facing error type, and the exit codes of the command line."""
from __future__ import annotations

from enum import IntEnum


class LabelError(ValueError):
    """A problem with the user's input or options.

    The message is a single line that names the file, column or row and says what to do.
    The CLI prints it as ``Error: <message>`` on stderr and exits with code 2. It is a
    ``ValueError``, so code written for cleanlab (which raises ValueError on bad input) catches it.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ExitCode(IntEnum):
    """The exit codes of ``labelcli`` (README: Exit codes)."""

    OK = 0  # success
    GATE = 1  # a quality gate tripped (health --fail-above, find-issues --fail-on-issues)
    BAD_INPUT = 2  # bad usage or bad input: one "Error:" line on stderr
    INTERNAL = 3  # a bug: rerun with --debug for the traceback


class OutputClosed(Exception):
    """The reader of stdout went away (``| head``): the CLI exits 0, silently, as standard tools
    do. Not an OSError, so that no library on the way (click exits 1 on EPIPE) reinterprets it."""


def printable(text: str) -> str:
    """Control characters (ESC, BEL, CR, ...; from class or file names) escaped as \\xNN, so that
    nothing printed can clear the screen, move the cursor or retitle the terminal; bidirectional
    overrides and isolates (U+202A-E, U+2066-9, which reorder what follows them on screen) as \\uNNNN."""
    import re

    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return re.sub("[\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text)
