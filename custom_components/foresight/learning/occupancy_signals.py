"""Occupancy signals: the sources a room has, their features, and labels learned without labels.

Pure numpy, no Home Assistant imports. Everything here is computed twice on purpose, with the
same definitions: vectorised over a grid of times (training, see :func:`feature_matrix`) and
incrementally, one state change at a time (the live path in ``occupancy_live``). A unit test
holds the two to the same numbers.

Time convention: timestamps are float seconds on the home's *local wall clock* (a naive local
datetime converted as if it were UTC, ``dt.replace(tzinfo=UTC).timestamp()``), so hour of day
and day of week come straight from the number and daylight saving time needs no care here.

A source's history is its state changes: ``times`` (ascending) and ``values`` (the new state:
1.0 / 0.0 for binary kinds, a number for numeric kinds, NaN for unknown / unavailable). The state
holds until the next change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY

# Kinds, with the same names as the integration's source kinds.
STATE_ACTIVITY_KINDS = frozenset({"motion", "media"})  # being on means someone is there
EVENT_ACTIVITY_KINDS = frozenset({"door", "light"})  # switching means someone was there
BINARY_KINDS = STATE_ACTIVITY_KINDS | EVENT_ACTIVITY_KINDS | {"person", "heating"}
IGNORED_KINDS = frozenset({"energy", "setpoint"})  # a meter reading or a set point says nothing
POWER_KIND = "power"  # numeric, and also "above standby" as a derived binary source
ABOVE_STANDBY = "#above_standby"  # suffix of a power source's derived binary source

RECENT_TAUS = (2 * MINUTE, 10 * MINUTE, 45 * MINUTE)  # decay of "was on a while ago"
CHANGE_LAGS = (10 * MINUTE, 30 * MINUTE)  # "recent change" of a number
HIGH_WINDOW = HOUR  # a reading at least as high as all held in the hour before is a "high"
SINCE_HIGH_CAP = 6 * HOUR  # a room's air is replaced within hours: longer says nothing more
LOW_HOURS = 24  # a number's excess is over its lowest value in the previous 24 whole hours
QUIET_TAUS = (5 * MINUTE, 30 * MINUTE, 3 * HOUR)  # decay of the unit's time since activity
MAX_AGE = WEEK  # ages beyond a week say nothing more

LONG_SILENCE = 30 * MINUTE  # silences this long are where an entrance door shows itself
MIN_AWAY = 10 * MINUTE  # a silence after the entrance door this long means nobody home
DEFAULT_HOLD = 10 * MINUTE  # gap bridged inside one use of a room, until learned
HOLD_BOUNDS = (2 * MINUTE, 30 * MINUTE)
MIN_GAPS_FOR_HOLD = 20


@dataclass(frozen=True, slots=True)
class OccupancySource:
    """One source the occupancy model reads, and where it belongs.

    ``room`` is the room id, or None for the home as a whole (people, an outside door).
    ``reliable`` marks a presence sensor trusted to teach the room's other sources;
    ``entrance`` marks an outside door (learned from the data when no door is marked).
    """

    source_id: str
    kind: str
    room: str | None = None
    reliable: bool = False
    entrance: bool = False

    @property
    def is_binary(self) -> bool:
        """Whether the source is on / off rather than a number."""
        return self.kind in BINARY_KINDS

    @property
    def is_used(self) -> bool:
        """Whether the source takes part in occupancy at all."""
        return self.kind not in IGNORED_KINDS


@dataclass(frozen=True, slots=True)
class SourceSeries:
    """A source's state changes: ascending times and the new value at each (NaN = unknown)."""

    times: FloatArray
    values: FloatArray

    @classmethod
    def of(cls, times: Iterable[float], values: Iterable[float | None]) -> SourceSeries:
        """Build a clean series: sorted by time, non-finite times dropped, None read as NaN."""
        time_array = np.asarray(list(times), dtype=np.float64)
        value_array = np.asarray(
            [np.nan if value is None else value for value in values], dtype=np.float64
        )
        if time_array.shape != value_array.shape:
            raise ValueError("times and values differ in length")
        keep = np.isfinite(time_array)
        value_array = np.where(np.isinf(value_array), np.nan, value_array)
        order = np.argsort(time_array[keep], kind="stable")
        return cls(time_array[keep][order], value_array[keep][order])

    @classmethod
    def empty(cls) -> SourceSeries:
        """A source with no history."""
        return cls(np.zeros(0), np.zeros(0))


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One column of a unit's features: what it is, of which source, with which time scale.

    Names: ``on``, ``recent`` (binary source), ``level``, ``excess``, ``change``, ``since_high``
    (numeric source), ``active``, ``quiet``, ``door_last``, ``door_quiet``,
    ``door_prior_quiet`` (the unit's activity as a whole), ``routine`` (the learned weekly
    routine, as log-odds).
    """

    name: str
    source_id: str = ""
    scale: float = 0.0

    def to_list(self) -> list[str | float]:
        """Plain JSON form."""
        return [self.name, self.source_id, self.scale]

    @classmethod
    def from_list(cls, raw: object) -> FeatureSpec:
        """Read the plain JSON form; raises ValueError on anything else."""
        if not isinstance(raw, list) or len(raw) != 3:
            raise ValueError("feature spec must be [name, source, scale]")
        name, source_id, scale = raw
        if name not in FEATURE_NAMES or not isinstance(source_id, str):
            raise ValueError(f"unknown feature {name!r}")
        return cls(str(name), source_id, float(scale))


FEATURE_NAMES = frozenset(
    {
        "on",
        "recent",
        "level",
        "excess",
        "change",
        "since_high",
        "active",
        "quiet",
        "door_last",
        "door_quiet",
        "door_prior_quiet",
        "routine",
    }
)


def value_at(series: SourceSeries, times: FloatArray) -> FloatArray:
    """The state held at each time (NaN before the first change or where unknown)."""
    index = np.searchsorted(series.times, times, side="right") - 1
    values = np.full(times.shape, np.nan)
    known = index >= 0
    values[known] = series.values[index[known]]
    return values


def on_intervals(series: SourceSeries) -> tuple[FloatArray, FloatArray]:
    """Start and end of each run of the value 1 (an open run ends at +inf)."""
    on = series.values == 1.0
    if not on.any():
        return np.zeros(0), np.zeros(0)
    padded = np.concatenate(([False], on, [False]))
    edges = np.diff(padded.astype(np.int8))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    ends_at = np.append(series.times, np.inf)
    return series.times[starts], ends_at[stops]


def switch_times(series: SourceSeries) -> FloatArray:
    """Times a binary source switched between two known states (someone touched it)."""
    if len(series.times) < 2:
        return np.zeros(0)
    values = series.values
    before, after = values[:-1], values[1:]
    switched = np.isfinite(before) & np.isfinite(after) & (before != after)
    return np.asarray(series.times[1:][switched], dtype=np.float64)


def above_standby(series: SourceSeries, threshold: float) -> SourceSeries:
    """A power source as a binary one: 1 while above the learned standby threshold."""
    values = np.where(np.isnan(series.values), np.nan, (series.values > threshold) * 1.0)
    return SourceSeries(series.times, values)


def standby_threshold(series: SourceSeries) -> float:
    """A power level between a device's standby and its use, learned from its readings."""
    finite = series.values[np.isfinite(series.values)]
    if finite.size == 0:
        return math.inf
    low, high = np.quantile(finite, [0.05, 0.995])
    if high <= low:
        return math.inf  # never seen in use: never above standby
    return float(low + 0.3 * (high - low))


