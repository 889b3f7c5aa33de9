"""Multi-label find-issues and label scores: labelcli against cleanlab 2.9 on the same arrays.

    python bench/multilabel.py [--n 100000] [--k 20] [--repeats 3]

Generates a seeded multi-label problem (correlated tags, 5% of rows with one flipped tag,
per-tag probabilities from a noisy logistic link), saves it under bench/_work/, then times each
function in a fresh subprocess per run (so peak RSS is per case), alternating the two libraries,
and prints medians, the ratio and peak memory. Results are checked to be identical first.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

WORK = Path(__file__).resolve().parent / "_work"

CASES = {
    "find_label_issues": (
        "from labelcli.core.multilabel import find_label_issues as f; r = f(y, p, compat=\"cleanlab\").mask",
        "from cleanlab.multilabel_classification.filter import find_label_issues as f; r = f(lists, p)",
    ),
    "label_quality_scores": (
        "from labelcli.core.multilabel import label_quality_scores as f; r = f(y, p, compat=\"cleanlab\")",
        "from cleanlab.multilabel_classification.rank import get_label_quality_scores as f; r = f(lists, p)",
    ),
}

CHILD = """
import json, resource, time, numpy as np
y = np.load({y!r}); p = np.load({p!r})
lists = [list(np.flatnonzero(r)) for r in y] if {needs_lists} else None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
{code}
dt = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": dt, "peak_mib": after / 1024, "extra_mib": (after - before) / 1024}}))
"""


def make_problem(n: int, k: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 4))
    weights = rng.normal(size=(4, k))
    logits = latent @ weights - 1.0
    truth = logits + rng.normal(scale=0.5, size=(n, k)) > 0
    noisy = truth.copy()
    rows = rng.choice(n, n // 20, replace=False)
    noisy[rows, rng.integers(0, k, len(rows))] ^= True
    probs = (1 / (1 + np.exp(-(logits + rng.normal(scale=0.8, size=(n, k)))))).astype(np.float32)
    WORK.mkdir(exist_ok=True)
    yp, pp = WORK / f"ml_y_{n}x{k}.npy", WORK / f"ml_p_{n}x{k}.npy"
    np.save(yp, noisy.astype(np.uint8))
    np.save(pp, probs)
    return yp, pp


def run_child(code: str, yp: Path, pp: Path) -> dict:
    src = CHILD.format(y=str(yp), p=str(pp), needs_lists="lists" in code, code=code)
    out = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_identical(yp: Path, pp: Path) -> None:
    from cleanlab.multilabel_classification.filter import find_label_issues as cl_find

    from labelcli.core.multilabel import find_label_issues

    y, p = np.load(yp), np.load(pp)
    ours = find_label_issues(y, p, compat="cleanlab").mask
    theirs = cl_find([list(np.flatnonzero(r)) for r in y], p)
    if not np.array_equal(ours, theirs):
        raise SystemExit(f"masks differ on {int((ours != theirs).sum())} rows: not benchmarking different answers")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    yp, pp = make_problem(args.n, args.k)
    check_identical(yp, pp)
    print(f"multi-label {args.n:,} x {args.k}, median of {args.repeats} fresh-process runs (masks identical)")
    print("MiB: peak RSS the call adds above the loaded inputs (and imports)")
    print(f"{'function':<22} {'labelcli s':>11} {'cleanlab s':>11} {'speed-up':>9} {'labelcli MiB':>13} {'cleanlab MiB':>13}")
    for name, (ours, theirs) in CASES.items():
        a, b = [], []
        for _ in range(args.repeats):  # alternate, so drift in machine load hits both
            a.append(run_child(ours, yp, pp))
            b.append(run_child(theirs, yp, pp))
        ta, tb = (float(np.median([r["seconds"] for r in x])) for x in (a, b))
        ma, mb = (max(r["extra_mib"] for r in x) for x in (a, b))
        print(f"{name:<22} {ta:>11.3f} {tb:>11.3f} {tb / ta:>8.1f}x {ma:>13.0f} {mb:>13.0f}")


if __name__ == "__main__":
    main()
