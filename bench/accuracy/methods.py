"""The methods the benchmark compares: two registries, multi-class and multi-label.

A method is ``fn(labels, pred_probs) -> Result``:
- multi-class: labels (N,) class indices, pred_probs (N, K) rows summing to 1 (may be float16);
- multi-label: labels an (N, K) bool tag matrix (labelcli's format; ``tag_lists`` converts to
  cleanlab's list of tag-index lists), pred_probs (N, K) independent per-tag probabilities.
Result.mask flags likely label errors, Result.scores ranks them (lower = more suspect) and
Result.noise_rate is the tool's own estimate of the fraction of mislabeled examples (its health
estimate). Result.note marks anything the reader should know (e.g. "normalized").

Registering a candidate (in this file, or in any file passed with ``--extra path.py``):

    from bench.accuracy.methods import Result, register

    @register("labelcli-margin")                       # multi-class; task="multilabel" for tags
    def _(labels, pred_probs):
        r = labelcli.find_label_issues(labels, pred_probs, rank_by="normalized_margin")
        return Result(r.mask, r.scores, r.num_issues / len(labels))

Then ``python -m bench.accuracy --methods cleanlab,labelcli,labelcli-margin``. default=True puts a
method in the default run. ``memo(key, fn)`` shares a computation between the methods run on the
same problem (e.g. cleanlab's default mask for its score variants).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True, eq=False)
class Result:
    mask: np.ndarray  # (N,) bool, flagged as a likely label error
    scores: np.ndarray  # (N,) label quality, lower = more suspect
    noise_rate: float  # the method's estimated fraction of mislabeled examples
    note: str = ""


@dataclass(frozen=True)
class Method:
    name: str
    fn: Callable[[np.ndarray, np.ndarray], Result]
    task: str
    default: bool
    description: str


MULTICLASS: dict[str, Method] = {}
MULTILABEL: dict[str, Method] = {}
REGISTRIES = {"multiclass": MULTICLASS, "multilabel": MULTILABEL}


def register(name: str, *, task: str = "multiclass", default: bool = False, description: str = ""):
    """Decorator: add fn to the `task` registry under `name` (replacing any method of that name)."""
    def deco(fn):
        REGISTRIES[task][name] = Method(name, fn, task, default, description or (fn.__doc__ or "").strip())
        return fn

    return deco


def select(spec: str | None) -> list[str]:
    """Method names from a comma list; entries may be 'default', 'all' or glob patterns ('cleanlab[*')."""
    every = list(dict.fromkeys([*MULTICLASS, *MULTILABEL]))
    if not spec or spec == "default":
        return [n for n in every if (MULTICLASS.get(n) or MULTILABEL.get(n)).default]
    out: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if part == "all":
            hits = every
        elif part == "default":
            hits = select("default")
        elif part in every:  # exact names first: "cleanlab[both]" is not a glob class
            hits = [part]
        else:
            hits = [n for n in every if fnmatch.fnmatchcase(n, part)]
            if not hits:
                raise KeyError(f"unknown method {part!r}; known: {', '.join(every)}")
        out += [h for h in hits if h not in out]
    return out


_MEMO: dict = {}


def clear_memo() -> None:
    """Forget shared computations (the runner calls this before every problem)."""
    _MEMO.clear()


def memo(key, fn):
    if key not in _MEMO:
        _MEMO[key] = fn()
    return _MEMO[key]


def tag_lists(labels: np.ndarray) -> list[list[int]]:
    """(N, K) 0/1 tag matrix -> cleanlab's list of tag-index lists."""
    return [np.flatnonzero(row).tolist() for row in np.asarray(labels)]


# --- cleanlab 2.9 defaults ------------------------------------------------------------------------


def _cl_mask(labels, pred_probs, **kw):
    import cleanlab.filter

    return memo(("cl-mask", tuple(sorted(kw.items()))), lambda: cleanlab.filter.find_label_issues(labels, pred_probs, **kw))


def _cl_scores(labels, pred_probs, **kw):
    import cleanlab.rank

    return memo(("cl-scores", tuple(sorted(kw.items()))), lambda: cleanlab.rank.get_label_quality_scores(labels, pred_probs, **kw))


def _cl_noise_rate(labels, pred_probs) -> float:
    """1 - overall_label_health_score: what cleanlab's health_summary reports as the issue fraction
    (num_label_issues(labels, pred_probs) / N, confident-joint off-diagonal count)."""
    from cleanlab.count import num_label_issues

    # overall_label_health_score computes 1 - num_label_issues(labels, pred_probs) / N; taking the
    # count directly avoids the 1e-17 rounding of 1 - (1 - x).
    return memo("cl-rate", lambda: num_label_issues(labels, pred_probs) / len(labels))


@register("cleanlab", default=True, description="cleanlab 2.9 defaults: filter.find_label_issues, "
          "rank.get_label_quality_scores (self_confidence), 1 - overall_label_health_score")
def cleanlab_default(labels, pred_probs):
    return Result(_cl_mask(labels, pred_probs), _cl_scores(labels, pred_probs), _cl_noise_rate(labels, pred_probs))


CL_FILTERS = ("prune_by_class", "both", "confident_learning", "predicted_neq_given",
              "low_self_confidence", "low_normalized_margin")
CL_SCORES = ("normalized_margin", "confidence_weighted_entropy")


def _cl_filter_variant(filter_by):
    def fn(labels, pred_probs):
        return Result(_cl_mask(labels, pred_probs, filter_by=filter_by), _cl_scores(labels, pred_probs),
                      _cl_noise_rate(labels, pred_probs))
    return fn


def _cl_score_variant(method):
    def fn(labels, pred_probs):
        return Result(_cl_mask(labels, pred_probs), _cl_scores(labels, pred_probs, method=method),
                      _cl_noise_rate(labels, pred_probs))
    return fn


