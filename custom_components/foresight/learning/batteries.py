"""Battery discharge: when each battery reaches its low level, with an 80 % likely range.

Pure numpy, no Home Assistant imports; a :class:`BatteryDischarge` persists as a JSON dict.

Time convention: every timestamp is float seconds on the home's *local wall clock*, i.e. a naive
local datetime converted as if it were UTC (``dt.replace(tzinfo=UTC).timestamp()``); levels are
percentages (0-100).

How it works:

* Readings are kept run-length encoded (one entry per change of the reported level), so a
  two-year discharge costs a few hundred entries, never more than :data:`MAX_RUNS`.
* A replacement or a recharge starts a new discharge: a level above everything seen in this
  discharge, or a rise of :data:`REPLACEMENT_RISE` points above both the last days' lowest
  reading and the weeks before (a cold dip recovering returns to where it was, not above).
* A battery only loses charge, so the level at any moment is at least every later reading: the
  running maximum from the end (the *envelope*) removes voltage dips in the cold once they have
  recovered. A dip still going on reads as a faster discharge until it recovers.
* Reporting steps (1 %, 5 %, 10 %) are inferred from the levels; the moments the envelope steps
  down are when the true level crossed the boundary between two steps, placed in the middle of
  the gap between the last reading at the higher level and the first at the lower one (a
  reading below both may be a dip). The boundary is half a step above the lower level for a
  device rounding to the nearest step, a whole step for one rounding down: with coarse steps a
  device that never showed 100 % on a fresh battery rounds down; otherwise rounding is assumed.
  A step seen across a long gap in reports (a device offline for days) is timed loosely: every
  fit weighs each step by the inverse of its timing variance (its gap against the device's
  typical gap).
* At a replacement the finished discharge's crossings are kept (:attr:`previous`): the next
  battery in the same device follows the same curve (alkaline steepening, the knee of a coin
  cell, a Li-ion gauge's bend), only at its own pace. Smoothed over a few weeks (the old
  battery's pace wandered with its use), it gives each level its *days to low*; the new
  crossings' times are a line in those days, fitted with recent steps weighing most, and the
  line's value at zero days is the date.
* The prediction is the median date of an ensemble (halfway between the two middle dates
  when the members are even): straight lines through the last 3 and 5 crossings, only those
  within the last :data:`LINE_SPAN` points of level (a curve is straight only locally; with
  10 % steps that is the last two), a quadratic through the last 5 (used alone without a
  previous discharge), and the shaped fits (recency-weighted, through the last 3, through the
  last 5). A level held longer than the fit allows slows it down. Backtests on the
  discharge's own past (each recent crossing predicted from the ones a few steps before it)
  give the spread of the 80 % range, widened by the reporting step and by how far apart the
  two middle members are.
* Too little history says ``learning``; a level that has not moved for long says ``flat``
  (no date rather than a guess); a level at or below the low level says ``low``.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BatteryStatus = Literal["learning", "predicted", "flat", "low"]

DAY = 86400.0
MODEL_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1 had no previous discharge

DEFAULT_LOW_LEVEL = 10.0  # % at which a battery is due for replacement
REPLACEMENT_RISE = 15.0  # points a level must rise to count as a replacement or recharge
RISE_RECENT = 3 * DAY  # the rise is measured above the lowest reading of these last days
RISE_BEFORE = 30 * DAY  # and must clear the highest reading of these weeks before them
MAX_RUNS = 400  # run-length entries kept per discharge (older masked ones are dropped)
MAX_SHAPE_CROSSINGS = 120  # level crossings kept of the previous discharge
MIN_CROSSINGS = 2  # level steps seen before a date is predicted
MIN_HISTORY = 3 * DAY  # discharge seen before a date is predicted
FLAT_AFTER = 60 * DAY  # no step down for this long (and none at all): the level is flat
MAX_HORIZON = 3 * 365 * DAY  # a date further than this is no prediction: "flat"
RECENT_DAYS = 10.0  # crossings weigh exp(-age / this many days) in the fit ...
RECENT_STEPS = 4  # ... or over the last few steps, whichever is longer
POLYNOMIALS = ((3, 1), (5, 1), (5, 2))  # (last steps, degree): lines and a quadratic
SHAPE_ONLY = False
LINE_SPAN = 10.0  # lines are fitted over the last this many points of level only
SHAPE_MEMBERS = (None, 3, 5)  # shaped fits: weighted over all steps, through the last 3, 5
MIN_SHAPE_CROSSINGS = 5  # a finished discharge with fewer steps gives no shape
MIN_SHAPE_RANGE = 20.0  # nor one spanning fewer points of level
SHAPE_SMOOTH_DAYS = 30.0  # the shape is smoothed over this many days either side
SHAPE_END_SPAN = 10.0  # the shape is extended beyond its ends with the slope over this span
BACKTESTS = 8  # recent crossings each predicted from the ones before, for the likely range
BACKTEST_STEPS = 3  # predicted from this many steps before
PRIOR_BACKTESTS = 3  # the default spread counts as this many backtests
DEFAULT_LOG_SPREAD = 0.25  # likely range without backtests (log of the time to low)
RANGE_Z = 1.2816  # z of the 10 % and 90 % quantiles: an 80 % range
MIN_LOG_SPREAD = 0.08  # the range is never narrower than this (log of the time to low)
FLOOR_MIN_STEP = 5.0  # rounding down is told from the top level only for steps this coarse


@dataclass(frozen=True, slots=True)
class BatteryForecast:
    """When a battery reaches its low level.

    ``low_at`` is the predicted time (local-wall-clock seconds) and ``low_at_early`` /
    ``low_at_late`` bound the 80 % likely range; all three are None unless ``status`` is
    ``predicted`` or ``low``. ``level`` is the current level read through dips and steps,
    ``discharge_per_day`` the current rate in points per day, ``method`` the fit used.
    """

    status: BatteryStatus
    level: float | None
    low_level: float
    low_at: float | None
    low_at_early: float | None
    low_at_late: float | None
    discharge_per_day: float | None
    discharge_started: float | None
    method: str


class BatteryDischarge:
    """The current discharge of one battery, learned from its level readings."""

    def __init__(self, low_level: float = DEFAULT_LOW_LEVEL) -> None:
        """Start with no readings; ``low_level`` is the % at which the battery is due."""
        if not 0.0 <= low_level < 100.0:
            raise ValueError("low_level must be within 0-100")
        self.low_level = float(low_level)
        # Runs of one reported level: [first seen, last seen, level].
        self.runs: list[list[float]] = []
        self.highest = 0.0  # the highest level of this discharge
        self.replacements = 0
        self.readings_dropped = 0
        # The last finished discharge's level crossings [time, level]: the shape of the next.
        self.previous: list[list[float]] | None = None
        self._shape_cache: tuple[tuple[int, int, float], _Shape | None] | None = None

    @classmethod
    def from_history(
        cls, timestamps: ArrayLike, levels: ArrayLike, low_level: float = DEFAULT_LOW_LEVEL
    ) -> BatteryDischarge:
        """Learn the current discharge from a level history (any order; NaN rows dropped)."""
        times = np.asarray(timestamps, dtype=np.float64)
        values = np.asarray(levels, dtype=np.float64)
        if times.shape != values.shape:
            raise ValueError("timestamps and levels must have the same shape")
        discharge = cls(low_level)
        order = np.argsort(times, kind="stable")
        for index in order:
            discharge.record(float(times[index]), float(values[index]))
        return discharge

    @property
    def discharge_started(self) -> float | None:
        """When the current discharge started (first reading after the last replacement)."""
        return self.runs[0][0] if self.runs else None

    def held(self, timestamp: float) -> None:
        """The last level reported again at ``timestamp``: it held until then."""
        if self.runs and math.isfinite(timestamp) and timestamp > self.runs[-1][1]:
            self.runs[-1][1] = timestamp

    def record(self, timestamp: float, level: float) -> None:
        """Add one reading; a replacement or recharge starts a new discharge."""
        if not (math.isfinite(timestamp) and math.isfinite(level)) or (
            self.runs and timestamp < self.runs[-1][1]
        ):
            self.readings_dropped += 1
            return
        level = min(max(level, 0.0), 100.0)
        if not self.runs:
            self.runs.append([timestamp, timestamp, level])
            self.highest = level
            return
        last = self.runs[-1]
        if level == last[2]:
            last[1] = timestamp
            return
        if level > last[2] and self._is_new_discharge(timestamp, level):
            if level >= self._lowest_since(timestamp - RISE_RECENT) + REPLACEMENT_RISE:
                self.replacements += 1
            self._keep_shape()
            self.runs = []
            self.highest = level
        self.runs.append([timestamp, timestamp, level])
        self.highest = max(self.highest, level)
        if len(self.runs) > MAX_RUNS:
            self._drop_masked_runs()

    def _shape(self, shift: float) -> _Shape | None:
        # Smoothing the previous discharge costs a few ms: done once per previous discharge.
        key = (id(self.previous), len(self.previous or ()), shift)
        if self._shape_cache is None or self._shape_cache[0] != key:
            previous = self.previous
            if previous is not None and shift:
                # Kept as a rounding device's crossings: moved to this device's convention.
                previous = [[moment, level + shift] for moment, level in previous]
            self._shape_cache = (key, _Shape.from_crossings(previous, self.low_level))
        return self._shape_cache[1]

    def _boundary(self, step: float) -> float:
        """Points above a reported level at which the device stepped down to it.

        Most devices round to the nearest step (half a step above); some round down (a whole
        step above). A fresh battery is full: a device with coarse steps that never reported
        100 % after a replacement rounds down. Fine steps say nothing (a fresh battery itself
        sits a step or two below full), nor does a discharge whose start was not seen: there,
        rounding to the nearest step is assumed.
        """
        if self.replacements == 0 or step < FLOOR_MIN_STEP:
            return step / 2
        return step if self.highest <= 100.0 - step else step / 2

    def _keep_shape(self) -> None:
        # The finished discharge's steps are the shape the next battery will follow.
        runs = np.asarray(self.runs, dtype=np.float64)
        envelope = np.maximum.accumulate(runs[::-1, 2])[::-1]
        times, levels, _ = _crossings(runs, envelope, _reporting_step(envelope) / 2)
        crossings = np.column_stack([times, levels])[-MAX_SHAPE_CROSSINGS:].tolist()
        if _Shape.from_crossings(crossings, self.low_level) is not None:
            self.previous = crossings

    def _is_new_discharge(self, timestamp: float, level: float) -> bool:
        if level > self.highest:
            return True  # above everything this discharge: replaced or recharged
        if level < self._lowest_since(timestamp - RISE_RECENT) + REPLACEMENT_RISE:
            return False
        before = [
            run[2]
            for run in self.runs
            if timestamp - RISE_BEFORE <= run[1] < timestamp - RISE_RECENT
        ]
        return not before or level >= max(before) + REPLACEMENT_RISE / 2

    def _lowest_since(self, since: float) -> float:
        lowest = self.runs[-1][2]
        for run in reversed(self.runs):
            if run[1] < since:
                break
            lowest = min(lowest, run[2])
        return lowest

    def _drop_masked_runs(self) -> None:
        # A reading below a later one is hidden by the envelope anyway: it may go, and the
        # runs of one level it separated become one.
        keep: list[list[float]] = []
        later_max = -1.0
        for run in reversed(self.runs):
            if run[2] >= later_max or not keep:
                if keep and keep[-1][2] == run[2]:
                    keep[-1][0] = run[0]
                else:
                    keep.append(run)
            later_max = max(later_max, run[2])
        keep.reverse()
        if len(keep) > MAX_RUNS:
            # Still too many: keep the start of the discharge and the most recent runs.
            keep = [keep[0], *keep[-(MAX_RUNS - 1) :]]
        self.runs = keep

    def forecast(self, now: float | None = None) -> BatteryForecast:
        """Predict when the level reaches ``low_level``, as of ``now`` (default: last reading)."""
        if not self.runs:
            return self._empty("learning", None, "none")
        runs = np.asarray(self.runs, dtype=np.float64)
        last_seen = float(runs[-1, 1])
        current = max(now if now is not None else last_seen, last_seen)
        envelope = np.maximum.accumulate(runs[::-1, 2])[::-1]
        step = _reporting_step(envelope)
        boundary = self._boundary(step)
        crossing_times, crossing_levels, gaps = _crossings(runs, envelope, boundary)
        precision = _precision(gaps)
        level_now = float(envelope[-1])
        if level_now + boundary <= self.low_level:
            # Even the top of the reading's step is below the low level: it surely is low.
            return self._reached(crossing_times, crossing_levels, runs, envelope)
        span = current - float(runs[0, 0])
        since_step = current - (float(crossing_times[-1]) if crossing_times.size else runs[0, 0])
        if crossing_times.size < MIN_CROSSINGS or span < MIN_HISTORY:
            flat = since_step >= FLAT_AFTER
            return self._empty("flat" if flat else "learning", level_now, "none")
        shape = self._shape(boundary - step / 2)
        fit = _fit_discharge(crossing_times, crossing_levels, shape, self.low_level, precision)
        if fit is None:
            return self._empty("flat", level_now, "none")
        # Still reading this level now: the next step down has not happened yet.
        next_boundary = level_now + boundary - step
        if fit.time_at(next_boundary) < last_seen:
            held = _fit_discharge(
                np.append(crossing_times, last_seen),
                np.append(crossing_levels, next_boundary),
                shape,
                self.low_level,
                np.append(precision, 1.0),
            )
            fit = fit if held is None else held
        log_spread = _backtest_spread(
            crossing_times, crossing_levels, shape, self.low_level, precision
        )
        low_at = fit.time_at(self.low_level)
        rate = fit.rate_at(current)
        if rate <= 0 or not math.isfinite(low_at) or low_at - current > MAX_HORIZON:
            return self._empty("flat", level_now, fit.name)
        if low_at <= current:
            return BatteryForecast(
                "low",
                level_now,
                self.low_level,
                low_at,
                low_at,
                low_at,
                rate * DAY,
                self.discharge_started,
                fit.name,
            )
        remaining = low_at - current
        # Quantisation: the level is known to one step only, worth step / rate in time.
        step_time = step / math.sqrt(12.0) / rate
        spread_time = math.hypot(remaining * log_spread, step_time)
        if isinstance(fit, _Pair):
            # The median fell between two members: how far apart they are is uncertain too.
            spread_time = math.hypot(spread_time, fit.half_gap(self.low_level))
        early = current + max(0.0, remaining - RANGE_Z * spread_time)
        late = low_at + RANGE_Z * spread_time * (1.0 + log_spread)
        return BatteryForecast(
            "predicted",
            float(min(max(fit.level_at(current), next_boundary), level_now + boundary)),
            self.low_level,
            low_at,
            early,
            late,
            rate * DAY,
            self.discharge_started,
            fit.name,
        )

    def _reached(
        self,
        crossing_times: FloatArray,
        crossing_levels: FloatArray,
        runs: FloatArray,
        envelope: FloatArray,
    ) -> BatteryForecast:
        # When it passed the low level (between the steps either side), not its latest step.
        below = np.flatnonzero(crossing_levels <= self.low_level)
        if not below.size:  # seen below it from the first reading on
            reached = float(runs[0, 0])
        else:
            reached = float(crossing_times[below[0]])
            if below[0] > 0:
                above = below[0] - 1
                share = (crossing_levels[above] - self.low_level) / (
                    crossing_levels[above] - crossing_levels[below[0]]
                )
                reached += (1.0 - share) * (crossing_times[above] - reached)
            # Never before a reading above the low level, nor after the first below it.
            above_low = runs[runs[:, 2] > self.low_level, 1]
            if above_low.size:
                reached = max(reached, float(above_low.max()))
            reached = min(reached, float(runs[envelope < self.low_level, 0].min()))
        level_now = float(envelope[-1])
        return BatteryForecast(
            "low",
            level_now,
            self.low_level,
            reached,
            reached,
            reached,
            None,
            self.discharge_started,
            "observed",
        )

    def _empty(self, status: BatteryStatus, level: float | None, method: str) -> BatteryForecast:
        return BatteryForecast(
            status, level, self.low_level, None, None, None, None, self.discharge_started, method
        )

    def to_dict(self) -> dict[str, Any]:
        """The discharge as a JSON-serialisable dict."""
        return {
            "version": MODEL_VERSION,
            "low_level": self.low_level,
            "runs": [list(run) for run in self.runs],
            "replacements": self.replacements,
            "readings_dropped": self.readings_dropped,
            "previous": self.previous,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatteryDischarge:
        """Rebuild a discharge saved by :meth:`to_dict`; raises ``ValueError`` on bad data."""
        if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
            raise ValueError("unsupported battery model version")
        try:
            discharge = cls(float(data["low_level"]))
            runs = [[float(value) for value in run] for run in data["runs"]]
            discharge.replacements = int(data["replacements"])
            discharge.readings_dropped = int(data["readings_dropped"])
            previous = data.get("previous")
            if previous is not None:
                previous = [[float(value) for value in pair] for pair in previous]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed battery model: {err}") from err
        for index, run in enumerate(runs):
            if len(run) != 3 or not all(math.isfinite(value) for value in run):
                raise ValueError("malformed battery model: bad run")
            if run[1] < run[0] or (index and run[0] < runs[index - 1][1]):
                raise ValueError("malformed battery model: runs out of order")
        if previous is not None and (
            any(len(pair) != 2 or not all(map(math.isfinite, pair)) for pair in previous)
            or _Shape.from_crossings(previous, discharge.low_level) is None
        ):
            raise ValueError("malformed battery model: bad previous discharge")
        discharge.previous = previous
        discharge.runs = runs
        discharge.highest = max((run[2] for run in runs), default=0.0)
        return discharge


@dataclass(frozen=True, slots=True)
class _Shape:
    """The previous discharge's time to low from each level: the shape the next one follows."""

    levels: FloatArray  # crossing levels, increasing
    days_to_low: FloatArray  # days the previous battery took from each level to the low level

    @classmethod
    def from_crossings(cls, crossings: list[list[float]] | None, low_level: float) -> _Shape | None:
        """The shape of a finished discharge's crossings ([time, level], oldest first)."""
        if not crossings or len(crossings) < MIN_SHAPE_CROSSINGS:
            return None
        pairs = np.asarray(crossings, dtype=np.float64)
        levels, times = pairs[::-1, 1], pairs[::-1, 0] / DAY
        if levels[-1] - levels[0] < MIN_SHAPE_RANGE or np.any(np.diff(levels) <= 0):
            return None
        times = _smoothed(levels, times)
        if np.any(np.diff(times) >= 0):
            return None
        at_low = _extrapolated(low_level, levels, times)
        return cls(levels, at_low - times)

    def remaining(self, levels: FloatArray) -> FloatArray:
        """Days to low from each level, at the previous discharge's pace."""
        return -_extrapolated_many(levels, self.levels, -self.days_to_low)


