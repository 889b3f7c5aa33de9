"""Memory: what this process can still allocate, the budget of --max-memory, and the checks that
refuse a file too large to load before anything big is allocated.

One byte formatter (format_bytes) for every message: decimal units, written the way --max-memory
takes them (parse_size reads "1.5MB" back), so a budget is echoed in the units it was given and a
size in a message can be given back to --max-memory.
Standard library only.
"""
from __future__ import annotations

import contextlib
import numbers
import os
import re

from labelcli.errors import LabelError

DEFAULT_MEMORY_FRACTION = 0.5
_UNITS = {"": 1, "B": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def format_bytes(n: float) -> str:
    """A byte count for messages: 720 -> '720 bytes'; from 1000 on in decimal units written as
    --max-memory takes them, 1536 -> '1.5KB', 2_097_152 -> '2.1MB'."""
    if abs(n) < 1000:
        return f"{n:.0f} bytes"
    for unit in ("KB", "MB", "GB"):
        n /= 1000
        if abs(n) < 1000:
            return f"{n:.1f}{unit}"
    return f"{n / 1000:.1f}TB"


def parse_size(text) -> int:
    """Bytes from "256MB", "2GB", "1.5G", "512MiB" or a plain number of bytes (KB = 1000 B)."""
    if isinstance(text, numbers.Integral):  # also numpy integers
        size = int(text)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]i?)?b?\s*", str(text), flags=re.IGNORECASE)
        size = int(float(m.group(1)) * _UNITS[(m.group(2) or "").upper()]) if m else 0
    if size < 1:
        raise LabelError(f"cannot read the size '{text}'; write e.g. 256MB, 2GB or 1.5GiB")
    return size


def physical_memory() -> int | None:
    """Bytes of physical memory, or None when the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_max_memory() -> int:
    """Half of the physical memory (4 GB when it cannot be found out)."""
    total = physical_memory()
    return int(total * DEFAULT_MEMORY_FRACTION) if total else 4 * 10**9


def _read_int(path: str) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(path) as f:
            return int(f.read().split()[0])
    return None


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None when the platform does not say.

    The smallest of: the kernel's MemAvailable, the room left under a cgroup (container) limit,
    and the room left under RLIMIT_AS (``ulimit -v``).
    """
    limits: list[int] = []
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/meminfo") as f:
            limits.append(next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("MemAvailable:")))
    if not limits:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    cg_max, cg_cur = _read_int("/sys/fs/cgroup/memory.max"), _read_int("/sys/fs/cgroup/memory.current")
    if cg_max is not None and cg_cur is not None:  # "max" (no limit) does not parse as an int
        limits.append(max(cg_max - cg_cur, 0))
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            used = 0
            with contextlib.suppress(OSError, ValueError, StopIteration):
                with open("/proc/self/status") as f:
                    used = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmSize:"))
            limits.append(max(soft - used, 0))
    return min(limits) if limits else None


MEMORY_HINT = "use --max-memory to process files larger than memory"


class NotEnoughMemory(LabelError):
    """A file too large to load whole; ``hint`` (what to do) can be replaced by the caller,
    which knows whether the command could have streamed the file."""

    def __init__(self, problem: str, hint: str = MEMORY_HINT):
        super().__init__(f"{problem}; {hint}")
        self.problem = problem

    def with_hint(self, hint: str) -> "NotEnoughMemory":
        return NotEnoughMemory(self.problem, hint)


def check_fits_in_memory(name: str, need: int, what: str) -> None:
    """Refuse (before allocating) when ``need`` bytes are more than the memory available."""
    avail = available_memory()
    if avail is not None and need > avail:
        raise NotEnoughMemory(
            f"{name}: {what} needs {format_bytes(need)} in memory, more than the {format_bytes(avail)} available"
        )


def check_class_pairs_fit(num_classes: int, name: str) -> None:
    """Confident learning keeps several K x K matrices; refuse a K they cannot fit, before allocating."""
    need = 8 * 8 * num_classes * num_classes  # about eight float64 K x K matrices at the peak
    avail = available_memory()
    if avail is not None and need > avail:
        raise LabelError(
            f"{name}: {num_classes:,} classes; confident learning keeps {num_classes:,} x {num_classes:,}"
            f" class-pair matrices ({format_bytes(need)}), more than the {format_bytes(avail)} of memory"
            " available; merge rare classes, or use `labelcli score` (it needs no class pairs)"
        )
