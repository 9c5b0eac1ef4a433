"""Unexpected activity: motion or doors while everybody is away, not arrivals, not pets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    mock_restore_cache,
)

from custom_components.foresight.const import CONF_PEOPLE, CONF_PET_PRONE
from homeassistant.core import CoreState, HomeAssistant, State
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import entry_like, set_home_states
from .controllers_helpers import Predicted, predict, tick

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SENSOR = "binary_sensor.foresight_unexpected_activity"
SWITCH = "switch.foresight_unexpected_activity_alerts"
EVENT = "foresight_unexpected_activity"


async def _setup(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry, *, on: bool = True
) -> None:
    """The test home with Alice away, and the alerts switched on (they are off by default)."""
    freezer.move_to(START)
    set_home_states(hass)
    hass.states.async_set("person.alice", "not_home")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    if on:
        assert hass.states.get(SWITCH).state == "off"  # type: ignore[union-attr]
        await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)


async def _door_then_arrival(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, who: str, at: datetime
) -> None:
    """The door opens, and a minute later ``who`` (a person, a phone) says they are home."""
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "door"})
    await tick(hass, freezer, at + timedelta(minutes=1))
    hass.states.async_set(who, "home")
    await tick(hass, freezer, at + timedelta(minutes=10))


async def test_motion_while_away_is_unexpected(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    assert hass.states.get(SENSOR).state == "off"  # type: ignore[union-attr]

    freezer.move_to(START + timedelta(seconds=0.25))
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert not events  # a moment for an arrival to show up
    await tick(hass, freezer, START + timedelta(minutes=4))
    assert len(events) == 1
    assert events[0].data["entity_id"] == "binary_sensor.living_motion"
    assert events[0].data["room"] == "Living room"
    sensor = hass.states.get(SENSOR)
    assert sensor is not None and sensor.state == "on"
    assert sensor.attributes["device_class"] == "problem"
    assert sensor.attributes["entity_id"] == "binary_sensor.living_motion"
    # In the home's time, to the whole second, as every time Foresight shows.
    assert sensor.attributes["when"] == dt_util.as_local(START).isoformat()
    # The event says what the sensor shows, under the same names.
    assert events[0].data == {
        key: sensor.attributes[key] for key in ("entity_id", "sensor", "room", "when")
    }

    # Someone home: cleared.
    hass.states.async_set("person.alice", "home")
    await hass.async_block_till_done()
    assert hass.states.get(SENSOR).state == "off"  # type: ignore[union-attr]

    # Switched off: nothing is reported.
    await hass.services.async_call("switch", "turn_off", {"entity_id": SWITCH}, blocking=True)
    hass.states.async_set("person.alice", "not_home")
    hass.states.async_set("binary_sensor.living_motion", "off", {"device_class": "motion"})
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=20))
    assert len(events) == 1
    assert hass.states.get(SENSOR).state == "off"  # type: ignore[union-attr]

    # Unloading stops it.
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    hass.states.async_set("person.alice", "not_home")
    hass.states.async_set("binary_sensor.living_motion", "off", {"device_class": "motion"})
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=30))
    assert len(events) == 1


async def test_a_person_arriving_is_not_unexpected(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    await _door_then_arrival(hass, freezer, "person.alice", START)
    assert not events
    assert hass.states.get(SENSOR).state == "off"  # type: ignore[union-attr]

    # She leaves; the door closing behind her, and opening again just after, is still her.
    hass.states.async_set("person.alice", "not_home")
    await tick(hass, freezer, START + timedelta(minutes=11))
    hass.states.async_set("binary_sensor.living_window", "off", {"device_class": "door"})
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "door"})
    await tick(hass, freezer, START + timedelta(minutes=20))
    assert not events


async def test_each_activity_waits_its_own_minutes_for_an_arrival(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Motion long before Alice's phone says she is home is reported; the door she opened
    two minutes before it does is hers, even though the motion's wait ends first."""
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=2, seconds=30))
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "door"})
    await tick(hass, freezer, START + timedelta(minutes=3, seconds=30))
    hass.states.async_set("person.alice", "home")
    await tick(hass, freezer, START + timedelta(minutes=10))
    assert [event.data["entity_id"] for event in events] == ["binary_sensor.living_motion"]


async def test_a_phone_first_seen_after_setup_is_an_arrival(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("device_tracker.guest_phone", "not_home")  # a new phone
    await tick(hass, freezer, START + timedelta(minutes=30))
    await _door_then_arrival(
        hass, freezer, "device_tracker.guest_phone", START + timedelta(minutes=30)
    )
    assert not events
    assert hass.states.get(SENSOR).state == "off"  # type: ignore[union-attr]


async def test_a_pet_prone_sensor_is_ignored(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    pet_home = entry_like(home_entry, options={CONF_PET_PRONE: ["binary_sensor.living_motion"]})
    await _setup(hass, freezer, pet_home)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=10))
    assert not events
    # The window is not pet-prone.
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "window"})
    await tick(hass, freezer, START + timedelta(minutes=20))
    assert [event.data["entity_id"] for event in events] == ["binary_sensor.living_window"]


