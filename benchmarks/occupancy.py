"""Occupancy benchmarks on real data, and speed on a synthetic year.

Run from the repository root with the project's environment::

    .venv/bin/python -m benchmarks.occupancy uci --train PATH --test PATH
    .venv/bin/python -m benchmarks.occupancy adl --sensors PATH --activities PATH
    .venv/bin/python -m benchmarks.occupancy speed

Each prints human-readable lines, then one JSON object as its last line. The model is trained and
queried through exactly the code and defaults the integration uses (``learning.occupancy*``);
only the evaluation against the datasets' labels lives here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
import itertools
import json
import math
import resource
import sys
import time as clock
import tracemalloc
from typing import Any

import numpy as np

from benchmarks.datasets import read_adl_intervals, read_uci_occupancy
from custom_components.foresight.learning.occupancy import FORECAST_STEP, train_occupancy
from custom_components.foresight.learning.occupancy_live import OccupancyTracker
from custom_components.foresight.learning.occupancy_model import OccupancyModel
from custom_components.foresight.learning.occupancy_signals import (
    DAY,
    HOUR,
    MINUTE,
    OccupancySource,
    SourceSeries,
)
from custom_components.foresight.learning.occupancy_stats import fit_routine

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

UCI_KINDS = {
    "temperature": "temperature",
    "humidity": "humidity",
    "light": "illuminance",
    "co2": "co2",
    "humidityratio": "humidity",
}
UCI_LABEL = "occupancy"
UCI_ROOM = "office"

ADL_KINDS = {
    "pir": "motion",
    "pressure": "motion",  # a pressure mat is an occupancy binary sensor
    "flush": "motion",
    "magnetic": "door",
    "electric": "power",  # a plug: above standby while the appliance runs
}
ADL_ROOM_OF_ACTIVITY = {
    "sleeping": "Bedroom",
    "toileting": "Bathroom",
    "showering": "Bathroom",
    "grooming": "Bathroom",
    "breakfast": "Kitchen",
    "lunch": "Kitchen",
    "dinner": "Kitchen",
    "snack": "Kitchen",
    "spare_time/tv": "Living",
}
ADL_AWAY = "leaving"
HORIZONS = {"15m": 15 * MINUTE, "1h": HOUR, "3h": 3 * HOUR, "24h": 24 * HOUR}
EVAL_STEP = MINUTE  # now-casts are scored every minute
FORECAST_EVAL_STEP = 5 * MINUTE  # forecasts every five minutes


def wall_clock(stamp: datetime) -> float:
    """The learning API's time: a naive local datetime read as if it were UTC."""
    return stamp.replace(tzinfo=UTC).timestamp()


def brier(probability: FloatArray, outcome: FloatArray) -> float:
    """Mean squared error of probabilities against 0/1 outcomes."""
    return float(np.mean((probability - outcome) ** 2))


def f1_score(predicted: FloatArray, outcome: FloatArray) -> float:
    """F1 of the positive class."""
    true_positive = float(np.sum((predicted == 1) & (outcome == 1)))
    positive = float(np.sum(predicted == 1))
    actual = float(np.sum(outcome == 1))
    if true_positive == 0.0:
        return 0.0
    precision, recall = true_positive / positive, true_positive / actual
    return 2 * precision * recall / (precision + recall)


def balanced_accuracy(predicted: FloatArray, outcome: FloatArray) -> float:
    """Mean of the recall of each class (NaN if a class never occurs)."""
    recalls = [
        float(np.mean(predicted[outcome == value] == value))
        for value in (0.0, 1.0)
        if np.any(outcome == value)
    ]
    return float(np.mean(recalls)) if len(recalls) == 2 else math.nan


def _round(value: float, digits: int = 4) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


# --- UCI Occupancy Detection -------------------------------------------------------------------


def _uci_series(
    path: str, use_light: bool
) -> tuple[list[OccupancySource], dict[str, SourceSeries], FloatArray, FloatArray]:
    table = read_uci_occupancy(path)
    times = np.asarray([wall_clock(stamp) for stamp in table.times])
    sources: list[OccupancySource] = []
    history: dict[str, SourceSeries] = {}
    label = np.full(times.size, np.nan)
    for name, column in table.columns.items():
        key = name.lower().replace(" ", "")
        values = np.asarray(column, dtype=np.float64)
        if key == UCI_LABEL:
            label = values
            sources.append(OccupancySource(name, "motion", UCI_ROOM, reliable=True))
        elif key in UCI_KINDS and (use_light or key != "light"):
            sources.append(OccupancySource(name, UCI_KINDS[key], UCI_ROOM))
        else:
            continue
        history[name] = SourceSeries.of(times, values)
    return sources, history, times, label


