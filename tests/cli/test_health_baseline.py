"""labelcli health --baseline / --fail-if-worse: the gate against an earlier run's health.json
(planted regression, unchanged data, renamed / added / removed classes, margin 0, multi-label, bad
baselines). Run in-process through labelcli.cli.main (tests/conftest.py run_cli)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import SAMPLE, assert_one_error_line, cli_ok, run_cli
from tests.conftest import SAMPLE_CSV2 as CSV2

LABELS = SAMPLE / "labels.csv"
PROBS = SAMPLE / "pred_probs.csv"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The seam: the file `health --out` writes is the baseline."""
    path = tmp_path_factory.mktemp("baseline") / "health.json"
    cli_ok("health", *CSV2, "-q", "--out", path)
    return path


def _planted(tmp_path, cls="five", src="three", n=40):
    """labels.csv with n confident `src` examples relabeled `cls`: more noise in class `cls`."""
    import pandas as pd

    df = pd.read_csv(LABELS)
    probs = pd.read_csv(PROBS)
    mine = np.flatnonzero((df["label"] == src).to_numpy() & (probs[src].to_numpy() > 0.9))[:n]
    df.loc[mine, "label"] = cls
    path = tmp_path / "labels_new.csv"
    df.to_csv(path, index=False)
    return path