def hourly_readings(
    starts: ArrayLike, lows: ArrayLike, highs: ArrayLike, hour: float = 3600.0
) -> tuple[FloatArray, FloatArray]:
    """Readings standing in for hourly summaries of a level (each hour's start, low and high).

    A recorder keeps only the lowest and highest level of each hour once it has forgotten the
    reports. Each hour gives two readings, one at its start and one just before its end: a
    discharge steps from high to low, a replacement from low to high, so whichever of the two is
    nearer the level the hour before comes first. An hour missing its low or high gives none.
    """
    start = np.asarray(starts, dtype=np.float64)
    low = np.asarray(lows, dtype=np.float64)
    high = np.asarray(highs, dtype=np.float64)
    keep = np.isfinite(start) & np.isfinite(low) & np.isfinite(high)
    start, low, high = start[keep], low[keep], high[keep]
    order = np.argsort(start, kind="stable")
    start, low, high = start[order], low[order], high[order]
    times = np.empty(2 * start.size)
    levels = np.empty(2 * start.size)
    before = math.inf  # with nothing before, an hour is taken as part of a discharge
    for index in range(start.size):
        first, last = high[index], low[index]
        if abs(low[index] - before) < abs(high[index] - before):
            first, last = last, first
        times[2 * index : 2 * index + 2] = start[index], start[index] + hour - 1.0
        levels[2 * index : 2 * index + 2] = first, last
        before = last
    return times, levels


