"""The base of the simulated entities: named and placed as ``routine.ENTITIES`` says."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from . import Simulation
from .const import DOMAIN
from .routine import AREAS, EntitySpec


class SimulatedEntity(Entity):
    """An entity whose value comes from the simulation."""

    _attr_should_poll = False

    def __init__(self, simulation: Simulation, spec: EntitySpec) -> None:
        """Take the entity's id, name and device from its spec."""
        self.simulation = simulation
        self.spec = spec
        # The seeded history uses these ids, so they are fixed rather than derived from names.
        self.entity_id = spec.entity_id
        self._attr_unique_id = spec.entity_id
        self._attr_name = spec.name
        area = spec.area or "home"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, area)},
            name=f"{AREAS.get(area, 'Home')} (simulated)",
            manufacturer="Foresight",
            model="Simulated room" if spec.area else "Simulated home",
        )

    @property
    def value(self) -> Any:
        """The entity's latest simulated value."""
        return self.simulation.values.get(self.spec.entity_id)

    async def async_added_to_hass(self) -> None:
        """Follow the simulation."""
        self.async_on_remove(
            self.simulation.async_listen(self.spec.entity_id, self.async_write_ha_state)
        )
