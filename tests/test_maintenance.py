"""Predictive maintenance in Home Assistant: batteries, silent sensors, drifting appliances."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import json
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
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

from custom_components.foresight import history_path
from custom_components.foresight.const import (
    CONF_BATTERY_LOW_LEVELS,
    CONF_ENERGY_SENSOR,
    CONF_EXCLUDED_BATTERIES,
    CONF_PEOPLE,
    CONF_RETENTION_DAYS,
    CONF_WATCHED_APPLIANCES,
    DOMAIN,
    EVENT_MAINTENANCE,
    SUBENTRY_ROOM,
)
from custom_components.foresight.coordinator import ForesightCoordinator
from custom_components.foresight.history import HistoryStore, Sample
from custom_components.foresight.home_maintenance import HomeMaintenance, last_return
from custom_components.foresight.learning.appliances import TRAIN_DAYS
from custom_components.foresight.learning.batteries import BatteryDischarge
from custom_components.foresight.timebase import from_wall_clock, to_wall_clock, wall_clock_now
from homeassistant.components.recorder.db_schema import MAX_STATE_ATTRS_BYTES
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, State
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util

from .conftest import entry_like, import_hourly_statistics, recorded_attributes

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
BATTERY = {"device_class": "battery", "unit_of_measurement": "%", "state_class": "measurement"}
FRIDGE = {"device_class": "power", "unit_of_measurement": "W", "state_class": "measurement"}


@pytest.fixture
def maintenance_entry() -> MockConfigEntry:
    """A home with a hall (one motion sensor) and a watched fridge; no electricity sensor."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Foresight",
        data={CONF_PEOPLE: []},
        options={CONF_RETENTION_DAYS: 400, CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"]},
        subentries_data=[
            ConfigSubentryData(
                data={"name": "Hall", "motion": ["binary_sensor.hall_motion"]},
                subentry_type=SUBENTRY_ROOM,
                title="Hall",
                unique_id=None,
            )
        ],
    )


