"""labelcli find-issues: defaults and --compat cleanlab, every filter and ranking, outputs, the gate, every
input format giving the same issues, quality and determinism, --class / --exclude review batches.

Run in-process through labelcli.cli.main (tests/conftest.py run_cli), the real console-script entry."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DIGIT_NAMES as NAMES
from tests.conftest import SAMPLE, assert_one_error_line, cli_ok, read_result, run_cli
from tests.conftest import SAMPLE_CSV2 as CSV2
from tests.conftest import SAMPLE_NPY as NPY
from tests.conftest import SAMPLE_PQ1 as PQ1
from tests.conftest import SAMPLE_SOURCES as SOURCES

CLASSES_OPT = ",".join(NAMES)
FILTERS = [
    "low_posterior", "low_adjusted_margin", "prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
    "predicted_neq_given", "low_self_confidence", "low_normalized_margin",
]
PRUNING = {"prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"}
RANKERS = ["posterior", "adjusted_margin", "self_confidence", "normalized_margin", "confidence_weighted_entropy"]


def csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"given_label": str, "predicted_label": str})


def test_find_issues_from_pred_probs_default(default_issues, sample_labels, sample_pred_probs):
    """labelcli's defaults (low_posterior, ranked by posterior) on the .npy sample."""
    import labelcli

    t = default_issues
    assert list(t.columns) == ["index", "given_label", "predicted_label", "label_score", "is_label_issue"]
    api = labelcli.find_label_issues(sample_labels, sample_pred_probs)
    assert api.filter_by == "low_posterior" and api.rank_by == "posterior"
    assert list(t["index"]) == list(api.ranking) and len(t) == 111
    assert t["is_label_issue"].all()
    assert t["index"].is_unique and t["index"].between(0, 1796).all()
    assert t["label_score"].is_monotonic_increasing  # most suspect first
    idx = t["index"].to_numpy()
    assert (t["given_label"].astype(int).to_numpy() == sample_labels[idx]).all()
    assert (t["predicted_label"].astype(int).to_numpy() == sample_pred_probs[idx].argmax(axis=1)).all()
    np.testing.assert_allclose(t["label_score"], api.scores[idx], rtol=1e-12)


def test_find_issues_compat_cleanlab_is_cleanlabs_default(default_issues, sample_labels, sample_pred_probs):
    """--compat cleanlab: cleanlab 2.9's default filter and ranking (sample_data/README.md: 103 rows)."""
    cleanlab_filter = pytest.importorskip("cleanlab.filter")
    t = csv_text(cli_ok("find-issues", *NPY, "--compat", "cleanlab", "-q", "--out", "-").stdout)
    ranked = cleanlab_filter.find_label_issues(sample_labels, sample_pred_probs,
                                               return_indices_ranked_by="self_confidence")
    assert list(t["index"]) == list(ranked) and len(t) == 103
    idx = t["index"].to_numpy()
    assert (t["given_label"] != t["predicted_label"]).all()
    np.testing.assert_allclose(t["label_score"], sample_pred_probs[idx, sample_labels[idx]], rtol=1e-6)
    # an option given explicitly wins over the profile
    both = csv_text(cli_ok("find-issues", *NPY, "--compat", "cleanlab", "--rank-by", "adjusted_margin", "-q",
                           "--out", "-").stdout)
    assert set(both["index"]) == set(t["index"]) and list(both["index"]) != list(t["index"])
    code, out, err = run_cli("find-issues", *NPY, "--compat", "sklearn")
    assert code == 2 and out == ""
    assert_one_error_line(err, "--compat 'sklearn'", "labelcli, cleanlab")


