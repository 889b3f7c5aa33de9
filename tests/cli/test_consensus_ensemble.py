"""labelcli consensus with several models (--pred-probs repeated: ensemble CROWDLAB) and the
active learning outputs (active_learning_score, --unlabeled-pred-probs, --active-learning-out)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labelcli import active_learning_scores, consensus
from labelcli.io.annotations import read_annotations
from tests.cli.test_consensus import PP_CSV, PP_NPY, crowd  # noqa: F401  (the fixture)
from tests.conftest import DIGIT_NAMES, assert_bad_input, cli_ok


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A second, weaker model of the digits (blurred pred_probs, .npy) and both models'
    pred_probs of 40 'unlabeled' examples (CSV with class names, and .npy)."""
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(1)
    pp = np.load(PP_NPY)
    weak = 0.5 * pp + 0.5 * rng.dirichlet(np.ones(10), len(pp))
    np.save(folder / "weak.npy", weak)
    pd.DataFrame(pp[:40], columns=DIGIT_NAMES).to_csv(folder / "new_a.csv", index=False)
    np.save(folder / "new_b.npy", weak[:40])
    return folder


def test_two_models_weighted_and_reported(crowd, models, tmp_path):  # noqa: F811
    folder, truth = crowd
    out = tmp_path / "cons.csv"
    r = cli_ok("consensus", "-a", folder / "long.csv", "-p", PP_CSV, "-p", models / "weak.npy", "--out", out,
               "--format", "json")
    doc = json.loads(r.stdout)
    weights = doc["model_weights"]
    assert list(weights) == ["pred_probs.csv", "weak.npy"] and weights["pred_probs.csv"] > weights["weak.npy"] > 0
    assert "model weights pred_probs.csv" in r.stderr.replace("\n", " ")
    ann = read_annotations(str(folder / "long.csv"), pred_probs=[str(PP_CSV), str(models / "weak.npy")])
    want = consensus(ann.matrix, ann.pred_probs)
    table = pd.read_csv(out)
    np.testing.assert_allclose(table["consensus_quality"], want.quality, rtol=1e-12)
    np.testing.assert_allclose(want.model_weights, list(weights.values()))
    assert np.mean(table["consensus_label"].map(DIGIT_NAMES.index).to_numpy() == truth) > 0.95


def test_one_file_is_todays_consensus(crowd, tmp_path):  # noqa: F811
    folder, _ = crowd
    out = tmp_path / "cons.csv"
    r = cli_ok("consensus", "-a", folder / "long.csv", "-p", PP_CSV, "--out", out, "--format", "json", "-q")
    ann = read_annotations(str(folder / "long.csv"), pred_probs=str(PP_CSV))
    want = consensus(ann.matrix, ann.pred_probs)
    table = pd.read_csv(out)
    assert ann.pred_probs.ndim == 2 and "model_weights" not in json.loads(r.stdout)
    assert want.model_weights is None
    np.testing.assert_array_equal(table["consensus_quality"], pd.read_csv(
        pd.io.common.StringIO(pd.DataFrame({"q": want.quality}).to_csv(index=False)))["q"])


def test_active_learning_column_and_unlabeled_table(crowd, models, tmp_path):  # noqa: F811
    folder, _ = crowd
    out, al = tmp_path / "cons.csv", tmp_path / "next.csv"
    r = cli_ok("consensus", "-a", folder / "wide.npy", "-p", PP_CSV, "-p", models / "weak.npy", "--out", out,
               "--unlabeled-pred-probs", models / "new_a.csv", "--unlabeled-pred-probs", models / "new_b.npy",
               "--active-learning-out", al, "--format", "json")
    ann = read_annotations(str(folder / "wide.npy"), pred_probs=[str(PP_CSV), str(models / "weak.npy")],
                           unlabeled_pred_probs=[str(models / "new_a.csv"), str(models / "new_b.npy")])
    want = active_learning_scores(ann.matrix, ann.pred_probs, ann.unlabeled)
    table = pd.read_csv(out)
    np.testing.assert_allclose(table["active_learning_score"], want.scores, rtol=1e-12)
    nxt = pd.read_csv(al)
    assert list(nxt.columns) == ["index", "active_learning_score"] and len(nxt) == 40
    assert nxt["active_learning_score"].is_monotonic_increasing
    np.testing.assert_allclose(nxt["active_learning_score"], want.unlabeled_scores[nxt["index"]], rtol=1e-12)
    doc = json.loads(r.stdout)["active_learning"]
    assert doc["num_unlabeled"] == 40 and doc["label_next_unlabeled"][0]["index"] == int(nxt["index"][0])
    assert doc["label_next"][0]["index"] == int(np.argmin(want.scores)) and len(doc["temperatures"]) == 2
    # examples labeled by fewer, disagreeing annotators come first
    low = table.nsmallest(100, "active_learning_score")
    assert low["annotator_agreement"].mean() < table["annotator_agreement"].mean()


