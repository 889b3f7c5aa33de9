"""Output tables of a distributed run, built with labelcli.render.tables from the rows at hand
(so their columns and types are the single-machine run's), and the folders of Parquet parts the
workers write for `find-issues --all` and `score` (the client never holds every row).

A folder of parts reads back, file after file in name order, as the single-machine table:
- find-issues --all: part-00000 the flagged rows (ranked), then the other rows by score, ties
  in row order: each part a range of score keys (labelcli.core.histselect.key_bits, its top
  RANGE_BITS bits, ranges cut from the summed histogram), sorted on the worker that writes it.
- score: one part per input partition (rows in input order).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from labelcli.core import histselect as hs

RANGE_BITS = 16
PART_NAME = "part-{:05d}.parquet"


def issues_frame(classes, rows, labels, predicted, scores, flagged: bool, ids=None, id_col=None):
    """The find-issues table of these rows in this order (render.tables.issues_table)."""
    from labelcli.render import tables

    m = len(rows)
    shim = SimpleNamespace(ranking=np.arange(m), mask=np.full(m, flagged), scores=np.asarray(scores),
                           predicted=np.asarray(predicted))
    df = tables.issues_table(shim, np.asarray(labels), classes)
    df["index"] = np.asarray(rows, dtype=np.int64)
    return with_ids(df, ids, id_col)


def with_ids(df, ids, id_col):
    """The --id-col values as the column after `index`."""
    if id_col is not None:
        df.insert(1, id_col, ids)
    return df


def check_out_folder(out: str | None, what: str) -> None:
    """--out of a distributed --all / score: a folder for the parts (new, or empty)."""
    from labelcli.errors import LabelError

    if out is None:
        return
    if out == "-" or os.path.splitext(out)[1]:
        raise LabelError(f"--out {out}: with --engine dask, {what} is written by the workers as a folder of"
                         " Parquet parts; give a folder path such as out/scores/")
    if os.path.isdir(out) and os.listdir(out):
        raise LabelError(f"--out {out}: the folder is not empty; give a new or empty folder")
    parent = os.path.dirname(os.path.abspath(out.rstrip("/")))
    if not os.path.isdir(parent):
        raise LabelError(f"--out {out}: folder '{parent}/' does not exist; create it first")


def write_part(df, folder: str, i: int, sep: str = ",") -> int:
    """One part through the one atomic writer; returns its size in bytes."""
    from labelcli.io import write_table

    from labelcli.render.tables import for_file

    path = os.path.join(folder, PART_NAME.format(i))
    write_table(for_file(df, path, "given_labels" in df.columns, sep), path)  # multi-label: tags as lists
    return os.path.getsize(path)


# --- find-issues --all: the unflagged rows in score order, as ranges of keys -----------------


def _top(scores: np.ndarray) -> np.ndarray:
    bits = hs.key_bits(np.asarray(scores, dtype=np.float64))
    return (bits >> np.uint64(64 - RANGE_BITS)).astype(np.int64)


def rest_histogram(p1, jp, mask, method: str) -> np.ndarray:
    from labelcli.distributed.work import rank_scores

    s = rank_scores(p1, jp, method)[~mask]
    return np.bincount(_top(s), minlength=1 << RANGE_BITS)


def ranges(hist: np.ndarray, parts: int) -> np.ndarray:
    """Bin edges cutting the summed histogram into about `parts` ranges of equal row counts
    (a range holds whole bins: equal keys always share a part)."""
    total = int(hist.sum())
    cum = np.cumsum(hist)
    target = max(1, -(-total // max(parts, 1)))
    edges = np.unique(np.searchsorted(cum, np.arange(target, total, target), side="left") + 1)
    return np.unique(np.r_[0, edges[edges < len(hist)], len(hist)])


def rest_pieces(spec, p1, jp, mask, method: str, edges: np.ndarray) -> list:
    """The partition's unflagged rows split by key range (each in row order)."""
    from labelcli.distributed.work import rank_scores, read_ids

    at = np.flatnonzero(~mask)
    s = rank_scores(p1, jp, method)[at]
    which = np.searchsorted(edges, _top(s), side="right") - 1
    ids = read_ids(spec, at) if spec.id_col is not None else None
    out = []
    for r in range(len(edges) - 1):  # a loop over output parts
        w = which == r
        out.append({"row": p1.start + at[w], "label": p1.labels[at[w]], "predicted": jp.predicted[at[w]],
                     "score": s[w], "id": None if ids is None else ids[w]})
    return out


