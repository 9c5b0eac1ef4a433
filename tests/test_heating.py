"""Smart heating on a real thermostat: pre-heat, eco, manual set points, windows and limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
import math
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    mock_restore_cache,
    mock_restore_cache_with_extra_data,
)

from custom_components.foresight.const import KEEP_CHOICES_AFTER_S
from custom_components.foresight.controllers.heating import WINDOW_OPEN_FOR
from custom_components.foresight.home_occupancy import HomeOccupancy
from homeassistant.const import EVENT_CALL_SERVICE, EVENT_LOGBOOK_ENTRY
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.restore_state import STORAGE_KEY
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_system import US_CUSTOMARY_SYSTEM

from .conftest import set_home_states
from .controllers_helpers import (
    TEMPERATURE,
    Predicted,
    async_setup_template_thermostat,
    async_setup_thermostat,
    predict,
    predict_with,
    simulate_heated_room,
    tick,
    turn,
)

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SWITCH = "switch.living_room_smart_heating"
MODE = "input_select.living_mode"
# The simulated room: it gains 4 °C/h at full heating and loses 10 % of its lead over 5 °C
# outside each hour.
GAIN, LOSS, OUTDOOR = 4.0, 0.1, 5.0


async def _learn_warm_up(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Three days of the thermostat heating mornings and evenings, then training."""
    simulate_heated_room(
        hass,
        freezer,
        START - timedelta(days=3),
        days=3,
        heating_hours=(14, 15, 1, 2, 3),
        gain=GAIN,
        loss=LOSS,
        outdoor=OUTDOOR,
    )
    freezer.move_to(START)
    await hass.services.async_call("foresight", "retrain", {}, blocking=True)


async def _setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    predicted: Predicted,
    **template: Any,
) -> str:
    """The home with a learned warm-up; ``template``: a template thermostat built so."""
    freezer.move_to(START - timedelta(days=3))
    set_home_states(hass)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await _learn_warm_up(hass, freezer)
    hass.states.async_set("sensor.living_temperature", "18.0", TEMPERATURE)
    if template:
        mode = template.pop("mode", "heat_cool" if template.get("ranged") else "heat")
        limits = {"min_temperature": 7, "max_temperature": 25}
        await async_setup_template_thermostat(hass, **{**limits, **template})
        await turn(hass, "input_select", "select_option", MODE, option=mode)
    else:
        await async_setup_thermostat(hass, min_temp=7, max_temp=25, target_temp=19)
    return await predict(monkeypatch, entry, predicted)


