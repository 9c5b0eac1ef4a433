"""The UI setup: the home, its settings, and rooms as subentries."""

from __future__ import annotations

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.foresight.const import (
    CONF_AREA,
    CONF_BATTERY_CHARGE_SENSOR,
    CONF_BATTERY_DISCHARGE_SENSOR,
    CONF_BATTERY_LOW_LEVEL,
    CONF_BATTERY_LOW_LEVELS,
    CONF_CLIMATE,
    CONF_ENERGY_SENSOR,
    CONF_EXCLUDED_BATTERIES,
    CONF_EXPORT_SENSOR,
    CONF_NAME,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_PEOPLE,
    CONF_PET_PRONE,
    CONF_PRODUCTION_SENSOR,
    CONF_RETENTION_DAYS,
    CONF_SIMULATION_LIGHTS,
    CONF_SIMULATION_MEDIA,
    CONF_TRUSTED_PRESENCE,
    CONF_WATCHED_APPLIANCES,
    CONF_WORKDAY_SENSOR,
    DOMAIN,
    SUBENTRY_ROOM,
)
from custom_components.foresight.energy_dashboard import async_energy_dashboard_sensors
from homeassistant.components.energy.data import async_get_manager
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import area_registry as ar, device_registry as dr, entity_registry as er

from .conftest import HOME_DATA, set_home_states, start_home
from .controllers_helpers import turn


@pytest.fixture(autouse=True)
def _states(hass: HomeAssistant) -> None:
    set_home_states(hass)
    hass.states.async_set(
        "sensor.grid_power", "1.2", {"unit_of_measurement": "kW", "device_class": "power"}
    )
    hass.states.async_set("binary_sensor.workday", "on")
    hass.states.async_set(
        "sensor.solar_energy", "812.4", {"unit_of_measurement": "kWh", "device_class": "energy"}
    )
    for meter, reading in (
        ("grid_export", "356.0"),
        ("battery_out", "91.5"),
        ("battery_in", "97.2"),
    ):
        hass.states.async_set(
            f"sensor.{meter}", reading, {"unit_of_measurement": "kWh", "device_class": "energy"}
        )


SOLAR_HOME = {
    **HOME_DATA,
    CONF_PRODUCTION_SENSOR: ["sensor.solar_energy"],
    CONF_EXPORT_SENSOR: ["sensor.grid_power"],
}


def _suggested(result: ConfigFlowResult) -> dict[str, object]:
    """The values a form suggests, by field."""
    return {
        str(field): field.description["suggested_value"]
        for field in result["data_schema"].schema
        if field.description and "suggested_value" in field.description
    }


async def test_home_step_creates_the_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOME_DATA)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Foresight"
    assert result["data"] == HOME_DATA
    assert result["result"].options == {CONF_RETENTION_DAYS: 400}


