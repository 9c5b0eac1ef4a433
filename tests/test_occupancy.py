"""Occupancy end to end: a fortnight of a home replayed into Home Assistant, then the entities."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
import math
from pathlib import Path
import threading
from typing import Any
import weakref
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import numpy as np
import numpy.typing as npt
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.foresight import home_occupancy
from custom_components.foresight.const import (
    CONF_PEOPLE,
    CONF_RETENTION_DAYS,
    CONF_TRUSTED_PRESENCE,
    DOMAIN,
    SUBENTRY_ROOM,
    TRAIN_AT,
)
from custom_components.foresight.history import HistoryStore, Sample
from custom_components.foresight.home_maintenance import MaintenanceReport, SourceProblem
from custom_components.foresight.learning.occupancy import MIN_HISTORY_DAYS, train_occupancy
from custom_components.foresight.learning.occupancy_live import OccupancyTracker
from custom_components.foresight.learning.occupancy_model import OccupancyModel
from custom_components.foresight.learning.occupancy_signals import OccupancySource, SourceSeries
from custom_components.foresight.learning.occupancy_stats import WeeklyRoutine
from custom_components.foresight.sources import Kind, Source
from custom_components.foresight.timebase import from_wall_clock, to_wall_clock, wall_clock_now
from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.components.calendar.const import DATA_COMPONENT as CALENDAR_COMPONENT
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util

from .conftest import history_locked, recorded_attributes

NOW = datetime(2026, 10, 20, 18, 50, tzinfo=UTC)  # a Tuesday, 11:50 in the test's time zone
DAYS = 14
DAY = timedelta(days=1)
MOTION = {"device_class": "motion"}


def _use(
    rng: np.random.Generator, midnight: datetime, room: str, start_h: float, end_h: float
) -> list[tuple[datetime, str, str]]:
    """Motion in a room while it is used: on for a minute or two, every few minutes."""
    events = []
    moment = midnight + timedelta(hours=start_h + rng.normal(0, 0.15))
    end = midnight + timedelta(hours=end_h + rng.normal(0, 0.15))
    while moment < end:
        events.append((moment, f"binary_sensor.{room}_motion", "on"))
        moment += timedelta(minutes=float(rng.uniform(1, 3)))
        events.append((moment, f"binary_sensor.{room}_motion", "off"))
        moment += timedelta(minutes=float(rng.uniform(2, 9)))
    return events


def _routine(zone: ZoneInfo, now: datetime = NOW) -> list[tuple[datetime, str, str]]:
    """A fortnight: Alice works on weekdays; breakfast in the kitchen, evenings in the lounge."""
    rng = np.random.default_rng(11)
    events: list[tuple[datetime, str, str]] = []
    first = (now - timedelta(days=DAYS)).astimezone(zone).replace(hour=0, minute=0, second=0)
    for day in range(DAYS + 1):
        midnight = first + timedelta(days=day)
        events += _use(rng, midnight, "kitchen", 7.0, 7.6)
        if midnight.weekday() < 5:
            leave = midnight + timedelta(hours=8 + rng.normal(0, 0.1))
            back = midnight + timedelta(hours=17.5 + rng.normal(0, 0.2))
            events += [(leave, "person.alice", "not_home"), (back, "person.alice", "home")]
            events += _use(rng, midnight, "kitchen", 18.0, 18.7)
        else:
            events += _use(rng, midnight, "kitchen", 12.0, 13.0)
            events += _use(rng, midnight, "lounge", 14.0, 16.0)
        events += _use(rng, midnight, "lounge", 19.0, 22.5)
    return sorted((e for e in events if e[0] < now), key=lambda e: e[0])


@pytest.fixture
def entry() -> MockConfigEntry:
    return _home()


def _home(
    kitchen_lights: list[str] | None = None,
    more_rooms: tuple[tuple[str, dict[str, Any]], ...] = (),
) -> MockConfigEntry:
    """Alice's home: a kitchen and a lounge, each with its motion sensor (and ``more_rooms``)."""
    rooms = [
        ("Kitchen", {"motion": ["binary_sensor.kitchen_motion"], "light": kitchen_lights or []}),
        ("Lounge", {"motion": ["binary_sensor.lounge_motion"]}),
        *more_rooms,
    ]
    return MockConfigEntry(
        domain=DOMAIN,
        title="Foresight",
        data={CONF_PEOPLE: ["person.alice"]},
        options={CONF_RETENTION_DAYS: 400},
        subentries_data=[
            ConfigSubentryData(
                data={"name": name, **sources},
                subentry_type=SUBENTRY_ROOM,
                title=name,
                unique_id=None,
            )
            for name, sources in rooms
        ],
    )


async def _record_then_set_up(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    events: list[tuple[datetime, str, str]],
    now: datetime = NOW,
) -> list[tuple[datetime, str, str]]:
    """Record the events, then set Foresight up at ``now``; returns the states it began in."""
    freezer.move_to(events[0][0] - timedelta(minutes=1))
    hass.states.async_set("person.alice", "home")
    hass.states.async_set("binary_sensor.kitchen_motion", "off", MOTION)
    hass.states.async_set("binary_sensor.lounge_motion", "off", MOTION)
    start_states = [
        (events[0][0] - timedelta(minutes=1), entity, state)
        for entity, state in (
            ("person.alice", "home"),
            ("binary_sensor.kitchen_motion", "off"),
            ("binary_sensor.lounge_motion", "off"),
        )
    ]
    for moment, entity_id, state in events:
        freezer.move_to(moment)
        hass.states.async_set(entity_id, state, MOTION if "motion" in entity_id else {})
    await async_wait_recording_done(hass)
    freezer.move_to(now)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return start_states


