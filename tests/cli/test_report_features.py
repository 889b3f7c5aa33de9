"""report --features (issue #14 item 8): outlier and near-duplicate sections, from the feature checks
find-issues computes (one kNN graph), as HTML tables with their images, plus the figures in the
report's facts and in --format json. Planted data: digits with exact copies (same label and a
different label) and uniform-noise images (outliers)."""
from __future__ import annotations

import json
import os
import re
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import SAMPLE, assert_bad_input, cli_ok

LABEL_PNGS = {"gallery.png", "noise_per_class.png", "noise_matrix.png", "class_pairs.png", "score_histogram.png"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("repfeat")
    x = np.load(SAMPLE / "digits_features.npy")[:600]
    y = np.load(SAMPLE / "digits_labels.npy")[:600]
    p = np.load(SAMPLE / "digits_pred_probs.npy")[:600]
    im = np.load(SAMPLE / "digits_images.npy")[:600]
    rng = np.random.default_rng(3)
    src = rng.choice(600, 8, replace=False)
    noise = rng.uniform(0, 16, (6, 64)).astype(x.dtype)
    X = np.vstack([x, x[src], noise])
    Y = np.concatenate([y, y[src[:5]], (y[src[5:]] + 1) % 10, rng.integers(0, 10, 6)])
    P = np.vstack([p, p[src], np.full((6, 10), 0.1, p.dtype)])
    IM = np.concatenate([im, im[src], rng.integers(0, 17, (6, 8, 8)).astype(im.dtype)])
    for name, arr in (("x", X), ("y", Y), ("p", P), ("im", IM)):
        np.save(d / f"{name}.npy", arr)
    return {"dir": d, "src": src, "copies": np.arange(600, 608), "noise": np.arange(608, 614)}


@pytest.fixture(scope="module")
def report(planted, tmp_path_factory):
    d = planted["dir"]
    out = tmp_path_factory.mktemp("r") / "rep"
    r = cli_ok("report", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "--images", d / "im.npy",
               "--top", 12, "--out", out, "--format", "json", "-q")
    return out, json.loads(r.stdout), (out / "index.html").read_text()


def test_feature_sections_with_their_images(report):
    out, doc, page = report
    assert set(os.listdir(out)) == LABEL_PNGS | {"outliers.png", "duplicates.png", "index.html"}
    assert [os.path.basename(f) for f in doc["files"]][-3:] == ["outliers.png", "duplicates.png", "index.html"]
    for anchor, title in (("outliers", "Outliers"), ("duplicates", "Near duplicates")):
        assert f'<section id="{anchor}"><h2>{title}</h2>' in page
        assert f'href="#{anchor}"' in page  # in the navigation
    assert page.count("data:image/png;base64,") == len(LABEL_PNGS) + 2
    assert (out / "outliers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_most_outlying_are_the_noise_images(planted, report):
    _, doc, page = report
    listed = [r["index"] for r in doc["features"]["most_outlying"]]
    assert len(listed) == 12 and set(planted["noise"]) <= set(listed[:8])
    scores = [r["outlier_score"] for r in doc["features"]["most_outlying"]]
    assert scores == sorted(scores)
    outliers = page.split('id="outliers"')[1].split("</section>")[0]
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", outliers)
    assert [int(i) for _, i in rows] == listed  # the HTML table lists the same rows, in the same order


def test_closest_pairs_are_the_planted_copies(planted, report):
    _, doc, page = report
    pairs = {(r["index_a"], r["index_b"]) for r in doc["features"]["closest_pairs"]}
    assert {(min(s, c), max(s, c)) for s, c in zip(planted["src"], planted["copies"])} <= pairs
    assert doc["features"]["num_conflicting_sets"] >= 3  # the copies given another label
    dups = page.split('id="duplicates"')[1].split("</section>")[0]
    assert dups.count("<td>yes</td>") >= 3  # 'labels differ' for those pairs


def test_facts_and_json_figures_match_find_issues(planted, report):
    """The same checks as find-issues (same graph, same k and metric): the same figures."""
    d = planted["dir"]
    _, doc, page = report
    r = cli_ok("find-issues", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "-q", "--format", "json")
    want = json.loads(r.stdout)["features"]
    got = {k: v for k, v in doc["features"].items() if k not in ("most_outlying", "closest_pairs")}
    assert got == want
    assert f"<b>{want['num_outliers']:,} ({want['outlier_rate']:.1%})</b>outliers" in page
    assert f"<b>{want['num_duplicate_sets']:,} ({want['num_conflicting_sets']:,} with different labels)</b>" in page


def test_one_knn_graph_per_report(planted, tmp_path, monkeypatch):
    from labelcli.core import featurecheck

    calls = []
    real = featurecheck.knn_graph
    monkeypatch.setattr(featurecheck, "knn_graph", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    d = planted["dir"]
    cli_ok("report", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "--out", tmp_path / "rep", "-q")
    assert len(calls) == 1


def test_without_images_tables_only_and_top_limits_rows(planted, tmp_path):
    d = planted["dir"]
    r = cli_ok("report", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "--top", 3, "--k", 5,
               "--out", tmp_path / "rep", "--format", "json", "-q")
    doc = json.loads(r.stdout)
    assert "outliers.png" not in os.listdir(tmp_path / "rep") and "duplicates.png" not in os.listdir(tmp_path / "rep")
    assert len(doc["features"]["most_outlying"]) == 3 and len(doc["features"]["closest_pairs"]) == 3
    # All copies are at distance 0: the three whose labels differ come first.
    conflicting = {(min(s, c), max(s, c)) for s, c in zip(planted["src"][5:], planted["copies"][5:])}
    assert {(r["index_a"], r["index_b"]) for r in doc["features"]["closest_pairs"]} == conflicting
    assert doc["features"]["k"] == 5
    page = (tmp_path / "rep" / "index.html").read_text()
    assert 'id="outliers"' in page and 'id="duplicates"' in page


def test_report_with_features_is_deterministic(planted, tmp_path):
    """Cross-validated from features with the same seed: the same report, byte for byte."""
    d = planted["dir"]
    for name in ("a", "b"):
        cli_ok("report", "-l", d / "y.npy", "-x", d / "x.npy", "--images", d / "im.npy", "--folds", 3, "--seed", 1,
               "--out", tmp_path / name, "-q")
    for f in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_images_of_the_wrong_row_count(planted, tmp_path):
    d = planted["dir"]
    np.save(tmp_path / "im.npy", np.load(d / "im.npy")[:100])
    assert_bad_input(["report", "-l", d / "y.npy", "-p", d / "p.npy", "-x", d / "x.npy", "--images",
                      tmp_path / "im.npy", "--out", tmp_path / "rep", "-q"], "im.npy", "100", folder=tmp_path)


def test_sections_need_only_features_and_label_text():
    """Multi-label tags: the feature sections take the tags as text (they compose with any label part)."""
    from labelcli.cli.report_features import feature_part
    from labelcli.core.featurecheck import check_features

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    x[30] = x[3]  # a duplicate pair
    tags = rng.random((60, 3)) < 0.4
    tags[30] = ~tags[3]  # ... whose tags differ
    feats = check_features(x, tags, 3, k=5)
    ds = SimpleNamespace(labels=tags, classes=("cat", "dog", "hat"), skip=None)
    part = feature_part(feats, ds, top=5)
    assert [s.anchor for s in part.sections] == ["outliers", "duplicates"]
    assert part.doc["closest_pairs"][0]["index_a"] == 3 and part.doc["closest_pairs"][0]["index_b"] == 30
    table = part.sections[1].blocks[-1]
    first = table.rows[0]
    want_a = ",".join(n for n, t in zip(ds.classes, tags[3]) if t)
    assert first[1:5] == ("3", "30", want_a, ",".join(n for n, t in zip(ds.classes, tags[30]) if t))
    assert first[-1] == "yes"


def test_rows_dropped_by_a_fix_are_not_listed():
    from labelcli.cli.report_features import feature_part
    from labelcli.core.featurecheck import check_features

    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 4))
    x[5] *= 40  # the most outlying row ...
    x[40] = x[2]
    y = rng.integers(0, 3, 80)
    feats = check_features(x, y, 3, k=5, metric="euclidean")
    skip = np.zeros(80, bool)
    skip[[5, 40]] = True  # ... and one of a duplicate pair were dropped by an earlier fix
    part = feature_part(feats, SimpleNamespace(labels=y, classes=("a", "b", "c"), skip=skip), top=10)
    assert 5 not in [r["index"] for r in part.doc["most_outlying"]]
    assert all(40 not in (r["index_a"], r["index_b"]) for r in part.doc["closest_pairs"])
    full = feature_part(feats, SimpleNamespace(labels=y, classes=("a", "b", "c"), skip=None), top=10)
    assert full.doc["most_outlying"][0]["index"] == 5 and full.doc["closest_pairs"][0]["index_b"] == 40


def test_no_duplicates_no_pairs():
    """Features without any pair within the radius: the section says none were found."""
    from labelcli.cli.report_features import feature_part
    from labelcli.core.featurecheck import check_features

    x = np.random.default_rng(2).normal(size=(50, 6))
    y = np.arange(50) % 2
    part = feature_part(check_features(x, y, 2, k=5), SimpleNamespace(labels=y, classes=("a", "b"), skip=None), top=4)
    assert part.doc["closest_pairs"] == [] and len(part.doc["most_outlying"]) == 4
    assert "none were found" in part.sections[1].blocks[0].text