async def test_without_people_the_predicted_empty_home_counts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_people = entry_like(home_entry, data={CONF_PEOPLE: []})
    await _setup(hass, freezer, no_people)
    predicted = Predicted(someone_home=True)
    await predict(monkeypatch, no_people, predicted)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=5))
    assert not events  # the home is predicted occupied
    hass.states.async_set("binary_sensor.living_motion", "off", {"device_class": "motion"})
    predicted.someone_home = False  # predicted empty, 98 % sure
    await no_people.runtime_data.coordinator.async_publish_occupancy()
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=10))
    assert [event.data["entity_id"] for event in events] == ["binary_sensor.living_motion"]


async def _reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Foresight reloads itself, as when a new battery appears or a setting changes."""
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_activity_waiting_for_an_arrival_survives_a_reload(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Motion while away, then a reload before its minutes are up: still reported, and what
    was already reported stays on."""
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=1))
    await _reload(hass, home_entry)
    await tick(hass, freezer, START + timedelta(minutes=5))
    assert [event.data["entity_id"] for event in events] == ["binary_sensor.living_motion"]

    await _reload(hass, home_entry)
    sensor = hass.states.get(SENSOR)
    assert sensor is not None and sensor.state == "on"
    assert sensor.attributes["entity_id"] == "binary_sensor.living_motion"


async def test_activity_seen_before_a_restart_reaches_the_automations(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Motion while away, then Home Assistant restarts before its minutes are up: the event
    waits for Home Assistant to have started, when automations listen, not lost before."""
    await _setup(hass, freezer, home_entry)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    await hass.async_block_till_done()

    freezer.move_to(START + timedelta(minutes=10))  # down for longer than its wait
    hass.set_state(CoreState.not_running)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "triggers": [{"trigger": "event", "event_type": EVENT}],
                "actions": [
                    {"event": "seen", "event_data": {"room": "{{ trigger.event.data.room }}"}}
                ],
            }
        },
    )
    seen = async_capture_events(hass, "seen")
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await tick(hass, freezer, START + timedelta(minutes=11))  # its wait is long over
    await hass.async_start()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [event.data for event in seen] == [{"room": "Living room"}]


async def test_someone_who_just_left_is_still_known_after_a_reload(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Bob leaves, Foresight reloads a moment later, and the door closing behind him is his."""
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    for state, minutes in (("home", 10.0), ("not_home", 10.5)):
        hass.states.async_set("device_tracker.bob_phone", state)
        await tick(hass, freezer, START + timedelta(minutes=minutes))
    await _reload(hass, home_entry)
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "door"})
    await tick(hass, freezer, START + timedelta(minutes=20))
    assert not events


async def test_what_was_seen_survives_a_restart(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    seen = {"entity_id": "binary_sensor.living_window", "sensor": "Living window"}
    mock_restore_cache(
        hass,
        [
            State(SENSOR, "on", {**seen, "room": "Living room", "when": START.isoformat()}),
            State(SWITCH, "on"),
        ],
    )
    await _setup(hass, freezer, home_entry, on=False)
    sensor = hass.states.get(SENSOR)
    assert sensor is not None and sensor.state == "on"
    assert sensor.attributes["entity_id"] == "binary_sensor.living_window"
    assert datetime.fromisoformat(sensor.attributes["when"]) == START


async def test_a_move_between_other_zones_is_no_arrival(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=1))
    hass.states.async_set("person.alice", "work")  # from away to the office
    hass.states.async_set("device_tracker.alice_phone", "unavailable")
    hass.states.async_set("device_tracker.alice_phone", "not_home")  # a phone flapping
    await tick(hass, freezer, START + timedelta(minutes=5))
    assert [event.data["entity_id"] for event in events] == ["binary_sensor.living_motion"]


async def test_a_sensor_back_from_unavailable_has_seen_nobody(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    await _setup(hass, freezer, home_entry)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("binary_sensor.living_motion", "unavailable")
    await tick(hass, freezer, START + timedelta(minutes=1))
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=10))
    assert not events


async def test_an_intruder_making_the_home_look_used_is_still_reported(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_people = entry_like(home_entry, data={CONF_PEOPLE: []})
    await _setup(hass, freezer, no_people)
    predicted = Predicted(someone_home=False)  # predicted empty, 98 % sure
    await predict(monkeypatch, no_people, predicted)
    events = async_capture_events(hass, EVENT)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    # The occupancy model follows the motion: the home looks used a moment later.
    predicted.someone_home = True
    await no_people.runtime_data.coordinator.async_publish_occupancy()
    await tick(hass, freezer, START + timedelta(minutes=5))
    assert [event.data["entity_id"] for event in events] == ["binary_sensor.living_motion"]
    # Still on while the activity itself may be what makes the home look used...
    await tick(hass, freezer, START + timedelta(minutes=50))
    assert hass.states.get(SENSOR).state == "on"  # type: ignore[union-attr]
    # ... and over once the home is still in use an hour on: without people, someone is home.
    await tick(hass, freezer, START + timedelta(minutes=61))
    assert hass.states.get(SENSOR).state == "off"  # type: ignore[union-attr]
