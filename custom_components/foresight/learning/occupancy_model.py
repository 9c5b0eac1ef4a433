"""Occupancy models: what a room's (or the home's) learned model holds, and its JSON form.

Pure numpy, no Home Assistant imports; persisted as plain dicts with a ``version``, never
pickled. Timestamps are float seconds on the home's local wall clock (a naive local datetime
read as if it were UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
from typing import Any, Literal

import numpy as np

from .occupancy_signals import HOUR, MINUTE, RECENT_TAUS, FeatureSpec, FloatArray, OccupancySource
from .occupancy_stats import (
    CONDITIONAL_LASTED,
    SURVIVAL_GRID,
    EpisodeStarts,
    WeeklyRoutine,
    logit,
    prior_survival,
    read_conditional,
    sigmoid,
    survival_ratio,
)

Status = Literal["learning", "ready", "degraded"]
Fallback = Literal["", "blend", "routine", "persistence"]
FALLBACKS = ("", "blend", "routine", "persistence")

MODEL_VERSION = 6  # 6: the past episodes' starts, for expected times by time of day and week
# Older versions still read: 5 (no episodes' starts: expected times from all episodes alike).
READABLE_VERSIONS = (5, MODEL_VERSION)
HOME = "home"  # the unit name of the home as a whole in scores and reports
FORECAST_HORIZONS = (
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    24 * HOUR,
)
TEACHER_PROBABILITY = 0.99  # how far a reliable presence sensor is believed
BASELINE_CONFIDENCE = 0.95  # the "sensors alone" baseline's belief while activity is recent
# Decays of "this room was active a while ago", read by the home's forecast (those of a
# source's "was on a while ago"): the rooms used in the last minutes are the home's precursors
# of leaving, or of staying in.
ROOM_TAUS = RECENT_TAUS


@dataclass(slots=True)
class UnitModel:
    """A room's (or the home's) learned occupancy model."""

    room: str | None
    specs: list[FeatureSpec]
    mean: FloatArray
    scale: FloatArray
    weights: FloatArray
    intercept: float
    routine: WeeklyRoutine
    forecast_coef: FloatArray  # (len(FORECAST_HORIZONS), FORECAST_COLUMNS), see forecast_from
    hold: float
    survival: FloatArray = field(default_factory=lambda: prior_survival()[0])
    survival_mean: FloatArray = field(default_factory=lambda: prior_survival()[1])
    thresholds: dict[str, float] = field(default_factory=dict)
    teachers: list[str] = field(default_factory=list)
    entrances: list[str] = field(default_factory=list)
    activity_sources: list[str] = field(default_factory=list)
    status: Status = "learning"
    nowcast_fallback: Fallback = ""
    forecast_fallback: list[Fallback] = field(
        default_factory=lambda: [""] * len(FORECAST_HORIZONS)
    )  # per fitted horizon: "" (the model), or the baseline used instead
    trained: bool = False
    scores: dict[str, float] = field(default_factory=dict)
    # Per fitted horizon, P(in use then | idle / in use now, how long it lasted, hour of day
    # now): (len(FORECAST_HORIZONS), 2, CONDITIONAL_LASTED, 24); None before training.
    conditional: FloatArray | None = None
    # Each number's usual day's low (source id -> value): its excess is known from the start.
    typical_lows: dict[str, float] = field(default_factory=dict)
    # The home's forecast also reads each of these rooms' recent activity (room_recency):
    # standardised by room_mean / room_scale, weighted per fitted horizon by room_coef
    # (len(FORECAST_HORIZONS), len(forecast_rooms) * len(ROOM_TAUS)). Empty for a room.
    forecast_rooms: list[str] = field(default_factory=list)
    room_mean: FloatArray = field(default_factory=lambda: np.zeros(0))
    room_scale: FloatArray = field(default_factory=lambda: np.ones(0))
    room_coef: FloatArray = field(default_factory=lambda: np.zeros((len(FORECAST_HORIZONS), 0)))
    # The recent idle and in-use episodes' starts and lengths: when the current one is expected
    # to end reads those that began at a like time. None: not learned (or an older save).
    episodes: tuple[EpisodeStarts, EpisodeStarts] | None = None

    def expected_survival(self, in_use: int, start: float | None) -> FloatArray:
        """Survival of the idle (0) or in-use (1) episode that began at ``start`` (wall clock).

        That of the past episodes that began at a like time (see :class:`EpisodeStarts`); of
        all of them where the start or the past episodes' starts are unknown.
        """
        curve = np.asarray(self.survival[in_use], dtype=np.float64)
        if start is None or self.episodes is None:
            return curve
        return self.episodes[in_use].survival_from(curve, start)

    def nowcast_from_features(self, raw: FloatArray) -> FloatArray:
        """Probability of use from raw features (rows); NaN features count as average."""
        standard = (raw - self.mean) / self.scale
        standard = np.where(np.isfinite(standard), standard, 0.0)
        return sigmoid(standard @ self.weights + self.intercept)

    def forecast_from(
        self,
        horizon: FloatArray,
        routine_target: FloatArray,
        now_probability: FloatArray,
        durations: tuple[FloatArray, FloatArray],
        use_fallback: bool = True,
        now_time: FloatArray | float | None = None,
        rooms_recent: FloatArray | None = None,
    ) -> FloatArray:
        """Forecast probability at each horizon (seconds) from its inputs (broadcasting).

        ``durations``: how long the unit has been in use, and idle, so far (seconds).
        ``now_time``: the time now (local wall clock), for the conditional routine; without
        it the plain routine stands in for it. ``rooms_recent``: :meth:`room_recency` now
        (last axis: its columns); without it the rooms add nothing. Where the model lost to
        a baseline on held-out data at a horizon, that baseline is used.
        """
        coef = forecast_coefficients(self.forecast_coef, horizon)
        lasting = self.state_lasting(now_probability, durations, horizon)
        conditional = self.conditional_at(
            now_time, horizon, now_probability, routine_target, durations
        )
        blend = baseline_blend(
            coef[..., 0], routine_target, now_probability, coef[..., 1], conditional
        )
        # The blend of the baselines, corrected on the log-odds scale by the routine, the
        # state now, how long it has lasted and the conditional routine: each baseline is a
        # special case of it.
        score = (
            logit(blend)
            + coef[..., 2]
            + coef[..., 3] * logit(routine_target)
            + coef[..., 4] * logit(now_probability)
            + coef[..., 5] * logit(lasting)
            + coef[..., 6] * logit(conditional)
            + self.rooms_term(horizon, rooms_recent)
        )
        forecast = sigmoid(score)
        if use_fallback and any(self.forecast_fallback):
            nearest = nearest_horizon(horizon)
            choice = np.asarray(self.forecast_fallback, dtype=object)[nearest]
            forecast = np.where(choice == "blend", blend, forecast)
            forecast = np.where(choice == "routine", routine_target, forecast)
            forecast = np.where(choice == "persistence", now_probability, forecast)
        return np.asarray(forecast, dtype=np.float64)

    def room_recency(self, ages: FloatArray, now_probability: FloatArray) -> FloatArray:
        """The forecast's room inputs from each room's time since activity (last axis).

        ``ages``: seconds since each of :attr:`forecast_rooms` was last active, in that
        order. Read only while someone is home (times the state now): while away, no room
        says anything about the next hour beyond how long the absence has lasted.
        """
        ages = np.asarray(ages, dtype=np.float64)
        columns = [np.exp(-ages / tau) for tau in ROOM_TAUS]
        recency = np.concatenate(columns, axis=-1) if columns else ages[..., :0]
        return np.asarray(recency * np.asarray(now_probability)[..., None], dtype=np.float64)

    def rooms_term(self, horizon: FloatArray, rooms_recent: FloatArray | None) -> FloatArray:
        """The rooms' part of the forecast's log-odds at each horizon (0 without rooms)."""
        if rooms_recent is None or not self.room_coef.shape[1]:
            return np.zeros(np.shape(horizon))
        coefs = forecast_coefficients(self.room_coef, horizon)
        standard = (np.asarray(rooms_recent) - self.room_mean) / self.room_scale
        return np.asarray(np.sum(coefs * standard, axis=-1), dtype=np.float64)

    def conditional_at(
        self,
        now_time: FloatArray | float | None,
        horizon: FloatArray,
        now_probability: FloatArray,
        routine_target: FloatArray,
        durations: tuple[FloatArray, FloatArray],
    ) -> FloatArray:
        """The conditional routine: P(in use at the horizon | state now, lasted, hour now).

        From how long the state now has lasted (``durations``) and the hour of day now;
        linear in log-horizon between fitted horizons. The plain routine where it is unknown
        (no table, or no time now).
        """
        shape = np.broadcast(horizon, now_probability, routine_target).shape
        if self.conditional is None or now_time is None:
            return np.asarray(np.broadcast_to(routine_target, shape), dtype=np.float64)
        now_time_b, horizon_b, now_b, in_use_b, idle_b = (
            np.asarray(value, dtype=np.float64).reshape(-1)
            for value in np.broadcast_arrays(
                now_time, horizon, now_probability, durations[0], durations[1]
            )
        )
        grid = np.log(np.asarray(FORECAST_HORIZONS))
        position = np.log(np.clip(horizon_b, FORECAST_HORIZONS[0], FORECAST_HORIZONS[-1]))
        upper = np.clip(np.searchsorted(grid, position), 1, grid.size - 1)
        lower = upper - 1
        fraction = np.clip((position - grid[lower]) / (grid[upper] - grid[lower]), 0.0, 1.0)
        lasted = np.column_stack((in_use_b, idle_b))
        by_state = (
            read_conditional(self.conditional, lower, now_time_b, lasted)
            * (1.0 - fraction[:, None])
            + read_conditional(self.conditional, upper, now_time_b, lasted) * fraction[:, None]
        )
        value = now_b * by_state[:, 1] + (1.0 - now_b) * by_state[:, 0]
        full_shape = np.broadcast(now_time, horizon, now_probability, *durations).shape
        return np.asarray(value.reshape(full_shape), dtype=np.float64)

    def state_lasting(
        self,
        now_probability: FloatArray,
        durations: tuple[FloatArray, FloatArray],
        horizon: FloatArray,
    ) -> FloatArray:
        """Use at the horizon if each state lasts as long as its past episodes say.

        From the learned episode lengths: the chance a use that has lasted ``d`` goes on for
        ``horizon`` more, or that an idle spell that has lasted ``d`` is over by then.
        """
        in_use_lasts = survival_ratio(
            self.survival[1], self.survival_mean[1], durations[0], horizon
        )
        idle_lasts = survival_ratio(self.survival[0], self.survival_mean[0], durations[1], horizon)
        return np.asarray(
            now_probability * in_use_lasts + (1.0 - now_probability) * (1.0 - idle_lasts),
            dtype=np.float64,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "room": self.room,
            "specs": [spec.to_list() for spec in self.specs],
            "mean": _floats(self.mean),
            "scale": _floats(self.scale),
            "weights": _floats(self.weights),
            "intercept": self.intercept,
            "routine": _floats(self.routine.probability),
            "routine_hours": self.routine.hours_of_data,
            "forecast_coef": [_floats(row) for row in self.forecast_coef],
            "survival": [_floats(row) for row in self.survival],
            "survival_mean": _floats(self.survival_mean),
            "hold": self.hold,
            "thresholds": dict(self.thresholds),
            "teachers": list(self.teachers),
            "entrances": list(self.entrances),
            "activity_sources": list(self.activity_sources),
            "status": self.status,
            "nowcast_fallback": self.nowcast_fallback,
            "forecast_fallback": list(self.forecast_fallback),
            "trained": self.trained,
            "scores": {key: _json_float(value) for key, value in self.scores.items()},
            "conditional": None
            if self.conditional is None
            else np.asarray(self.conditional, dtype=np.float64).tolist(),
            "typical_lows": dict(self.typical_lows),
            "forecast_rooms": list(self.forecast_rooms),
            "room_mean": _floats(self.room_mean),
            "room_scale": _floats(self.room_scale),
            "room_coef": [_floats(row) for row in self.room_coef],
            "episodes": None
            if self.episodes is None
            else [
                [
                    # The week's last instant rounds up to its end: saved as its start.
                    [round(float(h), 3) % 168.0, round(float(n))]
                    for h, n in zip(e.hours, e.lengths, strict=True)
                ]
                for e in self.episodes
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> UnitModel:
        """Read the plain JSON form; raises ValueError on bad data."""
        try:
            specs = [FeatureSpec.from_list(raw) for raw in data["specs"]]
            width = len(specs)
            mean = _array(data["mean"], width)
            scale = _array(data["scale"], width)
            weights = _array(data["weights"], width)
            routine = _array(data["routine"], 168)
            coef = np.asarray(data["forecast_coef"], dtype=np.float64)
            if (
                coef.shape != (len(FORECAST_HORIZONS), FORECAST_COLUMNS)
                or not np.isfinite(coef).all()
            ):
                raise ValueError("bad forecast coefficients")
            survival = np.asarray(data["survival"], dtype=np.float64)
            survival_mean = _array(data["survival_mean"], 2)
            if survival.shape != (2, SURVIVAL_GRID.size) or not np.isfinite(survival).all():
                raise ValueError("bad survival")
            if not np.all(survival_mean > 0):
                raise ValueError("bad survival mean")
            if not np.all(scale > 0) or not np.all((routine > 0) & (routine < 1)):
                raise ValueError("bad scale or routine")
            status = data["status"]
            if status not in ("learning", "ready", "degraded"):
                raise ValueError(f"bad status {status!r}")
            nowcast_fallback = data["nowcast_fallback"]
            forecast_fallback = list(data["forecast_fallback"])
            if len(forecast_fallback) != len(FORECAST_HORIZONS) or any(
                value not in FALLBACKS for value in [nowcast_fallback, *forecast_fallback]
            ):
                raise ValueError("bad fallback")
            conditional = data["conditional"]
            if conditional is not None:
                conditional = np.asarray(conditional, dtype=np.float64)
                shape = (len(FORECAST_HORIZONS), 2, CONDITIONAL_LASTED, 24)
                if conditional.shape != shape or not np.all((conditional > 0) & (conditional < 1)):
                    raise ValueError("bad conditional routine")
            room = data["room"]
            if room is not None and not isinstance(room, str):
                raise ValueError("bad room")
            typical_lows = {str(k): _finite(v) for k, v in dict(data["typical_lows"]).items()}
            forecast_rooms = [str(item) for item in data["forecast_rooms"]]
            room_width = len(forecast_rooms) * len(ROOM_TAUS)
            room_mean = _array(data["room_mean"], room_width)
            room_scale = _array(data["room_scale"], room_width)
            room_coef = np.asarray(data["room_coef"], dtype=np.float64)
            if room_coef.size == 0:
                room_coef = np.zeros((len(FORECAST_HORIZONS), 0))  # no rooms (JSON drops the shape)
            if (
                room_coef.shape != (len(FORECAST_HORIZONS), room_width)
                or not np.isfinite(room_coef).all()
            ):
                raise ValueError("bad room coefficients")
            if not np.all(room_scale > 0):
                raise ValueError("bad room scale")
            episodes = _episodes(data.get("episodes"))
            return cls(
                room=room,
                specs=specs,
                mean=mean,
                scale=scale,
                weights=weights,
                intercept=_finite(data["intercept"]),
                routine=WeeklyRoutine(routine, _finite(data["routine_hours"])),
                forecast_coef=coef,
                survival=survival,
                survival_mean=survival_mean,
                hold=_finite(data["hold"]),
                thresholds={str(k): float(v) for k, v in dict(data["thresholds"]).items()},
                teachers=[str(item) for item in data["teachers"]],
                entrances=[str(item) for item in data["entrances"]],
                activity_sources=[str(item) for item in data["activity_sources"]],
                status=status,
                nowcast_fallback=nowcast_fallback,
                forecast_fallback=forecast_fallback,
                trained=bool(data["trained"]),
                scores={
                    str(k): math.nan if v is None else float(v)
                    for k, v in dict(data["scores"]).items()
                },
                conditional=conditional,
                typical_lows=typical_lows,
                forecast_rooms=forecast_rooms,
                room_mean=room_mean,
                room_scale=room_scale,
                room_coef=room_coef,
                episodes=episodes,
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"bad occupancy unit model: {err}") from err


def _episodes(data: Any) -> tuple[EpisodeStarts, EpisodeStarts] | None:
    """The idle and in-use episodes' [hour of week, length] pairs (None: not saved)."""
    if data is None:
        return None
    result = []
    for pairs in data:
        table = np.asarray(pairs, dtype=np.float64)
        table = table.reshape(0, 2) if table.size == 0 else table
        if table.ndim != 2 or table.shape[1] != 2:
            raise ValueError("bad episodes")
        hours, lengths = table[:, 0], table[:, 1]
        # 168 is the week's start again, as an earlier Foresight saved its last instant;
        # a length 0 is an episode under half a second, saved to the whole second.
        if not np.all((hours >= 0) & (hours <= 168) & (lengths >= 0) & np.isfinite(lengths)):
            raise ValueError("bad episodes")
        result.append(EpisodeStarts(hours % 168.0, lengths))
    if len(result) != 2:
        raise ValueError("bad episodes")
    return result[0], result[1]


