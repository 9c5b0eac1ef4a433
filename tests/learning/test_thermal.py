"""Tests of the room warm-up model on seeded simulated rooms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.foresight.learning import thermal

GAIN, LOSS = 3.0, 0.15  # °C/h at full heating, 1/h


def _room(
    days: int = 7, seed: int = 1, noise: float = 0.03, delay_min: int = 0
) -> dict[str, np.ndarray]:
    """A first-order room under a thermostat (hysteresis 0.3 °C), one-minute truth."""
    rng = np.random.default_rng(seed)
    minutes = days * 1440
    outdoor = 5.0 + 4.0 * np.sin(np.arange(minutes) / 1440.0 * 2 * np.pi)
    temperature, switch = 18.0, 0.0
    history: list[float] = []
    sensor, heating = [], []
    for minute in range(minutes):
        hour = (minute % 1440) / 60.0
        target = 21.0 if 7.0 <= hour < 22.0 else 17.0
        if temperature < target - 0.3:
            switch = 1.0
        elif temperature > target + 0.3:
            switch = 0.0
        history.append(switch)
        delivered = history[minute - delay_min] if minute >= delay_min else 0.0
        temperature += (GAIN * delivered - LOSS * (temperature - outdoor[minute])) / 60.0
        sensor.append(round(temperature + rng.normal(0.0, noise), 1))
        heating.append(switch)
    times = np.arange(minutes, dtype=np.float64) * 60.0 + 60.0
    return {
        "times": times,
        "temperature": np.asarray(sensor),
        "heating": np.asarray(heating),
        "heating_times": times - 60.0,
        "outdoor": outdoor,
        "outdoor_times": np.arange(minutes, dtype=np.float64) * 60.0,
    }


def _train(data: dict[str, np.ndarray], with_outdoor: bool = True) -> thermal.RoomThermalModel:
    return thermal.RoomThermalModel.train(
        data["times"],
        data["temperature"],
        heating=data["heating"],
        heating_timestamps=data["heating_times"],
        outdoor_timestamps=data["outdoor_times"] if with_outdoor else None,
        outdoor_temperature=data["outdoor"] if with_outdoor else None,
    )


def test_recovers_simulator_parameters() -> None:
    model = _train(_room())
    assert model.ready
    assert model.gain_c_per_h == pytest.approx(GAIN, rel=0.1)
    assert model.loss_per_h == pytest.approx(LOSS, rel=0.1)
    assert model.delay_min <= 5
    # Warm-up rate at 18 °C with 5 °C outside: 3 − 0.15 × 13 = 1.05 °C/h.
    assert model.warm_up_rate(18.0, 5.0) == pytest.approx(1.05, abs=0.15)


def test_minutes_to_reach_matches_the_exact_solution() -> None:
    model = _train(_room(seed=2))
    equilibrium = 5.0 + GAIN / LOSS
    truth = math.log((equilibrium - 17.0) / (equilibrium - 19.0)) / LOSS * 60.0
    predicted = model.minutes_to_reach(17.0, 19.0, 5.0)
    assert predicted is not None
    assert abs(predicted - truth) < 10.0
    assert model.minutes_to_reach(20.0, 19.0, 5.0) == 0.0
    assert model.minutes_to_reach(17.0, 40.0, 5.0) is None  # beyond what the heater can hold


def test_the_warm_up_rate_depends_on_the_gap_to_the_set_point() -> None:
    """The mean speed of the climb to the set point: slower for a bigger gap, as the truth."""
    model = _train(_room(seed=2))
    equilibrium = 5.0 + GAIN / LOSS
    rates = []
    for target in (17.5, 19.0, 21.0):
        truth = (target - 17.0) * LOSS / math.log((equilibrium - 17.0) / (equilibrium - target))
        rate = model.warm_up_rate(17.0, 5.0, target)
        assert rate == pytest.approx(truth, abs=0.15), target
        rates.append(rate)
    assert rates[0] > rates[1] > rates[2]
    # At or above the set point, or with one the heating cannot hold: the rate at 17 °C now.
    now = model.warm_up_rate(17.0, 5.0)
    assert now == pytest.approx(GAIN - LOSS * 12.0, abs=0.15)
    assert model.warm_up_rate(17.0, 5.0, 16.0) == now
    assert model.warm_up_rate(17.0, 5.0, 40.0) == now
    # Colder outside, the same gap is climbed more slowly.
    assert model.warm_up_rate(17.0, -5.0, 19.0) < model.warm_up_rate(17.0, 5.0, 19.0)


def test_dead_time_is_learned() -> None:
    model = _train(_room(seed=3, delay_min=20))
    assert model.ready
    assert 10 <= model.delay_min <= 30


def test_without_outdoor_temperature_a_level_is_learned() -> None:
    model = _train(_room(seed=4), with_outdoor=False)
    assert model.ready
    # The learned level absorbs the daily outdoor swing; the warm-up time stays usable.
    equilibrium = 5.0 + GAIN / LOSS
    truth = math.log((equilibrium - 17.0) / (equilibrium - 19.0)) / LOSS * 60.0
    predicted = model.minutes_to_reach(17.0, 19.0)
    assert predicted is not None
    assert predicted == pytest.approx(truth, rel=0.35)


def test_heating_inferred_from_setpoint() -> None:
    data = _room(seed=5)
    hour = (data["times"] % 86400) / 3600.0
    setpoint = np.where((hour >= 7.0) & (hour < 22.0), 21.0, 17.0)
    model = thermal.RoomThermalModel.train(
        data["times"],
        data["temperature"],
        setpoint=setpoint,
        outdoor_timestamps=data["outdoor_times"],
        outdoor_temperature=data["outdoor"],
    )
    # Without hvac_action the heating share near the set point is only guessed: rough, but usable.
    assert model.ready
    assert model.gain_c_per_h == pytest.approx(GAIN, rel=0.5)


def test_bad_input_gives_a_model_that_is_not_ready() -> None:
    assert not thermal.RoomThermalModel.train([], []).ready
    assert not thermal.RoomThermalModel.train([0.0, 60.0], [np.nan, np.nan], heating=[1, 1]).ready
    data = _room(days=1)
    never_heated = thermal.RoomThermalModel.train(
        data["times"], data["temperature"], heating=np.zeros(data["times"].size)
    )
    assert not never_heated.ready
    assert never_heated.minutes_to_reach(17.0, 19.0) is None
    assert math.isnan(never_heated.warm_up_rate(17.0))
    with pytest.raises(ValueError):
        thermal.RoomThermalModel.train([0.0, 1.0], [20.0])


def test_hvac_action_conversion() -> None:
    actions = ["heating", "idle", "off", "HEATING", None]
    np.testing.assert_array_equal(thermal.heating_from_hvac_action(actions), [1, 0, 0, 1, 0])


def test_round_trip_and_bad_data() -> None:
    model = _train(_room(seed=6))
    restored = thermal.RoomThermalModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored == model
    empty = thermal.RoomThermalModel()
    assert thermal.RoomThermalModel.from_dict(
        json.loads(json.dumps(empty.to_dict()))
    ).to_dict() == (empty.to_dict())
    for bad in (None, {}, {"version": 2}, {"version": 1, "gain_c_per_h": "x"}):
        with pytest.raises(ValueError):
            thermal.RoomThermalModel.from_dict(bad)
