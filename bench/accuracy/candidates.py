"""Issue #16's candidates (registered by methods.py; `--methods 'labelcli-posterior*'`).

- ``labelcli-posterior``: the ranking is labelcli.core.posterior's noise-model posterior (kernels
  chosen by BIC, noise matrix from labelcli.estimate_noise_matrices); the flagged set is the rows
  with the lowest posterior, as many as labelcli's default flags (the calibrated adjusted joint's
  off-diagonal count); the health estimate stays cleanlab's count (health_summary).
- ``labelcli-posterior[no-matrix]``: the same without the class-conditional kernel (ablation).
- ``labelcli-posterior[filter=default]``: labelcli's default flagged set (low_adjusted_margin),
  ranked by the posterior (the ranking change alone).
- ``labelcli-posterior[health=expected]``: noise rate = mean posterior probability of error.
- multi-label ``labelcli-ml[...]`` filter candidates (scores: labelcli's softmin):
  ``cj`` the rows with a tag off the diagonal of its confident joint (per-tag confident_learning);
  ``cl-trimmed`` cleanlab's flagged rows that are also confidently off-diagonal on a tag or
  among the lowest softmin scores (as many as cleanlab flags).
"""
from __future__ import annotations

import numpy as np

from bench.accuracy.methods import Result, memo, register, rescaled_if_rejected


def _posterior(labels, p, with_matrix=True):
    import labelcli
    from labelcli.core import posterior

    def make():
        t = labelcli.estimate_noise_matrices(labels, p).noise_matrix if with_matrix else None
        return posterior.posterior_scores(labels, p, t)[0]

    return memo(("posterior", with_matrix, id(p)), make)


def _candidate(with_matrix=True, flagged="posterior", health="cleanlab"):
    def fn(labels, pred_probs):
        import labelcli
        from labelcli.core import posterior

        def run(p):
            r = labelcli.find_label_issues(labels, p)  # validates; its count and mask
            scores = _posterior(np.asarray(labels), p, with_matrix)
            mask = posterior.lowest(scores, r.num_issues) if flagged == "posterior" else r.mask
            rate = (posterior.expected_issue_fraction(scores) if health == "expected"
                    else float(labelcli.health_summary(labels, p).noise_rate))
            return Result(mask, scores, rate)

        return rescaled_if_rejected(run, pred_probs)

    return fn


register("labelcli-posterior", default=True, description="issue #16 candidate: noise-model posterior ranking "
         "(BIC-chosen kernels), low_posterior flags (default count), cleanlab's health count")(_candidate())
register("labelcli-posterior[no-matrix]", default=True, description="the posterior without the noise-matrix kernel")(
    _candidate(with_matrix=False))
register("labelcli-posterior[filter=default]", default=True, description="labelcli's default flagged set, ranked by the posterior")(
    _candidate(flagged="default"))
register("labelcli-posterior[health=expected]", default=True, description="noise rate = mean posterior probability of error")(
    _candidate(health="expected"))


# --- multi-label filters --------------------------------------------------------------------------


def _ml_default(labels, pred_probs):
    from labelcli.core import multilabel as ml

    return memo("ml-default", lambda: ml.find_label_issues(labels, pred_probs))


def _ml_cleanlab_mask(labels, pred_probs):
    from labelcli.core import multilabel as ml

    return memo("ml-compat", lambda: ml.find_label_issues(labels, pred_probs, compat="cleanlab")).mask


@register("labelcli-ml[cj]", task="multilabel", default=True, description="rows with a tag off its confident joint's diagonal")
def _ml_cj(labels, pred_probs):
    from labelcli.core import multilabel as ml

    r = _ml_default(labels, pred_probs)
    mask = ml.find_label_issues(labels, pred_probs, filter_by="confident_learning").mask
    return Result(mask, r.scores, float(ml.health_summary(labels, pred_probs).noise_rate))


@register("labelcli-ml[cl-trimmed]", task="multilabel", default=True, description="cleanlab's flags that "
          "are off a tag's confident-joint diagonal or among the lowest softmin scores (as many as cleanlab flags)")
def _ml_cl_low(labels, pred_probs):
    from labelcli.core import multilabel as ml
    from labelcli.core import posterior

    r = _ml_default(labels, pred_probs)
    cl = _ml_cleanlab_mask(labels, pred_probs)
    cj = ml.find_label_issues(labels, pred_probs, filter_by="confident_learning").mask
    mask = cl & (cj | posterior.lowest(r.scores, int(cl.sum())))
    return Result(mask, r.scores, float(ml.health_summary(labels, pred_probs).noise_rate))
