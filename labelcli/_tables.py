"""File formats, by re-export: the names that used to live here, from the modules that now hold them.

Reading (.npy / .csv / .parquet / stdin, csv_options, the memory checks) is labelcli._readers;
writing (check_output_path, atomic output, the CSV / JSON / JSONL / Parquet / .npy writers,
stdout) is labelcli._writers, with the Arrow-built CSV / JSON text in labelcli._textwriters; the
small shared helpers (display_name, short_reason, preview, human_bytes) are labelcli._common.
Import from those modules in new code, and monkeypatch them there: a patch on a name here does not
reach the module that uses it.
"""
from __future__ import annotations

from labelcli._common import display_name, human_bytes, preview, short_reason  # noqa: F401
from labelcli._readers import (  # noqa: F401
    _NA_MARKERS,
    MEMORY_HINT,
    READ_SUFFIXES,
    NotEnoughMemory,
    _check_duplicates,
    _numbers_with_na_markers,
    _parquet_need,
    available_memory,
    check_fits_in_memory,
    csv_options,
    read_table,
)
from labelcli._textwriters import WRITE_ROWS, _dump, _kinds, _write_csv  # noqa: F401
from labelcli._writers import (  # noqa: F401
    ANY_OUT,
    ARRAY_OUT,
    JSON_OUT,
    TABLE_OUT,
    TEMP_TAG,
    _records,
    check_output_path,
    remove_stale_temp_files,
    temp_prefix,
    to_jsonable,
    write_array,
    write_json,
    write_stdout,
    write_table,
)

__all__ = [
    "display_name", "human_bytes", "preview", "short_reason",
    "MEMORY_HINT", "READ_SUFFIXES", "NotEnoughMemory", "available_memory", "check_fits_in_memory", "csv_options",
    "read_table", "_NA_MARKERS", "_check_duplicates", "_numbers_with_na_markers", "_parquet_need",
    "WRITE_ROWS", "_dump", "_kinds", "_write_csv",
    "ANY_OUT", "ARRAY_OUT", "JSON_OUT", "TABLE_OUT", "TEMP_TAG", "check_output_path", "remove_stale_temp_files",
    "temp_prefix", "to_jsonable", "write_array", "write_json", "write_stdout", "write_table", "_records",
]
