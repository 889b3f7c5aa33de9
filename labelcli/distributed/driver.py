"""The engine's passes as Dask futures over explicit partitions (multi-class), with the client
holding only small state: per-class counts and thresholds, the K x K joint, selection histograms
and the flagged rows. Per-row state stays on the workers as futures (Dask recomputes a lost one
from its inputs).

What runs where, pass by pass (labelcli.core.engine runs the same steps on one machine):
1. pass1 per partition: labels and self-confidences (kept on the worker); class_pieces splits them
   by class group, class_stats reduces each group's classes in row order (the shuffle by class):
   np.mean per class = the threshold, the float64 sum in row order = what margin thresholds and
   health's mean scores add. To the client: K counts, K means, K sums.
2. pass2 per partition: joint_partial (row scan, scores) kept on the worker; to the client the
   K x (K + 1) cell counts. The client calibrates, prunes (Plan.prune_counts) and sets quotas.
3. Selections (prune_by_noise_rate per cell, prune_by_class per class, low_* over all rows): each
   partition's own best candidates stay on the worker; labelcli.core.histselect rounds move
   histograms (choose_digits runs on a worker), then tie counts; the partition selects its rows.
4. flags per partition; the flagged rows (row, label, predicted, score) go to the client, which
   ranks them with order_by_score, as the single-machine run does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import histselect as hs
from labelcli.distributed import work


@dataclass(frozen=True)
class ClassState:
    """Pass 1 reduced: what the client keeps of the classes (O(K))."""

    counts: np.ndarray
    thresholds: np.ndarray
    sums: np.ndarray  # float64 sums of self-confidences per class, in row order

    def margin_thresholds(self, prior=None) -> np.ndarray:
        """core.adjusted.margin_thresholds from the per-class sums (the same arithmetic)."""
        from labelcli.core.adjusted import THRESHOLD_PRIOR

        prior = THRESHOLD_PRIOR if prior is None else prior
        counts = self.counts.astype(np.float64)
        overall = self.sums.sum() / max(counts.sum(), 1.0)
        return (self.sums + prior * overall) / (counts + prior)


def reduce_groups(ex, k: int) -> int:
    """How many reducers the shuffle by class uses."""
    return int(min(k, max(2, 2 * max(ex.num_workers, 1))))


def classes_pass(ex, specs):
    """Pass 1: (futures of work.Pass1 per partition, ClassState)."""
    from labelcli.core.scan import ABSENT_THRESHOLD, THRESHOLD_FLOOR

    k = len(specs[0].classes)
    p1 = [ex.submit(work.pass1, s) for s in specs]
    groups = reduce_groups(ex, k)
    pieces = [ex.submit(work.class_pieces, f, groups) for f in p1]
    reducers = [ex.submit(work.class_stats, g, groups, k, [ex.submit(work.pick, pc, g) for pc in pieces])
                for g in range(groups)]
    counts = np.sum(ex.gather([ex.submit(work.class_counts, f, k) for f in p1]), axis=0)
    means: list = [None] * k
    sums = np.zeros(k)
    for part in ex.gather(reducers):
        for c, mean, seq in part:
            means[c], sums[c] = mean, seq
    ex.release(pieces, reducers)
    # as core.scan.class_means builds them: np.mean scalars, ABSENT_THRESHOLD for an absent class
    means = [m if m is not None else ABSENT_THRESHOLD for m in means]
    thresholds = np.maximum(np.array(means), THRESHOLD_FLOOR)
    return p1, ClassState(counts.astype(np.int64), thresholds, sums)


def joint_pass(ex, specs, p1, state: ClassState, plan=None):
    """Pass 2: (futures of JointPartial per partition, summed cell counts, summed adjusted cell
    counts or None, number of confident-joint issues or None)."""
    margin = state.margin_thresholds() if plan is not None and plan.needs_margin else None
    kw = {} if plan is None else dict(score_methods=plan.score_methods, margin_thresholds=margin,
                                      count_adjusted=plan.count_adjusted, joint=plan.needs_joint,
                                      adjusted_scores="adjusted_margin" in plan.scores)
    jp = [ex.submit(work.pass2, s, f, state.thresholds, kw) for s, f in zip(specs, p1)]
    small = ex.gather([ex.submit(work.joint_small, f) for f in jp])
    cells = None if small[0][0] is None else np.sum([x[0] for x in small], axis=0)
    adjusted = None if small[0][1] is None else np.sum([x[1] for x in small], axis=0)
    issues = None if small[0][2] is None else sum(x[2] for x in small)
    return jp, cells, adjusted, issues


def noise_model(ex, specs, state: ClassState, cells, n: int, k: int):
    """The posterior's noise model (labelcli.core.posterior), fitted as on one machine: the noise
    matrix from the joint (when the data allow it), the kernel terms of the fixed stride of fit
    rows computed where their partitions live (O(FIT_ROWS) to the client, in row order), the fit
    on the client. Returns (model, noise matrix or None)."""
    from labelcli.core import posterior
    from labelcli.core.latent import calibrate, latent_estimates
    from labelcli.core.scan import joint_from_cells

    noise = None
    if posterior.uses_noise_matrix(n, k):
        cal = calibrate(joint_from_cells(cells, k), state.counts)
        noise = latent_estimates(cal, state.counts, converge=True).noise_matrix
    take = posterior.fit_rows(n)
    futures = []
    for s in specs:
        lo, hi = np.searchsorted(take, [s.start, s.start + s.rows])
        futures.append(ex.submit(work.fit_terms, s, take[lo:hi] - s.start, noise))
    terms = posterior.concatenate(ex.gather(futures))
    return posterior.fit_noise_model(terms, n, k), noise


def posterior_pass(ex, specs, jp: list, model, noise) -> list:
    """The pass-2 partials with their partitions' posterior scores added (kept on the workers)."""
    scores = [ex.submit(work.posterior_scores, s, model, noise) for s in specs]
    return [ex.submit(work.with_posterior, f, sc) for f, sc in zip(jp, scores)]


