"""Household energy learning: day-ahead forecast, base load and unusual use.

Pure numpy, no Home Assistant imports; every model persists as a JSON-serialisable dict.

Time convention: every timestamp is float seconds on the home's *local wall clock*, i.e. a naive
local datetime converted as if it were UTC (``dt.replace(tzinfo=UTC).timestamp()``). Hour of day
and day of week therefore come straight from the number (``ts % 86400``), and daylight saving
time needs no care here: a 23-hour day simply has one missing hour, a 25-hour day one hour
counted twice (the caller sums it).

Energy is hourly kWh: ``hour_starts`` (float64, multiples of 3600, ascending) with ``kwh`` (float64,
the energy used during that hour, NaN where unknown). :func:`hourly_from_power` turns a power
sensor (W) into that form; a meter's hourly use comes from Foresight's history, where
``aggregate.py`` applies Home Assistant's rule for resets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .one_thread import on_one_thread
from .series import known_in_time_order, nan_statistic

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Status = Literal["learning", "ready", "degraded"]

HOUR = 3600.0
DAY = 86400.0
MODEL_VERSION = 7  # 7: the temperature inputs read the temperatures measured before the day
DETECTOR_VERSION = 5  # 5: the night and daytime floors rising together; a shortfall margin

MIN_DAYS = 3  # fewer days of data than this: status "learning", no forecast
PROFILE_WINDOW_DAYS = 56  # the weighted profiles and the similar-day search look this far back
LOOKBACK_DAYS = PROFILE_WINDOW_DAYS + 1  # a forecast reads this many days before its first day
FIT_DAYS = 56  # days the blend weights are fitted on
VALIDATION_DAYS = 56  # recent held-out days the models are compared on
REFIT_DAYS = 7  # the blend is refitted this often while it is being held out
MIN_VALIDATION_DAYS = 14  # fewer held-out days than this: too noisy to leave the 7-day mean
HISTORY_DAYS = LOOKBACK_DAYS + FIT_DAYS + VALIDATION_DAYS  # training never reads more than this
SELECTION_MARGIN = 0.0  # a model is used when it beats the 7-day mean on held-out days
BAND_QUANTILES = (0.1, 0.9)  # the published 80 % band
BAND_HOUR_SPREAD = 2  # residuals of hours within ±2 h of the target hour shape its band
BASE_LOAD_QUANTILE = 0.1  # base load: this quantile of night-time hourly power
BASE_LOAD_DAYS = 21
NIGHT_HOURS = (0, 1, 2, 3, 4, 5)

PROFILE_HALF_LIVES = (1.5, 3.5, 7.0, 14.0, 28.0)  # days; recent habits weigh more
DAY_TYPE_HALF_LIVES = (3.5, 14.0)  # the same, over days of the same type (workday or not)
CARRYOVER_DECAY = 0.5  # per hour: how fast last evening's deviation from normal fades
SIMILAR_DAYS = 10  # days whose eve looked most like yesterday, averaged
SIMILAR_DAY_BLOCKS = 6  # a day is compared as six 4-hour means
SIMILAR_DAY_TYPE_PENALTY = 1.0  # distance added when a candidate is not of the target's type
FIT_HALF_LIFE_DAYS = 14.0  # the blend's fit weighs recent days more: habits drift with the season
RECENT_LEVEL_DAYS = 3  # the last days whose use, against what was expected of them, sets the level
RECENT_LEVEL_HALF_LIFE = DAY_TYPE_HALF_LIVES[-1]  # the profile that is scaled: a settled shape
RECENT_LEVEL_PRIOR_DAYS = 1.0  # pseudo-days that ran exactly as expected: shrink towards 1
RECENT_LEVEL_LIMITS = (0.5, 2.0)  # a household rarely halves or doubles its use for long

BASELINE = "mean_7day"
PREVIOUS_DAY = "previous_day"
BLEND = "profile_blend"
SMOOTHED = "smoothed_profile"
# Mixes of the blend with the smoothed profile, by the blend's share.
# Named by the blend's percentage: the names are translation keys, where a dot cannot go.
MIXES = {f"blend_{round(share * 100)}_smoothed": share for share in (0.25, 0.5, 0.75)}
# A fitted winner is published mixed with this steadier candidate, in proportion to how surely
# it beat it day by day on the held-out days: 56 days rank close candidates by chance.
SHRINK_TOWARDS = "blend_50_smoothed"
FULL_TRUST_T = 2.0  # a paired t of the daily errors this large: the winner is published alone
BLEND_STABILITY = 1e-6  # tiny ridge on the blend's normal equations, for collinear profiles
MIN_FIT_DAYS = 14


def _profile_name(half_life: float) -> str:
    return f"profile_{half_life:g}d"


def _day_type_name(half_life: float) -> str:
    return f"day_type_{half_life:g}d"


BASE_FEATURES = (
    "mean_7day",
    "previous_day",
    "smoothed_previous_day",
    "level_previous_day",
    "level_7day",
    *(_profile_name(h) for h in PROFILE_HALF_LIVES),
    *(_day_type_name(h) for h in DAY_TYPE_HALF_LIVES),
    "evening_carryover",
    "similar_days",
    "same_weekday",
    "recent_level",
)
SMOOTHED_PARTS = (  # equal shares, no fitting
    _profile_name(3.5),
    "evening_carryover",
    "similar_days",
    # The settled day-type shape at the last days' level, rather than the 3.5-day day-type
    # profile: it follows the recent level too, with a shape a few odd days cannot bend.
    "recent_level",
)
TEMPERATURE_FEATURES = ("colder_than_usual", "warmer_than_usual")
OCCUPANCY_FEATURES = ("occupied_profile", "occupied_level")


# ---------------------------------------------------------------------------------------------
# Sensor conversion helpers
# ---------------------------------------------------------------------------------------------


def _as_float_array(values: Any, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    return array


def _hour_grid(start: float, end: float) -> FloatArray:
    first = np.floor(start / HOUR) * HOUR
    last = np.ceil(end / HOUR) * HOUR
    return np.arange(first, last + HOUR / 2, HOUR)


POWER_MIN_COVERAGE = 0.5  # the share of an hour a power must be known for to be its energy


def hourly_from_power(
    timestamps: Any,
    watts: Any,
    *,
    max_gap_s: float = 900.0,
    min_coverage: float = POWER_MIN_COVERAGE,
) -> tuple[FloatArray, FloatArray]:
    """Turn power samples (W) into hourly energy (kWh per hour).

    Each sample holds until the next one (as a Home Assistant state does), but never longer than
    ``max_gap_s``: beyond that the power is unknown. An hour known for less than
    ``min_coverage`` of its length is NaN; otherwise its energy is its mean known power × 1 h.
    Returns ``(hour_starts, kwh)``; empty arrays when there is no valid sample.
    """
    times = _as_float_array(timestamps, "timestamps")
    power = _as_float_array(watts, "watts")
    if times.shape != power.shape:
        raise ValueError("timestamps and watts must have the same length")
    times, power = known_in_time_order(times, power)
    if times.size == 0:
        return np.empty(0), np.empty(0)
    held = np.minimum(np.diff(times, append=times[-1] + max_gap_s), max_gap_s)
    # Piecewise-linear cumulative energy (J) and known time (s) at each sample start and hold end.
    # Interleaved (start, end of hold) knots are already in order since a hold ends by the next.
    knots = np.column_stack([times, times + held]).reshape(-1)
    zeros = np.zeros_like(times)
    cumulative_energy = np.cumsum(np.column_stack([zeros, power * held]).reshape(-1))
    cumulative_time = np.cumsum(np.column_stack([zeros, held]).reshape(-1))
    edges = _hour_grid(times[0], times[-1] + held[-1])
    energy_at = np.interp(edges, knots, cumulative_energy)
    known_at = np.interp(edges, knots, cumulative_time)
    energy = np.diff(energy_at)
    known = np.diff(known_at)
    with np.errstate(invalid="ignore", divide="ignore"):
        kwh = np.where(known >= min_coverage * HOUR, energy / known * HOUR / 3.6e6, np.nan)
    return edges[:-1], kwh


# ---------------------------------------------------------------------------------------------
# Day matrices
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayMatrix:
    """Hourly values laid out as one row per local day (24 columns), NaN where unknown."""

    first_day: float  # local-midnight timestamp of row 0
    values: FloatArray  # shape (days, 24)


def to_day_matrix(
    hour_starts: Any, values: Any, *, first_day: float | None = None, days: int | None = None
) -> DayMatrix:
    """Lay hourly values out as days × 24 (duplicate hours are averaged, missing ones NaN)."""
    times = _as_float_array(hour_starts, "hour_starts")
    data = _as_float_array(values, "values")
    if times.shape != data.shape:
        raise ValueError("hour_starts and values must have the same length")
    keep = np.isfinite(times)
    times, data = times[keep], data[keep]
    if first_day is None:
        if times.size == 0:
            return DayMatrix(0.0, np.empty((0, 24)))
        first_day = float(np.floor(times.min() / DAY) * DAY)
    if days is None:
        days = int(np.floor((times.max() - first_day) / DAY)) + 1 if times.size else 0
    slot = np.floor((times - first_day) / HOUR).astype(np.int64)
    inside = (slot >= 0) & (slot < days * 24) & np.isfinite(data)
    total = np.bincount(slot[inside], weights=data[inside], minlength=days * 24)
    count = np.bincount(slot[inside], minlength=days * 24)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return DayMatrix(float(first_day), matrix.reshape(days, 24))


def _nan_window_mean(values: FloatArray, targets: IntArray, length: int) -> FloatArray:
    """Mean of rows [d - length, d) for each target row d, ignoring NaN."""
    finite = np.isfinite(values)
    cumulative = np.vstack([np.zeros((1, 24)), np.cumsum(np.where(finite, values, 0.0), axis=0)])
    counts = np.vstack([np.zeros((1, 24)), np.cumsum(finite, axis=0)])
    low = np.maximum(targets - length, 0)
    total = cumulative[targets] - cumulative[low]
    count = counts[targets] - counts[low]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _smooth_hours(profile: FloatArray) -> FloatArray:
    """Spread each hour over its neighbours (1/4, 1/2, 1/4): a load's timing wanders."""
    level = nan_statistic(np.nanmean, profile, axis=1)[:, None]
    filled = np.where(np.isfinite(profile), profile, level)
    return 0.25 * np.roll(filled, 1, axis=1) + 0.5 * filled + 0.25 * np.roll(filled, -1, axis=1)


@dataclass(slots=True)
class _Inputs:
    """Everything the forecaster reads, as day matrices sharing one first day."""

    energy: FloatArray
    first_day: float
    outdoor_temperature: FloatArray | None = None
    occupancy_probability: FloatArray | None = None
    workday: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


def _monday_to_friday(day: FloatArray) -> NDArray[np.bool_]:
    """Whether each day (counted from 1970-01-01, a Thursday) is Monday to Friday."""
    return np.asarray((day + 3) % 7 < 5)


