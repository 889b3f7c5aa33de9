"""Hostile inputs and fault conditions of issue #17, one dict per scenario (run by tests/test_badinput.py).

Each scenario: ``id``, ``cls`` (the issue's failure class, 1..14), ``cmd`` (the command it runs),
``setup(work) -> argv`` (builds its files in the temp folder ``work`` from the clean corpus inputs
in ``work/good``), ``code`` (the expected exit code), ``error`` (a regex the one `Error:` line must
match; None: no stderr line at all), ``check(work)`` (an optional assertion on the files
afterwards: an input untouched, nothing half-written, ...).
"""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np


def _png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (the body is a few bytes: a bomb's shape)."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def _good(work: Path, name: str) -> str:
    return str(work / "good" / name)


def _y(work):
    return ["-l", _good(work, "y.npy"), "-p", _good(work, "p.npy")]


def _unchanged(path: Path, data: bytes):
    def check(work):
        assert path.read_bytes() == data, f"{path.name} was modified"
    return check


def _exclude_onto_out(work):
    f = work / "reviewed.csv"
    f.write_text("index\n3\n")
    SCENARIOS_STATE["exclude"] = f.read_bytes()
    return ["find-issues", *_y(work), "--exclude", str(f), "--out", str(f)]


def _exclude_via_link(work):
    f = work / "reviewed.csv"
    f.write_text("index\n3\n")
    (work / "link.csv").symlink_to(f)
    return ["find-issues", *_y(work), "--exclude", str(f), "--out", str(work / "link.csv")]


def _fix_decisions_onto_out(work):
    f = work / "dec.csv"
    f.write_text("index,action,new_label\n3,relabel,0\n")
    return ["fix", "-l", _good(work, "y.npy"), "--decisions", str(f), "--out", str(f)]


def _fix_changelog_link_to_out(work):
    f = work / "dec.csv"
    f.write_text("index,action,new_label\n3,relabel,0\n")
    (work / "log.csv").symlink_to(work / "clean.csv")
    return ["fix", "-l", _good(work, "y.npy"), "--decisions", str(f), "--out", str(work / "clean.csv"),
            "--changelog", str(work / "log.csv")]


def _out_link_to_device(work):
    (work / "dev.csv").symlink_to("/dev/null")
    return ["find-issues", *_y(work), "--out", str(work / "dev.csv")]


def _out_is_fifo(work):
    os.mkfifo(work / "pipe.csv")
    return ["score", *_y(work), "--out", str(work / "pipe.csv")]


def _image_table(work, cell: str, png: bytes | None = None):
    (work / "imgs").mkdir()
    if png is not None:
        (work / "imgs" / "big.png").write_bytes(png)
    (work / "imgs" / "table.csv").write_text("path\n" + "\n".join([cell] * 30) + "\n")
    return ["report", *_y(work), "--images", str(work / "imgs" / "table.csv"), "--top", "3", "-q",
            "--out", str(work / "rep")]


def _image_outside(work):
    (work / "outside.png").write_bytes(_png(2, 2))
    return _image_table(work, "../outside.png")


def _image_bomb(work):
    return _image_table(work, "big.png", _png(20000, 20000))


def _gallery_png_is_input(work):
    """The report's own gallery.png must not replace an input image of that name in --out."""
    argv = _image_table(work, "../rep/gallery.png")
    (work / "rep").mkdir()
    (work / "rep" / "gallery.png").write_bytes(_png(2, 2))
    return argv + ["--allow-outside-images"]


def _formula_classes(work):
    return ["find-issues", *_y(work), "--classes", "=HYPERLINK(\"x\"),+b,@c", "--all", "--out", str(work / "o.csv")]


def _formula_check(work):
    text = (work / "o.csv").read_text()
    assert "'=HYPERLINK" in text and "'+b" in text and "'@c" in text, text
    assert "\n=" not in text and ",=" not in text and ",+b" not in text


def _control_classes(work):
    return ["score", *_y(work), "--classes", "a\x1b[2J,b\x07,c", "--method", "nope"]


def _float_label_huge(work):
    (work / "y.csv").write_text("label\n" + "\n".join(["1e20"] + ["0", "1", "2"] * 9 + ["0", "1"]) + "\n")
    return ["score", "-l", str(work / "y.csv"), "-p", _good(work, "p.npy")]


def _features_huge(work):
    x = np.load(_good(work, "x.npy"))
    x[4, 1] = 1.7e308
    np.save(work / "x.npy", x)
    return ["crossval", "-x", str(work / "x.npy"), "-l", _good(work, "y.npy"), "--folds", "3", "--out",
            str(work / "o.npy")]


def _model_callable(work):
    return ["crossval", "-x", _good(work, "x.npy"), "-l", _good(work, "y.npy"), "--model", "os:abort",
            "--folds", "3", "--out", str(work / "o.npy")]


def _opt(cmd, *extra, inputs="y"):
    def setup(work):
        if cmd in ("crossval", "evaluate"):
            base = ["-x", _good(work, "x.npy"), "-l", _good(work, "y.npy")]
            base += ["--out", str(work / "o.npy")] if cmd == "crossval" else ["--clean-labels", _good(work, "y.npy")]
        elif cmd == "report":
            base = [*_y(work), "--out", str(work / "rep")]
        elif cmd == "fix":
            base = ["-l", _good(work, "y.npy"), "--issues", _good(work, "y.npy"), "--out", str(work / "o.csv")]
        else:
            base = _y(work)
        return [cmd, *base, *extra]
    return setup


SCENARIOS_STATE: dict = {}

SCENARIOS = [
    # 1. an input overwritten by an output
    dict(id="exclude_is_out", cls=1, cmd="find-issues", setup=_exclude_onto_out, code=2,
         error=r"would overwrite the input file .*reviewed\.csv"),
    dict(id="exclude_is_out_via_link", cls=1, cmd="find-issues", setup=_exclude_via_link, code=2,
         error=r"would overwrite the input file .*reviewed\.csv"),
    dict(id="fix_decisions_is_out", cls=1, cmd="fix", setup=_fix_decisions_onto_out, code=2,
         error=r"would overwrite the input file .*dec\.csv"),
    dict(id="fix_changelog_links_to_out", cls=1, cmd="fix", setup=_fix_changelog_link_to_out, code=2,
         error=r"--changelog and --out name the same file"),
    dict(id="report_gallery_png_is_an_input_image", cls=1, cmd="report", setup=_gallery_png_is_input, code=2,
         error=r"gallery\.png would overwrite the input file"),
    # 2. writing through a link onto something that is not a regular file
    dict(id="out_link_to_device", cls=2, cmd="find-issues", setup=_out_link_to_device, code=2,
         error=r"dev\.csv: is a character device \(through the link to /dev/null\)"),
    dict(id="out_is_fifo", cls=2, cmd="score", setup=_out_is_fifo, code=2, error=r"pipe\.csv: is a named pipe"),
    # 6. decompression bombs
    dict(id="image_bomb_png", cls=6, cmd="report", setup=_image_bomb, code=2,
         error=r"big\.png: the image declares 400,000,000 pixels"),
    # 7. option values
    *[dict(id=f"{cmd}_seed_{name}", cls=7, cmd=cmd, setup=_opt(cmd, "--seed", value, "--folds", "3"), code=2,
           error=r"--seed") for cmd in ("crossval", "evaluate")
      for name, value in (("minus1", "-1"), ("2pow32", str(2**32)), ("2pow64", str(2**64)))],
    dict(id="find_issues_features_seed_2pow64", cls=7, cmd="find-issues",
         setup=lambda w: ["find-issues", "-l", _good(w, "y.npy"), "-x", _good(w, "x.npy"), "--seed", str(2**64)],
         code=2, error=r"--seed"),
    dict(id="health_top_pairs_minus1", cls=7, cmd="health", setup=_opt("health", "--top-pairs", "-1"), code=2,
         error=r"--top-pairs"),
    dict(id="multilabel_temperature_0", cls=7, cmd="score",
         setup=lambda w: ["score", "-l", _good(w, "tags.csv"), "-p", _good(w, "tagprobs.npy"), "--temperature", "0"],
         code=2, error=r"--temperature.*> 0"),
    dict(id="multilabel_alpha_nan", cls=7, cmd="find-issues",
         setup=lambda w: ["find-issues", "-l", _good(w, "tags.csv"), "-p", _good(w, "tagprobs.npy"), "--alpha", "nan"],
         code=2, error=r"--alpha.*nan"),
    dict(id="crossval_folds_1", cls=7, cmd="crossval", setup=_opt("crossval", "--folds", "1"), code=2, error=r"--folds"),
    dict(id="fix_threshold_2", cls=7, cmd="fix", setup=_opt("fix", "--auto", "relabel", "--threshold", "2"), code=2,
         error=r"--threshold"),
    dict(id="find_issues_k_0", cls=7, cmd="find-issues", setup=_opt("find-issues", "-x", "X", "--k", "0"), code=2,
         error=r"--k"),
    # 8. values checked before arithmetic that overflows
    dict(id="float_label_1e20", cls=8, cmd="score", setup=_float_label_huge, code=2, error=r"y\.csv: label 1e\+20"),
    dict(id="features_near_1e308", cls=8, cmd="crossval", setup=_features_huge, code=2, error=r"x\.npy: .*too large"),
    # 10. --model
    dict(id="model_is_a_function", cls=10, cmd="crossval", setup=_model_callable, code=2,
         error=r"--model 'os:abort' is a builtin_function_or_method.*fit and predict_proba"),
    # 12. CSV formula injection
    dict(id="formula_class_names", cls=12, cmd="find-issues", setup=_formula_classes, code=0, error=None,
         check=_formula_check),
    # 13. terminal escapes
    dict(id="control_chars_in_class_names", cls=13, cmd="score", setup=_control_classes, code=2,
         error=r"--method 'nope'"),
    dict(id="control_chars_in_the_terminal_report", cls=13, cmd="score", code=0, error=None,
         setup=lambda w: ["score", *_y(w), "--classes", "a\x1b]0;pwned\x07,b\x1b[2J,c"]),
    # 14. image paths confined to the table's folder
    dict(id="image_path_outside_table_folder", cls=14, cmd="report", setup=_image_outside, code=2,
         error=r"outside the table's folder.*--allow-outside-images"),
]
