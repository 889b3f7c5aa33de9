"""The review page: one self-contained HTML file (inline CSS and JS, images as data: URIs, nothing
fetched) that walks a reviewer through the suspects and exports a decisions CSV for `fix`.

The data goes in as JSON inside ``<script type="application/json">`` with ``<``, ``>`` and ``&``
written as \\u escapes, so nothing from the data can close the script element; the page's script
shows every value with textContent, never as HTML. The same inputs give the same bytes.

    >>> doc = page_document(title="t", classes=["a", "b"], items=[], multi_label=False, sep=",")
    >>> html = review_page(doc)
"""
from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib

import numpy as np

MAX_SIDE = 384  # larger images are shown subsampled to about this many pixels a side (keeps the page small)
MAX_FIELDS = 40  # a row's fields shown at most (wide tables: the first ones, then "+N more")
TEMPLATE = "review_page.html"


def png_bytes(image: np.ndarray) -> bytes:
    """A PNG of an H x W (grey) or H x W x 3/4 (colour) image scaled into [0, 1]. Deterministic:
    no time stamp or other metadata, fixed compression level."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    px = np.round(np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0) * 255).astype(np.uint8)
    colour = {2: 0, 3: 2 if px.ndim == 3 and px.shape[2] == 3 else 6}[px.ndim]  # grey, RGB or RGBA
    h, w = px.shape[:2]
    rows = px.reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), dtype=np.uint8), rows], axis=1).tobytes()  # filter 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def png_data_uri(image: np.ndarray, max_side: int = MAX_SIDE) -> str:
    """The image as a data: URI; one longer than ``max_side`` pixels is subsampled (every n-th pixel)."""
    a = np.asarray(image)
    step = -(-max(a.shape[:2]) // max_side)
    if step > 1:
        a = a[::step, ::step]
    return "data:image/png;base64," + base64.b64encode(png_bytes(a)).decode("ascii")


def _cell(v) -> str:
    """A table cell as text (floats short, missing values blank)."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def row_fields(names, values) -> list[list[str]]:
    """[[column, value], ...] of one row, at most MAX_FIELDS (then a '+N more' note)."""
    names, values = list(names), list(values)
    out = [[str(n), _cell(v)] for n, v in zip(names[:MAX_FIELDS], values[:MAX_FIELDS])]
    if len(names) > MAX_FIELDS:
        out.append(["…", f"+{len(names) - MAX_FIELDS} more columns"])
    return out


def review_items(rows, given, suggested, scores, flagged, *, suspect=None, fields=None, images=None) -> list[dict]:
    """The page's items, one per reviewed row in review order. given / suggested: display strings
    (multi-label: tags joined by the separator); suspect: '+tag -tag' strings (multi-label);
    fields: per row [[column, value], ...]; images: per row a data: URI or None."""
    items = []
    for j, i in enumerate(np.asarray(rows, dtype=np.int64).tolist()):
        s = float(scores[j])
        item = {"index": int(i), "given": _cell(given[j]), "suggested": _cell(suggested[j]),
                "score": None if s != s else round(s, 6), "flagged": bool(flagged[j])}
        if suspect is not None:
            item["suspect"] = _cell(suspect[j])
        if fields is not None:
            item["fields"] = fields[j]
        if images is not None and images[j] is not None:
            item["image"] = images[j]
        items.append(item)
    return items


def page_document(*, title: str, classes, items: list[dict], multi_label: bool, sep: str,
                  given_column: str = "given_label", source: str = "") -> dict:
    """What the page embeds: the items, the classes, how to write new_label, and the key under
    which the browser saves progress (a hash of everything else, so two pages do not mix).
    given_column: the export's column of given labels, checked by `fix` ("" for none)."""
    doc = {"title": str(title), "classes": [str(c) for c in classes], "multi_label": bool(multi_label),
           "sep": str(sep), "given_column": str(given_column), "source": str(source), "items": items}
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=True).encode("ascii")).hexdigest()
    return {**doc, "key": "labelcli-review-" + digest[:24]}


def embed_json(doc) -> str:
    """JSON safe inside a <script> element: '<', '>', '&' and the JS line separators escaped."""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _template() -> str:
    from importlib.resources import files

    return files("labelcli.render").joinpath(TEMPLATE).read_text(encoding="utf-8")


def review_page(doc: dict) -> str:
    """The page's HTML: the template with the escaped title and the embedded JSON."""
    import html
    import re

    parts = {"TITLE": html.escape(doc["title"]), "DATA": embed_json(doc)}
    return re.sub(r"\{\{(TITLE|DATA)\}\}", lambda m: parts[m.group(1)], _template())  # one pass