def _default_workday(first_day: float, days: int) -> NDArray[np.bool_]:
    return _monday_to_friday(np.floor(first_day / DAY) + np.arange(days))


def calendar_years(hour_starts: Any) -> range:
    """The calendar years ``hour_starts`` span (empty without a known hour)."""
    times = _as_float_array(hour_starts, "hour_starts")
    finite = times[np.isfinite(times)]
    if not finite.size:
        return range(0)
    first, last = (datetime.fromtimestamp(float(t), UTC).year for t in (finite.min(), finite.max()))
    return range(first, last + 1)


def workday_flags(hour_starts: Any, holidays: Iterable[date]) -> FloatArray:
    """Per hour: 1 on Monday to Friday, 0 at weekends and on the home's public ``holidays``.

    The form of the ``workday`` input of :class:`EnergyForecaster`, for a home without a workday
    sensor: a bank holiday is used like a Sunday, not like the working day it falls on.
    """
    times = _as_float_array(hour_starts, "hour_starts")
    day = np.floor(times / DAY)
    epoch = date(1970, 1, 1).toordinal()
    days_off = np.array([d.toordinal() - epoch for d in holidays], dtype=np.float64)
    working = _monday_to_friday(day) & ~np.isin(day, days_off)
    return np.where(np.isfinite(times), working.astype(np.float64), np.nan)


def _earlier_days(
    values: FloatArray, targets: IntArray, length: int
) -> tuple[FloatArray, IntArray]:
    """Rows d-1, d-2, ... d-length for each target d: shape (targets, length, 24), NaN before 0."""
    rows = targets[:, None] - np.arange(1, length + 1)[None, :]
    gathered = values[np.maximum(rows, 0)]
    gathered[rows < 0] = np.nan
    return gathered, rows


def _weighted_profile(
    earlier: FloatArray, half_life: float, same_type: NDArray[np.bool_] | None = None
) -> FloatArray:
    """Exponentially weighted same-hour mean of the earlier days (optionally same type only)."""
    age = np.arange(earlier.shape[1], dtype=np.float64)
    weight = np.broadcast_to(0.5 ** (age / half_life), earlier.shape[:2]).copy()
    if same_type is not None:
        weight = weight * same_type
    finite = np.isfinite(earlier)
    total = np.einsum("tk,tkh->th", weight, np.where(finite, earlier, 0.0))
    count = np.einsum("tk,tkh->th", weight, finite.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 1e-9, total / np.maximum(count, 1e-9), np.nan)


def _similar_days(energy: FloatArray, targets: IntArray, day_type: NDArray[np.bool_]) -> FloatArray:
    """Mean of the days whose eve looked most like the target's eve (analogue forecast).

    Each earlier day j within ``PROFILE_WINDOW_DAYS`` is described by its previous day's
    4-hour means; the ``SIMILAR_DAYS`` closest to yesterday's (scaled by their spread, with a
    penalty for the other day type) are averaged. NaN where too few days are known.
    """
    days = energy.shape[0]
    blocks = nan_statistic(np.nanmean, energy.reshape(days, SIMILAR_DAY_BLOCKS, -1), axis=2)
    candidates = targets[:, None] - np.arange(1, PROFILE_WINDOW_DAYS + 1)[None, :]
    valid = candidates >= 1
    safe = np.maximum(candidates, 1)
    eve = blocks[safe - 1]  # (targets, window, blocks)
    query = blocks[np.maximum(targets - 1, 0)][:, None, :]
    known_day = np.isfinite(energy).sum(axis=1) >= 12
    valid &= np.isfinite(eve).all(axis=2) & known_day[safe]
    spread = nan_statistic(np.nanstd, np.where(valid[..., None], eve, np.nan), axis=1)[:, None]
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
    distance = np.sqrt(np.sum(((eve - query) / spread) ** 2, axis=2))
    distance = distance + SIMILAR_DAY_TYPE_PENALTY * (day_type[safe] != day_type[targets][:, None])
    distance = np.where(valid, distance, np.inf)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :SIMILAR_DAYS]
    chosen_days = np.take_along_axis(safe, nearest, axis=1)
    chosen_ok = np.take_along_axis(distance, nearest, axis=1) < np.inf
    rows = energy[chosen_days]  # (targets, k, 24)
    rows = np.where(chosen_ok[..., None], rows, np.nan)
    finite = np.isfinite(rows)
    count = finite.sum(axis=1)
    enough = (chosen_ok.sum(axis=1) >= SIMILAR_DAYS) & np.isfinite(query[:, 0, :]).all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.where(finite, rows, 0.0).sum(axis=1) / count, np.nan)
    return np.where(enough[:, None], mean, np.nan)


def _recent_level(inputs: _Inputs, targets: IntArray, settled_profile: FloatArray) -> FloatArray:
    """The settled day-type profile scaled by how the last days ran against what it expected.

    Households drift in level (guests, season, heating) faster than a 14-day half-life follows:
    each of the last ``RECENT_LEVEL_DAYS`` is compared with the profile of its own type as it
    stood before that day, and the ratio of their sums, shrunk towards 1 by
    ``RECENT_LEVEL_PRIOR_DAYS`` of the target's profile, scales ``settled_profile``.
    """
    energy = inputs.energy
    seen = np.zeros(targets.size)
    expected = np.zeros(targets.size)
    for back in range(1, RECENT_LEVEL_DAYS + 1):
        days = np.maximum(targets - back, 0)
        earlier, rows = _earlier_days(energy, days, PROFILE_WINDOW_DAYS)
        same_type = inputs.workday[np.maximum(rows, 0)] == inputs.workday[days][:, None]
        profile = _weighted_profile(earlier, RECENT_LEVEL_HALF_LIFE, same_type)
        actual = energy[days]
        known = np.isfinite(actual) & np.isfinite(profile) & (targets - back >= 0)[:, None]
        seen += np.where(known, actual, 0.0).sum(axis=1)
        expected += np.where(known, profile, 0.0).sum(axis=1)
    prior_day = 24 * np.nan_to_num(nan_statistic(np.nanmean, settled_profile, axis=1))
    prior = RECENT_LEVEL_PRIOR_DAYS * prior_day
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(expected > 0, (seen + prior) / (expected + prior), 1.0)
    ratio = np.clip(ratio, *RECENT_LEVEL_LIMITS)
    return np.asarray(settled_profile * ratio[:, None], dtype=np.float64)


def _features(inputs: _Inputs, targets: IntArray, names: tuple[str, ...]) -> FloatArray:
    """Base forecasts for each target day, from the days before it: shape (targets, 24, names)."""
    energy = inputs.energy
    mean_7 = _nan_window_mean(energy, targets, 7)
    mean_28 = _nan_window_mean(energy, targets, 28)
    level_28 = nan_statistic(np.nanmean, mean_28, axis=1)[:, None]
    # A missing profile hour falls back to the longer profile, then to the overall level.
    mean_28 = np.where(np.isfinite(mean_28), mean_28, level_28)
    mean_7 = np.where(np.isfinite(mean_7), mean_7, mean_28)
    columns: dict[str, FloatArray] = {"mean_7day": mean_7}
    previous = energy[np.maximum(targets - 1, 0)].copy()
    previous[targets < 1] = np.nan
    columns["previous_day"] = np.where(np.isfinite(previous), previous, mean_7)
    columns["smoothed_7day"] = _smooth_hours(mean_7)
    columns["level_7day"] = np.repeat(
        nan_statistic(np.nanmean, mean_7, axis=1)[:, None], 24, axis=1
    )
    columns["level_previous_day"] = np.repeat(
        nan_statistic(np.nanmean, columns["previous_day"], axis=1)[:, None], 24, axis=1
    )
    columns["smoothed_previous_day"] = _smooth_hours(columns["previous_day"])
    earlier, earlier_rows = _earlier_days(energy, targets, PROFILE_WINDOW_DAYS)
    for half_life in PROFILE_HALF_LIVES:
        profile = _weighted_profile(earlier, half_life)
        columns[_profile_name(half_life)] = _smooth_hours(
            np.where(np.isfinite(profile), profile, mean_7)
        )
    same_type = inputs.workday[np.maximum(earlier_rows, 0)] == inputs.workday[targets][:, None]
    for half_life in DAY_TYPE_HALF_LIVES:
        profile = _weighted_profile(earlier, half_life, same_type)
        columns[_day_type_name(half_life)] = _smooth_hours(
            np.where(np.isfinite(profile), profile, mean_7)
        )
    # Last evening's deviation from the usual profile lingers into the first hours.
    usual = columns[_profile_name(7.0)]
    deviation = np.nan_to_num(previous[:, 23] - usual[:, 23])
    fade = CARRYOVER_DECAY ** np.arange(1, 25, dtype=np.float64)
    columns["evening_carryover"] = np.maximum(usual + deviation[:, None] * fade[None, :], 0.0)
    # Weekly habits (laundry on Saturdays): the same weekday over the profile window.
    same_weekday = np.zeros(earlier.shape[:2], dtype=bool)
    same_weekday[:, 6::7] = True
    # A bank holiday is no guide to the weekday it fell on, nor an ordinary one to a holiday.
    weekly = _weighted_profile(earlier, np.inf, same_weekday & same_type)
    columns["same_weekday"] = _smooth_hours(np.where(np.isfinite(weekly), weekly, mean_7))
    # A holiday with no earlier one on its weekday: the profile of days off instead.
    weekday_known = (same_weekday & np.isfinite(earlier).any(axis=2)).any(axis=1)
    no_such_day = weekday_known & ~np.isfinite(weekly).any(axis=1)
    fallback = columns[_day_type_name(DAY_TYPE_HALF_LIVES[-1])]
    columns["same_weekday"][no_such_day] = fallback[no_such_day]
    columns["recent_level"] = _recent_level(
        inputs, targets, columns[_day_type_name(RECENT_LEVEL_HALF_LIFE)]
    )
    similar = _similar_days(energy, targets, inputs.workday)
    columns["similar_days"] = _smooth_hours(np.where(np.isfinite(similar), similar, mean_7))
    if TEMPERATURE_FEATURES[0] in names and inputs.outdoor_temperature is not None:
        temperature = inputs.outdoor_temperature
        recent = _nan_window_mean(temperature, targets, 7)
        # The day's own weather is not known when it is forecast: yesterday's, hour by hour.
        yesterday = temperature[np.maximum(targets - 1, 0)]
        deviation_c = np.nan_to_num(np.where((targets >= 1)[:, None], yesterday, np.nan) - recent)
        # Heating grows when colder than the last week, cooling when warmer: one sign each,
        # so the non-negative blend can weigh either.
        columns["colder_than_usual"] = columns["level_7day"] * np.maximum(-deviation_c, 0) / 10
        columns["warmer_than_usual"] = columns["level_7day"] * np.maximum(deviation_c, 0) / 10
    if OCCUPANCY_FEATURES[0] in names and inputs.occupancy_probability is not None:
        occupancy = np.nan_to_num(inputs.occupancy_probability[targets], nan=0.5)
        recent_occupancy = np.nan_to_num(
            _nan_window_mean(inputs.occupancy_probability, targets, 7), nan=0.5
        )
        shift = occupancy - recent_occupancy
        columns["occupied_profile"] = columns["smoothed_7day"] * shift
        columns["occupied_level"] = columns["level_7day"] * shift
    # An input the model was trained with but that is unknown now (an outdoor sensor gone
    # unavailable) adds nothing, rather than failing the forecast.
    unknown = np.zeros_like(columns["mean_7day"])
    return np.stack([columns.get(name, unknown) for name in names], axis=-1)


