"""The home's energy: trained and predicted from Foresight's history (runs in the executor).

Reads hourly consumption from the history (an energy meter's hourly use, or a power sensor's
hourly mean; in a home with solar panels or a battery, the sum of its flows, see
:class:`EnergyFlow`), hands it to ``learning.energy`` on the home's energy clock
(``energy_clock``), and turns the result into what the energy entities show, on the meter's
real hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
import logging
import math
from typing import Any

import holidays
import numpy as np
import numpy.typing as npt

from homeassistant.util.json import JsonValueType

from .history import HistoryStore
from .learning.energy import (
    DAY,
    HISTORY_DAYS,
    HOUR,
    LOOKBACK_DAYS,
    OCCUPANCY_FEATURES,
    EnergyForecast,
    EnergyForecaster,
    UnusualUseDetector,
    calendar_years,
    day_ahead_expectations,
    expected_power_w,
    next_hour_kwh,
    rest_of_today_kwh,
    workday_flags,
)
from .learning.presence import ROUTINE_WEEKS, WEEK, expected_presence
from .learning.sun import dark_hours
from .sources import Kind
from .timebase import to_wall_clock

_LOGGER = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
FORECAST_HOURS = 24
# The hours forecast for the entities: a day can have 25 of them left (the clocks going back).
OUTLOOK_HOURS = FORECAST_HOURS + 1
DETECTOR_DAYS = 2  # the unusual-use detector judges the last two days against their forecasts
# Expected occupancy is tried as an input once this many hours of it are known (three weeks).
MIN_PRESENCE_HOURS = 21 * 24
EPOCH = date(1970, 1, 1)  # day 0 of the energy clock


@dataclass(frozen=True, slots=True)
class EnergyOutlook:
    """What the energy entities show."""

    status: str
    model: str
    model_share: float | None  # the model's share of the forecast; the rest: the steadier mix
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
    unusual_lower_kwh: float | None = None  # the expected band over the same hours
    unusual_upper_kwh: float | None = None
    # Whether the expected occupancy is an input (None: no people, or too little of their
    # history to try), and the held-out skill with and without it.
    occupancy_input: bool | None = None
    skill_with_occupancy: float | None = None
    skill_without_occupancy: float | None = None


def _number(value: float) -> float | None:
    return round(float(value), 4) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class EnergyFlow:
    """One of the home's electricity series and how it counts toward what the home uses."""

    key: str
    kind: Kind  # an energy meter or a power sensor
    # +1: what comes to the home's use (the grid import, the production, a battery's discharge);
    # -1: what does not (the export, a battery's charge).
    sign: float = 1.0
    # Nothing while the sun is down, so an hour it says nothing of then is 0: solar panels'
    # production, and the export of a home without a battery (an inverter asleep says nothing).
    zero_in_the_dark: bool = False


@dataclass(frozen=True, slots=True)
class Hourly:
    """A stretch of hours on the energy clock and what is known of each."""

    hours: FloatArray
    kwh: FloatArray
    outdoor: FloatArray  # °C, NaN where unknown
    # 1 on working days, 0 on days off: the workday sensor where it is known, else the home's
    # public holidays and weekends (None: neither, the forecaster takes Monday to Friday).
    workday: FloatArray | None
    away: FloatArray | None  # 1 while every person is away, where known (None: no people)


