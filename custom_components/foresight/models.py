"""Where learned models are kept: one JSON store per entry (Home Assistant's Store, no pickle)."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAVE_DELAY_S = 10


class ModelStore:
    """Each model's parameters by name (``energy``, ``occupancy``, …), saved atomically."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store of one Foresight entry."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.models", atomic_writes=True
        )
        self._models: dict[str, Any] = {}

    async def async_load(self) -> None:
        """Read the saved models; an unreadable file means starting to learn afresh."""
        try:
            self._models = await self._store.async_load() or {}
        except (HomeAssistantError, ValueError) as err:
            _LOGGER.warning("Saved models could not be read, learning afresh: %s", err)
            self._models = {}

    def get(self, name: str) -> Any:
        """A saved model's parameters, or None."""
        return self._models.get(name)

    def put(self, name: str, parameters: Any) -> None:
        """Keep a model's parameters; written to disk shortly after."""
        self._models[name] = parameters
        self._store.async_delay_save(lambda: self._models, SAVE_DELAY_S)

    async def async_save(self) -> None:
        """Write now (on unload)."""
        await self._store.async_save(self._models)

    async def async_remove(self) -> None:
        """Forget every model (the entry was removed)."""
        await self._store.async_remove()