def _fixed_weights(names: list[str], model: str) -> FloatArray:
    """Blend weights of a model that needs no fitting."""
    weights = np.zeros(len(names))
    if model == SMOOTHED:
        for name in SMOOTHED_PARTS:
            weights[names.index(name)] = 1.0 / len(SMOOTHED_PARTS)
    else:
        weights[names.index(model)] = 1.0
    return weights


def _nrmse(actual: FloatArray, forecast: FloatArray) -> float:
    known = np.isfinite(actual) & np.isfinite(forecast)
    if not known.any():
        return float("nan")
    mean = float(np.mean(actual[known]))
    if mean <= 0:
        return float("nan")
    return float(np.sqrt(np.mean((actual[known] - forecast[known]) ** 2)) / mean)


def _nonnegative_least_squares(gram: FloatArray, moment: FloatArray) -> FloatArray:
    """Lawson-Hanson active set: minimise |Xw - y|² with w ≥ 0, given X'X and X'y."""
    size = moment.size
    weights = np.zeros(size)
    active = np.zeros(size, dtype=bool)
    tolerance = 1e-10 * (float(np.max(np.abs(moment))) + 1e-12)
    for _ in range(3 * size):
        gradient = moment - gram @ weights
        if active.all() or float(np.max(np.where(active, -np.inf, gradient))) <= tolerance:
            break
        active[int(np.argmax(np.where(active, -np.inf, gradient)))] = True
        for _ in range(3 * size):
            chosen = np.flatnonzero(active)
            trial = np.zeros(size)
            trial[chosen] = np.linalg.solve(gram[np.ix_(chosen, chosen)], moment[chosen])
            if np.all(trial[chosen] > 0):
                weights = trial
                break
            # Step back towards the last feasible point until a weight reaches zero.
            leaving = chosen[trial[chosen] <= 0]
            step = float(np.min(weights[leaving] / (weights[leaving] - trial[leaving] + 1e-300)))
            weights = weights + step * (trial - weights)
            active &= weights > 1e-12
            weights[~active] = 0.0
    return weights


def _fit_blend(features: FloatArray, actual: FloatArray, prior: FloatArray) -> FloatArray:
    """Non-negative least-squares weights of the base forecasts (``prior`` when data is short).

    ``features``/``actual`` are consecutive days, oldest first; a day's squared errors weigh
    half as much every ``FIT_HALF_LIFE_DAYS`` back, so the blend follows drifting habits.

    Non-negative weights keep the blend a sum of plausible profiles: it can never forecast a
    shape no base forecast has, which is what makes it robust on a noisy single home.
    """
    # Rows are consecutive days, oldest first; scaling a row by √weight weighs its squared error.
    age = np.arange(features.shape[0] - 1, -1, -1, dtype=np.float64)
    root_weight = np.sqrt(0.5 ** (age / FIT_HALF_LIFE_DAYS))
    flat_x = (features * root_weight[:, None, None]).reshape(-1, features.shape[-1])
    flat_y = (actual * root_weight[:, None]).reshape(-1)
    known = np.isfinite(flat_y) & np.all(np.isfinite(flat_x), axis=1)
    if known.sum() < 48:
        return prior
    x, y = flat_x[known], flat_y[known]
    gram = x.T @ x
    gram = gram + BLEND_STABILITY * float(np.mean(np.diag(gram))) * np.eye(gram.shape[0])
    weights = _nonnegative_least_squares(gram, x.T @ y)
    return np.asarray(weights, dtype=np.float64) if np.any(weights > 0) else prior


def _paired_trust(actual: FloatArray, winner: FloatArray, steadier: FloatArray) -> float:
    """Share of ``winner`` in its mix with ``steadier``: its paired t over days, / FULL_TRUST_T.

    Each held-out day gives one difference of summed squared errors; their mean over its
    standard error says how surely the winner is better, not just lucky on these days.
    """
    known_day = np.isfinite(actual).any(axis=1)
    gain = np.nansum((actual - steadier) ** 2, axis=1) - np.nansum((actual - winner) ** 2, axis=1)
    gain = gain[known_day]
    if gain.size < 2:
        return 1.0
    mean = float(np.mean(gain))
    standard_error = float(np.std(gain, ddof=1)) / np.sqrt(gain.size)
    if standard_error <= 0:
        return 1.0 if mean > 0 else 0.0
    return float(np.clip(mean / standard_error / FULL_TRUST_T, 0.0, 1.0))


def _band_offsets(residuals: FloatArray) -> FloatArray:
    """Per-hour 10 % and 90 % residual quantiles, pooling neighbouring hours: shape (2, 24)."""
    offsets = np.zeros((2, 24))
    for hour in range(24):
        hours = [(hour + shift) % 24 for shift in range(-BAND_HOUR_SPREAD, BAND_HOUR_SPREAD + 1)]
        pooled = residuals[:, hours].reshape(-1)
        pooled = pooled[np.isfinite(pooled)]
        if pooled.size >= 10:
            offsets[:, hour] = np.quantile(pooled, BAND_QUANTILES)
    return offsets


# ---------------------------------------------------------------------------------------------
# Forecaster
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnergyForecast:
    """Hourly forecast: hour starts (local wall clock), expected kWh and its 80 % band."""

    hour_starts: FloatArray
    kwh: FloatArray
    lower: FloatArray
    upper: FloatArray
    model: str
    status: Status