async def test_home_step_accepts_power_and_nothing_optional(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENERGY_SENSOR: ["sensor.grid_power"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_PEOPLE: [], CONF_ENERGY_SENSOR: ["sensor.grid_power"]}


async def test_home_step_takes_a_solar_homes_production_and_export(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOLAR_HOME)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == SOLAR_HOME


async def test_home_step_suggests_the_energy_dashboards_sensors(hass: HomeAssistant) -> None:
    """The grid import and export and the solar production the Energy dashboard knows."""
    manager = await async_get_manager(hass)
    await manager.async_update(
        {
            "energy_sources": [
                {
                    "type": "grid",
                    "stat_energy_from": "sensor.house_energy",
                    "stat_energy_to": "sensor.grid_export",
                    "stat_cost": None,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                    "stat_compensation": None,
                    "entity_energy_price_export": None,
                    "number_energy_price_export": None,
                    "cost_adjustment_day": 0.0,
                },
                {
                    "type": "solar",
                    "stat_energy_from": "sensor.solar_energy",
                    "config_entry_solar_forecast": None,
                },
                {
                    "type": "battery",
                    "stat_energy_from": "sensor.battery_out",
                    "stat_energy_to": "sensor.battery_in",
                },
            ]
        }
    )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert _suggested(result) == {
        CONF_ENERGY_SENSOR: ["sensor.house_energy"],
        CONF_PRODUCTION_SENSOR: ["sensor.solar_energy"],
        CONF_EXPORT_SENSOR: ["sensor.grid_export"],
        CONF_BATTERY_DISCHARGE_SENSOR: ["sensor.battery_out"],
        CONF_BATTERY_CHARGE_SENSOR: ["sensor.battery_in"],
    }

    # A production that is an external statistic, not an entity, is not suggested.
    solar = {"type": "solar", "stat_energy_from": "inverter:production"}
    await manager.async_update({"energy_sources": [manager.data["energy_sources"][0], solar]})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert CONF_PRODUCTION_SENSOR not in _suggested(result)
    assert _suggested(result)[CONF_ENERGY_SENSOR] == ["sensor.house_energy"]


async def test_home_step_suggests_both_tariffs_and_every_inverter(hass: HomeAssistant) -> None:
    """A meter with two tariffs is two grid connections on the dashboard: both are suggested,
    as are both inverters, but not a flow of which a part is no entity."""
    for meter in ("tariff_1", "tariff_2", "export_1", "export_2", "roof", "garage"):
        hass.states.async_set(
            f"sensor.{meter}", "1.0", {"unit_of_measurement": "kWh", "device_class": "energy"}
        )
    grids = [
        {"type": "grid", "stat_energy_from": f"sensor.tariff_{n}", "stat_energy_to": export}
        for n, export in ((1, "sensor.export_1"), (2, "sensor.export_2"))
    ]
    solars = [
        {"type": "solar", "stat_energy_from": "sensor.roof"},
        {"type": "solar", "stat_energy_from": "sensor.garage"},
    ]
    manager = await async_get_manager(hass)
    await manager.async_update({"energy_sources": [*grids, *solars]})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert _suggested(result) == {
        CONF_ENERGY_SENSOR: ["sensor.tariff_1", "sensor.tariff_2"],
        CONF_PRODUCTION_SENSOR: ["sensor.roof", "sensor.garage"],
        CONF_EXPORT_SENSOR: ["sensor.export_1", "sensor.export_2"],
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _suggested(result))
    assert result["type"] is FlowResultType.CREATE_ENTRY

    # One inverter an external statistic: its production would be missing from the home's use.
    solars[1] = {"type": "solar", "stat_energy_from": "inverter:garage"}
    await manager.async_update({"energy_sources": [*grids, *solars]})
    assert await async_energy_dashboard_sensors(hass) == {
        CONF_ENERGY_SENSOR: ["sensor.tariff_1", "sensor.tariff_2"],
        CONF_EXPORT_SENSOR: ["sensor.export_1", "sensor.export_2"],
    }


async def test_home_step_suggests_nothing_without_an_energy_dashboard(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert _suggested(result) == {}


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (
            {**SOLAR_HOME, CONF_PRODUCTION_SENSOR: ["sensor.living_temperature"]},
            {CONF_PRODUCTION_SENSOR: "not_energy_or_power"},
        ),
        (
            {**SOLAR_HOME, CONF_EXPORT_SENSOR: ["sensor.nothing"]},
            {CONF_EXPORT_SENSOR: "entity_not_found"},
        ),
        (
            {**SOLAR_HOME, CONF_EXPORT_SENSOR: ["sensor.house_energy"]},
            {CONF_EXPORT_SENSOR: "sensor_chosen_twice"},
        ),
        (
            {CONF_PRODUCTION_SENSOR: ["sensor.solar_energy"]},
            {CONF_PRODUCTION_SENSOR: "needs_main_sensor"},
        ),
        ({CONF_ENERGY_SENSOR: ["sensor.does_not_exist"]}, {CONF_ENERGY_SENSOR: "entity_not_found"}),
        (
            {CONF_ENERGY_SENSOR: ["sensor.living_temperature"]},
            {CONF_ENERGY_SENSOR: "not_energy_or_power"},
        ),
        (
            {CONF_OUTDOOR_TEMPERATURE: "sensor.grid_power"},
            {CONF_OUTDOOR_TEMPERATURE: "not_temperature"},
        ),
        (
            {CONF_OUTDOOR_TEMPERATURE: "sensor.nowhere"},
            {CONF_OUTDOOR_TEMPERATURE: "entity_not_found"},
        ),
        ({CONF_PEOPLE: ["person.nobody"]}, {CONF_PEOPLE: "entity_not_found"}),
    ],
)
async def test_home_step_errors_then_recovers(
    hass: HomeAssistant, user_input: dict[str, object], errors: dict[str, str]
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors

    result = await hass.config_entries.flow.async_configure(result["flow_id"], HOME_DATA)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_meters_power_and_energy_are_not_counted_together(hass: HomeAssistant) -> None:
    """A smart meter's power sensor and its energy counter are one supply: chosen together, the
    home's use would count twice. Its two tariffs' counters are two halves, and stay welcome."""
    meter_entry = MockConfigEntry(domain="p1_meter")
    meter_entry.add_to_hass(hass)
    meter = dr.async_get(hass).async_get_or_create(
        config_entry_id=meter_entry.entry_id, identifiers={("p1_meter", "meter")}
    )
    registry = er.async_get(hass)
    sensors = {}
    for key, unit, device_class in (
        ("power", "W", "power"),
        ("tariff_1", "kWh", "energy"),
        ("tariff_2", "kWh", "energy"),
    ):
        sensors[key] = registry.async_get_or_create(
            "sensor", "p1_meter", key, device_id=meter.id
        ).entity_id
        hass.states.async_set(
            sensors[key], "100", {"unit_of_measurement": unit, "device_class": device_class}
        )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENERGY_SENSOR: [sensors["tariff_1"], sensors["power"]]}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_ENERGY_SENSOR: "power_and_energy_of_one_meter"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENERGY_SENSOR: [sensors["tariff_1"], sensors["tariff_2"]]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_only_one_home(hass: HomeAssistant) -> None:
    MockConfigEntry(domain=DOMAIN, data=HOME_DATA).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"