def select(ex, candidates: list, quota: np.ndarray, *, groups: bool = False) -> list:
    """labelcli.core.histselect over the partitions' candidate futures: futures of each
    partition's selected rows. The client holds O(groups) per round."""
    width = max(ex.gather([ex.submit(_width, c) for c in candidates]) or [32])
    d = hs.Descent(quota, width)
    while not d.done:
        hists = [ex.submit(hs.digit_histogram, c, d.prefix, d.shift, d.active) for c in candidates]
        d.update(*ex.gather(ex.submit(hs.choose_digits, d.need, hists)))
        ex.release(hists)
    takes = hs.tie_takes(d.need, ex.gather([ex.submit(hs.tie_counts, c, d.cut, d.active) for c in candidates]))
    return [ex.submit(hs.select, c, d, t, groups=groups) for c, t in zip(candidates, takes)]


def _width(c) -> int:
    return c.width if len(c) else 0


@dataclass(frozen=True, eq=False)
class Flagged:
    """The result of a distributed find_label_issues: the flagged rows (ranked, most suspect
    first) and the small state behind them; per-row state stays on the workers."""

    rows: np.ndarray  # ranked
    labels: np.ndarray
    predicted: np.ndarray
    scores: np.ndarray
    ids: np.ndarray | None
    counts: np.ndarray  # examples per class
    num_rows: int
    filter_by: str
    rank_by: str
    masks: list  # futures: per partition, the flagged mask
    p1: list
    jp: list

    @property
    def num_issues(self) -> int:
        return len(self.rows)

    @property
    def ranked_by(self) -> str:
        return self.rank_by

    def table(self, classes, id_col=None, sep=","):
        """The flagged-only find-issues table (the single-machine table's rows and types)."""
        from labelcli.distributed.outputs import issues_frame

        return issues_frame(classes, self.rows, self.labels, self.predicted, self.scores, True, self.ids, id_col)

    def class_table(self, classes):
        from labelcli.distributed.outputs import class_table

        return class_table(classes, self.counts, self.labels)

    def write_all(self, ex, inputs, folder: str, table) -> int:
        """find-issues --all as a folder of parts: the flagged rows, then the others by score
        (workers sort and write each key range). Returns the number of rows written."""
        from labelcli.distributed import outputs

        outputs.write_part(table, folder, 0)
        specs = [s for s in inputs.specs if s.rows]
        hist = np.sum(ex.gather([ex.submit(outputs.rest_histogram, a, b, m, self.rank_by)
                                 for a, b, m in zip(self.p1, self.jp, self.masks)]), axis=0)
        edges = outputs.ranges(hist, len(specs))
        pieces = [ex.submit(outputs.rest_pieces, s, a, b, m, self.rank_by, edges)
                  for s, a, b, m in zip(specs, self.p1, self.jp, self.masks)]
        writes = [ex.submit(outputs.write_rest, folder, r + 1, inputs.classes, specs[0].id_col,
                            [ex.submit(work.pick, pc, r) for pc in pieces]) for r in range(len(edges) - 1)]
        return len(table) + sum(n for n, _ in ex.gather(writes))


