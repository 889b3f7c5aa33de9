"""Images for the report's gallery: rows of an N x H x W (x C) .npy array, or image files named in
a table column. labelcli.render.plots scales them for display and draws them.
"""
from __future__ import annotations

import math
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
    paths: tuple = ()  # the image files read (a report must not write over any of them)


MAX_IMAGE_PIXELS = 40_000_000  # per image file (e.g. 8000 x 5000): more is refused before decoding
MAX_GALLERY_PIXELS = 200_000_000  # all the gallery's images together


def image_pixels(path: str) -> int | None:
    """Width x height from the image file's header, without decoding it (None: unknown format)."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except OSError:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big") * int.from_bytes(head[20:24], "big")
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as im:  # reads the header only
            return im.size[0] * im.size[1]
    except Exception:  # noqa: BLE001 - not an image Pillow knows: imread says why
        return None


def check_image_size(path: str) -> int:
    """The image's pixel count from its header; refused above MAX_IMAGE_PIXELS, before decoding."""
    pixels = image_pixels(path)
    if pixels is not None and pixels > MAX_IMAGE_PIXELS:
        raise LabelError(f"{path}: the image declares {pixels:,} pixels, more than the {MAX_IMAGE_PIXELS:,} a gallery"
                         " thumbnail may come from (a decompression bomb?); shrink it")
    return pixels or 0


def _check_gallery_total(path: str, total: int) -> None:
    if total > MAX_GALLERY_PIXELS:
        raise LabelError(f"{path}: the gallery's images hold {total:,} pixels together, more than"
                         f" {MAX_GALLERY_PIXELS:,}; use smaller images or a smaller --top")


def read_image_file(path: str) -> np.ndarray:
    """Read one image file (PNG natively; JPEG, BMP, ... through Pillow) as an array in [0, 1]."""
    try:
        from matplotlib import image as mpimg
    except ImportError:
        raise LabelError("plots need matplotlib: pip install 'labelcli[plot]'") from None

    check_image_size(path)
    a = np.asarray(mpimg.imread(path))
    if a.dtype.kind in "iu":
        a = a.astype(np.float64) / float(np.iinfo(a.dtype).max)
    return np.clip(a.astype(np.float64), 0.0, 1.0)


def read_gallery_images(path: str, image_col: str, rows: np.ndarray, n: int, *,
                        allow_outside: bool = False) -> GalleryImages:
    """The images of `rows` (of `n`): from an .npy array (memory-mapped, so only these rows are
    read) or from the image files named in a table column (relative to the table's folder, and
    inside it, links resolved, unless ``allow_outside``)."""
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
        _check_gallery_total(path, len(rows) * math.prod(arr.shape[1:3]))
        return GalleryImages([np.asarray(arr[i]) for i in rows], unit_range=False)
    table = read_table(path)
    if isinstance(table, np.ndarray) or image_col not in table.columns:
        cols = [] if isinstance(table, np.ndarray) else list(table.columns)
        raise LabelError(f"{path}: no column '{image_col}' of image paths (columns: {', '.join(map(str, cols[:10]))});"
                         " pass --image-col NAME, or give an .npy array")
    if len(table) != n:
        raise LabelError(f"{path}: {len(table)} rows but the labels have {n}; they must match")
    base = os.path.dirname(os.path.abspath(path)) if path != "-" else os.getcwd()
    out, read, total = [], [], 0
    for i in rows:
        cell = table[image_col].iloc[int(i)]
        if cell is None or (isinstance(cell, float) and cell != cell) or not str(cell).strip():
            raise LabelError(f"{path} row {i} (0-based): column '{image_col}' has no image path")
        full = os.path.join(base, os.path.expanduser(str(cell).strip()))
        if not allow_outside and not _inside(full, base):
            raise LabelError(f"{path} row {i} (0-based): image path '{cell}' is outside the table's folder"
                             f" ({base}); move the images there or pass --allow-outside-images")
        if not os.path.isfile(full):
            raise LabelError(f"{path} row {i} (0-based): image file '{cell}' not found (looked for {full})")
        read.append(full)
        total += check_image_size(full)
        _check_gallery_total(path, total)
        try:
            out.append(read_image_file(full))
        except Exception as e:
            raise LabelError(f"{path} row {i} (0-based): cannot read image '{cell}' ({type(e).__name__}: {e})") from None
    return GalleryImages(out, unit_range=True, paths=tuple(read))


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` (links resolved) is in ``folder`` or below it."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([real, top]) == top
