"""Live occupancy: state changes in O(1), now-casts and forecasts for every room and the home.

Pure Python and numpy, no Home Assistant imports. The listener calls
:meth:`OccupancyTracker.observe` for each state change (a few microseconds, no allocation that
grows); the coordinator calls :meth:`OccupancyTracker.forecast` / :meth:`home_outlook` when it
refreshes. Features here are the same as the training grid's (``occupancy_signals``); a test
holds the two to the same numbers.

Time convention: float seconds on a clock without jumps, so that elapsed times are real ones
across a daylight saving change: the home's wall clock (naive local datetime converted as if it
were UTC) where it does not change, or UTC plus a fixed offset. The hour of day is read at
``time + wall_clock_shift``: the shift from that clock to the home's wall clock now.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
import math

import numpy as np

from .occupancy_model import (
    BASELINE_CONFIDENCE,
    TEACHER_PROBABILITY,
    OccupancyModel,
    Status,
    UnitModel,
    dynamics,
)
from .occupancy_signals import (
    ABOVE_STANDBY,
    CHANGE_LAGS,
    EVENT_ACTIVITY_KINDS,
    HIGH_WINDOW,
    HOUR,
    LOW_HOURS,
    MAX_AGE,
    MINUTE,
    POWER_KIND,
    SINCE_HIGH_CAP,
    STATE_ACTIVITY_KINDS,
    FloatArray,
    OccupancySource,
    SourceSeries,
    log_minutes,
)
from .occupancy_stats import logit, remaining_quantiles

FORECAST_STEP = 15 * MINUTE  # one forecast interval
# A day and the hour under way: each of the next 24 clock hours is seen whole.
FORECAST_STEPS = 100
STEPS_AN_HOUR = round(HOUR / FORECAST_STEP)
LIKELY_RANGE = (0.1, 0.9)  # the likely range of an expected time: its 10th-90th percentile
FULL_CONFIDENCE_DAYS = 14.0


@dataclass(slots=True)
class _BinaryState:
    value: float = math.nan
    off_since: float = -math.inf  # when it last stopped being on
    on: bool = False


@dataclass(slots=True)
class _NumericState:
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    hour: int = -(2**62)  # the hour the latest reading fell in
    hour_low: float = math.nan  # the lowest value held during that hour so far
    lows: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=LOW_HOURS))
    first_hour: int | None = None  # the hour of the first reading
    readings: int = 0  # readings taken so far
    low_cache: tuple[int, int, float, bool] = (-1, -1, math.nan, False)  # hour, readings, low, full
    # The last hour's known readings (with the one held at its start), the running candidates
    # for their maximum (values falling), and when the number last reached a high.
    window: deque[tuple[float, float]] = field(default_factory=deque)
    peaks: deque[tuple[float, float]] = field(default_factory=deque)
    last_high: float = math.nan

    def at(self, time: float) -> float:
        index = bisect_right(self.times, time) - 1
        return self.values[index] if index >= 0 else math.nan

    def daily_low(self, time: float, typical: float = math.nan) -> float:
        """The lowest value held in the 24 whole hours before ``time``'s hour.

        Hours of that window not seen yet count at ``typical`` (the learned usual low).
        """
        hour = math.floor(time / HOUR)
        if self.first_hour is None or self.first_hour > hour:
            return math.nan  # not seen yet: nothing to be over
        if self.low_cache[0] == hour and self.low_cache[1] == self.readings:
            low, full = self.low_cache[2], self.low_cache[3]  # same hour, no new reading
        else:
            low, full = self._daily_low(hour)
            self.low_cache = (hour, self.readings, low, full)
        if full:
            return low
        return _fmin(low, typical) if math.isfinite(typical) else math.nan

    def _daily_low(self, hour: int) -> tuple[float, bool]:
        """The low over the window's hours seen so far, and whether they are all of it."""
        first = hour - LOW_HOURS
        low = math.nan
        for past_hour, past_low in self.lows:
            if past_hour >= first:
                low = _fmin(low, past_low)
        if first <= self.hour < hour:
            low = _fmin(low, self.hour_low)
        if self.hour + 1 < hour and self.values:
            low = _fmin(low, self.values[-1])  # hours without a reading held the last value
        return low, self.first_hour is not None and self.first_hour <= first

    def since_high(self, time: float) -> float:
        """Time since the last high (as in ``occupancy_signals.since_high``); NaN before any."""
        if math.isnan(self.last_high):
            return math.nan
        # A high stamped ahead of the clock (the clock set back) was just now.
        elapsed = min(max(time - self.last_high, 0.0), SINCE_HIGH_CAP)
        return log_minutes(np.asarray(elapsed)).item()

    def _track_high(self, time: float, value: float) -> None:
        """Note whether a known reading is a high of the last hour; amortised O(1)."""
        start = time - HIGH_WINDOW
        while len(self.window) > 1 and self.window[1][0] <= start:
            self.window.popleft()  # keep the last reading at or before the start: it is held
        while self.peaks and self.peaks[0][0] <= start:
            self.peaks.popleft()
        highest = -math.inf
        if self.window and self.window[0][0] <= start:
            highest = self.window[0][1]
        if self.peaks:
            highest = max(highest, self.peaks[0][1])
        if value >= highest:
            self.last_high = time
        self.window.append((time, value))
        while self.peaks and self.peaks[-1][1] <= value:
            self.peaks.pop()
        self.peaks.append((time, value))

    def add(self, time: float, value: float) -> None:
        if not math.isnan(value):
            self._track_high(time, value)
        hour = math.floor(time / HOUR)
        self.readings += 1
        if self.first_hour is None:
            self.first_hour = hour
        carried = self.values[-1] if self.values else math.nan
        if hour > self.hour:
            if self.times:
                self.lows.append((self.hour, self.hour_low))
                for gap_hour in range(max(self.hour + 1, hour - LOW_HOURS), hour):
                    self.lows.append((gap_hour, carried))
            self.hour = hour
            # The value held since the hour began counts, unless this reading began it.
            self.hour_low = value if time == hour * HOUR else _fmin(carried, value)
        else:
            self.hour_low = _fmin(self.hour_low, value)
        self.times.append(time)
        self.values.append(value)
        # Keep the last value older than the longest lag, and everything newer.
        horizon = time - CHANGE_LAGS[-1]
        if len(self.times) > 8 and self.times[4] <= horizon:
            cut = bisect_right(self.times, horizon) - 1
            del self.times[:cut]
            del self.values[:cut]