def find_label_issues(ex, inputs, plan) -> Flagged:
    """The distributed find_label_issues (multi-class), identical to labelcli.core.engine's."""
    from labelcli.core.adjusted import adjusted_issue_count
    from labelcli.core.latent import calibrated_off_diagonal
    from labelcli.core.pruning import COUNTED_FILTERS, noise_rate_quota
    from labelcli.core.scan import joint_from_cells
    from labelcli.core.select import order_by_score

    specs = [s for s in inputs.specs if s.rows]
    k = inputs.num_classes
    plan.check(k)
    p1, state = classes_pass(ex, specs)
    _check_classes(inputs, state.counts)
    jp, cells, adjusted, cj_issues = joint_pass(ex, specs, p1, state, plan)
    if plan.needs_posterior:
        jp = posterior_pass(ex, specs, jp, *noise_model(ex, specs, state, cells, inputs.num_rows, k))
    joint = None if cells is None else joint_from_cells(cells, k)
    fb = plan.filter_by
    sel: dict = {}
    if fb.startswith("low_"):
        if fb in COUNTED_FILTERS:
            num = adjusted_issue_count(adjusted, state.counts) if plan.confident_joint is None else \
                calibrated_off_diagonal(plan.confident_joint, state.counts)
        else:
            num = cj_issues
        method = fb[len("low_"):]
        cands = [ex.submit(_low_candidates, a, b, method, num) for a, b in zip(p1, jp)]
        sel["low"] = select(ex, cands, np.array([num]))
    else:
        pcm = plan.prune_counts(state, joint)
        if fb in ("prune_by_noise_rate", "both"):
            quota = noise_rate_quota(pcm, state.counts, plan.min_examples_per_class)
            cands = [ex.submit(work.noise_candidates, s, quota) for s in specs]
            sel["noise"] = select(ex, cands, quota)
        if fb in ("prune_by_class", "both"):
            nums = class_nums(state.counts, pcm, plan.min_examples_per_class)
            cands = [ex.submit(work.class_candidates, f, nums) for f in p1]
            sel["class"] = select(ex, cands, nums)
    masks = [ex.submit(work.flags, fb, a, b, {name: futs[i] for name, futs in sel.items()})
             for i, (a, b) in enumerate(zip(p1, jp))]
    parts = ex.gather([ex.submit(work.flagged_rows, s, a, b, m, plan.rank_by)
                       for s, a, b, m in zip(specs, p1, jp, masks)])
    rows = np.concatenate([x["row"] for x in parts])
    scores = np.concatenate([x["score"] for x in parts])
    order = order_by_score(np.arange(len(rows)), scores)  # stable: ties in row order
    ids = np.concatenate([x["id"] for x in parts])[order] if specs[0].id_col else None
    return Flagged(rows[order], np.concatenate([x["label"] for x in parts])[order].astype(np.intp),
                   np.concatenate([x["predicted"] for x in parts])[order].astype(np.intp), scores[order], ids,
                   state.counts, inputs.num_rows, fb, plan.rank_by, masks, p1, jp)


def _low_candidates(p1, jp, method, num):
    return work.low_candidates(work.low_scores(p1, jp, method), p1.start, num)


def class_nums(counts: np.ndarray, pcm: np.ndarray, min_examples: int) -> np.ndarray:
    """prune_by_class: rows to take per class (core.pruning.class_prune_mask's counts)."""
    nums = counts - np.diagonal(pcm)
    nums[counts <= max(min_examples, 1)] = 0
    return np.maximum(nums, 0).astype(np.int64)


def _check_classes(inputs, counts) -> None:
    from labelcli.core.validate import check_classes_present
    from labelcli.io import check_class_pairs_fit

    # check_classes_present looks at which classes occur: one row per occurring class says the same
    check_classes_present(np.flatnonzero(counts), inputs.num_classes, name=inputs.specs[0].labels_name)
    check_class_pairs_fit(inputs.num_classes, name=inputs.specs[0].probs_name)


# --- health ----------------------------------------------------------------------------------


def health(ex, inputs, *, top_pairs: int = 20):
    """The HealthSummary of labelcli.core.health, from passes 1 and 2 (O(K^2) on the client)."""
    from labelcli.core.health import summary_from_counts
    from labelcli.core.scan import joint_from_cells

    specs = [s for s in inputs.specs if s.rows]
    p1, state = classes_pass(ex, specs)
    _check_classes(inputs, state.counts)
    jp, cells, _, issues = joint_pass(ex, specs, p1, state)
    ex.release(jp, p1)
    return summary_from_counts(inputs.num_rows, state.counts, state.sums, issues,
                               joint_from_cells(cells, inputs.num_classes), inputs.num_classes,
                               class_names=inputs.classes, top_pairs=top_pairs)
