"""labelcli.io.chunks and labelcli.io.memory: the memory budget (--max-memory sizes), how many rows
a chunk may hold, and when pred_probs are read in chunks instead of whole. The chunk readers
themselves are exercised by tests/core/test_streaming.py and tests/cli/test_max_memory.py."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli.errors import LabelError
from labelcli.io import needs_streaming, parse_size, plan_chunk_rows


def test_parse_size_and_budget():
    assert parse_size("256MB") == 256 * 10**6
    assert parse_size("2GB") == 2 * 10**9
    assert parse_size("1.5GiB") == int(1.5 * 2**30)
    assert parse_size("512k") == 512_000
    assert parse_size(12345) == 12345
    for bad in ("", "lots", "-1GB", "0"):
        with pytest.raises(LabelError, match="cannot read the size"):
            parse_size(bad)
    with pytest.raises(LabelError, match="too small"):
        plan_chunk_rows(5_000_000, 100, 4, parse_size("100MB"))
    assert plan_chunk_rows(5_000_000, 100, 4, parse_size("256MB")) >= 10_000


def test_needs_streaming(tmp_path):
    np.save(tmp_path / "p.npy", np.zeros((1000, 10), dtype=np.float32))
    assert needs_streaming(str(tmp_path / "p.npy"), "50KB")
    assert not needs_streaming(str(tmp_path / "p.npy"), "1MB")
