"""Resident memory of this process from /proc (Linux), for per-case peak measurements."""
from __future__ import annotations

import resource


def status(field: str) -> int:
    """A /proc/self/status field in bytes (VmRSS, VmHWM, ...); 0 where /proc is unavailable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak_rss() -> int:
    """Current resident memory; also resets the peak (VmHWM) to it, so that the peak measured
    afterwards belongs to the code that runs next. (ru_maxrss would not do: on Linux it keeps
    the parent's footprint across fork + exec.)"""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return status("VmRSS")


def peak_rss() -> int:
    """Peak resident memory since the last reset_peak_rss (ru_maxrss where /proc is missing)."""
    return status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
