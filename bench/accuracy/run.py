"""Run the accuracy benchmark: methods x problems -> metrics -> tables, bench/ACCURACY.md, results.json.

    python -m bench.accuracy                                   # default methods, every benchmark
    python -m bench.accuracy --methods cleanlab,labelcli,'cleanlab[*'
    python -m bench.accuracy --benchmarks planted --extra my_candidates.py --methods default,mine
    python -m bench.accuracy --quick                           # every family once (a few minutes)
    python -m bench.accuracy --smoke --out /tmp/a.md           # smoke test: one small problem each
    python -m bench.accuracy --list-methods

Run from the repository root. Problems whose data folder is missing are skipped with a note.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from bench.accuracy import datasets, methods, metrics, report

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "bench" / "ACCURACY.md"
DEFAULT_JSON = ROOT / "bench" / "_work" / "accuracy" / "results.json"


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.split("\n")[0])
    ap.add_argument("--benchmarks", default=",".join(datasets.BENCHMARKS),
                    help=f"comma list of {', '.join(datasets.BENCHMARKS)}")
    ap.add_argument("--methods", default="default",
                    help="comma list of method names, glob patterns, 'default' or 'all' (see --list-methods)")
    ap.add_argument("--extra", action="append", default=[],
                    help="a .py file or module that registers more methods (repeatable)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="markdown report ('-' = none)")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="per-problem figures as JSON ('-' = none)")
    ap.add_argument("--quick", action="store_true", help="every family once: 10%% noise, seed 0 (a few minutes)")
    ap.add_argument("--smoke", action="store_true", help="one small problem per benchmark (smoke test)")
    ap.add_argument("--jobs", type=int, default=1, help="processes that generate missing planted pred_probs")
    ap.add_argument("--focus", default="", help="comma list of methods that get a table of every family "
                    "(default: every selected method without [...] but cleanlab)")
    ap.add_argument("--list-methods", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return ap.parse_args(argv)


def _log(args, msg):
    if not args.quiet:
        print(msg, file=sys.stderr, flush=True)


def prefetch_planted(benchmarks, quick: bool, jobs: int) -> None:
    """Generate missing planted pred_probs in `jobs` processes (each problem is cached on disk)."""
    from bench.accuracy import planted

    specs = []
    choice = {"rates": (0.1,), "seeds": (0,)} if quick else {}
    if "planted" in benchmarks:
        specs += list(planted.multiclass_specs(**choice))
    if "heldout" in benchmarks:
        specs += list(planted.multiclass_specs(datasets=planted.HELDOUT_DATASETS, **choice))
    if "planted-multilabel" in benchmarks:
        specs += list(planted.multilabel_specs(**choice))
    missing = [s for s in specs if not (planted.cache_dir() / f"{s.key}.npz").exists()]
    if jobs <= 1 or not missing:
        return
    from joblib import Parallel, delayed

    for d in {s.dataset for s in missing if not s.multilabel and s.kind != "uniform"}:
        planted.annotator_probs(d)  # once, before the workers need it
    Parallel(n_jobs=jobs)(delayed(planted.generate)(s) for s in missing)


def run_method(method: methods.Method, problem: datasets.Problem) -> dict:
    t0 = time.perf_counter()
    try:
        res = method.fn(problem.labels, problem.pred_probs)
    except Exception as e:  # a candidate that breaks on one problem must not stop the run
        return {"error": f"{type(e).__name__}: {e}", "seconds": time.perf_counter() - t0}
    seconds = time.perf_counter() - t0
    mask = np.asarray(res.mask, dtype=bool)
    scores = np.asarray(res.scores, dtype=np.float64)
    out = metrics.evaluate(mask, scores, problem.truth, universe=problem.universe, k=problem.k)
    out.update(noise_rate=float(res.noise_rate), seconds=seconds, note=res.note)
    return out


def run(args) -> dict:
    benchmarks = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    unknown = [b for b in benchmarks if b not in datasets.BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(datasets.BENCHMARKS)}")
    names = methods.select(args.methods)
    records, skipped = [], []
    t_start = time.perf_counter()
    if not args.smoke:
        prefetch_planted(benchmarks, args.quick, args.jobs)
    for bench in benchmarks:
        if not datasets.available(bench):
            skipped.append(bench)
            _log(args, f"{bench}: data not found, skipped")
            continue
        t0 = time.perf_counter()
        count = 0
        for problem in datasets.problems(bench, quick=args.quick, smoke=args.smoke):
            registry = methods.REGISTRIES[problem.task]
            methods.clear_memo()
            for name in names:
                if name not in registry:
                    continue
                rec = {"problem": problem.name, "benchmark": problem.group, "dataset": problem.dataset,
                       "task": problem.task, "method": name, "n": int(len(problem.truth)),
                       "errors": int(problem.truth.sum()), "true_rate": problem.true_rate, **problem.meta}
                rec.update(run_method(registry[name], problem))
                records.append(rec)
            count += 1
        methods.clear_memo()
        _log(args, f"{bench}: {count} problems in {time.perf_counter() - t0:.1f} s")
    return {"records": records, "methods": names, "benchmarks": benchmarks, "skipped": skipped,
            "focus": [f.strip() for f in args.focus.split(",") if f.strip()], "seconds": time.perf_counter() - t_start}


def machine() -> dict:
    import platform
    from datetime import datetime, timezone

    import cleanlab
    import sklearn

    import labelcli

    return {"python": platform.python_version(), "numpy": np.__version__, "cleanlab": cleanlab.__version__,
            "scikit-learn": sklearn.__version__, "labelcli": labelcli.__version__,
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _jsonable(x):
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    return x


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    for extra in args.extra:
        methods.load_extra(extra)
    if args.list_methods:
        for task, reg in methods.REGISTRIES.items():
            for m in reg.values():
                print(f"{task:10s} {m.name:38s} {'default ' if m.default else '        '}{m.description}")
        return 0
    try:
        result = run(args)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    if not result["records"]:
        print("nothing ran: no data found for the chosen benchmarks", file=sys.stderr)
        return 2
    command = os.environ.get("ACCURACY_COMMAND") or "python -m bench.accuracy " + shlex.join(sys.argv[1:] if argv is None else argv)
    result["machine"], result["command"] = machine(), command.strip()
    summary = report.summarize(result)
    text = report.markdown(result, summary)
    print(report.terminal(text))
    if args.out != "-":
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        _log(args, f"wrote {args.out}")
    if args.json != "-":
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        doc = {k: v for k, v in result.items()}
        doc["summary"] = summary
        doc["records"] = [{k: _jsonable(v) for k, v in r.items()} for r in result["records"]]
        Path(args.json).write_text(json.dumps(doc, indent=1, default=_jsonable))
        _log(args, f"wrote {args.json}")
    _log(args, f"total {result['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
