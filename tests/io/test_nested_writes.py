"""all_or_nothing blocks nest: a write_folder (which has its own block) inside a command's block is
published with the command's other outputs, or not at all (report --save-pred-probs)."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli import io


def test_folder_inside_a_failing_block_is_not_published(tmp_path):
    folder = tmp_path / "rep"
    with pytest.raises(RuntimeError):
        with io.all_or_nothing():
            io.write_array(np.eye(3), str(tmp_path / "p.npy"))
            io.write_folder(str(folder), {"a.png": b"png", "index.html": b"<html>"})
            raise RuntimeError("a later output failed")
    assert not (tmp_path / "p.npy").exists()
    assert not folder.exists() or list(folder.iterdir()) == []  # no page, no figure
    assert [p.name for p in tmp_path.iterdir() if p.name != "rep"] == []  # no temp files left


def test_folder_inside_a_block_is_published_with_the_rest(tmp_path):
    folder = tmp_path / "rep"
    with io.all_or_nothing():
        io.write_folder(str(folder), {"a.png": b"png", "index.html": b"<html>"})
        assert not (folder / "index.html").exists()  # staged until the outer block ends
        io.write_array(np.eye(3), str(tmp_path / "p.npy"))
    assert (folder / "index.html").read_bytes() == b"<html>" and (folder / "a.png").read_bytes() == b"png"
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), np.eye(3))
