"""Occupancy learning: is each room (and the home) in use now, and when will it be used next.

Pure numpy, no Home Assistant imports; models persist as JSON-serialisable dicts (``to_dict`` /
``from_dict``), never pickle.

Time convention: every timestamp is float seconds on the home's *local wall clock* (a naive local
datetime converted as if it were UTC, ``dt.replace(tzinfo=UTC).timestamp()``), numpy float64.
Hour of week comes straight from the number (1970-01-01 was a Thursday); daylight saving time
needs no care here.

How it learns, per room and for the home (each a *unit*):

- Labels without labels: a room's reliable presence sensor teaches the room where it has one;
  otherwise the room counts as in use while its activity sources say so (motion / media on, a
  door or light switched, power rising above its learned standby), with the gaps inside one
  use bridged by a hold learned from the room's own silences. The home is taught by people's
  trackers where there are any; otherwise it is empty during a silence of at least ten minutes
  that began at an outside door (marked, or learned as the door that opens and closes the
  home's long silences). Before the first reading of any of a unit's sources (where recorded
  history begins) its state is unknown, not filled in.
- Now-cast: a logistic regression of that label on the unit's sources (binary: state now and
  how recently on; numeric: level, level over the past day's low and recent change, each
  standardised per source, so units don't matter) and the learned weekly routine. Unknown
  values count as "average". A number with a physical floor (CO2, illuminance, power) keeps
  its usual day's low with the model, so its level over the day's low is known before a day
  of live readings exists (after a restart, on a new sensor). The penalty is chosen by
  time-blocked cross-validation (one-standard-error rule) on the rows the fit learns from and
  the log-odds recalibrated on the held-out blocks (Platt scaling).
- Weekly routine: hour-of-week probability of use, shrunk towards the hour of day and the
  overall rate when data is short, recent weeks weighted more.
- Forecast: per horizon (15 min to 24 h), the best convex blend of the two naive baselines
  (routine at the target, state now), corrected on the log-odds scale by a logistic
  regression on the routine, the now-cast and how long the current state has lasted,
  penalised towards the blend (so both baselines are special cases, and short data stays
  near the blend). The home's correction may also read how recently each room was active
  (a home's own precursors of leaving or staying in), with its own penalty, or not at all,
  as time-blocked cross-validation decides.
- Self-scoring: the most recent days are held out; the Brier score of the now-cast and of the
  one-hour forecast is compared with the better of two naive baselines (the routine alone; the
  state as it is now). Where the one-hour skill is not positive the unit is ``degraded``; a
  horizon falls back to the best of (blend, routine, persistence) only where the model lost
  by more than two standard errors (errors of 6-hour blocks). With less than :data:`MIN_HISTORY_DAYS` of history the status is ``learning``.

Modules: this one trains and scores; ``occupancy_model`` holds the learned model and its JSON
form; ``occupancy_live`` follows state changes in O(1) and predicts each minute;
``occupancy_signals`` defines the features and labels; ``occupancy_stats`` the fits, the weekly
routine and the episode lengths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import math

import numpy as np
import numpy.typing as npt

from .occupancy_model import (
    BASELINE_CONFIDENCE,
    FORECAST_COLUMNS,
    FORECAST_HORIZONS,
    HORIZON_NAMES,
    TEACHER_PROBABILITY,
    Fallback,
    OccupancyModel,
    UnitModel,
    baseline_blend,
    dynamics,
    forecast_coefficients,
    prior_forecast_table,
)
from .occupancy_signals import (
    ABOVE_STANDBY,
    CHANGE_LAGS,
    DAY,
    HIGH_WINDOW,
    HOUR,
    MAX_AGE,
    MIN_AWAY,
    MINUTE,
    POWER_KIND,
    QUIET_TAUS,
    RECENT_TAUS,
    Activity,
    BoolArray,
    FeatureSpec,
    FloatArray,
    OccupancySource,
    SourceSeries,
    above_standby,
    feature_matrix,
    in_intervals,
    learn_entrance_doors,
    learn_hold,
    merge_label_intervals,
    on_intervals,
    source_intervals,
    standby_threshold,
    typical_low,
    value_at,
)
from .occupancy_stats import (
    CV_FOLDS,
    CV_ITERATIONS,
    CV_SAMPLES,
    MAX_EPISODES,
    brier,
    choose_ridge,
    episode_lengths,
    fit_conditional_routine,
    fit_convex_blend,
    fit_episode_starts,
    fit_logistic,
    fit_routine,
    fit_survival,
    label_episodes,
    logit,
    routine_by_hour,
    sigmoid,
    skill,
    survival_points,
)
from .one_thread import on_one_thread
from .series import nan_statistic

MIN_HISTORY_DAYS = 3  # days: less history than this, status "learning" and a low confidence
NOWCAST_STEP = MINUTE  # training grid of the now-cast
NOWCAST_SAMPLES = 10_080  # a week of minutes: the most rows a now-cast is fitted on
NOWCAST_DAYS = 14.0  # the now-cast learns from at most this many recent days
FORECAST_STEP = 5 * MINUTE
FORECAST_DAYS = 28.0
ROUTINE_DAYS = 84.0  # the weekly routine looks back twelve weeks at most
HOLDOUT_FRACTION = 0.2
HOLDOUT_DAYS = (1.0, 7.0)  # held-out days, at least and at most
SCORED_HORIZON = HOUR  # the forecast's accuracy is its one-hour Brier skill
MIN_SCORED_POINTS = DAY / FORECAST_STEP  # a horizon is judged on at least a day of forecasts
# A new model is compared with the one in use on the hours neither was trained on: at least
# this many (a nightly retrain has a day of them).
MIN_COMPARED_HOURS = 12.0
NUMERIC_LEVELS = ("level", "excess")  # a number's raw level, and its level over the day's low
# Numbers whose recent change is a sign of people: CO2 rises while someone breathes in the room,
# and illuminance steps when someone switches a light (daylight only drifts, so a step over
# minutes tells a hand on the switch from the sun). Temperature and humidity drift with weather
# and heating, so their changes add noise more than evidence (measured on the UCI office).
# These numbers also read the time since their last high: once the last person has left, CO2
# decays and the room stays below the brightness it had while in use.
BREATH_KINDS = frozenset({"co2"})
CHANGE_KINDS = BREATH_KINDS | {"illuminance"}
# Numbers whose day's low is a floor of the room and its sensor, the same from day to day:
# outdoor air for CO2, darkness for illuminance, a device's standby for power. The lows of
# temperature and humidity follow the weather and the heating, so a past low says little about
# today's (measured on the UCI office: their learned lows made the first day worse).
FLOOR_KINDS = frozenset({"co2", "illuminance", POWER_KIND})
CONFIDENT_SAMPLES = 60  # each state needs this many training minutes to fit a now-cast
LOSS_BLOCK = 6 * HOUR  # forecasts within this share their errors
LOSS_SIGNIFICANCE = 2.0  # standard errors a held-out loss must exceed to fall back
FORECAST_RIDGE_PER_HOUR = 1.0  # pull of the forecast towards the baselines' blend, per hour
FORECAST_RIDGE_CHOICES = (1.0, 10.0, 100.0)  # the pulls tried (per hour), by cross-validation
# The extra inputs' (the rooms') pulls tried: finer and weaker, since a room's precursor of a
# departure may deserve a weight the correction's own inputs would overfit with.
FORECAST_EXTRA_RIDGE_CHOICES = (0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 100.0)


def unit_feature_specs(
    unit_sources: Sequence[OccupancySource], thresholds: Mapping[str, float], is_home: bool
) -> list[FeatureSpec]:
    """The features a unit's model reads, from the sources it has."""
    specs: list[FeatureSpec] = []
    for source in sorted(unit_sources, key=lambda item: item.source_id):
        if not source.is_used or source.reliable:
            continue  # a reliable sensor teaches; the student learns to do without it
        if source.is_binary:
            specs.append(FeatureSpec("on", source.source_id))
            specs.extend(FeatureSpec("recent", source.source_id, tau) for tau in RECENT_TAUS)
            continue
        specs.extend(FeatureSpec(name, source.source_id) for name in NUMERIC_LEVELS)
        if source.kind in CHANGE_KINDS:
            specs.extend(FeatureSpec("change", source.source_id, lag) for lag in CHANGE_LAGS)
            # Time since its last high: a room being left, its CO2 decaying, its light dimmed.
            specs.append(FeatureSpec("since_high", source.source_id, HIGH_WINDOW))
        if source.kind == POWER_KIND and source.source_id in thresholds:
            derived = source.source_id + ABOVE_STANDBY
            specs.append(FeatureSpec("on", derived))
            specs.extend(FeatureSpec("recent", derived, tau) for tau in RECENT_TAUS)
    specs.append(FeatureSpec("active"))
    specs.extend(FeatureSpec("quiet", "", tau) for tau in QUIET_TAUS)
    if is_home:
        specs.append(FeatureSpec("door_last"))
        specs.extend(FeatureSpec("door_quiet", "", tau) for tau in QUIET_TAUS)
        specs.append(FeatureSpec("door_prior_quiet"))
    specs.append(FeatureSpec("routine"))
    return specs


