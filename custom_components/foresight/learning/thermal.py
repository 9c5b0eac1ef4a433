"""How fast a room warms: a first-order thermal model learned from its own history.

Pure numpy, no Home Assistant imports; the model persists as a JSON-serialisable dict.

Time convention: timestamps are float seconds on the home's local wall clock (a naive local
datetime converted as if it were UTC); only differences matter here.

Model: ``dT/dt = gain·heating(t − delay) − loss·(T − T_out)`` with ``heating`` in 0..1 (the
share of the interval the heating was on), ``gain`` in °C/h, ``loss`` in 1/h and a dead time
``delay`` (a radiator or a slow thermostat takes a while to deliver). Fitted by least squares on
the exact discretisation over ``STEP_S`` intervals, trying each delay on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .series import known_in_time_order

FloatArray = NDArray[np.float64]

MODEL_VERSION = 1
STEP_S = 300.0  # resample to 5-minute steps
MAX_GAP_S = 1800.0  # a temperature unknown for longer than this breaks the series
MAX_HOLD_S = 12 * 3600.0  # a heating state holds until it changes (Home Assistant reports changes)
DELAY_GRID_MIN = tuple(range(0, 65, 5))  # dead times tried (minutes)
MIN_HEATING_STEPS = 24  # two hours of heating before a warm-up rate is published
DEFAULT_OUTDOOR_C = 10.0  # outdoor temperature assumed when none is known (and none learned)
MAX_MINUTES = 24 * 60.0
SETPOINT_OVERSHOOT_C = 1.0  # without hvac_action: warming this far above the set point is heating
RISING_C_PER_H = 0.3  # ... when the room warms faster than this
INSTRUMENT_LAG_S = 1800.0  # sensor errors stay correlated for a while: instrument with older T


def _as_float_array(values: Any, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        return array
    if not np.isfinite(array).any():
        return np.full(array.shape, np.nan)
    return array


def _resample(times: FloatArray, values: FloatArray, grid: FloatArray, *, hold: bool) -> FloatArray:
    """Values on ``grid``: held (step) or linearly interpolated, NaN in long gaps."""
    times, values = known_in_time_order(times, values)
    if times.size == 0:
        return np.full(grid.shape, np.nan)
    after = np.searchsorted(times, grid, side="right")
    before = np.clip(after - 1, 0, times.size - 1)
    if hold:
        result = values[before].astype(np.float64)
        stale = (after == 0) | (grid - times[before] > MAX_GAP_S)
    else:
        result = np.interp(grid, times, values)
        nxt = np.clip(after, 0, times.size - 1)
        stale = (after == 0) | (after >= times.size) | (times[nxt] - times[before] > MAX_GAP_S)
        stale &= ~np.isin(grid, times)
    result[stale] = np.nan
    return result


def _interval_share(times: FloatArray, values: FloatArray, grid: FloatArray) -> FloatArray:
    """Mean of a held (step) signal over each interval [grid[k], grid[k] + STEP_S).

    The heating often switches inside a step; its share of the step is what warmed the room.
    """
    times, values = known_in_time_order(times, values)
    if times.size == 0:
        return np.full(grid.shape, np.nan)
    held = np.minimum(np.diff(times, append=np.inf), MAX_HOLD_S)
    # Interleaved (start, end of hold) knots are already in order since a hold ends by the next.
    knots = np.column_stack([times, times + held]).reshape(-1)
    zeros = np.zeros_like(times)
    area = np.cumsum(np.column_stack([zeros, values * held]).reshape(-1))
    known = np.cumsum(np.column_stack([zeros, held]).reshape(-1))
    edges = np.append(grid, grid[-1] + STEP_S) if grid.size else grid
    area_at = np.diff(np.interp(edges, knots, area))
    known_at = np.diff(np.interp(edges, knots, known))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known_at >= 0.5 * STEP_S, area_at / known_at, np.nan)


def heating_from_hvac_action(actions: Any) -> FloatArray:
    """Turn climate ``hvac_action`` states into a heating share (1 heating, 0 otherwise)."""
    return np.array(
        [
            1.0 if str(a).lower() in ("heating", "preheating", "on", "true", "1") else 0.0
            for a in actions
        ]
    )


@dataclass(slots=True)
class RoomThermalModel:
    """A room's learned warm-up: gain (°C/h at full heating), loss (1/h) and delay (minutes)."""

    gain_c_per_h: float = float("nan")
    loss_per_h: float = float("nan")
    delay_min: float = 0.0
    outdoor_c: float = DEFAULT_OUTDOOR_C  # learned equivalent outdoor level when none is known
    heating_hours: float = 0.0
    rmse_c: float = float("nan")

    @property
    def ready(self) -> bool:
        """True when the model has learned a plausible warm-up."""
        return (
            math.isfinite(self.gain_c_per_h)
            and self.gain_c_per_h > 0
            and math.isfinite(self.loss_per_h)
            and self.loss_per_h >= 0
        )

    @classmethod
    def train(
        cls,
        timestamps: Any,
        temperature: Any,
        *,
        heating: Any = None,
        heating_timestamps: Any = None,
        setpoint: Any = None,
        setpoint_timestamps: Any = None,
        outdoor_timestamps: Any = None,
        outdoor_temperature: Any = None,
    ) -> RoomThermalModel:
        """Learn from the room temperature history (°C) and its heating.

        ``heating`` (0..1 or on/off) is sampled at ``heating_timestamps`` (default: the
        temperature's) and holds between samples, as Home Assistant states do; without it the
        heating is taken as on while the temperature is below ``setpoint`` (sampled at
        ``setpoint_timestamps``, default: the temperature's, and held). Outdoor temperature
        is optional: without it a constant outdoor level is learned.
        """
        times = _as_float_array(timestamps, "timestamps")
        room = _as_float_array(temperature, "temperature")
        if times.size != room.size:
            raise ValueError("timestamps and temperature must have the same length")
        finite = times[np.isfinite(times) & np.isfinite(room)]
        model = cls()
        if finite.size < 4:
            return model
        grid = np.arange(finite.min(), finite.max() + 1.0, STEP_S)
        room_grid = _resample(times, room, grid, hold=False)
        if heating is not None:
            heat_times = (
                times
                if heating_timestamps is None
                else _as_float_array(heating_timestamps, "heating_timestamps")
            )
            heat_grid = _interval_share(heat_times, _as_float_array(heating, "heating"), grid)
        elif setpoint is not None:
            set_times = (
                times
                if setpoint_timestamps is None
                else _as_float_array(setpoint_timestamps, "setpoint_timestamps")
            )
            target = _resample(set_times, _as_float_array(setpoint, "setpoint"), grid, hold=True)
            # Heating while below the set point, or while still warming just above it (the
            # thermostat's hysteresis keeps the heating on past the set point).
            rising = np.full(room_grid.shape, np.nan)
            rising[:-2] = (room_grid[2:] - room_grid[:-2]) / (2 * STEP_S / 3600.0)
            on = (room_grid < target) | (
                (room_grid < target + SETPOINT_OVERSHOOT_C) & (rising > RISING_C_PER_H)
            )
            heat_grid = np.where(np.isfinite(target), on.astype(float), np.nan)
        else:
            return model
        heat_grid = np.clip(heat_grid, 0.0, 1.0)
        outdoor_grid: FloatArray | None = None
        if outdoor_temperature is not None and outdoor_timestamps is not None:
            outdoor_grid = _resample(
                _as_float_array(outdoor_timestamps, "outdoor_timestamps"),
                _as_float_array(outdoor_temperature, "outdoor_temperature"),
                grid,
                hold=False,
            )
            if not np.isfinite(outdoor_grid).any():
                outdoor_grid = None
        model.heating_hours = float(np.nansum(heat_grid) * STEP_S / 3600.0)
        if np.nansum(heat_grid) < MIN_HEATING_STEPS:
            return model
        best: tuple[float, float, float, float, float] | None = None
        for delay in DELAY_GRID_MIN:
            fitted = _fit(room_grid, heat_grid, outdoor_grid, int(delay * 60 / STEP_S))
            if fitted is not None and (best is None or fitted[3] < best[3]):
                best = (fitted[0], fitted[1], fitted[2], fitted[3], float(delay))
        if best is None:
            return model
        model.gain_c_per_h, model.loss_per_h, model.outdoor_c, model.rmse_c, model.delay_min = best
        return model

    def warm_up_rate(
        self, current: float, outdoor: float | None = None, target: float | None = None
    ) -> float:
        """Warming speed (°C/h) with the heating fully on.

        At ``current`` room temperature; with a ``target`` above it that the heating can reach,
        the mean speed of the climb there instead. The room loses more heat the warmer it gets,
        so the bigger the gap, the slower the climb on average.
        """
        if not self.ready:
            return float("nan")
        outside = self._outside(outdoor)
        now = self.gain_c_per_h - self.loss_per_h * (current - outside)
        if target is None or not (math.isfinite(current) and math.isfinite(target)):
            return now
        hours = self._hours_of_warming(current, target, outside)
        return (target - current) / hours if hours else now

    def minutes_to_reach(
        self, current: float, target: float, outdoor: float | None = None
    ) -> float | None:
        """Minutes of full heating to bring the room from ``current`` to ``target`` (°C).

        0 when already there; ``None`` when the model is not ready or the heating cannot reach
        the target (or would need more than a day).
        """
        if not self.ready or not (math.isfinite(current) and math.isfinite(target)):
            return None
        if current >= target:
            return 0.0
        hours = self._hours_of_warming(current, target, self._outside(outdoor))
        if hours is None:
            return None
        minutes = self.delay_min + hours * 60.0
        return minutes if minutes <= MAX_MINUTES else None

    def _outside(self, outdoor: float | None) -> float:
        return self.outdoor_c if outdoor is None or not math.isfinite(outdoor) else outdoor

    def _hours_of_warming(self, current: float, target: float, outside: float) -> float | None:
        """Hours the room takes from ``current`` up to ``target`` once the heat arrives.

        ``None`` when the target is not above ``current`` or the heating cannot hold it.
        """
        if target <= current:
            return None
        if self.loss_per_h <= 1e-6:
            return (target - current) / self.gain_c_per_h
        # Exponential approach to the equilibrium the heater can hold.
        equilibrium = outside + self.gain_c_per_h / self.loss_per_h
        if target >= equilibrium:
            return None
        return math.log((equilibrium - current) / (equilibrium - target)) / self.loss_per_h

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (NaN stored as None)."""
        return {
            "version": MODEL_VERSION,
            "gain_c_per_h": _json_float(self.gain_c_per_h),
            "loss_per_h": _json_float(self.loss_per_h),
            "delay_min": float(self.delay_min),
            "outdoor_c": float(self.outdoor_c),
            "heating_hours": float(self.heating_hours),
            "rmse_c": _json_float(self.rmse_c),
        }

    @classmethod
    def from_dict(cls, data: Any) -> RoomThermalModel:
        """Rebuild from :meth:`to_dict`; raises ``ValueError`` on bad or old data."""
        try:
            if not isinstance(data, dict) or data.get("version") != MODEL_VERSION:
                raise ValueError("unsupported thermal model version")
            model = cls(
                gain_c_per_h=_float_or_nan(data["gain_c_per_h"]),
                loss_per_h=_float_or_nan(data["loss_per_h"]),
                delay_min=float(data["delay_min"]),
                outdoor_c=float(data["outdoor_c"]),
                heating_hours=float(data["heating_hours"]),
                rmse_c=_float_or_nan(data["rmse_c"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"bad thermal model data: {err}") from err
        if not (math.isfinite(model.delay_min) and math.isfinite(model.outdoor_c)):
            raise ValueError("inconsistent thermal model data")
        return model


def _fit(
    room: FloatArray, heating: FloatArray, outdoor: FloatArray | None, delay_steps: int
) -> tuple[float, float, float, float] | None:
    """Least squares on ``T[k+1] = a·T[k] + c·u[k−d] + e·T_out[k] (+ f)``; returns the model."""
    lagged = np.full(heating.shape, np.nan)
    lagged[delay_steps:] = heating[: heating.size - delay_steps]
    # Instrument the current temperature with an older one: a reading's error is shared with the
    # next reading (reports on change, rounding), which would bias ordinary least squares.
    lag = int(INSTRUMENT_LAG_S / STEP_S)
    earlier = np.full(room.shape, np.nan)
    earlier[lag:] = room[:-lag]
    now, nxt, drive, old = room[:-1], room[1:], lagged[:-1], earlier[:-1]
    if outdoor is not None:
        outside = outdoor[:-1]
        usable = (
            np.isfinite(now)
            & np.isfinite(nxt)
            & np.isfinite(drive)
            & np.isfinite(outside)
            & np.isfinite(old)
        )
        if usable.sum() < 2 * MIN_HEATING_STEPS:
            return None
        design = np.column_stack([now[usable] - outside[usable], drive[usable]])
        instruments = np.column_stack([old[usable] - outside[usable], drive[usable]])
        response = nxt[usable] - outside[usable]
        coef = _instrumented(design, instruments, response)
        if coef is None:
            return None
        decay, heat = float(coef[0]), float(coef[1])
        level = float(np.nanmean(outside))
    else:
        usable = np.isfinite(now) & np.isfinite(nxt) & np.isfinite(drive) & np.isfinite(old)
        if usable.sum() < 2 * MIN_HEATING_STEPS:
            return None
        ones = np.ones(int(usable.sum()))
        design = np.column_stack([now[usable], drive[usable], ones])
        instruments = np.column_stack([old[usable], drive[usable], ones])
        response = nxt[usable]
        coef = _instrumented(design, instruments, response)
        if coef is None:
            return None
        decay, heat, offset = float(coef[0]), float(coef[1]), float(coef[2])
        level = offset / (1.0 - decay) if decay < 1.0 - 1e-9 else DEFAULT_OUTDOOR_C
    residual = response - design @ coef
    if not (0.0 < decay <= 1.0) or heat <= 0:
        return None
    step_h = STEP_S / 3600.0
    loss = -math.log(decay) / step_h
    # Exact discretisation: heat = gain/loss·(1 − decay); as loss → 0, heat = gain·step.
    gain = heat * loss / (1.0 - decay) if loss > 1e-9 else heat / step_h
    rmse = float(np.sqrt(np.mean(residual**2)))
    return gain, loss, level, rmse


def _instrumented(
    design: FloatArray, instruments: FloatArray, response: FloatArray
) -> FloatArray | None:
    """Instrumental-variable solution of ``design @ coef ≈ response`` (just identified)."""
    try:
        coef = np.linalg.solve(instruments.T @ design, instruments.T @ response)
    except np.linalg.LinAlgError:
        return None
    return np.asarray(coef, dtype=np.float64) if np.all(np.isfinite(coef)) else None


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _float_or_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)
