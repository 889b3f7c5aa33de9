"""labelcli.core.baseline: noise rates of a health document against a baseline's, by name."""
from __future__ import annotations

import pytest

from labelcli import LabelError, compare_health
from labelcli.core.baseline import noise_rates


def _doc(overall, **classes):
    return {"estimated_noise_rate": overall, "per_class": [{"class": k, "noise_rate": v} for k, v in classes.items()]}


def test_changes_matched_by_name_whatever_the_order():
    diff = compare_health(_doc(0.1, a=0.1, b=0.2), _doc(0.1, b=0.25, a=0.1), margin=0.01)
    assert [(c.name, c.before, c.now) for c in diff.per_class] == [("b", 0.2, 0.25), ("a", 0.1, 0.1)]
    assert [c.name for c in diff.worse] == ["b"]
    assert diff.per_class[0].change == pytest.approx(0.05)


def test_margin_is_strict_and_improvements_are_not_worse():
    assert compare_health(_doc(0.1, a=0.1), _doc(0.11, a=0.05), margin=0.02).worse == ()
    assert [c.name for c in compare_health(_doc(0.1, a=0.1), _doc(0.1, a=0.1 + 1e-12), margin=0).worse] == ["a"]
    assert compare_health(_doc(0.1, a=0.1), _doc(0.1, a=0.1), margin=0).worse == ()


def test_appeared_and_vanished():
    diff = compare_health(_doc(0.1, a=0.1, gone=0.3), _doc(0.1, a=0.1, new=0.9), margin=0)
    assert diff.appeared == ("new",) and diff.vanished == ("gone",)
    assert diff.worse == ()  # a new class is reported, not a regression
    d = diff.to_dict()
    assert d["appeared"] == ["new"] and d["vanished"] == ["gone"] and d["worse"] == []


def test_got_worse_lists_every_rise_worst_first():
    diff = compare_health(_doc(0.1, a=0.1, b=0.1), _doc(0.2, a=0.12, b=0.3), margin=0.05)
    assert [c.name for c in diff.got_worse] == ["overall", "b", "a"]
    assert [c.name for c in diff.worse] == ["overall", "b"]


def test_multilabel_documents_per_tag():
    ml = {"task": "multi-label", "estimated_noise_rate": 0.1, "per_tag": [{"tag": "x", "noise_rate": 0.1}]}
    assert noise_rates(ml) == ("tag", 0.1, {"x": 0.1})
    with pytest.raises(LabelError, match="multi-label health summary but this run is multi-class"):
        compare_health(ml, _doc(0.1, x=0.1))


@pytest.mark.parametrize("doc, match", [
    (None, "not a health summary"),
    ({"per_class": []}, "no 'estimated_noise_rate'"),
    (_doc(1.5), "not a rate"),
    (_doc(float("nan")), "not a rate"),
    ({"estimated_noise_rate": 0.1, "per_class": [{"class": "a", "noise_rate": 0.1}] * 2}, "listed twice"),
])
def test_bad_documents(doc, match):
    with pytest.raises(LabelError, match=match):
        noise_rates(doc, "b.json")


def test_bad_margin():
    with pytest.raises(LabelError, match="fail_if_worse"):
        compare_health(_doc(0.1), _doc(0.1), margin=-0.1)
