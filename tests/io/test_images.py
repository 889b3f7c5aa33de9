"""labelcli.io.images: the images of the report's gallery, from an .npy array or image files."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from labelcli.io import images


def test_read_image_file(tmp_path):
    from matplotlib import image as mpimg

    a = np.linspace(0, 1, 12).reshape(3, 4)
    mpimg.imsave(tmp_path / "a.png", a, cmap="gray")
    got = images.read_image_file(str(tmp_path / "a.png"))
    assert got.shape[:2] == (3, 4) and got.min() >= 0 and got.max() <= 1
    Image.fromarray(np.full((6, 5, 3), 255, dtype=np.uint8)).save(tmp_path / "b.jpg")
    got = images.read_image_file(str(tmp_path / "b.jpg"))
    assert got.shape == (6, 5, 3) and got.max() == pytest.approx(1.0, abs=0.02)
