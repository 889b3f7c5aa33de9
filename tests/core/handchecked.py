"""Hand-checked fixtures for the core's unit tests (tests/core/test_*.py): small inputs whose
expected values are worked out by hand in the comments, and helpers shared by those tests.

Conventions: C[i][j] = examples *given* label i that confidently belong to (true) class j;
a row "counts" for class j when p[j] >= t_j - 1e-6.
"""
from __future__ import annotations

import numpy as np
import pytest

from labelcli import LabelError, LabelIssues
from labelcli.core.adjusted import THRESHOLD_PRIOR

PRUNING = ("prune_by_noise_rate", "prune_by_class", "both")
COUNT_BASED = PRUNING + ("confident_learning", "predicted_neq_given")


def flagged(issues: LabelIssues) -> list[int]:
    return np.flatnonzero(issues.mask).tolist()


def raises_one_line(match: str, fn, *args, **kwargs) -> LabelError:
    """fn(*args, **kwargs) must raise LabelError whose message is one line and matches `match`."""
    with pytest.raises(LabelError, match=match) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg, msg
    assert msg.strip() == msg and msg
    return info.value


# ------------------------------------------------------------------------------------------------
# Fixture A: K = 3, N = 9, three rows per class.
#
#   row label  p0    p1    p2
#    0    0   0.90  0.05  0.05
#    1    0   0.70  0.20  0.10
#    2    0   0.20  0.70  0.10   <- really class 1
#    3    1   0.10  0.80  0.10
#    4    1   0.10  0.60  0.30
#    5    1   0.45  0.35  0.20   argmax 0 != 1, but below every threshold
#    6    2   0.10  0.10  0.80
#    7    2   0.05  0.15  0.80
#    8    2   0.62  0.00  0.38   <- really class 0
#
# thresholds: t0 = (0.90 + 0.70 + 0.20) / 3 = 0.6
#             t1 = (0.80 + 0.60 + 0.35) / 3 = 1.75 / 3 = 0.58333...
#             t2 = (0.80 + 0.80 + 0.38) / 3 = 1.98 / 3 = 0.66
# confident class per row (p[j] >= t_j):
#   r0 .90>=.6 -> 0; r1 .70>=.6 -> 0; r2 p1 .70>=.583 -> 1; r3 .80 -> 1; r4 .60>=.583 -> 1;
#   r5 .45<.6, .35<.583, .20<.66 -> none (not counted); r6 .80>=.66 -> 2; r7 -> 2;
#   r8 p0 .62>=.6 (p2 .38<.66) -> 0
# raw C = [[2,1,0],   (r0,r1 | r2)
#          [0,2,0],   (r3,r4; r5 not counted)
#          [1,0,2]]   (r8 | r6,r7)
# calibrated (row i scaled to count_i = 3): row0 [2,1,0]*3/3; row1 [0,2,0]*3/2 = [0,3,0];
#   row2 [1,0,2]*3/3 -> [[2,1,0],[0,3,0],[1,0,2]], total 9.
# ------------------------------------------------------------------------------------------------
A_LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
A_PROBS = np.array(
    [
        [0.90, 0.05, 0.05],
        [0.70, 0.20, 0.10],
        [0.20, 0.70, 0.10],
        [0.10, 0.80, 0.10],
        [0.10, 0.60, 0.30],
        [0.45, 0.35, 0.20],
        [0.10, 0.10, 0.80],
        [0.05, 0.15, 0.80],
        [0.62, 0.00, 0.38],
    ]
)
A_RAW_CJ = np.array([[2, 1, 0], [0, 2, 0], [1, 0, 2]])
A_CAL_CJ = np.array([[2, 1, 0], [0, 3, 0], [1, 0, 2]])
A_SELF_CONF = np.array([0.90, 0.70, 0.20, 0.80, 0.60, 0.35, 0.80, 0.80, 0.38])
# (p_given - max_other + 1) / 2:
#   r0 (.90-.05+1)/2 = .925; r1 (.70-.20+1)/2 = .75;
#   r2 (.20-.70+1)/2 = .25; r3 (.80-.10+1)/2 = .85; r4 (.60-.30+1)/2 = .65;
#   r5 (.35-.45+1)/2 = .45; r6 (.80-.10+1)/2 = .85; r7 (.80-.15+1)/2 = .825;
#   r8 (.38-.62+1)/2 = .38
A_MARGIN = np.array([0.925, 0.75, 0.25, 0.85, 0.65, 0.45, 0.85, 0.825, 0.38])
# Adjusted margin (labelcli/core/adjusted.py): the normalized margin of a_j = p_j - t_j + max(t),
# each row divided by its sum, where t_k is the mean self-confidence of the rows labeled k shrunk
# toward the overall mean by THRESHOLD_PRIOR pseudo-rows: t_k = (sum_k + P * m) / (n_k + P).
# Unshrunk (P = 0) by hand: t = [1.8, 1.75, 1.98] / 3, every row sums to
# S = 1 + 3 max(t) - sum(t) = 1 + 1.98 - 5.53 / 3 = 3.41 / 3. Times 3: 3 a_j = 3 p_j + (1.98 - 3 t_j)
# = 3 p_j + [0.18, 0.23, 0], and margin = (a_given - a_max_other + S) / (2 S)
# = 0.5 + (3 a_given - 3 a_max_other) / 6.82:
#   r0 label 0  3a = [2.88, .38, .15]   -> 2.88 - .38 =  2.50
#   r1 label 0       [2.28, .83, .30]   -> 2.28 - .83 =  1.45
#   r2 label 0       [ .78, 2.33, .30]  ->  .78 - 2.33 = -1.55
#   r3 label 1       [ .48, 2.63, .30]  -> 2.63 - .48 =  2.15
#   r4 label 1       [ .48, 2.03, .90]  -> 2.03 - .90 =  1.13
#   r5 label 1       [1.53, 1.28, .60]  -> 1.28 - 1.53 = -0.25
#   r6 label 2       [ .48, .53, 2.40]  -> 2.40 - .53 =  1.87
#   r7 label 2       [ .33, .68, 2.40]  -> 2.40 - .68 =  1.72
#   r8 label 2       [2.04, .23, 1.14]  -> 1.14 - 2.04 = -0.90
A_ADJ_MARGIN_UNSHRUNK = 0.5 + np.array([2.50, 1.45, -1.55, 2.15, 1.13, -0.25, 1.87, 1.72, -0.90]) / 6.82