def _smoothed(levels: FloatArray, days: FloatArray) -> FloatArray:
    """Crossing days smoothed by a local quadratic in level over nearby weeks.

    The previous battery's pace wandered with its use: the shape should keep its curve only.
    """
    if SHAPE_SMOOTH_DAYS <= 0:
        return days
    smooth = days.copy()
    for index in range(levels.size):
        near = np.abs(days - days[index]) <= SHAPE_SMOOTH_DAYS
        if np.count_nonzero(near) < 5:
            continue
        offsets = levels[near] - levels[index]
        weights = 1.0 - np.square((days[near] - days[index]) / SHAPE_SMOOTH_DAYS)
        design = np.column_stack([np.ones(offsets.size), offsets, offsets * offsets])
        root = np.sqrt(weights)
        solution, *_ = np.linalg.lstsq(design * root[:, None], days[near] * root, rcond=None)
        smooth[index] = float(solution[0])
    return smooth


def _extrapolated(level: float, levels: FloatArray, times: FloatArray) -> float:
    return float(_extrapolated_many(np.asarray([level]), levels, times)[0])


def _extrapolated_many(query: FloatArray, levels: FloatArray, times: FloatArray) -> FloatArray:
    """Piecewise-linear time at each level, extended linearly beyond the ends."""
    result = np.interp(query, levels, times)
    for end, towards in ((0, 1), (-1, -2)):
        # Slope over the end span of at least SHAPE_END_SPAN points of level.
        index = towards
        while abs(levels[index] - levels[end]) < SHAPE_END_SPAN and 0 < index < levels.size - 1:
            index += 1 if towards > 0 else -1
        slope = (times[index] - times[end]) / (levels[index] - levels[end])
        beyond = query < levels[0] if end == 0 else query > levels[-1]
        result[beyond] = times[end] + slope * (query[beyond] - levels[end])
    return result


