"""The home's energy, end to end: long-term statistics in a real recorder → the energy entities."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
import logging
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import holidays
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.foresight.const import (
    CALENDAR_DAYS,
    CONF_BATTERY_CHARGE_SENSOR,
    CONF_BATTERY_DISCHARGE_SENSOR,
    CONF_ENERGY_SENSOR,
    CONF_EXPORT_SENSOR,
    CONF_PRODUCTION_SENSOR,
    CONF_WORKDAY_SENSOR,
    ELECTRICITY_FLOWS,
    EVENT_UNUSUAL_ENERGY,
)
from custom_components.foresight.history import HistoryStore, HourlyRow
from custom_components.foresight.home_energy import EPOCH, EnergyFlow, HomeEnergy, energy_clock
from custom_components.foresight.learning.energy import (
    EnergyForecast,
    EnergyForecaster,
    UnusualUseDetector,
    expected_power_w,
    next_hour_kwh,
    rest_of_today_kwh,
    workday_flags,
)
from custom_components.foresight.learning.presence import expected_presence
from custom_components.foresight.sources import Kind
from custom_components.foresight.timebase import to_wall_clock, wall_clock_now
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, Event, HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .conftest import (
    history_locked,
    import_hourly_statistics,
    load_entry,
    recorded_attributes,
    set_home_states,
)

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAYS = 60
ENERGY = {"device_class": "energy", "state_class": "total_increasing"}
HOUSE_METER = [EnergyFlow("sensor.house_energy", Kind.ENERGY)]


def _usual_day(hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A home's hourly kWh: 0.2 kWh at night, peaks in the morning and evening, some noise."""
    hour = (hours % 86400) // 3600
    usual = 0.2 + 0.6 * np.exp(-((hour - 7.5) ** 2) / 2) + 1.0 * np.exp(-((hour - 19) ** 2) / 4)
    return usual * rng.lognormal(0.0, 0.15, hours.size)


async def _load_energy_home(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, now: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Sixty days of hourly long-term statistics up to ``now`` (in Wh, with a meter reset), then
    Foresight; returns the UTC hours and their kWh."""
    zone = ZoneInfo(hass.config.time_zone)
    first = now.replace(minute=0) - timedelta(days=DAYS)
    utc_hours = first.timestamp() + 3600.0 * np.arange(DAYS * 24)
    kwh_utc = _usual_day(to_wall_clock(utc_hours, zone), np.random.default_rng(7))
    total = np.cumsum(kwh_utc)
    reading = total.copy()
    reading[len(reading) // 2 :] -= total[len(reading) // 2 - 1]  # the meter was replaced
    import_hourly_statistics(
        hass,
        "sensor.house_energy",
        "energy",
        "Wh",
        [
            # The hour before: the first hour's use is counted from its row.
            {
                "start": datetime.fromtimestamp(utc_hours[0] - 3600, UTC),
                "state": 1000.0 * (reading[0] - kwh_utc[0]),
                "sum": 0.0,
            },
            *(
                {
                    "start": datetime.fromtimestamp(hour, UTC),
                    "state": 1000.0 * state,
                    "sum": 1000.0 * cumulated,
                }
                for hour, state, cumulated in zip(utc_hours, reading, total, strict=True)
            ),
        ],
    )
    freezer.move_to(now)
    set_home_states(hass)
    hass.states.async_set(
        "sensor.house_energy", f"{reading[-1]:.3f}", {**ENERGY, "unit_of_measurement": "kWh"}
    )
    await async_wait_recording_done(hass)
    await load_entry(hass, entry)
    return utc_hours, kwh_utc


@pytest.fixture
async def energy_home(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> tuple[MockConfigEntry, np.ndarray, np.ndarray]:
    """The home with sixty days of energy use up to ``NOW``, and those hours on the wall clock."""
    utc_hours, kwh_utc = await _load_energy_home(hass, freezer, home_entry, NOW)
    local_hours, kwh = _on_the_wall_clock(hass, utc_hours, kwh_utc)
    assert local_hours.size == utc_hours.size - 1
    return home_entry, local_hours, kwh


def _on_the_wall_clock(
    hass: HomeAssistant, utc_hours: np.ndarray, kwh_utc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hourly kWh on the local wall clock: the autumn's repeated hour is one hour of both."""
    local_hours, where = np.unique(
        to_wall_clock(utc_hours, ZoneInfo(hass.config.time_zone)), return_inverse=True
    )
    kwh = np.zeros(local_hours.size)
    np.add.at(kwh, where, kwh_utc)
    return local_hours, kwh


async def test_entities_show_the_engine_result(
    hass: HomeAssistant, energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray]
) -> None:
    _entry, local_hours, kwh = energy_home
    offline = await _assert_the_entities_show_the_engine_result(hass, local_hours, kwh, NOW)
    assert offline.status == "ready"
    # The hourly values are for dashboards and automations; the database keeps the state only.
    next_hour = hass.states.get("sensor.foresight_energy_forecast_next_hour")
    assert next_hour is not None
    assert "forecast" not in await recorded_attributes(hass, next_hour.entity_id)
    unusual = hass.states.get("binary_sensor.foresight_unusual_energy_use")
    assert unusual is not None
    assert unusual.state == "off"


