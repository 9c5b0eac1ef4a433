"""How fast a room warms, learned in Home Assistant from its thermostat and temperature."""

from __future__ import annotations

from datetime import UTC, datetime
import math
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.foresight.home_thermal import hold_readings
from homeassistant.core import HomeAssistant

from .conftest import set_home_states
from .controllers_helpers import simulate_heated_room

START = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)
GAIN, LOSS, OUTDOOR = 2.0, 0.1, 5.0  # °C/h at full heating, 1/h, °C


async def test_warm_up_is_learned_from_the_thermostat(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    freezer.move_to(START)
    set_home_states(hass)
    home_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    zone = ZoneInfo(hass.config.time_zone)

    temperatures = simulate_heated_room(
        hass,
        freezer,
        START,
        days=3,
        heating_hours=(6, 7, 17, 18, 19, 20),
        gain=GAIN,
        loss=LOSS,
        outdoor=OUTDOOR,
        zone=zone,
    )
    await hass.services.async_call("foresight", "retrain", {}, blocking=True)

    # The simulator's truth: the room is learned from what Home Assistant recorded.
    rate = hass.states.get("sensor.living_room_warm_up_rate")
    assert rate is not None
    assert rate.attributes["heating_gain"] == pytest.approx(GAIN, rel=0.15)
    assert rate.attributes["heat_loss"] == pytest.approx(LOSS, rel=0.3)
    assert float(rate.state) == pytest.approx(GAIN - LOSS * (temperatures[-1] - OUTDOOR), abs=0.4)
    coordinator = home_entry.runtime_data.coordinator
    room = next(iter(home_entry.subentries))
    minutes = coordinator.thermal.minutes_to_reach(room, 18.0, 20.0)
    equilibrium = OUTDOOR + GAIN / LOSS
    true_minutes = 60 * math.log((equilibrium - 18.0) / (equilibrium - 20.0)) / LOSS
    assert minutes == pytest.approx(true_minutes, abs=10)


def test_hold_readings() -> None:
    times, values = hold_readings(
        np.array([0.0, 1000.0, 2000.0]), np.array([1.0, np.nan, 3.0]), 2600.0
    )
    assert times.tolist() == [0.0, 300.0, 600.0, 900.0, 1000.0, 2000.0, 2300.0]
    assert values[:4].tolist() == [1.0] * 4
    assert np.isnan(values[4])
    assert values[5:].tolist() == [3.0, 3.0]