async def _start(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(START)
    hass.states.async_set("sensor.door_battery", "100", BATTERY)
    hass.states.async_set("binary_sensor.hall_motion", "off", {"device_class": "motion"})
    hass.states.async_set("sensor.fridge_power", "2", FRIDGE)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _refresh(hass: HomeAssistant, coordinator: ForesightCoordinator) -> None:
    """Refresh once a nightly training the frozen clock brought due has finished, as at home."""
    await hass.async_block_till_done(wait_background_tasks=True)
    await coordinator.async_refresh()


async def _sensor_problem_at(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: ForesightCoordinator,
    moment: datetime,
) -> State:
    """The home's sensor problem as a refresh at ``moment`` leaves it."""
    freezer.move_to(moment)
    await _refresh(hass, coordinator)
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None
    return problem


async def _maintenance_events(
    hass: HomeAssistant, days: int, calendar: str = "calendar.foresight_maintenance"
) -> list[dict[str, Any]]:
    """The maintenance calendar's events over the next ``days``, as an automation reads them."""
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": calendar, "duration": {"days": days}},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    events: list[dict[str, Any]] = response[calendar]["events"]
    return events


def _home_entity_id(hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str) -> str:
    """A home entity's id, which Home Assistant builds from its name in the home's language."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.entry_id}_{key}")
    assert entity_id is not None, key
    return entity_id


async def test_battery_date_calendar_and_replacement(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    coordinator = maintenance_entry.runtime_data.coordinator
    zone = ZoneInfo(hass.config.time_zone)
    # An alkaline cell losing about 1.2 points a day, reported in whole percent.
    readings: list[tuple[datetime, float]] = [(START, 100.0)]
    for day in range(1, 61):
        when = START + timedelta(days=day, hours=day % 5)
        level = float(round(100 - 1.2 * day - 0.0001 * day**2))
        freezer.move_to(when)
        hass.states.async_set("sensor.door_battery", str(level), BATTERY)
        readings.append((when, level))
        if day % 10 == 0:
            await _refresh(hass, coordinator)
    now = START + timedelta(days=60, hours=6)
    freezer.move_to(now)
    await _refresh(hass, coordinator)

    times = to_wall_clock([when.timestamp() for when, _ in readings], zone)
    offline = BatteryDischarge.from_history(times, [level for _, level in readings], low_level=10)
    forecast = offline.forecast(wall_clock_now(now, zone))
    assert forecast.status == "predicted"
    assert forecast.low_at is not None
    expected = from_wall_clock(forecast.low_at, zone)

    sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
    assert sensor is not None
    assert datetime.fromisoformat(sensor.state) == expected.replace(microsecond=0)
    assert sensor.attributes["entity_id"] == "sensor.door_battery"
    assert forecast.level is not None
    # The level the model reckons between two reported steps, shown to a tenth of a point.
    assert sensor.attributes["level"] == round(forecast.level, 1) != forecast.level
    assert sensor.attributes["upcoming"][0]["level"] == round(forecast.level, 1)
    assert 10 < (expected - now).days < 20  # 28 % left at 1.2 points a day
    assert sensor.attributes["upcoming"]
    # Which battery, its level and the next ones change with every step: kept out of the
    # recorder's database (the date, the sensor's state, is recorded).
    assert set(sensor.attributes) >= {"entity_id", "level", "likely_from", "upcoming"}
    assert sensor.attributes["learning"] == []
    recorded = await recorded_attributes(hass, sensor.entity_id)
    assert not set(recorded) & {
        "entity_id", "level", "low_level", "likely_from", "likely_until", "batteries", "learning",
        "upcoming",
    }  # fmt: skip

    (event,) = await _maintenance_events(hass, days=60)
    assert event["start"] == expected.astimezone(zone).date().isoformat()
    assert "door_battery" in event["description"]
    assert f"(now {round(forecast.level, 1):g} %)" in event["description"]
    assert not [e for e in events if e.data["type"] == "battery"]  # not within 7 days yet

    freezer.move_to(now + timedelta(hours=1))
    hass.states.async_set("sensor.door_battery", "100", BATTERY)  # a new battery
    await _refresh(hass, coordinator)
    sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
    assert sensor is not None
    assert sensor.state == "unknown"  # a new discharge: too little history to say when
    assert sensor.attributes["learning"] == ["sensor.door_battery"]  # and it says so
    assert await _maintenance_events(hass, days=60) == []  # and off the calendar


async def test_an_excluded_battery_is_not_watched_and_a_low_level_of_its_own_moves_the_date(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """The remote's battery, excluded, would run out first; the door's is due at its own 30 %."""
    entry = entry_like(
        maintenance_entry,
        options={
            CONF_EXCLUDED_BATTERIES: ["sensor.remote_battery"],
            CONF_BATTERY_LOW_LEVELS: {"sensor.door_battery": 30},
        },
    )
    freezer.move_to(START)
    hass.states.async_set("sensor.remote_battery", "100", BATTERY)
    await _start(hass, entry, freezer)
    coordinator = entry.runtime_data.coordinator
    zone = ZoneInfo(hass.config.time_zone)
    readings: list[tuple[datetime, float]] = [(START, 100.0)]
    for day in range(1, 41):
        when = START + timedelta(days=day)
        freezer.move_to(when)
        readings.append((when, 100.0 - 1.5 * day))  # 30 % on day 47, 10 % on day 60
        hass.states.async_set("sensor.door_battery", str(readings[-1][1]), BATTERY)
        hass.states.async_set("sensor.remote_battery", str(100.0 - 2.0 * day), BATTERY)  # day 45
        if day % 10 == 0:
            await _refresh(hass, coordinator)

    times = to_wall_clock([when.timestamp() for when, _ in readings], zone)
    offline = BatteryDischarge.from_history(times, [level for _, level in readings], low_level=30)
    forecast = offline.forecast(wall_clock_now(readings[-1][0], zone))
    assert forecast.low_at is not None
    sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
    assert sensor is not None
    assert datetime.fromisoformat(sensor.state) == from_wall_clock(forecast.low_at, zone).replace(
        microsecond=0
    )
    assert sensor.attributes["entity_id"] == "sensor.door_battery"
    assert sensor.attributes["low_level"] == 30
    assert sensor.attributes["batteries"] == 1
    assert [battery["entity_id"] for battery in sensor.attributes["upcoming"]] == [
        "sensor.door_battery"
    ]
    (event,) = await _maintenance_events(hass, days=60)
    assert "door_battery" in event["description"]


async def test_a_battery_coming_due_is_announced_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    rng = np.random.default_rng(5)
    level = 100.0
    comings_due = 0  # how often the date came within a week of now
    dates_while_due: set[str] = set()
    reloaded = False
    for day in range(1, 28):  # about 3.3 points a day, faster on some days than others
        level -= float(rng.uniform(2.8, 3.8))
        freezer.move_to(START + timedelta(days=day))
        hass.states.async_set("sensor.door_battery", str(round(level)), BATTERY)
        await _refresh(hass, maintenance_entry.runtime_data.coordinator)
        sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
        assert sensor is not None
        due = sensor.state != "unknown" and datetime.fromisoformat(sensor.state) <= (
            START + timedelta(days=day + 7)
        )
        comings_due += due and not dates_while_due
        if not due:
            dates_while_due.clear()
        else:
            dates_while_due.add(sensor.state)
        batteries = [e for e in events if e.data["type"] == "battery"]
        assert len(batteries) == comings_due, day  # once each time it comes due, not each date
        if due and not reloaded:  # Home Assistant restarts, or the home's options change
            assert await hass.config_entries.async_reload(maintenance_entry.entry_id)
            await hass.async_block_till_done(wait_background_tasks=True)
            reloaded = True
    assert comings_due >= 1
    assert len(dates_while_due) > 1  # the date moved while it was due, yet no news


async def test_a_battery_already_low_is_due_today(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    for day in range(1, 31):  # 3 points a day: below its 10 % since day 30
        freezer.move_to(START + timedelta(days=day))
        hass.states.async_set("sensor.door_battery", str(100 - 3 * day), BATTERY)
    now = START + timedelta(days=33)
    freezer.move_to(now)
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)

    sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
    assert sensor is not None
    crossed = datetime.fromisoformat(sensor.state)
    assert START + timedelta(days=29) <= crossed <= START + timedelta(days=30)  # overdue since
    (event,) = await _maintenance_events(hass, days=1)
    today = now.astimezone(ZoneInfo(hass.config.time_zone)).date()
    assert event["start"] == today.isoformat()
    assert (
        f"reached 10 % on {crossed.astimezone(ZoneInfo(hass.config.time_zone)).date()}"
        in (event["description"])
    )
    calendar = hass.states.get("calendar.foresight_maintenance")
    assert calendar is not None
    assert calendar.state == "on"


async def _battery_low_since_this_morning(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> datetime:
    """A month of the door battery running down, below its 10 % since 8 today; returns today."""
    await _start(hass, entry, freezer)
    zone = ZoneInfo(hass.config.time_zone)
    for day in range(1, 30):  # 3 points a day, down to 13 %
        freezer.move_to(START + timedelta(days=day))
        hass.states.async_set("sensor.door_battery", str(100 - 3 * day), BATTERY)
    today = (START + timedelta(days=30)).astimezone(zone).replace(hour=0, minute=0)
    for hour, level in ((7, 11), (8, 7)):  # below its 10 % since this morning
        freezer.move_to(today + timedelta(hours=hour))
        hass.states.async_set("sensor.door_battery", str(level), BATTERY)
    freezer.move_to(today + timedelta(hours=15))
    await _refresh(hass, entry.runtime_data.coordinator)
    return today


async def test_the_calendar_speaks_the_language_home_assistant_was_just_set_to(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """Changing the server's language in the general settings reloads Foresight in it."""
    today = await _battery_low_since_this_morning(hass, maintenance_entry, freezer)
    calendar = hass.states.get("calendar.foresight_maintenance")
    assert calendar is not None
    assert calendar.attributes["description"].endswith(f"reached 10 % on {today.date()}.")

    await hass.config.async_update(language="de")
    await hass.async_block_till_done(wait_background_tasks=True)
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)

    calendar = hass.states.get("calendar.foresight_maintenance")  # its id stays as it was
    assert calendar is not None
    assert calendar.attributes["description"].endswith(f"hat am {today:%d.%m.%Y} 10 % erreicht.")


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "sensor.door_battery reached 10 % on {day:%Y-%m-%d}."),
        ("it", "sensor.door_battery reached 10 % on {day:%Y-%m-%d}."),
        ("de", "sensor.door_battery hat am {day:%d.%m.%Y} 10 % erreicht."),
        ("fr", "sensor.door_battery a atteint 10 % le {day:%d/%m/%Y}."),
    ],
)
async def test_a_battery_low_since_this_morning_has_reached_its_level(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    maintenance_entry: MockConfigEntry,
    language: str,
    said: str,
) -> None:
    """A battery that crossed its low level this morning is due today, and said to be low.

    The date is written as the home's language writes dates; in a language Foresight has no
    translation for, the calendar speaks English.
    """
    hass.config.language = language
    today = await _battery_low_since_this_morning(hass, maintenance_entry, freezer)

    next_battery = _home_entity_id(hass, maintenance_entry, "sensor", "next_battery")
    sensor = hass.states.get(next_battery)
    assert sensor is not None
    crossed = datetime.fromisoformat(sensor.state)
    assert today + timedelta(hours=7) <= crossed <= today + timedelta(hours=8)
    maintenance = _home_entity_id(hass, maintenance_entry, "calendar", "maintenance")
    calendar = hass.states.get(maintenance)
    assert calendar is not None
    assert calendar.state == "on"
    said = said.format(day=today.date())
    assert calendar.attributes["description"] == said
    (event,) = await _maintenance_events(hass, days=1, calendar=maintenance)
    assert (event["start"], event["description"]) == (today.date().isoformat(), said)