async def test_entities_show_what_the_engine_computes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    zone = ZoneInfo(hass.config.time_zone)
    events = _routine(zone)
    start_states = await _record_then_set_up(hass, freezer, entry, events)

    # The same history through the learning engine, offline.
    rooms = {subentry.title: room_id for room_id, subentry in entry.subentries.items()}
    sources = [
        OccupancySource("person.alice", "person", None),
        OccupancySource("binary_sensor.kitchen_motion", "motion", rooms["Kitchen"]),
        OccupancySource("binary_sensor.lounge_motion", "motion", rooms["Lounge"]),
    ]
    history = {}
    for source in sources:
        rows = [(m, s) for m, e, s in [*start_states, *events] if e == source.source_id]
        times = to_wall_clock([m.timestamp() for m, _ in rows], zone)
        values = [1.0 if s in ("on", "home") else 0.0 for _, s in rows]
        history[source.source_id] = SourceSeries.of(times.tolist(), values)
    end = wall_clock_now(NOW, zone)
    # Foresight's history begins with the first reading it holds.
    start = min(float(series.times[0]) for series in history.values())
    model = train_occupancy(sources, history, start, end)
    tracker = OccupancyTracker(model)
    tracker.replay(history, since=end - 86400)

    next_hour = math.floor(end / 3600) * 3600 + 3600  # the forecast lists clock hours from it
    for name, room_id in rooms.items():
        expected = tracker.forecast(room_id, end)
        slug = name.lower()
        probability = hass.states.get(f"sensor.{slug}_occupancy_probability")
        assert probability is not None
        assert float(probability.state) == pytest.approx(  # shown in whole percent
            expected.occupancy_probability * 100, abs=0.5
        )
        forecast = hass.states.get(f"sensor.{slug}_occupancy_forecast")
        assert forecast is not None
        assert float(forecast.state) == pytest.approx(expected.next_hour * 100, abs=0.5)
        assert [h["probability"] for h in forecast.attributes["forecast"]] == pytest.approx(
            expected.by_hour(next_hour, 24).tolist(), abs=5e-3
        )
        assert "forecast" not in await recorded_attributes(hass, forecast.entity_id)
        status = hass.states.get(f"sensor.{slug}_model_status")
        assert status is not None
        assert status.state == expected.status
        occupied = hass.states.get(f"binary_sensor.{slug}_occupancy")
        assert occupied is not None
        assert occupied.state == ("on" if expected.in_use else "off")
        accuracy = hass.states.get(f"sensor.{slug}_model_accuracy")
        assert accuracy is not None
        scores = model.unit(room_id).scores
        skill = scores.get("forecast_skill")
        assert float(accuracy.state) == pytest.approx(skill * 100, abs=0.1)
        # The raw scores behind the skill, for those who want to see them.
        raw = {key: value for key, value in accuracy.attributes.items() if "brier" in key}
        assert {"forecast_brier", "forecast_brier_routine", "forecast_brier_persistence"} <= set(
            raw
        )
        assert raw == {key: round(scores[key], 4) for key in raw}

    home = tracker.home_outlook(end)
    someone_home = hass.states.get("binary_sensor.foresight_someone_home")
    assert someone_home is not None
    assert someone_home.state == ("on" if home.someone_home else "off")
    assert someone_home.state == "off"  # Tuesday noon: at work
    arrival = hass.states.get("sensor.foresight_expected_arrival")
    assert arrival is not None
    expected_arrival = home.expected_arrival
    assert expected_arrival is not None
    assert expected_arrival.latest is not None

    def shown(wall_clock: float) -> float:
        """A time as the sensors show it: its quarter hour, never before the minute now."""
        utc = from_wall_clock(wall_clock, zone).timestamp()
        return max(utc - utc % 900, math.floor(NOW.timestamp() / 60) * 60)

    assert datetime.fromisoformat(arrival.state).timestamp() == shown(expected_arrival.time)
    # ... with its likely range.
    for attribute, wall_clock in (
        ("earliest", expected_arrival.earliest),
        ("latest", expected_arrival.latest),
    ):
        assert arrival.attributes[attribute].timestamp() == shown(wall_clock), attribute
    back = datetime.fromisoformat(arrival.state)
    assert NOW + timedelta(hours=2) < back < arrival.attributes["latest"]  # the evening, not now
    departure = hass.states.get("sensor.foresight_expected_departure")
    assert departure is not None
    assert departure.state == "unavailable"  # nobody to leave
    # The action answers for the home as for a room: the engine's hourly chance someone is in.
    result = await _occupancy_forecast(hass, None)
    assert result["room"] is None
    assert result["status"] == hass.states.get("sensor.foresight_model_status").state  # type: ignore[union-attr]
    assert len(result["forecast"]) == 48
    expected_home = tracker.forecast(None, end)
    assert [hour["probability"] for hour in result["forecast"][:24]] == pytest.approx(
        expected_home.by_hour(next_hour, 24).tolist(), abs=5e-3
    )
    assert result["forecast"][0]["probability"] < 0.5  # Tuesday noon: at work

    # Within a second of a state change, the room follows.
    freezer.move_to(NOW + timedelta(seconds=30))
    hass.states.async_set("binary_sensor.lounge_motion", "on", MOTION)
    freezer.move_to(NOW + timedelta(seconds=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    tracker.observe("binary_sensor.lounge_motion", end + 30, 1.0)
    expected = tracker.forecast(rooms["Lounge"], end + 30)
    lounge = hass.states.get("sensor.lounge_occupancy_probability")
    assert lounge is not None
    assert float(lounge.state) == pytest.approx(expected.occupancy_probability * 100, abs=0.5)
    assert expected.occupancy_probability > 0.5

    # The learned routine is on the calendar: the lounge in the evening.
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": "calendar.foresight_learned_routine", "duration": {"days": 2}},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    summaries = [
        event["summary"] for event in response["calendar.foresight_learned_routine"]["events"]
    ]
    assert "Lounge in use" in summaries

    # The action gives the hourly probabilities, as the forecast sensor does; a silent motion
    # sensor is not trusted by either.
    coordinator = entry.runtime_data.coordinator
    silent = SourceProblem("binary_sensor.lounge_motion", "silent", NOW, 1.0, False)
    coordinator.data = replace(coordinator.data, maintenance=MaintenanceReport(problems=[silent]))
    await coordinator.async_publish_occupancy()
    forecast = hass.states.get("sensor.lounge_occupancy_forecast")
    assert forecast is not None
    result = await _occupancy_forecast(hass, "lounge")
    assert result["room"] == "Lounge"
    assert len(result["forecast"]) == 48
    assert [hour["probability"] for hour in result["forecast"][:24]] == pytest.approx(
        [hour["probability"] for hour in forecast.attributes["forecast"]], abs=5e-3
    )


async def test_a_motion_sensor_gone_silent_no_longer_says_its_room_is_empty(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """The lounge's motion sensor dies: in the evenings the room follows its routine, not "off"."""
    zone = ZoneInfo(hass.config.time_zone)
    await _record_then_set_up(hass, freezer, entry, _routine(zone))
    coordinator = entry.runtime_data.coordinator
    lounge = next(r for r, s in entry.subentries.items() if s.title == "Lounge")
    local_now = NOW.astimezone(zone)
    # Alice is back on Tuesday at 17:30 and cooks as always; from then on the lounge's motion
    # sensor never reports.
    back = local_now.replace(hour=17, minute=30)
    thursday_evening = (local_now + 2 * DAY).replace(hour=20, minute=30)
    rng = np.random.default_rng(5)
    tuesday = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    kitchen = _use(rng, tuesday, "kitchen", 18.0, 18.7)
    for day in (tuesday + DAY, tuesday + 2 * DAY):
        kitchen += _use(rng, day, "kitchen", 7.0, 7.6) + _use(rng, day, "kitchen", 18.0, 18.7)
    moment = back
    freezer.move_to(moment)
    hass.states.async_set("person.alice", "home")
    while moment < thursday_evening:
        moment = min(moment + timedelta(hours=1), thursday_evening)
        for when, entity_id, state in kitchen:
            if moment - timedelta(hours=1) <= when < moment:
                freezer.move_to(when)
                hass.states.async_set(entity_id, state, MOTION)
        freezer.move_to(moment)
        await coordinator.async_refresh()
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None
    assert problem.state == "on"
    assert [s["entity_id"] for s in problem.attributes["sources"]] == [
        "binary_sensor.lounge_motion"
    ]

    await coordinator.async_publish_occupancy()
    shown = hass.states.get("sensor.lounge_occupancy_probability")
    assert shown is not None
    untrusting = coordinator.occupancy.room_outlook(
        lounge, thursday_evening, {"binary_sensor.lounge_motion"}
    )
    assert untrusting is not None
    assert float(shown.state) == pytest.approx(untrusting.occupancy_probability * 100, abs=0.5)
    # Read as it last said, "off" since Monday night, the sensor would empty the room Alice
    # sits in every evening: its routine says she is there.
    assert untrusting.occupancy_probability > 0.5
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, "source_silent_binary_sensor.lounge_motion") is not None

    # Mended, it reports again: the problem and its repair clear, and it is read again.
    freezer.move_to(thursday_evening + timedelta(minutes=1))
    hass.states.async_set("binary_sensor.lounge_motion", "on", MOTION)
    await coordinator.async_refresh()
    problem = hass.states.get("binary_sensor.foresight_sensor_problem")
    assert problem is not None
    assert problem.state == "off"
    assert issues.async_get_issue(DOMAIN, "source_silent_binary_sensor.lounge_motion") is None
    await coordinator.async_publish_occupancy()
    mended = coordinator.occupancy.room_outlook(
        lounge, thursday_evening + timedelta(minutes=1), coordinator.untrusted_sources()
    )
    assert coordinator.untrusted_sources() == set()
    assert mended is not None
    assert mended.occupancy_probability > untrusting.occupancy_probability
    shown = hass.states.get("sensor.lounge_occupancy_probability")
    assert shown is not None
    assert float(shown.state) == pytest.approx(mended.occupancy_probability * 100, abs=0.5)


async def _routine_events(
    hass: HomeAssistant, start: datetime, end: datetime
) -> dict[str, CalendarEvent]:
    """The learned-routine calendar's periods between two moments, by uid."""
    calendar = hass.data[CALENDAR_COMPONENT].get_entity("calendar.foresight_learned_routine")
    assert isinstance(calendar, CalendarEntity)
    events = await calendar.async_get_events(hass, start, end)
    assert len({event.uid for event in events}) == len(events)
    return {str(event.uid): event for event in events}


async def test_the_routine_calendar_shows_each_period_whole(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """A period is shown from its learned start to its learned end, whatever the view asks."""
    zone = ZoneInfo(hass.config.time_zone)
    await _record_then_set_up(hass, freezer, entry, _routine(zone))
    tuesday = NOW.astimezone(zone).replace(hour=0, minute=0, second=0)

    # Tuesday evening, Alice home since about half past five: the calendar says so all evening.
    shown = []
    for moment in (tuesday.replace(hour=21, minute=7), tuesday.replace(hour=22, minute=52)):
        freezer.move_to(moment)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        calendar = hass.states.get("calendar.foresight_learned_routine")
        assert calendar is not None
        assert calendar.state == "on"
        shown.append(calendar.attributes)
    assert shown[0] == shown[1]
    assert shown[0]["message"] == "Foresight: someone home"
    likely = shown[0]["description"].removeprefix("Expected from the learned weekly routine (")
    assert 50 <= int(likely.removesuffix(" % likely).")) <= 100
    began = datetime.fromisoformat(shown[0]["start_time"]).replace(tzinfo=zone)
    ends = datetime.fromisoformat(shown[0]["end_time"]).replace(tzinfo=zone)
    assert tuesday + timedelta(hours=17) <= began <= tuesday + timedelta(hours=18)
    assert tuesday + timedelta(hours=31) <= ends <= tuesday + timedelta(hours=33)

    # Tuesday's and Wednesday's day views show the night at home once, whole, with one uid.
    now = dt_util.now()
    night = f"home-{began.isoformat()}"
    on_tuesday = await _routine_events(hass, tuesday, tuesday + DAY)
    on_wednesday = await _routine_events(hass, tuesday + DAY, tuesday + 2 * DAY)
    this_evening = await _routine_events(hass, now, now + timedelta(hours=1))
    assert on_tuesday[night] == on_wednesday[night] == this_evening[night]
    assert (on_tuesday[night].start, on_tuesday[night].end) == (began, ends)
    # The routine says what is expected: Tuesday's morning is over, and last week is not shown.
    assert min(event.end for event in on_tuesday.values()) > now
    assert await _routine_events(hass, tuesday - 7 * DAY, tuesday - 5 * DAY) == {}

    # The week ahead ends with next Tuesday's night whole, as this one, a week later.
    week = await _routine_events(hass, now, now + 7 * DAY)
    assert week[night] == this_evening[night]
    next_night = week[f"home-{(began + 7 * DAY).isoformat()}"]
    assert (next_night.start, next_night.end) == (began + 7 * DAY, ends + 7 * DAY)
    assert max(event.end for event in week.values()) == next_night.end
    # Home all weekend: one period from Friday evening to Monday morning, over the week's end.
    friday, monday = tuesday + 3 * DAY, tuesday + 6 * DAY
    (weekend,) = [
        e
        for e in week.values()
        if e.uid and e.uid.startswith("home-") and friday < e.start < monday
    ]
    assert friday + timedelta(hours=17) <= weekend.start <= friday + timedelta(hours=18)
    assert monday + timedelta(hours=7) <= weekend.end <= monday + timedelta(hours=9)

    # A new model (the nightly training's) is read afresh: here one that expects nobody home.
    occupancy = entry.runtime_data.coordinator.occupancy
    assert occupancy.model is not None
    nobody = replace(occupancy.model.home, routine=WeeklyRoutine(np.zeros(168)))
    occupancy.model = replace(occupancy.model, home=nobody)
    week = await _routine_events(hass, now, now + 7 * DAY)
    assert week and not [uid for uid in week if uid.startswith("home-")]


async def _occupancy_forecast(hass: HomeAssistant, room: str | None) -> dict[str, Any]:
    """The get_forecast action's answer: the room's (None: the home's) next 48 hours."""
    asked = {"kind": "occupancy", "hours": 48} | ({"room": room} if room else {})
    result = await hass.services.async_call(
        DOMAIN,
        "get_forecast",
        asked,
        blocking=True,
        return_response=True,
    )
    assert result is not None
    return dict(result)


async def test_a_room_whose_sensors_all_belong_to_another_room_keeps_the_calendar(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A snug that only shares the kitchen's motion sensor has no routine of its own: the
    calendar still shows the home's and the other rooms' routines."""
    entry = _home(more_rooms=(("Snug", {"motion": ["binary_sensor.kitchen_motion"]}),))
    zone = ZoneInfo(hass.config.time_zone)
    await _record_then_set_up(hass, freezer, entry, _routine(zone))
    calendar = hass.states.get("calendar.foresight_learned_routine")
    assert calendar is not None
    assert calendar.state in ("on", "off")
    summaries = {event.summary for event in (await _routine_events(hass, NOW, NOW + DAY)).values()}
    assert "Lounge in use" in summaries
    assert "Snug in use" not in summaries
    snug_state = hass.states.get("sensor.snug_model_status")
    assert snug_state is not None
    assert snug_state.state == "learning"


async def test_a_trusted_presence_sensor_teaches_its_room(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(NOW)
    hass.states.async_set("binary_sensor.study_motion", "off", MOTION)
    hass.states.async_set("binary_sensor.study_radar", "off", {"device_class": "occupancy"})
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Foresight",
        data={CONF_PEOPLE: []},
        options={CONF_RETENTION_DAYS: 400},
        subentries_data=[
            ConfigSubentryData(
                data={
                    "name": "Study",
                    "motion": ["binary_sensor.study_motion", "binary_sensor.study_radar"],
                    CONF_TRUSTED_PRESENCE: ["binary_sensor.study_radar"],
                },
                subentry_type=SUBENTRY_ROOM,
                title="Study",
                unique_id=None,
            )
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    (room_id,) = entry.subentries
    model = entry.runtime_data.coordinator.occupancy.model
    assert model is not None
    assert model.rooms[room_id].teachers == ["binary_sensor.study_radar"]
    assert [s.source_id for s in model.sources if s.reliable] == ["binary_sensor.study_radar"]


async def test_the_homes_next_use_is_its_expected_arrival(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """While everybody is away, the home's next expected use and the expected arrival are one
    answer to one question: when someone is back."""
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    arrival = hass.states.get("sensor.foresight_expected_arrival")
    next_use = hass.states.get("sensor.foresight_next_expected_use")
    assert arrival is not None
    assert next_use is not None
    assert arrival.state not in ("unknown", "unavailable")
    assert next_use.state == arrival.state


async def test_the_action_and_the_forecast_sensor_give_each_hour_one_chance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """An automation reading get_forecast and a chart of the sensor's list show the same
    chance for the same hour, and one hour ahead is the sensor's state."""
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    forecast = hass.states.get("sensor.kitchen_occupancy_forecast")
    assert forecast is not None
    result = await _occupancy_forecast(hass, "Kitchen")
    listed = {hour["start"]: hour["probability"] for hour in forecast.attributes["forecast"]}
    asked = {hour["start"]: hour["probability"] for hour in result["forecast"][:24]}
    assert list(asked) == list(listed)
    assert list(asked.values()) == pytest.approx(list(listed.values()), abs=5e-3)
    assert result["forecast"][0]["probability"] * 100 == pytest.approx(
        float(forecast.state), abs=0.5
    )


async def _set_up_after_two_days(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Foresight set up on a home whose history holds only its last two days."""
    events = [e for e in _routine(ZoneInfo(hass.config.time_zone)) if e[0] >= NOW - 2 * DAY]
    await _record_then_set_up(hass, freezer, entry, events)


async def test_two_days_of_history_are_still_learning(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """A home Foresight has watched for two days says it is learning, with a low confidence."""
    await _set_up_after_two_days(hass, freezer, entry)
    for name in ("kitchen", "lounge", "foresight"):
        status = hass.states.get(f"sensor.{name}_model_status")
        assert status is not None
        assert status.state == "learning"
        assert status.attributes["confidence"] <= 0.2
        assert status.attributes["days_needed"] == MIN_HISTORY_DAYS
        assert status.attributes["waiting_for"] == "history"


async def test_a_room_that_sees_no_use_says_it_waits_for_use_not_days(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A room with a CO2 sensor alone sees nobody come and go: weeks of history do not make it
    ready, and its status says what it waits for."""
    entry = _home(more_rooms=(("Study", {"co2": ["sensor.study_co2"]}),))
    co2 = {"unit_of_measurement": "ppm", "device_class": "carbon_dioxide"}
    freezer.move_to(NOW - timedelta(days=DAYS + 1))
    hass.states.async_set("sensor.study_co2", "600", co2)
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    study = hass.states.get("sensor.study_model_status")
    assert study is not None
    assert study.state == "learning"
    assert study.attributes["usable_days"] >= study.attributes["days_needed"]
    assert study.attributes["waiting_for"] == "use"
    kitchen = hass.states.get("sensor.kitchen_model_status")
    assert kitchen is not None
    assert kitchen.state != "learning"
    assert "waiting_for" not in kitchen.attributes


async def test_a_room_added_to_a_home_watched_for_weeks_counts_its_own_days(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A room whose sensor was put in an hour ago has no weeks of its own behind it, however
    long the home was watched: its status says it waits for history, not for use."""
    entry = _home(more_rooms=(("Study", {"motion": ["binary_sensor.study_motion"]}),))
    new_sensor = (NOW - timedelta(hours=1), "binary_sensor.study_motion", "off")
    events = sorted([*_routine(ZoneInfo(hass.config.time_zone)), new_sensor])
    await _record_then_set_up(hass, freezer, entry, events)
    study = hass.states.get("sensor.study_model_status")
    assert study is not None
    assert study.state == "learning"
    assert study.attributes["usable_days"] == 0
    assert study.attributes["waiting_for"] == "history"
    kitchen = hass.states.get("sensor.kitchen_model_status")
    assert kitchen is not None
    assert kitchen.attributes["usable_days"] >= kitchen.attributes["days_needed"]
    assert "waiting_for" not in kitchen.attributes


async def test_two_days_of_history_count_fewer_days_than_needed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Under two days from Sunday to Tuesday touch three dates, but are not three days: the
    status says it has fewer days than it needs, as its being still learning means."""
    await _set_up_after_two_days(hass, freezer, entry)
    for name in ("kitchen", "lounge", "foresight"):
        status = hass.states.get(f"sensor.{name}_model_status")
        assert status is not None
        assert status.state == "learning"
        assert 1 <= status.attributes["usable_days"] < status.attributes["days_needed"]


async def test_two_days_of_history_put_no_routine_on_the_calendar(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Two days are no weekly routine: while learning, the calendar shows none, not a guess."""
    await _set_up_after_two_days(hass, freezer, entry)
    assert await _routine_events(hass, NOW, NOW + 7 * DAY) == {}
    calendar = hass.states.get("calendar.foresight_learned_routine")
    assert calendar is not None
    assert calendar.state == "off"


async def test_a_new_tracker_catches_up_off_the_event_loop(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no saved model, the day of readings the live tracker catches up on is replayed in
    the executor, not on the event loop."""
    replayed_on: list[int] = []
    replay = OccupancyTracker.replay

    def _replay(tracker: OccupancyTracker, *args: Any, **kwargs: Any) -> None:
        replayed_on.append(threading.get_ident())
        replay(tracker, *args, **kwargs)

    monkeypatch.setattr(OccupancyTracker, "replay", _replay)
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    assert replayed_on
    assert hass.loop_thread_id not in replayed_on
    probability = hass.states.get("sensor.lounge_occupancy_probability")
    assert probability is not None
    assert probability.state not in ("unknown", "unavailable")


def _occupancy_entities(hass: HomeAssistant) -> dict[str, str]:
    return {
        state.entity_id: state.state
        for state in hass.states.async_all()
        if "occupancy" in state.entity_id or state.entity_id.endswith("_last_trained")
    }


async def _nightly(hass: HomeAssistant, freezer: FrozenDateTimeFactory, night: int) -> None:
    """The nightly training, ``night`` nights after NOW."""
    local = NOW.astimezone(ZoneInfo(hass.config.time_zone)) + timedelta(days=night)
    freezer.move_to(local.replace(hour=TRAIN_AT[0], minute=TRAIN_AT[1], second=TRAIN_AT[2]))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_failed_training_keeps_the_model_and_the_schedule(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    model = entry.runtime_data.coordinator.occupancy.model
    assert model is not None
    before = _occupancy_entities(hass)
    assert "unknown" not in before.values()
    trainings: list[float] = []

    def _train_fails_once(*args: Any) -> OccupancyModel:
        trainings.append(args[-1])
        if len(trainings) == 1:
            raise RuntimeError("the training broke")
        return train_occupancy(*args)

    monkeypatch.setattr(home_occupancy, "train_occupancy", _train_fails_once)
    await _nightly(hass, freezer, 1)
    assert len(trainings) == 1
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(failures) == 1  # logged once, with the exception
    assert entry.runtime_data.coordinator.occupancy.model is model
    after = _occupancy_entities(hass)
    assert after.keys() == before.keys()
    assert "unknown" not in after.values()
    assert after["sensor.foresight_last_trained"] == before["sensor.foresight_last_trained"]

    await _nightly(hass, freezer, 2)  # the next night trains again
    assert len(trainings) == 2


async def test_last_trained_is_the_model_in_use_and_a_rejection_is_shown(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    model = entry.runtime_data.coordinator.occupancy.model
    before = hass.states.get("sensor.foresight_last_trained")
    assert before is not None
    assert before.attributes["last_rejected"] is None

    # Tonight's model scores worse than the one in use.
    monkeypatch.setattr(home_occupancy, "should_replace", lambda *_args: False)
    await _nightly(hass, freezer, 1)
    assert entry.runtime_data.coordinator.occupancy.model is model
    after = hass.states.get("sensor.foresight_last_trained")
    assert after is not None
    assert after.state == before.state
    assert after.attributes["last_rejected"] == dt_util.utcnow()

    # Retrained by hand at any moment: shown to the whole second, as the sensor's own state.
    freezer.tick(timedelta(minutes=3, microseconds=250_000))
    await hass.services.async_call(DOMAIN, "retrain", {}, blocking=True)
    after = hass.states.get("sensor.foresight_last_trained")
    assert after is not None
    assert after.attributes["last_rejected"] == dt_util.utcnow().replace(microsecond=0)


async def test_a_model_learned_from_a_lamps_own_series_is_learned_afresh(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A model saved while the kitchen lamp's occupancy was read from its own series (switched
    by anyone), not from its by-hand one, is not taken back after a restart: it is retrained."""
    lamp = "light.kitchen_lamp"
    entry = _home(kitchen_lights=[lamp])
    hass.states.async_set(lamp, "off")
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    model = entry.runtime_data.coordinator.occupancy.model
    assert model is not None
    assert f"{lamp}#by_hand" in {source.source_id for source in model.sources}
    saved = json.dumps(model.to_dict()).replace(f"{lamp}#by_hand", lamp)
    entry.runtime_data.models.put("occupancy", json.loads(saved))

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "The rooms changed since the occupancy model was trained" in caplog.text
    model = entry.runtime_data.coordinator.occupancy.model
    assert model is not None
    assert f"{lamp}#by_hand" in {source.source_id for source in model.sources}
    assert lamp not in {source.source_id for source in model.sources}


async def test_a_history_locked_while_the_saved_model_catches_up_retries_setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The saved model replays the last day from a history that is locked now: try again later."""
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    assert entry.runtime_data.coordinator.occupancy.model is not None

    monkeypatch.setattr(HistoryStore, "samples", history_locked)
    assert not await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "cannot use its history file" in str(entry.reason)


async def test_readings_during_the_first_training_reach_the_new_tracker(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Someone walks in while the first model is still being trained: the room knows it."""
    trained, go_on = threading.Event(), threading.Event()
    train = home_occupancy.HomeOccupancy.train

    def slow_train(self: home_occupancy.HomeOccupancy, now: datetime) -> Any:
        candidate = train(self, now)
        trained.set()
        go_on.wait(10)
        return candidate

    monkeypatch.setattr(home_occupancy.HomeOccupancy, "train", slow_train)
    setting_up = hass.async_create_task(
        _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    )
    assert await hass.async_add_executor_job(trained.wait, 10)
    freezer.move_to(NOW + timedelta(seconds=20))
    hass.states.async_set("binary_sensor.lounge_motion", "on", MOTION)
    for _ in range(10):  # the reading is observed (the frozen clock never ends a real sleep)
        await asyncio.sleep(0)
    go_on.set()
    await setting_up
    freezer.move_to(NOW + timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    lounge = hass.states.get("sensor.lounge_occupancy_probability")
    assert lounge is not None
    assert float(lounge.state) > 50


# London's clocks go forward at 01:00 GMT (to 02:00 BST) and back at 01:00 GMT (from 02:00 BST).
SPRING_FORWARD = datetime(2026, 3, 29, 1, tzinfo=UTC)
FALL_BACK = datetime(2026, 10, 25, 1, tzinfo=UTC)


async def _set_up_in_london(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, now: datetime
) -> None:
    await hass.config.async_set_time_zone("Europe/London")
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo("Europe/London"), now), now)


async def _kitchen_motion(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, *moments: datetime
) -> None:
    for moment in moments:
        freezer.move_to(moment)
        hass.states.async_set("binary_sensor.kitchen_motion", "on", MOTION)
        freezer.move_to(moment + timedelta(minutes=1))
        hass.states.async_set("binary_sensor.kitchen_motion", "off", MOTION)
    await hass.async_block_till_done()


async def _kitchen_at(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, moment: datetime
) -> float:
    """The kitchen's occupancy probability (%) as published at ``moment``."""
    freezer.move_to(moment)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    probability = hass.states.get("sensor.kitchen_occupancy_probability")
    occupied = hass.states.get("binary_sensor.kitchen_occupancy")
    assert probability is not None
    assert occupied is not None
    assert occupied.state == ("on" if float(probability.state) >= 50 else "off")
    return float(probability.state)


def _assert_forecast_hours_from(hass: HomeAssistant, first: datetime) -> None:
    """The forecast sensor's list: the 24 real hours from ``first``, one hour apart."""
    forecast = hass.states.get("sensor.kitchen_occupancy_forecast")
    assert forecast is not None
    starts = [datetime.fromisoformat(hour["start"]) for hour in forecast.attributes["forecast"]]
    assert [start.timestamp() for start in starts] == [
        (first + timedelta(hours=hour)).timestamp() for hour in range(24)
    ]


async def test_a_room_in_use_stays_in_use_as_the_clocks_go_forward(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Someone in the kitchen just before the clocks go forward is still there six minutes
    later: the skipped hour is not an hour without activity."""
    await _set_up_in_london(hass, freezer, entry, SPRING_FORWARD - timedelta(minutes=20))
    await _kitchen_motion(
        hass, freezer, *(SPRING_FORWARD - timedelta(minutes=m) for m in (15, 10, 5))
    )
    assert await _kitchen_at(hass, freezer, SPRING_FORWARD - timedelta(minutes=3)) > 50
    _assert_forecast_hours_from(hass, SPRING_FORWARD)
    result = await _occupancy_forecast(hass, "kitchen")
    assert [datetime.fromisoformat(hour["start"]) for hour in result["forecast"]] == [
        SPRING_FORWARD + timedelta(hours=hour) for hour in range(48)
    ]
    assert await _kitchen_at(hass, freezer, SPRING_FORWARD + timedelta(minutes=1)) > 50
    _assert_forecast_hours_from(hass, SPRING_FORWARD + timedelta(hours=1))


async def test_each_hour_listed_is_the_clock_hour_it_starts(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """At 22:05, the hour listed from 23:00 is 23:00-24:00 (the lounge is empty from 22:30 every
    day), as is the same hour tomorrow; the state is the next 60 minutes, still in use."""
    zone = ZoneInfo(hass.config.time_zone)
    now = datetime(2026, 10, 20, 22, 5, tzinfo=zone).astimezone(UTC)
    await _record_then_set_up(hass, freezer, entry, _routine(zone, now), now)
    forecast = hass.states.get("sensor.lounge_occupancy_forecast")
    assert forecast is not None
    assert float(forecast.state) > 50
    listed = forecast.attributes["forecast"]
    result = await _occupancy_forecast(hass, "Lounge")
    assert result["forecast"][:24] == listed
    tonight, tomorrow = result["forecast"][0], result["forecast"][24]
    assert datetime.fromisoformat(tonight["start"]) == datetime(2026, 10, 20, 23, tzinfo=zone)
    assert datetime.fromisoformat(tomorrow["start"]) == datetime(2026, 10, 21, 23, tzinfo=zone)
    assert tonight["probability"] < 0.5
    assert tomorrow["probability"] < 0.5


async def test_the_hours_after_the_clocks_go_forward_read_their_own_routine(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Saturday evening before the clocks go forward: Sunday's lounge (14:00-16:00 on weekend
    days) is forecast at those hours on Sunday's clock, not an hour late."""
    await _set_up_in_london(hass, freezer, entry, datetime(2026, 3, 28, 21, 58, tzinfo=UTC))
    london = ZoneInfo("Europe/London")
    forecast = hass.states.get("sensor.lounge_occupancy_forecast")
    assert forecast is not None
    listed = {
        datetime.fromisoformat(hour["start"]).astimezone(london).strftime("%a %H:%M"): hour[
            "probability"
        ]
        for hour in forecast.attributes["forecast"]
    }
    assert listed["Sun 13:00"] < 0.5
    assert listed["Sun 14:00"] > 0.5
    assert listed["Sun 15:00"] > 0.5
    assert listed["Sun 17:00"] < 0.5


async def test_readings_in_the_repeated_hour_count_as_the_clocks_go_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """As the clocks go back, an hour's quiet is an hour's quiet even though the clock reads
    earlier than the last motion, and motion in the repeated hour shows the room in use."""
    await _set_up_in_london(hass, freezer, entry, FALL_BACK - timedelta(minutes=30))
    await _kitchen_motion(hass, freezer, FALL_BACK - timedelta(minutes=20))
    assert await _kitchen_at(hass, freezer, FALL_BACK - timedelta(minutes=17)) > 50
    _assert_forecast_hours_from(hass, FALL_BACK)
    # 01:35 GMT: 55 minutes after the last motion at 01:40 BST.
    assert await _kitchen_at(hass, freezer, FALL_BACK + timedelta(minutes=35)) < 50

    await _kitchen_motion(hass, freezer, *(FALL_BACK + timedelta(minutes=m) for m in (40, 45)))
    assert await _kitchen_at(hass, freezer, FALL_BACK + timedelta(minutes=48)) > 50
    _assert_forecast_hours_from(hass, FALL_BACK + timedelta(hours=1))


def _foresight_writes(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, list[str]]:
    """Every state written by Foresight's entities from now on, by translation key: what
    changed under "changed", what was written again unchanged under "unchanged"."""
    registry = er.async_get(hass)
    keys = {
        registered.entity_id: registered.translation_key or registered.entity_id
        for registered in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    writes: dict[str, list[str]] = {"changed": [], "unchanged": []}

    @callback
    def _ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in keys

    for kind, event_type in (("changed", EVENT_STATE_CHANGED), ("unchanged", EVENT_STATE_REPORTED)):

        @callback
        def _written(event: Event[Any], kind: str = kind) -> None:
            writes[kind].append(f"{keys[event.data['entity_id']]} {event.data['entity_id']}")

        hass.bus.async_listen(event_type, _written, event_filter=_ours)
    return writes


OCCUPANCY_KEYS = {
    "occupancy_probability",
    "occupancy_forecast",
    "next_use",
    "model_status",
    "model_accuracy",
    "occupancy",
    "someone_home",
    "expected_arrival",
    "expected_departure",
}


async def test_a_quiet_home_writes_only_what_changed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Occupancy is published every minute, but only what it changes is written."""
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    writes = _foresight_writes(hass, entry)

    # Ten quiet minutes: an expected time moving by seconds, or a probability by a tenth of
    # a percent, is no change. Only the hourly forecasts, sliding with the clock, move on.
    for _ in range(10):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    changes = Counter(
        write for write in writes["changed"] if not write.startswith("occupancy_forecast ")
    )
    assert all(count <= 2 for count in changes.values()), changes

    # A publish writes only the entities that show occupancy, and only those it changed.
    freezer.tick(timedelta(seconds=20))
    # A refresh writes them all: the timers those seconds made due (a refresh asked for among
    # them) run now, and what they start ends, before anything is counted.
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    writes["changed"].clear()
    writes["unchanged"].clear()
    # (Read as the publish returns, every room written; a refresh may follow in the loop.)
    coordinator = entry.runtime_data.coordinator
    await coordinator.async_publish_occupancy()
    written = {write.split()[0] for write in writes["changed"] + writes["unchanged"]}
    assert written <= OCCUPANCY_KEYS
    await hass.async_block_till_done()
    writes["changed"].clear()
    writes["unchanged"].clear()
    await coordinator.async_publish_occupancy()
    assert writes == {"changed": [], "unchanged": []}
    await hass.async_block_till_done()

    # A motion changes the lounge's occupancy: its entities follow within a second.
    hass.states.async_set("binary_sensor.lounge_motion", "on", MOTION)
    freezer.tick(timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert "occupancy binary_sensor.lounge_occupancy" in writes["changed"]
    lounge = hass.states.get("binary_sensor.lounge_occupancy")
    assert lounge is not None
    assert lounge.state == "on"


@pytest.mark.parametrize(
    "shown",
    [None, home_occupancy.OccupancyOutlook({}, None)],
    ids=["nothing predicted yet", "no room shown"],
)
async def test_each_room_is_published_in_a_step_of_its_own(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    shown: home_occupancy.OccupancyOutlook | None,
) -> None:
    """A big home's rooms never hold Home Assistant's event loop together: the minute's
    publish predicts and shows one room per step of the loop, the home last, the first
    prediction after a start or a training too."""
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    coordinator = entry.runtime_data.coordinator
    published: list[set[str | None]] = []
    coordinator.async_add_occupancy_listener(lambda scopes: published.append(set(scopes)))
    # Nothing shown for any room yet: each one's prediction is a change.
    coordinator.data = replace(coordinator.data, occupancy=shown)

    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert len(coordinator.occupancy.scopes()) > 1
    assert published == [{scope} for scope in coordinator.occupancy.scopes()]
    lounge = hass.states.get("sensor.lounge_occupancy_probability")
    assert lounge is not None
    assert lounge.state not in ("unknown", "unavailable")


def test_training_holds_one_rooms_readings_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big home's history is not held whole while it trains: a room reads its own sources,
    the home keeps only their signs of activity. The model is the one the whole history learns."""
    zone = ZoneInfo("Europe/Paris")
    sources = [
        Source(f"{kind}.room_{r}_{kind}", kind, f"room_{r}")
        for r in range(4)
        for kind in (Kind.MOTION, Kind.TEMPERATURE)
    ]
    rng = np.random.default_rng(3)
    end = NOW.timestamp()
    samples = []
    for source in sources:
        if source.kind is Kind.MOTION:
            times = np.sort(rng.uniform(end - 6 * 86400, end, 400))
            values = np.arange(times.size) % 2.0
        else:
            times = np.arange(end - 6 * 86400, end, 600.0)
            values = np.round(20 + rng.normal(0, 0.5, times.size), 1)
        samples += [Sample(source.key, t, v) for t, v in zip(times, values, strict=True)]
    store = HistoryStore(tmp_path / "history.db")
    store.open()
    store.write({source.key: str(source.kind) for source in sources}, samples)
    occupancy = home_occupancy.HomeOccupancy(store, zone, sources)
    whole = dict(occupancy.history(NOW, home_occupancy.TRAIN_DAYS))
    first = min(float(series.times[0]) for series in whole.values())
    expected = train_occupancy(
        [OccupancySource(s.key, str(s.kind), s.room) for s in sources],
        whole,
        first,
        wall_clock_now(NOW, zone),
    )

    held: list[weakref.ref[npt.NDArray[np.float64]]] = []
    most_held = 0
    read = SourceSeries.of

    def _read(*args: Any) -> SourceSeries:
        nonlocal most_held
        series = read(*args)
        held.append(weakref.ref(series.times))
        most_held = max(most_held, sum(ref() is not None for ref in held))
        return series

    del whole
    monkeypatch.setattr(SourceSeries, "of", _read)
    candidate = occupancy.train(NOW)
    store.close()

    assert most_held <= 4  # two rooms' (the one learning, the one before) of the eight series
    assert candidate.model.to_dict() == expected.to_dict()


async def test_an_expected_time_is_never_shown_in_the_past(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Shown to its quarter hour, a use due within minutes would read "10 minutes ago": it is
    shown due now instead, at the minute now is in. A room in use shows the quarter hour under
    way, which does not move on every minute."""
    zone = ZoneInfo(hass.config.time_zone)
    await _record_then_set_up(hass, freezer, entry, _routine(zone))
    occupancy = entry.runtime_data.coordinator.occupancy
    clamped = 0
    for minutes in range(0, 24 * 60, 7):
        now = NOW + timedelta(minutes=minutes, seconds=13)
        outlook = occupancy.outlook(now, ())
        assert outlook is not None
        assert outlook.presence is not None
        presence = outlook.presence
        shown = [room.next_use for room in outlook.rooms.values() if not room.in_use]
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0)
        assert all(room.next_use == quarter for room in outlook.rooms.values() if room.in_use)
        for expected in (presence.expected_arrival, presence.expected_departure):
            shown += list(expected or ())
        minute = now.replace(second=0)
        for time in filter(None, shown):
            assert time >= minute, (now, time)
        clamped += minute in shown
    assert clamped  # the sweep met uses due within a quarter hour
