"""Foresight: learns how a home is used and predicts it, from the sensors it already has."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util

from .backfill import async_backfill
from .const import (
    CONF_ENERGY_SENSOR,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_PEOPLE,
    CONF_RETENTION_DAYS,
    DEFAULT_RETENTION_DAYS,
    HISTORY_DIR,
)
from .coordinator import ForesightCoordinator
from .history import HistoryStore
from .observe import Observer
from .renames import async_follow_renames
from .repairs import async_check_sources, async_clear_all, async_history_rebuilt
from .sources import Kind, Source, energy_kind_of, room_sources, unique_sources

PLATFORMS: list[Platform] = [Platform.SENSOR]


@dataclass(slots=True)
class ForesightData:
    """What a running Foresight entry holds."""

    store: HistoryStore
    observer: Observer
    coordinator: ForesightCoordinator


type ForesightConfigEntry = ConfigEntry[ForesightData]


def home_sources(hass: HomeAssistant, entry: ConfigEntry) -> list[Source]:
    """The series the home's own configuration asks for."""
    sources = [Source(person, Kind.PERSON) for person in entry.data.get(CONF_PEOPLE, [])]
    if energy := entry.data.get(CONF_ENERGY_SENSOR):
        sources.append(Source(energy, energy_kind_of(hass, energy) or Kind.POWER))
    if outdoor := entry.data.get(CONF_OUTDOOR_TEMPERATURE):
        sources.append(Source(outdoor, Kind.TEMPERATURE))
    return sources


def history_path(hass: HomeAssistant, entry: ConfigEntry) -> Path:
    """Where an entry's history file lives."""
    return Path(hass.config.path(".storage", HISTORY_DIR, f"{entry.entry_id}.db"))


async def async_setup_entry(hass: HomeAssistant, entry: ForesightConfigEntry) -> bool:
    """Open the history, start observing, and backfill once Home Assistant has started."""
    room_keys: dict[str | None, list[str]] = {None: []}
    all_sources = home_sources(hass, entry)
    for room_id, subentry in entry.subentries.items():
        in_room = room_sources(room_id, subentry.data)
        room_keys[room_id] = [source.key for source in in_room]
        all_sources += in_room
    sources = unique_sources(all_sources)
    room_keys[None] = list(sources)

    store = HistoryStore(history_path(hass, entry))
    opened = await hass.async_add_executor_job(store.open)

    async def _close_store() -> None:
        await hass.async_add_executor_job(store.close)

    entry.async_on_unload(_close_store)
    if opened.set_aside is not None:
        async_history_rebuilt(hass, opened.set_aside.name)

    observer = Observer(hass, store, sources.values())
    await observer.async_start(dt_util.utcnow().timestamp())
    coordinator = ForesightCoordinator(hass, entry, store, observer, sources, room_keys)
    entry.runtime_data = ForesightData(store, observer, coordinator)
    await coordinator.async_config_entry_first_refresh()

    retention = int(entry.options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS))

    @callback
    def _started(_hass: HomeAssistant) -> None:
        async_check_sources(hass, {source.entity_id for source in sources.values()})
        started_at = observer.started_at or dt_util.utcnow().timestamp()
        entry.async_create_background_task(
            hass,
            async_backfill(
                hass, store, sources.values(), dt_util.utc_from_timestamp(started_at), retention
            ),
            "foresight backfill",
        )

    entry.async_on_unload(async_at_started(hass, _started))
    entry.async_on_unload(async_follow_renames(hass, entry, sources))
    entry.async_on_unload(entry.add_update_listener(_async_reload))

    async def _flush_on_stop(_event: Event) -> None:
        await observer.async_stop(dt_util.utcnow().timestamp())

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _flush_on_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_reload(hass: HomeAssistant, entry: ForesightConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: ForesightConfigEntry) -> bool:
    """Stop observing and write what is still buffered."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.observer.async_stop(dt_util.utcnow().timestamp())
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: ForesightConfigEntry) -> None:
    """Forget the home: its history file and its repair issues."""
    async_clear_all(hass)
    path = history_path(hass, entry)

    def _remove() -> None:
        for file in path.parent.glob(f"{path.name}*"):
            file.unlink(missing_ok=True)

    await hass.async_add_executor_job(_remove)
