"""Images for the report's gallery: rows of an N x H x W (x C) .npy array, or image files named in
a table column. labelcli.render.plots scales them for display and draws them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError
from labelcli.io import formats
from labelcli.io.readers import read_table


@dataclass(frozen=True)
class GalleryImages:
    """The images of the gallery, in the order asked for."""

    images: list  # of np.ndarray: H x W (grey) or H x W x C
    unit_range: bool  # True: already in [0, 1] (image files); False: as stored in the .npy (any range)


def read_image_file(path: str) -> np.ndarray:
    """Read one image file (PNG natively; JPEG, BMP, ... through Pillow) as an array in [0, 1]."""
    try:
        from matplotlib import image as mpimg
    except ImportError:
        raise LabelError("plots need matplotlib: pip install 'labelcli[plot]'") from None

    a = np.asarray(mpimg.imread(path))
    if a.dtype.kind in "iu":
        a = a.astype(np.float64) / float(np.iinfo(a.dtype).max)
    return np.clip(a.astype(np.float64), 0.0, 1.0)


def read_gallery_images(path: str, image_col: str, rows: np.ndarray, n: int) -> GalleryImages:
    """The images of `rows` (of `n`): from an .npy array (memory-mapped, so only these rows are
    read) or from the image files named in a table column (relative to the table's folder)."""
    if formats.kind(path) == "npy":
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise LabelError(f"{path}: file not found") from None
        except Exception as e:
            raise LabelError(f"{path}: could not read as .npy images ({type(e).__name__}: {e})") from None
        if len(arr) != n:
            raise LabelError(f"{path}: {len(arr)} images but the labels have {n} rows; they must match")
        if arr.dtype.kind not in "biuf":
            raise LabelError(f"{path}: images must be numbers, got dtype {arr.dtype}")
        if arr.ndim == 2 and round(arr.shape[1] ** 0.5) ** 2 == arr.shape[1]:
            side = round(arr.shape[1] ** 0.5)  # flattened square grey images, e.g. 784 = 28 x 28
            arr = arr.reshape(n, side, side)
        if not (arr.ndim == 3 or (arr.ndim == 4 and arr.shape[3] in (1, 3, 4))):
            raise LabelError(f"{path}: images have shape {arr.shape}; expected N x H x W or N x H x W x C"
                             " (C = 1, 3 or 4)")
        return GalleryImages([np.asarray(arr[i]) for i in rows], unit_range=False)
    table = read_table(path)
    if isinstance(table, np.ndarray) or image_col not in table.columns:
        cols = [] if isinstance(table, np.ndarray) else list(table.columns)
        raise LabelError(f"{path}: no column '{image_col}' of image paths (columns: {', '.join(map(str, cols[:10]))});"
                         " pass --image-col NAME, or give an .npy array")
    if len(table) != n:
        raise LabelError(f"{path}: {len(table)} rows but the labels have {n}; they must match")
    base = os.path.dirname(os.path.abspath(path)) if path != "-" else os.getcwd()
    out = []
    for i in rows:
        cell = table[image_col].iloc[int(i)]
        if cell is None or (isinstance(cell, float) and cell != cell) or not str(cell).strip():
            raise LabelError(f"{path} row {i} (0-based): column '{image_col}' has no image path")
        full = os.path.join(base, os.path.expanduser(str(cell).strip()))
        if not os.path.isfile(full):
            raise LabelError(f"{path} row {i} (0-based): image file '{cell}' not found (looked for {full})")
        try:
            out.append(read_image_file(full))
        except Exception as e:
            raise LabelError(f"{path} row {i} (0-based): cannot read image '{cell}' ({type(e).__name__}: {e})") from None
    return GalleryImages(out, unit_range=True)
