"""Options shared by the labelcli commands, and the checks and loading every command does first.

labelcli.cli.detect and labelcli.cli.review both import from here (so neither imports the other's
helpers). Nothing heavy at import time (labelcli --help stays fast): labelcli.io (numpy) and the
libraries are imported inside the functions.
"""
from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from labelcli.errors import LabelError

def _finite(low=None, high=None, *, open_low=False, name=""):
    """A typer callback: the float option is a finite number in the range (NaN and inf refused)."""
    import math

    def check(value):
        if value is None:
            return value
        bad = not math.isfinite(value) or (low is not None and (value <= low if open_low else value < low)) \
            or (high is not None and value > high)
        if bad:
            lo = "" if low is None else (f"> {low}" if open_low else f">= {low}")
            hi = "" if high is None else f"<= {high}"
            rng = " and ".join(x for x in (lo, hi) if x) or "finite"
            raise typer.BadParameter(f"must be a finite number {rng}, got {value}".replace("number finite", "number"))
        return value
    return check


SEED_MAX = 2**32 - 1  # what numpy's legacy seeding and scikit-learn's random_state take

# --- options shared by the commands that read data ---------------------------------------------
Labels = Annotated[str, typer.Option("--labels", "-l", help="Labels file (.npy/.csv/.parquet, '-' = CSV on stdin).")]
PredProbs = Annotated[Optional[str], typer.Option("--pred-probs", "-p", help="Out-of-sample predicted probabilities, N x K.")]
Features = Annotated[Optional[str], typer.Option("--features", "-x", help="Features / embeddings, N x D (cross-validated into pred_probs when --pred-probs is absent).")]
Classes = Annotated[Optional[str], typer.Option("--classes", help="Class names in column order, comma-separated: cat,dog,bird.")]
LabelCol = Annotated[str, typer.Option("--label-col", help="Label column in a table.")]
ProbPrefix = Annotated[Optional[str], typer.Option("--prob-prefix", help="Only columns starting with this are pred_probs; the rest of the name is the class.")]
FeaturePrefix = Annotated[Optional[str], typer.Option("--feature-prefix", help="Only columns starting with this are features.")]
Normalize = Annotated[bool, typer.Option("--normalize", help="Rescale pred_probs rows that do not sum to 1 (e.g. float16 files).")]
SavePredProbs = Annotated[Optional[str], typer.Option("--save-pred-probs", help="Also write the pred_probs used (cross-validated from --features, or as read, in class order): .npy/.csv/.parquet.")]
Out = Annotated[Optional[str], typer.Option("--out", "-o", help="Output file (.csv/.parquet/.pq/.json/.jsonl), '-' = CSV on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No report, no progress bar.")]
Format = Annotated[str, typer.Option("--format", help="'text' (report only) or 'json' (also a JSON summary on stdout).")]
Seed = Annotated[int, typer.Option("--seed", min=0, max=SEED_MAX, help="Seed for cross-validation folds and models.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")]
Model = Annotated[str, typer.Option("--model", "-m", help="logreg, hgb, rf, knn, or package.module:Class (scikit-learn API).")]
Folds = Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")]
MultiLabel = Annotated[Optional[bool], typer.Option("--multi-label/--multi-class", help="Force the task (default: multi-label when the labels are lists, 'a,b' tags or a 0/1 matrix).", show_default=False)]
LabelSep = Annotated[str, typer.Option("--label-sep", help="Multi-label: separator of the tags in a CSV cell (an empty cell = no tag).")]
Aggregation = Annotated[Optional[str], typer.Option("--aggregation", help="Multi-label: how per-tag scores make one score: softmin (default), exponential_moving_average (cleanlab's default), min, mean.", show_default=False)]
Alpha = Annotated[float, typer.Option("--alpha", callback=_finite(0.0, 1.0, open_low=True), help="Multi-label: weight of the exponential moving average.")]
Temperature = Annotated[float, typer.Option("--temperature", callback=_finite(0.0, open_low=True), help="Multi-label: temperature of softmin.")]
K = Annotated[int, typer.Option("--k", min=1, help="With --features: neighbours per example for outliers and duplicates.")]
Metric = Annotated[str, typer.Option("--metric", help="With --features: cosine or euclidean distance.")]
DupThreshold = Annotated[Optional[float], typer.Option("--dup-threshold", callback=_finite(0.0), help="With --features: near-duplicate radius as a multiple of the median nearest-neighbour distance (default 0.13).")]
OutlierThreshold = Annotated[Optional[float], typer.Option("--outlier-threshold", callback=_finite(), help="With --features: flag outlier scores below this (default: Q3 + 1.7 IQR of neighbour distances).")]
Compat = Annotated[Optional[str], typer.Option("--compat", metavar="cleanlab", help="'cleanlab': every option you leave unset takes cleanlab 2.9's default instead of labelcli's (see README: Defaults).", show_default=False)]
Engine = Annotated[str, typer.Option("--engine", help="'local' (this machine) or 'dask' (a Dask cluster over a folder or glob of Parquet files; pip install 'labelcli[dask]'). Results are identical.")]
Scheduler = Annotated[Optional[str], typer.Option("--scheduler", metavar="tcp://HOST:PORT", help="--engine dask: the scheduler of an existing cluster.", show_default=False)]
Workers = Annotated[Optional[int], typer.Option("--workers", min=1, help="--engine dask: start a local cluster of N worker processes on 127.0.0.1 (default: one per core).", show_default=False)]
IdCol = Annotated[Optional[str], typer.Option("--id-col", help="A column of the labels table (e.g. an example id) to carry into the output, after index.", show_default=False)]
MaxMemory = Annotated[Optional[str], typer.Option("--max-memory", metavar="SIZE", help="Memory budget, e.g. 2GB or 512MB (default: half the physical memory, or what is available if less). Multi-class pred_probs larger than that are read in chunks, with identical results.", show_default=False)]