def binary_features(
    series: SourceSeries, times: FloatArray, taus: Sequence[float]
) -> tuple[FloatArray, list[FloatArray]]:
    """The state now and, per time scale, how recently the source was on (1 = on now)."""
    state = value_at(series, times)
    starts, ends = on_intervals(series)
    age = np.full(times.shape, np.inf)
    if starts.size:
        index = np.searchsorted(starts, times, side="right") - 1
        started = index >= 0
        age[started] = np.maximum(0.0, times[started] - ends[index[started]])
    age = np.minimum(age, MAX_AGE)
    return state, [np.exp(-age / tau) for tau in taus]


def daily_low(series: SourceSeries, times: FloatArray, typical: float = math.nan) -> FloatArray:
    """The lowest value of a number over the 24 whole hours before each time's hour.

    A reading's excess over it removes the slow drift (weather, season) that makes the raw
    level of humidity, temperature or CO2 mean different things on different days.

    Until the source has been seen for that whole window, the hours not seen yet count at
    ``typical`` (the source's usual day's low, learned in training): the low is the smaller
    of the two, so the window fills from the learned value to the live one. Without a typical
    low (NaN) it is unknown until the window is full. NaN before the source's first reading.
    """
    low = np.full(times.shape, np.nan)
    if series.times.size == 0 or times.size == 0:
        return low
    first = math.floor(series.times[0] / HOUR)
    last = max(math.floor(float(times.max()) / HOUR), first)
    bucket_starts = (first + np.arange(last - first + 1)) * HOUR
    carried = value_at(series, bucket_starts)
    changes = np.floor(series.times / HOUR).astype(np.int64) - first
    inside = changes <= last - first
    bucket_min = carried.copy()
    with np.errstate(invalid="ignore"):
        np.fmin.at(bucket_min, changes[inside], series.values[inside])
    padded = np.concatenate((np.full(LOW_HOURS, np.nan), bucket_min))
    windows = np.lib.stride_tricks.sliding_window_view(padded, LOW_HOURS)
    window_low = np.full(windows.shape[0], np.nan)
    has_value = np.isfinite(windows).any(axis=1)
    window_low[has_value] = np.nanmin(windows[has_value], axis=1)
    # window_low[k] covers buckets k-24 .. k-1 (relative to first); index by each time's bucket.
    index = np.floor(times / HOUR).astype(np.int64) - first
    full = (index >= LOW_HOURS) & (index < window_low.size)
    low[full] = window_low[index[full]]
    # A window the source did not fully cover yet would give a biased (too high) low.
    if math.isfinite(typical):
        partial = (index >= 0) & (index < LOW_HOURS) & (index < window_low.size)
        low[partial] = np.fmin(window_low[index[partial]], typical)
    return low


