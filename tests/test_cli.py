"""CLI tests: every subcommand, every input format, output formats, exit codes and bad input.

Success paths go through Typer's CliRunner on ``labelcli.cli.app`` (stdout and stderr separate).
Error paths go through ``labelcli.cli.main(argv)``, the real console-script entry that turns a
LabelError or a usage error into one ``Error:`` line and exit code 2. A handful of tests run the
installed ``labelcli`` script (and ``python -m labelcli``) in a subprocess.

Contract under test: /work/shared/DESIGN.md section 2 (data contracts, exit codes, safety).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelcli.cli import app, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
CLASSES_OPT = ",".join(NAMES)
FILTERS = [
    "low_adjusted_margin", "prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
    "predicted_neq_given", "low_self_confidence", "low_normalized_margin",
]
PRUNING = {"prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"}
RANKERS = ["adjusted_margin", "self_confidence", "normalized_margin", "confidence_weighted_entropy"]
LABELCLI = Path(sys.executable).with_name("labelcli")

runner = CliRunner()

# The four ways the same sample data can be given (labels + pred_probs).
NPY = ["-l", str(SAMPLE / "digits_labels.npy"), "-p", str(SAMPLE / "digits_pred_probs.npy")]
CSV2 = ["-l", str(SAMPLE / "labels.csv"), "-p", str(SAMPLE / "pred_probs.csv")]
CSV1 = ["-l", str(SAMPLE / "digits.csv"), "-p", str(SAMPLE / "digits.csv"), "--prob-prefix", "prob_"]
PQ1 = ["-l", str(SAMPLE / "digits.parquet"), "-p", str(SAMPLE / "digits.parquet"), "--prob-prefix", "prob_"]
SOURCES = {"npy": NPY, "csv_two_files": CSV2, "csv_one_table": CSV1, "parquet_one_table": PQ1}


# ------------------------------------------------------------------------------------- helpers


def invoke(*args, input=None):
    """Run the Typer app in-process; exceptions propagate (so a failure shows its traceback)."""
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def ok(*args, input=None):
    r = invoke(*args, input=input)
    assert r.exit_code == 0, f"exit {r.exit_code}\nstdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-2000:]}"
    return r


def run_main(capsys, *args) -> tuple[int, str, str]:
    """Run the real entry point ``main(argv)``; returns (exit code, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else code), cap.out, cap.err


def assert_one_error_line(err: str, *fragments: str) -> str:
    lines = err.rstrip("\n").split("\n")
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith("Error: "), line
    assert "Traceback" not in err, err
    for frag in fragments:
        assert frag in line, f"{frag!r} not in {line!r}"
    return line


def assert_bad_input(capsys, args, *fragments, folder: Path | None = None, out: Path | None = None) -> str:
    """Exit 2, one `Error:` line naming the fragments, empty stdout, nothing new in ``folder``."""
    before = sorted(os.listdir(folder)) if folder is not None else None
    code, stdout, stderr = run_main(capsys, *args)
    assert code == 2, f"exit {code}, stderr: {stderr}"
    line = assert_one_error_line(stderr, *fragments)
    assert stdout == "", stdout
    if out is not None:
        assert not out.exists(), f"{out} was left behind"
    if folder is not None:
        assert sorted(os.listdir(folder)) == before, "files were created or removed by a failed run"
    return line


def read_table(path: Path) -> pd.DataFrame:
    """Read a result table written by labelcli, keeping class names as strings."""
    s = str(path)
    if s.endswith(".csv"):
        return pd.read_csv(path, dtype={"given_label": str, "predicted_label": str})
    if s.endswith(".parquet"):
        return pd.read_parquet(path)
    if s.endswith(".jsonl"):
        return pd.DataFrame([json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()])
    if s.endswith(".json"):
        return pd.DataFrame(json.loads(path.read_text()))
    raise AssertionError(s)


def csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"given_label": str, "predicted_label": str})


def subprocess_run(args, **kw) -> subprocess.CompletedProcess:
    if not LABELCLI.exists():
        pytest.skip(f"console script not found at {LABELCLI}")
    return subprocess.run([str(LABELCLI), *map(str, args)], capture_output=True, timeout=180, cwd=ROOT, **kw)


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def noisy_labels() -> np.ndarray:
    return np.load(SAMPLE / "digits_labels.npy")


@pytest.fixture(scope="module")
def pred_probs() -> np.ndarray:
    return np.load(SAMPLE / "digits_pred_probs.npy")


@pytest.fixture(scope="module")
def is_error() -> np.ndarray:
    return np.load(SAMPLE / "digits_is_error.npy")


