"""Where learned models are kept: one JSON store per entry (Home Assistant's Store, no pickle)."""

from __future__ import annotations

from datetime import tzinfo
from functools import partial
import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, UnsupportedStorageVersionError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAVE_DELAY_S = 10
# Saved with the models: each one's time zone, whose wall clock it was learned on.
LEARNED_IN = "learned_in"


class ModelStore:
    """Each model's parameters by name (``energy``, ``occupancy``, …), saved atomically."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store of one Foresight entry, in the home's present time zone."""
        # A big home's models are a megabyte of JSON: made and written in an executor thread.
        self._store: Store[dict[str, Any]] = Store(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}.models",
            atomic_writes=True,
            serialize_in_event_loop=False,
        )
        self._models: dict[str, Any] = {}
        self.time_zone = hass.config.time_zone
        self._learned_in: dict[str, str] = {}  # model name → its time zone's name
        self._zones: dict[str, tzinfo] = {}  # those time zones by name
        self._renames: dict[str, str] = {}  # entities renamed since the models were loaded
        self._closed = False

    async def async_load(self) -> None:
        """Read the saved models; an unreadable file means starting to learn afresh."""
        saved: object  # what the file holds, whatever it was edited into
        try:
            saved = await self._store.async_load() or {}
        except UnsupportedStorageVersionError:
            _LOGGER.warning(
                "Saved models were written by a newer version of Foresight: learning them again"
            )
            saved = {}
        # A file edited by hand: not a store, or not the models Foresight saved.
        except (HomeAssistantError, ValueError, TypeError, KeyError) as err:
            saved = err
        if not isinstance(saved, dict):
            _LOGGER.warning("Saved models could not be read, learning afresh: %.100r", saved)
            saved = {}
        zones = saved.pop(LEARNED_IN, None)
        zones = zones if isinstance(zones, dict) else {}
        self._models = saved
        # Saved before the time zone was: learned in this one, which could not change since.
        self._learned_in = {name: str(zones.get(name, self.time_zone)) for name in saved}
        for zone in {self.time_zone, *self._learned_in.values()}:
            if (found := await dt_util.async_get_time_zone(zone)) is not None:
                self._zones[zone] = found

    def get(self, name: str) -> Any:
        """A saved model's parameters, or None."""
        return self._models.get(name)

    def learned(self, name: str) -> Any:
        """A model's parameters if learned on the home's present wall clock; None: learn it anew."""
        learned_in = self._learned_in.get(name, self.time_zone)
        if learned_in != self.time_zone:
            _LOGGER.info(
                "The %s model was learned in %s, the home is now in %s: learning it again",
                name,
                learned_in,
                self.time_zone,
            )
            return None
        return self._models.get(name)

    def learned_in(self, name: str) -> tzinfo | None:
        """The time zone whose wall clock a saved model was learned on (None: unknown here)."""
        return self._zones.get(self._learned_in.get(name, self.time_zone))

    def put(self, name: str, parameters: Any) -> None:
        """Keep a model's parameters; written to disk shortly after (never once closed)."""
        if self._closed:  # a training that outlived its entry: nothing is kept for it
            return
        self._models[name] = parameters
        self._learned_in[name] = self.time_zone
        self._save_soon()

    def rename(self, old: str, new: str) -> None:
        """Follow an entity rename: from now on the models are saved under its new id."""
        # An id the models know, renamed already, follows this rename too (A → B → C, or back).
        known = [loaded for loaded, current in self._renames.items() if current == old]
        for loaded in known:
            self._renames[loaded] = new
        if not known:
            self._renames[old] = new
        if not self._closed:
            self._save_soon()

    def _saved_now(self) -> partial[dict[str, Any]]:
        # What is kept now, for an executor thread to make the file of: a model's parameters
        # are replaced by the next put, never changed in place.
        return partial(_saved, dict(self._models), dict(self._learned_in), dict(self._renames))

    def _save_soon(self) -> None:
        self._store.async_delay_save(self._saved_now(), SAVE_DELAY_S)

    async def async_close(self) -> None:
        """Write now and keep nothing more (on unload)."""
        self._closed = True
        saved = await self._store.hass.async_add_executor_job(self._saved_now())
        await self._store.async_save(saved)

    async def async_remove(self) -> None:
        """Forget every model (the entry was removed)."""
        await self._store.async_remove()


def _saved(
    models: dict[str, Any], learned_in: dict[str, str], renames: dict[str, str]
) -> dict[str, Any]:
    """What the store file holds: the models, with the time zone each was learned in."""
    # The models running now still know a renamed entity by its old id, until they reload.
    return {**(_renamed(models, renames) if renames else models), LEARNED_IN: learned_in}


def _renamed(value: Any, renames: dict[str, str]) -> Any:
    """``value`` (plain JSON) with each renamed entity id, and each key of its series, renamed."""
    if isinstance(value, str):
        return _renamed_id(value, renames)
    if isinstance(value, dict):
        return {
            _renamed_id(key, renames) if isinstance(key, str) else key: _renamed(item, renames)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_renamed(item, renames) for item in value]
    return value


def _renamed_id(text: str, renames: dict[str, str]) -> str:
    entity_id, _, _ = text.partition("#")  # a series key: the entity id, "#" and what it keeps
    if (new := renames.get(entity_id)) is None:
        return text
    return new + text[len(entity_id) :]