@dataclass(frozen=True, slots=True)
class _Fit:
    """A discharge fitted as t(level) = low_at - seconds_per_unit * x(level).

    ``x`` is the previous discharge's days to low from that level (its shape) or, without one,
    the level above the low level: a straight line.
    """

    name: str
    low_at: float
    seconds_per_unit: float
    shape: _Shape | None
    low_level: float

    def x(self, levels: FloatArray) -> FloatArray:
        if self.shape is None:
            return levels - self.low_level
        return self.shape.remaining(levels)

    def time_at(self, level: float) -> float:
        return self.low_at - self.seconds_per_unit * float(self.x(np.asarray([level]))[0])

    def level_at(self, moment: float) -> float:
        grid = np.linspace(0.0, 100.0, 401)
        units = self.x(grid)
        target = (self.low_at - moment) / self.seconds_per_unit
        return float(np.interp(target, units, grid))

    def rate_at(self, moment: float) -> float:
        """Discharge rate (points per second, positive when discharging)."""
        level = self.level_at(moment)
        delta = 0.5
        units = self.x(np.asarray([level - delta, level + delta]))
        return float(2 * delta / (self.seconds_per_unit * (units[1] - units[0])))


@dataclass(frozen=True, slots=True)
class _Polynomial:
    """level = a + b * (t - origin) + c * (t - origin) ** 2 through the last few crossings."""

    name: str
    origin: float
    coefficients: tuple[float, float, float]

    def level_at(self, moment: float) -> float:
        offset = moment - self.origin
        a, b, c = self.coefficients
        return a + b * offset + c * offset * offset

    def rate_at(self, moment: float) -> float:
        """Discharge rate (points per second, positive when discharging)."""
        _, b, c = self.coefficients
        return -(b + 2 * c * (moment - self.origin))

    def time_at(self, level: float) -> float:
        """The first moment from the last crossing on the curve reaches ``level`` (inf: never)."""
        a, b, c = self.coefficients
        a0 = a - level
        if abs(c) < 1e-30:
            return math.inf if b >= 0 else self.origin - a0 / b
        disc = b * b - 4 * c * a0
        if disc < 0:
            return math.inf
        roots = sorted(((-b - math.sqrt(disc)) / (2 * c), (-b + math.sqrt(disc)) / (2 * c)))
        for root in roots:
            if root >= -DAY:
                return self.origin + root
        return math.inf


