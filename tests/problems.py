"""Seeded random problems for the tests that compare labelcli with cleanlab (tests/test_conformance*.py)
and for the core's own tests: each problem is a small frozen recipe, turned into (labels,
pred_probs) from its seed, so every test id reproduces on its own. Also the lists of what is
compared and the assertions that compare results. numpy only: cleanlab is imported by the tests.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np
import pytest


# cleanlab 2.9's own filters and scoring methods (the values its find_label_issues / rank functions
# accept; checked against cleanlab in test_compared_lists_are_cleanlabs_own). labelcli's extra
# ones (adjusted margin) have no cleanlab counterpart and are tested in tests/core/test_defaults.py. Every
# labelcli call below passes compat="cleanlab": unset options then take cleanlab's defaults.
FILTERS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
PRUNE_FILTERS = ("prune_by_noise_rate", "prune_by_class", "both")
RANK_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
LABELCLI_ONLY_FILTERS = ("low_posterior", "low_adjusted_margin")
LABELCLI_ONLY_METHODS = ("posterior", "adjusted_margin")
ATOL = 1e-6


# === multi-class problems =========================================================================


@dataclass(frozen=True)
class Problem:
    """Recipe for one random problem; `make_problem(problem)` turns it into (labels, pred_probs)."""

    seed: int
    K: int
    N: int
    prior: str = "balanced"  # "balanced" or "dirichlet" (Dirichlet(0.3) class priors: heavy imbalance)
    noise: tuple = (0.05, 0.4)  # per-class flip rate range of the true -> given noise matrix
    signal: float | None = None  # logit boost of the true class (None: drawn per problem)
    tiny: tuple = ()  # sizes of classes forced to have only that many given labels
    missing: int = 0  # classes with zero given labels (still columns of pred_probs)
    near_ties: int = 0  # rows where two classes' probabilities differ by less than 1e-9
    logit_step: float = 0.0  # > 0: logits rounded to this grid, so many rows are exactly equal
    float16: bool = False  # probabilities rounded to float16 values (exact ties, as in real files)
    dtype: str = "float64"

    @property
    def id(self) -> str:
        parts = [f"s{self.seed}", f"K{self.K}", f"N{self.N}", self.prior[:3]]
        if self.tiny:
            parts.append("tiny" + "-".join(map(str, self.tiny)))
        if self.missing:
            parts.append(f"miss{self.missing}")
        if self.near_ties:
            parts.append(f"ties{self.near_ties}")
        if self.signal is not None:
            parts.append(f"sig{self.signal:g}")
        if self.noise != (0.05, 0.4):
            parts.append(f"noise{self.noise[0]:g}-{self.noise[1]:g}")
        if self.logit_step:
            parts.append(f"grid{self.logit_step:g}")
        if self.float16:
            parts.append("f16q")
        if self.dtype != "float64":
            parts.append(self.dtype)
        return "-".join(parts)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=None)
def make_problem(pb: Problem) -> tuple[np.ndarray, np.ndarray]:
    """(labels, pred_probs) for a recipe. Arrays are read-only so a cached problem cannot drift."""
    rng = np.random.default_rng(pb.seed)
    K, N = pb.K, pb.N
    if pb.prior == "balanced":
        priors = np.full(K, 1.0 / K)
    else:
        priors = rng.dirichlet(np.full(K, 0.3)) + 1e-3
        priors /= priors.sum()
    true = rng.choice(K, size=N, p=priors)

    # Class-conditional noise: column j is p(given | true = j), with 1 - rate[j] on the diagonal.
    rates = rng.uniform(*pb.noise, size=K)
    T = np.zeros((K, K))
    for j in range(K):
        others = np.flatnonzero(np.arange(K) != j)
        T[others, j] = rates[j] * rng.dirichlet(np.full(K - 1, 0.5))
        T[j, j] = 1.0 - rates[j]
    cum = np.cumsum(T, axis=0)[:, true].T  # (N, K)
    given = np.minimum((rng.random(N)[:, None] >= cum).sum(axis=1), K - 1)

    # An informative model: softmax(signal * onehot(true) + gaussian noise).
    signal = pb.signal if pb.signal is not None else rng.uniform(2.0, 4.5)
    logits = rng.normal(0.0, 1.0, size=(N, K))
    logits[np.arange(N), true] += signal
    if pb.logit_step:
        logits = np.round(logits / pb.logit_step) * pb.logit_step
    probs = _softmax(logits)

    # Tiny and missing classes: relabel their surplus examples to ordinary classes.
    special = list(range(K - 1, K - 1 - len(pb.tiny) - pb.missing, -1))
    ordinary = np.setdiff1d(np.arange(K), special)
    for c, size in zip(special, list(pb.tiny) + [0] * pb.missing):
        idx = np.flatnonzero(given == c)
        if len(idx) < size:  # borrow rows truly of class c (or any row) to reach the size
            pool = np.flatnonzero((given != c) & (true == c))
            if len(pool) < size - len(idx):
                pool = np.flatnonzero(given != c)
            idx = np.concatenate([idx, rng.choice(pool, size - len(idx), replace=False)])
            given[idx] = c
        given[idx[size:]] = rng.choice(ordinary, len(idx) - size)

    # Near ties: two classes within 1e-9 of each other (never equal). Half the rows tie the given
    # label with the best other class, half tie the two largest classes.
    for i in rng.choice(N, size=pb.near_ties, replace=False):
        row = probs[i]
        order = np.argsort(-row)
        if rng.random() < 0.5:
            a = given[i]
            b = order[0] if order[0] != a else order[1]
        else:
            a, b = order[0], order[1]
        mid = (row[a] + row[b]) / 2
        d = rng.uniform(1e-10, 4.5e-10) * rng.choice([-1.0, 1.0])
        row[a], row[b] = mid + d, mid - d

    if pb.float16:  # handed over in pb.dtype so that both sides compute alike
        probs = probs.astype(np.float16)
    labels = given.astype(np.int64)
    pred_probs = probs.astype(pb.dtype)
    labels.flags.writeable = False
    pred_probs.flags.writeable = False
    return labels, pred_probs


def _problems() -> list[Problem]:
    out: list[Problem] = []
    seed = iter(range(1000, 2000))

    def add(**kw):
        out.append(Problem(seed=next(seed), **kw))

    for N in (50, 300, 2000, 5000):  # binary
        add(K=2, N=N)
        add(K=2, N=N, prior="dirichlet")
    add(K=2, N=200, tiny=(3,))
    add(K=2, N=400, near_ties=20)
    add(K=2, N=1000, dtype="float32")
    for N in (60, 500, 3000):
        add(K=3, N=N)
        add(K=3, N=N, prior="dirichlet")
    add(K=3, N=300, tiny=(1,))
    add(K=3, N=300, tiny=(2,))
    add(K=3, N=400, missing=1)
    add(K=3, N=800, near_ties=40)
    add(K=3, N=1500, dtype="float32")
    add(K=3, N=1000, noise=(0.3, 0.4))
    for N in (100, 1000, 5000):
        add(K=10, N=N)
        add(K=10, N=N, prior="dirichlet")
    add(K=10, N=800, tiny=(1, 2, 3))
    add(K=10, N=1200, missing=1)
    add(K=10, N=1500, tiny=(1,), missing=1, near_ties=50)
    add(K=10, N=2000, near_ties=100)
    add(K=10, N=2000, dtype="float32")
    add(K=10, N=3000, prior="dirichlet", dtype="float32")
    add(K=10, N=1000, noise=(0.05, 0.1))
    add(K=10, N=1000, noise=(0.35, 0.4))
    add(K=10, N=600, signal=1.0)  # a weak model
    add(K=10, N=2500, signal=6.0)  # a strong model
    add(K=100, N=2000)
    add(K=100, N=5000)
    add(K=100, N=3000, prior="dirichlet")
    add(K=100, N=5000, prior="dirichlet")
    add(K=100, N=2500, tiny=(1, 2, 3), missing=2)
    add(K=100, N=4000, near_ties=100)
    add(K=100, N=3000, dtype="float32")
    # A sweep of mixed settings.
    meta = np.random.default_rng(7)
    for _ in range(10):
        K = int(meta.choice([2, 3, 5, 10, 20]))
        add(
            K=K,
            N=int(np.exp(meta.uniform(np.log(50), np.log(4000)))),
            prior=str(meta.choice(["balanced", "dirichlet"])),
            tiny=(int(meta.integers(1, 4)),) if K > 2 and meta.random() < 0.4 else (),
            near_ties=int(meta.integers(0, 30)),
        )
    return out


PROBLEMS = _problems()
IDS = [p.id for p in PROBLEMS]


# === multi-label problems =========================================================================


@dataclass(frozen=True)
class MLProblem:
    """Recipe for one random multi-label problem; `make_ml_problem` turns it into arrays."""

    seed: int
    K: int
    N: int
    prevalence: tuple = (0.05, 0.5)  # per-tag prevalence range of the true tags
    noise: float = 0.05  # per-cell flip rate of the given tags
    empty: float = 0.0  # fraction of rows given no tag at all
    full: float = 0.0  # fraction of rows given every tag
    absent: int = 0  # tags that never occur in the given labels
    near_ties: int = 0  # cells within 1e-9 of 0.5 and rows within 1e-12 of another row
    dtype: str = "float64"

    @property
    def id(self) -> str:
        parts = [f"s{self.seed}", f"K{self.K}", f"N{self.N}"]
        for name in ("empty", "full", "absent", "near_ties"):
            if getattr(self, name):
                parts.append(f"{name}{getattr(self, name):g}")
        if self.prevalence != (0.05, 0.5):
            parts.append(f"prev{self.prevalence[0]:g}-{self.prevalence[1]:g}")
        if self.dtype != "float64":
            parts.append(self.dtype)
        return "-".join(parts)


@functools.lru_cache(maxsize=None)
def make_ml_problem(pb: MLProblem) -> tuple[np.ndarray, np.ndarray]:
    """(N x K bool labels, N x K pred_probs), read-only so a cached problem cannot drift."""
    rng = np.random.default_rng(pb.seed)
    N, K = pb.N, pb.K
    true = rng.random((N, K)) < rng.uniform(*pb.prevalence, size=K)
    given = true ^ (rng.random((N, K)) < pb.noise)
    signal = rng.uniform(1.0, 3.5, size=K)  # per tag: some tags are hard
    p = 1.0 / (1.0 + np.exp(-(rng.normal(0.0, 1.0, (N, K)) + signal * np.where(true, 1.0, -1.0))))
    rows = rng.permutation(N)
    n_empty, n_full = int(pb.empty * N), int(pb.full * N)
    given[rows[:n_empty]] = False
    given[rows[n_empty : n_empty + n_full]] = True
    if pb.near_ties:
        cells = rng.choice(N * K, size=pb.near_ties, replace=False)
        p.flat[cells] = 0.5 + rng.uniform(-1e-9, 1e-9, size=pb.near_ties)
        src, dst = rng.choice(N, size=(2, pb.near_ties // 2 + 1), replace=False)
        p[dst] = np.clip(p[src] + rng.uniform(-1e-12, 1e-12, size=(len(src), K)), 0, 1)
        given[dst] = given[src]
    if pb.absent:
        given[:, K - pb.absent :] = False
    # cleanlab refuses a tag present in every row: keep one row without each such tag.
    for c in np.flatnonzero(given.all(axis=0)):
        given[rng.integers(N), c] = False
    p = p.astype(pb.dtype)
    given.flags.writeable = False
    p.flags.writeable = False
    return given, p


def _ml_problems() -> list[MLProblem]:
    out: list[MLProblem] = []
    seed = iter(range(3000, 4000))

    def add(**kw):
        out.append(MLProblem(seed=next(seed), **kw))

    for N in (50, 300, 3000):
        add(K=2, N=N)
    add(K=2, N=400, empty=0.3)
    add(K=2, N=500, dtype="float32")
    add(K=3, N=80, full=0.1)
    add(K=3, N=600, near_ties=30)
    add(K=4, N=1000, absent=1)
    add(K=5, N=200, empty=0.2, full=0.05)
    add(K=5, N=2000, dtype="float32", near_ties=40)
    add(K=6, N=700, prevalence=(0.005, 0.05))  # rare tags
    add(K=8, N=1500, prevalence=(0.4, 0.9))  # dense tag sets
    add(K=10, N=100, absent=2, empty=0.1)
    add(K=10, N=1200)
    add(K=10, N=1800, noise=0.15)
    add(K=12, N=900, full=0.03, absent=1, near_ties=20)
    add(K=15, N=1500, dtype="float32")
    add(K=20, N=400, prevalence=(0.01, 0.2), empty=0.25)
    add(K=20, N=1000, noise=0.02)
    add(K=30, N=700, absent=3)
    add(K=35, N=600, prevalence=(0.002, 0.1))
    add(K=50, N=300)
    add(K=50, N=800, dtype="float32", near_ties=50)
    meta = np.random.default_rng(11)  # a sweep of mixed settings
    for _ in range(9):
        K = int(meta.choice([2, 3, 5, 8, 13, 21]))
        add(
            K=K,
            N=int(np.exp(meta.uniform(np.log(50), np.log(3000)))),
            noise=float(meta.choice([0.02, 0.05, 0.1])),
            empty=float(meta.choice([0.0, 0.1])),
            full=float(meta.choice([0.0, 0.02])),
            absent=int(meta.random() < 0.3) if K > 2 else 0,
            near_ties=int(meta.integers(0, 20)),
            dtype=str(meta.choice(["float64", "float32"])),
        )
    return out


ML_PROBLEMS = _ml_problems()
ML_IDS = [pb.id for pb in ML_PROBLEMS]


# === comparing results ===========================================================================


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def assert_same_mask(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    assert ours.dtype == bool and ours.shape == theirs.shape
    diff = np.flatnonzero(ours != theirs)
    assert len(diff) == 0, (
        f"{what}: {len(diff)} rows differ (labelcli flags {int(ours.sum())}, cleanlab"
        f" {int(theirs.sum())}); first rows {diff[:10].tolist()}"
    )


def has_ties(values: np.ndarray) -> bool:
    return len(np.unique(values)) < len(values)


def assert_same_ranking(ours: np.ndarray, theirs: np.ndarray, scores: np.ndarray, what: str) -> None:
    """Identical when the ranked rows' scores are distinct; with exact ties (float32 problems can
    have a few), equal up to the order inside tied groups, where labelcli keeps row order."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert np.issubdtype(ours.dtype, np.integer)
    if not has_ties(scores[theirs]):
        np.testing.assert_array_equal(ours, theirs, err_msg=what)
        return
    assert sorted(ours.tolist()) == sorted(theirs.tolist()), what
    np.testing.assert_array_equal(scores[ours], scores[theirs], err_msg=what)
    assert_ties_in_row_order(ours, scores)


def assert_ties_in_row_order(ranking: np.ndarray, scores: np.ndarray) -> None:
    s = scores[ranking]
    assert np.all(np.diff(s) >= 0), "ranking is not by ascending score"
    tied_next = s[1:] == s[:-1]
    assert np.all(np.diff(ranking)[tied_next] > 0), "tied rows are not in row order"


def tag_lists(labels: np.ndarray) -> list:
    """An N x K tag matrix as cleanlab's multi-label input: each row's list of tag indices."""
    return [np.flatnonzero(row).tolist() for row in labels]


def quiet_single_process(fn, *args, **kwargs):
    """quiet(fn, ...) with psutil reporting one CPU, so cleanlab's multi-label functions run in
    this process (n_jobs only affects their runtime); skips the test without psutil."""
    psutil = pytest.importorskip("psutil")
    with warnings.catch_warnings(), np.errstate(all="ignore"), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("ignore")
        mp.setattr(psutil, "cpu_count", lambda logical=True: 1)
        return fn(*args, **kwargs)
