"""What Home Assistant's Energy dashboard knows of the home's electricity, for Foresight to use.

The dashboard's grid import is the meter a home usually gives Foresight; with solar panels or a
home battery, their meters there tell Foresight what the home really uses. They are suggested
when the home is set up, and a home set up with the grid import alone is told of them (a repair
issue whose fix adds them).
"""

from __future__ import annotations

from homeassistant.components.energy.data import async_get_manager
from homeassistant.core import HomeAssistant, valid_entity_id

from .const import (
    CONF_BATTERY_CHARGE_SENSOR,
    CONF_BATTERY_DISCHARGE_SENSOR,
    CONF_ENERGY_SENSOR,
    CONF_EXPORT_SENSOR,
    CONF_PRODUCTION_SENSOR,
)
from .sources import entity_exists


async def async_energy_dashboard_sensors(hass: HomeAssistant) -> dict[str, str]:
    """The grid, solar and home battery meters the Energy dashboard was given, to suggest.

    Only where the dashboard has one grid connection with an import meter and at most one
    solar source and one battery, and only statistics that are entities (an external
    statistic is not).
    """
    preferences = (await async_get_manager(hass)).data
    sources = preferences["energy_sources"] if preferences is not None else []
    grids = [source for source in sources if source["type"] == "grid"]
    solars = [source for source in sources if source["type"] == "solar"]
    batteries = [source for source in sources if source["type"] == "battery"]
    if len(grids) != 1 or len(solars) > 1 or len(batteries) > 1:
        return {}
    found = {
        CONF_ENERGY_SENSOR: grids[0].get("stat_energy_from"),
        CONF_EXPORT_SENSOR: grids[0].get("stat_energy_to"),
        CONF_PRODUCTION_SENSOR: solars[0]["stat_energy_from"] if solars else None,
        CONF_BATTERY_DISCHARGE_SENSOR: batteries[0]["stat_energy_from"] if batteries else None,
        CONF_BATTERY_CHARGE_SENSOR: batteries[0]["stat_energy_to"] if batteries else None,
    }
    suggested = {
        key: statistic
        for key, statistic in found.items()
        if statistic and valid_entity_id(statistic) and entity_exists(hass, statistic)
    }
    return suggested if CONF_ENERGY_SENSOR in suggested else {}


async def async_flows_to_add(hass: HomeAssistant, data: dict[str, object]) -> dict[str, str]:
    """The dashboard's production, export and battery meters a home with its grid import lacks.

    Empty unless the home's main sensor is the dashboard's grid import.
    """
    known = await async_energy_dashboard_sensors(hass)
    if not known or data.get(CONF_ENERGY_SENSOR) != known[CONF_ENERGY_SENSOR]:
        return {}
    return {key: entity_id for key, entity_id in known.items() if not data.get(key)}
