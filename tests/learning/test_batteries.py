"""Tests for battery discharge learning and low-date prediction."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.foresight.learning.batteries import (
    LINE_SPAN,
    MAX_RUNS,
    BatteryDischarge,
    _fit_discharge,
    _fit_polynomial,
    hourly_readings,
)

HOUR = 3600.0
DAY = 86400.0
START = 1_700_006_400.0


def _trace(
    days: float,
    per_day: float,
    *,
    step: float = 1.0,
    start_level: float = 100.0,
    every: float = 6 * HOUR,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """A linear discharge read every few hours, rounded to ``step``; and its true 10 % time."""
    rng = np.random.default_rng(seed)
    times = START + np.cumsum(every * rng.uniform(0.6, 1.4, int(days * DAY / every)))
    true_level = start_level - per_day * (times - START) / DAY
    levels = np.clip(np.round(true_level / step) * step, 0, 100)
    low_at = START + (start_level - 10.0) / per_day * DAY
    return times, levels, low_at


@pytest.mark.parametrize(("step", "tolerance_days"), [(1.0, 1.0), (5.0, 2.5), (10.0, 5.0)])
def test_linear_discharge_predicted(step: float, tolerance_days: float) -> None:
    """A steady 1 %/day discharge: the low date is found through the reporting steps."""
    times, levels, low_at = _trace(70, 1.0, step=step)
    forecast = BatteryDischarge.from_history(times, levels).forecast(float(times[-1]))
    assert forecast.status == "predicted"
    assert forecast.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < tolerance_days
    assert forecast.low_at_early is not None and forecast.low_at_late is not None
    assert forecast.low_at_early <= low_at <= forecast.low_at_late
    assert forecast.discharge_per_day == pytest.approx(1.0, rel=0.25)


def test_replacement_starts_a_new_discharge() -> None:
    """A jump up is a new battery, not an outlier: only the new discharge is used."""
    old_times, old_levels, _ = _trace(60, 1.5, start_level=90)
    new_times, new_levels, low_at = _trace(40, 0.8, seed=1)
    new_times = new_times + 65 * DAY
    low_at += 65 * DAY
    discharge = BatteryDischarge.from_history(
        np.concatenate([old_times, new_times]), np.concatenate([old_levels, new_levels])
    )
    assert discharge.replacements == 1
    assert discharge.discharge_started == pytest.approx(float(new_times[0]))
    forecast = discharge.forecast(float(new_times[-1]))
    assert forecast.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < 3.0
    assert forecast.discharge_per_day == pytest.approx(0.8, rel=0.3)


def test_cold_dip_is_not_a_replacement_and_does_not_move_the_date() -> None:
    """A voltage sag in the cold that recovers leaves the prediction where it was."""
    times, levels, low_at = _trace(60, 0.5, start_level=80, seed=2)
    dipped = levels.copy()
    cold = (times > START + 20 * DAY) & (times < START + 27 * DAY)
    dipped[cold] -= 15.0
    plain = BatteryDischarge.from_history(times, levels).forecast(float(times[-1]))
    discharge = BatteryDischarge.from_history(times, dipped)
    forecast = discharge.forecast(float(times[-1]))
    assert discharge.replacements == 0
    assert discharge.discharge_started == pytest.approx(float(times[0]))
    assert forecast.low_at is not None and plain.low_at is not None
    assert abs(forecast.low_at - plain.low_at) / DAY < 2.0
    assert abs(forecast.low_at - low_at) / DAY < 6.0


def test_coin_cell_knee_is_followed() -> None:
    """Flat for months, then a knee: the recent steps set the date, not the flat months."""
    times = START + np.arange(0, 300 * DAY, 4 * HOUR)
    days = (times - START) / DAY
    knee = np.clip((days - 240) / 60, 0, 1)
    true_level = 100 - 0.04 * days - 85 * knee**2
    low_at = START + DAY * float(days[np.argmax(true_level <= 10)])
    now = low_at - 7 * DAY
    seen = times <= now
    levels = np.round(true_level[seen])
    forecast = BatteryDischarge.from_history(times[seen], levels).forecast(now)
    assert forecast.status == "predicted" and forecast.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < 2.0


def test_flat_for_months_gives_no_date() -> None:
    """A level that has not moved for months: 'flat', no confident date."""
    times = START + np.arange(0, 200 * DAY, 12 * HOUR)
    levels = np.full(times.size, 90.0)
    levels[:10] = 100.0  # a first step down, then nothing
    forecast = BatteryDischarge.from_history(times, levels).forecast(float(times[-1]))
    assert forecast.status == "flat"
    assert forecast.low_at is None


def test_flat_after_steps_is_not_reported_low() -> None:
    """Two quick early steps and then months flat: a far date or none, never 'low'."""
    times = START + np.arange(0, 200 * DAY, 12 * HOUR)
    levels = np.full(times.size, 97.0)
    levels[:4] = 99.0
    levels[4:8] = 98.0
    forecast = BatteryDischarge.from_history(times, levels).forecast(float(times[-1]))
    assert forecast.status in ("flat", "predicted")
    if forecast.low_at is not None:
        assert forecast.low_at - float(times[-1]) > 365 * DAY


def test_too_little_history_says_learning() -> None:
    """Two readings are not a discharge."""
    discharge = BatteryDischarge.from_history(np.array([START, START + HOUR]), np.array([80, 79]))
    forecast = discharge.forecast()
    assert forecast.status == "learning"
    assert forecast.low_at is None and forecast.level == 79


def test_low_level_reached_and_override() -> None:
    """Below the low level: 'low'; a per-device low level of 20 % moves the date."""
    times, levels, _ = _trace(95, 1.0)
    assert BatteryDischarge.from_history(times, levels).forecast().status == "low"
    times, levels, low_at = _trace(50, 1.0)
    at_twenty = BatteryDischarge.from_history(times, levels, low_level=20.0).forecast()
    assert at_twenty.low_at is not None
    assert abs(at_twenty.low_at - (low_at - 10 * DAY)) / DAY < 1.5


def test_low_is_dated_when_it_crossed_the_low_level_not_at_its_last_step() -> None:
    """A battery at 3 % reached 10 % a week ago: that day is shown, not its last step."""
    times, levels, low_at = _trace(97, 1.0)
    forecast = BatteryDischarge.from_history(times, levels).forecast()
    assert forecast.status == "low"
    assert forecast.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < 0.5


def test_range_is_calibrated_on_noisy_devices() -> None:
    """The 80 % range holds the true date about 80 % of the time on noisy discharges."""
    inside = 0
    total = 0
    rng = np.random.default_rng(5)
    for seed in range(40):
        rate = float(rng.uniform(0.3, 2.0))
        days = (90 - 10) / rate
        times, _, _ = _trace(days * 0.8, rate, seed=seed)
        # Daily use wanders: the true level follows a noisy rate.
        wander = np.cumsum(rng.normal(0, 0.04, times.size)) * rate
        true_level = 100 - rate * (times - START) / DAY + wander
        step = float(rng.choice([1.0, 5.0]))
        levels = np.round(true_level / step) * step
        full = START + np.cumsum(np.full(20000, 3 * HOUR))
        extended = 100 - rate * (full - START) / DAY
        low_at = float(full[np.argmax(extended + wander[-1] <= 10)])
        forecast = BatteryDischarge.from_history(times, levels).forecast(float(times[-1]))
        if forecast.low_at_early is None or forecast.low_at_late is None:
            continue
        total += 1
        inside += forecast.low_at_early <= low_at <= forecast.low_at_late
    assert total >= 30
    assert 0.6 <= inside / total <= 1.0


def test_memory_is_bounded() -> None:
    """A gauge bouncing between two levels for a year keeps at most MAX_RUNS entries."""
    times = START + np.arange(0, 365 * DAY, HOUR)
    levels = 60.0 - np.floor((times - START) / (30 * DAY)) + (np.arange(times.size) % 2)
    discharge = BatteryDischarge.from_history(times, levels)
    assert len(discharge.runs) <= MAX_RUNS
    assert discharge.forecast().status in ("predicted", "flat")


def test_round_trip_keeps_the_forecast() -> None:
    """to_dict / from_dict is JSON-safe and gives the same forecast."""
    times, levels, _ = _trace(50, 1.2, step=5.0)
    discharge = BatteryDischarge.from_history(times, levels)
    restored = BatteryDischarge.from_dict(json.loads(json.dumps(discharge.to_dict())))
    assert restored.forecast(float(times[-1])) == discharge.forecast(float(times[-1]))
    restored.record(float(times[-1]) + HOUR, 30.0)
    assert restored.runs[-1][2] == 30.0


def test_bad_input_handled() -> None:
    """NaN, out-of-order and out-of-range readings never crash or mislead."""
    times, levels, _ = _trace(30, 1.0)
    levels = levels.astype(float)
    levels[::7] = math.nan
    discharge = BatteryDischarge.from_history(times, levels)
    assert discharge.readings_dropped == int(np.count_nonzero(np.isnan(levels)))
    assert discharge.forecast().status == "predicted"
    discharge.record(float(times[0]), 50.0)  # older than the last reading
    assert discharge.readings_dropped == int(np.count_nonzero(np.isnan(levels))) + 1
    assert BatteryDischarge().forecast().status == "learning"
    clipped = BatteryDischarge()
    clipped.record(START, 140.0)
    assert clipped.runs[0][2] == 100.0
    with pytest.raises(ValueError):
        BatteryDischarge.from_history(np.array([START]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        BatteryDischarge(low_level=120.0)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": 99, "low_level": 10, "runs": [], "replacements": 0, "readings_dropped": 0},
        {"version": 1, "low_level": 10, "runs": [[1, 2]], "replacements": 0, "readings_dropped": 0},
        {
            "version": 1,
            "low_level": 10,
            "runs": [[5, 6, 50], [1, 2, 40]],
            "replacements": 0,
            "readings_dropped": 0,
        },
        {"version": 1, "low_level": "x", "runs": [], "replacements": 0, "readings_dropped": 0},
        {
            "version": 1,
            "low_level": 10,
            "runs": [[1, 2, math.nan]],
            "replacements": 0,
            "readings_dropped": 0,
        },
    ],
)
def test_from_dict_rejects_bad_data(data: dict[str, object]) -> None:
    """Old or damaged saved data raises ValueError."""
    with pytest.raises(ValueError):
        BatteryDischarge.from_dict(data)


def _coin_level(days: np.ndarray, life: float) -> np.ndarray:
    """A coin cell: almost flat for 85 % of its life, then a knee to empty."""
    used = np.clip(days / life, 0.0, 1.0)
    knee = np.clip((used - 0.85) / 0.15, 0.0, 1.0)
    return 100.0 - 12.0 * used - 88.0 * knee**2


def test_previous_discharge_shape_follows_the_knee() -> None:
    """After a replacement, the last battery's knee tells when the new one reaches low."""
    life = 300.0
    old_times = START + np.arange(0, 290 * DAY, 6 * HOUR)
    old_levels = np.round(_coin_level((old_times - START) / DAY + 0.0, life))
    new_start = float(old_times[-1]) + DAY
    new_times = new_start + np.arange(0, 400 * DAY, 6 * HOUR)
    # The new battery holds 10 % more: its pace differs, its shape does not.
    new_true = _coin_level((new_times - new_start) / DAY, life * 1.1)
    low_at = float(new_times[np.argmax(new_true <= 10.0)])
    now = low_at - 14 * DAY
    seen = new_times <= now
    times = np.concatenate([old_times, new_times[seen]])
    levels = np.concatenate([old_levels, np.round(new_true[seen])])
    discharge = BatteryDischarge.from_history(times, levels)
    assert discharge.replacements == 1 and discharge.previous is not None
    forecast = discharge.forecast(now)
    assert forecast.status == "predicted" and forecast.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < 2.0
    # Without the previous battery the knee is only starting: the same data predicts worse.
    alone = BatteryDischarge.from_history(new_times[seen], np.round(new_true[seen])).forecast(now)
    assert alone.low_at is None or abs(alone.low_at - low_at) > abs(forecast.low_at - low_at)
    restored = BatteryDischarge.from_dict(json.loads(json.dumps(discharge.to_dict())))
    assert restored.previous == discharge.previous
    assert restored.forecast(now) == forecast


