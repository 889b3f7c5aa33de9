"""Multi-label labels through labelcli.io.open_dataset: every label form (a Parquet list column, a
delimited CSV column, a 0/1 .npy matrix) gives the same tag matrix; detection and its note; empty
cells and lists mean no tag (labelcli.io.tags)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelcli import io
from tests.conftest import TAG_NAMES


@pytest.mark.parametrize("form", ["parquet_lists", "csv_names", "csv_pipe", "csv_indices", "npy_matrix"])
def test_every_label_form_gives_the_same_matrix(tag_data, form):
    d = tag_data["dir"]
    labels, kw = {
        "parquet_lists": (d / "tags.parquet", {"label_col": "tags"}),
        "csv_names": (d / "tags.csv", {"label_col": "tags"}),
        "csv_pipe": (d / "pipe.csv", {"label_col": "tags", "label_sep": "|", "multi_label": True}),
        "csv_indices": (d / "indices.csv", {"multi_label": True}),
        "npy_matrix": (d / "y.npy", {}),
    }[form]
    probs = d / ("p.npy" if form in ("csv_indices", "npy_matrix") else "probs.parquet")
    inputs = io.open_dataset(str(labels), str(probs), **kw)
    assert inputs.multi_label
    assert inputs.labels.dtype == bool
    np.testing.assert_array_equal(inputs.labels, tag_data["noisy"])
    if form != "csv_indices" and form != "npy_matrix":
        assert inputs.classes == tuple(TAG_NAMES)
    np.testing.assert_array_equal(inputs.pred_probs, tag_data["probs"])


def test_detection_notes_why_and_single_tags_stay_multiclass(tag_data, tmp_path):
    d = tag_data["dir"]
    inputs = io.open_dataset(str(d / "tags.parquet"), str(d / "probs.parquet"), label_col="tags")
    assert inputs.note == "multi-label: column 'tags' holds lists of tags"
    assert io.open_dataset(str(d / "y.npy"), str(d / "p.npy")).note.startswith("multi-label: labels are a 500 x 5")
    # One name per cell is ordinary multi-class data unless --multi-label says otherwise.
    pd.DataFrame({"label": ["hat", "beard", "hat", "smile"]}).to_csv(tmp_path / "one.csv", index=False)
    assert not io.open_dataset(str(tmp_path / "one.csv")).multi_label
    forced = io.open_dataset(str(tmp_path / "one.csv"), multi_label=True)
    assert forced.multi_label and forced.labels.shape == (4, 3) and forced.note is None


def test_empty_cells_and_empty_lists_mean_no_tag(tmp_path):
    pd.DataFrame({"label": ["a,b", "", "b", None]}).to_csv(tmp_path / "t.csv", index=False)
    y = io.open_dataset(str(tmp_path / "t.csv"), classes="a,b").labels
    np.testing.assert_array_equal(y, [[1, 1], [0, 0], [0, 1], [0, 0]])
    pd.DataFrame({"label": [["a"], [], ["a", "b"]]}).to_parquet(tmp_path / "t.parquet")
    y = io.open_dataset(str(tmp_path / "t.parquet")).labels
    np.testing.assert_array_equal(y, [[1, 0], [0, 0], [1, 1]])
