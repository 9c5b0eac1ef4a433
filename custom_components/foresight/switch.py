"""Foresight's controllers, each a switch on its room's or the home's device (off by default)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoredExtraData, RestoreEntity

from . import ForesightConfigEntry
from .controllers import Controller
from .entity import ControllerEntity, add_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one switch per controller, on the controller's device."""
    controllers = entry.runtime_data.controllers
    await add_entities(entry, async_add_entities, (ControllerSwitch(c) for c in controllers))


class ControllerSwitch(ControllerEntity, SwitchEntity, RestoreEntity):
    """Turns a controller on or off; its attributes say what it decided and why."""

    _unrecorded_attributes = frozenset({"pre_heat_from", "switched_on"})

    def __init__(self, controller: Controller) -> None:
        """The switch of ``controller``."""
        super().__init__(controller, controller.key)
        self._memory: dict[str, Any] = {}

    async def async_added_to_hass(self) -> None:
        """Take back the state it had before a restart, and follow the controller."""
        await super().async_added_to_hass()
        self.async_on_remove(self.controller.add_change_listener(self._async_controller_changed))
        self.async_on_remove(self.controller.async_disable)
        if (memory := await self.async_get_last_extra_data()) is not None:
            self.controller.remember(memory.as_dict())
        self._memory = self.controller.memory()
        last = await self.async_get_last_state()
        if last is not None and last.state == STATE_ON:
            self.controller.async_enable()

    @callback
    def _async_controller_changed(self) -> None:
        """Show what the controller decided; save at once what it must not forget."""
        self.async_write_ha_state()
        memory = self.controller.memory()
        if memory != self._memory:  # a set point kept by hand, the lights it switched on
            self._memory = memory
            self.async_keep_choice()

    @property
    def is_on(self) -> bool:
        """Whether the controller acts."""
        return self.controller.enabled

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """What the controller decided and why."""
        return self.controller.attributes()

    @property
    def extra_restore_state_data(self) -> RestoredExtraData:
        """What the controller remembers: the lights it switched on, a set point kept."""
        return RestoredExtraData(self.controller.memory())

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Let the controller act."""
        self.controller.async_enable()
        self.async_keep_choice()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop the controller; what it set stays as it is."""
        self.controller.async_disable()
        self.controller.async_forget()
        self.async_keep_choice()
