"""Foresight on Home Assistant's event loop, in a big home.

Run from the repository root; it prints what it saw, then one JSON object as its last line::

    .venv/bin/python -m benchmarks.loop [--days 30] [--minutes 6] [--rate 10] [--seed 7]

A real Home Assistant runs in this process, with its recorder and Home Assistant's own
detection of blocking calls on the event loop, in a temporary folder. Its home is the big home
of ``benchmarks/history.py`` (30 rooms of 10 sources, 10 thermostats, 4 people, 60 batteries, an
energy meter, an outdoor temperature), each source an entity with a current state, and
Foresight's history file already holds ``--days`` days of it (built as ``benchmarks/history.py``
builds it). Home Assistant starts; then every step its event loop runs is timed, phase by phase:

1. a minute (or ``--minutes``, if shorter) of the home living without Foresight: what Home
   Assistant itself takes;
2. Foresight added, as a user adds it (a config entry with the home and its 30 rooms), until it
   has read its history and trained;
3. ``--minutes`` of the home living: about ``--rate`` state changes a second of its sources
   (motion, doors, lights and media players switched by hand, numbers moving, the meter
   counting, a battery now and then), each set as an integration sets it; Foresight's own clocks
   run as they do at home (its occupancy published every minute, its five-minute refresh);
4. ``foresight.retrain`` (the nightly training, in the executor), waited for;
5. what automations and dashboards ask: ``foresight.get_forecast`` for every room, the home,
   energy and maintenance, and ``calendar.get_events`` for the next 7 days of each calendar;
6. a choice made on a controller (a room's comfort temperature set), and Home Assistant's
   restorable states saved seconds later, as Foresight has them saved after each choice.

A step is one callback or one resumption of a task. A state change's listeners (Foresight's
among them) run in the step that sets it, so each ``async_set`` is timed too. Each step is
timed twice: by the wall clock, and by the loop thread's own CPU time, which leaves out the time
it waited for Python's interpreter lock while another thread (the recorder's, a training in the
executor) held it. Python's garbage collection counts in the CPU time of the step it
interrupted, whoever's objects it looks at: a full collection of a big Home Assistant takes a
few hundred milliseconds and may land in any step (of any thread); each step's share of it is
counted apart, and the ``*_less_gc`` figures leave it out. Foresight's rule is that no
callback of its own holds the loop for more than 50 ms. ``--profile MS`` shows where the
longest steps went (the timings are then not the benchmark's: profiling slows every step).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
import cProfile
from dataclasses import dataclass, field
from datetime import timedelta
import gc
import json
import logging
import math
import multiprocessing
from pathlib import Path
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from types import MappingProxyType
from typing import Any

from benchmarks.history import DAY, HOUR, SyntheticHome, build
from custom_components.foresight import history_path
from custom_components.foresight.const import (
    CONF_AREA,
    CONF_ENERGY_SENSOR,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_PEOPLE,
    DOMAIN,
    KEEP_CHOICES_AFTER_S,
    RAW_NUMERIC_DAYS,
    SUBENTRY_ROOM,
)
from custom_components.foresight.history import HistoryStore
from custom_components.foresight.sources import Kind
from homeassistant import block_async_io, config as conf_util, loader
from homeassistant.bootstrap import async_load_base_functionality
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntries,
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryData,
)
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.recorder import async_initialize_recorder
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MS = 50.0  # the longest a callback of Foresight may hold the loop
SLOW_MS = 5.0  # steps at least this long are described
UNITS: dict[Kind, dict[str, str]] = {
    Kind.TEMPERATURE: {"unit_of_measurement": "°C", "device_class": "temperature"},
    Kind.HUMIDITY: {"unit_of_measurement": "%", "device_class": "humidity"},
    Kind.POWER: {"unit_of_measurement": "W", "device_class": "power"},
    Kind.ENERGY: {
        "unit_of_measurement": "kWh",
        "device_class": "energy",
        "state_class": "total_increasing",
    },
    Kind.BATTERY: {"unit_of_measurement": "%", "device_class": "battery"},
}
# How often each kind of source changes, relative to a motion sensor (from benchmarks/history.py).
WEIGHTS: dict[Kind, float] = {
    Kind.MOTION: 100,
    Kind.DOOR: 20,
    Kind.LIGHT: 16,
    Kind.MEDIA: 8,
    Kind.HEATING: 12,
    Kind.PERSON: 1,
    Kind.BATTERY: 2,
    Kind.TEMPERATURE: 30,  # the numbers report every few minutes
    Kind.HUMIDITY: 30,
    Kind.POWER: 30,
    Kind.ENERGY: 10,
}


@dataclass
class Step:
    """One step of the event loop: how long it held the loop, and what ran."""

    ms: float  # wall clock: waiting for the interpreter lock held by a training thread too
    cpu_ms: float  # the loop thread's own time: what the step itself cost
    what: str
    phase: str
    gc_ms: float = 0.0  # of its own time, Python's garbage collection (of the whole process)


@dataclass
class LoopClock:
    """Times every step of the event loop while a phase is named."""

    profile_ms: float | None = None  # profile the steps that take at least this long (CPU)
    phase: str | None = None
    durations: dict[str, list[float]] = field(default_factory=dict)  # CPU ms of each step
    slow: list[Step] = field(default_factory=list)
    profiles: list[tuple[Step, pstats.Stats]] = field(default_factory=list)
    gc_ms: float = 0.0  # the loop thread's time in garbage collections so far
    _gc_started: float = 0.0
    _loop_thread: int = 0

    def _collecting(self, phase: str, _info: dict[str, int]) -> None:
        """Count the garbage collections the loop thread runs (whoever's objects they free)."""
        if threading.get_ident() != self._loop_thread:
            return
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            self.gc_ms += (time.thread_time() - self._gc_started) * 1e3

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Time each ``Handle._run`` (callbacks, timers and task steps alike) while in use."""
        # The one place every step passes through: a measurement, not something to rely on.
        original = asyncio.events.Handle._run  # noqa: SLF001
        clock = self

        def _timed_run(handle: asyncio.Handle) -> None:
            profiler = cProfile.Profile() if clock.profile_ms is not None and clock.phase else None
            # Taken before: a callback may cancel its own handle, which forgets it.
            callback = handle._callback  # type: ignore[attr-defined]  # noqa: SLF001
            started, cpu_started, gc_before = time.perf_counter(), time.thread_time(), clock.gc_ms
            try:
                if profiler is not None:
                    profiler.runcall(original, handle)
                else:
                    original(handle)
            finally:
                cpu = (time.thread_time() - cpu_started) * 1e3
                took = (time.perf_counter() - started) * 1e3
                if clock.phase is not None:
                    clock.durations.setdefault(clock.phase, []).append(cpu)
                    if took >= SLOW_MS:
                        step = Step(
                            took, cpu, describe(callback), clock.phase, clock.gc_ms - gc_before
                        )
                        clock.slow.append(step)
                        if profiler is not None and cpu >= (clock.profile_ms or 0.0):
                            clock.profiles.append((step, pstats.Stats(profiler)))

        asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]  # noqa: SLF001
        self._loop_thread = threading.get_ident()  # installed from the loop
        gc.callbacks.append(self._collecting)
        try:
            yield
        finally:
            gc.callbacks.remove(self._collecting)
            asyncio.events.Handle._run = original  # type: ignore[method-assign]  # noqa: SLF001

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        """Name the steps run inside as ``phase``."""
        self.phase = phase
        try:
            yield
        finally:
            self.phase = None


def _where(filename: str) -> str:
    """A source file's place, from its package (no path of this machine)."""
    for marker in ("custom_components/", "site-packages/", "benchmarks/", "asyncio/"):
        if marker in filename:
            return marker + filename.split(marker, 1)[1]
    return Path(filename).name


def describe(callback: Any) -> str:
    """What a step ran: a task's name and its coroutines as they stand, or the callback."""
    owner = getattr(callback, "__self__", None)  # the task or object of a bound method
    if isinstance(owner, asyncio.Task):
        chain, coroutine = [], owner.get_coro()
        while coroutine is not None and hasattr(coroutine, "cr_code"):
            chain.append(
                f"{coroutine.cr_code.co_qualname} ({_where(coroutine.cr_code.co_filename)})"
            )
            coroutine = coroutine.cr_await
        return f"task {owner.get_name()!r}: " + " > ".join(chain)
    described = f"callback {_code_of(callback)}"
    if owner is not None and type(owner).__module__.startswith("custom_components.foresight"):
        described += f" of {type(owner).__qualname__}"  # a helper's method, Foresight's object
    if isinstance(owner, Debouncer):
        # Its task starts at once, in this step: the function it calls ran here.
        described += f" of {_code_of(owner.function)}"
    return described


def _code_of(function: Any) -> str:
    function = getattr(function, "func", function)  # a partial
    code = getattr(function, "__code__", None)
    if code is None:
        return repr(function)
    return f"{code.co_qualname} ({_where(code.co_filename)})"


class ProblemLog(logging.Handler):
    """Every warning or error logged that names Foresight (blocking calls included)."""

    def __init__(self) -> None:
        """Collect from the root logger."""
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the message if it is about Foresight."""
        message = record.getMessage()
        if record.name == "homeassistant.loader" and "custom integration" in message:
            return  # the notice Home Assistant gives for every custom integration
        if "foresight" in f"{record.name} {message} {record.pathname}".lower():
            self.records.append(f"{record.levelname} {record.name}: {message.splitlines()[0]}")


class LivingHome:
    """The big home's entities, and their state changes as a day brings them."""

    def __init__(self, home: SyntheticHome, seed: int) -> None:
        """Every source of ``home`` as an entity; a seeded stream of changes."""
        self.rng = random.Random(seed)
        self.entities: dict[str, Kind] = {}
        for source in home.sources.values():
            kind = Kind.HEATING if source.kind is Kind.SETPOINT else source.kind
            self.entities.setdefault(source.entity_id, kind)
        # Switched over at each change: on, playing, heating; a person away.
        self.on: dict[str, bool] = dict.fromkeys(self.entities, False)
        self.values: dict[str, float] = {}
        self.choices = list(self.entities)
        self.weights = [WEIGHTS.get(self.entities[e], 1.0) for e in self.choices]

    def state(self, entity_id: str) -> tuple[str, dict[str, Any]]:
        """The entity's state now, as its integration would report it."""
        kind, on = self.entities[entity_id], self.on[entity_id]
        if kind in (Kind.MOTION, Kind.DOOR):
            device_class = "motion" if kind is Kind.MOTION else "door"
            return ("on" if on else "off"), {"device_class": device_class}
        if kind is Kind.LIGHT:
            return ("on" if on else "off"), {"brightness": 200 if on else None}
        if kind is Kind.MEDIA:
            return ("playing" if on else "idle"), {}
        if kind is Kind.PERSON:
            return ("not_home" if on else "home"), {}
        if kind is Kind.HEATING:
            return "heat", {
                "hvac_action": "heating" if on else "idle",
                "temperature": 21.0 if on else 17.0,
                "current_temperature": 19.5,
                "min_temp": 7.0,
                "max_temp": 30.0,
                "hvac_modes": ["off", "heat"],
            }
        value = self.values.setdefault(entity_id, self._first_value(kind))
        return f"{value:.2f}", dict(UNITS[kind])

    def _first_value(self, kind: Kind) -> float:
        return {
            Kind.TEMPERATURE: 20.0,
            Kind.HUMIDITY: 50.0,
            Kind.POWER: 40.0,
            Kind.ENERGY: 12345.0,
            Kind.BATTERY: self.rng.uniform(30.0, 100.0),
        }[kind]

    def change(self) -> str:
        """One source changes, chosen as often as its kind changes; its entity id."""
        entity_id = self.rng.choices(self.choices, self.weights)[0]
        kind = self.entities[entity_id]
        if kind in UNITS:
            value = self.values.setdefault(entity_id, self._first_value(kind))
            if kind is Kind.ENERGY:
                value += self.rng.uniform(0.001, 0.02)
            elif kind is Kind.BATTERY:
                value = max(value - 1.0, 1.0)
            else:
                value += self.rng.gauss(0.0, 0.3)
            self.values[entity_id] = value
        else:
            self.on[entity_id] = not self.on[entity_id]
        return entity_id


def entry_for(home: SyntheticHome, entry_id: str) -> ConfigEntry:
    """Foresight's config entry for the big home: its people, meter and outdoor thermometer,
    and a room for each of its 30 rooms, as the config flow would store them."""
    by_kind: dict[str | None, dict[str, list[str]]] = {}
    climates: dict[str, str] = {}
    for source in home.sources.values():
        if source.kind is Kind.HEATING and source.room is not None:
            climates[source.room] = source.entity_id
        elif source.kind not in (Kind.SETPOINT, Kind.HEATING):
            by_kind.setdefault(source.room, {}).setdefault(str(source.kind), []).append(
                source.entity_id
            )
    rooms = sorted(room for room in by_kind if room is not None)
    subentries = []
    for room in rooms:
        data: dict[str, Any] = {
            "name": room.replace("_", " ").capitalize(),
            CONF_AREA: room,
            **{kind: sorted(set(ids)) for kind, ids in by_kind[room].items()},
        }
        if room in climates:
            data["climate"] = climates[room]
        subentries.append(
            ConfigSubentryData(
                data=data, subentry_type=SUBENTRY_ROOM, title=data["name"], unique_id=room
            )
        )
    home_data = {
        CONF_PEOPLE: [s.entity_id for s in home.sources.values() if s.kind is Kind.PERSON],
        CONF_ENERGY_SENSOR: ["sensor.home_energy"],
        CONF_OUTDOOR_TEMPERATURE: "sensor.outdoor_temperature",
    }
    return ConfigEntry(
        data=home_data,
        discovery_keys=MappingProxyType({}),
        domain=DOMAIN,
        entry_id=entry_id,
        minor_version=1,
        options={},
        source=SOURCE_USER,
        subentries_data=subentries,
        title="Foresight",
        unique_id=None,
        version=2,
    )


def prepare(config_dir: Path) -> None:
    """A configuration folder where Foresight is found among the custom integrations."""
    (config_dir / "custom_components").mkdir()
    (config_dir / "custom_components" / DOMAIN).symlink_to(
        ROOT / "custom_components" / DOMAIN, target_is_directory=True
    )
    (config_dir / "configuration.yaml").write_text(
        "homeassistant:\n  time_zone: Europe/Paris\n  country: FR\n"
        "  latitude: 48.86\n  longitude: 2.35\n  unit_system: metric\n"
    )


async def start_home_assistant(config_dir: Path) -> HomeAssistant:
    """A Home Assistant core with its recorder, in ``config_dir`` (see :func:`prepare`)."""
    hass = HomeAssistant(str(config_dir))
    loader.async_setup(hass)
    config = await conf_util.async_hass_config_yaml(hass)
    hass.config_entries = ConfigEntries(hass, config)
    await async_load_base_functionality(hass)
    await async_process_ha_core_config(hass, config.get("homeassistant", {}))
    await hass.config_entries.async_initialize()
    async_initialize_recorder(hass)
    assert await async_setup_component(hass, "recorder", {"recorder": {}})
    assert await async_setup_component(hass, "homeassistant", {})
    return hass


async def play(hass: HomeAssistant, living: LivingHome, seconds: float, rate: float) -> list[float]:
    """State changes at ``rate`` a second for ``seconds``; how long each ``async_set`` took (ms)."""
    took: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        entity_id = living.change()
        state, attributes = living.state(entity_id)
        started = time.perf_counter()
        hass.states.async_set(entity_id, state, attributes)
        took.append((time.perf_counter() - started) * 1e3)
        await asyncio.sleep(living.rng.expovariate(rate))
    return took


def build_history(path: Path, seed: int, raw_from: float, start: float, end: float) -> None:
    """Write the home's history file as ``benchmarks/history.py`` builds it, in a process of its
    own: what building it takes is not counted in this one's memory."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        child.submit(_build_history, path, seed, raw_from, start, end).result()


def _build_history(path: Path, seed: int, raw_from: float, start: float, end: float) -> None:
    store = HistoryStore(path)
    store.open()
    try:
        build(store, SyntheticHome(seed, raw_from), start, end)
    finally:
        store.close()


def memory_mb() -> dict[str, float]:
    """This process's resident memory now (``rss_mb``) and at its highest (``peak_mb``); Linux."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {
        name: round(int(status[field].split()[0]) / 1024, 1)
        for name, field in (("rss_mb", "VmRSS"), ("peak_mb", "VmHWM"))
    }


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "max_ms": round(ordered[-1], 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)], 3),
        "mean_ms": round(statistics.fmean(ordered), 4),
    }


