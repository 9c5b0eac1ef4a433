"""Smart lighting on a real lamp: on at dusk with rising probability, off after the hold time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
import logging

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_capture_events,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.foresight.const import DOMAIN, SUBENTRY_ROOM
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_CALL_SERVICE, EVENT_LOGBOOK_ENTRY
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.helpers.sun import get_astral_event_next
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import HOME_DATA, LIVING_ROOM, load_entry, set_home_states
from .controllers_helpers import Predicted, async_setup_lamp, predict, tick, turn

SWITCH = "switch.living_room_smart_lighting"
LAMP = "light.living_lamp"


def _lamp(hass: HomeAssistant) -> str:
    state = hass.states.get(LAMP)
    assert state is not None
    return state.state


async def test_lights_follow_the_room_in_the_dark(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sunset = get_astral_event_next(hass, "sunset", datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    start = sunset - timedelta(minutes=30)
    freezer.move_to(start)
    set_home_states(hass)
    await async_setup_lamp(hass)
    await load_entry(hass, home_entry)
    predicted = Predicted(probability=0.8, in_use=True)
    await predict(monkeypatch, home_entry, predicted)

    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _lamp(hass) == "off"  # the room is used, but it is still light

    # At dusk: on, at the room's brightness, in the lamp's logbook as Foresight's doing.
    logbook = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    caplog.set_level(logging.DEBUG, logger="custom_components.foresight.controllers")
    await tick(hass, freezer, sunset + timedelta(minutes=1))
    assert _lamp(hass) == "on"
    # ... and in Foresight's debug log, for whoever turns it on.
    assert (
        "smart_lighting: light.turn_on {'entity_id': ['light.living_lamp'], 'brightness_pct': 80}"
        " (Living room in use (80 %) and dark: lights on)"
    ) in caplog.text
    lamp = hass.states.get(LAMP)
    assert lamp is not None
    assert [
        (entry.data.get("entity_id"), entry.context.id, entry.data["message"]) for entry in logbook
    ] == [(LAMP, lamp.context.id, "Living room in use (80 %) and dark: lights on")]
    assert hass.states.get(LAMP).attributes["brightness"] == 204  # type: ignore[union-attr]
    switch = hass.states.get(SWITCH)
    assert switch is not None and switch.attributes["switched_on"] == [LAMP]

    # Empty: off once the probability has stayed low for the hold time (ten minutes).
    predicted.probability, predicted.in_use = 0.1, False
    low_from = sunset + timedelta(minutes=2)
    await tick(hass, freezer, low_from)
    await tick(hass, freezer, low_from + timedelta(minutes=9))
    assert _lamp(hass) == "on"
    await tick(hass, freezer, low_from + timedelta(minutes=10, seconds=30))
    assert _lamp(hass) == "off"
    assert logbook[-1].data["message"] == "Living room empty for 10 min: lights off"

    # A lamp switched on by hand is left alone while the room is empty.
    await hass.services.async_call("light", "turn_on", {"entity_id": LAMP}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(SWITCH).attributes["manual_lights"] == [LAMP]  # type: ignore[union-attr]
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await tick(hass, freezer, low_from + timedelta(minutes=30))
    assert _lamp(hass) == "on"
    assert not calls
    # ... and after the room has been empty it is Foresight's again.
    assert hass.states.get(SWITCH).attributes["manual_lights"] == []  # type: ignore[union-attr]

    # A lamp switched off by hand while the room is in use stays off.
    predicted.probability, predicted.in_use = 0.9, True
    await hass.services.async_call("light", "turn_off", {"entity_id": LAMP}, blocking=True)
    await tick(hass, freezer, low_from + timedelta(minutes=31))
    assert _lamp(hass) == "off"
    predicted.probability = 0.5
    await tick(hass, freezer, low_from + timedelta(minutes=32))
    predicted.probability = 0.9
    await tick(hass, freezer, low_from + timedelta(minutes=33))
    assert _lamp(hass) == "off"

    # Switched off, the controller does nothing more.
    await hass.services.async_call("switch", "turn_off", {"entity_id": SWITCH}, blocking=True)
    calls.clear()
    await tick(hass, freezer, low_from + timedelta(minutes=50))
    assert not calls

    # One of the home's automations (a context with a parent) switches the lamp on.
    automation = Context(parent_id=Context().id)
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": LAMP}, blocking=True, context=automation
    )

    # What the room's occupancy learns from the lamp: a person's switching only.
    runtime = home_entry.runtime_data
    await runtime.observer.async_flush(dt_util.utcnow().timestamp())
    assert f"{LAMP}#by_hand" in runtime.coordinator.occupancy.keys
    by_hand = await hass.async_add_executor_job(runtime.store.samples, f"{LAMP}#by_hand")
    assert [value for _, value in by_hand] == [0.0, None, 1.0, 0.0, None]
    # The lamp's own series holds what it really did, for presence simulation to learn from
    # (switched off by Foresight and on by hand in the same instant: one reading, on).
    kept = await hass.async_add_executor_job(runtime.store.samples, LAMP)
    assert [value for _, value in kept] == [0.0, 1.0, 1.0, 0.0, 1.0]


async def test_an_illuminance_sensor_says_when_it_is_dark(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Foresight",
        data=HOME_DATA,
        subentries_data=[
            ConfigSubentryData(
                data={**LIVING_ROOM, "illuminance": ["sensor.living_lux"]},
                subentry_type=SUBENTRY_ROOM,
                title="Living room",
                unique_id="living_room",
            )
        ],
    )
    noon = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # midday, the sun is up
    freezer.move_to(noon)
    set_home_states(hass)
    hass.states.async_set("sensor.living_lux", "400", {"unit_of_measurement": "lx"})
    await async_setup_lamp(hass)
    await load_entry(hass, home_entry)
    await predict(monkeypatch, home_entry, Predicted(probability=0.8, in_use=True))
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await tick(hass, freezer, noon + timedelta(minutes=1))
    assert _lamp(hass) == "off"
    hass.states.async_set("sensor.living_lux", "20", {"unit_of_measurement": "lx"})
    await tick(hass, freezer, noon + timedelta(minutes=2))
    assert _lamp(hass) == "on"
    # Its threshold is a setting only here: without a sensor, the sun says when it is dark.
    threshold = hass.states.get("number.living_room_darkness_threshold")
    assert threshold is not None and threshold.state == "50.0"


async def _room_in_use_before_dusk(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[datetime, Predicted]:
    """Half an hour before sunset, the room in use and smart lighting switched on; the lamp off.

    Returns the sunset and the model's prediction (change it to move the room).
    """
    sunset = get_astral_event_next(hass, "sunset", datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    freezer.move_to(sunset - timedelta(minutes=30))
    set_home_states(hass)
    await async_setup_lamp(hass)
    await load_entry(hass, home_entry)
    predicted = Predicted(probability=0.8, in_use=True)
    await predict(monkeypatch, home_entry, predicted)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    return sunset, predicted


async def _lamp_on_at_dusk(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[datetime, Predicted]:
    """The room used at dusk: Foresight switches the lamp on. Returns the time and the model."""
    sunset, predicted = await _room_in_use_before_dusk(hass, freezer, home_entry, monkeypatch)
    await tick(hass, freezer, sunset + timedelta(minutes=1))
    assert _lamp(hass) == "on"
    return sunset, predicted


async def test_the_lamps_logbook_says_foresight_switched_it_and_why(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
) -> None:
    """What a user opening the lamp's logbook reads, from the recorded events."""
    assert await async_setup_component(hass, "logbook", {})
    sunset, _ = await _lamp_on_at_dusk(hass, freezer, home_entry, monkeypatch)
    await async_wait_recording_done(hass)
    # Signed in at the test's frozen time, as the user opening the logbook then.
    refresh_token = await hass.auth.async_create_refresh_token(hass_admin_user, CLIENT_ID)
    client = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh_token))
    await client.send_json(
        {
            "id": 1,
            "type": "logbook/get_events",
            "start_time": (sunset - timedelta(hours=1)).isoformat(),
            "end_time": (sunset + timedelta(hours=1)).isoformat(),
            "entity_ids": [LAMP],
        }
    )
    response = await client.receive_json()
    assert response["success"]
    assert [
        (entry.get("name"), entry.get("message") or entry.get("state"), entry["when"])
        for entry in response["result"]
    ] == [
        ("Foresight", "Living room in use (80 %) and dark: lights on", sunset.timestamp() + 60),
        (None, "on", sunset.timestamp() + 60),
    ]


