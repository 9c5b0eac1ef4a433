"""What Foresight watches: the kinds of source a room or the home has, and how to read them.

A *source* is one series Foresight keeps: an entity, or one attribute of it (a climate entity
gives both whether it is heating and its set point). Everything here runs on the event loop and
stays cheap: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
import math
from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_HOME,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import area_registry as ar, device_registry as dr, entity_registry as er
from homeassistant.util.unit_conversion import (
    BaseUnitConverter,
    EnergyConverter,
    PowerConverter,
    TemperatureConverter,
)

from .const import CONF_CLIMATE


class Kind(StrEnum):
    """What a series measures; numeric kinds are kept in one canonical unit each."""

    MOTION = "motion"  # motion / occupancy / presence
    DOOR = "door"  # doors and windows
    MEDIA = "media"  # media players (1 = playing)
    LIGHT = "light"
    PERSON = "person"  # 1 = home
    HEATING = "heating"  # climate entity actively heating
    POWER = "power"  # W
    ENERGY = "energy"  # kWh meter reading
    TEMPERATURE = "temperature"  # °C
    SETPOINT = "setpoint"  # °C, a climate entity's target
    HUMIDITY = "humidity"  # %
    CO2 = "co2"  # ppm
    ILLUMINANCE = "illuminance"  # lx
    BATTERY = "battery"  # %
    WORKDAY = "workday"  # 1 = a working day (for example from the Workday integration)


BINARY_KINDS = frozenset(
    {Kind.MOTION, Kind.DOOR, Kind.MEDIA, Kind.LIGHT, Kind.PERSON, Kind.HEATING, Kind.WORKDAY}
)
# A person switching them says someone is there; an automation or Foresight switching them
# does not: beside their series, a second one keeps only the changes a person made.
BY_HAND_KINDS = frozenset({Kind.LIGHT, Kind.MEDIA})
BY_HAND = "by_hand"
# Series whose every reading is kept for the whole retention (they change rarely).
KEEP_EVERY_READING = BINARY_KINDS | {Kind.BATTERY}
BATTERY_LEVEL_UNITS = (None, "%")  # a battery sensor in another unit (V) shows no level

# The lists a room offers in its form, in the order shown.
ROOM_KINDS: tuple[Kind, ...] = (
    Kind.MOTION,
    Kind.DOOR,
    Kind.MEDIA,
    Kind.LIGHT,
    Kind.POWER,
    Kind.TEMPERATURE,
    Kind.HUMIDITY,
    Kind.CO2,
    Kind.ILLUMINANCE,
)

CANONICAL_UNIT: dict[Kind, str] = {
    Kind.POWER: "W",
    Kind.ENERGY: "kWh",
    Kind.TEMPERATURE: "°C",
    Kind.SETPOINT: "°C",
    Kind.HUMIDITY: "%",
    Kind.CO2: "ppm",
    Kind.ILLUMINANCE: "lx",
    Kind.BATTERY: "%",
}

_CONVERTER: dict[Kind, type[BaseUnitConverter]] = {
    Kind.POWER: PowerConverter,
    Kind.ENERGY: EnergyConverter,
    Kind.TEMPERATURE: TemperatureConverter,
    Kind.SETPOINT: TemperatureConverter,
}

# Values outside these bounds are not physical readings; they are dropped and counted.
_PLAUSIBLE: dict[Kind, tuple[float, float]] = {
    # Beyond a 400 A service at 240 V (96 kW), the largest a home has: a glitch, not a draw.
    Kind.POWER: (-1e5, 1e5),
    Kind.ENERGY: (-1e9, 1e9),
    Kind.TEMPERATURE: (-90.0, 150.0),
    Kind.SETPOINT: (-90.0, 150.0),
    Kind.HUMIDITY: (0.0, 100.0),
    Kind.CO2: (0.0, 100_000.0),
    Kind.ILLUMINANCE: (0.0, 1_000_000.0),
    Kind.BATTERY: (0.0, 100.0),
}

_MOTION_CLASSES = {
    BinarySensorDeviceClass.MOTION,
    BinarySensorDeviceClass.OCCUPANCY,
    BinarySensorDeviceClass.PRESENCE,
}
_DOOR_CLASSES = {
    BinarySensorDeviceClass.DOOR,
    BinarySensorDeviceClass.WINDOW,
    BinarySensorDeviceClass.OPENING,
    BinarySensorDeviceClass.GARAGE_DOOR,
}
_SENSOR_KIND: dict[str, Kind] = {
    SensorDeviceClass.POWER: Kind.POWER,
    SensorDeviceClass.TEMPERATURE: Kind.TEMPERATURE,
    SensorDeviceClass.HUMIDITY: Kind.HUMIDITY,
    SensorDeviceClass.CO2: Kind.CO2,
    SensorDeviceClass.ILLUMINANCE: Kind.ILLUMINANCE,
}


@dataclass(frozen=True, slots=True)
class Source:
    """One series Foresight keeps, and where it belongs (a room's subentry id, or None for home)."""

    entity_id: str
    kind: Kind
    room: str | None = None
    by_hand: bool = False  # only the changes a person made; an automation's or Foresight's unknown

    @property
    def key(self) -> str:
        """The series' name in the history: the entity id, with a suffix where one entity gives two."""
        if self.by_hand:
            return f"{self.entity_id}#{BY_HAND}"
        if self.kind in (Kind.HEATING, Kind.SETPOINT):
            return f"{self.entity_id}#{self.kind}"
        return self.entity_id


# What follows an entity id in the keys of its series (see Source.key).
KEY_SUFFIXES = ("", f"#{Kind.HEATING}", f"#{Kind.SETPOINT}", f"#{BY_HAND}")


def by_hand_series(source: Source) -> Source:
    """The series of a light or media player that keeps a person's switching only; else itself."""
    return replace(source, by_hand=True) if source.kind in BY_HAND_KINDS else source


def kept_series(sources: Iterable[Source]) -> list[Source]:
    """Every series Foresight keeps for ``sources``: each, and a light's or media's by-hand one."""
    kept: list[Source] = []
    for source in sources:
        kept.append(source)
        if source.kind in BY_HAND_KINDS:
            kept.append(by_hand_series(source))
    return kept


class Rejected(StrEnum):
    """Why a state was not kept; counted per source."""

    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    OUT_OF_RANGE = "out_of_range"
    UNIT = "unit"
    UNEXPECTED_STATE = "unexpected_state"
    IMPLAUSIBLE = "implausible"  # an hour's metered use beyond what a home can draw
    UNWRITTEN = "unwritten"  # let go while Foresight's history could not be written
    OUT_OF_ORDER = "out_of_order"  # older than the series' last reading (a clock set back)


# A reading: a value in the canonical unit, None for a gap (unavailable / unknown), or a rejection.
Reading = float | None | Rejected


def read_state(kind: Kind, state: State, home_temperature_unit: str = "°C") -> Reading:
    """Turn a Home Assistant state into a value in the kind's canonical unit.

    ``home_temperature_unit``: the home's unit, which a climate entity's temperatures are in.
    """
    if kind is Kind.SETPOINT:
        unit = _unit_of(state, home_temperature_unit)
        return _read_number(kind, state.attributes.get("temperature"), unit)
    if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    if kind is Kind.HEATING:
        action = state.attributes.get("hvac_action")
        if action is not None:
            return 1.0 if action in ("heating", "preheating") else 0.0
        # Without hvac_action a heating mode does not say whether it heats now: the set point will.
        return None if state.state in ("heat", "heat_cool", "auto") else 0.0
    if kind in BINARY_KINDS:
        return _read_binary(kind, state)
    return _read_number(kind, state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))