def _floats(values: FloatArray) -> list[float]:
    return [float(value) for value in values]


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _finite(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _array(values: Any, width: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (width,) or not np.isfinite(array).all():
        raise ValueError("bad array")
    return array


def nearest_horizon(horizon: FloatArray) -> Any:
    """Index of the fitted horizon nearest to each horizon (on a log scale)."""
    grid = np.log(np.asarray(FORECAST_HORIZONS))
    position = np.log(np.clip(horizon, FORECAST_HORIZONS[0], FORECAST_HORIZONS[-1]))
    return np.argmin(np.abs(np.asarray(position)[..., None] - grid), axis=-1)


HORIZON_NAMES = ("15m", "30m", "1h", "2h", "3h", "6h", "12h", "24h")


def forecast_coefficients(table: FloatArray, horizon: FloatArray) -> FloatArray:
    """Forecast coefficients at any horizon, linear in log-horizon between fitted ones."""
    grid = np.log(np.asarray(FORECAST_HORIZONS))
    position = np.log(np.clip(horizon, FORECAST_HORIZONS[0], FORECAST_HORIZONS[-1]))
    columns = [np.interp(position, grid, table[:, column]) for column in range(table.shape[1])]
    return np.stack(columns, axis=-1)


# The blend's routine and conditional-routine weights (the state now has the rest); then the
# correction's intercept and its weights of the routine, now, lasting and conditional (log-odds).
FORECAST_COLUMNS = 7


def baseline_blend(
    routine_weight: FloatArray,
    routine_target: FloatArray,
    now_probability: FloatArray,
    conditional_weight: FloatArray | float = 0.0,
    conditional: FloatArray | None = None,
) -> FloatArray:
    """The baselines mixed: the routine at the target, the state now, the conditional routine."""
    other = routine_target if conditional is None else conditional
    return np.asarray(
        routine_weight * routine_target
        + conditional_weight * other
        + (1.0 - routine_weight - conditional_weight) * now_probability,
        dtype=np.float64,
    )


def prior_forecast_table() -> FloatArray:
    """Forecast coefficients before any training: the now-cast fading into the routine."""
    rows = []
    for horizon in FORECAST_HORIZONS:
        memory = math.exp(-horizon / (2 * HOUR))
        rows.append([1.0 - memory, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    return np.asarray(rows)


@dataclass(slots=True)
class OccupancyModel:
    """The occupancy models of all rooms and the home, with their sources."""

    sources: list[OccupancySource]
    rooms: dict[str, UnitModel]
    home: UnitModel
    trained_until: float
    history_days: float
    # Each unit fitted without the held-out days, to compare with a newer model; not saved.
    held_out: dict[str | None, UnitModel] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        """The home's status: the one users see on the diagnostic entity."""
        return self.home.status

    def unit(self, room: str | None) -> UnitModel:
        """The model of a room, or of the home for None."""
        return self.home if room is None else self.rooms[room]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form, with a ``version``."""
        return {
            "version": MODEL_VERSION,
            "sources": [
                [s.source_id, s.kind, s.room, s.reliable, s.entrance] for s in self.sources
            ],
            "rooms": {room: unit.to_dict() for room, unit in self.rooms.items()},
            "home": self.home.to_dict(),
            "trained_until": self.trained_until,
            "history_days": self.history_days,
        }

    @classmethod
    def from_dict(cls, data: Any) -> OccupancyModel:
        """Read the plain JSON form; raises ValueError on bad or old data."""
        if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
            raise ValueError("not an occupancy model of this version")
        try:
            sources = [
                OccupancySource(
                    str(sid), str(kind), None if room is None else str(room), bool(rel), bool(ent)
                )
                for sid, kind, room, rel, ent in data["sources"]
            ]
            rooms = {str(room): UnitModel.from_dict(unit) for room, unit in data["rooms"].items()}
            return cls(
                sources=sources,
                rooms=rooms,
                home=UnitModel.from_dict(data["home"]),
                trained_until=_finite(data["trained_until"]),
                history_days=_finite(data["history_days"]),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"bad occupancy model: {err}") from err


def dynamics(
    unit: UnitModel, state: Mapping[str, FloatArray], taught: bool = False
) -> tuple[FloatArray, FloatArray]:
    """How long the unit has been in use, and idle, so far (seconds), from its activity.

    A room: in use since its current use began; idle since its last activity. The home:
    home since someone last used the outside door; away since that door, when it was last.
    ``taught``: ``state`` is the teachers' (presence sensors, people): since on, since off.
    """
    if unit.room is None and not taught:
        return state["since_door"], state["age"]
    return state["bout"], state["age"]
