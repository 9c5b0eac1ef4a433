"""Predictive maintenance: batteries, silent or stuck sources, drifting appliances.

Runs in the executor at each refresh of the coordinator: new samples since the last refresh
are read from Foresight's history and fed to the ``learning`` models. Each source's rhythm and
battery discharge are kept with Foresight's models (:meth:`HomeMaintenance.learned`), so a
restart feeds them only what is new; a source whose saved state is missing, unreadable or
learned under other settings is learned again from the whole history. The appliances are fit
every night on their last days; the periods each was flagged and its last model learned from
normal days are kept too, so a drift that outlasts the history is never learned as normal.
A source only people make report (motion, a door, a light, a media player) is not silent while
everybody is away: with people chosen, its silence counts from the first person back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
import logging
import math
from typing import Any

import numpy as np

from .history import HistoryStore
from .learning.appliances import (
    PERSIST_HOURS,
    TRAIN_DAYS,
    WINDOW,
    ApplianceModel,
    MeasureCheck,
    add_flagged,
)
from .learning.batteries import BatteryDischarge, hourly_readings
from .learning.rhythm import SourceRhythm
from .sources import BINARY_KINDS, Kind
from .timebase import from_wall_clock, to_wall_clock, wall_clock_now

_LOGGER = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 86400.0
# An appliance is judged on its last day of power and the hours it must stay drifted.
CHECK_SPAN = WINDOW + (PERSIST_HOURS + 1) * HOUR
LEARNED_VERSION = 1  # of what learned() saves: each source's rhythm and battery discharge


@dataclass(frozen=True, slots=True)
class BatteryOutlook:
    """One battery: its level and when it is expected to reach its low level."""

    entity_id: str
    status: str  # learning, predicted, flat or low
    level: float | None
    low_level: float
    low_at: datetime | None
    low_at_early: datetime | None
    low_at_late: datetime | None
    discharge_per_day: float | None


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A source silent (or stuck on) far beyond its own rhythm."""

    entity_id: str
    status: str  # silent or stuck
    since: datetime  # its last report; stuck: when it turned on
    allowed_hours: float
    needs_repair: bool


