"""labelcli's default count (and the adjusted_margin score): confident learning on threshold-adjusted pred_probs.

Subtracting each class's threshold t_k (its mean self-confidence) from column k removes the
model's per-class over- or under-confidence. A class mean from few rows is noisy, and on small
data the full correction costs accuracy, so each t_k is shrunk toward the overall mean
self-confidence with the weight of THRESHOLD_PRIOR pseudo-rows: n_k / (n_k + 1000) of the way to
the class's own mean (~1 for 50,000-row data, 0.05 for a 50-row class). The score is the normalized margin of the adjusted
row (given class against the best other); the count of label errors is the off-diagonal total
of the calibrated confident joint in which a row counts for the confident class (p_j >= t_j, as
in the confident joint) with the largest adjusted value p_j - t_j. Both use float64 thresholds,
so float16 files are not rounded twice. Chosen on measured accuracy: bench/ACCURACY.md.
"""
from __future__ import annotations

import numpy as np

from labelcli.core import validate as v
from labelcli.core.latent import calibrated_off_diagonal
from labelcli.core.scan import cell_counts, joint_from_cells, threshold_cut


# Pseudo-rows of the overall mean in each class's threshold (bench/ACCURACY.md has the sweep:
# 300 to 2,000 all beat cleanlab's defaults; 0 loses 0.03 AP on iris).
THRESHOLD_PRIOR = 1000.0


def margin_thresholds(labels: np.ndarray, self_conf: np.ndarray, k: int, prior: float = THRESHOLD_PRIOR) -> np.ndarray:
    """Per-class mean self-confidence in float64, shrunk toward the overall mean by `prior`
    pseudo-rows (a class no row is labeled with gets the overall mean)."""
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.bincount(labels, weights=self_conf.astype(np.float64), minlength=k)
    overall = sums.sum() / max(counts.sum(), 1.0)
    return (sums + prior * overall) / (counts + prior)


def _margin(labels: np.ndarray, shifted: np.ndarray, total_shift: float) -> np.ndarray:
    """Normalized margin of the adjusted rows, from shifted = block - thresholds (float64; it is
    overwritten). Adjusting adds max(t) to every entry and divides the row by its sum Z, so the
    margin is (shifted[given] - max other shifted) / Z, with Z = row sum + total_shift > 0."""
    rows = np.arange(len(labels))
    z = shifted.sum(axis=1)
    z += total_shift
    own = shifted[rows, labels].copy()
    shifted[rows, labels] = -np.inf
    own -= shifted.max(axis=1)
    own /= z
    own += 1
    own /= 2
    return own


def adjusted_scan(labels, pred_probs, thresholds, cut=None):
    """(adjusted margins, adjusted confident guesses or None) over the rows, in row blocks.

    thresholds: float64 margin_thresholds; cut: threshold_cut of the confident joint's thresholds
    in the data's dtype (None: no guesses). A guess is -1 when no class reaches its cut.
    Few classes go column by column (adjusted_columns), many row by row (adjusted_rows).
    """
    from labelcli.core.scan import COLUMN_SCAN_MAX_K

    n, k = pred_probs.shape
    scores = np.empty(n, dtype=np.float64)
    guess = None if cut is None else np.empty(n, dtype=np.int64)
    sc = None
    if k <= COLUMN_SCAN_MAX_K:
        sc = pred_probs[np.arange(n), labels]
    for sl in v.row_blocks(n, v.rows_per_block(pred_probs)):
        block = pred_probs[sl]
        if sc is not None:
            scores[sl], g = adjusted_columns(np.ascontiguousarray(block.T), labels[sl], sc[sl], thresholds, cut)
        else:
            scores[sl], g = adjusted_rows(block, labels[sl], thresholds, cut)
        if guess is not None:
            guess[sl] = g
    return scores, guess


