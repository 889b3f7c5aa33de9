"""score on the cluster: one pass (two when the method needs thresholds of all rows), each
partition written as a Parquet part by its worker; the client gets the pairwise partial sums of
the scores (labelcli.core.pairwise: the mean bit for bit) and each partition's lowest rows."""
from __future__ import annotations



def score(ex, inputs, method: str, how, folder: str | None, lowest: int = 20):
    from labelcli.core import pairwise
    from labelcli.core.scores import check_method, needs_thresholds
    from labelcli.distributed import driver, outputs

    specs = [s for s in inputs.specs if s.rows]
    if inputs.multi_label:
        from labelcli.distributed import multilabel

        return multilabel.score(ex, inputs, method, how, folder, lowest)
    check_method(method, how.adjust_pred_probs)
    thresholds = None
    if method == "posterior":  # the noise model first (core.engine.label_quality_scores does the same)
        from labelcli.core import posterior

        k = inputs.num_classes
        if posterior.uses_noise_matrix(inputs.num_rows, k):
            p1, state = driver.classes_pass(ex, specs)
            jp, cells, _, _ = driver.joint_pass(ex, specs, p1, state)
            ex.release(jp, p1)
            thresholds = driver.noise_model(ex, specs, state, cells, inputs.num_rows, k)
        else:
            thresholds = driver.noise_model(ex, specs, None, None, inputs.num_rows, k)
    elif needs_thresholds(method, how.adjust_pred_probs):
        p1, state = driver.classes_pass(ex, specs)
        ex.release(p1)
        thresholds = state.margin_thresholds() if method == "adjusted_margin" else state.thresholds
    nodes = pairwise.plan(inputs.num_rows, [s.start for s in specs])
    parts = ex.gather([ex.submit(outputs.score_part, s, method, how.adjust_pred_probs, thresholds, folder, nodes,
                                 lowest) for s in specs])
    return outputs.score_finish(inputs, parts, nodes, lowest)
