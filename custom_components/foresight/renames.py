"""Following the home's entities: renamed, removed, and new batteries to watch."""

from __future__ import annotations

import asyncio
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
    DOMAIN,
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
# The homes whose follower listens now, and the renames each other home's settings saw meanwhile
# (the home reloading, disabled, or waiting to set up again): its follower takes them up.
FOLLOWING = "foresight_following"
PENDING_RENAMES = "foresight_pending_renames"


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


@callback
def async_keep_renames_meanwhile(hass: HomeAssistant) -> None:
    """Keep the renames of the entities a home names while its follower does not listen.

    A device renamed from the frontend renames its entities one call at a time: the first
    rename reloads the home, and the next may come while it is unloaded.
    """

    @callback
    def _on_registry_update(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        data = event.data
        if data["action"] != "update" or "old_entity_id" not in data:
            return
        old, new = data["old_entity_id"], data["entity_id"]
        following: set[str] = hass.data.get(FOLLOWING, set())
        pending: dict[str, list[tuple[str, str]]] = hass.data.setdefault(PENDING_RENAMES, {})
        for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False):
            if entry.entry_id in following:
                continue
            kept = pending.get(entry.entry_id, [])
            if _names(entry, old) or any(renamed == old for _, renamed in kept):  # A → B → C
                pending[entry.entry_id] = [*kept, (old, new)]

    hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _on_registry_update)


class RenameFollower:
    """Follows renamed and removed source entities, one rename after another.

    Renaming a device renames its entities at once: their histories all move before the
    settings change, once, since changing them reloads the home.
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, sources: Mapping[str, Source]
    ) -> None:
        """Follow the entities of ``sources`` and those the home's settings name."""
        self._hass = hass
        self._entry = entry
        self._watched = {source.entity_id for source in sources.values()}
        self._batteries = {s.entity_id for s in sources.values() if s.kind is Kind.BATTERY}
        self._waiting: list[tuple[str, str]] = []
        self._following: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], None] | None = None

    @callback
    def async_listen(self) -> Callable[[], None]:
        """Start following, from the renames seen while not; returns the stop."""
        self._stop_listening = self._hass.bus.async_listen(
            er.EVENT_ENTITY_REGISTRY_UPDATED, self._on_registry_update
        )
        self._hass.data.setdefault(FOLLOWING, set()).add(self._entry.entry_id)
        for old, new in self._hass.data.get(PENDING_RENAMES, {}).pop(self._entry.entry_id, []):
            self._follow(old, new)
        return self._async_stop_listening

    @callback
    def _async_stop_listening(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
            self._hass.data[FOLLOWING].discard(self._entry.entry_id)

    async def async_stop(self) -> None:
        """Stop listening and finish the renames under way (before the history closes)."""
        self._async_stop_listening()
        if self._following is not None:
            await self._following

    @callback
    def _on_registry_update(self, event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        data = event.data
        if data["action"] == "remove" and data["entity_id"] in self._watched:
            if data["entity_id"] in self._batteries:
                # Watched because it is a battery: once gone, it is simply watched no more.
                self._hass.config_entries.async_schedule_reload(self._entry.entry_id)
            else:
                async_source_removed(self._hass, data["entity_id"])
            return
        if data["action"] != "update" or "old_entity_id" not in data:
            return
        old, new = data["old_entity_id"], data["entity_id"]
        if old not in self._watched and not _names(self._entry, old):
            return  # neither observed nor named in a setting (an excluded battery is named)
        self._follow(old, new)

    @callback
    def _follow(self, old: str, new: str) -> None:
        self._watched.add(new)  # renamed again before the home reloads, it is still followed
        self._waiting.append((old, new))
        if self._following is None:
            self._following = self._hass.async_create_task(
                self._async_follow(), "foresight follows renamed entities", eager_start=False
            )

    async def _async_follow(self) -> None:
        renamed: list[tuple[str, str]] = []
        try:
            while self._waiting:
                old, new = self._waiting.pop(0)
                await _async_move_history(self._hass, self._entry, old, new)
                renamed.append((old, new))
        finally:
            self._following = None
            _update_settings(self._hass, self._entry, renamed)


async def _async_move_history(hass: HomeAssistant, entry: ConfigEntry, old: str, new: str) -> None:
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


def _update_settings(
    hass: HomeAssistant, entry: ConfigEntry, renamed: list[tuple[str, str]]
) -> None:
    """Name the renamed entities' new ids in the home's and its rooms' settings."""
    for subentry in entry.subentries.values():
        updated = dict(subentry.data)
        for old, new in renamed:
            updated = replace_entity(updated, old, new)
        if updated != dict(subentry.data):
            hass.config_entries.async_update_subentry(entry, subentry, data=updated)
    data, options = dict(entry.data), dict(entry.options)
    for old, new in renamed:
        data, options = replace_entity(data, old, new), replace_entity(options, old, new)
    if data != dict(entry.data) or options != dict(entry.options):
        hass.config_entries.async_update_entry(entry, data=data, options=options)


def _names(entry: ConfigEntry, entity_id: str) -> bool:
    """Whether the home's or a room's configuration names ``entity_id``."""
    configurations = [entry.data, entry.options, *(s.data for s in entry.subentries.values())]
    return any(replace_entity(c, entity_id, "") != dict(c) for c in configurations)


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
