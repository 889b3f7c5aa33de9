"""Class order of unnamed pred_probs columns (issue #14 item 4): labels given as names with a .npy
pred_probs. No order is ever guessed or suggested from the names; a --classes order that does
not fit the labels is reported as a warning naming the likely order."""
from __future__ import annotations

import numpy as np
import pytest

from labelcli.io import open_dataset
from labelcli.io.classes import column_order_warning
from tests.conftest import cli_ok, fails, npy, run_cli, text

pytestmark = pytest.mark.usefixtures("in_tmp")

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TRUE_ORDER = ",".join(WORDS)
ALPHABETICAL = ",".join(sorted(WORDS))


@pytest.fixture
def named_digits(sample_labels, sample_pred_probs):
    """The digits sample with labels written as words; pred_probs unnamed (.npy), columns 0..9."""
    text("y.csv", "label\n" + "\n".join(WORDS[i] for i in sample_labels) + "\n")
    npy("p.npy", sample_pred_probs)
    return sample_labels


def test_no_classes_error_suggests_no_order(named_digits):
    msg = fails(open_dataset, "y.csv", "p.npy", name="y.csv", match="no column names")
    assert "e.g." not in msg and ALPHABETICAL[:9] not in msg and "--classes" in msg


def test_right_order_no_warning(named_digits):
    ds = open_dataset("y.csv", "p.npy", classes=TRUE_ORDER)
    assert ds.warning is None and ds.labels.tolist() == named_digits.tolist()


def test_alphabetical_order_warns_with_the_likely_order(named_digits):
    ds = open_dataset("y.csv", "p.npy", classes=ALPHABETICAL)
    assert ds.warning is not None and ds.warning.startswith("p.npy: ")
    assert TRUE_ORDER in ds.warning


def test_cli_prints_warning_line(named_digits):
    r = cli_ok("score", "-l", "y.csv", "-p", "p.npy", "--classes", ALPHABETICAL, "-q", "--out", "s.csv")
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(lines) == 1 and TRUE_ORDER in lines[0]
    r = cli_ok("score", "-l", "y.csv", "-p", "p.npy", "--classes", TRUE_ORDER, "-q", "--out", "s2.csv")
    assert "warning" not in r.stderr


def test_noisy_but_right_order_does_not_warn():
    rng = np.random.default_rng(0)
    n, k = 2000, 4
    y = rng.integers(0, k, n)
    p = np.full((n, k), 0.1)
    p[np.arange(n), y] = 0.7
    flip = rng.random(n) < 0.4  # 40% of given labels wrong, at random
    given = np.where(flip, rng.integers(0, k, n), y)
    assert column_order_warning(given, p, list("abcd"), "p.npy") is None
    # a swap of two columns' names is found and named (with 20% of labels flipped)
    given = np.where(rng.random(n) < 0.2, rng.integers(0, k, n), y)
    swapped = np.array([1, 0, 2, 3])[given]
    w = column_order_warning(swapped, p, list("abcd"), "p.npy")
    assert w is not None and "b,a,c,d" in w


def test_warning_run_exits_zero_and_does_not_change_results(named_digits):
    r = run_cli("find-issues", "-l", "y.csv", "-p", "p.npy", "--classes", ALPHABETICAL, "-q", "--out", "i.csv")
    assert r.code == 0 and "warning: " in r.stderr


def test_two_swapped_columns_of_ten_warn(sample_labels, sample_pred_probs):
    names = [str(i) for i in range(10)]
    perm = np.arange(10)
    perm[[3, 8]] = [8, 3]
    w = column_order_warning(perm[sample_labels], sample_pred_probs, names, "p.npy")
    assert w is not None and "0,1,2,8,4,5,6,7,3,9" in w
    assert column_order_warning(sample_labels, sample_pred_probs, names, "p.npy") is None