@dataclass(frozen=True, slots=True)
class ApplianceOutlook:
    """A watched appliance's cycling: normal or drifted, with every measure behind it."""

    entity_id: str
    status: str  # learning, ok or drifted
    drifted_measures: tuple[str, ...]
    measures: tuple[MeasureCheck, ...]
    duty_by_hour: tuple[float, ...]  # its normal share of time on in each hour; () while learning


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What the maintenance entities show."""

    batteries: list[BatteryOutlook] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)
    appliances: dict[str, ApplianceOutlook] = field(default_factory=dict)

    def silent(self) -> set[str]:
        """The entities silent far beyond their rhythm."""
        return {problem.entity_id for problem in self.problems if problem.status == "silent"}

    def predicted(self) -> list[BatteryOutlook]:
        """Batteries with a predicted date, earliest first."""
        dated = [b for b in self.batteries if b.low_at is not None]
        return sorted(dated, key=lambda b: b.low_at or datetime.max)


# Only a detector's "on" can be stuck. A lamp or a television left on, the heating running
# through a cold morning, someone home for a week or a run of working days may last as long as
# they like: those sources are judged by their silences only.
STUCK_KINDS = frozenset({Kind.MOTION, Kind.DOOR})


# Sources only people make report: while everybody is away, their silence says nothing.
PEOPLE_KINDS = frozenset({Kind.MOTION, Kind.DOOR, Kind.MEDIA, Kind.LIGHT})
# How far back the people's history is read for their last return home.
PRESENCE_DAYS = 60


def _one_per_entity(problems: Iterable[SourceProblem]) -> list[SourceProblem]:
    """One problem per entity (a thermostat is two series): the longest-standing of its own."""
    found: dict[str, list[SourceProblem]] = {}
    for problem in problems:
        found.setdefault(problem.entity_id, []).append(problem)
    return [
        replace(
            min(own, key=lambda problem: problem.since),
            needs_repair=any(problem.needs_repair for problem in own),
        )
        for _, own in sorted(found.items())
    ]


def _is_binary(kind: str) -> bool:
    return kind in BINARY_KINDS


def last_return(people: Sequence[Iterable[tuple[float, float | None]]]) -> float | None:
    """When someone last came home to an empty home, from each person's readings (1 = home).

    ``math.inf`` while everybody is known to be away; ``-math.inf`` when the home was never
    seen empty; None without people. A person not known (no reading, or unknown) may be home.
    """
    if not people:
        return None
    home: list[float | None] = [None] * len(people)  # each person's latest reading

    def empty() -> bool:
        return all(reading == 0.0 for reading in home)

    changes = sorted((t, index, value) for index, rows in enumerate(people) for t, value in rows)
    returned = -math.inf
    for t, index, value in changes:
        was_empty = empty()
        home[index] = value
        if was_empty and not empty():
            returned = t
    return math.inf if empty() else returned


class HomeMaintenance:
    """Keeps the maintenance models of one home. Every method blocks: call from an executor."""

    def __init__(
        self,
        store: HistoryStore,
        zone: tzinfo,
        kinds: dict[str, str],
        batteries: dict[str, float],
        appliances: list[str],
        outdoor_key: str | None,
        people: list[str] | None = None,
    ) -> None:
        """Keep the models of ``kinds`` (every watched series by key).

        ``batteries``: battery key → its low level; ``people``: the series saying who is home.
        """
        self._store = store
        self._people = people or []
        self._zone = zone
        self._kinds = kinds
        self._low_levels = batteries
        self.appliance_keys = appliances
        self._outdoor_key = outdoor_key
        self.batteries: dict[str, BatteryDischarge] = {}
        self.rhythms: dict[str, SourceRhythm] = {}
        self.appliances: dict[str, ApplianceModel] = {}
        # Local wall-clock periods each appliance was flagged: never learned from.
        self.flagged: dict[str, list[tuple[float, float]]] = {}
        self._seen_until = 0.0  # UTC seconds: samples up to here were fed to the models
        self._saved: Any = None  # the rhythms and batteries kept at the last stop, not read yet

    @property
    def keys(self) -> list[str]:
        """Every watched series."""
        return list(self._kinds)

    def _local(self, utc: list[float]) -> np.ndarray:
        return to_wall_clock(np.asarray(utc, dtype=np.float64), self._zone)

    def rebuild(self, now: datetime) -> None:
        """Learn every model again from the whole history up to ``now``."""
        end = math.nextafter(now.timestamp(), math.inf)
        self._learn(self._kinds, end)
        self._fit_appliances(end)
        self._seen_until = end

    def train(self, now: datetime, relearn: Iterable[str] = ()) -> None:
        """Fit the appliances on their last days; learn ``relearn`` again from the whole history.

        A rhythm or a discharge fed report by report holds what relearning the same history
        would give it; it is relearned only when its history gained older samples (a backfill).
        Kept since first seen, it also remembers what the history has since pruned.
        """
        if not self.rhythms:
            self.rebuild(now)
            return
        self._learn([key for key in relearn if key in self._kinds], self._seen_until)
        self._fit_appliances(math.nextafter(now.timestamp(), math.inf))

    def _learn(self, keys: Iterable[str], end: float) -> None:
        """Learn these sources' rhythms and batteries from their whole history before ``end``."""
        for key in keys:
            rows = [(t, v) for t, v in self._store.samples(key, 0.0, end) if v is not None]
            times = self._local([t for t, _ in rows])
            values = np.array([v for _, v in rows], dtype=np.float64)
            if key in self._low_levels:
                early_times, early_values = self._forgotten_levels(key, rows[0][0] if rows else end)
                self.batteries[key] = BatteryDischarge.from_history(
                    np.concatenate([early_times, times]),
                    np.concatenate([early_values, values]),
                    low_level=self._low_levels[key],
                )
            binary = _is_binary(self._kinds[key])
            self.rhythms[key] = SourceRhythm.from_reports(times, values >= 0.5 if binary else None)

    def _forgotten_levels(self, key: str, before: float) -> tuple[np.ndarray, np.ndarray]:
        """A battery's levels before its first recorded report, from its hourly lows and highs.

        The recorder forgets states after days but keeps their hourly statistics for years: a
        battery's months of discharge are known from the day Foresight is set up.
        """
        rows = [row for row in self._store.hours(key, 0.0, before) if row.hour + HOUR <= before]
        times, levels = hourly_readings(
            [row.hour for row in rows],
            [math.nan if row.min is None else row.min for row in rows],
            [math.nan if row.max is None else row.max for row in rows],
            HOUR,
        )
        return self._local(times.tolist()), levels

    def _fit_appliances(self, end: float) -> None:
        for key in self.appliance_keys:
            times, power = self._power(key, end - TRAIN_DAYS * DAY, end)
            outdoor_times, outdoor = self._outdoor(end - TRAIN_DAYS * DAY, end)
            fitted = ApplianceModel.fit(
                times, power, outdoor_times, outdoor, exclude=self.flagged.get(key)
            )
            previous = self.appliances.get(key)
            # Every day left to learn from was flagged: what was normal before still is.
            if fitted.ready or previous is None or not previous.ready:
                self.appliances[key] = fitted

    def learned(self) -> dict[str, Any] | None:
        """Each source's rhythm and battery discharge, and until when they were fed (JSON).

        None before the first report: nothing learned yet to keep.
        """
        if not self.rhythms:
            return None
        sources: dict[str, Any] = {}
        for key, rhythm in list(self.rhythms.items()):
            sources[key] = {"kind": self._kinds[key], "rhythm": rhythm.to_dict()}
            if (battery := self.batteries.get(key)) is not None:
                sources[key]["battery"] = battery.to_dict()
        return {"version": LEARNED_VERSION, "seen_until": self._seen_until, "sources": sources}

    def _resume(self, now: datetime) -> None:
        """Take back the saved rhythms and batteries and feed them what is new; else rebuild."""
        end = math.nextafter(now.timestamp(), math.inf)
        saved, self._saved = self._saved, None
        seen_until = _saved_until(saved, end)
        restored = self._restored(saved.get("sources")) if seen_until is not None else {}
        if seen_until is None or not restored:
            self.rebuild(now)
            return
        for key, (rhythm, battery) in restored.items():
            self.rhythms[key] = rhythm
            if battery is not None:
                self.batteries[key] = battery
        missing = [key for key in self._kinds if key not in restored]
        self._learn(missing, seen_until)
        self._fit_appliances(end)
        self._feed(seen_until, end)

    def _restored(self, sources: Any) -> dict[str, tuple[SourceRhythm, BatteryDischarge | None]]:
        """The saved sources that fit the present ones (same kind, same low level)."""
        restored: dict[str, tuple[SourceRhythm, BatteryDischarge | None]] = {}
        if not isinstance(sources, dict):
            return restored
        for key, kind in self._kinds.items():
            saved = sources.get(key)
            if not isinstance(saved, dict) or saved.get("kind") != kind:
                continue
            try:
                rhythm = SourceRhythm.from_dict(saved.get("rhythm", {}))
                battery = None
                if key in self._low_levels:
                    battery = BatteryDischarge.from_dict(saved.get("battery", {}))
                    if battery.low_level != self._low_levels[key]:
                        continue
            except ValueError as err:
                _LOGGER.debug("Saved state of %s could not be read: %s", key, err)
                continue
            restored[key] = (rhythm, battery)
        return restored

    def parameters(self) -> dict[str, Any]:
        """What the history cannot give back: each appliance's flagged periods and model."""
        return {
            "flagged": {
                key: [list(period) for period in self.flagged[key]] for key in self.flagged
            },
            "appliances": {
                key: model.to_dict() for key, model in self.appliances.items() if model.ready
            },
        }

    def restore(
        self, parameters: Any, learned_in: tzinfo | None = None, learned: Any = None
    ) -> None:
        """Take back what :meth:`parameters` and :meth:`learned` gave; unreadable: learned afresh.

        ``learned_in``: the time zone on whose wall clock the flagged periods were kept;
        ``learned`` must have been learned on the present one. It is read at the first report.
        """
        self._saved = learned
        if not isinstance(parameters, dict):
            return
        for key in self.appliance_keys:
            try:
                periods = parameters.get("flagged", {}).get(key, [])
                self.flagged[key] = [(float(start), float(end)) for start, end in periods]
            except AttributeError, TypeError, ValueError:
                _LOGGER.warning("Flagged periods of %s could not be read", key)
            if learned_in is not None and str(learned_in) != str(self._zone):
                self.flagged[key] = self._moved(self.flagged.get(key, []), learned_in)
            try:
                saved = (parameters.get("appliances") or {}).get(key)
                if saved is not None:
                    self.appliances[key] = ApplianceModel.from_dict(saved)
            except (AttributeError, ValueError) as err:
                _LOGGER.warning("Saved model of %s could not be read: %s", key, err)

    def _moved(
        self, periods: list[tuple[float, float]], learned_in: tzinfo
    ) -> list[tuple[float, float]]:
        """Periods on another time zone's wall clock, the same moments on this one's."""
        utc = [
            from_wall_clock(local, learned_in).timestamp() for period in periods for local in period
        ]
        local = self._local(utc).tolist()
        return list(zip(local[::2], local[1::2], strict=True))

    def _power(self, key: str, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        rows = self._store.samples(key, start, end)
        times = self._local([t for t, _ in rows])
        return times, np.array([math.nan if v is None else v for _, v in rows], dtype=np.float64)

    def _outdoor(self, start: float, end: float) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self._outdoor_key is None:
            return None, None
        rows = self._store.hours(self._outdoor_key, start, end)
        if not rows:
            return None, None
        times = self._local([row.hour + HOUR / 2 for row in rows])
        return times, np.array([math.nan if r.mean is None else r.mean for r in rows])

    def report(
        self, now: datetime, last_reports: Mapping[str, float] | None = None
    ) -> MaintenanceReport:
        """Feed what is new, then judge every battery, source and appliance at ``now``.

        ``last_reports``: when each source last reported (UTC seconds), a value that held too.
        History keeps only changes; a battery at 100 % or a plug at 0 W for a week that still
        reports is not silent.
        """
        end = now.timestamp()
        if not self.rhythms:
            self._resume(now)
        else:
            # Up to and including now: a reading taken this very second counts.
            self._feed(self._seen_until, math.nextafter(end, math.inf))
        self._seen_until = math.nextafter(end, math.inf)
        local_now = wall_clock_now(now, self._zone)
        self._heard(last_reports or {}, local_now)
        returned = self._last_return(end)
        return MaintenanceReport(
            batteries=[self._battery(key, local_now) for key in sorted(self.batteries)],
            problems=_one_per_entity(
                problem
                for key in sorted(self.rhythms)
                if (problem := self._problem(key, local_now, returned)) is not None
            ),
            appliances={key: self._appliance(key, end, local_now) for key in self.appliances},
        )

    def _feed(self, start: float, end: float) -> None:
        for key, kind in self._kinds.items():
            rows = [(t, v) for t, v in self._store.samples(key, start, end) if v is not None]
            if not rows:
                continue
            for t, value in zip(
                self._local([t for t, _ in rows]), (v for _, v in rows), strict=True
            ):
                if (battery := self.batteries.get(key)) is not None:
                    battery.record(float(t), value)
                if (rhythm := self.rhythms.get(key)) is not None:
                    rhythm.record(float(t), value >= 0.5 if _is_binary(kind) else None)

    def _heard(self, last_reports: Mapping[str, float], local_now: float) -> None:
        """Count each source's latest report, even of a value that held, in its rhythm."""
        keys = list(last_reports)
        # One time-zone conversion for every source, not one per source.
        for key, stamp in zip(keys, self._local([last_reports[k] for k in keys]), strict=True):
            local = float(stamp)
            if (battery := self.batteries.get(key)) is not None and local <= local_now:
                battery.held(local)  # a level that holds is news too: it is not falling
            rhythm = self.rhythms.get(key)
            if rhythm is None or rhythm.last_report is None:
                continue
            if rhythm.last_report < local <= local_now:
                rhythm.record(local, rhythm.is_on if _is_binary(self._kinds[key]) else None)

    def _shown(self, local: float) -> datetime:
        """A wall-clock time as shown: to the whole second, as every other time Foresight shows."""
        return from_wall_clock(math.floor(local), self._zone)

    def _when(self, local: float | None) -> datetime | None:
        return self._shown(local) if local is not None else None

    def _battery(self, key: str, local_now: float) -> BatteryOutlook:
        forecast = self.batteries[key].forecast(local_now)
        return BatteryOutlook(
            entity_id=key,
            status=forecast.status,
            # Reckoned between two reported steps: a tenth of a point is all it can tell.
            level=round(forecast.level, 1) if forecast.level is not None else None,
            low_level=forecast.low_level,
            low_at=self._when(forecast.low_at),
            low_at_early=self._when(forecast.low_at_early),
            low_at_late=self._when(forecast.low_at_late),
            discharge_per_day=forecast.discharge_per_day,
        )

    def _last_return(self, end: float) -> float | None:
        """:func:`last_return` over the people's recent history, on the local wall clock."""
        start = end - PRESENCE_DAYS * DAY
        returned = last_return([self._store.samples(person, start, end) for person in self._people])
        if returned is None or math.isinf(returned):
            return returned
        return float(self._local([returned])[0])

    def _problem(self, key: str, local_now: float, returned: float | None) -> SourceProblem | None:
        rhythm = self.rhythms[key]
        check = rhythm.check(local_now)
        if check.status == "silent" and returned is not None and self._kinds[key] in PEOPLE_KINDS:
            if returned == math.inf:  # nobody home to use it
                return None
            check = rhythm.check_silence_from(returned, local_now)
        if not check.problem or (check.status == "stuck" and self._kinds[key] not in STUCK_KINDS):
            return None
        since = local_now - check.seconds_since_report
        if check.status == "stuck" and rhythm.on_since is not None:
            since = rhythm.on_since  # a stuck sensor may still say "on" now and then
        return SourceProblem(
            entity_id=key.split("#", 1)[0],
            status=check.status,
            since=self._shown(since),
            allowed_hours=round((check.allowed_seconds or 0.0) / HOUR, 2),
            needs_repair=check.needs_repair,
        )

    def _appliance(self, key: str, end: float, local_now: float) -> ApplianceOutlook:
        times, power = self._power(key, end - CHECK_SPAN, end)
        outdoor_times, outdoor = self._outdoor(end - CHECK_SPAN, end)
        model = self.appliances[key]
        check = model.check(times, power, local_now, outdoor_times, outdoor)
        if check.status == "drifted":
            # Whole hours, so the kept periods change (and are saved) once an hour at most.
            hour = math.floor(local_now / HOUR) * HOUR
            self.flagged[key] = add_flagged(self.flagged.get(key, []), hour - HOUR, hour + HOUR)
        by_hour = tuple(model.duty_by_hour) if model.ready else ()
        return ApplianceOutlook(key, check.status, check.drifted_measures, check.measures, by_hour)


def _saved_until(saved: Any, end: float) -> float | None:
    """Until when a saved state was fed (UTC seconds), if it can be read and is not ahead of ``end``."""
    if not isinstance(saved, dict) or saved.get("version") != LEARNED_VERSION:
        return None
    seen_until = saved.get("seen_until")
    if not isinstance(seen_until, (int, float)) or not 0.0 < seen_until <= end:
        return None
    return float(seen_until)
