"""`report` on multi-label data (issue #14 item 1; it used to refuse): suspect tags in the table and
the gallery, noise per tag and tag pairs -- the same figures as `health` and `report --format json`
-- and the seam fix output -> report."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from labelcli.core import multilabel
from tests.conftest import SAMPLE, assert_one_error_line, cli_ok, run_cli

PQ = SAMPLE / "digits_multilabel.parquet"
ML = ["-l", PQ, "--label-col", "tags", "-p", PQ, "--prob-prefix", "prob_"]


def cells(html: str, header: str) -> list[list[str]]:
    """The body rows of the HTML table whose first header cell is ``header``."""
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table)
        if heads and heads[0] == header:
            body = table.split("<tbody>")[1]
            return [re.findall(r"<td(?: [^>]*)?>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]
    raise AssertionError(f"no table starting with {header!r}")


def test_report_on_multilabel_was_refused_and_now_shows_tags(tmp_path):
    out = tmp_path / "rep"
    r = cli_ok("report", *ML, "--images", SAMPLE / "digits_images.npy", "--out", out, "--format", "json")
    doc = json.loads(r.stdout)
    files = {p.name for p in out.iterdir()}
    assert {"index.html", "gallery.png", "noise_per_tag.png", "tag_pairs.png", "score_histogram.png"} <= files
    html = (out / "index.html").read_text()

    src = pd.read_parquet(PQ)
    y = np.stack([src["tags"].map(lambda t, c=c: c in list(t)).to_numpy() for c in sorted(
        c[5:] for c in src.columns if c.startswith("prob_"))], axis=1)
    names = [c[5:] for c in src.columns if c.startswith("prob_")]
    y = np.stack([src["tags"].map(lambda t, c=c: c in list(t)).to_numpy() for c in names], axis=1)
    p = src[[f"prob_{c}" for c in names]].to_numpy()
    issues = multilabel.find_label_issues(y, p)
    health = multilabel.health_summary(y, p, class_names=names)

    # the top-issues table: given, suggested and suspect tags of the most suspect example
    top = cells(html, "rank")
    first = int(issues.ranking[0])
    assert top[0][1] == str(first)
    assert set(top[0][2].split(", ")) == {names[j] for j in np.flatnonzero(y[first])}
    assert set(top[0][3].split(", ")) == {names[j] for j in np.flatnonzero(issues.predicted[first])}
    want = {f"+{names[j]}" for j in np.flatnonzero(issues.suggest_add[first])} | \
        {f"-{names[j]}" for j in np.flatnonzero(issues.suggest_remove[first])}
    assert set(top[0][4].split()) == want and want
    assert len(top) == 32 and doc["num_issues"] == issues.num_issues

    # noise per tag: the html table, the JSON and the health command say the same figures
    per_tag = cells(html, "tag")
    hdoc = json.loads(cli_ok("health", *ML, "-q", "--format", "json").stdout)
    assert [row[0] for row in per_tag] == [t["tag"] for t in doc["per_tag"]] == [t["tag"] for t in hdoc["per_tag"]]
    assert [int(row[2]) for row in per_tag] == [t["estimated_issues"] for t in doc["per_tag"]] \
        == [int(health.tags.estimated_issues[c]) for c in health.tag_order]
    assert doc["per_tag"][0]["noise_rate"] == hdoc["per_tag"][0]["noise_rate"]
    assert doc["estimated_noise_rate"] == hdoc["estimated_noise_rate"]
    # tag pairs
    pairs = cells(html, "tag a")
    assert [(row[0], row[1], int(row[5])) for row in pairs] == \
        [(t["tag_a"], t["tag_b"], t["count"]) for t in doc["tag_pairs"]] == \
        [(names[a], names[b], int(c)) for a, b, c in zip(health.pair_a, health.pair_b, health.pair_count)]
    # the terminal summary names the noisiest tag with the same figure
    r = cli_ok("report", *ML, "--out", tmp_path / "rep2")
    t0 = doc["per_tag"][0]
    assert f"{t0['tag']} {t0['noise_rate']:.2%} ({t0['estimated_issues']})" in " ".join(r.stderr.split())


def test_seam_fix_output_to_report_leaves_out_dropped_rows(tmp_path):
    issues = tmp_path / "i.csv"
    cli_ok("find-issues", *ML, "-q", "--out", issues)
    t = pd.read_csv(issues, keep_default_na=False)
    dropped = t["index"][:5].tolist()
    pd.DataFrame({"index": dropped, "action": "drop"}).to_csv(tmp_path / "d.csv", index=False)
    fixed = tmp_path / "f.parquet"
    cli_ok("fix", *ML, "--decisions", tmp_path / "d.csv", "--out", fixed, "-q")
    out = tmp_path / "rep"
    doc = json.loads(cli_ok("report", "-l", fixed, "-p", PQ, "--prob-prefix", "prob_", "--out", out, "-q",
                            "--top", "500", "--format", "json").stdout)
    listed = [int(row[1]) for row in cells((out / "index.html").read_text(), "rank")]
    assert listed == t["index"][5:].tolist()  # the rest, in the same order
    assert doc["num_issues"] == len(t) - 5


def test_bad_multilabel_report_input_one_line_exit_2(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((10, 8, 8)))
    code, _, err = run_cli("report", *ML, "--images", tmp_path / "img.npy", "--out", tmp_path / "rep", "-q")
    assert code == 2 and not (tmp_path / "rep" / "index.html").exists()
    assert_one_error_line(err.strip().splitlines()[-1] + "\n", "img.npy")
    np.save(tmp_path / "p.npy", np.full((1797, 4), 0.5))
    code, _, err = run_cli("report", "-l", PQ, "--label-col", "tags", "-p", tmp_path / "p.npy",
                           "--out", tmp_path / "rep", "-q")
    assert code == 2
    assert_one_error_line(err.strip().splitlines()[-1] + "\n", "p.npy", "--classes")


def test_multilabel_report_from_features_adds_the_feature_sections(tmp_path):
    out = tmp_path / "rep"
    doc = json.loads(cli_ok("report", "-l", PQ, "--label-col", "tags", "-x", SAMPLE / "digits_features.npy",
                            "--out", out, "-q", "--format", "json").stdout)
    assert doc["task"] == "multi-label" and "features" in doc and "cv_accuracy" in doc
    assert {"noise_per_tag.png", "tag_pairs.png"} <= {p.name for p in out.iterdir()}