def test_find_issues_with_only_features_cross_validates(tmp_path, sample_is_error):
    out = tmp_path / "issues.csv"
    r = cli_ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-x", SAMPLE / "digits_features.npy",
               "--folds", 3, "--out", out, "--format", "json")
    doc = json.loads(r.stdout)
    assert 0.8 < doc["cv_accuracy"] < 0.97
    assert "cross-validation" in r.stderr
    t = read_result(out)
    # --features also runs the feature-space checks: their rows carry issue_type without "label".
    assert "features" in doc and t["issue_type"].notna().all()
    t = t[t["is_label_issue"]]
    assert len(t) == doc["num_issues"] > 0
    idx = t["index"].to_numpy()
    precision, recall = sample_is_error[idx].mean(), sample_is_error[idx].sum() / sample_is_error.sum()
    print(f"\n[find-issues --features, 3-fold logreg] flagged {len(idx)}: "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.5 and recall >= 0.5, (precision, recall)


@pytest.mark.parametrize("filter_by", FILTERS)
def test_find_issues_every_filter(filter_by, sample_labels, sample_pred_probs):
    r = cli_ok("find-issues", *NPY, "--filter-by", filter_by, "-q", "--out", "-")
    t = csv_text(r.stdout)
    assert 0 < len(t) < 1797 // 4, len(t)
    assert t["is_label_issue"].all() and t["index"].is_unique
    assert t["label_score"].is_monotonic_increasing
    idx = t["index"].to_numpy()
    if filter_by in PRUNING:  # an example whose argmax is its given label is never flagged
        assert (sample_pred_probs[idx].argmax(axis=1) != sample_labels[idx]).all()
    if filter_by == "predicted_neq_given":
        assert len(t) == int((sample_pred_probs.argmax(axis=1) != sample_labels).sum())
    js = cli_ok("find-issues", *NPY, "--filter-by", filter_by, "-q", "--format", "json")
    doc = json.loads(js.stdout)
    assert doc["filter_by"] == filter_by and doc["num_issues"] == len(t)


@pytest.mark.parametrize("rank_by", RANKERS)
def test_find_issues_every_ranking(rank_by, default_issues):
    r = cli_ok("find-issues", *NPY, "--rank-by", rank_by, "-q", "--out", "-")
    t = csv_text(r.stdout)
    # Ranking orders the flagged set; it does not change it.
    assert set(t["index"]) == set(default_issues["index"])
    assert t["label_score"].is_monotonic_increasing
    assert t["label_score"].between(0, 1).all()


def test_find_issues_top_and_all(default_issues):
    top = csv_text(cli_ok("find-issues", *NPY, "--top", 5, "-q", "--out", "-").stdout)
    assert list(top["index"]) == list(default_issues["index"][:5])
    big = csv_text(cli_ok("find-issues", *NPY, "--top", 5000, "-q", "--out", "-").stdout)
    assert list(big["index"]) == list(default_issues["index"])
    every = csv_text(cli_ok("find-issues", *NPY, "--all", "-q", "--out", "-").stdout)
    assert len(every) == 1797
    assert sorted(every["index"]) == list(range(1797))
    n = len(default_issues)
    assert every["is_label_issue"][:n].all() and not every["is_label_issue"][n:].any()
    assert list(every["index"][:n]) == list(default_issues["index"])
    assert every["label_score"][n:].is_monotonic_increasing
    top_all = csv_text(cli_ok("find-issues", *NPY, "--all", "--top", 200, "-q", "--out", "-").stdout)
    assert len(top_all) == 200 and top_all["is_label_issue"].sum() == n


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".jsonl"])
def test_find_issues_output_formats(tmp_path, suffix, default_issues):
    out = tmp_path / f"issues{suffix}"
    r = cli_ok("find-issues", *NPY, "-q", "--out", out)
    assert r.stdout == ""
    t = read_result(out)
    assert list(t.columns) == list(default_issues.columns)
    assert list(t["index"]) == list(default_issues["index"])
    assert list(t["given_label"].astype(str)) == list(default_issues["given_label"])
    assert list(t["predicted_label"].astype(str)) == list(default_issues["predicted_label"])
    np.testing.assert_allclose(t["label_score"], default_issues["label_score"], rtol=1e-12)
    assert t["is_label_issue"].astype(bool).all()
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp files left beside it


def test_find_issues_out_dash_is_csv_on_stdout(tmp_path, default_issues):
    out = tmp_path / "issues.csv"
    cli_ok("find-issues", *NPY, "-q", "--out", out)
    r = cli_ok("find-issues", *NPY, "--out", "-")
    assert r.stdout.encode() == out.read_bytes()
    assert "labelcli find-issues" in r.stderr  # the report still goes to stderr


def test_find_issues_format_json_stdout_is_clean(default_issues):
    r = cli_ok("find-issues", *NPY, "--format", "json")
    doc = json.loads(r.stdout)  # stdout is JSON and nothing else
    assert doc["num_examples"] == 1797 and doc["num_issues"] == len(default_issues)
    assert doc["filter_by"] == "low_posterior" and doc["rank_by"] == "posterior"
    assert doc["cv_accuracy"] is None
    assert [row["index"] for row in doc["issues"]] == list(default_issues["index"][:20])
    assert "likely label issues" in r.stderr and '"num_issues"' not in r.stderr
    quiet = cli_ok("find-issues", *NPY, "--format", "json", "-q")
    assert json.loads(quiet.stdout) == doc and quiet.stderr == ""


def test_find_issues_fail_on_issues_gate(tmp_path, default_issues):
    out = tmp_path / "issues.csv"
    r = run_cli("find-issues", *NPY, "-q", "--fail-on-issues", 5, "--out", out)
    assert r.code == 1
    n = len(default_issues)
    assert f"{n} label issues" in r.stderr and "--fail-on-issues 5" in r.stderr  # the reason, even with -q
    assert len(read_result(out)) == n  # the table is still written
    assert run_cli("find-issues", *NPY, "-q", "--fail-on-issues", n).code == 0  # "more than N"
    assert run_cli("find-issues", *NPY, "-q", "--fail-on-issues", n - 1).code == 1


# ====================================================================== 2. input formats


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_input_format_gives_the_same_issues(source, default_issues):
    """Consistency: the flagged rows (and their order) do not depend on the file format."""
    t = csv_text(cli_ok("find-issues", *SOURCES[source], "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])
    # float64 values parsed from text vs the float32 .npy: the thresholds and so the noise matrix
    # behind the posterior are computed in the data's dtype, a few ulps of float32 apart
    np.testing.assert_allclose(t["label_score"], default_issues["label_score"], rtol=1e-4)
    expected_names = default_issues["given_label"] if source == "npy" else \
        default_issues["given_label"].astype(int).map(lambda i: NAMES[i])
    assert list(t["given_label"]) == list(expected_names)


@pytest.mark.parametrize("filter_by", ["prune_by_class", "both", "low_normalized_margin"])
def test_same_flagged_set_csv_vs_parquet_vs_npy_other_filters(filter_by):
    run = lambda args: cli_ok("find-issues", *args, "--filter-by", filter_by, "-q", "--out", "-")  # noqa: E731
    sets = {name: csv_text(run(args).stdout)["index"].tolist() for name, args in SOURCES.items()}
    first = sets["npy"]
    assert all(v == first for v in sets.values()), {k: len(v) for k, v in sets.items()}


def test_class_names_come_from_pred_probs_columns(sample_labels):
    # integer labels + named sample_pred_probs columns -> names in the output
    t = csv_text(cli_ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "pred_probs.csv",
                        "-q", "--out", "-").stdout)
    assert set(t["given_label"]) <= set(NAMES) and set(t["predicted_label"]) <= set(NAMES)
    assert list(t["given_label"]) == [NAMES[sample_labels[i]] for i in t["index"]]
    # one table with a prefix: the rest of the column name is the class name
    s = csv_text(cli_ok("score", *PQ1, "-q", "--out", "-").stdout)
    assert list(s["given_label"]) == [NAMES[i] for i in sample_labels]
    # no names anywhere: class indices as strings
    n = csv_text(cli_ok("score", *NPY, "-q", "--out", "-").stdout)
    assert list(n["given_label"]) == [str(i) for i in sample_labels]


def test_string_labels_mapped_through_classes(bad, default_issues):
    t = csv_text(cli_ok("find-issues", "-l", bad / "string_labels.csv", "-p", SAMPLE / "digits_pred_probs.npy",
                        "--classes", CLASSES_OPT, "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])
    assert list(t["given_label"]) == [NAMES[int(i)] for i in default_issues["given_label"]]
    assert list(t["predicted_label"]) == [NAMES[int(i)] for i in default_issues["predicted_label"]]
    # integer labels with --classes: the names label the output
    u = csv_text(cli_ok("find-issues", *NPY, "--classes", CLASSES_OPT, "-q", "--out", "-").stdout)
    assert list(u["given_label"]) == list(t["given_label"])


def test_classes_in_another_order_reorders_named_columns():
    """--classes names the same classes as the pred_probs columns, in another order: aligned by name."""
    rev = ",".join(reversed(NAMES))
    a = csv_text(cli_ok("score", *CSV2, "-q", "--out", "-").stdout)
    b = csv_text(cli_ok("score", *CSV2, "--classes", rev, "-q", "--out", "-").stdout)
    pd.testing.assert_frame_equal(a, b)


def test_stdin_in_process(default_issues):
    table = (SAMPLE / "digits.csv").read_bytes()
    t = csv_text(cli_ok("find-issues", "-l", "-", "-p", "-", "--prob-prefix", "prob_", "-q", "--out", "-",
                        stdin=table).stdout)
    assert list(t["index"]) == list(default_issues["index"])
    s = csv_text(cli_ok("score", "-l", "-", "-p", SAMPLE / "pred_probs.csv", "-q", "--out", "-",
                        stdin=(SAMPLE / "labels.csv").read_bytes()).stdout)
    assert len(s) == 1797 and s["given_label"].iloc[1] == "eight"


def test_normalize_rescales_rows(bad, default_issues):
    """Rows summing to 0.5 are refused without --normalize (tested below) and rescaled with it."""
    t = csv_text(cli_ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "half.npy", "--normalize",
                        "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])


def test_normalize_rescales_rows_with_values_above_one(bad, default_issues, sample_pred_probs):
    """pred_probs * 1.5 (accepted with --normalize) must give the same answer as the original file.

    Regression: an interim validate.py clipped values above 1 to 1 before rescaling.
    """
    r = cli_ok("score", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "x1_5.npy", "--normalize", "-q", "--out", "-",
               "--method", "self_confidence")
    s = csv_text(r.stdout)
    expected = sample_pred_probs.astype(np.float64) / sample_pred_probs.sum(axis=1, keepdims=True, dtype=np.float64)
    np.testing.assert_allclose(s["label_score"], expected[np.arange(1797), np.load(SAMPLE / "digits_labels.npy")],
                               rtol=1e-6)
    t = csv_text(cli_ok("find-issues", "-l", SAMPLE / "digits_labels.npy", "-p", bad / "x1_5.npy", "--normalize",
                        "-q", "--out", "-").stdout)
    assert list(t["index"]) == list(default_issues["index"])


# ====================================================================== 3. quality, determinism


def test_planted_noise_precision_recall(default_issues, sample_is_error):
    idx = default_issues["index"].to_numpy()
    tp = int(sample_is_error[idx].sum())
    precision, recall = tp / len(idx), tp / int(sample_is_error.sum())
    msg = (f"default find-issues on the sample: flagged {len(idx)}, {tp} of {int(sample_is_error.sum())} planted "
           f"errors -> precision {precision:.3f}, recall {recall:.3f}")
    print("\n" + msg)
    assert precision >= 0.6 and recall >= 0.6, msg


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json", ".jsonl"])
def test_outputs_are_byte_identical_across_runs(tmp_path, suffix):
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    cli_ok("find-issues", *CSV2, "--all", "-q", "--out", a)
    cli_ok("find-issues", *CSV2, "--all", "-q", "--out", b)
    assert a.read_bytes() == b.read_bytes()


def test_score_and_health_are_byte_identical_across_runs(tmp_path):
    for cmd, name in (("score", "s.csv"), ("health", "h.json")):
        a, b = tmp_path / f"a_{name}", tmp_path / f"b_{name}"
        cli_ok(cmd, *PQ1, "-q", "--out", a)
        cli_ok(cmd, *PQ1, "-q", "--out", b)
        assert a.read_bytes() == b.read_bytes(), cmd


# ------------------------------------------------------------------ review iterations: --class, --exclude


def test_review_fifty_at_a_time_with_class_and_exclude(tmp_path):
    """Work through one class in batches: each run skips the rows reviewed before."""
    from labelcli import find_label_issues

    labels = np.load(SAMPLE / "digits_labels.npy")
    issues = find_label_issues(labels, np.load(SAMPLE / "digits_pred_probs.npy"))
    eights = [int(i) for i in issues.ranking if labels[i] == 8]
    assert len(eights) > 6
    first, second = tmp_path / "b1.csv", tmp_path / "b2.csv"
    r = cli_ok("find-issues", *PQ1, "--class", "eight", "--top", "3", "--out", first)
    text = " ".join(r.stderr.replace("│", " ").split())  # a batch of 3 rows, flagged or not
    assert f"{len(eights):,} flagged left in scope" in text and "3 rows" in text
    assert pd.read_csv(first)["index"].tolist() == eights[:3]
    r = cli_ok("find-issues", *PQ1, "--class", "eight", "--top", "3", "--exclude", first, "--out", second,
               "--format", "json")
    assert pd.read_csv(second)["index"].tolist() == eights[3:6]
    assert json.loads(r.stdout)["remaining_to_review"] == len(eights) - 3
    # --exclude alone skips rows across every class; a .npy of indices works too.
    np.save(tmp_path / "done.npy", np.array(issues.ranking[:10]))
    r = cli_ok("find-issues", *NPY, "--exclude", tmp_path / "done.npy", "--out", "-", "-q")
    assert pd.read_csv(io.StringIO(r.stdout))["index"].tolist() == issues.ranking[10:].tolist()


def test_exclude_and_class_errors(tmp_path):
    def err(*args):
        code, _, stderr = run_cli(*args)
        assert code == 2
        return stderr.strip()

    assert "--class 'ate' is not one of the classes" in err("find-issues", *PQ1, "--class", "ate")
    pd.DataFrame({"row": [1, 2]}).to_csv(tmp_path / "x.csv", index=False)
    assert "no 'index' column" in err("find-issues", *NPY, "--exclude", tmp_path / "x.csv")
    pd.DataFrame({"index": [1, 5000]}).to_csv(tmp_path / "y.csv", index=False)
    assert "index 5000 is outside 0..1796" in err("find-issues", *NPY, "--exclude", tmp_path / "y.csv")
    assert "1-D array of row indices" in err("find-issues", *NPY, "--exclude", SAMPLE / "digits_pred_probs.npy")