def write_rest(folder: str, i: int, classes, id_col, pieces: list) -> tuple:
    """Sort one key range's rows by score (stable: pieces come in row order) and write them."""
    pieces = [p for p in pieces if len(p["row"])]
    if not pieces:
        return 0, 0
    cat = {k: np.concatenate([p[k] for p in pieces]) for k in ("row", "label", "predicted", "score")}
    order = np.argsort(cat["score"], kind="stable")
    ids = np.concatenate([p["id"] for p in pieces])[order] if id_col else None
    df = issues_frame(classes, cat["row"][order], cat["label"][order].astype(np.intp),
                      cat["predicted"][order].astype(np.intp), cat["score"][order], False, ids, id_col)
    return len(df), write_part(df, folder, i)


# --- score: one part per partition ------------------------------------------------------------


def score_part(spec, method: str, adjust: bool, thresholds, folder, nodes, lowest: int = 20):
    """Score one partition: write its rows (if a folder is given) and return small state: the
    pairwise partial sums of the scores, their lowest `lowest` rows, and the row count."""
    from labelcli.core import pairwise
    from labelcli.core.passes import Chunk, scores_partial
    from labelcli.core.select import first_n_by_key
    from labelcli.distributed.work import read, read_ids
    from labelcli.render import tables

    y, p = read(spec)
    if method == "posterior":  # thresholds: the fitted (noise model, noise matrix)
        from labelcli.core.posterior import posterior_from_terms, scoring_terms

        model, noise = thresholds
        scores, predicted = posterior_from_terms(model, scoring_terms(model, y, p, noise)), p.argmax(axis=1)
    else:
        part = scores_partial(Chunk(spec.start, y, p), method, adjust, thresholds, True)
        scores, predicted = part.scores, part.predicted.astype(np.intp, copy=False)
    ids = read_ids(spec, np.arange(len(y))) if spec.id_col is not None else None
    size = 0
    if folder is not None:
        df = tables.scores_table(scores, y, predicted, spec.classes)
        df["index"] = np.arange(spec.start, spec.start + len(y), dtype=np.int64)
        size = write_part(with_ids(df, ids, spec.id_col), folder, spec.index, spec.label_sep)
    low = first_n_by_key(scores, lowest)
    low = low[np.argsort(scores[low], kind="stable")]
    small = {"row": spec.start + low, "label": y[low], "predicted": predicted[low], "score": scores[low],
             "id": None if ids is None else ids[low]}
    return pairwise.partials(scores, spec.start, nodes), small, size


def class_table(classes, counts: np.ndarray, flagged_labels: np.ndarray):
    """render.tables.class_issue_counts from per-class counts and the flagged rows' labels."""
    import pandas as pd

    k = len(classes)
    flagged = np.bincount(flagged_labels, minlength=k)
    share = np.divide(flagged, counts, out=np.zeros(k), where=counts > 0)
    df = pd.DataFrame({"class": list(classes), "examples": counts, "flagged": flagged, "share": share})
    return df.sort_values(["flagged", "share"], ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Scored:
    mean: float
    lowest: object  # DataFrame: the lowest-scoring rows, lowest first (ties in row order)
    bytes_written: int


def score_finish(inputs, parts, nodes, lowest: int) -> Scored:
    """The mean and the lowest rows from the partitions' small results."""
    from labelcli.core import pairwise
    from labelcli.render import tables

    total = pairwise.combine(inputs.num_rows, nodes, [p[0] for p in parts])
    small = [p[1] for p in parts]
    cat = {k: np.concatenate([x[k] for x in small]) for k in ("row", "label", "predicted", "score")}
    order = np.argsort(cat["score"], kind="stable")[:lowest]  # partitions in row order: ties by row
    df = tables.scores_table(cat["score"][order], cat["label"][order], cat["predicted"][order], inputs.classes,
                             sep=inputs.specs[0].label_sep)
    df["index"] = cat["row"][order].astype(np.int64)
    id_col = inputs.specs[0].id_col
    ids = np.concatenate([x["id"] for x in small])[order] if id_col else None
    return Scored(total / inputs.num_rows, with_ids(df, ids, id_col), sum(p[2] for p in parts))
