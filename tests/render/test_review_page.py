"""The review page's renderer (labelcli.render.review_page): the embedded JSON cannot close its
script element, the PNGs are valid and deterministic, the storage key follows the content."""
from __future__ import annotations

import json
import re
import struct
import zlib

import numpy as np

from labelcli.render import review_page as rp


def embedded(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def _doc(items, classes=("a", "b")):
    return rp.page_document(title="t", classes=classes, items=items, multi_label=False, sep=",")


def test_data_cannot_close_the_script_element():
    evil = "</script><script>alert(1)</script>&<!--"
    items = rp.review_items([3], [evil], ["b"], [0.25], [True], fields=[rp.row_fields(["note"], [evil])])
    html = rp.review_page(_doc(items, classes=(evil, "b")))
    assert evil not in html and "alert(1)</script>" not in html
    assert html.count("</script>") == 2  # the data element's and the page script's own
    doc = embedded(html)
    assert doc["classes"][0] == evil and doc["items"][0]["given"] == evil
    assert doc["items"][0]["fields"] == [["note", evil]]


def test_title_is_escaped_and_placeholders_in_data_stay_data():
    items = rp.review_items([0], ["{{TITLE}}"], ["{{DATA}}"], [0.5], [False])
    doc = rp.page_document(title="<b>x</b> {{DATA}}", classes=["a"], items=items, multi_label=False, sep=",")
    html = rp.review_page(doc)
    assert "<title>&lt;b&gt;x&lt;/b&gt; {{DATA}}</title>" in html
    assert embedded(html)["items"][0]["given"] == "{{TITLE}}"


def test_items_keep_order_scores_and_flags():
    items = rp.review_items(np.array([5, 2]), ["a", "b"], ["b", "a"], np.array([0.1234567891, np.nan]),
                            np.array([True, False]), suspect=["+x", "-y"])
    assert [i["index"] for i in items] == [5, 2]
    assert items[0]["score"] == 0.123457 and items[1]["score"] is None
    assert items[0]["flagged"] is True and items[1]["suspect"] == "-y"


def test_wide_rows_are_cut_with_a_note():
    f = rp.row_fields([f"c{j}" for j in range(rp.MAX_FIELDS + 5)], list(range(rp.MAX_FIELDS + 5)))
    assert len(f) == rp.MAX_FIELDS + 1 and f[-1][1] == "+5 more columns"
    assert rp.row_fields(["x", "y"], [float("nan"), 0.1 + 0.2]) == [["x", ""], ["y", "0.3"]]


def _unpng(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
        chunks[kind] = body
        pos += 12 + n
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(h, -1)
    assert (raw[:, 0] == 0).all()
    return w, h, colour, raw[:, 1:]


def test_png_grey_and_colour_round_trip():
    grey = np.linspace(0, 1, 12).reshape(3, 4)
    w, h, colour, px = _unpng(rp.png_bytes(grey))
    assert (w, h, colour) == (4, 3, 0)
    assert np.array_equal(px, np.round(grey * 255).astype(np.uint8))
    rgb = np.random.default_rng(0).random((5, 2, 3))
    w, h, colour, px = _unpng(rp.png_bytes(rgb))
    assert (w, h, colour) == (2, 5, 2) and np.array_equal(px.reshape(5, 2, 3), np.round(rgb * 255).astype(np.uint8))
    assert rp.png_bytes(rgb) == rp.png_bytes(rgb.copy())
    assert rp.png_data_uri(grey).startswith("data:image/png;base64,")


def test_large_images_are_subsampled():
    import base64

    big = np.random.default_rng(1).random((1000, 500, 3))
    w, h, _, px = _unpng(base64.b64decode(rp.png_data_uri(big).split(",", 1)[1]))
    assert (w, h) == (167, 334)  # every 3rd pixel
    assert np.array_equal(px.reshape(h, w, 3), np.round(big[::3, ::3] * 255).astype(np.uint8))


def test_storage_key_follows_the_content():
    a = _doc(rp.review_items([0], ["a"], ["b"], [0.1], [True]))
    b = _doc(rp.review_items([1], ["a"], ["b"], [0.1], [True]))
    assert a["key"] == _doc(rp.review_items([0], ["a"], ["b"], [0.1], [True]))["key"]
    assert a["key"] != b["key"] and a["key"].startswith("labelcli-review-")


def test_the_page_has_no_outside_references():
    html = rp.review_page(_doc([]))
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html and "document.write" not in html
    assert "Content-Security-Policy" in html
