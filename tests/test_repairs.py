"""What goes wrong in a real home: damaged history, sources renamed, removed or not recorded."""

from __future__ import annotations

import asyncio

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.foresight import history_path
from custom_components.foresight.const import (
    CONF_BATTERY_LOW_LEVELS,
    CONF_ENERGY_SENSOR,
    CONF_EXCLUDED_BATTERIES,
    CONF_EXPORT_SENSOR,
    CONF_PRODUCTION_SENSOR,
    CONF_TRUSTED_PRESENCE,
    CONF_WATCHED_APPLIANCES,
    CONF_WORKDAY_SENSOR,
    DOMAIN,
    SUBENTRY_ROOM,
)
from custom_components.foresight.history import HistoryStore
from custom_components.foresight.models import ModelStore
from homeassistant.components.energy.data import async_get_manager
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component

from .conftest import load_entry, set_home_states


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _setup_registered(
    hass: HomeAssistant, entry: MockConfigEntry, entity_id: str
) -> er.EntityRegistry:
    """The home set up with ``entity_id`` in the entity registry (so it can be renamed)."""
    registry = er.async_get(hass)
    domain, object_id = entity_id.split(".")
    registered = registry.async_get_or_create(
        domain, "test", object_id, suggested_object_id=object_id
    )
    assert registered.entity_id == entity_id
    set_home_states(hass)
    await _setup(hass, entry)
    return registry


