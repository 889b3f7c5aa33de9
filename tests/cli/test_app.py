"""The command line as a whole (labelcli.cli.app): exit codes and the one-line errors of bad input and
bad usage, --help, and real subprocess runs of the installed console script.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import DIGIT_NAMES as NAMES
from tests.conftest import (
    ROOT,
    SAMPLE,
    assert_bad_input,
    assert_one_error_line,
    labelcli_script,
    read_result,
    run_cli,
)
from tests.conftest import SAMPLE_CSV2 as CSV2
from tests.conftest import SAMPLE_NPY as NPY


def csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"given_label": str, "predicted_label": str})


def subprocess_run(args, **kw) -> subprocess.CompletedProcess:
    """The installed console script in a real process (skipped when it is not installed)."""
    return subprocess.run([str(labelcli_script()), *map(str, args)], capture_output=True, timeout=180, cwd=ROOT, **kw)


@pytest.fixture
def inputs_copy(tmp_path):
    """Private copies of the sample inputs, so a test may aim --out at them safely."""
    copies = {}
    for name in ("labels.csv", "pred_probs.csv", "digits_labels.npy", "digits_features.npy"):
        dst = tmp_path / name
        dst.write_bytes((SAMPLE / name).read_bytes())
        copies[name] = dst
    return copies

# ====================================================================== 4. exit codes, bad input


def test_missing_file(tmp_path):
    out = tmp_path / "o.csv"
    assert_bad_input(["find-issues", "-l", tmp_path / "nope.npy", "-p", SAMPLE / "pred_probs.csv",
                      "--out", out], "nope.npy", "not found", folder=tmp_path, out=out)


def test_unknown_suffix(tmp_path, bad):
    out = tmp_path / "o.csv"
    assert_bad_input(["find-issues", "-l", bad / "labels.txt", "-p", SAMPLE / "pred_probs.csv",
                      "--out", out], "labels.txt", "'.txt'", folder=tmp_path, out=out)


@pytest.mark.parametrize("which, fragment", [("garbage.parquet", "Parquet"), ("truncated.npy", ".npy")])
def test_corrupt_file(tmp_path, bad, which, fragment):
    out = tmp_path / "o.csv"
    assert_bad_input(["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / which,
                      "--out", out], which, fragment, folder=tmp_path, out=out)


@pytest.mark.parametrize("which, fragments", [
    ("short.npy", ("short.npy", "100 rows", "1797")),
    ("oned.npy", ("oned.npy", "2-D")),
    ("nan.npy", ("nan.npy", "NaN", "row 5")),
    ("inf.npy", ("inf.npy", "inf", "row 7")),
    ("negative.npy", ("negative.npy", "[0, 1]", "row 9")),
    ("half.npy", ("half.npy", "sum to 1", "--normalize")),
    ("one_col.npy", ("one_col.npy", "1 column", "at least 2 classes")),
])
def test_bad_pred_probs(tmp_path, bad, which, fragments):
    out = tmp_path / "o.csv"
    assert_bad_input(["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / which,
                      "--out", out], *fragments, folder=tmp_path, out=out)


@pytest.mark.parametrize("cmd", ["score", "health"])
def test_bad_pred_probs_other_commands(tmp_path, bad, cmd):
    out = tmp_path / ("o.json" if cmd == "health" else "o.csv")
    assert_bad_input([cmd, "-l", SAMPLE / "digits_labels.npy", "-p", bad / "nan.npy", "--out", out],
                     "nan.npy", "NaN", folder=tmp_path, out=out)


def test_label_outside_classes(tmp_path, bad):
    out = tmp_path / "o.csv"
    assert_bad_input(["find-issues", "-l", bad / "label10.npy", "-p", SAMPLE / "digits_pred_probs.npy",
                      "--out", out], "label10.npy", "10", "row 11", "0..9", folder=tmp_path, out=out)


def test_class_name_not_among_classes(tmp_path, bad):
    out = tmp_path / "o.csv"
    assert_bad_input(["find-issues", "-l", bad / "unknown_name.csv", "-p", SAMPLE / "pred_probs.csv",
                      "--out", out], "unknown_name.csv", "'eleven'", "row 1796", folder=tmp_path, out=out)
    assert_bad_input(["find-issues", "-l", bad / "string_labels.csv", "-p", SAMPLE / "digits_pred_probs.npy",
                      "--classes", "a,b,c,d,e,f,g,h,i,j", "--out", out], "'zero'", folder=tmp_path, out=out)
    assert_bad_input(["find-issues", *NPY, "--classes", "a,b,c", "--out", out],
                     "--classes", "3", "10", folder=tmp_path, out=out)


@pytest.mark.parametrize("cmd", ["find-issues", "health"])
def test_all_labels_identical(tmp_path, bad, cmd):
    out = tmp_path / ("o.json" if cmd == "health" else "o.csv")
    assert_bad_input([cmd, "-l", bad / "same_label.npy", "-p", SAMPLE / "digits_pred_probs.npy",
                      "--out", out], "same label", "2 classes", folder=tmp_path, out=out)


def test_all_labels_identical_error_names_the_file(bad):
    assert_bad_input(["find-issues", "-l", bad / "same_label.npy", "-p", SAMPLE / "digits_pred_probs.npy"],
                     "same_label.npy")


@pytest.mark.parametrize("cmd, victim", [
    ("find-issues", "labels.csv"), ("find-issues", "pred_probs.csv"), ("score", "labels.csv"),
    ("health", "pred_probs.csv"), ("crossval", "digits_features.npy"), ("crossval", "digits_labels.npy"),
])
def test_out_pointing_at_an_input_is_refused(inputs_copy, tmp_path, cmd, victim):
    c = inputs_copy
    if cmd == "crossval":
        args = ["crossval", "-x", c["digits_features.npy"], "-l", c["digits_labels.npy"], "--folds", 3]
    else:
        args = [cmd, "-l", c["labels.csv"], "-p", c["pred_probs.csv"]]
    target = c[victim]
    before = target.read_bytes()
    # a different spelling of the same path must be caught too
    spelled = tmp_path / "sub" / ".." / victim
    (tmp_path / "sub").mkdir()
    assert_bad_input([*args, "--out", spelled], "overwrite", victim, folder=tmp_path)
    assert target.read_bytes() == before


def test_out_into_missing_folder(tmp_path):
    out = tmp_path / "missing" / "o.csv"
    assert_bad_input(["find-issues", *CSV2, "--out", out], "missing", "does not exist", folder=tmp_path)
    assert_bad_input(["crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy",
                      "--out", tmp_path / "missing" / "p.npy"], "does not exist", folder=tmp_path)


def test_failed_run_keeps_existing_out_file(tmp_path, bad):
    out = tmp_path / "issues.csv"
    out.write_text("old content\n")
    assert_bad_input(["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "nan.npy",
                      "--out", out], "NaN", folder=tmp_path)
    assert out.read_text() == "old content\n"
    hj = tmp_path / "health.json"
    hj.write_text("{}\n")
    assert_bad_input(["health", "-l", bad / "same_label.npy", "-p", SAMPLE / "digits_pred_probs.npy",
                      "--out", hj], folder=tmp_path)
    assert hj.read_text() == "{}\n"
    # ... and a successful run replaces it
    code, _, _ = run_cli("find-issues", *NPY, "-q", "--out", out)
    assert code == 0 and out.read_text().startswith("index,given_label")


@pytest.mark.parametrize("args, fragments", [
    (["find-issues", *CSV2, "--bogus"], ("--bogus",)),
    (["find-issues", *CSV2, "--filter-by", "bogus"], ("bogus", "prune_by_noise_rate")),
    (["find-issues", *CSV2, "--rank-by", "bogus"], ("bogus", "self_confidence")),
    (["find-issues", *CSV2, "--format", "bogus"], ("--format", "bogus")),
    (["find-issues", "-l", SAMPLE / "labels.csv"], ("--pred-probs", "--features")),
    (["find-issues", *CSV2, "--out", "-", "--format", "json"], ("--out -", "--format json")),
    (["find-issues", *CSV2, "--top", "0"], ("--top",)),
    (["find-issues", *CSV2, "--top", "many"], ("--top", "integer")),
    (["find-issues", *CSV2, "--label-col", "nope"], ("labels.csv", "'nope'", "--label-col")),
    (["score", *CSV2, "--method", "bogus"], ("bogus", "self_confidence")),
    (["score", *CSV2, "--format", "xml"], ("--format", "xml")),
    (["score", *CSV2, "--method", "confidence_weighted_entropy", "--adjust-pred-probs"], ("adjust",)),
    (["health", *CSV2, "--fail-above", "1.5"], ("--fail-above", "1.5")),
    (["health", *CSV2, "--format", "yaml"], ("--format",)),
    (["health", *CSV2, "--out", "health.csv"], ("health.csv", ".json")),
    (["crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--out", "x.npy",
      "--folds", "1"], ("--folds",)),
    (["crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--out", "x.npy",
      "--model", "bogus"], ("bogus",)),
    (["crossval", "-l", SAMPLE / "digits_labels.npy", "--out", "x.npy"], ("--features",)),
    (["crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--out", "-",
      "--format", "json"], ("--out -",)),
    (["no-such-command"], ("no-such-command",)),
])
def test_bad_usage(tmp_path, monkeypatch, args, fragments):
    monkeypatch.chdir(tmp_path)  # relative outputs like x.npy must not appear
    assert_bad_input(args, *fragments, folder=tmp_path)


@pytest.mark.parametrize("args, option", [
    (["find-issues", *CSV2, "--filter-by", "bogus"], "--filter-by"),
    (["find-issues", *CSV2, "--rank-by", "bogus"], "--rank-by"),
    (["score", *CSV2, "--method", "bogus"], "--method"),
    (["score", *CSV2, "--method", "confidence_weighted_entropy", "--adjust-pred-probs"], "--adjust-pred-probs"),
])
def test_bad_option_value_error_names_the_option(args, option):
    assert_bad_input(args, option)


@pytest.mark.parametrize("args", [
    ["crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--out", "p.jsonl"],
    ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-x", SAMPLE / "digits_features.npy", "--out", "i.npy"],
    ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-x", SAMPLE / "digits_features.npy", "--filter-by", "bogus"],
])
def test_bad_options_refused_before_cross_validation(tmp_path, monkeypatch, args):
    import labelcli.ml.crossval

    calls = []

    def spy(*a, **k):
        calls.append(1)
        raise RuntimeError("cross-validation should not have started")

    monkeypatch.setattr(labelcli.ml.crossval, "cross_val_pred_probs", spy)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*args, "-q")
    assert calls == [], "cross-validation ran before the bad option was refused"
    assert code == 2
    assert_one_error_line(err)


def test_unnormalized_values_above_one_suggest_normalize(bad):
    assert_bad_input(["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "x1_5.npy"],
                     "x1_5.npy", "--normalize")


def test_string_labels_with_unnamed_pred_probs_need_classes(bad):
    code, out, err = run_cli("find-issues", "-l", bad / "string_labels.csv",
                             "-p", SAMPLE / "digits_pred_probs.npy", "-q", "--format", "json")
    # Either refuse (exit 2 asking for --classes) or at least warn about the guessed order.
    assert "--classes" in err, (code, err, out[:200])


def test_internal_error_is_exit_3_with_one_line(monkeypatch):
    import labelcli.core.health

    def boom(*a, **k):
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr(labelcli.core.health, "summary_from_scan", boom)
    code, out, err = run_cli("health", *NPY, "-q")
    assert code == 3
    line = assert_one_error_line(err, "internal error", "RuntimeError", "--debug")
    assert "synthetic failure" in line and out == ""
    code, out, err = run_cli("health", *NPY, "-q", "--debug")  # --debug: the traceback, and still exit 3
    assert code == 3 and out == ""
    assert "Traceback" in err and "RuntimeError: synthetic failure" in err


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    code, out, err = run_cli("--version")
    assert code == 0, err
    assert out.strip() == f"labelcli {version('labelcli')}"


# ====================================================================== 5. help


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["crossval", "--help"], ["find-issues", "--help"],
                                  ["score", "--help"], ["health", "--help"], []])
def test_help_exits_0(args):
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "Usage" in out
    if args and args[0] in ("crossval", "find-issues", "score", "health"):
        assert args[0] in out


# ====================================================================== real subprocess runs


def test_subprocess_find_issues_writes_csv(tmp_path, default_issues):
    out = tmp_path / "issues.csv"
    p = subprocess_run(["find-issues", *NPY, "--out", out])
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == b""  # the report goes to stderr
    assert b"likely label issues" in p.stderr
    assert list(read_result(out)["index"]) == list(default_issues["index"])


def test_subprocess_stdin_one_table(default_issues):
    with open(SAMPLE / "digits.csv", "rb") as f:
        p = subprocess_run(["find-issues", "-l", "-", "-p", "-", "--prob-prefix", "prob_", "--out", "-"], stdin=f)
    assert p.returncode == 0, p.stderr.decode()
    t = csv_text(p.stdout.decode())
    assert list(t["index"]) == list(default_issues["index"])
    assert t["given_label"].iloc[0] == NAMES[int(default_issues["given_label"].iloc[0])]


def test_subprocess_format_json():
    p = subprocess_run(["score", *CSV2, "--format", "json"])
    assert p.returncode == 0, p.stderr.decode()
    doc = json.loads(p.stdout)
    assert doc["num_examples"] == 1797 and p.stderr  # report on stderr, JSON alone on stdout


def test_subprocess_health_gate():
    p = subprocess_run(["health", *CSV2, "--fail-above", "0.01"])
    assert p.returncode == 1
    assert b"--fail-above 0.01" in p.stderr and b"Traceback" not in p.stderr
    assert p.stdout == b""


def test_subprocess_bad_input_is_one_error_line(tmp_path, bad):
    out = tmp_path / "o.csv"
    p = subprocess_run(["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "garbage.parquet",
                        "--out", out])
    assert p.returncode == 2
    assert_one_error_line(p.stderr.decode(), "garbage.parquet")
    assert p.stdout == b"" and not out.exists()


def test_subprocess_help_and_python_m():
    p = subprocess_run(["--help"])
    assert p.returncode == 0 and b"find-issues" in p.stdout
    m = subprocess.run([sys.executable, "-m", "labelcli", "--help"], capture_output=True, timeout=120, cwd=ROOT)
    assert m.returncode == 0, m.stderr.decode()
    assert b"crossval" in m.stdout and b"health" in m.stdout
    e = subprocess.run([sys.executable, "-m", "labelcli", "find-issues", "-l", "nope.csv", "-p", "nope.csv"],
                       capture_output=True, timeout=120, cwd=ROOT)
    assert e.returncode == 2
    assert_one_error_line(e.stderr.decode(), "nope.csv")


def test_help_does_not_import_heavy_libraries():
    code = ("import sys, labelcli.cli; heavy = [m for m in ('matplotlib', 'sklearn', 'pandas', 'PIL') "
            "if m in sys.modules]; print(heavy)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "[]", p.stdout + p.stderr
