"""Who is where: the occupancy engine between Foresight's history and the entities.

Training reads the history in the executor; the live tracker takes each observed reading on
the event loop (O(1)) and predicts in a few milliseconds for every room, so the occupancy
entities follow a state change within a second.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
import logging
import math
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from homeassistant.util.json import JsonValueType

from .history import HistoryStore
from .learning.occupancy import should_replace, train_occupancy
from .learning.occupancy_live import (
    FORECAST_STEP,
    FORECAST_STEPS,
    ExpectedTime,
    OccupancyForecast,
    OccupancyTracker,
)
from .learning.occupancy_model import OccupancyModel
from .learning.occupancy_signals import OccupancySource, SourceSeries
from .sources import Kind, Source, by_hand_series
from .timebase import from_wall_clock, to_wall_clock, utc_offset, wall_clock_now

_LOGGER = logging.getLogger(__name__)

DAY = 86400.0
HOUR = 3600.0
TRAIN_DAYS = 84  # the engine never reads more than twelve weeks
REPLAY_DAYS = 1  # after a restart the tracker catches up on the last day
FORECAST_HOURS = 24  # the forecast sensor's hours
PENDING_READINGS = 10_000  # readings kept for the first tracker while it is trained
ROUTINE_STEP = 900.0  # the learned-routine calendar's resolution: 15 minutes
WEEK = 7 * DAY
MONDAY = -3 * DAY  # a Monday 00:00 on the wall clock (its seconds count from a Thursday)
# On the learned-routine calendar a room is expected in use where its routine is at least
# this share of its weekly peak, and at least MIN_IN_USE likely: its typical times of use.
PEAK_SHARE = 0.5
MIN_IN_USE = 0.25
# What the entities show: whole percent, and expected times to the quarter hour (the next
# use's likely range spans hours). Finer, they would change every minute and mean nothing.
SHOWN_PROBABILITY_DIGITS = 2
SHOWN_TIME_STEP = 900.0

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
    learned_days: int  # whole days of history the status was judged on
    learned_use: bool  # whether it saw enough use (and none) to learn from: else it stays learning


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
    caught_up_to: float = math.inf  # the tracker's clock at the end of what it caught up on


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


def _round(value: float, digits: int = 4) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def _shown(probability: float) -> float:
    return round(float(probability), SHOWN_PROBABILITY_DIGITS)


class ReadWhenAsked(Mapping[str, SourceSeries]):
    """Sources' readings, read from the history file each time one is asked for.

    Training holds only what the unit it learns keeps (a room's series; for the home, every
    source's signs of activity), never the whole home's readings at once: on a big home those
    are tens of MB, most of them numbers read once a minute.
    """

    def __init__(self, keys: Iterable[str], read: Callable[[str], SourceSeries]) -> None:
        """Read ``keys`` (in that order) with ``read``."""
        self._keys = dict.fromkeys(keys)
        self._read = read

    def __getitem__(self, key: str) -> SourceSeries:
        """The source's readings, read now."""
        if key not in self._keys:
            raise KeyError(key)
        return self._read(key)

    def __iter__(self) -> Iterator[str]:
        """The sources, in the order given."""
        return iter(self._keys)

    def __len__(self) -> int:
        """How many sources."""
        return len(self._keys)


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
        # Each unit's weekly periods in use (first step, after last, share), for the model
        # they were read from: the calendar asks for them often, the model changes nightly.
        self._weekly: tuple[OccupancyModel, dict[str | None, list[tuple[int, int, float]]]] | None
        self._weekly = None
        # The shift to the wall clock at each forecast step ahead, for the moment it is from.
        self._shift_ahead: tuple[datetime, npt.NDArray[np.float64]] | None = None
        # The live tracker's clock: UTC plus this fixed offset, so that it never jumps and the
        # time since a reading is the real time across a daylight saving change.
        self._tracker_offset = utc_offset(time.time(), zone)

    def history(self, now: datetime, days: float) -> Mapping[str, SourceSeries]:
        """Every source's readings over ``days`` before ``now``, on the local wall clock."""
        return self._series(now, days, lambda utc: to_wall_clock(utc, self._zone))

    def _tracker_history(self, now: datetime, days: float) -> Mapping[str, SourceSeries]:
        """Every source's readings over ``days`` before ``now``, on the live tracker's clock."""
        return self._series(now, days, lambda utc: np.asarray(utc) + self._tracker_offset)

    def _series(
        self,
        now: datetime,
        days: float,
        clock: Callable[[list[float]], npt.NDArray[np.float64]],
    ) -> Mapping[str, SourceSeries]:
        end = math.nextafter(now.timestamp(), math.inf)

        def read(key: str) -> SourceSeries:
            rows = self._store.samples(key, end - days * DAY, end)
            return SourceSeries.of(
                clock([t for t, _ in rows]).tolist(),
                [math.nan if v is None else v for _, v in rows],
            )

        return ReadWhenAsked([source.source_id for source in self._sources], read)

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
        tracker.replay(self._tracker_history(now, REPLAY_DAYS))
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
        if self.tracker is not None:
            return Candidate(candidate, True, candidate.to_dict())
        tracker = OccupancyTracker(candidate)
        tracker.replay(self._tracker_history(now, REPLAY_DAYS))
        return Candidate(candidate, True, candidate.to_dict(), tracker, self._tracker_time(now))

    def adopt(self, candidate: Candidate) -> bool:
        """Use a candidate that scored at least as well (on the event loop: a few ms)."""
        if not candidate.replaces:
            return False
        self.model = candidate.model
        if self.tracker is None:
            self.tracker = candidate.tracker
            if self.tracker is not None:
                # What was seen while the first tracker was trained and caught up, in order.
                for key, moment, value in self._pending:
                    if moment > candidate.caught_up_to:
                        self.tracker.observe(key, moment, value)
        else:
            self.tracker.set_model(candidate.model)
        self._pending.clear()
        return True

    def observe(self, key: str, utc: float, value: float | None) -> None:
        """One reading, as it is observed (on the event loop, O(1))."""
        if key not in self.keys:
            return
        if self.tracker is None:  # the first tracker is being trained: kept for it
            self._pending.append((key, utc + self._tracker_offset, value))
        else:
            self.tracker.observe(key, utc + self._tracker_offset, value)

    def _tracker_time(self, now: datetime) -> float:
        return now.timestamp() + self._tracker_offset

    def _wall_clock_shift(self, now: datetime) -> float:
        """From the tracker's clock to the wall clock now: how the hour of day is read."""
        return utc_offset(now.timestamp(), self._zone) - self._tracker_offset

    def _shown_time(self, tracker_time: float, not_before: datetime | None) -> datetime:
        """An expected time as shown: its quarter hour, so pre-heating never starts late.

        Never before the minute ``not_before`` is in: a use due any moment is due now, not
        "10 minutes ago".
        """
        utc = tracker_time - self._tracker_offset
        shown = utc - utc % SHOWN_TIME_STEP
        if not_before is not None:
            shown = max(shown, math.floor(not_before.timestamp() / 60) * 60)
        return datetime.fromtimestamp(shown, self._zone)

    def _hour_starts(self, now: datetime, first: int, count: int) -> npt.NDArray[np.float64]:
        """UTC starts of ``count`` hours, the first ``first`` hours after the one now began."""
        second = math.floor(now.timestamp())  # whole seconds: the starts fall on the hour exactly
        began = second - (second + utc_offset(second, self._zone)) % HOUR
        return began + HOUR * np.arange(first, first + count, dtype=np.float64)

    def _labels(self, starts: npt.NDArray[np.float64]) -> list[str]:
        return [datetime.fromtimestamp(float(s), self._zone).isoformat() for s in starts]

    def outlook(self, now: datetime, untrusted: Collection[str]) -> OccupancyOutlook | None:
        """Every room's and the home's occupancy now and over the next 24 hours."""
        if self.tracker is None or self.model is None:
            return None
        rooms = {
            scope: outlook
            for scope in self.scopes()
            if (outlook := self.room_outlook(scope, now, untrusted)) is not None
        }
        return OccupancyOutlook(rooms, self.presence(now, untrusted))

    def scopes(self) -> list[str | None]:
        """The rooms a model was learned for, then the home (None); nothing before one was."""
        if self.tracker is None or self.model is None:
            return []
        return [*self.model.rooms, None]

    def room_outlook(
        self, room: str | None, now: datetime, untrusted: Collection[str]
    ) -> RoomOutlook | None:
        """A room's (None: the home's) occupancy now and over the next 24 hours."""
        tracker, model = self.tracker, self.model
        if tracker is None or model is None or (room is not None and room not in model.rooms):
            return None
        forecast = self._forecast(tracker, room, now, untrusted)
        starts = self._hour_starts(now, 1, FORECAST_HOURS)
        hourly = forecast.by_hour(starts[0] + self._tracker_offset, FORECAST_HOURS)
        listed = list(zip(self._labels(starts), hourly.tolist(), strict=True))
        return self._room(forecast, model, room, listed, now)

    def _forecast(
        self,
        tracker: OccupancyTracker,
        room: str | None,
        now: datetime,
        untrusted: Collection[str],
    ) -> OccupancyForecast:
        """The tracker's forecast, each step ahead read on the wall clock in force then."""
        if self._shift_ahead is None or self._shift_ahead[0] != now:  # once for every room
            ahead = now.timestamp() + FORECAST_STEP * np.arange(1, FORECAST_STEPS + 1)
            shift = to_wall_clock(ahead, self._zone) - ahead - self._tracker_offset
            self._shift_ahead = (now, shift)
        return tracker.forecast(
            room,
            self._tracker_time(now),
            untrusted,
            wall_clock_shift=self._wall_clock_shift(now),
            shift_ahead=self._shift_ahead[1],
        )

    def presence(self, now: datetime, untrusted: Collection[str]) -> HomePresence | None:
        """Someone home now, and the expected arrival or departure."""
        if self.tracker is None:
            return None
        home = self.tracker.home_outlook(
            self._tracker_time(now), untrusted, self._wall_clock_shift(now)
        )
        return HomePresence(
            home.someone_home,
            _shown(home.someone_home_probability),
            self._expected(home.expected_arrival, now),
            self._expected(home.expected_departure, now),
        )

    def _expected(self, expected: ExpectedTime | None, now: datetime) -> Expected | None:
        if expected is None:
            return None
        latest = self._shown_time(expected.latest, now) if expected.latest else None
        return (
            self._shown_time(expected.time, now),
            self._shown_time(expected.earliest, now),
            latest,
        )

    def _room(
        self,
        forecast: OccupancyForecast,
        model: OccupancyModel,
        room: str | None,
        hourly: list[tuple[str, float]],
        now: datetime,
    ) -> RoomOutlook:
        unit = model.unit(room)
        skill = unit.scores.get("forecast_skill", math.nan)
        return RoomOutlook(
            status=forecast.status,
            occupancy_probability=_shown(forecast.occupancy_probability),
            in_use=forecast.in_use,
            next_hour=_shown(forecast.next_hour),
            hourly=[
                {"start": start, "probability": _round(p, SHOWN_PROBABILITY_DIGITS)}
                for start, p in hourly
            ],
            # In use, the quarter hour under way: not a time that moves on every minute.
            next_use=(
                self._shown_time(forecast.next_use, None if forecast.in_use else now)
                if forecast.next_use is not None
                else None
            ),
            confidence=forecast.confidence,
            skill=_round(skill),
            scores={k: v for k, v in unit.scores.items() if math.isfinite(v)},
            learned_days=math.floor(model.history_days),
            learned_use=unit.trained,
        )

    def hourly(
        self, room: str | None, now: datetime, hours: int, untrusted: Collection[str] = ()
    ) -> list[JsonValueType]:
        """Probability of use for each hour ahead: the forecast, then the learned routine."""
        tracker, model = self.tracker, self.model
        if tracker is None or model is None:
            return []
        forecast = self._forecast(tracker, room, now, untrusted)
        # The hours the forecast sensor lists, so both give each hour the same chance.
        starts = self._hour_starts(now, 1, hours)
        routine = model.unit(room).routine.at(to_wall_clock(starts + HOUR / 2, self._zone))
        ahead = forecast.by_hour(starts[0] + self._tracker_offset, hours)
        probabilities = np.where(np.isfinite(ahead), ahead, routine)
        return [
            {"start": start, "probability": _round(p, SHOWN_PROBABILITY_DIGITS)}
            for start, p in zip(self._labels(starts), probabilities, strict=True)
        ]

    def routine_periods(
        self, room: str | None, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime, float]]:
        """The periods the learned weekly routine expects the room (None: home) in use.

        Nothing while the room is still learning. Each period that overlaps ``start``–``end`` is
        given whole, from its learned start to its learned end, so the same period is the same
        whatever range is asked.
        """
        # A room with no sensors of its own (all another room's) has no routine to show.
        if self.model is None or (room is not None and room not in self.model.rooms):
            return []
        if self.model.unit(room).status == "learning":
            return []  # a day or two is no weekly routine: shown as one, it would be made up
        first = math.floor((wall_clock_now(start, self._zone) - MONDAY) / WEEK) - 1
        last = math.floor((wall_clock_now(end, self._zone) - MONDAY) / WEEK)
        periods: list[tuple[datetime, datetime, float]] = []
        for begin, stop, share in self._weekly_periods(self.model, room):
            for week in range(first, last + 1):
                offset = MONDAY + week * WEEK
                period = (
                    from_wall_clock(offset + begin * ROUTINE_STEP, self._zone),
                    from_wall_clock(offset + stop * ROUTINE_STEP, self._zone),
                )
                if period[0] < end and period[1] > start:
                    periods.append((*period, share))
        return sorted(periods)

    def _weekly_periods(
        self, model: OccupancyModel, room: str | None
    ) -> list[tuple[int, int, float]]:
        """The unit's periods in use in the week from Monday 00:00, in routine steps."""
        if self._weekly is None or self._weekly[0] is not model:
            self._weekly = (model, {})
        known = self._weekly[1]
        if room not in known:
            routine = model.unit(room).routine
            # The routine repeats every week, so a period is found within one week from Monday
            # 00:00 and lasts at most a week: one in use all week is cut at each Monday 00:00.
            steps = np.arange(MONDAY, MONDAY + WEEK, ROUTINE_STEP, dtype=np.float64)
            probability = routine.at(steps + ROUTINE_STEP / 2)
            peak = float(routine.probability.max())
            in_use = probability >= max(MIN_IN_USE, PEAK_SHARE * peak)
            known[room] = [
                (
                    begin,
                    stop,
                    float(np.take(probability, np.arange(begin, stop), mode="wrap").mean()),
                )
                for begin, stop in _weekly_runs(in_use)
            ]
        return known[room]
