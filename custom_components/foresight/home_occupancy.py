"""Who is where: the occupancy engine between Foresight's history and the entities.

Training reads the history in the executor; the live tracker takes each observed reading on
the event loop (O(1)) and predicts in a few milliseconds for every room, so the occupancy
entities follow a state change within a second.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
import logging
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from homeassistant.util.json import JsonValueType

from .history import HistoryStore
from .learning.occupancy import should_replace, train_occupancy
from .learning.occupancy_live import ExpectedTime, OccupancyForecast, OccupancyTracker
from .learning.occupancy_model import OccupancyModel
from .learning.occupancy_signals import OccupancySource, SourceSeries
from .sources import Kind, Source, by_hand_series
from .timebase import from_wall_clock, to_wall_clock, wall_clock_now

_LOGGER = logging.getLogger(__name__)

DAY = 86400.0
HOUR = 3600.0
TRAIN_DAYS = 84  # the engine never reads more than twelve weeks
REPLAY_DAYS = 1  # after a restart the tracker catches up on the last day
PENDING_READINGS = 10_000  # readings kept for the first tracker while it is trained
ROUTINE_STEP = 900.0  # the learned-routine calendar's resolution: 15 minutes
WEEK = 7 * DAY
MONDAY = -3 * DAY  # a Monday 00:00 on the wall clock (its seconds count from a Thursday)
# On the learned-routine calendar a room is expected in use where its routine is at least
# this share of its weekly peak, and at least MIN_IN_USE likely: its typical times of use.
PEAK_SHARE = 0.5
MIN_IN_USE = 0.25

# Kinds that say something about a room being used (batteries and meters do not).
OCCUPANCY_KINDS = frozenset(
    {
        Kind.MOTION,
        Kind.DOOR,
        Kind.MEDIA,
        Kind.LIGHT,
        Kind.PERSON,
        Kind.HEATING,
        Kind.POWER,
        Kind.TEMPERATURE,
        Kind.HUMIDITY,
        Kind.CO2,
        Kind.ILLUMINANCE,
    }
)


@dataclass(frozen=True, slots=True)
class RoomOutlook:
    """A room's (or the home's) occupancy now and ahead, as the entities show it."""

    status: str
    occupancy_probability: float
    in_use: bool
    next_hour: float
    hourly: list[JsonValueType]
    next_use: datetime | None
    confidence: float
    skill: float | None
    scores: dict[str, float]


# An expected time, the earliest it is likely, and the latest (None: beyond the next day).
type Expected = tuple[datetime, datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class HomePresence:
    """Someone home now, and the expected arrival or departure with its likely range."""

    someone_home: bool
    probability: float
    expected_arrival: Expected | None
    expected_departure: Expected | None


@dataclass(frozen=True, slots=True)
class OccupancyOutlook:
    """Every room and the home (key None)."""

    rooms: dict[str | None, RoomOutlook] = field(default_factory=dict)
    presence: HomePresence | None = None


@dataclass(slots=True)
class Candidate:
    """A newly trained model, whether it should replace the current one, and its tracker."""

    model: OccupancyModel
    replaces: bool
    parameters: dict[str, Any]  # the model as saved (made off the event loop)
    tracker: OccupancyTracker | None = None  # caught up off the event loop, if none followed yet


def occupancy_sources(sources: Iterable[Source], appliances: Collection[str]) -> list[Source]:
    """The series that tell whether rooms are used: rooms' sources and the people.

    Lights and media tell by the changes a person made only (their by-hand series).
    """
    return [
        by_hand_series(source)
        for source in sources
        if source.kind in OCCUPANCY_KINDS
        and (source.room is not None or source.kind is Kind.PERSON)
        and source.entity_id not in appliances
    ]


def _weekly_runs(in_use: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The runs of True in a week of steps that repeats, as (first, after last).

    The first step is within the week; a run over the week's end goes on past its last step.
    """
    size = in_use.size
    if in_use.all():
        return [(0, size)]
    # Read the week from a step not in use, so no run is split where the week wraps.
    free = int(np.argmin(in_use))
    edges = np.flatnonzero(np.diff(np.roll(in_use, -free).astype(int), prepend=0, append=0))
    return [
        ((int(b) + free) % size, (int(b) + free) % size + int(e - b))
        for b, e in zip(edges[::2], edges[1::2], strict=True)
    ]