_Member = _Fit | _Polynomial


@dataclass(frozen=True, slots=True)
class _Pair:
    """The two middle members of an even ensemble: their mean is the median."""

    early: _Member
    late: _Member

    @property
    def name(self) -> str:
        return f"{self.early.name}+{self.late.name}"

    def time_at(self, level: float) -> float:
        return 0.5 * (self.early.time_at(level) + self.late.time_at(level))

    def level_at(self, moment: float) -> float:
        return 0.5 * (self.early.level_at(moment) + self.late.level_at(moment))

    def rate_at(self, moment: float) -> float:
        return 0.5 * (self.early.rate_at(moment) + self.late.rate_at(moment))

    def half_gap(self, level: float) -> float:
        """Half the time between the two members' moments at ``level``."""
        return 0.5 * abs(self.late.time_at(level) - self.early.time_at(level))


_Curve = _Member | _Pair


def _fit_polynomial(
    times: FloatArray, levels: FloatArray, last: int, degree: int, precision: FloatArray
) -> _Polynomial | None:
    """Least-squares line (or quadratic) through the ``last`` crossings, by their precision.

    A line keeps only those within :data:`LINE_SPAN` points of the last (at least two).
    """
    times, levels, precision = times[-last:], levels[-last:], precision[-last:]
    if degree == 1:
        # A discharge is straight only locally: a few coarse steps span much of its curve.
        near = levels <= levels[-1] + LINE_SPAN
        near[-2:] = True
        times, levels, precision = times[near], levels[near], precision[near]
    if times.size < (2 if degree == 1 else 2 * degree + 1):
        return None
    origin = float(times[-1])
    offsets = (times - origin) / DAY
    if float(offsets[-1] - offsets[0]) <= 0:
        return None
    coefficients = np.polyfit(offsets, levels, degree, w=np.sqrt(precision))
    if degree == 2:
        c, b, a = (float(value) for value in coefficients)
        if c > 0:
            return None  # a discharge that slows down towards empty is no battery we know
    else:
        b, a = (float(value) for value in coefficients)
        c = 0.0
    kind = "quadratic" if degree == 2 else "line"
    return _Polynomial(f"{kind}_last_{last}", origin, (a, b / DAY, c / DAY / DAY))


