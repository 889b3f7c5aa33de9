"""`fix` on multi-label data: review decisions (drop / keep / a new tag set) or an automatic
policy (drop the flagged rows, or set their tags to the suggested tag set). Pure numpy on N x K
boolean tag matrices (no I/O); the decisions' actions and rows are checked by labelcli.core.fixing,
as for multi-class labels."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from labelcli.core.fixing import DecisionCounts
from labelcli.errors import LabelError


@dataclass(frozen=True)
class TagFixResult(DecisionCounts):
    """Tags after the decisions, and one changelog row per decision (index order)."""

    labels: np.ndarray  # (N, K) bool tags after fixing; dropped rows keep their tags
    original: np.ndarray  # (N, K) bool tags before (on a fix output: before the first round)
    keep: np.ndarray  # (N,) bool, False = dropped
    weight: np.ndarray  # (N,) float64 sample weight: 1.0 kept, 0.0 dropped
    changed: np.ndarray  # (N,) bool, the tag set differs from the original
    log_index: np.ndarray  # (M,) int64
    log_action: np.ndarray  # (M,) object: "drop", "relabel" or "keep" (new set = given set)
    log_old: np.ndarray  # (M, K) bool tags before this round
    log_reason: np.ndarray  # (M,) object



def _is_blank(cell) -> bool:
    return cell is None or (isinstance(cell, float) and cell != cell) or type(cell).__name__ == "NAType"


def _names(cell, sep: str, where: str) -> list:
    """The tag names of one cell: a list, a JSON list ('["a", "b"]') or names joined by ``sep``."""
    if _is_blank(cell):
        return []
    if not isinstance(cell, str):
        return list(cell)
    text = cell.strip()
    if text.startswith("'"):  # a CSV cell guarded against spreadsheet formulas
        text = text[1:]
    if text.startswith("["):
        shown = text if len(text) <= 60 else text[:57] + "..."
        try:
            names = json.loads(text)
        except (ValueError, RecursionError):  # (RecursionError: nested thousands of levels deep)
            raise LabelError(f"{where}: '{shown}' is not a JSON list of tags (e.g. [\"a\", \"b\"])") from None
        if not isinstance(names, list) or any(isinstance(n, (list, dict)) for n in names):
            raise LabelError(f"{where}: '{shown}' is not a JSON list of tags (e.g. [\"a\", \"b\"])")
        return names
    return text.split(sep)


def tag_cells(cells, classes, sep: str, where) -> np.ndarray:
    """Cells of tag names (joined by ``sep``, a JSON list, or a list; blank or "" = no tag) as an
    M x K boolean matrix. An unknown tag is an error naming its row (``where(r)``) and the tag."""
    lookup = {str(c): j for j, c in enumerate(classes)}
    out = np.zeros((len(cells), len(classes)), dtype=bool)
    for r, cell in enumerate(cells):  # (over a review table's rows, each a short list of tags)
        for name in (str(t).strip() for t in _names(cell, sep, where(r))):
            if not name:
                continue
            if name not in lookup:
                shown = ", ".join(map(str, list(classes)[:8])) + (", ..." if len(classes) > 8 else "")
                raise LabelError(f"{where(r)}: tag '{name}' is not one of the tags ({shown})")
            out[r, lookup[name]] = True
    return out


def apply_tag_decisions(labels, index, action, new_tags, reason=None) -> TagFixResult:
    """Apply one decision per listed row: "drop", "keep", or "relabel" to the row of ``new_tags``
    (M x K; ignored for the other actions). A relabel to the given set is logged as "keep"."""
    y = np.asarray(labels, dtype=bool)
    idx = np.asarray(index, dtype=np.int64)
    acts = np.asarray(action, dtype=object)
    new = np.asarray(new_tags, dtype=bool).reshape(len(idx), y.shape[1])
    why = np.full(len(idx), "", dtype=object) if reason is None else np.asarray(reason, dtype=object)
    if idx.size and (idx.min() < 0 or idx.max() >= len(y)):
        raise LabelError(f"a decision names a row outside 0..{len(y) - 1}")
    if len(np.unique(idx)) != len(idx):
        raise LabelError("two decisions name the same row; keep one decision per example")
    unknown = [a for a in acts if a not in ("drop", "keep", "relabel")]
    if unknown:
        raise LabelError(f"unknown action '{unknown[0]}'; use one of relabel, drop, keep")
    order = np.argsort(idx, kind="stable")
    idx, acts, new, why = idx[order], acts[order].copy(), new[order], why[order]
    rel = acts == "relabel"
    fixed, keep = y.copy(), np.ones(len(y), dtype=bool)
    fixed[idx[rel]] = new[rel]
    keep[idx[acts == "drop"]] = False
    acts[rel & (new == y[idx]).all(axis=1)] = "keep"  # the new set is the given set: nothing changes
    return TagFixResult(fixed, y.copy(), keep, keep.astype(np.float64), (fixed != y).any(axis=1), idx, acts,
                        y[idx], why)


def auto_tag_fix(labels, rows, suggested, *, action: str) -> TagFixResult:
    """``rows``: the flagged examples (row numbers); ``suggested``: their suggested tag sets (M x K).
    ``action`` "drop" drops them; "relabel" gives them the suggested tags."""
    idx = np.asarray(rows, dtype=np.int64)
    if action not in ("drop", "relabel"):
        raise LabelError(f"unknown --auto action '{action}'; use drop or relabel")
    if len(np.unique(idx)) != len(idx):
        raise LabelError("the issues table names the same row twice")
    return apply_tag_decisions(labels, idx, np.full(len(idx), action, dtype=object), suggested,
                               np.full(len(idx), "flagged by find-issues", dtype=object))
