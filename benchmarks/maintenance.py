"""Predictive-maintenance benchmarks: battery low dates, silent sensors, drifting appliances.

Run from the repository root, each prints one JSON object as its last line::

    .venv/bin/python -m benchmarks.maintenance batteries
    .venv/bin/python -m benchmarks.maintenance batteries --recorded-days 10
    .venv/bin/python -m benchmarks.maintenance silent --sensors ../shared/data/uci-adl-binary-ordonez/OrdonezA_Sensors.txt
    .venv/bin/python -m benchmarks.maintenance appliances

``batteries`` and ``appliances`` run on seeded simulations (documented below); ``silent`` runs
on a real home's sensor log with injected dropouts. All three call the learning code with the
integration's default settings.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
import json
import math
import time
from typing import Any

import numpy as np

from benchmarks.datasets import read_adl_intervals
from custom_components.foresight.learning.appliances import ApplianceModel, add_flagged
from custom_components.foresight.learning.batteries import (
    DEFAULT_LOW_LEVEL,
    BatteryDischarge,
    hourly_readings,
)
from custom_components.foresight.learning.rhythm import SourceRhythm

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0
MONTH = 30.44 * DAY


def _local_seconds(moment: datetime) -> float:
    """Local-wall-clock seconds, the learning code's time convention."""
    return moment.replace(tzinfo=UTC).timestamp()


# --- batteries ------------------------------------------------------------------------------

# Chemistries: share of devices, life on one battery (days), whether the reading sags in the cold.
CHEMISTRIES: dict[str, tuple[float, tuple[float, float], bool]] = {
    "alkaline_aa": (0.3, (300.0, 900.0), True),
    "alkaline_aaa": (0.2, (150.0, 500.0), True),
    "lithium_coin": (0.3, (150.0, 700.0), True),
    "li_ion": (0.2, (40.0, 150.0), False),
}
HORIZONS_DAYS = (30, 14, 7)


def _state_of_charge(chemistry: str, used: np.ndarray) -> np.ndarray:
    """The level (%) a device reports for a share ``used`` of the battery's energy."""
    used = np.clip(used, 0.0, 1.0)
    if chemistry == "li_ion":
        # A fuel gauge: close to linear in charge, with a little bend.
        return 100.0 * (1.0 - used) + 3.0 * np.sin(2 * np.pi * used)
    if chemistry == "lithium_coin":
        # Flat voltage for most of the life, then a knee.
        knee = np.clip((used - 0.85) / 0.15, 0.0, 1.0)
        return 100.0 - 12.0 * used - 88.0 * knee**2
    # Alkaline, voltage mapped to %: a steady fall that steepens at the end.
    return 100.0 * (1.0 - 0.55 * used - 0.45 * used**3)