async def test_reconfigure_home(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    result = await setup_home.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENERGY_SENSOR: ["sensor.living_co2"]}
    )
    assert result["errors"] == {CONF_ENERGY_SENSOR: "not_energy_or_power"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PEOPLE: [], CONF_ENERGY_SENSOR: ["sensor.grid_power"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert setup_home.data == {CONF_PEOPLE: [], CONF_ENERGY_SENSOR: ["sensor.grid_power"]}
    # Reloaded, the home learns from its new meter.
    await hass.async_block_till_done(wait_background_tasks=True)
    energy = setup_home.runtime_data.coordinator.energy
    assert energy is not None
    assert energy.entity_ids == ("sensor.grid_power",)


async def test_reconfigure_a_solar_home_keeps_its_production_and_export(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    result = await setup_home.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**SOLAR_HOME, CONF_PRODUCTION_SENSOR: ["sensor.living_co2"]}
    )
    assert result["errors"] == {CONF_PRODUCTION_SENSOR: "not_energy_or_power"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], SOLAR_HOME)
    assert result["reason"] == "reconfigure_successful"
    assert setup_home.data == SOLAR_HOME
    await hass.async_block_till_done(wait_background_tasks=True)

    # Shown again as they are, and watched as the home's electricity.
    result = await setup_home.start_reconfigure_flow(hass)
    assert _suggested(result) == SOLAR_HOME
    assert setup_home.runtime_data.coordinator.energy.entity_ids == (
        "sensor.house_energy",
        "sensor.solar_energy",
        "sensor.grid_power",
    )
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_options_settings(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    hass.states.async_set(
        "sensor.fridge_power", "80", {"device_class": "power", "unit_of_measurement": "W"}
    )
    result = await hass.config_entries.options.async_init(setup_home.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["settings", "battery_level"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_RETENTION_DAYS: 90, CONF_WORKDAY_SENSOR: "binary_sensor.nope"}
    )
    assert result["errors"] == {CONF_WORKDAY_SENSOR: "entity_not_found"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_RETENTION_DAYS: 90,
            CONF_WORKDAY_SENSOR: "binary_sensor.workday",
            CONF_BATTERY_LOW_LEVEL: 15,
            CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"],
            CONF_PET_PRONE: ["binary_sensor.nope"],
        },
    )
    assert result["errors"] == {CONF_PET_PRONE: "entity_not_found"}

    # The form's picker offers power sensors only; another sensor sent anyway is refused.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_RETENTION_DAYS: 90,
            CONF_BATTERY_LOW_LEVEL: 15,
            CONF_WATCHED_APPLIANCES: ["sensor.fridge_power", "sensor.outdoor_temperature"],
        },
    )
    assert result["errors"] == {CONF_WATCHED_APPLIANCES: "not_power"}

    # Only a battery level sensor can be left unwatched; a thermometer sent anyway is refused.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_RETENTION_DAYS: 90,
            CONF_BATTERY_LOW_LEVEL: 15,
            CONF_EXCLUDED_BATTERIES: ["sensor.outdoor_temperature"],
        },
    )
    assert result["errors"] == {CONF_EXCLUDED_BATTERIES: "not_a_battery"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_RETENTION_DAYS: 90,
            CONF_WORKDAY_SENSOR: "binary_sensor.workday",
            CONF_BATTERY_LOW_LEVEL: 15,
            CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"],
            CONF_PET_PRONE: ["binary_sensor.living_motion"],
            CONF_SIMULATION_LIGHTS: ["light.living_lamp"],
            CONF_SIMULATION_MEDIA: ["media_player.living_tv"],
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert setup_home.options == {
        CONF_RETENTION_DAYS: 90,
        CONF_WORKDAY_SENSOR: "binary_sensor.workday",
        CONF_BATTERY_LOW_LEVEL: 15,
        CONF_EXCLUDED_BATTERIES: [],
        CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"],
        CONF_PET_PRONE: ["binary_sensor.living_motion"],
        CONF_SIMULATION_LIGHTS: ["light.living_lamp"],
        CONF_SIMULATION_MEDIA: ["media_player.living_tv"],
    }
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("binary_sensor.foresight_fridge_power_problem") is not None


async def test_clearing_an_optional_setting_removes_it(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """The workday sensor, once chosen, can be taken away again; other options stay."""
    hass.config_entries.async_update_entry(
        setup_home,
        options={
            **setup_home.options,
            CONF_WORKDAY_SENSOR: "binary_sensor.workday",
            CONF_SIMULATION_LIGHTS: ["light.living_lamp"],
            CONF_BATTERY_LOW_LEVELS: {"sensor.lock_battery": 30},
        },
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await hass.config_entries.options.async_init(setup_home.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    # The form sends only what is filled in: a cleared entity field is absent.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_RETENTION_DAYS: 400, CONF_BATTERY_LOW_LEVEL: 20}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_WORKDAY_SENSOR not in setup_home.options
    assert setup_home.options[CONF_SIMULATION_LIGHTS] == []
    assert setup_home.options[CONF_BATTERY_LOW_LEVELS] == {"sensor.lock_battery": 30}
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_options_battery_level(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    hass.states.async_set(
        "sensor.lock_battery", "80", {"device_class": "battery", "unit_of_measurement": "%"}
    )
    result = await hass.config_entries.options.async_init(setup_home.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "battery_level"}
    )
    assert result["step_id"] == "battery_level"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"battery": "sensor.gone_battery", "low_level": 30}
    )
    assert result["errors"] == {"battery": "entity_not_found"}
    # The form's picker offers batteries only; another sensor sent anyway is refused.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"battery": "sensor.house_energy", "low_level": 30}
    )
    assert result["errors"] == {"battery": "not_a_battery"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"battery": "sensor.lock_battery", "low_level": 30}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert setup_home.options[CONF_BATTERY_LOW_LEVELS] == {"sensor.lock_battery": 30}
    assert setup_home.options[CONF_RETENTION_DAYS] == 400  # the other settings are kept
    await hass.async_block_till_done(wait_background_tasks=True)

    # Left empty, the battery takes the home's low level again.
    result = await hass.config_entries.options.async_init(setup_home.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "battery_level"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"battery": "sensor.lock_battery"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert setup_home.options[CONF_BATTERY_LOW_LEVELS] == {}
    await hass.async_block_till_done(wait_background_tasks=True)


def _register_kitchen(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[str, dict[str, str]]:
    """A kitchen area with a device holding a motion sensor, and entities placed directly."""
    area = ar.async_get(hass).async_get_or_create("Kitchen")
    entity_registry = er.async_get(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("test", "kitchen-multisensor")}
    )
    dr.async_get(hass).async_update_device(device.id, area_id=area.id)
    motion = entity_registry.async_get_or_create(
        "binary_sensor",
        "test",
        "kitchen-motion",
        device_id=device.id,
        original_device_class="motion",
    )
    temperature = entity_registry.async_get_or_create(
        "sensor", "test", "kitchen-temp", device_id=device.id, original_device_class="temperature"
    )
    battery = entity_registry.async_get_or_create(
        "sensor",
        "test",
        "kitchen-battery",
        device_id=device.id,
        original_device_class="battery",
    )
    light = entity_registry.async_get_or_create("light", "test", "kitchen-light")
    entity_registry.async_update_entity(light.entity_id, area_id=area.id)
    climate = entity_registry.async_get_or_create("climate", "test", "kitchen-climate")
    entity_registry.async_update_entity(climate.entity_id, area_id=area.id)
    window = entity_registry.async_get_or_create(
        "binary_sensor", "test", "kitchen-window", original_device_class="window"
    )
    entity_registry.async_update_entity(window.entity_id, area_id=area.id)
    for registered in (motion, temperature, battery, light, climate, window):
        hass.states.async_set(registered.entity_id, "off")
    ids = {"motion": motion, "temperature": temperature, "light": light, "climate": climate}
    return area.id, {key: value.entity_id for key, value in (*ids.items(), ("door", window))}


async def test_add_room_from_an_area(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    area_id, kitchen_ids = _register_kitchen(hass, setup_home)
    result = await hass.config_entries.subentries.async_init(
        (setup_home.entry_id, SUBENTRY_ROOM), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_AREA: area_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sources"
    assert result["description_placeholders"] == {"room": "Kitchen"}
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    # The battery sensor fits no list and is left out.
    assert suggested == {
        "motion": [kitchen_ids["motion"]],
        "door": [kitchen_ids["door"]],
        "light": [kitchen_ids["light"]],
        "temperature": [kitchen_ids["temperature"]],
        CONF_CLIMATE: kitchen_ids["climate"],
    }

    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "no_sources"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"motion": ["binary_sensor.gone"]}
    )
    assert result["errors"] == {"motion": "entity_not_found"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"motion": [kitchen_ids["motion"]], CONF_CLIMATE: kitchen_ids["climate"]},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Kitchen"
    await hass.async_block_till_done(wait_background_tasks=True)

    kitchen = next(s for s in setup_home.subentries.values() if s.title == "Kitchen")
    assert kitchen.unique_id == area_id
    assert dict(kitchen.data) == {
        CONF_NAME: "Kitchen",
        CONF_AREA: area_id,
        "motion": [kitchen_ids["motion"]],
        "door": [],
        "media": [],
        "light": [],
        "power": [],
        "temperature": [],
        "humidity": [],
        "co2": [],
        "illuminance": [],
        CONF_CLIMATE: kitchen_ids["climate"],
        CONF_TRUSTED_PRESENCE: [],
    }
    # The new room has its own device, reloaded into place.
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, kitchen.subentry_id), setup_home.entry_id
    )
    assert device is not None
    assert device.name == "Kitchen"