def prior_nowcast(specs: Sequence[FeatureSpec]) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """Broad, untrained weights: (mean, scale, weights, intercept), activity means use."""
    width = len(specs)
    weights = np.zeros(width)
    for index, spec in enumerate(specs):
        if spec.name == "quiet" and spec.scale == QUIET_TAUS[1]:
            weights[index] = 4.0  # activity in the last half hour: probably in use
        if spec.name == "door_quiet" and spec.scale == QUIET_TAUS[0]:
            weights[index] = -2.0  # quiet since someone went out: probably away
    return np.zeros(width), np.ones(width), weights, -2.0


def _taught_inputs(
    unit: UnitModel,
    data: UnitData,
    times: FloatArray,
    student: FloatArray,
    state: Mapping[str, FloatArray],
) -> tuple[FloatArray, tuple[FloatArray, FloatArray]]:
    """The now-cast and durations the live path would use: the teachers' where they are known."""
    durations = dynamics(unit, state)
    student = data.within_home(times, student, state["active"])
    if data.teacher_activity is None:
        return student, durations
    taught = data.label_at(times)
    known = np.isfinite(taught)
    now = np.where(
        known, np.where(taught == 1.0, TEACHER_PROBABILITY, 1.0 - TEACHER_PROBABILITY), student
    )
    teacher_durations = dynamics(unit, data.teacher_activity.state_at(times), taught=True)
    return now, (
        np.where(known, teacher_durations[0], durations[0]),
        np.where(known, teacher_durations[1], durations[1]),
    )


def _lasting_leave_one_out(
    data: UnitData,
    start: float,
    end: float,
    times: FloatArray,
    now_probability: FloatArray,
    durations: tuple[FloatArray, FloatArray],
    horizon: float,
) -> FloatArray:
    """:meth:`UnitModel.state_lasting` for training samples, each without its own episode.

    Otherwise, with a few weeks of episodes, the blend would learn to trust a curve that
    already knows how each training episode ended.
    """
    first, last, state, finished = label_episodes(data.labels, start, end)
    lengths = last - first
    # The same recent episodes as the model's curve (fit_survival keeps the last MAX_EPISODES).
    for value in (0.0, 1.0):
        of_state = np.flatnonzero(finished & (state == value))
        finished[of_state[:-MAX_EPISODES]] = False
    own_length = np.full(times.size, np.nan)
    own_state = np.full(times.size, np.nan)
    if first.size:
        index = np.clip(np.searchsorted(first, times, side="right") - 1, 0, first.size - 1)
        own_length = np.where(finished[index], lengths[index], np.nan)
        own_state = state[index]
    ratios = []
    for value, elapsed in ((1.0, durations[0]), (0.0, durations[1])):
        of_state = lengths[finished & (state == value)]
        excluded = np.where(own_state == value, own_length, np.nan)
        later = survival_points(of_state, elapsed + horizon, excluded)
        sooner = survival_points(of_state, elapsed, excluded)
        ratios.append(np.clip(later / np.maximum(sooner, 1e-300), 0.0, 1.0))
    in_use_lasts, idle_lasts = ratios
    return np.asarray(
        now_probability * in_use_lasts + (1.0 - now_probability) * (1.0 - idle_lasts),
        dtype=np.float64,
    )