@pytest.fixture(scope="module")
def default_issues(tmp_path_factory) -> pd.DataFrame:
    """The default find-issues table on the .npy sample (the reference for other runs)."""
    out = tmp_path_factory.mktemp("ref") / "issues.csv"
    ok("find-issues", *NPY, "-q", "--out", out)
    return read_table(out)


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    """First 600 rows of the one-table sample (labels as names, px_ features), as .parquet."""
    d = tmp_path_factory.mktemp("subset")
    df = pd.read_parquet(SAMPLE / "digits.parquet").iloc[:600].reset_index(drop=True)
    path = d / "subset.parquet"
    df.to_parquet(path, index=False)
    return path, df


@pytest.fixture(scope="module")
def bad(tmp_path_factory, noisy_labels, pred_probs):
    """A folder of broken inputs derived from the sample data (read-only by convention)."""
    d = tmp_path_factory.mktemp("bad")
    p64 = pred_probs.astype(np.float64)
    np.save(d / "short.npy", pred_probs[:100])
    np.save(d / "oned.npy", pred_probs[:, 0])
    q = pred_probs.copy(); q[5, 3] = np.nan; np.save(d / "nan.npy", q)
    q = pred_probs.copy(); q[7, 2] = np.inf; np.save(d / "inf.npy", q)
    q = p64.copy(); q[9, 2] += q[9, 1] + 0.2; q[9, 1] = -0.2; np.save(d / "negative.npy", q)  # sums to 1
    np.save(d / "half.npy", p64 * 0.5)  # every row sums to 0.5, values stay in [0, 1]
    np.save(d / "x1_5.npy", p64 * 1.5)  # rows sum to 1.5, some values above 1
    np.save(d / "one_col.npy", np.ones((len(noisy_labels), 1)))
    q = noisy_labels.copy(); q[11] = 10; np.save(d / "label10.npy", q)
    np.save(d / "same_label.npy", np.zeros(len(noisy_labels), dtype=np.int64))
    (d / "garbage.parquet").write_bytes(b"\x00not a parquet file\xff" * 50)
    raw = (SAMPLE / "digits_pred_probs.npy").read_bytes()
    (d / "truncated.npy").write_bytes(raw[: len(raw) // 2])
    (d / "labels.txt").write_text("label\n0\n1\n")
    names = [NAMES[i] for i in noisy_labels]
    names[1796] = "eleven"
    (d / "unknown_name.csv").write_text("label\n" + "\n".join(names) + "\n")
    (d / "string_labels.csv").write_text("label\n" + "\n".join(NAMES[i] for i in noisy_labels) + "\n")
    return d


@pytest.fixture
def inputs_copy(tmp_path):
    """Private copies of the sample inputs, so a test may aim --out at them safely."""
    copies = {}
    for name in ("labels.csv", "pred_probs.csv", "digits_labels.npy", "digits_features.npy"):
        dst = tmp_path / name
        dst.write_bytes((SAMPLE / name).read_bytes())
        copies[name] = dst
    return copies


# ====================================================================== 1. every subcommand


def test_crossval_npy_full_sample(tmp_path, noisy_labels):
    out = tmp_path / "pp.npy"
    r = ok("crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy",
           "--folds", 3, "--out", out, "--format", "json")
    p = np.load(out)
    assert p.shape == (1797, 10)
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    doc = json.loads(r.stdout)
    assert doc["folds"] == 3 and doc["model"] == "logreg" and len(doc["fold_accuracies"]) == 3
    acc = float(np.mean(p.argmax(axis=1) == noisy_labels))
    assert doc["accuracy"] == pytest.approx(acc)
    assert 0.8 < acc < 0.97, acc  # out-of-sample on 5% noisy labels
    assert "pred_probs written to" in r.stderr  # the report is on stderr


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_crossval_table_outputs_have_class_named_columns(tmp_path, subset, suffix):
    path, df = subset
    out = tmp_path / f"pp{suffix}"
    ok("crossval", "-x", path, "-l", path, "--feature-prefix", "px_", "--classes", CLASSES_OPT,
       "--folds", 3, "-q", "--out", out)
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(got.columns) == NAMES
    assert got.shape == (600, 10)
    np.testing.assert_allclose(got.to_numpy().sum(axis=1), 1.0, atol=1e-6)
    # The written table is valid pred_probs input: its columns carry the class names back in.
    res = ok("score", "-l", path, "-p", out, "-q", "--out", "-")
    scores = csv_text(res.stdout)
    assert list(scores["given_label"]) == list(df["label"])


def test_crossval_string_labels_without_classes_sorts_names(tmp_path, subset):
    """DESIGN 2: class order is --classes, else pred_probs columns, else sorted unique labels."""
    path, _ = subset
    out = tmp_path / "pp.csv"
    ok("crossval", "-x", path, "-l", path, "--feature-prefix", "px_", "--folds", 3, "-q", "--out", out)
    assert list(pd.read_csv(out).columns) == sorted(NAMES)


def test_crossval_is_deterministic_and_out_dash_is_csv(tmp_path, subset):
    path, _ = subset
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    args = ["crossval", "-x", path, "-l", path, "--feature-prefix", "px_", "--classes", CLASSES_OPT,
            "--folds", 3, "-q"]
    ok(*args, "--out", a)
    ok(*args, "--out", b)
    assert a.read_bytes() == b.read_bytes()
    r = ok(*args, "--out", "-")
    assert r.stdout.encode() == a.read_bytes()


def test_find_issues_from_pred_probs_default(default_issues, noisy_labels, pred_probs):
    """labelcli's defaults (low_adjusted_margin, ranked by adjusted_margin) on the .npy sample."""
    import labelcli

    t = default_issues
    assert list(t.columns) == ["index", "given_label", "predicted_label", "label_score", "is_label_issue"]
    api = labelcli.find_label_issues(noisy_labels, pred_probs)
    assert api.filter_by == "low_adjusted_margin" and api.rank_by == "adjusted_margin"
    assert list(t["index"]) == list(api.ranking) and len(t) == 111
    assert t["is_label_issue"].all()
    assert t["index"].is_unique and t["index"].between(0, 1796).all()
    assert t["label_score"].is_monotonic_increasing  # most suspect first
    idx = t["index"].to_numpy()
    assert (t["given_label"].astype(int).to_numpy() == noisy_labels[idx]).all()
    assert (t["predicted_label"].astype(int).to_numpy() == pred_probs[idx].argmax(axis=1)).all()
    np.testing.assert_allclose(t["label_score"], api.scores[idx], rtol=1e-12)


def test_find_issues_compat_cleanlab_is_cleanlabs_default(default_issues, noisy_labels, pred_probs, capsys):
    """--compat cleanlab: cleanlab 2.9's default filter and ranking (sample_data/README.md: 103 rows)."""
    cleanlab_filter = pytest.importorskip("cleanlab.filter")
    t = csv_text(ok("find-issues", *NPY, "--compat", "cleanlab", "-q", "--out", "-").stdout)
    ranked = cleanlab_filter.find_label_issues(noisy_labels, pred_probs, return_indices_ranked_by="self_confidence")
    assert list(t["index"]) == list(ranked) and len(t) == 103
    idx = t["index"].to_numpy()
    assert (t["given_label"] != t["predicted_label"]).all()
    np.testing.assert_allclose(t["label_score"], pred_probs[idx, noisy_labels[idx]], rtol=1e-6)
    # an option given explicitly wins over the profile
    both = csv_text(ok("find-issues", *NPY, "--compat", "cleanlab", "--rank-by", "adjusted_margin", "-q",
                       "--out", "-").stdout)
    assert set(both["index"]) == set(t["index"]) and list(both["index"]) != list(t["index"])
    code, out, err = run_main(capsys, "find-issues", *NPY, "--compat", "sklearn")
    assert code == 2 and out == ""
    assert_one_error_line(err, "--compat 'sklearn'", "labelcli, cleanlab")


def test_find_issues_with_only_features_cross_validates(tmp_path, is_error):
    out = tmp_path / "issues.csv"
    r = ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-x", SAMPLE / "digits_features.npy",
           "--folds", 3, "--out", out, "--format", "json")
    doc = json.loads(r.stdout)
    assert 0.8 < doc["cv_accuracy"] < 0.97
    assert "cross-validation" in r.stderr
    t = read_table(out)
    # --features also runs the feature-space checks: their rows carry issue_type without "label".
    assert "features" in doc and t["issue_type"].notna().all()
    t = t[t["is_label_issue"]]
    assert len(t) == doc["num_issues"] > 0
    idx = t["index"].to_numpy()
    precision, recall = is_error[idx].mean(), is_error[idx].sum() / is_error.sum()
    print(f"\n[find-issues --features, 3-fold logreg] flagged {len(idx)}: "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.5 and recall >= 0.5, (precision, recall)


@pytest.mark.parametrize("filter_by", FILTERS)
def test_find_issues_every_filter(filter_by, noisy_labels, pred_probs):
    r = ok("find-issues", *NPY, "--filter-by", filter_by, "-q", "--out", "-")
    t = csv_text(r.stdout)
    assert 0 < len(t) < 1797 // 4, len(t)
    assert t["is_label_issue"].all() and t["index"].is_unique
    assert t["label_score"].is_monotonic_increasing
    idx = t["index"].to_numpy()
    if filter_by in PRUNING:  # an example whose argmax is its given label is never flagged
        assert (pred_probs[idx].argmax(axis=1) != noisy_labels[idx]).all()
    if filter_by == "predicted_neq_given":
        assert len(t) == int((pred_probs.argmax(axis=1) != noisy_labels).sum())
    js = ok("find-issues", *NPY, "--filter-by", filter_by, "-q", "--format", "json")
    doc = json.loads(js.stdout)
    assert doc["filter_by"] == filter_by and doc["num_issues"] == len(t)


@pytest.mark.parametrize("rank_by", RANKERS)
def test_find_issues_every_ranking(rank_by, default_issues):
    r = ok("find-issues", *NPY, "--rank-by", rank_by, "-q", "--out", "-")
    t = csv_text(r.stdout)
    # Ranking orders the flagged set; it does not change it.
    assert set(t["index"]) == set(default_issues["index"])
    assert t["label_score"].is_monotonic_increasing
    assert t["label_score"].between(0, 1).all()


def test_find_issues_top_and_all(default_issues):
    top = csv_text(ok("find-issues", *NPY, "--top", 5, "-q", "--out", "-").stdout)
    assert list(top["index"]) == list(default_issues["index"][:5])
    big = csv_text(ok("find-issues", *NPY, "--top", 5000, "-q", "--out", "-").stdout)
    assert list(big["index"]) == list(default_issues["index"])
    every = csv_text(ok("find-issues", *NPY, "--all", "-q", "--out", "-").stdout)
    assert len(every) == 1797
    assert sorted(every["index"]) == list(range(1797))
    n = len(default_issues)
    assert every["is_label_issue"][:n].all() and not every["is_label_issue"][n:].any()
    assert list(every["index"][:n]) == list(default_issues["index"])
    assert every["label_score"][n:].is_monotonic_increasing
    top_all = csv_text(ok("find-issues", *NPY, "--all", "--top", 200, "-q", "--out", "-").stdout)
    assert len(top_all) == 200 and top_all["is_label_issue"].sum() == n


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".jsonl"])
def test_find_issues_output_formats(tmp_path, suffix, default_issues):
    out = tmp_path / f"issues{suffix}"
    r = ok("find-issues", *NPY, "-q", "--out", out)
    assert r.stdout == ""
    t = read_table(out)
    assert list(t.columns) == list(default_issues.columns)
    assert list(t["index"]) == list(default_issues["index"])
    assert list(t["given_label"].astype(str)) == list(default_issues["given_label"])
    assert list(t["predicted_label"].astype(str)) == list(default_issues["predicted_label"])
    np.testing.assert_allclose(t["label_score"], default_issues["label_score"], rtol=1e-12)
    assert t["is_label_issue"].astype(bool).all()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp files left beside it