def _fit_shaped(
    times: FloatArray,
    levels: FloatArray,
    shape: _Shape | None,
    low_level: float,
    last: int | None,
    precision: FloatArray,
) -> _Fit | None:
    """Line t = low_at - s * x(level) through the crossings, by their precision.

    All of them with recent ones weighing most, or only the ``last`` few.
    """
    if last is not None:
        times, levels, precision = times[-last:], levels[-last:], precision[-last:]
    if times.size < 2:
        return None
    name = ("shape" if shape is not None else "warp") + ("" if last is None else f"_last_{last}")
    units = shape.remaining(levels) if shape is not None else levels - low_level
    # A battery's pace wanders with use: recent steps tell it best; at least a few steps count.
    reference = float(times[-1])
    few_back = float(times[max(0, times.size - 1 - RECENT_STEPS)])
    scale = max(RECENT_DAYS * DAY, reference - few_back)
    recency = np.exp(-(reference - times) / scale) if last is None else np.ones(times.size)
    weights = recency * precision
    total = float(weights.sum())
    mean_x = float(weights @ units) / total
    mean_t = float(weights @ times) / total
    spread_x = float(weights @ np.square(units - mean_x))
    if spread_x <= 0:
        return None
    slope = float(weights @ ((units - mean_x) * (times - mean_t))) / spread_x
    if slope >= 0:
        return None  # not discharging
    return _Fit(name, mean_t - slope * mean_x, -slope, shape, low_level)


