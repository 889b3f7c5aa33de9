"""Multi-label (tagging) data: one-vs-rest confident learning per tag, label quality scores
aggregated over tags, per-tag quality and dataset health.

Labels are an N x K 0/1 matrix (a row may hold no tag or every tag); pred_probs are N x K
independent per-tag probabilities. Tag c is the binary problem "absent / present" with labels
Y[:, c] and pred_probs [1 - P[:, c], P[:, c]], solved with the multi-class code of
labelcli.core.counting / filtering, exactly as cleanlab.multilabel_classification does.
Python loops run over tags (or, in aggregations, over sorted score columns), never over examples.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.engine import ArraySource, Plan, Run
from labelcli.core.engine import find_label_issues as run_find_label_issues
from labelcli.core.pruning import FILTERS as MULTICLASS_FILTERS
from labelcli.core.pruning import check_filter_options
from labelcli.core.scores import CLIP
from labelcli.core.scores import METHODS as MULTICLASS_METHODS
from labelcli.core.select import lowest_mask, order_by_score, top_indices
from labelcli.core.tagmatrix import as_label_matrix, as_multilabel_pred_probs, lists_to_matrix  # noqa: F401 (API)
from labelcli.errors import LabelError

# Every multi-class filter but the adjusted margin has a one-vs-rest meaning (per-tag thresholds
# of a binary problem are not defined for it yet).
FILTERS: tuple[str, ...] = tuple(f for f in MULTICLASS_FILTERS if f not in ("low_adjusted_margin", "low_posterior"))
METHODS: tuple[str, ...] = tuple(m for m in MULTICLASS_METHODS if m not in ("adjusted_margin", "posterior"))
AGGREGATIONS = ("exponential_moving_average", "softmin", "min", "mean")
# A tag is predicted present when its probability reaches this.
PREDICT_THRESHOLD = 0.5
# cleanlab's softmax guard against a zero temperature.
MIN_TEMPERATURE = 1e-6


def check_pair(labels, pred_probs) -> tuple[np.ndarray, np.ndarray]:
    """Multi-label labels (N x K 0/1) and pred_probs (N x K) checked: (labels as bool, pred_probs)."""
    p = as_multilabel_pred_probs(pred_probs)
    y = as_label_matrix(labels, p.shape[1])
    v.check_same_length(len(y), len(p), name_a="labels", name_b="pred_probs")
    return y, p


def _scoring_defaults(method, aggregation, compat):
    profile = defaults(compat)
    return (profile.multilabel_method if method is None else method,
            profile.multilabel_aggregation if aggregation is None else aggregation)


def _check_scoring(method: str, aggregation: str, alpha: float, temperature: float) -> None:
    if method not in METHODS:
        raise LabelError(f"unknown scoring method '{method}'; choose one of {', '.join(METHODS)}")
    if aggregation not in AGGREGATIONS:
        raise LabelError(f"unknown aggregation '{aggregation}'; choose one of {', '.join(AGGREGATIONS)}")
    if not 0.0 <= alpha <= 1.0:
        raise LabelError(f"alpha must be in [0, 1], got {alpha}")
    if not temperature > 0:
        raise LabelError(f"temperature must be > 0, got {temperature}")


# --- scores ----------------------------------------------------------------------------------


def _tag_scores(y: np.ndarray, p: np.ndarray, method: str) -> np.ndarray:
    """N x K one-vs-rest label quality scores, computed in the input dtype like the reference."""
    absent = 1 - p
    self_conf = np.where(y, p, absent)
    if method == "self_confidence":
        return self_conf.astype(np.float64)
    other = np.where(y, absent, p)
    if method == "normalized_margin":
        return ((self_conf - other + 1) / 2).astype(np.float64)
    # confidence_weighted_entropy of the binary distribution [1 - p, p]
    a, b = absent.astype(np.float64), p.astype(np.float64)
    entropy = -(a * np.log(np.where(a > 0, a, 1.0)) + b * np.log(np.where(b > 0, b, 1.0))) / np.log(2)
    ratio = entropy / np.maximum(self_conf.astype(np.float64), CLIP)
    return np.log(ratio + 1) / np.maximum(ratio, CLIP)


def _aggregate(s: np.ndarray, aggregation: str, alpha: float, temperature: float) -> np.ndarray:
    """One score per row from the K per-tag scores (cleanlab's formulas, same operation order)."""
    if aggregation == "min":
        return s.min(axis=1)
    if aggregation == "mean":
        return s.mean(axis=1)
    if aggregation == "softmin":
        x = (1 - s) / max(temperature, MIN_TEMPERATURE)
        x = x - x.max(axis=1, keepdims=True)
        w = np.exp(x)
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("ij,ij->i", s, w)
    # EMA over the scores sorted from largest to smallest: the worst tags weigh most.
    cols = np.ascontiguousarray(np.sort(s, axis=1)[:, ::-1].T)
    ema = cols[0]
    for col in cols[1:]:  # a loop over tags
        ema = alpha * col + (1 - alpha) * ema
    return ema


def per_tag_scores(labels, pred_probs, *, method: str = "self_confidence") -> np.ndarray:
    """N x K label quality score of each (example, tag) annotation; lower = more suspect."""
    y, p = check_pair(labels, pred_probs)
    _check_scoring(method, AGGREGATIONS[0], 0.0, 1.0)
    return _tag_scores(y, p, method)


def label_quality_scores(
    labels,
    pred_probs,
    *,
    method: str | None = None,
    aggregation: str | None = None,
    alpha: float = 0.8,
    temperature: float = 0.1,
    compat: str | None = None,
) -> np.ndarray:
    """Per-example label quality in [0, 1]: per-tag scores aggregated over the tags.

    aggregation: ``softmin`` (labelcli's default; temperature), ``exponential_moving_average``
    (alpha: weight of each next-worse tag; cleanlab's default, compat="cleanlab"), ``min`` (the
    worst tag) or ``mean``.
    """
    method, aggregation = _scoring_defaults(method, aggregation, compat)
    y, p = check_pair(labels, pred_probs)
    _check_scoring(method, aggregation, alpha, temperature)
    return _aggregate(_tag_scores(y, p, method), aggregation, alpha, temperature)


# --- one-vs-rest confident learning ------------------------------------------------------------


def binary_problem(column: np.ndarray) -> np.ndarray:
    """One tag as a two-class problem: [p(absent), p(present)], in the input dtype."""
    return np.stack([1 - column, column], axis=1)


def _tag_issues_one(y, b, filter_by, frac_noise, num_to_remove, min_examples, ties="row", fit=None) -> np.ndarray:
    """Binary confident learning for one tag (class 0 = absent, 1 = present): the engine's
    multi-class filter on the two-class problem (fit: that tag's reference fit, core.reference)."""
    plan = Plan(filter_by, "self_confidence", frac_noise, None if num_to_remove is None else tuple(num_to_remove),
                min_examples, ties=ties)
    if fit is not None:  # a core.reference.ReferenceFit
        plan = fit.lend(plan)
    return run_find_label_issues(y, ArraySource(b), plan, Run(checked=True)).mask


def _tag_issue_matrix(y, p, filter_by, frac_noise=1.0, num_to_remove=None, min_examples=1, ties="row",
                      reference=None) -> np.ndarray:
    """N x K flags of the binary filter, tag by tag (reference: one binary fit per tag)."""
    out = np.zeros(y.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty cells in num_to_remove algebra
        for c in range(y.shape[1]):  # a loop over tags
            rem = None if num_to_remove is None else [num_to_remove[c], 0]  # as cleanlab passes it
            yc, bc = y[:, c].astype(np.int64), binary_problem(p[:, c])
            out[:, c] = _tag_issues_one(yc, bc, filter_by, frac_noise, rem, min_examples, ties,
                                        None if reference is None else reference[c])
    return out


@dataclass(frozen=True, eq=False)
class MultiLabelIssues:
    """Result of find_label_issues for multi-label data."""

    mask: np.ndarray  # (N,) bool, example has at least one suspect tag
    ranking: np.ndarray  # indices of flagged examples, most suspect first (lowest score, stable)
    scores: np.ndarray  # (N,) aggregated label quality scores, lower = more suspect
    predicted: np.ndarray  # (N, K) bool, tags the model suggests (pred_probs >= 0.5)
    tag_issues: np.ndarray  # (N, K) bool, suspect (example, tag) annotations
    suggest_add: np.ndarray  # (N, K) bool, tag absent but probably should be present
    suggest_remove: np.ndarray  # (N, K) bool, tag present but probably should not be
    filter_by: str
    num_issues: int
    tag_scores: np.ndarray  # (N, K) per-tag label quality scores (by `method`)
    method: str
    aggregation: str

    @property
    def rank_by(self) -> str:
        """The per-tag score that ranks the examples (the multi-class name of ``method``)."""
        return self.method


def find_label_issues(
    labels,
    pred_probs,
    *,
    filter_by: str | None = None,
    frac_noise: float = 1.0,
    num_to_remove_per_class=None,
    min_examples_per_class: int = 1,
    aggregation: str | None = None,
    alpha: float = 0.8,
    temperature: float = 0.1,
    rank_by: str | None = None,
    compat: str | None = None,
    method: str | None = None,
    reference=None,
) -> MultiLabelIssues:
    """Flag examples with at least one suspect tag (one-vs-rest confident learning) and rank them.
    reference: one core.reference.ReferenceFit per tag, which lends that tag's filter what it
    carries (from fit_reference_tags: the thresholds; the counts stay the batch's own).

    Masks equal cleanlab.multilabel_classification.filter.find_label_issues. For the pruning
    filters, confident_learning and predicted_neq_given a tag issue is that tag's binary flag.
    num_to_remove_per_class[c] reaches tag c's binary problem as [n_c, 0], as in cleanlab: so
    prune_by_class flags n_c *missing* tag-c annotations, prune_by_noise_rate n_c *extraneous* ones
    and ``both`` none (replicated for conformance). ``low_self_confidence`` / ``low_normalized_margin``
    flag as many rows as confident_learning does, those with the lowest score aggregated with
    `aggregation` (the two scores are equal one-vs-rest; cleanlab always uses self-confidence with
    EMA(0.8), the defaults); their tag issues are the flagged rows' tags the model disagrees with,
    else the worst tag. method / aggregation / alpha / temperature define `scores` and so the
    ranking; equal scores keep row order, or with compat="cleanlab" the order cleanlab's unstable
    sorts give them (core.select.TIES). Unset options take the defaults of ``compat`` (labelcli's:
    softmin aggregation; "cleanlab": EMA).
    """
    ties = defaults(compat).ties
    method, aggregation = _scoring_defaults(method, aggregation, compat)
    filter_by = defaults(compat).multilabel_filter_by if filter_by is None else filter_by
    y, p = check_pair(labels, pred_probs)
    n, k = y.shape
    check_filter_options(filter_by, frac_noise, num_to_remove_per_class, min_examples_per_class, k,
                         per=" (one per tag)", filters=FILTERS)
    _check_scoring(method, aggregation, alpha, temperature)
    tag_scores = _tag_scores(y, p, method)
    scores = _aggregate(tag_scores, aggregation, alpha, temperature)
    predicted = p >= PREDICT_THRESHOLD

    if filter_by.startswith("low_"):
        num = int(_tag_issue_matrix(y, p, "confident_learning", reference=reference).any(axis=1).sum())
        low_method = filter_by[len("low_") :]
        low = scores if low_method == method else _aggregate(_tag_scores(y, p, low_method), aggregation, alpha, temperature)
        mask = lowest_mask(low, num, ties)
        tag_issues = mask[:, None] & (predicted != y)
        lone = mask & ~tag_issues.any(axis=1)
        tag_issues[np.flatnonzero(lone), tag_scores[lone].argmin(axis=1)] = True
    else:
        tag_issues = _tag_issue_matrix(y, p, filter_by, frac_noise, num_to_remove_per_class, min_examples_per_class,
                                       ties, reference)
        mask = tag_issues.any(axis=1)
    # (cleanlab 2.9 pairs the low_* filters' picks, in sort order, with their scores in row order,
    # so its ranking is not sorted by score; labelcli's is, under both tie rules)
    ranking = order_by_score(np.flatnonzero(mask), scores, ties)
    return MultiLabelIssues(
        mask, ranking, scores, predicted, tag_issues, tag_issues & ~y, tag_issues & y, filter_by,
        int(mask.sum()), tag_scores, method, aggregation,
    )


# --- per-tag quality and dataset health --------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TagQuality:
    """Per-tag label quality; every array has one entry per tag, in tag-index order.

    cleanlab's rank_classes_by_multilabel_quality calls extraneous_rate "Label Noise",
    missing_rate "Inverse Label Noise" and label_quality "Label Quality Score" (all per N).
    """

    examples_with_tag: np.ndarray  # examples annotated with the tag
    predicted_with_tag: np.ndarray  # examples the model gives the tag (p >= 0.5)
    estimated_issues: np.ndarray  # missing + extraneous
    missing: np.ndarray  # tag absent but should be present
    extraneous: np.ndarray  # tag present but should not be
    noise_rate: np.ndarray  # estimated_issues / N: fraction of examples with this tag wrong
    missing_rate: np.ndarray  # missing / N
    extraneous_rate: np.ndarray  # extraneous / N
    label_quality: np.ndarray  # 1 - extraneous_rate
    mean_score: np.ndarray  # mean per-tag label quality score over all examples


def _tag_quality(y: np.ndarray, issues: MultiLabelIssues) -> TagQuality:
    return tag_quality_from_counts(len(y), y.sum(axis=0), issues.predicted.sum(axis=0), issues.suggest_add.sum(axis=0),
                                   issues.suggest_remove.sum(axis=0), issues.tag_scores.mean(axis=0))


def tag_quality_from_counts(n: int, examples, predicted, missing, extraneous, mean_score) -> TagQuality:
    """TagQuality from per-tag totals (what a distributed run adds up over its partitions)."""
    issues_per_tag = missing + extraneous
    return TagQuality(
        examples, predicted, issues_per_tag, missing, extraneous,
        issues_per_tag / n, missing / n, extraneous / n, 1.0 - extraneous / n, mean_score,
    )


def per_class_quality(labels, pred_probs, **filter_kwargs) -> TagQuality:
    """Per-tag issue counts and rates; filter_kwargs go to find_label_issues."""
    y, p = check_pair(labels, pred_probs)
    return _tag_quality(y, find_label_issues(y, p, **filter_kwargs))


def _tag_pair_counts(given: np.ndarray, add: np.ndarray, remove: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """K x K counts over flagged examples (their given tags and suggested changes): swapped[a, b]
    = tag a suggested removed and b added; inconsistent[a, b] = "a and b both present" differs
    between the given and suggested tag sets."""
    suggested = (given & ~remove) | add
    both = given & suggested
    swapped = _cross(remove, add)
    inconsistent = _cross(given, given) + _cross(suggested, suggested) - 2 * _cross(both, both)
    return swapped, inconsistent


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """K x K co-occurrence counts a.T @ b of two 0/1 matrices (float64 BLAS, exact far beyond any N)."""
    return np.rint(a.astype(np.float64).T @ b.astype(np.float64)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class MultiLabelHealth:
    """Label health of a multi-label dataset. Per-tag arrays (in `tags`) are in tag-index order."""

    num_examples: int
    num_classes: int
    class_names: tuple
    health_score: float  # 1 - noise_rate (cleanlab: overall_multilabel_health_score)
    noise_rate: float  # estimated fraction of examples with >= 1 wrong tag
    num_issues: int  # examples with >= 1 suspect tag
    num_tag_issues: int  # suspect (example, tag) annotations
    filter_by: str
    tags: TagQuality
    tag_order: np.ndarray  # tag indices, noisiest first (noise_rate descending, ties by index)
    pair_a: np.ndarray  # tag pairs (a < b) with issues, most first
    pair_b: np.ndarray
    pair_a_to_b: np.ndarray  # flagged examples with a suggested removed and b added
    pair_b_to_a: np.ndarray
    pair_inconsistent: np.ndarray  # flagged examples whose co-assignment of a and b changes
    pair_count: np.ndarray  # a_to_b + b_to_a + inconsistent
    pair_rate: np.ndarray  # pair_count / N

    def to_dict(self) -> dict:
        """A JSON-ready document (plain Python types); per-tag rows noisiest first."""
        names = list(self.class_names)
        per_tag = [
            {"tag": names[c], "tag_index": int(c), **{f.name: _py(getattr(self.tags, f.name)[c]) for f in fields(TagQuality)}}
            for c in self.tag_order
        ]
        pair_fields = ("pair_a_to_b", "pair_b_to_a", "pair_inconsistent", "pair_count", "pair_rate")
        pairs = [
            {"tag_a": names[a], "tag_b": names[b], **{f[5:]: _py(getattr(self, f)[i]) for f in pair_fields}}
            for i, (a, b) in enumerate(zip(self.pair_a, self.pair_b))
        ]
        return {
            "task": "multi-label",
            "num_examples": self.num_examples,
            "num_classes": self.num_classes,
            "health_score": float(self.health_score),
            "estimated_noise_rate": float(self.noise_rate),
            "estimated_num_issues": self.num_issues,
            "estimated_num_tag_issues": self.num_tag_issues,
            "filter_by": self.filter_by,
            "classes": names,
            "per_tag": per_tag,
            "tag_pairs": pairs,
        }


def _py(x):
    """A numpy scalar as a plain int / float."""
    return x.item() if isinstance(x, np.generic) else x


def health_summary(labels, pred_probs, *, class_names=None, top_pairs: int | None = 20, **filter_kwargs) -> MultiLabelHealth:
    """Overall label health, per-tag noise and the tag pairs most involved in issues together."""
    y, p = check_pair(labels, pred_probs)
    n, k = y.shape
    names = tuple(str(c) for c in class_names) if class_names is not None else tuple(map(str, range(k)))
    if len(names) != k:
        raise LabelError(f"class_names has {len(names)} names but pred_probs has {k} columns")
    issues = find_label_issues(y, p, **filter_kwargs)
    rows = np.flatnonzero(issues.mask)
    return health_from_flagged(n, names, _tag_quality(y, issues), y[rows], issues.suggest_add[rows],
                               issues.suggest_remove[rows], int(issues.tag_issues.sum()), issues.filter_by,
                               top_pairs)


def health_from_flagged(n: int, names: tuple, tags: TagQuality, given, add, remove, num_tag_issues: int,
                        filter_by: str, top_pairs: int | None = 20) -> MultiLabelHealth:
    """MultiLabelHealth from the per-tag quality and the flagged rows (given tags, suggested
    additions and removals): what a distributed run brings to the client."""
    k = len(names)
    num_issues = len(given)
    swapped, inconsistent = _tag_pair_counts(given, add, remove)
    a, b = np.triu_indices(k, 1)
    total = swapped[a, b] + swapped[b, a] + inconsistent[a, b]
    keep = top_indices(total, top_pairs)
    keep = keep[total[keep] > 0]
    a, b = a[keep], b[keep]
    return MultiLabelHealth(
        num_examples=n, num_classes=k, class_names=names,
        health_score=1.0 - num_issues / n, noise_rate=num_issues / n,
        num_issues=num_issues, num_tag_issues=num_tag_issues, filter_by=filter_by,
        tags=tags, tag_order=np.argsort(-tags.noise_rate, kind="stable"),
        pair_a=a, pair_b=b, pair_a_to_b=swapped[a, b], pair_b_to_a=swapped[b, a],
        pair_inconsistent=inconsistent[a, b], pair_count=total[keep], pair_rate=total[keep] / n,
    )
