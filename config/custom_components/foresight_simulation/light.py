"""Simulated lights: on when someone is in the room and it is dark; they can be switched too."""

from __future__ import annotations

from typing import Any

from homeassistant.components.light import ColorMode, LightEntity
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
    """Add every simulated light."""
    async_add_entities(
        SimulatedLight(entry.runtime_data, spec)
        for spec in ENTITIES.values()
        if spec.domain == "light"
    )


class SimulatedLight(SimulatedEntity, LightEntity):
    """A room's light."""

    _attr_color_mode = ColorMode.ONOFF
    _attr_supported_color_modes = {ColorMode.ONOFF}

    @property
    def is_on(self) -> bool | None:
        """Whether the light is on."""
        return bool(self.value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch it on (the simulated people switch it off again when they leave)."""
        self._switch(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch it off."""
        self._switch(False)

    def _switch(self, on: bool) -> None:
        room = self.spec.entity_id.removeprefix("light.")
        self.simulation.state.light_on[room] = on
        self.simulation.values[self.spec.entity_id] = on
        self.async_write_ha_state()