def run_uci(train_path: str, test_path: str) -> dict[str, Any]:
    """Train with the label as the room's presence sensor; predict it from the others."""
    result: dict[str, Any] = {}
    for use_light, suffix in ((True, ""), (False, "_no_light")):
        sources, history, times, _ = _uci_series(train_path, use_light)
        model = train_occupancy(sources, history, float(times[0]), float(times[-1]) + MINUTE)
        _, test_history, test_times, label = _uci_series(test_path, use_light)
        label_source = next(s.source_id for s in sources if s.reliable)
        test_history.pop(label_source, None)  # the presence sensor is what we predict
        tracker = OccupancyTracker(model)
        events = sorted(
            (float(t), sid, float(v))
            for sid, series in test_history.items()
            for t, v in zip(series.times, series.values, strict=True)
        )
        probability = np.empty(test_times.size)
        cursor = 0
        for row, now in enumerate(test_times):
            while cursor < len(events) and events[cursor][0] <= now:
                tracker.observe(events[cursor][1], events[cursor][0], events[cursor][2])
                cursor += 1
            probability[row] = tracker.occupancy_probability(UCI_ROOM, float(now))
        known = np.isfinite(label)
        predicted = (probability[known] >= 0.5) * 1.0
        result[f"accuracy{suffix}"] = _round(float(np.mean(predicted == label[known])))
        result[f"brier{suffix}"] = _round(brier(probability[known], label[known]))
        result[f"f1{suffix}"] = _round(f1_score(predicted, label[known]))
        result[f"status{suffix}"] = model.rooms[UCI_ROOM].status
        print(
            f"UCI {'all sensors' if use_light else 'without Light'}: "
            f"accuracy {result[f'accuracy{suffix}']}, Brier {result[f'brier{suffix}']}, "
            f"F1 {result[f'f1{suffix}']}, model status {model.rooms[UCI_ROOM].status}, "
            f"held-out skill {model.rooms[UCI_ROOM].scores.get('nowcast_skill')}"
        )
    return result


# --- UCI ADL (Ordóñez) -------------------------------------------------------------------------


def _adl_sources(path: str) -> tuple[list[OccupancySource], dict[str, SourceSeries], float, float]:
    parsed = read_adl_intervals(path)
    events: dict[str, list[tuple[float, float]]] = {}
    places: dict[str, tuple[str, str]] = {}
    for row in parsed.rows:
        if len(row.fields) < 3:
            continue
        location, kind, place = row.fields[0], row.fields[1], row.fields[-1]
        sensor_kind = ADL_KINDS.get(kind.lower())
        if sensor_kind is None:
            continue
        places.setdefault(location, (sensor_kind, place))
        events.setdefault(location, []).extend(
            ((wall_clock(row.start), 1.0), (wall_clock(row.end), 0.0))
        )
    sources = [
        OccupancySource(location, kind, place) for location, (kind, place) in sorted(places.items())
    ]
    history = {}
    for location, changes in events.items():
        changes.sort(key=lambda change: change[0])  # stable: an interval's start before its end
        history[location] = SourceSeries.of([c[0] for c in changes], [c[1] for c in changes])
    first = min(wall_clock(row.start) for row in parsed.rows)
    last = max(wall_clock(row.end) for row in parsed.rows)
    return sources, history, first, last


def _adl_labels(
    path: str,
) -> tuple[list[tuple[float, float]], dict[str, list[tuple[float, float]]]]:
    parsed = read_adl_intervals(path)
    away: list[tuple[float, float]] = []
    rooms: dict[str, list[tuple[float, float]]] = {}
    for row in parsed.rows:
        activity = row.fields[0].lower()
        span = (wall_clock(row.start), wall_clock(row.end))
        if activity == ADL_AWAY:
            away.append(span)
        elif activity in ADL_ROOM_OF_ACTIVITY:
            rooms.setdefault(ADL_ROOM_OF_ACTIVITY[activity], []).append(span)
    return away, rooms


