"""Benchmark of --engine dask (issue #15): the single-process CLI and a local Dask cluster of 1 and 2
workers on partitioned Parquet (>= 10M x 10 and 1M x 100), and the exact kNN graph as tiles at
200k x 128; wall time, peak memory of the client and the workers, bytes moved (to the client and
between workers); then a projection to a 16-node cluster. Writes bench/DASK.md.

Generated data goes under bench/_work/dask/ (git-ignored). Run: make bench-dask
(`python bench/dask.py --quick` for a small smoke run).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# This file is named dask.py: its folder must not shadow the dask package (here and in the
# worker processes, which start with this process's sys.path).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
WORK = HERE / "_work" / "dask"
ROOT = HERE.parent


def make_data(folder: Path, n: int, k: int, parts: int, seed: int = 0) -> Path:
    """n x k float32 pred_probs with ~10% label noise, as `parts` Parquet files (uneven sizes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if (folder / "_done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, parts)
    cuts = np.r_[0, np.cumsum(np.round(weights / weights.sum() * n).astype(int))]
    cuts[-1] = n
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        m = int(b - a)
        true = rng.integers(0, k, m)
        logits = rng.normal(0, 1, (m, k)).astype(np.float32)
        logits[np.arange(m), true] += 2.5
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        given = np.where(rng.random(m) < 0.1, rng.integers(0, k, m), true)
        cols = {"label": pa.array(given.astype(np.int64))}
        for j in range(k):
            cols[f"p_{j}"] = pa.array(p[:, j].astype(np.float32))
        pq.write_table(pa.table(cols), folder / f"part-{i:04d}.parquet", row_group_size=1 << 18)
    (folder / "_done").touch()
    return folder


class PeakRss:
    """Samples the resident memory of some processes every 50 ms; peak per process group."""

    def __init__(self, groups: dict):
        import psutil

        self.procs = {name: [psutil.Process(p) for p in pids] for name, pids in groups.items()}
        self.peak = {name: 0 for name in groups}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for name, procs in self.procs.items():
                total = 0
                for p in procs:
                    try:
                        total = max(total, p.memory_info().rss)
                    except Exception:
                        pass
                self.peak[name] = max(self.peak[name], total)
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        self.thread.join()


def cli_run(args: list, out: Path) -> dict:
    """The single-process CLI as a subprocess: wall time and peak RSS."""
    import psutil

    cmd = [str(Path(sys.executable).parent / "labelcli"), *map(str, args), "-o", str(out), "-q"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except Exception:
            pass
        time.sleep(0.05)
    if proc.returncode:
        raise SystemExit(f"{cmd} failed ({proc.returncode})")
    return {"wall_s": time.perf_counter() - t, "client_peak_mb": peak / 2**20}


def dask_run(folder: Path, workers: int, filter_by: str, rank_by: str, out: Path) -> dict:
    from labelcli.core.engine import Plan
    from labelcli.distributed import driver
    from labelcli.distributed.cluster import open_executor
    from labelcli.distributed.inputs import open_inputs
    from labelcli.io import write_table

    with open_executor(workers=workers) as ex:
        pids = ex.client.run(os.getpid)
        with PeakRss({"client": [os.getpid()], "worker": list(pids.values())}) as mem:
            t = time.perf_counter()
            inputs = open_inputs(ex, str(folder), str(folder), prob_prefix="p_")
            found = driver.find_label_issues(ex, inputs, Plan(filter_by, rank_by))
            write_table(found.table(inputs.classes), str(out))
            wall = time.perf_counter() - t
        moved = sum(ex.client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())
    return {"wall_s": wall, "client_peak_mb": mem.peak["client"] / 2**20, "worker_peak_mb": mem.peak["worker"] / 2**20,
            "to_client_mb": ex.gathered_bytes / 2**20, "between_workers_mb": moved / 2**20, "flagged": found.num_issues}


def knn_runs(n: int, d: int, workers_list) -> list:
    from labelcli.core.knn import knn_graph
    from labelcli.distributed import knn
    from labelcli.distributed.cluster import open_executor

    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, d)).astype(np.float32)
    rows = []
    with PeakRss({"client": [os.getpid()]}) as mem:
        t = time.perf_counter()
        one = knn_graph(x, k=10, metric="cosine")
        rows.append({"engine": "one process", "wall_s": time.perf_counter() - t,
                     "client_peak_mb": mem.peak["client"] / 2**20})
    for w in workers_list:
        with open_executor(workers=w) as ex:
            pids = ex.client.run(os.getpid)
            with PeakRss({"client": [os.getpid()], "worker": list(pids.values())}) as mem:
                t = time.perf_counter()
                g = knn.knn_graph(ex, x, k=10, metric="cosine")
                wall = time.perf_counter() - t
            moved = sum(ex.client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())
        rows.append({"engine": f"dask, {w} worker{'s' * (w > 1)}", "wall_s": wall,
                     "client_peak_mb": mem.peak["client"] / 2**20, "worker_peak_mb": mem.peak["worker"] / 2**20,
                     "between_workers_mb": moved / 2**20, "to_client_mb": ex.gathered_bytes / 2**20,
                     "same_graph": bool(np.array_equal(one.indices, g.indices)
                                        and np.array_equal(one.distances, g.distances))})
    return rows


def projection(results: dict) -> str:
    """A 16-node projection from the measured rates (assumptions listed in the text)."""
    big = [r for r in results["passes"] if r["dataset"] == results["largest"] and r["engine"] == "dask, 2 workers"]
    wide = [r for r in results["passes"] if r["dataset"] == results["widest"] and r["engine"] == "dask, 2 workers"]
    lines = []
    if big and wide:
        r = wide[0]
        n, k = r["rows"], r["classes"]
        cells_per_s = n * k / r["wall_s"]  # two workers
        per_core = cells_per_s / 2
        cores = 16 * 32
        total_cells = 1e9 * 1000
        compute = total_cells / (per_core * cores)
        # bytes over the network: the shuffle by class (self-confidences: 6 B/row) and the --all parts
        shuffle = 1e9 * 6 / (16 * 1.0e9)
        lines.append(f"- find-issues at 1B x 1000 on 16 nodes x 32 cores: the measured {per_core / 1e6:,.0f}M"
                     f" cells/s per worker core (1M x 100, 2 workers) gives ~{compute / 60:,.0f} min of passes,"
                     f" plus ~{shuffle:.1f} s for the shuffle by class (6 B/row at 1 GB/s per node); the client"
                     " holds the 1000 x 1000 joint, the selection histograms and the flagged rows"
                     " (~0.1-1 GB at 10% flagged x ~40 B/row).")
    knn_rows = results.get("knn", [])
    two = [r for r in knn_rows if r["engine"].startswith("dask, 2")]
    if two:
        n, d = results["knn_shape"]
        flops = n * n * d  # the upper triangle: n^2 / 2 products of 2d flops
        rate = flops / two[0]["wall_s"] / 2  # per worker core
        big_flops = 1e7 * 1e7 * 768
        lines.append(f"- kNN at 10M x 768 on 16 nodes x 32 cores: {rate / 1e9:,.1f} GFLOP/s per worker core measured"
                     f" (200k x 128 tiles) gives ~{big_flops / (rate * 512) / 3600:,.1f} h; each tile task reads two"
                     f" 4096 x 768 float32 blocks (25 MB) and the graph (10M x 10 x 16 B = 1.6 GB) is assembled"
                     " on the client.")
    lines.append("- Assumptions: the per-core rates measured here hold on the cluster (same BLAS, 1 thread per"
                 " worker), the partitions are at least as many as the cores and evenly sized, Parquet is read"
                 " from storage at >= 200 MB/s per node, and the scheduler keeps up (a few thousand tasks per"
                 " pass: ~1 ms each). Not measured: object-store latency, stragglers.")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--parts", type=int, default=16)
    ap.add_argument("--knn-only", action="store_true", help="reuse the find-issues figures of the last run")
    ap.add_argument("--no-knn", action="store_true",
                    help="find-issues passes only (the kNN runs take ~45 min here): print their table and keep"
                         " them in _work/dask/passes.json; DASK.md is left as it is")
    a = ap.parse_args()
    sets = [(10_000_000, 10), (1_000_000, 100)] if not a.quick else [(200_000, 10), (50_000, 100)]
    knn_shape = (200_000, 128) if not a.quick else (20_000, 32)
    filters = [("low_posterior", "posterior"), ("prune_by_noise_rate", "self_confidence")]
    results = {"passes": [], "knn_shape": knn_shape}
    saved = WORK / "passes.json"
    if a.knn_only:
        results["passes"] = json.loads(saved.read_text())["passes"]
        sets = []
    for n, k in sets:
        name = f"{n // 1_000_000}M_x_{k}" if n >= 1_000_000 else f"{n // 1000}k_x_{k}"
        folder = make_data(WORK / name, n, k, a.parts)
        for filter_by, rank_by in filters:
            out = WORK / f"{name}_{filter_by}_cli.csv"
            r = cli_run(["find-issues", "-l", folder, "-p", folder, "--prob-prefix", "p_", "--filter-by", filter_by,
                         "--rank-by", rank_by], out)
            results["passes"].append({"dataset": name, "rows": n, "classes": k, "filter": filter_by,
                                      "engine": "one process (CLI)", **r})
            print(results["passes"][-1], flush=True)
            for w in (1, 2):
                dout = WORK / f"{name}_{filter_by}_dask{w}.csv"
                r = dask_run(folder, w, filter_by, rank_by, dout)
                r["same_bytes"] = dout.read_bytes() == out.read_bytes()
                results["passes"].append({"dataset": name, "rows": n, "classes": k, "filter": filter_by,
                                          "engine": f"dask, {w} worker{'s' * (w > 1)}", **r})
                print(results["passes"][-1], flush=True)
    saved.write_text(json.dumps({"passes": results["passes"]}, indent=1))
    if a.no_knn:
        print("\n".join(pass_rows(results["passes"])))
        return
    results["largest"] = results["passes"][0]["dataset"]
    results["widest"] = results["passes"][-1]["dataset"]
    results["knn"] = knn_runs(*knn_shape, (1, 2))
    for r in results["knn"]:
        print(r, flush=True)
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    write_report(results, a.quick)


def fmt(v) -> str:
    return "" if v is None else (f"{v:,.1f}" if isinstance(v, float) else str(v))


def pass_rows(passes: list[dict]) -> list[str]:
    """The find-issues table's rows (Markdown), one per dataset x filter x engine."""
    return [f"| {r['dataset']} | {r['filter']} | {r['engine']} | {fmt(r['wall_s'])} | {fmt(r['client_peak_mb'])}"
            f" | {fmt(r.get('worker_peak_mb'))} | {fmt(r.get('to_client_mb'))} | {fmt(r.get('between_workers_mb'))}"
            f" | {fmt(r.get('flagged'))} | {fmt(r.get('same_bytes', 'reference'))} |" for r in passes]


def write_report(results: dict, quick: bool) -> None:

    lines = ["# --engine dask: measured on this machine (2 cores, 24 GB)", "",
             "Generated by `make bench-dask` (bench/dask.py)" + (" with --quick" if quick else "") + ".",
             " Local cluster on 127.0.0.1, one thread per worker; the client runs in the same machine.",
             " 'to client': results the client gathered (pickled bytes); 'sent by workers': every byte the",
             " workers sent (to each other and to the client: the shuffle by class, histograms, gathers).", "",
             "## find-issues on partitioned Parquet (16 uneven files)", "",
             "| data | filter | engine | wall s | client peak MB | worker peak MB | to client MB | sent by workers MB | flagged | same bytes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += pass_rows(results["passes"])
    n, d = results["knn_shape"]
    lines += ["", f"## Exact kNN graph, {n:,} x {d}, k = 10, cosine", "",
              "| engine | wall s | client peak MB | worker peak MB | sent by workers MB | to client MB | same graph |",
              "|---|---|---|---|---|---|---|"]
    for r in results["knn"]:
        lines.append(f"| {r['engine']} | {fmt(r['wall_s'])} | {fmt(r['client_peak_mb'])} | {fmt(r.get('worker_peak_mb'))}"
                     f" | {fmt(r.get('between_workers_mb'))} | {fmt(r.get('to_client_mb'))} | {fmt(r.get('same_graph', 'reference'))} |")
    lines += ["", "## Projection to a 16-node cluster", "", projection(results), ""]
    (HERE / "DASK.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