@dataclass(slots=True)
class EnergyForecaster:
    """Day-ahead hourly energy forecaster, chosen on held-out recent days.

    Candidates: the 7-day same-hour mean (the baseline), the previous day, an equal-share average of
    four smoothed profiles, and a non-negative least-squares blend of all base forecasts
    (exponentially weighted same-hour profiles over 56 days, the same by day type, last evening's
    carry-over, the mean of similar past days, the same weekday, levels, the settled profile scaled
    to the last days' level). The blend is fitted with recent days weighing more, scored on the last
    ``VALIDATION_DAYS`` with weights refitted weekly on the days before each week. Mixes of the
    blend with the smoothed profile (``MIXES``) are candidates too: averaging forecasts whose errors
    differ cancels part of each one's noise, and a mix is itself linear in the base forecasts, so it
    deploys as weights. The best-scoring candidate is published, and the 7-day mean whenever nothing
    beats it or fewer than ``MIN_VALIDATION_DAYS`` days could be held out. A winner that beat the
    steadier ``SHRINK_TOWARDS`` mix only narrowly is published mixed with it, in proportion to how
    surely it won day by day (``_paired_trust``); ``nrmse`` and ``skill`` are the held-out scores of
    what is published.

    Train with :meth:`train` (off the event loop, once a day is plenty), persist with
    :meth:`to_dict`, and ask :meth:`forecast` with the recent hourly history whenever needed.
    """

    model: str = BASELINE
    status: Status = "learning"
    features: tuple[str, ...] = BASE_FEATURES
    weights: list[float] = field(default_factory=list)
    band: list[list[float]] = field(default_factory=lambda: [[0.0] * 24, [0.0] * 24])
    skill: float = float("nan")
    nrmse: float = float("nan")
    nrmse_baseline: float = float("nan")
    nrmse_previous_day: float = float("nan")
    base_load_w: float = float("nan")
    trained_days: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    # The winner's share of the published forecast; the rest is the SHRINK_TOWARDS mix.
    model_share: float = 1.0

    @classmethod
    @on_one_thread
    def train(
        cls,
        hour_starts: Any,
        kwh: Any,
        *,
        outdoor_temperature: Any = None,
        occupancy_probability: Any = None,
        workday: Any = None,
        now: float | None = None,
    ) -> EnergyForecaster:
        """Learn from hourly history (kWh per hour) up to ``now`` (default: the last hour).

        Optional inputs are per-hour arrays aligned with ``hour_starts``: outdoor temperature
        (°C), the expected occupancy probability (0..1) and a workday flag (1/0, NaN unknown;
        default: Monday to Friday). Only whole days before ``now`` are learned from, and at
        most the last ``HISTORY_DAYS`` of them.
        """
        times = _as_float_array(hour_starts, "hour_starts")
        if now is None:
            finite = times[np.isfinite(times)]
            now = float(finite.max()) + HOUR if finite.size else 0.0
        today = float(np.floor(now / DAY) * DAY)
        first_day = today - HISTORY_DAYS * DAY
        inputs = _build_inputs(
            times,
            kwh,
            first_day,
            HISTORY_DAYS,
            outdoor_temperature=outdoor_temperature,
            occupancy_probability=occupancy_probability,
            workday=workday,
        )
        forecaster = cls()
        forecaster._learn(inputs)
        return forecaster

    def _learn(self, inputs: _Inputs) -> None:
        energy = inputs.energy
        known_day = np.isfinite(energy).sum(axis=1) >= 12
        self.trained_days = int(known_day.sum())
        self.base_load_w = _base_load_w(energy[-BASE_LOAD_DAYS:])
        names = list(BASE_FEATURES)
        if inputs.outdoor_temperature is not None:
            names.extend(TEMPERATURE_FEATURES)
        if inputs.occupancy_probability is not None:
            names.extend(OCCUPANCY_FEATURES)
        self.features = tuple(names)
        self.weights = _fixed_weights(names, BASELINE).tolist()
        if self.trained_days < MIN_DAYS:
            self.status, self.model = "learning", BASELINE
            return
        days = energy.shape[0]
        first_known = int(np.argmax(known_day))
        usable = days - first_known - 1  # target days that have at least one day before them
        validation = min(VALIDATION_DAYS, usable - MIN_DAYS, max(MIN_VALIDATION_DAYS, usable // 3))
        fit_end = days - validation
        targets = np.arange(max(first_known + 1, fit_end - FIT_DAYS), days, dtype=np.int64)
        matrix = _features(inputs, targets, self.features)
        actual = energy[targets]
        is_validation = targets >= fit_end
        held_out_days = int((np.isfinite(actual[is_validation]).sum(axis=1) >= 12).sum())
        if held_out_days < MIN_VALIDATION_DAYS:
            # Too few held-out days to tell models apart: publish the 7-day mean, honestly labelled.
            self.status, self.model = "degraded", BASELINE
            self.band = _band_offsets(actual - matrix[..., 0]).tolist()
            return
        held_out = actual[is_validation]
        fixed = {name: _fixed_weights(names, name) for name in (BASELINE, PREVIOUS_DAY, SMOOTHED)}
        candidates = {name: matrix[is_validation] @ w for name, w in fixed.items()}
        if int((~is_validation).sum()) >= MIN_FIT_DAYS:
            candidates[BLEND] = self._rolling_blend(
                matrix, actual, targets, fit_end, fixed[SMOOTHED]
            )
            for name, share in MIXES.items():
                candidates[name] = share * candidates[BLEND] + (1 - share) * candidates[SMOOTHED]
        self.scores = {name: _nrmse(held_out, pred) for name, pred in candidates.items()}
        self.nrmse_baseline = self.scores[BASELINE]
        self.nrmse_previous_day = self.scores[PREVIOUS_DAY]
        best = BASELINE
        for name, score in self.scores.items():
            if np.isfinite(score) and score < self.scores[best] * (1 - SELECTION_MARGIN):
                best = name
        self.model = best
        self.status = "degraded" if best == BASELINE else "ready"
        recent = targets >= days - FIT_DAYS
        deployed_blend: list[FloatArray] = []

        def deployed(name: str) -> FloatArray:
            """Weights a candidate is published with (a blend: refitted on the latest days)."""
            if name != BLEND and name not in MIXES:
                return fixed[name]
            if not deployed_blend:
                deployed_blend.append(_fit_blend(matrix[recent], actual[recent], fixed[SMOOTHED]))
            share = MIXES.get(name, 1.0)
            # A mix of linear forecasts is itself linear in the base forecasts.
            return share * deployed_blend[0] + (1 - share) * fixed[SMOOTHED]

        trust = 1.0
        if (
            best not in (BASELINE, SHRINK_TOWARDS)
            and SHRINK_TOWARDS in candidates
            and self.scores[SHRINK_TOWARDS] < self.scores[BASELINE]
        ):
            trust = _paired_trust(held_out, candidates[best], candidates[SHRINK_TOWARDS])
        published = candidates[best]
        weights = deployed(best)
        if trust < 1.0:
            published = trust * published + (1 - trust) * candidates[SHRINK_TOWARDS]
            weights = trust * weights + (1 - trust) * deployed(SHRINK_TOWARDS)
        self.weights = weights.tolist()
        self.model_share = trust
        self.nrmse = _nrmse(held_out, published)
        self.skill = 1.0 - self.nrmse / self.nrmse_baseline if self.nrmse_baseline > 0 else 0.0
        self.band = _band_offsets(held_out - published).tolist()

    @staticmethod
    def _rolling_blend(
        matrix: FloatArray, actual: FloatArray, targets: IntArray, fit_end: int, prior: FloatArray
    ) -> FloatArray:
        """Held-out blend forecasts, refitted each week on the ``FIT_DAYS`` before that week.

        Scoring every held-out week with weights that had not seen it is what the deployed
        blend faces; a long held-out span makes the choice of model far less of a coin toss.
        """
        held_out = targets[targets >= fit_end]
        forecasts = np.full((held_out.size, 24), np.nan)
        for start in range(0, held_out.size, REFIT_DAYS):
            week = held_out[start : start + REFIT_DAYS]
            fit = (targets < week[0]) & (targets >= week[0] - FIT_DAYS)
            weights = _fit_blend(matrix[fit], actual[fit], prior)
            forecasts[start : start + week.size] = matrix[np.isin(targets, week)] @ weights
        return forecasts

    def forecast(
        self,
        hour_starts: Any,
        kwh: Any,
        start: float,
        hours: int = 24,
        *,
        outdoor_temperature: Any = None,
        occupancy_probability: Any = None,
        workday: Any = None,
    ) -> EnergyForecast:
        """Forecast ``hours`` hourly values from the hour containing ``start``.

        ``hour_starts``/``kwh`` are the recent history (the last ``LOOKBACK_DAYS`` is best), with
        optional per-hour inputs aligned to them; for the horizon, extend ``hour_starts`` and
        the optional arrays with future hours whose ``kwh`` is NaN. Outdoor temperatures from
        ``start`` on are never read: as in training, only what was measured before is known.
        Hours of today not yet seen are filled with their forecast before tomorrow's is made.
        """
        start = float(np.floor(start / HOUR) * HOUR)
        first_target = float(np.floor(start / DAY) * DAY)
        end = start + hours * HOUR
        target_days = int(np.ceil((end - first_target) / DAY))
        first_day = first_target - LOOKBACK_DAYS * DAY
        times = _as_float_array(hour_starts, "hour_starts")
        energy = _as_float_array(kwh, "kwh").copy()
        energy[times >= start] = np.nan  # never peek at the hours being forecast
        if outdoor_temperature is not None:
            outdoor_temperature = _as_float_array(outdoor_temperature, "outdoor_temperature")
            outdoor_temperature = np.where(times >= start, np.nan, outdoor_temperature)
        inputs = _build_inputs(
            times,
            energy,
            first_day,
            LOOKBACK_DAYS + target_days,
            outdoor_temperature=outdoor_temperature,
            occupancy_probability=occupancy_probability,
            workday=workday,
        )
        if inputs.outdoor_temperature is not None:
            _hold_weather(
                inputs.outdoor_temperature,
                LOOKBACK_DAYS * 24 + round((start - first_target) / HOUR),
            )
        weights = np.asarray(self.weights, dtype=np.float64)
        band = np.asarray(self.band, dtype=np.float64)
        values = np.full((target_days, 24), np.nan)
        for offset in range(target_days):
            row = LOOKBACK_DAYS + offset
            base = _features(inputs, np.array([row], dtype=np.int64), self.features)[0]
            values[offset] = np.maximum(base @ weights, 0.0)
            unseen = ~np.isfinite(inputs.energy[row])
            inputs.energy[row, unseen] = values[offset, unseen]
        flat = values.reshape(-1)
        first_slot = round((start - first_target) / HOUR)
        expected = flat[first_slot : first_slot + hours]
        hour_of_day = (np.arange(first_slot, first_slot + hours)) % 24
        lower = np.maximum(expected + band[0, hour_of_day], 0.0)
        upper = np.maximum(expected + band[1, hour_of_day], expected)
        stamps = start + HOUR * np.arange(hours, dtype=np.float64)
        return EnergyForecast(stamps, expected, lower, upper, self.model, self.status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (NaN stored as None)."""
        return {
            "version": MODEL_VERSION,
            "model": self.model,
            "status": self.status,
            "features": list(self.features),
            "weights": [float(w) for w in self.weights],
            "band": [[float(v) for v in row] for row in self.band],
            "skill": _json_float(self.skill),
            "nrmse": _json_float(self.nrmse),
            "nrmse_baseline": _json_float(self.nrmse_baseline),
            "nrmse_previous_day": _json_float(self.nrmse_previous_day),
            "base_load_w": _json_float(self.base_load_w),
            "trained_days": self.trained_days,
            "scores": {k: _json_float(v) for k, v in self.scores.items()},
            "model_share": float(self.model_share),
        }

    @classmethod
    def from_dict(cls, data: Any) -> EnergyForecaster:
        """Rebuild from :meth:`to_dict`; raises ``ValueError`` on bad or old data."""
        try:
            if not isinstance(data, dict) or data.get("version") != MODEL_VERSION:
                raise ValueError("unsupported energy model version")
            features = tuple(str(name) for name in data["features"])
            known = set(BASE_FEATURES) | {*TEMPERATURE_FEATURES, *OCCUPANCY_FEATURES}
            weights = [float(w) for w in data["weights"]]
            band = [[float(v) for v in row] for row in data["band"]]
            status = str(data["status"])
            model = str(data["model"])
            model_share = float(data["model_share"])
            if (
                not set(features) <= known
                or len(weights) != len(features)
                or len(band) != 2
                or any(len(row) != 24 for row in band)
                or status not in ("learning", "ready", "degraded")
                or model not in (BASELINE, PREVIOUS_DAY, SMOOTHED, BLEND, *MIXES)
                or not all(np.isfinite(weights))
                or not 0.0 <= model_share <= 1.0
            ):
                raise ValueError("inconsistent energy model")
            return cls(
                model=model,
                status=status,  # type: ignore[arg-type]
                features=features,
                weights=weights,
                band=band,
                skill=_float_or_nan(data["skill"]),
                nrmse=_float_or_nan(data["nrmse"]),
                nrmse_baseline=_float_or_nan(data["nrmse_baseline"]),
                nrmse_previous_day=_float_or_nan(data["nrmse_previous_day"]),
                base_load_w=_float_or_nan(data["base_load_w"]),
                trained_days=int(data["trained_days"]),
                scores={str(k): _float_or_nan(v) for k, v in dict(data["scores"]).items()},
                model_share=model_share,
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"bad energy model data: {err}") from err


def _hold_weather(temperature: FloatArray, first_unseen: int) -> None:
    """Fill the hours from ``first_unseen`` on with the same hour a day earlier, in place.

    Hours not measured yet are forecast as the day before was (persistence): a day-ahead
    forecast made at midnight reads yesterday's temperatures, and one made later today the
    latest 24 measured hours, never an hour it could not have known.
    """
    flat = temperature.reshape(-1)
    for slot in range(max(first_unseen, 24), flat.size):
        if not np.isfinite(flat[slot]):
            flat[slot] = flat[slot - 24]


def _json_float(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _float_or_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _build_inputs(
    times: FloatArray,
    kwh: Any,
    first_day: float,
    days: int,
    *,
    outdoor_temperature: Any,
    occupancy_probability: Any,
    workday: Any,
) -> _Inputs:
    energy = to_day_matrix(times, kwh, first_day=first_day, days=days).values
    energy = np.where(energy >= 0, energy, np.nan)  # negative energy is a broken reading
    inputs = _Inputs(energy, first_day)
    if outdoor_temperature is not None:
        inputs.outdoor_temperature = to_day_matrix(
            times, outdoor_temperature, first_day=first_day, days=days
        ).values
    if occupancy_probability is not None:
        inputs.occupancy_probability = np.clip(
            to_day_matrix(times, occupancy_probability, first_day=first_day, days=days).values,
            0.0,
            1.0,
        )
    default = _default_workday(first_day, days)
    if workday is not None:
        flags = to_day_matrix(times, workday, first_day=first_day, days=days).values
        # A day without any flag: NaN.
        daily = nan_statistic(np.nanmean, np.where(np.isfinite(flags), flags, np.nan), axis=1)
        inputs.workday = np.where(np.isfinite(daily), daily >= 0.5, default)
    else:
        inputs.workday = default
    return inputs


def _base_load_w(energy: FloatArray) -> float:
    """Always-on consumption: a low quantile of night-time hourly power (W)."""
    night = energy[:, list(NIGHT_HOURS)].reshape(-1)
    night = night[np.isfinite(night)]
    if night.size < 6:
        return float("nan")
    return float(np.quantile(night, BASE_LOAD_QUANTILE) * 1000.0)


def base_load_w(hour_starts: Any, kwh: Any, *, days: int = BASE_LOAD_DAYS) -> float:
    """Base load (W): a low quantile of night-time hourly power over the last ``days`` days."""
    times = _as_float_array(hour_starts, "hour_starts")
    finite = times[np.isfinite(times)]
    if finite.size == 0:
        return float("nan")
    last_day = float(np.floor(finite.max() / DAY) * DAY)
    matrix = to_day_matrix(times, kwh, first_day=last_day - (days - 1) * DAY, days=days)
    return _base_load_w(matrix.values)


def expected_power_w(forecast: EnergyForecast, now: float) -> float:
    """What is normal right now (W): the expected average power of the hour containing ``now``."""
    slot = np.flatnonzero(forecast.hour_starts == np.floor(now / HOUR) * HOUR)
    return float(forecast.kwh[slot[0]] * 1000.0) if slot.size else float("nan")


def rest_of_today_kwh(
    forecast: EnergyForecast, now: float, *, midnight: float | None = None
) -> float:
    """Expected energy (kWh) from ``now`` to the next local midnight (current hour pro rata).

    ``midnight``: where today ends on the forecast's clock, when that is not the next whole day
    (a forecast on real hours, on a day of 23 or 25 of them).
    """
    if midnight is None:
        midnight = float((np.floor(now / DAY) + 1) * DAY)
    return _expected_between(forecast, now, midnight)


def next_hour_kwh(forecast: EnergyForecast, now: float) -> float:
    """Expected energy (kWh) over the 60 minutes from ``now`` (the two hours it spans pro rata)."""
    return _expected_between(forecast, now, now + HOUR)


def _expected_between(forecast: EnergyForecast, start: float, end: float) -> float:
    """Expected energy (kWh) from ``start`` to ``end``, each forecast hour counted pro rata."""
    starts = forecast.hour_starts
    share = np.clip(np.minimum(starts + HOUR, end) - np.maximum(starts, start), 0.0, HOUR) / HOUR
    return float(np.nansum(forecast.kwh * share))


def day_ahead_expectations(
    forecaster: EnergyForecaster,
    hour_starts: Any,
    kwh: Any,
    first_day: float,
    days: int,
    *,
    workday: Any = None,
) -> EnergyForecast:
    """The forecasts made at each local midnight for ``days`` days from ``first_day``.

    This is what the unusual-use detector compares the consumption against; each day's forecast
    only uses the history before that day. ``workday``: optional per-hour flags aligned with
    ``hour_starts`` (as :meth:`EnergyForecaster.train` takes them), read for the days before
    each forecast day and for that day itself (so a bank holiday is expected like one).
    """
    times = _as_float_array(hour_starts, "hour_starts")
    energy = _as_float_array(kwh, "kwh")
    flags = None if workday is None else _as_float_array(workday, "workday")
    parts = []
    for day in range(days):
        midnight = first_day + day * DAY
        # The forecast day's own hours carry its flag; forecast() never reads their energy.
        span = (times < midnight + DAY) & (times >= midnight - (LOOKBACK_DAYS + 1) * DAY)
        day_flags = None if flags is None else flags[span]
        parts.append(
            forecaster.forecast(times[span], energy[span], midnight, 24, workday=day_flags)
        )
    if not parts:
        empty = np.empty(0)
        return EnergyForecast(empty, empty, empty, empty, forecaster.model, forecaster.status)
    return EnergyForecast(
        np.concatenate([p.hour_starts for p in parts]),
        np.concatenate([p.kwh for p in parts]),
        np.concatenate([p.lower for p in parts]),
        np.concatenate([p.upper for p in parts]),
        forecaster.model,
        forecaster.status,
    )


# ---------------------------------------------------------------------------------------------
# Unusual energy use
# ---------------------------------------------------------------------------------------------

DETECTOR_CALIBRATION_DAYS = 56  # recent days whose ordinary runs set the alarm thresholds
EXCESS_MIN_HOURS = 2  # an excess must last at least this many hours to matter
EXCESS_MIN_SCORE = 3.0  # ... and add up to at least this many band-scales
EXCESS_THRESHOLD_FACTOR = 1.1  # above the largest ordinary run seen in the calibration days
SHORTFALL_HOURS = 4  # consumption below the always-on floor for this long: something stopped
SHORTFALL_FACTOR = 1.1  # ... a tenth below it, as the other rules keep beyond their ordinary worst
RAISED_FLOOR_HOURS = 6  # the floor of the last 6 hours rising above its usual level: a new load
RAISED_FLOOR_LOWEST = 2  # that floor is the mean of the window's two lowest hours
FLOOR_REFERENCE_DAYS = 14  # the usual floor for each hour of day: median over this many days
RAISED_FLOOR_MARGIN = 0.5  # base loads added to the largest ordinary rise seen in calibration
QUIET_FLOOR_FACTOR = 1.3  # hours whose usual floor is near the base load are judged finely
DAY_FLOOR_HOURS = 24  # the day's floor: the mean of the 3 lowest of the last 24 hours
DAY_FLOOR_LOWEST = 3
DAY_FLOOR_MIN_KNOWN = 20  # ... when at least this many of those hours are known
DAY_FLOOR_MIN_DROP_KWH = 0.015  # a drop of the day's floor smaller than 15 W never alarms
DAY_FLOOR_MIN_RISE = 0.3  # a rise of the day's floor smaller than 0.3 base loads never alarms
DAY_FLOOR_FACTOR = 1.1  # beyond the largest ordinary drop or rise seen in calibration
BUSY_RISE_FACTOR = 2.0  # other hours: the rise must exceed this many times the largest ordinary one
MIN_SCALE_KWH = 0.01  # band scale floor (10 W over an hour)
SHIFT_REFERENCE_DAYS = 21  # each hour's usual use: the same hour (±1 h) over these days before
SHIFT_STOPPED_LOAD_W = 40.0  # a stop worth noticing: a fridge (at most half the base load)
SHIFT_MAX_EVIDENCE = 2.0  # one hour adds at most this much log-evidence: no single hour decides
SHIFT_MIN_EVIDENCE = 4.6  # a shift is never flagged on less evidence than 100 : 1
# Against the largest evidence any ordinary 48-h stretch of the 56 calibration days gathered:
# a check sees one 48-h stretch, rarely that unlucky, so the evidence rule may go a little below.
SHIFT_FACTOR = 0.9
SHIFT_MIN_SAMPLES = 10  # an hour with fewer usual values than this adds no evidence
SHIFT_MIN_BANDWIDTH_KWH = 0.002  # meters count in Wh: never resolve finer than 2 Wh
SHIFT_WINDOW_HOURS = 48  # evidence of a shift is gathered over at most the last two days
# A new always-on load raises the night's floor and the floor of the day after it together; a
# night of heating or a day at home raises only one of them.
DAYTIME_FIRST_HOUR = max(NIGHT_HOURS) + 1  # the day's hours start where the night's end
DAYTIME_MIN_HOURS = 6  # the daytime floor is judged once this many of the day's hours are seen
FLOORS_LOWEST = RAISED_FLOOR_LOWEST  # each floor is the mean of its lowest hours, as the raised one
FLOORS_RISE = 0.7  # both floors above their usual level by this many base loads: a new load
FLOORS_ORDINARY_EXCEEDING = 2  # ... and above all but the 2 highest of the 56 ordinary days


@dataclass(frozen=True, slots=True)
class UnusualUse:
    """The detector's verdict for the latest hour."""

    active: bool
    kind: Literal["none", "excess", "shortfall", "raised_floor"]
    since: float | None  # hour start where the unusual run began (local wall clock)
    expected_kwh: float  # what was expected over the run (or the latest hour)
    seen_kwh: float  # what was used over the run (or the latest hour)
    # The band around expected_kwh (NaN when not active): the forecasts' 80 % band summed over
    # the run's hours, or for a floor's verdict the ordinary range of the always-on energy.
    lower_kwh: float = float("nan")
    upper_kwh: float = float("nan")


def _excess_runs(
    seen: FloatArray, upper: FloatArray, scale: FloatArray
) -> tuple[FloatArray, IntArray]:
    """Running excess score and run length of consecutive hours above the band."""
    above = np.isfinite(seen) & np.isfinite(upper) & (seen > upper)
    score = np.zeros(seen.size)
    length = np.zeros(seen.size, dtype=np.int64)
    running, run = 0.0, 0
    excess = np.where(above, (seen - upper) / scale, 0.0)
    for index in range(seen.size):
        if above[index]:
            running += float(excess[index])
            run += 1
        else:
            running, run = 0.0, 0
        score[index], length[index] = running, run
    return score, length


def _window_floor(values: FloatArray, width: int, lowest: int) -> FloatArray:
    """Mean of the ``lowest`` smallest values of the ``width`` hours ending at each index.

    NaN where the window is incomplete or holds an unknown hour.
    """
    floors = np.full(values.size, np.nan)
    if values.size < width:
        return floors
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(values, width), axis=1)
    floors[width - 1 :] = windows[:, :lowest].mean(axis=1)  # NaN sorts last: stays NaN
    floors[width - 1 :][~np.isfinite(windows[:, -1])] = np.nan
    return floors


def _day_floors(values: FloatArray) -> FloatArray:
    """The day's floor (mean of the lowest hours of the last ``DAY_FLOOR_HOURS``) at each index."""
    floors = np.full(values.size, np.nan)
    if values.size < DAY_FLOOR_HOURS:
        return floors
    windows = np.lib.stride_tricks.sliding_window_view(values, DAY_FLOOR_HOURS)
    known = np.isfinite(windows).sum(axis=1)
    lowest = np.sort(windows, axis=1)[:, :DAY_FLOOR_LOWEST].mean(axis=1)  # NaN sorts last
    floors[DAY_FLOOR_HOURS - 1 :] = np.where(known >= DAY_FLOOR_MIN_KNOWN, lowest, np.nan)
    return floors


def _day_floor_limits(
    times: FloatArray, energy: FloatArray, today: float, base_load_kwh: float
) -> tuple[float, float, float]:
    """The usual day's floor and the largest ordinary drop and rise of it (kWh per hour).

    Each calibration day's floors are compared with the median of the floors of the
    ``FLOOR_REFERENCE_DAYS`` before it, as :meth:`UnusualUseDetector.check` compares the latest
    floor with the usual one; a fault must move the floor further than any ordinary day did.
    """
    span = DETECTOR_CALIBRATION_DAYS + FLOOR_REFERENCE_DAYS
    matrix = to_day_matrix(times, energy, first_day=today - span * DAY, days=span)
    floors = _day_floors(matrix.values.reshape(-1)).reshape(span, 24)
    with np.errstate(invalid="ignore"):
        usual_then = np.array(
            [
                nan_statistic(np.nanmedian, floors[day - FLOOR_REFERENCE_DAYS : day])
                for day in range(FLOOR_REFERENCE_DAYS, span)
            ]
        )
        shifts = floors[FLOOR_REFERENCE_DAYS:] - usual_then[:, None]
        largest_drop = float(np.nanmax(-shifts)) if np.isfinite(shifts).any() else float("nan")
        largest_rise = float(np.nanmax(shifts)) if np.isfinite(shifts).any() else float("nan")
        usual = float(nan_statistic(np.nanmedian, floors[-FLOOR_REFERENCE_DAYS:]))
    base = max(base_load_kwh, 0.0) if np.isfinite(base_load_kwh) else float("nan")
    drop = max(DAY_FLOOR_MIN_DROP_KWH, DAY_FLOOR_FACTOR * largest_drop)
    rise = max(DAY_FLOOR_MIN_RISE * base, DAY_FLOOR_FACTOR * largest_rise)
    if not base > 0.0:
        rise = float("nan")  # no always-on load: nothing to compare a rise with
    return usual, drop, rise


def _raised_floor_ceiling(
    times: FloatArray, energy: FloatArray, today: float, base_load_kwh: float
) -> FloatArray:
    """Per hour of day, the level above which the last hours' floor means a new constant load.

    Each calibration day's floors are compared with the median of the ``FLOOR_REFERENCE_DAYS``
    before it; the ceiling is today's usual floor plus the largest ordinary rise plus a margin
    in base loads. Hours whose usual floor is well above the base load (someone is usually up
    and about) are too variable to judge and get NaN.
    """
    ceiling = np.full(24, np.nan)
    if not np.isfinite(base_load_kwh):
        return ceiling
    base_load_kwh = max(base_load_kwh, 0.0)
    span = DETECTOR_CALIBRATION_DAYS + FLOOR_REFERENCE_DAYS
    matrix = to_day_matrix(times, energy, first_day=today - span * DAY, days=span)
    floors = _window_floor(
        matrix.values.reshape(-1), RAISED_FLOOR_HOURS, RAISED_FLOOR_LOWEST
    ).reshape(span, 24)
    with np.errstate(invalid="ignore"):
        rises = np.stack(
            [
                floors[day]
                - nan_statistic(np.nanmedian, floors[day - FLOOR_REFERENCE_DAYS : day], axis=0)
                for day in range(FLOOR_REFERENCE_DAYS, span)
            ]
        )
        largest_rise = nan_statistic(np.nanmax, rises, axis=0)
        usual = nan_statistic(np.nanmedian, floors[-FLOOR_REFERENCE_DAYS:], axis=0)
        quiet = (usual <= QUIET_FLOOR_FACTOR * base_load_kwh) & (base_load_kwh > 0.0)
    # Busy hours vary more from day to day: only a rise far beyond the ordinary ones counts there.
    rise_factor = np.where(quiet, 1.0, BUSY_RISE_FACTOR)
    judged = np.isfinite(largest_rise) & np.isfinite(usual)
    margin = RAISED_FLOOR_MARGIN * base_load_kwh
    ceiling[judged] = (usual + rise_factor * np.maximum(largest_rise, 0.0) + margin)[judged]
    return ceiling


def _rolling_max(values: FloatArray, width: int) -> FloatArray:
    """Max over each window of ``width`` consecutive values (NaN if any is unknown)."""
    if values.size < width:
        return np.empty(0)
    windows = np.lib.stride_tricks.sliding_window_view(values, width)
    return np.asarray(windows.max(axis=1), dtype=np.float64)


def _night_and_daytime_floors(days: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each day's night floor and, per hour of day, the floor of its daytime hours so far.

    ``days`` is days × 24 (kWh). The night floor is the mean of the ``FLOORS_LOWEST`` lowest of
    the ``NIGHT_HOURS``; the daytime floor at hour h the same over ``DAYTIME_FIRST_HOUR`` … h,
    NaN before ``DAYTIME_MIN_HOURS`` of them or where fewer than ``FLOORS_LOWEST`` are known.
    """
    night = np.sort(days[:, list(NIGHT_HOURS)], axis=1)[:, :FLOORS_LOWEST].mean(axis=1)
    daytime = np.full(days.shape, np.nan)
    for hour in range(DAYTIME_FIRST_HOUR + DAYTIME_MIN_HOURS - 1, 24):
        so_far = np.sort(days[:, DAYTIME_FIRST_HOUR : hour + 1], axis=1)  # NaN sorts last
        daytime[:, hour] = so_far[:, :FLOORS_LOWEST].mean(axis=1)
    return night, daytime


def _floors_rise(
    night: FloatArray, daytime: FloatArray, usual_night: float, usual_daytime: FloatArray
) -> FloatArray:
    """How far both floors rose above their usual levels: the smaller of the two rises."""
    return np.asarray(np.minimum(night - usual_night, daytime - usual_daytime), dtype=np.float64)


def _floors_limits(
    times: FloatArray, energy: FloatArray, today: float, base_load_kwh: float
) -> tuple[float, FloatArray, float]:
    """The usual night floor, the usual daytime floor per hour and the limit of their rise.

    Each calibration day is compared with the median of the ``FLOOR_REFERENCE_DAYS`` before it,
    as :meth:`UnusualUseDetector.check` compares today; the limit is ``FLOORS_RISE`` base loads
    or, where more ordinary days rose that far, what all but ``FLOORS_ORDINARY_EXCEEDING`` of
    them stayed below.
    """
    span = DETECTOR_CALIBRATION_DAYS + FLOOR_REFERENCE_DAYS
    matrix = to_day_matrix(times, energy, first_day=today - span * DAY, days=span).values
    night, daytime = _night_and_daytime_floors(matrix)
    usual_night = float(nan_statistic(np.nanmedian, night[-FLOOR_REFERENCE_DAYS:]))
    usual_daytime = nan_statistic(np.nanmedian, daytime[-FLOOR_REFERENCE_DAYS:], axis=0)
    if not (np.isfinite(base_load_kwh) and base_load_kwh > 0.0):
        return usual_night, usual_daytime, float("nan")  # no always-on load to compare with
    ordinary = []
    for day in range(FLOOR_REFERENCE_DAYS, span):
        then = slice(day - FLOOR_REFERENCE_DAYS, day)
        rise = _floors_rise(
            night[day],
            daytime[day],
            float(nan_statistic(np.nanmedian, night[then])),
            nan_statistic(np.nanmedian, daytime[then], axis=0),
        )
        if np.isfinite(rise).any():
            ordinary.append(float(np.nanmax(rise)))
    limit = FLOORS_RISE * base_load_kwh
    if ordinary:
        highest = sorted(ordinary, reverse=True)
        limit = max(limit, highest[min(FLOORS_ORDINARY_EXCEEDING, len(highest) - 1)])
    return usual_night, usual_daytime, limit


def _usual_by_hour(reference: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each hour of day's usual values and their kernel bandwidth (kWh).

    ``reference`` is days × 24; an hour's usual values are that hour and its neighbours over
    the reference days: 24 × (3 · days), NaN where unknown. The bandwidth is Silverman's rule
    on a robust spread (NaN when fewer than ``SHIFT_MIN_SAMPLES`` values are known).
    """
    columns = np.array([[(hour + shift) % 24 for shift in (-1, 0, 1)] for hour in range(24)])
    usual = reference[:, columns].transpose(1, 0, 2).reshape(24, -1)
    count = np.isfinite(usual).sum(axis=1)
    low, high = nan_statistic(np.nanquantile, usual, axis=1, q=[0.25, 0.75])
    spread = np.minimum(nan_statistic(np.nanstd, usual, axis=1), (high - low) / 1.349)
    bandwidth = 0.9 * spread * np.maximum(count, 1) ** -0.2
    return usual, np.where(count >= SHIFT_MIN_SAMPLES, bandwidth, np.nan)


def _shift_evidence(
    values: FloatArray,
    hour_of_day: IntArray,
    usual: tuple[FloatArray, FloatArray],
    shift_kwh: float,
) -> FloatArray:
    """Per hour, the log-likelihood ratio of "usual use shifted by ``shift_kwh``" to "usual use".

    Each hour of day's usual use is a kernel density of its usual values (see
    :func:`_usual_by_hour`; the bandwidth at least a quarter of the shift). Hours whose use is
    tight (the night's always-on load) weigh most; hours that vary a lot (cooking, the
    dishwasher when it usually runs) add almost nothing. Clipped to ±``SHIFT_MAX_EVIDENCE``;
    0 where the value or enough usual values are unknown.
    """
    evidence = np.zeros(values.size)
    samples, bandwidth = usual[0][hour_of_day], usual[1][hour_of_day]
    judged = np.isfinite(values) & np.isfinite(bandwidth)
    if not judged.any() or shift_kwh == 0.0:
        return evidence
    samples, x = samples[judged], values[judged]
    finite = np.isfinite(samples)
    width = np.maximum(bandwidth[judged], max(0.25 * abs(shift_kwh), SHIFT_MIN_BANDWIDTH_KWH))

    def log_density(at: FloatArray) -> FloatArray:
        z = (at[:, None] - samples) / width[:, None]
        log_kernel = np.where(finite, -0.5 * z * z, -np.inf)
        peak = np.max(log_kernel, axis=1)
        return np.asarray(peak + np.log(np.sum(np.exp(log_kernel - peak[:, None]), axis=1)))

    ratio = log_density(x - shift_kwh) - log_density(x)
    evidence[judged] = np.clip(ratio, -SHIFT_MAX_EVIDENCE, SHIFT_MAX_EVIDENCE)
    return evidence


def _windowed_cusum(evidence: FloatArray) -> FloatArray:
    """Page's CUSUM restarted ``SHIFT_WINDOW_HOURS`` back: the most evidence ending at each hour.

    With cumulative sums C, the CUSUM started at hour a is C_t − min(C_j, a − 1 ≤ j ≤ t).
    """
    cumulative = np.concatenate([[0.0], np.cumsum(evidence)])
    padded = np.concatenate([np.zeros(SHIFT_WINDOW_HOURS), cumulative])
    windows = np.lib.stride_tricks.sliding_window_view(padded, SHIFT_WINDOW_HOURS + 1)
    lowest = np.minimum(windows.min(axis=1)[: cumulative.size], cumulative)
    return np.asarray((cumulative - lowest)[1:], dtype=np.float64)


def _shift_sizes(base_load_kwh: float) -> tuple[float, float]:
    """The rise (a new always-on load as large as the base load) and the drop (a fridge) judged."""
    if not (np.isfinite(base_load_kwh) and base_load_kwh > 0.0):
        return float("nan"), float("nan")
    return base_load_kwh, min(SHIFT_STOPPED_LOAD_W / 1000.0, 0.5 * base_load_kwh)


def _shift_limits(
    times: FloatArray, energy: FloatArray, today: float, base_load_kwh: float
) -> tuple[FloatArray, float, float]:
    """The reference days (days × 24) and the evidence limits of a rise and of a drop.

    Each calibration day is judged against the ``SHIFT_REFERENCE_DAYS`` before it, as
    :meth:`UnusualUseDetector.check` judges today; a shift must gather more evidence than any
    ``SHIFT_WINDOW_HOURS`` of ordinary calibration days did.
    """
    span = DETECTOR_CALIBRATION_DAYS + SHIFT_REFERENCE_DAYS
    matrix = to_day_matrix(times, energy, first_day=today - span * DAY, days=span).values
    reference_now = matrix[-SHIFT_REFERENCE_DAYS:]
    rise_kwh, drop_kwh = _shift_sizes(base_load_kwh)
    if not np.isfinite(rise_kwh):
        return reference_now, float("nan"), float("nan")
    hours = np.arange(24, dtype=np.int64)
    rises, drops = [], []
    for day in range(SHIFT_REFERENCE_DAYS, span):
        usual = _usual_by_hour(matrix[day - SHIFT_REFERENCE_DAYS : day])
        rises.append(_shift_evidence(matrix[day], hours, usual, rise_kwh))
        drops.append(_shift_evidence(matrix[day], hours, usual, -drop_kwh))
    rise_limit = SHIFT_FACTOR * float(np.max(_windowed_cusum(np.concatenate(rises))))
    drop_limit = SHIFT_FACTOR * float(np.max(_windowed_cusum(np.concatenate(drops))))
    return reference_now, max(SHIFT_MIN_EVIDENCE, rise_limit), max(SHIFT_MIN_EVIDENCE, drop_limit)


@dataclass(slots=True)
class UnusualUseDetector:
    """Flags consumption that stays outside the expected band long enough to matter.

    Rules, all calibrated on the home's own recent ordinary days so recurring loads (the
    dishwasher at night as always) stay quiet:

    * excess: consecutive hours above the 80 % band whose summed excess (in band scales) is
      larger than any ordinary run seen in the calibration days;
    * shortfall: ``SHORTFALL_HOURS`` consecutive hours below the always-on floor (the lowest
      level the home ever stays at for that long) by more than a ``SHORTFALL_FACTOR`` margin,
      e.g. a fridge or freezer that stopped;
    * raised floor: the floor of the last ``RAISED_FLOOR_HOURS`` (mean of its two lowest hours)
      above its usual level for that hour of day by more than any ordinary rise in calibration
      plus ``RAISED_FLOOR_MARGIN`` base loads (``BUSY_RISE_FACTOR`` times that rise at hours
      whose usual floor is well above the base load), e.g. a heater left on or a new always-on
      load doubling the base load;
    * the day's floor (mean of the 3 lowest of the last 24 hours) falling (``shortfall``) or
      rising (``raised_floor``) from its usual level over the last ``FLOOR_REFERENCE_DAYS``
      by more than it ever did in calibration: a fridge that stopped shows at the next night
      even when a single hour cannot tell; so does a base load that doubled;
    * the night's floor and the floor of today's daytime hours so far (``raised_floor``) both
      above their usual levels over the last ``FLOOR_REFERENCE_DAYS`` by ``FLOORS_RISE`` base
      loads, and by more than all but ``FLOORS_ORDINARY_EXCEEDING`` ordinary calibration days
      rose: a new always-on load lifts every hour, while a night of heating or a day at home
      lifts only one of the two floors;
    * evidence of a shift (``shortfall`` / ``raised_floor``): over the last
      ``SHIFT_WINDOW_HOURS``, a CUSUM of each hour's log-likelihood ratio of "usual use minus a
      fridge" (or "plus a second base load") to "usual use", the usual use of that hour of day
      learned over the ``SHIFT_REFERENCE_DAYS`` before; small, persistent shifts add up where
      the night's use is tight, while hours that vary anyway (the dishwasher at night as
      always) add next to nothing. It must exceed the most evidence any two ordinary days
      gathered in calibration; away hours add no evidence of a stop.

    Works on hourly energy; finer power can be fed as hourly energy of the hours so far.
    """

    excess_threshold: float = EXCESS_MIN_SCORE
    floor_kwh: float = float("nan")
    scale_kwh: list[float] = field(default_factory=lambda: [MIN_SCALE_KWH] * 24)
    ceiling_kwh: list[float] = field(default_factory=lambda: [float("nan")] * 24)
    day_floor_kwh: float = float("nan")  # the usual day's floor (kWh per hour)
    day_floor_drop_kwh: float = float("nan")  # the day's floor falling by more: something stopped
    day_floor_rise_kwh: float = float("nan")  # rising by more: a new always-on load
    usual_days_kwh: list[list[float]] = field(default_factory=list)  # the reference days × 24
    shift_rise_kwh: float = float("nan")  # the new always-on load the rise evidence looks for
    shift_drop_kwh: float = float("nan")  # the stopped load the drop evidence looks for
    rise_evidence_limit: float = float("nan")  # evidence of a rise beyond this: a new load
    drop_evidence_limit: float = float("nan")  # evidence of a drop beyond this: a load stopped
    night_floor_kwh: float = float("nan")  # the usual night floor (kWh per hour)
    # The usual floor of the daytime hours up to each hour of day (NaN: not judged yet).
    daytime_floor_kwh: list[float] = field(default_factory=lambda: [float("nan")] * 24)
    floors_rise_kwh: float = float("nan")  # both floors rising by more: a new always-on load
    calibrated_days: int = 0
    _usual: tuple[FloatArray, FloatArray] | None = field(default=None, repr=False, compare=False)

    @classmethod
    @on_one_thread
    def train(
        cls,
        forecaster: EnergyForecaster,
        hour_starts: Any,
        kwh: Any,
        *,
        now: float | None = None,
        workday: Any = None,
    ) -> UnusualUseDetector:
        """Calibrate on the last ``DETECTOR_CALIBRATION_DAYS`` whole days before ``now``.

        ``workday``: optional per-hour flags aligned with ``hour_starts``, the same the
        forecaster was trained with (see :func:`day_ahead_expectations`).
        """
        times = _as_float_array(hour_starts, "hour_starts")
        energy = _as_float_array(kwh, "kwh")
        if now is None:
            finite = times[np.isfinite(times)]
            now = float(finite.max()) + HOUR if finite.size else 0.0
        today = float(np.floor(now / DAY) * DAY)
        first = today - DETECTOR_CALIBRATION_DAYS * DAY
        detector = cls()
        band = np.asarray(forecaster.band, dtype=np.float64)
        detector.scale_kwh = np.maximum((band[1] - band[0]) / 2.563, MIN_SCALE_KWH).tolist()
        if forecaster.status == "learning":
            return detector
        matrix = to_day_matrix(times, energy, first_day=first, days=DETECTOR_CALIBRATION_DAYS)
        seen = matrix.values.reshape(-1)
        known_days = int((np.isfinite(matrix.values).sum(axis=1) >= 12).sum())
        detector.calibrated_days = known_days
        if known_days < MIN_DAYS:
            return detector
        expected = day_ahead_expectations(
            forecaster, times, energy, first, DETECTOR_CALIBRATION_DAYS, workday=workday
        )
        scale = np.tile(np.asarray(detector.scale_kwh), DETECTOR_CALIBRATION_DAYS)
        score, length = _excess_runs(seen, expected.upper, scale)
        ordinary = score[length >= EXCESS_MIN_HOURS]
        largest = float(ordinary.max()) if ordinary.size else 0.0
        detector.excess_threshold = max(EXCESS_MIN_SCORE, EXCESS_THRESHOLD_FACTOR * largest)
        lowest_runs = _rolling_max(seen, SHORTFALL_HOURS)
        lowest_runs = lowest_runs[np.isfinite(lowest_runs)]
        if lowest_runs.size:
            detector.floor_kwh = float(lowest_runs.min())
        ceiling = _raised_floor_ceiling(times, energy, today, forecaster.base_load_w / 1000.0)
        detector.ceiling_kwh = ceiling.tolist()
        usual, drop, rise = _day_floor_limits(times, energy, today, forecaster.base_load_w / 1000.0)
        detector.day_floor_kwh, detector.day_floor_drop_kwh, detector.day_floor_rise_kwh = (
            usual,
            drop,
            rise,
        )
        base_load_kwh = forecaster.base_load_w / 1000.0
        usual_days, rise_limit, drop_limit = _shift_limits(times, energy, today, base_load_kwh)
        detector.usual_days_kwh = usual_days.tolist()
        detector.shift_rise_kwh, detector.shift_drop_kwh = _shift_sizes(base_load_kwh)
        detector.rise_evidence_limit, detector.drop_evidence_limit = rise_limit, drop_limit
        night, daytime, floors_rise = _floors_limits(times, energy, today, base_load_kwh)
        detector.night_floor_kwh, detector.floors_rise_kwh = night, floors_rise
        detector.daytime_floor_kwh = daytime.tolist()
        return detector

    def check(
        self,
        hour_starts: Any,
        kwh: Any,
        expected: EnergyForecast,
        *,
        away: Any = None,
    ) -> UnusualUse:
        """Judge the latest known hour of ``kwh`` against the forecasts made for those hours.

        ``hour_starts``/``kwh``: the last day or two of hourly energy; ``expected``: the
        day-ahead forecasts covering them (see :func:`day_ahead_expectations`); ``away``: an
        optional per-hour flag aligned with ``hour_starts`` (1 = nobody home), during which
        less use is expected (the band's lower edge, the band above it lowered by as much) and
        a shortfall above the floor is normal.
        """
        times = _as_float_array(hour_starts, "hour_starts")
        seen = _as_float_array(kwh, "kwh")
        known = np.isfinite(times) & np.isfinite(seen)
        if not known.any():
            return UnusualUse(False, "none", None, float("nan"), float("nan"))
        slot = {float(t): i for i, t in enumerate(expected.hour_starts)}
        index = np.array([slot.get(float(t), -1) for t in times], dtype=np.int64)
        matched = index >= 0
        expected_now = np.full(times.size, np.nan)
        upper = np.full(times.size, np.nan)
        expected_now[matched] = expected.kwh[index[matched]]
        upper[matched] = expected.upper[index[matched]]
        lower = np.full(times.size, np.nan)
        lower[matched] = expected.lower[index[matched]]
        away_flags = np.zeros(times.size, dtype=bool)
        if away is not None:
            away_flags = _as_float_array(away, "away") >= 0.5
            # Nobody home: the band moves down so that its low edge is what is expected.
            upper = np.where(away_flags, np.maximum(upper - (expected_now - lower), lower), upper)
            expected_now = np.where(away_flags, lower, expected_now)
        verdict = self._judge(times, seen, known, expected_now, upper, away_flags)
        if not verdict.active or verdict.since is None:
            return verdict
        last = int(np.flatnonzero(known)[-1])
        run = (times >= verdict.since) & (np.arange(times.size) <= last)
        # A floor's verdict brings its own band; the others show the forecasts' band.
        lower_kwh = verdict.lower_kwh
        if np.isnan(lower_kwh):
            lower_kwh = float(np.nansum(lower[run]))
        upper_kwh = verdict.upper_kwh
        if np.isnan(upper_kwh):  # never below what was expected, however tight the forecasts
            upper_kwh = max(float(np.nansum(upper[run])), verdict.expected_kwh)
        return replace(verdict, lower_kwh=lower_kwh, upper_kwh=upper_kwh)

    def _judge(
        self,
        times: FloatArray,
        seen: FloatArray,
        known: NDArray[np.bool_],
        expected_now: FloatArray,
        upper: FloatArray,
        away_flags: NDArray[np.bool_],
    ) -> UnusualUse:
        """Apply the rules in turn to the latest known hour; the first that holds is the verdict."""
        hour_of_day = ((times % DAY) // HOUR).astype(np.int64)
        scale = np.asarray(self.scale_kwh, dtype=np.float64)[hour_of_day]
        score, length = _excess_runs(seen, upper, scale)
        last = int(np.flatnonzero(known)[-1])
        if length[last] >= EXCESS_MIN_HOURS and score[last] > self.excess_threshold:
            first = last - int(length[last]) + 1
            return UnusualUse(
                True,
                "excess",
                float(times[first]),
                float(np.nansum(expected_now[first : last + 1])),
                float(np.nansum(seen[first : last + 1])),
            )
        if np.isfinite(self.floor_kwh) and last + 1 >= SHORTFALL_HOURS:
            recent = seen[last + 1 - SHORTFALL_HOURS : last + 1]
            lowered = SHORTFALL_FACTOR * float(recent.max()) < self.floor_kwh
            if np.all(np.isfinite(recent)) and lowered:
                return UnusualUse(
                    True,
                    "shortfall",
                    float(times[last + 1 - SHORTFALL_HOURS]),
                    self.floor_kwh * SHORTFALL_HOURS,
                    float(recent.sum()),
                    # The lowest ordinary level was expected; below this it is a stop.
                    lower_kwh=self.floor_kwh / SHORTFALL_FACTOR * SHORTFALL_HOURS,
                )
        day_floor, day_first = float("nan"), float(times[0])
        if last + 1 >= DAY_FLOOR_HOURS:  # the day's floor needs a day of hours
            day_floor = float(_day_floors(seen[: last + 1])[-1])
            day_first = float(times[last + 1 - DAY_FLOOR_HOURS])
        # The day's rules report the always-on energy over the day: usual floor vs. seen floor.
        if self.day_floor_kwh - day_floor > self.day_floor_drop_kwh:  # False when any is NaN
            return self._day_floor_verdict("shortfall", day_first, day_floor)
        window = slice(max(0, last + 1 - SHIFT_WINDOW_HOURS), last + 1)
        drop = self._shift_evidence(seen[window], hour_of_day[window], -self.shift_drop_kwh)
        if drop is not None:
            # Nobody home: using less than usual is expected, so absence adds no evidence of a stop.
            drop = np.where(away_flags[window], np.minimum(drop, 0.0), drop)
            gathered = _windowed_cusum(drop)
            if gathered[-1] > self.drop_evidence_limit:
                return self._shift_verdict("shortfall", gathered, window, times, seen, expected_now)
        ceiling = float(self.ceiling_kwh[int(hour_of_day[last])])
        if np.isfinite(ceiling) and last + 1 >= RAISED_FLOOR_HOURS:
            recent = seen[last + 1 - RAISED_FLOOR_HOURS : last + 1]
            # The window's floor: the mean of its lowest hours.
            floor = float(np.sort(recent)[:RAISED_FLOOR_LOWEST].mean())
            if np.all(np.isfinite(recent)) and floor > ceiling:
                return UnusualUse(
                    True,
                    "raised_floor",
                    float(times[last + 1 - RAISED_FLOOR_HOURS]),
                    float(np.nansum(expected_now[last + 1 - RAISED_FLOOR_HOURS : last + 1])),
                    float(recent.sum()),
                )
        if day_floor - self.day_floor_kwh > self.day_floor_rise_kwh:
            return self._day_floor_verdict("raised_floor", day_first, day_floor)
        midnight = float(np.floor(times[last] / DAY) * DAY)
        floors_rise = self._floors_rise(times[: last + 1], seen[: last + 1], midnight)
        if floors_rise > self.floors_rise_kwh:  # False when either is NaN
            # Reported over today's hours so far: the night is part of the evidence.
            today = (times >= midnight) & (np.arange(times.size) <= last)
            return UnusualUse(
                True,
                "raised_floor",
                float(times[today][0]),
                float(np.nansum(expected_now[today])),
                float(np.nansum(seen[today])),
            )
        rise = self._shift_evidence(seen[window], hour_of_day[window], self.shift_rise_kwh)
        if rise is not None:
            gathered = _windowed_cusum(rise)
            if gathered[-1] > self.rise_evidence_limit:
                return self._shift_verdict(
                    "raised_floor", gathered, window, times, seen, expected_now
                )
        return UnusualUse(False, "none", None, float(expected_now[last]), float(seen[last]))

    def _day_floor_verdict(
        self, kind: Literal["shortfall", "raised_floor"], since: float, day_floor: float
    ) -> UnusualUse:
        """The always-on energy over the day, usual vs. seen, with its ordinary range."""
        # An unset limit (its rule switched off) leaves that edge to the forecasts' band.
        return UnusualUse(
            True,
            kind,
            since,
            self.day_floor_kwh * DAY_FLOOR_HOURS,
            day_floor * DAY_FLOOR_HOURS,
            lower_kwh=max(self.day_floor_kwh - self.day_floor_drop_kwh, 0.0) * DAY_FLOOR_HOURS,
            upper_kwh=(self.day_floor_kwh + self.day_floor_rise_kwh) * DAY_FLOOR_HOURS,
        )

    def _floors_rise(self, times: FloatArray, seen: FloatArray, midnight: float) -> float:
        """How far today's night and daytime floors both rose by the last of ``times``.

        Today's hours are laid out as calibration lays out its days; NaN before the floors can
        be judged.
        """
        today = to_day_matrix(times, seen, first_day=midnight, days=1).values
        night, daytime = _night_and_daytime_floors(today)
        hour = int((times[-1] - midnight) // HOUR)
        usual_daytime = np.asarray(self.daytime_floor_kwh, dtype=np.float64)
        return float(
            _floors_rise(night, daytime[:, hour], self.night_floor_kwh, usual_daytime[hour])[0]
        )

    def _shift_evidence(
        self, seen: FloatArray, hour_of_day: IntArray, shift_kwh: float
    ) -> FloatArray | None:
        """Each hour's evidence of use shifted by ``shift_kwh`` (None when not calibrated)."""
        if not (np.isfinite(shift_kwh) and len(self.usual_days_kwh)):
            return None
        if self._usual is None:  # built once from the stored reference days
            self._usual = _usual_by_hour(np.asarray(self.usual_days_kwh, dtype=np.float64))
        return _shift_evidence(seen, hour_of_day, self._usual, shift_kwh)

    @staticmethod
    def _shift_verdict(
        kind: Literal["shortfall", "raised_floor"],
        gathered: FloatArray,
        window: slice,
        times: FloatArray,
        seen: FloatArray,
        expected_now: FloatArray,
    ) -> UnusualUse:
        """Report a shift over the hours since its evidence last stood at zero."""
        zero = np.flatnonzero(gathered[:-1] <= 0.0)
        first = int(window.start or 0) + (int(zero[-1]) + 1 if zero.size else 0)
        last = int(window.stop) - 1
        return UnusualUse(
            True,
            kind,
            float(times[first]),
            float(np.nansum(expected_now[first : last + 1])),
            float(np.nansum(seen[first : last + 1])),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {
            "version": DETECTOR_VERSION,
            "excess_threshold": float(self.excess_threshold),
            "floor_kwh": _json_float(self.floor_kwh),
            "scale_kwh": [float(v) for v in self.scale_kwh],
            "ceiling_kwh": [_json_float(v) for v in self.ceiling_kwh],
            "day_floor_kwh": _json_float(self.day_floor_kwh),
            "day_floor_drop_kwh": _json_float(self.day_floor_drop_kwh),
            "day_floor_rise_kwh": _json_float(self.day_floor_rise_kwh),
            "usual_days_kwh": [[_json_float(v) for v in row] for row in self.usual_days_kwh],
            "shift_rise_kwh": _json_float(self.shift_rise_kwh),
            "shift_drop_kwh": _json_float(self.shift_drop_kwh),
            "rise_evidence_limit": _json_float(self.rise_evidence_limit),
            "drop_evidence_limit": _json_float(self.drop_evidence_limit),
            "night_floor_kwh": _json_float(self.night_floor_kwh),
            "daytime_floor_kwh": [_json_float(v) for v in self.daytime_floor_kwh],
            "floors_rise_kwh": _json_float(self.floors_rise_kwh),
            "calibrated_days": self.calibrated_days,
        }

    @classmethod
    def from_dict(cls, data: Any) -> UnusualUseDetector:
        """Rebuild from :meth:`to_dict`; raises ``ValueError`` on bad or old data."""
        try:
            if not isinstance(data, dict) or data.get("version") != DETECTOR_VERSION:
                raise ValueError("unsupported detector version")
            scale = [float(v) for v in data["scale_kwh"]]
            ceiling = [_float_or_nan(v) for v in data["ceiling_kwh"]]
            threshold = float(data["excess_threshold"])
            usual_days = [[_float_or_nan(v) for v in row] for row in data["usual_days_kwh"]]
            daytime = [_float_or_nan(v) for v in data["daytime_floor_kwh"]]
            if (
                len(scale) != 24
                or len(ceiling) != 24
                or len(daytime) != 24
                or any(len(row) != 24 for row in usual_days)
                or not np.isfinite(threshold)
                or min(scale) <= 0
            ):
                raise ValueError("inconsistent detector data")
            return cls(
                excess_threshold=threshold,
                floor_kwh=_float_or_nan(data["floor_kwh"]),
                scale_kwh=scale,
                ceiling_kwh=ceiling,
                day_floor_kwh=_float_or_nan(data["day_floor_kwh"]),
                day_floor_drop_kwh=_float_or_nan(data["day_floor_drop_kwh"]),
                day_floor_rise_kwh=_float_or_nan(data["day_floor_rise_kwh"]),
                usual_days_kwh=usual_days,
                shift_rise_kwh=_float_or_nan(data["shift_rise_kwh"]),
                shift_drop_kwh=_float_or_nan(data["shift_drop_kwh"]),
                rise_evidence_limit=_float_or_nan(data["rise_evidence_limit"]),
                drop_evidence_limit=_float_or_nan(data["drop_evidence_limit"]),
                night_floor_kwh=_float_or_nan(data["night_floor_kwh"]),
                daytime_floor_kwh=daytime,
                floors_rise_kwh=_float_or_nan(data["floors_rise_kwh"]),
                calibrated_days=int(data["calibrated_days"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"bad detector data: {err}") from err
