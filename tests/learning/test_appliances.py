"""Tests for appliance cycle learning and drift detection."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.foresight.learning.appliances import (
    MAX_FLAGGED,
    TRAIN_DAYS,
    ApplianceModel,
    add_flagged,
)

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
START = 1_700_006_400.0


def _fridge(
    days: float,
    *,
    on_minutes: float = 30.0,
    off_minutes: float = 60.0,
    on_power: float = 110.0,
    seed: int = 0,
    start: float = START,
) -> tuple[np.ndarray, np.ndarray]:
    """A compressor cycling with jittered run and rest lengths, one reading a minute."""
    rng = np.random.default_rng(seed)
    minutes = int(days * 1440)
    power = np.empty(minutes)
    index = 0
    while index < minutes:
        run = max(1, int(on_minutes * rng.uniform(0.85, 1.15)))
        rest = max(1, int(off_minutes * rng.uniform(0.85, 1.15)))
        power[index : index + run] = on_power
        power[index + run : index + run + rest] = 1.5
        index += run + rest
    power *= 1.0 + rng.normal(0.0, 0.02, minutes)
    return start + np.arange(minutes) * MINUTE, power


def _trained(days: float = 14.0) -> ApplianceModel:
    times, power = _fridge(days)
    return ApplianceModel.fit(times, power)


def _check_after(model: ApplianceModel, times: np.ndarray, power: np.ndarray) -> str:
    return model.check(times, power, float(times[-1])).status


def test_cycles_learned() -> None:
    """On/off split, share of time on, cycles per day and run length match the pattern."""
    model = _trained()
    assert model.ready
    assert model.on_threshold is not None and 2.0 < model.on_threshold < 100.0
    duty, _, _ = model.band("duty", None)
    cycles, _, _ = model.band("cycles_per_day", None)
    run, _, _ = model.band("run_minutes", None)
    power, _, _ = model.band("on_power", None)
    assert duty == pytest.approx(1 / 3, abs=0.03)
    assert cycles == pytest.approx(16.0, rel=0.1)
    assert run == pytest.approx(30.0, rel=0.1)
    assert power == pytest.approx(110.0, rel=0.03)
    assert len(model.duty_by_hour) == 24


def test_share_of_time_on_is_learned_by_hour_of_the_day() -> None:
    """A dehumidifier that runs all afternoon and rests at night: its hours say so."""
    days = 10
    times = START + np.arange(days * 1440) * MINUTE
    hour = (times % DAY) // HOUR
    rng = np.random.default_rng(3)
    afternoon = (hour >= 12) & (hour < 18)
    # Afternoons: on three minutes in four; otherwise one minute in four.
    on = np.where(afternoon, (times // MINUTE) % 4 != 0, (times // MINUTE) % 4 == 0)
    power = np.where(on, 300.0, 2.0) * (1.0 + rng.normal(0.0, 0.02, times.size))
    model = ApplianceModel.fit(times, power)
    assert model.ready
    for h, share in enumerate(model.duty_by_hour):
        assert share == pytest.approx(0.75 if 12 <= h < 18 else 0.25, abs=0.02), h


def test_ordinary_days_stay_ok() -> None:
    """New days like the old ones: no drift."""
    model = _trained()
    times, power = _fridge(2, seed=9, start=START + 20 * DAY)
    verdict = model.check(times, power, float(times[-1]))
    assert verdict.status == "ok"
    assert not any(measure.drifted for measure in verdict.measures)


@pytest.mark.parametrize(
    ("fault", "measure"),
    [
        ({"on_minutes": 75.0, "off_minutes": 45.0}, "run_minutes"),  # compressor runs long
        ({"on_power": 170.0}, "on_power"),  # more power for the same work
        ({"on_power": 1.5}, "cycles_per_day"),  # stopped cycling
        ({"on_minutes": 10_000.0}, "cycles_per_day"),  # stuck on
    ],
)
def test_drift_detected(fault: dict[str, float], measure: str) -> None:
    """A day and a half of drifted cycling is flagged, naming what drifted."""
    model = _trained()
    times, power = _fridge(1.5, seed=3, start=START + 20 * DAY, **fault)
    verdict = model.check(times, power, float(times[-1]))
    assert verdict.status == "drifted"
    assert measure in verdict.drifted_measures
    seen = {check.name: check for check in verdict.measures}
    assert seen[measure].drifted


def test_flagged_periods_merge_stay_bounded_and_forget_what_training_no_longer_reads() -> None:
    """Hours flagged one after another are one period; old ones go; many never pile up."""
    periods: list[tuple[float, float]] = []
    for hour in range(5):
        periods = add_flagged(periods, START + hour * HOUR, START + (hour + 1) * HOUR)
    assert periods == [(START, START + 5 * HOUR)]
    later = START + (TRAIN_DAYS + 2) * DAY
    periods = add_flagged(periods, later, later + HOUR)
    assert periods == [(later, later + HOUR)]
    for hour in range(3 * MAX_FLAGGED):  # every other hour, with a short gap
        periods = add_flagged(periods, later + 2 * hour * HOUR, later + (2 * hour + 1) * HOUR)
    assert len(periods) <= MAX_FLAGGED
    assert periods[0][0] == later
    assert periods[-1][1] == later + (6 * MAX_FLAGGED - 1) * HOUR


def test_short_drift_is_not_flagged() -> None:
    """A drift that did not stay (a few odd hours) is not a problem yet."""
    model = _trained()
    times, power = _fridge(2, seed=4, start=START + 20 * DAY)
    odd = times > times[-1] - 2 * HOUR
    power[odd] = 1.5  # silent for the last two hours only
    assert _check_after(model, times, power) == "ok"


def test_outdoor_temperature_explains_the_heat_pump() -> None:
    """A heat pump running more in the cold is normal once the temperature is known."""
    rng = np.random.default_rng(6)
    days = 21
    temperature_times = START + np.arange(days * 24) * HOUR
    outdoor = 5 + 6 * np.sin(np.arange(days * 24) / 24 / 3) + rng.normal(0, 0.3, days * 24)
    chunks_times: list[np.ndarray] = []
    chunks_power: list[np.ndarray] = []
    for day in range(days):
        mean = float(outdoor[day * 24 : (day + 1) * 24].mean())
        share = np.clip((18 - mean) / 20, 0.1, 0.9)
        times, power = _fridge(
            1,
            on_minutes=120 * share,
            off_minutes=120 * (1 - share),
            on_power=1500,
            seed=day,
            start=START + day * DAY,
        )
        chunks_times.append(times)
        chunks_power.append(power)
    times, power = np.concatenate(chunks_times), np.concatenate(chunks_power)
    model = ApplianceModel.fit(times, power, temperature_times, outdoor)
    assert model.uses_temperature
    cold, mild = model.band("duty", -5.0)[0], model.band("duty", 15.0)[0]
    assert cold > mild + 0.2
    # A cold spell with the heat pump running 90 % of the time is expected in the cold...
    spell_times, spell_power = _fridge(
        1.5, on_minutes=108, off_minutes=12, on_power=1500, seed=50, start=START + days * DAY
    )
    cold_times = START + np.arange((days + 2) * 24) * HOUR
    cold_outdoor = np.concatenate([outdoor, np.full(48, -4.0)])
    verdict = model.check(
        spell_times, spell_power, float(spell_times[-1]), cold_times, cold_outdoor
    )
    assert "duty" not in verdict.drifted_measures
    # ...but not on a mild day.
    mild_outdoor = np.concatenate([outdoor, np.full(48, 15.0)])
    verdict = model.check(
        spell_times, spell_power, float(spell_times[-1]), cold_times, mild_outdoor
    )
    assert verdict.status == "drifted" and "duty" in verdict.drifted_measures


def test_too_little_history_is_learning() -> None:
    """Under three days, or an appliance that never cycles: learning, never a verdict."""
    times, power = _fridge(1.5)
    model = ApplianceModel.fit(times, power)
    assert not model.ready
    assert model.check(times, power, float(times[-1])).status == "learning"
    flat = ApplianceModel.fit(times, np.full(times.size, 3.0))
    assert flat.on_threshold is None and not flat.ready
    empty = ApplianceModel.fit(np.array([]), np.array([]))
    assert not empty.ready


def test_bad_input_handled() -> None:
    """NaN readings and gaps are tolerated; mismatched arrays raise ValueError."""
    times, power = _fridge(14)
    power[::97] = math.nan
    power[5000:5300] = math.nan  # a five-hour gap
    model = ApplianceModel.fit(times, power)
    assert model.ready
    later_times, later_power = _fridge(2, seed=8, start=START + 20 * DAY)
    assert _check_after(model, later_times, later_power) == "ok"
    with pytest.raises(ValueError):
        ApplianceModel.fit(times, power[:-1])
    assert model.check(np.array([]), np.array([]), START + 30 * DAY).status == "learning"


def test_round_trip_keeps_verdicts() -> None:
    """to_dict / from_dict is JSON-safe and gives the same verdicts."""
    model = _trained()
    restored = ApplianceModel.from_dict(json.loads(json.dumps(model.to_dict())))
    times, power = _fridge(1.5, seed=3, start=START + 20 * DAY, on_power=170.0)
    assert restored.check(times, power, float(times[-1])) == model.check(
        times, power, float(times[-1])
    )


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"normal": {"duty": [0.3, 0.0, 0.01]}},
        {"normal": "none"},
        {"duty_by_hour": [0.1] * 23},
        {"on_threshold": "high"},
        {"mean_temperature": math.nan},
    ],
)
def test_from_dict_rejects_bad_data(change: dict[str, object]) -> None:
    """Old or damaged saved data raises ValueError."""
    data = {**_trained(4).to_dict(), **change}
    with pytest.raises(ValueError):
        ApplianceModel.from_dict(data)
