"""The consensus command's tables (per example, per annotator), its JSON summary and its terminal
report. Never reads files."""
from __future__ import annotations

import numpy as np


def _values(ann):
    """Class values as written: integers stay integers, names stay names."""
    from labelcli.render.tables import label_values

    values = label_values(ann.classes, ann.label_kind)
    as_int = all(isinstance(v, int) for v in values)
    return np.asarray(values, dtype=np.int64 if as_int else object)


def example_table(ann, result, active=None):
    """index, [example], consensus_label, consensus_quality, annotator_agreement, num_annotations
    [, active_learning_score]: one row per example in input order (a valid --labels input with
    --label-col consensus_label)."""
    import pandas as pd

    values = _values(ann)
    cols = {"index": np.arange(len(result.labels))}
    if ann.examples is not None:
        cols["example"] = ann.examples
    cols["consensus_label"] = values[result.labels]
    cols["consensus_quality"] = result.quality
    cols["annotator_agreement"] = result.agreement
    cols["num_annotations"] = result.num_annotations.astype(np.int64)
    if active is not None:
        cols["active_learning_score"] = active.scores
    return pd.DataFrame(cols)


def unlabeled_table(active):
    """index, active_learning_score: the unlabeled examples (rows of --unlabeled-pred-probs),
    lowest score (ask for a label first) first; ties by row."""
    import pandas as pd

    scores = active.unlabeled_scores
    order = np.lexsort((np.arange(len(scores)), scores))
    return pd.DataFrame({"index": order.astype(np.int64), "active_learning_score": scores[order]})


def labels_table(ann, result):
    """A plain labels file: one column `label` (and `example` when the ids are not row numbers)."""
    table = example_table(ann, result)
    keep = [c for c in ("example", "consensus_label") if c in table.columns]
    return table[keep].rename(columns={"consensus_label": "label"})


def annotator_table(ann, result):
    """annotator, quality, agreement, num_labeled, worst_class: worst annotator first."""
    import pandas as pd

    order = result.annotator_order
    values = _values(ann)
    return pd.DataFrame({
        "annotator": np.asarray(ann.annotators, dtype=object)[order],
        "quality": result.annotator_quality[order],
        "agreement": result.annotator_agreement[order],
        "num_labeled": result.num_labeled[order].astype(np.int64),
        "worst_class": values[result.worst_class[order]],
    })


def summary(ann, run, examples, annotators) -> dict:
    """The --format json document."""
    from labelcli.io import to_jsonable

    res = run.result
    doc = {
        "method": res.method,
        "pred_probs": run.source,
        "num_examples": int(len(res.labels)),
        "num_annotators": int(len(ann.annotators)),
        "num_annotations": int(res.num_annotations.sum()),
        "classes": list(ann.classes),
        "mean_consensus_quality": float(np.mean(res.quality)),
        "mean_annotator_agreement": float(np.mean(res.agreement)),
        "unanimous": int(np.sum(res.agreement == 1.0)),
        "model_weight": res.model_weight,
        "annotators": to_jsonable(annotators.to_dict(orient="records")),
        "lowest_quality": to_jsonable(examples.nsmallest(10, "consensus_quality", keep="first").to_dict(orient="records")),
    }
    if run.cv_accuracy is not None:
        doc["cv_accuracy"] = run.cv_accuracy
    if res.model_weights is not None:
        doc["model_weights"] = dict(zip(_model_names(ann, res), map(float, res.model_weights)))
    if run.active is not None:
        doc["active_learning"] = _active_summary(run.active)
    return to_jsonable(doc)


def _model_names(ann, res) -> list:
    """Each model's file name (its path when two share a name; 'model i' from Python)."""
    import os

    names = [os.path.basename(m) for m in ann.models]
    if len(set(names)) != len(names):
        names = list(ann.models)
    if len(set(names)) != len(names) or len(names) != len(res.model_weights):
        names = [f"model {i}" for i in range(len(res.model_weights))]
    return names


def _active_summary(active) -> dict:
    """The active-learning part of the JSON: temperatures and the examples to label next."""
    def lowest(scores):
        order = np.lexsort((np.arange(len(scores)), scores))[:10]
        return [{"index": int(i), "active_learning_score": float(scores[i])} for i in order]

    doc = {"temperatures": [float(t) for t in active.temperature], "label_next": lowest(active.scores)}
    if len(active.unlabeled_scores):
        doc["num_unlabeled"] = int(len(active.unlabeled_scores))
        doc["label_next_unlabeled"] = lowest(active.unlabeled_scores)
    return doc


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "-" if v != v else f"{v:.3f}"
    return str(v)


def _rich_table(df, title: str, limit: int):
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold")
    for c in df.columns:
        t.add_column(c, justify="right" if df[c].dtype.kind in "iuf" else "left")
    for row in df.head(limit).itertuples(index=False):
        t.add_row(*[_fmt(v) for v in row])
    if len(df) > limit:
        t.caption = f"{limit} of {len(df)} rows shown"
    return t


def report(con, ann, run, examples, annotators, *, outs=(), show: int = 10) -> None:
    """The rich summary on stderr: headline, the annotators (worst first), the least certain examples."""
    from rich.panel import Panel

    res = run.result
    how = {"none": "majority vote (no pred_probs: ties by rarer class, then annotator agreement)",
           "given": "CROWDLAB (annotators weighted by chance-adjusted agreement, plus the model)",
           "cross-validated": f"CROWDLAB, pred_probs cross-validated from features (accuracy {run.cv_accuracy or 0:.1%}"
                              " against the majority vote)"}[run.source]
    if res.model_weights is not None:
        how = how.replace("plus the model", f"plus {len(res.model_weights)} models, each by its accuracy")
    lines = [f"{len(res.labels):,} examples, {len(ann.annotators)} annotators, {int(res.num_annotations.sum()):,}"
             f" annotations ({np.mean(res.num_annotations):.1f} per example), {len(ann.classes)} classes",
             f"method: {how}",
             f"unanimous examples: {int(np.sum(res.agreement == 1.0)):,}; mean consensus quality"
             f" [bold]{np.mean(res.quality):.3f}[/bold]"]
    if res.model_weights is not None:
        each = ", ".join(f"{n} {w:.3f}" for n, w in zip(_model_names(ann, res), res.model_weights))
        lines.append(f"model weights {each}; annotator weights"
                     f" {np.min(res.annotator_weight):.3f}..{np.max(res.annotator_weight):.3f}")
    elif res.model_weight is not None:
        lines.append(f"model weight {res.model_weight:.3f}; annotator weights"
                     f" {np.min(res.annotator_weight):.3f}..{np.max(res.annotator_weight):.3f}")
    if run.active is not None:
        act = run.active
        line = (f"label next (lowest active learning score): row {int(np.argmin(act.scores))}"
                f" ({np.min(act.scores):.3f})")
        if len(act.unlabeled_scores):
            line += (f"; of {len(act.unlabeled_scores):,} unlabeled, row {int(np.argmin(act.unlabeled_scores))}"
                     f" ({np.min(act.unlabeled_scores):.3f})")
        lines.append(line)
    lines += [f"written: {o}" for o in outs if o]
    con.print(Panel("\n".join(lines), title="labelcli consensus", title_align="left", border_style="cyan", expand=False))
    con.print(_rich_table(annotators, "Annotators, lowest quality first", show))
    low = examples.sort_values(["consensus_quality", "index"], kind="stable").rename(columns={
        "consensus_label": "consensus", "consensus_quality": "quality", "annotator_agreement": "agreement",
        "num_annotations": "annotations"})
    con.print(_rich_table(low, "Least certain consensus labels", show))