async def run(
    config_dir: Path, days: int, minutes: float, rate: float, seed: int, profile_ms: float | None
) -> dict[str, Any]:
    """Build the home's history, set Foresight up in a real Home Assistant, time its loop."""
    result: dict[str, Any] = {"days": days, "minutes": minutes, "rate": rate}
    problems = ProblemLog()
    logging.getLogger().addHandler(problems)
    with suppress(RuntimeError):  # already on in this process
        block_async_io.enable()  # as Home Assistant's own start does
    hass = await start_home_assistant(config_dir)
    try:
        entry_id = "01KFORESIGHTLOOPBENCHMARK0"
        now = dt_util.utcnow().timestamp()
        now -= now % 300
        start = now - days * DAY
        raw_from = max(start, math.floor((now - RAW_NUMERIC_DAYS * DAY - HOUR) / HOUR) * HOUR)
        home = SyntheticHome(seed, raw_from)
        entry = entry_for(home, entry_id)
        began = time.perf_counter()
        await hass.async_add_executor_job(
            build_history, history_path(hass, entry), seed, raw_from, start, now
        )
        result["build_s"] = round(time.perf_counter() - began, 1)
        memory: dict[str, dict[str, float]] = {}

        living = LivingHome(home, seed)
        for entity_id in living.entities:
            hass.states.async_set(entity_id, *living.state(entity_id))
        await hass.async_start()
        await hass.async_block_till_done()

        clock = LoopClock(profile_ms)
        with clock.installed():
            # What Home Assistant itself takes per state change, Foresight not there yet.
            with clock.timing("without Foresight"):
                without = await play(hass, living, min(60.0, minutes * 60.0), rate)
            memory["without Foresight"] = await hass.async_add_executor_job(memory_mb)
            # In the executor: the collection must not count in a step of the loop's.
            result["full_gc_ms_without_Foresight"] = await hass.async_add_executor_job(full_gc_ms)

            began = time.perf_counter()
            with clock.timing("setup and first training"):
                await hass.config_entries.async_add(entry)
                await hass.async_block_till_done(wait_background_tasks=True)
            result["setup_and_training_s"] = round(time.perf_counter() - began, 1)
            assert entry.state is ConfigEntryState.LOADED, entry.state
            memory["setup and first training"] = await hass.async_add_executor_job(memory_mb)

            with clock.timing("home living"):
                living_took = await play(hass, living, minutes * 60.0, rate)
            memory["home living"] = await hass.async_add_executor_job(memory_mb)

            began = time.perf_counter()
            with clock.timing("retrain"):
                await hass.services.async_call(DOMAIN, "retrain", {}, blocking=True)
                await hass.async_block_till_done(wait_background_tasks=True)
            result["retrain_s"] = round(time.perf_counter() - began, 1)
            memory["retrain"] = await hass.async_add_executor_job(memory_mb)

            with clock.timing("actions"):
                answers, refused = await ask(hass, [s.title for s in entry.subentries.values()])

            with clock.timing("a choice saved"):
                await choose(hass, entry)
        result["answers"], result["refused"] = answers, refused
        result["state_change_without_foresight"] = _summary(without)
        result["state_change_with_foresight"] = _summary(living_took)
        # The process's memory at the end of each phase; Foresight's, what the home took since
        # Home Assistant ran without it.
        for phase, taken in memory.items():
            result[f"memory_{phase.replace(' ', '_')}"] = taken
        result["foresight_rss_mb"] = round(
            memory["retrain"]["rss_mb"] - memory["without Foresight"]["rss_mb"], 1
        )
        result["full_gc_ms"] = await hass.async_add_executor_job(full_gc_ms)
    finally:
        await hass.async_stop()
        logging.getLogger().removeHandler(problems)

    for phase, durations in clock.durations.items():
        result[f"loop_cpu_{phase.replace(' ', '_')}"] = _summary(durations)
    foresight = [step for step in clock.slow if "foresight" in step.what.lower()]
    for name, steps in (("", clock.slow), ("foresight_", foresight)):
        result[f"longest_{name}step_ms"] = round(max((s.ms for s in steps), default=0.0), 2)
        result[f"longest_{name}step_cpu_ms"] = round(max((s.cpu_ms for s in steps), default=0.0), 2)
        result[f"{name}steps_over_limit"] = sum(s.ms > LIMIT_MS for s in steps)
        result[f"{name}steps_over_limit_cpu"] = sum(s.cpu_ms > LIMIT_MS for s in steps)
        # Less the garbage collections in them: Python's, run by whichever thread is due one.
        result[f"{name}steps_over_limit_cpu_less_gc"] = sum(
            s.cpu_ms - s.gc_ms > LIMIT_MS for s in steps
        )
    result["longest_gc_in_a_step_ms"] = round(max((s.gc_ms for s in clock.slow), default=0.0), 2)
    result["foresight_log_problems"] = len(problems.records)
    print("the longest steps (wall clock / the loop thread's own time, its garbage collection):")
    for step in sorted(clock.slow, key=lambda step: step.ms, reverse=True)[:15]:
        print(
            f"{step.ms:8.1f} / {step.cpu_ms:6.1f} ms ({step.gc_ms:5.1f})  [{step.phase}] "
            f"{step.what}"
        )
    for record in problems.records[:20]:
        print(f"log: {record}")
    for step, stats in sorted(clock.profiles, key=lambda p: p[0].cpu_ms, reverse=True)[:8]:
        print(f"\nprofile of {step.cpu_ms:.1f} ms [{step.phase}] {step.what}")
        stats.sort_stats("cumulative").print_stats(25)
    return result


