"""Following the home's entities: renamed, removed, and new batteries to watch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import logging
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_DEVICE_CLASS, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.debounce import Debouncer
from homeassistant.util import dt as dt_util

from .backup import async_after_backup
from .const import (
    CONF_BATTERY_LOW_LEVELS,
    CONF_CLIMATE,
    CONF_EXCLUDED_BATTERIES,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_PEOPLE,
    CONF_PET_PRONE,
    CONF_SIMULATION_LIGHTS,
    CONF_SIMULATION_MEDIA,
    CONF_TRUSTED_PRESENCE,
    CONF_WATCHED_APPLIANCES,
    CONF_WORKDAY_SENSOR,
    ELECTRICITY_FLOWS,
)
from .history import HistoryStore
from .repairs import async_source_removed
from .sources import KEY_SUFFIXES, ROOM_KINDS, Kind, Source, battery_sensors

_LOGGER = logging.getLogger(__name__)

# Where a home's or room's configuration (data or options) names entities.
_LIST_KEYS = (
    CONF_PEOPLE,
    *ROOM_KINDS,
    CONF_TRUSTED_PRESENCE,
    CONF_WATCHED_APPLIANCES,
    CONF_SIMULATION_LIGHTS,
    CONF_SIMULATION_MEDIA,
    CONF_PET_PRONE,
    CONF_EXCLUDED_BATTERIES,
    *ELECTRICITY_FLOWS,
)
_SINGLE_KEYS = (CONF_OUTDOOR_TEMPERATURE, CONF_CLIMATE, CONF_WORKDAY_SENSOR)
_BY_ENTITY_KEYS = (CONF_BATTERY_LOW_LEVELS,)  # mappings from an entity id
# New batteries are looked for this long after an entity appears: a new device brings several.
NEW_BATTERY_COOLDOWN_S = 60.0


def replace_entity(data: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A copy of a home's or room's configuration (data or options) with one entity replaced."""
    updated = dict(data)
    for key in _LIST_KEYS:
        if key in updated:
            updated[key] = [new if entity_id == old else entity_id for entity_id in updated[key]]
    for key in _SINGLE_KEYS:
        if updated.get(key) == old:
            updated[key] = new
    for key in _BY_ENTITY_KEYS:
        if isinstance(by_entity := updated.get(key), Mapping) and old in by_entity:
            updated[key] = {new if k == old else k: v for k, v in by_entity.items()}
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
        if old not in watched and not _names(entry, old):
            return  # neither observed nor named in a setting (an excluded battery is named)
        hass.async_create_task(_async_rename(hass, entry, old, new), eager_start=False)

    return hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _on_registry_update)


def _names(entry: ConfigEntry, entity_id: str) -> bool:
    """Whether the home's or a room's configuration names ``entity_id``."""
    configurations = [entry.data, entry.options, *(s.data for s in entry.subentries.values())]
    return any(replace_entity(c, entity_id, "") != dict(c) for c in configurations)


async def _async_rename(hass: HomeAssistant, entry: ConfigEntry, old: str, new: str) -> None:
    runtime = entry.runtime_data
    store: HistoryStore = runtime.store
    # Write what the old id saw (its last state included) before its history moves; after it,
    # nothing (the old id's removal) makes it a series of its own again.
    await runtime.observer.async_flush(dt_util.utcnow().timestamp())
    runtime.observer.forget(old)

    async def _rename_history() -> None:
        for suffix in KEY_SUFFIXES:  # one renamed before a backup held the rest is skipped
            await hass.async_add_executor_job(store.rename, old + suffix, new + suffix)

    await async_after_backup(hass, _rename_history)
    runtime.models.rename(old, new)
    for subentry in entry.subentries.values():
        updated = replace_entity(subentry.data, old, new)
        if updated != dict(subentry.data):
            hass.config_entries.async_update_subentry(entry, subentry, data=updated)
    data = replace_entity(entry.data, old, new)
    options = replace_entity(entry.options, old, new)
    if data != dict(entry.data) or options != dict(entry.options):
        hass.config_entries.async_update_entry(entry, data=data, options=options)


def async_follow_new_batteries(
    hass: HomeAssistant, entry: ConfigEntry, sources: Mapping[str, Source]
) -> Callable[[], None]:
    """Reload the home when a battery sensor it does not watch yet appears; returns the stop."""
    watched = {source.entity_id for source in sources.values() if source.kind is Kind.BATTERY}
    excluded = list(entry.options.get(CONF_EXCLUDED_BATTERIES, []))

    async def _reload_if_new() -> None:
        if set(battery_sensors(hass, excluded)) - watched:
            hass.config_entries.async_schedule_reload(entry.entry_id)

    debouncer = Debouncer(
        hass, _LOGGER, cooldown=NEW_BATTERY_COOLDOWN_S, immediate=False, function=_reload_if_new
    )

    @callback
    def _is_new_battery(data: EventStateChangedData) -> bool:
        new, old = data["new_state"], data["old_state"]
        battery = SensorDeviceClass.BATTERY
        return (
            new is not None
            and new.domain == "sensor"
            and new.entity_id not in watched
            and new.attributes.get(ATTR_DEVICE_CLASS) == battery
            and (old is None or old.attributes.get(ATTR_DEVICE_CLASS) != battery)
        )

    @callback
    def _look_again(_event: Event[Any]) -> None:
        debouncer.async_schedule_call()

    @callback
    def _is_created(data: er.EventEntityRegistryUpdatedData) -> bool:
        return data["action"] == "create" and data["entity_id"] not in watched

    stops = [
        hass.bus.async_listen(EVENT_STATE_CHANGED, _look_again, event_filter=_is_new_battery),
        hass.bus.async_listen(
            er.EVENT_ENTITY_REGISTRY_UPDATED, _look_again, event_filter=_is_created
        ),
    ]

    @callback
    def _stop() -> None:
        for stop in stops:
            stop()
        debouncer.async_shutdown()

    return _stop