def adjusted_rows(block: np.ndarray, labels: np.ndarray, thresholds: np.ndarray, cut=None, scores: bool = True):
    """(adjusted margins or None without `scores`, adjusted guesses or None) of one row block,
    with row-wise reductions."""
    k = block.shape[1]
    total_shift = k * float(thresholds.max())  # each of the k entries gets max(t) added
    shifted = block.astype(np.float64)
    shifted -= thresholds
    guess = None
    if cut is not None:
        d = np.where(block >= cut, shifted, -np.inf)
        guess = d.argmax(axis=1)
        guess[np.isneginf(d[np.arange(len(guess)), guess])] = -1
    return (_margin(labels, shifted, total_shift) if scores else None), guess


def adjusted_columns(cols: np.ndarray, labels: np.ndarray, self_conf: np.ndarray, thresholds: np.ndarray, cut=None,
                     scores: bool = True):
    """adjusted_scan of one row block given column by column (cols: K x B, the block transposed),
    for few classes, where numpy's row-wise reductions are slow: the same numbers, bit for bit.

    The row sum Z adds the shifted values in the order numpy's row sum does (pairwise: eight
    running sums over the first multiple of 8 columns, combined as ((0+1)+(2+3))+((4+5)+(6+7)),
    then the remaining columns one by one; plainly in order below 8 columns), so that Z, and the
    score, are those of adjusted_scan; tests compare the two. scores=False: the guesses only.
    """
    k, b = cols.shape
    total_shift = k * float(thresholds.max())
    whole = k - k % 8 if k >= 8 else 0  # columns summed by the eight running sums
    acc = [None] * 8
    z = None
    top = np.full(b, -np.inf)
    guess = best = None
    if cut is not None:
        guess, best = np.full(b, -1, dtype=np.int16), np.full(b, -np.inf)
        above, better = np.empty(b, dtype=bool), np.empty(b, dtype=bool)
    for j in range(k):  # a loop over classes
        s = cols[j].astype(np.float64)
        s -= thresholds[j]
        if cut is not None:
            np.greater_equal(cols[j], cut[j], out=above)
            np.greater(s, best, out=better)
            better &= above
            np.copyto(best, s, where=better)
            guess[better] = j
        if not scores:
            continue
        if j < whole:
            if j < 8:
                acc[j] = s.copy()
            else:
                acc[j % 8] += s
            if j == whole - 1:
                z = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        elif z is None:
            z = s.copy()
        else:
            z += s
        np.maximum(top, s, out=top, where=labels != j)
    if not scores:
        return None, guess
    z += total_shift
    own = self_conf.astype(np.float64)
    own -= thresholds[labels]
    own -= top
    own /= z
    own += 1
    own /= 2
    return own, guess


def adjusted_margin(labels, pred_probs, thresholds=None) -> np.ndarray:
    """Normalized margin of the threshold-adjusted pred_probs (lower = more suspect)."""
    if thresholds is None:
        k = pred_probs.shape[1]
        thresholds = margin_thresholds(labels, pred_probs[np.arange(len(labels)), labels], k)
    return adjusted_scan(labels, pred_probs, thresholds)[0]


def adjusted_issue_count(cells: np.ndarray, label_counts: np.ndarray) -> int:
    """calibrated_off_diagonal of the adjusted confident joint, from its (given, adjusted guess)
    cell_counts (summed over chunks by the streaming path)."""
    return calibrated_off_diagonal(joint_from_cells(cells, len(label_counts)), label_counts)


def adjusted_scores_and_count(labels, pred_probs, self_conf, thresholds, label_counts, prior=THRESHOLD_PRIOR):
    """(adjusted margins, how many rows low_adjusted_margin flags) in one pass over the rows.
    thresholds: the confident joint's, in the data's dtype (they decide which classes count);
    prior: see margin_thresholds."""
    k = pred_probs.shape[1]
    cut = threshold_cut(thresholds, pred_probs.dtype)
    scores, guess = adjusted_scan(labels, pred_probs, margin_thresholds(labels, self_conf, k, prior), cut)
    return scores, adjusted_issue_count(cell_counts(labels, guess, k), label_counts)
