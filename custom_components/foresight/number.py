"""The settings of Foresight's controllers: temperatures, thresholds, hold times, brightness."""

from __future__ import annotations

from homeassistant.components.number import NumberDeviceClass, NumberMode, RestoreNumber
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.unit_conversion import TemperatureConverter

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
    await add_entities(entry, async_add_entities, settings)


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
        if setting.unit in TemperatureConverter.VALID_UNITS:
            # Shown and entered in the home's unit (°F in a home in °F), kept in the setting's.
            self._attr_device_class = NumberDeviceClass.TEMPERATURE

    async def async_added_to_hass(self) -> None:
        """Take back the value set before a restart."""
        await super().async_added_to_hass()
        value: float | None = None
        if (data := await self.async_get_last_number_data()) is not None:
            value = data.native_value
        elif (state := await self.async_get_last_state()) is not None:
            try:
                value = self._native(
                    float(state.state), state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
                )
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
                        "lower": self._shown(settings[lower.key]),
                        "upper": self._shown(settings[upper]),
                    },
                )
        self.controller.settings[self.setting.key] = value
        self.async_write_ha_state()
        self.async_keep_choice()
        self.controller.async_schedule()

    def _native(self, value: float, unit: object) -> float:
        """A temperature kept in another unit (the home's, shown before) in the setting's."""
        native = self.setting.unit
        if self.device_class is None or unit in (None, native) or native is None:
            return value
        if unit not in TemperatureConverter.VALID_UNITS:
            raise ValueError(unit)
        return TemperatureConverter.convert(value, str(unit), native)

    def _shown(self, value: float) -> str:
        """A value of the setting as the user reads it: in the unit the number is shown in."""
        unit = self.unit_of_measurement
        if self.device_class is not None and self.setting.unit and unit != self.setting.unit:
            value = TemperatureConverter.convert(value, self.setting.unit, str(unit))
        shown = self.controller.texts.number(round(value, 1))
        return f"{shown} {unit}" if unit else shown
