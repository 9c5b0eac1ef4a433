"""Following the home's entities: a renamed source keeps its history, a removed one is reported."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .const import CONF_CLIMATE, CONF_ENERGY_SENSOR, CONF_OUTDOOR_TEMPERATURE, CONF_PEOPLE
from .history import HistoryStore
from .repairs import async_source_removed
from .sources import ROOM_KINDS, Source

_LIST_KEYS = (CONF_PEOPLE, *ROOM_KINDS)
_SINGLE_KEYS = (CONF_ENERGY_SENSOR, CONF_OUTDOOR_TEMPERATURE, CONF_CLIMATE)


def replace_entity(data: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy of a home's or room's configuration with one entity id replaced."""
    updated = dict(data)
    for key in _LIST_KEYS:
        if key in updated:
            updated[key] = [new if entity_id == old else entity_id for entity_id in updated[key]]
    for key in _SINGLE_KEYS:
        if updated.get(key) == old:
            updated[key] = new
    return updated


def async_follow_renames(
    hass: HomeAssistant, entry: ConfigEntry, sources: Mapping[str, Source]
) -> Callable[[], None]:
    """Listen for renamed and removed source entities; returns the unsubscribe callback."""
    watched = {source.entity_id for source in sources.values()}

    @callback
    def _on_registry_update(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        data = event.data
        if data["action"] == "remove" and data["entity_id"] in watched:
            async_source_removed(hass, data["entity_id"])
            return
        if data["action"] != "update" or "old_entity_id" not in data:
            return
        old, new = data["old_entity_id"], data["entity_id"]
        if old not in watched:
            return
        hass.async_create_task(_async_rename(hass, entry, old, new), eager_start=False)

    return hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _on_registry_update)


async def _async_rename(hass: HomeAssistant, entry: ConfigEntry, old: str, new: str) -> None:
    runtime = entry.runtime_data
    store: HistoryStore = runtime.store
    # Write what the old id saw (its last state included) before its history moves.
    await runtime.observer.async_flush(dt_util.utcnow().timestamp())
    for suffix in ("", "#heating", "#setpoint"):
        await hass.async_add_executor_job(store.rename, old + suffix, new + suffix)
    for subentry in entry.subentries.values():
        updated = replace_entity(subentry.data, old, new)
        if updated != dict(subentry.data):
            hass.config_entries.async_update_subentry(entry, subentry, data=updated)
    updated = replace_entity(entry.data, old, new)
    if updated != dict(entry.data):
        hass.config_entries.async_update_entry(entry, data=updated)