async def _assert_the_entities_show_the_engine_result(
    hass: HomeAssistant, local_hours: np.ndarray, kwh: np.ndarray, now: datetime
) -> EnergyForecaster:
    """The energy entities show what the learning engine makes of ``kwh``, offline."""
    local_now = wall_clock_now(now, ZoneInfo(hass.config.time_zone))
    offline = EnergyForecaster.train(local_hours, kwh, now=local_now)
    assert offline.status != "learning"
    expected = offline.forecast(local_hours, kwh, local_now, 24)

    status = hass.states.get("sensor.foresight_energy_model_status")
    assert status is not None
    assert status.state == offline.status
    next_hour = hass.states.get("sensor.foresight_energy_forecast_next_hour")
    assert next_hour is not None
    assert float(next_hour.state) == pytest.approx(next_hour_kwh(expected, local_now), abs=1e-3)
    forecast = next_hour.attributes["forecast"]
    assert len(forecast) == 24
    assert [hour["kwh"] for hour in forecast] == pytest.approx(expected.kwh.tolist(), abs=1e-3)
    assert [hour["upper"] for hour in forecast] == pytest.approx(expected.upper.tolist(), abs=1e-3)
    accuracy = hass.states.get("sensor.foresight_energy_forecast_accuracy")
    assert accuracy is not None
    assert float(accuracy.state) == pytest.approx(offline.skill * 100, abs=0.1)
    assert accuracy.attributes["model"] == offline.model
    assert accuracy.attributes["model_share"] == pytest.approx(offline.model_share, abs=1e-4)
    base_load = hass.states.get("sensor.foresight_base_load")
    assert base_load is not None
    assert float(base_load.state) == pytest.approx(offline.base_load_w, abs=0.01)
    rest_of_today = hass.states.get("sensor.foresight_energy_forecast_rest_of_today")
    assert rest_of_today is not None
    assert float(rest_of_today.state) == pytest.approx(
        rest_of_today_kwh(expected, local_now), abs=1e-3
    )
    power = hass.states.get("sensor.foresight_expected_power")
    assert power is not None
    assert float(power.state) == pytest.approx(expected_power_w(expected, local_now), abs=0.1)
    trained = hass.states.get("sensor.foresight_energy_model_last_trained")
    assert trained is not None
    assert trained.state == now.isoformat()
    return offline


# 16:00 in California on a sunny day after cloudy weeks.
SOLAR_NOW = datetime(2026, 6, 10, 23, 0, tzinfo=UTC)
SOLAR_HOME = {
    CONF_PRODUCTION_SENSOR: ["sensor.solar_power"],
    CONF_EXPORT_SENSOR: ["sensor.grid_export"],
    CONF_BATTERY_DISCHARGE_SENSOR: ["sensor.battery_out"],
    CONF_BATTERY_CHARGE_SENSOR: ["sensor.battery_in"],
}
BATTERY_KWH = 5.0  # the home battery's capacity, and the most it moves in an hour
BATTERY_RATE_KWH = 2.5