class HomeEnergy:
    """Trains and asks the home's energy models. Every method blocks: call from an executor."""

    def __init__(
        self,
        store: HistoryStore,
        flows: Sequence[EnergyFlow],
        outdoor_key: str | None,
        zone: tzinfo,
        people: list[str] | None = None,
        workday_key: str | None = None,
        country: str | None = None,
        location: tuple[float, float] | None = None,
    ) -> None:
        """Learn what the home uses: the sum of its electricity ``flows``, each with its sign.

        A home with only its main sensor has one flow. ``people``' series say when the home is
        away; ``workday_key``'s which days are worked; the public holidays of ``country`` (an
        ISO 3166 code) are days off. At the home's ``location`` (latitude, longitude), a flow
        that is nothing in the dark and says nothing while the sun is down was nothing.
        """
        self._store = store
        self.flows = tuple(flows)
        self.entity_ids = tuple(flow.key for flow in flows)
        self._outdoor_key = outdoor_key
        self._zone = zone
        self._people = people or []
        self._workday_key = workday_key
        self._country = country
        self.location = location  # followed when the home's location changes
        self._days_off_by_year: dict[int, list[date]] = {}  # the country's public holidays, by year
        # The coming days as the workday sensor's integration tells them (1 worked, 0 off),
        # replaced whole on the event loop by the coordinator; the sensor says only today's.
        self.days_ahead: dict[date, float] = {}
        self.forecaster: EnergyForecaster | None = None
        self.detector: UnusualUseDetector | None = None
        self.occupancy_skills: tuple[float, float] | None = None  # with, without

    def restore(self, saved: Any) -> None:
        """Take back models saved before a restart (ignored when unreadable).

        Models learned from other flows are ignored too: a home that adds its production is
        learned again.
        """
        if not isinstance(saved, dict):
            return
        # Models saved before the flows were counted were learned on the main sensor alone.
        if saved.get("flows", self._learned_from()[:1]) != self._learned_from():
            _LOGGER.info("The energy model was learned from other sensors: learning it again")
            return
        try:
            self.forecaster = EnergyForecaster.from_dict(saved["forecaster"])
            self.detector = UnusualUseDetector.from_dict(saved["detector"])
            skills = saved.get("occupancy_skills")
            self.occupancy_skills = (float(skills[0]), float(skills[1])) if skills else None
        except (KeyError, ValueError, TypeError, IndexError) as err:
            _LOGGER.warning("Saved energy model could not be read, learning afresh: %s", err)
            self.forecaster = self.detector = None

    def _hourly(self, now: datetime, days: float) -> Hourly:
        """The hours of the ``days`` before ``now`` on the energy clock, with what is known."""
        end = now.timestamp()
        start = end - days * DAY - 2 * HOUR
        utc, kwh = self._consumption(start, end)
        hours, kwh = _sum_by_hour(utc, kwh, self._zone)
        away = None
        if self._people:
            present = self._presence(hours, start, end)
            # Away while every person is known to be away; home while anyone is.
            away = np.where(
                np.nanmax(np.nan_to_num(present, nan=-1.0), axis=0) > 0,
                0.0,
                np.where(np.isfinite(present).all(axis=0), 1.0, np.nan),
            )
        measured = None
        if self._workday_key is not None:
            measured = np.round(self._aligned(self._workday_key, hours, start, end))
        return Hourly(
            hours,
            kwh,
            self._aligned(self._outdoor_key, hours, start, end),
            self._workday(hours, measured),
            away,
        )

    def _consumption(self, start: float, end: float) -> tuple[FloatArray, FloatArray]:
        """The UTC hours any flow has in ``[start, end)`` and the home's use in each (kWh).

        An hour is known only where every flow is: an unknown production or export is never taken
        as 0, but while the sun is down (see :attr:`EnergyFlow.zero_in_the_dark`).
        """
        by_flow = [self._flow_kwh(flow, start, end) for flow in self.flows]
        utc = np.array(sorted(set().union(*by_flow)), dtype=np.float64)
        kwh = np.zeros(utc.size)
        for flow, known in zip(self.flows, by_flow, strict=True):
            values = np.array([known.get(int(hour), np.nan) for hour in utc])
            if flow.zero_in_the_dark and self.location is not None:
                values[np.isnan(values) & dark_hours(utc, *self.location)] = 0.0
            kwh += flow.sign * values
        return utc, kwh

    def _flow_kwh(self, flow: EnergyFlow, start: float, end: float) -> dict[int, float]:
        """A flow's kWh by UTC hour (NaN where its hour is unknown)."""
        kwh: dict[int, float] = {}
        for row in self._store.hours(flow.key, start, end):
            if flow.kind is Kind.ENERGY:
                value = row.consumption
            else:  # a power sensor: its mean over the hour, W → kWh
                value = None if row.mean is None else row.mean / 1000.0
            kwh[row.hour] = np.nan if value is None else value
        return kwh

    def _learned_from(self) -> list[list[str | float]]:
        """What the models are learned from, saved with them: each flow and its sign, main first."""
        return [[flow.key, flow.sign] for flow in self.flows]

    def _workday(self, hours: FloatArray, measured: FloatArray | None) -> FloatArray | None:
        """Which ``hours`` fall on working days.

        ``measured`` (the workday sensor's state then) where known, then the days ahead as its
        integration told them, then the calendar.
        """
        known = np.full(hours.shape, np.nan) if measured is None else measured
        if days_ahead := self.days_ahead:  # one dict, even if the loop replaces it meanwhile
            # The hours are on the energy clock, read as UTC: their UTC day is the local one.
            days, each = np.unique((hours // DAY).astype(np.int64), return_inverse=True)
            told = np.array([days_ahead.get(EPOCH + timedelta(int(day)), np.nan) for day in days])
            known = np.where(np.isfinite(known), known, told[each])
        calendar = self._calendar_workdays(hours)
        if not np.isfinite(known).any():
            return calendar
        return known if calendar is None else np.where(np.isfinite(known), known, calendar)

    def _calendar_workdays(self, hours: FloatArray) -> FloatArray | None:
        """Monday to Friday but the country's public holidays (None: no country known)."""
        # The hours are on the energy clock, read as UTC: their UTC date is the local one.
        years = calendar_years(hours)
        if self._country is None or not years:
            return None
        days_off: list[date] = []
        for year in years:
            if year not in self._days_off_by_year:
                self._days_off_by_year[year] = self._public_holidays(year)
            days_off.extend(self._days_off_by_year[year])
        return workday_flags(hours, days_off)

    def _public_holidays(self, year: int) -> list[date]:
        """The country's public holidays in ``year`` (none where the country is not known)."""
        if self._country is None:
            return []
        try:
            return sorted(holidays.country_holidays(self._country, years=year))
        except NotImplementedError:
            _LOGGER.info("No public holidays known for country %s: weekends only", self._country)
            self._country = None
            return []

    def _aligned(self, key: str | None, hours: FloatArray, start: float, end: float) -> FloatArray:
        """A series' hourly means (NaN where unknown), on the given energy-clock hours."""
        if key is None or not hours.size:
            return np.full(hours.size, np.nan)
        rows = self._store.hours(key, start, end)
        slots = energy_clock([row.hour for row in rows], self._zone)
        means = {float(t): row.mean for t, row in zip(slots, rows, strict=True)}
        return np.array(
            [np.nan if (mean := means.get(float(h))) is None else mean for h in hours],
            dtype=np.float64,
        )

    def _presence(self, hours: FloatArray, start: float, end: float) -> FloatArray:
        """Each person's share of each hour at home (a row per person, NaN unknown)."""
        return np.vstack([self._aligned(person, hours, start, end) for person in self._people])

    def _someone_home(self, hours: FloatArray, start: float, end: float) -> FloatArray:
        """The share of each hour someone was home (the most present person), NaN unknown."""
        present = self._presence(hours, start, end)
        known = np.isfinite(present).any(axis=0)
        return np.where(known, np.nanmax(np.where(known, present, 0.0), axis=0), np.nan)

    def _expected_occupancy(self, hours: FloatArray, now: datetime) -> FloatArray | None:
        """Each hour's expected occupancy, as a day-ahead forecast gives it; None without people.

        That is the weekly routine of the people's presence in the weeks before the hour.
        """
        if not self._people or not hours.size:
            return None
        first = float(np.min(hours)) - ROUTINE_WEEKS * WEEK
        grid = np.arange(first, float(np.max(hours)), HOUR, dtype=np.float64)
        # Energy-clock hours are read from UTC rows: a day's margin covers any offset.
        start, end = first - DAY, now.timestamp() + DAY
        return expected_presence(hours, grid, self._someone_home(grid, start, end))

    def train(self, now: datetime) -> dict[str, Any]:
        """Learn from the history up to ``now``; returns the parameters to save.

        Where the people's history allows, a second forecaster also reads the expected
        occupancy; it is kept only if it scores better on the held-out days.
        """
        past = self._hourly(now, HISTORY_DAYS + 1)
        clock_now = float(energy_clock(now.timestamp(), self._zone))
        # Without any outdoor reading, temperature is not an input at all.
        outdoor = past.outdoor if np.isfinite(past.outdoor).any() else None
        forecaster = EnergyForecaster.train(
            past.hours, past.kwh, outdoor_temperature=outdoor, workday=past.workday, now=clock_now
        )
        self.occupancy_skills = None
        expected = self._expected_occupancy(past.hours, now)
        if expected is not None and np.isfinite(expected).sum() >= MIN_PRESENCE_HOURS:
            with_occupancy = EnergyForecaster.train(
                past.hours,
                past.kwh,
                outdoor_temperature=outdoor,
                occupancy_probability=expected,
                workday=past.workday,
                now=clock_now,
            )
            self.occupancy_skills = (with_occupancy.skill, forecaster.skill)
            if with_occupancy.status != "learning" and with_occupancy.nrmse < forecaster.nrmse:
                forecaster = with_occupancy
        self.forecaster = forecaster
        # The detector compares with day-ahead forecasts from the consumption alone.
        self.detector = UnusualUseDetector.train(
            forecaster, past.hours, past.kwh, now=clock_now, workday=past.workday
        )
        return {
            "flows": self._learned_from(),
            "forecaster": forecaster.to_dict(),
            "detector": self.detector.to_dict(),
            "occupancy_skills": list(self.occupancy_skills) if self.occupancy_skills else None,
        }

    def outlook(self, now: datetime) -> EnergyOutlook | None:
        """The forecast from the current hour, what is normal now, and whether use is unusual."""
        forecaster, detector = self.forecaster, self.detector
        if forecaster is None:
            return None
        summary: dict[str, Any] = {
            "status": forecaster.status,
            "model": forecaster.model,
            "model_share": _number(forecaster.model_share),
            "skill": _number(forecaster.skill),
            "nrmse": _number(forecaster.nrmse),
            "nrmse_baseline": _number(forecaster.nrmse_baseline),
            "trained_days": forecaster.trained_days,
            **self._occupancy_summary(forecaster),
        }
        if forecaster.status == "learning":
            return EnergyOutlook(**summary)
        past = self._hourly(now, LOOKBACK_DAYS + DETECTOR_DAYS + 1)
        clock_now = float(energy_clock(now.timestamp(), self._zone))
        forecast = self._forecast(forecaster, past, now, OUTLOOK_HOURS)
        today_ends = self._midnight_after(forecast.hour_starts, clock_now)
        outlook = EnergyOutlook(
            **summary,
            next_hour_kwh=_number(next_hour_kwh(forecast, now.timestamp())),
            rest_of_today_kwh=_number(
                rest_of_today_kwh(forecast, now.timestamp(), midnight=today_ends)
            ),
            expected_power_w=_number(expected_power_w(forecast, now.timestamp())),
            base_load_w=_number(forecaster.base_load_w),
            forecast=self._hours(forecast)[:FORECAST_HOURS],
        )
        if detector is None or not past.hours.size:
            return outlook
        today = float(np.floor(clock_now / DAY) * DAY)
        first_day = today - (DETECTOR_DAYS - 1) * DAY
        expected = day_ahead_expectations(
            forecaster, past.hours, past.kwh, first_day, DETECTOR_DAYS, workday=past.workday
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
            unusual_since=from_energy_clock(since, self._zone) if since is not None else None,
            unusual_expected_kwh=_number(verdict.expected_kwh),
            unusual_seen_kwh=_number(verdict.seen_kwh),
            unusual_lower_kwh=_number(verdict.lower_kwh),
            unusual_upper_kwh=_number(verdict.upper_kwh),
        )

    def forecast(self, now: datetime, hours: int) -> list[JsonValueType]:
        """Hourly expected kWh with its 80 % band, ``hours`` ahead from the current hour."""
        if self.forecaster is None or self.forecaster.status == "learning":
            return []
        past = self._hourly(now, LOOKBACK_DAYS + 1)
        return self._hours(self._forecast(self.forecaster, past, now, hours))

    def _occupancy_summary(self, forecaster: EnergyForecaster) -> dict[str, Any]:
        if self.occupancy_skills is None:
            return {}
        with_occupancy, without = self.occupancy_skills
        return {
            "occupancy_input": OCCUPANCY_FEATURES[0] in forecaster.features,
            "skill_with_occupancy": _number(with_occupancy),
            "skill_without_occupancy": _number(without),
        }

    def _forecast(
        self, forecaster: EnergyForecaster, past: Hourly, now: datetime, ahead: int
    ) -> EnergyForecast:
        """The ``ahead`` real hours from the one in progress (their hour starts in UTC)."""
        meter_hours = np.floor(now.timestamp() / HOUR) * HOUR + HOUR * np.arange(ahead)
        # Clocks going back: two real hours share a slot; going forward: a slot has none.
        slots = energy_clock(meter_hours, self._zone)
        # The hours ahead are appended unknown (the forecaster fills them).
        future = np.unique(slots)
        future = future[~np.isin(future, past.hours)]
        hours = np.concatenate([past.hours, future])
        order = np.argsort(hours)
        occupancy = None
        if OCCUPANCY_FEATURES[0] in forecaster.features:
            occupancy = self._expected_occupancy(hours[order], now)

        def extended(values: FloatArray | None) -> FloatArray | None:
            if values is None:
                return None
            joined: FloatArray = np.concatenate([values, np.full(future.size, np.nan)])
            return joined[order]

        by_slot = forecaster.forecast(
            hours[order],
            extended(past.kwh),
            float(slots[0]),
            round((slots[-1] - slots[0]) / HOUR) + 1,
            outdoor_temperature=extended(past.outdoor),
            occupancy_probability=occupancy,
            workday=self._workday(hours[order], extended(past.workday)),
        )
        slot = np.round((slots - slots[0]) / HOUR).astype(np.int64)
        return replace(
            by_slot,
            hour_starts=meter_hours,
            kwh=by_slot.kwh[slot],
            lower=by_slot.lower[slot],
            upper=by_slot.upper[slot],
        )

    def _midnight_after(self, hour_starts: FloatArray, clock_now: float) -> float:
        """When the energy clock's day of ``clock_now`` ends, in UTC (or where the hours end)."""
        midnight = (np.floor(clock_now / DAY) + 1) * DAY
        after = hour_starts[energy_clock(hour_starts, self._zone) >= midnight]
        return float(after[0]) if after.size else float(hour_starts[-1] + HOUR)

    def _hours(self, forecast: EnergyForecast) -> list[JsonValueType]:
        return [
            {
                "start": datetime.fromtimestamp(float(start), self._zone).isoformat(),
                "kwh": _number(float(value)),
                "lower": _number(float(low)),
                "upper": _number(float(high)),
            }
            for start, value, low, high in zip(
                forecast.hour_starts, forecast.kwh, forecast.lower, forecast.upper, strict=True
            )
        ]


def energy_clock(utc_seconds: npt.ArrayLike, zone: tzinfo) -> FloatArray:
    """UTC seconds → the energy clock: UTC plus the zone's offset rounded down to whole hours."""
    # The meter's whole UTC hours stay whole slots on :30/:45 zones; hour of day lags ≤ 45 min.
    utc = np.asarray(utc_seconds, dtype=np.float64)
    return utc + np.floor((to_wall_clock(utc, zone) - utc) / HOUR) * HOUR


def from_energy_clock(seconds: float, zone: tzinfo) -> datetime:
    """An energy-clock hour → the local start of its first real hour."""
    # The offsets in force a day either side are the only candidates.
    probes = seconds + DAY * np.array([-1.0, 0.0, 1.0])
    candidates = np.unique(seconds - (energy_clock(probes, zone) - probes))
    real = candidates[energy_clock(candidates, zone) == seconds]
    return datetime.fromtimestamp(float(real[0] if real.size else candidates[0]), zone)


def _sum_by_hour(utc: FloatArray, kwh: FloatArray, zone: tzinfo) -> tuple[FloatArray, FloatArray]:
    """One value per energy-clock hour of the UTC hours ``utc``.

    The autumn's repeated hour is the sum of both real hours, known only where both are.
    """
    if utc.size == 0:
        return utc, kwh
    # Each hour and the real hours either side of it, on the energy clock in one conversion.
    before, hours, after = energy_clock(
        np.concatenate([utc - HOUR, utc, utc + HOUR]), zone
    ).reshape(3, -1)
    # A real hour whose twin (the other real hour of its slot) has no row: the slot is unknown.
    lone = ((before == hours) & ~np.isin(utc - HOUR, utc)) | (
        (after == hours) & ~np.isin(utc + HOUR, utc)
    )
    kwh = np.where(lone, np.nan, kwh)
    unique, where = np.unique(hours, return_inverse=True)
    if unique.size == hours.size:
        return hours, kwh
    summed = np.zeros(unique.size)
    known = np.ones(unique.size, dtype=bool)
    np.add.at(summed, where, np.nan_to_num(kwh))
    np.logical_and.at(known, where, np.isfinite(kwh))
    return unique, np.where(known, summed, np.nan)
