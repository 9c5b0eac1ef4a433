"""Appliance health: learn an always-on appliance's cycles and notice when they drift.

Pure numpy, no Home Assistant imports; an :class:`ApplianceModel` persists as a JSON dict.

Time convention: every timestamp is float seconds on the home's *local wall clock*, i.e. a naive
local datetime converted as if it were UTC (``dt.replace(tzinfo=UTC).timestamp()``). Power is in
W, a sample-and-hold series (each reading holds until the next, as Home Assistant records it);
the outdoor temperature (°C), where known, is a series of its own.

What is learned (fridge, freezer, heat pump, dehumidifier):

* the power that separates *on* from *off* (Otsu's split of the log power, time-weighted);
* over every 24-hour window of the training days (one per hour): the share of time on, the
  cycles per day, the typical length of one run and the power drawn while on; each is fitted
  against the window's mean outdoor temperature where it is known (a heat pump runs more in the
  cold), with a robust spread of what is normal around that;
* the share of time on by hour of the day (shown, not judged).

A window is *drifted* when one of those measures is far outside its normal band
(:data:`DRIFT_Z` spreads, wider in weather never trained on, and :data:`MIN_CHANGE`), and the appliance is flagged only
when that *stays* so for :data:`PERSIST_HOURS` (each check's window is the last 24 hours).
A compressor that stopped cycling shows as no cycles and no time on, one stuck on as no cycles
and all the time on; longer cycles for the same work as a longer run and more time on; more
power for the same work as a higher on-power.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .series import nan_statistic

FloatArray = NDArray[np.float64]
ApplianceStatus = Literal["learning", "ok", "drifted"]

HOUR = 3600.0
DAY = 86400.0
MODEL_VERSION = 1

WINDOW = DAY  # each measure is taken over the last 24 hours
TRAIN_DAYS = 28  # training reads at most the last four weeks
MIN_TRAIN_DAYS = 3.0  # fewer days of power than this: "learning"
MIN_CYCLES = 20  # cycles seen before the appliance's cycling is judged
MIN_ON_POWER = 5.0  # W: an appliance whose on and off powers are closer than this never cycles
DRIFT_Z = 5.0  # a measure this many normal spreads away is drifted...
# ...and this far from normal (relative), so small shifts pass; power for the same work is
# steady, so a smaller change of it already matters.
MIN_CHANGE = {"duty": 0.3, "cycles_per_day": 0.3, "run_minutes": 0.3, "on_power": 0.15}
# Counts and lengths vary by a factor, not by an amount: judged on a log scale (+1 keeps 0).
LOG_MEASURES = frozenset({"cycles_per_day", "run_minutes"})
EXTRAPOLATION_SCALE = 5.0  # °C beyond the training weather that doubles the normal spread
PERSIST_HOURS = 6  # and it stays drifted for this long before the appliance is flagged
MAX_GAP = 6 * HOUR  # a reading held longer than this is unknown time, not on or off
MEASURES = ("duty", "cycles_per_day", "run_minutes", "on_power")
# Least spread accepted for each measure, so a perfectly regular appliance is not a hair trigger.
MIN_SPREAD = {"duty": 0.02, "cycles_per_day": 0.05, "run_minutes": 0.05, "on_power": 3.0}
MAX_FLAGGED = 64  # flagged periods kept per appliance; beyond that the closest ones merge


@dataclass(frozen=True, slots=True)
class MeasureCheck:
    """One measure of an appliance's cycling: what is normal here and now, and what is seen."""

    name: str
    normal: float
    low: float
    high: float
    seen: float | None
    drifted: bool


@dataclass(frozen=True, slots=True)
class ApplianceCheck:
    """The verdict on an appliance at one moment, with every measure behind it."""

    status: ApplianceStatus
    drifted_measures: tuple[str, ...]
    drifted_hours: float
    measures: tuple[MeasureCheck, ...]


@dataclass(frozen=True, slots=True)
class _Runs:
    """Consecutive on / off periods of the power series."""

    starts: FloatArray
    ends: FloatArray
    is_on: NDArray[np.bool_]
    energy: FloatArray  # J during the run


