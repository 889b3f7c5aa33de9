"""labelcli.io.formats: one suffix table for reading, writing and streaming.

Drift bug (issue #13): the suffixes lived in three places and drifted apart; the CLI refused
`--out x.pq` although the writer supported .pq. Every command now checks its output against the
table the writers use, so every suffix a writer can write is accepted, and the same bytes come out
whatever spelling of a format is used.
"""
from __future__ import annotations

import pandas as pd
import pytest

from labelcli.io import chunks, formats, readers, writers
from labelcli.io.formats import ANY_OUT, ARRAY_OUT, JSON_OUT, READ_SUFFIXES, TABLE_OUT
from tests.conftest import SAMPLE, cli_ok
from tests.conftest import SAMPLE_NPY as NPY


def test_one_table_for_every_list_of_suffixes():
    assert READ_SUFFIXES == (".npy", ".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet", ".pq")
    assert TABLE_OUT == (".csv", ".parquet", ".pq", ".json", ".jsonl")
    assert ARRAY_OUT == (".npy", ".csv", ".parquet", ".pq")
    assert JSON_OUT == (".json",)
    assert set(ANY_OUT) == set(TABLE_OUT + ARRAY_OUT + JSON_OUT)
    for fmt in formats.FORMATS:  # every suffix has one kind, and spellings of a format share it
        assert formats.kind("x" + fmt.suffix.upper()) == fmt.kind
    assert formats.kind("x.parquet") == formats.kind("x.pq") == "parquet"


def test_readers_streaming_and_writers_agree_with_the_table():
    """Whatever read_table reads by suffix, the chunk readers read too (the same kind); every suffix
    the writers are asked to write passes check_output_path."""
    for suf in READ_SUFFIXES:
        want = {"npy": "npy", "parquet": "parquet", "csv": "csv", "tsv": "csv"}[formats.kind("x" + suf)]
        assert chunks.stream_kind("data" + suf) == want, suf
    for allowed in (TABLE_OUT, ARRAY_OUT, JSON_OUT):
        for suf in allowed:
            writers.check_output_path("out" + suf, allowed=allowed)
    assert formats.csv_separator("a.tsv") == formats.csv_separator("a.TSV.gz") == "\t"
    assert formats.csv_separator("a.tsv.csv") is None  # by suffix, not by a substring of the path
    assert readers.csv_options(b"a\tb\n1\t2\n", "x", formats.csv_separator("x.tsv"))["sep"] == "\t"


@pytest.mark.parametrize("suffix", TABLE_OUT)
def test_find_issues_and_score_write_every_table_suffix(tmp_path, suffix):
    for cmd in ("find-issues", "score"):
        out = tmp_path / f"{cmd}{suffix}"
        cli_ok(cmd, *NPY, "-q", "--out", out)
        assert out.stat().st_size > 0


def test_pq_is_parquet_everywhere(tmp_path):
    """--out x.pq (refused by the CLI before the fix) writes the same table as --out x.parquet."""
    a, b = tmp_path / "t.parquet", tmp_path / "t.pq"
    cli_ok("find-issues", *NPY, "-q", "--all", "--out", a)
    cli_ok("find-issues", *NPY, "-q", "--all", "--out", b)
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    pp = tmp_path / "pp.pq"
    cli_ok("crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--folds", 3,
           "--model", "knn", "-q", "--out", pp)
    assert pd.read_parquet(pp).shape == (1797, 10)
    clean, log = tmp_path / "clean.pq", tmp_path / "changes.pq"
    issues = tmp_path / "issues.csv"
    cli_ok("find-issues", *NPY, "-q", "--out", issues)
    cli_ok("fix", "-l", SAMPLE / "digits_labels.npy", "--issues", issues, "--auto", "drop", "-q",
           "--out", clean, "--changelog", log)
    assert len(pd.read_parquet(clean)) == 1797 and len(pd.read_parquet(log)) > 0
    # and a .pq input reads as Parquet, as before
    cli_ok("find-issues", "-l", clean, "-p", SAMPLE / "digits_pred_probs.npy", "-q", "--out", tmp_path / "again.csv")