def test_find_issues_out_dash_is_csv_on_stdout(tmp_path, default_issues):
    out = tmp_path / "issues.csv"
    ok("find-issues", *NPY, "-q", "--out", out)
    r = ok("find-issues", *NPY, "--out", "-")
    assert r.stdout.encode() == out.read_bytes()
    assert "labelcli find-issues" in r.stderr  # the report still goes to stderr


def test_find_issues_format_json_stdout_is_clean(default_issues):
    r = ok("find-issues", *NPY, "--format", "json")
    doc = json.loads(r.stdout)  # stdout is JSON and nothing else
    assert doc["num_examples"] == 1797 and doc["num_issues"] == len(default_issues)
    assert doc["filter_by"] == "low_adjusted_margin" and doc["rank_by"] == "adjusted_margin"
    assert doc["cv_accuracy"] is None
    assert [row["index"] for row in doc["issues"]] == list(default_issues["index"][:20])
    assert "likely label issues" in r.stderr and '"num_issues"' not in r.stderr
    quiet = ok("find-issues", *NPY, "--format", "json", "-q")
    assert json.loads(quiet.stdout) == doc and quiet.stderr == ""


def test_find_issues_fail_on_issues_gate(tmp_path, default_issues):
    out = tmp_path / "issues.csv"
    r = invoke("find-issues", *NPY, "-q", "--fail-on-issues", 5, "--out", out)
    assert r.exit_code == 1
    n = len(default_issues)
    assert f"{n} label issues" in r.stderr and "--fail-on-issues 5" in r.stderr  # the reason, even with -q
    assert len(read_table(out)) == n  # the table is still written
    assert invoke("find-issues", *NPY, "-q", "--fail-on-issues", n).exit_code == 0  # "more than N"
    assert invoke("find-issues", *NPY, "-q", "--fail-on-issues", n - 1).exit_code == 1