for _f in CL_FILTERS:
    register(f"cleanlab[{_f}]", description=f"cleanlab filter_by={_f}; default scores")(_cl_filter_variant(_f))
for _s in CL_SCORES:
    register(f"cleanlab[{_s}]", description=f"cleanlab default filter; scores method={_s}")(_cl_score_variant(_s))


# --- labelcli ------------------------------------------------------------------------------------


@register("labelcli", default=True, description="labelcli defaults: find_label_issues (.mask, .scores), "
          "health_summary().noise_rate")
def labelcli_default(labels, pred_probs):
    import labelcli

    def run(p):
        r = labelcli.find_label_issues(labels, p)
        return Result(r.mask, r.scores, float(labelcli.health_summary(labels, p).noise_rate))

    return rescaled_if_rejected(run, pred_probs)


def rescaled_if_rejected(run, pred_probs) -> Result:
    """run(pred_probs), or, when labelcli rejects rows that do not sum to 1 (float16 rounding in
    three CIFAR-10 settings; cleanlab accepts them), run on the rows rescaled exactly as the CLI's
    --normalize does, noted "normalized"."""
    from labelcli.errors import LabelError

    try:
        return run(pred_probs)
    except LabelError as e:
        if "must sum to 1" not in str(e):
            raise
    from labelcli.core.validate import as_pred_probs

    r = run(as_pred_probs(pred_probs, normalize=True))
    return Result(r.mask, r.scores, r.noise_rate, ";".join(filter(None, [r.note, "normalized"])))


@register("labelcli-compat", default=True, description="labelcli with compat='cleanlab'")
def labelcli_compat(labels, pred_probs):
    import labelcli

    def run(p):
        r = labelcli.find_label_issues(labels, p, compat="cleanlab")
        return Result(r.mask, r.scores, float(labelcli.health_summary(labels, p, compat="cleanlab").noise_rate))

    return rescaled_if_rejected(run, pred_probs)


# --- multi-label ---------------------------------------------------------------------------------


def _clml_mask(labels, pred_probs, **kw):
    from cleanlab.multilabel_classification.filter import find_label_issues

    return memo(("clml-mask", tuple(sorted(kw.items()))), lambda: find_label_issues(tag_lists(labels), pred_probs, **kw))


def _clml_scores(labels, pred_probs, name="default", **kw):
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    return memo(("clml-scores", name), lambda: get_label_quality_scores(tag_lists(labels), pred_probs, **kw))


@register("cleanlab", task="multilabel", default=True, description="cleanlab 2.9 multilabel_classification "
          "defaults; noise rate = 1 - overall_multilabel_health_score = flagged / N")
def cleanlab_multilabel(labels, pred_probs):
    mask = _clml_mask(labels, pred_probs)
    # overall_multilabel_health_score is 1 - sum(find_label_issues(defaults)) / N: the same mask.
    return Result(mask, _clml_scores(labels, pred_probs), float(mask.sum() / len(mask)))


def _clml_filter_variant(filter_by):
    def fn(labels, pred_probs):
        return Result(_clml_mask(labels, pred_probs, filter_by=filter_by), _clml_scores(labels, pred_probs),
                      float(_clml_mask(labels, pred_probs).mean()))
    return fn


def _worst(scores, axis=1):
    return np.min(scores, axis=axis)


def _mean(scores, axis=1):
    return np.mean(scores, axis=axis)


CLML_AGGREGATIONS = {"softmin": "softmin", "min": _worst, "mean": _mean}


def _clml_agg_variant(name, agg):
    def fn(labels, pred_probs):
        scores = _clml_scores(labels, pred_probs, f"agg={name}", aggregator_kwargs={"method": agg})
        return Result(_clml_mask(labels, pred_probs), scores, float(_clml_mask(labels, pred_probs).mean()))
    return fn


for _f in CL_FILTERS:
    register(f"cleanlab[{_f}]", task="multilabel", description=f"cleanlab multilabel filter_by={_f}")(_clml_filter_variant(_f))
for _name, _agg in CLML_AGGREGATIONS.items():
    register(f"cleanlab[agg={_name}]", task="multilabel",
             description=f"cleanlab multilabel default filter; scores aggregated by {_name}")(_clml_agg_variant(_name, _agg))


@register("labelcli", task="multilabel", default=True, description="labelcli.core.multilabel defaults: "
          "find_label_issues (.mask, .scores), health_summary().noise_rate")
def labelcli_multilabel(labels, pred_probs):
    from labelcli.core import multilabel as ml

    r = ml.find_label_issues(labels, pred_probs)
    return Result(r.mask, r.scores, float(ml.health_summary(labels, pred_probs).noise_rate))


@register("labelcli-compat", task="multilabel", default=True, description="labelcli.core.multilabel with "
          "compat='cleanlab'")
def labelcli_compat_multilabel(labels, pred_probs):
    from labelcli.core import multilabel as ml

    r = ml.find_label_issues(labels, pred_probs, compat="cleanlab")
    rate = ml.health_summary(labels, pred_probs, compat="cleanlab").noise_rate
    return Result(r.mask, r.scores, float(rate))


def load_extra(path: str) -> None:
    """Import a Python file (or module name) whose @register calls add candidate methods."""
    import importlib
    import importlib.util
    from pathlib import Path

    p = Path(path)
    if p.suffix == ".py" and p.exists():
        spec = importlib.util.spec_from_file_location(f"accuracy_extra_{p.stem}", p)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        importlib.import_module(path)


from bench.accuracy import ablation  # noqa: E402,F401  (registers labelcli[...] ablations)
from bench.accuracy import candidates  # noqa: E402,F401  (registers issue #16's candidates)