def typical_low(series: SourceSeries, start: float, end: float) -> float:
    """A number's usual day's low: the median of its 24-hour lows, hourly over [start, end).

    A property of the room and its sensor, kept with the model so that the excess over the
    day's low is known from the first reading after a restart or on a new day of data.
    NaN if the source was never seen for a whole day in that span.
    """
    hours = np.arange(math.ceil(start / HOUR) * HOUR, end, HOUR, dtype=np.float64)
    lows = daily_low(series, hours)
    lows = lows[np.isfinite(lows)]
    return float(np.median(lows)) if lows.size else math.nan


def numeric_change(series: SourceSeries, times: FloatArray, lag: float) -> FloatArray:
    """How much a number changed over the last ``lag`` seconds (NaN where unknown)."""
    return value_at(series, times) - value_at(series, times - lag)


def high_times(series: SourceSeries, window: float = HIGH_WINDOW) -> FloatArray:
    """Times of the readings at least as high as every value held in the ``window`` before.

    CO2 rises while someone breathes in the room and decays once the last person has left,
    so the time since its last high tells a room being emptied (its light perhaps left on)
    from one in use; a room's illuminance likewise stays below its high once its light is
    switched off. The value held at the window's start counts (a sensor that reports only
    on change holds its value); unknown readings are skipped. The first reading is a high.
    Vectorised sliding maximum over time blocks of the window's length (van Herk /
    Gil-Werman): the readings of a window lie in at most two consecutive blocks.
    """
    finite = np.isfinite(series.values)
    times, values = series.times[finite], series.values[finite]
    count = times.size
    if count == 0:
        return np.zeros(0)
    block = np.floor(times / window).astype(np.int64)
    block -= block[0]
    # Running maxima restarted at each block: forwards each block is lifted above the earlier
    # ones, backwards above the later ones. On the values' integer ranks: exact, ties kept.
    distinct, rank = np.unique(values, return_inverse=True)
    lift = block * distinct.size
    prefix = distinct[np.maximum.accumulate(rank + lift) - lift]
    suffix = distinct[np.maximum.accumulate((rank - lift)[::-1])[::-1] + lift]
    index = np.arange(count)
    first_inside = np.searchsorted(times, times - window, side="right")  # after the window starts
    high = np.full(count, -np.inf)
    carried = first_inside - 1  # the reading held at the window's start
    has_carried = (carried >= 0) & (carried < index)
    high[has_carried] = values[carried[has_carried]]
    inside = first_inside < index  # readings strictly inside the window, before this one
    previous = np.maximum(index - 1, 0)
    same_block = inside & (block[previous] == block)
    high[same_block] = np.maximum(high[same_block], prefix[previous[same_block]])
    start = np.minimum(first_inside, count - 1)
    earlier_block = inside & (block[start] < block)
    high[earlier_block] = np.maximum(high[earlier_block], suffix[start[earlier_block]])
    return np.asarray(times[values >= high], dtype=np.float64)


