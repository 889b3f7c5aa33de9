"""The bad-input corpus for labelcli: small, deterministic files and the table of what each must do.

    python tests/badinput/make_corpus.py            # (re)writes tests/badinput/cases/
    python tests/badinput/make_corpus.py --check    # exit 1 if cases/ differs from the generator

tests/test_badinput.py runs every subcommand on every case through the real console script and
asserts the expectation written here. The table is data: one dict per case, so new cases
(multi-label labels, --features inputs, ...) are one entry each. Keys:

  id          unique name (also the pytest id)
  files       {file name: bytes} written into cases/ (or, with ``dynamic``, built in tmp at test time)
  dynamic     name of a builder in DYNAMIC for files that cannot be committed (a folder, chmod 000,
              a 16 MB array) -- built into the test's temp folder
  labels, pred_probs, features
              the inputs: a file name from ``files`` or from GOOD (the clean shared inputs), or "-"
  cmds        subcommands to run; default: find-issues, score, health. crossval runs with
              ``features`` (GOOD x.npy by default) and ``labels``
  extra       more CLI arguments (e.g. ["--classes", "a,b,c"])
  out         "tmp" (default: --out into a fresh empty folder), "missing_dir", "input" (onto the
              labels file), "readonly_file", "readonly_dir", "stdout" (--out -), "none" (no --out),
              or a literal file name inside the out folder
  redirect    shell redirections for the process: "<&-" (stdin closed), ">&-", ">/dev/full", "2>&-"
              (with stderr closed only the exit code can be checked)
  stdin       bytes fed to stdin (then closed), for cases with "-" as an input
  expect      "error" | "ok" | {cmd: "error"/"ok"} (per-command)
  names       the file basename the Error line must name (default: the bad input's basename)
  problem     regexes that must all match the Error line (what is wrong / what to do);
              a list, or {cmd: list} when commands differ
  same_as     for "ok": id of the clean case whose --out bytes must be identical (or {cmd: id})
  xfail       {cmd or "*": reason}: a known bug in a file this suite may not edit (strict xfail)
  needs_user  True: skip when running as root (root reads and writes through chmod 000)
  why         one line for the README
"""
from __future__ import annotations

import gzip
import io
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
CMDS3 = ("find-issues", "score", "health")

# ------------------------------------------------------------------------------------ clean data

N, K = 30, 3
NAMES = ("a", "b", "c")
FLIPPED = (3, 11, 22)  # rows whose given label is not the true one (find-issues flags them)


