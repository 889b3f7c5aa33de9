"""What a distributed run reads: the partitions of --labels and --pred-probs (Parquet folders or
globs, labelcli.io.partitions), the pred_probs columns in class order and the class names,
resolved exactly as labelcli.io.open_dataset resolves them for the same rows in one file.

The client reads footers and the first rows of one file only; the label values are read on the
workers (each partition's distinct labels come back to resolve the class names), so nothing
here grows with the number of rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError


@dataclass(frozen=True)
class PartSpec:
    """Everything a worker needs to read one partition: the files, the columns and the classes."""

    index: int
    start: int
    rows: int
    labels_path: str
    probs_path: str
    label_col: str
    prob_cols: tuple  # in class order
    classes: tuple  # resolved class names (None until resolved)
    prob_names: tuple | None
    kind: str | None  # "int" / "str" / tags: "tags"
    multi_label: bool
    normalize: bool
    labels_name: str
    probs_name: str
    label_sep: str = ","
    id_col: str | None = None


@dataclass(frozen=True)
class Inputs:
    """The resolved partitions of a run (specs in row order) and the class names."""

    specs: tuple
    classes: tuple
    num_rows: int
    multi_label: bool
    labels_path: str
    probs_path: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def starts(self) -> np.ndarray:
        return np.array([s.start for s in self.specs], dtype=np.int64)


def open_inputs(ex, labels: str, pred_probs: str, *, classes=None, label_col="label", prob_prefix=None,
                normalize=False, multi_label=None, label_sep=",", id_col=None) -> Inputs:
    """Open the partitions and resolve the columns and classes (one small task per partition)."""
    from dataclasses import replace

    from labelcli.distributed import work
    from labelcli.io.classes import parse_classes, resolve_classes, resolve_tags
    from labelcli.io.columns import class_names_from_columns, pick_columns
    from labelcli.io.formats import display_name
    from labelcli.io.partitions import is_partitioned, open_partitions, read_partition

    for option, path in (("--labels", labels), ("--pred-probs", pred_probs)):
        if path is None or not is_partitioned(path):
            raise LabelError(f"{option} {path}: --engine dask reads a folder or glob of Parquet files"
                             " (one file is one partition)")
    lab, probs = open_partitions(labels), open_partitions(pred_probs)
    if [p.rows for p in lab.parts] != [p.rows for p in probs.parts]:
        raise LabelError(f"{labels} and {pred_probs}: the files hold different row counts; give partitions"
                         " that match file by file (or one folder holding both)")
    head = read_partition(probs.nonempty()[0]).head(1000)
    cols = pick_columns(head, display_name(pred_probs), prefix=prob_prefix, label_col=label_col,
                        skip_prefix=None, what="pred_probs", option="--prob-prefix")
    prob_names = class_names_from_columns(cols, prob_prefix, display_name(pred_probs))
    if label_col not in lab.columns:
        from labelcli.io.formats import preview

        raise LabelError(f"{display_name(labels)}: no column '{label_col}' (columns: {preview(list(lab.columns))});"
                         " pass --label-col NAME")
    if id_col is not None and id_col not in lab.columns:
        raise LabelError(f"{display_name(labels)}: no column '{id_col}' for --id-col")
    base = [PartSpec(p.index, p.start, p.rows, lp.path, p.path, label_col, tuple(cols), (), prob_names, None,
                     False, normalize, display_name(labels), display_name(pred_probs), label_sep, id_col)
            for lp, p in zip(lab.parts, probs.parts)]
    # each partition's label kind and distinct values (small), to resolve the names once
    nonempty = [s for s in base if s.rows]
    found = ex.gather([ex.submit(work.label_values, s, multi_label) for s in nonempty])
    multi = bool(multi_label) or any(t for t, _, _ in found)
    if multi and not all(t for t, _, _ in found):  # tags seen in some files only: read all as tags
        found = ex.gather([ex.submit(work.label_values, s, True) for s in nonempty])
    kinds = {kind for _, kind, _ in found if kind is not None}
    if not kinds:
        raise LabelError(f"{display_name(labels)}: no example has any tag in column '{label_col}';"
                         " check --label-col and --label-sep")
    if len(kinds) > 1:
        raise LabelError(f"{display_name(labels)}: some files hold class names and others numbers; use one kind")
    kind = kinds.pop()
    values = [v for _, kind_, v in found if kind_ is not None]
    uniq = np.unique(np.concatenate(values)) if kind == "int" else \
        np.array(sorted(set().union(*[set(v) for v in values])), dtype=object)
    given = parse_classes(classes) if classes is not None else None
    k_probs = len(cols)
    if multi:
        names, _, order = resolve_tags(kind, np.arange(len(uniq)), uniq, len(uniq), given, prob_names, k_probs,
                                       display_name(labels), display_name(pred_probs))
    else:
        names, _, order = resolve_classes(kind, uniq, given, prob_names, k_probs, display_name(labels),
                                          display_name(pred_probs))
    if order is not None:
        cols = [cols[i] for i in order]
    specs = tuple(replace(s, prob_cols=tuple(cols), classes=tuple(names), kind=kind, multi_label=multi)
                  for s in base)
    return Inputs(specs, tuple(names), lab.num_rows, multi, labels, pred_probs)
