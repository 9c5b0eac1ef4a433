"""The settings of Foresight's controllers: temperatures, thresholds, hold times, brightness."""

from __future__ import annotations

from homeassistant.components.number import NumberMode, RestoreNumber
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ForesightConfigEntry
from .const import DOMAIN
from .controllers import Controller
from .controllers.base import Setting
from .entity import ControllerEntity, add_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each controller's settings on the controller's device."""
    controllers = entry.runtime_data.controllers
    settings = [ControllerSetting(c, setting) for c in controllers for setting in c.settings_spec]
    add_entities(entry, async_add_entities, settings)


class ControllerSetting(ControllerEntity, RestoreNumber):
    """One setting of a controller, kept across restarts."""

    _attr_entity_category = EntityCategory.CONFIG
    _attr_mode = NumberMode.BOX

    def __init__(self, controller: Controller, setting: Setting) -> None:
        """The number for ``setting`` of ``controller``."""
        super().__init__(controller, setting.key)
        self.setting = setting
        self._attr_native_min_value = setting.minimum
        self._attr_native_max_value = setting.maximum
        self._attr_native_step = setting.step
        self._attr_native_unit_of_measurement = setting.unit

    async def async_added_to_hass(self) -> None:
        """Take back the value set before a restart."""
        await super().async_added_to_hass()
        value: float | None = None
        if (data := await self.async_get_last_number_data()) is not None:
            value = data.native_value
        elif (state := await self.async_get_last_state()) is not None:
            try:
                value = float(state.state)
            except ValueError:
                value = None
        if value is not None:
            value = min(max(value, self.setting.minimum), self.setting.maximum)
            self.controller.settings[self.setting.key] = value
            self.controller.async_schedule()

    @property
    def native_value(self) -> float:
        """The setting's value."""
        return self.controller.settings[self.setting.key]

    async def async_set_native_value(self, value: float) -> None:
        """Change the setting; the controller looks again at once."""
        settings = {**self.controller.settings, self.setting.key: value}
        for lower in self.controller.settings_spec:
            upper = lower.not_above
            if upper is None or self.setting.key not in (lower.key, upper):
                continue
            if settings[lower.key] > settings[upper]:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key=f"{lower.key}_above",
                    translation_placeholders={
                        "lower": f"{settings[lower.key]:g}",
                        "upper": f"{settings[upper]:g}",
                    },
                )
        self.controller.settings[self.setting.key] = value
        self.async_write_ha_state()
        self.controller.async_schedule()
