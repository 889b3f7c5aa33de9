"""Several annotators (issue #18 item 4): labelcli consensus against cleanlab 2.9's
multiannotator.get_label_quality_multiannotator on planted annotator noise.

Data: scikit-learn's digits (1,797 x 64, 10 classes) and wine (178 x 13, 3 classes). Truth is
the dataset's label; M simulated annotators with accuracies spread over [acc_low, 0.95] label a
random subset each (every example gets 1 to 3 labels, so some are labeled by one person only);
a wrong label is a random other class, or (in the "confusable" setting) the class the truth is most
often confused with by a model. pred_probs: 5-fold cross-validated logistic regression trained on
the majority vote (what one would train before any consensus), the same array for both tools.

Measured per setting and seed: accuracy of the consensus labels against the truth (majority vote,
labelcli, cleanlab), Spearman rank correlation of the annotator quality scores with the annotators'
true accuracy (labelcli, cleanlab, and agreement-only), the largest difference between the two
tools' scores, and the time of each; then the time of both on 100,000 synthetic examples. Run: .venv/bin/python bench/consensus.py [--seeds 5]
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def simulate(truth: np.ndarray, k: int, m: int, rng, *, acc_low: float, confusable: np.ndarray | None = None):
    """N x M annotations (NaN = not labeled) and the annotators' true accuracies."""
    n = len(truth)
    acc = np.sort(rng.uniform(acc_low, 0.95, m))
    per = rng.integers(1, 4, n)  # 1..3 labels per example
    scores = rng.random((n, m))
    chosen = scores <= np.sort(scores, axis=1)[np.arange(n), per - 1][:, None]
    right = rng.random((n, m)) < acc[None, :]
    wrong = (truth[:, None] + rng.integers(1, k, (n, m))) % k
    if confusable is not None:  # half the errors go to the class the truth is most confused with
        near = rng.random((n, m)) < 0.5
        wrong = np.where(near, confusable[truth][:, None], wrong)
    labels = np.where(right, truth[:, None], wrong).astype(float)
    labels[~chosen] = np.nan
    true_acc = np.array([np.mean(labels[chosen[:, j], j] == truth[chosen[:, j]]) for j in range(m)])
    return labels, true_acc



def timed(fn, *args, silence: bool = False, **kw):
    """(fn(*args, **kw), its wall time in seconds); silence: cleanlab's warnings not printed."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        if silence:
            warnings.simplefilter("ignore")
        out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def both_tools(ann, pp, k: int):
    """labelcli's and cleanlab's CROWDLAB on the same annotations and pred_probs, each timed:
    (labelcli's result, cleanlab's dict, labelcli seconds, cleanlab seconds)."""
    from cleanlab.multiannotator import get_label_quality_multiannotator

    from labelcli.core.consensus import consensus

    ours, t_ours = timed(consensus, ann, pp, num_classes=k)
    cl, t_cl = timed(get_label_quality_multiannotator, ann, pp, verbose=False, silence=True)
    return ours, cl, t_ours, t_cl


def run(name: str, x: np.ndarray, truth: np.ndarray, m: int, seed: int, acc_low: float, confuse: bool) -> dict:
    from scipy.stats import spearmanr

    from labelcli.core.consensus import check_annotations, consensus, majority_vote
    from labelcli.ml.crossval import cross_val_pred_probs

    k = int(truth.max()) + 1
    rng = np.random.default_rng(seed)
    confusable = None
    if confuse:
        cv0 = cross_val_pred_probs(x, truth, num_classes=k, seed=seed).pred_probs
        p = cv0.copy()
        p[np.arange(len(truth)), truth] = -1
        conf = np.zeros((k, k))
        np.add.at(conf, (truth, p.argmax(axis=1)), 1)
        confusable = conf.argmax(axis=1)
    ann, true_acc = simulate(truth, k, m, rng, acc_low=acc_low, confusable=confusable)
    mat, _ = check_annotations(ann, k)
    vote = majority_vote(mat, k)
    pp = cross_val_pred_probs(x, vote, num_classes=k, seed=seed).pred_probs
    ours, cl, t_ours, t_cl = both_tools(ann, pp, k)
    lq = cl["label_quality"]
    st = cl["annotator_stats"].sort_index()
    agree_only = consensus(ann, num_classes=k)
    return {
        "data": name, "M": m, "seed": seed, "setting": "confusable" if confuse else "uniform",
        "acc_majority": float(np.mean(vote == truth)),
        "acc_labelcli": float(np.mean(ours.labels == truth)),
        "acc_cleanlab": float(np.mean(lq["consensus_label"].to_numpy() == truth)),
        "rho_labelcli": float(spearmanr(ours.annotator_quality, true_acc)[0]),
        "rho_cleanlab": float(spearmanr(st["annotator_quality"].to_numpy(), true_acc)[0]),
        "rho_agreement": float(spearmanr(agree_only.annotator_quality, true_acc)[0]),
        "max_diff": float(max(np.max(np.abs(ours.quality - lq["consensus_quality_score"].to_numpy())),
                              np.max(np.abs(ours.annotator_quality - st["annotator_quality"].to_numpy())))),
        "same_labels": bool(np.array_equal(ours.labels, lq["consensus_label"].to_numpy())),
        "ms_labelcli": 1000 * t_ours, "ms_cleanlab": 1000 * t_cl,
    }


def speed(n: int = 100_000, m: int = 8, k: int = 10, seed: int = 0) -> dict:
    """Wall time of both tools on a synthetic problem of n examples (1-3 labels each)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    ann, _ = simulate(truth, k, m, rng, acc_low=0.4)
    pp = rng.dirichlet(np.ones(k), n) * 0.5
    pp[np.arange(n), truth] += 0.5
    ours, cl, t_ours, t_cl = both_tools(ann, pp, k)
    same = np.array_equal(ours.labels, cl["label_quality"]["consensus_label"].to_numpy())
    from cleanlab.multiannotator import get_active_learning_scores

    from labelcli.core.consensus_active import active_learning_scores

    al, t_al = timed(active_learning_scores, ann, pp, pp[:10_000], num_classes=k, compat="cleanlab")
    (cl_al, cl_new), t_al_cl = timed(get_active_learning_scores, ann, pp.copy(), pp[:10_000].copy(), silence=True)
    diff = max(np.max(np.abs(al.scores - cl_al)), np.max(np.abs(al.unlabeled_scores - cl_new)))
    return {"n": n, "M": m, "K": k, "s_labelcli": round(t_ours, 3), "s_cleanlab": round(t_cl, 3),
            "speedup": round(t_cl / t_ours, 1), "same_labels": same, "active_s_labelcli": round(t_al, 3),
            "active_s_cleanlab": round(t_al_cl, 3), "active_max_diff": float(diff)}