def engine_choice(engine: str, scheduler, workers, id_col=None):
    """--engine local|dask with --scheduler / --workers / --id-col: the distributed.Cluster for
    dask, None for this machine."""
    choice(engine, ("local", "dask"), "--engine")
    if engine == "local":
        if scheduler is not None or workers is not None:
            raise LabelError("--scheduler and --workers go with --engine dask")
        return None
    from labelcli.distributed.cluster import Cluster

    if scheduler is not None and workers is not None:
        raise LabelError("give --scheduler (an existing cluster) or --workers (a local one), not both")
    return Cluster(scheduler, workers, id_col)


def partitioned(*paths) -> bool:
    """Whether an input is a folder or glob of Parquet files (--engine dask then runs every pass
    on the cluster; with files, only the folds and the kNN tiles go there)."""
    from labelcli.io.partitions import is_partitioned

    return any(is_partitioned(p) for p in paths)


def executor_for(cluster):
    """A context giving the cluster's Executor (labelcli.distributed) for --engine dask, else None."""
    import contextlib

    if cluster is None:
        return contextlib.nullcontext()
    from labelcli.distributed.cluster import open_executor

    return open_executor(cluster.scheduler, cluster.workers)


def add_ids(table, labels: str, id_col: str | None):
    """--id-col on one machine: the column's values of the table's rows, after `index`."""
    if id_col is None:
        return table
    from labelcli.io.partitions import read_column

    table.insert(1, id_col, read_column(labels, id_col)[table["index"].to_numpy()])
    return table


def check_format(fmt: str, out: str | None) -> bool:
    """--format text|json; True for json (which then owns stdout)."""
    if fmt not in ("text", "json"):
        raise LabelError(f"--format must be 'text' or 'json', got '{fmt}'")
    if fmt == "json" and out == "-":
        raise LabelError("--out - and --format json both write to stdout; choose one")
    return fmt == "json"


def compat_profile(compat):
    """The defaults profile of --compat (an unknown value is a usage error, exit 2)."""
    from labelcli.core.defaults import PROFILES, defaults

    if compat is not None and compat not in PROFILES:
        raise LabelError(f"--compat '{compat}' is not one of: {', '.join(PROFILES)}")
    return defaults(compat)


