"""Gates against a baseline: the estimated noise of this run against an earlier run's health
document (what `labelcli health --out x.json` writes), overall and per class, classes matched by
name. Pure: documents (dicts) in, a frozen diff out; reading the file is labelcli.io's job.

    >>> before = {"estimated_noise_rate": 0.10, "per_class": [{"class": "a", "noise_rate": 0.1}]}
    >>> now = {"estimated_noise_rate": 0.13, "per_class": [{"class": "a", "noise_rate": 0.1},
    ...                                                   {"class": "b", "noise_rate": 0.2}]}
    >>> diff = compare_health(before, now, margin=0.01)
    >>> [c.name for c in diff.worse], diff.appeared
    (['overall'], ('b',))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from labelcli.errors import LabelError

OVERALL = "overall"


@dataclass(frozen=True)
class NoiseChange:
    """One estimated noise rate, before (the baseline) and now; change = now - before."""

    name: str  # "overall" or the class (multi-label: tag) name
    before: float
    now: float

    @property
    def change(self) -> float:
        return self.now - self.before

    def to_dict(self) -> dict:
        return {"name": self.name, "before": self.before, "now": self.now, "change": self.change}


@dataclass(frozen=True)
class HealthDiff:
    """This run's health against a baseline. worse: the changes above the margin (overall first,
    then classes in the current run's order); the gate trips when it is not empty."""

    baseline: str
    margin: float
    unit: str  # "class" or "tag"
    overall: NoiseChange
    per_class: tuple  # NoiseChange of every class present in both runs
    appeared: tuple  # class names only in this run
    vanished: tuple  # class names only in the baseline

    @property
    def worse(self) -> tuple:
        return tuple(c for c in (self.overall, *self.per_class) if c.change > self.margin)

    @property
    def got_worse(self) -> tuple:
        """Every noise rate that went up at all (what the report shows), worst first."""
        up = [c for c in (self.overall, *self.per_class) if c.change > 0]
        return tuple(sorted(up, key=lambda c: (c.name != OVERALL, -c.change)))

    def to_dict(self) -> dict:
        return {
            "baseline": self.baseline,
            "fail_if_worse": self.margin,
            "unit": self.unit,
            "overall": self.overall.to_dict(),
            "worse": [c.to_dict() for c in self.worse],
            "per_class": [c.to_dict() for c in self.per_class],
            "appeared": list(self.appeared),
            "vanished": list(self.vanished),
        }


def noise_rates(doc, name: str = "the baseline") -> tuple[str, float, dict]:
    """(unit, overall noise rate, {class name: noise rate}) of a health document, checked: anything
    that is not a health summary is refused in one line naming ``name`` and what is missing."""
    hint = "; write one with `labelcli health --out health.json`"
    if not isinstance(doc, dict):
        raise LabelError(f"{name} is not a health summary (a JSON object){hint}")
    multi = doc.get("task") == "multi-label"
    unit, rows_key = ("tag", "per_tag") if multi else ("class", "per_class")
    missing = [key for key in ("estimated_noise_rate", rows_key) if key not in doc]
    if missing:
        raise LabelError(f"{name} is not a health summary: it has no {' or '.join(repr(m) for m in missing)}{hint}")
    overall = _rate(doc["estimated_noise_rate"], f"{name}: 'estimated_noise_rate'", hint)
    rows = doc[rows_key]
    if not isinstance(rows, list):
        raise LabelError(f"{name}: '{rows_key}' is not a list{hint}")
    rates: dict = {}
    for i, row in enumerate(rows):
        where = f"{name}: '{rows_key}' entry {i}"
        if not isinstance(row, dict) or unit not in row or "noise_rate" not in row:
            raise LabelError(f"{where} has no '{unit}' and 'noise_rate'{hint}")
        key = str(row[unit])
        if key in rates:
            raise LabelError(f"{where}: {unit} '{key}' is listed twice{hint}")
        rates[key] = _rate(row["noise_rate"], f"{where} 'noise_rate'", hint)
    return unit, overall, rates


def _rate(value, where: str, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0.0 <= value <= 1.0:
        raise LabelError(f"{where} is {value!r}, not a rate in [0, 1]{hint}")
    return float(value)


def compare_health(baseline_doc, current_doc, *, margin: float = 0.0, baseline: str = "the baseline") -> HealthDiff:
    """The noise rates of ``current_doc`` (a health document of this run) against ``baseline_doc``
    (an earlier run's), classes matched by name. margin: a change above it is "worse"."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0.0 <= margin <= 1.0:
        raise LabelError(f"the `fail_if_worse` option is a margin in [0, 1], got {margin!r}")
    unit, before_all, before = noise_rates(baseline_doc, baseline)
    now_unit, now_all, now = noise_rates(current_doc, "this run's health summary")
    if unit != now_unit:
        kinds = {"class": "multi-class", "tag": "multi-label"}
        raise LabelError(f"{baseline} is a {kinds[unit]} health summary but this run is {kinds[now_unit]};"
                         " compare runs of the same task")
    per_class = tuple(NoiseChange(name, before[name], rate) for name, rate in now.items() if name in before)
    return HealthDiff(
        baseline=baseline, margin=float(margin), unit=unit,
        overall=NoiseChange(OVERALL, before_all, now_all), per_class=per_class,
        appeared=tuple(name for name in now if name not in before),
        vanished=tuple(name for name in before if name not in now),
    )