def _battery(surplus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A home battery storing the panels' surplus and giving it back when the home needs it:
    what it took in and what it gave out, each hour."""
    stored = 0.0
    charged, discharged = np.zeros(surplus.size), np.zeros(surplus.size)
    for hour, extra in enumerate(surplus):
        if extra > 0:
            charged[hour] = min(extra, BATTERY_KWH - stored, BATTERY_RATE_KWH)
        else:
            discharged[hour] = min(-extra, stored, BATTERY_RATE_KWH)
        stored += charged[hour] - discharged[hour]
    return charged, discharged


def _meter_rows(utc_hours: np.ndarray, kwh: np.ndarray) -> list[dict[str, Any]]:
    """A kWh meter's hourly statistics for the ``kwh`` used in each of ``utc_hours``, from the
    row of the hour before (the first hour's use is counted from it)."""
    starts = np.concatenate([[utc_hours[0] - 3600.0], utc_hours])
    total = np.concatenate([[0.0], np.cumsum(kwh)])
    return [
        {"start": datetime.fromtimestamp(hour, UTC), "state": cumulated, "sum": cumulated}
        for hour, cumulated in zip(starts, total, strict=True)
    ]


async def _load_solar_home(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    data: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sixty days of a home with solar panels up to ``SOLAR_NOW`` (cloudy until today), its
    grid import, solar power and export in the recorder, then Foresight with ``data``.

    Returns the wall-clock hours, what the home used in each and what it took from the grid.
    """
    zone = ZoneInfo(hass.config.time_zone)
    utc_hours = (SOLAR_NOW - timedelta(days=DAYS)).timestamp() + 3600.0 * np.arange(DAYS * 24)
    local = to_wall_clock(utc_hours, zone)
    used = _usual_day(local, np.random.default_rng(13))
    today = wall_clock_now(SOLAR_NOW, zone) // 86400 * 86400
    sun = np.where(local >= today, 1.0, 0.03)
    production = 3.0 * sun * np.clip(np.sin(((local % 86400) / 3600 - 6) / 12 * np.pi), 0, None)
    charged, discharged = _battery(production - used)
    imported = np.maximum(used - production - discharged, 0.0)
    exported = np.maximum(production - used - charged, 0.0)
    meters = {
        "sensor.house_energy": imported,
        "sensor.grid_export": exported,
        "sensor.battery_in": charged,
        "sensor.battery_out": discharged,
    }
    for meter, kwh in meters.items():
        import_hourly_statistics(hass, meter, "energy", "kWh", _meter_rows(utc_hours, kwh))
    import_hourly_statistics(
        hass,
        "sensor.solar_power",
        "power",
        "W",
        [
            {"start": datetime.fromtimestamp(hour, UTC), "mean": w, "min": w, "max": w}
            for hour, w in zip(utc_hours, 1000.0 * production, strict=True)
        ],
    )
    freezer.move_to(SOLAR_NOW)
    set_home_states(hass)
    for meter, kwh in meters.items():
        hass.states.async_set(meter, f"{kwh.sum():.3f}", {**ENERGY, "unit_of_measurement": "kWh"})
    hass.states.async_set(
        "sensor.solar_power",
        f"{1000.0 * production[-1]:.0f}",
        {"device_class": "power", "state_class": "measurement", "unit_of_measurement": "W"},
    )
    await async_wait_recording_done(hass)
    await load_entry(hass, entry, data={**entry.data, **data})
    local_hours, home_use = _on_the_wall_clock(hass, utc_hours, used)
    return local_hours, home_use, _on_the_wall_clock(hass, utc_hours, imported)[1]


@pytest.mark.parametrize(
    "solar", [True, False], ids=["with production, export and battery", "import"]
)
async def test_a_solar_home_learns_what_it_uses(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry, solar: bool
) -> None:
    """Grid import plus solar production less export is what the home uses: a sunny afternoon's
    import near zero is then ordinary; from the import alone it looks like a fridge stopped."""
    hours, used, imported = await _load_solar_home(
        hass, freezer, home_entry, SOLAR_HOME if solar else {}
    )
    learned, other = (used, imported) if solar else (imported, used)
    energy = home_entry.runtime_data.coordinator.energy
    assert energy is not None
    assert {flow.key: flow.sign for flow in energy.flows} == (
        {
            "sensor.house_energy": 1.0,
            "sensor.solar_power": 1.0,
            "sensor.grid_export": -1.0,
            "sensor.battery_out": 1.0,
            "sensor.battery_in": -1.0,
        }
        if solar
        else {"sensor.house_energy": 1.0}
    )
    shown = await _assert_the_entities_show_the_engine_result(hass, hours, learned, SOLAR_NOW)
    # The other series would show something else: the entities tell which one was learned.
    local_now = wall_clock_now(SOLAR_NOW, ZoneInfo(hass.config.time_zone))
    unlearned = EnergyForecaster.train(hours, other, now=local_now).forecast(
        hours, other, local_now, 24
    )
    assert np.abs(shown.forecast(hours, learned, local_now, 24).kwh - unlearned.kwh).max() > 0.1
    unusual = hass.states.get("binary_sensor.foresight_unusual_energy_use")
    assert unusual is not None
    assert unusual.state == ("off" if solar else "on")
    # With a battery, the export may go on after dark: only the production is nothing then.
    assert [flow.key for flow in energy.flows if flow.zero_in_the_dark] == (
        ["sensor.solar_power"] if solar else []
    )


async def test_without_a_battery_the_export_is_nothing_after_dark(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """An inverter's export meter asleep at night: the home's nights are still learned."""
    set_home_states(hass)
    for meter in ("sensor.solar_energy", "sensor.grid_export"):
        hass.states.async_set(meter, "10.0", {**ENERGY, "unit_of_measurement": "kWh"})
    data = {
        CONF_PRODUCTION_SENSOR: ["sensor.solar_energy"],
        CONF_EXPORT_SENSOR: ["sensor.grid_export"],
    }
    await load_entry(hass, home_entry, data={**home_entry.data, **data})
    energy = home_entry.runtime_data.coordinator.energy
    assert energy is not None
    assert {flow.key: flow.zero_in_the_dark for flow in energy.flows} == {
        "sensor.house_energy": False,
        "sensor.solar_energy": True,
        "sensor.grid_export": True,
    }


async def test_production_added_later_is_learned_from_its_past(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """The models learned from the import alone are learned again, production and export
    read back from the recorder's long-term statistics."""
    hours, used, _imported = await _load_solar_home(hass, freezer, home_entry, {})
    hass.config_entries.async_update_entry(home_entry, data={**home_entry.data, **SOLAR_HOME})
    await hass.async_block_till_done(wait_background_tasks=True)
    await _assert_the_entities_show_the_engine_result(hass, hours, used, SOLAR_NOW)
    assert home_entry.runtime_data.models.get("energy")["flows"] == [
        [entity_id, ELECTRICITY_FLOWS[conf]]
        for conf, entity_ids in {CONF_ENERGY_SENSOR: ["sensor.house_energy"], **SOLAR_HOME}.items()
        for entity_id in entity_ids
    ]


async def test_a_meter_with_two_tariffs_is_learned_as_their_sum(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """A meter counting day and night tariffs apart: the home uses what both count."""
    zone = ZoneInfo(hass.config.time_zone)
    utc_hours = (NOW - timedelta(days=DAYS)).timestamp() + 3600.0 * np.arange(DAYS * 24)
    local = to_wall_clock(utc_hours, zone)
    used = _usual_day(local, np.random.default_rng(5))
    night = ((local % 86400) // 3600 < 7) | ((local % 86400) // 3600 >= 23)
    tariffs = {"sensor.energy_tariff_1": np.where(night, 0.0, used)}
    tariffs["sensor.energy_tariff_2"] = np.where(night, used, 0.0)
    for meter, kwh in tariffs.items():
        import_hourly_statistics(hass, meter, "energy", "kWh", _meter_rows(utc_hours, kwh))
    freezer.move_to(NOW)
    set_home_states(hass)
    for meter, kwh in tariffs.items():
        hass.states.async_set(meter, f"{kwh.sum():.3f}", {**ENERGY, "unit_of_measurement": "kWh"})
    await async_wait_recording_done(hass)
    await load_entry(hass, home_entry, data={CONF_ENERGY_SENSOR: list(tariffs)})

    energy = home_entry.runtime_data.coordinator.energy
    assert energy is not None
    assert [(flow.key, flow.sign) for flow in energy.flows] == [(meter, 1.0) for meter in tariffs]
    hours, home_use = _on_the_wall_clock(hass, utc_hours, used)
    await _assert_the_entities_show_the_engine_result(hass, hours, home_use, NOW)


async def _two_day_forecast(hass: HomeAssistant) -> dict[str, Any]:
    """What the get_forecast action answers for the home's energy over the next 48 hours."""
    response = await hass.services.async_call(
        "foresight",
        "get_forecast",
        {"kind": "energy", "hours": 48},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


async def test_get_forecast_returns_the_hours_asked(
    hass: HomeAssistant, energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray]
) -> None:
    response = await _two_day_forecast(hass)
    assert response["kind"] == "energy"
    assert response["unit_of_measurement"] == "kWh"
    assert len(response["forecast"]) == 48
    next_hour = hass.states.get("sensor.foresight_energy_forecast_next_hour")
    assert next_hour is not None
    assert response["forecast"][:24] == next_hour.attributes["forecast"]


async def test_get_forecast_with_the_history_out_of_reach_says_so(
    hass: HomeAssistant,
    energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A locked history file: a translated error naming it, not a stack trace."""
    entry = energy_home[0]

    monkeypatch.setattr(entry.runtime_data.store, "hours", history_locked)
    with pytest.raises(HomeAssistantError) as raised:
        await _two_day_forecast(hass)
    assert raised.value.translation_key == "history_unavailable"


@pytest.mark.parametrize(
    ("time_zone", "now", "hours_left"),
    [
        # 09:50 in India: the meter's hours start at :30 there, and "today" ends at 00:30.
        ("Asia/Kolkata", datetime(2026, 11, 20, 4, 20, tzinfo=UTC), 14 + 2 / 3),
        # 00:20 on the days the clocks go forward (a 23-hour day) and back (a 25-hour day).
        ("Europe/London", datetime(2026, 3, 29, 0, 20, tzinfo=UTC), 22 + 2 / 3),
        ("Europe/London", datetime(2026, 10, 24, 23, 20, tzinfo=UTC), 24 + 2 / 3),
        ("America/New_York", datetime(2026, 3, 8, 5, 20, tzinfo=UTC), 22 + 2 / 3),
    ],
)
async def test_forecast_hours_are_the_meter_hours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    time_zone: str,
    now: datetime,
    hours_left: float,
) -> None:
    """Each forecast hour is a real hour of the meter from the one in progress, labelled with
    the local time it starts; the rest of today counts the real hours left."""
    await hass.config.async_set_time_zone(time_zone)
    await _load_energy_home(hass, freezer, home_entry, now)
    response = await _two_day_forecast(hass)
    forecast = response["forecast"]
    current_hour = now.timestamp() // 3600 * 3600
    meter_hours = current_hour + 3600.0 * np.arange(48)
    zone = ZoneInfo(time_zone)
    assert [hour["start"] for hour in forecast] == [
        datetime.fromtimestamp(hour, zone).isoformat() for hour in meter_hours
    ]
    next_hour = hass.states.get("sensor.foresight_energy_forecast_next_hour")
    assert next_hour is not None
    assert next_hour.attributes["forecast"] == forecast[:24]
    kwh = np.array([hour["kwh"] for hour in forecast])
    # The next 60 minutes: this hour's 40 minutes left and the next hour's first 20.
    assert float(next_hour.state) == pytest.approx(kwh[0] * 2 / 3 + kwh[1] / 3, abs=1e-3)
    power = hass.states.get("sensor.foresight_expected_power")
    assert power is not None
    assert float(power.state) == pytest.approx(kwh[0] * 1000.0, abs=1.0)
    rest_of_today = hass.states.get("sensor.foresight_energy_forecast_rest_of_today")
    assert rest_of_today is not None
    # The hour in progress counts for its 40 minutes left.
    full_hours = math.ceil(hours_left)
    assert float(rest_of_today.state) == pytest.approx(
        kwh[:full_hours].sum() - kwh[0] / 3, abs=2e-3
    )


async def test_the_forecast_moves_on_when_the_hour_does(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray],
) -> None:
    """At the top of the hour the next hour's forecast is the new hour's, not the one just over:
    an automation run on the hour reads the hour it is in."""
    entry, _local_hours, _kwh = energy_home
    freezer.move_to(NOW + timedelta(minutes=57))
    await entry.runtime_data.coordinator.async_refresh()
    freezer.move_to(NOW + timedelta(hours=1, seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    next_hour = hass.states.get("sensor.foresight_energy_forecast_next_hour")
    assert next_hour is not None
    first = datetime.fromisoformat(next_hour.attributes["forecast"][0]["start"])
    assert first == NOW + timedelta(hours=1)


async def _heater_left_on(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    start: datetime,
    usual: np.ndarray,
) -> State:
    """A 2 kW heater on for eight hours from ``start`` on top of the ``usual`` hourly use;
    returns the unusual-use sensor after them."""
    state = hass.states.get("sensor.house_energy")
    assert state is not None
    reading = float(state.state)
    for hour in range(8):
        for quarter in range(4):
            freezer.move_to(start + timedelta(hours=hour, minutes=15 * quarter + 1))
            reading += (usual[hour] + 2.0) / 4
            hass.states.async_set(
                "sensor.house_energy", f"{reading:.4f}", {**ENERGY, "unit_of_measurement": "kWh"}
            )
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    await entry.runtime_data.coordinator.async_refresh()
    unusual = hass.states.get("binary_sensor.foresight_unusual_energy_use")
    assert unusual is not None
    return unusual


async def test_a_heater_left_on_is_unusual(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray],
) -> None:
    entry, _local_hours, kwh = energy_home
    events: list[Event] = async_capture_events(hass, EVENT_UNUSUAL_ENERGY)
    unusual = await _heater_left_on(hass, freezer, entry, NOW, kwh[-24:])
    assert unusual.state == "on"
    assert unusual.attributes["kind"] in ("excess", "raised_floor")
    assert unusual.attributes["seen_kwh"] > unusual.attributes["expected_kwh"]
    # What was expected is shown as a band over the same hours, with what was seen.
    lower, upper = (
        unusual.attributes["expected_lower_kwh"],
        unusual.attributes["expected_upper_kwh"],
    )
    assert lower <= unusual.attributes["expected_kwh"] <= upper
    # Announced once, with the band over the hours seen unusual by then.
    assert len(events) == 1
    announced = events[0].data
    assert announced["since"] == unusual.attributes["since"]
    assert announced["expected_lower_kwh"] <= announced["expected_kwh"]
    assert announced["expected_kwh"] <= announced["expected_upper_kwh"]
    assert announced["seen_kwh"] > announced["expected_kwh"]

    # A restart with the use still unusual: the sensor stays on, nothing is announced again,
    # and the models are the ones saved, not trained again.
    energy = entry.runtime_data.coordinator.energy
    assert energy is not None and energy.forecaster is not None
    forecaster = energy.forecaster.to_dict()
    trained = hass.states.get("sensor.foresight_energy_model_last_trained")
    assert trained is not None
    freezer.tick(timedelta(minutes=5))  # a training now would say so
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    unusual = hass.states.get("binary_sensor.foresight_unusual_energy_use")
    assert unusual is not None
    assert unusual.state == "on"
    assert len(events) == 1
    energy = entry.runtime_data.coordinator.energy
    assert energy is not None and energy.forecaster is not None
    assert json.dumps(energy.forecaster.to_dict()) == json.dumps(forecaster)
    assert hass.states.get("sensor.foresight_energy_model_last_trained").state == trained.state  # type: ignore[union-attr]


async def test_unusual_use_since_is_a_meter_hour(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """In India the unusual use is said to start at the half hour the meter's hour began."""
    await hass.config.async_set_time_zone("Asia/Kolkata")
    _utc_hours, kwh = await _load_energy_home(hass, freezer, home_entry, NOW)
    unusual = await _heater_left_on(hass, freezer, home_entry, NOW, kwh[-24:])
    assert unusual.state == "on"
    since = datetime.fromisoformat(unusual.attributes["since"])
    assert NOW <= since < NOW + timedelta(hours=8)
    assert since.timestamp() % 3600 == 0
    assert since.isoformat().endswith(":30:00+05:30")


async def test_unusual_use_is_unknown_while_learning(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """With no history there is nothing to compare with: neither usual nor unusual."""
    energy = setup_home.runtime_data.coordinator.data.energy
    assert energy is not None
    assert energy.status == "learning"
    unusual = hass.states.get("binary_sensor.foresight_unusual_energy_use")
    assert unusual is not None
    assert unusual.state == "unknown"
    # No forecast is published yet: no model is named as publishing it.
    accuracy = hass.states.get("sensor.foresight_energy_forecast_accuracy")
    assert accuracy is not None
    assert accuracy.state == "unknown"
    assert accuracy.attributes["model"] is None
    assert accuracy.attributes["model_share"] is None


async def test_retrain_action(
    hass: HomeAssistant, energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray]
) -> None:
    entry, _hours, _kwh = energy_home
    detector_before = entry.runtime_data.coordinator.energy.detector
    await hass.services.async_call("foresight", "retrain", {}, blocking=True)
    assert entry.runtime_data.coordinator.energy.detector is not detector_before
    assert isinstance(entry.runtime_data.coordinator.energy.detector, UnusualUseDetector)
    assert entry.runtime_data.models.get("energy")["forecaster"]["model"] == (
        entry.runtime_data.coordinator.energy.forecaster.model
    )


async def test_away_hours_and_workdays_reach_the_models(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray],
) -> None:
    entry, _hours, _kwh = energy_home
    hass.states.async_set("binary_sensor.workday", "on")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "workday_sensor": "binary_sensor.workday"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    freezer.move_to(NOW + timedelta(hours=1))
    hass.states.async_set("person.alice", "not_home")
    hass.states.async_set("binary_sensor.workday", "off")
    freezer.move_to(NOW + timedelta(hours=3, minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    await coordinator.async_refresh()
    assert coordinator.energy is not None
    past = await hass.async_add_executor_job(
        coordinator.energy._hourly, NOW + timedelta(hours=3, minutes=5), 1
    )
    assert past.away is not None
    assert past.workday is not None
    last = past.hours >= wall_clock_now(NOW, ZoneInfo(hass.config.time_zone))
    # The hour Alice left and the next ones: away; the hour before: home.
    assert past.away[last].tolist() == [0.0, 1.0, 1.0]
    assert past.workday[last].tolist() == [1.0, 0.0, 0.0]


async def test_the_workday_integration_tells_the_days_ahead(
    hass: HomeAssistant,
    energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A day off only the Workday integration knows (added there by hand) reaches the forecasts."""
    entry, _hours, _kwh = energy_home
    today = dt_util.now().date()
    day_off = today + timedelta(days=4)
    assert day_off.weekday() < 5  # worked, by the calendar
    workday = MockConfigEntry(
        domain="workday",
        title="Workday Sensor",
        version=1,
        minor_version=2,
        options={
            "name": "Workday Sensor",
            "workdays": ["mon", "tue", "wed", "thu", "fri"],
            "excludes": ["sat", "sun", "holiday"],
            "days_offset": 0,
            "add_holidays": [day_off.isoformat()],
            "remove_holidays": [],
        },
    )
    workday.add_to_hass(hass)
    assert await hass.config_entries.async_setup(workday.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.workday_sensor") is not None
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_WORKDAY_SENSOR: "binary_sensor.workday_sensor"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    energy = entry.runtime_data.coordinator.energy
    assert energy is not None
    assert len(energy.days_ahead) == CALENDAR_DAYS + 1  # as far as get_forecast reaches
    assert min(energy.days_ahead) == today
    assert energy.days_ahead[day_off] == 0.0
    assert energy.days_ahead[day_off - timedelta(days=1)] == 1.0
    # The hours of the day before are worked, those of the day off are not.
    day_before = (day_off - EPOCH).days * 86400.0 - 86400.0 + 3600.0 * np.arange(48)
    flags = energy._workday(day_before, None)
    assert flags is not None
    assert flags.tolist() == [1.0] * 24 + [0.0] * 24

    # A workday sensor of another kind tells only today, by its state; it is not asked (Home
    # Assistant would warn of it at every refresh).
    hass.states.async_set("binary_sensor.office_open", "off")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_WORKDAY_SENSOR: "binary_sensor.office_open"}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = entry.runtime_data.coordinator
    await coordinator.async_refresh()
    energy = coordinator.energy
    assert energy is not None
    assert energy.days_ahead == {today: 0.0}
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [message for message in warned if "office_open" in message], warned


def _with_next_day(hours: np.ndarray) -> np.ndarray:
    """The hours of a history and the 24 after it."""
    return np.concatenate([hours, hours[-1] + 3600.0 * np.arange(1, 25)])


def _next_day_forecast(
    model: EnergyForecaster, hours: np.ndarray, kwh: np.ndarray, **inputs: Any
) -> EnergyForecast:
    """What ``model`` forecasts, offline, for the 24 hours after the history (inputs over both)."""
    return model.forecast(
        _with_next_day(hours),
        np.concatenate([kwh, np.full(24, np.nan)]),
        hours[-1] + 3600.0,
        24,
        **inputs,
    )


def test_expected_occupancy_is_an_input_where_it_helps(tmp_path: Path) -> None:
    """With people, a second forecaster reads the expected occupancy; the better one is kept."""
    rng = np.random.default_rng(11)
    days = 120
    hours = (NOW.timestamp() // 86400 - days) * 86400 + 3600.0 * np.arange(days * 24)
    hour_of_day, weekday = (hours % 86400) // 3600, (hours // 86400 + 3) % 7 < 5
    # Alice works weekdays 8-18; on a fifth of them she stays home (and then heats and cooks).
    day_off = np.repeat(rng.random(days) < 0.2, 24)
    away = weekday & ~day_off & (hour_of_day >= 8) & (hour_of_day < 18)
    kwh = _usual_day(hours, rng) + np.where(away, 0.0, 0.5 * (hour_of_day >= 8))
    store = HistoryStore(tmp_path / "history.db")
    store.open()
    kinds = {"sensor.house_energy": "energy", "person.alice": "person"}
    store.write(
        kinds,
        hourly=[
            *(
                HourlyRow("sensor.house_energy", int(h), None, None, None, float(k))
                for h, k in zip(hours, kwh, strict=True)
            ),
            *(
                HourlyRow("person.alice", int(h), float(not a), None, None)
                for h, a in zip(hours, away, strict=True)
            ),
        ],
    )
    energy = HomeEnergy(store, HOUSE_METER, None, UTC, ["person.alice"])
    now = datetime.fromtimestamp(hours[-1] + 3600.0, UTC)
    saved = energy.train(now)

    # The same, offline: the forecaster with and without the people's weekly routine.
    expected = expected_presence(hours, hours, (~away).astype(float))
    without = EnergyForecaster.train(hours, kwh, now=now.timestamp())
    with_occupancy = EnergyForecaster.train(
        hours, kwh, occupancy_probability=expected, now=now.timestamp()
    )
    chosen = with_occupancy if with_occupancy.nrmse < without.nrmse else without
    assert energy.forecaster is not None
    assert energy.forecaster.to_dict() == chosen.to_dict()
    assert saved["occupancy_skills"] == [with_occupancy.skill, without.skill]
    outlook = energy.outlook(now)
    assert outlook is not None
    assert outlook.occupancy_input == (chosen is with_occupancy)
    assert outlook.skill_with_occupancy == pytest.approx(with_occupancy.skill, abs=1e-4)
    assert outlook.skill_without_occupancy == pytest.approx(without.skill, abs=1e-4)
    ahead = _with_next_day(hours)
    offline = _next_day_forecast(
        chosen,
        hours,
        kwh,
        occupancy_probability=(
            expected_presence(ahead, hours, (~away).astype(float))
            if outlook.occupancy_input
            else None
        ),
    )
    assert [hour["kwh"] for hour in outlook.forecast] == pytest.approx(
        offline.kwh.tolist(), abs=1e-3
    )

    # A restart keeps the comparison.
    restarted = HomeEnergy(store, HOUSE_METER, None, UTC, ["person.alice"])
    restarted.restore(saved)
    assert restarted.occupancy_skills == energy.occupancy_skills
    store.close()


def _energy_only_store(path: Path, hours: np.ndarray, kwh: np.ndarray) -> HistoryStore:
    store = HistoryStore(path)
    store.open()
    store.write(
        {"sensor.house_energy": "energy"},
        hourly=[
            HourlyRow("sensor.house_energy", int(h), None, None, None, float(k))
            for h, k in zip(hours, kwh, strict=True)
        ],
    )
    return store


def test_public_holidays_of_the_home_country_are_days_off(tmp_path: Path) -> None:
    """A home in at weekends: with its country known, a bank holiday is forecast like a Sunday."""
    rng = np.random.default_rng(5)
    days = 120
    # The first hour of Monday 28 December 2026, a bank holiday (for Boxing Day, a Saturday);
    # Christmas Day, a Friday, was one too.
    now = datetime(2026, 12, 28, tzinfo=UTC)
    hours = now.timestamp() - days * 86400 + 3600.0 * np.arange(days * 24)
    days_off = holidays.country_holidays("GB", years=2026)
    worked = workday_flags(hours, days_off)
    daytime = ((hours % 86400) // 3600 >= 9) & ((hours % 86400) // 3600 < 17)
    kwh = _usual_day(hours, rng) + np.where((worked == 0.0) & daytime, 0.8, 0.0)
    store = _energy_only_store(tmp_path / "history.db", hours, kwh)
    energy = HomeEnergy(store, HOUSE_METER, None, UTC, country="GB")
    energy.train(now)

    # The same, offline: the forecaster told which days are worked.
    offline = EnergyForecaster.train(hours, kwh, workday=worked, now=now.timestamp())
    assert energy.forecaster is not None
    assert energy.forecaster.to_dict() == offline.to_dict()
    detector = UnusualUseDetector.train(offline, hours, kwh, now=now.timestamp(), workday=worked)
    assert energy.detector is not None
    assert energy.detector.to_dict() == detector.to_dict()
    # Christmas Day was expected as a day off when the detector was calibrated.
    as_workday = UnusualUseDetector.train(offline, hours, kwh, now=now.timestamp())
    assert as_workday.to_dict() != detector.to_dict()
    outlook = energy.outlook(now)
    assert outlook is not None
    ahead = _with_next_day(hours)
    bank_holiday = _next_day_forecast(offline, hours, kwh, workday=workday_flags(ahead, days_off))
    forecast = np.array([hour["kwh"] for hour in outlook.forecast])
    assert forecast == pytest.approx(bank_holiday.kwh, abs=1e-3)

    # A workday sensor, where it has a value, overrides the calendar (a bank holiday worked).
    last_two_days = ahead[-48:]
    sensor = np.concatenate([np.full(24, np.nan), np.ones(24)])
    merged = energy._workday(last_two_days, sensor)
    assert merged is not None
    assert merged.tolist() == workday_flags(last_two_days[:24], days_off).tolist() + [1.0] * 24

    # Without a country (or one the calendar does not know) it is an ordinary Monday at work.
    for country in (None, "XX"):
        plain = HomeEnergy(store, HOUSE_METER, None, UTC, country=country)
        plain.train(now)
        monday = plain.outlook(now)
        assert monday is not None
        at_work = np.array([hour["kwh"] for hour in monday.forecast])
        assert np.mean(forecast[9:17] - at_work[9:17]) > 0.4  # most of the 0.8 kWh at home
    store.close()


def test_outdoor_temperature_forecast_is_the_engine_result(tmp_path: Path) -> None:
    """The published forecast reads the temperatures measured so far, as training scored it."""
    rng = np.random.default_rng(17)
    days = 120
    now = datetime(2026, 11, 20, tzinfo=UTC)
    hours = now.timestamp() - days * 86400 + 3600.0 * np.arange(days * 24)
    weather = np.repeat(np.cumsum(rng.normal(0.0, 2.0, days)) * 0.3 + 6.0, 24)
    outdoor = weather + 3.0 * np.sin((hours % 86400) / 86400 * 2 * np.pi)
    kwh = _usual_day(hours, rng) + 0.1 * np.maximum(16.0 - outdoor, 0.0)
    store = _energy_only_store(tmp_path / "history.db", hours, kwh)
    store.write(
        {"sensor.outdoor": "temperature"},
        hourly=[
            HourlyRow("sensor.outdoor", int(h), float(t), None, None)
            for h, t in zip(hours, outdoor, strict=True)
        ],
    )
    home = HomeEnergy(store, HOUSE_METER, "sensor.outdoor", UTC)
    home.train(now)

    offline = EnergyForecaster.train(hours, kwh, outdoor_temperature=outdoor, now=now.timestamp())
    assert home.forecaster is not None
    assert home.forecaster.to_dict() == offline.to_dict()
    assert "colder_than_usual" in offline.features
    outlook = home.outlook(now)
    assert outlook is not None
    # Offline the next day's measured temperatures are given too: the engine must not read them.
    tomorrow = -5.0 + rng.normal(0.0, 3.0, 24)  # a cold snap nobody measured yet
    expected = _next_day_forecast(
        offline, hours, kwh, outdoor_temperature=np.concatenate([outdoor, tomorrow])
    )
    assert [hour["kwh"] for hour in outlook.forecast] == pytest.approx(
        expected.kwh.tolist(), abs=1e-3
    )
    store.close()


def test_solar_panels_silent_at_night_produced_nothing(tmp_path: Path) -> None:
    """An inverter asleep says nothing: while the sun is down, that is no production, and
    (without a battery) no export."""
    midnight = datetime(2026, 6, 21, tzinfo=UTC).timestamp()
    hours = midnight + 3600.0 * np.array([1, 12])  # London: night, then noon
    store = HistoryStore(tmp_path / "history.db")
    store.open()
    store.write(
        {
            "sensor.house_energy": "energy",
            "sensor.solar_energy": "energy",
            "sensor.grid_export": "energy",
        },
        hourly=[HourlyRow("sensor.house_energy", int(h), None, None, None, 0.3) for h in hours],
    )
    flows = [
        *HOUSE_METER,
        EnergyFlow("sensor.solar_energy", Kind.ENERGY, zero_in_the_dark=True),
        EnergyFlow("sensor.grid_export", Kind.ENERGY, -1.0, zero_in_the_dark=True),
    ]
    at = datetime.fromtimestamp(midnight + 13 * 3600.0, UTC)
    home = HomeEnergy(store, flows, None, UTC, location=(51.5, -0.13))
    kwh = home._hourly(at, 1).kwh
    assert kwh[0] == 0.3
    assert np.isnan(kwh[1])  # the panels said nothing at noon: not known
    # Nowhere to see the sun from: nothing is assumed.
    assert np.isnan(HomeEnergy(store, flows, None, UTC)._hourly(at, 1).kwh).all()
    store.close()


def test_the_home_uses_its_import_and_production_less_its_export(tmp_path: Path) -> None:
    """An hour one flow does not know is unknown: never taken as nothing produced or sent."""
    hours = NOW.timestamp() - 3600.0 * np.arange(4, 0, -1)
    store = HistoryStore(tmp_path / "history.db")
    store.open()
    store.write(
        {
            "sensor.house_energy": "energy",
            "sensor.solar_power": "power",
            "sensor.grid_export": "energy",
        },
        hourly=[
            *(
                HourlyRow("sensor.house_energy", int(h), None, None, None, k)
                for h, k in zip(hours, [0.5, 0.1, 0.0, 0.2], strict=True)
            ),
            # The inverter said nothing in the second hour, the export meter in the third.
            *(
                HourlyRow("sensor.solar_power", int(hours[i]), w, w, w)
                for i, w in ((0, 0.0), (2, 900.0), (3, 1500.0))
            ),
            *(
                HourlyRow("sensor.grid_export", int(hours[i]), None, None, None, k)
                for i, k in ((0, 0.0), (1, 0.3), (3, 0.6))
            ),
        ],
    )
    home = HomeEnergy(
        store,
        [
            *HOUSE_METER,
            EnergyFlow("sensor.solar_power", Kind.POWER),
            EnergyFlow("sensor.grid_export", Kind.ENERGY, -1.0),
        ],
        None,
        UTC,
    )
    past = home._hourly(NOW, 1)
    assert past.hours.tolist() == hours.tolist()
    assert past.kwh[[0, 3]] == pytest.approx([0.5, 0.2 + 1.5 - 0.6])
    assert np.isnan(past.kwh[[1, 2]]).all()
    # The main sensor alone is the one flow.
    assert HomeEnergy(store, HOUSE_METER, None, UTC)._hourly(NOW, 1).kwh.tolist() == [
        0.5,
        0.1,
        0.0,
        0.2,
    ]
    store.close()


def test_a_model_learned_from_the_import_alone_is_learned_again_with_production(
    tmp_path: Path,
) -> None:
    days = 60
    hours = NOW.timestamp() - days * 86400 + 3600.0 * np.arange(days * 24)
    store = _energy_only_store(
        tmp_path / "history.db", hours, _usual_day(hours, np.random.default_rng(2))
    )
    saved = HomeEnergy(store, HOUSE_METER, None, UTC).train(NOW)
    # Saved by this Foresight, or by one from before the flows were saved: the meter alone.
    for parameters in (saved, {key: value for key, value in saved.items() if key != "flows"}):
        restarted = HomeEnergy(store, HOUSE_METER, None, UTC)
        restarted.restore(parameters)
        assert restarted.forecaster is not None
    solar_flows = [*HOUSE_METER, EnergyFlow("sensor.solar", Kind.POWER)]
    solar = HomeEnergy(store, solar_flows, None, UTC)
    solar.restore(saved)
    assert solar.forecaster is None
    assert solar.detector is None
    # Learned with the panels: kept with them, learned again with a battery in their place.
    with_solar = {**saved, "flows": [["sensor.house_energy", 1.0], ["sensor.solar", 1.0]]}
    solar.restore(with_solar)
    assert solar.forecaster is not None
    battery = HomeEnergy(
        store, [*HOUSE_METER, EnergyFlow("sensor.battery_out", Kind.ENERGY)], None, UTC
    )
    battery.restore(with_solar)
    assert battery.forecaster is None
    store.close()


async def test_the_sun_follows_the_home_to_its_new_location(
    hass: HomeAssistant, energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray]
) -> None:
    """The home's location corrected in its settings: its panels' nights are the new place's."""
    entry = energy_home[0]
    running = entry.runtime_data
    energy = running.coordinator.energy
    assert energy is not None
    assert energy.location == (hass.config.latitude, hass.config.longitude)
    await hass.config.async_update(latitude=60.17, longitude=24.94)
    await hass.async_block_till_done()
    assert energy.location == (60.17, 24.94)
    assert entry.runtime_data is running  # nothing learned depends on it: no reload


async def test_unusual_use_found_at_a_restart_is_announced_once_started(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    energy_home: tuple[MockConfigEntry, np.ndarray, np.ndarray],
) -> None:
    """A heater left on while Home Assistant restarts at each hour's end: the use found unusual
    as Foresight starts again is announced once Home Assistant has started, when automations
    listen, not before."""
    entry, _local_hours, kwh = energy_home
    announced: list[CoreState] = []

    @callback
    def _announced(_event: Event) -> None:
        announced.append(hass.state)

    hass.bus.async_listen(EVENT_UNUSUAL_ENERGY, _announced)
    state = hass.states.get("sensor.house_energy")
    assert state is not None
    reading = float(state.state)
    for hour in range(8):
        for minute in (1, 16, 31, 46):
            freezer.move_to(NOW + timedelta(hours=hour, minutes=minute))
            reading += (kwh[-24:][hour] + 2.0) / 4
            hass.states.async_set(
                "sensor.house_energy", f"{reading:.4f}", {**ENERGY, "unit_of_measurement": "kWh"}
            )
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
        # Restarted across the hour's end, down for a few minutes.
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        freezer.move_to(NOW + timedelta(hours=hour + 1, minutes=0, seconds=30))
        hass.set_state(CoreState.not_running)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        hass.set_state(CoreState.running)
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
        await hass.async_block_till_done(wait_background_tasks=True)
    unusual = hass.states.get("binary_sensor.foresight_unusual_energy_use")
    assert unusual is not None
    assert unusual.state == "on"
    assert announced == [CoreState.running]


@pytest.mark.parametrize("missing", ["unknown", "no row"])
def test_the_autumns_repeated_hour_is_known_only_where_both_its_hours_are(
    tmp_path: Path, missing: str
) -> None:
    """The night the clocks go back, 02:00-03:00 happens twice: its slot holds both hours'
    use, and is unknown where one of them is, not half the use."""
    zone = ZoneInfo("Europe/Amsterdam")
    utc_hours = datetime(2026, 10, 24, 12, tzinfo=UTC).timestamp() + 3600.0 * np.arange(24)
    first_repeat = datetime(2026, 10, 25, 0, tzinfo=UTC).timestamp()  # 02:00 summer time
    rows = [
        HourlyRow("sensor.house_energy", int(hour), None, None, None, 0.3)
        for hour in utc_hours
        if not (missing == "no row" and hour == first_repeat)
    ]
    if missing == "unknown":
        rows = [replace(row, consumption=None) if row.hour == first_repeat else row for row in rows]
    store = HistoryStore(tmp_path / "history.db")
    store.open()
    store.write({"sensor.house_energy": "energy"}, hourly=rows)
    energy = HomeEnergy(store, HOUSE_METER, None, zone)
    past = energy._hourly(datetime(2026, 10, 25, 12, tzinfo=UTC), 2)
    store.close()
    slot = float(energy_clock(first_repeat, zone))
    assert np.isnan(past.kwh[past.hours == slot]).all()
    before = float(energy_clock(first_repeat - 3600, zone))
    assert past.kwh[past.hours == before] == pytest.approx([0.3])