def test_version_one_loads_and_bad_previous_is_rejected() -> None:
    """A model saved before the previous discharge was kept loads; a damaged one raises."""
    data = {"version": 1, "low_level": 10, "runs": [[1, 2, 50]], "replacements": 0}
    data["readings_dropped"] = 0
    assert BatteryDischarge.from_dict(data).previous is None
    for previous in ([[1.0, 50.0]], [[1.0, math.nan]] * 6, "x"):
        with pytest.raises(ValueError):
            BatteryDischarge.from_dict({**data, "version": 2, "previous": previous})


def _replaced_then(
    levels_after: np.ndarray, times_after: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """An old battery read low for a few days, then ``levels_after`` from a fresh one."""
    old_times = START - np.arange(10, 0, -1) * 12 * HOUR
    old_levels = np.full(old_times.size, 10.0)
    return np.concatenate([old_times, times_after]), np.concatenate([old_levels, levels_after])


@pytest.mark.parametrize("rounds_down", [False, True])
def test_rounding_down_is_told_from_a_fresh_battery(rounds_down: bool) -> None:
    """10 % steps: a device that never shows 100 % on a fresh battery rounds down.

    Its steps happen a whole step above the level it shows, half a step later in charge than
    for a rounding device: read the wrong way the date would be 12 days early at 0.4 %/day.
    """
    times = START + np.arange(0.0, 190 * DAY, 6 * HOUR)
    true_level = 99.0 - 0.4 * (times - START) / DAY
    step = 10.0
    shown = np.floor(true_level / step) if rounds_down else np.round(true_level / step)
    all_times, all_levels = _replaced_then(shown * step, times)
    low_at = START + (99.0 - 10.0) / 0.4 * DAY
    discharge = BatteryDischarge.from_history(all_times, all_levels)
    assert discharge.replacements == 1
    forecast = discharge.forecast(float(times[-1]))
    assert forecast.status == "predicted" and forecast.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < 5.0


def test_long_cold_spell_does_not_move_the_steps() -> None:
    """Weeks of cold days with a warm day between: steps are timed by the readings at levels.

    A reading far below the next level is a dip, not the moment the level was crossed (the
    steps are timed only to the warm days around them, about three days: within 1.5 days).
    """
    times = START + np.arange(0.0, 60 * DAY, 6 * HOUR)
    days = (times - START) / DAY
    levels = np.round(80.0 - 1.0 * days)
    plain = BatteryDischarge.from_history(times, levels).forecast(float(times[-1]))
    dipped = levels.copy()
    dipped[(days > 30) & (days % 3 < 2)] -= 12.0  # two cold days in three for the last month
    discharge = BatteryDischarge.from_history(times, dipped)
    forecast = discharge.forecast(float(times[-1]))
    assert discharge.replacements == 0
    assert plain.low_at is not None and forecast.low_at is not None
    assert abs(forecast.low_at - plain.low_at) / DAY < 1.5


def test_outages_over_the_last_steps_keep_the_date_close() -> None:
    """A device offline for days twice near the end of a steepening discharge.

    The levels skipped meanwhile make one step timed only to within the outage.
    """
    times = START + np.arange(0.0, 40 * DAY, 6 * HOUR)
    days = (times - START) / DAY
    true_level = 60.0 - 0.5 * days - 0.02 * days * days  # steepening, as an alkaline cell
    # Offline for 4 days twice, over the last steps: those steps are known to within days.
    online = ~(((days > 29) & (days < 33)) | ((days > 34.5) & (days < 38.5)))
    times, levels = times[online], np.round(true_level[online])
    low_at = START + float(np.roots([-0.02, -0.5, 50.0]).max()) * DAY
    forecast = BatteryDischarge.from_history(times, levels).forecast(float(times[-1]))
    assert forecast.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < 1.0


def test_lines_follow_only_the_last_points_of_a_coarse_curve() -> None:
    """10 % steps of a steepening discharge: a line through the last 5 steps would span 50
    points of the curve and come late; it keeps only the steps within the last few points."""
    days = np.array([0.0, 30.0, 52.0, 68.0, 80.0])  # 55, 45, 35, 25, 15 % crossed ever faster
    levels = np.array([55.0, 45.0, 35.0, 25.0, 15.0])
    line = _fit_polynomial(START + days * DAY, levels, 5, 1, np.ones(days.size))
    assert line is not None
    # Only the last two steps lie within LINE_SPAN: the line has their pace, 10 points in 12 days.
    assert LINE_SPAN < 20.0
    assert line.rate_at(START + 80 * DAY) * DAY == pytest.approx(10.0 / 12.0)
    assert (line.time_at(10.0) - START) / DAY == pytest.approx(86.0)


def test_even_ensemble_takes_the_middle_of_its_two_middle_dates() -> None:
    """Four steps and no previous battery: two lines, no quadratic; the date is their mean."""
    days = np.array([0.0, 6.0, 12.0, 15.0])
    times, levels = START + days * DAY, np.array([19.0, 17.0, 16.0, 15.0])
    weights = np.ones(days.size)
    last_three = _fit_polynomial(times, levels, 3, 1, weights)
    last_five = _fit_polynomial(times, levels, 5, 1, weights)
    assert last_three is not None and last_five is not None
    assert _fit_polynomial(times, levels, 5, 2, weights) is None
    fit = _fit_discharge(times, levels, None, 10.0, weights)
    assert fit is not None
    expected = 0.5 * (last_three.time_at(10.0) + last_five.time_at(10.0))
    assert fit.time_at(10.0) == pytest.approx(expected)
    assert last_three.time_at(10.0) != pytest.approx(last_five.time_at(10.0))


def _hourly_summaries(
    times: np.ndarray, levels: np.ndarray, until: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What long-term statistics keep of reports before ``until``: each hour's lowest and highest.

    An hour holds the level reported before it began and every report inside it.
    """
    starts, lows, highs = [], [], []
    hour = math.floor(times[0] / HOUR) * HOUR
    while hour + HOUR <= until:
        held = levels[times < hour]
        inside = levels[(times >= hour) & (times < hour + HOUR)]
        values = np.concatenate([held[-1:], inside])
        if values.size:
            starts.append(hour)
            lows.append(values.min())
            highs.append(values.max())
        hour += HOUR
    return np.array(starts), np.array(lows), np.array(highs)


def test_hourly_summaries_stand_in_for_the_readings_the_recorder_forgot() -> None:
    """Months known only as hourly lows and highs, the last days as reports: the same date."""
    times, levels, low_at = _trace(250, 0.35, step=5.0, seed=4)
    now = float(times[-1])
    recent = times >= now - 10 * DAY
    starts, lows, highs = _hourly_summaries(times, levels, float(times[recent][0]))
    early_times, early_levels = hourly_readings(starts, lows, highs)
    discharge = BatteryDischarge.from_history(
        np.concatenate([early_times, times[recent]]),
        np.concatenate([early_levels, levels[recent]]),
    )
    forecast = discharge.forecast(now)
    reports_only = BatteryDischarge.from_history(times, levels).forecast(now)
    recent_only = BatteryDischarge.from_history(times[recent], levels[recent]).forecast(now)
    assert forecast.status == "predicted"
    assert forecast.low_at is not None and reports_only.low_at is not None
    assert abs(forecast.low_at - low_at) / DAY < 2.5
    assert abs(forecast.low_at - reports_only.low_at) / DAY < 1.0
    assert recent_only.status == "learning"  # what the last days alone could say


def test_hourly_summaries_keep_a_replacement_and_a_discharge_apart() -> None:
    """A battery replaced within an hour: its low comes before its high, a new discharge."""
    old_times, old_levels, _ = _trace(30, 1.5, start_level=60, every=2 * HOUR)
    new_times, new_levels, _ = _trace(20, 1.0, every=2 * HOUR, seed=1)
    new_times = new_times - START + float(old_times[-1]) + 1800.0
    times = np.concatenate([old_times, new_times])
    levels = np.concatenate([old_levels, new_levels])
    starts, lows, highs = _hourly_summaries(times, levels, float(times[-1]))
    discharge = BatteryDischarge.from_history(*hourly_readings(starts, lows, highs))
    assert discharge.replacements == 1
    started = discharge.discharge_started
    assert started is not None
    assert math.floor(started / HOUR) == math.floor(float(new_times[0]) / HOUR)


def test_hourly_readings_of_nothing_are_empty() -> None:
    """No summaries, no readings; an hour known only by its mean gives none either."""
    times, levels = hourly_readings([], [], [])
    assert times.size == levels.size == 0
    times, levels = hourly_readings([START], [math.nan], [50.0])
    assert times.size == levels.size == 0


def test_a_level_reported_again_held_until_then() -> None:
    """The same level reported again extends its run, as a reading of it would; an older
    report changes nothing and is not counted as a dropped reading."""
    day = 86400.0
    held = BatteryDischarge()
    read = BatteryDischarge()
    for discharge in (held, read):
        discharge.record(0.0, 100.0)
        discharge.record(3 * day, 97.0)
    held.held(90 * day)
    read.record(90 * day, 97.0)
    assert held.runs == read.runs
    held.held(10 * day)
    assert held.runs == read.runs
    assert held.readings_dropped == 0
    assert held.forecast(91 * day).status == read.forecast(91 * day).status
