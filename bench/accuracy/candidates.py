"""Ablations of labelcli's default (the noise-model posterior, labelcli.core.posterior) and issue
#16's multi-label filter candidates (registered by methods.py).

- ``labelcli[posterior=no-matrix]``: the posterior without the class-conditional kernel;
- ``labelcli[filter=low_adjusted_margin]``: the default ranking with the previous default filter
  (the adjusted margin's flagged set);
- ``labelcli[previous-default]``: the previous defaults (low_adjusted_margin, adjusted_margin);
- ``labelcli[health=expected]``: noise rate = mean posterior probability of error;
- multi-label ``labelcli-ml[...]`` filter candidates (scores: labelcli's softmin):
  ``cj`` the rows with a tag off the diagonal of its confident joint (per-tag confident_learning);
  ``cl-trimmed`` cleanlab's flagged rows that are also confidently off-diagonal on a tag or
  among the lowest softmin scores (as many as cleanlab flags).
"""
from __future__ import annotations

import numpy as np

from bench.accuracy.methods import Result, memo, register, rescaled_if_rejected


def _variant(**kw):
    def fn(labels, pred_probs):
        import labelcli
        from labelcli.core import posterior
        from labelcli.core.select import lowest_mask

        def run(p):
            if kw.get("no_matrix"):
                r = labelcli.find_label_issues(labels, p)
                scores = posterior.posterior_scores(np.asarray(labels), np.asarray(p, dtype=np.float64))[0]
                return Result(lowest_mask(scores, r.num_issues), scores, float(labelcli.health_summary(labels, p).noise_rate))
            r = labelcli.find_label_issues(labels, p, **kw.get("options", {}))
            rate = (posterior.expected_issue_fraction(r.scores) if kw.get("health") == "expected"
                    else float(labelcli.health_summary(labels, p).noise_rate))
            return Result(r.mask, r.scores, rate)

        return rescaled_if_rejected(run, pred_probs)

    return fn


register("labelcli[posterior=no-matrix]", description="the posterior without the noise-matrix kernel")(_variant(no_matrix=True))
register("labelcli[filter=low_adjusted_margin]", description="the adjusted margin's flagged set, ranked by the posterior")(
    _variant(options={"filter_by": "low_adjusted_margin"}))
register("labelcli[previous-default]", description="low_adjusted_margin ranked by adjusted_margin (the default before #16)")(
    _variant(options={"filter_by": "low_adjusted_margin", "rank_by": "adjusted_margin"}))
register("labelcli[health=expected]", description="noise rate = mean posterior probability of error")(
    _variant(health="expected"))


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
    from labelcli.core.select import lowest_mask

    r = _ml_default(labels, pred_probs)
    cl = _ml_cleanlab_mask(labels, pred_probs)
    cj = ml.find_label_issues(labels, pred_probs, filter_by="confident_learning").mask
    mask = cl & (cj | lowest_mask(r.scores, int(cl.sum())))
    return Result(mask, r.scores, float(ml.health_summary(labels, pred_probs).noise_rate))
