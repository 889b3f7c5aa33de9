"""Dataset-level label health: overall score, per-class noise, overlapping class pairs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import validate as v
from labelcli.core.defaults import defaults
from labelcli.core.engine import ArraySource, Run, confident_scan
from labelcli.core.latent import calibrate, joint_from_calibrated, latent_estimates
from labelcli.core.scan import count_issues, label_counts
from labelcli.core.select import top_indices

DIV_FLOOR = 1e-6


@dataclass(frozen=True)
class HealthSummary:
    """Label health of a dataset. Per-class arrays are in class-index order."""

    num_examples: int
    num_classes: int
    class_names: tuple
    health_score: float  # 1 - estimated fraction of mislabeled examples
    noise_rate: float  # estimated fraction of mislabeled examples
    num_issues: int  # estimated number of mislabeled examples
    joint: np.ndarray  # (K, K) p(given = i, true = j)
    noise_matrix: np.ndarray  # (K, K) p(given = i | true = j)
    inverse_noise_matrix: np.ndarray  # (K, K) p(true = i | given = j)
    class_priors: np.ndarray  # (K,) p(true = k)
    class_examples: np.ndarray  # examples given each label
    class_issues: np.ndarray  # estimated examples labeled k that belong elsewhere
    class_inverse_issues: np.ndarray  # estimated examples of true class k labeled otherwise
    class_noise_rate: np.ndarray  # p(true != k | given = k)
    class_inverse_noise_rate: np.ndarray  # p(given != k | true = k)
    class_label_quality: np.ndarray  # 1 - class_noise_rate
    class_mean_score: np.ndarray  # mean self-confidence of the examples labeled k (NaN if none)
    pair_a: np.ndarray  # overlapping class pairs (a < b), most overlapping first
    pair_b: np.ndarray
    pair_joint: np.ndarray  # p(given = a, true = b) + p(given = b, true = a)
    pair_count: np.ndarray  # that mass in examples

    @property
    def class_issues_total(self) -> int:
        """The per-class estimated issues summed (the joint's off-diagonal mass, in examples)."""
        return int(np.asarray(self.class_issues).sum())

    def issues_note(self) -> str | None:
        """Why the per-class issues do not sum to the headline's count, or None when they do.

        Both are cleanlab's figures: the headline counts rows, the per-class column rounds the
        calibrated joint; the same two figures appear in the terminal, JSON and HTML report."""
        total = self.class_issues_total
        if total == self.num_issues:
            return None
        return (f"per-class issues sum to {total:,}: each is the calibrated joint's off-diagonal mass for"
                f" that given label, in examples; the {self.num_issues:,} estimated issues of the headline"
                " count the rows the confident joint puts off its diagonal whose most likely class is not"
                " their label (the figure behind the noise rate and health score)")

    def to_dict(self) -> dict:
        """A JSON-ready document (the `health` command's output)."""
        names = list(self.class_names)
        per_class = [
            {
                "class": names[k],
                "class_index": k,
                "examples": int(self.class_examples[k]),
                "estimated_issues": int(self.class_issues[k]),
                "noise_rate": float(self.class_noise_rate[k]),
                "inverse_issues": int(self.class_inverse_issues[k]),
                "inverse_noise_rate": float(self.class_inverse_noise_rate[k]),
                "label_quality": float(self.class_label_quality[k]),
                "mean_label_score": _num(self.class_mean_score[k]),
            }
            for k in range(self.num_classes)
        ]
        pairs = [
            {
                "class_a": names[a],
                "class_b": names[b],
                "joint_probability": float(j),
                "num_overlapping": int(c),
            }
            for a, b, j, c in zip(self.pair_a, self.pair_b, self.pair_joint, self.pair_count)
        ]
        return {
            "num_examples": self.num_examples,
            "num_classes": self.num_classes,
            "health_score": float(self.health_score),
            "estimated_noise_rate": float(self.noise_rate),
            "estimated_num_issues": self.num_issues,
            "per_class_estimated_issues_total": self.class_issues_total,
            "issues_note": self.issues_note(),
            "classes": names,
            "per_class": per_class,
            "overlapping_pairs": pairs,
            "noise_matrix": self.noise_matrix.tolist(),
            "joint": self.joint.tolist(),
            "class_priors": self.class_priors.tolist(),
        }


def _num(x) -> float | None:
    return None if not np.isfinite(x) else float(x)


def overlapping_pairs(joint: np.ndarray, num_examples: int, top: int | None = 20):
    """Class pairs ranked by the joint mass confused between them (both directions)."""
    k = len(joint)
    a, b = np.triu_indices(k, 1)
    sym = joint[a, b] + joint[b, a]
    idx = top_indices(sym, top)
    return a[idx], b[idx], sym[idx], np.round(sym[idx] * num_examples).astype(np.int64)


def health_summary(labels, pred_probs, *, class_names=None, top_pairs: int | None = 20,
                   compat: str | None = None) -> HealthSummary:
    """Overall label health, per-class noise and the most overlapping class pairs."""
    defaults(compat)  # both profiles estimate the noise rate the same way (see bench/ACCURACY.md)
    y, p, check = v.check_inputs_deferred(labels, pred_probs)
    source = ArraySource(p, name=check.name, dtype=np.asarray(pred_probs).dtype)
    classes, scan = confident_scan(y, source, Run())
    return summary_from_scan(classes.labels, classes.self_conf, scan, p.shape[1], class_names=class_names,
                             top_pairs=top_pairs)


def summary_from_scan(y, sc, scan, k: int, *, class_names=None, top_pairs: int | None = 20) -> HealthSummary:
    """The HealthSummary from labels, self-confidences and the confident-joint scan (in memory,
    or merged from chunks by the streaming path: the same arithmetic on the same arrays)."""
    sums = np.bincount(y, weights=sc, minlength=k)  # in row order
    return summary_from_counts(len(y), label_counts(y, k), sums, count_issues(scan), scan.joint, k,
                               class_names=class_names, top_pairs=top_pairs)


def summary_from_counts(n: int, counts, sums, num_issues: int, raw_joint, k: int, *, class_names=None,
                        top_pairs: int | None = 20) -> HealthSummary:
    """The HealthSummary from small state: examples per class, the float64 sums of their
    self-confidences in row order, the confident-joint issue count and the raw joint (what a
    distributed run reduces its partitions to)."""
    names = tuple(str(c) for c in class_names) if class_names is not None else tuple(map(str, range(k)))
    if len(names) != k:
        raise v.LabelError(f"class_names has {len(names)} names but pred_probs has {k} columns")
    cal = calibrate(raw_joint, counts)
    joint = joint_from_calibrated(cal)
    latent = latent_estimates(cal, counts, converge=True)

    given_mass, true_mass, diag = joint.sum(axis=1), joint.sum(axis=0), joint.diagonal()
    noise = (given_mass - diag) / np.maximum(given_mass, DIV_FLOOR)
    inv_noise = (true_mass - diag) / np.maximum(true_mass, DIV_FLOOR)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    pa, pb, pj, pc = overlapping_pairs(joint, n, top_pairs)
    return HealthSummary(
        num_examples=n,
        num_classes=k,
        class_names=names,
        health_score=1.0 - num_issues / n,
        noise_rate=num_issues / n,
        num_issues=num_issues,
        joint=joint,
        noise_matrix=latent.noise_matrix,
        inverse_noise_matrix=latent.inverse_noise_matrix,
        class_priors=latent.class_priors,
        class_examples=counts,
        class_issues=np.round((given_mass - diag) * n).astype(np.int64),
        class_inverse_issues=np.round((true_mass - diag) * n).astype(np.int64),
        class_noise_rate=noise,
        class_inverse_noise_rate=inv_noise,
        class_label_quality=1.0 - noise,
        class_mean_score=mean_score,
        pair_a=pa,
        pair_b=pb,
        pair_joint=pj,
        pair_count=pc,
    )