def ensemble_row(name: str, x: np.ndarray, truth: np.ndarray, m: int, seed: int, acc_low: float) -> dict:
    """Ensemble CROWDLAB (logreg + kNN pred_probs, both cross-validated on the majority vote)
    against each model alone and against cleanlab's ensemble function."""
    from cleanlab.multiannotator import get_label_quality_multiannotator_ensemble

    from labelcli.core.consensus import check_annotations, consensus, majority_vote
    from labelcli.ml.crossval import cross_val_pred_probs

    k = int(truth.max()) + 1
    rng = np.random.default_rng(seed)
    ann, _ = simulate(truth, k, m, rng, acc_low=acc_low)
    mat, _ = check_annotations(ann, k)
    vote = majority_vote(mat, k)
    pps = [cross_val_pred_probs(x, vote, num_classes=k, model=model, seed=seed).pred_probs for model in ("logreg", "knn")]
    ours, t_ours = timed(consensus, ann, pps, num_classes=k)
    cl, t_cl = timed(get_label_quality_multiannotator_ensemble, ann, np.stack(pps), verbose=False,
                     return_weights=True, silence=True)
    lq = cl["label_quality"]
    return {
        "data": name, "M": m, "seed": seed, "acc_majority": float(np.mean(vote == truth)),
        "acc_logreg": float(np.mean(consensus(ann, pps[0], num_classes=k).labels == truth)),
        "acc_knn": float(np.mean(consensus(ann, pps[1], num_classes=k).labels == truth)),
        "acc_ensemble": float(np.mean(ours.labels == truth)),
        "acc_cleanlab_ens": float(np.mean(lq["consensus_label"].to_numpy() == truth)),
        "w_logreg": float(ours.model_weights[0]), "w_knn": float(ours.model_weights[1]),
        "same_labels": bool(np.array_equal(ours.labels, lq["consensus_label"].to_numpy())),
        "max_diff": float(max(np.max(np.abs(ours.quality - lq["consensus_quality_score"].to_numpy())),
                              np.max(np.abs(ours.model_weights - cl["model_weight"])))),
        "ms_labelcli": 1000 * t_ours, "ms_cleanlab": 1000 * t_cl,
    }


