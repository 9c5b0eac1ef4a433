"""What the learning engines share for irregular series: the usable samples, in time order."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def known_in_time_order(times: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The samples whose time and value are both known, oldest first (ties keep their order)."""
    keep = np.isfinite(times) & np.isfinite(values)
    times, values = times[keep], values[keep]
    order = np.argsort(times, kind="stable")
    return times[order], values[order]
