"""Shape, dtype, range and consistency checks at the boundary; every failure is a LabelError.

Each check takes a ``name`` (a file path or a parameter name) so the message points at the input
the user has to fix. The core's public functions call these once; internal helpers trust them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcli.errors import LabelError

# Rows of multi-class pred_probs must sum to 1 within this tolerance (or K float ulps, for
# float16 files whose rows were rounded element by element).
ROW_SUM_ATOL = 1e-3
# Values this far outside [0, 1] are rounding noise, not errors: they are clipped into [0, 1].
RANGE_ATOL = 1e-4
BLOCK_ROWS = 1 << 16


# Row blocks of about this many bytes stay in the CPU cache while several passes run over them.
BLOCK_BYTES = 1 << 20


def row_blocks(n: int, block_rows: int = BLOCK_ROWS):
    """Yield slices that cover range(n) in blocks, to bound temporaries on big inputs."""
    for start in range(0, n, block_rows):
        yield slice(start, min(n, start + block_rows))


def rows_per_block(x: np.ndarray, block_bytes: int | None = None) -> int:
    """Rows of a 2-D array that fit in about block_bytes (default BLOCK_BYTES; at least 64)."""
    return max(64, (block_bytes or BLOCK_BYTES) // max(1, x.shape[1] * x.itemsize))


def fmt_row(i: int) -> str:
    return f"row {int(i)} (0-based)"


def as_float_matrix(x, *, name: str, what: str = "pred_probs") -> np.ndarray:
    """Return x as a 2-D float array (float16 promoted to float32), or raise LabelError."""
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind in "USO":
        raise LabelError(f"{name}: {what} must be numbers, but the values are {values_kind(arr)}")
    if arr.dtype.kind == "b" or arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "c":
        raise LabelError(f"{name}: {what} must be real numbers, got complex values")
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    elif arr.dtype.kind != "f":
        raise LabelError(f"{name}: {what} must be numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise LabelError(
            f"{name}: {what} must be 2-D (N rows x K columns), got an array of shape {arr.shape}"
        )
    return arr


def values_kind(arr: np.ndarray) -> str:
    return {"U": "strings", "S": "bytes", "O": "Python objects"}.get(arr.dtype.kind, str(arr.dtype))


def check_finite(x: np.ndarray, *, name: str, what: str = "pred_probs", row_offset: int = 0) -> None:
    """Raise naming the first row that holds NaN or inf (row_offset: of x's first row in the file)."""
    for sl in row_blocks(len(x)):
        bad = ~np.isfinite(x[sl])
        if bad.any():
            r, c = np.argwhere(bad)[0]
            v = x[sl][r, c]
            raise LabelError(
                f"{name}: {what} has {'NaN' if np.isnan(v) else 'inf'} at {fmt_row(row_offset + sl.start + r)},"
                f" column {int(c)}; fix or drop those rows"
            )


def as_pred_probs(
    pred_probs,
    *,
    name: str = "pred_probs",
    multi_label: bool = False,
    normalize: bool = False,
    row_offset: int = 0,
    source_dtype=None,
) -> np.ndarray:
    """Validate N x K predicted probabilities; returns a float array (float16 -> float32).

    Multi-class rows must sum to 1 (within ROW_SUM_ATOL, or K ulps of the file's dtype);
    with ``normalize=True`` they are rescaled instead. Values must lie in [0, 1].
    row_offset: the row number of the first row, for messages about one chunk of a larger file.
    source_dtype: the dtype the values came in, when pred_probs is a converted copy.
    """
    src_dtype = np.dtype(source_dtype) if source_dtype is not None else np.asarray(pred_probs).dtype
    p = as_float_matrix(pred_probs, name=name)
    n, k = p.shape
    if n and (k >= 2 or multi_label) and not normalize and plainly_valid(p, src_dtype, multi_label):
        return p  # the common case: one pass, no copy
    if n == 0:
        raise LabelError(f"{name}: pred_probs has no rows")
    if k < 2 and not multi_label:
        raise LabelError(
            f"{name}: pred_probs has {k} column{'s' if k != 1 else ''}; need one column per class"
            " and at least 2 classes"
        )
    check_finite(p, name=name, row_offset=row_offset)
    lo, hi = _min_max(p)
    if lo < -RANGE_ATOL:
        r, c = np.argwhere(p < -RANGE_ATOL)[0]
        raise LabelError(
            f"{name}: pred_probs must be probabilities in [0, 1], found {p[r, c]:.6g} at "
            f"{fmt_row(row_offset + r)}, column {int(c)} (are these logits? apply softmax first)"
        )
    if hi > 1 + RANGE_ATOL and not normalize:
        r, c = np.argwhere(p > 1 + RANGE_ATOL)[0]
        raise LabelError(
            f"{name}: pred_probs must be probabilities in [0, 1], found {p[r, c]:.6g} at "
            f"{fmt_row(row_offset + r)}, column {int(c)} (logits? apply softmax; unnormalised"
            " scores? pass the `normalize` option)"
        )
    if lo < 0 or (hi > 1 and not normalize):
        # Rounding noise just outside [0, 1]; clip (a copy: the caller's array is untouched).
        # With normalize, values above 1 are legitimate (e.g. counts) and rows are rescaled below.
        p = np.clip(p, 0.0, None if normalize else 1.0)
    if multi_label:
        return p
    sums = p.sum(axis=1, dtype=np.float64)
    if (sums <= 0).any():
        r = int(np.flatnonzero(sums <= 0)[0])
        raise LabelError(f"{name}: {fmt_row(row_offset + r)} of pred_probs sums to 0; every row needs some probability")
    atol = _row_sum_atol(k, src_dtype)
    off = np.abs(sums - 1.0) > atol
    if off.any():
        if not normalize:
            r = int(np.flatnonzero(off)[0])
            raise LabelError(
                f"{name}: rows of pred_probs must sum to 1, but {fmt_row(row_offset + r)} sums to {sums[r]:.6g}"
                f" ({int(off.sum())} rows off); pass the `normalize` option to rescale them"
            )
    if normalize:
        p = (p / sums[:, None]).astype(p.dtype, copy=False)
    return p


def _min_max(p: np.ndarray) -> tuple[float, float]:
    return float(p.min()), float(p.max())


def _row_sum_atol(k: int, src_dtype) -> float:
    eps = np.finfo(src_dtype).eps if np.issubdtype(src_dtype, np.floating) else 0.0
    return max(ROW_SUM_ATOL, k * eps)


@dataclass(frozen=True)
class ValueCheck:
    """The value checks of as_pred_probs, run block by block inside another pass over the rows.

    block_ok is True when the full checks would pass and leave the block unchanged (finite, in
    [0, 1], rows summing to 1). False means: call as_pred_probs, which words the problem or
    returns the clipped copy. Exact: row sums may be taken in the data's precision, in any order;
    ``slack`` bounds their rounding, and a row too close to the tolerance to decide fails.
    """

    name: str
    atol: float | None  # row-sum tolerance; None: rows need not sum to 1 (multi-label)
    slack: float  # rounding bound of a row sum, per unit of the sum

    @classmethod
    def for_array(cls, p: np.ndarray, src_dtype, *, name: str, multi_label: bool = False) -> "ValueCheck":
        k = p.shape[1]
        # |float sum - exact sum| <= (K - 1) u sum|p| for any summation order (u = eps / 2).
        return cls(name, None if multi_label else _row_sum_atol(k, src_dtype), 2.0 * k * np.finfo(p.dtype).eps)

    def block_ok(self, block: np.ndarray, top=None, sums=None) -> bool:
        """top: the row maxima and sums: the row sums, when the caller has them."""
        lo = block.min()  # NaN propagates into min and max; inf shows in one of them
        hi = block.max() if top is None else top.max()
        if not (lo >= 0 and hi <= 1):
            return False
        if self.atol is None:
            return True
        if sums is None:
            sums = np.einsum("ij->i", block)
        return not np.any(np.abs(sums - 1) > self.atol - self.slack * np.maximum(sums, 1))


def plainly_valid(p: np.ndarray, src_dtype, multi_label: bool) -> bool:
    """True when the full checks would pass without changing anything; one blockwise pass."""
    check = ValueCheck.for_array(p, src_dtype, name="", multi_label=multi_label)
    return all(check.block_ok(p[sl]) for sl in row_blocks(len(p), rows_per_block(p)))


def as_labels(labels, *, num_classes: int | None = None, name: str = "labels", row_offset: int = 0) -> np.ndarray:
    """Validate 1-D integer class indices in 0..K-1; returns int64. Floats like 3.0 are accepted.

    row_offset: the row number of the first label, for messages about one chunk of a larger file.
    """
    y = np.asarray(labels)
    if y.ndim == 2 and 1 in y.shape and y.size:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise LabelError(
            f"{name}: labels must be one value per example (1-D), got shape {y.shape}"
            + ("; 2-D 0/1 labels are multi-label data" if y.ndim == 2 else "")
        )
    if y.dtype == object or y.dtype.kind in "USO":
        raise LabelError(
            f"{name}: labels are {values_kind(y)}; map them to class indices first (the CLI does this"
            " from the `classes` option or the pred_probs column names)"
        )
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            r = int(np.flatnonzero(~np.isfinite(y))[0])
            what = "missing (NaN)" if np.isnan(y[r]) else "infinite"
            raise LabelError(f"{name}: label {what} at {fmt_row(row_offset + r)}")
        frac = y != np.round(y)
        if frac.any():
            r = int(np.flatnonzero(frac)[0])
            raise LabelError(
                f"{name}: labels must be whole class indices, found {float(y[r])!r} at {fmt_row(row_offset + r)}"
            )
    elif y.dtype.kind not in "iu":
        raise LabelError(f"{name}: labels must be class indices, got dtype {y.dtype}")
    if y.size == 0:
        raise LabelError(f"{name}: no labels (the input has 0 rows)")
    # Range checks before the cast to int64, so huge values cannot wrap around.
    if y.min() < 0:
        r = int(np.flatnonzero(y < 0)[0])
        raise LabelError(f"{name}: label {y[r]} at {fmt_row(row_offset + r)} is negative; classes are 0..K-1")
    limit = num_classes if num_classes is not None else 2**62
    if y.max() >= limit:
        r = int(np.flatnonzero(y >= limit)[0])
        raise LabelError(
            f"{name}: label {y[r]} at {fmt_row(row_offset + r)} is outside 0..{limit - 1}"
            f" (there are {limit} classes); pass the `classes` option or fix the file"
            if num_classes is not None
            else f"{name}: label {y[r]} at {fmt_row(row_offset + r)} is too large to be a class index"
        )
    return y.astype(np.int64, copy=False)  # no copy when already int64


def check_class_vector(x, k: int, *, name: str) -> np.ndarray:
    """A per-class vector (e.g. thresholds) of length K."""
    arr = np.asarray(x)
    if arr.ndim != 1 or len(arr) != k or arr.dtype.kind not in "iuf":
        raise LabelError(f"{name} must be {k} numbers, one per class; got shape {arr.shape}")
    return arr


def check_class_matrix(x, k: int, *, name: str) -> np.ndarray:
    """A K x K per-class-pair matrix (e.g. a confident joint)."""
    arr = np.asarray(x)
    if arr.shape != (k, k) or arr.dtype.kind not in "iuf":
        raise LabelError(f"{name} must be a {k} x {k} matrix of counts; got shape {arr.shape}")
    return arr


def check_same_length(n_a: int, n_b: int, *, name_a: str, name_b: str) -> None:
    if n_a != n_b:
        raise LabelError(
            f"{name_b} has {n_b} rows but {name_a} has {n_a}; they must describe the same examples"
            " in the same order"
        )


def check_inputs(
    labels,
    pred_probs,
    *,
    labels_name: str = "labels",
    probs_name: str = "pred_probs",
    normalize: bool = False,
    min_classes_present: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a multi-class (labels, pred_probs) pair; returns (int64 labels, float pred_probs)."""
    p = as_pred_probs(pred_probs, name=probs_name, normalize=normalize)
    y = as_labels(labels, num_classes=p.shape[1], name=labels_name)
    check_same_length(len(y), len(p), name_a=labels_name, name_b=probs_name)
    if min_classes_present > 1:
        check_classes_present(y, p.shape[1], name=labels_name)
    return y, p


def check_inputs_deferred(
    labels,
    pred_probs,
    *,
    labels_name: str = "labels",
    probs_name: str = "pred_probs",
    min_classes_present: int = 2,
) -> tuple[np.ndarray, np.ndarray, ValueCheck]:
    """check_inputs without its pass over the values of pred_probs: the caller runs the returned
    ValueCheck on every block of its own pass (see core.engine). Errors come in the
    same order as check_inputs: a problem in the values is reported before one in the labels."""
    src_dtype = np.asarray(pred_probs).dtype
    p = as_float_matrix(pred_probs, name=probs_name)
    if p.shape[0] == 0 or p.shape[1] < 2:
        as_pred_probs(pred_probs, name=probs_name)  # raises
    try:
        y = as_labels(labels, num_classes=p.shape[1], name=labels_name)
        check_same_length(len(y), len(p), name_a=labels_name, name_b=probs_name)
        if min_classes_present > 1:
            check_classes_present(y, p.shape[1], name=labels_name)
    except LabelError:
        as_pred_probs(pred_probs, name=probs_name)
        raise
    return y, p, ValueCheck.for_array(p, src_dtype, name=probs_name)


def check_classes_present(labels: np.ndarray, k: int, *, name: str = "labels") -> None:
    """Finding label issues compares classes: at least two must occur among the labels."""
    if np.count_nonzero(np.bincount(labels, minlength=k)) < 2:
        raise LabelError(
            f"{name}: every example has the same label ({int(labels[0])}); finding label"
            " issues needs at least 2 classes present"
        )


def as_features(features, *, name: str = "features") -> np.ndarray:
    """Validate an N x D feature / embedding matrix (finite floats, D >= 1)."""
    x = as_float_matrix(features, name=name, what="features")
    if x.shape[0] == 0:
        raise LabelError(f"{name}: features have no rows")
    if x.shape[1] == 0:
        raise LabelError(f"{name}: features have 0 columns")
    check_finite(x, name=name, what="features")
    return x


def check_feature_magnitude(x: np.ndarray, *, name: str = "features") -> np.ndarray:
    """Refuse features whose squares overflow (a model's scaling would turn them into inf / NaN);
    checked before that arithmetic. (Neighbour distances rescale, so kNN does not need it.)"""
    wide = x.size and float(np.finfo(x.dtype).max) > FEATURE_MAX  # float32 cannot hold such values
    huge = np.flatnonzero(np.abs(x).max(axis=1) > FEATURE_MAX) if wide else np.empty(0, dtype=np.int64)
    if huge.size:  # checked before any arithmetic: squares and distances would overflow to inf/NaN
        r = int(huge[0])
        raise LabelError(f"{name}: features hold a value too large to compute with ({np.abs(x[r]).max():.3g}"
                         f" at row {r} (0-based)); values must stay below {FEATURE_MAX:g}: rescale the features")
    return x


FEATURE_MAX = 1e150  # its square, summed over many columns, still fits in a float64
