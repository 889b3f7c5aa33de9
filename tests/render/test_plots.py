"""labelcli.render.plots: every figure renders to a real PNG of a sensible size; image scaling; missing
matplotlib is a clear error."""
from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from labelcli.errors import LabelError
from labelcli.render import plots

NAMES = [f"class_{i}" for i in range(10)]


def png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def assert_drawn(a: np.ndarray, min_w: int, min_h: int) -> None:
    h, w, _ = a.shape
    assert w >= min_w and h >= min_h, a.shape
    assert w <= 2500 and h <= 2500, a.shape
    assert a.std() > 10, "the image is (nearly) blank"


def test_noise_per_class():
    rate = np.linspace(0, 0.2, 10)
    a = png(plots.noise_per_class(NAMES, rate, np.arange(10), np.full(10, 100)))
    assert_drawn(a, 500, 300)
    # red bars: the issue colour is present
    assert np.any((a[..., 0] > 200) & (a[..., 1] < 90) & (a[..., 2] < 90))


def test_noise_per_class_many_classes_shows_the_noisiest_only():
    k = 200
    a = png(plots.noise_per_class([f"c{i}" for i in range(k)], np.random.default_rng(0).random(k), np.ones(k), np.ones(k)))
    # height grows with the shown classes (30), not with K
    assert a.shape[0] < 1400


def test_noise_matrix_small_and_large():
    rng = np.random.default_rng(0)
    q = rng.random((10, 10)) + np.eye(10) * 20
    a = png(plots.noise_matrix(NAMES, q / q.sum(), 1000))
    assert_drawn(a, 400, 400)
    q = rng.random((60, 60)) + np.eye(60) * 20
    big = png(plots.noise_matrix([f"c{i}" for i in range(60)], q / q.sum(), 5000))
    assert_drawn(big, 600, 600)


def test_noisiest_classes():
    mass = np.array([5.0, 1.0, 9.0, 9.0, 0.0])
    assert plots.noisiest_classes(mass, 10).tolist() == [0, 1, 2, 3, 4]
    assert plots.noisiest_classes(mass, 3).tolist() == [0, 2, 3]  # class order, not mass order
    assert plots.noisiest_classes(mass, 1).tolist() == [2]  # tie: lower index first


def test_score_histogram_marks_least_suspect_flagged():
    s = np.array([0.01, 0.2, 0.4, 0.9, 0.95, 0.3])
    flagged = np.array([True, True, False, False, False, True])
    data, mark = plots.score_histogram(s, flagged, rank_by="self_confidence")
    assert mark == pytest.approx(0.3)
    assert_drawn(png(data), 500, 250)
    data, mark = plots.score_histogram(s, np.zeros(6, bool), rank_by="normalized_margin")
    assert mark is None
    png(data)


def test_class_pairs():
    a = png(plots.class_pairs(["a", "b", "c"], ["x", "y", "z"], [10, 5, 1]))
    assert_drawn(a, 400, 150)


def test_gallery_layout_size():
    imgs = [np.full((8, 8), i / 9) for i in range(10)]
    caps = [f"#{i}\ngiven: a\nsugg.: b\nscore 0.1" for i in range(10)]
    a = png(plots.gallery(imgs, caps, title="t"))
    # 8 columns of 1.5 in + 0.1 in margin at 100 dpi; 2 rows
    assert a.shape[1] == 1210
    one_row = png(plots.gallery(imgs[:3], caps[:3], title="t"))
    assert one_row.shape[1] == 460 and one_row.shape[0] < a.shape[0]
    with pytest.raises(LabelError):
        plots.gallery([], [], title="t")


def test_gallery_colour_images():
    rgb = [np.dstack([np.full((5, 7), c) for c in (1.0, 0.0, 0.0)])] * 2
    a = png(plots.gallery(rgb, ["x", "y"], title="red"))
    assert np.any((a[..., 0] > 240) & (a[..., 1] < 20))


def test_display_scaling():
    digits = [np.array([[0, 16], [8, 4]], dtype=np.uint8), np.array([[2, 2], [2, 2]], dtype=np.uint8)]
    lo, hi = plots.display_range(digits)
    assert (lo, hi) == (0.0, 16.0)
    assert plots.to_display(digits[0], lo, hi).tolist() == [[0.0, 1.0], [0.5, 0.25]]
    assert plots.display_range([np.ones((2, 2))]) == (0.5, 1.5)  # constant: no division by zero
    assert plots.display_range([np.full((2, 2), np.nan)]) == (0.0, 1.0)
    assert plots.display_range([np.array([[True, False]])]) == (0.0, 1.0)
    grey = plots.to_display(np.zeros((4, 4, 1)), 0.0, 1.0)
    assert grey.shape == (4, 4)


def test_missing_matplotlib_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    for call in (plots.require_matplotlib, lambda: plots.class_pairs(["a"], ["b"], [1])):
        with pytest.raises(LabelError, match=r"^plots need matplotlib: pip install 'labelcli\[plot\]'$"):
            call()


def test_short_name_keeps_both_ends():
    assert plots.short_name("category_number_19", 12) == "categ…ber_19"
    assert plots.short_name("cat", 12) == "cat"
    assert len(plots.short_name("x" * 50, 16)) == 16


def test_same_input_same_bytes():
    args = (NAMES, np.linspace(0, 0.2, 10), np.arange(10), np.full(10, 100))
    assert plots.noise_per_class(*args) == plots.noise_per_class(*args)
