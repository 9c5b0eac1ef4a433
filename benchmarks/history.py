"""Foresight's own history and maintenance at the scale of a big home.

Run from the repository root; it prints a short summary, then one JSON object as its last line::

    .venv/bin/python -m benchmarks.history speed [--days 365] [--seed 7]
    .venv/bin/python -m benchmarks.history unwritten [--hours 24] [--rate 10]

A seeded synthetic home (30 rooms of 10 sources, 10 thermostats, 4 people, 60 batteries, an
energy meter and an outdoor temperature) is observed for ``--days`` days: its readings go
through the integration's own series builder and are written with ``HistoryStore.write`` a day
at a time, pruned as the hourly summary prunes, into a temporary folder. The history then holds
what a real home's would: every change of the binary sources and batteries, one reading a
minute of the numbers for the last ``RAW_NUMERIC_DAYS`` (plus the hour the next summary
forgets), and an hourly row of every series for the whole span. On the file built, it times
what the integration runs in Home Assistant's executor: one five-minute write, the hourly
summary, the latest temperatures of the warm-up outlook, relearning maintenance from the whole
history, the next refresh's maintenance report, and the nightly training of the occupancy and
energy models from the file (time and peak memory).

``unwritten`` is a full disk: the same home's series are observed by the integration's own
observer, in a Home Assistant core, while every write of the history fails with "no space left
on device". ``--hours`` of readings (``--rate`` changes a second, spread over the series) wait
to be written; it times the event loop's share (its thread's CPU time, after a full collection
of the garbage collector: those are measured in ``benchmarks/loop.py``) of three flushes that
fail, then of the one that writes them all once the disk has room again.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import errno
import gc
import json
import math
from pathlib import Path
import resource
import statistics
import tempfile
import time
import tracemalloc
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from custom_components.foresight.const import (
    CONF_CLIMATE,
    DEFAULT_BATTERY_LOW_LEVEL,
    DEFAULT_RETENTION_DAYS,
    RAW_NUMERIC_DAYS,
)
from custom_components.foresight.history import HistoryStore, HourlyRow, Sample
from custom_components.foresight.home_energy import EnergyFlow, HomeEnergy
from custom_components.foresight.home_maintenance import HomeMaintenance, MaintenanceReport
from custom_components.foresight.home_occupancy import HomeOccupancy, occupancy_sources
from custom_components.foresight.home_thermal import HeatedRoom, HomeThermal
from custom_components.foresight.observe import Observer, SeriesBuilder, Unwritten
from custom_components.foresight.sources import (
    KEEP_EVERY_READING,
    Kind,
    Source,
    kept_series,
    room_sources,
    unique_sources,
)
from homeassistant.core import HomeAssistant

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
YEAR = 365.25 * DAY
BATCH = 300.0  # the observer writes every five minutes
ZONE = ZoneInfo("Europe/Paris")
COUNTRY = "FR"
LOCATION = (48.86, 2.35)  # the home's latitude and longitude
# The last write closes an hour: the batch then carries every series' hourly row too.
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp() - BATCH

ROOMS = 30
HEATED_ROOMS = 10
PEOPLE = 4
BATTERIES = 60
# Changes a day of the sources that report only when they change.
CHANGES_A_DAY: dict[Kind, float] = {
    Kind.MOTION: 100,
    Kind.DOOR: 20,
    Kind.LIGHT: 16,
    Kind.MEDIA: 8,
    Kind.PERSON: 4,
    Kind.HEATING: 12,
    Kind.SETPOINT: 4,
    Kind.BATTERY: 2,
}
SET_POINTS = (17.0, 20.0, 21.0)


def home_sources() -> tuple[dict[str, Source], dict[str | None, list[str]], dict[str, HeatedRoom]]:
    """The home's sources by key, each room's keys (None: the home) and its heated rooms."""
    everything = [Source(f"person.resident_{i}", Kind.PERSON) for i in range(PEOPLE)]
    everything += [
        Source("sensor.home_energy", Kind.ENERGY),
        Source("sensor.outdoor_temperature", Kind.TEMPERATURE),
    ]
    everything += [Source(f"sensor.device_{i:02d}_battery", Kind.BATTERY) for i in range(BATTERIES)]
    room_keys: dict[str | None, list[str]] = {None: []}
    heated: dict[str, HeatedRoom] = {}
    for r in range(ROOMS):
        room = f"room_{r:02d}"
        data: dict[str, Any] = {
            Kind.MOTION: [f"binary_sensor.{room}_motion_{i}" for i in range(3)],
            Kind.DOOR: [f"binary_sensor.{room}_door_{i}" for i in range(2)],
            Kind.LIGHT: [f"light.{room}"],
            Kind.MEDIA: [f"media_player.{room}"],
            Kind.TEMPERATURE: [f"sensor.{room}_temperature"],
            Kind.HUMIDITY: [f"sensor.{room}_humidity"],
            Kind.POWER: [f"sensor.{room}_power"],
        }
        if r < HEATED_ROOMS:
            data[CONF_CLIMATE] = f"climate.{room}"
        in_room = room_sources(room, data)
        room_keys[room] = [source.key for source in in_room]
        everything += in_room
        if r < HEATED_ROOMS:
            heating = Source(f"climate.{room}", Kind.HEATING).key
            setpoint = Source(f"climate.{room}", Kind.SETPOINT).key
            heated[room] = HeatedRoom(f"sensor.{room}_temperature", heating, setpoint)
    sources = unique_sources(everything)
    room_keys[None] = list(sources)
    return sources, room_keys, heated


def _daily(t: np.ndarray, phase: float) -> np.ndarray:
    return np.sin(2 * np.pi * (t / DAY - phase))


def _yearly(t: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * (t / YEAR - 0.3))


@dataclass(slots=True)
class _Series:
    """One source's generator and what it last read (values carry over from span to span)."""

    source: Source
    builders: list[SeriesBuilder]
    phase: float
    value: float = 0.0
    life_days: float = 0.0  # a battery's life on one charge
    last_report: float | None = None
    hourly: list[HourlyRow] = field(default_factory=list)


