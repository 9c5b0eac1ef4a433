"""The base of every Foresight entity: one device per room and one for the home."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, restore_state
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import (
    AddConfigEntryEntitiesCallback,
    async_get_current_platform,
)
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .controllers.base import Controller
from .coordinator import ForesightCoordinator


class ForesightEntity(CoordinatorEntity[ForesightCoordinator]):
    """An entity on the home's device (``room`` None) or on a room's device."""

    _attr_has_entity_name = True
    shows_occupancy = False  # also written when occupancy is published, if its room's changed

    def __init__(
        self,
        coordinator: ForesightCoordinator,
        key: str,
        room: str | None = None,
        room_name: str | None = None,
    ) -> None:
        """Attach the entity to its device; ``key`` is its translation key."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        device_id = room or entry.entry_id
        self.room = room
        self._attr_translation_key = key
        self._attr_unique_id = f"{device_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_id)},
            name=room_name if room is not None else entry.title,
            manufacturer="Foresight",
            model=None,  # shown untranslated by the frontend; None also clears an earlier one
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the refreshes, and the occupancy of its room if it shows it."""
        await super().async_added_to_hass()
        if self.shows_occupancy:
            self.async_on_remove(
                self.coordinator.async_add_occupancy_listener(self._handle_occupancy_update)
            )

    @callback
    def _handle_occupancy_update(self, rooms: Collection[str | None]) -> None:
        if self.room in rooms:
            self._handle_coordinator_update()


class ControllerEntity(ForesightEntity):
    """A controller's switch, setting or alarm, on the controller's device."""

    def __init__(self, controller: Controller, key: str) -> None:
        """The entity ``key`` of ``controller``."""
        super().__init__(controller.coordinator, key, controller.room, controller.room_name)
        self.controller = controller

    @property
    def available(self) -> bool:
        """Always: it holds what the user chose, not what a refresh of the history found."""
        return True

    @callback
    def async_keep_choice(self) -> None:
        """Have a choice the user made, or what a controller must remember, saved within seconds.

        Home Assistant saves restorable states when it stops and every 15 minutes: a crash or a
        power cut would otherwise undo what changed in the minutes before.
        """
        self.controller.entry.runtime_data.keep_choices.async_schedule_call()


async def add_entities(
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities: Iterable[ForesightEntity],
) -> None:
    """Add a platform's entities; forget the entries and last states of those it no longer adds.

    Each entity goes on its room's subentry (the home's when its ``room`` is None), a room per
    step of the event loop: a big home's hundreds of entities never hold it together. Called
    once per platform, with all its entities, at the end of its setup: a failed setup removes
    nothing.
    """
    by_room: dict[str | None, list[ForesightEntity]] = {}
    for entity in entities:
        by_room.setdefault(entity.room, []).append(entity)
    for room, added in by_room.items():
        if room is None:
            async_add_entities(added)
        else:
            async_add_entities(added, config_subentry_id=room)
        await asyncio.sleep(0)
    # Unique ids, not states: an entity the user disabled is still provided.
    provided = {entity.unique_id for added in by_room.values() for entity in added}
    platform = async_get_current_platform()
    registry = er.async_get(platform.hass)
    gone = [
        registered
        for registered in er.async_entries_for_config_entry(registry, entry.entry_id)
        if registered.domain == platform.domain and registered.unique_id not in provided
    ]
    for registered in gone:
        registry.async_remove(registered.entity_id)
    # Provided again one day (a room's thermostat given back), each starts anew.
    async_forget_last_states(platform.hass, gone)


@callback
def async_forget_last_states(hass: HomeAssistant, entities: Iterable[er.RegistryEntry]) -> None:
    """Forget the last states kept of removed entities: added again, they start anew."""
    restored = restore_state.async_get(hass)
    # Home Assistant keeps them by entity id before 2026.11, and by registry entry since, whose
    # id an entity provided again takes back.
    by_entity_id = getattr(restored, "last_states", {})
    by_registry_id = getattr(restored, "last_states_by_entity_registry_id", {})
    for entity in entities:
        by_entity_id.pop(entity.entity_id, None)
        by_registry_id.pop(entity.id, None)
