"""Tests of the pure energy learning engine on seeded synthetic homes."""

from __future__ import annotations

from datetime import date, timedelta
import json

import numpy as np
import pytest

from custom_components.foresight.learning import energy
from custom_components.foresight.learning.energy import DAY, HOUR

START = 1_700_006_400.0 // DAY * DAY  # a local midnight


def _home(
    days: int, seed: int = 1, noise: float = 0.08
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A home with a morning and an evening peak, gamma noise; returns times, kWh, pattern."""
    rng = np.random.default_rng(seed)
    times = START + HOUR * np.arange(days * 24, dtype=np.float64)
    hour = (times % DAY) / HOUR
    pattern = (
        0.15 + 0.5 * np.exp(-((hour - 7.5) ** 2) / 2.0) + 0.9 * np.exp(-((hour - 19.0) ** 2) / 4.0)
    )
    kwh = pattern + rng.gamma(2.0, noise / 2.0, times.size) - noise
    return times, np.maximum(kwh, 0.0), pattern


def test_known_daily_pattern_is_learned() -> None:
    times, kwh, pattern = _home(120)
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.status in ("ready", "degraded")
    forecast = model.forecast(times, kwh, times[-1] + HOUR, 24)
    assert forecast.kwh.shape == (24,)
    assert np.max(np.abs(forecast.kwh - pattern[:24])) < 0.12
    assert np.all(forecast.lower <= forecast.kwh) and np.all(forecast.kwh <= forecast.upper)
    assert 60 < model.base_load_w < 250  # night level 0.15 kWh/h minus noise


def test_band_is_calibrated_on_known_noise() -> None:
    times, kwh, _ = _home(160, seed=2, noise=0.2)
    train_until = START + 130 * DAY
    inside, total = 0, 0
    for day in range(130, 160, 3):
        midnight = START + day * DAY
        past = times < midnight
        model = energy.EnergyForecaster.train(times[past], kwh[past], now=midnight)
        forecast = model.forecast(times[past], kwh[past], midnight, 24)
        seen = kwh[(times >= midnight) & (times < midnight + DAY)]
        inside += int(np.sum((seen >= forecast.lower) & (seen <= forecast.upper)))
        total += seen.size
    assert train_until < times[-1]
    assert 0.7 <= inside / total <= 0.9


def test_fallback_when_learned_models_lose(monkeypatch: pytest.MonkeyPatch) -> None:
    # A sharp 18:00 load: smoothing loses, the previous day is noisier than the 7-day mean.
    rng = np.random.default_rng(3)
    times = START + HOUR * np.arange(90 * 24, dtype=np.float64)
    hour = ((times % DAY) / HOUR).astype(int)
    kwh = np.where(hour == 18, 2.0, 0.1) + rng.normal(0.0, 0.05, times.size)
    # A blend that overshoots everything must lose on the held-out days.
    monkeypatch.setattr(energy, "_fit_blend", lambda features, actual, prior: 3.0 * prior)
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.model == energy.BASELINE
    assert model.status == "degraded"
    assert model.skill == pytest.approx(0.0)
    assert model.scores[energy.BLEND] > model.scores[energy.BASELINE]


def test_learned_blend_beats_baseline_when_it_can() -> None:
    times, kwh, _ = _home(140, seed=4, noise=0.3)
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.model != energy.BASELINE
    assert model.status == "ready"
    assert model.skill > 0


def test_weekly_habit_is_learned() -> None:
    """A washing machine every Saturday morning: the blend finds it through the same weekday."""
    times, kwh, pattern = _home(140, seed=12, noise=0.1)
    weekday = ((times // DAY).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    hour = (times % DAY) / HOUR
    laundry = (weekday == 5) & (hour >= 9) & (hour < 12)
    kwh = kwh + np.where(laundry, 1.2, 0.0)
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.model == energy.BLEND
    saturday = START + (140 + (5 - (int(START // DAY) + 140 + 3) % 7) % 7) * DAY
    forecast = model.forecast(times, kwh, saturday, 24)
    morning = forecast.kwh[9:12] - pattern[9:12]
    assert np.all(morning > 0.6)  # most of the 1.2 kWh laundry hours, not a seventh of it


def test_public_holiday_is_forecast_like_a_weekend() -> None:
    """A home out at work on weekdays, in all day at weekends and on the bank holidays it knows."""
    times, kwh, _ = _home(140, seed=13, noise=0.1)
    day = (times // DAY).astype(np.int64)
    hour = (times % DAY) / HOUR
    holidays = [date(1970, 1, 1) + timedelta(days=int(d)) for d in day[::24][20::14]]
    holidays = [h for h in holidays if h.weekday() < 5]
    assert list(energy.calendar_years([START, START + 400 * DAY])) == [2023, 2024]
    assert not energy.calendar_years([np.nan])
    flags = energy.workday_flags(times, holidays)
    assert set(np.unique(flags)) == {0.0, 1.0}
    assert np.all(flags[(day + 3) % 7 >= 5] == 0.0)  # weekends
    home_all_day = (flags == 0.0) & (hour >= 9) & (hour < 17)
    kwh = kwh + np.where(home_all_day, 0.8, 0.0)
    model = energy.EnergyForecaster.train(times, kwh, workday=flags)
    # The next weekday, once as an ordinary day and once as a public holiday.
    weekday_ahead = next(d for d in range(140, 150) if (int(START // DAY) + d + 3) % 7 < 5)
    midnight = START + weekday_ahead * DAY
    horizon = midnight + HOUR * np.arange(24, dtype=np.float64)
    ahead = np.concatenate([times, horizon])
    unknown = np.concatenate([kwh, np.full(24, np.nan)])
    bank_holiday = date(1970, 1, 1) + timedelta(days=int(midnight // DAY))
    ordinary = model.forecast(
        ahead, unknown, midnight, 24, workday=energy.workday_flags(ahead, holidays)
    )
    holiday = model.forecast(
        ahead, unknown, midnight, 24, workday=energy.workday_flags(ahead, [*holidays, bank_holiday])
    )
    assert np.mean(holiday.kwh[9:17] - ordinary.kwh[9:17]) > 0.4  # most of the 0.8 kWh


def test_same_weekday_habit_skips_a_bank_holiday_on_that_weekday() -> None:
    """A Monday's weekly habit comes from ordinary Mondays; a holiday's from the days off."""
    rng = np.random.default_rng(21)
    days = 70
    first_day = START - int(START // DAY + 3) % 7 * DAY  # a Monday
    weekday = np.arange(days) % 7
    workday = weekday < 5
    hour = np.arange(24)
    at_work = 0.2 + 0.6 * ((hour >= 18) & (hour < 22))
    at_home = 0.2 + 0.6 * ((hour >= 9) & (hour < 22))
    values = np.where(workday[:, None], at_work, at_home) + rng.normal(0.0, 0.01, (days, 24))
    holiday = 63  # the last Monday before the target days: off, used like a Sunday
    workday[holiday] = False
    values[holiday] = at_home
    inputs = energy._Inputs(values, first_day, workday=workday)
    names = ("same_weekday", "day_type_14d")
    target = days  # the Monday after the data, a week after the holiday
    inputs.energy = np.vstack([values, np.full((1, 24), np.nan)])
    inputs.workday = np.append(workday, True)
    monday = energy._features(inputs, np.array([target]), names)[0]
    assert np.max(np.abs(monday[:, 0] - energy._smooth_hours(at_work[None, :])[0])) < 0.03
    inputs.workday = np.append(workday, False)  # the target Monday is a bank holiday too
    off_monday = energy._features(inputs, np.array([target]), names)[0]
    # Only one earlier holiday on a Monday: the habit of that one day off.
    assert np.max(np.abs(off_monday[:, 0] - energy._smooth_hours(at_home[None, :])[0])) < 0.03
    inputs.energy[holiday] = np.nan  # no earlier holiday Monday known: the days-off profile
    off_monday = energy._features(inputs, np.array([target]), names)[0]
    assert np.allclose(off_monday[:, 0], off_monday[:, 1])


def test_recent_level_follows_the_last_days_against_their_own_type() -> None:
    """The settled profile is scaled by how the last three days ran, each against its type."""
    rng = np.random.default_rng(23)
    days = 70
    first_day = START - int(START // DAY + 3) % 7 * DAY  # a Monday
    workday = np.arange(days + 1) % 7 < 5
    hour = np.arange(24)
    at_work = 0.2 + 0.6 * ((hour >= 18) & (hour < 22))
    at_home = 0.2 + 0.6 * ((hour >= 9) & (hour < 22))
    usual = np.where(workday[:days, None], at_work, at_home)
    values = usual * rng.normal(1.0, 0.02, (days, 24))
    names = ("recent_level", "day_type_14d")
    target = np.array([days])  # a Monday, after a weekend that ran as usual
    inputs = energy._Inputs(
        np.vstack([values, np.full((1, 24), np.nan)]), first_day, workday=workday
    )
    steady = energy._features(inputs, target, names)[0]
    # A weekend using more than a workday is no reason to expect more on Monday.
    assert np.allclose(steady[:, 0], steady[:, 1], rtol=0.03)
    inputs.energy[days - 3 : days] *= 2.0  # guests from Friday: twice the use, all day
    busy = energy._features(inputs, target, names)[0]
    ratio = busy[:, 0] / busy[:, 1]
    assert np.allclose(ratio, ratio[0])  # one level for the whole day
    # Shrunk towards 1 by one usual day, below the doubling: about (6 + 1.1) / (3.1 + 1.1).
    assert 1.5 < ratio[0] < 1.9
    inputs.energy[days - 3 : days] *= 0.01  # away since Friday: the level halves at most
    away = energy._features(inputs, target, names)[0]
    assert np.allclose(away[:, 0], energy.RECENT_LEVEL_LIMITS[0] * away[:, 1])
    # The smoothed profile reads it, for the day-type part of its equal shares.
    smoothed = energy._fixed_weights(list(energy.BASE_FEATURES), energy.SMOOTHED)
    assert smoothed[energy.BASE_FEATURES.index("recent_level")] == max(smoothed)


def test_day_ahead_expectations_read_the_workday_flags() -> None:
    """The detector expects a bank holiday like one when given the flags the model learned."""
    times, kwh, _ = _home(120, seed=17, noise=0.1)
    day = (times // DAY).astype(np.int64)
    hour = (times % DAY) / HOUR
    first = int(START // DAY)
    holiday = next(d for d in range(first + 115, first + 119) if (d + 3) % 7 < 5)  # a weekday
    holidays = [date(1970, 1, 1) + timedelta(days=int(holiday))]
    flags = energy.workday_flags(times, holidays)
    kwh = kwh + np.where((flags == 0.0) & (hour >= 9) & (hour < 17), 0.8, 0.0)
    midnight = float(holiday * DAY)
    past = times < midnight
    model = energy.EnergyForecaster.train(times[past], kwh[past], workday=flags[past], now=midnight)
    with_flags = energy.day_ahead_expectations(model, times, kwh, midnight, 1, workday=flags)
    ahead = times < midnight + DAY
    direct = model.forecast(times[ahead], kwh[ahead], midnight, 24, workday=flags[ahead])
    assert np.allclose(with_flags.kwh, direct.kwh)
    plain = energy.day_ahead_expectations(model, times, kwh, midnight, 1)
    assert np.mean(with_flags.kwh[9:17] - plain.kwh[9:17]) > 0.4  # the day off, not a workday
    assert np.all(day[ahead & ~past] == holiday)
    detector = energy.UnusualUseDetector.train(
        model, times[past], kwh[past], now=midnight, workday=flags[past]
    )
    assert detector.calibrated_days > 0


def test_learning_status_with_too_little_data() -> None:
    times, kwh, _ = _home(2)
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.status == "learning"
    empty = energy.EnergyForecaster.train(np.empty(0), np.empty(0))
    assert empty.status == "learning"


def test_gaps_and_nan_are_tolerated() -> None:
    times, kwh, pattern = _home(100, seed=5)
    kwh = kwh.copy()
    kwh[::7] = np.nan
    kwh[24 * 40 : 24 * 47] = np.nan  # a missing week
    kwh[100] = -3.0  # a broken reading
    keep = np.ones(times.size, dtype=bool)
    keep[24 * 60 : 24 * 61] = False  # a day absent altogether
    model = energy.EnergyForecaster.train(times[keep], kwh[keep])
    forecast = model.forecast(times[keep], kwh[keep], times[-1] + HOUR, 24)
    assert np.all(np.isfinite(forecast.kwh))
    assert np.max(np.abs(forecast.kwh - pattern[:24])) < 0.2
    all_nan = energy.EnergyForecaster.train(times, np.full(times.size, np.nan))
    assert all_nan.status == "learning"
    with pytest.raises(ValueError):
        energy.EnergyForecaster.train(times, kwh[:-1])


def test_round_trip_and_bad_data() -> None:
    times, kwh, _ = _home(100, seed=6)
    model = energy.EnergyForecaster.train(times, kwh)
    restored = energy.EnergyForecaster.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored.to_dict() == model.to_dict()
    first = model.forecast(times, kwh, times[-1] + HOUR, 24)
    second = restored.forecast(times, kwh, times[-1] + HOUR, 24)
    np.testing.assert_allclose(first.kwh, second.kwh)
    old_version = {**model.to_dict(), "version": energy.MODEL_VERSION - 1}
    bad_inputs: list[object] = [
        None,
        [],
        {"version": 999},
        {**model.to_dict(), "weights": [1.0]},
        {**model.to_dict(), "model_share": 1.5},
    ]
    for bad in [*bad_inputs, old_version]:
        with pytest.raises(ValueError):
            energy.EnergyForecaster.from_dict(bad)


def test_occupancy_probability_helps_when_use_follows_it() -> None:
    rng = np.random.default_rng(7)
    days = 120
    times = START + HOUR * np.arange(days * 24, dtype=np.float64)
    home_today = np.repeat(rng.random(days) < 0.6, 24)  # whole days away at random
    hour = (times % DAY) / HOUR
    active = 0.8 * np.exp(-((hour - 19.0) ** 2) / 6.0) + 0.3
    kwh = 0.1 + home_today * active + rng.normal(0.0, 0.03, times.size)
    occupancy = np.where(home_today, 0.9, 0.1)
    split = START + 100 * DAY
    errors = {}
    for name, extra in (("without", None), ("with", occupancy)):
        squared = []
        for day in range(100, days):
            midnight = START + day * DAY
            past = times < midnight
            model = energy.EnergyForecaster.train(
                times[past],
                kwh[past],
                occupancy_probability=None if extra is None else extra[past],
                now=midnight,
            )
            window = times < midnight + DAY
            forecast = model.forecast(
                times[window],
                np.where(times[window] < midnight, kwh[window], np.nan),
                midnight,
                24,
                occupancy_probability=None if extra is None else extra[window],
            )
            seen = kwh[(times >= midnight) & (times < midnight + DAY)]
            squared.append(np.mean((forecast.kwh - seen) ** 2))
        errors[name] = float(np.sqrt(np.mean(squared)))
    assert split > START
    assert errors["with"] < 0.7 * errors["without"]


def test_expected_power_and_rest_of_today() -> None:
    times, kwh, _ = _home(60, seed=8)
    model = energy.EnergyForecaster.train(times, kwh)
    now = times[-1] + HOUR + 18 * HOUR + 1800  # 18:30 on the next day
    forecast = model.forecast(times, kwh, now, 24)
    assert energy.expected_power_w(forecast, now) == pytest.approx(forecast.kwh[0] * 1000.0)
    rest = energy.rest_of_today_kwh(forecast, now)
    assert rest == pytest.approx(0.5 * forecast.kwh[0] + forecast.kwh[1:6].sum())
    # The next 60 minutes: the second half of this hour and the first half of the next.
    next_hour = energy.next_hour_kwh(forecast, now)
    assert next_hour == pytest.approx(0.5 * forecast.kwh[0] + 0.5 * forecast.kwh[1])
    on_the_hour = energy.next_hour_kwh(forecast, now - 1800)
    assert on_the_hour == pytest.approx(forecast.kwh[0])


def test_rest_of_today_ends_at_the_given_midnight() -> None:
    """On real hours, a day the clocks go forward ends 23 hours after its midnight."""
    hours = START + HOUR * np.arange(30)
    flat = np.ones(hours.size)
    forecast = energy.EnergyForecast(hours, flat, flat, flat, energy.BASELINE, "ready")
    now = START + 1200  # 00:20
    assert energy.rest_of_today_kwh(forecast, now, midnight=START + 23 * HOUR) == pytest.approx(
        22 + 2 / 3
    )
    assert energy.rest_of_today_kwh(forecast, now) == pytest.approx(23 + 2 / 3)


def test_hourly_from_power() -> None:
    times = START + np.arange(0.0, 3 * HOUR, 60.0)
    watts = np.full(times.size, 1200.0)
    watts[60:] = 600.0
    hours, kwh = energy.hourly_from_power(times, watts)
    np.testing.assert_allclose(hours[:3], START + HOUR * np.arange(3))
    np.testing.assert_allclose(kwh[:3], [1.2, 0.6, 0.6])
    gap = np.concatenate([times[:30], times[150:]])  # 2 hours missing in the middle
    _, kwh_gap = energy.hourly_from_power(gap, np.full(gap.size, 500.0))
    assert np.isnan(kwh_gap[1])
    empty_hours, empty_kwh = energy.hourly_from_power([], [])
    assert empty_hours.size == 0 and empty_kwh.size == 0


# Each rule of the unusual-use detector by the limits a stored detector keeps for it.
RULE_LIMITS: dict[str, dict[str, object]] = {
    "excess": {"excess_threshold": 1e9, "ceiling_kwh": [None] * 24},
    "day_floor": {"day_floor_drop_kwh": None, "day_floor_rise_kwh": None},
    "evidence": {"rise_evidence_limit": None, "drop_evidence_limit": None},
    "floors": {"floors_rise_kwh": None},
}


def _trained(
    times: np.ndarray, kwh: np.ndarray, midnight: float
) -> tuple[energy.EnergyForecaster, energy.UnusualUseDetector]:
    """The forecaster and the unusual-use detector trained at ``midnight`` on the days before."""
    past = times < midnight
    model = energy.EnergyForecaster.train(times[past], kwh[past], now=midnight)
    return model, energy.UnusualUseDetector.train(model, times[past], kwh[past], now=midnight)


def _keeping(detector: energy.UnusualUseDetector, *rules: str) -> energy.UnusualUseDetector:
    """The detector with only ``rules`` and the four-hour shortfall left to judge."""
    switched_off: dict[str, object] = {}
    for rule, limits in RULE_LIMITS.items():
        if rule not in rules:
            switched_off |= limits
    return energy.UnusualUseDetector.from_dict(detector.to_dict() | switched_off)


def test_unusual_use_heater_detected_and_ordinary_day_quiet() -> None:
    times, kwh, _ = _home(90, seed=9)
    midnight = START + 89 * DAY
    model, detector = _trained(times, kwh, midnight)
    expected = energy.day_ahead_expectations(model, times, kwh, midnight - DAY, 2)

    def alarms(seen: np.ndarray) -> list[str]:
        kinds: list[str] = []
        for index in range(89 * 24, 90 * 24):
            verdict = detector.check(
                times[index - 24 : index + 1], seen[index - 24 : index + 1], expected
            )
            kinds.append(verdict.kind if verdict.active else "none")
        return kinds

    assert set(alarms(kwh)) == {"none"}
    heated = kwh.copy()
    heated[89 * 24 + 10 : 89 * 24 + 16] += 2.0  # a 2 kW heater left on from 10:00 to 16:00
    found = alarms(heated)
    assert "excess" in found[10:16]
    brief = kwh.copy()
    brief[89 * 24 + 10] += 2.0  # the same 2 kW for one hour only: too short to matter
    assert set(alarms(brief)) == {"none"}
    stopped = kwh.copy()
    stopped[89 * 24 :] = np.maximum(stopped[89 * 24 :] - 0.08, 0.0)  # the fridge stops
    assert "shortfall" in alarms(stopped)
    doubled = kwh.copy()
    doubled[89 * 24 :] += 0.15  # a new always-on load doubles the base load from midnight
    raised = alarms(doubled)
    assert set(raised[:12]) != {"none"}  # flagged the same morning (by whichever rule first)
    assert "raised_floor" in raised
    restored = energy.UnusualUseDetector.from_dict(json.loads(json.dumps(detector.to_dict())))
    assert restored.to_dict() == detector.to_dict()  # NaN (hours not judged) != NaN
    old = detector.to_dict() | {"version": energy.DETECTOR_VERSION - 1}
    with pytest.raises(ValueError):
        energy.UnusualUseDetector.from_dict(old)
    with pytest.raises(ValueError):
        energy.UnusualUseDetector.from_dict({"version": 1, "scale_kwh": [1.0]})


def test_blend_solution_matches_scikit_learn_nonnegative_least_squares() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(10)
    count = len(energy.BASE_FEATURES)
    features = rng.gamma(2.0, 0.3, (60, 24, count))
    true_weights = np.where(rng.random(count) < 0.5, 0.0, rng.uniform(0.05, 0.4, count))
    actual = features @ true_weights + rng.normal(0, 0.1, (60, 24))
    prior = energy._fixed_weights(list(energy.BASE_FEATURES), energy.SMOOTHED)
    weights = energy._fit_blend(features, actual, prior)
    assert np.all(weights >= 0)
    flat = features.reshape(-1, count)
    reference = linear_model.LinearRegression(positive=True, fit_intercept=False)
    # Recent days weigh more: a day's rows halve in weight every FIT_HALF_LIFE_DAYS back.
    age = np.arange(59, -1, -1, dtype=np.float64)
    day_weight = 0.5 ** (age / energy.FIT_HALF_LIFE_DAYS)
    reference.fit(flat, actual.reshape(-1), sample_weight=np.repeat(day_weight, 24))
    np.testing.assert_allclose(weights, reference.coef_, atol=1e-4)


def test_too_few_held_out_days_keep_the_seven_day_mean() -> None:
    # Two weeks: a learned model could win on a handful of held-out days by luck.
    times, kwh, _ = _home(15, seed=11, noise=0.3)
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.model == energy.BASELINE
    assert model.status == "degraded"


def test_forecast_without_an_input_the_model_was_trained_with() -> None:
    """An outdoor sensor that goes unavailable must not break the forecast."""
    times, kwh, _pattern = _home(120)
    outdoor = 10.0 + 5.0 * np.sin(times / DAY)
    model = energy.EnergyForecaster.train(times, kwh, outdoor_temperature=outdoor)
    assert any("usual" in name for name in model.features)
    without = model.forecast(times, kwh, times[-1] + HOUR, 24)
    with_it = model.forecast(times, kwh, times[-1] + HOUR, 24, outdoor_temperature=outdoor)
    assert np.all(np.isfinite(without.kwh))
    assert without.kwh.shape == with_it.kwh.shape == (24,)


def test_small_stop_is_found_by_the_day_floor_within_two_days() -> None:
    times, kwh, _ = _home(92, seed=9)
    midnight = START + 89 * DAY
    model, detector = _trained(times, kwh, midnight)
    start = 89 * 24 + 14  # a 40 W fridge stops at 14:00; too small for any single hour to tell
    stopped = kwh.copy()
    stopped[start:] = np.maximum(stopped[start:] - 0.04, 0.0)

    def verdicts(seen: np.ndarray) -> list[energy.UnusualUse]:
        expected = energy.day_ahead_expectations(model, times, seen, midnight - DAY, 3)
        return [
            detector.check(times[index - 47 : index + 1], seen[index - 47 : index + 1], expected)
            for index in range(start, start + 48)
        ]

    found = [v for v in verdicts(stopped) if v.active]
    assert found and found[0].kind == "shortfall"
    # The day's rule reports the always-on energy over the day: usual vs. seen.
    assert found[0].seen_kwh < found[0].expected_kwh
    assert found[0].expected_kwh == pytest.approx(24 * detector.day_floor_kwh)
    assert not any(v.active for v in verdicts(kwh))


def test_a_floor_verdict_shows_the_band_of_the_always_on_energy() -> None:
    """The day's floor reports always-on energy: its band is that energy's ordinary range."""
    times, kwh, _ = _home(92, seed=9)
    midnight = START + 89 * DAY
    model, detector = _trained(times, kwh, midnight)
    stopped = kwh.copy()
    stopped[89 * 24 + 14 :] = np.maximum(stopped[89 * 24 + 14 :] - 0.04, 0.0)  # a fridge stops
    expected = energy.day_ahead_expectations(model, times, stopped, midnight - DAY, 3)
    window = slice(90 * 24 + 13 - 47, 90 * 24 + 14)
    found = detector.check(times[window], stopped[window], expected)
    assert found.active and found.kind == "shortfall"
    assert found.expected_kwh == pytest.approx(24 * detector.day_floor_kwh)
    assert found.lower_kwh == pytest.approx(
        24 * (detector.day_floor_kwh - detector.day_floor_drop_kwh)
    )
    assert found.upper_kwh == pytest.approx(
        24 * (detector.day_floor_kwh + detector.day_floor_rise_kwh)
    )
    assert found.seen_kwh < found.lower_kwh <= found.expected_kwh <= found.upper_kwh


def test_windowed_evidence_matches_a_cusum_restarted_two_days_back() -> None:
    rng = np.random.default_rng(12)
    evidence = rng.normal(-0.2, 1.0, 200)
    gathered = energy._windowed_cusum(evidence)
    for hour in (0, 30, 47, 48, 120, 199):
        running = 0.0
        for step in evidence[max(0, hour + 1 - energy.SHIFT_WINDOW_HOURS) : hour + 1]:
            running = max(0.0, running + step)
        assert gathered[hour] == pytest.approx(running)


def _dishwasher_home(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A home whose dishwasher runs from 01:00 to 03:00 every other night, as always."""
    times, kwh, _ = _home(days, seed=seed, noise=0.04)
    night = np.isin(((times % DAY) // HOUR).astype(int), [1, 2])
    every_other = ((times // DAY).astype(int) % 2) == 0
    return times, kwh + np.where(night & every_other, 0.8, 0.0)


def test_slow_shifts_gather_evidence_but_the_usual_night_and_away_days_stay_quiet() -> None:
    times, kwh = _dishwasher_home(93, seed=13)
    midnight = START + 90 * DAY
    model, detector = _trained(times, kwh, midnight)
    assert np.isfinite(detector.drop_evidence_limit) and np.isfinite(detector.rise_evidence_limit)
    # Only the evidence rules judge: the single-hour and day-floor rules are switched off.
    evidence_only = _keeping(detector, "evidence")

    def kinds(seen: np.ndarray, away: np.ndarray | None = None) -> list[str]:
        expected = energy.day_ahead_expectations(model, times, seen, midnight - DAY, 4)
        found = []
        for index in range(90 * 24, 93 * 24):
            window = slice(index - 47, index + 1)
            verdict = evidence_only.check(
                times[window],
                seen[window],
                expected,
                away=None if away is None else away[window],
            )
            found.append(verdict.kind if verdict.active else "none")
        return found

    assert set(kinds(kwh)) == {"none"}  # the dishwasher at night, as always
    away = np.zeros(times.size)
    away[90 * 24 : 92 * 24] = 1.0  # two days away: only the always-on load runs
    empty_home = kwh.copy()
    hour = ((times % DAY) // HOUR).astype(int)
    quiet = (away == 1.0) & ~np.isin(hour, [1, 2])
    empty_home[quiet] = np.minimum(empty_home[quiet], 0.15 + 0.02)
    assert "shortfall" not in kinds(empty_home, away)
    assert "shortfall" in kinds(empty_home)  # the same days without the away flag: a stop
    stopped = kwh.copy()
    stopped[90 * 24 :] = np.maximum(stopped[90 * 24 :] - 0.04, 0.0)  # a 40 W fridge stops
    assert "shortfall" in kinds(stopped)
    doubled = kwh.copy()
    doubled[90 * 24 :] += detector.shift_rise_kwh  # a new always-on load as large as the base
    assert "raised_floor" in kinds(doubled)


def test_mixes_of_the_blend_are_scored_and_deploy_as_weights() -> None:
    times, kwh, _ = _home(140, seed=14, noise=0.6)  # a noisy home where a mix wins
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.model in energy.MIXES
    blend, smoothed = model.scores[energy.BLEND], model.scores[energy.SMOOTHED]
    for name, share in energy.MIXES.items():
        assert 0.0 < share < 1.0
        # A mix's error is never above the worse of the two it mixes (RMSE is convex).
        assert model.scores[name] <= max(blend, smoothed) + 1e-12
        mixed = energy.EnergyForecaster.from_dict(model.to_dict() | {"model": name})
        assert mixed.model == name
    prior = energy._fixed_weights(list(model.features), energy.SMOOTHED)
    # The winner's share of what is published; the rest is the steadier mix it is shrunk towards.
    trust = model.model_share
    blend_share = (
        trust * energy.MIXES[model.model] + (1 - trust) * energy.MIXES[energy.SHRINK_TOWARDS]
    )
    floor = (1 - blend_share) * prior
    # The smoothed profile's share stays in the deployed weights; the blend only adds to it.
    assert np.all(np.asarray(model.weights) >= floor - 1e-12)
    assert not np.allclose(model.weights, floor)


def test_a_lucky_winner_is_mixed_with_the_steadier_candidate() -> None:
    rng = np.random.default_rng(21)
    actual = 1.0 + rng.normal(0.0, 0.3, (56, 24))
    steadier = np.ones((56, 24))
    # Surely better every day: published alone.
    sure = steadier + 0.5 * (actual - steadier)
    assert energy._paired_trust(actual, sure, steadier) == 1.0
    # Better on these days by chance only: mostly the steadier candidate.
    lucky = steadier + rng.normal(0.0, 0.3, (56, 24))
    lucky[:3] = actual[:3]  # three days it happened to match
    assert energy._paired_trust(actual, lucky, steadier) < 0.5
    # Worse: no share; unknown days add nothing.
    assert energy._paired_trust(actual, steadier + 0.5, steadier) == 0.0
    actual[10:20] = np.nan
    assert energy._paired_trust(actual, sure, steadier) == 1.0


def test_published_forecast_is_the_trusted_mix_and_scores_no_worse() -> None:
    times, kwh, _ = _home(140, seed=9, noise=0.6)  # the blend wins, but only just
    model = energy.EnergyForecaster.train(times, kwh)
    assert model.model == energy.BLEND
    winner, steadier = model.scores[energy.BLEND], model.scores[energy.SHRINK_TOWARDS]
    # Published: a mix of the two, so between them (RMSE is convex), not the winner alone.
    assert model.nrmse <= max(winner, steadier) + 1e-12
    assert model.nrmse != pytest.approx(winner, abs=1e-9)
    assert 0.0 < model.model_share < 1.0  # and it says how much of the winner is in it
    assert model.skill == pytest.approx(1 - model.nrmse / model.nrmse_baseline)
    forecast = model.forecast(times, kwh, times[-1] + HOUR)
    assert np.all(np.isfinite(forecast.kwh))


def test_evidence_limit_is_a_share_of_the_largest_ordinary_evidence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    times, kwh = _dishwasher_home(93, seed=13)
    midnight = START + 90 * DAY
    past = times < midnight
    model = energy.EnergyForecaster.train(times[past], kwh[past], now=midnight)

    def limits() -> tuple[float, float]:
        detector = energy.UnusualUseDetector.train(model, times[past], kwh[past], now=midnight)
        return detector.rise_evidence_limit, detector.drop_evidence_limit

    default, factor = limits(), energy.SHIFT_FACTOR
    assert factor < 1.0  # a check sees one 48-h stretch: it may go below the calibration's worst
    monkeypatch.setattr(energy, "SHIFT_FACTOR", 1.0)
    largest = limits()
    for limit, ordinary in zip(default, largest, strict=True):
        assert limit == pytest.approx(max(energy.SHIFT_MIN_EVIDENCE, factor * ordinary))


def test_a_new_always_on_load_lifts_the_night_and_the_daytime_floor_together() -> None:
    times, kwh, _ = _home(92, seed=17, noise=0.04)
    midnight = START + 90 * DAY
    model, detector = _trained(times, kwh, midnight)
    base = model.base_load_w / 1000.0
    assert detector.floors_rise_kwh >= energy.FLOORS_RISE * base
    # Only the two floors judge: every other rule is switched off.
    floors_only = _keeping(detector, "floors")
    hour = ((times % DAY) // HOUR).astype(int)
    today = slice(90 * 24, 91 * 24)

    def verdicts(seen: np.ndarray) -> list[energy.UnusualUse]:
        expected = energy.day_ahead_expectations(model, times, seen, midnight - DAY, 2)
        return [
            floors_only.check(times[index - 47 : index + 1], seen[index - 47 : index + 1], expected)
            for index in range(90 * 24, 91 * 24)
        ]

    assert not any(v.active for v in verdicts(kwh))  # an ordinary day
    doubled = kwh.copy()
    doubled[today] += base  # a second always-on load as large as the first, from midnight
    found = [v for v in verdicts(doubled) if v.active]
    assert found and {v.kind for v in found} == {"raised_floor"}
    assert found[0].since == midnight  # the night is part of the evidence
    first = energy.DAYTIME_FIRST_HOUR + energy.DAYTIME_MIN_HOURS - 1
    assert not any(v.active for v in verdicts(doubled)[:first])  # judged once the day has spoken
    heated_night = kwh.copy()
    heated_night[today] += np.where(np.isin(hour[today], energy.NIGHT_HOURS), 3 * base, 0.0)
    assert not any(v.active for v in verdicts(heated_night))  # the night alone: not a new load
    home_all_day = kwh.copy()
    home_all_day[today] += np.where(np.isin(hour[today], energy.NIGHT_HOURS), 0.0, 3 * base)
    assert not any(v.active for v in verdicts(home_all_day))  # the daytime alone: not either


def test_floors_limit_rises_above_a_home_whose_floors_often_rise_together() -> None:
    times, kwh, _ = _home(92, seed=17, noise=0.04)
    often = kwh.copy()
    weekly = ((times // DAY).astype(int) % 7) == 0
    often[weekly] += 0.3  # one day a week every hour runs 300 W higher, as this home does
    midnight = START + 90 * DAY
    past = times < midnight
    for seen, busier in ((kwh, False), (often, True)):
        model = energy.EnergyForecaster.train(times[past], seen[past], now=midnight)
        detector = energy.UnusualUseDetector.train(model, times[past], seen[past], now=midnight)
        base = model.base_load_w / 1000.0
        if busier:  # more than two ordinary days rose that far: the limit follows them
            assert detector.floors_rise_kwh > 0.25
        else:
            assert detector.floors_rise_kwh == pytest.approx(energy.FLOORS_RISE * base)


def test_a_shortfall_must_fall_clearly_below_the_lowest_ordinary_level() -> None:
    times, kwh, _ = _home(92, seed=17, noise=0.04)
    midnight = START + 90 * DAY
    model, detector = _trained(times, kwh, midnight)
    # Only the four-hour shortfall judges: every other rule is switched off.
    shortfall_only = _keeping(detector)
    expected = energy.day_ahead_expectations(model, times, kwh, midnight, 1)
    hours = slice(90 * 24, 90 * 24 + energy.SHORTFALL_HOURS)

    def verdict(level: float) -> energy.UnusualUse:
        seen = kwh.copy()
        seen[hours] = level * detector.floor_kwh
        return shortfall_only.check(times[hours], seen[hours], expected)

    assert not verdict(0.95).active  # a little below the lowest ordinary level: still ordinary
    found = verdict(0.8)  # a fifth below it for four hours: something stopped
    assert found.active and found.kind == "shortfall"
    assert found.since == midnight
    # The lowest ordinary level is what was expected; below the band's low edge it alarms.
    assert found.lower_kwh == pytest.approx(
        energy.SHORTFALL_HOURS * detector.floor_kwh / energy.SHORTFALL_FACTOR
    )
    assert found.seen_kwh < found.lower_kwh <= found.expected_kwh <= found.upper_kwh


def _heated_home(days: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A home heated by a heat pump: use grows as the day's weather turns cold (times, kWh, °C)."""
    rng = np.random.default_rng(seed)
    times, kwh, _ = _home(days, seed=seed)
    weather = np.zeros(days)
    for day in range(1, days):  # the weather persists for a few days
        weather[day] = 0.7 * weather[day - 1] + rng.normal(0.0, 3.0)
    hour = (times % DAY) / HOUR
    outdoor = 8.0 + np.repeat(weather, 24) + 3.0 * np.sin((hour - 9.0) / 24.0 * 2 * np.pi)
    return times, kwh + 0.08 * np.maximum(16.0 - outdoor, 0.0), outdoor


def test_temperature_of_the_day_forecast_is_never_read() -> None:
    """A day-ahead forecast knows only the temperatures measured before it is made."""
    times, kwh, outdoor = _heated_home(200, seed=21)
    midnight = START + 190 * DAY
    past = times < midnight
    model = energy.EnergyForecaster.train(
        times[past], kwh[past], outdoor_temperature=outdoor[past], now=midnight
    )
    assert "colder_than_usual" in model.features
    span = times < midnight + DAY
    unknown_ahead = np.where(times[span] < midnight, outdoor[span], np.nan)
    measured = model.forecast(
        times[span], kwh[span], midnight, 24, outdoor_temperature=outdoor[span]
    )
    as_live = model.forecast(
        times[span], kwh[span], midnight, 24, outdoor_temperature=unknown_ahead
    )
    assert measured.kwh.tolist() == as_live.kwh.tolist()


def test_held_out_score_with_temperature_is_what_the_forecast_then_achieves() -> None:
    """The skill reported for a temperature-driven home holds on the days after training."""
    days, trained = 260, 200
    times, kwh, outdoor = _heated_home(days, seed=22)
    now = START + trained * DAY
    past = times < now
    model = energy.EnergyForecaster.train(
        times[past], kwh[past], outdoor_temperature=outdoor[past], now=now
    )
    actual, forecast = [], []
    for day in range(trained, days):
        midnight = START + day * DAY
        span = times < midnight + DAY
        # As live: the day's own temperatures are not known yet.
        known = np.where(times[span] < midnight, outdoor[span], np.nan)
        result = model.forecast(times[span], kwh[span], midnight, 24, outdoor_temperature=known)
        forecast.append(result.kwh)
        actual.append(kwh[(times >= midnight) & (times < midnight + DAY)])
    achieved = energy._nrmse(np.array(actual), np.array(forecast))
    assert achieved == pytest.approx(model.nrmse, rel=0.2)


def test_use_ordinary_at_home_is_unusual_while_away() -> None:
    """Nobody home: less is expected, so the use of a usual evening at home stands out."""
    times, kwh, _ = _home(90, seed=9)
    midnight = START + 89 * DAY
    model, detector = _trained(times, kwh, midnight)
    expected = energy.day_ahead_expectations(model, times, kwh, midnight - DAY, 2)
    excess_only = _keeping(detector, "excess")
    evening = slice(89 * 24 + 17, 89 * 24 + 22)
    # Just inside the band, every hour of the evening: ordinary at home.
    seen = kwh.copy()
    seen[evening] = expected.upper[24 + 17 : 24 + 22] - 0.01
    window = slice(89 * 24, 89 * 24 + 22)
    at_home = excess_only.check(times[window], seen[window], expected, away=np.zeros(22))
    assert not at_home.active
    away = excess_only.check(times[window], seen[window], expected, away=np.ones(22))
    assert away.active
    assert away.kind == "excess"
    # What was expected while away is the band's low edge, and the band above it is lowered.
    assert away.lower_kwh == pytest.approx(away.expected_kwh)
    assert away.expected_kwh < away.upper_kwh < away.seen_kwh