@pytest.mark.parametrize("method", RANKERS)
def test_score_every_method_in_input_order(tmp_path, method, noisy_labels, pred_probs):
    out = tmp_path / "scores.csv"
    ok("score", *NPY, "--method", method, "-q", "--out", out)
    t = read_table(out)
    assert list(t.columns)[:2] == ["index", "given_label"] and "label_score" in t.columns
    assert list(t["index"]) == list(range(1797))
    assert (t["given_label"].astype(int).to_numpy() == noisy_labels).all()
    assert t["label_score"].between(0, 1).all()
    if method == "self_confidence":
        np.testing.assert_allclose(t["label_score"], pred_probs[np.arange(1797), noisy_labels], rtol=1e-6)
    js = json.loads(ok("score", *NPY, "--method", method, "-q", "--format", "json").stdout)
    assert js["method"] == method and js["num_examples"] == 1797
    assert js["mean_score"] == pytest.approx(t["label_score"].mean())
    lowest = t.sort_values("label_score", kind="stable")["index"].head(20).tolist()
    assert [row["index"] for row in js["lowest"]] == lowest


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_score_adjust_pred_probs(method):
    plain = csv_text(ok("score", *CSV2, "--method", method, "-q", "--out", "-").stdout)
    adj = csv_text(ok("score", *CSV2, "--method", method, "--adjust-pred-probs", "-q", "--out", "-").stdout)
    assert list(adj["index"]) == list(range(1797))
    assert adj["label_score"].between(0, 1).all()
    assert not np.allclose(adj["label_score"], plain["label_score"])


