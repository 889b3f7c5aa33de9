"""Files in and out: every file labelcli reads or writes goes through this package.

open_dataset reads and validates a run's inputs once into a Dataset; read_table reads one table or
array; the writers write results atomically by suffix (one suffix table, labelcli.io.formats).
Importing it loads numpy only; pandas and pyarrow are imported by the functions that need them.

Modules: formats (suffixes, message helpers), memory (budgets, byte counts), readers (.npy / CSV
/ Parquet / stdin), chunks (pred_probs larger than memory), columns, labels, classes, tags (what
the columns mean), dataset (open_dataset), images (the report's gallery), review (reviewed rows,
decisions, cleaned labels), predprobs (--save-pred-probs: checked up front, written with the
run's other outputs), writers and textwriters (output).
"""
from labelcli.io.chunks import (
    CsvReader,
    NpyReader,
    ParquetReader,
    ProbsReader,
    StreamSource,
    chunk_rows,
    needs_streaming,
    open_probs,
    plan_chunk_rows,
    read_labels,
    stream_kind,
)
from labelcli.io.dataset import Dataset, open_dataset
from labelcli.io.formats import (
    ANY_OUT,
    ARRAY_OUT,
    JSON_OUT,
    READ_SUFFIXES,
    TABLE_OUT,
    display_name,
    preview,
    short_reason,
)
from labelcli.io.images import GalleryImages, read_gallery_images
from labelcli.io.memory import (
    NotEnoughMemory,
    available_memory,
    check_class_pairs_fit,
    check_fits_in_memory,
    default_max_memory,
    format_bytes,
    parse_size,
)
from labelcli.io.predprobs import check_pred_probs_source, write_pred_probs
from labelcli.io.readers import csv_options, read_table
from labelcli.io.review import (
    append_changelog, earlier_changelog, read_clean_labels, read_clean_tags, read_fix_state, read_review_table, read_row_indices,
)
from labelcli.io.writers import (
    all_or_nothing,
    same_file,
    check_output_folder,
    check_output_path,
    to_jsonable,
    write_array,
    write_bytes,
    write_folder,
    write_json,
    write_stdout,
    write_table,
)

__all__ = [
    "ANY_OUT", "ARRAY_OUT", "JSON_OUT", "READ_SUFFIXES", "TABLE_OUT",
    "CsvReader", "Dataset", "GalleryImages", "NotEnoughMemory", "NpyReader", "ParquetReader", "ProbsReader",
    "StreamSource", "available_memory", "check_class_pairs_fit", "check_fits_in_memory", "chunk_rows", "check_output_folder",
    "check_output_path", "csv_options", "default_max_memory", "display_name", "format_bytes", "needs_streaming",
    "open_dataset", "read_fix_state", "earlier_changelog", "append_changelog", "read_clean_tags", "open_probs", "parse_size", "plan_chunk_rows", "preview", "read_clean_labels",
    "read_gallery_images", "read_labels", "read_review_table", "read_row_indices", "read_table", "short_reason",
    "stream_kind", "to_jsonable", "all_or_nothing", "same_file", "write_array", "write_bytes", "write_folder", "write_json",
    "write_stdout", "write_table", "check_pred_probs_source", "write_pred_probs",
]
