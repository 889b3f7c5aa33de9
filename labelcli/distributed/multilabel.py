"""Multi-label data on the cluster: one-vs-rest confident learning (labelcli.core.multilabel) with
every tag's binary problem run through the same distributed steps as multi-class data.

Tag c is the two-class problem (absent, present) with pred_probs [1 - p_c, p_c]. Groups number
the per-tag quantities: threshold group 2c + class (the shuffle by class), noise-rate cell
4c + (2 * given + true), prune_by_class group 2c + class; one histogram selection serves all
tags at once. Per-row per-tag state (agreement, off-diagonal, argmax) stays on the workers; the
client holds O(K) per tag and the flagged rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import histselect as hs
from labelcli.distributed import driver, work


def _binary(p: np.ndarray, c: int) -> np.ndarray:
    return np.stack([1 - p[:, c], p[:, c]], axis=1)  # as core.multilabel builds it, in the input dtype


@dataclass(frozen=True)
class TagPass1:
    start: int
    labels: np.ndarray  # N_i * K group ids 2c + y[i, c], row-major (each group's values in row order)
    self_conf: np.ndarray  # N_i * K, the binary self-confidences


def tag_pass1(spec) -> TagPass1:
    from labelcli.core.scan import self_confidence

    y, p = work.read(spec)
    k = y.shape[1]
    sc = np.empty(y.shape, dtype=p.dtype)
    for c in range(k):  # a loop over tags
        sc[:, c] = self_confidence(y[:, c].astype(np.intp), _binary(p, c))
    groups = 2 * np.arange(k) + y.astype(np.int64)
    return TagPass1(spec.start, groups.reshape(-1), sc.reshape(-1))


def tag_pass2(spec, thresholds: list) -> dict:
    """Each tag's binary row scan: the cell counts, and per row and tag agrees / off-diagonal / argmax."""
    from labelcli.core.passes import Chunk, joint_partial

    y, p = work.read(spec)
    n, k = y.shape
    out = {"cells": [], "agrees": np.empty((n, k), bool), "off": np.empty((n, k), bool),
           "predicted": np.empty((n, k), np.int8)}
    for c in range(k):  # a loop over tags
        jp = joint_partial(Chunk(spec.start, y[:, c].astype(np.intp), _binary(p, c)), thresholds[c])
        out["cells"].append(jp.cell_counts)
        out["agrees"][:, c], out["off"][:, c], out["predicted"][:, c] = jp.agrees, jp.off_diagonal, jp.predicted
    return out


def cells_of(jp: dict):
    return np.stack(jp["cells"]), int(np.count_nonzero((jp["off"] & ~jp["agrees"]).any(axis=1)))


def tag_noise_candidates(spec, quotas: np.ndarray) -> hs.Candidates:
    from labelcli.core.passes import Chunk, cells_partial

    y, p = work.read(spec)
    groups, keys, rows = [], [], []
    for c in np.flatnonzero(quotas.any(axis=1)):  # a loop over tags
        x = cells_partial(Chunk(spec.start, y[:, c].astype(np.intp), _binary(p, c)), quotas[c])
        groups.append(4 * c + x.cell.astype(np.int64))
        keys.append(x.key.astype(p.dtype))
        rows.append(x.row)
    if not groups:
        return hs.Candidates.of([], np.zeros(0, p.dtype), [])
    return hs.Candidates.of(np.concatenate(groups), np.concatenate(keys), np.concatenate(rows))


