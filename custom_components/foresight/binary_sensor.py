"""Foresight's binary sensors: unusual energy use (and, with the learning, occupancy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ForesightConfigEntry
from .entity import ForesightEntity

PARALLEL_UPDATES = 0

UNUSUAL_ENERGY = BinarySensorEntityDescription(
    key="unusual_energy",
    translation_key="unusual_energy",
    device_class=BinarySensorDeviceClass.PROBLEM,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the home's unusual-energy sensor when it has an electricity sensor."""
    coordinator = entry.runtime_data.coordinator
    if coordinator.energy is not None:
        async_add_entities([UnusualEnergySensor(coordinator, UNUSUAL_ENERGY.key)])


class UnusualEnergySensor(ForesightEntity, BinarySensorEntity):
    """On while consumption stays outside its expected band long enough to matter."""

    entity_description = UNUSUAL_ENERGY

    @property
    def is_on(self) -> bool | None:
        """Whether the home's use is unusual now."""
        energy = self.coordinator.data.energy
        return energy.unusual if energy is not None else None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """What was expected, what was seen, and since when."""
        energy = self.coordinator.data.energy
        if energy is None or not energy.unusual:
            return {}
        return {
            "kind": energy.unusual_kind,
            "since": energy.unusual_since.isoformat() if energy.unusual_since else None,
            "expected_kwh": energy.unusual_expected_kwh,
            "seen_kwh": energy.unusual_seen_kwh,
        }
