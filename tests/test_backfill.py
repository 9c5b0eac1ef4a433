"""Filling Foresight's history from a real recorder: states, gaps, unit changes, resets, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.foresight.history import HistoryStore
from homeassistant.core import HomeAssistant

from .conftest import import_hourly_statistics, load_entry, set_home_states

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SEEDED = NOW - timedelta(days=3)
POWER = {"device_class": "power", "state_class": "measurement"}
ENERGY = {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total_increasing"}


async def _seed_states(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Three days ago: motion with an unavailable spell, the lamp on for a quarter hour, power
    whose unit changes, a meter reset."""
    timeline: list[tuple[timedelta, str, str, dict[str, str]]] = [
        (timedelta(minutes=0), "binary_sensor.living_motion", "off", {"device_class": "motion"}),
        (timedelta(minutes=5), "binary_sensor.living_motion", "on", {"device_class": "motion"}),
        (timedelta(minutes=9), "binary_sensor.living_motion", "unavailable", {}),
        (timedelta(minutes=30), "binary_sensor.living_motion", "off", {"device_class": "motion"}),
        (
            timedelta(minutes=0),
            "sensor.living_tv_power",
            "80",
            {**POWER, "unit_of_measurement": "W"},
        ),
        (
            timedelta(minutes=20),
            "sensor.living_tv_power",
            "0.05",
            {**POWER, "unit_of_measurement": "kW"},
        ),
        (
            timedelta(minutes=40),
            "sensor.living_tv_power",
            "garbage",
            {**POWER, "unit_of_measurement": "kW"},
        ),
        (timedelta(minutes=10), "light.living_lamp", "on", {}),
        (timedelta(minutes=25), "light.living_lamp", "off", {}),
        (timedelta(minutes=1), "sensor.house_energy", "1000.0", ENERGY),
        (timedelta(minutes=50), "sensor.house_energy", "1001.0", ENERGY),
        (timedelta(minutes=70), "sensor.house_energy", "0.5", ENERGY),  # a new meter
        (timedelta(minutes=100), "sensor.house_energy", "1.5", ENERGY),
    ]
    for offset, entity_id, state, attributes in sorted(timeline, key=lambda row: row[0]):
        freezer.move_to(SEEDED + offset)
        hass.states.async_set(entity_id, state, attributes)
    await async_wait_recording_done(hass)


SWAPPED_HOUR = 24 * 30  # a new meter, already at 4 900 kWh, that the recorder read as use
CORRECTED_HOUR = 24 * 10  # the meter's count corrected down by 0.7 kWh: that hour's use unknown


def _swap(hour: int) -> float:
    return 4.9e6 if hour >= SWAPPED_HOUR else 0.0


def _correction(hour: int) -> float:
    return -700.0 if hour >= CORRECTED_HOUR else 0.0


def _import_long_term_statistics(hass: HomeAssistant) -> None:
    """Sixty days of hourly statistics, ending before the states above begin."""
    first = SEEDED - timedelta(days=60)
    hours = [first + timedelta(hours=i) for i in range(24 * 57)]
    import_hourly_statistics(
        hass,
        "sensor.house_energy",
        "energy",
        "Wh",
        [
            {"start": hour, "state": 500.0 * i, "sum": 500.0 * (i + 1) + _swap(i) + _correction(i)}
            for i, hour in enumerate(hours)
        ],
    )
    import_hourly_statistics(
        hass,
        "sensor.outdoor_temperature",
        "temperature",
        "°F",
        [{"start": hour, "mean": 50.0, "min": 41.0, "max": 59.0} for hour in hours],
    )


