"""core.tagfix: fix --auto on multi-label tag matrices."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli.core.tagfix import auto_tag_fix
from labelcli.errors import LabelError

Y = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]], dtype=bool)


def test_relabel_sets_the_suggested_tags_and_logs_an_unchanged_set_as_keep():
    new = np.array([[0, 1, 0], [1, 1, 0]], dtype=bool)  # row 2 unchanged
    r = auto_tag_fix(Y, [3, 2], new, action="relabel")
    assert r.labels[3].tolist() == [False, True, False] and r.labels[2].tolist() == Y[2].tolist()
    assert r.log_index.tolist() == [2, 3] and r.log_action.tolist() == ["keep", "relabel"]
    assert r.changed.tolist() == [False, False, False, True] and r.keep.all()
    assert (r.original == Y).all()


def test_drop_keeps_the_tags_and_clears_keep():
    r = auto_tag_fix(Y, [1], np.zeros((1, 3), dtype=bool), action="drop")
    assert r.keep.tolist() == [True, False, True, True] and (r.labels == Y).all() and r.num_dropped == 1


def test_bad_rows_are_refused():
    with pytest.raises(LabelError, match="same row twice"):
        auto_tag_fix(Y, [1, 1], np.zeros((2, 3), dtype=bool), action="drop")
    with pytest.raises(LabelError, match="outside"):
        auto_tag_fix(Y, [9], np.zeros((1, 3), dtype=bool), action="drop")