def tag_class_candidates(p1: TagPass1, nums: np.ndarray, k: int) -> hs.Candidates:
    p = work.Pass1(p1.start, p1.labels, p1.self_conf)
    c = work.class_candidates(p, nums)  # "rows" are start + flat positions (row * K + tag)
    # row = flat // K is increasing in the flat position within a group: the order is kept
    return hs.Candidates(c.group, c.bits, p1.start + (c.row - p1.start) // k)


def scores_of(spec, how, method: str, aggregation: str):
    from labelcli.core import multilabel as ml

    y, p = work.read(spec)
    tag = ml.per_tag_scores(y, p, method=method)
    agg = ml.label_quality_scores(y, p, method=method, aggregation=aggregation, alpha=how.alpha,
                                  temperature=how.temperature)
    return {"y": y, "predicted": p >= ml.PREDICT_THRESHOLD, "tag_scores": tag, "scores": agg, "start": spec.start}


def tag_flags(filter_by: str, sc: dict, jp: dict, sel: dict, low_method_scores=None) -> np.ndarray:
    """N_i x K suspect (example, tag) flags of the partition."""
    n, k = sc["y"].shape
    start = sc["start"]

    def chosen(name, per):  # selected rows of group (tag, ...) as an N x K mask
        mask = np.zeros((n, k), dtype=bool)
        rows, groups = sel[name]
        mask[rows - start, groups // per] = True
        return mask

    if filter_by.startswith("low_"):
        mask = np.zeros(n, dtype=bool)
        mask[sel["low"][0] - start] = True
        tag_issues = mask[:, None] & (sc["predicted"] != sc["y"])
        lone = mask & ~tag_issues.any(axis=1)
        tag_issues[np.flatnonzero(lone), sc["tag_scores"][lone].argmin(axis=1)] = True
        return tag_issues
    if filter_by == "confident_learning":
        flags = jp["off"].copy()
    elif filter_by == "predicted_neq_given":
        flags = jp["predicted"] != sc["y"]
    elif filter_by == "prune_by_noise_rate":
        flags = chosen("noise", 4)
    elif filter_by == "prune_by_class":
        flags = chosen("class", 2)
    else:
        flags = chosen("noise", 4) & chosen("class", 2)
    return flags & ~jp["agrees"]


def _select_with_groups(ex, cands, quota):
    """driver.select, keeping each selected row's group (tag_flags needs the tag)."""
    return driver.select(ex, cands, quota, groups=True)


def _flagged_rows(spec, sc: dict, tag_issues: np.ndarray) -> dict:
    mask = tag_issues.any(axis=1)
    at = np.flatnonzero(mask)
    y = sc["y"][at]
    out = {"row": spec.start + at, "y": y, "predicted": sc["predicted"][at], "score": sc["scores"][at],
           "add": tag_issues[at] & ~y, "remove": tag_issues[at] & y}
    if spec.id_col is not None:
        out["id"] = work.read_ids(spec, at)
    return out


def _chain_sums(prev, sc: dict):
    """Chained over partitions in row order: the per-tag sums of the tag scores exactly as numpy adds
    an N x K array down axis 0 (row after row), carried from the previous partition."""
    ts = sc["tag_scores"]
    if prev is None:
        return np.add.reduce(ts, axis=0)
    return np.add.reduce(np.vstack([prev[None], ts]), axis=0)


def _predicted_totals(sc: dict) -> np.ndarray:
    return sc["predicted"].sum(axis=0)


def health(ex, inputs, how, *, top_pairs: int = 20):
    """core.multilabel.health_summary on the cluster."""
    from labelcli.core import multilabel as ml
    from labelcli.tasks import Detection

    found = find_label_issues(ex, inputs, Detection(compat=how.compat))
    chain = None
    for f in found.scored:  # a chain of tasks, partitions in row order: K floats between them
        chain = ex.submit(_chain_sums, chain, f)
    n = inputs.num_rows
    mean = ex.gather(chain) / n
    predicted = np.sum(ex.gather([ex.submit(_predicted_totals, f) for f in found.scored]), axis=0)
    missing, extra = found.add.sum(axis=0), found.remove.sum(axis=0)
    tags = ml.tag_quality_from_counts(n, found.examples, predicted, missing, extra, mean)
    return ml.health_from_flagged(n, tuple(str(c) for c in inputs.classes), tags, found.y, found.add, found.remove,
                                  int(missing.sum() + extra.sum()), found.filter_by, top_pairs)


def score_part(spec, how, method, aggregation, folder, nodes, lowest: int = 20):
    """score of one partition (multi-label): its part written, and small state (outputs.score_part)."""
    from labelcli.core import pairwise
    from labelcli.core.select import first_n_by_key
    from labelcli.distributed.outputs import with_ids, write_part
    from labelcli.render import tables

    sc = scores_of(spec, how, method, aggregation)
    scores, y, predicted = sc["scores"], sc["y"], sc["predicted"]
    ids = work.read_ids(spec, np.arange(len(y))) if spec.id_col is not None else None
    size = 0
    if folder is not None:
        df = tables.scores_table(scores, y, predicted, spec.classes, sep=spec.label_sep)
        df["index"] = np.arange(spec.start, spec.start + len(y), dtype=np.int64)
        size = write_part(with_ids(df, ids, spec.id_col), folder, spec.index, spec.label_sep)
    low = first_n_by_key(scores, lowest)
    low = low[np.argsort(scores[low], kind="stable")]
    small = {"row": spec.start + low, "label": y[low], "predicted": predicted[low], "score": scores[low],
             "id": None if ids is None else ids[low]}
    return pairwise.partials(scores, spec.start, nodes), small, size


def score(ex, inputs, method, how, folder, lowest: int = 20):
    from labelcli.core import pairwise
    from labelcli.core.defaults import defaults
    from labelcli.distributed.outputs import score_finish

    aggregation = defaults(how.compat).multilabel_aggregation if how.aggregation is None else how.aggregation
    specs = [s for s in inputs.specs if s.rows]
    nodes = pairwise.plan(inputs.num_rows, [s.start for s in specs])
    parts = ex.gather([ex.submit(score_part, s, how, method, aggregation, folder, nodes, lowest) for s in specs])
    return score_finish(inputs, parts, nodes, lowest)


@dataclass(frozen=True, eq=False)
class FlaggedTags:
    rows: np.ndarray
    y: np.ndarray
    predicted: np.ndarray
    scores: np.ndarray
    add: np.ndarray
    remove: np.ndarray
    ids: np.ndarray | None
    num_rows: int
    filter_by: str
    rank_by: str
    aggregation: str
    examples: np.ndarray  # examples carrying each tag
    scored: list  # futures
    tag_issues: list  # futures

    @property
    def num_issues(self) -> int:
        return len(self.rows)

    @property
    def ranked_by(self) -> str:
        return f"{self.rank_by}, {self.aggregation}"

    def table(self, classes, id_col=None, sep=","):
        from types import SimpleNamespace

        from labelcli.distributed.outputs import with_ids
        from labelcli.render import tables

        m = len(self.rows)
        shim = SimpleNamespace(ranking=np.arange(m), mask=np.ones(m, bool), scores=self.scores,
                               predicted=self.predicted, suggest_add=self.add, suggest_remove=self.remove)
        df = tables.issues_table(shim, self.y, classes, sep=sep)
        df["index"] = self.rows.astype(np.int64)
        return with_ids(df, self.ids, id_col)

    def class_table(self, classes):
        import pandas as pd

        missing, extra = self.add.sum(axis=0), self.remove.sum(axis=0)
        df = pd.DataFrame({"tag": list(classes), "examples": self.examples, "flagged": missing + extra,
                           "missing": missing, "extra": extra})
        return df.sort_values("flagged", ascending=False, kind="stable").reset_index(drop=True)


def find_label_issues(ex, inputs, how) -> FlaggedTags:
    """core.multilabel.find_label_issues on the cluster (the defaults of how.compat)."""
    from labelcli.core.defaults import defaults
    from labelcli.core.engine import Plan
    from labelcli.core.pruning import noise_rate_quota
    from labelcli.core.scan import ABSENT_THRESHOLD, THRESHOLD_FLOOR, joint_from_cells
    from labelcli.core.select import order_by_score

    profile = defaults(how.compat)
    method = profile.multilabel_method if how.rank_by is None else how.rank_by
    aggregation = profile.multilabel_aggregation if how.aggregation is None else how.aggregation
    filter_by = profile.multilabel_filter_by if how.filter_by is None else how.filter_by
    specs = [s for s in inputs.specs if s.rows]
    k = inputs.num_classes
    # pass 1: the shuffle over (tag, class) groups
    p1 = [ex.submit(tag_pass1, s) for s in specs]
    groups = driver.reduce_groups(ex, 2 * k)
    pieces = [ex.submit(work.class_pieces, f, groups) for f in p1]
    reducers = [ex.submit(work.class_stats, g, groups, 2 * k, [ex.submit(work.pick, pc, g) for pc in pieces])
                for g in range(groups)]
    means: list = [None] * (2 * k)
    for part in ex.gather(reducers):
        for g, mean, _ in part:
            means[g] = mean
    ex.release(pieces, reducers)
    thresholds = [np.maximum(np.array([m if m is not None else ABSENT_THRESHOLD for m in means[2 * c: 2 * c + 2]]),
                             THRESHOLD_FLOOR) for c in range(k)]
    jp = [ex.submit(tag_pass2, s, thresholds) for s in specs]
    small = ex.gather([ex.submit(cells_of, f) for f in jp])
    cells = np.sum([x[0] for x in small], axis=0)  # K x 6
    scored = [ex.submit(scores_of, s, how, method, aggregation) for s in specs]
    tag_counts = np.sum(ex.gather([ex.submit(_tag_totals, f) for f in scored]), axis=0)  # K: examples with tag
    n = inputs.num_rows
    sel: dict = {}
    if filter_by.startswith("low_"):
        num = sum(x[1] for x in small)
        low = filter_by[len("low_"):]
        low_scores = scored if low == method else [ex.submit(scores_of, s, how, low, aggregation) for s in specs]
        cands = [ex.submit(_low, f, num) for f in low_scores]
        picked = driver.select(ex, cands, np.array([num]))
        sel = [{"low": ex.submit(_no_groups, f)} for f in picked]
    else:
        plan = Plan(filter_by, "self_confidence", 1.0, None, 1)
        quotas, nums = np.zeros((k, 4), np.int64), np.zeros(2 * k, np.int64)
        for c in range(k) if filter_by in ("prune_by_noise_rate", "prune_by_class", "both") else ():
            # a loop over tags: 2 x 2 algebra each
            counts = np.array([n - tag_counts[c], tag_counts[c]])
            pcm = plan.prune_counts(driver.ClassState(counts, thresholds[c], np.zeros(2)), joint_from_cells(cells[c], 2))
            quotas[c] = noise_rate_quota(pcm, counts, 1)
            nums[2 * c: 2 * c + 2] = driver.class_nums(counts, pcm, 1)
        sel = [{} for _ in specs]
        if filter_by in ("prune_by_noise_rate", "both"):
            cands = [ex.submit(tag_noise_candidates, s, quotas) for s in specs]
            for d, f in zip(sel, _select_with_groups(ex, cands, quotas.reshape(-1))):
                d["noise"] = f
        if filter_by in ("prune_by_class", "both"):
            cands = [ex.submit(tag_class_candidates, f, nums, k) for f in p1]
            for d, f in zip(sel, _select_with_groups(ex, cands, nums)):
                d["class"] = f
    tag_issues = [ex.submit(tag_flags, filter_by, sc, j, d) for sc, j, d in zip(scored, jp, sel)]
    parts = ex.gather([ex.submit(_flagged_rows, s, sc, t) for s, sc, t in zip(specs, scored, tag_issues)])
    cat = {key: np.concatenate([x[key] for x in parts]) for key in ("row", "y", "predicted", "score", "add", "remove")}
    order = order_by_score(np.arange(len(cat["row"])), cat["score"])
    ids = np.concatenate([x["id"] for x in parts])[order] if specs[0].id_col else None
    found = FlaggedTags(cat["row"][order], cat["y"][order], cat["predicted"][order], cat["score"][order],
                        cat["add"][order], cat["remove"][order], ids, n, filter_by, method, aggregation, tag_counts,
                        scored, tag_issues)
    return found


def _no_groups(rows):
    return rows, np.zeros(len(rows), np.int64)


def _tag_totals(sc: dict) -> np.ndarray:
    return sc["y"].sum(axis=0)


def _low(sc: dict, num: int):
    return work.low_candidates(sc["scores"], sc["start"], num)
