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


def example_table(ann, result):
    """index, [example], consensus_label, consensus_quality, annotator_agreement, num_annotations:
    one row per example in input order (a valid --labels input with --label-col consensus_label)."""
    import pandas as pd

    values = _values(ann)
    cols = {"index": np.arange(len(result.labels))}
    if ann.examples is not None:
        cols["example"] = ann.examples
    cols["consensus_label"] = values[result.labels]
    cols["consensus_quality"] = result.quality
    cols["annotator_agreement"] = result.agreement
    cols["num_annotations"] = result.num_annotations.astype(np.int64)
    return pd.DataFrame(cols)


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
    return to_jsonable(doc)


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
    lines = [f"{len(res.labels):,} examples, {len(ann.annotators)} annotators, {int(res.num_annotations.sum()):,}"
             f" annotations ({np.mean(res.num_annotations):.1f} per example), {len(ann.classes)} classes",
             f"method: {how}",
             f"unanimous examples: {int(np.sum(res.agreement == 1.0)):,}; mean consensus quality"
             f" [bold]{np.mean(res.quality):.3f}[/bold]"]
    if res.model_weight is not None:
        lines.append(f"model weight {res.model_weight:.3f}; annotator weights"
                     f" {np.min(res.annotator_weight):.3f}..{np.max(res.annotator_weight):.3f}")
    lines += [f"written: {o}" for o in outs if o]
    con.print(Panel("\n".join(lines), title="labelcli consensus", title_align="left", border_style="cyan", expand=False))
    con.print(_rich_table(annotators, "Annotators, lowest quality first", show))
    low = examples.sort_values(["consensus_quality", "index"], kind="stable").rename(columns={
        "consensus_label": "consensus", "consensus_quality": "quality", "annotator_agreement": "agreement",
        "num_annotations": "annotations"})
    con.print(_rich_table(low, "Least certain consensus labels", show))