class ApplianceModel:
    """The learned cycling of one appliance; train with :meth:`fit`, judge with :meth:`check`."""

    def __init__(self) -> None:
        """An untrained model (status ``learning``)."""
        self.on_threshold: float | None = None
        self.cycles_seen = 0
        self.days_seen = 0.0
        self.uses_temperature = False
        self.mean_temperature = 0.0  # °C over the training windows (when it is used)
        self.temperature_range = (0.0, 0.0)  # °C, the training windows' 5th-95th percentile
        # Per measure: intercept, slope per °C, spread.
        self.normal: dict[str, tuple[float, float, float]] = {}
        self.duty_by_hour: list[float] = [0.0] * 24

    @property
    def ready(self) -> bool:
        """True once the appliance's cycling has been learned well enough to judge."""
        return (
            self.on_threshold is not None
            and self.cycles_seen >= MIN_CYCLES
            and self.days_seen >= MIN_TRAIN_DAYS
            and bool(self.normal)
        )

    @classmethod
    def fit(
        cls,
        timestamps: ArrayLike,
        power: ArrayLike,
        temperature_times: ArrayLike | None = None,
        temperatures: ArrayLike | None = None,
        exclude: list[tuple[float, float]] | None = None,
    ) -> ApplianceModel:
        """Learn from a power history (W) and, if known, the outdoor temperature (°C).

        ``exclude`` lists periods not to learn from (for example those already flagged).
        Only the last :data:`TRAIN_DAYS` days are read.
        """
        model = cls()
        times, values = _clean(timestamps, power)
        if times.size < 2:
            return model
        keep = times >= times[-1] - TRAIN_DAYS * DAY
        times, values = times[keep], values[keep]
        threshold = _on_threshold(times, values)
        if threshold is None:
            model.days_seen = float(times[-1] - times[0]) / DAY
            return model
        model.on_threshold = threshold
        runs = _runs(times, values, threshold)
        ends = np.arange(math.floor(times[0] / HOUR) * HOUR + WINDOW, times[-1] + 1.0, HOUR)
        if exclude:
            blocked = np.zeros(ends.size, dtype=bool)
            for start, stop in exclude:
                blocked |= (ends > start) & (ends - WINDOW < stop)
            ends = ends[~blocked]
        model.cycles_seen = int(np.count_nonzero(runs.is_on))
        model.days_seen = float(np.sum(runs.ends - runs.starts)) / DAY
        if ends.size < 24:
            return model
        measures = _window_measures(runs, ends)
        outdoor = _window_temperature(temperature_times, temperatures, ends)
        usable_temperature = np.isfinite(outdoor)
        model.uses_temperature = bool(
            np.count_nonzero(usable_temperature) >= 0.8 * ends.size
            and float(np.nanstd(outdoor)) >= 1.0
        )
        if model.uses_temperature:
            model.mean_temperature = float(np.nanmean(outdoor))
            low, high = np.nanpercentile(outdoor, [5.0, 95.0])
            model.temperature_range = (float(low), float(high))
        for name in MEASURES:
            seen = np.log1p(measures[name]) if name in LOG_MEASURES else measures[name]
            model.normal[name] = _fit_normal(
                seen, outdoor if model.uses_temperature else None, MIN_SPREAD[name]
            )
        model.duty_by_hour = _duty_by_hour(runs)
        return model

    def band(self, name: str, outdoor: float | None) -> tuple[float, float, float]:
        """A measure's normal value at this outdoor temperature, and its normal low and high."""
        intercept, slope, spread = self.normal[name]
        if outdoor is None or not math.isfinite(outdoor) or not self.uses_temperature:
            outdoor = self.mean_temperature  # unknown now: the training days' typical weather
        # Weather colder or warmer than any trained on: less is known, the band widens.
        beyond = max(0.0, self.temperature_range[0] - outdoor, outdoor - self.temperature_range[1])
        spread *= 1.0 + beyond / EXTRAPOLATION_SCALE
        centre = intercept + slope * outdoor
        low, high = centre - DRIFT_Z * spread, centre + DRIFT_Z * spread
        if name in LOG_MEASURES:
            return float(np.expm1(centre)), float(np.expm1(low)), float(np.expm1(high))
        return centre, low, high

    def check(
        self,
        timestamps: ArrayLike,
        power: ArrayLike,
        now: float,
        temperature_times: ArrayLike | None = None,
        temperatures: ArrayLike | None = None,
    ) -> ApplianceCheck:
        """Judge the appliance at ``now`` from its recent power (at least the last 30 hours)."""
        if not self.ready or self.on_threshold is None:
            return ApplianceCheck("learning", (), 0.0, ())
        times, values = _clean(timestamps, power)
        keep = (times >= now - WINDOW - (PERSIST_HOURS + 1) * HOUR) & (times <= now)
        times, values = times[keep], values[keep]
        if times.size == 0:
            return ApplianceCheck("learning", (), 0.0, ())
        runs = _runs(np.append(times, now), np.append(values, values[-1]), self.on_threshold)
        ends = now - HOUR * np.arange(PERSIST_HOURS, -1, -1, dtype=np.float64)
        measures = _window_measures(runs, ends)
        outdoor = _window_temperature(temperature_times, temperatures, ends)
        drifted = np.zeros((len(MEASURES), ends.size), dtype=bool)
        checks: list[MeasureCheck] = []
        for row, name in enumerate(MEASURES):
            for column in range(ends.size):
                band = self.band(name, float(outdoor[column]))
                drifted[row, column] = _is_drifted(float(measures[name][column]), band, name)
            normal, low, high = self.band(name, float(outdoor[-1]))
            seen_now = float(measures[name][-1])
            checks.append(
                MeasureCheck(
                    name,
                    round(normal, 3),
                    round(low, 3),
                    round(high, 3),
                    round(seen_now, 3) if math.isfinite(seen_now) else None,
                    bool(drifted[row, -1]),
                )
            )
        any_drift: NDArray[np.bool_] = np.any(drifted, axis=0)
        # How long the drift has lasted, in whole hours up to the present.
        hours = 0
        for flag in any_drift[::-1]:
            if not flag:
                break
            hours += 1
        names = tuple(name for row, name in enumerate(MEASURES) if drifted[row].all())
        if hours > PERSIST_HOURS and names:
            return ApplianceCheck("drifted", names, float(hours - 1), tuple(checks))
        return ApplianceCheck("ok", (), float(max(0, hours - 1)), tuple(checks))

    def to_dict(self) -> dict[str, Any]:
        """The model as a JSON-serialisable dict."""
        return {
            "version": MODEL_VERSION,
            "on_threshold": self.on_threshold,
            "cycles_seen": self.cycles_seen,
            "days_seen": self.days_seen,
            "uses_temperature": self.uses_temperature,
            "mean_temperature": self.mean_temperature,
            "temperature_range": list(self.temperature_range),
            "normal": {name: list(values) for name, values in self.normal.items()},
            "duty_by_hour": list(self.duty_by_hour),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApplianceModel:
        """Rebuild a model saved by :meth:`to_dict`; raises ``ValueError`` on bad data."""
        if not isinstance(data, dict) or data.get("version") != MODEL_VERSION:
            raise ValueError("unsupported appliance model version")
        model = cls()
        try:
            threshold = data["on_threshold"]
            model.on_threshold = None if threshold is None else float(threshold)
            model.cycles_seen = int(data["cycles_seen"])
            model.days_seen = float(data["days_seen"])
            model.uses_temperature = bool(data["uses_temperature"])
            model.mean_temperature = float(data["mean_temperature"])
            low, high = (float(value) for value in data["temperature_range"])
            model.temperature_range = (low, high)
            normal = {
                str(name): (float(values[0]), float(values[1]), float(values[2]))
                for name, values in data["normal"].items()
            }
            duty = [float(value) for value in data["duty_by_hour"]]
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            raise ValueError(f"malformed appliance model: {err}") from err
        numbers = [value for values in normal.values() for value in values]
        numbers += [model.mean_temperature, *model.temperature_range]
        if len(duty) != 24 or not all(math.isfinite(value) for value in [*numbers, *duty]):
            raise ValueError("malformed appliance model: bad numbers")
        if normal and set(normal) != set(MEASURES):
            raise ValueError("malformed appliance model: unknown measures")
        model.normal = normal
        model.duty_by_hour = duty
        return model


def add_flagged(
    periods: list[tuple[float, float]], start: float, end: float
) -> list[tuple[float, float]]:
    """The flagged periods with ``start``-``end`` added: merged, bounded, oldest forgotten.

    Only periods a training from ``end`` could still read are kept; past :data:`MAX_FLAGGED`
    the two closest merge, so the gap between them is left out of training too.
    """
    forget_before = end - (TRAIN_DAYS + 1) * DAY
    merged: list[tuple[float, float]] = []
    for first, last in sorted([*periods, (start, end)]):
        if last < forget_before:
            continue
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    while len(merged) > MAX_FLAGGED:
        gaps = [merged[i + 1][0] - merged[i][1] for i in range(len(merged) - 1)]
        closest = gaps.index(min(gaps))
        merged[closest : closest + 2] = [(merged[closest][0], merged[closest + 1][1])]
    return merged


def _clean(timestamps: ArrayLike, power: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Finite readings in time order; a negative power (a meter's sign) counts as its size."""
    times = np.asarray(timestamps, dtype=np.float64)
    values = np.asarray(power, dtype=np.float64)
    if times.shape != values.shape:
        raise ValueError("timestamps and power must have the same shape")
    good = np.isfinite(times) & np.isfinite(values)
    times, values = times[good], np.abs(values[good])
    order = np.argsort(times, kind="stable")
    return times[order], values[order]


def _on_threshold(times: FloatArray, values: FloatArray) -> float | None:
    """The power between off and on: Otsu's split of the time-weighted log power."""
    held = np.minimum(np.diff(times), MAX_GAP)
    if held.size == 0 or float(held.sum()) <= 0:
        return None
    logs = np.log1p(values[:-1])
    histogram, edges = np.histogram(logs, bins=128, weights=held)
    weights = histogram / histogram.sum()
    centres = 0.5 * (edges[:-1] + edges[1:])
    below = np.cumsum(weights)
    mean_below = np.cumsum(weights * centres)
    total_mean = mean_below[-1]
    above = 1.0 - below
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * below - mean_below) ** 2 / (below * above)
    between[~np.isfinite(between)] = -1.0
    split = int(np.argmax(between))
    off_log = float(np.average(centres[: split + 1], weights=weights[: split + 1] + 1e-12))
    on_log = float(np.average(centres[split + 1 :], weights=weights[split + 1 :] + 1e-12))
    if float(np.expm1(on_log) - np.expm1(off_log)) < MIN_ON_POWER:
        return None
    # Midway between the two groups (in log power), well clear of either's noise.
    return float(np.expm1(0.5 * (off_log + on_log)))


def _runs(times: FloatArray, values: FloatArray, threshold: float) -> _Runs:
    """Merge held readings into on / off runs; a gap longer than MAX_GAP breaks a run."""
    durations = np.minimum(np.diff(times), MAX_GAP)
    starts = times[:-1]
    on = values[:-1] >= threshold
    ends = starts + durations
    # A new run where the state changes or the readings had a gap.
    breaks = np.ones(starts.size, dtype=bool)
    if starts.size > 1:
        breaks[1:] = (on[1:] != on[:-1]) | (starts[1:] > ends[:-1] + 1.0)
    index = np.cumsum(breaks) - 1
    count = int(index[-1]) + 1 if index.size else 0
    run_starts = starts[breaks]
    run_ends = np.zeros(count)
    np.maximum.at(run_ends, index, ends)
    energy = np.zeros(count)
    np.add.at(energy, index, values[:-1] * durations)
    return _Runs(run_starts, run_ends, on[breaks], energy)


def _window_measures(runs: _Runs, ends: FloatArray) -> dict[str, FloatArray]:
    """Each measure over the 24-hour windows ending at ``ends``."""
    starts = ends - WINDOW
    overlap = np.clip(
        np.minimum(runs.ends[None, :], ends[:, None])
        - np.maximum(runs.starts[None, :], starts[:, None]),
        0.0,
        None,
    )
    lengths = runs.ends - runs.starts
    known = overlap.sum(axis=1)
    on_overlap = overlap[:, runs.is_on]
    on_time = on_overlap.sum(axis=1)
    on_lengths = lengths[runs.is_on]
    on_energy = runs.energy[runs.is_on]
    share = np.divide(
        on_overlap,
        on_lengths[None, :],
        out=np.zeros_like(on_overlap),
        where=on_lengths[None, :] > 0,
    )
    energy_on = (share * on_energy[None, :]).sum(axis=1)
    # A cycle counts in the window where it started.
    on_starts = runs.starts[runs.is_on]
    started = (on_starts[None, :] >= starts[:, None]) & (on_starts[None, :] < ends[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        duty = np.where(known > 0.5 * WINDOW, on_time / known, np.nan)
        cycles = np.where(known > 0.5 * WINDOW, started.sum(axis=1) * DAY / known, np.nan)
        on_power = np.where(on_time > 60.0, energy_on / on_time, np.nan)
    # A typical run: the median length of the runs ending in the window, or the run still going.
    run_minutes = np.full(ends.size, np.nan)
    for column in range(ends.size):
        inside = (runs.ends[runs.is_on] > starts[column]) & (runs.ends[runs.is_on] <= ends[column])
        lengths_here = np.minimum(
            on_lengths[inside], runs.ends[runs.is_on][inside] - starts[column]
        )
        if lengths_here.size:
            run_minutes[column] = float(np.median(lengths_here)) / 60.0
    return {
        "duty": duty,
        "cycles_per_day": cycles,
        "run_minutes": run_minutes,
        "on_power": on_power,
    }


def _window_temperature(
    temperature_times: ArrayLike | None, temperatures: ArrayLike | None, ends: FloatArray
) -> FloatArray:
    """The mean outdoor temperature over each window (NaN where unknown)."""
    if temperature_times is None or temperatures is None:
        return np.full(ends.size, np.nan)
    times, values = _clean_temperature(temperature_times, temperatures)
    if times.size == 0:
        return np.full(ends.size, np.nan)
    offsets = np.linspace(-WINDOW, 0.0, 25)
    grid = ends[:, None] + offsets[None, :]
    sampled = np.interp(grid, times, values)
    # Outside the known temperatures: unknown, not the nearest value held for ever.
    sampled[(grid < times[0] - 3 * HOUR) | (grid > times[-1] + 3 * HOUR)] = np.nan
    return nan_statistic(np.nanmean, sampled, axis=1)


def _clean_temperature(times: ArrayLike, values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    moments = np.asarray(times, dtype=np.float64)
    readings = np.asarray(values, dtype=np.float64)
    if moments.shape != readings.shape:
        raise ValueError("temperature times and values must have the same shape")
    good = np.isfinite(moments) & np.isfinite(readings) & (np.abs(readings) < 80.0)
    order = np.argsort(moments[good], kind="stable")
    return moments[good][order], readings[good][order]


def _fit_normal(
    seen: FloatArray, outdoor: FloatArray | None, min_spread: float
) -> tuple[float, float, float]:
    """Intercept, slope per °C and robust spread of one measure over the training windows."""
    good = np.isfinite(seen)
    if outdoor is not None:
        good &= np.isfinite(outdoor)
    values = seen[good]
    if values.size == 0:
        return 0.0, 0.0, min_spread
    slope = 0.0
    intercept = float(np.median(values))
    if outdoor is not None and values.size >= 48:
        temperature = outdoor[good]
        slope, intercept = (float(value) for value in np.polyfit(temperature, values, 1))
        residual = values - (intercept + slope * temperature)
    else:
        residual = values - intercept
    spread = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    return intercept, slope, max(spread, min_spread)


def _is_drifted(seen: float, band: tuple[float, float, float], name: str) -> bool:
    if not math.isfinite(seen):
        return False
    normal, low, high = band
    change = abs(seen - normal) / max(abs(normal), 1e-9)
    return (seen < low or seen > high) and change > MIN_CHANGE[name]


def _duty_by_hour(runs: _Runs) -> list[float]:
    """The share of time on in each hour of the day, over the training days."""
    on_seconds = np.zeros(24)
    known_seconds = np.zeros(24)
    for start, end, is_on in zip(runs.starts, runs.ends, runs.is_on, strict=True):
        moment = float(start)
        while moment < end:
            slot_end = min(float(end), (math.floor(moment / HOUR) + 1) * HOUR)
            hour = int((moment % DAY) // HOUR)
            known_seconds[hour] += slot_end - moment
            if is_on:
                on_seconds[hour] += slot_end - moment
            moment = slot_end
    with np.errstate(divide="ignore", invalid="ignore"):
        duty = np.where(known_seconds > 0, on_seconds / known_seconds, 0.0)
    return [round(float(value), 4) for value in duty]
