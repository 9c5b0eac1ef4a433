"""Set up Foresight from the UI: the home, its settings, and one subentry per room."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import probatio as vol

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, selector
from homeassistant.util.unit_conversion import TemperatureConverter

from .const import (
    CONF_AREA,
    CONF_BATTERY_LOW_LEVEL,
    CONF_BATTERY_LOW_LEVELS,
    CONF_CLIMATE,
    CONF_ENERGY_SENSOR,
    CONF_EXCLUDED_BATTERIES,
    CONF_NAME,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_PEOPLE,
    CONF_PET_PRONE,
    CONF_RETENTION_DAYS,
    CONF_SIMULATION_LIGHTS,
    CONF_SIMULATION_MEDIA,
    CONF_TRUSTED_PRESENCE,
    CONF_WATCHED_APPLIANCES,
    CONF_WORKDAY_SENSOR,
    DEFAULT_BATTERY_LOW_LEVEL,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    ELECTRICITY_FLOWS,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    SUBENTRY_ROOM,
)
from .energy_dashboard import async_energy_dashboard_sensors
from .sources import (
    ROOM_KINDS,
    Kind,
    area_entities,
    area_name,
    battery_sensors,
    energy_kind_of,
    entity_exists,
    room_sources,
)

CONF_BATTERY = "battery"
CONF_LOW_LEVEL = "low_level"

# Each of the home's electricity flows (see ELECTRICITY_FLOWS): meters or power sensors.
_ELECTRICITY = selector.EntitySelector(
    selector.EntitySelectorConfig(
        domain="sensor",
        device_class=[SensorDeviceClass.POWER, SensorDeviceClass.ENERGY],
        multiple=True,
    )
)

HOME_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_PEOPLE, default=[]): selector.EntitySelector(
            selector.EntitySelectorConfig(domain=["person", "device_tracker"], multiple=True)
        ),
        **{vol.Optional(electricity): _ELECTRICITY for electricity in ELECTRICITY_FLOWS},
        vol.Optional(CONF_OUTDOOR_TEMPERATURE): selector.EntitySelector(
            selector.EntitySelectorConfig(
                domain="sensor", device_class=SensorDeviceClass.TEMPERATURE
            )
        ),
    }
)

# A battery's low level: the % at which it is due for replacement.
BATTERY_LEVEL = vol.All(
    selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=0, max=99, step=1, unit_of_measurement="%", mode=selector.NumberSelectorMode.BOX
        )
    ),
    vol.Coerce(int),
)

OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_RETENTION_DAYS, default=DEFAULT_RETENTION_DAYS): vol.All(
            selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=MIN_RETENTION_DAYS,
                    max=MAX_RETENTION_DAYS,
                    step=1,
                    unit_of_measurement="d",
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
            vol.Coerce(int),
        ),
        vol.Optional(CONF_WORKDAY_SENSOR): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="binary_sensor")
        ),
        vol.Required(CONF_BATTERY_LOW_LEVEL, default=DEFAULT_BATTERY_LOW_LEVEL): BATTERY_LEVEL,
        vol.Optional(CONF_EXCLUDED_BATTERIES, default=[]): selector.EntitySelector(
            selector.EntitySelectorConfig(
                domain="sensor", device_class=SensorDeviceClass.BATTERY, multiple=True
            )
        ),
        vol.Optional(CONF_WATCHED_APPLIANCES, default=[]): selector.EntitySelector(
            selector.EntitySelectorConfig(
                domain="sensor", device_class=SensorDeviceClass.POWER, multiple=True
            )
        ),
        vol.Optional(CONF_PET_PRONE, default=[]): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="binary_sensor", multiple=True)
        ),
        vol.Optional(CONF_SIMULATION_LIGHTS, default=[]): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="light", multiple=True)
        ),
        vol.Optional(CONF_SIMULATION_MEDIA, default=[]): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="media_player", multiple=True)
        ),
    }
)

BATTERY_LEVEL_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_BATTERY): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="sensor", device_class=SensorDeviceClass.BATTERY)
        ),
        vol.Optional(CONF_LOW_LEVEL): BATTERY_LEVEL,  # left empty: the home's low level
    }
)

ROOM_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_AREA): selector.AreaSelector(),
        vol.Optional(CONF_NAME): selector.TextSelector(),
    }
)

_ROOM_FILTERS: dict[Kind, selector.EntitySelectorConfig] = {
    Kind.MOTION: selector.EntitySelectorConfig(
        domain="binary_sensor", device_class=["motion", "occupancy", "presence"], multiple=True
    ),
    Kind.DOOR: selector.EntitySelectorConfig(
        domain="binary_sensor",
        device_class=["door", "window", "opening", "garage_door"],
        multiple=True,
    ),
    Kind.MEDIA: selector.EntitySelectorConfig(domain="media_player", multiple=True),
    Kind.LIGHT: selector.EntitySelectorConfig(domain="light", multiple=True),
    Kind.POWER: selector.EntitySelectorConfig(domain="sensor", device_class="power", multiple=True),
    Kind.TEMPERATURE: selector.EntitySelectorConfig(
        domain="sensor", device_class="temperature", multiple=True
    ),
    Kind.HUMIDITY: selector.EntitySelectorConfig(
        domain="sensor", device_class="humidity", multiple=True
    ),
    Kind.CO2: selector.EntitySelectorConfig(
        domain="sensor", device_class="carbon_dioxide", multiple=True
    ),
    Kind.ILLUMINANCE: selector.EntitySelectorConfig(
        domain="sensor", device_class="illuminance", multiple=True
    ),
}

ROOM_SOURCES_SCHEMA = vol.Schema(
    {
        **{
            vol.Optional(str(kind), default=[]): selector.EntitySelector(_ROOM_FILTERS[kind])
            for kind in ROOM_KINDS
        },
        vol.Optional(CONF_CLIMATE): selector.EntitySelector(
            selector.EntitySelectorConfig(domain="climate")
        ),
        vol.Optional(CONF_TRUSTED_PRESENCE, default=[]): selector.EntitySelector(
            _ROOM_FILTERS[Kind.MOTION]
        ),
    }
)


def _validate_home(hass: HomeAssistant, user_input: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if any(not entity_exists(hass, person) for person in user_input.get(CONF_PEOPLE, [])):
        errors[CONF_PEOPLE] = "entity_not_found"
    chosen: set[str] = set()
    for key in ELECTRICITY_FLOWS:
        for electricity in user_input.get(key) or []:
            if not entity_exists(hass, electricity):
                errors[key] = "entity_not_found"
            elif energy_kind_of(hass, electricity) is None:
                errors[key] = "not_energy_or_power"
            elif electricity in chosen:  # counted twice, the home's use would be wrong
                errors[key] = "sensor_chosen_twice"
            elif key != CONF_ENERGY_SENSOR and not user_input.get(CONF_ENERGY_SENSOR):
                errors[key] = "needs_main_sensor"  # the other flows add to the grid's import
            chosen.add(electricity)
        if key not in errors and _power_and_energy_of_one_device(hass, user_input.get(key) or []):
            errors[key] = "power_and_energy_of_one_meter"
    if outdoor := user_input.get(CONF_OUTDOOR_TEMPERATURE):
        state = hass.states.get(outdoor)
        if not entity_exists(hass, outdoor):
            errors[CONF_OUTDOOR_TEMPERATURE] = "entity_not_found"
        elif state is not None and (
            state.attributes.get("unit_of_measurement") not in TemperatureConverter.VALID_UNITS
        ):
            errors[CONF_OUTDOOR_TEMPERATURE] = "not_temperature"
    return errors


def _power_and_energy_of_one_device(hass: HomeAssistant, entity_ids: list[str]) -> bool:
    """Whether a device's power sensor and its energy meter are both among ``entity_ids``.

    They measure the same electricity twice; a meter's two tariff counters do not.
    """
    registry = er.async_get(hass)
    kinds_by_device: dict[str, set[Kind | None]] = {}
    for entity_id in entity_ids:
        if (entry := registry.async_get(entity_id)) is not None and entry.device_id is not None:
            kinds_by_device.setdefault(entry.device_id, set()).add(energy_kind_of(hass, entity_id))
    return any({Kind.POWER, Kind.ENERGY} <= kinds for kinds in kinds_by_device.values())


def _room_entities(data: Mapping[str, Any], key: str) -> list[str]:
    """The entities a room's form or configuration names for ``key`` (the thermostat: one)."""
    value = data.get(key) or []
    return [value] if isinstance(value, str) else list(value)