def since_high(series: SourceSeries, times: FloatArray) -> FloatArray:
    """Time since the number's last high (see :func:`high_times`), capped; NaN before any."""
    highs = high_times(series)
    index = np.searchsorted(highs, times, side="right") - 1
    since = np.full(times.shape, np.nan)
    found = index >= 0
    since[found] = np.minimum(times[found] - highs[index[found]], SINCE_HIGH_CAP)
    return log_minutes(since)


@dataclass(frozen=True, slots=True)
class Activity:
    """A unit's signs of activity, as intervals sorted by start, with running maxima.

    Points (a door opened, a light switched) are intervals of zero length.
    """

    starts: FloatArray
    ends: FloatArray
    is_door: BoolArray
    running_end: FloatArray  # the latest end among intervals started so far
    running_is_door: BoolArray  # whether that latest end is an entrance door's
    nondoor_running_end: FloatArray  # the same, among intervals that are not the entrance door
    door_prior_quiet: FloatArray  # per entrance-door point: the silence before it
    door_times: FloatArray  # entrance-door points, ascending
    bout_start: FloatArray  # start of the use (gaps < hold bridged) each interval belongs to

    @classmethod
    def build(
        cls,
        intervals: Sequence[tuple[FloatArray, FloatArray, bool]],
        hold: float,
    ) -> Activity:
        """Merge a unit's intervals (starts, ends, from an entrance door) into one timeline."""
        empty: list[FloatArray] = [np.zeros(0)]
        starts = np.concatenate([item[0] for item in intervals] or empty)
        ends = np.concatenate([item[1] for item in intervals] or empty)
        flags: list[FloatArray] = [np.full(item[0].shape, float(item[2])) for item in intervals]
        is_door = np.concatenate(flags or empty).astype(bool)
        order = np.lexsort((ends, starts))
        starts, ends, is_door = starts[order], ends[order], is_door[order]
        running_end = np.maximum.accumulate(ends) if ends.size else ends
        previous_max = np.concatenate(([-np.inf], running_end[:-1]))
        sets_max = ends >= previous_max
        owner = np.maximum.accumulate(np.where(sets_max, np.arange(ends.size), 0))
        running_is_door = is_door[owner] if ends.size else is_door
        nondoor_ends = np.where(is_door, -np.inf, ends)
        nondoor_running_end = np.maximum.accumulate(nondoor_ends) if ends.size else nondoor_ends
        door_index = np.flatnonzero(is_door)
        door_times = starts[door_index]
        # The silence before a door point: since the last non-door activity started before it.
        before = np.where(
            door_index > 0, nondoor_running_end[np.maximum(door_index - 1, 0)], -np.inf
        )
        before = np.where(door_index > 0, before, -np.inf)
        door_prior_quiet = np.minimum(np.maximum(0.0, door_times - before), MAX_AGE)
        new_bout = starts - previous_max > hold
        if ends.size:
            new_bout[0] = True
        bout_index = np.maximum.accumulate(np.where(new_bout, np.arange(ends.size), 0))
        bout_start = starts[bout_index] if ends.size else starts
        return cls(
            starts,
            ends,
            is_door,
            running_end,
            running_is_door,
            nondoor_running_end,
            door_prior_quiet,
            door_times,
            bout_start,
        )

    def state_at(self, times: FloatArray) -> dict[str, FloatArray]:
        """Activity now, age of the last activity, door-last flags and durations at each time."""
        index = np.searchsorted(self.starts, times, side="right") - 1
        started = index >= 0
        safe = np.maximum(index, 0)
        last_end = np.where(
            started, self.running_end[safe] if self.starts.size else -np.inf, -np.inf
        )
        age = np.minimum(np.maximum(0.0, times - last_end), MAX_AGE)
        door_last = np.where(
            started & (last_end < times),
            self.running_is_door[safe] if self.starts.size else False,
            False,
        ).astype(np.float64)
        door_index = np.searchsorted(self.door_times, times, side="right") - 1
        has_door = door_index >= 0
        prior = np.where(
            has_door,
            self.door_prior_quiet[np.maximum(door_index, 0)] if self.door_times.size else 0.0,
            0.0,
        )
        since_door = np.where(
            has_door,
            times - (self.door_times[np.maximum(door_index, 0)] if self.door_times.size else 0.0),
            MAX_AGE,
        )
        bout = np.where(started, times - (self.bout_start[safe] if self.starts.size else 0.0), 0.0)
        return {
            "active": (age == 0.0) * 1.0,
            "age": age,
            "door_last": door_last,
            "door_prior_quiet": prior * door_last,
            "since_door": np.minimum(since_door, MAX_AGE),
            "bout": np.minimum(bout, MAX_AGE),
        }


