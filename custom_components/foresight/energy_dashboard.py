"""What Home Assistant's Energy dashboard knows of the home's electricity, for Foresight to use.

The dashboard's grid imports (one a tariff) are the meters a home usually gives Foresight; with
solar panels or a home battery, their meters there tell Foresight what the home really uses.
They are suggested when the home is set up, and a home set up with the grid import alone (or
one tariff of it) is told of the others (a repair issue whose fix adds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.energy.data import async_get_manager
from homeassistant.core import HomeAssistant, valid_entity_id

from .const import (
    CONF_BATTERY_CHARGE_SENSOR,
    CONF_BATTERY_DISCHARGE_SENSOR,
    CONF_ENERGY_SENSOR,
    CONF_EXPORT_SENSOR,
    CONF_PRODUCTION_SENSOR,
    ELECTRICITY_FLOWS,
)
from .sources import entity_exists

# The setting each statistic of a dashboard source goes to, by the source's type.
_FLOWS_OF_SOURCE = {
    "grid": {"stat_energy_from": CONF_ENERGY_SENSOR, "stat_energy_to": CONF_EXPORT_SENSOR},
    "solar": {"stat_energy_from": CONF_PRODUCTION_SENSOR},
    "battery": {
        "stat_energy_from": CONF_BATTERY_DISCHARGE_SENSOR,
        "stat_energy_to": CONF_BATTERY_CHARGE_SENSOR,
    },
}


async def async_energy_dashboard_sensors(hass: HomeAssistant) -> dict[str, list[str]]:
    """The grid, solar and home battery meters the Energy dashboard was given, to suggest.

    Every grid connection's import (a meter with two tariffs is two connections there) and
    export, every solar source and every battery. A setting is suggested only where each of its
    statistics is an entity (an external statistic is not): a part of a flow would be wrong.
    """
    preferences = (await async_get_manager(hass)).data
    found: dict[str, list[str]] = {key: [] for key in ELECTRICITY_FLOWS}
    for source in preferences["energy_sources"] if preferences is not None else []:
        for statistic_key, setting in _FLOWS_OF_SOURCE.get(source["type"], {}).items():
            if isinstance(statistic := source.get(statistic_key), str) and statistic:
                found[setting].append(statistic)
    suggested = {
        key: meters
        for key, meters in found.items()
        if meters and all(valid_entity_id(meter) and entity_exists(hass, meter) for meter in meters)
    }
    return suggested if CONF_ENERGY_SENSOR in suggested else {}


async def async_flows_to_add(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, list[str]]:
    """The dashboard's meters a home learning from its grid import lacks, by setting.

    The dashboard's other grid imports (a meter's other tariff), and its production, export and
    battery meters where the home has none. Empty unless the home's main sensors are among the
    dashboard's grid imports.
    """
    known = await async_energy_dashboard_sensors(hass)
    main = data.get(CONF_ENERGY_SENSOR) or []
    if not known or not main or not set(main) <= set(known[CONF_ENERGY_SENSOR]):
        return {}
    missing = {key: entity_ids for key, entity_ids in known.items() if not data.get(key)}
    if tariffs := [meter for meter in known[CONF_ENERGY_SENSOR] if meter not in main]:
        missing[CONF_ENERGY_SENSOR] = tariffs
    return missing