def _fit_discharge(
    times: FloatArray,
    levels: FloatArray,
    shape: _Shape | None,
    low_level: float,
    precision: FloatArray | None = None,
) -> _Curve | None:
    """The ensemble's median at ``low_level``: its middle member, or its two middle ones.

    ``precision`` weighs each crossing (1: timed exactly; default: all alike).
    """
    weights = np.ones(times.size) if precision is None else precision
    members: list[_Member | None] = []
    if shape is None or not SHAPE_ONLY:
        members += [
            _fit_polynomial(times, levels, last, degree, weights) for last, degree in POLYNOMIALS
        ]
    if shape is not None:
        members += [
            _fit_shaped(times, levels, shape, low_level, count, weights) for count in SHAPE_MEMBERS
        ]
    reaching = sorted(
        (
            (member.time_at(low_level), index, member)
            for index, member in enumerate(members)
            if member is not None
        ),
    )
    if not reaching:
        return None
    middle = len(reaching) // 2
    if len(reaching) % 2:
        return reaching[middle][2]
    # An even ensemble's median is halfway between its two middle dates, not the later one.
    return _Pair(reaching[middle - 1][2], reaching[middle][2])


def _backtest_spread(
    times: FloatArray,
    levels: FloatArray,
    shape: _Shape | None,
    low_level: float,
    precision: FloatArray,
) -> float:
    """Log error of predicting recent crossings from the ones a few steps before them."""
    errors: list[float] = []
    count = times.size
    for target in range(max(3, count - BACKTESTS), count):
        anchor_end = max(2, target - BACKTEST_STEPS)
        fit = _fit_discharge(
            times[:anchor_end], levels[:anchor_end], shape, low_level, precision[:anchor_end]
        )
        anchor = float(times[anchor_end - 1])
        horizon = float(times[target]) - anchor
        if horizon <= 0:
            continue
        ahead = fit.time_at(float(levels[target])) - anchor if fit is not None else -1.0
        error = abs(math.log(ahead / horizon)) if math.isfinite(ahead) and ahead > 0 else 2.0
        errors.append(min(error, 2.0))
    # Few backtests: lean on the default spread.
    squares = float(np.sum(np.square(errors))) + PRIOR_BACKTESTS * DEFAULT_LOG_SPREAD**2
    return max(MIN_LOG_SPREAD, math.sqrt(squares / (len(errors) + PRIOR_BACKTESTS)))


