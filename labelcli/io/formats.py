"""File formats by suffix: the one table that reading, writing and streaming all consult; and the
small text helpers of every io message (display_name, short_reason, preview, describe_ext).

Standard library only, so every module may import it cheaply.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Format:
    """What labelcli does with files of one suffix."""

    suffix: str
    kind: str  # "npy", "csv", "tsv", "parquet", "json" or "jsonl"
    read: bool = False  # an input (read_table, open_dataset)
    table: bool = False  # write_table writes a DataFrame to it
    array: bool = False  # write_array writes an N x K array to it
    json: bool = False  # write_json writes a document to it


# The order is the order of the suffixes in messages ("use .csv, .parquet, ...").
FORMATS = (
    Format(".npy", "npy", read=True, array=True),
    Format(".csv", "csv", read=True, table=True, array=True),
    Format(".csv.gz", "csv", read=True),
    Format(".tsv", "tsv", read=True),
    Format(".tsv.gz", "tsv", read=True),
    Format(".parquet", "parquet", read=True, table=True, array=True),
    Format(".pq", "parquet", read=True, table=True, array=True),
    Format(".json", "json", table=True, json=True),
    Format(".jsonl", "jsonl", table=True),
)
BY_SUFFIX = {f.suffix: f for f in FORMATS}

READ_SUFFIXES = tuple(f.suffix for f in FORMATS if f.read)
TABLE_OUT = tuple(f.suffix for f in FORMATS if f.table)
ARRAY_OUT = tuple(f.suffix for f in FORMATS if f.array)
JSON_OUT = tuple(f.suffix for f in FORMATS if f.json)
ANY_OUT = tuple(dict.fromkeys(TABLE_OUT + ARRAY_OUT + JSON_OUT))


def suffix(path: str, allowed: Sequence[str] = READ_SUFFIXES) -> str | None:
    """The longest of ``allowed`` that ``path`` ends with (case-insensitive), else None."""
    low = path.lower()
    for suf in sorted(allowed, key=len, reverse=True):
        if low.endswith(suf):
            return suf
    return None


def kind(path: str) -> str | None:
    """'npy', 'csv', 'tsv', 'parquet', 'json' or 'jsonl' for a path by its suffix, else None."""
    suf = suffix(path, tuple(BY_SUFFIX))
    return None if suf is None else BY_SUFFIX[suf].kind


def csv_separator(path: str) -> str | None:
    """The separator a CSV-family file is read with: a tab for .tsv / .tsv.gz, else sniffed (None)."""
    return "\t" if kind(path) == "tsv" else None


def describe_ext(path: str) -> str:
    """"file type '.xlsx'" or "file without an extension", for messages."""
    ext = os.path.splitext(path)[1]
    return f"file type '{ext}'" if ext else "file without an extension"


def display_name(path: str) -> str:
    """How a path is shown in a message ('-' is stdin)."""
    return "<stdin>" if path == "-" else path


def short_reason(e: BaseException) -> str:
    """First line of an exception message, capped, for embedding in a one-line error."""
    text = str(e).strip()
    line = text.splitlines()[0].strip() if text else type(e).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def preview(names: Sequence[str], limit: int = 10) -> str:
    """Up to ``limit`` names joined by commas, with ', ...' when there are more."""
    shown = ", ".join(str(n) for n in list(names)[:limit])
    return shown + (", ..." if len(names) > limit else "")