def source_intervals(
    source: OccupancySource, series: SourceSeries, thresholds: Mapping[str, float]
) -> tuple[FloatArray, FloatArray] | None:
    """A source's signs of activity as (starts, ends), or None if its kind shows none."""
    if source.kind in STATE_ACTIVITY_KINDS:
        return on_intervals(series)
    if source.kind in EVENT_ACTIVITY_KINDS:
        points = switch_times(series)
        return points, points.copy()
    if source.kind == POWER_KIND and source.source_id in thresholds:
        points = switch_times(above_standby(series, thresholds[source.source_id]))
        return points, points.copy()
    return None


def learn_hold(activity: Activity) -> float:
    """The gap bridged within one use of a room: where short and long silences split."""
    if activity.starts.size < 2:
        return DEFAULT_HOLD
    previous_max = activity.running_end[:-1]
    gaps = activity.starts[1:] - previous_max
    gaps = gaps[(gaps > 5.0) & (gaps < DAY)]
    if gaps.size < MIN_GAPS_FOR_HOLD:
        return DEFAULT_HOLD
    log_gaps = np.sort(np.log(gaps))
    # Otsu's split of the log-gaps: the threshold that best separates two groups.
    count = log_gaps.size
    prefix = np.cumsum(log_gaps)
    total = prefix[-1]
    split = np.arange(1, count)
    left_mean = prefix[:-1] / split
    right_mean = (total - prefix[:-1]) / (count - split)
    between = split * (count - split) * (left_mean - right_mean) ** 2
    best = int(np.argmax(between))
    threshold = math.exp(0.5 * (log_gaps[best] + log_gaps[best + 1]))
    return float(min(max(threshold, HOLD_BOUNDS[0]), HOLD_BOUNDS[1]))


