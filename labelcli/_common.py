"""Small helpers shared by the readers and the writers: how a path is shown in a message
(display_name), the first line of an exception (short_reason), a capped list of names (preview), a
file's known suffix (_suffix, _ext_desc) and a byte count for humans (human_bytes). Standard
library only, so every module may import it cheaply.
"""
from __future__ import annotations

import os
from typing import Sequence


def display_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def short_reason(e: BaseException) -> str:
    """First line of an exception message, capped, for embedding in a one-line error."""
    text = str(e).strip()
    line = text.splitlines()[0].strip() if text else type(e).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def preview(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in list(names)[:limit])
    return shown + (", ..." if len(names) > limit else "")


def _suffix(path: str, allowed: Sequence[str]) -> str | None:
    low = path.lower()
    for suf in sorted(allowed, key=len, reverse=True):
        if low.endswith(suf):
            return suf
    return None


def _ext_desc(path: str) -> str:
    ext = os.path.splitext(path)[1]
    return f"file type '{ext}'" if ext else "file without an extension"


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover
