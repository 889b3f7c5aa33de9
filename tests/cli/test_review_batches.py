"""Review batches (issue #14 item 9) and the review loop's --exclude (item 2): `--class X --top N`
gives N rows of that class, the most suspect first, flagged or not; repeated --exclude skips the
union of the files; score --method importance takes --exclude."""
from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import SAMPLE, cli_ok, run_cli

PQ = ["-l", SAMPLE / "digits.parquet", "-p", SAMPLE / "digits.parquet", "--prob-prefix", "prob_"]


def _issues(tmp_path, *args, name="t.csv"):
    out = tmp_path / name
    cli_ok("find-issues", *PQ, "-q", "--out", out, *args)
    return pd.read_csv(out)


def test_class_top_is_a_batch_of_n_rows_flagged_or_not(tmp_path):
    every = _issues(tmp_path, "--all", name="all.csv")
    of_three = every[every["given_label"] == "three"]
    flagged = int(of_three["is_label_issue"].sum())
    assert 0 < flagged < 50  # the sample has fewer flagged threes than a batch
    batch = _issues(tmp_path, "--class", "three", "--top", "50")
    assert len(batch) == 50 and (batch["given_label"] == "three").all()
    assert int(batch["is_label_issue"].sum()) == flagged  # the flag stays a column
    # the most suspect first: flagged rows (in rank order), then the rest by score
    assert batch["index"].tolist() == of_three["index"].head(50).tolist()
    rest = batch[~batch["is_label_issue"]]["label_score"]
    assert rest.is_monotonic_increasing


def test_batch_terminal_says_how_many_are_flagged():
    r = cli_ok("find-issues", *PQ, "--class", "three", "--top", "30")
    text = " ".join(r.stderr.replace("│", " ").split())  # the report goes to stderr
    assert "review batch" in text and "30 rows" in text and "of them flagged" in text


def test_top_without_a_scope_still_lists_flagged_rows_only(tmp_path):
    t = _issues(tmp_path, "--top", "500")
    assert t["is_label_issue"].all() and len(t) < 500


def test_repeated_exclude_takes_the_union(tmp_path):
    first = _issues(tmp_path, "--top", "10", name="r1.csv")
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, first["index"].to_numpy()[:5])
    np.save(b, first["index"].to_numpy()[5:])
    left = _issues(tmp_path, "--exclude", a, "--exclude", b, name="r2.csv")
    assert not set(first["index"]) & set(left["index"])
    only_b = _issues(tmp_path, "--exclude", b, name="r3.csv")
    assert set(first["index"][:5]) <= set(only_b["index"])


def test_score_importance_takes_exclude(tmp_path):
    args = ["score", "--method", "importance", "-x", SAMPLE / "digits_features.npy",
            "-l", SAMPLE / "digits_labels.npy", "--class", "8", "--top", "20"]
    first = tmp_path / "r1.csv"
    cli_ok(*args, "--out", first, "-q")
    seen = pd.read_csv(first)
    second = tmp_path / "r2.csv"
    cli_ok(*args, "--out", second, "-q", "--exclude", first)
    nxt = pd.read_csv(second)
    assert len(nxt) == 20 and not set(seen["index"]) & set(nxt["index"])
    labels = np.load(SAMPLE / "digits_labels.npy")
    assert (labels[nxt["index"]] == 8).all()


def test_exclude_needs_importance_in_score(tmp_path):
    np.save(tmp_path / "x.npy", np.array([1, 2]))
    code, out, err = run_cli("score", "-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "digits_pred_probs.npy",
                             "--exclude", tmp_path / "x.npy")
    assert code == 2 and "--exclude" in err


def test_report_gallery_shows_top_rows_flagged_or_not_and_marks_the_flagged(tmp_path):
    from labelcli import find_label_issues
    from labelcli.cli.review import gallery_captions, most_suspect_rows

    labels = np.load(SAMPLE / "digits_labels.npy")
    issues = find_label_issues(labels, np.load(SAMPLE / "digits_pred_probs.npy"))
    rows = most_suspect_rows(issues, None)
    assert sorted(rows.tolist()) == list(range(len(labels)))  # every row, flagged first
    assert rows[: issues.num_issues].tolist() == issues.ranking.tolist()
    shown = rows[: issues.num_issues + 5]
    caps = gallery_captions(shown, labels, issues, [str(c) for c in range(10)])
    assert [c.startswith("*") for c in caps] == [True] * issues.num_issues + [False] * 5
    skip = np.zeros(len(labels), dtype=bool)
    skip[rows[-3:]] = True
    assert len(most_suspect_rows(issues, skip)) == len(labels) - 3
    # the CLI: a gallery of --top images even when fewer are flagged
    out = tmp_path / "rep"
    r = cli_ok("report", "-l", SAMPLE / "digits_labels.npy", "-p", SAMPLE / "digits_pred_probs.npy",
               "--images", SAMPLE / "digits_images.npy", "--top", str(issues.num_issues + 5), "--out", out, "-q")
    assert (out / "index.html").exists(), r.stderr


def test_report_score_and_health_skip_rows_dropped_by_fix(tmp_path):
    first = tmp_path / "r1.csv"
    cli_ok("find-issues", "-l", SAMPLE / "digits.csv", "-p", SAMPLE / "digits.csv", "--prob-prefix", "prob_",
           "-q", "--top", "30", "--out", first)
    fixed = tmp_path / "f1.csv"
    cli_ok("fix", "-l", SAMPLE / "digits.csv", "--issues", first, "--auto", "drop", "--out", fixed, "-q")
    dropped = set(pd.read_csv(first)["index"])
    p = ["-p", SAMPLE / "digits.csv", "--prob-prefix", "prob_"]
    r = cli_ok("score", "-l", fixed, *p, "--out", tmp_path / "s.csv")
    assert "30 rows dropped by an earlier fix" in " ".join(r.stderr.split())
    s = pd.read_csv(tmp_path / "s.csv")
    assert len(s) == 1797 - 30 and not dropped & set(s["index"]) and s["index"].max() == 1796
    h = tmp_path / "h.json"
    cli_ok("health", "-l", fixed, *p, "-q", "--out", h)
    import json

    assert json.loads(h.read_text())["num_examples"] == 1797 - 30
    r = cli_ok("report", "-l", fixed, *p, "--out", tmp_path / "rep", "-q", "--format", "json")
    assert json.loads(r.stdout)["num_issues"] <= json.loads(r.stdout)["num_examples"]
    html = (tmp_path / "rep" / "index.html").read_text()
    assert not any(f">{i}<" in html for i in sorted(dropped)[:5] if i > 100)
