"""Seeded synthetic classification problems for the benchmarks: (labels, pred_probs).

A problem looks like the output of a decent classifier on a dataset with class-conditional label
noise:
- true classes drawn from mildly imbalanced priors (Dirichlet(5));
- every class has a "confusable" partner class (a random permutation); a given label is the true
  class with probability 1 - rate[true] (rate ~ U(0.05, 0.3)); a flipped label goes to the partner
  with probability 0.7, else to a uniformly random class;
- logits = signal * onehot(true) + 0.5 * signal * onehot(partner(true)) + N(0, 1) (+ per-row
  temperature), softmax, float32 (what a model in a file usually holds).

Everything is generated in row blocks so 200k x 1000 (800 MB of float32) stays within ~1.3x of
the output size.

    python bench/synthetic.py 1000000 10 bench/_work/   # writes labels_<N>x<K>.npy, probs_<N>x<K>.npy
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BLOCK_ELEMENTS = 1 << 22  # ~16 MB of float32 per generated block


def make(n: int, k: int, *, seed: int = 0, signal: float = 3.5, dtype=np.float32, out=None):
    """(labels int64 (n,), pred_probs dtype (n, k)); the same seed gives the same arrays.

    out: an (n, k) array to fill (e.g. a memory-mapped .npy), so that big problems never sit in
    memory whole."""
    rng = np.random.default_rng([seed, n, k])
    priors = rng.dirichlet(np.full(k, 5.0))
    true = rng.choice(k, size=n, p=priors)
    partner = rng.permutation(k)
    partner = np.where(partner == np.arange(k), (partner + 1) % k, partner)
    rates = rng.uniform(0.05, 0.3, size=k)
    flip = rng.random(n) < rates[true]
    to_partner = rng.random(n) < 0.7
    random_class = rng.integers(0, k, size=n)
    given = np.where(flip, np.where(to_partner, partner[true], random_class), true)

    probs = np.empty((n, k), dtype=dtype) if out is None else out
    rows = max(1, BLOCK_ELEMENTS // k)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        t = true[start:stop]
        z = rng.standard_normal((stop - start, k), dtype=np.float32)
        idx = np.arange(stop - start)
        z[idx, t] += signal
        z[idx, partner[t]] += 0.5 * signal
        z *= rng.uniform(0.7, 1.5, size=(stop - start, 1)).astype(np.float32)  # per-row temperature
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        probs[start:stop] = z
    return given.astype(np.int64), probs


def paths(n: int, k: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    tag = f"{n}x{k}" + (f"_s{seed}" if seed else "")
    return folder / f"labels_{tag}.npy", folder / f"probs_{tag}.npy"


def ensure(n: int, k: int, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write the problem's .npy files into folder unless they already exist; return their paths.
    pred_probs are written block by block into a memory-mapped file (memory stays small)."""
    folder.mkdir(parents=True, exist_ok=True)
    lp, pp = paths(n, k, folder, seed)
    if not (lp.exists() and pp.exists()):
        tmp = pp.with_suffix(".tmp.npy")
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, k))
        labels, _ = make(n, k, seed=seed, out=out)
        out.flush()
        del out
        tmp.replace(pp)
        tmp = lp.with_suffix(".tmp.npy")
        np.save(tmp, labels)
        tmp.replace(lp)
    return lp, pp


if __name__ == "__main__":
    n, k = int(sys.argv[1]), int(sys.argv[2])
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(__file__).parent / "_work"
    print(*ensure(n, k, out))
