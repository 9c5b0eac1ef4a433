"""Between Home Assistant's UTC timestamps and the local wall clock the learning code uses.

``learning/`` reads the hour of day and the day of week straight from its timestamps, so it is
given seconds on the home's wall clock (a naive local time read as if it were UTC). These two
functions convert in both directions; daylight saving time is handled here, once.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import numpy as np
import numpy.typing as npt

HOUR = 3600


def to_wall_clock(utc_seconds: npt.ArrayLike, zone: tzinfo) -> npt.NDArray[np.float64]:
    """UTC seconds → local wall-clock seconds (offsets looked up once per distinct hour)."""
    utc = np.asarray(utc_seconds, dtype=np.float64)
    if utc.size == 0:
        return utc.copy()
    hours, where = np.unique(np.floor(utc / HOUR), return_inverse=True)
    offsets = np.fromiter(
        (_offset(float(hour) * HOUR, zone) for hour in hours), dtype=np.float64, count=hours.size
    )
    return utc + offsets[where.reshape(utc.shape)]


def wall_clock_now(now: datetime, zone: tzinfo) -> float:
    """An aware datetime → local wall-clock seconds."""
    return now.astimezone(zone).replace(tzinfo=UTC).timestamp()


def from_wall_clock(local_seconds: float, zone: tzinfo) -> datetime:
    """Local wall-clock seconds → an aware datetime in the home's time zone."""
    naive = datetime.fromtimestamp(local_seconds, UTC).replace(tzinfo=None)
    return naive.replace(tzinfo=zone)


def utc_offset(utc_seconds: float, zone: tzinfo) -> float:
    """The time zone's offset from UTC (seconds) at a moment."""
    return _offset(utc_seconds, zone)


def _offset(utc_seconds: float, zone: tzinfo) -> float:
    offset = datetime.fromtimestamp(utc_seconds, UTC).astimezone(zone).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0