async def test_the_logbook_says_why_in_the_home_s_language(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hass.config.language = "de"
    await _setup(
        hass, freezer, home_entry, monkeypatch, Predicted(next_use=START + timedelta(hours=3))
    )
    # Named in German too.
    eco, switch = "number.living_room_eco_temperatur", "switch.living_room_intelligente_heizung"
    await turn(hass, "number", "set_value", eco, value=17.5)
    logbook = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [entry.data["message"] for entry in logbook] == [
        "Living room auf 17,5 °C gestellt: Raum nicht belegt"
    ]
    # A refusal shows its temperatures as the language writes them too.
    with pytest.raises(ServiceValidationError) as refused:
        await turn(hass, "number", "set_value", "number.living_room_komforttemperatur", value=17)
    assert refused.value.translation_placeholders == {"lower": "17,5 °C", "upper": "17 °C"}


def _setpoint(hass: HomeAssistant) -> float:
    state = hass.states.get("climate.living")
    assert state is not None
    return float(state.attributes["temperature"])


async def test_heating_follows_the_predicted_use(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    next_use = START + timedelta(hours=3)
    predicted = Predicted(next_use=next_use)
    room = await _setup(hass, freezer, home_entry, monkeypatch, predicted)
    switch = hass.states.get(SWITCH)
    assert switch is not None and switch.state == "off"
    assert _setpoint(hass) == 19.0  # off: nothing touched

    logbook = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 17.0  # eco until the warm-up before the next use
    climate = hass.states.get("climate.living")
    assert climate is not None
    assert logbook and logbook[-1].context.id == climate.context.id
    assert logbook[-1].data["entity_id"] == "climate.living"
    assert logbook[-1].data["message"] == "set Living room to 17 °C: Room not in use"

    # Pre-heating starts exactly the learned warm-up (plus a five-minute margin) ahead.
    minutes = home_entry.runtime_data.coordinator.thermal.minutes_to_reach(room, 18.0, 21.0)
    assert minutes is not None
    assert minutes == pytest.approx(600 * math.log((45 - 18) / (45 - 21)), abs=10)
    pre_heat = (next_use - timedelta(minutes=minutes + 5)).replace(second=0, microsecond=0)
    switch = hass.states.get(SWITCH)
    assert switch is not None
    assert switch.attributes["pre_heat_from"] == pre_heat.isoformat()  # shown to the minute
    await tick(hass, freezer, pre_heat - timedelta(seconds=30))
    assert _setpoint(hass) == 17.0
    await tick(hass, freezer, pre_heat + timedelta(seconds=30))
    assert _setpoint(hass) == 21.0
    assert hass.states.get(SWITCH).attributes["reason"] == "pre_heat"  # type: ignore[union-attr]

    # A set point changed by hand is kept until the room's use changes.
    await hass.services.async_call(
        "climate",
        "set_temperature",
        {"entity_id": "climate.living", "temperature": 22.5},
        blocking=True,
    )
    await tick(hass, freezer, pre_heat + timedelta(minutes=2))
    assert _setpoint(hass) == 22.5
    attributes = hass.states.get(SWITCH).attributes  # type: ignore[union-attr]
    assert attributes["manual_override"] is True
    assert attributes["manual_setpoint"] == 22.5
    assert datetime.fromisoformat(attributes["manual_until"]) == next_use
    predicted.in_use, predicted.next_use = True, None
    await tick(hass, freezer, next_use + timedelta(minutes=1))
    assert _setpoint(hass) == 21.0
    assert hass.states.get(SWITCH).attributes["manual_override"] is False  # type: ignore[union-attr]

    # A window left open: eco until it is closed.
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "window"})
    await tick(hass, freezer, next_use + timedelta(minutes=2))
    assert _setpoint(hass) == 17.0
    assert hass.states.get(SWITCH).attributes["reason"] == "window_open"  # type: ignore[union-attr]
    hass.states.async_set("binary_sensor.living_window", "off", {"device_class": "window"})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 21.0

    # Never beyond the thermostat's own limits.
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.living_room_comfort_temperature", "value": 28},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 25.0

    # Nobody home and nobody expected before the warm-up: eco.
    predicted.in_use, predicted.someone_home = False, False
    predicted.next_use = next_use + timedelta(hours=2)
    await tick(hass, freezer, next_use + timedelta(minutes=3))
    assert _setpoint(hass) == 17.0
    assert hass.states.get(SWITCH).attributes["reason"] == "away"  # type: ignore[union-attr]
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.living_room_eco_temperature", "value": 5},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 7.0  # the thermostat's minimum

    # An unavailable thermostat is left alone.
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    hass.states.async_set("climate.living", "unavailable")
    predicted.someone_home = True
    predicted.in_use = True
    await tick(hass, freezer, next_use + timedelta(minutes=3))
    assert not calls
    assert hass.states.get(SWITCH).attributes["reason"] == "unavailable"  # type: ignore[union-attr]

    # Unloading stops it at once.
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    await tick(hass, freezer, next_use + timedelta(minutes=10))
    assert not calls


async def test_heating_pre_heats_for_an_expected_arrival(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arrival = START + timedelta(minutes=30)
    predicted = Predicted(next_use=arrival, someone_home=False, expected_arrival=arrival)
    await _setup(hass, freezer, home_entry, monkeypatch, predicted)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 21.0
    assert hass.states.get(SWITCH).attributes["reason"] == "pre_heat"  # type: ignore[union-attr]


async def test_heating_is_restored_after_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock_restore_cache(
        hass,
        [
            State(SWITCH, "on"),
            State("number.living_room_eco_temperature", "16.5"),
        ],
    )
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted())
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert hass.states.get(SWITCH).state == "on"  # type: ignore[union-attr]
    assert _setpoint(hass) == 16.5