def _inside(spans: Sequence[tuple[float, float]], times: FloatArray) -> FloatArray:
    inside = np.zeros(times.size)
    for start, end in spans:
        inside[(times >= start) & (times < end)] = 1.0
    return inside


def _clip_history(history: dict[str, SourceSeries], end: float) -> dict[str, SourceSeries]:
    return {
        key: SourceSeries(series.times[series.times < end], series.values[series.times < end])
        for key, series in history.items()
    }


def run_adl(sensors_path: str, activities_path: str) -> dict[str, Any]:
    """Learn without labels on the first half of the days; score on the second half."""
    sources, history, first, last = _adl_sources(sensors_path)
    away, room_spans = _adl_labels(activities_path)
    start = math.floor(first / DAY) * DAY
    days = math.ceil((last - start) / DAY)
    split = start + (days // 2) * DAY
    end = last
    model = train_occupancy(sources, _clip_history(history, split), start, split)
    print(
        f"ADL: trained on {model.history_days:.1f} days; home status {model.home.status}, "
        f"entrance {model.home.entrances}, held-out scores "
        + json.dumps({k: _round(v) for k, v in model.home.scores.items()})
    )
    for room, unit in model.rooms.items():
        print(f"  {room}: status {unit.status}, hold {unit.hold / MINUTE:.1f} min")
    tracker = OccupancyTracker(model)
    events = sorted(
        (float(t), sid, float(v))
        for sid, series in history.items()
        for t, v in zip(series.times, series.values, strict=True)
    )
    times = np.arange(split, end, EVAL_STEP, dtype=np.float64)
    rooms = sorted(room_spans)
    home_now = np.empty(times.size)
    room_now = {room: np.empty(times.size) for room in rooms}
    forecast_times: list[float] = []
    forecast_rows: list[FloatArray] = []
    model_only_rows: list[FloatArray] = []
    arrival_rows: list[tuple[float, float | None, bool]] = []
    departure_rows: list[tuple[float, float | None, bool]] = []
    cursor = 0
    for row, now in enumerate(times):
        while cursor < len(events) and events[cursor][0] <= now:
            tracker.observe(events[cursor][1], events[cursor][0], events[cursor][2])
            cursor += 1
        home_now[row] = tracker.occupancy_probability(None, float(now))
        for room in rooms:
            if room in model.rooms:
                room_now[room][row] = tracker.occupancy_probability(room, float(now))
            else:
                room_now[room][row] = 0.0
        if (now - split) % FORECAST_EVAL_STEP == 0:
            forecast = tracker.forecast(None, float(now))
            forecast_times.append(float(now))
            forecast_rows.append(forecast.probabilities)
            model_only_rows.append(
                tracker.forecast(None, float(now), use_fallback=False).probabilities
            )
            outlook = tracker.home_outlook(float(now))
            arrival, departure = outlook.expected_arrival, outlook.expected_departure
            arrival_rows.append(
                (float(now), None if arrival is None else arrival.time, not outlook.someone_home)
            )
            departure_rows.append(
                (float(now), None if departure is None else departure.time, outlook.someone_home)
            )
    home_label = 1.0 - _inside(away, times)
    result: dict[str, Any] = {
        "home_nowcast_accuracy": _round(float(np.mean((home_now >= 0.5) == (home_label == 1.0))))
    }
    print(f"home now-cast accuracy {result['home_nowcast_accuracy']}")
    # Baselines from the labels (stricter than the model's own, which only has its sensors):
    # the weekly routine of the true home state in the training half; the true state now.
    train_grid = np.arange(start, split, FORECAST_STEP, dtype=np.float64)
    true_routine, _ = fit_routine(train_grid, 1.0 - _inside(away, train_grid), FORECAST_STEP)
    base_times = np.asarray(forecast_times)
    table = np.asarray(forecast_rows)
    model_only = np.asarray(model_only_rows)
    now_label = 1.0 - _inside(away, base_times)
    for name, horizon in HORIZONS.items():
        step = round(horizon / (15 * MINUTE)) - 1
        target = base_times + horizon
        usable = target < end
        outcome = 1.0 - _inside(away, target[usable])
        model_brier = brier(table[usable, step], outcome)
        routine_brier = brier(true_routine.at(target[usable]), outcome)
        persistence_brier = brier(now_label[usable], outcome)
        own_routine = brier(model.home.routine.at(target[usable]), outcome)
        best = min(routine_brier, persistence_brier)
        result[f"forecast_brier_{name}"] = _round(model_brier)
        result[f"forecast_skill_{name}"] = _round(1.0 - model_brier / best)
        result[f"forecast_skill_{name}_vs_routine"] = _round(1.0 - model_brier / routine_brier)
        result[f"forecast_skill_{name}_vs_persistence"] = _round(
            1.0 - model_brier / persistence_brier
        )
        result[f"forecast_skill_{name}_vs_learned_routine"] = _round(
            1.0 - model_brier / own_routine
        )
        # For reference, the half-and-half blend of the two baselines (both from the labels).
        half_blend = 0.5 * true_routine.at(target[usable]) + 0.5 * now_label[usable]
        result[f"forecast_skill_{name}_half_blend"] = _round(
            1.0 - brier(half_blend, outcome) / best
        )
        # The model's own forecast, before any fallback to a baseline (diagnostic).
        result[f"forecast_skill_{name}_model_only"] = _round(
            1.0 - brier(model_only[usable, step], outcome) / best
        )
        print(
            f"forecast {name}: Brier {model_brier:.4f}; routine {routine_brier:.4f}, "
            f"persistence {persistence_brier:.4f}, skill {result[f'forecast_skill_{name}']}"
        )
    balanced = {}
    for room in rooms:
        label = _inside(room_spans[room], times)
        balanced[room] = _round(balanced_accuracy(np.where(room_now[room] >= 0.5, 1.0, 0.0), label))
    result["room_balanced_accuracy"] = balanced
    finite = [value for value in balanced.values() if value is not None]
    result["room_balanced_accuracy_mean"] = _round(float(np.mean(finite))) if finite else None
    print(f"room balanced accuracy {balanced}")
    # Expected arrival, at each five minutes truly away, against the median away duration;
    # expected departure, at each five minutes truly home, against the median home duration.
    ordered_away = sorted(away)
    home_spans = [(a[1], b[0]) for a, b in itertools.pairwise(ordered_away) if b[0] > a[1]]
    for name, spans, rows in (
        ("arrival", ordered_away, arrival_rows),
        ("departure", home_spans, departure_rows),
    ):
        model_mae, baseline_mae, points = _expected_end_mae(spans, rows, split)
        result[f"{name}_mae_min"] = model_mae
        result[f"{name}_mae_min_baseline"] = baseline_mae
        result[f"{name}_points"] = points
        print(
            f"{name} MAE {model_mae} min vs median-duration baseline "
            f"{baseline_mae} min over {points} points"
        )
    return result


def _expected_end_mae(
    spans: Sequence[tuple[float, float]],
    rows: Sequence[tuple[float, float | None, bool]],
    split: float,
) -> tuple[float | None, float | None, int]:
    """Mean error (minutes) of an expected end of the episodes ``spans`` and of its baseline.

    ``rows``: (time, the expected end, whether the model believes the episode is on). Scored
    where an episode truly is on; the baseline expects the median length of the training
    half's episodes. A model that believes the episode is over expects its end now.
    """
    train_durations = [b - a for a, b in spans if b <= split]
    median = float(np.median(train_durations)) if train_durations else HOUR
    model_errors, baseline_errors = [], []
    for moment, predicted, believed in rows:
        span = next(((a, b) for a, b in spans if a <= moment < b), None)
        if span is None:
            continue
        if not believed:
            guess = moment
        elif predicted is None:
            guess = moment + DAY  # nothing expected within a day
        else:
            guess = predicted
        model_errors.append(abs(guess - span[1]))
        baseline_errors.append(abs(max(moment, span[0] + median) - span[1]))
    if not model_errors:
        return None, None, 0
    return (
        _round(float(np.mean(model_errors)) / MINUTE, 1),
        _round(float(np.mean(baseline_errors)) / MINUTE, 1),
        len(model_errors),
    )


# --- Speed -------------------------------------------------------------------------------------

SPEED_ROOMS = 30
SPEED_SOURCES = (
    "motion",
    "motion",
    "door",
    "light",
    "media",
    "power",
    "temperature",
    "humidity",
    "co2",
    "illuminance",
)
SPEED_DAYS = 365


def synthetic_home(
    seed: int = 7, rooms: int = SPEED_ROOMS, days: int = SPEED_DAYS
) -> tuple[list[OccupancySource], dict[str, SourceSeries], float, float]:
    """A synthetic year: rooms used on a weekly routine, each seen by ten sources."""
    rng = np.random.default_rng(seed)
    start = wall_clock(datetime(2025, 1, 6))
    end = start + days * DAY
    sources: list[OccupancySource] = []
    history: dict[str, SourceSeries] = {}
    for room_index in range(rooms):
        room = f"room_{room_index:02d}"
        # Visits: a few per day around room-specific hours.
        hours = rng.uniform(6, 23, size=4)
        visit_starts = [
            start + day * DAY + (hour + rng.normal(0, 0.5)) * HOUR
            for day in range(days)
            for hour in hours
            if rng.random() < 0.7
        ]
        visit_start = np.sort(np.asarray(visit_starts))
        visit_end = visit_start + rng.uniform(10, 90, size=visit_start.size) * MINUTE
        for source_index, kind in enumerate(SPEED_SOURCES):
            source_id = f"{room}.{kind}_{source_index}"
            sources.append(OccupancySource(source_id, kind, room))
            if kind in ("motion", "media", "light"):
                times = np.column_stack((visit_start, visit_end)).ravel()
                values = np.tile([1.0, 0.0], visit_start.size)
            elif kind == "door":
                times = np.sort(np.concatenate((visit_start, visit_end)))
                values = np.tile([1.0, 0.0], visit_start.size)
            else:
                times = np.arange(start, end, 10 * MINUTE)
                occupied = np.zeros(times.size)
                index = np.searchsorted(visit_start, times, side="right") - 1
                occupied[index >= 0] = times[index >= 0] < visit_end[index[index >= 0]]
                values = 400.0 + 200.0 * occupied + rng.normal(0, 20, times.size)
            history[source_id] = SourceSeries(times, values)
    return sources, history, start, end


def run_speed() -> dict[str, Any]:
    """Full retrain time and memory, one prediction cycle, one state change."""
    sources, history, start, end = synthetic_home()
    data_mb = sum(s.times.nbytes + s.values.nbytes for s in history.values()) / 1e6
    print(f"synthetic year: {len(sources)} sources, {data_mb:.1f} MB of history")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    began = clock.perf_counter()
    model = train_occupancy(sources, history, start, end)
    train_s = clock.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    payload = json.dumps(model.to_dict())
    OccupancyModel.from_dict(json.loads(payload))
    tracker = OccupancyTracker(model)
    tracker.replay(history, since=end - DAY)
    now = end
    rooms = list(model.rooms)
    cycles = 20
    began = clock.perf_counter()
    for _ in range(cycles):
        for room in rooms:
            tracker.forecast(room, now)
        tracker.home_outlook(now)
    predict_all_ms = (clock.perf_counter() - began) / cycles * 1000.0
    motion = [s.source_id for s in sources if s.kind == "motion"]
    events = 20000
    began = clock.perf_counter()
    for index in range(events):
        tracker.observe(motion[index % len(motion)], now + index, float(index // len(motion) % 2))
    per_event_us = (clock.perf_counter() - began) / events * 1e6
    result = {
        "train_s": _round(train_s, 2),
        "peak_mb": _round(peak / 1e6, 1),
        "predict_all_ms": _round(predict_all_ms, 2),
        "per_event_us": _round(per_event_us, 2),
        "peak_rss_growth_mb": _round(max(0, rss_after - rss_before) / 1024.0, 1),
        "model_json_kb": _round(len(payload) / 1024.0, 1),
    }
    print(
        f"train {train_s:.2f} s, peak {peak / 1e6:.1f} MB traced, predict all "
        f"{predict_all_ms:.2f} ms, {per_event_us:.2f} µs per state change"
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run one benchmark, print its JSON last."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.occupancy")
    commands = parser.add_subparsers(dest="command", required=True)
    uci = commands.add_parser("uci", help="UCI Occupancy Detection (labelled office)")
    uci.add_argument("--train", required=True)
    uci.add_argument("--test", required=True)
    adl = commands.add_parser("adl", help="UCI ADL (Ordóñez), a real home")
    adl.add_argument("--sensors", required=True)
    adl.add_argument("--activities", required=True)
    commands.add_parser("speed", help="synthetic year of 30 rooms x 10 sources")
    args = parser.parse_args(argv)
    if args.command == "uci":
        result = run_uci(args.train, args.test)
    elif args.command == "adl":
        result = run_adl(args.sensors, args.activities)
    else:
        result = run_speed()
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
