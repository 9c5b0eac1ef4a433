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
  down are when the true level crossed the middle between two steps (devices round to the
  nearest step), placed in the middle of the reporting gap in which they happened.
* Those crossings are fitted with straight lines through the last few steps (a battery never
  slows down, so the recent steps tell the rate) and a quadratic through them (the knee of a
  coin cell); the median of their dates is the prediction. Backtests on the discharge's own
  past (each recent crossing predicted from the ones a few steps before it) give the spread of
  the 80 % range, widened by the reporting step.
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
MODEL_VERSION = 1

DEFAULT_LOW_LEVEL = 10.0  # % at which a battery is due for replacement
REPLACEMENT_RISE = 15.0  # points a level must rise to count as a replacement or recharge
RISE_RECENT = 3 * DAY  # the rise is measured above the lowest reading of these last days
RISE_BEFORE = 30 * DAY  # and must clear the highest reading of these weeks before them
MAX_RUNS = 400  # run-length entries kept per discharge (older masked ones are dropped)
MIN_CROSSINGS = 2  # level steps seen before a date is predicted
MIN_HISTORY = 3 * DAY  # discharge seen before a date is predicted
FLAT_AFTER = 60 * DAY  # no step down for this long (and none at all): the level is flat
MAX_HORIZON = 3 * 365 * DAY  # a date further than this is no prediction: "flat"
# Fits through the last N level steps only: a battery never slows down, so the recent steps
# tell the rate; the quadratic follows the knee of a coin cell. The median date of them is used.
ENSEMBLE = (("line", 3), ("line", 5), ("quadratic", 5))
BACKTESTS = 8  # recent crossings each predicted from the ones before, for the likely range
BACKTEST_STEPS = 3  # predicted from this many steps before
MIN_BACKTESTS = 3  # fewer backtests than this: the default spread
DEFAULT_LOG_SPREAD = 0.35  # likely range without backtests (log of the time to low)
HELD_AFTER = 7 * DAY  # a pause in the steps this long (and 3 usual steps) slows a fit down
RANGE_Z = 1.2816  # z of the 10 % and 90 % quantiles: an 80 % range
MIN_LOG_SPREAD = 0.08  # the range is never narrower than this (log of the time to low)


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
            self.runs = []
            self.highest = level
        self.runs.append([timestamp, timestamp, level])
        self.highest = max(self.highest, level)
        if len(self.runs) > MAX_RUNS:
            self._drop_masked_runs()

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
        current = now if now is not None else float(runs[-1, 1])
        current = max(current, float(runs[-1, 1]))
        envelope = np.maximum.accumulate(runs[::-1, 2])[::-1]
        step = _reporting_step(envelope)
        crossing_times, crossing_levels = _crossings(runs, envelope, step)
        level_now = float(envelope[-1])
        if level_now + step / 2 <= self.low_level:
            # The reading is a whole half step below the low level: it surely is low.
            return self._reached(crossing_times, runs, level_now)
        span = current - float(runs[0, 0])
        since_step = current - (float(crossing_times[-1]) if crossing_times.size else runs[0, 0])
        if crossing_times.size < MIN_CROSSINGS or span < MIN_HISTORY:
            flat = since_step >= FLAT_AFTER
            return self._empty("flat" if flat else "learning", level_now, "none")
        fit = _choose_fit(crossing_times, crossing_levels, self.low_level)
        if fit is None:
            return self._empty("flat", level_now, "none")
        model, log_spread = (
            _held(
                fit[0], crossing_times, crossing_levels, float(runs[-1, 1]), level_now - step, step
            ),
            fit[1],
        )
        rate = model.rate_at(current)
        low_at = model.time_at(self.low_level, current)
        if rate <= 0 or low_at is None or low_at - current > MAX_HORIZON:
            return self._empty("flat", level_now, model.name)
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
                model.name,
            )
        remaining = low_at - current
        # Quantisation: the level is known to one step only, worth step / rate in time.
        step_time = step / math.sqrt(12.0) / rate
        early = current + max(
            0.0,
            remaining * math.exp(-RANGE_Z * log_spread) - RANGE_Z * step_time,
        )
        late = current + remaining * math.exp(RANGE_Z * log_spread) + RANGE_Z * step_time
        return BatteryForecast(
            "predicted",
            _estimated_level(model, current, level_now, step),
            self.low_level,
            low_at,
            early,
            late,
            rate * DAY,
            self.discharge_started,
            model.name,
        )

    def _reached(
        self, crossing_times: FloatArray, runs: FloatArray, level_now: float
    ) -> BatteryForecast:
        reached = float(crossing_times[-1]) if crossing_times.size else float(runs[-1, 0])
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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatteryDischarge:
        """Rebuild a discharge saved by :meth:`to_dict`; raises ``ValueError`` on bad data."""
        if not isinstance(data, dict) or data.get("version") != MODEL_VERSION:
            raise ValueError("unsupported battery model version")
        try:
            discharge = cls(float(data["low_level"]))
            runs = [[float(value) for value in run] for run in data["runs"]]
            discharge.replacements = int(data["replacements"])
            discharge.readings_dropped = int(data["readings_dropped"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed battery model: {err}") from err
        for index, run in enumerate(runs):
            if len(run) != 3 or not all(math.isfinite(value) for value in run):
                raise ValueError("malformed battery model: bad run")
            if run[1] < run[0] or (index and run[0] < runs[index - 1][1]):
                raise ValueError("malformed battery model: runs out of order")
        discharge.runs = runs
        discharge.highest = max((run[2] for run in runs), default=0.0)
        return discharge


@dataclass(frozen=True, slots=True)
class _Fit:
    """A fitted level curve: level = a + b * (t - origin) + c * (t - origin) ** 2."""

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

    def time_at(self, level: float, after: float) -> float | None:
        """The first moment after ``after`` the curve reaches ``level`` (None if never)."""
        a, b, c = self.coefficients
        a0 = a - level
        if abs(c) < 1e-30:
            if b >= 0:
                return None
            return self.origin - a0 / b
        disc = b * b - 4 * c * a0
        if disc < 0:
            return None
        roots = sorted(((-b - math.sqrt(disc)) / (2 * c), (-b + math.sqrt(disc)) / (2 * c)))
        for root in roots:
            if self.origin + root >= after - DAY:
                return self.origin + root
        return None


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


def _crossings(
    runs: FloatArray, envelope: FloatArray, step: float
) -> tuple[FloatArray, FloatArray]:
    """When the envelope stepped down, and the level it crossed then (middle of two steps)."""
    times: list[float] = []
    levels: list[float] = []
    for index in range(1, len(runs)):
        if envelope[index] < envelope[index - 1]:
            # The step happened between the last reading above and the first reading below.
            previous_seen = _last_seen_at_level(runs, envelope, index)
            times.append(0.5 * (previous_seen + float(runs[index, 0])))
            levels.append(float(envelope[index]) + step / 2)
    return np.asarray(times, dtype=np.float64), np.asarray(levels, dtype=np.float64)


def _last_seen_at_level(runs: FloatArray, envelope: FloatArray, index: int) -> float:
    # The last reading before ``index`` whose envelope was the higher level.
    return (
        float(runs[index - 1, 1])
        if envelope[index - 1] > envelope[index]
        else float(runs[index, 0])
    )


def _fit_curve(
    name: str, times: FloatArray, levels: FloatArray, last: int | None, quadratic: bool
) -> _Fit | None:
    """Least-squares line (or quadratic) through the crossings, or only the ``last`` ones."""
    if last is not None:
        times, levels = times[-last:], levels[-last:]
    if times.size < (5 if quadratic else 2):
        return None
    origin = float(times[-1])
    offsets = (times - origin) / DAY
    if float(offsets[-1] - offsets[0]) <= 0:
        return None
    degree = 2 if quadratic else 1
    try:
        coefficients = np.polyfit(offsets, levels, degree)
    except np.linalg.LinAlgError, ValueError:
        return None
    if quadratic:
        c, b, a = (float(value) for value in coefficients)
        if c > 0:
            return None  # a discharge that slows down towards empty is no battery we know
    else:
        b, a = (float(value) for value in coefficients)
        c = 0.0
    return _Fit(name, origin, (a, b / DAY, c / DAY / DAY))


def _members(times: FloatArray, levels: FloatArray) -> list[_Fit]:
    fits = [
        _fit_curve(f"{kind}_last_{count}", times, levels, count, quadratic=kind == "quadratic")
        for kind, count in ENSEMBLE
    ]
    return [fit for fit in fits if fit is not None]


def _ensemble(
    times: FloatArray, levels: FloatArray, level: float, after: float
) -> tuple[_Fit, float] | None:
    """The member fit whose time to ``level`` is the median of the ensemble's, and that time."""
    reaching: list[tuple[float, _Fit]] = []
    for fit in _members(times, levels):
        moment = fit.time_at(level, after)
        reaching.append((math.inf if moment is None else moment, fit))
    if not reaching:
        return None
    reaching.sort(key=lambda pair: pair[0])
    moment, fit = reaching[len(reaching) // 2]
    return fit, moment


def _choose_fit(
    times: FloatArray, levels: FloatArray, low_level: float
) -> tuple[_Fit, float] | None:
    """The ensemble's fit for reaching ``low_level``, and its log spread from backtests."""
    chosen = _ensemble(times, levels, low_level, float(times[-1]))
    if chosen is None or not math.isfinite(chosen[1]):
        return None
    fit = chosen[0]
    # Backtest: predict each recent crossing from the crossings a few steps before it.
    errors: list[float] = []
    count = times.size
    for target in range(max(3, count - BACKTESTS), count):
        anchor_end = max(2, target - BACKTEST_STEPS)
        past_times, past_levels = times[:anchor_end], levels[:anchor_end]
        horizon = float(times[target] - past_times[-1])
        predicted = _ensemble(past_times, past_levels, float(levels[target]), past_times[-1])
        if horizon <= 0 or predicted is None:
            continue
        ahead = predicted[1] - float(past_times[-1])
        error = abs(math.log(ahead / horizon)) if math.isfinite(ahead) and ahead > 0 else 2.0
        errors.append(min(error, 2.0))
    if len(errors) < MIN_BACKTESTS:
        return fit, DEFAULT_LOG_SPREAD
    return fit, max(MIN_LOG_SPREAD, math.sqrt(float(np.mean(np.square(errors)))))


def _held(
    fit: _Fit,
    times: FloatArray,
    levels: FloatArray,
    last_seen: float,
    two_below: float,
    step: float,
) -> _Fit:
    """A fit the readings contradict (the level should be two steps lower by now) is slowed.

    Only after a long pause in the steps (a battery gone flat), not a dip's recovery.
    """
    pause = last_seen - float(times[-1])
    usual = float(np.median(np.diff(times[-4:]))) if times.size >= 2 else 0.0
    if pause < max(HELD_AFTER, 3 * usual) or fit.level_at(last_seen) >= two_below:
        return fit
    # Still reading this step: at most at its bottom now, so no faster than that.
    bottom = two_below + step / 2
    rate = (bottom - float(levels[-1])) / (last_seen - float(times[-1]))
    return _Fit(fit.name + "+held", float(times[-1]), (float(levels[-1]), rate, 0.0))


def _estimated_level(model: _Fit, moment: float, level_now: float, step: float) -> float:
    """The current level from the fit, kept within the step the device reports."""
    estimate = model.level_at(moment)
    return float(min(max(estimate, level_now - step / 2), level_now + step / 2))