async def test_a_choice_made_seconds_before_a_crash_is_kept(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    hass_storage: dict[str, Any],
) -> None:
    """Home Assistant saves restorable states every 15 minutes; a choice is saved in seconds.

    So is what a controller must not forget: here, a set point the user chose by hand.
    """
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted(in_use=True), ranged=False)
    await _switch_on(hass)
    await turn(hass, "number", "set_value", "number.living_room_eco_temperature", value=16.5)
    mode = "select.foresight_presence_simulation_mode"
    await turn(hass, "select", "select_option", mode, option="dry_run")
    await tick(hass, freezer, START + timedelta(seconds=KEEP_CHOICES_AFTER_S + 1))
    saved = {item["state"]["entity_id"]: item for item in hass_storage[STORAGE_KEY]["data"]}
    assert saved[SWITCH]["state"]["state"] == "on"
    assert saved[SWITCH]["extra_data"]["manual"] is None
    assert saved["number.living_room_eco_temperature"]["state"]["state"] == "16.5"
    assert saved[mode]["state"]["state"] == "dry_run"

    await _by_hand(hass, 23.0)
    await tick(hass, freezer, START + timedelta(seconds=3 * KEEP_CHOICES_AFTER_S))
    saved = {item["state"]["entity_id"]: item for item in hass_storage[STORAGE_KEY]["data"]}
    assert saved[SWITCH]["extra_data"]["manual"]["setpoint"] == 23.0


def _setpoints(calls: list[Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in call.data["service_data"].items() if k != "entity_id"}
        for call in calls
        if call.data["domain"] == "climate"
    ]