def _shows_activity(source: OccupancySource) -> bool:
    """Whether the source is a sign of activity (teachers are not: they tell use itself)."""
    if source.kind == "person" or source.reliable:
        return False
    return source.kind in STATE_ACTIVITY_KINDS | EVENT_ACTIVITY_KINDS or source.kind == POWER_KIND


def _owner(key: str) -> str:
    """The source a tracked key belongs to (a power sensor's "above standby" is its own)."""
    return key.removesuffix(ABOVE_STANDBY)


def _fmin(first: float, second: float) -> float:
    """The smaller of two numbers, ignoring NaN (like numpy's fmin)."""
    if math.isnan(first):
        return second
    if math.isnan(second):
        return first
    return min(first, second)


@dataclass(slots=True)
class _ActivityState:
    """A unit's activity as a whole, updated one sign of activity at a time."""

    hold: float
    active: set[str] = field(default_factory=set)
    active_nondoor: int = 0
    started: bool = False
    running_end: float = -math.inf
    running_is_door: bool = False
    nondoor_end: float = -math.inf
    door_time: float = -math.inf
    door_prior: float = 0.0
    bout_start: float = 0.0
    last: dict[str, float] = field(default_factory=dict)  # each source's latest sign of activity

    def _begin(self, time: float) -> None:
        if not self.started or (not self.active and time - self.running_end > self.hold):
            self.bout_start = time
        self.started = True

    def start(self, source_id: str, time: float) -> None:
        self._begin(time)
        self.active.add(source_id)
        self.last[source_id] = time

    def stop(self, source_id: str, time: float) -> None:
        if source_id not in self.active:
            return
        self.active.discard(source_id)
        self.last[source_id] = time
        self._end(time, is_door=False)

    def point(self, source_id: str, time: float, is_door: bool) -> None:
        self._begin(time)
        self.last[source_id] = time
        if is_door:
            self.door_prior = (
                0.0 if self.active else min(max(0.0, time - self.nondoor_end), MAX_AGE)
            )
            self.door_time = time
        self._end(time, is_door)

    def _end(self, time: float, is_door: bool) -> None:
        if time >= self.running_end:
            self.running_end = time
            self.running_is_door = is_door
        if not is_door:
            self.nondoor_end = max(self.nondoor_end, time)

    def state(self, time: float, untrusted: Collection[str]) -> dict[str, FloatArray]:
        active = any(_owner(source) not in untrusted for source in self.active)
        started, end = self.started, self.running_end
        if untrusted and any(_owner(source) in untrusted for source in self.last):
            # What a silent source last said is not the unit's: its quiet is the others' alone.
            trusted = [t for source, t in self.last.items() if _owner(source) not in untrusted]
            started, end = bool(trusted), max(trusted, default=-math.inf)
        if active:
            age = 0.0
        elif started:
            age = min(max(0.0, time - end), MAX_AGE)
        else:
            age = MAX_AGE
        door_last = 1.0 if (self.started and age > 0.0 and self.running_is_door) else 0.0
        since_door = min(time - self.door_time, MAX_AGE)
        return {
            "active": np.asarray(1.0 if age == 0.0 else 0.0),
            "age": np.asarray(age),
            "door_last": np.asarray(door_last),
            "door_prior_quiet": np.asarray(self.door_prior * door_last),
            "since_door": np.asarray(since_door),
            "bout": np.asarray(min(time - self.bout_start, MAX_AGE) if self.started else 0.0),
        }


