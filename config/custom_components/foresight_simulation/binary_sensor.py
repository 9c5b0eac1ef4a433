"""Simulated motion, door and window sensors."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import SimulationConfigEntry
from .entity import SimulatedEntity
from .routine import ENTITIES


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SimulationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every simulated binary sensor."""
    async_add_entities(
        SimulatedBinarySensor(entry.runtime_data, spec)
        for spec in ENTITIES.values()
        if spec.domain == "binary_sensor"
    )


class SimulatedBinarySensor(SimulatedEntity, BinarySensorEntity):
    """Motion in a room, or a door or window open."""

    def __init__(self, *args: object) -> None:
        """Describe the sensor from its spec."""
        super().__init__(*args)  # type: ignore[arg-type]
        assert self.spec.device_class
        self._attr_device_class = BinarySensorDeviceClass(self.spec.device_class)

    @property
    def is_on(self) -> bool | None:
        """Motion seen, or open."""
        return bool(self.value)