def test_health_out_json_and_format_json(tmp_path):
    out = tmp_path / "health.json"
    r = ok("health", *CSV2, "--out", out, "--format", "json")
    doc = json.loads(out.read_text())
    for key in ("health_score", "estimated_noise_rate", "per_class", "overlapping_pairs", "noise_matrix"):
        assert key in doc, key
    assert json.loads(r.stdout) == doc
    assert doc["health_score"] == pytest.approx(1 - doc["estimated_noise_rate"])
    assert 0.03 < doc["estimated_noise_rate"] < 0.08  # 5.0% planted
    assert [c["class"] for c in doc["per_class"]] == NAMES
    assert sum(c["examples"] for c in doc["per_class"]) == 1797
    nm = np.array(doc["noise_matrix"])
    assert nm.shape == (10, 10)
    np.testing.assert_allclose(nm.sum(axis=0), 1.0, atol=1e-6)  # P(given | true) columns
    pairs = doc["overlapping_pairs"]
    assert pairs and {"class_a", "class_b", "joint_probability"} <= set(pairs[0])
    assert [p["joint_probability"] for p in pairs] == sorted((p["joint_probability"] for p in pairs), reverse=True)
    assert "label health score" in r.stderr


def test_health_out_dash_prints_json(tmp_path):
    r = ok("health", *NPY, "-q", "--out", "-")
    doc = json.loads(r.stdout)
    assert doc["classes"] == [str(i) for i in range(10)]


def test_health_fail_above_gate():
    r = invoke("health", *CSV2, "--fail-above", 0.01)
    assert r.exit_code == 1
    assert "Gate failed" in r.stderr and "--fail-above 0.01" in r.stderr
    quiet = invoke("health", *CSV2, "--fail-above", 0.01, "-q")
    assert quiet.exit_code == 1 and "--fail-above 0.01" in quiet.stderr
    assert invoke("health", *CSV2, "--fail-above", 0.5, "-q").exit_code == 0


