"""Simulated thermostats: a weekly programme, electric heaters, rooms losing heat outdoors."""

from __future__ import annotations

from typing import Any

from homeassistant.components.climate import (
    ClimateEntity,
    ClimateEntityFeature,
    HVACAction,
    HVACMode,
)
from homeassistant.const import ATTR_TEMPERATURE, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import SimulationConfigEntry
from .entity import SimulatedEntity
from .routine import ENTITIES, Climate


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SimulationConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every room's thermostat."""
    async_add_entities(
        SimulatedThermostat(entry.runtime_data, spec)
        for spec in ENTITIES.values()
        if spec.domain == "climate"
    )


class SimulatedThermostat(SimulatedEntity, ClimateEntity):
    """A room's thermostat following its programme (a set temperature holds for two hours)."""

    _attr_hvac_modes = [HVACMode.OFF, HVACMode.HEAT]
    _attr_hvac_mode = HVACMode.HEAT
    _attr_min_temp = 7
    _attr_max_temp = 35
    _attr_target_temperature_step = 0.5
    _attr_temperature_unit = UnitOfTemperature.CELSIUS
    _attr_supported_features = (
        ClimateEntityFeature.TARGET_TEMPERATURE
        | ClimateEntityFeature.TURN_ON
        | ClimateEntityFeature.TURN_OFF
    )

    @property
    def _reading(self) -> Climate | None:
        value = self.value
        return value if isinstance(value, Climate) else None

    @property
    def hvac_mode(self) -> HVACMode:
        """Heat, unless switched off."""
        room = self.spec.entity_id.removeprefix("climate.")
        return HVACMode.OFF if room in self.simulation.state.switched_off else HVACMode.HEAT

    @property
    def current_temperature(self) -> float | None:
        """The room's temperature."""
        return reading.current if (reading := self._reading) else None

    @property
    def target_temperature(self) -> float | None:
        """The programme's (or the set) temperature."""
        return reading.target if (reading := self._reading) else None

    @property
    def hvac_action(self) -> HVACAction | None:
        """Heating or idle."""
        if self.hvac_mode == HVACMode.OFF:
            return HVACAction.OFF
        reading = self._reading
        return HVACAction.HEATING if reading and reading.heating else HVACAction.IDLE

    async def async_set_temperature(self, **kwargs: Any) -> None:
        """Hold a temperature for two hours."""
        room = self.spec.entity_id.removeprefix("climate.")
        self.simulation.hold(room, float(kwargs[ATTR_TEMPERATURE]))
        self.async_write_ha_state()

    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        """Switch the heating of the room off or back on."""
        room = self.spec.entity_id.removeprefix("climate.")
        if hvac_mode == HVACMode.OFF:
            self.simulation.state.switched_off.add(room)
        else:
            self.simulation.state.switched_off.discard(room)
        self.async_write_ha_state()
