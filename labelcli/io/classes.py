"""Class names: which names, in which order, and each label's (or tag's) class index.

The rules (README "File formats"): --classes if given, else pred_probs column names, else the
sorted distinct label names, else 0..K-1.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from labelcli.errors import LabelError
from labelcli.io import tags
from labelcli.io.formats import preview

_INT_NAME = re.compile(r"^(0|-?[1-9]\d*)$")


def parse_classes(classes: str | Sequence[str]) -> list[str]:
    """The class names of --classes ("cat,dog,bird" or a sequence): stripped, unique, at least 2."""
    names = classes.split(",") if isinstance(classes, str) else [str(c) for c in classes]
    names = [n.strip() for n in names]
    if any(not n for n in names):
        raise LabelError(f"--classes '{classes}': class names must not be empty")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise LabelError(f"--classes lists '{n}' twice; class names must be unique")
        seen.add(n)
    if len(names) < 2:
        raise LabelError(f"--classes lists {len(names)} class; need at least 2")
    return names


def _is_int_name(s: str) -> bool:
    return bool(_INT_NAME.match(s))


def _sorted_names(values) -> list[str]:
    """Sorted unique names; numeric order when every name is an integer ("2" before "10")."""
    uniq = set(values)
    if all(_is_int_name(u) for u in uniq):
        return sorted(uniq, key=int)
    return sorted(uniq)


def resolve_classes(kind, raw, given, prob_names, k_probs, lab_name, probs_name, *, rows=None, what="label"):
    """Pick the class names (rules 1-4) and map labels to indices; returns (names, idx, order).

    ``order`` permutes pred_probs columns when they name the --classes in a different order.
    ``rows`` maps each value to its example's row (tags: several values per row) for messages.
    """
    order = None
    if given is not None:
        names = given
        if k_probs is not None and len(names) != k_probs:
            raise LabelError(
                f"--classes lists {len(names)} classes but {probs_name} has {k_probs} columns;"
                " they must match"
            )
        if prob_names is not None:
            order = _align(prob_names, names, probs_name)
    elif prob_names is not None:
        names = prob_names
    elif kind == "str":
        names = _sorted_names(raw)
        if k_probs is not None:
            if all(_is_int_name(n) for n in names) and max(int(n) for n in names) < k_probs:
                names = [str(i) for i in range(k_probs)]
            elif all(_is_int_name(n) for n in names):
                top = max(names, key=int)
                r = int(np.flatnonzero(raw == top)[0])
                row = r if rows is None else int(rows[r])
                raise LabelError(
                    f"{lab_name}: {what} {top} at row {row} (0-based) is outside 0..{k_probs - 1}"
                    f" ({probs_name} has {k_probs} columns); pass --classes or fix the file"
                )
            else:
                # Guessing that unnamed columns follow the alphabetical order of the names is
                # silently wrong when they don't (most rows then look mislabeled): ask instead.
                raise LabelError(
                    f"{lab_name}: labels are class names but {probs_name} has no column names;"
                    f" pass --classes with the {len(names)} names in the order of its columns"
                    " (the order the model was trained with)"
                )
    else:
        k = k_probs if k_probs is not None else max(int(raw.max()), 0) + 1
        names = [str(i) for i in range(k)]
    names = list(names)
    if kind == "str":
        idx = _map_names(raw, names, lab_name, rows=rows, what=what)
    elif all(_is_int_name(n) for n in names) and names != [str(i) for i in range(len(names))]:
        # Classes named "1", "2", "3" (or "3", "5", "7"): an integer label is a name, not a position.
        idx = _map_names(raw.astype(str).astype(object), names, lab_name, rows=rows, what=what)
    else:
        idx = raw
    return names, idx, order


def _align(prob_names: list[str], given: list[str], probs_name: str):
    if prob_names == given:
        return None
    if set(prob_names) == set(given):
        return [prob_names.index(c) for c in given]
    if set(prob_names) & set(given):
        raise LabelError(
            f"{probs_name}: the columns name classes ({preview(prob_names, 5)}) that differ from"
            f" --classes ({preview(given, 5)}); make them match or drop --classes"
        )
    return None  # unrelated names (e.g. "0", "1"): --classes names the columns by position


def _map_names(raw: np.ndarray, names: list[str], lab_name: str, *, rows=None, what="label") -> np.ndarray:
    import pandas as pd

    lookup = {n: i for i, n in enumerate(names)}
    codes, uniq = pd.factorize(raw)  # hashing, in row order: fast on millions of strings
    idx = np.array([lookup.get(u, -1) for u in uniq], dtype=np.int64)[codes]
    bad = np.flatnonzero(idx < 0)
    if bad.size:
        r = int(bad[0])
        row = r if rows is None else int(rows[r])
        raise LabelError(
            f"{lab_name}: {what} '{raw[r]}' at row {row} (0-based) is not one of the {len(names)}"
            f" classes ({preview(names, 5)}); pass --classes or fix the file"
        )
    return idx


def resolve_tags(kind, rows, raw, n, given, prob_names, k_probs, lab_name, probs_name):
    """Class names for tags (the same rules as labels) and the N x K tag matrix."""
    if kind == "matrix":
        k = raw.shape[1]
        names = given if given is not None else prob_names if prob_names is not None else [str(i) for i in range(k)]
        for what, count in (("--classes", None if given is None else len(given)), (probs_name, k_probs)):
            if count is not None and count != k:
                unit = "classes" if what == "--classes" else "columns"
                raise LabelError(f"{lab_name}: the label matrix has {k} tag columns but {what} has"
                                 f" {count} {unit}; they must match")
        order = _align(prob_names, given, probs_name) if given is not None and prob_names is not None else None
        return list(names), raw, order
    names, idx, order = resolve_classes(kind, raw, given, prob_names, k_probs, lab_name, probs_name,
                                         rows=rows, what="tag")
    big = np.flatnonzero((idx < 0) | (idx >= len(names)))
    if big.size:
        r = int(big[0])
        raise LabelError(
            f"{lab_name}: tag {int(idx[r])} at row {int(rows[r])} (0-based) is outside 0..{len(names) - 1}"
            f" ({len(names)} classes); pass --classes or fix the file"
        )
    return names, tags.to_matrix(rows, idx, n, len(names)), order


# Warn about a column order only when another assignment of columns to classes leaves at most this
# share of the rows whose argmax disagrees with the given label, and gains at least this share of
# all rows (noise alone, even 40% of labels flipped at random, is best matched by the order given).
ORDER_DISAGREE_SHARE, ORDER_MIN_GAIN = 0.5, 0.05


def column_order_warning(idx: np.ndarray, pred_probs: np.ndarray, names: Sequence[str],
                         probs_name: str) -> str | None:
    """A warning when --classes names unnamed pred_probs columns in an order that does not fit the
    labels: the given-label vs argmax confusion is far better matched by another assignment of
    columns to classes (found by an optimal assignment on the confusion matrix). None when it fits."""
    from scipy.optimize import linear_sum_assignment

    k = len(names)
    idx = np.asarray(idx, dtype=np.int64)
    n = idx.size
    if n == 0 or k < 2 or pred_probs.shape[1] != k:
        return None
    pred = np.asarray(pred_probs).argmax(axis=1)
    conf = np.bincount(idx * k + pred, minlength=k * k).reshape(k, k)  # [given, argmax column]
    as_given = int(np.trace(conf))
    rows, cols = linear_sum_assignment(conf, maximize=True)
    best = int(conf[rows, cols].sum())
    if n - best > ORDER_DISAGREE_SHARE * (n - as_given) or best - as_given < ORDER_MIN_GAIN * n:
        return None
    order = [names[i] for i in rows[np.argsort(cols)]]  # the class whose rows pick each column
    return (
        f"{probs_name}: the --classes order fits the labels poorly (the most likely class is the"
        f" given label in {as_given:,} of {n:,} rows); the columns look like they are in the order"
        f" {','.join(order)} ({best:,} rows); check the order the model was trained with"
    )