def clean_arrays():
    """(labels int64 (N,), pred_probs float64 (N, K) in hundredths, features float64 (N, 4))."""
    rng = np.random.default_rng(20240606)
    true = np.repeat(np.arange(K), N // K)
    rng.shuffle(true)
    hundredths = np.zeros((N, K), dtype=np.int64)
    for i, t in enumerate(true):
        top = int(rng.integers(62, 96))
        rest = 100 - top
        a = int(rng.integers(0, rest + 1))
        others = [c for c in range(K) if c != t]
        hundredths[i, t], hundredths[i, others[0]], hundredths[i, others[1]] = top, a, rest - a
    given = true.copy()
    for r in FLIPPED:
        given[r] = (true[r] + 1) % K
    probs = hundredths / 100.0
    feats = np.round(np.eye(K)[true] @ rng.normal(size=(K, 4)) * 3 + rng.normal(size=(N, 4)), 3)
    return given.astype(np.int64), probs, feats


def _fmt(x: float) -> str:
    return repr(float(x))


def csv_bytes(labels, probs, *, names=NAMES, header=True, sep=",", quote=False, eol="\n",
              label_header="label") -> bytes:
    q = (lambda s: f'"{s}"') if quote else (lambda s: s)
    lines = []
    if header:
        lines.append(sep.join(q(h) for h in [label_header, *names]))
    for y, row in zip(labels, probs):
        lines.append(sep.join([q(str(y)), *(q(_fmt(v)) for v in row)]))
    return (eol.join(lines) + eol).encode("utf-8")


def npy_bytes(arr, **kw) -> bytes:
    b = io.BytesIO()
    np.save(b, arr, **kw)
    return b.getvalue()


def parquet_bytes(columns: dict, names: list[str] | None = None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if names is None:
        table = pa.table(columns)
    else:  # duplicate names need the positional constructor
        table = pa.Table.from_arrays(list(columns), names=names)
    b = io.BytesIO()
    pq.write_table(table, b, compression="none")
    return b.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


Y, P, X = clean_arrays()
YN = np.array([NAMES[i] for i in Y], dtype=object)  # the labels as class names
CLEAN_CSV = csv_bytes(YN, P)


def _table_with(label_values, probs=P, names=NAMES) -> bytes:
    return csv_bytes(label_values, probs, names=names)


def _probs_with(r: int, c: int, value) -> np.ndarray:
    p = P.copy()
    p[r, c] = value
    return p


def _good_parquet() -> bytes:
    return parquet_bytes({"label": list(YN), **{n: P[:, j] for j, n in enumerate(NAMES)}})


# Clean shared inputs every case may use; written to cases/_good/.
GOOD = {
    "y.npy": npy_bytes(Y),
    "p.npy": npy_bytes(P),
    "x.npy": npy_bytes(X),
    "good.csv": CLEAN_CSV,
    "good.parquet": _good_parquet(),
    "labels.csv": b"label\n" + "".join(f"{n}\n" for n in YN).encode(),
    "probs.csv": ("a,b,c\n" + "".join(",".join(_fmt(v) for v in row) + "\n" for row in P)).encode(),
}


def with_cell(data: bytes, row: int, col: int, value: str) -> bytes:
    """A copy of CSV bytes with data row ``row`` (0-based, after the header), field ``col`` replaced."""
    lines = data.split(b"\n")
    fields = lines[row + 1].split(b",")
    fields[col] = value.encode()
    lines[row + 1] = b",".join(fields)
    return b"\n".join(lines)


def _cut(data: bytes, frac: float = 0.5) -> bytes:
    return data[: int(len(data) * frac)]


def _partial_stdin() -> bytes:
    """The clean table cut in the middle of its last line (a writer that died mid-row)."""
    text = CLEAN_CSV.decode()
    last_start = text.rstrip("\n").rfind("\n") + 1
    return (text[: last_start] + text[last_start:].split(",")[0] + ",0.").encode()


def ragged_csv() -> bytes:
    lines = CLEAN_CSV.decode().split("\n")
    for r in (3, 4):  # data rows 2 and 3 get two extra fields
        lines[r] += ",9,9"
    return "\n".join(lines).encode()


# Known bugs (a case's `xfail`): none open. The suite found 8 in io.py / cli.py / crossval.py,
# now fixed and asserted by their cases (see README.md).


# ------------------------------------------------------------------------------------ the cases
# Notation in comments: L = --labels, P = --pred-probs. A table case passes the same file twice.

CASES: list[dict] = [
    # --- clean references (their outputs are what the "must work" dialects must reproduce) -------
    dict(id="clean_csv", files={}, labels="good.csv", pred_probs="good.csv", expect="ok",
         cmds=(*CMDS3, "crossval"), why="reference: the clean table (labels a/b/c + columns a,b,c)"),
    dict(id="clean_npy", files={}, labels="y.npy", pred_probs="p.npy", expect="ok",
         why="reference: the clean arrays (int labels, unnamed columns)"),
    dict(id="clean_parquet", files={}, labels="good.parquet", pred_probs="good.parquet", expect="ok",
         same_as="clean_csv", why="the clean table as Parquet: byte-identical outputs to the CSV"),

    # --- empty and structurally broken files -------------------------------------------------
    dict(id="empty_csv", files={"empty.csv": b""}, labels="empty.csv", pred_probs="empty.csv",
         cmds=(*CMDS3, "crossval"), expect="error", problem=["empty"], why="0-byte CSV"),
    dict(id="empty_npy", files={"empty.npy": b""}, labels="y.npy", pred_probs="empty.npy",
         expect="error", problem=["empty"], cmds=("find-issues",), why="0-byte .npy"),
    dict(id="empty_parquet", files={"empty.parquet": b""}, labels="empty.parquet",
         pred_probs="empty.parquet", expect="error", problem=["empty"], cmds=("find-issues",),
         why="0-byte .parquet"),
    dict(id="blank_lines_csv", files={"blank.csv": b"\n\n   \n\n"}, labels="blank.csv",
         pred_probs="blank.csv", expect="error", problem=["empty"], cmds=("find-issues",),
         why="only blank lines"),
    dict(id="header_only_csv", files={"header_only.csv": b"label,a,b,c\n"}, labels="header_only.csv",
         pred_probs="header_only.csv", cmds=(*CMDS3, "crossval"), expect="error",
         problem=["no data rows"], why="a header and no rows"),
    dict(id="header_only_parquet",
         files={"header_only.parquet": parquet_bytes({"label": np.array([], dtype=object).astype(str).tolist(),
                                                      "a": [], "b": [], "c": []})},
         labels="header_only.parquet", pred_probs="header_only.parquet", expect="error",
         problem=["no rows"], cmds=("find-issues",), why="a Parquet schema with 0 rows"),
    dict(id="truncated_parquet", files={"truncated.parquet": _cut(_good_parquet())},
         labels="truncated.parquet", pred_probs="truncated.parquet", expect="error",
         problem=["Parquet"], why="first half of a valid Parquet file"),
    dict(id="parquet_footer_only", files={"footer.parquet": b"PAR1" + b"\0" * 16 + b"PAR1"},
         labels="footer.parquet", pred_probs="footer.parquet", expect="error", problem=["Parquet"],
         cmds=("find-issues",), why="Parquet magic bytes around garbage"),
    dict(id="truncated_npy", files={"truncated.npy": _cut(npy_bytes(P), 0.6)}, labels="y.npy",
         pred_probs="truncated.npy", expect="error", problem=["truncated", r"\(30, 3\)"],
         why=".npy whose header promises more data than the body holds"),
    dict(id="npy_header_only", files={"header_only.npy": npy_bytes(P)[:128]}, labels="y.npy",
         pred_probs="header_only.npy", expect="error", problem=["truncated", "0 bytes"],
         cmds=("find-issues",), why=".npy header with no data at all"),
    dict(id="npy_magic_only", files={"magic.npy": b"\x93NUMPY\x01\x00"}, labels="y.npy",
         pred_probs="magic.npy", expect="error", problem=[r"\.npy"], cmds=("find-issues",),
         why=".npy cut inside its header"),
    dict(id="pickled_npy",
         files={"pickled.npy": npy_bytes(np.array([{"label": 1}] * N, dtype=object), allow_pickle=True)},
         labels="pickled.npy", pred_probs="p.npy", cmds=(*CMDS3, "crossval"), expect="error",
         problem=["pickled|Python objects"], why=".npy holding a pickled object array (never unpickled)"),
    dict(id="strings_npy_probs", files={"strprobs.npy": npy_bytes(P.astype(str))}, labels="y.npy",
         pred_probs="strprobs.npy", expect="error", problem=["strings"],
         why="pred_probs .npy of strings ('0.8')"),
    dict(id="npz_as_npy", files={"archive.npy": b""}, dynamic="npz_as_npy", labels="y.npy",
         pred_probs="archive.npy", expect="error", problem=["npz"], cmds=("find-issues",),
         why="an .npz archive saved under .npy"),
    dict(id="structured_npy", files={"struct.npy": npy_bytes(np.zeros(N, dtype=[("a", "f8"), ("b", "f8")]))},
         labels="y.npy", pred_probs="struct.npy", expect="error", problem=["numbers|dtype"],
         cmds=("find-issues",), why="structured (record) dtype"),
    dict(id="complex_npy", files={"complex.npy": npy_bytes(P.astype(complex))}, labels="y.npy",
         pred_probs="complex.npy", expect="error", problem=["complex"], cmds=("find-issues",),
         why="complex pred_probs"),
    dict(id="probs_3d_npy", files={"p3d.npy": npy_bytes(P.reshape(N, K, 1))}, labels="y.npy",
         pred_probs="p3d.npy", expect="error", problem=["2-D"], cmds=("find-issues",),
         why="3-D pred_probs"),

    # --- wrong suffix for the content, compression ---------------------------------------------
    dict(id="csv_named_npy", files={"table.npy": CLEAN_CSV}, labels="table.npy", pred_probs="table.npy",
         expect="error", problem=[r"not a \.npy", r"\.csv suffix"], why="CSV text saved as .npy"),
    dict(id="npy_named_csv", files={"array.csv": npy_bytes(P)}, labels="y.npy", pred_probs="array.csv",
         expect="error", problem=[r"is a \.npy array", r"\.npy suffix"], cmds=("find-issues",),
         why=".npy bytes saved as .csv"),
    dict(id="parquet_named_csv", files={"table_pq.csv": _good_parquet()}, labels="table_pq.csv",
         pred_probs="table_pq.csv", expect="error", problem=["is a Parquet file", r"\.parquet suffix"],
         cmds=("find-issues",),
         why="Parquet bytes saved as .csv"),
    dict(id="csv_named_parquet", files={"table.parquet": CLEAN_CSV}, labels="table.parquet",
         pred_probs="table.parquet", expect="error", problem=["Parquet", "text", r"\.csv suffix"],
         cmds=("find-issues",),
         why="CSV text saved as .parquet"),
    dict(id="gzip_without_suffix", files={"gzipped.csv": gz(CLEAN_CSV)}, labels="gzipped.csv",
         pred_probs="gzipped.csv", expect="ok", same_as="clean_csv",
         why="gzip-compressed CSV named .csv (detected by its magic bytes): works"),
    dict(id="plain_named_csv_gz", files={"plain.csv.gz": CLEAN_CSV}, labels="plain.csv.gz",
         pred_probs="plain.csv.gz", expect="ok", same_as="clean_csv", cmds=("find-issues",),
         why="uncompressed CSV named .csv.gz: works"),
    dict(id="truncated_gzip", files={"cut.csv.gz": _cut(gz(CLEAN_CSV * 20), 0.5)}, labels="cut.csv.gz",
         pred_probs="cut.csv.gz", expect="error", problem=["gzip"], cmds=("find-issues",),
         why="gzip stream cut in half"),

    # --- CSV dialects that must work (same bytes out as clean_csv) -----------------------------
    dict(id="bom_csv", files={"bom.csv": b"\xef\xbb\xbf" + CLEAN_CSV}, labels="bom.csv",
         pred_probs="bom.csv", expect="ok", same_as="clean_csv", why="UTF-8 byte-order mark"),
    dict(id="semicolon_csv", files={"semicolon.csv": csv_bytes(YN, P, sep=";")}, labels="semicolon.csv",
         pred_probs="semicolon.csv", expect="ok", same_as="clean_csv", why="';' separator"),
    dict(id="quoted_csv", files={"quoted.csv": csv_bytes(YN, P, quote=True)}, labels="quoted.csv",
         pred_probs="quoted.csv", expect="ok", same_as="clean_csv", why="every field double-quoted"),
    dict(id="crlf_csv", files={"crlf.csv": csv_bytes(YN, P, eol="\r\n")}, labels="crlf.csv",
         pred_probs="crlf.csv", expect="ok", same_as="clean_csv", why="Windows line endings"),
    dict(id="excel_export_csv",
         files={"excel.csv": b"\xef\xbb\xbf" + csv_bytes(YN, P, sep=";", quote=True, eol="\r\n")},
         labels="excel.csv", pred_probs="excel.csv", expect="ok", same_as="clean_csv",
         cmds=("find-issues",), why="BOM + ';' + quotes + CRLF at once"),
    dict(id="tab_in_csv", files={"tabs.csv": csv_bytes(YN, P, sep="\t")}, labels="tabs.csv",
         pred_probs="tabs.csv", expect="ok", same_as="clean_csv", cmds=("find-issues",),
         why="tab-separated content named .csv"),
    dict(id="spaces_csv", files={"spaces.csv": CLEAN_CSV.replace(b",", b", ")}, labels="spaces.csv",
         pred_probs="spaces.csv", expect="ok", same_as="clean_csv", cmds=("find-issues",),
         why="a space after every comma"),
    dict(id="no_final_newline_csv", files={"nofinal.csv": CLEAN_CSV.rstrip(b"\n")},
         labels="nofinal.csv", pred_probs="nofinal.csv", expect="ok", same_as="clean_csv",
         cmds=("find-issues",), why="no newline after the last row"),
    dict(id="trailing_blank_lines_csv", files={"trailing.csv": CLEAN_CSV + b"\n\n"},
         labels="trailing.csv", pred_probs="trailing.csv", expect="ok", same_as="clean_csv",
         cmds=("find-issues",), why="blank lines after the data"),
    dict(id="pandas_index_csv",
         files={"indexed.csv": b"".join(
             (b"," if i == 0 else str(i - 1).encode() + b",") + line + b"\n"
             for i, line in enumerate(CLEAN_CSV.rstrip(b"\n").split(b"\n")))},
         labels="indexed.csv", pred_probs="indexed.csv", expect="ok", same_as="clean_csv",
         cmds=("find-issues",), why="DataFrame.to_csv() with its index (empty first header)"),
    dict(id="decimal_comma_csv",
         files={"decimal_comma.csv": csv_bytes(YN, P, sep=";").replace(b".", b",")},
         labels="decimal_comma.csv", pred_probs="decimal_comma.csv", expect="error",
         problem=["decimal comma"], cmds=("find-issues",),
         why="';' separator and decimal commas (0,8)"),
    dict(id="latin1_csv", files={"latin1.csv": "label\ncaf\xe9\n".encode("latin-1") * 1},
         labels="latin1.csv", pred_probs="p.npy", expect="error", problem=["UTF-8"],
         cmds=("find-issues",), why="Latin-1 encoded text"),
    dict(id="utf16_csv", files={"utf16.csv": CLEAN_CSV.decode().encode("utf-16")}, labels="utf16.csv",
         pred_probs="utf16.csv", expect="error", problem=["UTF-16", "UTF-8"], cmds=("find-issues",),
         why="UTF-16 text (Excel 'Unicode text')"),
    dict(id="ragged_csv", files={"ragged.csv": ragged_csv()},
         labels="ragged.csv", pred_probs="ragged.csv", expect="error", problem=["CSV", "fields"],
         cmds=("find-issues",), why="rows with more fields than the header"),
    dict(id="nul_bytes_csv", files={"nul.csv": CLEAN_CSV.replace(b"b,", b"b\0,", 3)}, labels="nul.csv",
         pred_probs="nul.csv", expect="error", problem=["NUL", r"line \d"], cmds=("find-issues",),
         why="NUL bytes inside label fields"),

    # --- columns -------------------------------------------------------------------------------
    dict(id="duplicate_columns_csv", files={"dupcols.csv": _table_with(YN, names=("a", "a", "c"))},
         labels="dupcols.csv", pred_probs="dupcols.csv", expect="error",
         problem=["'a' appears more than once"], why="two columns named 'a'"),
    dict(id="duplicate_columns_parquet",
         files={"dupcols.parquet": parquet_bytes([list(YN), P[:, 0], P[:, 1], P[:, 2]],
                                                 names=["label", "a", "a", "c"])},
         labels="dupcols.parquet", pred_probs="dupcols.parquet", expect="error",
         problem=["'a' appears more than once"], cmds=("find-issues",),
         why="Parquet with two columns named 'a'"),
    dict(id="no_label_column", files={"nolabel.csv": _table_with(YN).replace(b"label,", b"target,", 1)},
         labels="nolabel.csv", pred_probs="nolabel.csv", expect="error", problem=["--label-col"],
         cmds=("find-issues",), why="the label column is called something else"),
    dict(id="extra_numeric_column_csv",
         files={"extra_col.csv": csv_bytes(YN, np.column_stack([P, np.round(np.linspace(0.2, 0.6, N), 3)]),
                                           names=("a", "b", "c", "weight"))},
         labels="extra_col.csv", pred_probs="extra_col.csv", expect="error",
         problem=["sum to 1", "weight", "--prob-prefix"], cmds=("find-issues",),
         why="a numeric non-probability column ('weight') among the pred_probs"),

    # --- labels ----------------------------------------------------------------------------------
    dict(id="label_missing_csv", files={"label_missing.csv": _table_with(np.where(np.arange(N) == 7, "", YN))},
         labels="label_missing.csv", pred_probs="label_missing.csv", cmds=(*CMDS3, "crossval"),
         expect="error", problem=["missing", "row 7"], why="an empty label cell at row 7"),
    dict(id="label_missing_parquet",
         files={"label_missing.parquet": parquet_bytes(
             {"label": [None if i == 7 else v for i, v in enumerate(YN)],
              **{n: P[:, j] for j, n in enumerate(NAMES)}})},
         labels="label_missing.parquet", pred_probs="label_missing.parquet", expect="error",
         problem=["missing", "row 7"], cmds=("find-issues",), why="a null label at row 7 (Parquet)"),
    dict(id="label_nan_npy", files={"y_nan.npy": npy_bytes(np.where(np.arange(N) == 7, np.nan, Y.astype(float)))},
         labels="y_nan.npy", pred_probs="p.npy", expect="error", problem=["missing", "row 7"],
         cmds=("find-issues", "crossval"), why="float labels with NaN at row 7"),
    dict(id="mixed_int_str_labels",
         files={"mixed.csv": _table_with(np.where(np.arange(N) == 4, "1", YN))},
         labels="mixed.csv", pred_probs="mixed.csv", cmds=(*CMDS3, "crossval"), expect="error",
         problem={"find-issues": ["'1'", "row 4", "--classes"], "score": ["'1'", "row 4", "--classes"],
                  "health": ["'1'", "row 4", "--classes"], "crossval": ["'1'", "1 example"]},
         why="class names with one integer label '1' at row 4 (crossval: '1' is a 4th class of 1 example)"),
    dict(id="mixed_int_str_labels_npy_probs",
         files={"mixed_labels.csv": b"label\n" + "".join(
             f"{'two' if i == 5 else y}\n" for i, y in enumerate(Y)).encode()},
         labels="mixed_labels.csv", pred_probs="p.npy", expect="error", problem=["--classes"],
         cmds=("find-issues",), why="integer labels with one name ('two'), unnamed pred_probs"),
    dict(id="float_labels_whole", files={"y_float.csv": b"label\n" + "".join(f"{float(y)}\n" for y in Y).encode()},
         labels="y_float.csv", pred_probs="p.npy", expect="ok",
         same_as={"find-issues": "clean_npy", "score": "clean_npy", "health": "clean_npy", "crossval": "clean_csv"},
         cmds=(*CMDS3, "crossval"), why="labels written as 2.0: same results as integers"),
    dict(id="float_labels_whole_npy", files={"y_float.npy": npy_bytes(Y.astype(np.float64))},
         labels="y_float.npy", pred_probs="p.npy", expect="ok", same_as="clean_npy",
         cmds=("find-issues",), why="float64 .npy labels 0.0/1.0/2.0"),
    dict(id="float_labels_fraction",
         files={"y_frac.csv": b"label\n" + "".join(
             f"{1.5 if i == 9 else float(y)}\n" for i, y in enumerate(Y)).encode()},
         labels="y_frac.csv", pred_probs="p.npy", cmds=(*CMDS3, "crossval"), expect="error",
         problem=["1.5", "row 9", "whole"], why="a label 1.5 at row 9"),
    dict(id="label_out_of_range_npy", files={"y_big.npy": npy_bytes(np.where(np.arange(N) == 2, 3, Y))},
         labels="y_big.npy", pred_probs="p.npy", expect="error", problem=["3", "row 2", "0..2"],
         cmds=("find-issues",), why="label 3 with 3 pred_probs columns"),
    dict(id="negative_label_npy", files={"y_neg.npy": npy_bytes(np.where(np.arange(N) == 2, -1, Y))},
         labels="y_neg.npy", pred_probs="p.npy", expect="error", problem=["-1", "row 2"],
         cmds=("find-issues",), why="label -1"),
    dict(id="huge_label_npy", files={"y_huge.npy": npy_bytes(np.where(np.arange(N) == 2, 2**63 - 1, Y))},
         labels="y_huge.npy", pred_probs="p.npy", expect="error", problem=["row 2"],
         cmds=("find-issues",), why="label 2**63-1 (must not wrap around)"),
    dict(id="uint64_huge_label_npy",
         files={"y_u64.npy": npy_bytes(np.where(np.arange(N) == 2, np.uint64(2**64 - 1), Y.astype(np.uint64)))},
         labels="y_u64.npy", pred_probs="p.npy", expect="error", problem=["18446744073709551615", "row 2"],
         cmds=("find-issues",),
         why="uint64 label 2**64-1 (must not wrap to -1)"),
    dict(id="class_in_labels_not_in_probs",
         files={"unknown_class.csv": _table_with(np.where(np.arange(N) == 6, "d", YN))},
         labels="unknown_class.csv", pred_probs="unknown_class.csv", cmds=(*CMDS3, "crossval"),
         expect="error",
         problem={"find-issues": ["'d'", "row 6"], "score": ["'d'", "row 6"], "health": ["'d'", "row 6"],
                  "crossval": ["'d'", "1 example"]},
         why="label 'd' at row 6 but pred_probs columns a,b,c (crossval: 'd' is a 4th class of 1 example)"),
    dict(id="class_in_probs_not_in_labels",
         files={"extra_class.csv": csv_bytes(YN, np.column_stack([P * 0.99, np.full(N, 0.01)]),
                                             names=("a", "b", "c", "d"))},
         labels="extra_class.csv", pred_probs="extra_class.csv", expect="ok",
         why="pred_probs column 'd' that no label uses: a class with 0 examples is legitimate"),
    dict(id="one_more_column_than_classes",
         files={"p4.npy": npy_bytes(np.column_stack([P * 0.99, np.full(N, 0.01)]))},
         labels="y.npy", pred_probs="p4.npy", extra=["--classes", "a,b,c"], expect="error",
         problem=["3 classes", "4 columns"], why="--classes a,b,c with 4 pred_probs columns"),
    dict(id="class_named_none_csv",
         files={"none_class.csv": csv_bytes(np.array([{"a": "None"}.get(v, v) for v in YN]), P,
                                            names=("None", "b", "c"))},
         labels="none_class.csv", pred_probs="none_class.csv", expect="ok", cmds=("find-issues",),
         why="a class called 'None' (a pandas NA marker): a class name, not a missing label"),
    dict(id="class_named_na_csv",
         files={"na_class.csv": csv_bytes(np.array([{"a": "NA"}.get(v, v) for v in YN]), P,
                                          names=("NA", "b", "c"))},
         labels="na_class.csv", pred_probs="na_class.csv", expect="ok", cmds=("score",),
         why="a class called 'NA' (North America)"),
    dict(id="probs_null_marker_csv", files={"p_null.csv": with_cell(CLEAN_CSV, 5, 2, "null")},
         labels="p_null.csv", pred_probs="p_null.csv", expect="error", problem=["NaN", "row 5"],
         why="'null' in a probability column: a missing number"),
    dict(id="bool_labels_npy", files={"y_bool.npy": npy_bytes(Y == 1)},
         labels="y_bool.npy", pred_probs="p.npy", expect="ok", cmds=("find-issues",),
         why="boolean labels (False/True = classes 0/1)"),
    dict(id="labels_with_spaces_csv", files={"spaced_labels.csv": _table_with(np.array([f" {v} " for v in YN]))},
         labels="spaced_labels.csv", pred_probs="spaced_labels.csv", expect="ok", same_as="clean_csv",
         cmds=("find-issues",), why="label names padded with spaces (stripped)"),

    # --- probabilities ----------------------------------------------------------------------------
    dict(id="probs_as_text_csv",
         files={"text_probs.csv": with_cell(CLEAN_CSV, 5, 1, "high")},
         labels="text_probs.csv", pred_probs="text_probs.csv", expect="error",
         problem=["'high'", "row 5", "numbers"],
         why="the word 'high' in a probability column"),
    dict(id="probs_nan_npy", files={"p_nan.npy": npy_bytes(_probs_with(5, 1, np.nan))}, labels="y.npy",
         pred_probs="p_nan.npy", expect="error", problem=["NaN", "row 5"], why="NaN at row 5"),
    dict(id="probs_nan_csv", files={"p_nan.csv": with_cell(CLEAN_CSV, 5, 2, "")}, labels="p_nan.csv",
         pred_probs="p_nan.csv", expect="error",
         problem=["NaN|missing", "row 5"], cmds=("find-issues",), why="an empty probability cell at row 5"),
    dict(id="probs_inf_npy", files={"p_inf.npy": npy_bytes(_probs_with(5, 1, np.inf))}, labels="y.npy",
         pred_probs="p_inf.npy", expect="error", problem=["inf", "row 5"], why="inf at row 5"),
    dict(id="probs_negative_npy", files={"p_neg.npy": npy_bytes(_probs_with(5, 1, -0.2))}, labels="y.npy",
         pred_probs="p_neg.npy", expect="error", problem=[r"\[0, 1\]", "row 5"], why="-0.2 at row 5"),
    dict(id="probs_above_one_npy", files={"p_big.npy": npy_bytes(_probs_with(5, 1, 1.7))}, labels="y.npy",
         pred_probs="p_big.npy", expect="error", problem=[r"\[0, 1\]", "row 5"], why="1.7 at row 5"),
    dict(id="row_sums_zero_npy", files={"p_zero.npy": npy_bytes(np.where(np.arange(N)[:, None] == 5, 0.0, P))},
         labels="y.npy", pred_probs="p_zero.npy", extra=["--normalize"], expect="error",
         problem=["sums to 0", "row 5"], why="an all-zero row at row 5 (even with --normalize)"),
    dict(id="rows_not_summing_to_one_npy", files={"p_half.npy": npy_bytes(P / 2)}, labels="y.npy",
         pred_probs="p_half.npy", expect="error", problem=["sum to 1", "--normalize"],
         cmds=("find-issues",), why="every row sums to 0.5"),
    dict(id="probs_float16_npy", files={"p16.npy": npy_bytes(P.astype(np.float16))}, labels="y.npy",
         pred_probs="p16.npy", expect="ok", cmds=("find-issues",), why="float16 pred_probs are accepted"),
    dict(id="probs_big_endian_npy", files={"p_be.npy": npy_bytes(P.astype(">f8"))}, labels="y.npy",
         pred_probs="p_be.npy", expect="ok", same_as="clean_npy", cmds=("find-issues",),
         why="big-endian float64 .npy"),
    dict(id="probs_fortran_npy", files={"p_f.npy": npy_bytes(np.asfortranarray(P))}, labels="y.npy",
         pred_probs="p_f.npy", expect="ok", same_as="clean_npy", cmds=("find-issues",),
         why="Fortran-ordered .npy"),

    # --- sizes -------------------------------------------------------------------------------------
    dict(id="k_equals_1", files={"k1.npy": npy_bytes(np.ones((N, 1)))}, labels="y.npy", pred_probs="k1.npy",
         expect="error", problem=["1 column", "at least 2 classes"], why="one pred_probs column"),
    dict(id="k_equals_1_csv", files={"k1.csv": b"label,a\n" + b"a,1.0\n" * N}, labels="k1.csv",
         pred_probs="k1.csv", expect="error", problem=["1 column"], cmds=("find-issues",),
         why="one class, one column (CSV)"),
    dict(id="n_equals_0", files={"y0.npy": npy_bytes(np.zeros(0, dtype=np.int64)),
                                 "p0.npy": npy_bytes(np.zeros((0, K)))},
         labels="y0.npy", pred_probs="p0.npy", expect="error", problem=["0 rows|no rows"],
         names="y0.npy", why="0 labels and a 0 x 3 pred_probs"),
    dict(id="n_equals_1", files={"y1.npy": npy_bytes(Y[:1]), "p1.npy": npy_bytes(P[:1])},
         labels="y1.npy", pred_probs="p1.npy", names="y1.npy",
         expect={"find-issues": "error", "score": "ok", "health": "error"}, problem=["same label", "2 classes"],
         why="one example: scoring works; finding issues needs 2 classes present"),
    dict(id="length_mismatch", files={"p_short.npy": npy_bytes(P[:-1])}, labels="y.npy",
         pred_probs="p_short.npy", expect="error", problem=["29 rows", "30"], cmds=("find-issues",),
         why="29 pred_probs rows for 30 labels"),
    dict(id="all_same_label", files={"y_same.npy": npy_bytes(np.zeros(N, dtype=np.int64))},
         labels="y_same.npy", pred_probs="p.npy",
         expect={"find-issues": "error", "score": "ok", "health": "error"}, problem=["same label"],
         why="every label 0"),
    dict(id="hundred_thousand_classes", files={"y_100k.npy": b"", "p_100k.npy": b""},
         dynamic="hundred_thousand_classes", labels="y_100k.npy", pred_probs="p_100k.npy",
         expect={"find-issues": "error", "score": "ok", "health": "error"}, names="p_100k.npy",
         problem=["100,000 classes|100000 classes"],
         why="K = 100,000 classes, N = 40 (built in tmp: 16 MB): scores work; K x K matrices cannot"),
    dict(id="npy_huge_shape_header", files={"huge.npy": b""}, dynamic="huge_shape_npy", labels="y.npy",
         pred_probs="huge.npy", expect="error", problem=[r"\(1000000000000, 10\)", "memory", "--max-memory"],
         why="a 100-byte .npy whose header claims shape (10**12, 10) float64"),

    # --- paths and outputs -------------------------------------------------------------------------
    dict(id="missing_file", files={}, labels="does_not_exist.csv", pred_probs="p.npy", expect="error",
         problem=["not found"], cmds=("find-issues",), why="no such file"),
    dict(id="path_is_directory", files={"folder.csv": b""}, dynamic="directory", labels="folder.csv",
         pred_probs="p.npy", expect="error", problem=["folder"], cmds=(*CMDS3, "crossval"),
         why="--labels names a directory"),
    dict(id="unreadable_file", files={"secret.csv": b""}, dynamic="unreadable", labels="secret.csv",
         pred_probs="secret.csv", expect="error", problem=["permission denied"], needs_user=True,
         why="chmod 000 (skipped as root: root reads anyway)"),
    dict(id="out_missing_folder", files={}, labels="good.csv", pred_probs="good.csv", out="missing_dir",
         expect="error", problem=["does not exist"], cmds=(*CMDS3, "crossval"),
         names="missing", why="--out into a folder that does not exist"),
    dict(id="out_onto_input", files={}, labels="good.csv", pred_probs="good.csv", out="input",
         expect="error", problem=["overwrite"], cmds=(*CMDS3, "crossval"),
         why="--out is the labels file (compared by bytes afterwards)"),
    dict(id="out_readonly_file", files={}, labels="good.csv", pred_probs="good.csv", out="readonly_file",
         expect="error", problem=["read-only|permission|not writable"], needs_user=True,
         why="--out onto an existing chmod 444 file (skipped as root)"),
    dict(id="out_readonly_folder", files={}, labels="good.csv", pred_probs="good.csv", out="readonly_dir",
         expect="error", problem=["not writable"], needs_user=True,
         why="--out into a chmod 555 folder (skipped as root)"),
    dict(id="out_bad_suffix", files={}, labels="good.csv", pred_probs="good.csv", out="result.txt",
         expect="error", problem=["cannot write"], cmds=("find-issues",), names="result.txt",
         why="--out with an unknown suffix"),

    # --- stdin ---------------------------------------------------------------------------------------
    dict(id="stdin_clean", files={}, labels="-", pred_probs="-", stdin=CLEAN_CSV, expect="ok",
         same_as="clean_csv", cmds=("find-issues",), why="the clean table on stdin"),
    dict(id="stdin_closed_mid_line", files={}, labels="-", pred_probs="-", stdin=_partial_stdin(),
         expect="error", problem=["row 29"], names="<stdin>",
         why="a writer that died mid-row: the last row is cut after '0.'"),
    dict(id="stdin_closed_empty", files={}, labels="-", pred_probs="-", stdin=b"", expect="error",
         problem=["empty"], names="<stdin>", cmds=("find-issues",), why="stdin closed with no bytes"),
    dict(id="stdin_fd_closed", files={}, labels="-", pred_probs="p.npy", redirect="<&-", expect="error",
         problem=["closed"], names="<stdin>", cmds=("find-issues",), why="started with stdin closed (<&-)"),
    dict(id="stdout_closed_out_dash", files={}, labels="y.npy", pred_probs="p.npy", out="stdout",
         redirect=">&-", expect="error", problem=["closed"], names="<stdout>",
         why="--out - with stdout closed (>&-)"),
    dict(id="stdout_full_out_dash", files={}, labels="y.npy", pred_probs="p.npy", out="stdout",
         redirect=">/dev/full", expect="error", problem=["No space left"], names="<stdout>",
         cmds=(*CMDS3, "crossval"), why="--out - onto a full disk (>/dev/full)"),
    dict(id="stdout_full_format_json", files={}, labels="y.npy", pred_probs="p.npy", out="none",
         extra=["--format", "json", "-q"], redirect=">/dev/full", expect="error", problem=["No space left"],
         names="stdout", why="--format json onto a full disk"),
    dict(id="stderr_closed_bad_input", files={}, labels="y.npy", pred_probs="does_not_exist.npy",
         redirect="2>&-", expect="error", cmds=("find-issues",),
         why="bad input with stderr closed (2>&-): the exit code must still be 2"),
    dict(id="stdin_labels_cut", files={}, labels="-", pred_probs="p.npy",
         stdin=b"label\n" + "".join(f"{y}\n" for y in Y[:17]).encode() + b"2",
         expect="error", problem=["18 rows|30"], names="<stdin>", cmds=("find-issues",),
         why="labels on stdin cut after 18 of 30 rows"),
]

# The cases issue #6 lists (plus the clean references): in quick mode these run through the real
# console script; the others run through the same entry point in-process (see test_badinput.py).
CORE = frozenset([
    "clean_csv", "clean_npy", "empty_csv", "header_only_csv", "truncated_parquet", "truncated_npy",
    "pickled_npy", "strings_npy_probs", "csv_named_npy", "npy_named_csv", "gzip_without_suffix",
    "bom_csv", "semicolon_csv", "quoted_csv", "crlf_csv", "duplicate_columns_csv", "label_missing_csv",
    "mixed_int_str_labels", "float_labels_whole", "float_labels_fraction", "probs_as_text_csv",
    "probs_nan_npy", "probs_inf_npy", "probs_negative_npy", "probs_above_one_npy", "row_sums_zero_npy",
    "k_equals_1", "n_equals_0", "n_equals_1", "class_in_labels_not_in_probs", "class_in_probs_not_in_labels",
    "one_more_column_than_classes", "hundred_thousand_classes", "npy_huge_shape_header", "path_is_directory",
    "unreadable_file", "out_missing_folder", "out_onto_input", "out_readonly_file", "stdin_closed_mid_line",
])


# ------------------------------------------------------------------------------ dynamic builders


def _npz_as_npy(folder: str) -> None:
    np.savez(os.path.join(folder, "archive.npz"), a=P)
    os.replace(os.path.join(folder, "archive.npz"), os.path.join(folder, "archive.npy"))


def _directory(folder: str) -> None:
    os.mkdir(os.path.join(folder, "folder.csv"))


def _unreadable(folder: str) -> None:
    path = os.path.join(folder, "secret.csv")
    with open(path, "wb") as f:
        f.write(CLEAN_CSV)
    os.chmod(path, 0)


def hundred_thousand_classes(folder: str, n: int = 40, k: int = 100_000) -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 5, size=n)  # a handful of classes are used; the others are columns only
    p = np.full((n, k), 0.1 / (k - 1), dtype=np.float32)
    p[np.arange(n), y] = 0.9
    np.save(os.path.join(folder, "y_100k.npy"), y)
    np.save(os.path.join(folder, "p_100k.npy"), p)


def huge_shape_npy(path: str, shape=(10**12, 10), dtype="<f8", body: bytes = b"\0" * 64) -> None:
    """A valid .npy header that claims ``shape`` followed by a tiny body."""
    from numpy.lib import format as fmt

    with open(path, "wb") as f:
        fmt.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": shape})
        f.write(body)


DYNAMIC = {
    "npz_as_npy": _npz_as_npy,
    "directory": _directory,
    "unreadable": _unreadable,
    "hundred_thousand_classes": hundred_thousand_classes,
    "huge_shape_npy": lambda folder: huge_shape_npy(os.path.join(folder, "huge.npy")),
}


# ------------------------------------------------------------------------------------ writing


def corpus_files() -> dict[str, bytes]:
    """Every committed file: relative path -> bytes."""
    out = {f"_good/{name}": data for name, data in GOOD.items()}
    for case in CASES:
        if case.get("dynamic"):
            continue
        for name, data in case["files"].items():
            rel = f"{case['id']}/{name}"
            out[rel] = data
    return out


def build(folder: str) -> None:
    """Write the corpus into ``folder`` (one sub-folder per case, shared inputs in _good/)."""
    for rel, data in corpus_files().items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def build_dynamic(case: dict, folder: str) -> None:
    """Create a dynamic case's files in ``folder`` (the case's own folder, at test time)."""
    os.makedirs(folder, exist_ok=True)
    DYNAMIC[case["dynamic"]](folder)


def check(folder: str = CASES_DIR) -> list[str]:
    """Differences between ``folder`` and what the generator writes (empty list: up to date)."""
    want = corpus_files()
    have = {}
    for root, _, files in os.walk(folder):
        for name in files:
            full = os.path.join(root, name)
            have[os.path.relpath(full, folder).replace(os.sep, "/")] = open(full, "rb").read()
    problems = [f"missing {p}" for p in sorted(set(want) - set(have))]
    problems += [f"stray {p}" for p in sorted(set(have) - set(want))]
    problems += [f"differs {p}" for p in sorted(set(want) & set(have)) if want[p] != have[p]]
    return problems


def main(argv: list[str]) -> int:
    if "--check" in argv:
        problems = check()
        for p in problems:
            print(p)
        return 1 if problems else 0
    import shutil

    if os.path.isdir(CASES_DIR):
        shutil.rmtree(CASES_DIR)
    build(CASES_DIR)
    total = sum(len(d) for d in corpus_files().values())
    print(f"wrote {len(corpus_files())} files ({total / 1024:.0f} KiB) to {CASES_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
