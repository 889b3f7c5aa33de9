"""The filters of confident learning: how many rows each (given, true) cell prunes, which rows
each filter flags, and the LabelIssues result. Per class or per cell; the engine
(labelcli.core.engine) supplies the per-row scan and merges chunks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.core import validate as v
from labelcli.core.latent import round_preserving_row_totals
from labelcli.core.scan import count_issues
from labelcli.core.scores import METHODS
from labelcli.core.select import first_n, first_n_by_key, first_n_by_key_columns, first_n_by_key_rows, lowest_mask

FILTERS = (
    "low_posterior",
    "low_adjusted_margin",
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
PRUNING = ("prune_by_noise_rate", "prune_by_class", "both")
# labelcli's filters: the lowest scores, as many as the calibrated adjusted confident joint counts
# off its diagonal (see core.adjusted); low_posterior is the default.
COUNTED_FILTERS = ("low_posterior", "low_adjusted_margin")


@dataclass(frozen=True)
class LabelIssues:
    """Result of find_label_issues."""

    mask: np.ndarray  # (N,) bool, True = likely label issue
    ranking: np.ndarray  # indices of flagged rows, most suspect first
    scores: np.ndarray  # (N,) label quality scores by `rank_by` (lower = more suspect)
    predicted: np.ndarray  # (N,) argmax class of pred_probs (the suggested label)
    filter_by: str
    rank_by: str

    @property
    def num_issues(self) -> int:
        return int(self.mask.sum())


def prune_counts(cal_cj, label_counts, min_examples_per_class, frac_noise, num_to_remove):
    """How many examples to flag per (given, true) cell: [true j, given k] (columns = given)."""
    pcm = cal_cj.T.astype(np.float64)
    diag = pcm.diagonal().copy()
    new_diag = np.maximum(diag, min_examples_per_class)
    nonzero_off = np.maximum(np.count_nonzero(pcm, axis=0) - 1.0, 1.0)
    new = pcm - (new_diag - diag) / nonzero_off
    new[new < 0] = 0
    np.fill_diagonal(new, new_diag)
    # frac_noise: keep that fraction of the off-diagonal counts; what is removed goes to the
    # diagonal. Truncation (not rounding) is deliberate, as in the reference implementation.
    reduced = new * frac_noise
    np.fill_diagonal(reduced, new.diagonal())
    np.fill_diagonal(reduced, new.diagonal() + (new - reduced).sum(axis=0))
    pcm = round_preserving_row_totals(reduced.astype(np.int64))
    if num_to_remove is not None:
        rem = np.asarray(num_to_remove, dtype=np.float64)
        # A class with nothing off its diagonal divides 0 by 0, as in the reference: its cells are
        # NaN, which no fix-up step touches, and count as 0 (round_preserving_row_totals).
        with np.errstate(divide="ignore", invalid="ignore"):
            psy = pcm / np.sum(pcm, axis=1)  # broadcasts over columns, as the reference does
            noise_per_s = psy.sum(axis=1) - psy.diagonal()
            tmp = (psy.T * rem / noise_per_s).T
            np.fill_diagonal(tmp, label_counts - rem)
            pcm = round_preserving_row_totals(tmp)
    return pcm


def noise_rate_quota(pcm: np.ndarray, counts: np.ndarray, min_examples_per_class: int) -> np.ndarray:
    """Rows to take per cell, flattened as [k * K + j] for cell (given k -> true j): pcm[j, k]
    off the diagonal, 0 for classes left alone (at most max(min_examples_per_class, 1) rows)."""
    quota = pcm.T.copy()
    np.fill_diagonal(quota, 0)
    quota[counts <= max(min_examples_per_class, 1)] = 0
    return np.maximum(quota, 0).reshape(-1)


# Classes with at most this many rows select all their cells at once (one partition over a
# cells x rows matrix); bigger ones with at most MATRIX_CELLS_MAX keys narrow every cell with a
# sampled cut first (first_n_by_key_columns); the biggest go cell by cell.
SMALL_CLASS_ROWS = 2048
MATRIX_CELLS_MAX = 1 << 21


def margin_picks(own: np.ndarray, sub: np.ndarray, cols: np.ndarray, counts: np.ndarray, ties: str = "row"):
    """The rows of one given class k picked by its noise-rate cells (k -> j).

    own: p[k] of the class's rows (in row order); sub[:, cols[i]]: p[j] of cell i's class j.
    For cell i, the counts[i] rows with the largest margin p[j] - p[k], ties to the earlier row:
    the first counts[i] of a stable ascending sort of the key p[k] - p[j] (the exact negation of
    the margin). Returns (cell index, row position), one pair per pick. ties="numpy": see
    numpy_tie_picks (own and sub must then hold every row of the class).
    """
    cell_i, pos = _stable_margin_picks(own, sub, cols, counts)
    if ties == "numpy":
        return numpy_tie_picks(own, sub, cols, counts, cell_i, pos)
    return cell_i, pos


def numpy_tie_picks(own, sub, cols, counts, cell_i, pos):
    """cleanlab picks a cell's rows as np.argsort(-margin)[:count] over the class's rows, so equal
    margins at the cut go where numpy's unstable sort puts them: the cells whose cut is tied are
    picked again that way, on the very array cleanlab sorts (-(p[j] - p[k])). Finding them costs
    one row-major pass over the class's rows (every cell at once, a block of rows at a time)."""
    active = np.flatnonzero(counts > 0)
    if not len(active) or not len(pos):
        return cell_i, pos
    cut = np.full(len(cols), -np.inf)  # each cell's largest picked key
    np.maximum.at(cut, cell_i, own[pos] - sub[pos, cols[cell_i]])
    at_or_below = np.zeros(len(cols), dtype=np.int64)
    step = max(1, TIE_BLOCK_VALUES // len(active))
    for s in range(0, len(own), step):  # a loop over row blocks
        block = own[s : s + step, None] - sub[s : s + step][:, cols[active]]
        at_or_below[active] += np.count_nonzero(block <= cut[active], axis=0)
    tied = active[at_or_below[active] > counts[active]]
    if not len(tied):
        return cell_i, pos
    keep = ~np.isin(cell_i, tied)
    out_c, out_p = [cell_i[keep]], [pos[keep]]
    for i in tied:  # a loop over the (few) tied cells
        picked = np.sort(np.argsort(-(sub[:, cols[i]] - own))[: counts[i]])
        out_c.append(np.full(len(picked), i))
        out_p.append(picked)
    return np.concatenate(out_c), np.concatenate(out_p)


TIE_BLOCK_VALUES = 1 << 20  # keys computed at a time when looking for tied cuts


def _stable_margin_picks(own, sub, cols, counts):
    n = len(own)
    if n <= SMALL_CLASS_ROWS:
        keys = np.subtract(own, sub[:, cols].T, order="C")  # cells x rows
        return np.nonzero(first_n_by_key_rows(keys, counts))
    # Cells taking a small share of the rows: a sampled cut narrows them all at once; the others
    # (and everything when the matrix would be large) cell by cell.
    few = np.flatnonzero(8 * counts <= n) if n * len(cols) <= MATRIX_CELLS_MAX else np.zeros(0, np.intp)
    cells, picks = [], []
    if len(few) >= 16:  # below that, per-cell partitions are cheaper
        # rows x cells keys, C-ordered like sub (no transposes); all columns when most are needed
        if 2 * len(few) >= sub.shape[1]:
            wanted = np.zeros(sub.shape[1], dtype=np.int64)
            wanted[cols[few]] = counts[few]
            c, p = first_n_by_key_columns(own[:, None] - sub, wanted)
            c = np.searchsorted(cols, c)  # column -> cell index (cols is sorted)
        else:
            c, p = first_n_by_key_columns(own[:, None] - sub[:, cols[few]], counts[few])
            c = few[c]
        cells.append(c)
        picks.append(p)
    else:
        few = few[:0]
    for i in np.setdiff1d(np.arange(len(cols)), few):  # a loop over classes
        picked = first_n_by_key(own - sub[:, cols[i]], counts[i])
        cells.append(np.full(len(picked), i))
        picks.append(picked)
    return np.concatenate(cells), np.concatenate(picks)


def class_columns(pred_probs: np.ndarray, rows: np.ndarray, k: int, cols: np.ndarray, buffer=None):
    """(own, sub, cols') with own = p[rows, k] and sub[:, cols'] = p[rows][:, cols]: gathered
    element by element when few columns are needed (no full-row copies at large K), else as
    whole rows (one copy, into ``buffer`` when given; columns are then strided views)."""
    kk = pred_probs.shape[1]
    if pred_probs.flags.c_contiguous and 4 * (len(cols) + 1) < kk:
        sub = np.take(pred_probs.reshape(-1), rows[:, None] * kk + np.concatenate(([k], cols)))
        return sub[:, 0], sub, np.arange(1, len(cols) + 1)
    if buffer is None:
        sub = pred_probs.take(rows, axis=0)
    else:
        sub = np.take(pred_probs, rows, axis=0, out=buffer[: len(rows)], mode="clip")
    return np.ascontiguousarray(sub[:, k]), sub, cols


def class_prune_mask(self_conf, by_class, pcm, min_examples_per_class, ties: str = "row") -> np.ndarray:
    """prune_by_class: per given class k, the rows labeled k with the lowest p[k], keeping pcm[k, k]
    (ties: see select.first_n; by_class lists each class's rows in row order)."""
    order, bounds = by_class
    mask = np.zeros(len(self_conf), dtype=bool)
    for k in range(len(bounds) - 1):  # a loop over classes
        rows = order[bounds[k] : bounds[k + 1]]
        if len(rows) <= max(min_examples_per_class, 1):
            continue
        num = len(rows) - pcm[k, k]
        if num >= 1:
            mask[rows[first_n(self_conf[rows], num, ties)]] = True
    return mask


def check_filter_options(filter_by, frac_noise, num_to_remove, min_examples, k, *, per: str = "",
                         filters=FILTERS) -> None:
    """The filter options shared by multi-class and multi-label (``per``: e.g. " (one per tag)")."""
    if filter_by not in filters:
        raise v.LabelError(f"unknown filter '{filter_by}'; choose one of {', '.join(filters)}")
    if not 0.0 <= frac_noise <= 1.0:
        raise v.LabelError(f"frac_noise must be in [0, 1], got {frac_noise}")
    if min_examples < 0:
        raise v.LabelError(f"min_examples_per_class must be >= 0, got {min_examples}")
    if num_to_remove is not None:
        if filter_by not in PRUNING:
            raise v.LabelError(
                f"num_to_remove_per_class works only with {', '.join(PRUNING)}, not '{filter_by}'"
            )
        if len(num_to_remove) != k:
            raise v.LabelError(f"num_to_remove_per_class needs {k} values{per}, got {len(num_to_remove)}")


def check_options(filter_by, rank_by, frac_noise, num_to_remove, min_examples, k):
    """find_label_issues' options (multi-class)."""
    if filter_by in FILTERS and rank_by not in METHODS:
        raise v.LabelError(f"unknown rank_by '{rank_by}'; choose one of {', '.join(METHODS)}")
    check_filter_options(filter_by, frac_noise, num_to_remove, min_examples, k)
    if filter_by in COUNTED_FILTERS and (frac_noise != 1.0 or min_examples != 1):
        # cleanlab only warns that they are ignored outside the pruning filters; a silent no-op
        # after a change of default would hide that the call no longer does what it asks
        raise v.LabelError(
            f"frac_noise and min_examples_per_class tune the pruning filters ({', '.join(PRUNING)}),"
            f" not {filter_by}; pass filter_by too"
        )


def issues_mask(filter_by, labels, self_conf, scan, by_class, pcm, min_examples_per_class, noise_rate, low, ties="row"):
    """The flagged rows of one filter (but the COUNTED_FILTERS, see the engine), from the per-row
    scan; noise_rate() and low() compute the parts that need pred_probs again (the noise-rate
    selection, low_* scores)."""
    if filter_by in PRUNING:
        mask = None
        if filter_by in ("prune_by_class", "both"):
            mask = class_prune_mask(self_conf, by_class, pcm, min_examples_per_class, ties)
        if filter_by in ("prune_by_noise_rate", "both"):
            by_rate = noise_rate()
            mask = by_rate if mask is None else mask & by_rate
    elif filter_by == "confident_learning":
        mask = scan.off_diagonal.copy()
    elif filter_by == "predicted_neq_given":
        mask = scan.predicted != labels
    else:  # low_self_confidence / low_normalized_margin: the lowest-scoring rows, as many as
        # the confident joint estimates there are issues.
        return lowest_mask(low(), count_issues(scan), ties)
    mask &= ~scan.agrees
    return mask