async def _switch_on(hass: HomeAssistant) -> None:
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _heating_a_room_in_use(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A room in use on a template thermostat, its smart heating switched on."""
    await _setup(hass, freezer, entry, monkeypatch, Predicted(in_use=True), ranged=False)
    await _switch_on(hass)


async def _by_hand(hass: HomeAssistant, setpoint: float) -> None:
    await turn(hass, "climate", "set_temperature", "climate.living", temperature=setpoint)


def _attributes(hass: HomeAssistant) -> Any:
    switch = hass.states.get(SWITCH)
    assert switch is not None
    return switch.attributes


async def test_a_thermostat_reconnecting_has_not_been_set_by_hand(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    next_use = START + timedelta(hours=3)
    room = await _setup(
        hass, freezer, home_entry, monkeypatch, Predicted(next_use=next_use), ranged=False
    )
    await _switch_on(hass)
    assert _setpoint(hass) == 17.0
    await turn(hass, "input_boolean", "turn_on", "input_boolean.living_offline")
    assert hass.states.get("climate.living").state == "unavailable"  # type: ignore[union-attr]
    await turn(hass, "input_boolean", "turn_off", "input_boolean.living_offline")
    assert _attributes(hass)["manual_override"] is False

    # So pre-heating starts on time.
    minutes = home_entry.runtime_data.coordinator.thermal.minutes_to_reach(room, 18.0, 21.0)
    assert minutes is not None
    await tick(hass, freezer, next_use - timedelta(minutes=minutes + 4))
    assert _setpoint(hass) == 21.0
    assert _attributes(hass)["reason"] == "pre_heat"


async def test_a_thermostat_showing_foresights_set_point_late_has_not_been_set_by_hand(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    predicted = Predicted()
    await _setup(hass, freezer, home_entry, monkeypatch, predicted, ranged=False)
    await turn(hass, "input_boolean", "turn_on", "input_boolean.living_cloud")
    await _switch_on(hass)
    assert _setpoint(hass) == 19.0
    # The thermostat's next poll, under a context of its own.
    requested = hass.states.get("input_number.living_requested")
    assert requested is not None and float(requested.state) == 17.0
    await turn(hass, "input_number", "set_value", "input_number.living_setpoint", value=17.0)
    assert _setpoint(hass) == 17.0
    assert _attributes(hass)["manual_override"] is False
    predicted.in_use = True
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert hass.states.get("input_number.living_requested").state == "21.0"  # type: ignore[union-attr]


async def test_a_set_point_changed_by_hand_is_shown_kept_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _heating_a_room_in_use(hass, freezer, home_entry, monkeypatch)
    await _by_hand(hass, 23.0)
    assert _attributes(hass)["manual_override"] is True
    assert _attributes(hass)["reason"] == "manual"


async def test_going_back_by_hand_to_foresights_set_point_is_kept(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _heating_a_room_in_use(hass, freezer, home_entry, monkeypatch)
    assert _setpoint(hass) == 21.0
    await _by_hand(hass, 18.0)
    # The person changes their mind: back to the set point Foresight had chosen.
    await _by_hand(hass, 21.0)
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert _setpoint(hass) == 21.0
    assert _attributes(hass)["manual_setpoint"] == 21.0


async def test_a_set_point_kept_by_hand_survives_a_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    predicted = Predicted(in_use=True)
    await _setup(hass, freezer, home_entry, monkeypatch, predicted, ranged=False)
    await _switch_on(hass)
    assert _setpoint(hass) == 21.0
    await _by_hand(hass, 23.0)
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await predict(monkeypatch, home_entry, predicted)
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert _setpoint(hass) == 23.0
    assert _attributes(hass)["manual_setpoint"] == 23.0


async def test_a_set_point_kept_across_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hold = {"setpoint": 23.0, "in_use": True, "until": None}
    mock_restore_cache_with_extra_data(
        hass, [(State(SWITCH, "on"), {"manual": hold, "sent": 21.0})]
    )
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted(in_use=True), setpoint=23)
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert _setpoint(hass) == 23.0
    assert _attributes(hass)["manual_setpoint"] == 23.0


async def test_a_set_point_kept_before_the_first_prediction_ends_with_the_next_use(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    predicted = Predicted(trained=False)
    await _setup(hass, freezer, home_entry, monkeypatch, predicted, ranged=False)
    await _switch_on(hass)
    assert _setpoint(hass) == 19.0  # no prediction yet: left as it is
    await _by_hand(hass, 23.0)
    predicted.trained, predicted.next_use = True, START + timedelta(minutes=30)
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert _setpoint(hass) == 23.0
    predicted.in_use, predicted.next_use = True, None
    await tick(hass, freezer, START + timedelta(minutes=31))
    assert _setpoint(hass) == 21.0
    assert _attributes(hass)["manual_override"] is False


async def test_a_window_closing_gives_back_the_set_point_kept_by_hand(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _heating_a_room_in_use(hass, freezer, home_entry, monkeypatch)
    await _by_hand(hass, 23.0)
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "window"})
    await tick(hass, freezer, dt_util.utcnow() + WINDOW_OPEN_FOR)
    assert _setpoint(hass) == 17.0
    hass.states.async_set("binary_sensor.living_window", "off", {"device_class": "window"})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 23.0
    assert _attributes(hass)["reason"] == "manual"


async def test_only_a_window_left_open_gives_eco(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _heating_a_room_in_use(hass, freezer, home_entry, monkeypatch)
    assert _setpoint(hass) == 21.0
    # A door (an inner door left open all day) is no reason to keep the room cool.
    opened = dt_util.utcnow()
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "door"})
    await tick(hass, freezer, opened + timedelta(minutes=10))
    assert _setpoint(hass) == 21.0
    hass.states.async_set("binary_sensor.living_window", "off", {"device_class": "window"})
    # Nor a window opened for a moment; one left open a minute is.
    opened += timedelta(minutes=10)
    hass.states.async_set("binary_sensor.living_window", "on", {"device_class": "window"})
    await tick(hass, freezer, opened + timedelta(seconds=50))
    assert _setpoint(hass) == 21.0
    await tick(hass, freezer, opened + WINDOW_OPEN_FOR)
    assert _setpoint(hass) == 17.0
    assert _attributes(hass)["reason"] == "window_open"
    hass.states.async_set("binary_sensor.living_window", "off", {"device_class": "window"})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 21.0  # closed: back at once


async def test_heating_acts_only_while_the_thermostat_heats(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted(), mode="off")
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await _switch_on(hass)
    await turn(hass, "input_select", "select_option", MODE, option="cool")
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert _setpoints(calls) == []
    assert _attributes(hass)["reason"] == "not_heating"
    # Switching the heating on is not a set point chosen by hand.
    await turn(hass, "input_select", "select_option", MODE, option="heat")
    assert _setpoint(hass) == 17.0
    assert _attributes(hass)["manual_override"] is False


async def test_a_set_point_chosen_while_the_heating_is_off_is_kept(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted(), mode="off")
    await _switch_on(hass)
    await _by_hand(hass, 18.0)  # chosen for when it heats again
    await turn(hass, "input_select", "select_option", MODE, option="heat")
    assert _setpoint(hass) == 18.0
    assert _attributes(hass)["reason"] == "manual"
    assert _attributes(hass)["manual_setpoint"] == 18.0


async def test_a_thermostat_keeping_a_range_heats_to_its_low_end(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted(), ranged=True)
    await _switch_on(hass)
    climate = hass.states.get("climate.living")
    assert climate is not None
    assert (climate.attributes["target_temp_low"], climate.attributes["target_temp_high"]) == (
        17.0,
        25.0,
    )


async def test_a_failing_thermostat_is_tried_again_quietly(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted(), ranged=False)
    await turn(hass, "input_boolean", "turn_on", "input_boolean.living_broken")
    caplog.clear()
    await _switch_on(hass)
    for minute in range(1, 4):
        await tick(hass, freezer, START + timedelta(minutes=minute))
    assert _setpoint(hass) == 19.0
    failures = [
        record
        for record in caplog.records
        if record.name.startswith("custom_components") and record.levelno >= logging.WARNING
    ]
    assert [(record.levelno, record.exc_info) for record in failures] == [(logging.WARNING, None)]
    await turn(hass, "input_boolean", "turn_off", "input_boolean.living_broken")
    await tick(hass, freezer, START + timedelta(minutes=5))
    assert _setpoint(hass) == 17.0


async def test_a_thermostat_that_rounds_is_not_told_again_and_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _setup(hass, freezer, home_entry, monkeypatch, Predicted(), ranged=False, step=1.0)
    await turn(hass, "number", "set_value", "number.living_room_eco_temperature", value=16.5)
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await _switch_on(hass)
    for minute in range(1, 4):
        await tick(hass, freezer, START + timedelta(minutes=minute))
    assert _setpoint(hass) == 17.0  # 16.5 rounded to the thermostat's whole degrees
    assert _setpoints(calls) == [{"temperature": 16.5}]
    assert _attributes(hass)["manual_override"] is False


async def _setup_fahrenheit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A home in °F with a thermostat in °F (45–86, set to 66) and a room not in use."""
    hass.config.units = US_CUSTOMARY_SYSTEM
    await _setup(
        hass,
        freezer,
        entry,
        monkeypatch,
        Predicted(),
        unit="°F",
        min_temperature=45,
        max_temperature=86,
        setpoint=66,
    )


async def test_heating_in_a_fahrenheit_home(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _setup_fahrenheit(hass, freezer, home_entry, monkeypatch)
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await _switch_on(hass)
    assert _setpoints(calls) == [{"temperature": pytest.approx(62.6)}]  # 17 °C


async def test_a_fahrenheit_home_sets_its_temperatures_in_fahrenheit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Comfort and eco are shown and entered in °F, and what is entered is what is sent."""
    await _setup_fahrenheit(hass, freezer, home_entry, monkeypatch)
    comfort = hass.states.get("number.living_room_comfort_temperature")
    assert comfort is not None
    assert comfort.attributes["unit_of_measurement"] == "°F"
    assert float(comfort.state) == 69.8  # 21 °C
    assert (comfort.attributes["min"], comfort.attributes["max"]) == (41, 86)
    await turn(hass, "number", "set_value", "number.living_room_comfort_temperature", value=70)
    await turn(hass, "number", "set_value", "number.living_room_eco_temperature", value=60)
    assert float(hass.states.get("number.living_room_eco_temperature").state) == 60  # type: ignore[union-attr]
    with pytest.raises(ServiceValidationError) as refused:
        await turn(hass, "number", "set_value", "number.living_room_eco_temperature", value=72)
    assert refused.value.translation_placeholders == {
        "lower": "72 °F",
        "upper": "70 °F",
    }
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await _switch_on(hass)
    assert _setpoints(calls) == [{"temperature": 60.0}]


async def test_a_setting_kept_in_fahrenheit_is_restored_as_the_same_temperature(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eco = State("number.living_room_eco_temperature", "64.4", {"unit_of_measurement": "°F"})
    mock_restore_cache(hass, [State(SWITCH, "on"), eco])
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await _setup_fahrenheit(hass, freezer, home_entry, monkeypatch)
    await tick(hass, freezer, START + timedelta(minutes=1))
    assert _setpoints(calls)[-1] == {"temperature": 64.4}


async def test_a_fahrenheit_home_pre_heats_as_early_as_a_celsius_one(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hass.config.units = US_CUSTOMARY_SYSTEM
    next_use = START + timedelta(hours=3)
    room = await _setup(
        hass,
        freezer,
        home_entry,
        monkeypatch,
        Predicted(next_use=next_use),
        unit="°F",
        min_temperature=45,
        max_temperature=86,
        setpoint=66,
    )
    hass.states.async_set(
        "sensor.living_temperature", "64", {**TEMPERATURE, "unit_of_measurement": "°F"}
    )
    await _switch_on(hass)
    # The warm-up from 64 °F to the comfort temperature of 21 °C (69.8 °F).
    thermal = home_entry.runtime_data.coordinator.thermal
    minutes = thermal.minutes_to_reach(room, (64 - 32) / 1.8, 21.0)
    assert minutes is not None and minutes > 60
    pre_heat = datetime.fromisoformat(_attributes(hass)["pre_heat_from"])
    expected = next_use - timedelta(minutes=minutes + 5)
    assert timedelta(0) <= expected - pre_heat < timedelta(minutes=1)


async def test_settings_are_restored_before_heating_first_acts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mock_restore_cache(
        hass, [State(SWITCH, "on"), State("number.living_room_eco_temperature", "16.5")]
    )
    freezer.move_to(START)
    set_home_states(hass)
    hass.states.async_set("sensor.living_temperature", "18.0", TEMPERATURE)
    await async_setup_thermostat(hass, min_temp=7, max_temp=25, target_temp=19)
    # The thermostat is there, and a model predicts, from the moment Foresight starts.
    room = next(iter(home_entry.subentries))
    predict_with(monkeypatch, HomeOccupancy, lambda: Predicted().outlook(room))
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    home_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _setpoint(hass) == 16.5
    assert _setpoints(calls) == [{"temperature": 16.5}]


async def test_a_pre_heat_under_way_goes_on_after_a_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Half an hour into a pre-heat Foresight reloads: the warmer room needs less time, yet the
    pre-heat holds, as it does without the reload (the room would be cooler when used)."""
    next_use = START + timedelta(hours=3)
    predicted = Predicted(next_use=next_use)
    room = await _setup(hass, freezer, home_entry, monkeypatch, predicted)
    predict_with(monkeypatch, HomeOccupancy, lambda: predicted.outlook(room))
    await turn(hass, "switch", "turn_on", SWITCH)
    minutes = home_entry.runtime_data.coordinator.thermal.minutes_to_reach(room, 18.0, 21.0)
    pre_heat = (next_use - timedelta(minutes=minutes + 5)).replace(second=0, microsecond=0)
    await tick(hass, freezer, pre_heat + timedelta(seconds=30))
    assert _setpoint(hass) == 21.0
    warmer = {**hass.states.get("climate.living").attributes, "current_temperature": 20.6}  # type: ignore[union-attr]
    hass.states.async_set("sensor.living_temperature", "20.6", TEMPERATURE)
    hass.states.async_set("climate.living", "heat", warmer)
    await tick(hass, freezer, pre_heat + timedelta(minutes=30))
    assert _setpoint(hass) == 21.0

    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await tick(hass, freezer, pre_heat + timedelta(minutes=45))
    assert _setpoint(hass) == 21.0
    switch = hass.states.get(SWITCH)
    assert switch is not None
    assert switch.attributes["reason"] == "pre_heat"


async def test_a_window_open_across_a_restart_keeps_eco_without_a_warm_minute(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A window open for half an hour when Home Assistant restarts is open, not just opened:
    the room stays at eco, with no set point sent."""
    predicted = Predicted(in_use=True)
    room = await _setup(hass, freezer, home_entry, monkeypatch, predicted, ranged=False)
    predict_with(monkeypatch, HomeOccupancy, lambda: predicted.outlook(room))
    await turn(hass, "switch", "turn_on", SWITCH)
    assert _setpoint(hass) == 21.0
    window = "binary_sensor.living_window"
    hass.states.async_set(window, "on", {"device_class": "window"})
    await tick(hass, freezer, START + timedelta(minutes=2))
    assert _setpoint(hass) == 17.0

    assert await hass.config_entries.async_unload(home_entry.entry_id)
    await hass.async_block_till_done()
    await tick(hass, freezer, START + timedelta(minutes=30))
    hass.states.async_remove(window)  # a restart: every state is made anew
    hass.states.async_set(window, "on", {"device_class": "window"})
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await tick(hass, freezer, START + timedelta(minutes=32))
    assert _setpoints(calls) == []
    assert _setpoint(hass) == 17.0