# ====================================================================== 2. input formats


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_input_format_gives_the_same_issues(source, default_issues):
    """Consistency: the flagged rows (and their order) do not depend on the file format."""
    t = csv_text(ok("find-issues", *SOURCES[source], "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])
    np.testing.assert_allclose(t["label_score"], default_issues["label_score"], rtol=1e-6)
    expected_names = default_issues["given_label"] if source == "npy" else \
        default_issues["given_label"].astype(int).map(lambda i: NAMES[i])
    assert list(t["given_label"]) == list(expected_names)


@pytest.mark.parametrize("filter_by", ["prune_by_class", "both", "low_normalized_margin"])
def test_same_flagged_set_csv_vs_parquet_vs_npy_other_filters(filter_by):
    sets = {name: csv_text(ok("find-issues", *args, "--filter-by", filter_by, "-q", "--out", "-").stdout)["index"].tolist()
            for name, args in SOURCES.items()}
    first = sets["npy"]
    assert all(v == first for v in sets.values()), {k: len(v) for k, v in sets.items()}


def test_class_names_come_from_pred_probs_columns(noisy_labels):
    # integer labels + named pred_probs columns -> names in the output
    t = csv_text(ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "pred_probs.csv",
                    "-q", "--out", "-").stdout)
    assert set(t["given_label"]) <= set(NAMES) and set(t["predicted_label"]) <= set(NAMES)
    assert list(t["given_label"]) == [NAMES[noisy_labels[i]] for i in t["index"]]
    # one table with a prefix: the rest of the column name is the class name
    s = csv_text(ok("score", *PQ1, "-q", "--out", "-").stdout)
    assert list(s["given_label"]) == [NAMES[i] for i in noisy_labels]
    # no names anywhere: class indices as strings
    n = csv_text(ok("score", *NPY, "-q", "--out", "-").stdout)
    assert list(n["given_label"]) == [str(i) for i in noisy_labels]


def test_string_labels_mapped_through_classes(bad, default_issues):
    t = csv_text(ok("find-issues", "-l", bad / "string_labels.csv", "-p", SAMPLE / "digits_pred_probs.npy",
                    "--classes", CLASSES_OPT, "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])
    assert list(t["given_label"]) == [NAMES[int(i)] for i in default_issues["given_label"]]
    assert list(t["predicted_label"]) == [NAMES[int(i)] for i in default_issues["predicted_label"]]
    # integer labels with --classes: the names label the output
    u = csv_text(ok("find-issues", *NPY, "--classes", CLASSES_OPT, "-q", "--out", "-").stdout)
    assert list(u["given_label"]) == list(t["given_label"])


def test_classes_in_another_order_reorders_named_columns():
    """--classes names the same classes as the pred_probs columns, in another order: aligned by name."""
    rev = ",".join(reversed(NAMES))
    a = csv_text(ok("score", *CSV2, "-q", "--out", "-").stdout)
    b = csv_text(ok("score", *CSV2, "--classes", rev, "-q", "--out", "-").stdout)
    pd.testing.assert_frame_equal(a, b)


def test_stdin_with_cli_runner(default_issues):
    table = (SAMPLE / "digits.csv").read_bytes()
    t = csv_text(ok("find-issues", "-l", "-", "-p", "-", "--prob-prefix", "prob_", "-q", "--out", "-",
                    input=table).stdout)
    assert list(t["index"]) == list(default_issues["index"])
    s = csv_text(ok("score", "-l", "-", "-p", SAMPLE / "pred_probs.csv", "-q", "--out", "-",
                    input=(SAMPLE / "labels.csv").read_bytes()).stdout)
    assert len(s) == 1797 and s["given_label"].iloc[1] == "eight"


def test_normalize_rescales_rows(bad, default_issues):
    """Rows summing to 0.5 are refused without --normalize (tested below) and rescaled with it."""
    t = csv_text(ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "half.npy", "--normalize",
                    "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])


def test_normalize_rescales_rows_with_values_above_one(bad, default_issues, pred_probs):
    """pred_probs * 1.5 (accepted with --normalize) must give the same answer as the original file.

    Regression: an interim validate.py clipped values above 1 to 1 before rescaling.
    """
    r = ok("score", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "x1_5.npy", "--normalize", "-q", "--out", "-",
           "--method", "self_confidence")
    s = csv_text(r.stdout)
    expected = pred_probs.astype(np.float64) / pred_probs.sum(axis=1, keepdims=True, dtype=np.float64)
    np.testing.assert_allclose(s["label_score"], expected[np.arange(1797), np.load(SAMPLE / "digits_labels.npy")],
                               rtol=1e-6)
    t = csv_text(ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "x1_5.npy", "--normalize",
                    "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])


# ====================================================================== 3. quality, determinism


def test_planted_noise_precision_recall(default_issues, is_error):
    idx = default_issues["index"].to_numpy()
    tp = int(is_error[idx].sum())
    precision, recall = tp / len(idx), tp / int(is_error.sum())
    msg = (f"default find-issues on the sample: flagged {len(idx)}, {tp} of {int(is_error.sum())} planted "
           f"errors -> precision {precision:.3f}, recall {recall:.3f}")
    print("\n" + msg)
    assert precision >= 0.6 and recall >= 0.6, msg


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".jsonl"])
def test_outputs_are_byte_identical_across_runs(tmp_path, suffix):
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    ok("find-issues", *CSV2, "--all", "-q", "--out", a)
    ok("find-issues", *CSV2, "--all", "-q", "--out", b)
    assert a.read_bytes() == b.read_bytes()


def test_score_and_health_are_byte_identical_across_runs(tmp_path):
    for cmd, name in (("score", "s.csv"), ("health", "h.json")):
        a, b = tmp_path / f"a_{name}", tmp_path / f"b_{name}"
        ok(cmd, *PQ1, "-q", "--out", a)
        ok(cmd, *PQ1, "-q", "--out", b)
        assert a.read_bytes() == b.read_bytes(), cmd


# ====================================================================== 4. exit codes, bad input


def test_missing_file(capsys, tmp_path):
    out = tmp_path / "o.csv"
    assert_bad_input(capsys, ["find-issues", "-l", tmp_path / "nope.npy", "-p", SAMPLE / "pred_probs.csv",
                              "--out", out], "nope.npy", "not found", folder=tmp_path, out=out)


def test_unknown_suffix(capsys, tmp_path, bad):
    out = tmp_path / "o.csv"
    assert_bad_input(capsys, ["find-issues", "-l", bad / "labels.txt", "-p", SAMPLE / "pred_probs.csv",
                              "--out", out], "labels.txt", "'.txt'", folder=tmp_path, out=out)


@pytest.mark.parametrize("which, fragment", [("garbage.parquet", "Parquet"), ("truncated.npy", ".npy")])
def test_corrupt_file(capsys, tmp_path, bad, which, fragment):
    out = tmp_path / "o.csv"
    assert_bad_input(capsys, ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / which,
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
def test_bad_pred_probs(capsys, tmp_path, bad, which, fragments):
    out = tmp_path / "o.csv"
    assert_bad_input(capsys, ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / which,
                              "--out", out], *fragments, folder=tmp_path, out=out)


@pytest.mark.parametrize("cmd", ["score", "health"])
def test_bad_pred_probs_other_commands(capsys, tmp_path, bad, cmd):
    out = tmp_path / ("o.json" if cmd == "health" else "o.csv")
    assert_bad_input(capsys, [cmd, "-l", SAMPLE / "digits_labels.npy", "-p", bad / "nan.npy", "--out", out],
                     "nan.npy", "NaN", folder=tmp_path, out=out)


def test_label_outside_classes(capsys, tmp_path, bad):
    out = tmp_path / "o.csv"
    assert_bad_input(capsys, ["find-issues", "-l", bad / "label10.npy", "-p", SAMPLE / "digits_pred_probs.npy",
                              "--out", out], "label10.npy", "10", "row 11", "0..9", folder=tmp_path, out=out)


def test_class_name_not_among_classes(capsys, tmp_path, bad):
    out = tmp_path / "o.csv"
    assert_bad_input(capsys, ["find-issues", "-l", bad / "unknown_name.csv", "-p", SAMPLE / "pred_probs.csv",
                              "--out", out], "unknown_name.csv", "'eleven'", "row 1796", folder=tmp_path, out=out)
    assert_bad_input(capsys, ["find-issues", "-l", bad / "string_labels.csv", "-p", SAMPLE / "digits_pred_probs.npy",
                              "--classes", "a,b,c,d,e,f,g,h,i,j", "--out", out], "'zero'", folder=tmp_path, out=out)
    assert_bad_input(capsys, ["find-issues", *NPY, "--classes", "a,b,c", "--out", out],
                     "--classes", "3", "10", folder=tmp_path, out=out)


@pytest.mark.parametrize("cmd", ["find-issues", "health"])
def test_all_labels_identical(capsys, tmp_path, bad, cmd):
    out = tmp_path / ("o.json" if cmd == "health" else "o.csv")
    assert_bad_input(capsys, [cmd, "-l", bad / "same_label.npy", "-p", SAMPLE / "digits_pred_probs.npy",
                              "--out", out], "same label", "2 classes", folder=tmp_path, out=out)


def test_all_labels_identical_error_names_the_file(capsys, bad):
    assert_bad_input(capsys, ["find-issues", "-l", bad / "same_label.npy", "-p", SAMPLE / "digits_pred_probs.npy"],
                     "same_label.npy")


@pytest.mark.parametrize("cmd, victim", [
    ("find-issues", "labels.csv"), ("find-issues", "pred_probs.csv"), ("score", "labels.csv"),
    ("health", "pred_probs.csv"), ("crossval", "digits_features.npy"), ("crossval", "digits_labels.npy"),
])
def test_out_pointing_at_an_input_is_refused(capsys, inputs_copy, tmp_path, cmd, victim):
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
    assert_bad_input(capsys, [*args, "--out", spelled], "overwrite", victim, folder=tmp_path)
    assert target.read_bytes() == before


def test_out_into_missing_folder(capsys, tmp_path):
    out = tmp_path / "missing" / "o.csv"
    assert_bad_input(capsys, ["find-issues", *CSV2, "--out", out], "missing", "does not exist", folder=tmp_path)
    assert_bad_input(capsys, ["crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy",
                              "--out", tmp_path / "missing" / "p.npy"], "does not exist", folder=tmp_path)


def test_failed_run_keeps_existing_out_file(capsys, tmp_path, bad):
    out = tmp_path / "issues.csv"
    out.write_text("old content\n")
    assert_bad_input(capsys, ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "nan.npy",
                              "--out", out], "NaN", folder=tmp_path)
    assert out.read_text() == "old content\n"
    hj = tmp_path / "health.json"
    hj.write_text("{}\n")
    assert_bad_input(capsys, ["health", "-l", bad / "same_label.npy", "-p", SAMPLE / "digits_pred_probs.npy",
                              "--out", hj], folder=tmp_path)
    assert hj.read_text() == "{}\n"
    # ... and a successful run replaces it
    code, _, _ = run_main(capsys, "find-issues", *NPY, "-q", "--out", out)
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
def test_bad_usage(capsys, tmp_path, monkeypatch, args, fragments):
    monkeypatch.chdir(tmp_path)  # relative outputs like x.npy must not appear
    assert_bad_input(capsys, args, *fragments, folder=tmp_path)


@pytest.mark.parametrize("args, option", [
    (["find-issues", *CSV2, "--filter-by", "bogus"], "--filter-by"),
    (["find-issues", *CSV2, "--rank-by", "bogus"], "--rank-by"),
    (["score", *CSV2, "--method", "bogus"], "--method"),
    (["score", *CSV2, "--method", "confidence_weighted_entropy", "--adjust-pred-probs"], "--adjust-pred-probs"),
])
def test_bad_option_value_error_names_the_option(capsys, args, option):
    assert_bad_input(capsys, args, option)


@pytest.mark.parametrize("args", [
    ["crossval", "-x", SAMPLE / "digits_features.npy", "-l", SAMPLE / "digits_labels.npy", "--out", "p.jsonl"],
    ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-x", SAMPLE / "digits_features.npy", "--out", "i.npy"],
    ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-x", SAMPLE / "digits_features.npy", "--filter-by", "bogus"],
])
def test_bad_options_refused_before_cross_validation(capsys, tmp_path, monkeypatch, args):
    import labelcli.ml.crossval

    calls = []

    def spy(*a, **k):
        calls.append(1)
        raise RuntimeError("cross-validation should not have started")

    monkeypatch.setattr(labelcli.ml.crossval, "cross_val_pred_probs", spy)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, *args, "-q")
    assert calls == [], "cross-validation ran before the bad option was refused"
    assert code == 2
    assert_one_error_line(err)


def test_unnormalized_values_above_one_suggest_normalize(capsys, bad):
    assert_bad_input(capsys, ["find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "x1_5.npy"],
                     "x1_5.npy", "--normalize")


def test_string_labels_with_unnamed_pred_probs_need_classes(capsys, bad):
    code, out, err = run_main(capsys, "find-issues", "-l", bad / "string_labels.csv",
                              "-p", SAMPLE / "digits_pred_probs.npy", "-q", "--format", "json")
    # Either refuse (exit 2 asking for --classes) or at least warn about the guessed order.
    assert "--classes" in err, (code, err, out[:200])


def test_internal_error_is_exit_3_with_one_line(capsys, monkeypatch):
    import labelcli.core.health

    def boom(*a, **k):
        raise RuntimeError("synthetic failure")

    monkeypatch.setattr(labelcli.core.health, "health_summary", boom)
    code, out, err = run_main(capsys, "health", *NPY, "-q")
    assert code == 3
    line = assert_one_error_line(err, "internal error", "RuntimeError", "--debug")
    assert "synthetic failure" in line and out == ""
    with pytest.raises(RuntimeError, match="synthetic failure"):
        main(["health", *map(str, NPY), "-q", "--debug"])


# ====================================================================== 5. help


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["crossval", "--help"], ["find-issues", "--help"],
                                  ["score", "--help"], ["health", "--help"], []])
