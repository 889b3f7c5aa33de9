"""New batches against a reference set: confident learning fitted on the reference, issues found in
the batch. In the engine's terms: pass 1 (per-class thresholds) and the count / noise estimate (the
confident joint, calibrated to the batch's class counts, and the noise matrix) come from the
reference; the scan, filter and ranking run on the batch's rows (engine.Plan with thresholds,
confident_joint and noise_matrix given). And the batch's drift from the reference: the class mix
(total variation distance between class shares) and, with features, the outlier rate against the
reference's own (core.refknn).

    >>> fit = fit_reference(ref_labels, ref_pred_probs)
    >>> issues = find_batch_issues(fit, labels, pred_probs)   # rows numbered in the batch
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from labelcli.core import validate as v
from labelcli.errors import LabelError


@dataclass(frozen=True, eq=False)
class ReferenceFit:
    """What a batch borrows from the reference: per-class thresholds (pass 1), the raw confident
    joint (its calibration to the batch's class counts sets how many rows each filter takes) and
    the noise matrix of the posterior (None when the reference is too small for one)."""

    thresholds: np.ndarray  # (K,)
    confident_joint: np.ndarray  # (K, K) counts
    class_counts: np.ndarray  # (K,) examples per given class in the reference
    noise_matrix: np.ndarray | None  # (K, K) P(given | true)
    adjusted_joint: np.ndarray | None = None  # (K, K) (given, adjusted guess) counts: the counted filters' count

    @property
    def num_examples(self) -> int:
        return int(self.class_counts.sum())

    def lend(self, plan):
        """The engine.Plan that runs on a batch with this fit's thresholds and noise estimate."""
        if plan.confident_joint is not None:
            raise LabelError("a reference fit brings its own confident joint; do not give one as well")
        return replace(plan, thresholds=self.thresholds, confident_joint=self.confident_joint,
                       noise_matrix=self.noise_matrix, count_joint=self.adjusted_joint)

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)

    @property
    def noise_rate(self) -> float:
        """The reference's estimated noise rate (calibrated off-diagonal share)."""
        from labelcli.core.latent import calibrated_off_diagonal

        return calibrated_off_diagonal(self.confident_joint, self.class_counts) / max(self.num_examples, 1)


def fit_reference(labels, source, run=None) -> ReferenceFit:
    """Passes 1 and 2 over the reference (an array or an engine source): thresholds, confident
    joint and noise matrix. labels: class indices (every class the batch uses should occur)."""
    from labelcli.core import engine, posterior
    from labelcli.core.latent import calibrate, latent_estimates

    if not hasattr(source, "chunks"):
        source = engine.ArraySource(v.as_pred_probs(source, name="reference pred_probs"))
    y = np.asarray(labels)
    v.check_classes_present(y, source.num_classes, name="reference labels")
    classes, scan = engine.confident_scan(y, source, run or engine.Run())
    counts = classes.counts
    noise = None
    if posterior.uses_noise_matrix(len(y), source.num_classes):
        noise = latent_estimates(calibrate(scan.joint, counts), counts, converge=True).noise_matrix
    return ReferenceFit(np.asarray(classes.thresholds), scan.joint, counts, noise,
                        _adjusted_joint(y, source, classes))


@dataclass(frozen=True, eq=False)
class TagReferenceFit:
    """Multi-label: one binary ReferenceFit per tag (absent / present) that lends the tag's
    thresholds only, the reference's size and its estimated noise rate (the share of examples with
    a wrong tag, as multi-label health gives it). Each tag's counts come from the batch's own
    confident joint: lending the reference's binary joint too cost ~0.10 precision and recall on
    the digits tags (0.758 / 0.762 vs 0.856 / 0.858 at 797 rows) and on binary data, where two
    off-diagonal cells estimated elsewhere miss how the batch's own errors split (README)."""

    tags: tuple  # ReferenceFit per tag
    num_examples: int
    noise_rate: float

    @property
    def num_classes(self) -> int:
        return len(self.tags)


def fit_reference_tags(labels, pred_probs, tag_names=None) -> TagReferenceFit:
    """Per-tag reference fits of a multi-label reference (labels N x K 0/1, pred_probs N x K). Every
    tag must occur both present and absent in the reference (else it has no threshold to lend)."""
    from labelcli.core import multilabel as ml

    y, p = ml.check_pair(labels, pred_probs)
    present = y.sum(axis=0)
    constant = np.flatnonzero((present == 0) | (present == len(y)))
    if len(constant):
        c = int(constant[0])
        name = tag_names[c] if tag_names is not None else c
        state = "never" if present[c] == 0 else "always"
        raise LabelError(f"tag {name} is {state} present in the reference; a reference must show every tag both"
                         " present and absent")
    fits = tuple(replace(fit_reference(y[:, c].astype(np.int64), ml.binary_problem(p[:, c])), confident_joint=None,
                         noise_matrix=None, adjusted_joint=None) for c in range(y.shape[1]))
    return TagReferenceFit(fits, len(y), float(ml.health_summary(y, p, top_pairs=0).noise_rate))