def _unit_of(state: State, home_unit: str) -> str:
    # Climate entities report temperatures in the home's unit, unless an attribute says which.
    unit = state.attributes.get("temperature_unit") or state.attributes.get(
        ATTR_UNIT_OF_MEASUREMENT
    )
    return str(unit) if unit else home_unit


def _read_binary(kind: Kind, state: State) -> Reading:
    value = state.state
    if kind is Kind.MEDIA:
        return 1.0 if value == "playing" else 0.0
    if kind is Kind.PERSON:
        return 1.0 if value == STATE_HOME else 0.0
    if value == STATE_ON:
        return 1.0
    if value == "off":
        return 0.0
    return Rejected.UNEXPECTED_STATE


def _read_number(kind: Kind, raw: Any, unit: str | None) -> Reading:
    if raw is None:
        return None
    try:
        value = float(raw)
    except TypeError, ValueError:
        return Rejected.NOT_A_NUMBER
    if not math.isfinite(value):
        return Rejected.NOT_FINITE
    converter = _CONVERTER.get(kind)
    if converter is not None:
        if unit not in converter.VALID_UNITS:
            return Rejected.UNIT
        value = converter.convert(value, unit, CANONICAL_UNIT[kind])
    elif kind is Kind.BATTERY and unit not in BATTERY_LEVEL_UNITS:
        return Rejected.UNIT  # a battery's voltage is no level
    low, high = _PLAUSIBLE[kind]
    if not low <= value <= high:
        return Rejected.OUT_OF_RANGE
    return value


