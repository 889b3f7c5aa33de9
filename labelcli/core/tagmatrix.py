"""Validation of multi-label inputs: the N x K 0/1 tag matrix and per-tag probabilities."""
from __future__ import annotations

from itertools import chain

import numpy as np

from labelcli.core import validate as v
from labelcli.errors import LabelError


def as_label_matrix(labels, num_classes: int | None = None, *, name: str = "labels", min_classes: int = 2) -> np.ndarray:
    """Validate an N x K 0/1 tag matrix (bool, int or float 0.0/1.0); returns a bool array."""
    try:
        y = np.asarray(labels)
    except ValueError:  # ragged nested lists
        raise LabelError(f"{name}: multi-label labels must be a 0/1 matrix; convert tag lists with lists_to_matrix") from None
    if y.dtype == object or y.dtype.kind in "USV":
        raise LabelError(
            f"{name}: multi-label labels must be a 0/1 matrix, got {v.values_kind(y)}; convert tag lists"
            " with lists_to_matrix (tag names must be mapped to indices first)"
        )
    if y.ndim != 2:
        raise LabelError(f"{name}: multi-label labels must be 2-D (N rows x K tags), got shape {y.shape}")
    n, k = y.shape
    if n == 0:
        raise LabelError(f"{name}: no labels (the input has 0 rows)")
    if num_classes is not None and k != num_classes:
        raise LabelError(f"{name}: labels have {k} tag columns but pred_probs has {num_classes}; they must match")
    if k < min_classes:
        raise LabelError(f"{name}: labels have {k} tag column{'s' if k != 1 else ''}; need at least {min_classes}")
    if y.dtype.kind == "b":
        return y
    if y.dtype.kind not in "iuf":
        raise LabelError(f"{name}: multi-label labels must be 0/1 numbers, got dtype {y.dtype}")
    bad = (y != 0) & (y != 1)  # NaN is bad too
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise LabelError(
            f"{name}: multi-label labels must be 0 or 1, found {y[r, c].item()!r} at {v.fmt_row(r)}, column {int(c)}"
        )
    return y != 0


def lists_to_matrix(lists, num_classes: int) -> np.ndarray:
    """Tag index lists (one per example; empty = no tag) -> N x K bool matrix."""
    try:
        lengths = np.fromiter(map(len, lists), dtype=np.int64)
    except TypeError:  # error path only: find the offending row for the message
        r = next(i for i, x in enumerate(lists) if not hasattr(x, "__len__") or isinstance(x, (str, bytes)))
        raise LabelError(f"labels: {v.fmt_row(r)} is {lists[r]!r}, not a list of tag indices") from None
    if len(lengths) == 0:
        raise LabelError("labels: no labels (the input has 0 rows)")
    items = list(chain.from_iterable(lists))
    flat = np.asarray(items)
    if flat.size == 0:
        return np.zeros((len(lengths), num_classes), dtype=bool)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    if flat.dtype.kind not in "iuf" or (flat.dtype.kind == "f" and not np.array_equal(flat, np.round(flat))):
        if flat.dtype.kind in "iuf":
            i = int(np.flatnonzero(flat != np.round(flat))[0])
        else:  # error path only: the first item that is not a number
            i = next(j for j, t in enumerate(items) if not isinstance(t, (int, float, np.number)))
        raise LabelError(
            f"labels: tag {items[i]!r} at {v.fmt_row(rows[i])} is not a tag index; map tag names to"
            " indices 0..K-1 first"
        )
    out_of_range = (flat < 0) | (flat >= num_classes)
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range)[0])
        raise LabelError(
            f"labels: tag {flat[i]} at {v.fmt_row(rows[i])} is outside 0..{num_classes - 1}"
            f" (there are {num_classes} tags); pass the `classes` option or fix the file"
        )
    out = np.zeros((len(lengths), num_classes), dtype=bool)
    out[rows, flat.astype(np.int64)] = True
    return out


def as_multilabel_pred_probs(pred_probs, *, name: str = "pred_probs") -> np.ndarray:
    """Validate N x K per-tag probabilities: finite, in [0, 1] (rows need not sum to 1)."""
    p = v.as_float_matrix(pred_probs, name=name)
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise LabelError(f"{name}: pred_probs is empty (shape {p.shape})")
    v.check_finite(p, name=name)
    bad = (p < -v.RANGE_ATOL) | (p > 1 + v.RANGE_ATOL)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise LabelError(
            f"{name}: per-tag pred_probs must be probabilities in [0, 1], found {p[r, c]:.6g} at"
            f" {v.fmt_row(r)}, column {int(c)} (logits? apply a sigmoid first)"
        )
    if p.min() < 0 or p.max() > 1:
        p = np.clip(p, 0.0, 1.0)  # rounding noise; a copy, the caller's array is untouched
    return p