def _adjusted_joint(labels, source, classes) -> np.ndarray:
    """The reference's (given, adjusted guess) joint: what sets the count of the counted filters
    (low_posterior, low_adjusted_margin) in a run without a reference (core.adjusted)."""
    from labelcli.core import passes as ps
    from labelcli.core.scan import joint_from_cells

    margin, cells = classes.margin_thresholds(), None
    for start, chunk in source.chunks(source.num_rows):
        part = ps.joint_partial(ps.Chunk(start, labels[start: start + len(chunk)], chunk), classes.thresholds,
                                margin_thresholds=margin, count_adjusted=True, joint=False, adjusted_scores=False,
                                self_conf=classes.self_conf[start: start + len(chunk)])
        cells = part.adjusted_cells if cells is None else cells + part.adjusted_cells
    return joint_from_cells(cells, classes.k)


def batch_plan(plan, fit: ReferenceFit):
    """The engine.Plan that runs on the batch with the reference's thresholds and noise estimate."""
    return fit.lend(plan)


def check_batch(fit: ReferenceFit, labels: np.ndarray, k: int, name: str = "labels") -> None:
    """The batch against the reference: the same classes, and no given class the reference lacks."""
    if k != fit.num_classes:
        raise LabelError(f"{name} has {k} classes but the reference has {fit.num_classes}; give both the same classes"
                         " (the `classes` option)")
    unseen = np.flatnonzero((np.bincount(labels, minlength=k) > 0) & (fit.class_counts == 0))
    if len(unseen):
        raise LabelError(f"{name} uses class index {int(unseen[0])}, which the reference has no example of; the"
                         " reference must cover every class of the batch")


def find_batch_issues(fit, labels, pred_probs, *, filter_by: str | None = None,
                      rank_by: str | None = None, compat: str | None = None, run=None, name: str = "labels",
                      **tag_options):
    """LabelIssues of the batch (rows numbered in the batch) with the reference's thresholds and
    noise estimate. filter_by / rank_by / compat as find_label_issues; name: the batch's labels in
    messages. With a TagReferenceFit (fit_reference_tags), the batch is multi-label:
    MultiLabelIssues with each tag's thresholds (tag_options: aggregation, alpha, temperature)."""
    from labelcli.core import engine
    from labelcli.core.defaults import defaults

    if isinstance(fit, TagReferenceFit):
        from labelcli.core import multilabel

        if np.ndim(labels) != 2 or np.shape(labels)[1] != fit.num_classes:
            raise LabelError(f"the reference has {fit.num_classes} tags; give the batch's labels as an N x"
                             f" {fit.num_classes} 0/1 matrix")
        return multilabel.find_label_issues(labels, pred_probs, filter_by=filter_by, rank_by=rank_by, compat=compat,
                                            reference=fit.tags, **tag_options)

    source = pred_probs if hasattr(pred_probs, "chunks") else engine.ArraySource(
        v.as_pred_probs(pred_probs, name="pred_probs"))
    y = np.asarray(labels)
    check_batch(fit, y, source.num_classes, name)
    profile = defaults(compat)
    plan = engine.Plan(profile.filter_by if filter_by is None else filter_by,
                       profile.rank_by if rank_by is None else rank_by, ties=profile.ties)
    plan = batch_plan(plan, fit)
    plan.check(source.num_classes)
    return engine.find_label_issues(y, source, plan, run or engine.Run())


@dataclass(frozen=True)
class BatchDrift:
    """How far the batch drifts from the reference: the class mix (total variation distance of the
    class shares, 0 = the same mix, 1 = no class in common) and, with features, the share of the
    batch that is an outlier to the reference against the reference's own outlier rate."""

    reference_shares: tuple
    batch_shares: tuple
    class_mix_tvd: float
    reference_outlier_rate: float | None = None
    batch_outlier_rate: float | None = None

    @property
    def outlier_rate_change(self) -> float | None:
        if self.batch_outlier_rate is None:
            return None
        return self.batch_outlier_rate - self.reference_outlier_rate

    def figures(self) -> dict:
        """The drift figures a gate compares with its limit (name -> value)."""
        out = {"class_mix_tvd": self.class_mix_tvd}
        if self.outlier_rate_change is not None:
            out["outlier_rate_change"] = self.outlier_rate_change
        return out

    def to_dict(self, class_names=None) -> dict:
        names = [str(c) for c in (class_names if class_names is not None else range(len(self.batch_shares)))]
        return {
            "class_mix_tvd": self.class_mix_tvd,
            "class_shares": [{"class": c, "reference": r, "batch": b, "change": b - r}
                             for c, r, b in zip(names, self.reference_shares, self.batch_shares)],
            "reference_outlier_rate": self.reference_outlier_rate,
            "batch_outlier_rate": self.batch_outlier_rate,
            "outlier_rate_change": self.outlier_rate_change,
        }


def class_shares(labels: np.ndarray, k: int) -> np.ndarray:
    """(K,) share of each class among the given labels (multi-label: of the tags given)."""
    y = np.asarray(labels)
    counts = y.sum(axis=0) if y.ndim == 2 else np.bincount(y, minlength=k)
    return counts / max(float(counts.sum()), 1.0)


def batch_drift(reference_labels, labels, k: int, *, reference_outlier_rate: float | None = None,
                batch_outlier_rate: float | None = None) -> BatchDrift:
    """The batch's class mix (and outlier rate, when given) against the reference's."""
    ref, now = class_shares(reference_labels, k), class_shares(labels, k)
    tvd = 0.5 * float(np.abs(now - ref).sum())
    return BatchDrift(tuple(map(float, ref)), tuple(map(float, now)), tvd,
                      None if reference_outlier_rate is None else float(reference_outlier_rate),
                      None if batch_outlier_rate is None else float(batch_outlier_rate))
