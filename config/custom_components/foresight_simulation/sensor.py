"""Simulated sensors: temperatures, CO2, humidity, power and the home's energy meter."""

from __future__ import annotations

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
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
    """Add every simulated sensor."""
    async_add_entities(
        SimulatedSensor(entry.runtime_data, spec)
        for spec in ENTITIES.values()
        if spec.domain == "sensor"
    )


class SimulatedSensor(SimulatedEntity, SensorEntity):
    """A numeric sensor."""

    def __init__(self, *args: object) -> None:
        """Describe the sensor from its spec."""
        super().__init__(*args)  # type: ignore[arg-type]
        assert self.spec.device_class and self.spec.state_class
        self._attr_device_class = SensorDeviceClass(self.spec.device_class)
        self._attr_state_class = SensorStateClass(self.spec.state_class)
        self._attr_native_unit_of_measurement = self.spec.unit
        self._attr_suggested_display_precision = self.spec.decimals

    @property
    def native_value(self) -> float | int | None:
        """The latest reported reading (whole numbers where the sensor reports no decimals)."""
        value = self.value
        if value is None:
            return None
        return round(value) if not self.spec.decimals else float(value)
