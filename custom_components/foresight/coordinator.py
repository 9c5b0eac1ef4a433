"""Foresight's schedule: write what was observed, and summarise the history, every few minutes."""

from __future__ import annotations

from dataclasses import dataclass
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    CONF_RETENTION_DAYS,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    FLUSH_INTERVAL,
    RAW_NUMERIC_DAYS,
)
from .history import Coverage, HistoryStore
from .observe import Observer
from .sources import Source

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HistorySummary:
    """What Foresight's history holds, per source and per room (None is the home)."""

    coverage: dict[str, Coverage]
    usable_days: dict[str | None, int]


class ForesightCoordinator(DataUpdateCoordinator[HistorySummary]):
    """Flushes the observer to the history store and summarises the store.

    ``room_keys`` lists the series of each room (None: the home, which learns from all of them).
    """

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        store: HistoryStore,
        observer: Observer,
        sources: dict[str, Source],
        room_keys: dict[str | None, list[str]],
    ) -> None:
        """Keep the store and observer of one Foresight entry."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=DOMAIN, update_interval=FLUSH_INTERVAL
        )
        self.store = store
        self.observer = observer
        self.sources = sources
        self.room_keys = room_keys
        self._retention_days = int(entry.options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS))

    async def _async_update_data(self) -> HistorySummary:
        now = dt_util.utcnow().timestamp()
        await self.observer.async_flush(now)
        return await self.hass.async_add_executor_job(self._summarise, now)

    def _summarise(self, now: float) -> HistorySummary:
        self.store.prune(now, self._retention_days, RAW_NUMERIC_DAYS)
        return HistorySummary(
            coverage=self.store.coverage(),
            usable_days={
                room: self.store.days_with_data(keys) for room, keys in self.room_keys.items()
            },
        )