async def test_damaged_history_is_set_aside_and_rebuilt(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await async_wait_recording_done(hass)
    path = history_path(hass, home_entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4096)

    await _setup(hass, home_entry)
    assert home_entry.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "history_rebuilt")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["path"].startswith(f"{path.name}.damaged-")
    assert list(path.parent.glob(f"{path.name}.damaged-*"))
    # Rebuilt from the recorder: the motion sensor's earlier "off" and its "on".
    store: HistoryStore = home_entry.runtime_data.store
    samples = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    assert [value for _, value in samples] == [0.0, 1.0]

    # The issue's fix: the user confirms, and the damaged copy is deleted.
    assert issue.is_fixable
    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    form = await flows.async_init(DOMAIN, data={"issue_id": "history_rebuilt"})
    assert form["type"] is FlowResultType.FORM and form["step_id"] == "confirm"
    assert form["description_placeholders"] == issue.translation_placeholders
    done = await flows.async_configure(form["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert not list(path.parent.glob(f"{path.name}.damaged-*"))
    assert path.exists()  # the rebuilt history stays
    assert ir.async_get(hass).async_get_issue(DOMAIN, "history_rebuilt") is None


async def test_a_damaged_history_set_aside_before_a_restart_is_still_reported(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    path = history_path(hass, home_entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Set aside at an earlier start, and the issue of it gone with that Home Assistant.
    older = path.with_name(f"{path.name}.damaged-20260101000000")
    newer = path.with_name(f"{path.name}.damaged-20260102000000")
    older.write_bytes(b"damaged")
    newer.write_bytes(b"damaged")
    set_home_states(hass)

    await _setup(hass, home_entry)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, "history_rebuilt")
    assert issue is not None
    assert issue.translation_placeholders == {"path": newer.name}

    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    form = await flows.async_init(DOMAIN, data={"issue_id": "history_rebuilt"})
    await flows.async_configure(form["flow_id"], {})
    assert not newer.exists()
    assert older.exists()  # told of at the next start


async def test_missing_source_raises_an_issue_that_clears(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    hass.states.async_remove("sensor.living_co2")
    await _setup(hass, home_entry)
    issue_id = "source_missing_sensor.living_co2"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "source_missing"
    assert issue.translation_placeholders == {"entity_id": "sensor.living_co2"}

    set_home_states(hass)
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_removed_source_raises_an_issue(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    registry = await _setup_registered(hass, home_entry, "sensor.living_co2")
    assert ir.async_get(hass).async_get_issue(DOMAIN, "source_missing_sensor.living_co2") is None

    registry.async_remove("sensor.living_co2")
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, "source_missing_sensor.living_co2") is not None
    )


async def test_a_removed_battery_is_no_longer_watched(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """A battery watched only for being one is let go when removed: no issue nobody can fix."""
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor", "test", "smoke_alarm_battery", suggested_object_id="smoke_alarm_battery"
    )
    battery = {"device_class": "battery", "unit_of_measurement": "%"}
    hass.states.async_set("sensor.smoke_alarm_battery", "95", battery)
    set_home_states(hass)
    await _setup(hass, home_entry)
    assert "sensor.smoke_alarm_battery" in home_entry.runtime_data.coordinator.maintenance.keys

    registry.async_remove("sensor.smoke_alarm_battery")
    hass.states.async_remove("sensor.smoke_alarm_battery")
    await hass.async_block_till_done(wait_background_tasks=True)
    issue_id = "source_missing_sensor.smoke_alarm_battery"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert home_entry.state is ConfigEntryState.LOADED
    keys = home_entry.runtime_data.coordinator.maintenance.keys
    assert "sensor.smoke_alarm_battery" not in keys


@pytest.mark.parametrize(
    "recorder_config", [{"exclude": {"entities": ["sensor.living_temperature"]}}]
)
async def test_source_not_recorded_raises_an_issue(
    hass: HomeAssistant, home_entry: MockConfigEntry, recorder_config: dict[str, object]
) -> None:
    set_home_states(hass)
    await _setup(hass, home_entry)
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, "source_not_recorded_sensor.living_temperature"
    )
    assert issue is not None
    assert issue.translation_placeholders == {"entity_id": "sensor.living_temperature"}


async def test_renamed_source_keeps_its_history(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    registry = await _setup_registered(hass, home_entry, "binary_sensor.living_motion")
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await hass.async_block_till_done()

    registry.async_update_entity(
        "binary_sensor.living_motion", new_entity_id="binary_sensor.lounge_motion"
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    hass.states.async_set("binary_sensor.lounge_motion", "off", {"device_class": "motion"})
    await hass.async_block_till_done()

    room = next(iter(home_entry.subentries.values()))
    assert room.data["motion"] == ["binary_sensor.lounge_motion"]
    assert home_entry.state is ConfigEntryState.LOADED
    await home_entry.runtime_data.coordinator.async_refresh()
    store: HistoryStore = home_entry.runtime_data.store
    old = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    new = await hass.async_add_executor_job(store.samples, "binary_sensor.lounge_motion")
    assert old == []
    assert [value for _, value in new][:2] == [0.0, 1.0]
    assert [value for _, value in new][-1] == 0.0
    # Nothing is kept under the old id, not even an empty series.
    assert "binary_sensor.living_motion" not in await hass.async_add_executor_job(store.kinds)


async def test_what_was_learned_of_a_renamed_appliance_is_kept_under_its_new_id(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """The periods an appliance was flagged (never learned from) follow it through a rename."""
    registry = er.async_get(hass)
    registry.async_get_or_create("sensor", "test", "fridge", suggested_object_id="fridge_power")
    set_home_states(hass)
    options = {**home_entry.options, CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"]}
    await load_entry(hass, home_entry, options=options)
    flagged = [(1_790_000_000.0, 1_790_086_400.0)]
    maintenance = home_entry.runtime_data.coordinator.maintenance
    maintenance.flagged["sensor.fridge_power"] = flagged
    home_entry.runtime_data.models.put("maintenance", maintenance.parameters())

    registry.async_update_entity("sensor.fridge_power", new_entity_id="sensor.kitchen_fridge")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert home_entry.state is ConfigEntryState.LOADED
    maintenance = home_entry.runtime_data.coordinator.maintenance
    assert maintenance.flagged["sensor.kitchen_fridge"] == flagged
    assert "sensor.fridge_power" not in maintenance.flagged


@pytest.mark.parametrize(
    ("renames", "kept_as"),
    [
        ([("fridge_power", "kitchen_fridge"), ("kitchen_fridge", "fridge")], "fridge"),
        ([("fridge_power", "kitchen_fridge"), ("kitchen_fridge", "fridge_power")], "fridge_power"),
    ],
    ids=["renamed_twice", "renamed_back"],
)
async def test_models_follow_an_entity_renamed_twice_before_they_reload(
    hass: HomeAssistant, renames: list[tuple[str, str]], kept_as: str
) -> None:
    """The models are saved under the entity's last id, whatever ids it went through."""
    flagged = {"flagged": {"sensor.fridge_power": [[1_790_000_000.0, 1_790_086_400.0]]}}
    models = ModelStore(hass, "home")
    await models.async_load()
    models.put("maintenance", flagged)
    for old, new in renames:
        models.rename(f"sensor.{old}", f"sensor.{new}")
    await models.async_close()

    reloaded = ModelStore(hass, "home")
    await reloaded.async_load()
    assert reloaded.get("maintenance") == {
        "flagged": {f"sensor.{kept_as}": flagged["flagged"]["sensor.fridge_power"]}
    }


@pytest.mark.parametrize("all_at_once", [False, True], ids=["one_by_one", "all_at_once"])
async def test_a_rename_follows_every_setting_that_names_the_entity(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    all_at_once: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Renamed one by one, or all at once as renaming their device does: every setting follows."""
    registry = er.async_get(hass)
    renamed = {
        "binary_sensor.living_motion": "binary_sensor.lounge_motion",
        "sensor.fridge_power": "sensor.kitchen_fridge_power",
        "binary_sensor.workday": "binary_sensor.working_day",
        "sensor.door_battery": "sensor.front_door_battery",
        "sensor.remote_battery": "sensor.tv_remote_battery",
        "sensor.solar_power": "sensor.roof_solar_power",
    }
    for entity_id in renamed:
        domain, object_id = entity_id.split(".")
        registry.async_get_or_create(domain, "test", object_id, suggested_object_id=object_id)
    set_home_states(hass)
    hass.states.async_set("sensor.fridge_power", "80", {"unit_of_measurement": "W"})
    hass.states.async_set("binary_sensor.workday", "on")
    battery = {"device_class": "battery", "unit_of_measurement": "%"}
    hass.states.async_set("sensor.door_battery", "80", battery)
    hass.states.async_set("sensor.remote_battery", "60", battery)
    hass.states.async_set("sensor.solar_power", "0", {"unit_of_measurement": "W"})
    room = next(iter(home_entry.subentries.values()))
    home_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Foresight",
        version=home_entry.version,
        data={**home_entry.data, CONF_PRODUCTION_SENSOR: ["sensor.solar_power"]},
        options={
            **home_entry.options,
            CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"],
            CONF_WORKDAY_SENSOR: "binary_sensor.workday",
            CONF_EXCLUDED_BATTERIES: ["sensor.remote_battery"],
            CONF_BATTERY_LOW_LEVELS: {"sensor.door_battery": 20},
        },
        subentries_data=[
            ConfigSubentryData(
                data={**room.data, CONF_TRUSTED_PRESENCE: ["binary_sensor.living_motion"]},
                subentry_type=SUBENTRY_ROOM,
                title=room.title,
                unique_id=room.unique_id,
            )
        ],
    )
    await _setup(hass, home_entry)

    for old, new in renamed.items():
        registry.async_update_entity(old, new_entity_id=new)
        if not all_at_once:
            await hass.async_block_till_done(wait_background_tasks=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    room = next(iter(home_entry.subentries.values()))
    assert room.data["motion"] == ["binary_sensor.lounge_motion"]
    assert room.data[CONF_TRUSTED_PRESENCE] == ["binary_sensor.lounge_motion"]
    options = home_entry.options
    assert options[CONF_WATCHED_APPLIANCES] == ["sensor.kitchen_fridge_power"]
    assert options[CONF_WORKDAY_SENSOR] == "binary_sensor.working_day"
    assert options[CONF_EXCLUDED_BATTERIES] == ["sensor.tv_remote_battery"]
    assert options[CONF_BATTERY_LOW_LEVELS] == {"sensor.front_door_battery": 20}
    assert home_entry.data[CONF_PRODUCTION_SENSOR] == ["sensor.roof_solar_power"]
    # The appliance's history went with it.
    store: HistoryStore = home_entry.runtime_data.store
    kept = await hass.async_add_executor_job(store.samples, "sensor.kitchen_fridge_power")
    assert [value for _, value in kept][:1] == [80.0]
    kept = await hass.async_add_executor_job(store.samples, "sensor.front_door_battery")
    assert [value for _, value in kept][:1] == [80.0]
    assert "Error" not in caplog.text


async def test_a_renamed_lamp_keeps_both_its_series(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """The lamp's own series and its by-hand one (the room's occupancy) both follow a rename."""
    registry = await _setup_registered(hass, home_entry, "light.living_lamp")
    hass.states.async_set("light.living_lamp", "on")
    await hass.async_block_till_done()

    registry.async_update_entity("light.living_lamp", new_entity_id="light.lounge_lamp")
    await hass.async_block_till_done(wait_background_tasks=True)
    await home_entry.runtime_data.coordinator.async_refresh()
    store: HistoryStore = home_entry.runtime_data.store
    for suffix in ("", "#by_hand"):
        old = await hass.async_add_executor_job(store.samples, f"light.living_lamp{suffix}")
        new = await hass.async_add_executor_job(store.samples, f"light.lounge_lamp{suffix}")
        assert old == []
        assert [value for _, value in new][:2] == [0.0, 1.0]


async def _watch_a_registered_fridge(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> er.EntityRegistry:
    """Set the home up watching sensor.fridge_power, registered (without a state) as Fridge."""
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor", "test", "fridge", suggested_object_id="fridge_power", original_name="Fridge"
    )
    set_home_states(hass)
    options = {**home_entry.options, CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"]}
    await load_entry(hass, home_entry, options=options)
    return registry


async def test_a_renamed_appliance_keeps_its_problem_sensor(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """Renaming the watched power sensor keeps the one problem sensor, its id and its name."""
    # The power sensor has no state yet: its integration loads after Foresight.
    registry = await _watch_a_registered_fridge(hass, home_entry)
    problem = hass.states.get("binary_sensor.foresight_fridge_problem")
    assert problem is not None
    assert problem.name == "Foresight Fridge problem"

    registry.async_update_entity("sensor.fridge_power", new_entity_id="sensor.kitchen_fridge")
    await hass.async_block_till_done(wait_background_tasks=True)

    problems = [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(registry, home_entry.entry_id)
        if entity.translation_key == "appliance_problem"
    ]
    assert problems == ["binary_sensor.foresight_fridge_problem"]
    problem = hass.states.get("binary_sensor.foresight_fridge_problem")
    assert problem is not None
    assert not problem.attributes.get("restored")
    assert problem.attributes["power_sensor"] == "sensor.kitchen_fridge"


async def test_an_appliance_whose_power_sensor_was_deleted_shows_no_verdict(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """Once its power sensor is deleted, an appliance's learned cycles say nothing of it now."""
    registry = await _watch_a_registered_fridge(hass, home_entry)
    problem = hass.states.get("binary_sensor.foresight_fridge_problem")
    assert problem is not None
    assert problem.state != "unavailable"

    registry.async_remove("sensor.fridge_power")
    await hass.async_block_till_done(wait_background_tasks=True)
    await home_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()

    assert ir.async_get(hass).async_get_issue(DOMAIN, "source_missing_sensor.fridge_power")
    problem = hass.states.get("binary_sensor.foresight_fridge_problem")
    assert problem is not None
    assert problem.state == "unavailable"


async def test_an_appliance_problem_sensor_named_by_its_entity_id_keeps_its_settings(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """One registered under the power sensor's entity id (an earlier version) is kept as is."""
    registry = er.async_get(hass)
    registry.async_get_or_create("sensor", "test", "fridge", suggested_object_id="fridge_power")
    home_entry.add_to_hass(hass)
    earlier = registry.async_get_or_create(
        "binary_sensor",
        DOMAIN,
        f"{home_entry.entry_id}_appliance_sensor.fridge_power",
        config_entry=home_entry,
        suggested_object_id="my_fridge_problem",
    )
    registry.async_update_entity(earlier.entity_id, name="Fridge alarm")
    set_home_states(hass)
    options = {**home_entry.options, CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"]}
    await load_entry(hass, home_entry, options=options)

    problems = [
        entity
        for entity in er.async_entries_for_config_entry(registry, home_entry.entry_id)
        if entity.domain == "binary_sensor" and "_appliance_" in entity.unique_id
    ]
    assert [(e.entity_id, e.name) for e in problems] == [
        ("binary_sensor.my_fridge_problem", "Fridge alarm")
    ]
    assert hass.states.get("binary_sensor.my_fridge_problem") is not None


async def _energy_flows_issue(
    hass: HomeAssistant, entry: MockConfigEntry, energy_sources: list[dict[str, str]]
) -> ir.IssueEntry | None:
    """The energy flows issue of the home set up while the Energy dashboard has these sources."""
    await (await async_get_manager(hass)).async_update({"energy_sources": energy_sources})
    set_home_states(hass)
    await _setup(hass, entry)
    return ir.async_get(hass).async_get_issue(DOMAIN, "energy_flows_missing")


async def _fix_energy_flows(hass: HomeAssistant) -> None:
    """Confirm the fix of the energy flows issue, as a user does in Repairs."""
    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    form = await flows.async_init(DOMAIN, data={"issue_id": "energy_flows_missing"})
    assert form["type"] is FlowResultType.FORM and form["step_id"] == "confirm"
    done = await flows.async_configure(form["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_home_learning_from_its_grid_import_alone_is_told_of_its_solar_panels(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """The Energy dashboard's solar and export meters: a repair issue whose fix adds them."""
    meter = {"unit_of_measurement": "kWh", "device_class": "energy"}
    hass.states.async_set("sensor.solar_energy", "812.4", meter)
    hass.states.async_set("sensor.grid_export", "356.0", meter)
    grid = {"type": "grid", "stat_energy_from": "sensor.house_energy"}
    solar = {"type": "solar", "stat_energy_from": "sensor.solar_energy"}
    issue = await _energy_flows_issue(
        hass, home_entry, [{**grid, "stat_energy_to": "sensor.grid_export"}, solar]
    )
    assert issue is not None
    assert issue.translation_placeholders == {"sensors": "sensor.solar_energy, sensor.grid_export"}

    await _fix_energy_flows(hass)

    assert home_entry.data[CONF_PRODUCTION_SENSOR] == ["sensor.solar_energy"]
    assert home_entry.data[CONF_EXPORT_SENSOR] == ["sensor.grid_export"]
    assert home_entry.state is ConfigEntryState.LOADED
    energy = home_entry.runtime_data.coordinator.energy
    assert energy is not None
    assert len(energy.flows) == 3
    assert ir.async_get(hass).async_get_issue(DOMAIN, "energy_flows_missing") is None


async def test_a_home_learning_from_one_tariff_is_told_of_the_other(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """The dashboard's grid meter counts two tariffs; the home reads the first one only."""
    hass.states.async_set(
        "sensor.house_energy_night",
        "91.0",
        {"unit_of_measurement": "kWh", "device_class": "energy"},
    )
    tariffs = [
        {"type": "grid", "stat_energy_from": "sensor.house_energy"},
        {"type": "grid", "stat_energy_from": "sensor.house_energy_night"},
    ]
    issue = await _energy_flows_issue(hass, home_entry, tariffs)
    assert issue is not None
    assert issue.translation_placeholders == {"sensors": "sensor.house_energy_night"}

    await _fix_energy_flows(hass)
    assert home_entry.data[CONF_ENERGY_SENSOR] == [
        "sensor.house_energy",
        "sensor.house_energy_night",
    ]
    energy = home_entry.runtime_data.coordinator.energy
    assert energy is not None and len(energy.flows) == 2
    assert ir.async_get(hass).async_get_issue(DOMAIN, "energy_flows_missing") is None


@pytest.mark.parametrize(
    "energy_sources",
    [
        [],  # no Energy dashboard
        [{"type": "grid", "stat_energy_from": "sensor.house_energy"}],  # no solar, no battery
        # Another grid meter than the home's: not the home Foresight was told of.
        [
            {"type": "grid", "stat_energy_from": "sensor.grid_power"},
            {"type": "solar", "stat_energy_from": "sensor.house_energy"},
        ],
    ],
)
async def test_no_energy_flows_issue_where_there_is_nothing_to_add(
    hass: HomeAssistant, home_entry: MockConfigEntry, energy_sources: list[dict[str, str]]
) -> None:
    hass.states.async_set("sensor.grid_power", "1.2", {"unit_of_measurement": "kW"})
    assert await _energy_flows_issue(hass, home_entry, energy_sources) is None


async def test_the_energy_flows_issue_follows_the_energy_dashboard(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """Solar panels added to the dashboard raise the issue; taken off it, it clears."""
    meter = {"unit_of_measurement": "kWh", "device_class": "energy"}
    hass.states.async_set("sensor.solar_energy", "812.4", meter)
    grid = {"type": "grid", "stat_energy_from": "sensor.house_energy"}
    solar = {"type": "solar", "stat_energy_from": "sensor.solar_energy"}
    manager = await async_get_manager(hass)
    await manager.async_update({"energy_sources": [grid]})
    set_home_states(hass)
    await _setup(hass, home_entry)
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, "energy_flows_missing") is None

    await manager.async_update({"energy_sources": [grid, solar]})
    issue = issues.async_get_issue(DOMAIN, "energy_flows_missing")
    assert issue is not None
    assert issue.translation_placeholders == {"sensors": "sensor.solar_energy"}

    await manager.async_update({"energy_sources": [grid]})
    assert issues.async_get_issue(DOMAIN, "energy_flows_missing") is None


async def test_the_energy_flows_fix_says_so_when_the_meters_are_gone(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """Meters removed from Home Assistant since the issue was raised: nothing to add."""
    hass.states.async_set("sensor.solar_energy", "812.4", {"device_class": "energy"})
    solar = {"type": "solar", "stat_energy_from": "sensor.solar_energy"}
    grid = {"type": "grid", "stat_energy_from": "sensor.house_energy"}
    assert await _energy_flows_issue(hass, home_entry, [grid, solar]) is not None

    hass.states.async_remove("sensor.solar_energy")
    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    result = await flows.async_init(DOMAIN, data={"issue_id": "energy_flows_missing"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "nothing_to_add"
    assert CONF_PRODUCTION_SENSOR not in home_entry.data
    assert ir.async_get(hass).async_get_issue(DOMAIN, "energy_flows_missing") is None


async def test_entities_renamed_together_each_keep_their_settings_and_history(
    hass: HomeAssistant, home_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Renaming a device renames its entities at once: the first rename's reload loses none."""
    registry = er.async_get(hass)
    renamed = {
        "person.alice": "person.alice_smith",
        "binary_sensor.living_motion": "binary_sensor.lounge_motion",
        "sensor.house_energy": "sensor.grid_energy",
    }
    for entity_id in renamed:
        domain, object_id = entity_id.split(".")
        registry.async_get_or_create(domain, "test", object_id, suggested_object_id=object_id)
    set_home_states(hass)
    await _setup(hass, home_entry)

    for old, new in renamed.items():  # one after the other, without waiting for Foresight
        registry.async_update_entity(old, new_entity_id=new)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert "HistoryClosedError" not in caplog.text
    assert home_entry.state is ConfigEntryState.LOADED
    assert home_entry.data["people"] == ["person.alice_smith"]
    assert home_entry.data[CONF_ENERGY_SENSOR] == ["sensor.grid_energy"]
    room = next(iter(home_entry.subentries.values()))
    assert room.data["motion"] == ["binary_sensor.lounge_motion"]
    store: HistoryStore = home_entry.runtime_data.store
    kinds = await hass.async_add_executor_job(store.kinds)
    assert not kinds.keys() & renamed.keys()
    assert kinds.keys() >= {"binary_sensor.lounge_motion", "sensor.grid_energy"}


async def test_a_rename_under_way_when_the_home_reloads_is_finished_first(
    hass: HomeAssistant, home_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    registry = await _setup_registered(hass, home_entry, "binary_sensor.living_motion")

    registry.async_update_entity(
        "binary_sensor.living_motion", new_entity_id="binary_sensor.lounge_motion"
    )
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert "HistoryClosedError" not in caplog.text
    assert home_entry.state is ConfigEntryState.LOADED
    room = next(iter(home_entry.subentries.values()))
    assert room.data["motion"] == ["binary_sensor.lounge_motion"]
    store: HistoryStore = home_entry.runtime_data.store
    kinds = await hass.async_add_executor_job(store.kinds)
    assert "binary_sensor.living_motion" not in kinds
    assert "binary_sensor.lounge_motion" in kinds


async def test_a_rename_while_the_home_is_not_loaded_is_followed_when_it_loads(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """Renamed while Foresight is unloaded (disabled, or setting up again): history and settings
    follow once it loads, and no repair says the old id is missing."""
    registry = await _setup_registered(hass, home_entry, "binary_sensor.living_motion")
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(home_entry.entry_id)

    registry.async_update_entity(
        "binary_sensor.living_motion", new_entity_id="binary_sensor.lounge_motion"
    )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert home_entry.state is ConfigEntryState.LOADED
    room = next(iter(home_entry.subentries.values()))
    assert room.data["motion"] == ["binary_sensor.lounge_motion"]
    store: HistoryStore = home_entry.runtime_data.store
    new = await hass.async_add_executor_job(store.samples, "binary_sensor.lounge_motion")
    assert [value for _, value in new][:2] == [0.0, 1.0]
    assert "binary_sensor.living_motion" not in await hass.async_add_executor_job(store.kinds)
    issues = ir.async_get(hass).issues
    assert (DOMAIN, "source_missing_binary_sensor.living_motion") not in issues


async def test_a_rename_landing_while_an_earlier_one_reloads_the_home_is_followed(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """A device renamed from the frontend renames its entities one call at a time: a later one
    may come while the first one's reload has the home unloaded."""
    registry = er.async_get(hass)
    for entity_id in ("binary_sensor.living_motion", "sensor.living_temperature"):
        domain, object_id = entity_id.split(".")
        registry.async_get_or_create(domain, "test", object_id, suggested_object_id=object_id)
    set_home_states(hass)
    await _setup(hass, home_entry)

    unloading = asyncio.Event()

    def _state_changed() -> None:
        if home_entry.state is not ConfigEntryState.LOADED:
            unloading.set()

    stop = home_entry.async_on_state_change(_state_changed)
    registry.async_update_entity(
        "binary_sensor.living_motion", new_entity_id="binary_sensor.lounge_motion"
    )
    await unloading.wait()  # the rename's reload begins
    stop()
    registry.async_update_entity(
        "sensor.living_temperature", new_entity_id="sensor.lounge_temperature"
    )
    await hass.async_block_till_done(wait_background_tasks=True)

    assert home_entry.state is ConfigEntryState.LOADED
    room = next(iter(home_entry.subentries.values()))
    assert room.data["motion"] == ["binary_sensor.lounge_motion"]
    assert room.data["temperature"] == ["sensor.lounge_temperature"]
    store: HistoryStore = home_entry.runtime_data.store
    kinds = await hass.async_add_executor_job(store.kinds)
    assert "sensor.living_temperature" not in kinds
    assert "sensor.lounge_temperature" in kinds