def _simulate_battery(rng: np.random.Generator) -> dict[str, Any]:
    """One device: the end of a previous battery, a replacement, the current battery to low."""
    names = list(CHEMISTRIES)
    shares = np.array([CHEMISTRIES[name][0] for name in names])
    chemistry = names[int(rng.choice(len(names), p=shares / shares.sum()))]
    _, (life_low, life_high), sags = CHEMISTRIES[chemistry]
    life = float(rng.uniform(life_low, life_high))
    step = float(rng.choice([1.0, 5.0, 10.0], p=[0.5, 0.3, 0.2]))
    rounds = bool(rng.random() < 0.7)  # most devices round to the nearest step, some floor
    hourly = 1.0 / (life * 24.0)
    # Two batteries back to back; the previous one starts part-used.
    previous_used = float(rng.uniform(0.3, 0.8))
    hours = int((2.2 - previous_used) * life * 24.0) + 24 * 60
    # Daily use varies slowly (a busier week, a quiet month): AR(1) on the log of the rate.
    daily = np.zeros(hours // 24 + 2)
    for day in range(1, daily.size):
        daily[day] = 0.93 * daily[day - 1] + rng.normal(0.0, 0.08)
    usage = hourly * np.exp(daily[np.arange(hours) // 24] - 0.5 * 0.08**2 / (1 - 0.93**2))
    used = previous_used + np.cumsum(usage)
    true_level = _state_of_charge(chemistry, used)
    # Replaced when the previous battery read somewhere between 2 % and 15 %.
    replace_at = int(np.argmax(true_level <= rng.uniform(2.0, 15.0)))
    if replace_at == 0:
        replace_at = hours // 2
    fresh = float(rng.uniform(0.0, 0.03))
    # The new battery is not the old one: another brand or batch holds more or less charge.
    capacity = float(rng.lognormal(0.0, 0.12))
    used[replace_at:] = fresh + np.cumsum(usage[replace_at:]) / capacity
    true_level = _state_of_charge(chemistry, used)
    below = np.nonzero(true_level[replace_at:] <= DEFAULT_LOW_LEVEL)[0]
    if below.size == 0:
        return {}
    low_hour = replace_at + int(below[0])
    shown = true_level.copy()
    if sags and rng.random() < 0.4:
        # An outdoor device: the reading sags in cold spells and comes back when it warms.
        day_of_year = rng.uniform(0, 365) + np.arange(hours) / 24.0
        weather = np.zeros(daily.size)
        for day in range(1, weather.size):
            weather[day] = 0.8 * weather[day - 1] + rng.normal(0.0, 2.5)
        outdoor = 9.0 - 9.0 * np.cos(2 * np.pi * (day_of_year - 15) / 365.0)
        outdoor += weather[np.arange(hours) // 24]
        sag = float(rng.uniform(0.5, 2.0)) * np.maximum(0.0, 2.0 - outdoor)
        shown = shown - sag
    if chemistry == "li_ion":
        shown = shown + rng.normal(0.0, 0.4, hours)
    reading = (np.round(shown / step) if rounds else np.floor(shown / step)) * step
    reading = np.clip(reading, 0.0, 100.0)
    # Irregular reporting: a device's own period, jitter, and days offline now and then.
    period = float(rng.choice([1.0, 2.0, 6.0, 12.0, 24.0]))
    moments: list[float] = []
    moment = float(rng.uniform(0.0, period))
    while moment < hours - 1:
        moments.append(moment)
        moment += period * float(rng.lognormal(0.0, 0.3))
        if rng.random() < 0.004 * period:
            moment += float(rng.uniform(24.0, 120.0))
    at = np.asarray(moments)
    start = float(rng.uniform(0, 1e6)) * 3600.0  # an arbitrary start on the clock
    return {
        "chemistry": chemistry,
        "step": step,
        "times": start + at * HOUR,
        "levels": reading[at.astype(int)],
        "replaced_at": start + replace_at * HOUR,
        "low_at": start + low_hour * HOUR,
    }


def _hourly_summaries(
    times: np.ndarray, levels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What long-term statistics keep of reports: each hour's start, lowest and highest level.

    An hour holds the level reported before it began (held) and every report inside it.
    """
    first = math.floor(times[0] / HOUR) * HOUR
    starts = first + HOUR * np.arange(math.floor((times[-1] - first) / HOUR) + 1)
    held = levels[np.maximum(np.searchsorted(times, starts, side="left") - 1, 0)]
    held[starts <= times[0]] = np.nan  # nothing reported yet when the first hour began
    slot = ((times - first) // HOUR).astype(int)
    lows = np.full(starts.size, np.inf)
    highs = np.full(starts.size, -np.inf)
    np.minimum.at(lows, slot, levels)
    np.maximum.at(highs, slot, levels)
    return starts, np.fmin(lows, held), np.fmax(highs, held)


def _battery_history(
    device: dict[str, Any], now: float, recorded_days: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """The readings known at ``now``: the reports, or hourly summaries beyond the recorder's days."""
    seen = device["times"] <= now
    times, levels = device["times"][seen], device["levels"][seen]
    if recorded_days is None:
        return times, levels
    recent = times >= now - recorded_days * DAY
    cut = float(times[recent][0]) if recent.any() else now
    starts, lows, highs = device["hourly"]
    summarised = starts + HOUR <= cut
    early_times, early_levels = hourly_readings(
        starts[summarised], lows[summarised], highs[summarised], HOUR
    )
    return np.concatenate([early_times, times[recent]]), np.concatenate(
        [early_levels, levels[recent]]
    )


def run_batteries(
    devices: int, seeds: Sequence[int], recorded_days: float | None = None
) -> dict[str, Any]:
    """Each seed's ``devices`` simulated batteries, pooled; and each seed's own figures.

    One seed's 200 devices give medians that move by half a day between seeds: the headline
    figures pool all seeds, and the spread between seeds is reported with them. With
    ``recorded_days``, only the reports of those last days are known; everything before them
    only as hourly lows and highs, as a recorder's long-term statistics keep them.
    """
    pooled: dict[int, list[float]] = {horizon: [] for horizon in HORIZONS_DAYS}
    pooled_inside: list[bool] = []
    per_seed: dict[str, dict[str, Any]] = {}
    for seed in seeds:
        one = _run_battery_seed(devices, seed, recorded_days)
        for horizon in HORIZONS_DAYS:
            pooled[horizon] += one.pop(f"_errors_{horizon}d")
        pooled_inside += one.pop("_inside")
        per_seed[str(seed)] = one
    result: dict[str, Any] = {
        "benchmark": "batteries",
        "devices": devices * len(seeds),
        "seeds": list(seeds),
        "recorded_days": recorded_days,
    }
    for horizon in HORIZONS_DAYS:
        result[f"mae_days_{horizon}d"] = _rounded_median(pooled[horizon])
    result["coverage_80"] = _ratio(sum(pooled_inside), len(pooled_inside))
    for horizon in HORIZONS_DAYS:  # devices with no date then, or no battery in yet
        result[f"no_date_{horizon}d"] = sum(one[f"no_date_{horizon}d"] for one in per_seed.values())
    for key in ("mae_days_30d", "mae_days_14d", "mae_days_7d", "coverage_80"):
        values = [one[key] for one in per_seed.values() if one[key] is not None]
        result[f"{key}_seed_median"] = _rounded_median(values)
        result[f"{key}_seed_range"] = [min(values), max(values)] if values else None
    result["per_seed"] = per_seed
    return result


def _run_battery_seed(devices: int, seed: int, recorded_days: float | None) -> dict[str, Any]:
    """Predict each simulated battery's low date 30, 14 and 7 days before it happens."""
    rng = np.random.default_rng(seed)
    errors: dict[int, list[float]] = {horizon: [] for horizon in HORIZONS_DAYS}
    inside: dict[int, list[bool]] = {horizon: [] for horizon in HORIZONS_DAYS}
    no_date: dict[int, int] = dict.fromkeys(HORIZONS_DAYS, 0)
    by_chemistry: dict[str, list[float]] = {}
    replacements_found = 0
    simulated = 0
    timings: list[float] = []
    while simulated < devices:
        device = _simulate_battery(rng)
        if not device:
            continue
        simulated += 1
        if recorded_days is not None:
            device["hourly"] = _hourly_summaries(device["times"], device["levels"])
        for horizon in HORIZONS_DAYS:
            now = device["low_at"] - horizon * DAY
            if now <= device["replaced_at"]:
                no_date[horizon] += 1  # the battery was not in yet: nothing to predict
                continue
            started = time.perf_counter()
            discharge = BatteryDischarge.from_history(*_battery_history(device, now, recorded_days))
            forecast = discharge.forecast(now)
            timings.append(time.perf_counter() - started)
            if horizon == HORIZONS_DAYS[0]:
                replacements_found += discharge.replacements >= 1
            if forecast.low_at is None or forecast.status not in ("predicted", "low"):
                no_date[horizon] += 1
                continue
            error = abs(forecast.low_at - device["low_at"]) / DAY
            errors[horizon].append(error)
            by_chemistry.setdefault(f"{device['chemistry']}_{horizon}d", []).append(error)
            assert forecast.low_at_early is not None and forecast.low_at_late is not None
            inside[horizon].append(
                forecast.low_at_early <= device["low_at"] <= forecast.low_at_late
            )
    coverage = [flag for horizon in HORIZONS_DAYS for flag in inside[horizon]]
    result: dict[str, Any] = {"devices": devices}
    for horizon in HORIZONS_DAYS:
        result[f"mae_days_{horizon}d"] = _rounded_median(errors[horizon])
    result["coverage_80"] = _ratio(sum(coverage), len(coverage))
    for horizon in HORIZONS_DAYS:
        result[f"mean_abs_error_days_{horizon}d"] = (
            round(float(np.mean(errors[horizon])), 3) if errors[horizon] else None
        )
        result[f"coverage_80_{horizon}d"] = _ratio(sum(inside[horizon]), len(inside[horizon]))
        result[f"no_date_{horizon}d"] = no_date[horizon]
    result["median_abs_error_days_by_chemistry"] = {
        key: _rounded_median(values) for key, values in sorted(by_chemistry.items())
    }
    result["replacement_seen_share"] = _ratio(replacements_found, devices)
    result["median_ms_per_device_fit"] = round(1000 * float(np.median(timings)), 2)
    for horizon in HORIZONS_DAYS:
        result[f"_errors_{horizon}d"] = errors[horizon]
    result["_inside"] = coverage
    return result


# --- silent sensors -------------------------------------------------------------------------


def _sensor_reports(path: str) -> tuple[dict[str, list[tuple[float, bool]]], int]:
    """Each sensor's reports (time, on) from a UCI ADL sensors file: on at start, off at end."""
    parsed = read_adl_intervals(path)
    reports: dict[str, list[tuple[float, bool]]] = {}
    for row in parsed.rows:
        # Location, type and place together name a sensor (two homes may reuse a location).
        sensor = "/".join(row.fields)
        reports.setdefault(sensor, []).append((_local_seconds(row.start), True))
        reports[sensor].append((_local_seconds(row.end), False))
    for events in reports.values():
        events.sort(key=lambda event: (event[0], not event[1]))
    return reports, parsed.skipped


def _replay(
    rhythm: SourceRhythm, events: Sequence[tuple[float, bool]], start: float, end: float
) -> tuple[list[tuple[float, float]], float]:
    """Feed ``events`` and check every minute from ``start`` to ``end``.

    Returns the problem periods (silent or stuck) and the seconds the source was judged.
    """
    periods: list[tuple[float, float]] = []
    onset: float | None = None
    judged_seconds = 0.0
    index = 0
    minute = start
    while minute <= end:
        while index < len(events) and events[index][0] <= minute:
            rhythm.record(*events[index])
            index += 1
        verdict = rhythm.check(minute)
        judged_seconds += MINUTE if verdict.status != "learning" else 0.0
        if verdict.problem and onset is None:
            onset = minute
        elif not verdict.problem and onset is not None:
            periods.append((onset, minute))
            onset = None
        minute += MINUTE
    if onset is not None:
        periods.append((onset, end))
    return periods, judged_seconds


def run_silent(path: str, dropouts_per_sensor: int, seed: int) -> dict[str, Any]:
    """Learn rhythms on the first half of the days, inject dropouts into the second half."""
    reports, skipped = _sensor_reports(path)
    if not reports:
        raise SystemExit(f"no sensor rows read from {path}")
    first = min(events[0][0] for events in reports.values())
    last = max(events[-1][0] for events in reports.values())
    day_zero = math.floor(first / DAY) * DAY
    days = math.ceil((last - day_zero) / DAY)
    split = day_zero + (days // 2) * DAY
    test_days = (last - split) / DAY
    rng = np.random.default_rng(seed)

    def trained(sensor: str) -> SourceRhythm:
        rhythm = SourceRhythm()
        for moment, is_on in reports[sensor]:
            if moment < split:
                rhythm.record(moment, is_on)
        return rhythm

    # Untouched sensors: every alarm in the second half is a false alarm, per sensor-month.
    false_alarms = 0
    judged_seconds = 0.0
    not_judged: list[str] = []
    per_sensor: dict[str, dict[str, Any]] = {}
    for sensor in sorted(reports):
        rhythm = trained(sensor)
        if not rhythm.judged:
            not_judged.append(sensor)
        test_events = [event for event in reports[sensor] if event[0] >= split]
        periods, seconds = _replay(rhythm, test_events, split, last)
        false_alarms += len(periods)
        judged_seconds += seconds
        per_sensor[sensor] = {
            "judged_at_split": sensor not in not_judged,
            "judged_days": round(seconds / DAY, 2),
            "false_alarms": len(periods),
        }

    detected_delays: list[float] = []
    strict_detected = 0
    judged_dropouts = 0
    judged_detected = 0
    learning_dropouts = 0
    dropouts = 0
    for sensor in sorted(reports):
        for _ in range(dropouts_per_sensor):
            length = float(rng.uniform(1.0, 5.0)) * DAY
            if last - split <= length:
                continue
            start = float(rng.uniform(split, last - length))
            rhythm = trained(sensor)
            kept = [event for event in reports[sensor] if not start <= event[0] < start + length]
            before = [event for event in kept if split <= event[0] < start]
            after = [event for event in kept if event[0] >= start + length]
            # The silence the dropout causes lasts until the sensor's next report after it.
            back = after[0][0] if after else last
            _replay(rhythm, before, split, start - MINUTE)
            dropouts += 1
            # A sensor still "learning" when it drops out is a dropout missed (counted apart).
            judged = rhythm.check(start).status != "learning"
            judged_dropouts += judged
            learning_dropouts += not judged
            periods, _ = _replay(rhythm, [], start, back - MINUTE)
            if periods:
                detected_delays.append((periods[0][0] - start) / HOUR)
                strict_detected += periods[0][0] < start + length
                judged_detected += judged
            found = per_sensor[sensor].setdefault("dropouts_detected", [0, 0])
            found[0] += bool(periods)
            found[1] += 1
    sensor_months = len(reports) * (last - split) / MONTH
    judged_months = judged_seconds / MONTH
    return {
        "benchmark": "silent",
        "sensors": len(reports),
        "rows_skipped": skipped,
        "train_days": days // 2,
        "test_days": round(test_days, 2),
        "judged_sensors_at_split": len(reports) - len(not_judged),
        "not_judged_at_split": not_judged,
        "sensor_months": round(sensor_months, 3),
        "judged_sensor_months": round(judged_months, 3),
        "dropouts": dropouts,
        "dropouts_judged": judged_dropouts,
        "dropouts_on_learning_sensors": learning_dropouts,
        "detection_rate": _ratio(len(detected_delays), dropouts),
        "detection_rate_within_dropout": _ratio(strict_detected, dropouts),
        "detection_rate_judged": _ratio(judged_detected, judged_dropouts),
        "median_hours_to_detect": _rounded_median(detected_delays),
        "false_alarms": false_alarms,
        "false_alarms_per_sensor_month": _ratio(false_alarms, sensor_months),
        "false_alarms_per_judged_sensor_month": _ratio(false_alarms, judged_months),
        "per_sensor": per_sensor,
    }


# --- appliances -----------------------------------------------------------------------------

APPLIANCE_KINDS = ("fridge", "freezer", "heat_pump")
FAULTS = {
    "fridge": ("weak_compressor", "stopped", "stuck_on", "high_power"),
    "freezer": ("weak_compressor", "stopped", "stuck_on", "high_power"),
    "heat_pump": ("weak_compressor", "high_power", "short_cycling"),
}
SIM_DAYS = 100
TRAIN_DAYS_FIRST = 28  # the first model is trained on these days, then retrained every day


def _outdoor_temperature(rng: np.random.Generator, start_day: float, minutes: int) -> np.ndarray:
    """Seasons, weather that changes over days, and a daily swing (°C), one value a minute."""
    days = minutes // 1440 + 2
    weather = np.zeros(days)
    for day in range(1, days):
        weather[day] = 0.8 * weather[day - 1] + rng.normal(0.0, 2.5)
    minute = np.arange(minutes)
    day_of_year = start_day + minute / 1440.0
    seasonal = 10.0 - 9.0 * np.cos(2 * np.pi * (day_of_year - 15.0) / 365.0)
    daily = 3.0 * np.sin(2 * np.pi * ((minute % 1440) / 1440.0 - 0.375))
    smooth_weather = np.interp(minute / 1440.0, np.arange(days), weather)
    return np.asarray(seasonal + smooth_weather + daily)


def _simulate_appliance(rng: np.random.Generator, kind: str, fault: str | None) -> dict[str, Any]:
    """One appliance's power, a minute at a time, from a thermostat and the weather."""
    minutes = SIM_DAYS * 1440
    # Heat pumps are simulated in the heating season, when their faults can show at all.
    start_day = float(rng.uniform(280, 420) if kind == "heat_pump" else rng.uniform(0, 365))
    outdoor = _outdoor_temperature(rng, start_day, minutes)
    fault_at = int(rng.uniform(35, 85) * 1440) if fault else minutes + 1
    power = np.zeros(minutes)
    # How bad the fault is: capacity left for a weak compressor, power factor for a worn one.
    weak = float(rng.uniform(0.5, 0.7))
    worn = float(rng.uniform(1.3, 1.6))
    if kind == "heat_pump":
        inside, band = 20.5, 0.5 * float(rng.uniform(0.8, 1.2))
        leak = 1.0 / float(rng.uniform(1800, 3000))  # per minute, towards the outdoor air
        capacity = float(rng.uniform(0.018, 0.026))  # °C per minute while running
        rated = float(rng.uniform(1000, 2200))  # W at 0 °C outdoors
        standby = float(rng.uniform(5, 20))
        hot_water_at = int(rng.uniform(11, 16) * 60)
    else:
        freezer = kind == "freezer"
        setpoint = -18.0 if freezer else 4.0
        inside, band = setpoint, float(rng.uniform(0.8, 1.3))
        leak = 1.0 / float(rng.uniform(1300, 1800) if freezer else rng.uniform(500, 750))
        capacity = float(rng.uniform(0.055, 0.075))
        rated = float(rng.uniform(80, 150))
        standby = float(rng.uniform(0.5, 3.0))
        defrost_every = int(rng.uniform(24, 36) * 60) if rng.random() < 0.5 else 0
    running = False
    for minute in range(minutes):
        broken = fault if minute >= fault_at else None
        hour = (minute % 1440) / 60.0
        if kind == "heat_pump":
            target = inside
            gain = 0.0015 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)  # sun and cooking
            heat = capacity * (1.0 + 0.02 * outdoor[minute])
            if broken == "weak_compressor":
                heat *= weak
            hysteresis = band * (0.2 if broken == "short_cycling" else 1.0)
            if target < 20.5 - hysteresis:
                running = True
            elif target > 20.5 + hysteresis:
                running = False
            inside += leak * (outdoor[minute] - inside) + gain + (heat if running else 0.0)
            watts = rated * (1.0 - 0.015 * outdoor[minute]) if running else standby
            if minute % 1440 in range(hot_water_at, hot_water_at + 40):
                watts = max(watts, 1.3 * rated)  # the daily hot-water run
        else:
            room = 20.0 + 0.2 * (outdoor[minute] - 10.0) + 1.0 * math.sin(2 * math.pi * hour / 24.0)
            door = 0.0
            if (7 <= hour < 8.5 or 12 <= hour < 13.5 or 18 <= hour < 20.5) and rng.random() < 0.03:
                door = float(rng.uniform(0.2, 0.8)) * (0.4 if kind == "freezer" else 1.0)
            cooling = capacity * (weak if broken == "weak_compressor" else 1.0)
            if broken == "stopped":
                running = False
            elif broken == "stuck_on" or inside > setpoint + band:
                running = True
            elif inside < setpoint - band:
                running = False
            defrosting = bool(defrost_every) and minute % defrost_every < 25
            if defrosting:
                running = False
            inside += leak * (room - inside) + door - (cooling if running else 0.0)
            watts = rated * (1.0 + 0.01 * (room - 20.0)) if running else standby
            if defrosting:
                watts = 2.2 * rated
        if broken == "high_power" and watts > 2 * standby:
            watts *= worn
        power[minute] = watts
    power *= 1.0 + rng.normal(0.0, 0.02, minutes)
    # Readings: every minute, with an hour or so lost now and then.
    keep = np.ones(minutes, dtype=bool)
    for _ in range(int(rng.poisson(3))):
        lost = int(rng.uniform(0, minutes - 120))
        keep[lost : lost + int(rng.uniform(10, 120))] = False
    moments = np.arange(minutes, dtype=np.float64) * MINUTE + math.floor(start_day) * DAY
    hourly = np.arange(0, minutes, 60)
    return {
        "kind": kind,
        "fault": fault,
        "fault_at": float(moments[0] + fault_at * MINUTE),
        "times": moments[keep],
        "power": power[keep],
        "temperature_times": moments[hourly],
        "temperatures": outdoor[hourly] + rng.normal(0.0, 0.3, hourly.size),
    }


def run_appliances(per_kind: int, seed: int) -> dict[str, Any]:
    """Watch simulated appliances, half of them developing a fault, with hourly checks."""
    rng = np.random.default_rng(seed)
    detected: list[float] = []
    missed: list[str] = []
    faults = 0
    false_alarms = 0
    healthy_seconds = 0.0
    by_fault: dict[str, list[bool]] = {}
    false_by_measure: dict[str, int] = {}
    for kind in APPLIANCE_KINDS:
        for index in range(per_kind):
            fault = FAULTS[kind][index // 2 % len(FAULTS[kind])] if index % 2 else None
            appliance = _simulate_appliance(rng, kind, fault)
            times, power = appliance["times"], appliance["power"]
            outdoor = (appliance["temperature_times"], appliance["temperatures"])
            start = float(times[0]) + TRAIN_DAYS_FIRST * DAY
            end = float(times[-1])
            fault_at = appliance["fault_at"]
            flagged: list[tuple[float, float]] = []
            model = ApplianceModel()
            alarm = False
            found: float | None = None
            moment = start
            while moment <= end:
                if (moment - start) % DAY == 0:
                    # The integration retrains daily, never on periods it flagged.
                    seen = times <= moment
                    model = ApplianceModel.fit(times[seen], power[seen], *outdoor, exclude=flagged)
                low = int(np.searchsorted(times, moment - 32 * HOUR))
                high = int(np.searchsorted(times, moment, side="right"))
                verdict = model.check(times[low:high], power[low:high], moment, *outdoor)
                now_alarm = verdict.status == "drifted"
                if now_alarm:
                    flagged = add_flagged(flagged, moment - HOUR, moment)
                    if not alarm:
                        if moment < fault_at:
                            false_alarms += 1
                            for measure in verdict.drifted_measures:
                                key = f"{kind}/{measure}"
                                false_by_measure[key] = false_by_measure.get(key, 0) + 1
                        elif found is None:
                            found = moment
                alarm = now_alarm
                moment += HOUR
            healthy_seconds += max(0.0, min(end, fault_at) - start)
            if fault:
                faults += 1
                by_fault.setdefault(f"{kind}/{fault}", []).append(found is not None)
                if found is not None:
                    detected.append((found - fault_at) / HOUR)
                else:
                    missed.append(f"{kind}/{fault}")
    return {
        "benchmark": "appliances",
        "appliances": per_kind * len(APPLIANCE_KINDS),
        "faults": faults,
        "detection_rate": _ratio(len(detected), faults),
        "median_hours_to_detect": _rounded_median(detected),
        "false_alarms": false_alarms,
        "false_alarms_per_appliance_month": _ratio(false_alarms, healthy_seconds / MONTH),
        "healthy_appliance_months": round(healthy_seconds / MONTH, 2),
        "detected_by_fault": {
            name: f"{sum(flags)}/{len(flags)}" for name, flags in sorted(by_fault.items())
        },
        "false_alarms_by_measure": dict(sorted(false_by_measure.items())),
        "missed": missed,
    }


# --- shared ---------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0 else None


def _rounded_median(values: Sequence[float]) -> float | None:
    return round(float(np.median(values)), 3) if len(values) else None


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run one benchmark, print its JSON last."""
    parser = argparse.ArgumentParser(prog="benchmarks.maintenance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    batteries = commands.add_parser("batteries", help="battery low dates, simulated")
    batteries.add_argument("--devices", type=int, default=200)
    batteries.add_argument(
        "--seeds", default="7,11,13,17,19", help="comma-separated seeds, devices pooled"
    )
    batteries.add_argument(
        "--recorded-days",
        type=float,
        default=None,
        help="know only these last days as reports, the rest as hourly lows and highs",
    )
    silent = commands.add_parser("silent", help="silent / stuck sensors on a UCI ADL log")
    silent.add_argument("--sensors", required=True, help="a UCI ADL *_Sensors.txt file")
    silent.add_argument("--dropouts-per-sensor", type=int, default=10)
    silent.add_argument("--seed", type=int, default=7)
    appliances = commands.add_parser("appliances", help="drifting appliances, simulated")
    appliances.add_argument("--per-kind", type=int, default=16)
    appliances.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.command == "batteries":
        seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
        result = run_batteries(args.devices, seeds, args.recorded_days)
    elif args.command == "silent":
        result = run_silent(args.sensors, args.dropouts_per_sensor, args.seed)
    else:
        result = run_appliances(args.per_kind, args.seed)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