@dataclass(slots=True)
class UnitData:
    """A unit's history prepared for training and scoring."""

    sources: list[OccupancySource]
    series: dict[str, SourceSeries]
    activity: Activity
    labels: tuple[FloatArray, FloatArray, FloatArray]  # starts, ends, value (NaN = unknown)
    hold: float
    thresholds: dict[str, float]
    teachers: list[str]
    entrances: list[str]
    activity_sources: list[str]
    pieces: list[tuple[FloatArray, FloatArray, bool]]
    teacher_activity: Activity | None = None  # when the teachers were on, for durations
    first_reading: float = -math.inf  # the unit's earliest reading: its state is unknown before
    # The home only: each room's own activity (the rooms' recency is read by its forecast).
    room_activity: dict[str, Activity] = field(default_factory=dict)
    # A room in a home with people: while every one of them is known away (starts, ends),
    # nobody uses the room but while its sensors show someone there now.
    away: tuple[FloatArray, FloatArray] | None = None

    def away_at(self, times: FloatArray, active: FloatArray) -> BoolArray:
        """Whether everybody is known away and the room shows nobody now, at each time."""
        if self.away is None:
            return np.zeros(times.shape, dtype=bool)
        return np.asarray((in_intervals(*self.away, times) == 1.0) & (active != 1.0), dtype=bool)

    def within_home(
        self, times: FloatArray, probability: FloatArray, active: FloatArray
    ) -> FloatArray:
        """A room's now-cast as the live path shows it: no likelier than the home's people say."""
        return np.where(
            self.away_at(times, active),
            np.minimum(probability, 1.0 - TEACHER_PROBABILITY),
            probability,
        )

    def rooms_age(self, rooms: Sequence[str], times: FloatArray) -> FloatArray:
        """Seconds since each room was last active (columns, in ``rooms`` order).

        A room without activity here (e.g. gone since the model was trained): never active.
        """
        columns = [
            self.room_activity[room].state_at(times)["age"]
            if room in self.room_activity
            else np.full(times.shape, MAX_AGE)
            for room in rooms
        ]
        return np.column_stack(columns) if columns else np.zeros((times.size, 0))

    def label_at(self, times: FloatArray) -> FloatArray:
        """The unit's (taught or self-supervised) label at each time."""
        starts, ends, values = self.labels
        index = np.searchsorted(starts, times, side="right") - 1
        label = np.full(times.shape, np.nan)
        found = index >= 0
        inside = found.copy()
        inside[found] = times[found] < ends[index[found]]
        label[inside] = values[index[inside]]
        # Before any of its sources had reported, the label would be a fill-in, not evidence.
        label[times < self.first_reading] = np.nan
        return label


def prepare_unit(
    room: str | None,
    sources: Sequence[OccupancySource],
    history: Mapping[str, SourceSeries],
    start: float,
    end: float,
) -> UnitData:
    """Gather a unit's series, activity and labels (taught, or learned from its sensors)."""
    is_home = room is None
    unit_sources = [s for s in sources if s.is_used and (is_home or s.room == room)]
    series: dict[str, SourceSeries] = {}
    thresholds: dict[str, float] = {}
    intervals: dict[str, tuple[FloatArray, FloatArray]] = {}
    # When none of the signs of activity was known (unavailable, found silent, not yet read).
    unknown: tuple[FloatArray, FloatArray] | None = None  # None: the unit has no such sign
    first_reading = math.inf  # none yet: every row is before it
    for source in unit_sources:
        data = _clip(history.get(source.source_id, SourceSeries.empty()), start, end)
        own = source.room == room  # the home keeps only its own series; rooms' give activity
        if own:
            series[source.source_id] = data
        signs = data  # the series whose changes are its signs of activity, if it has any
        if source.kind == POWER_KIND:
            threshold = standby_threshold(data)
            if math.isfinite(threshold):
                thresholds[source.source_id] = threshold
                signs = above_standby(data, threshold)
                if own:
                    series[source.source_id + ABOVE_STANDBY] = signs
        if data.times.size:
            first_reading = min(first_reading, float(data.times[0]))
        if source.kind == "person" or source.reliable:
            continue  # teachers are not activity: the student must do without them
        found = source_intervals(source, data, thresholds)
        if found is not None:
            spells = _unknown_spells(signs, end)
            unknown = spells if unknown is None else _overlap(unknown, spells)
        if found is not None and found[0].size:
            intervals[source.source_id] = found
    if is_home:
        entrances = [s.source_id for s in unit_sources if s.entrance]
        if not entrances:
            plain = Activity.build([(a, b, False) for a, b in intervals.values()], 0.0)
            doors = {
                s.source_id: intervals[s.source_id][0]
                for s in unit_sources
                if s.kind == "door" and s.source_id in intervals
            }
            entrances = learn_entrance_doors(doors, plain)
    else:
        entrances = []
    pieces = [(a, b, sid in entrances) for sid, (a, b) in intervals.items()]
    # The home's forecast reads each room's own activity, as the live tracker follows it.
    by_room: dict[str, list[tuple[FloatArray, FloatArray, bool]]] = {}
    if is_home:
        for source in unit_sources:
            if source.room is not None and source.source_id in intervals:
                by_room.setdefault(source.room, []).append((*intervals[source.source_id], False))
    activity = Activity.build(pieces, 0.0)
    hold = MIN_AWAY if is_home else learn_hold(activity)
    activity = Activity.build(pieces, hold)
    teacher_kind = "person" if is_home else None
    teachers = sorted(
        s.source_id
        for s in unit_sources
        if (s.kind == teacher_kind) or (not is_home and s.reliable)
    )
    if teachers:
        labels = _taught_labels([series[sid] for sid in teachers], start, end)
    elif is_home:
        labels = _home_labels(activity, start, end)
    else:
        label_starts, label_ends = merge_label_intervals(activity.starts, activity.ends, hold)
        labels = _fill_labels(label_starts, label_ends, start, end)
    if not teachers and unknown is not None:
        # Where no sign of activity was known, neither is use: a dead motion sensor's days are
        # not days the room stood empty.
        labels = _unknown_during(labels, unknown)
    away = None
    people = [s for s in sources if s.kind == "person"]
    if not is_home and people:
        tracked = [
            _clip(history.get(s.source_id, SourceSeries.empty()), start, end) for s in people
        ]
        spell_starts, spell_ends, values = _taught_labels(tracked, start, end)
        away = (spell_starts[values == 0.0], spell_ends[values == 0.0])
        if not teachers:
            # The room's sensors say it was used a while ago; its people say nobody is home now.
            labels = _unused_while_away(labels, away, activity)
    return UnitData(
        unit_sources,
        series,
        activity,
        labels,
        hold,
        thresholds,
        teachers,
        entrances,
        sorted(intervals),
        pieces,
        Activity.build([(*on_intervals(series[sid]), False) for sid in teachers], 0.0)
        if teachers
        else None,
        first_reading,
        {room: Activity.build(found, 0.0) for room, found in sorted(by_room.items())},
        away,
    )


