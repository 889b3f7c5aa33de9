"""What runs on the workers: read one partition, and the per-partition steps of the passes
(labelcli.core.passes partials, candidates for labelcli.core.histselect, flags, output rows).
Every function is pure (its result depends only on its arguments and the files), so Dask may
rerun it on another worker after a failure and get the same result.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from labelcli.core import histselect as hs

# Hidden, for tests: make the first read of partition N kill its worker process once (the file
# named by the variable marks that it happened), or sleep a seeded random time before each read
# (tasks then finish out of order).
KILL_ENV = "LABELCLI_TEST_KILL_PARTITION"
JITTER_ENV = "LABELCLI_TEST_JITTER"


def _test_hooks(index: int) -> None:
    kill = os.environ.get(KILL_ENV)
    if kill:
        part, marker = kill.split(":", 1)
        if int(part) == index and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker dies mid-run; Dask reruns the task elsewhere
    jitter = os.environ.get(JITTER_ENV)
    if jitter:
        import time

        time.sleep(np.random.default_rng([int(jitter), index]).random() * 0.2)


def label_values(spec, multi):
    """(tags?, kind, distinct raw values) of one partition's labels; multi None: detect tags."""
    from labelcli.io import tags
    from labelcli.io.labels import raw_labels
    from labelcli.io.partitions import Partition, read_partition

    df = read_partition(Partition(spec.index, spec.labels_path, spec.start, spec.rows), [spec.label_col])
    if multi is None:
        multi = tags.looks_multilabel(df, spec.label_col, spec.label_sep) is not None
    if multi:
        found = _flat_tags(df, spec)
        if found is None:  # no tag in this file's rows (the whole input has some: checked below)
            return True, None, np.zeros(0, dtype=object)
        kind, _, raw, _ = found
        return True, kind, np.unique(raw)
    kind, raw = raw_labels(df, spec.labels_name, spec.label_col)
    return False, kind, np.unique(raw)


def read(spec, *, probs: bool = True):
    """(labels, pred_probs) of one partition, validated as labelcli.io.open_dataset validates the
    same rows of one file: class indices (multi-label: an N x K bool matrix) and checked floats."""
    from labelcli.core import validate as v
    from labelcli.core.multilabel import as_label_matrix, as_multilabel_pred_probs
    from labelcli.io.classes import resolve_classes, resolve_tags
    from labelcli.io.labels import raw_labels
    from labelcli.io.partitions import Partition, read_partition

    _test_hooks(spec.index)
    k = len(spec.classes)
    df = read_partition(Partition(spec.index, spec.labels_path, spec.start, spec.rows), [spec.label_col])
    names = list(spec.classes)
    if spec.multi_label:
        found = _flat_tags(df, spec)
        if found is None:
            y = np.zeros((len(df), k), dtype=bool)
        else:
            kind, rows, raw, n = found
            _, y, _ = resolve_tags(kind, rows, raw, n, names, spec.prob_names and list(spec.prob_names), k,
                                   spec.labels_name, spec.probs_name)
        y = as_label_matrix(y, num_classes=k, name=spec.labels_name)
    else:
        kind, raw = raw_labels(df, spec.labels_name, spec.label_col)
        rows = np.arange(spec.start, spec.start + len(raw))
        _, idx, _ = resolve_classes(kind, raw, names, spec.prob_names and list(spec.prob_names), k,
                                    spec.labels_name, spec.probs_name, rows=rows)
        y = v.as_labels(idx, num_classes=k, name=spec.labels_name, row_offset=spec.start)
    if not probs:
        return y, None
    pdf = read_partition(Partition(spec.index, spec.probs_path, spec.start, spec.rows), spec.prob_cols)
    p = _matrix(pdf, list(spec.prob_cols), spec)
    if spec.multi_label:
        return y, as_multilabel_pred_probs(p, name=spec.probs_name)
    return y, v.as_pred_probs(p, name=spec.probs_name, normalize=spec.normalize, row_offset=spec.start)


