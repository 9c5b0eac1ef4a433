"""The home's energy: trained and predicted from Foresight's history (runs in the executor).

Reads hourly consumption from the history (an energy meter's hourly use, or a power sensor's
hourly mean), hands it to ``learning.energy`` on the local wall clock, and turns the result
into what the energy entities show.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
import logging
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from homeassistant.util.json import JsonValueType

from .history import HistoryStore
from .learning.energy import (
    DAY,
    HISTORY_DAYS,
    HOUR,
    LOOKBACK_DAYS,
    EnergyForecast,
    EnergyForecaster,
    UnusualUseDetector,
    day_ahead_expectations,
    expected_power_w,
    rest_of_today_kwh,
)
from .sources import Kind
from .timebase import from_wall_clock, to_wall_clock, wall_clock_now

_LOGGER = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
FORECAST_HOURS = 24
DETECTOR_DAYS = 2  # the unusual-use detector judges the last two days against their forecasts


@dataclass(frozen=True, slots=True)
class EnergyOutlook:
    """What the energy entities show."""

    status: str
    model: str
    skill: float | None
    nrmse: float | None
    nrmse_baseline: float | None
    trained_days: int
    next_hour_kwh: float | None = None
    rest_of_today_kwh: float | None = None
    expected_power_w: float | None = None
    base_load_w: float | None = None
    forecast: list[JsonValueType] = field(default_factory=list)
    unusual: bool = False
    unusual_kind: str = "none"
    unusual_since: datetime | None = None
    unusual_expected_kwh: float | None = None
    unusual_seen_kwh: float | None = None


def _number(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class Hourly:
    """A stretch of hours on the local wall clock and what is known of each."""

    hours: FloatArray
    kwh: FloatArray
    outdoor: FloatArray  # °C, NaN where unknown
    workday: FloatArray | None  # 1 on working days, from the workday sensor, where known
    away: FloatArray | None  # 1 while every person is away, where known (None: no people)


class HomeEnergy:
    """Trains and asks the home's energy models. Every method blocks: call from an executor."""

    def __init__(
        self,
        store: HistoryStore,
        energy_key: str,
        energy_kind: Kind,
        outdoor_key: str | None,
        zone: tzinfo,
        people: list[str] | None = None,
        workday_key: str | None = None,
    ) -> None:
        """Learn from the series ``energy_key`` (a meter or a power sensor).

        ``people``' series say when the home is away; ``workday_key``'s which days are worked.
        """
        self._store = store
        self.entity_id = self._energy_key = energy_key
        self._energy_kind = energy_kind
        self._outdoor_key = outdoor_key
        self._zone = zone
        self._people = people or []
        self._workday_key = workday_key
        self.forecaster: EnergyForecaster | None = None
        self.detector: UnusualUseDetector | None = None

    def restore(self, saved: Any) -> None:
        """Take back models saved before a restart (ignored when unreadable)."""
        if not isinstance(saved, dict):
            return
        try:
            self.forecaster = EnergyForecaster.from_dict(saved["forecaster"])
            self.detector = UnusualUseDetector.from_dict(saved["detector"])
        except (KeyError, ValueError) as err:
            _LOGGER.warning("Saved energy model could not be read, learning afresh: %s", err)
            self.forecaster = self.detector = None

    def _hourly(self, now: datetime, days: float) -> Hourly:
        """The hours of the ``days`` before ``now`` on the local wall clock, with what is known."""
        end = now.timestamp()
        start = end - days * DAY - 2 * HOUR
        rows = self._store.hours(self._energy_key, start, end)
        utc = np.array([row.hour for row in rows], dtype=np.float64)
        if self._energy_kind is Kind.ENERGY:
            values = [row.consumption for row in rows]
        else:  # a power sensor: its mean over the hour, W → kWh
            values = [None if row.mean is None else row.mean / 1000.0 for row in rows]
        kwh = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        hours, kwh = _sum_by_hour(to_wall_clock(utc, self._zone), kwh)
        home = [self._aligned(person, hours, start, end) for person in self._people]
        away = None
        if home:
            present = np.vstack(home)
            # Away while every person is known to be away; home while anyone is.
            away = np.where(
                np.nanmax(np.nan_to_num(present, nan=-1.0), axis=0) > 0,
                0.0,
                np.where(np.isfinite(present).all(axis=0), 1.0, np.nan),
            )
        workday = None
        if self._workday_key is not None:
            workday = np.round(self._aligned(self._workday_key, hours, start, end))
        return Hourly(
            hours,
            kwh,
            self._aligned(self._outdoor_key, hours, start, end),
            workday if workday is not None and np.isfinite(workday).any() else None,
            away,
        )

    def _aligned(self, key: str | None, hours: FloatArray, start: float, end: float) -> FloatArray:
        """A series' hourly means (NaN where unknown), on the given local hours."""
        if key is None or not hours.size:
            return np.full(hours.size, np.nan)
        rows = self._store.hours(key, start, end)
        local = to_wall_clock([row.hour for row in rows], self._zone)
        means = {float(t): row.mean for t, row in zip(local, rows, strict=True)}
        return np.array(
            [np.nan if (mean := means.get(float(h))) is None else mean for h in hours],
            dtype=np.float64,
        )

    def train(self, now: datetime) -> dict[str, Any]:
        """Learn from the history up to ``now``; returns the parameters to save."""
        past = self._hourly(now, HISTORY_DAYS + 1)
        local_now = wall_clock_now(now, self._zone)
        self.forecaster = EnergyForecaster.train(
            past.hours,
            past.kwh,
            # Without any outdoor reading, temperature is not an input at all.
            outdoor_temperature=past.outdoor if np.isfinite(past.outdoor).any() else None,
            workday=past.workday,
            now=local_now,
        )
        self.detector = UnusualUseDetector.train(
            self.forecaster, past.hours, past.kwh, now=local_now
        )
        return {"forecaster": self.forecaster.to_dict(), "detector": self.detector.to_dict()}

    def outlook(self, now: datetime) -> EnergyOutlook | None:
        """The forecast from the current hour, what is normal now, and whether use is unusual."""
        forecaster, detector = self.forecaster, self.detector
        if forecaster is None:
            return None
        summary: dict[str, Any] = {
            "status": forecaster.status,
            "model": forecaster.model,
            "skill": _number(forecaster.skill),
            "nrmse": _number(forecaster.nrmse),
            "nrmse_baseline": _number(forecaster.nrmse_baseline),
            "trained_days": forecaster.trained_days,
        }
        if forecaster.status == "learning":
            return EnergyOutlook(**summary)
        past = self._hourly(now, LOOKBACK_DAYS + DETECTOR_DAYS + 1)
        local_now = wall_clock_now(now, self._zone)
        forecast = self._forecast(forecaster, past, local_now, FORECAST_HOURS)
        outlook = EnergyOutlook(
            **summary,
            next_hour_kwh=_number(float(forecast.kwh[0])),
            rest_of_today_kwh=_number(rest_of_today_kwh(forecast, local_now)),
            expected_power_w=_number(expected_power_w(forecast, local_now)),
            base_load_w=_number(forecaster.base_load_w),
            forecast=self._hours(forecast),
        )
        if detector is None or not past.hours.size:
            return outlook
        today = float(np.floor(local_now / DAY) * DAY)
        first_day = today - (DETECTOR_DAYS - 1) * DAY
        expected = day_ahead_expectations(
            forecaster, past.hours, past.kwh, first_day, DETECTOR_DAYS
        )
        recent = past.hours >= first_day
        verdict = detector.check(
            past.hours[recent],
            past.kwh[recent],
            expected,
            # Nobody home: less use is expected, and a shortfall above the floor is normal.
            away=past.away[recent] if past.away is not None else None,
        )
        since = verdict.since
        return replace(
            outlook,
            unusual=verdict.active,
            unusual_kind=verdict.kind,
            unusual_since=from_wall_clock(since, self._zone) if since is not None else None,
            unusual_expected_kwh=_number(verdict.expected_kwh),
            unusual_seen_kwh=_number(verdict.seen_kwh),
        )

    def forecast(self, now: datetime, hours: int) -> list[JsonValueType]:
        """Hourly expected kWh with its 80 % band, ``hours`` ahead from the current hour."""
        if self.forecaster is None or self.forecaster.status == "learning":
            return []
        past = self._hourly(now, LOOKBACK_DAYS + 1)
        local_now = wall_clock_now(now, self._zone)
        return self._hours(self._forecast(self.forecaster, past, local_now, hours))

    @staticmethod
    def _forecast(
        forecaster: EnergyForecaster, past: Hourly, local_now: float, ahead: int
    ) -> EnergyForecast:
        # The hours ahead are appended unknown (the forecaster fills them).
        future = np.floor(local_now / HOUR) * HOUR + HOUR * np.arange(ahead)
        future = future[~np.isin(future, past.hours)]
        order = np.argsort(np.concatenate([past.hours, future]))

        def extended(values: FloatArray | None) -> FloatArray | None:
            if values is None:
                return None
            joined: FloatArray = np.concatenate([values, np.full(future.size, np.nan)])
            return joined[order]

        return forecaster.forecast(
            np.concatenate([past.hours, future])[order],
            extended(past.kwh),
            local_now,
            ahead,
            outdoor_temperature=extended(past.outdoor),
            workday=extended(past.workday),
        )

    def _hours(self, forecast: EnergyForecast) -> list[JsonValueType]:
        return [
            {
                "start": from_wall_clock(float(start), self._zone).isoformat(),
                "kwh": _number(float(value)),
                "lower": _number(float(low)),
                "upper": _number(float(high)),
            }
            for start, value, low, high in zip(
                forecast.hour_starts, forecast.kwh, forecast.lower, forecast.upper, strict=True
            )
        ]


def _sum_by_hour(hours: FloatArray, kwh: FloatArray) -> tuple[FloatArray, FloatArray]:
    """One value per local hour: the autumn's repeated hour is the sum of both."""
    if hours.size == 0:
        return hours, kwh
    unique, where = np.unique(hours, return_inverse=True)
    if unique.size == hours.size:
        return hours, kwh
    summed = np.zeros(unique.size)
    known = np.zeros(unique.size, dtype=bool)
    np.add.at(summed, where, np.nan_to_num(kwh))
    np.logical_or.at(known, where, np.isfinite(kwh))
    return unique, np.where(known, summed, np.nan)
