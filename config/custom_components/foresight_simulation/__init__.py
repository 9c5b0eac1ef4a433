"""A simulated home for developing Foresight: rooms, people and a meter, living a weekly routine.

Development tooling only (it lives in ``config/custom_components``, never in what users install).
``foresight_simulation:`` in configuration.yaml creates its entry; the entities it adds are driven
minute by minute by ``routine.Home``, the same model that seeded the recorder's history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.recorder import get_instance, history
from homeassistant.config_entries import SOURCE_IMPORT, ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar, device_registry as dr
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .routine import AREAS, Climate, Home, HouseState, Reporter

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.CLIMATE,
    Platform.DEVICE_TRACKER,
    Platform.LIGHT,
    Platform.SENSOR,
]
WARM_UP = timedelta(hours=24)  # simulated before the first state, so the rooms have settled
METER = "sensor.home_energy"


class Simulation:
    """Runs the home live and tells each entity when its value changes."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Nothing simulated yet."""
        self.hass = hass
        self.home: Home | None = None
        self.reporter = Reporter()
        self._listeners: dict[str, Callable[[], None]] = {}

    @property
    def values(self) -> dict[str, Any]:
        """The latest reported value of every entity."""
        return self.reporter.reported

    @property
    def state(self) -> HouseState:
        """The house's state, for entities that change it (thermostats, lights)."""
        assert self.home is not None
        return self.home.state

    async def async_start(self) -> None:
        """Simulate the last day, then continue the meter from what the recorder last saw."""
        meter = await get_instance(self.hass).async_add_executor_job(
            history.get_last_state_changes, self.hass, 1, METER
        )
        now = dt_util.utcnow()
        self.home = Home(now - WARM_UP, dt_util.get_default_time_zone())
        await self.hass.async_add_executor_job(self._catch_up, now)
        if last := meter.get(METER):
            try:
                reading = float(last[-1].state)
            except ValueError:
                pass
            else:
                self.home.state.meter_kwh = max(self.home.state.meter_kwh, reading)
                self.reporter.reported[METER] = round(self.home.state.meter_kwh, 3)

    def hold(self, room: str, target: float) -> None:
        """Hold a room's set point for two hours."""
        assert self.home is not None
        tick = int(self.home.now.timestamp() // 60)
        self.home.state.held[room] = (target, tick + 120)
        entity_id = f"climate.{room}"
        if isinstance(reading := self.values.get(entity_id), Climate):
            self.values[entity_id] = Climate(target, reading.current, reading.heating)

    def _catch_up(self, now: datetime) -> dict[str, Any]:
        assert self.home is not None
        changed: dict[str, Any] = {}
        for when, values in self.home.run(now):
            changed.update(self.reporter.changes(int(when.timestamp() // 60), values))
        return changed

    @callback
    def async_tick(self, now: datetime) -> None:
        """Advance to ``now`` and update the entities whose value changed."""
        for entity_id in self._catch_up(now):
            if listener := self._listeners.get(entity_id):
                listener()

    @callback
    def async_listen(self, entity_id: str, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` when ``entity_id``'s value changes."""
        self._listeners[entity_id] = listener

        @callback
        def _remove() -> None:
            self._listeners.pop(entity_id, None)

        return _remove


type SimulationConfigEntry = ConfigEntry[Simulation]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Create the simulated home's entry the first time."""
    if DOMAIN in config and not hass.config_entries.async_entries(DOMAIN):
        hass.async_create_task(
            hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_IMPORT}, data={})
        )
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SimulationConfigEntry) -> bool:
    """Start the simulation, add its entities and put each room's device in its area."""
    simulation = Simulation(hass)
    await simulation.async_start()
    entry.runtime_data = simulation
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    _assign_areas(hass, entry)
    entry.async_on_unload(async_track_time_change(hass, simulation.async_tick, second=0))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SimulationConfigEntry) -> bool:
    """Stop the simulation."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


def _assign_areas(hass: HomeAssistant, entry: ConfigEntry) -> None:
    areas = ar.async_get(hass)
    devices = dr.async_get(hass)
    for area_key, name in AREAS.items():
        device = devices.async_get_device_by_identifier((DOMAIN, area_key), entry.entry_id)
        if device is None or device.area_id is not None:
            continue  # a room the developer moved elsewhere stays there
        area = areas.async_get_or_create(name)
        devices.async_update_device(device.id, area_id=area.id)
