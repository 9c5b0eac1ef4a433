"""What a day-ahead occupancy forecast says about each hour: the home's weekly routine of presence.

A day or more ahead, the home's occupancy forecast is its learned weekly routine (nothing seen
now says more that far out), so the energy forecaster reads expected occupancy as the share of
the same hour of the same weekday someone was home over the last few weeks. Times are seconds
on the home's local wall clock, as everywhere in ``learning/``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
WEEK = 7 * 86400.0
ROUTINE_WEEKS = 4  # the weeks before an hour its expected occupancy is read from


def expected_presence(
    hours: FloatArray,
    history_hours: FloatArray,
    someone_home: FloatArray,
    weeks: int = ROUTINE_WEEKS,
) -> FloatArray:
    """Each hour's expected occupancy: the same hour of the same weekday in the weeks before.

    For each of ``hours``, the mean share of the hour someone was home at the same hour of the
    same weekday over the ``weeks`` weeks before it; NaN where none of them is known.
    ``history_hours`` / ``someone_home``: hour starts and the share of each hour someone was
    home (0..1, NaN unknown). Only hours before each target are read, so the result is what a
    forecast made before that hour could have known.
    """
    order = np.argsort(history_hours, kind="stable")
    times = np.asarray(history_hours, dtype=np.float64)[order]
    values = np.asarray(someone_home, dtype=np.float64)[order]
    targets = np.asarray(hours, dtype=np.float64)
    total = np.zeros(targets.size)
    count = np.zeros(targets.size)
    if times.size == 0:
        return np.full(targets.size, np.nan)
    for week in range(1, weeks + 1):
        wanted = targets - week * WEEK
        index = np.minimum(np.searchsorted(times, wanted), times.size - 1)
        seen = values[index]
        hit = (times[index] == wanted) & np.isfinite(seen)
        total[hit] += seen[hit]
        count[hit] += 1
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