def _reporting_step(envelope: FloatArray) -> float:
    """The device's reporting step (%), the most common drop between distinct levels."""
    distinct = np.unique(envelope)
    if distinct.size < 2:
        return 1.0
    drops = np.round(np.diff(distinct), 1)
    values, counts = np.unique(drops[drops > 0], return_counts=True)
    if values.size == 0:
        return 1.0
    return float(max(0.5, values[np.argmax(counts)]))


def _precision(gaps: FloatArray) -> FloatArray:
    """Each crossing's weight: a step seen across a long gap in reports is timed loosely.

    Inverse variance of a time spread evenly over the gap, plus the device's typical gap.
    """
    if gaps.size == 0:
        return np.ones(0)
    typical = max(float(np.median(gaps)), 1.0)
    return typical * typical / (np.square(gaps) + typical * typical)


def _crossings(
    runs: FloatArray, envelope: FloatArray, boundary: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each step down of the envelope: when, the level crossed, the gap it happened in.

    The level crossed is ``boundary`` above the lower one; the gap (seconds) is between the
    last reading at the higher level and the first at the lower one.
    """
    times: list[float] = []
    levels: list[float] = []
    gaps: list[float] = []
    for index in range(1, len(runs)):
        if envelope[index] < envelope[index - 1]:
            # The step happened between the last reading at the higher level and ...
            previous_seen = _last_seen_at_level(runs, envelope, index)
            # ... the first reading *at* the new level: one below it may be a dip in the cold.
            first_at = index
            while runs[first_at, 2] < envelope[index]:
                first_at += 1
            times.append(0.5 * (previous_seen + float(runs[first_at, 0])))
            levels.append(float(envelope[index]) + boundary)
            gaps.append(float(runs[first_at, 0]) - previous_seen)
    return (
        np.asarray(times, dtype=np.float64),
        np.asarray(levels, dtype=np.float64),
        np.asarray(gaps, dtype=np.float64),
    )


def _last_seen_at_level(runs: FloatArray, envelope: FloatArray, index: int) -> float:
    # The last reading before ``index`` whose envelope was the higher level.
    return (
        float(runs[index - 1, 1])
        if envelope[index - 1] > envelope[index]
        else float(runs[index, 0])
    )
