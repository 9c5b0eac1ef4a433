"""How fast each room warms: the warm-up model between Foresight's history and the heating.

Trained in the executor from each heated room's temperature, its thermostat (heating on / off,
set point) and the outdoor temperature when known; asked by the warm-up sensors and by smart
heating ("how long to bring this room from X to Y now?").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
import logging
import math
from typing import Any

import numpy as np

from .history import HistoryStore
from .learning.thermal import RoomThermalModel
from .timebase import to_wall_clock

_LOGGER = logging.getLogger(__name__)

DAY = 86400.0
TRAIN_DAYS = 28
# Home Assistant records a reading only when it changes: between two, the first holds. The
# history is filled in at this step (for at most MAX_HOLD_S) before the model reads it.
HOLD_STEP_S = 300.0
MAX_HOLD_S = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class HeatedRoom:
    """The series a heated room's warm-up is learned from (keys in Foresight's history)."""

    temperature: str
    heating: str
    setpoint: str


@dataclass(frozen=True, slots=True)
class WarmUp:
    """A room's warm-up now: its temperature and how fast full heating warms it.

    The rate is the mean speed of the climb to the thermostat's set point when the room is below
    it (and the heating can hold it), the speed at the room's temperature otherwise.
    """

    temperature: float | None
    target: float | None  # the thermostat's set point now (°C)
    minutes_to_target: int | None  # of full heating, dead time included; None if out of reach
    rate_c_per_h: float | None
    gain_c_per_h: float | None
    loss_per_h: float | None
    delay_min: float | None


class HomeThermal:
    """The warm-up models of the heated rooms. Training and outlook block: use an executor."""

    def __init__(
        self,
        store: HistoryStore,
        zone: tzinfo,
        rooms: dict[str, HeatedRoom],
        outdoor_key: str | None,
    ) -> None:
        """``rooms``: room id → its series."""
        self._store = store
        self._zone = zone
        self.rooms = rooms
        self._outdoor_key = outdoor_key
        self.models: dict[str, RoomThermalModel] = {}
        self.outdoor: float | None = None  # °C, as of the last outlook

    def restore(self, saved: Any) -> None:
        """Take back the models saved before a restart (unreadable ones are learned again)."""
        if not isinstance(saved, dict):
            return
        for room, parameters in saved.items():
            if room not in self.rooms:
                continue
            try:
                self.models[room] = RoomThermalModel.from_dict(parameters)
            except ValueError as err:
                _LOGGER.warning("Saved warm-up model of %s could not be read: %s", room, err)

    def _series(
        self, key: str, start: float, end: float, *, held: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = self._store.samples(key, start, end)
        utc = np.array([t for t, _ in rows], dtype=np.float64)
        values = np.array([math.nan if v is None else v for _, v in rows], dtype=np.float64)
        if held:
            utc, values = hold_readings(utc, values, end)
        return to_wall_clock(utc, self._zone), values

    def train(self, now: datetime) -> dict[str, Any]:
        """Learn every heated room's warm-up from the last four weeks; the parameters to save."""
        end = math.nextafter(now.timestamp(), math.inf)
        start = end - TRAIN_DAYS * DAY
        outdoor_times = outdoor = None
        if self._outdoor_key is not None:
            outdoor_times, outdoor = self._series(self._outdoor_key, start, end, held=True)
            if outdoor.size == 0:
                outdoor_times = outdoor = None
        for room, series in self.rooms.items():
            times, temperature = self._series(series.temperature, start, end, held=True)
            heat_times, heating = self._series(series.heating, start, end)
            if times.size < 4:
                continue
            # A thermostat that never said it heats (no hvac_action): its set point tells when.
            reported = bool(np.any(heating > 0))
            set_times, setpoint = self._series(series.setpoint, start, end, held=True)
            self.models[room] = RoomThermalModel.train(
                times,
                temperature,
                heating=heating if reported else None,
                heating_timestamps=heat_times if reported else None,
                setpoint=setpoint if set_times.size else None,
                setpoint_timestamps=set_times if set_times.size else None,
                outdoor_timestamps=outdoor_times,
                outdoor_temperature=outdoor,
            )
        return {room: model.to_dict() for room, model in self.models.items()}

    def outlook(self) -> dict[str, WarmUp]:
        """Each heated room's temperature and set point now, and its warm-up rate between them."""
        keys = [
            key for series in self.rooms.values() for key in (series.temperature, series.setpoint)
        ]
        latest = self._store.last_values([*keys, self._outdoor_key] if self._outdoor_key else keys)
        outdoor = latest.get(self._outdoor_key) if self._outdoor_key else None
        self.outdoor = outdoor[1] if outdoor is not None else None
        warm_ups = {}
        for room, series in self.rooms.items():
            model = self.models.get(room)
            reading = latest.get(series.temperature)
            current = reading[1] if reading is not None else None
            setpoint = latest.get(series.setpoint)
            target = setpoint[1] if setpoint is not None else None
            ready = model is not None and model.ready
            rate = minutes = None
            if ready and model and current is not None:  # 0 °C is a temperature
                rate = model.warm_up_rate(current, self.outdoor, target)
                if target is not None:
                    minutes = model.minutes_to_reach(current, target, self.outdoor)
            warm_ups[room] = WarmUp(
                temperature=current,
                target=target,
                minutes_to_target=round(minutes) if minutes is not None else None,
                rate_c_per_h=round(rate, 2) if rate is not None and math.isfinite(rate) else None,
                gain_c_per_h=model.gain_c_per_h if ready and model else None,
                loss_per_h=model.loss_per_h if ready and model else None,
                delay_min=model.delay_min if ready and model else None,
            )
        return warm_ups

    def minutes_to_reach(self, room: str, current: float, target: float) -> float | None:
        """Minutes of full heating to bring ``room`` from ``current`` to ``target`` °C now.

        None while the room's warm-up is not learned, or when the heating cannot get there.
        """
        model = self.models.get(room)
        if model is None:
            return None
        return model.minutes_to_reach(current, target, self.outdoor)


def hold_readings(
    times: np.ndarray, values: np.ndarray, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat each reading every HOLD_STEP_S until the next one (a gap, NaN, holds nothing)."""
    if times.size == 0:
        return times, values
    following = np.append(times[1:], end)
    lengths = np.clip(following - times, 0.0, MAX_HOLD_S)
    counts = np.where(np.isfinite(values), np.maximum(np.ceil(lengths / HOLD_STEP_S), 1), 1)
    counts = counts.astype(np.int64)
    repeated = np.repeat(times, counts)
    offsets = np.arange(repeated.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return repeated + offsets * HOLD_STEP_S, np.repeat(values, counts)