async def test_room_without_area_and_room_errors(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    flow = await hass.config_entries.subentries.async_init(
        (setup_home.entry_id, SUBENTRY_ROOM), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(flow["flow_id"], {})
    assert result["errors"] == {"base": "area_or_name_required"}

    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {CONF_NAME: "living ROOM"}
    )
    assert result["errors"] == {"base": "room_exists"}

    living_room = ar.async_get(hass).async_get_or_create("Living room")
    assert living_room.id == "living_room"
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {CONF_AREA: living_room.id, CONF_NAME: "Lounge"}
    )
    assert result["errors"] == {"base": "room_exists"}

    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {CONF_NAME: "Attic"}
    )
    assert result["step_id"] == "sources"
    suggested = [key for key in result["data_schema"].schema if key.description]
    assert suggested == []
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {"temperature": ["sensor.outdoor_temperature"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    attic = next(s for s in setup_home.subentries.values() if s.title == "Attic")
    assert attic.unique_id is None
    assert attic.data["temperature"] == ["sensor.outdoor_temperature"]
    assert CONF_AREA not in attic.data
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_sensor_tells_one_room(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    """The living room's sensors and thermostat cannot be another room's too: Foresight would
    read them for the first room only, and two rooms would heat with one thermostat."""
    flow = await hass.config_entries.subentries.async_init(
        (setup_home.entry_id, SUBENTRY_ROOM), context={"source": SOURCE_USER}
    )
    # The study's area holds the living room's thermostat and a lamp of its own: the lamp
    # alone is suggested.
    study = ar.async_get(hass).async_get_or_create("Study")
    registry = er.async_get(hass)
    hass.states.async_remove("climate.living")  # registered again below, in the study's area
    for domain, object_id in (("climate", "living"), ("light", "study_lamp")):
        registered = registry.async_get_or_create(
            domain, "test", object_id, suggested_object_id=object_id
        )
        registry.async_update_entity(registered.entity_id, area_id=study.id)
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {CONF_AREA: study.id}
    )
    assert _suggested(result) == {"light": ["light.study_lamp"]}
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"],
        {
            "light": ["light.living_lamp"],
            "temperature": ["sensor.outdoor_temperature", "sensor.living_temperature"],
            CONF_CLIMATE: "climate.living",
        },
    )
    assert result["errors"] == {
        "light": "used_by_another_room",
        "temperature": "used_by_another_room",
        CONF_CLIMATE: "used_by_another_room",
    }
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {"temperature": ["sensor.outdoor_temperature"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)

    # The living room keeps its own when it is changed.
    living = next(s for s in setup_home.subentries.values() if s.title == "Living room")
    result = await hass.config_entries.subentries.async_init(
        (setup_home.entry_id, SUBENTRY_ROOM),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": living.subentry_id},
    )
    sources = {k: v for k, v in living.data.items() if k not in (CONF_NAME, CONF_AREA)}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], sources)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_reconfigure_room(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    room = next(iter(setup_home.subentries.values()))
    result = await hass.config_entries.subentries.async_init(
        (setup_home.entry_id, SUBENTRY_ROOM),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": room.subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "no_sources"}

    # A presence sensor to trust must be one of the room's own.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"light": ["light.living_lamp"], CONF_TRUSTED_PRESENCE: ["binary_sensor.living_motion"]},
    )
    assert result["errors"] == {CONF_TRUSTED_PRESENCE: "trusted_not_a_room_sensor"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "motion": ["binary_sensor.living_motion"],
            CONF_TRUSTED_PRESENCE: ["binary_sensor.living_motion"],
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    room = setup_home.subentries[room.subentry_id]
    assert room.data["motion"] == ["binary_sensor.living_motion"]
    assert room.data[CONF_TRUSTED_PRESENCE] == ["binary_sensor.living_motion"]
    assert room.data["light"] == []
    assert room.data[CONF_NAME] == "Living room"
    assert room.data[CONF_AREA] == "living_room"
    await hass.async_block_till_done(wait_background_tasks=True)


def _not_provided(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """The entity ids of ``entry`` kept in the registry with no entity behind them."""
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    states = {entity.entity_id: hass.states.get(entity.entity_id) for entity in entities}
    return [
        entity_id
        for entity_id, state in states.items()
        if state is None or state.attributes.get("restored")
    ]


async def test_a_room_reconfigured_without_lights_and_thermostat_loses_their_entities(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    heating = "switch.living_room_smart_heating"
    await hass.services.async_call("switch", "turn_on", {"entity_id": heating}, blocking=True)
    room = next(iter(setup_home.subentries.values()))
    sources = {k: v for k, v in room.data.items() if k not in (CONF_NAME, CONF_AREA)}

    async def reconfigure(user_input: dict[str, object]) -> None:
        result = await hass.config_entries.subentries.async_init(
            (setup_home.entry_id, SUBENTRY_ROOM),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": room.subentry_id},
        )
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done(wait_background_tasks=True)

    await reconfigure({"motion": ["binary_sensor.living_motion"]})
    assert _not_provided(hass, setup_home) == []
    assert hass.states.get(heating) is None
    assert hass.states.get("binary_sensor.living_room_occupancy") is not None

    # The thermostat given back: its heating is new, off as any new controller is.
    await reconfigure(sources)
    assert hass.states.get(heating).state == "off"  # type: ignore[union-attr]


async def test_removing_a_room_removes_its_device_and_entities(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    room = next(iter(setup_home.subentries))
    assert hass.config_entries.async_remove_subentry(setup_home, room)
    await hass.async_block_till_done(wait_background_tasks=True)

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), setup_home.entry_id)
    assert [device.name for device in devices] == ["Foresight"]
    assert _not_provided(hass, setup_home) == []
    entities = er.async_entries_for_config_entry(er.async_get(hass), setup_home.entry_id)
    assert all(entity.config_subentry_id is None for entity in entities)


async def test_settings_no_longer_given_lose_their_entities_and_disabled_ones_stay(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """Unwatching an appliance and leaving out the electricity sensor remove what showed them;
    an entity the user disabled is still provided, and kept."""
    hass.states.async_set(
        "sensor.fridge_power", "80", {"device_class": "power", "unit_of_measurement": "W"}
    )
    await start_home(hass, home_entry, options={CONF_WATCHED_APPLIANCES: ["sensor.fridge_power"]})
    registry = er.async_get(hass)
    assert hass.states.get("binary_sensor.foresight_fridge_power_problem") is not None
    registry.async_update_entity(
        "sensor.living_room_warm_up_rate", disabled_by=er.RegistryEntryDisabler.USER
    )
    data = {key: value for key, value in home_entry.data.items() if key != CONF_ENERGY_SENSOR}
    hass.config_entries.async_update_entry(home_entry, data=data, options={})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert [
        entity_id
        for entity_id in _not_provided(hass, home_entry)
        if entity_id != "sensor.living_room_warm_up_rate"
    ] == []
    assert registry.async_get("sensor.living_room_warm_up_rate") is not None
    assert registry.async_get("binary_sensor.foresight_fridge_power_problem") is None
    assert registry.async_get("binary_sensor.foresight_unusual_energy") is None


async def _add_room(
    hass: HomeAssistant, entry: MockConfigEntry, room: dict[str, str], sources: dict[str, object]
) -> None:
    """Add a room through the subentry flow: ``room`` picks it, ``sources`` tell of its use."""
    flow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_ROOM), context={"source": SOURCE_USER}
    )
    await hass.config_entries.subentries.async_configure(flow["flow_id"], room)
    result = await hass.config_entries.subentries.async_configure(flow["flow_id"], sources)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)


async def _heating_on_and_eco_changed(hass: HomeAssistant) -> None:
    await turn(hass, "switch", "turn_on", "switch.living_room_smart_heating")
    await turn(hass, "number", "set_value", "number.living_room_eco_temperature", value=15.5)


def _heating(hass: HomeAssistant) -> tuple[str, str, str]:
    """The living room's Smart heating, eco and comfort temperatures, as shown."""
    states = [
        hass.states.get(f"{domain}.living_room_{key}")
        for domain, key in (
            ("switch", "smart_heating"),
            ("number", "eco_temperature"),
            ("number", "comfort_temperature"),
        )
    ]
    assert all(state is not None for state in states)
    return states[0].state, states[1].state, states[2].state  # type: ignore[union-attr]


async def test_a_room_removed_then_added_again_starts_anew(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """Added again, a room is a new room: its Smart heating off, its settings the defaults."""
    await _heating_on_and_eco_changed(hass)
    assert hass.config_entries.async_remove_subentry(setup_home, next(iter(setup_home.subentries)))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("switch.living_room_smart_heating") is None

    living_room = ar.async_get(hass).async_get_or_create("Living room")
    sources = {
        "motion": ["binary_sensor.living_motion"],
        "temperature": ["sensor.living_temperature"],
        CONF_CLIMATE: "climate.living",
    }
    await _add_room(hass, setup_home, {CONF_AREA: living_room.id}, sources)
    assert _heating(hass) == ("off", "17.0", "21.0")


async def test_removing_a_room_keeps_the_other_rooms_switches_and_settings(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    await _add_room(
        hass, setup_home, {CONF_NAME: "Attic"}, {"temperature": ["sensor.outdoor_temperature"]}
    )
    await _heating_on_and_eco_changed(hass)
    attic = next(s for s in setup_home.subentries.values() if s.title == "Attic")
    assert hass.config_entries.async_remove_subentry(setup_home, attic.subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _heating(hass) == ("on", "15.5", "21.0")
