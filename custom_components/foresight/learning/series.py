"""What the learning engines share for series: the usable samples in time order, quiet statistics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def known_in_time_order(times: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The samples whose time and value are both known, oldest first (ties keep their order)."""
    keep = np.isfinite(times) & np.isfinite(values)
    times, values = times[keep], values[keep]
    order = np.argsort(times, kind="stable")
    return times[order], values[order]


def nan_statistic(
    statistic: Callable[..., Any], values: Any, axis: int | None = None, **kwargs: Any
) -> FloatArray:
    """A numpy nan-aware ``statistic`` (``np.nanmean``, ``np.nanstd``, ``np.nanquantile``, …).

    NaN where a slice holds no value at all (a day or an hour never seen), without numpy's
    warning: silencing it with ``warnings.catch_warnings`` instead is not thread-safe, and
    Home Assistant runs the learning in several executor threads at once.
    """
    values = np.asarray(values, dtype=np.float64)
    if axis is None:
        if np.isnan(values).all():
            return np.asarray(np.nan)
        return np.asarray(statistic(values, **kwargs), dtype=np.float64)
    axis = axis - values.ndim if axis >= 0 else axis  # from the end: a quantile adds an axis
    empty = np.isnan(values).all(axis=axis, keepdims=True)
    result = statistic(np.where(empty, 0.0, values), axis=axis, keepdims=True, **kwargs)
    return np.asarray(np.squeeze(np.where(empty, np.nan, result), axis=axis), dtype=np.float64)