def _flat_tags(df, spec):
    """tags.flat_tags of a partition, or None when none of its rows has a tag (allowed in a part)."""
    from labelcli.errors import LabelError
    from labelcli.io import tags

    try:
        return tags.flat_tags(df, spec.labels_name, spec.label_col, spec.label_sep)
    except LabelError as e:
        if "no example has any tag" in str(e):
            return None
        raise


def _matrix(df, cols, spec) -> np.ndarray:
    """The columns as one row-major matrix, float32 when every column is (labelcli.io.columns)."""
    from pandas.api.types import is_numeric_dtype

    from labelcli.errors import LabelError

    for c in cols:
        if not is_numeric_dtype(df[c]):
            raise LabelError(f"{spec.probs_name}: column '{c}' holds text (in {os.path.basename(spec.probs_path)});"
                             " pred_probs must be numbers")
    dtype = np.float32 if all(df[c].dtype == np.float32 for c in cols) else np.float64
    return np.ascontiguousarray(df[cols].to_numpy(dtype=dtype, na_value=np.nan))


def read_ids(spec, positions: np.ndarray):
    """The --id-col values of some rows of the partition (positions within it)."""
    from labelcli.io.partitions import Partition, read_partition

    df = read_partition(Partition(spec.index, spec.labels_path, spec.start, spec.rows), [spec.id_col])
    return df[spec.id_col].to_numpy()[positions]


# --- pass 1: labels and self-confidences; the shuffle by class ---------------------------------


@dataclass(frozen=True)
class Pass1:
    start: int
    labels: np.ndarray  # class indices (compact)
    self_conf: np.ndarray  # p[i, label_i] in the data's dtype


def pass1(spec) -> Pass1:
    from labelcli.core.scan import index_dtype, self_confidence

    y, p = read(spec)
    return Pass1(spec.start, y.astype(index_dtype(p.shape[1])), self_confidence(y, p))


def class_counts(p1: Pass1, k: int) -> np.ndarray:
    return np.bincount(p1.labels, minlength=k)


def class_pieces(p1: Pass1, groups: int) -> list:
    """The partition's (labels, self-confidences) split into `groups` reducer groups (class % groups),
    each in row order."""
    which = p1.labels % groups
    return [(p1.labels[which == g], p1.self_conf[which == g]) for g in range(groups)]


def pick(pieces, i: int):
    return pieces[i]


def class_stats(g: int, groups: int, k: int, pieces: list):
    """A reducer: for each class c = g, g + groups, ... its rows' self-confidences in row order
    (pieces in partition order): (classes, mean as np.mean computes it over the rows in order, or
    None, the float64 sum in row order as np.bincount adds weights)."""
    labels = np.concatenate([x[0] for x in pieces])
    sc = np.concatenate([x[1] for x in pieces])
    out = []
    for c in range(g, k, groups):  # a loop over this reducer's classes
        vals = sc[labels == c]
        mean = np.mean(vals) if len(vals) else None
        seq = np.bincount(np.zeros(len(vals), dtype=np.intp), weights=vals.astype(np.float64), minlength=1)[0]
        out.append((c, mean, seq))
    return out


# --- pass 2: the row scan and the confident joint -------------------------------------------


def pass2(spec, p1: Pass1, thresholds, kw: dict):
    from labelcli.core.passes import Chunk, joint_partial

    y, p = read(spec)
    return joint_partial(Chunk(spec.start, y, p), thresholds, self_conf=p1.self_conf, **kw)


def fit_terms(spec, rows: np.ndarray, noise):
    """The posterior's kernel terms of some rows of the partition (positions within it), for the
    fit of the noise model (labelcli.core.posterior)."""
    from labelcli.core.posterior import kernel_terms_of_rows

    y, p = read(spec)
    return kernel_terms_of_rows(y, p, rows, noise)


def posterior_scores(spec, model, noise) -> np.ndarray:
    """The partition's posterior scores under the fitted noise model."""
    from labelcli.core.posterior import posterior_from_terms, scoring_terms

    y, p = read(spec)
    return posterior_from_terms(model, scoring_terms(model, y, p, noise))


