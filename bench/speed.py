"""labelcli's core against cleanlab 2.9 on the same arrays: time, peak memory, identical results.

Every measurement runs in a fresh subprocess (nothing cached between tools); the tools alternate
within each repeat and medians are reported. Arrays are generated once (bench/synthetic.py) into
bench/_work/ as .npy. Results are checked inside the bench: a mismatch stops it (exit 1).

    python bench/speed.py              # all cases, writes bench/RESULTS.md
    python bench/speed.py --quick      # small cases only (a smoke run), writes bench/_work/RESULTS_quick.md
    python bench/speed.py --repeats 5 --cases 1000000x10,200000x1000 --no-cli

Functions (cleanlab's closest equivalent in brackets):
- find_label_issues, default filter with ranking [filter.find_label_issues(...,
  return_indices_ranked_by="self_confidence"), n_jobs=1 and n_jobs=None (its default: one
  process per physical core)];
- label_quality_scores [rank.get_label_quality_scores];
- health_summary [dataset.health_summary(verbose=False): class table, overlapping classes and
  overall score; labelcli's also estimates the noise matrices and priors].
floor = np.load + one pass over the array (p.max()); argmax = p.argmax(axis=1), for scale.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
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

CASES = [(10_000, 10), (100_000, 10), (1_000_000, 10), (100_000, 100), (20_000, 1000), (200_000, 1000)]
QUICK = [(10_000, 10), (100_000, 10), (20_000, 1000)]
FUNCS = ("find_label_issues", "label_quality_scores", "health_summary")
TOOLS = {
    "find_label_issues": ("labelcli", "cleanlab_1job", "cleanlab"),
    "label_quality_scores": ("labelcli", "cleanlab"),
    "health_summary": ("labelcli", "cleanlab"),
}
TIMEOUT = 1800
# Text after this line in the results file is written by hand and kept when the bench rewrites it.
NOTES_MARKER = "<!-- notes: kept by bench/speed.py when it rewrites this file -->"


# --- worker: one measurement in this (fresh) process -----------------------------------------


def worker(tool: str, func: str, n: int, k: int) -> dict:
    import warnings

    warnings.simplefilter("ignore")
    lp, pp = synthetic.paths(n, k, WORK)
    if tool == "floor":
        t0 = time.perf_counter()
        p = np.load(pp)
        t1 = time.perf_counter()
        p.max()
        t2 = time.perf_counter()
        p.argmax(axis=1)
        t3 = time.perf_counter()
        return {"load": t1 - t0, "pass": t2 - t1, "argmax": t3 - t2}
    if tool == "labelcli":
        import labelcli as lib
    else:
        import cleanlab.dataset  # noqa: F401
        import cleanlab.filter
        import cleanlab.rank
    y, p = np.load(lp), np.load(pp)
    if tool == "labelcli":
        fn = getattr(lib, func)  # labelcli imports its modules on first use: not in the timing
    rss0 = procmem.reset_peak_rss()
    t0 = time.perf_counter()
    if tool == "labelcli":
        if func == "find_label_issues":
            out = fn(y, p, compat="cleanlab").ranking  # the same algorithm as cleanlab's
        elif func == "label_quality_scores":
            out = fn(y, p, compat="cleanlab")
        else:
            h = fn(y, p, compat="cleanlab")
            out = np.concatenate([[h.health_score], h.class_noise_rate, h.class_issues])
    else:
        if func == "find_label_issues":
            jobs = 1 if tool == "cleanlab_1job" else None
            out = cleanlab.filter.find_label_issues(y, p, return_indices_ranked_by="self_confidence", n_jobs=jobs)
        elif func == "label_quality_scores":
            out = cleanlab.rank.get_label_quality_scores(y, p)
        else:
            h = cleanlab.dataset.health_summary(labels=y, pred_probs=p, verbose=False)
            df = h["classes_by_label_quality"].sort_values("Class Index")
            out = np.concatenate([[h["overall_label_health_score"]], df["Label Noise"], df["Label Issues"]])
    seconds = time.perf_counter() - t0
    np.save(WORK / f"result_{tool}_{func}_{n}x{k}.npy", np.asarray(out))
    return {"seconds": seconds, "rss_loaded": rss0, "rss_peak": procmem.peak_rss(), "probs_bytes": p.nbytes}


def run_worker(tool: str, func: str, n: int, k: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, func, str(n), str(k)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    if res.returncode != 0:
        raise SystemExit(f"worker failed: {' '.join(cmd)}\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# --- checks: identical results -----------------------------------------------------------------


def verify(func: str, n: int, k: int) -> str:
    """Compare the saved results; raise SystemExit on any difference. Returns a short note."""
    y, p = np.load(synthetic.paths(n, k, WORK)[0]), np.load(synthetic.paths(n, k, WORK)[1], mmap_mode="r")
    load = lambda tool: np.load(WORK / f"result_{tool}_{func}_{n}x{k}.npy")  # noqa: E731
    ours = load("labelcli")
    for tool in TOOLS[func][1:]:
        theirs = load(tool)
        if func == "find_label_issues":
            if not np.array_equal(np.sort(ours), np.sort(theirs)):
                raise SystemExit(f"MISMATCH {n}x{k} {tool}: flagged sets differ ({len(ours)} vs {len(theirs)})")
            sc = np.asarray(p[ours, y[ours]])
            if not np.array_equal(sc, np.asarray(p[theirs, y[theirs]])):
                raise SystemExit(f"MISMATCH {n}x{k} {tool}: ranking differs beyond the order of tied scores")
            same_order = np.array_equal(ours, theirs)
        elif func == "label_quality_scores":
            if not np.array_equal(ours, theirs):
                raise SystemExit(f"MISMATCH {n}x{k} {tool}: label quality scores differ")
        else:
            if not (abs(ours[0] - theirs[0]) < 1e-12 and np.allclose(ours[1:], theirs[1:], rtol=0, atol=1e-9)):
                raise SystemExit(f"MISMATCH {n}x{k} {tool}: health (score, class noise, class issues) differs")
    if func == "find_label_issues":
        return f"{len(ours):,} issues, same set; order {'identical' if same_order else 'identical up to tied scores'}"
    return "identical"


# --- whole-process CLI timings -----------------------------------------------------------------


def cleanlab_cli(labels: str, pred_probs: str, out: str) -> None:
    """The script the CLI is compared with: load, cleanlab, write the same issues table."""
    import warnings

    import cleanlab.filter
    import cleanlab.rank
    import pandas as pd

    warnings.simplefilter("ignore")
    if pred_probs.endswith(".parquet"):
        df = pd.read_parquet(pred_probs)
        y = df["label"].to_numpy()
        p = df.drop(columns="label").to_numpy()
    else:
        y, p = np.load(labels), np.load(pred_probs)
    ranked = cleanlab.filter.find_label_issues(y, p, return_indices_ranked_by="self_confidence")
    scores = cleanlab.rank.get_label_quality_scores(y, p)
    pd.DataFrame(
        {"index": ranked, "given_label": y[ranked], "predicted_label": p[ranked].argmax(axis=1),
         "label_score": scores[ranked], "is_label_issue": True}
    ).to_csv(out, index=False)


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr[-3000:]}")
    return time.perf_counter() - t0


def cli_rows(repeats: int, n: int = 1_000_000, k: int = 10) -> list[str]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    lp, pp = synthetic.ensure(n, k, WORK)
    table = WORK / f"table_{n}x{k}.parquet"
    if not table.exists():
        p = np.load(pp)
        cols = {"label": np.load(lp), **{f"p{j}": p[:, j] for j in range(k)}}
        pq.write_table(pa.table(cols), table, row_group_size=1 << 18)
    exe = str(Path(sys.executable).with_name("labelcli"))
    py = sys.executable
    me = str(Path(__file__).resolve())
    # cleanlab's algorithm, as the script runs it (once the CLI has labelcli's own defaults)
    helptext = subprocess.run([exe, "find-issues", "--help"], capture_output=True, text=True).stdout
    same = ["--compat", "cleanlab"] if "--compat" in helptext else []
    runs = {
        "python -c pass (interpreter start)": [py, "-c", "pass"],
        "python -c 'import numpy'": [py, "-c", "import numpy"],
        "labelcli --help": [exe, "--help"],
        f"floor process: python + numpy + np.load + one pass ({n:,} x {k} .npy)":
            [py, me, "--worker", "floor", "-", str(n), str(k)],
        "labelcli find-issues (.npy)": [exe, "find-issues", "--labels", str(lp), "--pred-probs", str(pp),
                                        "--out", str(WORK / "cli_lc_npy.csv"), "--quiet", *same],
        "cleanlab script (.npy)": [py, me, "--cleanlab-cli", str(lp), str(pp), str(WORK / "cli_cl_npy.csv")],
        "labelcli find-issues (Parquet)": [exe, "find-issues", "--labels", str(table), "--pred-probs", str(table),
                                           "--prob-prefix", "p", "--out", str(WORK / "cli_lc_pq.csv"), "--quiet",
                                           *same],
        "cleanlab script (Parquet)": [py, me, "--cleanlab-cli", str(table), str(table), str(WORK / "cli_cl_pq.csv")],
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, cmd in runs.items():
            times[name].append(timed(cmd))
    for a, b in (("cli_lc_npy.csv", "cli_cl_npy.csv"), ("cli_lc_pq.csv", "cli_cl_pq.csv")):
        ia, ib = pd.read_csv(WORK / a)["index"], pd.read_csv(WORK / b)["index"]
        if sorted(ia) != sorted(ib):
            raise SystemExit(f"MISMATCH: {a} and {b} flag different rows")
    med = {name: statistics.median(t) for name, t in times.items()}
    floor_cmd = [k_ for k_ in runs if k_.startswith("floor")][0]
    lines = ["| command | median s | notes |", "|---|---:|---|"]
    for name in runs:
        note = ""
        if name.startswith("labelcli find-issues"):
            other = name.replace("labelcli find-issues", "cleanlab script")
            note = f"{med[other] / med[name]:.1f}x faster than the cleanlab script; " \
                   f"{med[name] / med[floor_cmd]:.1f}x the floor process"
        lines.append(f"| `{name}` | {med[name]:.3f} | {note} |")
    return lines


# --- driver ------------------------------------------------------------------------------------


def machine_line() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import cleanlab

    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; Python {platform.python_version()},"
        f" numpy {np.__version__}, cleanlab {cleanlab.__version__}; load average at start"
        f" {os.getloadavg()[0]:.1f}"
    )


def fmt_ratio(a: float, b: float) -> str:
    return f"{b / a:.1f}x"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small cases only, 2 repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--cases", default=None, help="e.g. 1000000x10,200000x1000")
    ap.add_argument("--funcs", default=",".join(FUNCS))
    ap.add_argument("--no-cli", action="store_true", help="skip the whole-process CLI timings")
    ap.add_argument("--out", default=None, help="markdown file (default bench/RESULTS.md)")
    args = ap.parse_args(argv)

    cases = QUICK if args.quick else CASES
    if args.cases:
        cases = [tuple(int(x) for x in c.split("x")) for c in args.cases.split(",")]
    repeats = args.repeats or (2 if args.quick else 3)
    funcs = [f for f in args.funcs.split(",") if f]
    out = Path(args.out) if args.out else (WORK / "RESULTS_quick.md" if args.quick else HERE / "RESULTS.md")
    machine = machine_line()
    print(machine, file=sys.stderr)

    rows = ["| N x K | function | labelcli s | cleanlab n_jobs=1 s | cleanlab default s | speed-up (1 job / default)"
            " | extra peak MB labelcli / cleanlab (x pred_probs) | floor s (load + pass) | check |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for n, k in cases:
        synthetic.ensure(n, k, WORK)
        floor = [run_worker("floor", "-", n, k) for _ in range(repeats)]
        for func in funcs:
            tools = TOOLS[func]
            res = {t: [] for t in tools}
            for _ in range(repeats):
                for t in tools:  # alternating, each in a fresh process
                    res[t].append(run_worker(t, func, n, k))
            check = verify(func, n, k)
            sec = {t: statistics.median(r["seconds"] for r in res[t]) for t in tools}
            extra = {t: statistics.median(r["rss_peak"] - r["rss_loaded"] for r in res[t]) for t in tools}
            nbytes = res["labelcli"][0]["probs_bytes"]
            cl1 = sec.get("cleanlab_1job", sec["cleanlab"])
            mem = f"{extra['labelcli'] / 1e6:.0f} ({extra['labelcli'] / nbytes:.2f}x) / " \
                  f"{extra['cleanlab'] / 1e6:.0f} ({extra['cleanlab'] / nbytes:.2f}x)"
            fl = statistics.median(f["load"] + f["pass"] for f in floor)
            one_job = f"{cl1:.3f}" if "cleanlab_1job" in sec else "(no n_jobs)"
            line = (f"| {n:,} x {k} | {func} | {sec['labelcli']:.3f} | {one_job} | {sec['cleanlab']:.3f} |"
                    f" {fmt_ratio(sec['labelcli'], cl1)} / {fmt_ratio(sec['labelcli'], sec['cleanlab'])} |"
                    f" {mem} | {fl:.3f} | {check} |")
            rows.append(line)
            print(line, file=sys.stderr)
    cli = [] if args.no_cli or args.quick else cli_rows(repeats)
    text = "\n".join(
        ["# labelcli vs cleanlab 2.9: speed", "", f"Machine: {machine}; load average at end"
         f" {os.getloadavg()[0]:.1f}.", "",
         f"Medians of {repeats} runs, each in a fresh process, tools alternating. `extra peak` = peak RSS"
         " minus RSS after loading the arrays. Results are verified identical inside the bench.", "",
         *rows, ""] + (["## Whole process (CLI)", "", *cli, ""] if cli else [])
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = out.read_text().split(NOTES_MARKER, 1)[1] if out.exists() and NOTES_MARKER in out.read_text() else ""
    out.write_text(text + "\n" + (NOTES_MARKER + kept if kept else ""))
    print(text)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        tool, func, n, k = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(worker(tool, func, n, k)))
    elif len(sys.argv) > 1 and sys.argv[1] == "--cleanlab-cli":
        cleanlab_cli(*sys.argv[2:5])
    else:
        sys.exit(main())