@dataclass(frozen=True, slots=True)
class ExpectedTime:
    """An expected time with its likely range (``latest`` None: later than the next 24 h)."""

    time: float
    earliest: float
    latest: float | None


@dataclass(frozen=True, slots=True)
class OccupancyForecast:
    """A room's (or the home's, ``room`` None) occupancy now and over the next 24 hours."""

    room: str | None
    time: float
    occupancy_probability: float  # now
    in_use: bool
    times: FloatArray  # end of each 15-minute step ahead (FORECAST_STEPS)
    probabilities: FloatArray  # probability of use at each of those times
    next_use: float | None  # start of the next expected use; ``time`` if in use now
    status: Status
    confidence: float  # 0..1: low while learning or degraded, grows with history

    @property
    def next_hour(self) -> float:
        """Probability of use in the next 60 minutes (the forecast entity's state)."""
        return float(self.probabilities[:STEPS_AN_HOUR].max())

    def by_hour(self, first: float, count: int) -> FloatArray:
        """For each of ``count`` hours from ``first``: at least this likely to be used.

        Each hour's is the highest of the steps that fall in it; NaN past the forecast.
        """
        hour = np.floor((self.times - first) / HOUR).astype(np.int64)
        inside = (hour >= 0) & (hour < count)
        highest = np.full(count, -np.inf)
        np.maximum.at(highest, hour[inside], self.probabilities[inside])
        return np.where(np.isfinite(highest), highest, np.nan)


@dataclass(frozen=True, slots=True)
class HomeOutlook:
    """Someone home now, and the expected arrival (while away) or departure (while home)."""

    someone_home_probability: float
    someone_home: bool
    expected_arrival: ExpectedTime | None
    expected_departure: ExpectedTime | None