def labeling_loop(x: np.ndarray, truth: np.ndarray, seed: int, *, rounds: int = 10, batch: int = 50,
                  m: int = 6, acc_low: float = 0.35, start_two: float = 0.2) -> list[dict]:
    """A simulated labeling campaign: m annotators (accuracies in [acc_low, 0.95]); every example
    starts with one label (a fifth with two); each round retrains the model (cross-validated
    logreg on the last consensus; at first the majority vote), then buys one more label from an annotator who has not
    labeled the example yet, for `batch` examples chosen by each strategy: the lowest active
    learning scores (labelcli's default fit, and cleanlab's label shares) or at random. Returns
    the consensus (CROWDLAB) accuracy against the truth per round and strategy."""
    from labelcli.core.consensus import check_annotations, consensus, majority_vote
    from labelcli.core.consensus_active import active_learning_scores
    from labelcli.ml.crossval import cross_val_pred_probs

    k = int(truth.max()) + 1
    n = len(truth)
    rng = np.random.default_rng(seed)
    acc = np.sort(rng.uniform(acc_low, 0.95, m))
    full = np.where(rng.random((n, m)) < acc, truth[:, None], (truth[:, None] + rng.integers(1, k, (n, m))) % k)
    order = np.argsort(rng.random((n, m)), axis=1)  # the order in which annotators are asked, per example
    start = 1 + (rng.random(n) < start_two)
    strategies = {"activelab": None, "activelab_cleanlab_fit": "cleanlab", "random": "random"}
    state = {s: start.copy() for s in strategies}
    trained: dict = {}
    rows = []
    for r in range(rounds + 1):
        row = {"seed": seed, "round": r, "labels": int(state["random"].sum())}
        for s, how in strategies.items():
            used = np.arange(m)[None, :] < state[s][:, None]
            ann = np.full((n, m), -1)
            pos = np.nonzero(used)
            ann[pos[0], order[pos]] = full[pos[0], order[pos]]
            mat, _ = check_annotations(ann, k)
            if s not in trained:  # round 0: the model learns the majority vote
                trained[s] = majority_vote(mat, k)
            pp = cross_val_pred_probs(x, trained[s], num_classes=k, folds=3, seed=seed).pred_probs
            res = consensus(mat, pp, num_classes=k)
            trained[s] = res.labels  # the next round's model learns this consensus
            row[f"acc_{s}"] = float(np.mean(res.labels == truth))
            if r == rounds:
                continue
            open_rows = np.flatnonzero(state[s] < m)
            if how == "random":
                pick = rng.choice(open_rows, size=min(batch, len(open_rows)), replace=False)
            else:
                scores = active_learning_scores(mat, pp, num_classes=k, compat=how).scores[open_rows]
                pick = open_rows[np.lexsort((open_rows, scores))[:batch]]
            state[s][pick] += 1
        rows.append(row)
    return rows


def main() -> None:
    from sklearn.datasets import load_digits, load_wine
    from sklearn.preprocessing import StandardScaler

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", choices=("crowdlab", "ensemble", "active"), default=None,
                    help="run one table: CROWDLAB vs cleanlab, the ensemble row, or the labeling loop")
    args = ap.parse_args()
    sets = []
    for name, loader in (("digits", load_digits), ("wine", load_wine)):
        x, y = loader(return_X_y=True)
        sets.append((name, StandardScaler().fit_transform(x), y))
    import pandas as pd

    if args.only in (None, "ensemble"):
        ens = pd.DataFrame([ensemble_row(name, x, y, m, seed, acc_low) for name, x, y in sets
                            for m, acc_low in ((3, 0.55), (6, 0.35)) for seed in range(args.seeds)])
        cols = [c for c in ens.columns if c not in ("data", "M", "seed")]
        agg = {c: ("max" if c == "max_diff" else "median" if c.startswith("ms_") else "mean") for c in cols}
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 4):
            print("ensemble (logreg + kNN):")
            print(ens.groupby(["data", "M"], sort=False).agg(agg).reset_index().to_string(index=False))
    if args.only in (None, "active"):
        x = np.load(ROOT / "sample_data" / "digits_features.npy")
        y = np.load(ROOT / "sample_data" / "digits_true_labels.npy")
        loop = pd.DataFrame([row for seed in range(args.seeds) for row in labeling_loop(x, y, seed)])
        loop["activelab_wins"] = (loop["acc_activelab"] > loop["acc_random"]).astype(float)
        loop["activelab_ties"] = (loop["acc_activelab"] == loop["acc_random"]).astype(float)
        table = loop.groupby("round").mean(numeric_only=True).drop(columns="seed").reset_index()
        with pd.option_context("display.width", 200, "display.precision", 4):
            print(f"labeling loop (digits sample, 6 annotators, 50 labels a round, {args.seeds} seeds):")
            print(table.to_string(index=False))
    if args.only not in (None, "crowdlab"):
        return
    rows = []
    for name, x, y in sets:
        for m, acc_low, confuse in ((3, 0.55, False), (6, 0.35, False), (10, 0.3, False), (6, 0.35, True)):
            for seed in range(args.seeds):
                rows.append(run(name, x, y, m, seed, acc_low, confuse))

    df = pd.DataFrame(rows)
    keys = ["data", "setting", "M"]
    summary = df.groupby(keys, sort=False).agg(
        acc_majority=("acc_majority", "mean"), acc_labelcli=("acc_labelcli", "mean"),
        acc_cleanlab=("acc_cleanlab", "mean"), rho_agreement=("rho_agreement", "mean"),
        rho_labelcli=("rho_labelcli", "mean"), rho_cleanlab=("rho_cleanlab", "mean"),
        same_labels=("same_labels", "mean"), max_diff=("max_diff", "max"),
        ms_labelcli=("ms_labelcli", "median"), ms_cleanlab=("ms_cleanlab", "median")).reset_index()
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 4):
        print(summary.to_string(index=False))
    print("speed:", speed())


if __name__ == "__main__":
    main()
