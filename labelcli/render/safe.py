"""A rich Console whose strings (messages, table cells) have their control characters escaped
(labelcli.errors.printable): class and file names come from the user's data and must not reach the
terminal raw. rich's own styling and cursor control are not strings, so they are kept."""
from __future__ import annotations

from labelcli.errors import printable


def safe_console(**kwargs):
    """rich.console.Console(**kwargs) that escapes control characters in every string it renders."""
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text, *args, **kw):
            return super().render_str(printable(text), *args, **kw)

    return SafeConsole(**kwargs)