# Fixture D: K = 2, class 0 has 6 rows, class 1 has 3 rows.
#   t0 = (.9+.9+.8+.2+.3+.9)/6 = 4.0/6 = .6667, t1 = (.9+.8+.3)/3 = 2.0/3 = .6667
#   r0,r1,r5 (.9) and r2 (.8) -> 0; r3 p1 .8 -> 1; r4 p1 .7 -> 1; r6, r7 -> 1; r8 p0 .7 -> 0
#   raw C = [[4,2],[1,2]]; calibrated: row0 [4,2]*6/6, row1 [1,2]*3/3 -> same.
D_LABELS = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
D_PROBS = np.array(
    [
        [0.9, 0.1],
        [0.9, 0.1],
        [0.8, 0.2],
        [0.2, 0.8],  # r3 <- really 1
        [0.3, 0.7],  # r4 <- really 1
        [0.9, 0.1],
        [0.1, 0.9],
        [0.2, 0.8],
        [0.7, 0.3],  # r8 <- really 0
    ]
)


def adjusted_thresholds(labels, probs, prior=THRESHOLD_PRIOR):
    """t_k = (sum of the rows labeled k's self-confidences + prior * overall mean) / (n_k + prior)."""
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=np.float64)
    k = probs.shape[1]
    sc = probs[np.arange(len(labels)), labels]
    sums = np.array([sc[labels == c].sum() for c in range(k)])
    counts = np.array([np.count_nonzero(labels == c) for c in range(k)])
    return (sums + prior * sc.mean()) / (counts + prior)


def adjusted_margin_formula(labels, probs, prior=THRESHOLD_PRIOR):
    """The adjusted margin from its definition (see A_ADJ_MARGIN_UNSHRUNK), in float64."""
    labels, probs = np.asarray(labels), np.asarray(probs, dtype=np.float64)
    t = adjusted_thresholds(labels, probs, prior)
    a = probs - t + t.max()
    a /= a.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    other = np.where(np.eye(probs.shape[1], dtype=bool)[labels], -np.inf, a).max(axis=1)
    return (a[rows, labels] - other + 1) / 2


def planted_noise(seed=0, n=3000, k=5, noise=0.1, scale=3.0):
    """True labels uniform; 10% flipped uniformly to another class; pred_probs = softmax of
    N(0,1) logits with +scale on the TRUE class (informative, imperfect)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    flip = rng.random(n) < noise
    s = y.copy()
    s[flip] = (y[flip] + rng.integers(1, k, int(flip.sum()))) % k
    logits = rng.normal(0.0, 1.0, (n, k))
    logits[np.arange(n), y] += scale
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return s, p, flip


# Fixture C: K = 2. t0 = (.95+.95+.55)/3 = .8167, t1 = (.3+.4+.6)/3 = .4333
#   r0, r1 -> 0; r2 label0 [.55,.45]: p0 < .8167, p1 .45 >= .4333 -> C[0,1] (off-diagonal)
#   but argmax(r2) = 0 = given, so it is NOT an issue.  r3 [.7,.3], r4 [.6,.4]: none;
#   r5 [.4,.6] -> 1.  raw C = [[2,1],[0,1]]; calibrated [[2,1],[0,3]].
C_LABELS = np.array([0, 0, 0, 1, 1, 1])
C_PROBS = np.array([[0.95, 0.05], [0.95, 0.05], [0.55, 0.45], [0.7, 0.3], [0.6, 0.4], [0.4, 0.6]])
