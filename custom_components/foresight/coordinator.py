"""Foresight's schedule: write what was observed, summarise the history, train and predict."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    ANNOUNCE_DAYS,
    APPLIANCE_RAW_DAYS,
    CONF_RETENTION_DAYS,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    EVENT_MAINTENANCE,
    EVENT_UNUSUAL_ENERGY,
    FLUSH_INTERVAL,
    RAW_NUMERIC_DAYS,
)
from .history import Coverage, HistoryStore
from .home_energy import EnergyOutlook, HomeEnergy
from .home_maintenance import HomeMaintenance, MaintenanceReport
from .models import ModelStore
from .observe import Observer
from .repairs import async_update_silent_sources
from .sources import Source

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HistorySummary:
    """What Foresight's history holds, per source and per room (None is the home)."""

    coverage: dict[str, Coverage]
    usable_days: dict[str | None, int]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the entities show, refreshed together."""

    history: HistorySummary
    energy: EnergyOutlook | None = None
    maintenance: MaintenanceReport = field(default_factory=MaintenanceReport)
    trained_at: dict[str, datetime] = field(default_factory=dict)


class ForesightCoordinator(DataUpdateCoordinator[Snapshot]):
    """Flushes the observer, summarises the history, and runs the models.

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
        models: ModelStore,
        energy: HomeEnergy | None,
        maintenance: HomeMaintenance,
    ) -> None:
        """Keep the store, observer and models of one Foresight entry."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=DOMAIN, update_interval=FLUSH_INTERVAL
        )
        self.store = store
        self.observer = observer
        self.sources = sources
        self.room_keys = room_keys
        self.models = models
        self.energy = energy
        self.maintenance = maintenance
        self._announced: set[tuple[str, str]] = set()  # what foresight_maintenance already said
        self._training = asyncio.Lock()
        self._retention_days = int(entry.options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS))
        self.trained_at: dict[str, datetime] = {
            name: parsed
            for name, when in (models.get("trained_at") or {}).items()
            if isinstance(when, str) and (parsed := dt_util.parse_datetime(when)) is not None
        }
        if energy is not None:
            energy.restore(models.get("energy"))

    async def _async_update_data(self) -> Snapshot:
        now = dt_util.utcnow()
        await self.observer.async_flush(now.timestamp())
        history = await self.hass.async_add_executor_job(self._summarise, now.timestamp())
        maintenance = await self.hass.async_add_executor_job(self.maintenance.report, now)
        energy = None
        if self.energy is not None:
            energy = await self.hass.async_add_executor_job(self.energy.outlook, now)
        silent = {problem.entity_id for problem in maintenance.problems}
        if energy is not None and self.energy is not None and self.energy.entity_id in silent:
            # A silent meter reads as no use at all: that is not unusual use, it is no data.
            energy = replace(energy, unusual=False, unusual_kind="none")
        self._announce(energy, maintenance, now)
        async_update_silent_sources(
            self.hass, [p.entity_id for p in maintenance.problems if p.needs_repair]
        )
        return Snapshot(
            history=history,
            energy=energy,
            maintenance=maintenance,
            trained_at=dict(self.trained_at),
        )

    def _announce(
        self, energy: EnergyOutlook | None, maintenance: MaintenanceReport, now: datetime
    ) -> None:
        """Fire the events for what became unusual, or newly needs maintenance."""
        previous = self.data.energy if self.data is not None else None
        if energy is not None and energy.unusual and not (previous and previous.unusual):
            self.hass.bus.async_fire(
                EVENT_UNUSUAL_ENERGY,
                {
                    "kind": energy.unusual_kind,
                    "since": energy.unusual_since.isoformat() if energy.unusual_since else None,
                    "expected_kwh": energy.unusual_expected_kwh,
                    "seen_kwh": energy.unusual_seen_kwh,
                },
            )
        # Each battery date, problem and drift is announced once, when it first appears.
        due: dict[tuple[str, str], dict[str, object]] = {}
        soon = now + timedelta(days=ANNOUNCE_DAYS)
        for battery in maintenance.batteries:
            if battery.low_at is not None and battery.low_at <= soon:
                due[(battery.entity_id, f"battery {battery.low_at.date()}")] = {
                    "type": "battery",
                    "entity_id": battery.entity_id,
                    "level": battery.level,
                    "low_at": battery.low_at.isoformat(),
                }
        for problem in maintenance.problems:
            due[(problem.entity_id, problem.status)] = {
                "type": problem.status,
                "entity_id": problem.entity_id,
                "since": problem.since.isoformat(),
            }
        for appliance in maintenance.appliances.values():
            if appliance.status == "drifted":
                due[(appliance.entity_id, "drifted")] = {
                    "type": "appliance",
                    "entity_id": appliance.entity_id,
                    "measures": list(appliance.drifted_measures),
                }
        for tag, message in due.items():
            if tag not in self._announced:
                self.hass.bus.async_fire(EVENT_MAINTENANCE, message)
        self._announced = set(due)

    def _summarise(self, now: float) -> HistorySummary:
        self.store.prune(
            now,
            self._retention_days,
            RAW_NUMERIC_DAYS,
            dict.fromkeys(self.maintenance.appliance_keys, APPLIANCE_RAW_DAYS),
        )
        return HistorySummary(
            coverage=self.store.coverage(),
            usable_days={
                room: self.store.days_with_data(keys) for room, keys in self.room_keys.items()
            },
        )

    async def async_train(self) -> None:
        """Train every model from the history (in the executor), keep them, and predict anew."""
        async with self._training:
            await self.observer.async_flush(dt_util.utcnow().timestamp())
            now = dt_util.utcnow()
            if self.energy is not None:
                parameters = await self.hass.async_add_executor_job(self.energy.train, now)
                self.models.put("energy", parameters)
                self.trained_at["energy"] = now
            await self.hass.async_add_executor_job(self.maintenance.rebuild, now)
            self.trained_at["maintenance"] = now
            self.models.put(
                "trained_at", {name: when.isoformat() for name, when in self.trained_at.items()}
            )
        await self.async_refresh()