async def test_unloading_foresight_stops_the_lighting_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The room in use before dusk and Foresight unloaded: nothing switches the lamp on."""
    sunset, _ = await _room_in_use_before_dusk(hass, freezer, home_entry, monkeypatch)
    await tick(hass, freezer, sunset - timedelta(minutes=20))

    assert await hass.config_entries.async_unload(home_entry.entry_id)
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    for minutes in (1, 15):
        await tick(hass, freezer, sunset + timedelta(minutes=minutes))
    assert not calls
    assert _lamp(hass) == "off"


async def test_a_lamp_back_from_unavailable_is_still_foresights(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sunset, predicted = await _lamp_on_at_dusk(hass, freezer, home_entry, monkeypatch)
    for offline in ("turn_on", "turn_off"):
        await hass.services.async_call(
            "input_boolean", offline, {"entity_id": "input_boolean.lamp_offline"}, blocking=True
        )
        await hass.async_block_till_done()
    assert _lamp(hass) == "on"
    switch = hass.states.get(SWITCH)
    assert switch is not None
    assert switch.attributes["manual_lights"] == []
    assert switch.attributes["switched_on"] == [LAMP]

    predicted.probability, predicted.in_use = 0.1, False
    await tick(hass, freezer, sunset + timedelta(minutes=2))
    await tick(hass, freezer, sunset + timedelta(minutes=13))
    assert _lamp(hass) == "off"


async def test_a_lamp_that_failed_to_switch_on_is_tried_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sunset = get_astral_event_next(hass, "sunset", datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    freezer.move_to(sunset - timedelta(minutes=30))
    set_home_states(hass)
    await async_setup_lamp(hass)
    await turn(hass, "input_boolean", "turn_on", "input_boolean.lamp_broken")
    await load_entry(hass, home_entry)
    await predict(monkeypatch, home_entry, Predicted(probability=0.8, in_use=True))
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await tick(hass, freezer, sunset + timedelta(minutes=1))
    assert _lamp(hass) == "off"

    await turn(hass, "input_boolean", "turn_off", "input_boolean.lamp_broken")
    await tick(hass, freezer, sunset + timedelta(minutes=2))
    assert _lamp(hass) == "on"


async def test_a_lamp_unavailable_when_the_room_empties_is_switched_off_once_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sunset, predicted = await _lamp_on_at_dusk(hass, freezer, home_entry, monkeypatch)
    predicted.probability, predicted.in_use = 0.1, False
    await tick(hass, freezer, sunset + timedelta(minutes=2))
    await turn(hass, "input_boolean", "turn_on", "input_boolean.lamp_offline")
    await tick(hass, freezer, sunset + timedelta(minutes=13))
    switch = hass.states.get(SWITCH)
    assert switch is not None
    assert switch.attributes["switched_on"] == [LAMP]

    # Back on the network, still on: the room is empty, so off it goes.
    await turn(hass, "input_boolean", "turn_off", "input_boolean.lamp_offline")
    await tick(hass, freezer, sunset + timedelta(minutes=14))
    assert _lamp(hass) == "off"


async def test_a_lamp_switched_on_is_switched_off_after_a_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sunset, predicted = await _lamp_on_at_dusk(hass, freezer, home_entry, monkeypatch)
    # Any change of the options reloads the entry.
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await predict(monkeypatch, home_entry, predicted)
    switch = hass.states.get(SWITCH)
    assert switch is not None and switch.state == "on"
    assert switch.attributes["switched_on"] == [LAMP]

    predicted.probability, predicted.in_use = 0.1, False
    await tick(hass, freezer, sunset + timedelta(minutes=2))
    await tick(hass, freezer, sunset + timedelta(minutes=13))
    assert _lamp(hass) == "off"


async def test_a_lamp_switched_on_is_remembered_across_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock_restore_cache_with_extra_data(
        hass, [(State(SWITCH, "on"), {"switched_on": [LAMP], "manual": []})]
    )
    start = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)  # night
    freezer.move_to(start)
    set_home_states(hass)
    await async_setup_lamp(hass)
    await hass.services.async_call("light", "turn_on", {"entity_id": LAMP}, blocking=True)
    await load_entry(hass, home_entry)
    await predict(monkeypatch, home_entry, Predicted(probability=0.1))
    await tick(hass, freezer, start + timedelta(minutes=1))
    await tick(hass, freezer, start + timedelta(minutes=12))
    assert _lamp(hass) == "off"


async def test_a_lamp_found_on_after_a_reload_is_nobodys_doing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Who switched a lamp is known only from the switching: a restart or a reload loses it."""
    start = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    freezer.move_to(start)
    set_home_states(hass)
    await async_setup_lamp(hass)
    await load_entry(hass, home_entry)
    freezer.move_to(start + timedelta(minutes=5))
    presence_simulation = Context()
    home_entry.runtime_data.observer.note_own_action(presence_simulation, imitation=True)
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": LAMP}, blocking=True, context=presence_simulation
    )
    freezer.move_to(start + timedelta(minutes=10))
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    runtime = home_entry.runtime_data
    await runtime.observer.async_flush(dt_util.utcnow().timestamp())
    # Presence simulation learns no evening of its own: the lamp is never seen on.
    kept = await hass.async_add_executor_job(runtime.store.samples, LAMP)
    assert 1.0 not in [value for _, value in kept]
    # The room's occupancy sees no switching by a person: no change between two known states.
    kept = await hass.async_add_executor_job(runtime.store.samples, f"{LAMP}#by_hand")
    values = [value for _, value in kept]
    assert not [(a, b) for a, b in pairwise(values) if None not in (a, b) and a != b], values
