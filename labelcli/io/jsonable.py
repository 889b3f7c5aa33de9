"""Plain JSON values from numpy / pandas / dataclass values (NaN and inf -> None), for the writers."""
from __future__ import annotations

import dataclasses
import math
import os

import numpy as np


def _json_column(series) -> list:
    """A column's values as JSON-ready Python objects (NaN and inf -> None), a whole column at once."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        values = series.tolist()  # Python bool / int / float, as to_jsonable would give
        if dtype.kind == "f":
            return [v if math.isfinite(v) else None for v in values]
        return values
    return [to_jsonable(v) for v in series.tolist()]


def json_records(df):
    """The rows of df as JSON-ready dicts (column name -> plain Python value, NaN -> None)."""
    cols = [str(c) for c in df.columns]
    for row in zip(*(_json_column(df.iloc[:, j]) for j in range(df.shape[1]))):
        yield dict(zip(cols, row))


def to_jsonable(obj):
    """Convert numpy / pandas / dataclass values to plain JSON types; NaN and inf become None."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, dict):
        return {k if isinstance(k, str) else str(to_jsonable(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "isoformat"):  # datetime, date, pandas Timestamp
        return obj.isoformat()
    if type(obj).__name__ in ("NAType", "NaTType"):
        return None
    if type(obj).__name__ == "DataFrame":
        return list(json_records(obj))
    if type(obj).__name__ == "Series":
        return to_jsonable(obj.tolist())
    raise TypeError(f"cannot write a {type(obj).__name__} as JSON")