def test_help_exits_0(capsys, args):
    code, out, err = run_main(capsys, *args)
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
    assert list(read_table(out)["index"]) == list(default_issues["index"])


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


# ------------------------------------------------------------------ review iterations: --class, --exclude


def test_review_fifty_at_a_time_with_class_and_exclude(tmp_path):
    """Work through one class in batches: each run skips the rows reviewed before."""
    from labelcli import find_label_issues

    labels = np.load(SAMPLE / "digits_labels.npy")
    issues = find_label_issues(labels, np.load(SAMPLE / "digits_pred_probs.npy"))
    eights = [int(i) for i in issues.ranking if labels[i] == 8]
    assert len(eights) > 6
    first, second = tmp_path / "b1.csv", tmp_path / "b2.csv"
    r = ok("find-issues", *PQ1, "--class", "eight", "--top", "3", "--out", first)
    assert f"{len(eights):,} left to review" in r.stderr
    assert pd.read_csv(first)["index"].tolist() == eights[:3]
    r = ok("find-issues", *PQ1, "--class", "eight", "--top", "3", "--exclude", first, "--out", second,
           "--format", "json")
    assert pd.read_csv(second)["index"].tolist() == eights[3:6]
    assert json.loads(r.stdout)["remaining_to_review"] == len(eights) - 3
    # --exclude alone skips rows across every class; a .npy of indices works too.
    np.save(tmp_path / "done.npy", np.array(issues.ranking[:10]))
    r = ok("find-issues", *NPY, "--exclude", tmp_path / "done.npy", "--out", "-", "-q")
    assert pd.read_csv(io.StringIO(r.stdout))["index"].tolist() == issues.ranking[10:].tolist()


def test_exclude_and_class_errors(tmp_path, capsys):
    def err(*args):
        with pytest.raises(SystemExit) as e:
            main([str(a) for a in args])
        assert e.value.code == 2
        return capsys.readouterr().err.strip()

    assert "--class 'ate' is not one of the classes" in err("find-issues", *PQ1, "--class", "ate")
    pd.DataFrame({"row": [1, 2]}).to_csv(tmp_path / "x.csv", index=False)
    assert "no 'index' column" in err("find-issues", *NPY, "--exclude", tmp_path / "x.csv")
    pd.DataFrame({"index": [1, 5000]}).to_csv(tmp_path / "y.csv", index=False)
    assert "index 5000 is outside 0..1796" in err("find-issues", *NPY, "--exclude", tmp_path / "y.csv")
    assert "1-D array of row indices" in err("find-issues", *NPY, "--exclude", SAMPLE / "digits_pred_probs.npy")