class OccupancyTracker:
    """Follows the home's sources live and predicts from an :class:`OccupancyModel`."""

    def __init__(self, model: OccupancyModel) -> None:
        """Start following with ``model``; no state is known yet."""
        self._binary: dict[str, _BinaryState] = {}
        self._numeric: dict[str, _NumericState] = {}
        self._units: dict[str | None, _ActivityState] = {}
        self._teachers: dict[str | None, _ActivityState] = {}  # when each unit's teachers were on
        self._routes: dict[str, tuple[OccupancySource, list[_ActivityState], bool, float]] = {}
        self._activity: dict[str | None, set[str]] = {}  # each unit's sources of activity
        # The binary sources seen turning unknown (unavailable), until they report again; one
        # not seen at all since the tracker began is no news (its last state may be older).
        self._unknown: set[str] = set()
        self.model = model
        self.set_model(model)

    def set_model(self, model: OccupancyModel) -> None:
        """Switch to a new model, keeping what is known about the sources' states."""
        self.model = model
        old_units = self._units
        self._units = {}
        for room, unit in [*model.rooms.items(), (None, model.home)]:
            state = old_units.get(room) or _ActivityState(unit.hold)
            state.hold = unit.hold
            self._units[room] = state
            self._teachers.setdefault(room, _ActivityState(0.0))
        self._routes = {}
        self._activity = {room: set() for room in self._units}
        for source in model.sources:
            if not source.is_used:
                continue
            units = [self._units[None]]
            if source.room is not None and source.room in self._units:
                units.append(self._units[source.room])
            if _shows_activity(source):
                for room in {None, source.room} & self._activity.keys():
                    self._activity[room].add(source.source_id)
            is_door = source.source_id in model.home.entrances
            threshold = math.inf
            for unit in (model.home, *model.rooms.values()):
                threshold = unit.thresholds.get(source.source_id, threshold)
            self._routes[source.source_id] = (source, units, is_door, threshold)
            if source.is_binary:
                self._binary.setdefault(source.source_id, _BinaryState())
            else:
                self._numeric.setdefault(source.source_id, _NumericState())
                if math.isfinite(threshold):
                    self._binary.setdefault(source.source_id + ABOVE_STANDBY, _BinaryState())

    def replay(self, history: Mapping[str, SourceSeries], since: float = -math.inf) -> None:
        """Feed recorded state changes (after ``since``) in time order, e.g. after a restart."""
        events: list[tuple[float, str, float]] = []
        for source_id, series in history.items():
            keep = series.times > since
            events.extend(
                zip(
                    series.times[keep].tolist(),
                    [source_id] * int(keep.sum()),
                    series.values[keep].tolist(),
                    strict=True,
                )
            )
        events.sort(key=lambda event: event[0])
        for time, source_id, value in events:
            self.observe(source_id, time, value)

    def observe(self, source_id: str, time: float, value: float | None) -> None:
        """Take one state change (None or NaN: unknown). O(1); call it in time order."""
        route = self._routes.get(source_id)
        if route is None:
            return
        source, units, is_door, threshold = route
        number = math.nan if value is None or not math.isfinite(value) else float(value)
        if source.is_binary:
            self._binary_change(source, source_id, time, number, units, is_door)
            return
        self._numeric[source_id].add(time, number)
        if math.isfinite(threshold):
            above = math.nan if math.isnan(number) else float(number > threshold)
            self._binary_change(source, source_id + ABOVE_STANDBY, time, above, units, False)

    def _binary_change(
        self,
        source: OccupancySource,
        key: str,
        time: float,
        value: float,
        units: list[_ActivityState],
        is_door: bool,
    ) -> None:
        state = self._binary[key]
        before = state.value
        state.value = value
        if math.isnan(value):
            self._unknown.add(_owner(key))
        else:
            self._unknown.discard(_owner(key))
        now_on = value == 1.0
        if state.on and not now_on:
            state.off_since = time
        state.on = now_on
        if source.kind == "person" or source.reliable:
            # Teachers are not activity; they time how long the taught state has lasted.
            teacher = self._teachers.get(None if source.kind == "person" else source.room)
            if teacher is not None:
                if now_on:
                    teacher.start(key, time)
                else:
                    teacher.stop(key, time)
            return
        if source.kind in STATE_ACTIVITY_KINDS:
            for unit in units:
                if now_on:
                    unit.start(key, time)
                else:
                    unit.stop(key, time)
        elif (source.kind in EVENT_ACTIVITY_KINDS or source.kind == POWER_KIND) and (
            math.isfinite(before) and math.isfinite(value) and before != value
        ):
            for unit in units:
                unit.point(key, time, is_door and unit is units[0])

    def _features(
        self,
        unit: UnitModel,
        state: Mapping[str, FloatArray],
        time: float,
        untrusted: Collection[str],
        wall_clock: float,
    ) -> FloatArray:
        raw = np.empty(len(unit.specs))
        for index, spec in enumerate(unit.specs):
            if spec.source_id and _owner(spec.source_id) in untrusted:
                raw[index] = math.nan
                continue
            name = spec.name
            if name == "on":
                binary = self._binary.get(spec.source_id)
                raw[index] = binary.value if binary else math.nan
            elif name == "recent":
                binary = self._binary.get(spec.source_id)
                if binary is None:
                    raw[index] = 0.0
                else:
                    age = 0.0 if binary.on else min(time - binary.off_since, MAX_AGE)
                    raw[index] = math.exp(-age / spec.scale)
            elif name == "level":
                numeric = self._numeric.get(spec.source_id)
                raw[index] = numeric.at(time) if numeric else math.nan
            elif name == "excess":
                numeric = self._numeric.get(spec.source_id)
                typical = unit.typical_lows.get(spec.source_id, math.nan)
                raw[index] = (
                    numeric.at(time) - numeric.daily_low(time, typical) if numeric else math.nan
                )
            elif name == "change":
                numeric = self._numeric.get(spec.source_id)
                raw[index] = (
                    numeric.at(time) - numeric.at(time - spec.scale) if numeric else math.nan
                )
            elif name == "since_high":
                numeric = self._numeric.get(spec.source_id)
                raw[index] = numeric.since_high(time) if numeric else math.nan
            elif name == "active":
                raw[index] = float(state["active"])
            elif name == "quiet":
                raw[index] = math.exp(-float(state["age"]) / spec.scale)
            elif name == "door_last":
                raw[index] = float(state["door_last"])
            elif name == "door_quiet":
                raw[index] = float(state["door_last"]) * math.exp(-float(state["age"]) / spec.scale)
            elif name == "door_prior_quiet":
                raw[index] = float(state["door_last"] * log_minutes(state["door_prior_quiet"]))
            else:  # routine
                raw[index] = float(logit(unit.routine.at(np.asarray([wall_clock])))[0])
        return raw

    def occupancy_probability(
        self,
        room: str | None,
        time: float,
        untrusted: Collection[str] = (),
        wall_clock_shift: float = 0.0,
    ) -> float:
        """Probability that the room (None: anyone in the home) is in use at ``time``."""
        untrusted = self._distrusted(untrusted)
        unit = self.model.unit(room)
        state = self._units[room].state(time, untrusted)
        return self._nowcast(unit, state, time, untrusted, time + wall_clock_shift)

    def _nowcast(
        self,
        unit: UnitModel,
        state: Mapping[str, FloatArray],
        time: float,
        untrusted: Collection[str],
        wall_clock: float,
    ) -> float:
        if known := self._taught(unit, untrusted):
            return TEACHER_PROBABILITY if max(known) == 1.0 else 1.0 - TEACHER_PROBABILITY
        if self._blind(unit, untrusted) or unit.nowcast_fallback == "routine":
            now = float(unit.routine.at(np.asarray([wall_clock]))[0])
        elif unit.nowcast_fallback == "persistence":
            recent = float(state["age"]) <= unit.hold
            now = BASELINE_CONFIDENCE if recent else 1.0 - BASELINE_CONFIDENCE
        else:
            raw = self._features(unit, state, time, untrusted, wall_clock)
            now = float(unit.nowcast_from_features(raw[None, :])[0])
        if unit.room is not None:
            # While everybody is known away, a room is in use only while it shows someone now:
            # not for what its sensors showed a while ago.
            people = self._taught(self.model.home, untrusted)
            if people and max(people) == 0.0 and float(state["active"]) != 1.0:
                return min(now, 1.0 - TEACHER_PROBABILITY)
        if unit.room is not None or unit.trained:
            return now
        # A home that learned nothing of its own: anyone in a room that learned its use is home.
        rooms = [
            self._nowcast(
                room, self._units[name].state(time, untrusted), time, untrusted, wall_clock
            )
            for name, room in self.model.rooms.items()
            if room.trained
        ]
        return max([now, *rooms])

    def _distrusted(self, untrusted: Collection[str]) -> Collection[str]:
        """The sources not to read now: those found silent or stuck, and those unknown now."""
        return {*untrusted, *self._unknown} if self._unknown else untrusted

    def _blind(self, unit: UnitModel, untrusted: Collection[str]) -> bool:
        """Whether the unit learned its routine and every sign of activity it has is untrusted.

        Then the routine is all it has left (a unit that learned none keeps its broad prior).
        """
        sources = self._activity.get(unit.room, set())
        return (
            unit.trained
            and bool(untrusted)
            and bool(sources)
            and all(source in untrusted for source in sources)
        )

    def _taught(self, unit: UnitModel, untrusted: Collection[str]) -> list[float]:
        """What the unit's trusted teachers (people, presence sensors) say now, where known."""
        return [
            value
            for sid in unit.teachers
            if sid not in untrusted
            and sid in self._binary
            and math.isfinite(value := self._binary[sid].value)
        ]

    def forecast(
        self,
        room: str | None,
        time: float,
        untrusted: Collection[str] = (),
        use_fallback: bool = True,
        wall_clock_shift: float = 0.0,
        shift_ahead: FloatArray | None = None,
    ) -> OccupancyForecast:
        """The room's (None: the home's) occupancy now and for each 15 minutes of the next day.

        ``use_fallback=False`` shows the model's own forecast even where it lost to a
        baseline on held-out data (diagnostics only). ``wall_clock_shift``: see the module's
        time convention; ``shift_ahead``: the shift in force at each step ahead (the clocks
        change within the day), else the same as now.
        """
        untrusted = self._distrusted(untrusted)
        unit = self.model.unit(room)
        state = self._units[room].state(time, untrusted)
        wall_clock = time + wall_clock_shift
        now = self._nowcast(unit, state, time, untrusted, wall_clock)
        horizons = FORECAST_STEP * np.arange(1, FORECAST_STEPS + 1, dtype=np.float64)
        times = time + horizons
        shifts = wall_clock_shift if shift_ahead is None else shift_ahead
        routine = unit.routine.at(times + shifts)
        durations = self._durations(room, unit, state, time, untrusted)
        rooms_recent = None
        if unit.forecast_rooms:
            # How long ago each room was last active: the home's precursors of its next hour.
            ages = [
                float(self._units[name].state(time, untrusted)["age"])
                if name in self._units
                else MAX_AGE
                for name in unit.forecast_rooms
            ]
            rooms_recent = unit.room_recency(np.asarray(ages), np.asarray(now))
        in_use = now >= 0.5
        if self._blind(unit, untrusted) and not self._taught(unit, untrusted):
            probabilities = routine  # nothing trusted tells how the day is going
            likely = np.flatnonzero(probabilities >= 0.5)  # nor how long it has been idle
            next_use = time if in_use else float(times[likely[0]]) if likely.size else None
        else:
            probabilities = unit.forecast_from(
                horizons,
                routine,
                np.asarray(now),
                durations,
                use_fallback,
                wall_clock,
                rooms_recent,
            )
            next_use = time if in_use else _next_use(unit, float(durations[1]), time, wall_clock)
        return OccupancyForecast(
            room=room,
            time=time,
            occupancy_probability=now,
            in_use=in_use,
            times=times,
            probabilities=probabilities,
            next_use=next_use,
            status=unit.status,
            confidence=self._confidence(unit),
        )

    def _durations(
        self,
        room: str | None,
        unit: UnitModel,
        state: Mapping[str, FloatArray],
        time: float,
        untrusted: Collection[str],
    ) -> tuple[FloatArray, FloatArray]:
        """How long the unit has been in use / idle: by its teachers where they are known."""
        known = [
            sid
            for sid in unit.teachers
            if sid not in untrusted
            and sid in self._binary
            and math.isfinite(self._binary[sid].value)
        ]
        if known:
            return dynamics(unit, self._teachers[room].state(time, untrusted), taught=True)
        return dynamics(unit, state)

    def _confidence(self, unit: UnitModel) -> float:
        days = min(self.model.history_days / FULL_CONFIDENCE_DAYS, 1.0)
        if unit.status == "learning":
            return min(days, 0.2)
        return days * (0.5 if unit.status == "degraded" else 1.0)

    def home_outlook(
        self, time: float, untrusted: Collection[str] = (), wall_clock_shift: float = 0.0
    ) -> HomeOutlook:
        """Someone home now; expected arrival while away, or departure while home."""
        untrusted = self._distrusted(untrusted)
        unit = self.model.home
        state = self._units[None].state(time, untrusted)
        wall_clock = time + wall_clock_shift
        now = self._nowcast(unit, state, time, untrusted, wall_clock)
        home = now >= 0.5
        home_for, away_for = self._durations(None, unit, state, time, untrusted)
        lasted = float(home_for if home else away_for)
        expected = expected_end(unit, int(home), lasted, time, wall_clock)
        return HomeOutlook(
            someone_home_probability=now,
            someone_home=home,
            expected_arrival=None if home else expected,
            expected_departure=expected if home else None,
        )