def _round(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


class HomeOccupancy:
    """The occupancy model and its live tracker for one home."""

    def __init__(
        self,
        store: HistoryStore,
        zone: tzinfo,
        sources: list[Source],
        trusted: Collection[str] = (),
    ) -> None:
        """Learn from ``sources`` (see :func:`occupancy_sources`), taught by ``trusted`` ones."""
        self._store = store
        self._zone = zone
        self._sources = [
            OccupancySource(
                source.key, str(source.kind), source.room, reliable=source.entity_id in trusted
            )
            for source in sources
        ]
        self.keys = {source.key for source in sources}
        self.model: OccupancyModel | None = None
        self.tracker: OccupancyTracker | None = None
        self._pending: deque[tuple[str, float, float | None]] = deque(maxlen=PENDING_READINGS)
        self._offset_hour = math.nan
        self._offset = 0.0

    def history(self, now: datetime, days: float) -> dict[str, SourceSeries]:
        """Every source's readings over ``days`` before ``now``, on the local wall clock."""
        end = math.nextafter(now.timestamp(), math.inf)
        series = {}
        for source in self._sources:
            rows = self._store.samples(source.source_id, end - days * DAY, end)
            times = to_wall_clock([t for t, _ in rows], self._zone)
            series[source.source_id] = SourceSeries.of(
                times.tolist(), [math.nan if v is None else v for _, v in rows]
            )
        return series

    def restore(self, saved: Any, now: datetime) -> None:
        """Take back the model saved before a restart and catch up on the last day (executor)."""
        if saved is None:
            return
        try:
            model = OccupancyModel.from_dict(saved)
        except ValueError as err:
            _LOGGER.warning("Saved occupancy model could not be read, learning afresh: %s", err)
            return
        if set(model.sources) != set(self._sources):
            _LOGGER.info("The rooms changed since the occupancy model was trained: retraining")
            return
        tracker = OccupancyTracker(model)
        tracker.replay(self.history(now, REPLAY_DAYS))
        self.model, self.tracker = model, tracker

    def train(self, now: datetime) -> Candidate:
        """Train a candidate from the history up to ``now`` and score it against the current."""
        history = self.history(now, TRAIN_DAYS)
        end = wall_clock_now(now, self._zone)
        # The history begins at the first reading Foresight holds: a short one is "learning".
        first = min((float(s.times[0]) for s in history.values() if s.times.size), default=end)
        start = min(first, end - HOUR)
        candidate = train_occupancy(self._sources, history, start, end)
        if not should_replace(candidate, self.model, history, start, end):
            return Candidate(candidate, False, {})
        tracker = None
        if self.tracker is None:
            tracker = OccupancyTracker(candidate)
            tracker.replay(history, since=end - REPLAY_DAYS * DAY)
        return Candidate(candidate, True, candidate.to_dict(), tracker)

    def adopt(self, candidate: Candidate) -> bool:
        """Use a candidate that scored at least as well (on the event loop: a few ms)."""
        if not candidate.replaces:
            return False
        self.model = candidate.model
        if self.tracker is None:
            self.tracker = candidate.tracker
            if self.tracker is not None:
                # What was seen while the first tracker was trained and caught up, in order.
                for key, local, value in self._pending:
                    if local > candidate.model.trained_until:
                        self.tracker.observe(key, local, value)
        else:
            self.tracker.set_model(candidate.model)
        self._pending.clear()
        return True

    def observe(self, key: str, utc: float, value: float | None) -> None:
        """One reading, as it is observed (on the event loop, O(1))."""
        if key not in self.keys:
            return
        if self.tracker is None:  # the first tracker is being trained: kept for it
            self._pending.append((key, self._local(utc), value))
        else:
            self.tracker.observe(key, self._local(utc), value)

    def _local(self, utc: float) -> float:
        # The time zone's offset is looked up once an hour, not for every reading.
        hour = utc // HOUR
        if hour != self._offset_hour:
            self._offset_hour = hour
            self._offset = float(to_wall_clock([hour * HOUR], self._zone)[0]) - hour * HOUR
        return utc + self._offset

    def outlook(self, now: datetime, untrusted: Collection[str]) -> OccupancyOutlook | None:
        """Every room's and the home's occupancy now and over the next 24 hours."""
        tracker, model = self.tracker, self.model
        if tracker is None or model is None:
            return None
        local = wall_clock_now(now, self._zone)
        rooms: dict[str | None, RoomOutlook] = {}
        for room in [*model.rooms, None]:
            rooms[room] = self._room(tracker.forecast(room, local, untrusted), model, room)
        home = tracker.home_outlook(local, untrusted)
        return OccupancyOutlook(
            rooms,
            HomePresence(
                home.someone_home,
                home.someone_home_probability,
                self._expected(home.expected_arrival),
                self._expected(home.expected_departure),
            ),
        )

    def _expected(self, expected: ExpectedTime | None) -> Expected | None:
        if expected is None:
            return None
        latest = from_wall_clock(expected.latest, self._zone) if expected.latest else None
        return (
            from_wall_clock(expected.time, self._zone),
            from_wall_clock(expected.earliest, self._zone),
            latest,
        )

    def _room(
        self, forecast: OccupancyForecast, model: OccupancyModel, room: str | None
    ) -> RoomOutlook:
        unit = model.unit(room)
        first_hour = math.floor(forecast.time / HOUR) * HOUR
        skill = unit.scores.get("forecast_skill", math.nan)
        return RoomOutlook(
            status=forecast.status,
            occupancy_probability=forecast.occupancy_probability,
            in_use=forecast.in_use,
            next_hour=forecast.next_hour,
            hourly=[
                {
                    "start": from_wall_clock(first_hour + HOUR * (i + 1), self._zone).isoformat(),
                    "probability": _round(p),
                }
                for i, p in enumerate(forecast.hourly)
            ],
            next_use=(
                from_wall_clock(forecast.next_use, self._zone)
                if forecast.next_use is not None
                else None
            ),
            confidence=forecast.confidence,
            skill=_round(skill),
            scores={k: v for k, v in unit.scores.items() if math.isfinite(v)},
        )

    def hourly(
        self, room: str | None, now: datetime, hours: int, untrusted: Collection[str] = ()
    ) -> list[JsonValueType]:
        """Probability of use for each hour ahead: the forecast, then the learned routine."""
        tracker, model = self.tracker, self.model
        if tracker is None or model is None:
            return []
        local = wall_clock_now(now, self._zone)
        forecast = tracker.forecast(room, local, untrusted)
        first = math.floor(local / HOUR) * HOUR
        starts = first + HOUR * np.arange(hours, dtype=np.float64)
        probabilities = model.unit(room).routine.at(starts + HOUR / 2)
        ahead = min(hours, forecast.hourly.size)
        probabilities[:ahead] = forecast.hourly[:ahead]
        return [
            {"start": from_wall_clock(float(s), self._zone).isoformat(), "probability": _round(p)}
            for s, p in zip(starts, probabilities, strict=True)
        ]

    def routine_periods(
        self, room: str | None, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime, float]]:
        """The periods the learned weekly routine expects the room (None: home) in use.

        Each period that overlaps ``start``–``end`` is given whole, from its learned start to
        its learned end, so the same period is the same whatever range is asked.
        """
        if self.model is None:
            return []
        routine = self.model.unit(room).routine
        # The routine repeats every week, so a period is found within one week from Monday
        # 00:00 and lasts at most a week: one in use all week is cut at each Monday 00:00.
        steps = np.arange(MONDAY, MONDAY + WEEK, ROUTINE_STEP, dtype=np.float64)
        probability = routine.at(steps + ROUTINE_STEP / 2)
        peak = float(routine.probability.max())
        in_use = probability >= max(MIN_IN_USE, PEAK_SHARE * peak)
        first = math.floor((wall_clock_now(start, self._zone) - MONDAY) / WEEK) - 1
        last = math.floor((wall_clock_now(end, self._zone) - MONDAY) / WEEK)
        periods: list[tuple[datetime, datetime, float]] = []
        for begin, stop in _weekly_runs(in_use):
            share = float(np.take(probability, np.arange(begin, stop), mode="wrap").mean())
            for week in range(first, last + 1):
                offset = MONDAY + week * WEEK
                period = (
                    from_wall_clock(offset + begin * ROUTINE_STEP, self._zone),
                    from_wall_clock(offset + stop * ROUTINE_STEP, self._zone),
                )
                if period[0] < end and period[1] > start:
                    periods.append((*period, share))
        return sorted(periods)