def learn_entrance_doors(door_points: Mapping[str, FloatArray], activity: Activity) -> list[str]:
    """Doors that open and close the home's long silences: the ways in and out."""
    if activity.starts.size < 2 or not door_points:
        return []
    previous_max = activity.running_end[:-1]
    gap_start = previous_max
    gap_end = activity.starts[1:]
    long_gap = (gap_end - gap_start) >= LONG_SILENCE
    starts_long = gap_start[long_gap]
    ends_long = gap_end[long_gap]
    if starts_long.size < 2:
        return []
    entrances = []
    for source_id, points in door_points.items():
        opens = np.isin(starts_long, points)
        closes = np.isin(ends_long, points)
        both = int(np.count_nonzero(opens & closes))
        if both >= 2 and both >= 0.2 * starts_long.size:
            entrances.append(source_id)
    return sorted(entrances)


def merge_label_intervals(
    starts: FloatArray, ends: FloatArray, hold: float
) -> tuple[FloatArray, FloatArray]:
    """The room in use: from each sign of activity until ``hold`` after the last one.

    Like a motion sensor's timeout, but learned: gaps shorter than the hold are bridged.
    """
    if starts.size == 0:
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order] + hold
    running = np.maximum.accumulate(ends)
    new_use = np.concatenate(([True], starts[1:] > running[:-1]))
    first = np.flatnonzero(new_use)
    last = np.concatenate((first[1:] - 1, [starts.size - 1]))
    return starts[first], running[last]


def in_intervals(starts: FloatArray, ends: FloatArray, times: FloatArray) -> FloatArray:
    """1.0 where a time falls inside one of the (sorted, disjoint) intervals, else 0.0."""
    index = np.searchsorted(starts, times, side="right") - 1
    inside = np.zeros(times.shape)
    found = index >= 0
    inside[found] = (times[found] < ends[index[found]]) * 1.0
    return inside


def log_minutes(seconds: FloatArray) -> FloatArray:
    """A duration on a log scale: log(1 + minutes) / 5, about 0..2 from a second to a week."""
    return np.log1p(np.minimum(seconds, MAX_AGE) / MINUTE) / 5.0


def feature_matrix(
    specs: Sequence[FeatureSpec],
    series: Mapping[str, SourceSeries],
    activity: Activity,
    times: FloatArray,
    routine_logit: FloatArray,
    typical_lows: Mapping[str, float] | None = None,
) -> FloatArray:
    """The unit's raw features at each time, one column per spec (NaN = unknown).

    ``typical_lows``: each number's usual day's low, standing in for the hours of its day's
    low not seen yet (see :func:`daily_low`).
    """
    columns: list[FloatArray] = []
    binary_cache: dict[tuple[str, float], FloatArray] = {}
    unit_state = activity.state_at(times)
    empty = SourceSeries.empty()
    for spec in specs:
        source = series.get(spec.source_id, empty)
        if spec.name == "on":
            columns.append(value_at(source, times))
        elif spec.name == "recent":
            key = (spec.source_id, spec.scale)
            if key not in binary_cache:
                _, decays = binary_features(source, times, [spec.scale])
                binary_cache[key] = decays[0]
            columns.append(binary_cache[key])
        elif spec.name == "level":
            columns.append(value_at(source, times))
        elif spec.name == "excess":
            typical = (typical_lows or {}).get(spec.source_id, math.nan)
            columns.append(value_at(source, times) - daily_low(source, times, typical))
        elif spec.name == "change":
            columns.append(numeric_change(source, times, spec.scale))
        elif spec.name == "since_high":
            columns.append(since_high(source, times))
        elif spec.name == "active":
            columns.append(unit_state["active"])
        elif spec.name == "quiet":
            columns.append(np.exp(-unit_state["age"] / spec.scale))
        elif spec.name == "door_last":
            columns.append(unit_state["door_last"])
        elif spec.name == "door_quiet":
            columns.append(unit_state["door_last"] * np.exp(-unit_state["age"] / spec.scale))
        elif spec.name == "door_prior_quiet":
            columns.append(unit_state["door_last"] * log_minutes(unit_state["door_prior_quiet"]))
        elif spec.name == "routine":
            columns.append(routine_logit)
        else:
            raise ValueError(f"unknown feature {spec.name!r}")
    if not columns:
        return np.zeros((times.size, 0))
    return np.column_stack(columns)
