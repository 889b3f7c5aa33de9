"""labelcli.core.fixing: decisions tables, automatic policies and applying them (pure numpy)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcli.core.fixing import (
    Decisions,
    apply_decisions,
    auto_decisions,
    bool_cells,
    candidate_rows,
    class_indices,
    parse_decisions,
    row_indices,
)
from labelcli.errors import LabelError

CLASSES = ("cat", "dog", "bird")
LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1], dtype=np.int64)


def obj(*values):
    return np.array(values, dtype=object)


def where(r):
    return f"review.csv row {r} (0-based)"


def parse(index, action, new_label, reason=None, classes=CLASSES, n=len(LABELS)):
    return parse_decisions(obj(*index), obj(*action), obj(*new_label), classes=classes, num_examples=n,
                           reason=None if reason is None else obj(*reason), name="review.csv")


# ------------------------------------------------------------------------------ class_indices


def test_class_indices_names_indices_floats_and_blanks():
    got = class_indices(obj("dog", "2", 0, 1.0, "", None, float("nan"), " bird "), CLASSES, what="new_label", where=where)
    assert got.tolist() == [1, 2, 0, 1, -1, -1, -1, 2]


@pytest.mark.parametrize("value", ["cow", "3", "-1", "1.5", "Dog"])
def test_class_indices_unknown_class_names_the_row(value):
    with pytest.raises(LabelError, match=rf"review.csv row 1 \(0-based\): new_label '{value}' is not a class"):
        class_indices(obj("cat", value), CLASSES, what="new_label", where=where)


def test_class_indices_integer_class_names_are_names_not_positions():
    classes = ("3", "5", "7")
    assert class_indices(obj("5", 7, 3.0), classes, what="x", where=where).tolist() == [1, 2, 0]
    with pytest.raises(LabelError, match="'1' is not a class") as e:
        class_indices(obj("1"), classes, what="x", where=where)  # not position 1: "1" is no class
    assert "index" not in str(e.value)
    # the default names 0..K-1 are both
    assert class_indices(obj("2", 1), ("0", "1", "2"), what="x", where=where).tolist() == [2, 1]


# ------------------------------------------------------------------------------- bool_cells


def test_bool_cells():
    got = bool_cells(obj(True, False, np.True_, "true", "FALSE", " True ", 1, 0, "1", 0.0, 1.0), what="keep", where=where)
    assert got.tolist() == [True, False, True, True, False, True, True, False, True, False, True]
    for v in ("yes", None, "", 2, 0.5):
        with pytest.raises(LabelError, match=r"review.csv row 1 \(0-based\): keep '.*' is not true/false"):
            bool_cells(obj(True, v), what="keep", where=where)


# ------------------------------------------------------------------------------- row_indices


def test_row_indices_accepts_ints_floats_and_text():
    assert row_indices(obj(3, "4", 5.0, np.int64(0)), 8, where).tolist() == [3, 4, 5, 0]


@pytest.mark.parametrize("values, row, fragment", [
    ((1, 8), 1, "index 8 is outside 0..7"),
    ((-1,), 0, "index -1 is outside 0..7"),
    ((1, None), 1, "index is blank"),
    ((1, "x"), 1, "index 'x' is not a whole number"),
    ((1, 2.5), 1, "index '2.5' is not a whole number"),
    ((4, 2, 4), 2, "index 4 is listed twice (also at row 0)"),
])
def test_row_indices_errors(values, row, fragment):
    with pytest.raises(LabelError) as e:
        row_indices(obj(*values), 8, where)
    assert str(e.value).startswith(f"review.csv row {row} (0-based): ")
    assert fragment in str(e.value)


# --------------------------------------------------------------------------- parse_decisions


def test_parse_decisions_sorts_by_index_and_maps_labels():
    d = parse([5, 0, 3], ["Relabel", " drop ", "KEEP"], ["cat", "dog", None])
    assert d.index.tolist() == [0, 3, 5]
    assert d.action.tolist() == ["drop", "keep", "relabel"]
    assert d.new_label.tolist() == [-1, -1, 0]  # new_label ignored unless relabel
    assert d.reason.tolist() == ["review: drop", "review: keep", "review: relabel"]


def test_parse_decisions_new_label_ignored_for_drop_and_keep_even_if_unknown():
    d = parse([1, 2], ["drop", "keep"], ["no-such-class", "dog"])
    assert d.new_label.tolist() == [-1, -1]


def test_parse_decisions_blank_action_is_not_reviewed_yet():
    d = parse([4, 1, 2, 3], [None, "drop", "  ", float("nan")], ["dog", None, "cow", None])
    assert d.index.tolist() == [1] and d.action.tolist() == ["drop"]  # (a blank row's new_label is not read)


def test_carry_forward_keeps_earlier_drops_and_the_first_original():
    from labelcli.core.fixing import carry_forward

    labels = np.array([0, 1, 2, 2])  # round one relabeled row 3 from 1 to 2 and dropped row 0
    first = np.array([0, 1, 2, 1])
    res = apply_decisions(labels, parse([1, 2], ["drop", "keep"], [None, None]), 3)
    out = carry_forward(res, original=first, keep=np.array([False, True, False, True]))
    assert out.keep.tolist() == [False, False, True, True]  # row 2 restored by an explicit keep
    assert out.original.tolist() == first.tolist() and out.changed.tolist() == [False, False, False, True]
    assert out.weight.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_parse_decisions_carries_reasons():
    d = parse([2, 1], ["drop", "keep"], [None, None], reason=["blurry", float("nan")])
    assert d.reason.tolist() == ["review: keep", "blurry"]


@pytest.mark.parametrize("index, action, new, fragment", [
    ([0, 9], ["keep", "keep"], [None, None], "row 1 (0-based): index 9 is outside 0..7"),
    ([0, 3, 3], ["keep", "drop", "keep"], [None, None, None], "row 2 (0-based): index 3 is listed twice"),
    ([0, 1], ["keep", "delete"], [None, None], "row 1 (0-based): action is 'delete'; use one of relabel, drop, keep"),
    ([0, 1], ["relabel", "keep"], [None, None], "row 0 (0-based): action relabel needs a new_label"),
    ([0, 1], ["keep", "relabel"], [None, "  "], "row 1 (0-based): action relabel needs a new_label"),
    ([0, 1], ["keep", "relabel"], [None, "cow"], "row 1 (0-based): new_label 'cow' is not a class (cat, dog, bird)"),
    ([0, 1], ["keep", "relabel"], [None, 3], "new_label '3' is not a class (cat, dog, bird) nor an index 0..2"),
])
def test_parse_decisions_errors_name_the_row(index, action, new, fragment):
    with pytest.raises(LabelError) as e:
        parse(index, action, new)
    msg = str(e.value)
    assert msg.startswith("review.csv row "), msg
    assert fragment in msg, msg
    assert "\n" not in msg


def test_parse_decisions_rejects_ragged_columns():
    with pytest.raises(LabelError, match="different lengths"):
        parse_decisions(obj(0, 1), obj("keep"), obj(None, None), classes=CLASSES, num_examples=8)


# ---------------------------------------------------------------------------- apply_decisions


def test_apply_relabel_drop_keep():
    y = LABELS.copy()
    d = parse([1, 4, 6, 7], ["relabel", "drop", "keep", "relabel"], ["bird", None, None, "dog"])
    r = apply_decisions(y, d, 3)
    assert np.array_equal(y, LABELS), "the input array was modified"
    assert r.labels.tolist() == [0, 2, 2, 0, 1, 2, 0, 1]
    assert r.original.tolist() == LABELS.tolist()
    assert r.keep.tolist() == [True, True, True, True, False, True, True, True]
    assert r.weight.tolist() == [1, 1, 1, 1, 0, 1, 1, 1]
    assert r.changed.tolist() == [False, True, False, False, False, False, False, False]
    assert (r.num_relabeled, r.num_dropped, r.num_kept) == (1, 1, 7)
    # changelog: one row per decision, index order; relabel to the same class is logged as keep
    assert r.log_index.tolist() == [1, 4, 6, 7]
    assert r.log_action.tolist() == ["relabel", "drop", "keep", "keep"]
    assert r.log_old.tolist() == [1, 1, 0, 1]
    assert r.log_new.tolist() == [2, -1, 0, 1]
    assert r.log_reason[3] == "review: relabel; new_label is the given label"
    assert r.log_reason[0] == "review: relabel"


def test_apply_no_decisions_is_identity():
    r = apply_decisions(LABELS, parse([], [], []), 3)
    assert np.array_equal(r.labels, LABELS) and r.keep.all() and not r.changed.any()
    assert len(r.log_index) == 0


def test_apply_dropped_row_keeps_its_label():
    r = apply_decisions(LABELS, parse([2], ["drop"], [None]), 3)
    assert r.labels[2] == 2 and not r.keep[2] and r.weight[2] == 0.0 and not r.changed[2]


@pytest.mark.parametrize("decisions, fragment", [
    (Decisions(np.array([8]), obj("keep"), np.array([-1]), obj("x")), "outside 0..7"),
    (Decisions(np.array([-1]), obj("keep"), np.array([-1]), obj("x")), "outside 0..7"),
    (Decisions(np.array([1, 1]), obj("keep", "drop"), np.array([-1, -1]), obj("x", "y")), "same row"),
    (Decisions(np.array([1]), obj("flip"), np.array([-1]), obj("x")), "unknown action 'flip'"),
    (Decisions(np.array([1]), obj("relabel"), np.array([-1]), obj("x")), "no valid new label"),
    (Decisions(np.array([1]), obj("relabel"), np.array([3]), obj("x")), "no valid new label"),
])
def test_apply_validates_hand_built_decisions(decisions, fragment):
    with pytest.raises(LabelError, match=fragment):
        apply_decisions(LABELS, decisions, 3)


def test_apply_rejects_non_index_labels():
    with pytest.raises(LabelError, match="class indices"):
        apply_decisions(np.array(["a", "b"]), parse([], [], [], n=2), 3)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_apply_invariants(data):
    n = data.draw(st.integers(1, 30))
    k = data.draw(st.integers(2, 5))
    y = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    rows = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    acts = [data.draw(st.sampled_from(["relabel", "drop", "keep"])) for _ in rows]
    new = [data.draw(st.integers(0, k - 1)) if a == "relabel" else None for a in acts]
    d = parse_decisions(obj(*rows), obj(*acts), obj(*new), classes=[f"c{i}" for i in range(k)], num_examples=n)
    before = y.copy()
    r = apply_decisions(y, d, k)
    assert np.array_equal(y, before)
    decided = dict(zip(rows, zip(acts, new)))
    for i in range(n):
        a, nl = decided.get(i, ("none", None))
        assert r.keep[i] == (a != "drop")
        assert r.weight[i] == (0.0 if a == "drop" else 1.0)
        assert r.labels[i] == (nl if a == "relabel" else y[i])
        assert r.changed[i] == (a == "relabel" and nl != y[i])
    assert r.log_index.tolist() == sorted(rows)
    assert r.num_dropped + r.num_kept == n
    assert set(r.log_new[r.log_action == "drop"]) <= {-1}
    assert np.all(r.log_new[r.log_action == "keep"] == r.log_old[r.log_action == "keep"])


# ------------------------------------------------------------------------------- auto policies

# An issues table over LABELS: rows (index), suggested class, score, flagged
ISSUE_INDEX = np.array([5, 1, 3, 7, 0])
SUGGESTED = np.array([0, 2, 1, 1, 0])  # row 7's suggestion is its given label
SCORES = np.array([0.01, 0.02, 0.30, 0.30, 0.9])
FLAGGED = np.array([True, True, True, False, False])
CONF = np.array([0.95, 0.5, 0.9, 0.99, 0.99])


def test_auto_drop_flagged_rows():
    d = auto_decisions(LABELS, ISSUE_INDEX, SUGGESTED, SCORES, FLAGGED, action="drop")
    assert d.index.tolist() == [1, 3, 5]
    assert set(d.action) == {"drop"}
    assert d.reason.tolist()[0] == "flagged by find-issues (score 0.02)"
    r = apply_decisions(LABELS, d, 3)
    assert r.keep.tolist() == [True, False, True, False, True, False, True, True]


def test_auto_drop_fraction_takes_lowest_scores_ties_in_table_order():
    # round(0.5 * 8) = 4 lowest: scores 0.01, 0.02, then the tie 0.30/0.30 (table order: 3 then 7)
    d = auto_decisions(LABELS, ISSUE_INDEX, SUGGESTED, SCORES, FLAGGED, action="drop", fraction=0.5)
    assert d.index.tolist() == [1, 3, 5, 7]
    assert "lowest 50.0% label scores" in d.reason[0]
    d = auto_decisions(LABELS, ISSUE_INDEX, SUGGESTED, SCORES, FLAGGED, action="drop", fraction=0.3)
    assert d.index.tolist() == [1, 5]  # round(0.3 * 8) = 2: scores 0.01 (row 5) and 0.02 (row 1)


def test_candidate_rows_counts():
    got = candidate_rows(ISSUE_INDEX, SCORES, FLAGGED, num_examples=8, fraction=0.25)
    assert got.tolist() == [0, 1]  # table positions of scores 0.01, 0.02
    got = candidate_rows(ISSUE_INDEX, SCORES, FLAGGED, num_examples=8, fraction=0.05)
    assert got.tolist() == []  # round(0.4) = 0
    assert candidate_rows(ISSUE_INDEX, SCORES, FLAGGED, num_examples=8).tolist() == [0, 1, 2]


@pytest.mark.parametrize("fraction, fragment", [
    (0.0, "in (0, 1]"), (1.5, "in (0, 1]"), (-0.1, "in (0, 1]"),
    (0.75, "asks for the 6 lowest-scoring of 8 examples but the issues table has 5 rows; write it with find-issues --all"),
])
def test_candidate_rows_fraction_errors(fraction, fragment):
    with pytest.raises(LabelError) as e:
        candidate_rows(ISSUE_INDEX, SCORES, FLAGGED, num_examples=8, fraction=fraction)
    assert fragment in str(e.value)


def test_candidate_rows_missing_score():
    with pytest.raises(LabelError, match=r"issues row 1 \(0-based\): label_score is missing"):
        candidate_rows(ISSUE_INDEX, np.array([0.1, np.nan, 0.2, 0.3, 0.4]), FLAGGED, num_examples=8, fraction=0.25)


def test_auto_relabel_only_when_confident():
    d = auto_decisions(LABELS, ISSUE_INDEX, SUGGESTED, SCORES, FLAGGED, action="relabel", confidence=CONF)
    by_row = {int(i): (a, int(n), w) for i, a, n, w in zip(d.index, d.action, d.new_label, d.reason)}
    assert by_row[5][:2] == ("relabel", 0)  # p 0.95 >= 0.9
    assert by_row[1][:2] == ("keep", -1) and "not relabeled: p(suggested) 0.500 < 0.9" in by_row[1][2]
    assert by_row[3][:2] == ("relabel", 1)  # p exactly at the threshold counts
    assert 7 not in by_row and 0 not in by_row  # not flagged
    r = apply_decisions(LABELS, d, 3)
    assert r.labels.tolist() == [0, 1, 2, 1, 1, 0, 0, 1] and r.keep.all()


def test_auto_relabel_threshold_and_given_equals_suggested():
    d = auto_decisions(LABELS, ISSUE_INDEX, SUGGESTED, SCORES, ~FLAGGED | FLAGGED, action="relabel",
                       confidence=CONF, threshold=0.4)
    by_row = {int(i): (a, w) for i, a, w in zip(d.index, d.action, d.reason)}
    assert by_row[1][0] == "relabel"  # 0.5 >= 0.4
    assert by_row[7] == ("keep", "flagged by find-issues (score 0.3); the suggested label is the given one")
    assert by_row[0][0] == "keep"  # suggested 0 == given 0


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(action="relabel"), "needs the `pred_probs` option"),
    (dict(action="relabel", confidence=CONF, threshold=1.5), "the `threshold` option is a probability"),
    (dict(action="flip"), "the `auto` option 'flip' is not one of: drop, relabel"),
])
def test_auto_errors(kwargs, fragment):
    with pytest.raises(LabelError, match=fragment.replace("(", r"\(")):
        auto_decisions(LABELS, ISSUE_INDEX, SUGGESTED, SCORES, FLAGGED, **kwargs)