def expected_end(
    unit: UnitModel, in_use: int, elapsed: float, time: float, wall_clock: float | None = None
) -> ExpectedTime | None:
    """When the current idle (0) or in-use (1) episode is expected to end, with its range.

    From the learned lengths of the unit's past episodes, given how long this one has lasted;
    with ``wall_clock`` (``time`` on the home's wall clock), of those that began at a like
    time of day and type of day. None when it is not expected to end within two weeks, or
    when the unit learned nothing yet.
    """
    if not unit.trained:
        return None  # its episode lengths are only the broad prior: no time to expect
    # An episode that has lasted the longest age known has no known start.
    start = None if wall_clock is None or elapsed >= MAX_AGE else wall_clock - elapsed
    earliest, middle, latest = remaining_quantiles(
        unit.expected_survival(in_use, start),
        float(unit.survival_mean[in_use]),
        elapsed,
        (LIKELY_RANGE[0], 0.5, LIKELY_RANGE[1]),
    )
    if not math.isfinite(middle):
        return None
    return ExpectedTime(
        time + middle, time + earliest, time + latest if math.isfinite(latest) else None
    )


def _next_use(unit: UnitModel, idle_for: float, time: float, wall_clock: float) -> float | None:
    """Start of the next use of an idle room: the median end of its idle spell.

    ``idle_for``: how long it has been idle, as its forecast reads it (by its teachers where
    they are known), so the home's next use is its expected arrival.
    """
    expected = expected_end(unit, 0, idle_for, time, wall_clock)
    return None if expected is None else expected.time


__all__ = [
    "ExpectedTime",
    "HomeOutlook",
    "OccupancyForecast",
    "OccupancyTracker",
    "expected_end",
]
