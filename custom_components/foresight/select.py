"""Settings of Foresight's controllers chosen from a few options (presence simulation's mode)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from . import ForesightConfigEntry
from .controllers import Controller
from .controllers.base import Choice
from .entity import ControllerEntity, add_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add each controller's choices on the controller's device."""
    controllers = entry.runtime_data.controllers
    choices = [ControllerChoice(c, choice) for c in controllers for choice in c.choices_spec]
    await add_entities(entry, async_add_entities, choices)


class ControllerChoice(ControllerEntity, SelectEntity, RestoreEntity):
    """One choice of a controller, kept across restarts."""

    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, controller: Controller, choice: Choice) -> None:
        """The select for ``choice`` of ``controller``."""
        super().__init__(controller, choice.key)
        self.choice = choice
        self._attr_options = list(choice.options)

    async def async_added_to_hass(self) -> None:
        """Take back the option chosen before a restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state in self.choice.options:
            self.controller.choices[self.choice.key] = last.state

    @property
    def current_option(self) -> str:
        """The option chosen."""
        return self.controller.choices[self.choice.key]

    async def async_select_option(self, option: str) -> None:
        """Choose an option; the controller looks again at once."""
        self.controller.choices[self.choice.key] = option
        self.async_write_ha_state()
        self.async_keep_choice()
        self.controller.notify()  # the switch shows the choice in its attributes, off too
        self.controller.async_schedule()