def _hall_days(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> datetime:
    """Four days of a hall sensor firing every 20 to 60 minutes; returns its last turn on."""
    rng = np.random.default_rng(3)
    moment = START
    while moment < START + timedelta(days=4):
        moment += timedelta(minutes=float(rng.uniform(20, 60)))
        freezer.move_to(moment)
        hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
        freezer.move_to(moment + timedelta(minutes=2))
        hass.states.async_set("binary_sensor.hall_motion", "off", {"device_class": "motion"})
    return moment


async def test_only_a_detector_is_stuck_a_lamp_on_or_a_person_at_home_is_not(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """A lamp left on for a weekend, or someone home for it, is no faulty sensor: only a
    motion, presence or door sensor on far longer than ever is stuck."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Foresight",
        data={CONF_PEOPLE: ["person.alice"]},
        options=dict(maintenance_entry.options),
        subentries_data=[
            ConfigSubentryData(
                data={
                    "name": "Hall",
                    "motion": ["binary_sensor.hall_motion"],
                    "light": ["light.hall"],
                },
                subentry_type=SUBENTRY_ROOM,
                title="Hall",
                unique_id=None,
            )
        ],
    )
    await _start(hass, entry, freezer)
    coordinator = entry.runtime_data.coordinator
    # Four days: short stays at home, the lamp on for a quarter of an hour at a time.
    moment = START
    while moment < START + timedelta(days=4):
        for state, minutes in (("on", 15), ("off", 45)):
            freezer.move_to(moment)
            hass.states.async_set("light.hall", state)
            hass.states.async_set("person.alice", "home" if state == "on" else "not_home")
            moment += timedelta(minutes=minutes)
    # Then both on for a weekend, while the hall's motion sensor goes on as ever.
    freezer.move_to(moment)
    hass.states.async_set("light.hall", "on")
    hass.states.async_set("person.alice", "home")
    while moment < START + timedelta(days=6):
        moment += timedelta(minutes=40)
        freezer.move_to(moment)
        hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
        freezer.move_to(moment + timedelta(minutes=2))
        hass.states.async_set("binary_sensor.hall_motion", "off", {"device_class": "motion"})
    await _refresh(hass, coordinator)

    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None
    assert problem.attributes["sources"] == []
    assert problem.state == "off"


async def test_a_stuck_sensor_gets_its_own_repair_issue(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    coordinator = maintenance_entry.runtime_data.coordinator
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    stuck_since = _hall_days(hass, freezer) + timedelta(minutes=10)
    freezer.move_to(stuck_since)
    hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
    freezer.move_to(stuck_since + timedelta(days=1))  # it still says "on" now and then
    hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
    freezer.move_to(stuck_since + timedelta(days=2))
    await _refresh(hass, coordinator)

    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None
    assert [source["problem"] for source in problem.attributes["sources"]] == ["stuck"]
    # Stuck since it turned on, not since it last said so.
    on_since = stuck_since.replace(microsecond=0)
    assert datetime.fromisoformat(problem.attributes["sources"][0]["since"]) == on_since
    (said,) = [e.data for e in events if e.data["type"] == "stuck"]
    assert datetime.fromisoformat(said["since"]) == on_since
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, "source_silent_binary_sensor.hall_motion") is None
    issue = issues.async_get_issue(DOMAIN, "source_stuck_binary_sensor.hall_motion")
    assert issue is not None
    assert issue.translation_key == "source_stuck"

    freezer.move_to(stuck_since + timedelta(days=2, minutes=1))
    hass.states.async_set("binary_sensor.hall_motion", "off", {"device_class": "motion"})
    await _refresh(hass, coordinator)
    assert issues.async_get_issue(DOMAIN, "source_stuck_binary_sensor.hall_motion") is None


async def test_silent_sensor_is_flagged_repaired_and_cleared(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    coordinator = maintenance_entry.runtime_data.coordinator
    moment = _hall_days(hass, freezer)
    await _refresh(hass, coordinator)
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None
    assert problem.state == "off"

    # Then nothing for a day and a half.
    silent_since = moment + timedelta(minutes=2)
    problem = await _sensor_problem_at(
        hass, freezer, coordinator, silent_since + timedelta(hours=12)
    )
    assert problem.state == "on"
    (source,) = problem.attributes["sources"]
    assert source["entity_id"] == "binary_sensor.hall_motion"
    assert source["problem"] == "silent"
    assert [e.data["type"] for e in events] == ["silent"]
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, "source_silent_binary_sensor.hall_motion")
        is None
    )

    freezer.move_to(silent_since + timedelta(hours=40))
    await _refresh(hass, coordinator)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "source_silent_binary_sensor.hall_motion")
    assert issue is not None
    assert issue.translation_placeholders == {"entity_id": "binary_sensor.hall_motion"}
    assert len(events) == 1  # announced once
    assert await hass.config_entries.async_reload(maintenance_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = maintenance_entry.runtime_data.coordinator
    assert len(events) == 1  # a restart is no news

    freezer.move_to(silent_since + timedelta(hours=40, minutes=1))
    hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
    await _refresh(hass, coordinator)
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None
    assert problem.state == "off"
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, "source_silent_binary_sensor.hall_motion")
        is None
    )

    freezer.move_to(silent_since + timedelta(hours=40, minutes=3))
    hass.states.async_set("binary_sensor.hall_motion", "off", {"device_class": "motion"})
    freezer.move_to(silent_since + timedelta(hours=56))  # silent again
    await _refresh(hass, coordinator)
    assert [e.data["type"] for e in events] == ["silent", "silent"]


async def test_a_motion_sensor_quiet_while_everybody_is_away_is_no_problem(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """Three days away: nobody moves in the hall, and that is no fault. Its silence counts from
    the return home: still silent half a day later, it is flagged then."""
    entry = entry_like(maintenance_entry, data={CONF_PEOPLE: ["person.alice"]})
    await _start(hass, entry, freezer)
    hass.states.async_set("person.alice", "home")
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    coordinator = entry.runtime_data.coordinator
    left = _hall_days(hass, freezer) + timedelta(minutes=10)
    freezer.move_to(left)
    hass.states.async_set("person.alice", "not_home")
    issues = ir.async_get(hass)
    for hours in (12, 40, 72):
        problem = await _sensor_problem_at(
            hass, freezer, coordinator, left + timedelta(hours=hours)
        )
        assert problem.state == "off", hours
    assert issues.async_get_issue(DOMAIN, "source_silent_binary_sensor.hall_motion") is None
    assert not events

    back = left + timedelta(hours=72)
    hass.states.async_set("person.alice", "home")
    problem = await _sensor_problem_at(hass, freezer, coordinator, back + timedelta(minutes=30))
    assert problem.state == "off"
    problem = await _sensor_problem_at(hass, freezer, coordinator, back + timedelta(hours=12))
    assert problem.state == "on"
    (source,) = problem.attributes["sources"]
    assert datetime.fromisoformat(source["since"]) == back.replace(microsecond=0)
    assert [e.data["type"] for e in events] == ["silent"]
    assert issues.async_get_issue(DOMAIN, "source_silent_binary_sensor.hall_motion") is None
    freezer.move_to(back + timedelta(hours=40))
    await _refresh(hass, coordinator)
    assert issues.async_get_issue(DOMAIN, "source_silent_binary_sensor.hall_motion") is not None


async def test_a_silent_meter_is_a_gap_not_a_home_using_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """The meter's link breaks and it keeps showing its last reading: once it is flagged, its
    hours are unknown, not a home using nothing, and its next reading is no spike."""
    energy = {
        "unit_of_measurement": "kWh",
        "device_class": "energy",
        "state_class": "total_increasing",
    }
    entry = entry_like(maintenance_entry, data={CONF_ENERGY_SENSOR: ["sensor.house_energy"]})
    freezer.move_to(START)
    hass.states.async_set("sensor.house_energy", "1000.0", energy)
    await _start(hass, entry, freezer)
    coordinator = entry.runtime_data.coordinator
    reading, moment = 1000.0, START
    while moment < START + timedelta(days=3):  # 0.6 kWh an hour, read every five minutes
        moment += timedelta(minutes=5)
        reading += 0.05
        freezer.move_to(moment)
        hass.states.async_set("sensor.house_energy", f"{reading:.2f}", energy)
    await _refresh(hass, coordinator)
    stopped = moment
    for hours in range(1, 10):
        freezer.move_to(stopped + timedelta(hours=hours))
        await _refresh(hass, coordinator)
    (source,) = hass.states.get("binary_sensor.foresight_sensor_problem").attributes["sources"]  # type: ignore[union-attr]
    assert source["entity_id"] == "sensor.house_energy"
    back = stopped + timedelta(hours=10, minutes=20)
    reading += 6.0  # ten hours' use, counted while its link was down
    while moment < back + timedelta(hours=2):
        moment = max(moment, back) + timedelta(minutes=5)
        reading += 0.05
        freezer.move_to(moment)
        hass.states.async_set("sensor.house_energy", f"{reading:.2f}", energy)
    await _refresh(hass, coordinator)

    store = entry.runtime_data.store
    rows = await hass.async_add_executor_job(
        store.hours, "sensor.house_energy", stopped.timestamp(), moment.timestamp()
    )
    consumption = {dt_util.utc_from_timestamp(row.hour): row.consumption for row in rows}
    flagged = stopped + timedelta(hours=2)  # read every five minutes: silent after about an hour
    assert consumption[flagged - timedelta(hours=1)] == 0.0  # still held before it was flagged
    hour = flagged
    while hour < back:
        assert consumption.get(hour) is None, hour  # unknown, not a home using nothing
        hour += timedelta(hours=1)
    # The ten hours' use is not put in the hour it came back in: that hour has its own use.
    came_back = back.replace(minute=0, second=0, microsecond=0)
    assert consumption[came_back] is None or consumption[came_back] < 0.6
    assert consumption[came_back + timedelta(hours=1)] == pytest.approx(0.6)


def test_last_return_is_the_first_person_back_to_an_empty_home() -> None:
    alice = [(0.0, 1.0), (10.0, 0.0), (50.0, 1.0)]
    bob = [(0.0, 1.0), (20.0, 0.0), (40.0, 1.0), (60.0, 0.0)]
    assert last_return([alice, bob]) == 40.0  # bob back first; alice's return found him home
    assert last_return([alice[:2], bob]) == math.inf  # both away now
    assert last_return([alice[:2], bob[:2]]) == math.inf
    assert last_return([[(0.0, 1.0)], bob]) == -math.inf  # alice never left
    # A person not known (no reading yet, or unknown) may be home: the home is not empty.
    assert last_return([alice[:2], []]) == -math.inf
    assert last_return([[*alice[:2], (30.0, None)], bob[:2]]) == 30.0  # judged from then on
    assert last_return([]) is None


def _keep_reports(store: HistoryStore, keys: list[str], until: datetime) -> None:
    """Four days of each battery reporting its level every quarter hour, kept before ``until``."""
    end = until.timestamp()
    start = end - 4 * 86400
    kinds = dict.fromkeys(keys, "battery")
    store.open()
    store.write(
        kinds,
        [
            Sample(key, start + i * 900.0 + n, 90.0)
            for n, key in enumerate(keys)
            for i in range(384)
        ],
        observed=dict.fromkeys(keys, (start, end)),
    )
    store.mark_backfilled(keys, kinds)
    store.close()


async def test_hundreds_of_silent_sensors_stay_recorded_and_counted(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """A Zigbee coordinator dropping its devices: the problem is recorded, with how many."""
    batteries = [f"sensor.device_{n:03d}_battery" for n in range(200)]
    store = HistoryStore(history_path(hass, maintenance_entry))
    await hass.async_add_executor_job(_keep_reports, store, batteries, START)
    for battery in batteries:
        hass.states.async_set(battery, "90", BATTERY)
    await _start(hass, maintenance_entry, freezer)

    freezer.move_to(START + timedelta(days=2))
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None and problem.state == "on"
    recorded = await recorded_attributes(hass, "binary_sensor.foresight_sensor_problem")
    assert recorded["count"] == len(batteries)
    assert 0 < len(recorded["sources"]) < len(batteries)
    assert recorded["sources"][0]["entity_id"] == batteries[0]
    assert len(json.dumps(recorded)) < MAX_STATE_ATTRS_BYTES


async def test_a_source_reporting_a_value_that_holds_is_not_silent(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    coordinator = maintenance_entry.runtime_data.coordinator
    # A month of a battery's level changing about every 20 hours: its rhythm is learned.
    moment, level = START, 100
    while moment < START + timedelta(days=30):
        moment += timedelta(hours=20 + moment.day % 5)
        level -= 1
        freezer.move_to(moment)
        hass.states.async_set("sensor.door_battery", str(level), BATTERY)
    await _refresh(hass, coordinator)
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None and problem.state == "off"

    # Then its level holds for five days, but the device still reports it every six hours.
    last_change = moment
    while moment < last_change + timedelta(days=5):
        moment += timedelta(hours=6)
        freezer.move_to(moment)
        hass.states.async_set("sensor.door_battery", str(level), BATTERY)
        await _refresh(hass, coordinator)
        problem = hass.states.get("binary_sensor.foresight_sensor_problem")
        assert problem is not None and problem.state == "off", moment

    # Then the device stops reporting at all.
    freezer.move_to(moment + timedelta(days=3))
    await _refresh(hass, coordinator)
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None and problem.state == "on"
    assert [s["entity_id"] for s in problem.attributes["sources"]] == ["sensor.door_battery"]


async def _fridge_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    day_start: datetime,
    run_minutes: float,
    coordinator: ForesightCoordinator | None = None,
) -> None:
    """A day of a fridge compressor: 90 W for ``run_minutes`` in every 40-minute cycle.

    With a ``coordinator``, Foresight looks at it every three hours, as its refresh would.
    """
    rng = np.random.default_rng(int(day_start.timestamp()))
    moment = day_start
    looked_at = day_start
    while moment < day_start + timedelta(days=1):
        if coordinator is not None and moment >= looked_at + timedelta(hours=3):
            await _refresh(hass, coordinator)
            looked_at = moment
        on = run_minutes * rng.uniform(0.9, 1.1)
        freezer.move_to(moment)
        hass.states.async_set("sensor.fridge_power", f"{rng.uniform(85, 95):.1f}", FRIDGE)
        freezer.move_to(moment + timedelta(minutes=on))
        hass.states.async_set("sensor.fridge_power", f"{rng.uniform(1, 3):.1f}", FRIDGE)
        moment += timedelta(minutes=on + 25 * rng.uniform(0.9, 1.1))


async def test_fridge_drift_is_flagged_and_ordinary_days_are_not(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    coordinator = maintenance_entry.runtime_data.coordinator
    for day in range(10):
        await _fridge_day(hass, freezer, START + timedelta(days=day), run_minutes=15)
    await hass.services.async_call(DOMAIN, "retrain", {}, blocking=True)
    fridge = hass.states.get("binary_sensor.foresight_fridge_power_problem")
    assert fridge is not None
    assert fridge.state == "off"
    # Its normal share of time on, hour by hour: 15 minutes in every 40, all day long (three
    # cycles in two hours, so odd and even hours differ a little).
    by_hour = fridge.attributes["duty_by_hour"]
    assert len(by_hour) == 24
    assert np.mean(by_hour) == pytest.approx(15 / 40, abs=0.01)
    assert all(0.25 < share < 0.5 for share in by_hour), by_hour
    assert "duty_by_hour" not in await recorded_attributes(hass, fridge.entity_id)
    assert "measures" in await recorded_attributes(hass, fridge.entity_id)

    for day in range(10, 12):  # ordinary days stay quiet
        await _fridge_day(hass, freezer, START + timedelta(days=day), run_minutes=15)
        await _refresh(hass, coordinator)
        fridge = hass.states.get("binary_sensor.foresight_fridge_power_problem")
        assert fridge is not None
        assert fridge.state == "off"

    for day in range(12, 14):  # the door seal fails: the compressor runs three times longer
        await _fridge_day(hass, freezer, START + timedelta(days=day), run_minutes=45)
    await _refresh(hass, coordinator)
    fridge = hass.states.get("binary_sensor.foresight_fridge_power_problem")
    assert fridge is not None
    assert fridge.state == "on"
    assert "run_minutes" in fridge.attributes["drifted"] or "duty" in fridge.attributes["drifted"]
    measures = fridge.attributes["measures"]
    assert measures["run_minutes"]["seen"] > measures["run_minutes"]["high"]
    assert [e.data["type"] for e in events] == ["appliance"], [e.data for e in events]
    assert events[0].data["entity_id"] == "sensor.fridge_power"


async def test_a_drift_longer_than_the_training_days_is_never_learned_as_normal(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    coordinator = maintenance_entry.runtime_data.coordinator
    for day in range(10):
        await _fridge_day(hass, freezer, START + timedelta(days=day), run_minutes=15)
    await coordinator.async_train()

    # The door seal fails for good; Foresight retrains every night as it always does.
    for day in range(10, 12 + TRAIN_DAYS):
        await _fridge_day(hass, freezer, START + timedelta(days=day), 45, coordinator)
        await coordinator.async_train()
        fridge = hass.states.get("binary_sensor.foresight_fridge_power_problem")
        assert fridge is not None
        if day >= 12:  # two days in, and from then on
            assert fridge.state == "on", day

    assert await hass.config_entries.async_reload(maintenance_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = maintenance_entry.runtime_data.coordinator
    await _fridge_day(hass, freezer, START + timedelta(days=12 + TRAIN_DAYS), 45, coordinator)
    await coordinator.async_train()
    fridge = hass.states.get("binary_sensor.foresight_fridge_power_problem")
    assert fridge is not None
    assert fridge.state == "on"
    assert "run_minutes" in fridge.attributes["drifted"] or "duty" in fridge.attributes["drifted"]


async def _statistics_of_a_door_battery(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, points_a_day: float
) -> None:
    """100 days of the door battery's hourly statistics, falling from 100 %, and its state now."""
    freezer.move_to(START)

    def level(moment: datetime) -> float:
        days = (moment - START + timedelta(days=100)).total_seconds() / 86400
        return float(round(100 - points_a_day * days))

    hours = [START - timedelta(days=100, hours=-hour) for hour in range(100 * 24)]
    import_hourly_statistics(
        hass,
        "sensor.door_battery",
        "unitless",
        "%",
        [
            {
                "start": hour,
                "mean": level(hour + timedelta(minutes=30)),
                "min": level(hour + timedelta(hours=1)),
                "max": level(hour),
            }
            for hour in hours
        ],
    )
    hass.states.async_set("sensor.door_battery", str(level(START)), BATTERY)
    await async_wait_recording_done(hass)


async def test_a_battery_is_predicted_on_the_first_day_from_its_long_term_statistics(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """Months of hourly statistics and one recorded state: a date from the day Foresight starts."""
    await _statistics_of_a_door_battery(hass, freezer, points_a_day=0.5)
    maintenance_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(maintenance_entry.entry_id)
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)

    sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
    assert sensor is not None
    assert sensor.attributes["entity_id"] == "sensor.door_battery"
    low_at = datetime.fromisoformat(sensor.state)
    assert abs(low_at - (START + timedelta(days=80))) < timedelta(days=3)  # 50 % left


async def test_a_battery_found_low_at_setup_is_announced_with_the_day_it_crossed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """Its recorded history is read before anything is said: not "low since Foresight started"."""
    await _statistics_of_a_door_battery(hass, freezer, points_a_day=0.95)  # 5 % now
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    maintenance_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(maintenance_entry.entry_id)
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)

    (event,) = [e for e in events if e.data["type"] == "battery"]
    crossed = START - timedelta(days=100 - 90 / 0.95)
    assert abs(datetime.fromisoformat(event.data["low_at"]) - crossed) < timedelta(days=1)


async def test_a_battery_added_later_is_watched_without_a_reload(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    first = maintenance_entry.runtime_data.coordinator
    hass.states.async_set("sensor.window_battery", "90", BATTERY)  # a new device is paired
    await hass.async_block_till_done()  # noticed
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert maintenance_entry.runtime_data.coordinator is not first  # reloaded, watching it

    for day in range(1, 28):  # 3 points a day
        freezer.move_to(START + timedelta(days=day))
        hass.states.async_set("sensor.window_battery", str(90 - 3 * day), BATTERY)
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)
    sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
    assert sensor is not None
    assert sensor.attributes["entity_id"] == "sensor.window_battery"


async def test_get_forecast_lists_battery_dates(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    await _start(hass, maintenance_entry, freezer)
    for day in range(1, 28):  # 19 % left at 3 points a day
        freezer.move_to(START + timedelta(days=day))
        hass.states.async_set("sensor.door_battery", str(100 - 3 * day), BATTERY)
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)
    response = await hass.services.async_call(
        DOMAIN,
        "get_forecast",
        {"kind": "maintenance", "hours": 240},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    (battery,) = response["batteries"]
    assert battery["entity_id"] == "sensor.door_battery"
    assert battery["status"] == "predicted"
    assert battery["within_horizon"] is True
    # The same time everywhere, to the whole second as the sensor shows it.
    sensor = hass.states.get("sensor.foresight_next_battery_to_replace")
    assert sensor is not None
    assert datetime.fromisoformat(battery["low_at"]) == datetime.fromisoformat(sensor.state)
    shown = [battery[key] for key in ("low_at", "likely_from", "likely_until")]
    shown += [sensor.attributes[key].isoformat() for key in ("likely_from", "likely_until")]
    shown += [upcoming["low_at"] for upcoming in sensor.attributes["upcoming"]]
    assert all(datetime.fromisoformat(when).microsecond == 0 for when in shown), shown
    assert response["appliances"] == {"sensor.fridge_power": {"status": "learning", "drifted": []}}


HALL, KITCHEN, DOOR = (
    "binary_sensor.hall_motion",
    "sensor.kitchen_temperature",
    "sensor.door_battery",
)
SEEDED_KINDS = {HALL: "motion", KITCHEN: "temperature", DOOR: "battery"}
BERLIN = ZoneInfo("Europe/Berlin")
SEEDED_DAYS = 40
DAY_S = 86400.0


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[HistoryStore]:
    """The seeded history of :func:`_seeded_history`, closed after the test."""
    store = _seeded_history(tmp_path / "history.db")
    yield store
    store.close()


def _seeded_history(path: Path) -> HistoryStore:
    """Forty days of a hall's motion, a kitchen's temperature and a door's battery, with silences.

    The hall is quiet at night and silent for three days in the fourth week; the kitchen reports
    every five minutes and falls silent for good ten hours before the end; the battery loses a
    point a day and is replaced on day 20.
    """
    rng = np.random.default_rng(7)
    store = HistoryStore(path)
    store.open()
    start = START.timestamp()
    samples: list[Sample] = []
    for day in range(SEEDED_DAYS):
        if 24 <= day < 27:
            continue
        moments = np.sort(start + day * DAY_S + rng.uniform(7, 23, 30) * 3600)
        samples += [Sample(HALL, float(t), float(i % 2 == 0)) for i, t in enumerate(moments)]
        samples.append(Sample(DOOR, start + day * DAY_S + rng.uniform(0, DAY_S), 100.0 - day % 20))
    kitchen_end = start + SEEDED_DAYS * DAY_S - 10 * 3600
    samples += [
        Sample(KITCHEN, float(t), float(20 + rng.normal()))
        for t in np.arange(start, kitchen_end, 300.0)
    ]
    store.write(SEEDED_KINDS, samples)
    return store


def _home_maintenance(store: HistoryStore) -> HomeMaintenance:
    return HomeMaintenance(store, BERLIN, dict(SEEDED_KINDS), {DOOR: 10.0}, [], None)


def _learned_state(maintenance: HomeMaintenance) -> dict[str, Any]:
    return {
        "rhythms": {key: r.to_dict() for key, r in maintenance.rhythms.items()},
        "batteries": {key: b.to_dict() for key, b in maintenance.batteries.items()},
    }


def test_reporting_through_the_history_learns_what_a_rebuild_learns(seeded: HistoryStore) -> None:
    """What each refresh feeds adds up to a relearning from the whole history: nothing to redo."""
    store = seeded
    end = START + timedelta(days=SEEDED_DAYS)
    fed = _home_maintenance(store)
    moment = START + timedelta(hours=1)
    while moment < end:
        fed.report(moment)
        moment += timedelta(hours=5, minutes=7)
    report = fed.report(end)
    rebuilt = _home_maintenance(store)
    rebuilt.rebuild(end)

    assert _learned_state(fed) == _learned_state(rebuilt)
    assert report == rebuilt.report(end)
    assert [p.entity_id for p in report.problems] == [KITCHEN]
    assert [b.status for b in report.batteries] == ["predicted"]


def test_a_restored_state_fed_what_is_new_judges_as_a_rebuild(seeded: HistoryStore) -> None:
    """Saved at a restart, read back and fed only what came since: the same verdicts."""
    store = seeded
    end = START + timedelta(days=SEEDED_DAYS)
    before_restart = _home_maintenance(store)
    before_restart.report(START + timedelta(days=22, hours=3))  # before the hall's silence
    saved = json.loads(json.dumps(before_restart.learned()))

    restarted = _home_maintenance(store)
    restarted.restore(None, None, saved)
    rebuilt = _home_maintenance(store)
    report = restarted.report(end)

    assert report == rebuilt.report(end)
    assert _learned_state(restarted) == _learned_state(rebuilt)
    assert report.problems and report.batteries


def _calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[tuple[Any, ...]]:
    """The arguments of every call of ``owner.name`` from now on (each still made)."""
    calls: list[tuple[Any, ...]] = []
    method = getattr(owner, name)

    def counted(*args: Any) -> Any:
        calls.append(args)
        return method(*args)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize(
    ("saved", "relearned"),
    [
        (None, set(SEEDED_KINDS)),
        ("not a state", set(SEEDED_KINDS)),
        ({"version": 1, "seen_until": "yesterday", "sources": {}}, set(SEEDED_KINDS)),
        (lambda s: {**s, "seen_until": s["seen_until"] + 100 * DAY_S}, set(SEEDED_KINDS)),
        (
            lambda s: {**s, "sources": {"sensor." + k: v for k, v in s["sources"].items()}},
            set(SEEDED_KINDS),
        ),
        (
            lambda s: {
                **s,
                "sources": {**s["sources"], HALL: {**s["sources"][HALL], "kind": "door"}},
            },
            {HALL},
        ),
        (
            lambda s: {**s, "sources": {**s["sources"], KITCHEN: {"rhythm": {"version": 0}}}},
            {KITCHEN},
        ),
    ],
    ids=[
        "missing",
        "unreadable",
        "malformed",
        "from the future",
        "other sources",
        "kind changed",
        "bad rhythm",
    ],
)
def test_a_saved_state_that_does_not_fit_is_relearned(
    seeded: HistoryStore, monkeypatch: pytest.MonkeyPatch, saved: Any, relearned: set[str]
) -> None:
    """Unreadable or not this home's: relearned from the history, never a crash."""
    store = seeded
    end = START + timedelta(days=SEEDED_DAYS)
    first = _home_maintenance(store)
    first.report(START + timedelta(days=22))
    state = json.loads(json.dumps(first.learned()))
    restarted = _home_maintenance(store)
    restarted.restore(None, None, saved(state) if callable(saved) else saved)
    learned = _calls(monkeypatch, restarted, "_learn")
    report = restarted.report(end)
    assert {key for keys, _until in learned for key in keys} == relearned
    assert report == _home_maintenance(store).report(end)


def test_training_relearns_only_the_sources_a_backfill_reached_back_into(
    seeded: HistoryStore,
) -> None:
    """A backfill adds samples before those already fed: only those sources are learned again."""
    store = seeded
    end = START + timedelta(days=SEEDED_DAYS)
    maintenance = _home_maintenance(store)
    maintenance.report(end)
    kitchen = maintenance.rhythms[KITCHEN]
    earlier = START - timedelta(days=30)
    store.write(SEEDED_KINDS, [Sample(HALL, earlier.timestamp(), 1.0)])

    maintenance.train(end, [HALL])
    rebuilt = _home_maintenance(store)
    rebuilt.rebuild(end)
    assert maintenance.rhythms[KITCHEN] is kitchen
    assert _learned_state(maintenance) == _learned_state(rebuilt)


def test_a_changed_low_level_relearns_the_battery(seeded: HistoryStore) -> None:
    store = seeded
    first = _home_maintenance(store)
    first.report(START + timedelta(days=22))
    saved = first.learned()
    restarted = HomeMaintenance(store, BERLIN, dict(SEEDED_KINDS), {DOOR: 25.0}, [], None)
    restarted.restore(None, None, saved)
    restarted.report(START + timedelta(days=23))
    assert restarted.batteries[DOOR].low_level == 25.0


SOURCES_KEPT = "maintenance_sources"


async def _hall_in_use_two_hours_on(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> ForesightCoordinator:
    """The home started, then two hours later the hall's motion on and refreshed."""
    await _start(hass, entry, freezer)
    coordinator = entry.runtime_data.coordinator
    freezer.tick(timedelta(hours=2))
    hass.states.async_set("binary_sensor.hall_motion", "on", {"device_class": "motion"})
    await _refresh(hass, coordinator)
    return coordinator


async def test_home_assistant_stopping_keeps_what_maintenance_learned(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """Home Assistant stops without unloading Foresight: the rhythms are kept all the same."""
    coordinator = await _hall_in_use_two_hours_on(hass, freezer, maintenance_entry)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    kept = coordinator.models.get(SOURCES_KEPT)
    assert kept["seen_until"] >= dt_util.utcnow().timestamp()
    assert kept["sources"]["binary_sensor.hall_motion"]["rhythm"]["is_on"] is True


async def test_a_stop_during_a_refresh_waits_for_it_and_keeps_what_was_learned(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """Home Assistant stops while a refresh runs: the rhythms are kept once it is done."""
    coordinator = await _hall_in_use_two_hours_on(hass, freezer, maintenance_entry)
    await coordinator._training.acquire()  # a refresh in progress holds the models
    keeping = asyncio.ensure_future(coordinator.async_keep_learned())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not keeping.done()
    coordinator._training.release()
    await keeping
    kept = coordinator.models.get(SOURCES_KEPT)
    assert kept["sources"]["binary_sensor.hall_motion"]["rhythm"]["is_on"] is True


@pytest.mark.parametrize(
    ("spoil", "rebuilds"),
    [
        (lambda saved: None, 0),
        (lambda saved: saved.pop(SOURCES_KEPT), 1),
        (lambda saved: saved.update({SOURCES_KEPT: [1, 2, 3]}), 1),
        (
            lambda saved: saved[SOURCES_KEPT].update(
                sources={
                    f"{key}_other": source for key, source in saved[SOURCES_KEPT]["sources"].items()
                }
            ),
            1,
        ),
        (lambda saved: saved["learned_in"].update({SOURCES_KEPT: "Europe/Helsinki"}), 1),
    ],
    ids=["kept", "missing", "unreadable", "other sources", "another time zone"],
)
async def test_a_restart_relearns_from_the_whole_history_only_without_a_saved_state(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    maintenance_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    spoil: Any,
    rebuilds: int,
) -> None:
    await _start(hass, maintenance_entry, freezer)
    for day in range(1, 15):
        freezer.move_to(START + timedelta(days=day))
        hass.states.async_set("sensor.door_battery", str(100 - 3 * day), BATTERY)
        for minute in range(0, 600, 45):
            freezer.move_to(START + timedelta(days=day, minutes=minute))
            state = "on" if minute % 2 else "off"
            hass.states.async_set("binary_sensor.hall_motion", state, {"device_class": "motion"})
    await _refresh(hass, maintenance_entry.runtime_data.coordinator)
    before = maintenance_entry.runtime_data.coordinator.data.maintenance
    assert await hass.config_entries.async_unload(maintenance_entry.entry_id)
    saved = hass_storage[f"{DOMAIN}.{maintenance_entry.entry_id}.models"]["data"]
    assert set(saved[SOURCES_KEPT]["sources"]) >= {
        "sensor.door_battery",
        "binary_sensor.hall_motion",
    }
    spoil(saved)

    counted = _calls(monkeypatch, HomeMaintenance, "rebuild")
    assert await hass.config_entries.async_setup(maintenance_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(counted) == rebuilds
    after = maintenance_entry.runtime_data.coordinator.data.maintenance
    assert after.batteries == before.batteries
    assert after.problems == before.problems


def test_a_silent_thermostat_is_one_problem(tmp_path: Path) -> None:
    """A thermostat is watched as two series (heating, set point): gone silent, it is one source
    with a problem, from the earlier of their last reports."""
    heating, setpoint = "climate.lounge#heating", "climate.lounge#setpoint"
    kinds = {heating: "heating", setpoint: "setpoint"}
    start = datetime(2026, 1, 5, tzinfo=UTC)
    rng = np.random.default_rng(3)
    samples = []
    for day in range(30):
        midnight = start.timestamp() + day * 86400
        # The heating on and off a few times a day; the set point moved morning and evening.
        for i, hour in enumerate(sorted(rng.uniform(0, 24, 8))):
            samples.append(Sample(heating, midnight + hour * 3600, float(i % 2 == 0)))
        for hour, value in ((6.5, 21.0), (22.5, 17.0)):
            samples.append(Sample(setpoint, midnight + hour * 3600, value))
    store = HistoryStore(tmp_path / "history.db")
    store.open()
    store.write(kinds, samples)
    maintenance = HomeMaintenance(store, ZoneInfo("Europe/Berlin"), dict(kinds), {}, [], None)
    report = maintenance.report(start + timedelta(days=45))  # silent for 15 days
    store.close()
    (problem,) = report.problems
    assert problem.entity_id == "climate.lounge"
    assert problem.status == "silent"
    last_report = max(sample.t for sample in samples)
    assert problem.since <= datetime.fromtimestamp(last_report, UTC)


async def test_a_battery_that_holds_its_level_is_not_low(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """A coin cell: 100 to 97 % in its first days, then its long plateau, reported every day
    (the same value again changes no state): months at 97 % is no battery running out."""
    await _start(hass, maintenance_entry, freezer)
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    coordinator = maintenance_entry.runtime_data.coordinator
    for day in range(1, 101):
        freezer.move_to(START + timedelta(days=day))
        hass.states.async_set("sensor.door_battery", str(max(97, 100 - day)), BATTERY)
        if day % 10 == 0:
            await _refresh(hass, coordinator)
    assert not [event for event in events if event.data["type"] == "battery"]
    door = next(
        battery
        for battery in coordinator.data.maintenance.batteries
        if battery.entity_id == "sensor.door_battery"
    )
    assert door.status != "low"
    assert door.low_at is None or door.low_at > START + timedelta(days=160)


async def test_a_battery_voltage_not_written_yet_at_setup_is_not_watched_as_a_level(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """A battery's voltage (device class battery, in V) whose integration starts after
    Foresight: as registered, it is no level, and is not read as 3 %."""
    er.async_get(hass).async_get_or_create(
        "sensor",
        "zha",
        "remote_voltage",
        suggested_object_id="remote_battery_voltage",
        original_device_class="battery",
        unit_of_measurement="V",
    )
    await _start(hass, maintenance_entry, freezer)
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    coordinator = maintenance_entry.runtime_data.coordinator
    volts = {"device_class": "battery", "unit_of_measurement": "V", "state_class": "measurement"}
    for day in range(10):
        freezer.move_to(START + timedelta(days=day, hours=1))
        hass.states.async_set("sensor.remote_battery_voltage", f"{3.0 - 0.01 * day:.2f}", volts)
        await _refresh(hass, coordinator)
    assert "sensor.remote_battery_voltage" not in coordinator.maintenance.keys
    assert not [event for event in events if event.data.get("entity_id", "").endswith("voltage")]


async def test_a_reload_is_no_news_of_a_silent_sensor(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, maintenance_entry: MockConfigEntry
) -> None:
    """A dead motion sensor's last state, read again when Foresight starts, is no report: its
    problem stays on across the reload, since its last report, and is announced once."""
    await _start(hass, maintenance_entry, freezer)
    events: list[Event] = async_capture_events(hass, EVENT_MAINTENANCE)
    coordinator = maintenance_entry.runtime_data.coordinator
    silent_since = _hall_days(hass, freezer) + timedelta(minutes=2)
    await _refresh(hass, coordinator)
    problem = await _sensor_problem_at(
        hass, freezer, coordinator, silent_since + timedelta(hours=40)
    )
    assert problem.state == "on"
    since = problem.attributes["sources"][0]["since"]

    freezer.move_to(silent_since + timedelta(hours=41))
    assert await hass.config_entries.async_reload(maintenance_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = maintenance_entry.runtime_data.coordinator
    for hours in (42, 60):
        problem = await _sensor_problem_at(
            hass, freezer, coordinator, silent_since + timedelta(hours=hours)
        )
        assert problem.state == "on"
        assert problem.attributes["sources"][0]["since"] == since
    assert [event.data["type"] for event in events] == ["silent"]