class SyntheticHome:
    """A seeded home whose sources report as a real home's do, span after span."""

    def __init__(self, seed: int, raw_from: float) -> None:
        """``raw_from``: numbers read once a minute from here on, hourly rows before."""
        self.rng = np.random.default_rng(seed)
        self.sources, self.room_keys, self.heated = home_sources()
        self.raw_from = raw_from
        self.series: list[_Series] = []
        self.builders: list[SeriesBuilder] = []
        for source in self.sources.values():
            builders = [SeriesBuilder(kept) for kept in kept_series([source])]
            self.builders += builders
            series = _Series(source, builders, phase=float(self.rng.uniform(0.2, 0.4)))
            if source.kind is Kind.BATTERY:
                series.life_days = float(self.rng.uniform(150.0, 320.0))
                series.value = float(self.rng.uniform(20.0, 100.0))
            elif source.kind is Kind.ENERGY:
                series.value = float(self.rng.uniform(1000.0, 20000.0))
            elif source.kind is Kind.SETPOINT:
                series.value = SET_POINTS[1]
            self.series.append(series)
        self.kinds = {b.source.key: str(b.source.kind) for b in self.builders}

    def observe(self, start: float, end: float) -> tuple[list[Sample], list[HourlyRow]]:
        """What the observer would write for ``[start, end)``: its samples and closed hours."""
        hourly: list[HourlyRow] = []
        for series in self.series:
            times, values = self._readings(series, start, end)
            if times.size:
                series.last_report = float(times[-1])
            for builder in series.builders:
                for t, value in zip(times.tolist(), values.tolist(), strict=True):
                    builder.add(t, value)
            hourly += series.hourly
            series.hourly = []
        samples: list[Sample] = []
        for builder in self.builders:
            builder.advance(end)
            taken, closed, _ = builder.take()
            samples += taken
            hourly += closed
        return samples, hourly

    def _readings(self, series: _Series, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        kind = series.source.kind
        if kind in CHANGES_A_DAY:
            times = self._change_times(CHANGES_A_DAY[kind] * (end - start) / DAY, start, end)
            if kind is Kind.BATTERY:
                return times, self._battery(series, times)
            if kind is Kind.SETPOINT:
                values = self.rng.choice(SET_POINTS, times.size)
            else:  # a binary source: each change turns it over
                values = (series.value + 1 + np.arange(times.size)) % 2
            if values.size:
                series.value = float(values[-1])
            return times, values.astype(np.float64)
        if start < self.raw_from:  # older numbers are kept as hourly rows only
            # Each hour is written with the span it ends in, as the observer closes it.
            first = math.floor(start / HOUR) * HOUR
            hours = np.arange(first, min(end, self.raw_from) - HOUR + 1, HOUR)
            series.hourly = self._hours(series, hours)
            start = max(start, self.raw_from)
        times = np.arange(math.ceil(start / MINUTE) * MINUTE, end, MINUTE)
        return times, self._numbers(series, times)

    def _change_times(self, expected: float, start: float, end: float) -> np.ndarray:
        """Change times, ten times rarer at night (local hours 0–6) than by day."""
        drawn = np.sort(self.rng.uniform(start, end, self.rng.poisson(expected / 0.775)))
        night = ((drawn + HOUR) // HOUR) % 24 < 6
        return drawn[self.rng.random(drawn.size) < np.where(night, 0.1, 1.0)]

    def _battery(self, series: _Series, times: np.ndarray) -> np.ndarray:
        """A slow discharge in whole percent; a flat battery is replaced by a full one."""
        levels = []
        last = series.last_report
        for t in times.tolist():
            if last is not None:
                series.value -= 100.0 * (t - last) / (series.life_days * DAY)
            if series.value < DEFAULT_BATTERY_LOW_LEVEL / 2:
                series.value = 100.0
            levels.append(round(series.value + float(self.rng.normal(0.0, 0.4))))
            last = t
        return np.array(levels, dtype=np.float64)

    def _shape(self, series: _Series, t: np.ndarray) -> np.ndarray:
        """The noiseless reading of a number at ``t``."""
        kind, daily = series.source.kind, _daily(t, series.phase)
        if kind is Kind.TEMPERATURE:
            if series.source.room is None:  # outdoors
                return 10.0 + 5.0 * daily + 8.0 * _yearly(t)
            return 20.0 + 1.2 * daily + 1.5 * _yearly(t)
        if kind is Kind.HUMIDITY:
            return 50.0 + 8.0 * daily
        return np.maximum(30.0 + 250.0 * daily, 5.0)  # power, W

    def _numbers(self, series: _Series, times: np.ndarray) -> np.ndarray:
        if series.source.kind is Kind.ENERGY:  # a meter: what it counted so far, kWh
            used = np.cumsum(self.rng.uniform(0.0, 0.02, times.size))
            values = np.round(series.value + used, 3)
            if values.size:
                series.value = float(values[-1])
            return values
        noise = self.rng.normal(0.0, 0.3, times.size)
        return np.round(self._shape(series, times) + noise, 2)

    def _hours(self, series: _Series, hours: np.ndarray) -> list[HourlyRow]:
        key = series.source.key
        if series.source.kind is Kind.ENERGY:
            used = self.rng.uniform(0.2, 1.2, hours.size)
            meter = series.value + np.cumsum(used)
            series.value = float(meter[-1]) if meter.size else series.value
            return [
                HourlyRow(key, int(h), m - u / 2, m - u, m, u)
                for h, m, u in zip(hours.tolist(), meter.tolist(), used.tolist(), strict=True)
            ]
        mean = self._shape(series, hours + HOUR / 2) + self.rng.normal(0.0, 0.1, hours.size)
        spread = np.abs(self.rng.normal(0.5, 0.2, hours.size))
        return [
            HourlyRow(key, int(h), m, m - s, m + s)
            for h, m, s in zip(hours.tolist(), mean.tolist(), spread.tolist(), strict=True)
        ]

    def last_reports(self) -> dict[str, float]:
        """When each source last reported (what Home Assistant's states would say)."""
        return {
            series.source.key: series.last_report
            for series in self.series
            if series.last_report is not None
        }


def _prune(store: HistoryStore, now: float) -> None:
    """Forget as the hourly summary does (no watched appliance: no longer raw window)."""
    store.prune(now, DEFAULT_RETENTION_DAYS, RAW_NUMERIC_DAYS, KEEP_EVERY_READING, {})


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def _maintenance(store: HistoryStore, home: SyntheticHome) -> HomeMaintenance:
    """Maintenance as the integration builds it: every source, batteries at the default low,
    the people saying when the home was empty."""
    return HomeMaintenance(
        store,
        ZONE,
        {key: str(source.kind) for key, source in home.sources.items()},
        {
            key: float(DEFAULT_BATTERY_LOW_LEVEL)
            for key, source in home.sources.items()
            if source.kind is Kind.BATTERY
        },
        [],
        "sensor.outdoor_temperature",
        [key for key, source in home.sources.items() if source.kind is Kind.PERSON],
    )


def _traced(run: Callable[[], Any]) -> float:
    """Peak memory (MB, tracemalloc) of ``run``."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def nightly_training(store: HistoryStore, home: SyntheticHome, now: datetime) -> dict[str, float]:
    """The coordinator's nightly training of occupancy and energy at ``now``, as it calls them.

    Occupancy is first trained a day earlier (the model in use, with its live tracker), so the
    night's candidate is scored against it on the day between, as every night after the first.
    """
    energy = HomeEnergy(
        store,
        [EnergyFlow("sensor.home_energy", Kind.ENERGY)],
        "sensor.outdoor_temperature",
        ZONE,
        people=[key for key, source in home.sources.items() if source.kind is Kind.PERSON],
        country=COUNTRY,
        location=LOCATION,
    )
    occupancy = HomeOccupancy(store, ZONE, occupancy_sources(home.sources.values(), []))
    rss_before = _max_rss_mb()
    previous, first_s = _timed(lambda: occupancy.train(now - timedelta(days=1)))
    occupancy.adopt(previous)
    candidate, nightly_s = _timed(lambda: occupancy.train(now))
    rss_growth = _max_rss_mb() - rss_before
    _, energy_s = _timed(lambda: energy.train(now))
    return {
        "occupancy_first_training_s": round(first_s, 2),
        "occupancy_training_s": round(nightly_s, 2),
        # Training leaves the model in use as it is: the same night, traced.
        "occupancy_training_peak_mb": round(_traced(lambda: occupancy.train(now)), 1),
        "occupancy_training_rss_growth_mb": round(rss_growth, 1),
        "occupancy_replaces": candidate.replaces,
        "energy_training_s": round(energy_s, 3),
        "energy_training_peak_mb": round(_traced(lambda: energy.train(now)), 1),
    }


def build(store: HistoryStore, home: SyntheticHome, start: float, end: float) -> None:
    """Observe the home from ``start`` to ``end``, written and pruned a day at a time."""
    day_end = start
    while day_end < end:
        day_start, day_end = day_end, min(day_end + DAY, end)
        samples, hourly = home.observe(day_start, day_end)
        store.write(
            home.kinds, samples, hourly, observed=dict.fromkeys(home.kinds, (start, day_end))
        )
        # The last hourly summary before the one timed ran an hour before it.
        _prune(store, min(day_end, end - HOUR))


def run_speed(days: int, seed: int) -> dict[str, Any]:
    """Build ``days`` of a big home's history, then time what the integration runs on it."""
    start = NOW - days * DAY
    # The raw numbers the next summary forgets are still there, as in a home.
    raw_from = max(start, math.floor((NOW - RAW_NUMERIC_DAYS * DAY - HOUR) / HOUR) * HOUR)
    home = SyntheticHome(seed, raw_from)
    result: dict[str, Any] = {"days": days, "series": len(home.kinds)}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.db"
        store = HistoryStore(path)
        store.open()
        _, build_s = _timed(lambda: build(store, home, start, NOW))
        now = datetime.fromtimestamp(NOW, UTC)

        # The hourly summary, as the coordinator's _summarise calls it.
        _, prune_s = _timed(lambda: _prune(store, NOW))
        coverage, coverage_s = _timed(store.coverage)
        usable, days_s = _timed(
            lambda: {room: store.days_with_data(keys) for room, keys in home.room_keys.items()}
        )

        thermal = HomeThermal(store, ZONE, home.heated, "sensor.outdoor_temperature")
        outlook_s = []
        for _ in range(5):
            outlook, took = _timed(thermal.outlook)
            outlook_s.append(took)

        maintenance = _maintenance(store, home)
        _, rebuild_s = _timed(lambda: maintenance.rebuild(now))
        peak_mb = _traced(lambda: _maintenance(store, home).rebuild(now))
        training = nightly_training(store, home, now)

        # What a stop keeps with the models now; a restart five minutes later takes it back.
        kept = json.dumps(maintenance.learned())

        samples, hourly = home.observe(NOW, NOW + BATCH)
        observed = dict.fromkeys(home.kinds, (start, NOW + BATCH))
        _, write_s = _timed(lambda: store.write(home.kinds, samples, hourly, observed=observed))
        later = datetime.fromtimestamp(NOW + BATCH, UTC)
        report, report_s = _timed(lambda: maintenance.report(later, home.last_reports()))

        restarted = _maintenance(store, home)

        def restart() -> MaintenanceReport:
            restarted.restore(None, None, json.loads(kept))
            return restarted.report(later, home.last_reports())

        after_restart, restart_s = _timed(restart)
        assert after_restart == report  # the same verdicts as the maintenance that ran on
        store.close()
        file_bytes = path.stat().st_size

    summary_s = prune_s + coverage_s + days_s
    print(
        f"{days} days of {len(home.kinds)} series: built in {build_s:.1f} s, "
        f"{file_bytes / 1e6:.1f} MB, {sum(c.samples for c in coverage.values())} readings, "
        f"{sum(c.hours for c in coverage.values())} hourly rows "
        f"({usable[None]} days with data)"
    )
    print(
        f"five-minute write ({len(samples)} samples, {len(hourly)} hours) "
        f"{write_s * 1e3:.1f} ms; hourly summary {summary_s * 1e3:.1f} ms "
        f"(prune {prune_s * 1e3:.1f}, coverage {coverage_s * 1e3:.1f}, "
        f"days with data {days_s * 1e3:.1f}); warm-up outlook of {len(outlook)} rooms "
        f"{statistics.median(outlook_s) * 1e3:.2f} ms"
    )
    print(
        f"maintenance: rebuild {rebuild_s:.2f} s (peak {peak_mb:.1f} MB), "
        f"report five minutes later {report_s * 1e3:.1f} ms "
        f"({len(report.batteries)} batteries, {len(report.problems)} problems); "
        f"a restart taking back what was kept ({len(kept) / 1e6:.2f} MB) "
        f"{restart_s * 1e3:.1f} ms"
    )
    print(
        f"nightly training: occupancy {training['occupancy_training_s']:.2f} s "
        f"(the first {training['occupancy_first_training_s']:.2f} s), "
        f"peak {training['occupancy_training_peak_mb']:.1f} MB traced, "
        f"max RSS +{training['occupancy_training_rss_growth_mb']:.1f} MB; "
        f"energy {training['energy_training_s']:.3f} s, "
        f"peak {training['energy_training_peak_mb']:.1f} MB"
    )
    result |= {
        "build_s": round(build_s, 2),
        "samples": sum(c.samples for c in coverage.values()),
        "hourly_rows": sum(c.hours for c in coverage.values()),
        "file_mb": round(file_bytes / 1e6, 1),
        "write_batch_ms": round(write_s * 1e3, 2),
        "write_batch_samples": len(samples),
        "write_batch_hours": len(hourly),
        "summary_ms": round(summary_s * 1e3, 2),
        "prune_ms": round(prune_s * 1e3, 2),
        "coverage_ms": round(coverage_s * 1e3, 2),
        "days_with_data_ms": round(days_s * 1e3, 2),
        "last_values_ms": round(statistics.median(outlook_s) * 1e3, 3),
        "maintenance_rebuild_s": round(rebuild_s, 3),
        "maintenance_report_ms": round(report_s * 1e3, 2),
        "maintenance_peak_mb": round(peak_mb, 1),
        "maintenance_restart_ms": round(restart_s * 1e3, 2),
        "maintenance_kept_mb": round(len(kept) / 1e6, 2),
        **training,
    }
    return result


def run_unwritten(hours: float, rate: float) -> dict[str, Any]:
    """The event loop's share of the flushes while the disk is full (see the module's text)."""
    return asyncio.run(_unwritten(hours, rate))


async def _unwritten(hours: float, rate: float) -> dict[str, Any]:
    sources = list(home_sources()[0].values())
    readings = int(hours * 3600 * rate)
    with tempfile.TemporaryDirectory() as folder:
        hass = HomeAssistant(folder)
        store = HistoryStore(Path(folder) / "history.db")
        await hass.async_add_executor_job(store.open)
        write = store.write

        def no_space(*_args: Any, **_kwargs: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        builders = [SeriesBuilder(source) for source in sources]
        rng = np.random.default_rng(7)
        # Each reading a change of one series: it flips between 0 and 1.
        times = NOW + np.sort(rng.uniform(0.0, hours * 3600, readings))
        which = rng.integers(0, len(sources), readings)
        flips = [0.0] * len(sources)
        for t, index in zip(times.tolist(), which.tolist(), strict=True):
            flips[index] = 1.0 - flips[index]
            builders[index].add(t, flips[index])
        waiting = sum(len(builder.samples) for builder in builders)
        # What an observer could not write is carried on by the next (a reload on a full disk).
        carried = Unwritten(float(times[-1]), {b.source.key: b for b in builders})
        observer = Observer(hass, store, sources, carried=carried)
        observer.started_at = NOW

        async def flush_ms() -> float:
            gc.collect()  # none due during the flush: its full collections are timed elsewhere
            began = time.thread_time()
            await observer.async_flush(float(times[-1]) + 1.0)
            return round((time.thread_time() - began) * 1000.0, 2)

        store.write = no_space  # type: ignore[method-assign]
        failed = [await flush_ms() for _ in range(3)]
        store.write = write  # type: ignore[method-assign]
        written = await flush_ms()
        kept = await hass.async_add_executor_job(store.coverage)
        await hass.async_add_executor_job(store.close)
        await hass.async_stop(force=True)
    return {
        "series": len(sources),
        "readings_waiting": waiting,
        "failed_flush_loop_ms": failed,
        "written_flush_loop_ms": written,
        "series_written": len(kept),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run the benchmark, print its JSON last."""
    parser = argparse.ArgumentParser(prog="benchmarks.history", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    speed = commands.add_parser("speed", help="the history and maintenance of a big home")
    speed.add_argument("--days", type=int, default=365)
    speed.add_argument("--seed", type=int, default=7)
    unwritten = commands.add_parser("unwritten", help="a full disk: the loop's share of writes")
    unwritten.add_argument("--hours", type=float, default=24.0)
    unwritten.add_argument("--rate", type=float, default=10.0, help="state changes a second")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.command == "unwritten":
        result = run_unwritten(args.hours, args.rate)
    else:
        result = run_speed(args.days, args.seed)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
