"""Out-of-core demo: find_label_issues on a pred_probs file larger than the memory budget.

    python bench/outofcore.py                          # 5M x 100 float32 (2 GB) with --max-memory 256MB
    python bench/outofcore.py --rows 1000000 --classes 100 --max-memory 64MB --verify
    python bench/outofcore.py --parquet                # the same data as a Parquet file (written once)
    python bench/outofcore.py --cli --verify           # the labelcli command itself, streamed vs loaded whole

Each run is a fresh process; reported: wall time, peak resident memory (VmHWM) and the part of it
above the process's resident memory before the call (interpreter + numpy + pyarrow), and the peak
of numpy allocations (tracemalloc). --verify also runs the in-memory find_label_issues on the
whole array (needs RAM for it) and checks mask, ranking, scores and predicted are identical.
--cli runs `labelcli find-issues --max-memory ...` instead (wall time and peak RSS of the whole
process, from /usr/bin/time); with --verify also without --max-memory, and compares the two
issues tables byte for byte.
Files go to bench/_work/ (git-ignored; several GB).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))
import procmem  # noqa: E402
import synthetic  # noqa: E402

FIELDS = ("mask", "ranking", "scores", "predicted")


def worker(mode: str, labels: str, probs: str, max_memory: str, tag: str) -> dict:
    import tracemalloc

    import labelcli
    from labelcli import tasks
    from labelcli.io import open_dataset, parse_size, plan_chunk_rows

    import pyarrow.parquet  # noqa: F401  (imported before the baseline, as the CLI would)

    base = procmem.reset_peak_rss()
    tracemalloc.start()
    t0 = time.perf_counter()
    passes: list = []
    if mode == "stream":
        def tick(name, done, total):
            if not passes or passes[-1][0] != name:
                passes.append([name, time.perf_counter() - t0])
            passes[-1][1] = time.perf_counter() - t0

        ds = open_dataset(labels, probs, max_memory=parse_size(max_memory))
        issues = tasks.find_issues(ds, progress=tick).issues
    else:
        issues = labelcli.find_label_issues(np.load(labels), np.load(probs))
    seconds = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    for f in FIELDS:
        np.save(WORK / f"ooc_{tag}_{mode}_{f}.npy", getattr(issues, f))
    out = {"seconds": seconds, "peak_rss": procmem.peak_rss(), "base_rss": base, "traced_peak": traced,
           "issues": issues.num_issues}
    if mode == "stream":
        arr = np.load(probs, mmap_mode="r") if probs.endswith(".npy") else None
        if arr is not None:
            out["chunk_rows"] = plan_chunk_rows(len(arr), arr.shape[1], arr.itemsize, parse_size(max_memory))
        out["pass_end_seconds"] = {name: round(t, 2) for name, t in passes}
    return out


def run(mode, labels, probs, max_memory, tag) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", mode, str(labels), str(probs), max_memory, tag]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def write_parquet(lp: Path, pp: Path, group_rows: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = pp.with_name(f"{pp.stem}_rg{group_rows}.parquet")
    if path.exists():
        return path
    labels, probs = np.load(lp), np.load(pp, mmap_mode="r")
    k = probs.shape[1]
    schema = pa.schema([("label", pa.int64())] + [(f"p{j}", pa.float32()) for j in range(k)])
    step = group_rows  # a row group is the unit Parquet decodes: it bounds the reader's memory
    with pq.ParquetWriter(path.with_suffix(".tmp"), schema) as w:
        for s in range(0, len(labels), step):
            block = np.asarray(probs[s : s + step])
            w.write_table(pa.table([labels[s : s + step]] + [block[:, j] for j in range(k)], schema=schema))
    path.with_suffix(".tmp").replace(path)
    return path


def run_cli(labels, probs, max_memory, out: Path, parquet: bool) -> dict:
    """`labelcli find-issues` in a fresh process: wall time and peak RSS. The peak comes from
    /usr/bin/time (GNU time): the ru_maxrss of a direct child would include this parent's own
    peak (Linux records the spawning process's high-water mark at exec)."""
    import os

    exe = str(Path(sys.executable).with_name("labelcli"))
    cmd = [exe, "find-issues", "-l", str(labels), "-p", str(probs), "--out", str(out), "--quiet"]
    cmd += ["--prob-prefix", "p"] if parquet else []
    cmd += ["--max-memory", max_memory] if max_memory else []
    timer = os.path.exists("/usr/bin/time")
    t0 = time.perf_counter()
    res = subprocess.run((["/usr/bin/time", "-f", "%M"] if timer else []) + cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr[-3000:]}")
    peak = int(res.stderr.strip().splitlines()[-1]) * 1024 if timer else 0
    return {"seconds": seconds, "peak_rss": peak}


def main_cli(args, src_l, src_p, tag) -> int:
    mb = lambda b: f"{b / 1e6:.0f} MB"  # noqa: E731
    streamed = WORK / f"ooc_cli_{tag}_stream.csv"
    res = run_cli(src_l, src_p, args.max_memory, streamed, args.parquet)
    print(f"labelcli find-issues --max-memory {args.max_memory}: {res['seconds']:.1f} s, peak RSS {mb(res['peak_rss'])}")
    if args.verify:
        whole = WORK / f"ooc_cli_{tag}_memory.csv"
        ref = run_cli(src_l, src_p, None, whole, args.parquet)
        print(f"labelcli find-issues (loaded whole): {ref['seconds']:.1f} s, peak RSS {mb(ref['peak_rss'])}")
        if streamed.read_bytes() != whole.read_bytes():
            print("MISMATCH: the issues tables differ")
            return 1
        print(f"identical issues tables ({streamed.stat().st_size:,} bytes)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--max-memory", default="256MB")
    ap.add_argument("--parquet", action="store_true", help="read a Parquet copy of the data")
    ap.add_argument("--row-group-rows", type=int, default=50_000, help="row group size of the Parquet copy")
    ap.add_argument("--verify", action="store_true", help="compare with the in-memory path")
    ap.add_argument("--cli", action="store_true", help="time the labelcli find-issues command (whole process)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    lp, pp = synthetic.ensure(args.rows, args.classes, WORK)
    print(f"data: {pp} ({pp.stat().st_size / 1e9:.2f} GB; ready in {time.perf_counter() - t0:.0f} s)")
    src_l, src_p = (lp, pp)
    if args.parquet:
        src_p = write_parquet(lp, pp, args.row_group_rows)
        src_l = src_p
        print(f"parquet: {src_p} ({src_p.stat().st_size / 1e9:.2f} GB)")
    tag = f"{args.rows}x{args.classes}"
    if args.cli:
        return main_cli(args, src_l, src_p, tag)
    res = run("stream", src_l, src_p, args.max_memory, tag)
    mb = lambda b: f"{b / 1e6:.0f} MB"  # noqa: E731
    print(
        f"streaming, --max-memory {args.max_memory}: {res['seconds']:.1f} s, {res['issues']:,} issues;"
        f" peak RSS {mb(res['peak_rss'])} ({mb(res['peak_rss'] - res['base_rss'])} above the"
        f" {mb(res['base_rss'])} of interpreter + libraries); numpy allocations peak"
        f" {mb(res['traced_peak'])}; chunk rows {res.get('chunk_rows', '?')}; passes end at"
        f" {res['pass_end_seconds']} s"
    )
    if args.verify:
        ref = run("memory", lp, pp, args.max_memory, tag)
        print(f"in memory: {ref['seconds']:.1f} s, peak RSS {mb(ref['peak_rss'])}")
        for f in FIELDS:
            a, b = (np.load(WORK / f"ooc_{tag}_{m}_{f}.npy") for m in ("stream", "memory"))
            if a.dtype != b.dtype or not np.array_equal(a, b):
                print(f"MISMATCH in {f}")
                return 1
        print("identical: mask, ranking, scores, predicted")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(*sys.argv[2:7])))
    else:
        sys.exit(main())
