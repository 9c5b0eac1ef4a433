"""Energy benchmarks: day-ahead forecast skill, unusual-use detection, warm-up model, speed.

Run from the repository root with the project's environment, e.g.::

    .venv/bin/python -m benchmarks.energy lcl ../shared/data/london-smart-meters-lcl-2013/*.csv.gz
    .venv/bin/python -m benchmarks.energy sceaux ../shared/data/uci-household-power-sceaux/householdpower.csv.gz
    .venv/bin/python -m benchmarks.energy anomalies ../shared/data/london-smart-meters-lcl-2013/*.csv.gz
    .venv/bin/python -m benchmarks.energy lcl --country GB ../shared/data/london-smart-meters-lcl-2013/*.csv.gz
    .venv/bin/python -m benchmarks.energy sceaux --country FR ../shared/data/uci-household-power-sceaux/householdpower.csv.gz
    .venv/bin/python -m benchmarks.energy anomalies --country GB ../shared/data/london-smart-meters-lcl-2013/*.csv.gz
    .venv/bin/python -m benchmarks.energy thermal
    .venv/bin/python -m benchmarks.energy speed

Each prints human-readable lines, then one JSON object as its last line. The benchmarks call the
same ``learning`` code with the same defaults as the integration. ``--country CODE`` (``lcl``,
``sceaux``, ``anomalies``) stands for a home whose Home Assistant country is set: its public
holidays (the ``holidays`` package) make the workday flags, as for a home without a workday
sensor; without it, Monday to Friday are the workdays.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
import json
import math
import statistics
import sys
import time
import tracemalloc

import numpy as np

from benchmarks.datasets import read_household_power, read_meter_csv
from custom_components.foresight.learning import energy, thermal
from custom_components.foresight.learning.energy import DAY, HOUR, FloatArray

MIN_EVALUATION_HISTORY_DAYS = 7  # the 7-day mean needs a week before the first scored day


def public_holidays(country: str | None, hour_starts: FloatArray) -> list[date] | None:
    """The country's public holidays over the years of ``hour_starts`` (None without a country).

    What a home without a workday sensor gets from its Home Assistant country setting.
    """
    if country is None:
        return None
    import holidays  # only needed with a country

    return sorted(holidays.country_holidays(country, years=energy.calendar_years(hour_starts)))


def _workday(holidays: list[date] | None, hour_starts: FloatArray) -> FloatArray | None:
    """Per-hour workday flags from the holidays (None: the forecaster's Monday-to-Friday)."""
    return None if holidays is None else energy.workday_flags(hour_starts, holidays)


def to_hourly(timestamps: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sum interval energy (kWh) into whole hours; an hour missing any interval is NaN."""
    keep = np.isfinite(timestamps)
    timestamps, values = timestamps[keep], values[keep]
    if timestamps.size < 2:
        return np.empty(0), np.empty(0)
    step = float(np.median(np.diff(np.unique(timestamps))))
    per_hour = max(1, round(HOUR / step))
    first = math.floor(timestamps.min() / DAY) * DAY
    slot = np.floor((timestamps - first) / HOUR).astype(np.int64)
    hours = int(slot.max()) + 1
    finite = np.isfinite(values)
    total = np.bincount(slot[finite], weights=values[finite], minlength=hours)
    count = np.bincount(slot[finite], minlength=hours)
    kwh = np.where(count == per_hour, total, np.nan)
    return first + HOUR * np.arange(hours, dtype=np.float64), kwh


@dataclass(slots=True)
class DayAheadScore:
    """Pooled day-ahead errors of Foresight and the two naive forecasts on one household."""

    nrmse: float
    nrmse_7day_mean: float
    nrmse_previous_day: float
    skill: float
    coverage_80: float
    mae: float
    mae_7day_mean: float
    mae_previous_day: float
    days: int
    models: dict[str, int]

    def as_json(self) -> dict[str, object]:
        """Rounded figures for the JSON report."""
        return {
            key: (round(value, 4) if isinstance(value, float) else value)
            for key, value in (
                ("nrmse", self.nrmse),
                ("nrmse_7day_mean", self.nrmse_7day_mean),
                ("nrmse_previous_day", self.nrmse_previous_day),
                ("skill", self.skill),
                ("coverage_80", self.coverage_80),
                ("mae", self.mae),
                ("mae_7day_mean", self.mae_7day_mean),
                ("mae_previous_day", self.mae_previous_day),
                ("days", self.days),
                ("models", self.models),
            )
        }


def _same_hour_mean(history: FloatArray, day: int, length: int) -> FloatArray:
    window = history[max(day - length, 0) : day]
    with np.errstate(invalid="ignore"):
        count = np.isfinite(window).sum(axis=0)
        return np.where(count > 0, np.nansum(window, axis=0) / np.maximum(count, 1), np.nan)


def evaluate_day_ahead(
    hour_starts: FloatArray,
    kwh: FloatArray,
    first_scored_day: float | None = None,
    holidays: list[date] | None = None,
) -> DayAheadScore | None:
    """Rolling origin: at each midnight, train on everything before it and forecast the day.

    With ``holidays``, the workday flags of the past hours and of the forecast day are given
    to training and forecast, as the integration gives them.
    """
    matrix = energy.to_day_matrix(hour_starts, kwh)
    days = matrix.values.shape[0]
    history_hours = (energy.HISTORY_DAYS + 1) * 24
    start_day = MIN_EVALUATION_HISTORY_DAYS
    if first_scored_day is not None:
        start_day = max(start_day, round((first_scored_day - matrix.first_day) / DAY))
    flat_times = matrix.first_day + HOUR * np.arange(days * 24, dtype=np.float64)
    flat_energy = matrix.values.reshape(-1)
    flags = _workday(holidays, flat_times)
    actual, ours, lower, upper, mean_7, previous = ([] for _ in range(6))
    models: dict[str, int] = {}
    for day in range(start_day, days):
        if not np.isfinite(matrix.values[day]).any():
            continue
        midnight = matrix.first_day + day * DAY
        low = max(0, day * 24 - history_hours)
        past_times = flat_times[low : day * 24]
        past_energy = flat_energy[low : day * 24]
        model = energy.EnergyForecaster.train(
            past_times,
            past_energy,
            workday=None if flags is None else flags[low : day * 24],
            now=midnight,
        )
        if model.status == "learning":
            continue
        # The forecast day's hours are appended unknown, with their workday flags.
        ahead_times = flat_times[low : day * 24 + 24]
        ahead_energy = np.concatenate([past_energy, np.full(24, np.nan)])
        forecast = model.forecast(
            ahead_times,
            ahead_energy,
            midnight,
            24,
            workday=None if flags is None else flags[low : day * 24 + 24],
        )
        models[model.model] = models.get(model.model, 0) + 1
        actual.append(matrix.values[day])
        ours.append(forecast.kwh)
        lower.append(forecast.lower)
        upper.append(forecast.upper)
        mean_7.append(_same_hour_mean(matrix.values, day, 7))
        previous.append(matrix.values[day - 1])
    if not actual:
        return None
    seen = np.concatenate(actual)
    predicted = {
        "ours": np.concatenate(ours),
        "mean_7": np.concatenate(mean_7),
        "previous": np.concatenate(previous),
    }
    # Score every method on the same hours: those where all of them have a value.
    known = np.isfinite(seen) & np.all([np.isfinite(p) for p in predicted.values()], axis=0)
    if known.sum() < 24:
        return None
    seen_known = seen[known]
    mean_load = float(seen_known.mean())

    def nrmse(name: str) -> float:
        return float(np.sqrt(np.mean((predicted[name][known] - seen_known) ** 2)) / mean_load)

    def mae(name: str) -> float:
        return float(np.mean(np.abs(predicted[name][known] - seen_known)))

    band_low, band_high = np.concatenate(lower)[known], np.concatenate(upper)[known]
    coverage = float(np.mean((seen_known >= band_low) & (seen_known <= band_high)))
    ours_nrmse, base_nrmse = nrmse("ours"), nrmse("mean_7")
    return DayAheadScore(
        nrmse=ours_nrmse,
        nrmse_7day_mean=base_nrmse,
        nrmse_previous_day=nrmse("previous"),
        skill=1.0 - ours_nrmse / base_nrmse,
        coverage_80=coverage,
        mae=mae("ours"),
        mae_7day_mean=mae("mean_7"),
        mae_previous_day=mae("previous"),
        days=len(actual),
        models=models,
    )


def run_lcl(paths: Sequence[str], country: str | None = None) -> dict[str, object]:
    """Day-ahead evaluation on London smart-meter households (half-hourly kWh)."""
    households: dict[str, DayAheadScore] = {}
    for path in paths:
        series, skipped = read_meter_csv(path)
        for meter_id, readings in series.items():
            hour_starts, kwh = to_hourly(
                np.asarray(readings.timestamps, dtype=np.float64),
                np.asarray(readings.values, dtype=np.float64),
            )
            score = evaluate_day_ahead(
                hour_starts, kwh, holidays=public_holidays(country, hour_starts)
            )
            if score is None:
                print(f"{meter_id}: too little data, skipped", file=sys.stderr)
                continue
            households[meter_id] = score
            print(
                f"{meter_id}: skill {score.skill:+.3f} nrmse {score.nrmse:.3f} "
                f"(7-day mean {score.nrmse_7day_mean:.3f}, previous day "
                f"{score.nrmse_previous_day:.3f}) coverage {score.coverage_80:.3f} "
                f"models {score.models} skipped_lines {skipped}",
                flush=True,
            )
    if not households:
        return {"error": "no household with enough data"}
    scores = list(households.values())
    return {
        "country": country,
        "median_nrmse": round(statistics.median(s.nrmse for s in scores), 4),
        "median_nrmse_7day_mean": round(statistics.median(s.nrmse_7day_mean for s in scores), 4),
        "median_nrmse_previous_day": round(
            statistics.median(s.nrmse_previous_day for s in scores), 4
        ),
        "median_skill": round(statistics.median(s.skill for s in scores), 4),
        "min_skill": round(min(s.skill for s in scores), 4),
        "median_coverage_80": round(statistics.median(s.coverage_80 for s in scores), 4),
        "median_mae": round(statistics.median(s.mae for s in scores), 4),
        "households": {key: score.as_json() for key, score in households.items()},
    }


ANOMALY_TEST_DAYS = 56  # the last eight weeks of each household are its test days
INJECTIONS_PER_KIND = 4
HEATER_KW = 2.0
HEATER_HOURS = 6
FRIDGE_W = 40.0  # a fridge's average draw; never more than 60 % of the home's base load
FRIDGE_HOURS = 48
FAULT_SEED = 20261127


ALARM_KINDS: dict[str, int] = {}  # alarm onsets by rule, faulty and clean days together
FALSE_ALARM_KINDS: dict[str, int] = {}  # alarm onsets by rule on clean days only
EMPTY_FAULTS: dict[str, int] = {}  # injected faults that change nothing (a home of 0 W base load)


def _alarm_hours(
    detector: energy.UnusualUseDetector,
    times: FloatArray,
    seen: FloatArray,
    expected: energy.EnergyForecast,
    first: int,
    last: int,
    clean: bool = False,
) -> list[int]:
    """Hour indices in [first, last) after which the detector raised a new alarm."""
    onsets: list[int] = []
    active = False
    for index in range(first, last):
        low = max(0, index - 47)
        verdict = detector.check(times[low : index + 1], seen[low : index + 1], expected)
        if verdict.active and not active:
            onsets.append(index)
            ALARM_KINDS[verdict.kind] = ALARM_KINDS.get(verdict.kind, 0) + 1
            if clean:
                FALSE_ALARM_KINDS[verdict.kind] = FALSE_ALARM_KINDS.get(verdict.kind, 0) + 1
        active = verdict.active
    return onsets


def _inject(
    kind: str, seen: FloatArray, start: int, base_load_w: float
) -> tuple[FloatArray, int, int]:
    """A copy of ``seen`` with one fault from hour ``start``; returns (data, first, end) hours."""
    faulty = seen.copy()
    if kind == "heater":
        end = start + HEATER_HOURS
        faulty[start:end] += HEATER_KW
    elif kind == "fridge":
        end = start + FRIDGE_HOURS
        fridge_kwh = min(FRIDGE_W, 0.6 * base_load_w) / 1000.0
        faulty[start:end] = np.maximum(faulty[start:end] - fridge_kwh, 0.0)
    else:  # base load doubles for a day
        end = start + 24
        faulty[start:end] += base_load_w / 1000.0
    return faulty, start, min(end, seen.size)


def evaluate_anomalies(
    hour_starts: FloatArray,
    kwh: FloatArray,
    rng: np.random.Generator,
    holidays: list[date] | None = None,
) -> dict[str, object] | None:
    """False alarms on the clean test days and detection of faults injected into them.

    With ``holidays``, their workday flags go wherever the forecaster is trained or asked.
    """
    matrix = energy.to_day_matrix(hour_starts, kwh)
    days = matrix.values.shape[0]
    if days < ANOMALY_TEST_DAYS + 35:
        return None
    times = matrix.first_day + HOUR * np.arange(days * 24, dtype=np.float64)
    seen = matrix.values.reshape(-1)
    flags = _workday(holidays, times)
    first_test = days - ANOMALY_TEST_DAYS
    false_alarms = 0
    clean_days = 0
    fault_days = {
        kind: rng.choice(np.arange(first_test, days - 2), INJECTIONS_PER_KIND, replace=False)
        for kind in ("heater", "fridge", "base_load")
    }
    detections: list[tuple[str, bool, float]] = []
    history_hours = (energy.HISTORY_DAYS + 1) * 24
    for day in range(first_test, days):
        midnight = matrix.first_day + day * DAY
        low = max(0, day * 24 - history_hours)
        past_flags = None if flags is None else flags[low : day * 24]
        forecaster = energy.EnergyForecaster.train(
            times[low : day * 24], seen[low : day * 24], workday=past_flags, now=midnight
        )
        detector = energy.UnusualUseDetector.train(
            forecaster,
            times[low : day * 24],
            seen[low : day * 24],
            now=midnight,
            workday=past_flags,
        )
        expected = energy.day_ahead_expectations(
            forecaster, times, seen, midnight - DAY, 2, workday=flags
        )
        if np.isfinite(seen[day * 24 : day * 24 + 24]).sum() >= 12:
            clean_days += 1
            false_alarms += len(
                _alarm_hours(detector, times, seen, expected, day * 24, day * 24 + 24, clean=True)
            )
        for kind, chosen in fault_days.items():
            if day not in chosen:
                continue
            start = day * 24 + (0 if kind == "base_load" else int(rng.integers(0, 24)))
            faulty, first, end = _inject(kind, seen, start, forecaster.base_load_w)
            if np.array_equal(faulty, seen, equal_nan=True):
                EMPTY_FAULTS[kind] = EMPTY_FAULTS.get(kind, 0) + 1
            window = energy.day_ahead_expectations(
                forecaster,
                times,
                faulty,
                midnight - DAY,
                2 + (end - day * 24 - 1) // 24,
                workday=flags,
            )
            onsets = _alarm_hours(detector, times, faulty, window, first, end)
            minutes = (onsets[0] + 1 - first) * 60.0 if onsets else math.nan
            detections.append((kind, bool(onsets), minutes))
    return {
        "false_alarms": false_alarms,
        "clean_days": clean_days,
        "detections": detections,
    }


def run_anomalies(paths: Sequence[str], country: str | None = None) -> dict[str, object]:
    """Unusual-use detection with faults injected into the households' test days."""
    rng = np.random.default_rng(FAULT_SEED)
    total_false, total_days = 0, 0
    detections: list[tuple[str, bool, float]] = []
    for path in paths:
        series, _ = read_meter_csv(path)
        for meter_id, readings in series.items():
            hour_starts, kwh = to_hourly(
                np.asarray(readings.timestamps, dtype=np.float64),
                np.asarray(readings.values, dtype=np.float64),
            )
            result = evaluate_anomalies(
                hour_starts, kwh, rng, public_holidays(country, hour_starts)
            )
            if result is None:
                print(f"{meter_id}: too little data, skipped", file=sys.stderr)
                continue
            found = result["detections"]
            assert isinstance(found, list)
            detections.extend(found)
            total_false += int(str(result["false_alarms"]))
            total_days += int(str(result["clean_days"]))
            hits = sum(1 for _, hit, _ in found if hit)
            print(
                f"{meter_id}: detected {hits}/{len(found)} faults, "
                f"{result['false_alarms']} false alarms in {result['clean_days']} days",
                flush=True,
            )
    if not detections:
        return {"error": "no household with enough data"}
    by_kind = {}
    for kind in ("heater", "fridge", "base_load"):
        cases = [d for d in detections if d[0] == kind]
        by_kind[kind] = {
            "detection_rate": round(sum(1 for d in cases if d[1]) / max(len(cases), 1), 4),
            "median_minutes_to_detect": _median_minutes([d[2] for d in cases if d[1]]),
        }
    return {
        "country": country,
        "detection_rate": round(sum(1 for d in detections if d[1]) / len(detections), 4),
        "median_minutes_to_detect": _median_minutes([d[2] for d in detections if d[1]]),
        "false_alarms_per_week": round(total_false / max(total_days, 1) * 7.0, 4),
        "faults": len(detections),
        "clean_days": total_days,
        "by_kind": by_kind,
        "alarms_by_rule": dict(ALARM_KINDS),
        "faults_changing_nothing": dict(EMPTY_FAULTS),
        "false_alarms_per_week_by_rule": {
            kind: round(count / max(total_days, 1) * 7.0, 4)
            for kind, count in sorted(FALSE_ALARM_KINDS.items())
        },
    }


def _median_minutes(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


THERMAL_ROOMS = 30
THERMAL_LEARNING_DAYS = 14
THERMAL_SEED = 7


@dataclass(slots=True)
class SimulatedRoom:
    """A first-order room: heat loss to outdoors, a heater whose output lags its switch."""

    loss_per_h: float
    gain_c_per_h: float
    heater_lag_min: float
    thermostat_period_min: int
    hysteresis_c: float

    def step(
        self, room: float, heater_output: float, switch: float, outdoor: float, minutes: float
    ) -> tuple[float, float]:
        """Advance by ``minutes`` (explicit Euler on one-minute steps)."""
        hours = minutes / 60.0
        heater_output += (switch - heater_output) * min(1.0, minutes / self.heater_lag_min)
        room += hours * (self.gain_c_per_h * heater_output - self.loss_per_h * (room - outdoor))
        return room, heater_output


def _outdoor_c(minute: FloatArray, rng: np.random.Generator) -> FloatArray:
    days = minute / 1440.0
    weather = np.cumsum(rng.normal(0.0, 0.02, minute.size))  # slow random drift
    daily = 4.0 * np.sin(2 * np.pi * (days - 0.375))
    return np.asarray(5.0 + daily + weather - weather.mean(), dtype=np.float64)


def _setpoint_c(minute: int) -> float:
    hour = (minute % 1440) / 60.0
    return 21.0 if (6.5 <= hour < 9.0) or (17.0 <= hour < 22.5) else 17.0


def _simulate_room(room: SimulatedRoom, rng: np.random.Generator) -> dict[str, FloatArray]:
    """Two weeks of one-minute truth; the sensor reports on a 0.1 °C change, with noise."""
    minutes = THERMAL_LEARNING_DAYS * 1440
    outdoor = _outdoor_c(np.arange(minutes, dtype=np.float64), rng)
    temperature, output, switch = 18.0, 0.0, 0.0
    sensor_t: list[float] = []
    sensor_v: list[float] = []
    action_t: list[float] = []
    action_v: list[float] = []
    last_reported = math.nan
    for minute in range(minutes):
        if minute % room.thermostat_period_min == 0:
            # A slow thermostat: it looks only every few minutes, with hysteresis.
            target = _setpoint_c(minute)
            if temperature < target - room.hysteresis_c:
                switch = 1.0
            elif temperature > target + room.hysteresis_c:
                switch = 0.0
            if not action_v or action_v[-1] != switch:
                action_t.append(minute * 60.0)
                action_v.append(switch)
        temperature, output = room.step(temperature, output, switch, float(outdoor[minute]), 1.0)
        reading = round(temperature + rng.normal(0.0, 0.05), 1)
        if reading != last_reported or minute % 30 == 0:
            sensor_t.append(minute * 60.0)
            sensor_v.append(reading)
            last_reported = reading
    return {
        "sensor_t": np.asarray(sensor_t),
        "sensor_v": np.asarray(sensor_v),
        "action_t": np.asarray(action_t),
        "action_v": np.asarray(action_v),
        "outdoor_t": np.arange(0, minutes, 15, dtype=np.float64) * 60.0,
        "outdoor_v": outdoor[::15],
    }


def _true_minutes(room: SimulatedRoom, start: float, rise: float, outdoor: float) -> float:
    """Simulated minutes for the room to warm by ``rise`` with the heater switched on."""
    temperature, output = start, 0.0
    for minute in range(1, 24 * 60):
        temperature, output = room.step(temperature, output, 1.0, outdoor, 1.0)
        if temperature >= start + rise:
            return float(minute)
    return math.nan


def run_thermal() -> dict[str, object]:
    """Learn simulated rooms for two weeks, then predict minutes to warm by 2 °C."""
    rng = np.random.default_rng(THERMAL_SEED)
    errors: list[float] = []
    unanswered = 0
    for index in range(THERMAL_ROOMS):
        loss = float(rng.uniform(0.05, 0.25))
        room = SimulatedRoom(
            loss_per_h=loss,
            gain_c_per_h=loss * float(rng.uniform(15.0, 30.0)),
            heater_lag_min=float(rng.uniform(5.0, 25.0)),
            thermostat_period_min=int(rng.integers(1, 6)),
            hysteresis_c=float(rng.uniform(0.2, 0.5)),
        )
        data = _simulate_room(room, rng)
        model = thermal.RoomThermalModel.train(
            data["sensor_t"],
            data["sensor_v"],
            heating=data["action_v"],
            heating_timestamps=data["action_t"],
            outdoor_timestamps=data["outdoor_t"],
            outdoor_temperature=data["outdoor_v"],
        )
        room_errors = []
        for _ in range(10):
            start = float(rng.uniform(15.0, 19.0))
            outdoor = float(rng.uniform(-2.0, 12.0))
            truth = _true_minutes(room, start, 2.0, outdoor)
            predicted = model.minutes_to_reach(start, start + 2.0, outdoor)
            if math.isnan(truth):
                continue
            if predicted is None:
                unanswered += 1
                continue
            room_errors.append(abs(predicted - truth))
        errors.extend(room_errors)
        print(
            f"room {index}: loss {room.loss_per_h:.3f}/h gain {room.gain_c_per_h:.2f} C/h "
            f"lag {room.heater_lag_min:.0f} min -> learned loss {model.loss_per_h:.3f} "
            f"gain {model.gain_c_per_h:.2f} delay {model.delay_min:.0f} min; "
            f"median error {statistics.median(room_errors) if room_errors else math.nan:.1f} min",
            flush=True,
        )
    return {
        "median_error_min": round(statistics.median(errors), 2) if errors else None,
        "p90_error_min": round(float(np.quantile(errors, 0.9)), 2) if errors else None,
        "cases": len(errors),
        "unanswered": unanswered,
    }


def run_sceaux(path: str, country: str | None = None) -> dict[str, object]:
    """Day-ahead evaluation on the Sceaux house over its last full year (one-minute kW)."""
    table = read_household_power(path)
    print(
        f"read {len(table.timestamps)} minutes, {table.repeats_dropped} exact 24-hour repeats "
        f"treated as missing, {table.skipped} lines skipped",
        flush=True,
    )
    timestamps = np.asarray(table.timestamps, dtype=np.float64)
    watts = np.asarray(table.active_power_kw, dtype=np.float64) * 1000.0
    hour_starts, kwh = energy.hourly_from_power(timestamps, watts, max_gap_s=SCEAUX_SAMPLE_S)
    last_day = math.floor((hour_starts[np.isfinite(kwh)].max() + HOUR) / DAY) * DAY
    first_scored = last_day - 365 * DAY
    kept = hour_starts < last_day
    score = evaluate_day_ahead(
        hour_starts[kept],
        kwh[kept],
        first_scored,
        public_holidays(country, hour_starts[kept]),
    )
    if score is None:
        return {"error": "too little data"}
    print(f"scored {score.days} days; models {score.models}", flush=True)
    return {
        "country": country,
        "nrmse": round(score.nrmse, 4),
        "nrmse_7day_mean": round(score.nrmse_7day_mean, 4),
        "nrmse_previous_day": round(score.nrmse_previous_day, 4),
        "skill": round(score.skill, 4),
        "coverage_80": round(score.coverage_80, 4),
        "mae": round(score.mae, 4),
        "mae_7day_mean": round(score.mae_7day_mean, 4),
        "days": score.days,
    }


SCEAUX_SAMPLE_S = 60.0


def run_speed() -> dict[str, object]:
    """Train on two years of hourly history plus a year of one-minute power; time and memory."""
    rng = np.random.default_rng(3)
    hourly_times = np.arange(0.0, 730 * DAY, HOUR) + 1_700_000_000 // DAY * DAY
    hour_of_day = (hourly_times % DAY) / HOUR
    hourly = (
        0.3
        + 0.4 * np.exp(-((hour_of_day - 19.0) ** 2) / 6.0)
        + rng.gamma(1.0, 0.1, hourly_times.size)
    )
    minute_times = hourly_times[-1] + HOUR + np.arange(0.0, 365 * DAY, 60.0)
    minute_watts = 300.0 + rng.gamma(1.0, 400.0, minute_times.size)
    tracemalloc.start()
    started = time.perf_counter()
    minute_hours, minute_kwh = energy.hourly_from_power(minute_times, minute_watts)
    all_times = np.concatenate([hourly_times, minute_hours])
    all_kwh = np.concatenate([hourly, minute_kwh])
    forecaster = energy.EnergyForecaster.train(all_times, all_kwh)
    detector = energy.UnusualUseDetector.train(forecaster, all_times, all_kwh)
    train_s = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    started = time.perf_counter()
    recent = all_times >= all_times[-1] - 30 * DAY
    forecaster.forecast(all_times[recent], all_kwh[recent], all_times[-1] + HOUR, 24)
    predict_ms = (time.perf_counter() - started) * 1000.0
    print(
        f"model {forecaster.model} status {forecaster.status}; threshold {detector.excess_threshold:.2f}"
    )
    return {
        "train_s": round(train_s, 3),
        "peak_mb": round(peak / 1e6, 1),
        "predict_ms": round(predict_ms, 2),
        "hourly_values": int(hourly_times.size),
        "minute_values": int(minute_times.size),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.energy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    country_help = "the home's country (Home Assistant setting): its public holidays are days off"
    for name, paths in (("lcl", "+"), ("sceaux", None), ("anomalies", "+")):
        command = sub.add_parser(name)
        command.add_argument("--country", metavar="CODE", default=None, help=country_help)
        if paths is None:
            command.add_argument("path")
        else:
            command.add_argument("paths", nargs=paths)
    sub.add_parser("thermal")
    sub.add_parser("speed")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.command == "lcl":
        result = run_lcl(args.paths, args.country)
    elif args.command == "sceaux":
        result = run_sceaux(args.path, args.country)
    elif args.command == "speed":
        result = run_speed()
    elif args.command == "thermal":
        result = run_thermal()
    elif args.command == "anomalies":
        result = run_anomalies(args.paths, args.country)
    else:
        raise SystemExit(f"unknown command {args.command}")
    print(f"elapsed {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