def _other_rooms_entities(entry: ConfigEntry, this_room: str | None) -> set[str]:
    """What the home's other rooms are told of: a sensor tells Foresight of one room only."""
    return {
        source.entity_id
        for room_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_ROOM and room_id != this_room
        for source in room_sources(room_id, subentry.data)
    }


def _validate_room_sources(
    hass: HomeAssistant, user_input: Mapping[str, Any], taken: Collection[str]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    chosen = False
    for key in (*ROOM_KINDS, CONF_CLIMATE):
        entity_ids = _room_entities(user_input, key)
        chosen = chosen or bool(entity_ids)
        if any(not entity_exists(hass, entity_id) for entity_id in entity_ids):
            errors[key] = "entity_not_found"
        elif any(entity_id in taken for entity_id in entity_ids):
            errors[key] = "used_by_another_room"
    if not chosen:
        errors["base"] = "no_sources"
    elif not set(user_input.get(CONF_TRUSTED_PRESENCE) or []) <= set(
        user_input.get(Kind.MOTION) or []
    ):
        errors[CONF_TRUSTED_PRESENCE] = "trusted_not_a_room_sensor"
    return errors


class ForesightConfigFlow(ConfigFlow, domain=DOMAIN):
    """The home: who lives there, its electricity meter, the outdoor temperature."""

    # 2: each electricity setting is a list (async_migrate_entry); an earlier Foresight, which
    # would read one entity id there, refuses to set such a home up rather than break on it.
    VERSION = 2

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the home's people and sensors."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_home(self.hass, user_input)
            if not errors:
                return self.async_create_entry(
                    title="Foresight",
                    data=user_input,
                    options={CONF_RETENTION_DAYS: DEFAULT_RETENTION_DAYS},
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                HOME_SCHEMA,
                user_input
                if user_input is not None
                else await async_energy_dashboard_sensors(self.hass),
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the home's people and sensors."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_home(self.hass, user_input)
            if not errors:
                return self.async_update_and_abort(entry, data=user_input)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                HOME_SCHEMA, user_input if user_input is not None else entry.data
            ),
            errors=errors,
        )

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> ForesightOptionsFlow:
        """Foresight's settings."""
        return ForesightOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Rooms are added as subentries."""
        return {SUBENTRY_ROOM: RoomSubentryFlow}


class ForesightOptionsFlow(OptionsFlow):
    """Foresight's settings, and a battery's own low level."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to change."""
        return self.async_show_menu(step_id="init", menu_options=["settings", "battery_level"])

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """History kept, workday sensor, batteries, appliances, pets, simulated lights and media."""
        errors: dict[str, str] = {}
        if user_input is not None:
            for key in (
                CONF_WORKDAY_SENSOR,
                CONF_EXCLUDED_BATTERIES,
                CONF_WATCHED_APPLIANCES,
                CONF_PET_PRONE,
                CONF_SIMULATION_LIGHTS,
                CONF_SIMULATION_MEDIA,
            ):
                value = user_input.get(key) or []
                entity_ids = [value] if isinstance(value, str) else value
                if any(not entity_exists(self.hass, entity_id) for entity_id in entity_ids):
                    errors[key] = "entity_not_found"
                elif key == CONF_WATCHED_APPLIANCES and any(
                    energy_kind_of(self.hass, entity_id) is not Kind.POWER
                    for entity_id in entity_ids
                ):
                    errors[key] = "not_power"  # an appliance's cycles are read from its power
                elif key == CONF_EXCLUDED_BATTERIES and not set(entity_ids).issubset(
                    battery_sensors(self.hass)
                ):
                    errors[key] = "not_a_battery"
            if not errors:
                # The form's fields come from the form alone: a cleared optional field is gone.
                kept = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key not in OPTIONS_SCHEMA.schema
                }
                return self.async_create_entry(data={**kept, **user_input})
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input if user_input is not None else self.config_entry.options
            ),
            errors=errors,
        )

    async def async_step_battery_level(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give one battery its own low level (the level at which it is due)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            battery = user_input[CONF_BATTERY]
            if not entity_exists(self.hass, battery):
                errors[CONF_BATTERY] = "entity_not_found"
            elif battery not in battery_sensors(self.hass):
                errors[CONF_BATTERY] = "not_a_battery"
            else:
                levels = dict(self.config_entry.options.get(CONF_BATTERY_LOW_LEVELS, {}))
                levels.pop(battery, None)
                if CONF_LOW_LEVEL in user_input:
                    levels[battery] = user_input[CONF_LOW_LEVEL]
                return self.async_create_entry(
                    data={**self.config_entry.options, CONF_BATTERY_LOW_LEVELS: levels}
                )
        return self.async_show_form(
            step_id="battery_level",
            data_schema=self.add_suggested_values_to_schema(BATTERY_LEVEL_SCHEMA, user_input),
            errors=errors,
        )


class RoomSubentryFlow(ConfigSubentryFlow):
    """A room: an area (or a name), then the entities that tell whether it is in use."""

    def __init__(self) -> None:
        """Start with no room chosen."""
        self._room: dict[str, Any] = {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick the room's area, or name a room that has no area."""
        errors: dict[str, str] = {}
        if user_input is not None:
            area = user_input.get(CONF_AREA)
            name = (user_input.get(CONF_NAME) or "").strip() or (
                area_name(self.hass, area) if area else None
            )
            if not name:
                errors["base"] = "area_or_name_required"
            elif self._room_exists(area, name):
                errors["base"] = "room_exists"
            else:
                self._room = {CONF_NAME: name}
                if area:
                    self._room[CONF_AREA] = area
                return await self.async_step_sources()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(ROOM_SCHEMA, user_input),
            errors=errors,
        )

    def _room_exists(self, area: str | None, name: str) -> bool:
        for subentry in self._get_entry().subentries.values():
            if subentry.subentry_type != SUBENTRY_ROOM:
                continue
            if area and subentry.data.get(CONF_AREA) == area:
                return True
            if subentry.title.casefold() == name.casefold():
                return True
        return False

    async def async_step_sources(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the room's entities, pre-filled from its area."""
        errors: dict[str, str] = {}
        taken = _other_rooms_entities(self._get_entry(), None)
        if user_input is not None:
            errors = _validate_room_sources(self.hass, user_input, taken)
            if not errors:
                return self.async_create_entry(
                    title=self._room[CONF_NAME],
                    data={**self._room, **user_input},
                    unique_id=self._room.get(CONF_AREA),
                )
        suggested: Mapping[str, Any] | None = user_input
        if suggested is None and (area := self._room.get(CONF_AREA)):
            # The area's entities another room is not told of already.
            suggested = {
                key: free[0] if key == CONF_CLIMATE else free
                for key, ids in area_entities(self.hass, area).items()
                if (free := [entity_id for entity_id in ids if entity_id not in taken])
            }
        return self.async_show_form(
            step_id="sources",
            data_schema=self.add_suggested_values_to_schema(ROOM_SOURCES_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"room": self._room[CONF_NAME]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a room's entities."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            taken = _other_rooms_entities(self._get_entry(), subentry.subentry_id)
            errors = _validate_room_sources(self.hass, user_input, taken)
            if not errors:
                kept = {
                    key: subentry.data[key]
                    for key in (CONF_NAME, CONF_AREA)
                    if key in subentry.data
                }
                return self.async_update_and_abort(
                    self._get_entry(), subentry, data={**kept, **user_input}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                ROOM_SOURCES_SCHEMA, user_input if user_input is not None else subentry.data
            ),
            errors=errors,
            description_placeholders={"room": subentry.title},
        )
