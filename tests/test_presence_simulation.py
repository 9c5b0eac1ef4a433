"""Presence simulation: the learned typical evening, only while away, varied, stopped on arrival."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
import logging
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    mock_restore_cache_with_extra_data,
)

from custom_components.foresight.controllers import Controller
from custom_components.foresight.controllers.presence_simulation import (
    SLOT,
    EveningPattern,
    PresenceSimulationController,
    plan_evening,
)
from custom_components.foresight.sources import Kind, Source, unique_sources
from homeassistant.const import EVENT_CALL_SERVICE, EVENT_LOGBOOK_ENTRY
from homeassistant.core import Context, Event, HomeAssistant, State
from homeassistant.helpers.sun import get_astral_event_date
from homeassistant.setup import async_setup_component

from .conftest import entry_like, history_locked, load_entry, set_home_states
from .controllers_helpers import async_setup_lamp, tick

SWITCH = "switch.foresight_presence_simulation"
MODE = "select.foresight_presence_simulation_mode"
LAMP = "light.living_lamp"
RADIO = "media_player.kitchen_radio"
DAY = date(2026, 11, 23)
HISTORY_DAYS = 21


def _fixed(entry: MockConfigEntry, **options: Any) -> MockConfigEntry:
    """The test home with a fixed entry id (each evening's draw is seeded by it) and options."""
    return entry_like(entry, entry_id="01KFORESIGHTSIMULATION00", options=options)


def _controller(entry: MockConfigEntry, key: str) -> Controller:
    (controller,) = [c for c in entry.runtime_data.controllers if c.key == key]
    return controller


def _simulation(entry: MockConfigEntry) -> PresenceSimulationController:
    controller = _controller(entry, "presence_simulation")
    assert isinstance(controller, PresenceSimulationController)
    return controller


async def _switch_lamp(
    hass: HomeAssistant, entry: MockConfigEntry, service: str, switched_by: str
) -> None:
    """Switch the lamp as a person, one of the home's automations, or one of Foresight's."""
    data = {"entity_id": LAMP}
    if switched_by == "hand":
        await hass.services.async_call("light", service, data, blocking=True)
    elif switched_by == "automation":  # a context with a parent
        automation = Context(parent_id=Context().id)
        await hass.services.async_call("light", service, data, blocking=True, context=automation)
    else:
        await _controller(entry, switched_by).async_call("light", service, data, "as asked")


async def _home_with_evenings(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    switched_by: str = "hand",
) -> ZoneInfo:
    """Three weeks of evenings: the lamp on from 18:30, 19:00 or 19:30 until 22:00 or 22:30;
    the kitchen radio playing from 20:00 to 21:00."""
    zone = ZoneInfo(hass.config.time_zone)
    freezer.move_to(datetime.combine(DAY - timedelta(days=HISTORY_DAYS + 1), time(12), zone))
    set_home_states(hass)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_setup_lamp(hass)
    for k in range(HISTORY_DAYS):
        day = DAY - timedelta(days=HISTORY_DAYS - k)
        on = datetime.combine(day, time(18, 30), zone) + timedelta(minutes=30 * (k % 3))
        off = datetime.combine(day, time(22, 0), zone) + timedelta(minutes=30 * (k % 2))
        for moment, service in ((on, "turn_on"), (off, "turn_off")):
            freezer.move_to(moment)
            await _switch_lamp(hass, entry, service, switched_by)
        for hour, state in ((20, "playing"), (21, "off")):
            freezer.move_to(datetime.combine(day, time(hour), zone))
            hass.states.async_set(RADIO, state)
    start = datetime.combine(DAY, time(13), zone)
    freezer.move_to(start)
    await entry.runtime_data.observer.async_flush(start.timestamp())
    hass.states.async_set("person.alice", "not_home")
    await _async_setup_radio(hass)
    return zone


async def _async_setup_radio(hass: HomeAssistant) -> None:
    """A real media player, media_player.kitchen_radio (universal, over a helper)."""
    hass.states.async_remove(RADIO)
    helper = {"radio": {"options": ["off", "playing"], "initial": "off"}}
    assert await async_setup_component(hass, "input_select", {"input_select": helper})

    def select(option: str) -> dict[str, Any]:
        return {
            "action": "input_select.select_option",
            "target": {"entity_id": "input_select.radio"},
            "data": {"option": option},
        }

    config = {
        "platform": "universal",
        "name": "Kitchen radio",
        "state_template": "{{ states('input_select.radio') }}",
        "commands": {"turn_on": select("playing"), "turn_off": select("off")},
    }
    assert await async_setup_component(hass, "media_player", {"media_player": [config]})
    await hass.async_block_till_done()
    # The player reads its state template on the first change after it is added.
    for option in ("playing", "off"):
        await hass.services.async_call(
            "input_select",
            "select_option",
            {"entity_id": "input_select.radio", "option": option},
            blocking=True,
        )
    await hass.async_block_till_done()
    assert hass.states.get(RADIO).state == "off"  # type: ignore[union-attr]


async def test_tonights_evening_is_shown_while_someone_is_home(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Switched on at home: the attributes already say when tonight's simulation would run."""
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry)
    hass.states.async_set("person.alice", "home")
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await tick(hass, freezer, datetime.combine(DAY, time(14), zone))
    switch = hass.states.get(SWITCH)
    assert switch is not None
    assert switch.attributes["simulating"] is False
    assert datetime.fromisoformat(switch.attributes["evening_end"]) == datetime.combine(
        DAY, time(22), zone
    )
    assert switch.attributes["evening_start"] is not None


def _calls(calls: list[Event], domain: str = "light") -> list[tuple[datetime, str]]:
    """When each of Foresight's calls to ``domain`` was made, and which service."""
    return [
        (event.time_fired, event.data["service"])
        for event in calls
        if event.data["domain"] == domain
    ]


async def test_simulation_follows_the_learned_evening_while_away(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry)
    switch = hass.states.get(SWITCH)
    assert switch is not None and switch.state == "off"
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    sunset = get_astral_event_date(hass, "sunset", DAY)
    assert sunset is not None
    bedtime = datetime.combine(DAY, time(22), zone)  # the usual last light off
    switch = hass.states.get(SWITCH)
    assert switch is not None
    assert switch.attributes["learned_days"] == HISTORY_DAYS + 1  # and the evening it was set up
    assert datetime.fromisoformat(switch.attributes["evening_end"]) == bedtime
    # The start is shown as the end is: in the home's time, to the whole second.
    shown = sunset.astimezone(zone).replace(microsecond=0).isoformat()
    assert switch.attributes["evening_start"] == shown

    moment = datetime.combine(DAY, time(14), zone)
    while moment < datetime.combine(DAY + timedelta(days=1), time(1), zone):
        moment += timedelta(minutes=5)
        await tick(hass, freezer, moment)
    # Tonight's plan is a draw from the learned evening: on within 18:15 and 19:45, off by 22:00.
    pattern = _simulation(home_entry).pattern
    assert pattern is not None
    plan = plan_evening(pattern, LAMP, DAY, zone, home_entry.entry_id)
    assert plan
    lamp = _calls(calls)
    assert [service for _, service in lamp] == ["turn_on", "turn_off"] * len(plan)
    (on_at, _), (off_at, _) = lamp[0], lamp[-1]
    earliest = datetime.combine(DAY, time(18, 30), zone) - timedelta(minutes=15)
    assert max(sunset, earliest) <= on_at <= datetime.combine(DAY, time(19, 50), zone)
    assert on_at - max(plan[0][0], sunset) < timedelta(minutes=5)
    assert timedelta(0) <= off_at - min(plan[-1][1], bedtime) < timedelta(minutes=5)
    assert hass.states.get(LAMP).state == "off"  # type: ignore[union-attr]

    # The next evening, Alice comes home while the lamp is on: it stops within a minute.
    calls.clear()
    next_day = DAY + timedelta(days=1)
    tomorrow = plan_evening(pattern, LAMP, next_day, zone, home_entry.entry_id)
    assert tomorrow != plan  # a new draw, not a replay
    moment = tomorrow[0][0] + timedelta(minutes=10)
    await tick(hass, freezer, moment - timedelta(minutes=30))
    await tick(hass, freezer, moment)
    assert hass.states.get(LAMP).state == "on"  # type: ignore[union-attr]
    hass.states.async_set("person.alice", "home")
    await tick(hass, freezer, moment + timedelta(minutes=1))
    assert hass.states.get(SWITCH).attributes["simulating"] is False  # type: ignore[union-attr]
    calls.clear()
    while moment < datetime.combine(next_day + timedelta(days=1), time(1), zone):
        moment += timedelta(minutes=10)
        await tick(hass, freezer, moment)
    assert not _calls(calls)  # nothing while someone is home


async def _simulating_with_the_lamp_on(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> ZoneInfo:
    """Everybody away on the evening of DAY, the simulation switched on: the lamp on, as planned."""
    zone = await _home_with_evenings(hass, freezer, entry)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    pattern = _simulation(entry).pattern
    assert pattern is not None
    plan = plan_evening(pattern, LAMP, DAY, zone, entry.entry_id)
    await tick(hass, freezer, plan[0][0] + timedelta(minutes=1))
    assert hass.states.get(LAMP).state == "on"  # type: ignore[union-attr]
    return zone


async def test_a_light_switched_on_is_switched_off_after_a_reload(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    home_entry = _fixed(home_entry)
    zone = await _simulating_with_the_lamp_on(hass, freezer, home_entry)

    # Any change of the options reloads the entry, mid-evening.
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await tick(hass, freezer, datetime.combine(DAY, time(23), zone))
    assert hass.states.get(LAMP).state == "off"  # type: ignore[union-attr]


async def test_unloading_foresight_stops_the_simulation_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    home_entry = _fixed(home_entry)
    zone = await _simulating_with_the_lamp_on(hass, freezer, home_entry)

    assert await hass.config_entries.async_unload(home_entry.entry_id)
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await tick(hass, freezer, datetime.combine(DAY, time(23), zone))
    assert not calls
    assert hass.states.get(LAMP).state == "on"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["live", "dry_run"])
async def test_the_simulation_and_its_mode_are_restored_after_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    """Restarted after bedtime: the lamp switched on for the evening is switched off (or would be)."""
    mock_restore_cache_with_extra_data(
        hass, [(State(SWITCH, "on"), {"switched_on": [LAMP]}), (State(MODE, mode), {})]
    )
    zone = ZoneInfo(hass.config.time_zone)
    start = datetime.combine(DAY, time(23), zone)
    freezer.move_to(start)
    set_home_states(hass)
    hass.states.async_set("person.alice", "not_home")
    await async_setup_lamp(hass)
    await hass.services.async_call("light", "turn_on", {"entity_id": LAMP}, blocking=True)
    caplog.set_level(logging.INFO)
    await load_entry(hass, home_entry)
    await tick(hass, freezer, start + timedelta(minutes=1))

    switch = hass.states.get(SWITCH)
    assert switch is not None and switch.state == "on"
    assert switch.attributes["mode"] == mode
    if mode == "live":
        assert hass.states.get(LAMP).state == "off"  # type: ignore[union-attr]
    else:
        assert hass.states.get(LAMP).state == "on"  # type: ignore[union-attr]
        assert "Dry run, would switch light.living_lamp off" in caplog.text


async def test_a_history_out_of_reach_keeps_last_nights_evening_and_stops_on_arrival(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A locked history file: the next evening is drawn from the pattern already learned."""
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    pattern = _simulation(home_entry).pattern
    assert pattern is not None

    monkeypatch.setattr(home_entry.runtime_data.store, "samples", history_locked)
    next_day = DAY + timedelta(days=1)
    plan = plan_evening(pattern, LAMP, next_day, zone, home_entry.entry_id)
    moment = datetime.combine(next_day, time(12), zone)
    await tick(hass, freezer, moment)
    await tick(hass, freezer, plan[0][0] + timedelta(minutes=1))
    assert hass.states.get(LAMP).state == "on"  # type: ignore[union-attr]
    hass.states.async_set("person.alice", "home")
    await tick(hass, freezer, plan[0][0] + timedelta(minutes=2))
    assert hass.states.get(SWITCH).attributes["simulating"] is False  # type: ignore[union-attr]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and "job" in r.getMessage()]


async def test_the_switch_shows_the_mode_chosen_at_once(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    for option in ("dry_run", "live"):
        await hass.services.async_call(
            "select", "select_option", {"entity_id": MODE, "option": option}, blocking=True
        )
        assert hass.states.get(SWITCH).attributes["mode"] == option  # type: ignore[union-attr]


async def test_dry_run_calls_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry)
    await hass.services.async_call(
        "select", "select_option", {"entity_id": MODE, "option": "dry_run"}, blocking=True
    )
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    logbook = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    caplog.set_level(logging.INFO)
    moment = datetime.combine(DAY, time(18), zone)
    while moment < datetime.combine(DAY, time(23), zone):
        moment += timedelta(minutes=10)
        await tick(hass, freezer, moment)
    assert not _calls(calls)
    assert "Dry run, would switch light.living_lamp on" in caplog.text
    # Also where a user looks without setting up logging: the lamp's own logbook.
    entries = [event.data for event in logbook if event.data.get("entity_id") == LAMP]
    assert entries
    assert entries[0]["message"] == (
        "presence simulation: light.living_lamp on, as on a usual evening"
        " (dry run, nothing switched)"
    )
    assert hass.states.get(LAMP).state == "off"  # type: ignore[union-attr]


def test_each_evening_is_drawn_anew_from_the_typical_one() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    share = [0.0] * 48
    for slot in range(16, 28):  # 19:00 to 22:00
        share[slot] = 0.9 if slot < 24 else 0.4
    pattern = EveningPattern({LAMP: share}, bedtime_slot=30, days=28)
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(400)]
    plans = [plan_evening(pattern, LAMP, day, zone, "seed") for day in days]
    assert plan_evening(pattern, LAMP, days[0], zone, "seed") == plans[0]  # seeded per day
    assert len({tuple(plan) for plan in plans[:10]}) == 10  # no two evenings alike
    for slot, expected in ((18, 0.9), (25, 0.4), (10, 0.0)):
        on = 0
        for day, plan in zip(days, plans, strict=True):
            middle = datetime.combine(day, time(15), zone) + (slot + 0.5) * SLOT
            on += any(start <= middle < end for start, end in plan)
        assert on / len(days) == pytest.approx(expected, abs=0.06)


async def test_simulation_plays_the_chosen_media_on_its_usual_evenings(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    home_entry = _fixed(home_entry, simulation_media=[RADIO])
    zone = await _home_with_evenings(hass, freezer, home_entry)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    assert hass.states.get(SWITCH).attributes["media"] == [RADIO]  # type: ignore[union-attr]

    playing = []
    moment = datetime.combine(DAY, time(17), zone)
    while moment < datetime.combine(DAY, time(23), zone):
        moment += timedelta(minutes=5)
        await tick(hass, freezer, moment)
        playing.append((moment, hass.states.get(RADIO).state))  # type: ignore[union-attr]
    # It played from 20:00 to 21:00 on every evening it learned from: so it does tonight, give
    # or take the evening's shift of up to a quarter hour.
    radio = _calls(calls, "media_player")
    assert [service for _, service in radio] == ["turn_on", "turn_off"]
    (on_at, _), (off_at, _) = radio
    assert abs(on_at - datetime.combine(DAY, time(20), zone)) <= timedelta(minutes=20)
    assert abs(off_at - datetime.combine(DAY, time(21), zone)) <= timedelta(minutes=20)
    assert {state for when, state in playing if on_at < when < off_at} == {"playing"}
    assert {state for when, state in playing if when < on_at or when > off_at} == {"off"}
    assert _calls(calls)  # the lamp follows its own evening beside it


def test_a_simulated_light_still_tells_its_room() -> None:
    # The home's settings ask for the lamp first (presence simulation), the room second.
    home, room = Source(LAMP, Kind.LIGHT), Source(LAMP, Kind.LIGHT, "living")
    assert unique_sources([home, room]) == {LAMP: room}
    assert unique_sources([room, home]) == {LAMP: room}


@pytest.mark.parametrize("switched_by", ["automation", "smart_lighting"])
async def test_evenings_switched_for_the_home_are_learned(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    switched_by: str,
) -> None:
    """A lamp one of the home's automations, or smart lighting, switches every evening: those
    are the home's evenings, to simulate, though no person's switching (occupancy)."""
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry, switched_by)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    pattern = _simulation(home_entry).pattern
    assert pattern is not None
    at_nine = timedelta(hours=6) // SLOT  # the evening begins at 15:00
    # On at nine on every evening but the one Foresight was set up on.
    assert pattern.on_share[LAMP][at_nine] == HISTORY_DAYS / (HISTORY_DAYS + 1)
    assert plan_evening(pattern, LAMP, DAY, zone, home_entry.entry_id)
    store = home_entry.runtime_data.store
    by_hand = await hass.async_add_executor_job(store.samples, f"{LAMP}#by_hand")
    assert 1.0 not in [value for _, value in by_hand]


async def test_its_own_simulated_evenings_are_not_learned(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Evenings presence simulation itself switched the lamp through teach it nothing."""
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry, "presence_simulation")
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    pattern = _simulation(home_entry).pattern
    assert pattern is not None
    assert max(pattern.on_share[LAMP]) == 0.0
    assert not plan_evening(pattern, LAMP, DAY, zone, home_entry.entry_id)


async def test_someone_passing_by_leaves_the_lamps_the_simulation_lit_to_it(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Alice is home for two minutes during a simulated evening (or her phone says so): the lamp
    it lit is still its own, and goes off with the evening, not on all night."""
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry)
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    plan = plan_evening(_simulation(home_entry).pattern, LAMP, DAY, zone, home_entry.entry_id)
    lit = plan[0][0] + timedelta(minutes=1)
    await tick(hass, freezer, lit)
    assert hass.states.get(LAMP).state == "on"  # type: ignore[union-attr]

    hass.states.async_set("person.alice", "home")
    await tick(hass, freezer, lit + timedelta(minutes=1))
    hass.states.async_set("person.alice", "not_home")
    moment = lit + timedelta(minutes=3)
    while moment < datetime.combine(DAY + timedelta(days=1), time(2), zone):
        await tick(hass, freezer, moment)
        moment += timedelta(minutes=10)
    assert hass.states.get(LAMP).state == "off"  # type: ignore[union-attr]


async def test_a_dry_run_says_each_switch_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Looking every minute of an evening, a dry run writes one "would switch on" and one "would
    switch off" to the lamp's logbook for each planned run, and switches nothing."""
    home_entry = _fixed(home_entry)
    zone = await _home_with_evenings(hass, freezer, home_entry)
    await hass.services.async_call(
        "select", "select_option", {"entity_id": MODE, "option": "dry_run"}, blocking=True
    )
    await hass.services.async_call("switch", "turn_on", {"entity_id": SWITCH}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    plan = plan_evening(_simulation(home_entry).pattern, LAMP, DAY, zone, home_entry.entry_id)
    logbook = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    moment = datetime.combine(DAY, time(18), zone)
    while moment < datetime.combine(DAY + timedelta(days=1), time(1), zone):
        moment += timedelta(minutes=1)
        await tick(hass, freezer, moment)
    said = [event.data["message"] for event in logbook if event.data.get("entity_id") == LAMP]
    assert len(said) == 2 * len(plan)
    assert hass.states.get(LAMP).state == "off"  # type: ignore[union-attr]
    assert _simulation(home_entry).switched_on == set()