@pytest.fixture
async def backfilled(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> MockConfigEntry:
    freezer.move_to(SEEDED - timedelta(days=61))
    _import_long_term_statistics(hass)
    await _seed_states(hass, freezer)
    freezer.move_to(NOW)
    set_home_states(hass)
    await async_wait_recording_done(hass)
    await load_entry(hass, home_entry)
    await home_entry.runtime_data.coordinator.async_refresh()
    return home_entry


async def test_states_are_backfilled_with_gaps_units_and_drops(
    hass: HomeAssistant, backfilled: MockConfigEntry
) -> None:
    store: HistoryStore = backfilled.runtime_data.store
    motion = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    seeded = SEEDED.timestamp()
    assert [(t - seeded, v) for t, v in motion[:4]] == [
        (0.0, 0.0),
        (300.0, 1.0),
        (540.0, None),  # unavailable is a gap, never "off"
        (1800.0, 0.0),
    ]
    power = await hass.async_add_executor_job(store.samples, "sensor.living_tv_power")
    assert [(t - seeded, v) for t, v in power[:2]] == [(0.0, 80.0), (1200.0, pytest.approx(50.0))]
    coverage = backfilled.runtime_data.coordinator.data.history.coverage
    assert coverage["sensor.living_tv_power"].dropped == {"not_a_number": 1}


async def test_a_lamp_is_backfilled_as_switched_by_hand(
    hass: HomeAssistant, backfilled: MockConfigEntry
) -> None:
    """The recorder does not keep who switched the lamp: its switching tells the room's
    occupancy (the by-hand series) as it tells presence simulation."""
    store: HistoryStore = backfilled.runtime_data.store
    seeded = SEEDED.timestamp()
    for key in ("light.living_lamp", "light.living_lamp#by_hand"):
        lamp = await hass.async_add_executor_job(store.samples, key)
        assert [(t - seeded, v) for t, v in lamp[:2]] == [(600.0, 1.0), (1500.0, 0.0)]


async def test_meter_hours_from_states_and_statistics(
    hass: HomeAssistant, backfilled: MockConfigEntry
) -> None:
    store: HistoryStore = backfilled.runtime_data.store
    hours = await hass.async_add_executor_job(store.hours, "sensor.house_energy")
    from_statistics = [row for row in hours if row.hour < SEEDED.timestamp()]
    # The swapped meter's hour is no use at all: left out, and counted as dropped. The
    # corrected hour's use is not known: left out too, not a home using nothing; nor is the
    # first hour's, with no row before it to count from.
    assert len(from_statistics) == 24 * 57 - 3
    assert CORRECTED_HOUR * 3600 + (SEEDED - timedelta(days=60)).timestamp() not in {
        row.hour for row in from_statistics
    }
    assert [row.consumption for row in from_statistics] == pytest.approx(
        [0.5] * (24 * 57 - 3)
    )  # Wh → kWh
    coverage = backfilled.runtime_data.coordinator.data.history.coverage
    assert coverage["sensor.house_energy"].dropped == {"implausible": 1}
    from_states = [row for row in hours if row.hour >= SEEDED.timestamp()]
    # The first hour was read from its second minute only: unknown. The new meter's 0.5 kWh
    # and then 1 kWh in the second.
    assert [row.consumption for row in from_states[:2]] == [None, pytest.approx(1.5)]

    outdoor = await hass.async_add_executor_job(store.hours, "sensor.outdoor_temperature")
    from_statistics = [row for row in outdoor if row.hour < SEEDED.timestamp()]
    assert len(from_statistics) == 24 * 57
    assert [(row.mean, row.min, row.max) for row in from_statistics] == pytest.approx(
        [(10.0, 5.0, 15.0)] * 24 * 57
    )  # °F → °C


async def test_backfill_shows_in_the_history_sensor_and_happens_once(
    hass: HomeAssistant, backfilled: MockConfigEntry
) -> None:
    history = hass.states.get("sensor.foresight_history")
    assert history is not None
    assert int(history.state) >= 60
    store: HistoryStore = backfilled.runtime_data.store
    before = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")

    assert await hass.config_entries.async_reload(backfilled.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    store = backfilled.runtime_data.store
    after = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    assert after == before


async def test_a_meter_back_from_hours_without_statistics_is_not_all_that_use_in_one_hour(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """The recorder keeps no row for an hour its meter was unavailable throughout, and counts
    the first row after from the last before: that hour's use is not known, not seven hours'."""
    first = NOW - timedelta(days=20)
    outage = range(24 * 10, 24 * 10 + 6)
    freezer.move_to(first - timedelta(days=1))
    rows = [
        {"start": first + timedelta(hours=i), "state": 0.5 * (i + 1), "sum": 0.5 * (i + 1)}
        for i in range(24 * 18)
        if i not in outage
    ]
    import_hourly_statistics(hass, "sensor.house_energy", "energy", "kWh", rows)
    freezer.move_to(NOW)
    set_home_states(hass)
    await async_wait_recording_done(hass)
    await load_entry(hass, home_entry)

    store: HistoryStore = home_entry.runtime_data.store
    hours = await hass.async_add_executor_job(store.hours, "sensor.house_energy")
    by_hour = {row.hour: row.consumption for row in hours}
    back = (first + timedelta(hours=outage[-1] + 1)).timestamp()
    assert by_hour.get(back) is None
    after = (first + timedelta(hours=outage[-1] + 2)).timestamp()
    assert by_hour[after] == pytest.approx(0.5)