def _unused_while_away(
    labels: tuple[FloatArray, FloatArray, FloatArray],
    away: tuple[FloatArray, FloatArray],
    activity: Activity,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The labels, but in use while ``away`` only where ``activity`` shows someone (no hold)."""
    if labels[0].size == 0 or away[0].size == 0:
        return labels
    seen = merge_label_intervals(activity.starts, activity.ends, 0.0)
    pieces, piece_ends, values, inside = _cut(labels, *away, *seen)
    nobody_home = in_intervals(*away, pieces) == 1.0
    values = np.where(nobody_home, in_intervals(*seen, pieces), values)
    keep = inside | nobody_home
    return pieces[keep], piece_ends[keep], values[keep]


def _unknown_spells(series: SourceSeries, end: float) -> tuple[FloatArray, FloatArray]:
    """The spells up to ``end`` when ``series`` was unknown: a gap, or before its first value."""
    times, unknown = series.times, np.isnan(series.values)
    if times.size == 0:
        return np.array([-math.inf]), np.array([end])
    starts = np.concatenate(([-math.inf], times[unknown]))
    ends = np.concatenate((times[:1], np.append(times[1:], end)[unknown]))
    keep = ends > starts
    return starts[keep], ends[keep]


def _overlap(
    first: tuple[FloatArray, FloatArray], second: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """The spells within both sets of (sorted, disjoint) spells."""
    bounds = np.unique(np.concatenate((*first, *second)))
    pieces, piece_ends = bounds[:-1], bounds[1:]
    both = (in_intervals(*first, pieces) == 1.0) & (in_intervals(*second, pieces) == 1.0)
    return pieces[both], piece_ends[both]


def _unknown_during(
    labels: tuple[FloatArray, FloatArray, FloatArray], spells: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The labels, unknown (NaN) within ``spells``."""
    if labels[0].size == 0 or spells[0].size == 0:
        return labels
    pieces, piece_ends, values, inside = _cut(labels, *spells)
    values = np.where(in_intervals(*spells, pieces) == 1.0, np.nan, values)
    return pieces[inside], piece_ends[inside], values[inside]


def _cut(
    labels: tuple[FloatArray, FloatArray, FloatArray], *bounds: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """The labels' span cut at their own and these ``bounds``.

    Each piece's start and end, the label's value there (NaN where none covers it) and whether
    one does.
    """
    starts, ends, values = labels
    cuts = np.unique(np.concatenate((starts, ends, *bounds)))
    cuts = cuts[(cuts >= starts[0]) & (cuts <= ends[-1])]
    pieces, piece_ends = cuts[:-1], cuts[1:]
    index = np.clip(np.searchsorted(starts, pieces, side="right") - 1, 0, starts.size - 1)
    inside = (pieces >= starts[index]) & (pieces < ends[index])
    return pieces, piece_ends, np.where(inside, values[index], np.nan), inside


def _clip(series: SourceSeries, start: float, end: float) -> SourceSeries:
    """The series from the last change before ``start`` to ``end`` (views, no copies)."""
    first = max(int(np.searchsorted(series.times, start, side="right")) - 1, 0)
    last = int(np.searchsorted(series.times, end, side="right"))
    return SourceSeries(series.times[first:last], series.values[first:last])


def _fill_labels(
    in_use_starts: FloatArray, in_use_ends: FloatArray, start: float, end: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Label intervals covering [start, end): 1 inside the given intervals, 0 between."""
    in_use_starts = np.clip(in_use_starts, start, end)
    in_use_ends = np.clip(in_use_ends, start, end)
    bounds = np.concatenate(([start], np.column_stack((in_use_starts, in_use_ends)).ravel(), [end]))
    values = np.tile([0.0, 1.0], in_use_starts.size + 1)[: bounds.size - 1]
    starts, ends = bounds[:-1], bounds[1:]
    keep = ends > starts
    return starts[keep], ends[keep], values[keep]


def _taught_labels(
    teachers: Sequence[SourceSeries], start: float, end: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Labels from reliable sensors: in use while any says so, unknown where all are unknown."""
    times = np.unique(np.concatenate([s.times for s in teachers] + [np.array([start])]))
    times = times[(times >= start) & (times < end)]
    states = np.column_stack([value_at(s, times) for s in teachers])
    any_on = np.any(states == 1.0, axis=1)
    all_unknown = np.all(np.isnan(states), axis=1)
    values = np.where(any_on, 1.0, np.where(all_unknown, np.nan, 0.0))
    return times, np.append(times[1:], end), values


def _home_labels(
    activity: Activity, start: float, end: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The home is empty during silences of at least MIN_AWAY begun at an outside door."""
    if activity.starts.size < 2:
        return _fill_labels(np.array([start]), np.array([end]), start, end)
    gap_start = activity.running_end[:-1]
    gap_end = activity.starts[1:]
    away = (gap_end - gap_start >= MIN_AWAY) & activity.running_is_door[:-1]
    # Last activity ended in a door point at the end of history: away if long enough.
    away_starts = list(gap_start[away])
    away_ends = list(gap_end[away])
    if activity.running_is_door[-1] and end - activity.running_end[-1] >= MIN_AWAY:
        away_starts.append(activity.running_end[-1])
        away_ends.append(end)
    home_starts = np.concatenate(([start], np.asarray(away_ends)))
    home_ends = np.concatenate((np.asarray(away_starts), [end]))
    return _fill_labels(home_starts, home_ends, start, end)


@dataclass(slots=True)
class _Grid:
    times: FloatArray
    label: FloatArray
    raw: FloatArray
    state: dict[str, FloatArray]


def _grid(
    data: UnitData,
    specs: Sequence[FeatureSpec],
    times: FloatArray,
    routine_logit: FloatArray,
    typical_lows: Mapping[str, float],
) -> _Grid:
    raw = feature_matrix(specs, data.series, data.activity, times, routine_logit, typical_lows)
    return _Grid(times, data.label_at(times), raw, data.activity.state_at(times))


def _standardise(raw: FloatArray) -> tuple[FloatArray, FloatArray]:
    # A source never seen in the window has an all-NaN column: it is standardised as unknown.
    with np.errstate(all="ignore"):
        mean = nan_statistic(np.nanmean, raw, axis=0) if raw.size else np.zeros(raw.shape[1])
        scale = nan_statistic(np.nanstd, raw, axis=0) if raw.size else np.ones(raw.shape[1])
    mean = np.where(np.isfinite(mean), mean, 0.0)
    scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
    return mean, scale


def _fit_unit(
    data: UnitData,
    room: str | None,
    start: float,
    end: float,
    warm: UnitModel | None = None,
) -> UnitModel:
    """Fit a unit's now-cast, routine and forecast on history in [start, end).

    ``warm``: a fit of the same unit on less history, to start the now-cast's fit from.
    """
    # The home reads its own sources (people, main meter) and its rooms' activity as a whole.
    own_sources = [s for s in data.sources if s.room == room]
    specs = unit_feature_specs(own_sources, data.thresholds, room is None)
    routine_times = _steps(max(start, end - ROUTINE_DAYS * DAY), end, FORECAST_STEP)
    routine_label = data.label_at(routine_times)
    routine, _ = fit_routine(routine_times, routine_label, FORECAST_STEP)
    unit = UnitModel(
        room=room,
        specs=specs,
        mean=np.zeros(len(specs)),
        scale=np.ones(len(specs)),
        weights=np.zeros(len(specs)),
        intercept=0.0,
        routine=routine,
        forecast_coef=prior_forecast_table(),
        hold=data.hold,
        thresholds=dict(data.thresholds),
        teachers=list(data.teachers),
        entrances=list(data.entrances),
        activity_sources=list(data.activity_sources),
    )
    unit.mean, unit.scale, unit.weights, unit.intercept = prior_nowcast(specs)
    # The now-cast: a recent window on a one-minute grid, routine learned without each own day.
    now_start = max(start, end - NOWCAST_DAYS * DAY)
    # At most NOWCAST_SAMPLES rows: a longer window is sampled more sparsely (bounded time).
    step = NOWCAST_STEP * max(1, math.ceil((end - now_start) / NOWCAST_STEP / NOWCAST_SAMPLES))
    now_times = _steps(now_start, end, step)
    _, routine_loo = fit_routine(routine_times, routine_label, FORECAST_STEP, now_times)
    assert routine_loo is not None
    # The usual day's low of each number with a physical floor, over the days the now-cast
    # learns from: its excess is then known before a day of live readings.
    floored = {s.source_id for s in own_sources if s.kind in FLOOR_KINDS}
    for spec in specs:
        if spec.name == "excess" and spec.source_id in floored and spec.source_id in data.series:
            low = typical_low(data.series[spec.source_id], now_start, end)
            if math.isfinite(low):
                unit.typical_lows[spec.source_id] = low
    grid = _grid(data, specs, now_times, logit(routine_loo), unit.typical_lows)
    known = np.isfinite(grid.label)
    if not data.teachers:
        # Rows while everybody is away and the room shows nobody teach its sensors nothing:
        # the room is shown unused then.
        known &= ~data.away_at(now_times, grid.state["active"])
    positives = int(np.count_nonzero(grid.label[known] == 1.0))
    negatives = int(np.count_nonzero(grid.label[known] == 0.0))
    if min(positives, negatives) < CONFIDENT_SAMPLES:
        return unit  # too little of one state to learn from: the broad prior stays
    raw = grid.raw[known]
    unit.mean, unit.scale = _standardise(raw)
    standard = np.where(np.isfinite(raw), (raw - unit.mean) / unit.scale, 0.0)
    # Minutes of one state are not independent evidence: penalise as if an hour were one sample.
    rows_per_hour = HOUR / step
    chosen = ("nowcast_ridge", "nowcast_slope", "nowcast_shift")
    # Penalty and recalibration are cross-validated on the very rows this fit learns from (not
    # reused from the held-out fit): the held-out days only score the model.
    ridge, (slope, shift) = choose_ridge(standard, grid.label[known], rows_per_hour)
    unit.scores.update(zip(chosen, (ridge, slope, shift), strict=True))
    unit.weights, unit.intercept = fit_logistic(
        standard,
        grid.label[known],
        ridge=ridge * rows_per_hour,
        initial=(warm.weights, warm.intercept) if warm is not None and warm.trained else None,
    )
    # The penalty shrinks the log-odds: the held-out blocks' recalibration restores them.
    unit.weights = unit.weights * slope
    unit.intercept = slope * unit.intercept + shift
    unit.trained = True
    # The forecast: per horizon, from the routine at the target, the now-cast and durations.
    base_times = _steps(max(start, end - FORECAST_DAYS * DAY), end, FORECAST_STEP)
    base = _grid_subset(grid, now_times, base_times)
    now_probability, durations = _taught_inputs(
        unit, data, base.times, unit.nowcast_from_features(base.raw), base.state
    )
    idle_lengths, in_use_lengths = episode_lengths(data.labels, start, end)
    idle_curve, idle_mean = fit_survival(idle_lengths)
    in_use_curve, in_use_mean = fit_survival(in_use_lengths)
    unit.survival = np.vstack((idle_curve, in_use_curve))
    unit.survival_mean = np.asarray([idle_mean, in_use_mean])
    unit.episodes = fit_episode_starts(data.labels, start, end)
    # The home's forecast also reads how recently each room was active, standardised so that
    # the correction's one penalty treats a busy room and a rarely used one alike.
    unit.forecast_rooms = sorted(data.room_activity) if room is None else []
    recency = unit.room_recency(data.rooms_age(unit.forecast_rooms, base.times), now_probability)
    unit.room_mean, unit.room_scale = _standardise(recency)
    rooms_standard = (recency - unit.room_mean) / unit.room_scale
    rows, tables, room_rows = [], [], []
    for index, horizon in enumerate(FORECAST_HORIZONS):
        usable = base.times + horizon < end
        target_times = base.times[usable] + horizon
        _, routine_target = fit_routine(routine_times, routine_label, FORECAST_STEP, target_times)
        assert routine_target is not None
        outcome = data.label_at(target_times)
        keep = np.isfinite(outcome)
        # The conditional routine: learned from the labels now and then, without each own day.
        lasted = np.column_stack((durations[0][usable], durations[1][usable]))
        table, by_state = fit_conditional_routine(
            base.times[usable],
            data.label_at(base.times[usable]),
            lasted,
            outcome,
            routine_by_hour(routine, horizon),
            FORECAST_STEP,
            leave_day_out=True,
        )
        tables.append(table)
        if min(np.count_nonzero(outcome[keep] == 1.0), np.count_nonzero(outcome[keep] == 0.0)) < 20:
            rows.append(unit.forecast_coef[index])
            room_rows.append(np.zeros(recency.shape[1]))
            continue
        assert by_state is not None
        now_usable = now_probability[usable]
        conditional = now_usable * by_state[:, 1] + (1.0 - now_usable) * by_state[:, 0]
        lasting = _lasting_leave_one_out(
            data,
            start,
            end,
            base.times[usable],
            now_probability[usable],
            (durations[0][usable], durations[1][usable]),
            horizon,
        )
        # The correction's strength (1 / penalty; 0: none): chosen once per training.
        key = f"forecast_correction_{HORIZON_NAMES[index]}"
        rooms_key = f"forecast_rooms_{HORIZON_NAMES[index]}"  # the rooms' strength; 0: unread
        strength = warm.scores.get(key, math.nan) if warm is not None else math.nan
        rooms_used = warm.scores.get(rooms_key, math.nan) if warm is not None else math.nan
        row, ridge, rooms_ridge = fit_forecast(
            routine_target[keep],
            now_probability[usable][keep],
            lasting[keep],
            outcome[keep],
            FORECAST_STEP,
            conditional[keep],
            (math.inf if strength == 0.0 else 1.0 / strength) if math.isfinite(strength) else None,
            rooms_standard[usable][keep],
            (math.inf if rooms_used == 0.0 else 1.0 / rooms_used)
            if math.isfinite(strength) and math.isfinite(rooms_used)
            else None,
        )
        unit.scores[key] = 1.0 / ridge
        unit.scores[rooms_key] = 1.0 / rooms_ridge
        rows.append(row[:FORECAST_COLUMNS])
        room_rows.append(row[FORECAST_COLUMNS:])
    unit.forecast_coef = np.asarray(rows)
    unit.room_coef = np.asarray(room_rows).reshape(len(FORECAST_HORIZONS), recency.shape[1])
    unit.conditional = np.asarray(tables)
    return unit


def fit_forecast(
    routine_target: FloatArray,
    now_probability: FloatArray,
    lasting: FloatArray,
    outcome: FloatArray,
    step: float,
    conditional: FloatArray | None = None,
    ridge_per_hour: float | None = None,
    extra: FloatArray | None = None,
    extra_ridge_per_hour: float | None = None,
) -> tuple[FloatArray, float, float]:
    """One horizon's forecast coefficients and its penalties (correction's, extra inputs').

    The penalties are per hour; inf: no correction (the blend alone), or extra inputs unread.
    The coefficients are a row of ``UnitModel.forecast_coef``. First the convex blend of the baselines (routine at the target, state now, conditional
    routine) with the lowest Brier score; then a logistic correction of its log-odds by the
    routine, the state now, how long the state has lasted and the conditional routine,
    penalised towards no correction. The penalty, or no correction at all, is chosen on unseen
    stretches of time (time-blocked cross-validation), so the correction is kept only where
    it beats the blend; or given as ``ridge_per_hour``. Rows are in time order. Without
    ``conditional`` the plain routine stands in for it. ``extra``: further inputs of the
    correction (columns, e.g. the rooms' recent activity), whose weights end the row: with
    the other inputs' penalty fixed, their own penalty, or leaving them out (weights 0), is
    chosen by the same cross-validation (or given as ``extra_ridge_per_hour``); where the
    blend alone was chosen, they are left out too.
    """
    if conditional is None:
        conditional = routine_target
    baselines = np.column_stack((routine_target, now_probability, conditional))
    inputs = np.column_stack(
        (logit(routine_target), logit(now_probability), logit(lasting), logit(conditional))
    )
    base_width = inputs.shape[1]
    if extra is not None:
        inputs = np.column_stack((inputs, extra))
    routine_weight, conditional_weight, offset = _forecast_blend(baselines, outcome)
    rows_per_hour = HOUR / step
    if ridge_per_hour is None:
        ridge_per_hour, extra_ridge_per_hour = _choose_forecast_ridge(
            baselines, inputs, outcome, rows_per_hour, base_width
        )
    if extra_ridge_per_hour is None:
        extra_ridge_per_hour = math.inf
    # The columns read: the base inputs where corrected, the extra ones where not left out.
    read = np.zeros(inputs.shape[1], dtype=bool)
    read[:base_width] = math.isfinite(ridge_per_hour)
    read[base_width:] = math.isfinite(extra_ridge_per_hour)
    weights, intercept = np.zeros(inputs.shape[1]), 0.0
    if read.any():
        penalty = np.where(
            np.arange(inputs.shape[1]) < base_width, ridge_per_hour, extra_ridge_per_hour
        )
        weights[read], intercept = fit_logistic(
            inputs[:, read], outcome, ridge=penalty[read] * rows_per_hour, offset=offset
        )
    row = np.asarray([routine_weight, conditional_weight, intercept, *weights], dtype=np.float64)
    return row, ridge_per_hour, extra_ridge_per_hour


def _forecast_blend(baselines: FloatArray, outcome: FloatArray) -> tuple[float, float, FloatArray]:
    """The best convex blend of (routine, now, conditional): its two weights and log-odds."""
    blend_weights = fit_convex_blend(baselines, outcome)
    return float(blend_weights[0]), float(blend_weights[2]), logit(baselines @ blend_weights)


def _choose_forecast_ridge(
    baselines: FloatArray,
    inputs: FloatArray,
    outcome: FloatArray,
    rows_per_hour: float,
    base_width: int | None = None,
) -> tuple[float, float]:
    """The correction's penalty per hour (inf: none, the blend alone) best on held-out blocks.

    Then, with that penalty on the first ``base_width`` inputs, the penalty of the rest (the
    extra inputs, from :data:`FORECAST_EXTRA_RIDGE_CHOICES`; inf: left out) best on the same
    blocks.
    """
    base_width = inputs.shape[1] if base_width is None else base_width
    # Chosen on at most CV_SAMPLES rows, thinned evenly: bounded time.
    thin = max(1, math.ceil(outcome.size / CV_SAMPLES))
    baselines, inputs, outcome = baselines[::thin], inputs[::thin], outcome[::thin]
    choices = [choice * rows_per_hour / thin for choice in FORECAST_RIDGE_CHOICES]
    folds = [block for block in np.array_split(np.arange(outcome.size), CV_FOLDS) if block.size]
    splits = []
    for block in folds:
        held = np.zeros(outcome.size, dtype=bool)
        held[block] = True
        train = ~held
        if not train.any() or outcome[train].min() == outcome[train].max():
            return FORECAST_RIDGE_PER_HOUR, math.inf  # too little to judge: the default
        *_, offset = _forecast_blend(baselines[train], outcome[train])
        blend = sigmoid(logit(baselines[held] @ fit_convex_blend(baselines[train], outcome[train])))
        splits.append((train, held, offset, blend))
    if not splits:
        return FORECAST_RIDGE_PER_HOUR, math.inf

    def held_errors(penalties: Sequence[FloatArray], read: BoolArray) -> FloatArray:
        """Held-out Brier score per fold (rows) and penalty (columns), strongest first."""
        table = np.zeros((len(splits), len(penalties)))
        for fold, (train, held, offset, blend) in enumerate(splits):
            initial: tuple[FloatArray, float] | None = None
            for index, penalty in enumerate(penalties):
                weights, intercept = fit_logistic(
                    inputs[train][:, read],
                    outcome[train],
                    ridge=penalty,
                    iterations=CV_ITERATIONS,
                    initial=initial,
                    offset=offset,
                )
                initial = (weights, intercept)  # warm start along the path
                corrected = sigmoid(logit(blend) + inputs[held][:, read] @ weights + intercept)
                table[fold, index] = float(np.mean((corrected - outcome[held]) ** 2))
        return table

    order = sorted(range(len(choices)), key=lambda index: -choices[index])  # strongest first
    is_base = np.arange(inputs.shape[1]) < base_width
    base_table = held_errors([np.full(base_width, choices[i]) for i in order], is_base)
    blend_errors = np.asarray(
        [float(np.mean((blend - outcome[held]) ** 2)) for _, held, _, blend in splits]
    )
    best = int(np.argmin(base_table.mean(axis=0)))
    # The blend alone only where it is clearly better: the correction contains it.
    if _clearly_lower(blend_errors, base_table[:, best]):
        # Where even the base correction does not pay, more inputs would fit noise: none.
        return math.inf, math.inf
    ridge = FORECAST_RIDGE_CHOICES[order[best]]
    if inputs.shape[1] == base_width:
        return ridge, math.inf
    # The extra inputs, on top of the correction as chosen: their own penalty, or none.
    extra_order = sorted(FORECAST_EXTRA_RIDGE_CHOICES, reverse=True)  # strongest first
    penalties = [
        np.where(is_base, choices[order[best]], choice * rows_per_hour / thin)
        for choice in extra_order
    ]
    extra_table = held_errors(penalties, np.ones(inputs.shape[1], dtype=bool))
    extra_best = int(np.argmin(extra_table.mean(axis=0)))
    if float(extra_table[:, extra_best].mean()) < float(base_table[:, best].mean()):
        return ridge, extra_order[extra_best]
    return ridge, math.inf


def _clearly_lower(errors: FloatArray, reference: FloatArray) -> bool:
    """Whether per-fold errors are lower than the reference's by more than a standard error."""
    gain = reference - errors
    error = float(np.std(gain, ddof=1) / math.sqrt(gain.size)) if gain.size > 1 else 0.0
    return float(gain.mean()) > error


def _grid_subset(grid: _Grid, times: FloatArray, subset: FloatArray) -> _Grid:
    index = np.clip(np.searchsorted(times, subset), 0, max(times.size - 1, 0))
    return _Grid(
        grid.times[index],
        grid.label[index],
        grid.raw[index],
        {key: value[index] for key, value in grid.state.items()},
    )


def _steps(start: float, end: float, step: float) -> FloatArray:
    first = math.ceil(start / step) * step
    if end <= first:
        return np.zeros(0)
    return np.arange(first, end, step, dtype=np.float64)


def score_unit(unit: UnitModel, data: UnitData, start: float, end: float) -> dict[str, float]:
    """Brier scores of a unit's now-cast and forecast on [start, end), with both baselines."""
    times = _steps(start, end, NOWCAST_STEP)
    routine_now = unit.routine.at(times)
    grid = _grid(data, unit.specs, times, logit(routine_now), unit.typical_lows)
    nowcast = data.within_home(times, unit.nowcast_from_features(grid.raw), grid.state["active"])
    recent = grid.state["age"] <= (unit.hold if unit.room is not None else QUIET_TAUS[-1])
    sensors_alone = np.where(recent, BASELINE_CONFIDENCE, 1.0 - BASELINE_CONFIDENCE)
    scores = {
        "nowcast_brier": brier(nowcast, grid.label),
        "nowcast_brier_routine": brier(routine_now, grid.label),
        "nowcast_brier_sensors": brier(sensors_alone, grid.label),
        "nowcast_accuracy": _accuracy(nowcast, grid.label),
    }
    now, all_durations = _taught_inputs(unit, data, times, nowcast, grid.state)
    rooms_recent = unit.room_recency(data.rooms_age(unit.forecast_rooms, times), now)
    for name, horizon in zip(HORIZON_NAMES, FORECAST_HORIZONS, strict=True):
        base = np.flatnonzero((times % FORECAST_STEP == 0) & (times + horizon < end))
        target = times[base] + horizon
        outcome = data.label_at(target)
        routine_target = unit.routine.at(target)
        durations = (all_durations[0][base], all_durations[1][base])
        forecast = unit.forecast_from(
            np.full(base.size, horizon),
            routine_target,
            now[base],
            durations,
            False,
            times[base],
            rooms_recent[base],
        )
        weights = forecast_coefficients(unit.forecast_coef, np.asarray(horizon))
        conditional = unit.conditional_at(
            times[base], np.full(base.size, horizon), now[base], routine_target, durations
        )
        baselines = {
            "blend": baseline_blend(weights[0], routine_target, now[base], weights[1], conditional),
            "routine": routine_target,
            "persistence": now[base],
        }
        suffix = "" if horizon == SCORED_HORIZON else f"_{name}"
        scores[f"forecast_brier{suffix}"] = brier(forecast, outcome)
        for alternative, probability in baselines.items():
            scores[f"forecast_brier_{alternative}{suffix}"] = brier(probability, outcome)
        scores[f"forecast_points{suffix}"] = float(np.count_nonzero(np.isfinite(outcome)))
        best = min(baselines, key=lambda key: scores[f"forecast_brier_{key}{suffix}"])
        scores[f"forecast_loss_error{suffix}"] = loss_standard_error(
            forecast, baselines[best], outcome, target
        )
    scores["samples"] = float(np.count_nonzero(np.isfinite(grid.label)))
    # A room that learns from its own activity is labelled by the sensors-alone rule, so that
    # rule is no baseline for it; a taught room's now-cast must also beat it.
    nowcast_baselines = ("routine", "sensors") if unit.teachers else ("routine",)
    for name, alternatives in (
        ("nowcast", nowcast_baselines),
        ("forecast", ("routine", "persistence")),
    ):
        baseline = min(scores[f"{name}_brier_{alt}"] for alt in alternatives)
        scores[f"{name}_skill"] = skill(scores[f"{name}_brier"], baseline)
    return scores


def loss_standard_error(
    forecast: FloatArray, alternative: FloatArray, outcome: FloatArray, times: FloatArray
) -> float:
    """Standard error of the mean Brier difference between two forecasts.

    Forecasts minutes apart share their errors, so the difference is averaged per block of
    :data:`LOSS_BLOCK` and the error is that of the mean of independent blocks.
    """
    known = np.isfinite(outcome)
    if not known.any():
        return math.nan
    difference = (forecast[known] - outcome[known]) ** 2 - (
        alternative[known] - outcome[known]
    ) ** 2
    block = np.floor(times[known] / LOSS_BLOCK).astype(np.int64)
    _, index = np.unique(block, return_inverse=True)
    count = np.bincount(index).astype(np.float64)
    means = np.bincount(index, difference) / count
    if means.size < 2:
        return math.inf
    # Blocks weighted by their size, as the Brier score itself weights them.
    weights = count / count.sum()
    centre = float(np.sum(weights * means))
    variance = float(np.sum(weights**2 * (means - centre) ** 2)) * means.size / (means.size - 1)
    return math.sqrt(variance)


def _accuracy(probability: FloatArray, outcome: FloatArray) -> float:
    known = np.isfinite(outcome)
    if not known.any():
        return math.nan
    return float(np.mean((probability[known] >= 0.5) == (outcome[known] == 1.0)))


def _judge(unit: UnitModel, scores: dict[str, float], history_days: float) -> None:
    """Set the unit's status and fallbacks from its held-out scores."""
    unit.scores = {**unit.scores, **scores}  # keeps what the fit recorded (its penalty)
    if history_days < MIN_HISTORY_DAYS or not unit.trained:
        unit.status = "learning"
        return
    unit.status = "ready"
    if not scores.get("forecast_skill", math.nan) > 0.0:
        unit.status = "degraded"
    naive_further_out: Fallback = "blend"  # the naive baseline best furthest ahead, once judged
    for index, (name, horizon) in enumerate(zip(HORIZON_NAMES, FORECAST_HORIZONS, strict=True)):
        suffix = "" if horizon == SCORED_HORIZON else f"_{name}"
        model = scores.get(f"forecast_brier{suffix}", math.nan)
        fallbacks: tuple[Fallback, ...] = ("blend", "routine", "persistence")
        alternatives = {
            key: scores.get(f"forecast_brier_{key}{suffix}", math.inf) for key in fallbacks
        }
        best = min(fallbacks, key=lambda key: alternatives[key])
        margin = LOSS_SIGNIFICANCE * scores.get(f"forecast_loss_error{suffix}", math.nan)
        if scores.get(f"forecast_points{suffix}", 0.0) < MIN_SCORED_POINTS:
            # Too little held-out time this far ahead to judge: the model if ready; else the
            # naive baseline that won at the furthest horizon judged (what is happening now
            # only fades further ahead), or the blend (which holds both) if none was judged.
            unit.forecast_fallback[index] = "" if unit.status == "ready" else naive_further_out
            continue
        naive: tuple[Fallback, ...] = ("routine", "persistence")
        naive_further_out = min(naive, key=lambda key: alternatives[key])
        if not model <= alternatives[best] + (margin if math.isfinite(margin) else 0.0):
            # Only a clear loss counts: the model contains the baselines, so a small held-out
            # difference is more likely noise of a few days than a worse forecast.
            unit.forecast_fallback[index] = best
    if not scores.get("nowcast_skill", math.nan) > 0.0:
        unit.status = "degraded"
        routine_better = not unit.teachers or scores.get(
            "nowcast_brier_routine", math.inf
        ) <= scores.get("nowcast_brier_sensors", math.inf)
        unit.nowcast_fallback = "routine" if routine_better else "persistence"


def holdout_start(start: float, end: float) -> float:
    """Where the held-out recent days begin, for a history spanning [start, end)."""
    span_days = (end - start) / DAY
    held = min(max(HOLDOUT_FRACTION * span_days, HOLDOUT_DAYS[0]), HOLDOUT_DAYS[1])
    return end - held * DAY


@on_one_thread
def train_occupancy(
    sources: Sequence[OccupancySource],
    history: Mapping[str, SourceSeries],
    start: float,
    end: float,
) -> OccupancyModel:
    """Learn every room's and the home's occupancy model from history in [start, end).

    ``history`` maps source ids to their state changes (missing sources are treated as never
    seen). The most recent days are held out to score the model against its baselines; the
    parameters are then refitted on all the history, and the held-out scores kept.
    Run it in an executor: it takes seconds on a year of a large home.
    """
    if not end > start:
        raise ValueError("training needs end after start")
    start = max(start, end - ROUTINE_DAYS * DAY)  # nothing older is read: bounded time and memory
    history_days = (end - start) / DAY
    cut = holdout_start(start, end)
    rooms = sorted({s.room for s in sources if s.room is not None})
    units: dict[str | None, UnitModel] = {}
    held_out_units: dict[str | None, UnitModel] = {}
    for room in [*rooms, None]:
        data = prepare_unit(room, sources, history, start, end)
        if history_days >= HOLDOUT_DAYS[0] * 2:
            # Features at a time read only the past, so the earlier fit needs no clipped copy.
            held_out: UnitModel | None = _fit_unit(data, room, start, cut)
            assert held_out is not None
            scores = score_unit(held_out, data, cut, end)
            scores["holdout_start"] = cut
            held_out_units[room] = held_out
        else:
            held_out, scores = None, {}
        unit = _fit_unit(data, room, start, end, warm=held_out)
        _judge(unit, scores, history_days)
        units[room] = unit
    home = units.pop(None)
    return OccupancyModel(
        sources=list(sources),
        rooms={str(room): unit for room, unit in units.items()},
        home=home,
        trained_until=end,
        history_days=history_days,
        held_out=held_out_units,
    )


def should_replace(
    candidate: OccupancyModel,
    current: OccupancyModel | None,
    history: Mapping[str, SourceSeries],
    start: float,
    end: float,
) -> bool:
    """Whether a newly trained model should replace the current one.

    Both are scored out of sample on the same hours: the candidate's held-out days after the
    current model was trained, the candidate by its fit without those days. The candidate
    wins if its mean Brier score over the home and rooms (now-cast and one-hour forecast) is
    at least as good.
    """
    if current is None:
        return True
    cut = candidate.home.scores.get("holdout_start", math.nan)
    if not math.isfinite(cut):
        return current.home.status == "learning"
    compared_from = max(cut, current.trained_until)
    candidate_scores: list[float] = []
    current_scores: list[float] = []
    enough = end - compared_from >= MIN_COMPARED_HOURS * HOUR
    for room in [*candidate.rooms, None] if enough else []:
        held_out = candidate.held_out.get(room)
        if held_out is None or (room is not None and room not in current.rooms):
            continue
        data = prepare_unit(room, candidate.sources, history, start, end)
        new = score_unit(held_out, data, compared_from, end)
        old = score_unit(current.unit(room), data, compared_from, end)
        for key in ("nowcast_brier", "forecast_brier"):
            if math.isfinite(new[key]) and math.isfinite(old[key]):
                candidate_scores.append(new[key])
                current_scores.append(old[key])
    if not candidate_scores:
        # Too few hours unseen by both (or no held-out fits, as when read back from a save):
        # each model is judged on its own held-out days.
        candidate_scores, current_scores = [_total_brier(candidate)], [_total_brier(current)]
    return float(np.mean(candidate_scores)) <= float(np.mean(current_scores)) + 1e-12


def _total_brier(model: OccupancyModel) -> float:
    values = [
        unit.scores.get(key, math.nan)
        for unit in [*model.rooms.values(), model.home]
        for key in ("nowcast_brier", "forecast_brier")
    ]
    finite = [value for value in values if math.isfinite(value)]
    return float(np.mean(finite)) if finite else math.inf