def energy_kind_of(hass: HomeAssistant, entity_id: str) -> Kind | None:
    """Whether the home's electricity sensor reports power or energy, from its unit."""
    state = hass.states.get(entity_id)
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) if state else None
    if unit is None:
        entry = er.async_get(hass).async_get(entity_id)
        unit = entry.unit_of_measurement if entry else None
    if unit in PowerConverter.VALID_UNITS:
        return Kind.POWER
    if unit in EnergyConverter.VALID_UNITS:
        return Kind.ENERGY
    return None


def kind_of(hass: HomeAssistant, entity_id: str) -> Kind | None:
    """The room list an entity belongs in, from its domain and device class."""
    domain = entity_id.split(".", 1)[0]
    if domain == "light":
        return Kind.LIGHT
    if domain == "media_player":
        return Kind.MEDIA
    entry = er.async_get(hass).async_get(entity_id)
    device_class: str | None = None
    if entry is not None:
        device_class = entry.device_class or entry.original_device_class
    if device_class is None and (state := hass.states.get(entity_id)) is not None:
        device_class = state.attributes.get("device_class")
    if domain == "binary_sensor":
        if device_class in _MOTION_CLASSES:
            return Kind.MOTION
        if device_class in _DOOR_CLASSES:
            return Kind.DOOR
        return None
    if domain == "sensor" and device_class is not None:
        return _SENSOR_KIND.get(device_class)
    return None


def area_entities(hass: HomeAssistant, area_id: str) -> dict[str, list[str]]:
    """The entities of an area, sorted into the room lists (plus its first climate entity)."""
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    found: dict[str, list[str]] = {kind: [] for kind in ROOM_KINDS}
    found[CONF_CLIMATE] = []
    for entry in entity_registry.entities.values():
        if entry.disabled_by is not None or entry.entity_category is not None:
            continue
        entry_area = entry.area_id
        if entry_area is None and entry.device_id is not None:
            device = device_registry.async_get(entry.device_id)
            entry_area = device.area_id if device else None
        if entry_area != area_id:
            continue
        if entry.domain == "climate":
            found[CONF_CLIMATE].append(entry.entity_id)
        elif (kind := kind_of(hass, entry.entity_id)) is not None:
            found[kind].append(entry.entity_id)
    return {key: sorted(ids) for key, ids in found.items()}


def area_name(hass: HomeAssistant, area_id: str) -> str | None:
    """The area's name, or None when the area does not exist."""
    area = ar.async_get(hass).async_get_area(area_id)
    return area.name if area else None


def battery_sensors(hass: HomeAssistant, excluded: Iterable[str] = ()) -> list[str]:
    """Every battery level sensor (device class battery, in %), less those excluded."""
    skip = set(excluded)
    found: set[str] = set()
    for entry in er.async_get(hass).entities.values():
        device_class = entry.device_class or entry.original_device_class
        battery = entry.domain == "sensor" and device_class == SensorDeviceClass.BATTERY
        if battery and entry.disabled_by is None:
            found.add(entry.entity_id)
    for state in hass.states.async_all("sensor"):
        if state.attributes.get("device_class") == SensorDeviceClass.BATTERY:
            found.add(state.entity_id)
    return sorted(entity_id for entity_id in found - skip if _in_percent(hass, entity_id))


def _in_percent(hass: HomeAssistant, entity_id: str) -> bool:
    # A battery's voltage is a battery sensor too, but not a level.
    if (state := hass.states.get(entity_id)) is not None:
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    else:  # not written yet (its integration starts after Foresight): as registered
        entry = er.async_get(hass).async_get(entity_id)
        unit = entry.unit_of_measurement if entry is not None else None
    return unit in BATTERY_LEVEL_UNITS


def room_sources(room_id: str, data: Mapping[str, Any]) -> list[Source]:
    """Every series a room's configuration asks Foresight to keep."""
    sources = [
        Source(entity_id, kind, room_id) for kind in ROOM_KINDS for entity_id in data.get(kind, [])
    ]
    if climate := data.get(CONF_CLIMATE):
        sources.append(Source(climate, Kind.HEATING, room_id))
        sources.append(Source(climate, Kind.SETPOINT, room_id))
    return sources


def unique_sources(sources: Iterable[Source]) -> dict[str, Source]:
    """Sources by key; an entity used by two rooms is still one series, kept in the first room.

    A room's source wins over the same entity asked for by the home's settings (a light that
    presence simulation switches still tells its room's occupancy).
    """
    by_key: dict[str, Source] = {}
    for source in sources:
        known = by_key.get(source.key)
        if known is None or (known.room is None and source.room is not None):
            by_key[source.key] = source
    return by_key


def entity_exists(hass: HomeAssistant, entity_id: str) -> bool:
    """Whether an entity has a state or is registered (its integration may load later)."""
    return (
        hass.states.get(entity_id) is not None
        or er.async_get(hass).async_get(entity_id) is not None
    )
