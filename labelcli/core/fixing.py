"""Apply review decisions (relabel / drop / keep) or an automatic policy to a label vector.

Pure numpy: the CLI reads the decision or issues table and hands its columns here. One engine,
`apply_decisions`, applies a validated `Decisions`; `parse_decisions` builds one from a reviewer's
table and `auto_decisions` from a find-issues table and a policy.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from labelcli.errors import LabelError

ACTIONS = ("relabel", "drop", "keep")
AUTO_ACTIONS = ("drop", "relabel")
DEFAULT_THRESHOLD = 0.9


@dataclass(frozen=True)
class Decisions:
    """One decision per listed row, rows in increasing index order."""

    index: np.ndarray  # (M,) int64 row numbers in 0..N-1, unique
    action: np.ndarray  # (M,) object: "relabel", "drop" or "keep"
    new_label: np.ndarray  # (M,) int64 class index for "relabel", -1 otherwise
    reason: np.ndarray  # (M,) object: why (free text)


class DecisionCounts:
    """The counts of a fix result (multi-class FixResult, multi-label tagfix.TagFixResult): needs
    ``keep`` (False = dropped) and ``changed`` (relabeled)."""

    @property
    def num_dropped(self) -> int:
        return int(np.count_nonzero(~self.keep))

    @property
    def num_relabeled(self) -> int:
        return int(np.count_nonzero(self.changed))

    @property
    def num_kept(self) -> int:
        return int(np.count_nonzero(self.keep))


@dataclass(frozen=True)
class FixResult(DecisionCounts):
    """Labels after the decisions, and a changelog with one row per decision (index order)."""

    labels: np.ndarray  # (N,) int64 class index after fixing; dropped rows keep their original label
    original: np.ndarray  # (N,) int64 the labels before
    keep: np.ndarray  # (N,) bool, False = dropped
    weight: np.ndarray  # (N,) float64 sample weight: 1.0 kept, 0.0 dropped
    changed: np.ndarray  # (N,) bool, the label differs from the original (relabeled)
    log_index: np.ndarray  # (M,) int64
    log_action: np.ndarray  # (M,) object: the action applied ("relabel", "drop", "keep")
    log_old: np.ndarray  # (M,) int64 class index before
    log_new: np.ndarray  # (M,) int64 class index after, -1 for a dropped row
    log_reason: np.ndarray  # (M,) object



def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()) \
        or type(v).__name__ in ("NAType", "NaTType")


def _as_text(v) -> str:
    """A cell as text: whole floats (3.0, from a CSV column with blanks) read as integers."""
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def class_indices(values, classes, *, what: str, where) -> np.ndarray:
    """Map cells to class indices: a class name, else an index 0..K-1 -- unless some class name is
    itself an integer (classes "3", "5", "7"), where a number can only be a name.

    Blank cells become -1. `where(r)` names row r in an error message.
    """
    lookup = {str(c): i for i, c in enumerate(classes)}
    k = len(classes)
    int_names = any(str(c).lstrip("-").isdigit() for c in classes)
    by_index = not int_names or [str(c) for c in classes] == [str(i) for i in range(k)]
    out = np.full(len(values), -1, dtype=np.int64)
    for r, v in enumerate(values):
        if _blank(v):
            continue
        s = _as_text(v)
        if s in lookup:
            out[r] = lookup[s]
        elif by_index and s.lstrip("-").isdigit() and 0 <= int(s) < k:
            out[r] = int(s)
        else:
            shown = ", ".join(map(str, list(classes)[:5])) + (", ..." if k > 5 else "")
            also = f" nor an index 0..{k - 1}" if by_index else ""
            raise LabelError(f"{where(r)}: {what} '{s}' is not a class ({shown}){also}")
    return out


def bool_cells(values, *, what: str, where) -> np.ndarray:
    """Cells as booleans: True/False (any case), 1/0; anything else is an error naming the row."""
    out = np.empty(len(values), dtype=bool)
    for r, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)):
            out[r] = bool(v)
            continue
        s = "" if _blank(v) else _as_text(v).lower()
        if s not in ("true", "false", "1", "0"):
            raise LabelError(f"{where(r)}: {what} '{v}' is not true/false")
        out[r] = s in ("true", "1")
    return out


def row_indices(values, num_examples: int, where) -> np.ndarray:
    """Validate a column of 0-based row numbers: whole, in range, unique. `where(r)` names row r."""
    out = np.empty(len(values), dtype=np.int64)
    for r, v in enumerate(values):
        if _blank(v):
            raise LabelError(f"{where(r)}: index is blank; every row needs the 0-based row number it is about")
        s = _as_text(v)
        if not s.lstrip("-").isdigit():
            raise LabelError(f"{where(r)}: index '{s}' is not a whole number")
        out[r] = int(s)
    bad = np.flatnonzero((out < 0) | (out >= num_examples))
    if bad.size:
        r = int(bad[0])
        raise LabelError(f"{where(r)}: index {out[r]} is outside 0..{num_examples - 1} (the labels have"
                         f" {num_examples} rows); was the table made from these labels?")
    order = np.argsort(out, kind="stable")
    dup = np.flatnonzero(out[order][1:] == out[order][:-1])
    if dup.size:
        r = int(order[dup[0] + 1])
        first = int(order[dup[0]])
        raise LabelError(f"{where(r)}: index {out[r]} is listed twice (also at row {first}); keep one decision per example")
    return out


def parse_actions(index, action, *, num_examples: int, reason=None, name: str = "decisions"):
    """Validate a reviewer's index and action (relabel|drop|keep; blank = not reviewed yet) columns:
    (table positions, index, action, reason) of the reviewed rows, in index order. For both tasks
    (multi-label: labelcli.core.tagfix)."""
    def where(r: int) -> str:
        return f"{name} row {r} (0-based)"

    m = len(index)
    idx = row_indices(index, num_examples, where)
    acts = np.empty(m, dtype=object)
    for r, a in enumerate(action):
        s = "" if _blank(a) else str(a).strip().lower()
        if s == "":  # blank: not reviewed yet (left out below)
            acts[r] = s
            continue
        if s not in ACTIONS:
            shown = "blank" if not s else f"'{str(a).strip()}'"
            raise LabelError(f"{where(r)}: action is {shown}; use one of {', '.join(ACTIONS)}")
        acts[r] = s
    why = np.empty(m, dtype=object)
    for r in range(m):  # (over the decision table's rows, not the examples)
        given = None if reason is None or _blank(reason[r]) else str(reason[r]).strip()
        why[r] = given or f"review: {acts[r]}"
    order = np.argsort(idx, kind="stable")
    order = order[acts[order] != ""]  # rows without an action are not reviewed yet: no decision
    return order, idx[order], acts[order], why[order]


def parse_decisions(index, action, new_label, *, classes, num_examples: int, reason=None,
                    name: str = "decisions") -> Decisions:
    """Validate a reviewer's table: columns index, action (relabel|drop|keep), new_label.

    new_label is a class name or index; it is required for relabel and ignored otherwise.
    reason (optional) is carried into the changelog.
    """
    def where(r: int) -> str:
        return f"{name} row {r} (0-based)"

    if len(action) != len(index) or len(new_label) != len(index):
        raise LabelError(f"{name}: the columns index, action and new_label have different lengths")
    order, idx, acts, why = parse_actions(index, action, num_examples=num_examples, reason=reason, name=name)
    rel = order[acts == "relabel"]  # table positions of the relabel decisions
    new = np.full(len(order), -1, dtype=np.int64)
    new_cells = np.asarray(list(new_label), dtype=object)
    new[acts == "relabel"] = class_indices(new_cells[rel], classes, what="new_label", where=lambda j: where(int(rel[j])))
    missing = rel[new[acts == "relabel"] < 0]
    if missing.size:
        raise LabelError(f"{where(int(missing[0]))}: action relabel needs a new_label (a class name or index)")
    return Decisions(idx, acts, new, why)


def candidate_rows(index, scores, is_issue, *, num_examples: int, fraction: float | None = None) -> np.ndarray:
    """Positions (into the issues table) to act on: the flagged rows, or the lowest-scoring
    round(fraction * N) rows of the table (ties: earlier table row first)."""
    if fraction is None:
        return np.flatnonzero(np.asarray(is_issue, dtype=bool))
    if not 0.0 < fraction <= 1.0:
        raise LabelError(f"the `fraction` option is a share of the examples in (0, 1], got {fraction:g}")
    want = int(round(fraction * num_examples))
    if want > len(index):
        raise LabelError(
            f"the `fraction` option {fraction:g} asks for the {want} lowest-scoring of {num_examples} examples but the"
            f" issues table has {len(index)} rows; write it with find-issues --all"
        )
    s = np.asarray(scores, dtype=np.float64)
    if np.isnan(s).any():
        r = int(np.flatnonzero(np.isnan(s))[0])
        raise LabelError(f"issues row {r} (0-based): label_score is missing; the `fraction` option ranks rows by it")
    return np.argsort(s, kind="stable")[:want]


def auto_decisions(labels, index, suggested, scores, is_issue, *, action: str, fraction: float | None = None,
                   confidence=None, threshold: float = DEFAULT_THRESHOLD) -> Decisions:
    """Decisions from a find-issues table (rows `index`, `suggested` class, `scores`, `is_issue`).

    Candidates: the flagged rows, or the lowest-scoring `fraction` of all examples.
    action "drop": drop every candidate. action "relabel": relabel a candidate to its suggested
    class when `confidence` (the predicted probability of that class) >= threshold; the others are
    kept unchanged, with the reason in the changelog.
    """
    y = np.asarray(labels)
    idx = np.asarray(index, dtype=np.int64)
    sugg = np.asarray(suggested, dtype=np.int64)
    sc = np.asarray(scores, dtype=np.float64)
    if action not in AUTO_ACTIONS:
        raise LabelError(f"the `auto` option '{action}' is not one of: {', '.join(AUTO_ACTIONS)}")
    if action == "relabel":
        if confidence is None:
            raise LabelError("relabeling needs the `pred_probs` option, to check the model is confident in the suggested label")
        if not 0.0 <= threshold <= 1.0:
            raise LabelError(f"the `threshold` option is a probability in [0, 1], got {threshold:g}")
    rows = candidate_rows(idx, sc, is_issue, num_examples=len(y), fraction=fraction)
    why_pick = "flagged by find-issues" if fraction is None else f"among the lowest {fraction:.1%} label scores"
    m = len(rows)
    acts = np.empty(m, dtype=object)
    new = np.full(m, -1, dtype=np.int64)
    why = np.empty(m, dtype=object)
    for j, r in enumerate(rows):
        base = f"{why_pick} (score {sc[r]:.3g})"
        if action == "drop":
            acts[j], why[j] = "drop", base
            continue
        p = float(confidence[r])
        if sugg[r] == y[idx[r]]:
            acts[j], why[j] = "keep", f"{base}; the suggested label is the given one"
        elif p >= threshold:
            acts[j], new[j], why[j] = "relabel", sugg[r], f"{base}; p(suggested) {p:.3f} >= {threshold:g}"
        else:
            acts[j], why[j] = "keep", f"{base}; not relabeled: p(suggested) {p:.3f} < {threshold:g}"
    order = np.argsort(idx[rows], kind="stable")
    return Decisions(idx[rows][order], acts[order], new[order], why[order])


def apply_decisions(labels, decisions: Decisions, num_classes: int) -> FixResult:
    """Apply decisions to labels (class indices); never modifies the input array."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise LabelError(f"labels must be a 1-D array of class indices, got {y.dtype} with shape {y.shape}")
    n = len(y)
    idx = np.asarray(decisions.index, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise LabelError(f"a decision names row {int(idx.max() if idx.max() >= n else idx.min())}, outside 0..{n - 1}")
    if len(np.unique(idx)) != len(idx):
        raise LabelError("two decisions name the same row; keep one decision per example")
    acts = np.asarray(decisions.action, dtype=object)
    new = np.asarray(decisions.new_label, dtype=np.int64)
    unknown = [a for a in acts if a not in ACTIONS]
    if unknown:
        raise LabelError(f"unknown action '{unknown[0]}'; use one of {', '.join(ACTIONS)}")
    rel = acts == "relabel"
    if np.any(rel & ((new < 0) | (new >= num_classes))):
        raise LabelError(f"a relabel decision has no valid new label (class index 0..{num_classes - 1})")

    original = y.astype(np.int64)  # a copy: the caller's array is left alone
    fixed = original.copy()
    fixed[idx[rel]] = new[rel]
    keep = np.ones(n, dtype=bool)
    keep[idx[acts == "drop"]] = False
    changed = fixed != original
    log_action, log_reason = acts.copy(), np.asarray(decisions.reason, dtype=object).copy()
    same = np.flatnonzero(rel & (new == original[idx]))
    log_action[same] = "keep"  # relabeling to the class it already has changes nothing
    log_reason[same] = [f"{r}; new_label is the given label" for r in log_reason[same]]
    log_new = np.where(acts == "drop", -1, fixed[idx])
    return FixResult(
        labels=fixed, original=original, keep=keep, weight=keep.astype(np.float64), changed=changed,
        log_index=idx, log_action=log_action, log_old=original[idx], log_new=log_new,
        log_reason=log_reason,
    )


def carry_forward(result, *, original, keep):
    """A second round of `fix` on the output of the first: ``original`` (the true labels before
    any round) and ``keep`` (False: dropped in an earlier round) come from that output. Earlier
    drops stay dropped unless this round names the row with keep or relabel; ``original`` stays
    the first round's, so ``changed`` counts every relabel so far. ``result``: a FixResult, or a
    multi-label TagFixResult (labelcli.core.tagfix) with ``original`` its N x K tags."""
    first = np.asarray(original, dtype=result.original.dtype)  # multi-label (TagFixResult): N x K tags
    if first.shape != result.original.shape:
        raise LabelError(f"original_label has {len(first)} rows but the labels have {len(result.original)}")
    restored = np.zeros(len(first), dtype=bool)
    named = result.log_index[result.log_action != "drop"]
    restored[named] = True
    kept = result.keep & (np.asarray(keep, dtype=bool) | restored)
    changed = result.labels != first
    return replace(result, original=first, keep=kept, weight=kept.astype(np.float64),
                   changed=changed.any(axis=1) if changed.ndim == 2 else changed)