def with_posterior(jp, scores: np.ndarray):
    """The pass-2 partial with the posterior scores beside its other scores."""
    from dataclasses import replace

    return replace(jp, scores={**jp.scores, "posterior": scores})


def joint_small(jp):
    """What the client needs of a pass-2 partial: the cell counts and the confident-joint issue count."""
    issues = None if jp.off_diagonal is None else int(np.count_nonzero(jp.off_diagonal & ~jp.agrees))
    return jp.cell_counts, jp.adjusted_cells, issues


def rank_scores(p1: Pass1, jp, method: str) -> np.ndarray:
    return p1.self_conf.astype(np.float64) if method == "self_confidence" else jp.scores[method]


# --- candidates for the exact selections -------------------------------------------------------


def noise_candidates(spec, quota: np.ndarray) -> hs.Candidates:
    """prune_by_noise_rate: each cell's best quota rows of this partition (a row in a cell's global
    best quota is in its partition's best quota)."""
    from labelcli.core.passes import Chunk, cells_partial

    y, p = read(spec)
    c = cells_partial(Chunk(spec.start, y, p), quota)
    return hs.Candidates.of(c.cell, c.key, c.row)


def class_candidates(p1: Pass1, nums: np.ndarray) -> hs.Candidates:
    """prune_by_class: per class k, this partition's nums[k] rows labeled k with the lowest p[k]."""
    from labelcli.core.select import first_n_by_key

    groups, keys, rows = [], [], []
    for k in np.flatnonzero(nums > 0):  # a loop over classes
        at = np.flatnonzero(p1.labels == k)
        picked = at[first_n_by_key(p1.self_conf[at], int(nums[k]))]
        groups.append(np.full(len(picked), k))
        keys.append(p1.self_conf[picked])
        rows.append(p1.start + picked)
    if not groups:
        return hs.Candidates.of([], np.zeros(0, p1.self_conf.dtype), [])
    return hs.Candidates.of(np.concatenate(groups), np.concatenate(keys), np.concatenate(rows))


def low_candidates(scores: np.ndarray, start: int, num: int, eligible=None) -> hs.Candidates:
    """The num lowest scores of the partition (one group); eligible: a row mask."""
    from labelcli.core.select import first_n_by_key

    at = np.arange(len(scores)) if eligible is None else np.flatnonzero(eligible)
    picked = at[first_n_by_key(scores[at], num)]
    return hs.Candidates.of(np.zeros(len(picked)), scores[picked], start + picked)


def low_scores(p1: Pass1, jp, method: str) -> np.ndarray:
    return rank_scores(p1, jp, method)


# --- flags and the rows that reach the client ------------------------------------------------


def flags(filter_by: str, p1: Pass1, jp, selections: dict) -> np.ndarray:
    """The partition's flagged rows (a bool mask), as labelcli.core.pruning.issues_mask flags them,
    from the rows the exact selections chose (global row numbers)."""
    n = len(p1.labels)

    def chosen(name):
        mask = np.zeros(n, dtype=bool)
        mask[selections[name] - p1.start] = True
        return mask

    if filter_by.startswith("low_"):
        return chosen("low")
    if filter_by == "confident_learning":
        mask = jp.off_diagonal.copy()
    elif filter_by == "predicted_neq_given":
        mask = jp.predicted != p1.labels
    elif filter_by == "prune_by_noise_rate":
        mask = chosen("noise")
    elif filter_by == "prune_by_class":
        mask = chosen("class")
    else:  # both
        mask = chosen("noise") & chosen("class")
    return mask & ~jp.agrees


def flagged_rows(spec, p1: Pass1, jp, mask: np.ndarray, method: str) -> dict:
    """The flagged rows with what the output table shows (and the --id-col values)."""
    at = np.flatnonzero(mask)
    out = {"row": p1.start + at, "label": p1.labels[at], "predicted": jp.predicted[at],
           "score": rank_scores(p1, jp, method)[at]}
    if spec.id_col is not None:
        out["id"] = read_ids(spec, at)
    return out
