"""How fast a room warms, learned in Home Assistant from its thermostat and temperature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import math
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.foresight.home_thermal import hold_readings
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.util.unit_system import US_CUSTOMARY_SYSTEM

from .controllers_helpers import TEMPERATURE, simulate_heated_room

START = datetime(2026, 10, 5, 0, 0, tzinfo=UTC)
GAIN, LOSS, OUTDOOR = 2.0, 0.1, 5.0  # °C/h at full heating, 1/h, °C


@pytest.fixture
def at_start(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """The clock at START."""
    freezer.move_to(START)
    return freezer


@pytest.fixture
async def home_at_start(
    at_start: FrozenDateTimeFactory, setup_home: MockConfigEntry
) -> MockConfigEntry:
    """The test home loaded at START."""
    return setup_home


async def test_warm_up_is_learned_from_the_thermostat(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_at_start: MockConfigEntry
) -> None:
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
    # Below the thermostat's 21 °C: the rate is the mean speed of the climb there.
    current, equilibrium = temperatures[-1], OUTDOOR + GAIN / LOSS
    climb_hours = math.log((equilibrium - current) / (equilibrium - 21.0)) / LOSS
    assert rate.attributes["temperature"] == current
    assert rate.attributes["target_temperature"] == 21.0
    assert float(rate.state) == pytest.approx((21.0 - current) / climb_hours, abs=0.3)
    assert rate.attributes["minutes_to_target"] == pytest.approx(60 * climb_hours, rel=0.05)
    coordinator = home_at_start.runtime_data.coordinator
    room = next(iter(home_at_start.subentries))
    minutes = coordinator.thermal.minutes_to_reach(room, 18.0, 20.0)
    equilibrium = OUTDOOR + GAIN / LOSS
    true_minutes = 60 * math.log((equilibrium - 18.0) / (equilibrium - 20.0)) / LOSS
    assert minutes == pytest.approx(true_minutes, abs=10)

    # Set below the room: the speed of warming at the room's temperature now.
    below = current - 2.0
    hass.states.async_set("climate.living", "heat", {"temperature": below, "hvac_action": "idle"})
    await coordinator.async_refresh()
    rate = hass.states.get("sensor.living_room_warm_up_rate")
    assert rate is not None
    assert rate.attributes["target_temperature"] == pytest.approx(below)
    assert rate.attributes["minutes_to_target"] == 0
    assert float(rate.state) == pytest.approx(GAIN - LOSS * (current - OUTDOOR), abs=0.4)
    hass.states.async_set("climate.living", "heat", {"temperature": 21.0, "hvac_action": "idle"})
    await coordinator.async_refresh()
    rate = hass.states.get("sensor.living_room_warm_up_rate")
    assert rate is not None

    # In a home that shows temperatures in °F, the rate is in °F per hour.
    hass.config.units = US_CUSTOMARY_SYSTEM
    coordinator.async_update_listeners()
    await hass.async_block_till_done()
    in_fahrenheit = hass.states.get("sensor.living_room_warm_up_rate")
    assert in_fahrenheit is not None
    assert in_fahrenheit.attributes["unit_of_measurement"] == "°F/h"
    assert float(in_fahrenheit.state) == pytest.approx(float(rate.state) * 1.8, abs=0.1)
    assert in_fahrenheit.attributes["heating_gain"] == pytest.approx(
        rate.attributes["heating_gain"] * 1.8, abs=0.01
    )
    assert in_fahrenheit.attributes["temperature"] == pytest.approx(
        rate.attributes["temperature"] * 1.8 + 32, abs=0.1
    )
    assert in_fahrenheit.attributes["target_temperature"] == pytest.approx(69.8, abs=0.05)
    assert in_fahrenheit.attributes["minutes_to_target"] == rate.attributes["minutes_to_target"]
    assert in_fahrenheit.attributes["heat_loss"] == rate.attributes["heat_loss"]

    # Restarted after an hour down, the thermometer's integration loading after Foresight: the
    # room's temperature is known once Home Assistant has started, not at the next refresh.
    assert await hass.config_entries.async_unload(home_at_start.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=1))
    thermometer = hass.states.get("sensor.living_temperature")
    assert thermometer is not None
    hass.states.async_remove("sensor.living_temperature")
    hass.set_state(CoreState.starting)
    assert await hass.config_entries.async_setup(home_at_start.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    hass.states.async_set(thermometer.entity_id, thermometer.state, thermometer.attributes)
    hass.set_state(CoreState.running)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    restarted = hass.states.get("sensor.living_room_warm_up_rate")
    assert restarted is not None
    assert restarted.state not in ("unknown", "unavailable")
    assert restarted.attributes["temperature"] == pytest.approx(
        float(hass.states.get("sensor.living_temperature").state) * 1.8 + 32, abs=0.1
    )


async def test_warm_up_is_learned_from_the_set_point_without_hvac_action(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_at_start: MockConfigEntry
) -> None:
    """A thermostat that reports only its mode and set point: it heats while below the set point."""
    zone = ZoneInfo(hass.config.time_zone)
    temperature, heating, setpoint = 16.0, False, None
    for step in range(3 * 24 * 12):
        moment = START + timedelta(minutes=5 * step)
        freezer.move_to(moment)
        # 21 °C mornings and evenings, 12 °C otherwise; the mode is "heat" all along.
        wanted = 21.0 if moment.astimezone(zone).hour in (6, 7, 17, 18, 19, 20) else 12.0
        if wanted != setpoint:
            setpoint = wanted
            hass.states.async_set(
                "climate.living",
                "heat",
                {"temperature": setpoint, "current_temperature": temperature},
            )
        heating = temperature < setpoint - (0.0 if heating else 0.3)  # a thermostat's hysteresis
        hass.states.async_set("sensor.living_temperature", str(round(temperature, 1)), TEMPERATURE)
        temperature += (GAIN * heating - LOSS * (temperature - OUTDOOR)) * 5 / 60
    await hass.services.async_call("foresight", "retrain", {}, blocking=True)

    rate = hass.states.get("sensor.living_room_warm_up_rate")
    assert rate is not None
    assert rate.attributes["heating_gain"] == pytest.approx(GAIN, rel=0.25)
    assert rate.attributes["heat_loss"] == pytest.approx(LOSS, rel=0.4)

    # A room left to freeze, at exactly 0 °C, still has a warm-up rate: its climb to the 12 °C
    # set for the night, slower on average than its warming at 0 °C.
    hass.states.async_set("sensor.living_temperature", "0.0", TEMPERATURE)
    await home_at_start.runtime_data.coordinator.async_refresh()
    frozen = hass.states.get("sensor.living_room_warm_up_rate")
    assert frozen is not None
    assert frozen.attributes["temperature"] == 0.0
    assert frozen.attributes["target_temperature"] == 12.0
    climb_minutes = frozen.attributes["minutes_to_target"] - frozen.attributes["delay_minutes"]
    assert float(frozen.state) == pytest.approx(12.0 / (climb_minutes / 60), rel=0.02)
    at_zero = frozen.attributes["heating_gain"] + frozen.attributes["heat_loss"] * OUTDOOR
    assert GAIN - LOSS * (12.0 - OUTDOOR) < float(frozen.state) < at_zero


def test_hold_readings() -> None:
    times, values = hold_readings(
        np.array([0.0, 1000.0, 2000.0]), np.array([1.0, np.nan, 3.0]), 2600.0
    )
    assert times.tolist() == [0.0, 300.0, 600.0, 900.0, 1000.0, 2000.0, 2300.0]
    assert values[:4].tolist() == [1.0] * 4
    assert np.isnan(values[4])
    assert values[5:].tolist() == [3.0, 3.0]
