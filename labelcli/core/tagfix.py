"""`fix --auto` on multi-label data: drop the flagged rows, or set their tags to the suggested tag
set. Pure numpy on N x K boolean tag matrices (no I/O)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError


@dataclass(frozen=True)
class TagFixResult:
    """Tags after the policy, and one changelog row per acted-on example (index order)."""

    labels: np.ndarray  # (N, K) bool tags after fixing; dropped rows keep their tags
    original: np.ndarray  # (N, K) bool tags before
    keep: np.ndarray  # (N,) bool, False = dropped
    changed: np.ndarray  # (N,) bool, the tag set differs from the original
    log_index: np.ndarray  # (M,) int64
    log_action: np.ndarray  # (M,) object: "drop", "relabel" or "keep" (suggested set = given set)

    @property
    def num_dropped(self) -> int:
        return int(np.count_nonzero(~self.keep))

    @property
    def num_relabeled(self) -> int:
        return int(np.count_nonzero(self.changed))

    @property
    def num_kept(self) -> int:
        return int(np.count_nonzero(self.keep))


def auto_tag_fix(labels, rows, suggested, *, action: str) -> TagFixResult:
    """``rows``: the flagged examples (row numbers); ``suggested``: their suggested tag sets (M x K).
    ``action`` "drop" drops them; "relabel" gives them the suggested tags."""
    y = np.asarray(labels, dtype=bool)
    idx = np.asarray(rows, dtype=np.int64)
    new = np.asarray(suggested, dtype=bool).reshape(len(idx), y.shape[1])
    if idx.size and (idx.min() < 0 or idx.max() >= len(y)):
        raise LabelError(f"a flagged row is outside 0..{len(y) - 1}")
    if len(np.unique(idx)) != len(idx):
        raise LabelError("the issues table names the same row twice")
    order = np.argsort(idx, kind="stable")
    idx, new = idx[order], new[order]
    fixed, keep = y.copy(), np.ones(len(y), dtype=bool)
    if action == "drop":
        keep[idx] = False
        acts = np.full(len(idx), "drop", dtype=object)
    elif action == "relabel":
        fixed[idx] = new
        same = (new == y[idx]).all(axis=1)
        acts = np.where(same, "keep", "relabel").astype(object)
    else:
        raise LabelError(f"unknown --auto action '{action}'; use drop or relabel")
    return TagFixResult(fixed, y.copy(), keep, (fixed != y).any(axis=1), idx, acts)
