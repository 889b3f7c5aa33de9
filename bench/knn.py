"""labelcli vs cleanlab on feature-space checks: kNN graph, outlier scores, near duplicates.

Every case runs in a fresh subprocess on the same seeded data (N x D float32 embeddings around
100 cluster centres, 1% of rows near-copies of others), so its peak RSS (ru_maxrss of the child)
is its own. The table shows the best time over --repeats runs, the peak RSS, and the time
relative to labelcli.

    python bench/knn.py                           # 200,000 x 128, k = 10: labelcli and cleanlab
    python bench/knn.py --n 20000 --cases all     # also sklearn's searches (kd-tree is slow)

Cases:
  labelcli         knn_graph (exact, cosine) + outlier_scores + near_duplicate_sets
  cleanlab         OutOfDistribution().fit_score(features=X), k = 10: sklearn NearestNeighbors
                   with metric="cosine" (algorithm "auto" -> brute force, pairwise_distances_chunked
                   + argpartition), then its exact-duplicate correction
  sklearn-brute    NearestNeighbors(metric="cosine", algorithm="brute").kneighbors()
  sklearn-euclid   the same neighbours via metric="euclidean" brute force on unit rows
                   (sklearn's compiled ArgKmin path; float32 is upcast to float64 per chunk)
  sklearn-kdtree   algorithm="kd_tree" on unit rows
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CASES = ("labelcli", "cleanlab", "sklearn-brute", "sklearn-euclid", "sklearn-kdtree")
DEFAULT_CASES = ("labelcli", "cleanlab")
CLUSTERS = 100
DUPLICATE_SHARE = 0.01


def make_embeddings(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Seeded float32 embeddings: clusters of unequal spread, plus 1% near-copies of other rows."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, d), dtype=np.float32) * 2.0
    spread = rng.uniform(0.5, 1.5, CLUSTERS).astype(np.float32)
    member = rng.integers(0, CLUSTERS, n)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x *= spread[member, None]
    x += centres[member]
    copies = rng.choice(n, int(DUPLICATE_SHARE * n), replace=False)
    x[copies] = x[rng.integers(0, n, len(copies))] + rng.normal(0, 1e-3, (len(copies), d)).astype(np.float32)
    return x


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def run_case(case: str, n: int, d: int, k: int, seed: int) -> dict:
    """Run one case in this process; returns seconds, peak RSS and a short note."""
    import warnings

    x = make_embeddings(n, d, seed)
    data_mib = _peak_mib()
    note = ""
    t0 = time.perf_counter()
    if case == "labelcli":
        from labelcli.core.neighbors import knn_graph, near_duplicate_sets, outlier_scores

        g = knn_graph(x, k=k)
        t_knn = time.perf_counter() - t0
        out = outlier_scores(g)
        dup = near_duplicate_sets(g)
        note = (
            f"knn {t_knn:.1f} s; {int(out.is_outlier.sum())} outliers,"
            f" {dup.num_sets} duplicate sets"
        )
    elif case == "cleanlab":
        from cleanlab.outlier import OutOfDistribution

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            OutOfDistribution(params={"k": k}).fit_score(features=x)
    elif case == "sklearn-brute":
        from sklearn.neighbors import NearestNeighbors

        NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(x).kneighbors()
    elif case in ("sklearn-euclid", "sklearn-kdtree"):
        from sklearn.neighbors import NearestNeighbors

        algo = "brute" if case == "sklearn-euclid" else "kd_tree"
        NearestNeighbors(n_neighbors=k, metric="euclidean", algorithm=algo).fit(_unit_rows(x)).kneighbors()
    else:
        raise ValueError(f"unknown case {case!r}")
    return {
        "case": case,
        "seconds": time.perf_counter() - t0,
        "peak_mib": _peak_mib(),
        "data_mib": data_mib,
        "note": note,
    }


def _child(case: str, args, timeout: float | None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case, "--n", str(args.n),
           "--d", str(args.d), "--k", str(args.k), "--seed", str(args.seed)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"case": case, "seconds": float("nan"), "peak_mib": float("nan"), "data_mib": float("nan"),
                "note": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"case": case, "seconds": float("nan"), "peak_mib": float("nan"), "data_mib": float("nan"),
                "note": f"failed: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    base = next((r["seconds"] for r in rows if r["case"] == "labelcli"), float("nan"))
    lines = [
        "| case | seconds | peak RSS MiB | (data alone) | x labelcli time | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = r["seconds"] / base if base == base and base > 0 else float("nan")
        lines.append(
            f"| {r['case']} | {r['seconds']:.2f} | {r['peak_mib']:.0f} | {r['data_mib']:.0f} |"
            f" {ratio:.2f} | {r['note']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200_000, help="rows (default 200000)")
    p.add_argument("--d", type=int, default=128, help="dimensions (default 128)")
    p.add_argument("--k", type=int, default=10, help="neighbours (default 10)")
    p.add_argument("--repeats", type=int, default=1, help="runs per case; the best time is shown")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cases", default=",".join(DEFAULT_CASES),
                   help=f"comma list of {', '.join(CASES)} or 'all'")
    p.add_argument("--timeout", type=float, default=None, help="seconds per run before giving up")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(run_case(args.child, args.n, args.d, args.k, args.seed)))
        return 0
    cases = CASES if args.cases == "all" else tuple(c.strip() for c in args.cases.split(",") if c.strip())
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    print(f"N = {args.n:,}, D = {args.d}, k = {args.k}, {os.cpu_count()} CPUs, load average {load:.1f}"
          f" at start; best of {args.repeats}", file=sys.stderr)
    rows = []
    for case in cases:
        runs = [_child(case, args, args.timeout) for _ in range(max(1, args.repeats))]
        done = [r for r in runs if r["seconds"] == r["seconds"]]
        rows.append(min(done, key=lambda r: r["seconds"]) if done else runs[-1])
        print(f"  {case}: {rows[-1]['seconds']:.2f} s", file=sys.stderr)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
