"""labelcli report: the HTML report, its PNG figures and image gallery, the output folder's rules; and
a real subprocess run of report and fix.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import SAMPLE, assert_bad_input, cli_ok, labelcli_script
from tests.conftest import SAMPLE_PQ1 as PQ
from tests.conftest import SAMPLE_NPY as NPY

PNGS = ("gallery.png", "noise_per_class.png", "noise_matrix.png", "class_pairs.png", "score_histogram.png")


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.load()
        return im.size


@pytest.fixture(scope="module")
def labels():
    return np.load(SAMPLE / "digits_labels.npy")


# ------------------------------------------------------------------------------------- report


@pytest.fixture(scope="module")
def digits_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report"
    r = cli_ok("report", *PQ, "--images", SAMPLE / "digits_images.npy", "--out", out, "--format", "json")
    return out, json.loads(r.stdout), r.stderr


def test_report_writes_self_contained_html_and_pngs(digits_report):
    out, doc, err = digits_report
    assert sorted(os.listdir(out)) == sorted(PNGS + ("index.html",))  # no temp files left
    assert doc["files"] == [str(out / f) for f in PNGS + ("index.html",)]
    assert doc["num_issues"] == 111 and doc["num_examples"] == 1797  # labelcli's default filter
    html = (out / "index.html").read_text()
    assert html.count('src="data:image/png;base64,') == 5
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must not fetch anything"
    for anchor in ("issues", "classes", "matrix", "pairs", "scores"):
        assert f'<section id="{anchor}">' in html
    assert "report written to" in err and "111 likely label issues" in err
    for name in PNGS:
        w, h = png_size(out / name)
        assert 300 <= w <= 2500 and 200 <= h <= 2500, (name, w, h)
    assert png_size(out / "gallery.png") == (1210, 917)  # 4 rows x 8: 0.45 in title + 4 x 2.18 in, 100 dpi


def test_report_gallery_and_table_show_planted_errors_first(digits_report):
    out, doc, _ = digits_report
    html = (out / "index.html").read_text()
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td class="num">(\d+)</td><td>(\w+)</td><td>(\w+)</td>', html)
    assert len(rows) == 32 and rows[0] == ("1", "919", "zero", "four")  # a planted error (true: four)
    is_error = np.load(SAMPLE / "digits_is_error.npy")
    planted = sum(bool(is_error[int(i)]) for _, i, _, _ in rows)
    assert planted >= 28, planted  # 30 of the 32 most suspect are planted errors
    assert f"score {doc['marked_score']:.3g}" in html or f"({doc['marked_score']:.3g})" in html


def test_report_image_table_with_relative_paths(tmp_path):
    n = 40
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], n // 2)
    p = np.where(y[:, None] == np.arange(2), 0.8, 0.2)
    p[[3, 25]] = p[[3, 25]][:, ::-1]  # two confidently "wrong" labels
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", p)
    (tmp_path / "imgs").mkdir()
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8)).save(tmp_path / "imgs" / f"{i}.png")
    pd.DataFrame({"file": [f"imgs/{i}.png" for i in range(n)]}).to_csv(tmp_path / "images.csv", index=False)
    out = tmp_path / "rep"
    cli_ok("report", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "--images", tmp_path / "images.csv",
           "--image-col", "file", "--out", out, "-q", "--top", "2")
    assert png_size(out / "gallery.png")[0] == 310  # two thumbnails in one row (--top 2; flagged or not)


def test_report_missing_image_file_names_the_row(tmp_path):
    y = np.repeat([0, 1], 10)
    p = np.where(y[:, None] == np.arange(2), 0.8, 0.2)
    p[4] = p[4][::-1]
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", p)
    pd.DataFrame({"path": [f"nope/{i}.png" for i in range(20)]}).to_csv(tmp_path / "images.csv", index=False)
    line = assert_bad_input(["report", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "--images", tmp_path / "images.csv", "--out", tmp_path / "rep"], folder=tmp_path)
    assert "images.csv row 4 (0-based): image file 'nope/4.png' not found" in line
    line = assert_bad_input(["report", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "--images", tmp_path / "images.csv", "--image-col", "img", "--out", tmp_path / "rep"], folder=tmp_path)
    assert "no column 'img'" in line and "--image-col" in line


@pytest.mark.parametrize("shape, fragment", [
    ((1796, 8, 8), "1796 images but the labels have 1797 rows"),
    ((1797, 8, 8, 2), "expected N x H x W or N x H x W x C"),
    ((1797, 10), "expected N x H x W"),
])
def test_report_bad_image_arrays(tmp_path, shape, fragment):
    np.save(tmp_path / "imgs.npy", np.zeros(shape, dtype=np.float32))
    line = assert_bad_input(["report", *NPY, "--images", tmp_path / "imgs.npy", "--out", tmp_path / "rep"], folder=tmp_path)
    assert fragment in line


def test_report_flattened_square_images_are_reshaped(tmp_path):
    out = tmp_path / "rep"
    cli_ok("report", *NPY, "--images", SAMPLE / "digits_features.npy", "--out", out, "-q", "--top", "8")
    assert png_size(out / "gallery.png") == (1210, 263)


def test_report_out_folder_rules(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    assert "is not a folder" in assert_bad_input(["report", *NPY, "--out", tmp_path / "file.txt"])
    assert "does not exist" in assert_bad_input(["report", *NPY, "--out", tmp_path / "no" / "rep"])
    assert "must be at least 1" in assert_bad_input(["report", *NPY, "--out", tmp_path / "r", "--top", 0])
    assert not (tmp_path / "r").exists()


def test_report_escapes_class_names_and_handles_many_classes(tmp_path):
    k, n = 40, 1200
    rng = np.random.default_rng(1)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 3
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    names = [f"<b>c{i}</b>" if i else "<script>alert(1)</script>" for i in range(k)]
    df = pd.DataFrame(p, columns=names)
    df.insert(0, "label", [names[i] for i in y])
    df.to_parquet(tmp_path / "t.parquet")
    out = tmp_path / "rep"
    r = cli_ok("report", "-l", tmp_path / "t.parquet", "-p", tmp_path / "t.parquet", "--out", out, "--format", "json", "-q")
    html = (out / "index.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "gallery.png" not in json.loads(r.stdout)["files"][0]  # no --images: no gallery
    w, h = png_size(out / "noise_matrix.png")
    assert w < 2000 and h < 2000


# ----------------------------------------------------------------------------------- processes


def test_subprocess_report_and_fix(tmp_path, default_issues_csv):
    script = labelcli_script()
    p = subprocess.run([str(script), "report", *map(str, NPY), "--out", str(tmp_path / "rep"), "--top", "8",
                        "--images", str(SAMPLE / "digits_images.npy")], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and "labelcli report" in p.stderr
    assert (tmp_path / "rep" / "index.html").stat().st_size > 10_000
    p = subprocess.run([str(script), "fix", "-l", str(SAMPLE / "digits_labels.npy"), "--issues", str(default_issues_csv),
                        "--auto", "relabel", "--out", str(tmp_path / "c.csv")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.startswith("Error: --auto relabel needs --pred-probs")
    assert not (tmp_path / "c.csv").exists()