def test_compat_cleanlab_changes_only_the_temperature_fit(crowd, tmp_path):  # noqa: F811
    folder, _ = crowd
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    cli_ok("consensus", "-a", folder / "wide.npy", "-p", PP_CSV, "--out", a, "-q")
    cli_ok("consensus", "-a", folder / "wide.npy", "-p", PP_CSV, "--out", b, "-q", "--compat", "cleanlab")
    ta, tb = pd.read_csv(a), pd.read_csv(b)
    pd.testing.assert_frame_equal(ta.drop(columns="active_learning_score"), tb.drop(columns="active_learning_score"))


def test_bad_ensembles(crowd, models, tmp_path):  # noqa: F811
    folder, _ = crowd
    a = folder / "wide.npy"
    np.save(tmp_path / "k9.npy", np.full((len(np.load(PP_NPY)), 9), 1 / 9))
    np.save(tmp_path / "short.npy", np.full((5, 10), 0.1))
    nan = np.load(PP_NPY).copy()
    nan[3, 2] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    other = pd.read_csv(PP_CSV)
    other.columns = list(other.columns[::-1])
    other.to_csv(tmp_path / "reversed.csv", index=False)
    out = tmp_path / "o.csv"
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "-p", tmp_path / "k9.npy", "--out", out],
                     "k9.npy has 9 class columns", out=out)
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "-p", tmp_path / "short.npy"], "short.npy has 5 rows")
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "-p", tmp_path / "nan.npy"], "nan.npy")
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "-p", tmp_path / "reversed.csv"],
                     "reversed.csv: class columns", "differ")
    assert_bad_input(["consensus", "-a", a, "--unlabeled-pred-probs", models / "new_a.csv",
                      "--active-learning-out", out], "needs --pred-probs", out=out)
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "--unlabeled-pred-probs", models / "new_a.csv"],
                     "go together")
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "--active-learning-out", out], "go together", out=out)
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "--unlabeled-pred-probs", tmp_path / "k9.npy",
                      "--active-learning-out", out], "k9.npy has 9 class columns", out=out)
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "--unlabeled-pred-probs", models / "new_a.csv",
                      "--unlabeled-pred-probs", models / "new_b.npy", "--active-learning-out", out],
                     "2 --unlabeled-pred-probs files for 1 --pred-probs", out=out)
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "--unlabeled-pred-probs", tmp_path / "reversed.csv",
                      "--active-learning-out", out], "differ", out=out)
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "--unlabeled-pred-probs", models / "new_a.csv",
                      "--active-learning-out", out, "--out", out], "different files", out=out)
    assert_bad_input(["consensus", "-a", a, "-p", PP_CSV, "--compat", "sklearn"], "--compat")


def test_ensemble_and_active_learning_outputs_are_byte_identical_run_to_run(crowd, models, tmp_path):  # noqa: F811
    folder, _ = crowd
    for tag in ("a", "b"):
        cli_ok("consensus", "-a", folder / "long.csv", "-p", PP_CSV, "-p", models / "weak.npy", "-q",
               "--out", tmp_path / f"{tag}.parquet", "--unlabeled-pred-probs", models / "new_a.csv",
               "--unlabeled-pred-probs", models / "new_b.npy", "--active-learning-out", tmp_path / f"{tag}_next.csv")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert (tmp_path / "a_next.csv").read_bytes() == (tmp_path / "b_next.csv").read_bytes()


def test_cross_validated_pred_probs_give_active_learning_scores_too(crowd, tmp_path):  # noqa: F811
    from tests.conftest import SAMPLE

    folder, _ = crowd
    out = tmp_path / "cons.csv"
    cli_ok("consensus", "-a", folder / "wide.npy", "-x", SAMPLE / "digits_features.npy", "--folds", "3",
           "--out", out, "-q")
    scores = pd.read_csv(out)["active_learning_score"]
    assert scores.between(0, 1).all() and scores.nunique() > 100
    assert_bad_input(["consensus", "-a", folder / "wide.npy", "-x", SAMPLE / "digits_features.npy",
                      "--unlabeled-pred-probs", PP_CSV, "--active-learning-out", tmp_path / "n.csv"],
                     "needs --pred-probs")


def test_real_process_with_two_models_to_stdout(crowd, models):  # noqa: F811
    from tests.cli.test_app import subprocess_run

    folder, _ = crowd
    r = subprocess_run(["consensus", "-a", folder / "wide.npy", "-p", PP_CSV, "-p", models / "weak.npy",
                        "--out", "-", "-q"])
    assert r.returncode == 0 and r.stderr == b""
    head = r.stdout.decode().splitlines()[0]
    assert head.endswith("num_annotations,active_learning_score")
