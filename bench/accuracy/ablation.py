"""Ablations of labelcli's default (not in the default run; `--methods 'labelcli[*'`):

- labelcli[prior=P]: the default filter and score with the per-class thresholds shrunk by P
  pseudo-rows instead of adjusted.THRESHOLD_PRIOR (P=0: the plain class means);
- labelcli[rank=self_confidence]: the default flagged set, ranked by cleanlab's score;
- labelcli[filter=prune_by_noise_rate]: cleanlab's flagged set, ranked by the adjusted margin.
The tables show which part of the default earns which part of the gain.
"""
from __future__ import annotations

import numpy as np

from bench.accuracy.methods import Result, register, rescaled_if_rejected


def _with_prior(prior: float):
    def fn(labels, pred_probs):
        import labelcli
        from labelcli.core import validate as v
        from labelcli.core.adjusted import adjusted_scores_and_count
        from labelcli.core.scan import label_counts, thresholds_of
        from labelcli.core.select import lowest_mask

        def run(p):
            y, q = v.check_inputs(labels, p)
            sc = q[np.arange(len(y)), y]
            scores, num = adjusted_scores_and_count(y, q, sc, thresholds_of(y, q), label_counts(y, q.shape[1]),
                                                    prior=prior)
            rate = labelcli.health_summary(labels, p).noise_rate
            return Result(lowest_mask(scores, num), scores, float(rate))

        return rescaled_if_rejected(run, pred_probs)

    return fn


for _prior in (0, 100, 300, 3000, 10000):
    register(f"labelcli[prior={_prior}]", description=f"default with THRESHOLD_PRIOR={_prior}")(_with_prior(_prior))


def _parts(**kw):
    def fn(labels, pred_probs):
        import labelcli

        def run(p):
            r = labelcli.find_label_issues(labels, p, **kw)
            return Result(r.mask, r.scores, float(labelcli.health_summary(labels, p).noise_rate))

        return rescaled_if_rejected(run, pred_probs)

    return fn


register("labelcli[rank=self_confidence]", description="default filter, cleanlab's score")(
    _parts(rank_by="self_confidence"))
register("labelcli[filter=prune_by_noise_rate]", description="cleanlab's filter, the adjusted margin")(
    _parts(filter_by="prune_by_noise_rate"))
