"""The base of every Foresight entity: one device per room and one for the home."""

from __future__ import annotations

from collections.abc import Sequence

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .controllers.base import Controller
from .coordinator import ForesightCoordinator


class ForesightEntity(CoordinatorEntity[ForesightCoordinator]):
    """An entity on the home's device (``room`` None) or on a room's device."""

    _attr_has_entity_name = True

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
            model="Room" if room is not None else "Home",
            entry_type=DeviceEntryType.SERVICE,
        )


class ControllerEntity(ForesightEntity):
    """A controller's switch or setting, on the controller's device."""

    def __init__(self, controller: Controller, key: str) -> None:
        """The entity ``key`` of ``controller``."""
        super().__init__(controller.coordinator, key, controller.room, controller.room_name)
        self.controller = controller

    @property
    def available(self) -> bool:
        """Always: it holds what the user chose, not what a refresh of the history found."""
        return True


def add_to_device(
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities: Sequence[Entity],
    room: str | None,
) -> None:
    """Add entities to the home's device (``room`` None) or to a room's, on its subentry."""
    if not entities:
        return
    if room is None:
        async_add_entities(entities)
    else:
        async_add_entities(entities, config_subentry_id=room)