def detection(filter_by, rank_by, compat, aggregation, alpha, temperature, *, adjust: bool = False,
              rank_option: str = "--rank-by", extra_methods=()):
    """The detection options as tasks.Detection, checked up front against the multi-class lists
    (multi-label values are checked once the data says which task it is)."""
    from labelcli.core.pruning import FILTERS
    from labelcli.core.scores import METHODS
    from labelcli.tasks import Detection

    compat_profile(compat)
    if filter_by is not None:
        choice(filter_by, FILTERS, "--filter-by")
    if rank_by is not None:
        choice(rank_by, (*METHODS, *extra_methods), rank_option)
    return Detection(filter_by, rank_by, compat, aggregation, alpha, temperature, adjust)


def class_index(name: str | None, ds) -> int | None:
    """--class NAME as a class index of the dataset."""
    if name is None:
        return None
    if name not in ds.classes:
        from labelcli.io import preview

        raise LabelError(f"--class '{name}' is not one of the classes ({preview(list(ds.classes))})")
    return list(ds.classes).index(name)


def read_excluded(paths, ds):
    """--exclude FILE (repeatable): the union of the row indices they list, sorted (None without
    the option)."""
    import numpy as np

    from labelcli.io import read_row_indices

    if not paths:
        return None
    paths = [paths] if isinstance(paths, str) else list(paths)
    return np.unique(np.concatenate([read_row_indices(p, ds.num_examples) for p in paths]))


def steps_for(ds, quiet: bool):
    """The progress bars of a task on this dataset (a pass over a file read in chunks names the file)."""
    from labelcli.render import terminal

    return terminal.steps(quiet, ds.pred_probs_path if ds.pred_probs_chunks is not None else None)


def choice(value: str, choices, option: str) -> str:
    """Check an option's value up front (before any loading or cross-validation)."""
    if value not in choices:
        raise LabelError(f"{option} '{value}' is not one of: {', '.join(choices)}")
    return value


def check_top(top: int | None) -> None:
    """--top N needs N >= 1."""
    if top is not None and top < 1:
        raise LabelError(f"--top must be at least 1, got {top}")


def memory_budget(text: str | None) -> int:
    """Bytes from --max-memory; by default half the physical memory, or what is available if less."""
    from labelcli.io import memory

    if text is None:
        avail = memory.available_memory()
        return min(memory.default_max_memory(), avail) if avail else memory.default_max_memory()
    try:
        return memory.parse_size(text)
    except LabelError as e:
        raise LabelError(f"--max-memory: {e}") from None


def cv_accuracy(predictions) -> dict:
    """{"cv_accuracy": ...} for a --format json summary when the pred_probs were cross-validated
    from --features; empty when they were given (the summary stays as it was)."""
    return {} if predictions.cv_accuracy is None else {"cv_accuracy": predictions.cv_accuracy}


def print_json(doc) -> None:
    """The --format json summary on stdout."""
    from labelcli.io import write_stdout

    text = json.dumps(doc, indent=2) + "\n"
    write_stdout(lambda out: out.write(text))  # a closed stdout or a full disk: LabelError, exit 2


def load(labels, pred_probs, features, classes, label_col, prob_prefix, feature_prefix, normalize,
         quiet=False, multi_label=None, label_sep=",", max_memory: int | None = None):
    """io.open_dataset, with its note on stderr. max_memory (bytes): the command can read
    pred_probs larger than that in chunks (Dataset.pred_probs_chunks); None: everything is loaded."""
    from labelcli.io import open_dataset
    from labelcli.render import terminal

    ds = open_dataset(labels, pred_probs, features, classes=classes, label_col=label_col,
                      prob_prefix=prob_prefix, feature_prefix=feature_prefix, normalize=normalize,
                      multi_label=multi_label, label_sep=label_sep, max_memory=max_memory)
    if ds.note:
        terminal.note(terminal.console(quiet), f"{ds.note} (force with --multi-label / --multi-class)")
    if ds.num_skipped:  # a `fix` output as labels (io.labels.skipped_rows)
        terminal.note(terminal.console(quiet), f"{ds.num_skipped:,} rows dropped by an earlier fix (keep=false)"
                      " are skipped; the others keep their row numbers")
    if ds.warning:
        terminal.warning(terminal.console(), ds.warning)
    return ds
