"""CLI of the review loop: `report`, `fix`, `evaluate` (CliRunner, the real `main` entry for errors,
and a few subprocess runs)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from labelcli.ml import evaluate
from labelcli.cli import app, main  # import the CLI first: it registers labelcli.cli_review

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
LABELCLI = Path(sys.executable).with_name("labelcli")
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NPY = ["-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "digits_pred_probs.npy"]
PQ = ["-l", SAMPLE / "digits.parquet", "-p", SAMPLE / "digits.parquet", "--prob-prefix", "prob_"]
PNGS = ("gallery.png", "noise_per_class.png", "noise_matrix.png", "class_pairs.png", "score_histogram.png")

runner = CliRunner()


def ok(*args):
    r = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-2000:]}"
    return r


def bad(capsys, *args, folder: Path | None = None) -> str:
    """Exit 2 with exactly one `Error:` line, nothing on stdout, nothing new in `folder`."""
    before = sorted(os.listdir(folder)) if folder is not None else None
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    assert exc.value.code == 2, cap.err
    lines = cap.err.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("Error: "), cap.err
    assert cap.out == ""
    if folder is not None:
        assert sorted(os.listdir(folder)) == before, "a failed run left files behind"
    return lines[0]


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.load()
        return im.size


@pytest.fixture(scope="module")
def labels():
    return np.load(SAMPLE / "digits_labels.npy")


@pytest.fixture(scope="module")
def issues_csv(tmp_path_factory):
    """The default find-issues table of the .npy sample (labels are indices 0..9)."""
    out = tmp_path_factory.mktemp("issues") / "issues.csv"
    ok("find-issues", *NPY, "-q", "--out", out)
    return out


# ------------------------------------------------------------------------------------- report


@pytest.fixture(scope="module")
def digits_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report"
    r = ok("report", *PQ, "--images", SAMPLE / "digits_images.npy", "--out", out, "--format", "json")
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
    assert len(rows) == 32 and rows[0] == ("1", "114", "two", "eight")  # a planted error (true: eight)
    is_error = np.load(SAMPLE / "digits_is_error.npy")
    planted = sum(bool(is_error[int(i)]) for _, i, _, _ in rows)
    assert planted >= 28, planted  # 29 of the 32 most suspect are planted errors
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
    ok("report", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "--images", tmp_path / "images.csv",
       "--image-col", "file", "--out", out, "-q")
    assert png_size(out / "gallery.png")[0] == 310  # two thumbnails in one row


def test_report_missing_image_file_names_the_row(tmp_path, capsys):
    y = np.repeat([0, 1], 10)
    p = np.where(y[:, None] == np.arange(2), 0.8, 0.2)
    p[4] = p[4][::-1]
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", p)
    pd.DataFrame({"path": [f"nope/{i}.png" for i in range(20)]}).to_csv(tmp_path / "images.csv", index=False)
    line = bad(capsys, "report", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "--images",
               tmp_path / "images.csv", "--out", tmp_path / "rep", folder=tmp_path)
    assert "images.csv row 4 (0-based): image file 'nope/4.png' not found" in line
    line = bad(capsys, "report", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "--images",
               tmp_path / "images.csv", "--image-col", "img", "--out", tmp_path / "rep", folder=tmp_path)
    assert "no column 'img'" in line and "--image-col" in line


@pytest.mark.parametrize("shape, fragment", [
    ((1796, 8, 8), "1796 images but the labels have 1797 rows"),
    ((1797, 8, 8, 2), "expected N x H x W or N x H x W x C"),
    ((1797, 10), "expected N x H x W"),
])
def test_report_bad_image_arrays(tmp_path, capsys, shape, fragment):
    np.save(tmp_path / "imgs.npy", np.zeros(shape, dtype=np.float32))
    line = bad(capsys, "report", *NPY, "--images", tmp_path / "imgs.npy", "--out", tmp_path / "rep", folder=tmp_path)
    assert fragment in line


def test_report_flattened_square_images_are_reshaped(tmp_path):
    out = tmp_path / "rep"
    ok("report", *NPY, "--images", SAMPLE / "digits_features.npy", "--out", out, "-q", "--top", "8")
    assert png_size(out / "gallery.png") == (1210, 263)


def test_report_out_folder_rules(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    assert "is not a folder" in bad(capsys, "report", *NPY, "--out", tmp_path / "file.txt")
    assert "does not exist" in bad(capsys, "report", *NPY, "--out", tmp_path / "no" / "rep")
    assert "must be at least 1" in bad(capsys, "report", *NPY, "--out", tmp_path / "r", "--top", 0)
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
    r = ok("report", "-l", tmp_path / "t.parquet", "-p", tmp_path / "t.parquet", "--out", out, "--format", "json", "-q")
    html = (out / "index.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "gallery.png" not in json.loads(r.stdout)["files"][0]  # no --images: no gallery
    w, h = png_size(out / "noise_matrix.png")
    assert w < 2000 and h < 2000


# ---------------------------------------------------------------------------------------- fix


def test_fix_decisions_names_stay_names(tmp_path):
    (tmp_path / "review.csv").write_text(
        "index,action,new_label,reason\n5,relabel,nine,looks like a 9\n0,drop,,\n7,keep,,\n9,relabel,3,\n")
    out, log = tmp_path / "clean.csv", tmp_path / "changes.csv"
    r = ok("fix", "-l", SAMPLE / "labels.csv", "-p", SAMPLE / "pred_probs.csv", "--decisions", tmp_path / "review.csv",
           "--out", out, "--changelog", log, "--format", "json")
    doc = json.loads(r.stdout)
    assert (doc["num_dropped"], doc["num_relabeled"], doc["num_decisions"]) == (1, 2, 4)
    df = pd.read_csv(out)
    assert list(df.columns) == ["index", "label", "original_label", "keep", "weight", "changed"]
    orig = pd.read_csv(SAMPLE / "labels.csv")["label"]
    assert len(df) == 1797 and df["index"].tolist() == list(range(1797))
    assert df["original_label"].tolist() == orig.tolist()
    assert df.loc[5, "label"] == "nine" and df.loc[9, "label"] == "three"  # index 3 = class "three"
    assert df.loc[0, ["keep", "weight"]].tolist() == [False, 0.0] and df.loc[0, "label"] == orig[0]
    assert df["changed"].sum() == 2 and df["keep"].sum() == 1796
    assert (df.drop([5, 9])["label"] == orig.drop([5, 9])).all()
    log_df = pd.read_csv(log, keep_default_na=False)
    assert log_df.to_dict(orient="list") == {
        "index": [0, 5, 7, 9], "action": ["drop", "relabel", "keep", "relabel"],
        "old_label": [orig[0], orig[5], orig[7], orig[9]], "new_label": ["", "nine", orig[7], "three"],
        "reason": ["review: drop", "looks like a 9", "review: keep", "review: relabel"]}


def test_fix_integer_labels_stay_integers_and_npy_output(tmp_path, labels):
    (tmp_path / "review.csv").write_text("index,action,new_label\n3,drop,\n4,relabel,eight\n")
    out = tmp_path / "clean.npy"
    ok("fix", "-l", SAMPLE / "digits_labels.npy", "--classes", ",".join(NAMES), "--decisions",
       tmp_path / "review.csv", "--out", out, "-q")
    got = np.load(out)
    assert got.dtype == np.int64 and got[3] == -1 and got[4] == 8
    assert np.array_equal(np.delete(got, [3, 4]), np.delete(labels, [3, 4]))
    pq = tmp_path / "clean.parquet"
    (tmp_path / "r2.csv").write_text("index,action,new_label\n4,relabel,8\n")
    ok("fix", "-l", SAMPLE / "digits_labels.npy", "--decisions", tmp_path / "r2.csv", "--out", pq, "-q")
    df = pd.read_parquet(pq)
    assert df["label"].dtype == np.int64 and df.loc[4, "label"] == 8
    log = tmp_path / "log.csv"
    ok("fix", "-l", SAMPLE / "labels.csv", "--decisions", tmp_path / "review.csv", "--out", tmp_path / "n.npy",
       "--changelog", log, "-q")
    names = np.load(tmp_path / "n.npy")
    assert names.dtype.kind == "U" and names[3] == "" and names[4] == "eight"


def test_fix_stdout(tmp_path):
    (tmp_path / "review.csv").write_text("index,action,new_label\n1,drop,\n")
    r = ok("fix", "-l", SAMPLE / "digits_labels.npy", "--decisions", tmp_path / "review.csv", "--out", "-", "-q")
    lines = r.stdout.splitlines()
    assert lines[0] == "index,label,original_label,keep,weight,changed" and len(lines) == 1798
    assert lines[2] == "1,8,8,False,0.0,False"


@pytest.mark.parametrize("csv, fragment", [
    ("index,action,new_label\n2000,drop,\n", "review.csv row 0 (0-based): index 2000 is outside 0..1796"),
    ("index,action,new_label\n1,drop,\n1,keep,\n", "review.csv row 1 (0-based): index 1 is listed twice"),
    ("index,action,new_label\n1,remove,\n", "review.csv row 0 (0-based): action is 'remove'; use one of relabel, drop, keep"),
    ("index,action,new_label\n1,keep,\n2,relabel,\n", "review.csv row 1 (0-based): action relabel needs a new_label"),
    ("index,action,new_label\n1,relabel,eleven\n", "review.csv row 0 (0-based): new_label 'eleven' is not a class"),
    ("index,new_label\n1,\n", "review.csv: no column 'action'"),
    ("index,action,given_label\n1,keep,zero\n", "given_label 'zero' but"),
])
def test_fix_bad_decisions(tmp_path, capsys, csv, fragment):
    (tmp_path / "review.csv").write_text(csv)
    line = bad(capsys, "fix", "-l", SAMPLE / "labels.csv", "--decisions", tmp_path / "review.csv",
               "--out", tmp_path / "clean.csv", "--changelog", tmp_path / "log.csv", folder=tmp_path)
    assert fragment in line, line


def test_fix_option_errors(tmp_path, capsys, issues_csv):
    lab = ["-l", SAMPLE / "digits_labels.npy"]
    out = ["--out", tmp_path / "c.csv"]
    assert "give either --decisions" in bad(capsys, "fix", *lab, *out)
    assert "needs --auto" in bad(capsys, "fix", *lab, "--issues", issues_csv, *out)
    assert "--auto 'fix' is not one of" in bad(capsys, "fix", *lab, "--issues", issues_csv, "--auto", "fix", *out)
    assert "needs --pred-probs" in bad(capsys, "fix", *lab, "--issues", issues_csv, "--auto", "relabel", *out)
    assert "--threshold is for --auto relabel" in bad(capsys, "fix", *lab, "--issues", issues_csv, "--auto", "drop",
                                                      "--threshold", 0.5, *out)
    assert "would overwrite the input" in bad(capsys, "fix", *lab, "--issues", issues_csv, "--auto", "drop",
                                              "--out", issues_csv)
    assert "same file" in bad(capsys, "fix", *lab, "--issues", issues_csv, "--auto", "drop", *out,
                              "--changelog", tmp_path / "c.csv")
    assert "asks for the 180 lowest-scoring" in bad(capsys, "fix", *lab, "--issues", issues_csv, "--auto", "drop",
                                                    "--fraction", 0.1, *out)
    assert os.listdir(tmp_path) == []


def test_fix_never_touches_inputs(tmp_path, issues_csv):
    src = tmp_path / "y.npy"
    src.write_bytes((SAMPLE / "digits_labels.npy").read_bytes())
    before = src.read_bytes(), issues_csv.read_bytes()
    ok("fix", "-l", src, "--issues", issues_csv, "--auto", "drop", "--out", tmp_path / "c.parquet", "-q")
    assert (src.read_bytes(), issues_csv.read_bytes()) == before


def test_fix_auto_drop_fraction_and_relabel(tmp_path, issues_csv, labels):
    lab = ["-l", SAMPLE / "digits_labels.npy"]
    ok("fix", *lab, "--issues", issues_csv, "--auto", "drop", "--out", tmp_path / "a.parquet", "-q")
    a = pd.read_parquet(tmp_path / "a.parquet")
    flagged = pd.read_csv(issues_csv)["index"]
    assert set(a.index[~a["keep"]]) == set(flagged) and a["changed"].sum() == 0
    # --fraction: 2% of 1797 = 36 lowest scores (the table is sorted by score)
    ok("fix", *lab, "--issues", issues_csv, "--auto", "drop", "--fraction", 0.02, "--out", tmp_path / "b.csv", "-q")
    b = pd.read_csv(tmp_path / "b.csv")
    assert set(b.index[~b["keep"]]) == set(flagged[:36])
    log = tmp_path / "log.csv"
    r = ok("fix", *lab, "--issues", issues_csv, "--auto", "relabel", "-p", SAMPLE / "digits_pred_probs.npy",
           "--threshold", 0.95, "--out", tmp_path / "c.csv", "--changelog", log, "--format", "json")
    c, changes = pd.read_csv(tmp_path / "c.csv"), pd.read_csv(log)
    p = np.load(SAMPLE / "digits_pred_probs.npy")
    relabeled = c.index[c["changed"]].to_numpy()
    assert json.loads(r.stdout)["num_relabeled"] == len(relabeled) > 30
    assert np.all(p[relabeled, c.loc[relabeled, "label"]] >= 0.95)
    assert c["keep"].all() and len(changes) == len(flagged)
    kept = changes[changes["action"] == "keep"]
    assert len(kept) == len(flagged) - len(relabeled)
    assert kept["reason"].str.contains("not relabeled: p\\(suggested\\)").all()


def test_fix_stale_issues_table_is_refused(tmp_path, capsys, issues_csv):
    shifted = np.roll(np.load(SAMPLE / "digits_labels.npy"), 1)
    np.save(tmp_path / "other.npy", shifted)
    line = bad(capsys, "fix", "-l", tmp_path / "other.npy", "--issues", issues_csv, "--auto", "drop",
               "--out", tmp_path / "c.csv")
    assert "was it made from these labels?" in line


# ----------------------------------------------------------------------------------- evaluate


def test_evaluate_demo_pipeline_holdout_against_truth(tmp_path, issues_csv):
    clean = tmp_path / "clean.parquet"
    ok("fix", "-l", SAMPLE / "digits_labels.npy", "--issues", issues_csv, "--auto", "drop", "--out", clean, "-q")
    r = ok("evaluate", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--clean-labels", clean,
           "--test-fraction", 0.3, "--test-labels", SAMPLE / "digits_true_labels.npy", "--seed", 0, "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["setting"] == "held-out fraction" and doc["trusted_reference"] is True
    assert doc["num_scored"] == 539 and doc["num_dropped"] == 111
    assert doc["original"]["accuracy"] == pytest.approx(0.9406, abs=5e-4)
    assert doc["cleaned"]["accuracy"] == pytest.approx(0.9647, abs=5e-4)  # 0.9629 with cleanlab's default
    assert doc["difference"]["macro_f1"] > 0.01
    assert "Original vs cleaned labels" in r.stderr and "+0.0241" in r.stderr


def test_evaluate_test_set_and_cross_validation(tmp_path):
    df = pd.read_parquet(SAMPLE / "digits.parquet").iloc[:300]
    truth = df["true_label"]
    df.iloc[:200].to_parquet(tmp_path / "train.parquet")
    df.iloc[200:].to_parquet(tmp_path / "test.parquet")
    fixed = pd.DataFrame({"label": truth.iloc[:200].to_numpy()})
    fixed.to_csv(tmp_path / "clean.csv", index=False)
    common = ["-x", tmp_path / "train.parquet", "--feature-prefix", "px_", "-l", tmp_path / "train.parquet",
              "--clean-labels", tmp_path / "clean.csv", "--format", "json", "-q"]
    r = ok("evaluate", *common, "--test-features", tmp_path / "test.parquet", "--test-labels", tmp_path / "test.parquet",
           "--test-label-col", "true_label")
    doc = json.loads(r.stdout)
    assert doc["setting"] == "test set" and doc["num_scored"] == 100 and doc["trusted_reference"]
    assert doc["num_relabeled"] == int((df["label"].iloc[:200] != truth.iloc[:200]).sum()) > 5
    r = ok("evaluate", *common, "--folds", 2)
    cv = json.loads(r.stdout)
    assert cv["setting"] == "cross-validation" and cv["trusted_reference"] is False and cv["num_scored"] == 200
    assert cv["folds"] == 2 and cv["num_train"] == 100


def test_evaluate_npy_clean_labels_and_noisy_reference_warning(tmp_path, labels):
    x = np.load(SAMPLE / "digits_features.npy")[:300]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", labels[:300])
    clean = labels[:300].copy()
    clean[:30] = -1  # the .npy form written by fix: -1 = dropped
    np.save(tmp_path / "clean.npy", clean)
    r = ok("evaluate", "-x", tmp_path / "x.npy", "-l", tmp_path / "y.npy", "--clean-labels", tmp_path / "clean.npy",
           "--test-fraction", 0.5, "--format", "json")
    doc = json.loads(r.stdout)
    assert "biased against cleaning" in r.stderr and doc["trusted_reference"] is False
    test = evaluate.stratified_holdout(labels[:300], 0.5, seed=0)
    assert doc["num_dropped"] == 30 and doc["num_relabeled"] == 0
    assert (doc["num_train"], doc["num_train_cleaned"]) == ((~test).sum(), (~test[30:]).sum())


def test_evaluate_errors(tmp_path, capsys, labels):
    x = ["-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy"]
    np.save(tmp_path / "short.npy", labels[:10])
    assert "has 1797 rows" in bad(capsys, "evaluate", *x, "--clean-labels", tmp_path / "short.npy")
    assert "needs --test-labels" in bad(capsys, "evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy",
                                        "--test-features", SAMPLE / "digits_features.npy")
    assert "not both" in bad(capsys, "evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy",
                             "--test-features", SAMPLE / "digits_features.npy", "--test-fraction", 0.2)
    assert "needs --test-features" in bad(capsys, "evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy",
                                          "--test-labels", SAMPLE / "digits_true_labels.npy")
    assert "unknown model" in bad(capsys, "evaluate", *x, "--clean-labels", SAMPLE / "digits_labels.npy", "-m", "zzz")
    pd.DataFrame({"index": range(1797), "label": labels, "original_label": np.roll(labels, 1)}).to_csv(
        tmp_path / "other.csv", index=False)
    assert "original_label differs" in bad(capsys, "evaluate", *x, "--clean-labels", tmp_path / "other.csv")
    pd.DataFrame({"index": range(1797), "label": ["x"] * 1797}).to_csv(tmp_path / "names.csv", index=False)
    assert "label 'x' is not a class" in bad(capsys, "evaluate", *x, "--clean-labels", tmp_path / "names.csv")


# ----------------------------------------------------------------------------------- processes


def test_help_does_not_import_heavy_libraries():
    code = ("import sys, labelcli.cli; heavy = [m for m in ('matplotlib', 'sklearn', 'pandas', 'PIL') "
            "if m in sys.modules]; print(heavy)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "[]", p.stdout + p.stderr


def test_subprocess_report_and_fix(tmp_path, issues_csv):
    if not LABELCLI.exists():
        pytest.skip(f"console script not found at {LABELCLI}")
    p = subprocess.run([str(LABELCLI), "report", *map(str, NPY), "--out", str(tmp_path / "rep"), "--top", "8",
                        "--images", str(SAMPLE / "digits_images.npy")], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and "labelcli report" in p.stderr
    assert (tmp_path / "rep" / "index.html").stat().st_size > 10_000
    p = subprocess.run([str(LABELCLI), "fix", "-l", str(SAMPLE / "digits_labels.npy"), "--issues", str(issues_csv),
                        "--auto", "relabel", "--out", str(tmp_path / "c.csv")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.startswith("Error: --auto relabel needs --pred-probs")
    assert not (tmp_path / "c.csv").exists()