def full_gc_ms() -> float:
    """What one full garbage collection of the process costs now (in the thread calling it)."""
    cpu_started = time.thread_time()
    gc.collect()
    return round((time.thread_time() - cpu_started) * 1e3, 1)


async def choose(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Set a room's comfort temperature, and wait until the states it is saved with are saved."""
    comfort = next(
        registered.entity_id
        for registered in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if registered.unique_id.endswith("comfort_temperature")
    )
    await hass.services.async_call(
        "number", "set_value", {"entity_id": comfort, "value": 21.5}, blocking=True
    )
    await asyncio.sleep(KEEP_CHOICES_AFTER_S + 2.0)
    saved = await hass.async_add_executor_job(
        Path(hass.config.path(".storage", "core.restore_state")).read_text
    )
    states = {
        item["state"]["entity_id"]: item["state"]["state"] for item in json.loads(saved)["data"]
    }
    assert states[comfort] == "21.5", states.get(comfort)


async def ask(hass: HomeAssistant, rooms: Sequence[str]) -> tuple[int, int]:
    """What automations and dashboards ask Foresight; how many were answered, and how many
    were refused with an error the user reads (energy still learning on a short history)."""
    answers = refused = 0
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (DOMAIN, "get_forecast", {"kind": "occupancy", "room": room}) for room in rooms
    ]
    calls += [
        (DOMAIN, "get_forecast", {"kind": kind}) for kind in ("occupancy", "energy", "maintenance")
    ]
    calendars = hass.states.async_entity_ids("calendar")
    end = dt_util.now() + timedelta(days=7)
    calls += [
        ("calendar", "get_events", {"entity_id": c, "end_date_time": end.isoformat()})
        for c in calendars
    ]
    for domain, service, data in calls:
        try:
            response = await hass.services.async_call(
                domain, service, data, blocking=True, return_response=True
            )
        except ServiceValidationError:
            refused += 1
        else:
            answers += response is not None
        await asyncio.sleep(0)  # one call a step, as automations make them: timed one by one
    return answers, refused


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run the benchmark, print its JSON last."""
    parser = argparse.ArgumentParser(prog="benchmarks.loop", description=__doc__)
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--minutes", type=float, default=6.0, help="of the home living")
    parser.add_argument("--rate", type=float, default=10.0, help="state changes a second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile",
        type=float,
        metavar="MS",
        help="profile every step (slower: the figures are then not the benchmark's) and print "
        "where the steps of at least MS ms of the loop thread's time went",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="foresight-loop-"))
    zone = dt_util.get_default_time_zone()
    try:
        prepare(folder)
        result = asyncio.run(
            run(folder, args.days, args.minutes, args.rate, args.seed, args.profile)
        )
    finally:
        dt_util.set_default_time_zone(zone)  # Home Assistant set the home's
        # Home Assistant's detection of blocking calls stays on in this thread: not from it.
        remover = threading.Thread(target=shutil.rmtree, args=(folder,))
        remover.start()
        remover.join()
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
