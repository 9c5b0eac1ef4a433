"""Simulated phones: home when their person is (persons in configuration.yaml follow them)."""

from __future__ import annotations

from homeassistant.components.device_tracker import ScannerEntity, SourceType
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
    """Add the two phones."""
    async_add_entities(
        SimulatedPhone(entry.runtime_data, spec)
        for spec in ENTITIES.values()
        if spec.domain == "device_tracker"
    )


class SimulatedPhone(SimulatedEntity, ScannerEntity):
    """A phone seen on the home's network."""

    _attr_source_type = SourceType.ROUTER
    _attr_entity_registry_enabled_default = True

    @property
    def unique_id(self) -> str | None:
        """The phone's id (it has no MAC address)."""
        return self.spec.entity_id

    @property
    def is_connected(self) -> bool:
        """Whether the phone is at home."""
        return bool(self.value)
