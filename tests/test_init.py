"""Setting Foresight up and down, its devices and entities, and what it keeps of each state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import logging
import threading
from types import MappingProxyType
from typing import Any, Literal

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.foresight import coordinator as coordinator_module, history_path
from custom_components.foresight.const import (
    CONF_ENERGY_SENSOR,
    CONF_PRODUCTION_SENSOR,
    DOMAIN,
    SUBENTRY_ROOM,
)
from custom_components.foresight.history import HistoryStore
from custom_components.foresight.home_maintenance import HomeMaintenance
from custom_components.foresight.home_occupancy import HomeOccupancy
from custom_components.foresight.learning.occupancy import MIN_HISTORY_DAYS
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util.unit_system import US_CUSTOMARY_SYSTEM

from .conftest import entry_like, held_when_called, load_entry, set_home_states, start_home


async def _stored(
    hass: HomeAssistant, entry: MockConfigEntry, key: str
) -> list[tuple[float, float | None]]:
    """Flush what Foresight observed and read a source's samples back from its history file."""
    await entry.runtime_data.coordinator.async_refresh()
    store: HistoryStore = entry.runtime_data.store
    return await hass.async_add_executor_job(store.samples, key)


async def test_devices_show_no_english_model_in_any_language(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """The frontend shows a device's model as given, untranslated: Foresight's devices have none.

    A home device an earlier version registered with the model "Home" loses it too.
    """
    home_entry.add_to_hass(hass)
    registry = dr.async_get(hass)
    registry.async_get_or_create(
        config_entry_id=home_entry.entry_id,
        identifiers={(DOMAIN, home_entry.entry_id)},
        name="Foresight",
        manufacturer="Foresight",
        model="Home",
    )
    await start_home(hass, home_entry)
    devices = dr.async_entries_for_config_entry(registry, home_entry.entry_id)
    assert sorted((device.name, device.model) for device in devices) == [
        ("Foresight", None),
        ("Living room", None),
    ]


OCCUPANCY_OF_THE_HOME = (
    "occupancy_probability",
    "occupancy_forecast",
    "next_use",
    "model_status",
    "model_accuracy",
    "last_trained",
    "expected_arrival",
    "expected_departure",
    "someone_home",
    "learned_routine",
)


async def test_automations_are_offered_only_where_they_can_act(hass: HomeAssistant) -> None:
    """No lights or media: no presence simulation; no motion or door: no unexpected activity.

    Nor, with no room and no person to learn from, anything about the home's occupancy.
    """
    set_home_states(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        title="Foresight",
        data={CONF_ENERGY_SENSOR: ["sensor.house_energy"]},
    )
    await load_entry(hass, entry)
    home = [
        e.translation_key
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    ]
    for key in ("presence_simulation", "presence_simulation_mode", "unexpected_activity"):
        assert key not in home
    assert "unexpected_activity_alerts" not in home
    assert [key for key in OCCUPANCY_OF_THE_HOME if key in home] == []
    assert {"energy_next_hour", "history", "next_battery"} <= set(home)
    room = ConfigSubentry(
        data=MappingProxyType({"motion": ["binary_sensor.living_motion"]}),
        subentry_type=SUBENTRY_ROOM,
        title="Hall",
        unique_id=None,
    )
    hass.config_entries.async_add_subentry(entry, room)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("switch.foresight_unexpected_activity_alerts") is not None
    assert hass.states.get("binary_sensor.foresight_unexpected_activity") is not None
    assert hass.states.get("switch.foresight_presence_simulation") is None
    home = [
        e.translation_key
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.config_subentry_id is None
    ]
    assert [key for key in OCCUPANCY_OF_THE_HOME if key not in home] == []
    hass.config_entries.async_update_entry(
        entry, options={"simulation_lights": ["light.living_lamp"]}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("switch.foresight_presence_simulation") is not None
    assert hass.states.get("select.foresight_presence_simulation_mode") is not None


async def test_setup_adds_devices_and_diagnostic_sensors(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    assert setup_home.state is ConfigEntryState.LOADED
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), setup_home.entry_id)
    assert sorted(device.name for device in devices) == ["Foresight", "Living room"]
    assert all(device.entry_type is dr.DeviceEntryType.SERVICE for device in devices)

    entities = er.async_entries_for_config_entry(er.async_get(hass), setup_home.entry_id)
    room = next(iter(setup_home.subentries))
    on_room = sorted(e.translation_key or "" for e in entities if e.config_subentry_id == room)
    assert on_room == [
        "comfort_temperature",
        "eco_temperature",
        "history",
        "last_trained",
        "lights_brightness",
        "lights_hold_time",
        "lights_off_threshold",
        "lights_on_threshold",
        "model_accuracy",
        "model_status",
        "next_use",
        "occupancy",
        "occupancy_forecast",
        "occupancy_probability",
        "smart_heating",
        "smart_lighting",
        "warm_up_rate",
    ]
    on_home = sorted(e.translation_key or "" for e in entities if e.config_subentry_id is None)
    assert on_home == [
        "base_load",
        "energy_forecast_accuracy",
        "energy_last_trained",
        "energy_model_status",
        "energy_next_hour",
        "energy_rest_of_today",
        "expected_arrival",
        "expected_departure",
        "expected_power",
        "history",
        "last_trained",
        "learned_routine",
        "maintenance",
        "model_accuracy",
        "model_status",
        "next_battery",
        "next_use",
        "occupancy_forecast",
        "occupancy_probability",
        "presence_simulation",
        "presence_simulation_mode",
        "sensor_problem",
        "someone_home",
        "unexpected_activity",
        "unexpected_activity_alerts",
        "unusual_energy",
    ]

    status = hass.states.get("sensor.living_room_model_status")
    assert status is not None
    assert status.state == "learning"
    assert status.attributes["usable_days"] == 0  # not a whole day yet
    assert status.attributes["days_needed"] == MIN_HISTORY_DAYS
    history = hass.states.get("sensor.living_room_history")
    assert history is not None
    assert history.state == "1"
    assert history.attributes["unit_of_measurement"] == "d"
    assert history.attributes["sources"] == 9  # eight entities, the climate entity twice
    home_history = hass.states.get("sensor.foresight_history")
    assert home_history is not None
    assert home_history.attributes["sources"] == 12


async def test_a_home_set_up_before_electricity_lists_is_migrated(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """A home from a Foresight of version 1 named one sensor per electricity setting: it becomes
    a list."""
    old = MockConfigEntry(
        domain=DOMAIN,
        version=1,
        # An electricity setting left empty in a form may have been kept as "".
        data={
            **home_entry.data,
            CONF_ENERGY_SENSOR: "sensor.house_energy",
            CONF_PRODUCTION_SENSOR: "",
        },
        options=dict(home_entry.options),
    )
    set_home_states(hass)
    old.add_to_hass(hass)
    assert await hass.config_entries.async_setup(old.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert old.state is ConfigEntryState.LOADED
    assert (old.version, old.minor_version) == (2, 1)
    assert old.data[CONF_ENERGY_SENSOR] == ["sensor.house_energy"]
    assert CONF_PRODUCTION_SENSOR not in old.data
    energy = old.runtime_data.coordinator.energy
    assert energy is not None and [flow.key for flow in energy.flows] == ["sensor.house_energy"]
    assert await hass.config_entries.async_unload(old.entry_id)


async def test_a_home_from_a_newer_foresight_is_not_set_up(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    newer = MockConfigEntry(domain=DOMAIN, version=3, data=dict(home_entry.data))
    newer.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(newer.entry_id)
    assert newer.state is ConfigEntryState.MIGRATION_ERROR
    assert newer.data == home_entry.data


@pytest.mark.parametrize(
    ("lower", "upper", "default_upper"),
    [
        ("eco_temperature", "comfort_temperature", 21.0),
        ("lights_off_threshold", "lights_on_threshold", 60.0),
    ],
)
async def test_a_setting_never_passes_the_one_it_must_stay_below(
    hass: HomeAssistant, setup_home: MockConfigEntry, lower: str, upper: str, default_upper: float
) -> None:
    """Eco above comfort, or lights switched off above where they switch on: refused, said why."""
    low, high = f"number.living_room_{lower}", f"number.living_room_{upper}"
    for entity_id, value in ((low, default_upper + 1), (high, 10.0)):
        with pytest.raises(ServiceValidationError) as refused:
            await hass.services.async_call(
                "number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True
            )
        assert refused.value.translation_key == f"{lower}_above"
    assert float(hass.states.get(high).state) == default_upper  # type: ignore[union-attr]
    # Up to the other one is fine.
    await hass.services.async_call(
        "number", "set_value", {"entity_id": low, "value": default_upper}, blocking=True
    )
    assert float(hass.states.get(low).state) == default_upper  # type: ignore[union-attr]


async def test_settings_kept_from_before_that_contradict_do_not_block_the_others(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """Lights' thresholds restored the wrong way round: the brightness can still be changed."""
    lighting = next(c for c in setup_home.runtime_data.controllers if c.key == "smart_lighting")
    lighting.settings.update(lights_off_threshold=70.0, lights_on_threshold=60.0)
    brightness = "number.living_room_lights_brightness"
    await hass.services.async_call(
        "number", "set_value", {"entity_id": brightness, "value": 50}, blocking=True
    )
    assert hass.states.get(brightness).state == "50.0"  # type: ignore[union-attr]


async def test_unload_stops_everything(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    path = setup_home.runtime_data.store.path
    assert await hass.config_entries.async_unload(setup_home.entry_id)
    await hass.async_block_till_done()
    assert setup_home.state is ConfigEntryState.NOT_LOADED
    # Nothing listens any more: a state change after unloading reaches no history.
    hass.states.async_set("binary_sensor.living_motion", "on")
    store = HistoryStore(path)
    await hass.async_add_executor_job(store.open)
    samples = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    await hass.async_add_executor_job(store.close)
    assert [value for _, value in samples] == [0.0], samples


async def test_states_become_samples_in_one_unit(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    hass.states.async_set("binary_sensor.living_motion", "unavailable")
    hass.states.async_set("binary_sensor.living_motion", "off", {"device_class": "motion"})
    hass.states.async_set("media_player.living_tv", "playing")
    hass.states.async_set(
        "sensor.living_tv_power", "0.1", {"unit_of_measurement": "kW", "device_class": "power"}
    )
    hass.states.async_set(
        "sensor.living_temperature",
        "68",
        {"unit_of_measurement": "°F", "device_class": "temperature"},
    )
    hass.states.async_set(
        "climate.living",
        "heat",
        {"temperature": 21.5, "current_temperature": 19.0, "hvac_action": "heating"},
    )
    await hass.async_block_till_done()

    motion = await _stored(hass, setup_home, "binary_sensor.living_motion")
    assert [value for _, value in motion] == [0.0, 1.0, None, 0.0]
    tv = await _stored(hass, setup_home, "media_player.living_tv")
    assert [value for _, value in tv] == [0.0, 1.0]
    power = await _stored(hass, setup_home, "sensor.living_tv_power")
    assert [value for _, value in power][-1] == pytest.approx(100.0)
    temperature = await _stored(hass, setup_home, "sensor.living_temperature")
    assert [value for _, value in temperature][-1] == pytest.approx(20.0)
    heating = await _stored(hass, setup_home, "climate.living#heating")
    assert [value for _, value in heating] == [0.0, 1.0]
    setpoint = await _stored(hass, setup_home, "climate.living#setpoint")
    assert [value for _, value in setpoint] == [20.0, 21.5]


@pytest.mark.freeze_time("2026-03-02 12:00:00+00:00")  # the nightly training counts anew
async def test_the_history_is_summarised_hourly(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_home: MockConfigEntry
) -> None:
    """Counting what the history holds reads every table: hourly, not at each 5-minute flush."""

    async def samples_kept_after(delay: timedelta) -> int:
        freezer.tick(delay)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        history = hass.states.get("sensor.living_room_history")
        assert history is not None
        return int(history.attributes["samples_kept"])

    before = await samples_kept_after(timedelta(0))
    for value in ("21", "22", "23"):  # a minute apart at least: each is kept
        freezer.tick(timedelta(minutes=2))
        hass.states.async_set(
            "sensor.living_temperature",
            value,
            {"unit_of_measurement": "°C", "device_class": "temperature"},
        )
    assert await samples_kept_after(timedelta(minutes=5)) == before  # flushed, not yet counted
    assert await samples_kept_after(timedelta(minutes=55)) == before + 3


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("warm", "not_a_number"),
        ("nan", "not_finite"),
        ("inf", "not_finite"),
        ("-inf", "not_finite"),
        ("1e300", "out_of_range"),
        ("-5000", "out_of_range"),
    ],
)
async def test_bad_values_are_dropped_and_counted(
    hass: HomeAssistant, setup_home: MockConfigEntry, value: str, reason: str
) -> None:
    hass.states.async_set(
        "sensor.living_temperature",
        value,
        {"unit_of_measurement": "°C", "device_class": "temperature"},
    )
    hass.states.async_set(
        "sensor.living_temperature",
        "21",
        {"unit_of_measurement": "°C", "device_class": "temperature"},
    )
    await hass.async_block_till_done()
    samples = await _stored(hass, setup_home, "sensor.living_temperature")
    assert [v for _, v in samples] == [20.0, 21.0]
    coverage = setup_home.runtime_data.coordinator.data.history.coverage[
        "sensor.living_temperature"
    ]
    assert coverage.dropped == {reason: 1}
    history = hass.states.get("sensor.living_room_history")
    assert history is not None
    assert history.attributes["dropped"] == 1


async def test_a_power_glitch_beyond_what_a_home_can_draw_is_dropped(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """A power sensor reading 900 kW for a moment would make its hour a day's use: dropped."""
    power = {"unit_of_measurement": "kW", "device_class": "power"}
    for value in ("900", "-900", "0.15"):
        hass.states.async_set("sensor.living_tv_power", value, power)
    await hass.async_block_till_done()
    samples = await _stored(hass, setup_home, "sensor.living_tv_power")
    assert [v for _, v in samples] == [1.0, 150.0]
    assert setup_home.runtime_data.coordinator.data.history.coverage[
        "sensor.living_tv_power"
    ].dropped == {"out_of_range": 2}


async def test_a_thermostat_in_a_fahrenheit_home_is_read_in_fahrenheit(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """A thermostat shows its set point in the home's unit: 68 in a home in °F is 20 °C."""
    hass.config.units = US_CUSTOMARY_SYSTEM
    await start_home(hass, home_entry)
    thermostat = {"temperature": 68.0, "current_temperature": 66.0, "hvac_action": "idle"}
    hass.states.async_set("climate.living", "heat", thermostat)
    await hass.async_block_till_done()
    samples = await _stored(hass, home_entry, "climate.living#setpoint")
    assert samples[-1][1] == pytest.approx(20.0)


async def test_a_unit_the_kind_cannot_have_is_dropped(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    hass.states.async_set(
        "sensor.living_tv_power", "12", {"unit_of_measurement": "kWh", "device_class": "energy"}
    )
    await hass.async_block_till_done()
    samples = await _stored(hass, setup_home, "sensor.living_tv_power")
    assert [v for _, v in samples] == [1.0]
    assert setup_home.runtime_data.coordinator.data.history.coverage[
        "sensor.living_tv_power"
    ].dropped == {"unit": 1}


async def test_meter_hours_across_a_reset(
    hass: HomeAssistant, home_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    start = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    freezer.move_to(start)
    await start_home(hass, home_entry)

    readings = [(10, "1000.5"), (30, "1001.5"), (70, "unavailable"), (80, "0.3"), (100, "1.3")]
    for minute, reading in readings:
        freezer.move_to(start + timedelta(minutes=minute))
        hass.states.async_set(
            "sensor.house_energy",
            reading,
            {
                "unit_of_measurement": "kWh",
                "device_class": "energy",
                "state_class": "total_increasing",
            },
        )
    freezer.move_to(start + timedelta(hours=2, minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    await home_entry.runtime_data.coordinator.async_refresh()
    store: HistoryStore = home_entry.runtime_data.store
    hours = await hass.async_add_executor_job(store.hours, "sensor.house_energy")
    assert [(row.hour - start.timestamp()) / 3600 for row in hours] == [0, 1]
    assert [row.consumption for row in hours] == [pytest.approx(1.5), pytest.approx(1.3)]


async def test_meter_glitch_is_dropped_and_a_steady_meter_uses_nothing(
    hass: HomeAssistant, home_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    start = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    freezer.move_to(start)
    await start_home(hass, home_entry)
    meter = {
        "unit_of_measurement": "kWh",
        "device_class": "energy",
        "state_class": "total_increasing",
    }
    # A glitch to 0 and back in the first hour; then the meter holds for an hour.
    for minute, reading in [(0, "1000.0"), (20, "0"), (21, "1000.3"), (50, "1000.5")]:
        freezer.move_to(start + timedelta(minutes=minute))
        hass.states.async_set("sensor.house_energy", reading, meter)
    freezer.move_to(start + timedelta(hours=2, minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = home_entry.runtime_data.coordinator
    await coordinator.async_refresh()
    store: HistoryStore = home_entry.runtime_data.store
    hours = await hass.async_add_executor_job(store.hours, "sensor.house_energy")
    assert [(row.hour - start.timestamp()) / 3600 for row in hours] == [0, 1]
    assert [row.consumption for row in hours] == [None, 0.0]
    assert coordinator.data.history.coverage["sensor.house_energy"].dropped == {"implausible": 1}


async def test_home_assistant_stopping_writes_what_was_observed(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    hass.states.async_set("light.living_lamp", "on")
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    store = HistoryStore(history_path(hass, setup_home))
    await hass.async_add_executor_job(store.open)
    samples = await hass.async_add_executor_job(store.samples, "light.living_lamp")
    await hass.async_add_executor_job(store.close)
    assert [value for _, value in samples] == [0.0, 1.0]


async def test_removing_the_entry_deletes_its_history(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    path = setup_home.runtime_data.store.path
    assert path.exists()
    assert await hass.config_entries.async_remove(setup_home.entry_id)
    await hass.async_block_till_done()
    assert not path.exists()
    assert not path.parent.exists()  # the only home's folder goes with it
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_foresight_added_again_starts_with_its_automations_off(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """A home removed with its presence simulation on, and added again, simulates nothing
    until the user turns it on: each automation is off until turned on."""
    switch = "switch.foresight_presence_simulation"
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert await hass.config_entries.async_remove(setup_home.entry_id)
    await hass.async_block_till_done()

    await load_entry(hass, entry_like(setup_home, entry_id="added_again"))
    state = hass.states.get(switch)
    assert state is not None
    assert state.state == "off"


async def test_reloading_during_a_refresh_asked_for_abandons_it_quietly(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refresh the user asked for, still running when Foresight reloads, reads no closed file."""
    assert await async_setup_component(hass, "homeassistant", {})
    maintenance = setup_home.runtime_data.coordinator.maintenance
    reporting, go_on = held_when_called(monkeypatch, maintenance, "report")
    update = hass.async_create_task(
        hass.services.async_call(
            "homeassistant",
            "update_entity",
            {"entity_id": "sensor.foresight_history"},
            blocking=True,
        )
    )
    assert await hass.async_add_executor_job(reporting.wait, 10)
    assert await hass.config_entries.async_reload(setup_home.entry_id)
    go_on.set()
    await update
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert setup_home.state is ConfigEntryState.LOADED
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    kept = await _stored(hass, setup_home, "binary_sensor.living_motion")
    assert [value for _, value in kept][-1] == 1.0
    assert setup_home.runtime_data.coordinator.last_update_success


async def test_a_refresh_never_reads_the_models_while_training_rebuilds_them(
    hass: HomeAssistant, setup_home: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training and the refresh run in executor threads; the models are never used by both."""
    coordinator = setup_home.runtime_data.coordinator
    maintenance = coordinator.maintenance
    rebuilding, go_on = threading.Event(), threading.Event()
    train, report = maintenance.train, maintenance.report
    reports_while_rebuilding: list[bool] = []

    def slow_train(now: datetime, relearn: Any) -> None:
        rebuilding.set()
        go_on.wait(10)
        train(now, relearn)
        rebuilding.clear()

    def watched_report(*args: Any) -> Any:
        reports_while_rebuilding.append(rebuilding.is_set())
        return report(*args)

    class WatchedLock(asyncio.Lock):
        """The coordinator's training lock, saying when someone waits for it."""

        def __init__(self) -> None:
            super().__init__()
            self.waited = asyncio.Event()

        async def acquire(self) -> Literal[True]:
            if self.locked():
                self.waited.set()
            return await super().acquire()

    lock = WatchedLock()
    monkeypatch.setattr(coordinator, "_training", lock)
    monkeypatch.setattr(maintenance, "train", slow_train)
    monkeypatch.setattr(maintenance, "report", watched_report)
    training = hass.async_create_task(coordinator.async_train())
    assert await hass.async_add_executor_job(rebuilding.wait, 10)
    refresh = hass.async_create_task(coordinator.async_refresh())
    # The refresh has come to the models and waits while training rebuilds them.
    async with asyncio.timeout(10):
        await lock.waited.wait()
    go_on.set()
    await training
    await refresh
    assert reports_while_rebuilding
    assert not any(reports_while_rebuilding)


async def test_history_is_written_with_polling_switched_off(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """The entry's "polling for updates" off stops the refresh, not the history's writing."""
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    freezer.move_to(start)
    await start_home(hass, home_entry, pref_disable_polling=True)
    freezer.move_to(start + timedelta(minutes=1))
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await hass.async_block_till_done()

    freezer.move_to(start + timedelta(minutes=7))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    store: HistoryStore = home_entry.runtime_data.store
    kept = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    assert [value for _, value in kept][-1] == 1.0


async def test_an_energy_meter_loading_after_foresight_keeps_its_kind(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """After a restart the meter may not be there yet: it is still read as a meter, not power."""
    await start_home(hass, home_entry)
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    hass.states.async_remove("sensor.house_energy")  # its integration has not loaded yet
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    hass.states.async_set(
        "sensor.house_energy",
        "1002.5",
        {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total_increasing"},
    )
    kept = await _stored(hass, home_entry, "sensor.house_energy")
    assert [value for _, value in kept][-1] == 1002.5
    dropped = home_entry.runtime_data.coordinator.data.history.coverage["sensor.house_energy"]
    assert dropped.dropped == {}


async def test_a_setup_that_fails_leaves_nothing_listening(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A first refresh that fails retries the setup later; the history is not written meanwhile."""
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    freezer.move_to(start)

    def broken(*_args: Any) -> None:
        raise RuntimeError("a model that cannot be read")

    monkeypatch.setattr(HomeMaintenance, "report", broken)
    listening = hass.bus.async_listeners().get("state_changed", 0)
    set_home_states(hass)
    home_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(home_entry.entry_id)
    assert home_entry.state is ConfigEntryState.SETUP_RETRY
    caplog.clear()
    freezer.move_to(start + timedelta(seconds=5))  # before the setup's retry
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.bus.async_listeners().get("state_changed", 0) <= listening
    freezer.move_to(start + timedelta(minutes=6))  # the history's flush clock would fire here
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "HistoryClosedError" not in caplog.text


async def test_a_room_added_while_foresight_starts_is_set_up_too(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A room added while Foresight is still starting (after a first room) breaks nothing, and
    Foresight reloads with it once started."""
    set_home_states(hass)
    home_entry.add_to_hass(hass)
    restoring, go_on = held_when_called(monkeypatch, HomeOccupancy, "restore")
    setup = hass.async_create_task(hass.config_entries.async_setup(home_entry.entry_id))
    assert await hass.async_add_executor_job(restoring.wait, 10)
    hass.states.async_set("binary_sensor.study_motion", "off", {"device_class": "motion"})
    hass.config_entries.async_add_subentry(
        home_entry,
        ConfigSubentry(
            data=MappingProxyType({"name": "Study", "motion": ["binary_sensor.study_motion"]}),
            subentry_type=SUBENTRY_ROOM,
            title="Study",
            unique_id="study",
        ),
    )
    go_on.set()
    await setup  # the reload that takes the room in may already have begun
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert home_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.foresight_history") is not None
    assert hass.states.get("sensor.study_occupancy_probability") is not None
    assert set(home_entry.runtime_data.coordinator.room_keys) == {None, *home_entry.subentries}


async def test_a_refresh_writes_its_entities_a_slice_of_the_loop_at_a_time(
    hass: HomeAssistant, setup_home: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big home's hundreds of entities never hold Home Assistant's event loop together: a
    refresh writes them a slice at a time, each one once, and a newer refresh starts anew."""
    coordinator = setup_home.runtime_data.coordinator
    monkeypatch.setattr(coordinator_module, "WRITE_SLICE_S", 0.0)  # a slice: one entity
    written: list[str] = []
    removers = {
        name: coordinator.async_add_listener(lambda name=name: written.append(name))
        for name in ("first", "second", "third")
    }

    coordinator.async_update_listeners()
    assert written == []  # Foresight's entities come first; the loop was let in after one
    await hass.async_block_till_done()
    assert written == ["first", "second", "third"]

    written.clear()
    coordinator.async_update_listeners()
    coordinator.async_update_listeners()  # a newer refresh: the older writing stops
    removers["second"]()  # an entity removed meanwhile is not written
    await hass.async_block_till_done()
    assert written == ["first", "third"]
    removers["first"]()
    removers["third"]()