def _edited(tmp_path, baseline, edit, name="edited.json"):
    doc = json.loads(baseline.read_text())
    edit(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_unchanged_dataset_passes(baseline):
    r = cli_ok("health", *CSV2, "--baseline", baseline, "--fail-if-worse", "0.01", "--format", "json")
    diff = json.loads(r.stdout)["compared_to_baseline"]
    assert diff["baseline"] == str(baseline)
    assert diff["worse"] == [] and diff["appeared"] == [] and diff["vanished"] == []
    assert len(diff["per_class"]) == 10 and all(c["change"] == 0 for c in diff["per_class"])
    assert diff["overall"]["before"] == diff["overall"]["now"]
    assert "nothing got worse" in r.stderr and "pass" in r.stderr


def test_planted_regression_exits_1_and_names_the_class(tmp_path, baseline):
    labels = _planted(tmp_path)
    out = tmp_path / "now.json"
    r = run_cli("health", "-l", labels, "-p", PROBS, "--baseline", baseline, "--fail-if-worse", "0.01",
                "--out", out, "--format", "json")
    assert r.code == 1, r.stderr
    diff = json.loads(r.stdout)["compared_to_baseline"]
    assert json.loads(out.read_text())["compared_to_baseline"] == diff
    names = [c["name"] for c in diff["worse"]]
    assert "five" in names and "overall" in names
    five = next(c for c in diff["per_class"] if c["name"] == "five")
    assert five["now"] - five["before"] == pytest.approx(five["change"]) and five["change"] > 0.1
    assert "Gate failed" in r.stderr and "class five" in r.stderr and "--fail-if-worse 0.01" in r.stderr
    # the written file is a health summary itself: the next release's baseline
    cli_ok("health", "-l", labels, "-p", PROBS, "-q", "--baseline", out, "--fail-if-worse", "0")


def test_without_fail_if_worse_only_reports(tmp_path, baseline):
    r = run_cli("health", "-l", _planted(tmp_path), "-p", PROBS, "--baseline", baseline)
    assert r.code == 0
    assert "Got worse than the baseline" in r.stderr and "five" in r.stderr


def test_margin_zero_fails_on_any_rise(tmp_path, baseline):
    def lower(doc):
        doc["estimated_noise_rate"] -= 1e-9

    nudged = _edited(tmp_path, baseline, lower)
    assert run_cli("health", *CSV2, "-q", "--baseline", nudged, "--fail-if-worse", "0").code == 1
    assert run_cli("health", *CSV2, "-q", "--baseline", nudged, "--fail-if-worse", "0.01").code == 0
    assert run_cli("health", *CSV2, "-q", "--baseline", baseline, "--fail-if-worse", "0").code == 0


def test_renamed_added_removed_classes_are_reported_not_errors(tmp_path, baseline):
    def rename(doc):
        for c in doc["per_class"]:
            c["class"] = {"three": "drei", "nine": "neun"}.get(c["class"], c["class"])
        doc["per_class"].append({"class": "ten", "noise_rate": 0.5})

    r = cli_ok("health", *CSV2, "--baseline", _edited(tmp_path, baseline, rename), "--fail-if-worse", "0",
               "--format", "json")
    diff = json.loads(r.stdout)["compared_to_baseline"]
    assert diff["appeared"] == ["three", "nine"]
    assert diff["vanished"] == ["drei", "neun", "ten"]
    assert len(diff["per_class"]) == 8 and diff["worse"] == []
    assert "appeared" in r.stderr and "vanished" in r.stderr


def test_multilabel_per_tag(tmp_path):
    tags = np.load(SAMPLE / "digits_tags.npy")
    probs = SAMPLE / "digits_tag_pred_probs.npy"
    before = tmp_path / "ml.json"
    cli_ok("health", "-l", SAMPLE / "digits_tags.npy", "-p", probs, "-q", "--out", before)
    assert cli_ok("health", "-l", SAMPLE / "digits_tags.npy", "-p", probs, "-q", "--baseline", before,
                  "--fail-if-worse", "0")
    p = np.load(probs)
    worse = tags.copy()
    rows = np.flatnonzero((tags[:, 0] == 1) & (p[:, 0] > 0.9))[:120]
    worse[rows, 0] = 0  # a tag left off: more noise in tag 0
    np.save(tmp_path / "tags_new.npy", worse)
    r = run_cli("health", "-l", tmp_path / "tags_new.npy", "-p", probs, "-q", "--baseline", before,
                "--fail-if-worse", "0.01", "--format", "json")
    assert r.code == 1
    diff = json.loads(r.stdout)["compared_to_baseline"]
    assert diff["unit"] == "tag"
    assert "0" in [c["name"] for c in diff["worse"]]
    assert "of tag 0" in r.stderr


@pytest.mark.parametrize("content, fragments", [
    ("not json {", ("is not JSON",)),
    ("[1, 2]", ("is not a health summary",)),
    ('{"num_issues": 3, "ranking": []}', ("is not a health summary", "estimated_noise_rate", "per_class")),
    ('{"estimated_noise_rate": 0.1, "per_class": [{"class": "a"}]}', ("entry 0", "noise_rate")),
    ('{"estimated_noise_rate": "high", "per_class": []}', ("estimated_noise_rate", "not a rate")),
    ('{"estimated_noise_rate": 0.1, "per_class": {"a": 0.1}}', ("per_class", "not a list")),
    ("[" * 100_000 + "]" * 100_000, ("nested too deep",)),  # was a RecursionError, exit 3
])
def test_bad_baseline_one_line_exit_2(tmp_path, content, fragments):
    path = tmp_path / "base.json"
    path.write_text(content)
    r = run_cli("health", *CSV2, "--baseline", path, "--fail-if-worse", "0.01")
    assert r.code == 2
    assert_one_error_line(r.stderr, str(path), *fragments)


def test_other_commands_json_is_refused(tmp_path):
    other = tmp_path / "issues.json"
    other.write_text(cli_ok("find-issues", *CSV2, "-q", "--format", "json").stdout)
    r = run_cli("health", *CSV2, "--baseline", other)
    assert r.code == 2
    assert_one_error_line(r.stderr, str(other), "not a health summary", "health --out")


def test_baseline_usage_errors(tmp_path, baseline):
    r = run_cli("health", *CSV2, "--fail-if-worse", "0.01")
    assert r.code == 2 and assert_one_error_line(r.stderr, "--fail-if-worse needs --baseline")
    r = run_cli("health", *CSV2, "--baseline", tmp_path / "missing.json")
    assert r.code == 2 and assert_one_error_line(r.stderr, "missing.json", "not found")
    r = run_cli("health", *CSV2, "--baseline", baseline, "--fail-if-worse", "2")
    assert r.code == 2 and assert_one_error_line(r.stderr, "--fail-if-worse")
    ml = tmp_path / "ml.json"
    cli_ok("health", "-l", SAMPLE / "digits_tags.npy", "-p", SAMPLE / "digits_tag_pred_probs.npy", "-q", "--out", ml)
    r = run_cli("health", *CSV2, "--baseline", ml)
    assert r.code == 2 and assert_one_error_line(r.stderr, "multi-label", "multi-class")
