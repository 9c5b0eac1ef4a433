"""Where the sun is: enough to know when solar panels cannot produce. numpy only.

The low-precision solar position of the Astronomical Almanac (good to about 0.01° this
century): ample for telling night from day.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

DAY = 86400.0
J2000_UNIX_DAYS = 10957.5  # 2000-01-01 12:00 UTC, in days since 1970-01-01 00:00 UTC
# Points at which an hour is looked at: the sun is down all hour if down at each.
_HOUR_POINTS = np.linspace(0.0, 3600.0, 7)


def sun_elevation(utc_seconds: ArrayLike, latitude: float, longitude: float) -> FloatArray:
    """The sun's elevation above the horizon (degrees) at each UTC time, seen from a place."""
    days = np.asarray(utc_seconds, dtype=np.float64) / DAY - J2000_UNIX_DAYS
    mean_longitude = 280.460 + 0.9856474 * days
    anomaly = np.radians(357.528 + 0.9856003 * days)
    ecliptic = np.radians(mean_longitude + 1.915 * np.sin(anomaly) + 0.020 * np.sin(2 * anomaly))
    obliquity = np.radians(23.439 - 0.0000004 * days)
    right_ascension = np.arctan2(np.cos(obliquity) * np.sin(ecliptic), np.cos(ecliptic))
    declination = np.arcsin(np.sin(obliquity) * np.sin(ecliptic))
    sidereal = np.radians(280.46061837 + 360.98564736629 * days + longitude)
    hour_angle = sidereal - right_ascension
    place = np.radians(latitude)
    height = np.sin(place) * np.sin(declination) + np.cos(place) * np.cos(declination) * np.cos(
        hour_angle
    )
    return np.asarray(np.degrees(np.arcsin(np.clip(height, -1.0, 1.0))), dtype=np.float64)


def dark_hours(hour_starts: ArrayLike, latitude: float, longitude: float) -> NDArray[np.bool_]:
    """Whether the sun stays below the horizon for the whole of each hour (UTC starts)."""
    starts = np.asarray(hour_starts, dtype=np.float64)
    points = starts[:, None] + _HOUR_POINTS[None, :]
    return np.asarray((sun_elevation(points, latitude, longitude) < 0.0).all(axis=1))
