"""Foresight's schedule: write what was observed, summarise the history, train and predict."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, CoreState, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    ANNOUNCE_DAYS,
    APPLIANCE_RAW_DAYS,
    CALENDAR_DAYS,
    CONF_RETENTION_DAYS,
    CONF_WORKDAY_SENSOR,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    EVENT_MAINTENANCE,
    EVENT_UNUSUAL_ENERGY,
    FLUSH_INTERVAL,
    OCCUPANCY_COOLDOWN_S,
    OCCUPANCY_INTERVAL,
    RAW_NUMERIC_DAYS,
    SUMMARY_INTERVAL,
)
from .history import HISTORY_ERRORS, Coverage, HistoryClosedError, HistoryStore, Sample
from .home_energy import EnergyOutlook, HomeEnergy
from .home_maintenance import HomeMaintenance, MaintenanceReport
from .home_occupancy import HomeOccupancy, OccupancyOutlook
from .home_thermal import HomeThermal, WarmUp
from .models import ModelStore
from .observe import Observer
from .repairs import async_update_source_problems
from .sources import KEEP_EVERY_READING, Kind, Source, read_state

_LOGGER = logging.getLogger(__name__)
UNUSUAL_ANNOUNCED = "unusual_energy_announced"  # kept with the models: on while announced
MAINTENANCE_SOURCES = "maintenance_sources"  # kept with the models: rhythms and batteries
WORKDAY_DOMAIN = "workday"  # its check_date action tells whether any date is worked
CHECK_DATE = "check_date"


@dataclass(frozen=True, slots=True)
class HistorySummary:
    """What Foresight's history holds, per source and per room (None is the home)."""

    coverage: dict[str, Coverage]
    days_with_data: dict[str | None, int]

    def with_dropped(self, dropped: dict[str, dict[str, int]]) -> HistorySummary:
        """The same summary with newer counts of dropped readings."""
        coverage = {
            key: replace(cov, dropped=dropped.get(key, {})) for key, cov in self.coverage.items()
        }
        return HistorySummary(coverage, self.days_with_data)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the entities show, refreshed together."""

    history: HistorySummary
    energy: EnergyOutlook | None = None
    maintenance: MaintenanceReport = field(default_factory=MaintenanceReport)
    occupancy: OccupancyOutlook | None = None
    warm_up: dict[str, WarmUp] = field(default_factory=dict)
    trained_at: dict[str, datetime] = field(default_factory=dict)
    rejected_at: dict[str, datetime] = field(default_factory=dict)  # newer models kept out


type OccupancyListener = Callable[[Collection[str | None]], None]


def _changed_scopes(old: OccupancyOutlook | None, new: OccupancyOutlook | None) -> set[str | None]:
    """The rooms (None: the home, with its presence) whose occupancy shows differently."""
    if old is None or new is None:
        shown = old or new
        return {None, *shown.rooms} if shown is not None else set()
    rooms = old.rooms.keys() | new.rooms.keys()
    changed = {room for room in rooms if old.rooms.get(room) != new.rooms.get(room)}
    if old.presence != new.presence:
        changed.add(None)
    return changed


KEEP_WAIT_S = 10  # a refresh takes a second or two; a training far longer
WRITE_SLICE_S = 0.01  # the longest a refresh writes its entities before letting the loop in


def _times(saved: Any) -> dict[str, datetime]:
    """The named times saved by :meth:`ForesightCoordinator.async_train` (ISO strings)."""
    return {
        name: parsed
        for name, when in (saved if isinstance(saved, dict) else {}).items()
        if isinstance(when, str) and (parsed := dt_util.parse_datetime(when)) is not None
    }


def _list(saved: Any) -> list[Any]:
    """A list kept with the models, or none where the file was edited into something else."""
    return saved if isinstance(saved, list) else []


def history_unavailable[E: HomeAssistantError](
    kind: type[E], store: HistoryStore, error: Exception
) -> E:
    """The translated error of a history file out of reach for now."""
    return kind(
        translation_domain=DOMAIN,
        translation_key="history_unavailable",
        translation_placeholders={"path": str(store.path), "error": str(error)},
    )


@contextmanager
def _keeping_the_previous_model(name: str, failed: list[str]) -> Iterator[None]:
    """Log a model's failed training and add it to ``failed``; the model in use stays."""
    try:
        yield
    except HistoryClosedError:  # Foresight was unloaded: no model failed, the training stops
        raise
    except Exception:
        _LOGGER.exception("Training the %s model failed; the previous one is kept", name)
        failed.append(name)


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
        occupancy: HomeOccupancy,
        thermal: HomeThermal,
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
        self.occupancy = occupancy
        self.thermal = thermal
        thermal.restore(models.get("thermal"))
        maintenance.restore(
            models.get("maintenance"),
            models.learned_in("maintenance"),
            models.learned(MAINTENANCE_SOURCES),
        )
        self._maintenance_kept = maintenance.parameters()  # as last put in the model store
        # Occupancy is published on its own beat: within a second of a state change, and
        # every minute, without moving the schedule of the refresh.
        self._publisher = Debouncer(
            hass,
            _LOGGER,
            cooldown=OCCUPANCY_COOLDOWN_S,
            immediate=True,
            function=self.async_publish_occupancy,
        )
        self._occupancy_listeners: list[OccupancyListener] = []
        # What foresight_maintenance already said and still holds, kept across restarts.
        self._announced: set[tuple[str, str]] = {
            (str(tag[0]), str(tag[1]))
            for tag in _list(models.get("announced"))
            if isinstance(tag, list) and len(tag) == 2
        }
        # Whether unusual energy use was last announced, kept so a restart does not repeat it.
        self._unusual_announced = models.get(UNUSUAL_ANNOUNCED) is True
        # Nothing needs maintenance until the recorder's history of new sources was read.
        self._history_read = False
        self._training = asyncio.Lock()
        self._writing: asyncio.Task[None] | None = None  # the entities a refresh still writes
        self._summarised_at: datetime | None = None  # when the history was last summarised
        self._days_ahead_asked: date | None = None  # the local day the workday sensor last told
        self._retention_days = int(entry.options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS))
        self.trained_at = _times(models.get("trained_at"))
        self.rejected_at = _times(models.get("rejected_at"))
        if energy is not None:
            energy.restore(models.learned("energy"))

    @callback
    def async_update_listeners(self) -> None:
        """Write the entities following the refreshes, a slice of the event loop at a time.

        A big home has hundreds: written in one go, after a training, they would hold Home
        Assistant's event loop for tens of milliseconds here, several times that on a small
        board. The first slice is written at once; a newer refresh starts the writing anew.
        """
        if self._writing is not None:
            self._writing.cancel()
        self._writing = self.config_entry.async_create_task(
            self.hass, self._async_write(list(self._listeners)), "foresight refresh written"
        )

    async def async_refresh(self) -> None:
        """Refresh now; done once every entity shows what it found."""
        await super().async_refresh()
        while (writing := self._writing) is not None and not writing.done():
            await asyncio.wait([writing])  # a newer refresh's writing, if it started meanwhile

    async def _async_write(self, listener_ids: list[int]) -> None:
        started = time.monotonic()
        for listener_id in listener_ids:
            if time.monotonic() - started >= WRITE_SLICE_S:
                await asyncio.sleep(0)
                started = time.monotonic()
            if (listener := self._listeners.get(listener_id)) is None:
                continue  # removed meanwhile
            try:
                listener[0]()
            except Exception:
                self.logger.exception("Telling %s of a refresh failed", listener[0])

    @callback
    def async_start_occupancy(self) -> CALLBACK_TYPE:
        """Follow readings live and publish occupancy every minute; returns the stop callback."""
        self.observer.add_listener(self._on_sample)
        stop_timer = async_track_time_interval(
            self.hass, self._publish_every_minute, OCCUPANCY_INTERVAL
        )

        @callback
        def _stop() -> None:
            stop_timer()
            self._publisher.async_shutdown()

        return _stop

    @callback
    def _on_sample(self, sample: Sample) -> None:
        if sample.key in self.occupancy.keys:
            self.occupancy.observe(sample.key, sample.t, sample.value)
            self._publisher.async_schedule_call()

    @callback
    def _publish_every_minute(self, _now: datetime) -> None:
        self._publisher.async_schedule_call()

    async def async_publish_occupancy(self) -> None:
        """Predict every room's occupancy now, and the home's last, a step of the loop each.

        Each room is shown as soon as it is predicted: a big home's rooms (a millisecond or so
        each here, several on a small board) never hold Home Assistant's event loop together,
        not even at the first prediction after a start.
        """
        snapshot: Snapshot | None = self.data  # None until the first refresh
        if snapshot is None:
            return
        if snapshot.occupancy is None:  # nothing shown yet: each room's prediction is its own news
            self.data = replace(snapshot, occupancy=OccupancyOutlook())
        now, untrusted = dt_util.utcnow(), self.untrusted_sources()
        for scope in self.occupancy.scopes():
            snapshot = self.data
            if snapshot is None or (shown := snapshot.occupancy) is None:
                return
            rooms = dict(shown.rooms)
            if (room := self.occupancy.room_outlook(scope, now, untrusted)) is None:
                rooms.pop(scope, None)
            else:
                rooms[scope] = room
            presence = (
                shown.presence if scope is not None else self.occupancy.presence(now, untrusted)
            )
            self._show_occupancy(snapshot, OccupancyOutlook(rooms, presence))
            await asyncio.sleep(0)

    @callback
    def async_add_occupancy_listener(self, listener: OccupancyListener) -> CALLBACK_TYPE:
        """Be told which rooms (None: the home) a publish changed; returns the remover."""
        self._occupancy_listeners.append(listener)
        return lambda: self._occupancy_listeners.remove(listener)

    @callback
    def _show_occupancy(self, snapshot: Snapshot, outlook: OccupancyOutlook | None) -> None:
        self.data = replace(snapshot, occupancy=outlook)
        # Energy, maintenance and the history are not occupancy's: a refresh tells them.
        if changed := _changed_scopes(snapshot.occupancy, outlook):
            for listener in list(self._occupancy_listeners):
                listener(changed)

    def untrusted_sources(self) -> set[str]:
        """The occupancy sources found silent: not read as "empty", the model treats them as unknown."""
        snapshot: Snapshot | None = self.data  # None until the first refresh
        if snapshot is None:
            return set()
        silent = {problem.entity_id for problem in snapshot.maintenance.problems}
        return {key for key in self.occupancy.keys if key.split("#", 1)[0] in silent}

    async def _async_ask_days_ahead(self, energy: HomeEnergy, now: datetime) -> None:
        """Tell the energy forecasts which coming days the workday sensor counts as worked.

        The sensor's state says only today's; the Workday integration answers for any date.
        Asked once a day, for as far as ``foresight.get_forecast`` reaches; a workday sensor of
        another kind (or the Workday integration not loaded yet) tells today alone, by its state.
        """
        workday = self.config_entry.options.get(CONF_WORKDAY_SENSOR)
        today = dt_util.as_local(now).date()
        if not workday or self._days_ahead_asked == today:
            return
        state = self.hass.states.get(workday)
        reading = read_state(Kind.WORKDAY, state) if state is not None else None
        is_worked = reading if isinstance(reading, float) else None  # as its history reads it
        registered = er.async_get(self.hass).async_get(workday)
        if (
            is_worked is not None  # not while it is unavailable: Home Assistant would warn
            and registered is not None
            and registered.platform == WORKDAY_DOMAIN
            and self.hass.services.has_service(WORKDAY_DOMAIN, CHECK_DATE)
        ):
            try:
                energy.days_ahead = {
                    day: await self._async_is_worked(workday, day)
                    for day in (
                        today + timedelta(days=offset) for offset in range(CALENDAR_DAYS + 1)
                    )
                }
            except HomeAssistantError as error:
                _LOGGER.warning("%s could not tell the days ahead: %s", workday, error)
            else:
                self._days_ahead_asked = today
                return
        energy.days_ahead = {today: is_worked} if is_worked is not None else {}

    async def _async_is_worked(self, workday: str, day: date) -> float:
        """1 if the Workday integration's ``workday`` sensor counts ``day`` as worked, else 0."""
        response = await self.hass.services.async_call(
            WORKDAY_DOMAIN,
            CHECK_DATE,
            {CHECK_DATE: day},
            target={"entity_id": workday},
            blocking=True,
            return_response=True,
        )
        answer = (response or {}).get(workday)
        worked = answer.get("workday") if isinstance(answer, dict) else None
        if not isinstance(worked, bool):
            raise HomeAssistantError(f"no answer for {day}")
        return float(worked)

    def _last_reports(self) -> dict[str, float]:
        """When each watched source last reported, an unchanged value too (UTC seconds)."""
        reports: dict[str, float] = {}
        for key in self.maintenance.keys:
            state = self.hass.states.get(key.split("#", 1)[0])
            if state is not None and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN):
                reports[key] = state.last_reported_timestamp
        return reports

    async def _async_update_data(self) -> Snapshot:
        try:
            return await self._async_snapshot()
        except HistoryClosedError:  # unloaded meanwhile: nothing shows this refresh any more
            return self.data
        except HISTORY_ERRORS as error:  # said once, and again when it recovers
            raise history_unavailable(UpdateFailed, self.store, error) from error

    async def _async_snapshot(self) -> Snapshot:
        """Flush, summarise the history and predict (what the history allows)."""
        now = dt_util.utcnow()
        await self.observer.async_flush(now.timestamp())
        history = self.data.history if self.data is not None else None
        if (
            history is None
            or self._summarised_at is None
            or now >= self._summarised_at + SUMMARY_INTERVAL
        ):
            history = await self.hass.async_add_executor_job(self._summarise, now.timestamp())
            self._summarised_at = now
        else:  # between summaries, a dropped reading is still counted at once
            history = history.with_dropped(
                await self.hass.async_add_executor_job(self.store.dropped)
            )
        # Training rebuilds these models in another executor thread: never both at once.
        async with self._training:
            maintenance = await self.hass.async_add_executor_job(
                self.maintenance.report, now, self._last_reports()
            )
            await self._async_keep_maintenance()
            warm_up = await self.hass.async_add_executor_job(self.thermal.outlook)
            energy = None
            if self.energy is not None:
                await self._async_ask_days_ahead(self.energy, now)
                energy = await self.hass.async_add_executor_job(self.energy.outlook, now)
        silent = maintenance.silent()
        was_silent = self.data.maintenance.silent() if self.data is not None else set()
        for entity_id in silent - was_silent:
            # What it last said no longer holds: none of the models reads its silence as a value.
            self.observer.mark_silent(entity_id, now.timestamp())
        if (
            energy is not None
            and self.energy is not None
            and not silent.isdisjoint(self.energy.entity_ids)
        ):
            # A silent meter reads as no use (or production) at all: that is no data, not unusual.
            energy = replace(energy, unusual=False, unusual_kind="none")
        self._announce(energy, maintenance, now)
        async_update_source_problems(
            self.hass, [(p.entity_id, p.status) for p in maintenance.problems if p.needs_repair]
        )
        return Snapshot(
            history=history,
            energy=energy,
            maintenance=maintenance,
            occupancy=self.data.occupancy if self.data is not None else None,
            warm_up=warm_up,
            trained_at=dict(self.trained_at),
            rejected_at=dict(self.rejected_at),
        )

    async def _async_keep_maintenance(self) -> None:
        """Keep the appliances' flagged periods and models when they changed."""
        parameters = await self.hass.async_add_executor_job(self.maintenance.parameters)
        if parameters != self._maintenance_kept:
            self.models.put("maintenance", parameters)
            self._maintenance_kept = parameters

    async def async_keep_learned(self) -> None:
        """Keep each source's rhythm and battery discharge, for a restart to feed only what is new.

        A refresh in progress is waited for; a training is not (a stop must not wait that long):
        the last state kept stays valid, and a restart feeds it everything since.
        """
        try:
            async with asyncio.timeout(KEEP_WAIT_S):
                await self._training.acquire()
        except TimeoutError:
            return
        try:
            await self._async_keep_learned()
        finally:
            self._training.release()

    async def _async_keep_learned(self) -> None:
        # Large, so not at every refresh: at training and at stop only.
        learned = await self.hass.async_add_executor_job(self.maintenance.learned)
        if learned is not None:
            self.models.put(MAINTENANCE_SOURCES, learned)

    def _announce(
        self, energy: EnergyOutlook | None, maintenance: MaintenanceReport, now: datetime
    ) -> None:
        """Fire the events for what became unusual, or newly needs maintenance."""
        if self.hass.state is not CoreState.running:
            return  # automations listen once Home Assistant has started: its refresh then says it
        unusual = energy is not None and energy.unusual
        if energy is not None and unusual and not self._unusual_announced:
            self.hass.bus.async_fire(
                EVENT_UNUSUAL_ENERGY,
                {
                    "kind": energy.unusual_kind,
                    "since": energy.unusual_since.isoformat() if energy.unusual_since else None,
                    "expected_kwh": energy.unusual_expected_kwh,
                    "expected_lower_kwh": energy.unusual_lower_kwh,
                    "expected_upper_kwh": energy.unusual_upper_kwh,
                    "seen_kwh": energy.unusual_seen_kwh,
                },
            )
        if unusual != self._unusual_announced:
            self._unusual_announced = unusual
            self.models.put(UNUSUAL_ANNOUNCED, unusual)
        if not self._history_read:
            return  # a battery seen only since now would be "low since now", whatever its past
        # Each battery coming due, problem and drift is announced once, when it first appears:
        # a battery whose date moves while still due soon, or a restart, is no news.
        due: dict[tuple[str, str], dict[str, object]] = {}
        soon = now + timedelta(days=ANNOUNCE_DAYS)
        for battery in maintenance.batteries:
            if battery.low_at is not None and battery.low_at <= soon:
                due[(battery.entity_id, "battery")] = {
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
        if set(due) != self._announced:  # what no longer holds is forgotten: it may come back
            self._announced = set(due)
            self.models.put("announced", sorted(list(tag) for tag in self._announced))

    def _summarise(self, now: float) -> HistorySummary:
        self.store.prune(
            now,
            self._retention_days,
            RAW_NUMERIC_DAYS,
            KEEP_EVERY_READING,
            dict.fromkeys(self.maintenance.appliance_keys, APPLIANCE_RAW_DAYS),
        )
        return self.summary()

    def summary(self) -> HistorySummary:
        """What the history holds now (blocking: call from an executor)."""
        return HistorySummary(
            coverage=self.store.coverage(),
            days_with_data={
                room: self.store.days_with_data(keys) for room, keys in self.room_keys.items()
            },
        )

    @property
    def needs_training(self) -> bool:
        """Whether a model is missing (first start, changed rooms, an unreadable saved model)."""
        return (
            self.occupancy.model is None
            or (self.energy is not None and self.energy.forecaster is None)
            or any(room not in self.thermal.models for room in self.thermal.rooms)
        )

    async def async_history_read(self, backfilled: Collection[str]) -> None:
        """The recorder's history was read: learn from it where needed, then announce."""
        if backfilled or self.needs_training:
            await self.async_train(backfilled, history_read=True)
            return
        self._history_read = True
        await self.async_refresh()

    async def async_train(
        self, backfilled: Collection[str] = (), *, history_read: bool = False
    ) -> list[str]:
        """Train every model from the history (in the executor), keep them, and predict anew.

        ``backfilled``: the series the history gained older samples of, relearned from scratch;
        ``history_read``: the recorder's history has been read, so maintenance may announce.
        Returns the models whose training failed: for those, the model in use is kept.
        Raises HistoryClosedError if Foresight is unloaded meanwhile: nothing more is kept.
        """
        failed: list[str] = []
        async with self._training:
            await self.observer.async_flush(dt_util.utcnow().timestamp())
            # To the whole second: when a model was trained or kept out is shown so.
            now = dt_util.utcnow().replace(microsecond=0)
            if self.energy is not None:
                with _keeping_the_previous_model("energy", failed):
                    parameters = await self.hass.async_add_executor_job(self.energy.train, now)
                    self.models.put("energy", parameters)
                    self.trained_at["energy"] = now
            with _keeping_the_previous_model("maintenance", failed):
                # Readings written late were never fed to the rhythms: they learn them again.
                relearn = {*backfilled, *self.observer.take_written_late()}
                await self.hass.async_add_executor_job(self.maintenance.train, now, relearn)
                await self._async_keep_maintenance()
                await self._async_keep_learned()
                self.trained_at["maintenance"] = now
            self._history_read = self._history_read or history_read
            if self.thermal.rooms:
                with _keeping_the_previous_model("thermal", failed):
                    parameters = await self.hass.async_add_executor_job(self.thermal.train, now)
                    self.models.put("thermal", parameters)
                    self.trained_at["thermal"] = now
            with _keeping_the_previous_model("occupancy", failed):
                candidate = await self.hass.async_add_executor_job(self.occupancy.train, now)
                if self.occupancy.adopt(candidate):
                    self.models.put("occupancy", candidate.parameters)
                    self.trained_at["occupancy"] = now  # when the model in use was trained
                else:
                    self.rejected_at["occupancy"] = now
            for name, times in (("trained_at", self.trained_at), ("rejected_at", self.rejected_at)):
                self.models.put(name, {key: when.isoformat() for key, when in times.items()})
            self._summarised_at = None  # a backfill or a day's history came before: count anew
        await self.async_refresh()
        await self.async_publish_occupancy()
        return failed
