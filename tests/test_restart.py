"""A restart of Home Assistant keeps what Foresight learned from, even once the recorder forgot it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
import sqlite3
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_test_home_assistant
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from sqlalchemy.exc import OperationalError

from custom_components.foresight import history_path, observe
from custom_components.foresight.backfill import async_backfill
from custom_components.foresight.history import HistoryStore, HourlyRow, Sample
from custom_components.foresight.sources import Kind, Source
from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from .conftest import entry_like, history_locked, set_home_states

_OUTDOOR = {
    "unit_of_measurement": "°C",
    "device_class": "temperature",
    "state_class": "measurement",
}
_POWER = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}
_CO2 = {
    "unit_of_measurement": "ppm",
    "device_class": "carbon_dioxide",
    "state_class": "measurement",
}
_METER = {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total_increasing"}


async def test_history_survives_a_restart(
    hass: HomeAssistant, setup_home: MockConfigEntry, async_test_recorder: Any
) -> None:
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    hass.states.async_set("binary_sensor.living_motion", "off", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(setup_home.entry_id)  # what stopping does
    await hass.async_block_till_done()

    # Started again, with an empty recorder.
    async with _started_again(hass, setup_home, async_test_recorder) as (restarted, entry):
        store: HistoryStore = entry.runtime_data.store
        motion = await restarted.async_add_executor_job(
            store.samples, "binary_sensor.living_motion"
        )
        # The time Home Assistant was down is a gap, not "no motion".
        assert [value for _, value in motion] == [0.0, 1.0, 0.0, None, 0.0]
        history = restarted.states.get("sensor.living_room_history")
        assert history is not None
        assert history.attributes["samples_kept"] >= 3


async def test_a_history_out_of_reach_retries_setup(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    """A file SQLite cannot open now is kept, and Home Assistant tries the setup again."""
    set_home_states(hass)
    home_entry.add_to_hass(hass)
    path = history_path(hass, home_entry)
    path.mkdir(parents=True)  # stands for a file that is locked or unreachable for now
    assert not await hass.config_entries.async_setup(home_entry.entry_id)
    assert home_entry.state is ConfigEntryState.SETUP_RETRY
    assert "cannot use its history file" in str(home_entry.reason)
    assert path.is_dir()
    assert not list(path.parent.glob("*.damaged-*"))
    assert not ir.async_get(hass).issues


@pytest.mark.parametrize("read", ["kinds", "resume_points"])
async def test_a_history_locked_after_it_was_opened_retries_setup(
    hass: HomeAssistant, home_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """A lock that lands during setup, after the file was opened: Home Assistant tries again,
    and the file is closed meanwhile."""
    closed: list[Path] = []
    close = HistoryStore.close

    def close_and_note(store: HistoryStore) -> None:
        closed.append(store.path)
        close(store)

    monkeypatch.setattr(HistoryStore, read, history_locked)
    monkeypatch.setattr(HistoryStore, "close", close_and_note)
    set_home_states(hass)
    home_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(home_entry.entry_id)
    assert home_entry.state is ConfigEntryState.SETUP_RETRY
    assert "cannot use its history file" in str(home_entry.reason)
    assert "database is locked" in str(home_entry.reason)
    assert closed == [history_path(hass, home_entry)]

    monkeypatch.undo()
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert home_entry.state is ConfigEntryState.LOADED


async def test_a_history_from_a_newer_foresight_fails_setup_and_is_kept(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    home_entry.add_to_hass(hass)
    path = history_path(hass, home_entry)
    store = HistoryStore(path)
    await hass.async_add_executor_job(store.open)
    await hass.async_add_executor_job(store.close)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    assert not await hass.config_entries.async_setup(home_entry.entry_id)
    assert home_entry.state is ConfigEntryState.SETUP_ERROR
    assert "newer version of Foresight" in str(home_entry.reason)
    assert not list(path.parent.glob("*.damaged-*"))
    assert not ir.async_get(hass).issues


_States = dict[str, tuple[str, dict[str, str]]]


def _set(hass: HomeAssistant, states: _States) -> None:
    for entity_id, (state, attributes) in states.items():
        hass.states.async_set(entity_id, state, attributes)


async def _set_up_at(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    when: datetime,
    states: _States,
) -> None:
    freezer.move_to(when)
    set_home_states(hass)
    _set(hass, states)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    down: datetime,
    up: datetime,
    states: _States,
) -> None:
    """Home Assistant down from ``down`` to ``up``; ``states`` are what its restart brings back."""
    freezer.move_to(down)
    assert await hass.config_entries.async_unload(entry.entry_id)  # what stopping does
    await hass.async_block_till_done()
    freezer.move_to(up)
    _set(hass, states)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


@asynccontextmanager
async def _started_again(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    async_test_recorder: Any,
    recorder_config: dict[str, Any] | None = None,
    states: _States | None = None,
) -> AsyncGenerator[tuple[HomeAssistant, MockConfigEntry]]:
    """A second Home Assistant on the same configuration folder and recorder database, with
    the home's states (and ``states``) set and Foresight set up in it; stopped at the end."""
    async with async_test_home_assistant(config_dir=hass.config.config_dir) as restarted:
        restarted.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        async with async_test_recorder(restarted, recorder_config):
            assert await async_setup_component(restarted, "homeassistant", {})
            set_home_states(restarted)
            _set(restarted, states or {})
            started = entry_like(entry, entry_id=entry.entry_id)
            started.add_to_hass(restarted)
            assert await restarted.config_entries.async_setup(started.entry_id)
            await restarted.async_block_till_done(wait_background_tasks=True)
            yield restarted, started
            assert await restarted.config_entries.async_unload(started.entry_id)
            await restarted.async_block_till_done()
            await restarted.async_stop(force=True)


async def test_a_restart_keeps_saved_hours_and_the_downtime_is_a_gap(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Hours written before a stop stay as written; the hours Home Assistant was down are unknown."""
    ten = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    await _set_up_at(
        hass, freezer, home_entry, ten, {"sensor.outdoor_temperature": ("0.0", _OUTDOOR)}
    )
    freezer.move_to(ten + timedelta(minutes=30))
    hass.states.async_set("sensor.outdoor_temperature", "10.0", _OUTDOOR)
    hass.states.async_set("sensor.house_energy", "1001.0", _METER)
    freezer.move_to(ten + timedelta(hours=1, minutes=5))
    await home_entry.runtime_data.coordinator.async_refresh()
    store: HistoryStore = home_entry.runtime_data.store
    outdoor = await hass.async_add_executor_job(store.hours, "sensor.outdoor_temperature")
    assert [(row.mean, row.min, row.max) for row in outdoor] == [(5.0, 0.0, 10.0)]
    meter = await hass.async_add_executor_job(store.hours, "sensor.house_energy")
    assert [row.consumption for row in meter] == [1.0]

    # Home Assistant is down until 17:10; its states come back with the restart.
    await _restart(
        hass,
        freezer,
        home_entry,
        ten + timedelta(hours=1, minutes=10),
        ten + timedelta(hours=7, minutes=10),
        {
            "sensor.outdoor_temperature": ("3.0", _OUTDOOR),
            "sensor.house_energy": ("1004.0", _METER),
        },
    )
    freezer.move_to(ten + timedelta(hours=8, minutes=5))
    await home_entry.runtime_data.coordinator.async_refresh()

    store = home_entry.runtime_data.store
    outdoor = await hass.async_add_executor_job(store.hours, "sensor.outdoor_temperature")
    # 10 and 11 o'clock as seen (11 only until the stop), nothing for 12–16, 17 from 17:10.
    assert [(row.hour - ten.timestamp()) / 3600 for row in outdoor] == [0, 1, 7]
    assert [(row.mean, row.min, row.max) for row in outdoor] == [
        (5.0, 0.0, 10.0),
        (10.0, 10.0, 10.0),
        (3.0, 3.0, 3.0),
    ]
    meter = await hass.async_add_executor_job(store.hours, "sensor.house_energy")
    # The 3 kWh counted while down belong to no known hour.
    assert [row.consumption for row in meter if row.consumption is not None] == [1.0]
    samples = await hass.async_add_executor_job(store.samples, "sensor.outdoor_temperature")
    stop = (ten + timedelta(hours=1, minutes=10)).timestamp()
    assert [(t - stop, v) for t, v in samples if t >= stop] == [(0.0, None), (6 * 3600.0, 3.0)]
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    await hass.async_block_till_done()


async def test_a_restart_of_minutes_over_an_hour_edge_loses_no_hour_of_use(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    """Down from 10:59 to 11:01: the 0.2 kWh counted meanwhile are shared, both hours known."""
    ten = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    await _set_up_at(hass, freezer, home_entry, ten, {"sensor.house_energy": ("1000.0", _METER)})
    freezer.move_to(ten + timedelta(minutes=30))
    hass.states.async_set("sensor.house_energy", "1001.0", _METER)
    await _restart(
        hass,
        freezer,
        home_entry,
        ten + timedelta(minutes=59),
        ten + timedelta(hours=1, minutes=1),
        {"sensor.house_energy": ("1001.2", _METER)},
    )
    freezer.move_to(ten + timedelta(hours=1, minutes=40))
    hass.states.async_set("sensor.house_energy", "1001.5", _METER)
    freezer.move_to(ten + timedelta(hours=2, minutes=5))
    await home_entry.runtime_data.coordinator.async_refresh()

    store: HistoryStore = home_entry.runtime_data.store
    meter = await hass.async_add_executor_job(store.hours, "sensor.house_energy")
    assert [(row.hour - ten.timestamp()) / 3600 for row in meter] == [0, 1]
    assert [row.consumption for row in meter] == [pytest.approx(1.1), pytest.approx(0.4)]
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    await hass.async_block_till_done()


async def test_a_late_backfill_leaves_the_downtime_a_gap(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, tmp_path: Path
) -> None:
    """Stopped before its first backfill: the recorder fills only what came before Foresight."""
    ten = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    freezer.move_to(ten - timedelta(hours=2))
    hass.states.async_set("sensor.outdoor_temperature", "5.0", _OUTDOOR)
    # Foresight watched from 10:00 to 11:10; Home Assistant was down until 17:10.
    freezer.move_to(ten + timedelta(hours=7, minutes=10))
    hass.states.async_set("sensor.outdoor_temperature", "3.0", _OUTDOOR)
    await async_wait_recording_done(hass)
    key = "sensor.outdoor_temperature"
    store = HistoryStore(tmp_path / "history.db")
    await hass.async_add_executor_job(store.open)
    stop = (ten + timedelta(hours=1, minutes=10)).timestamp()
    await hass.async_add_executor_job(
        partial(
            store.write,
            {key: "temperature"},
            [Sample(key, ten.timestamp(), 5.0), Sample(key, stop, None)],
            [HourlyRow(key, int(ten.timestamp()), 5.0, 5.0, 5.0)],
            observed={key: (ten.timestamp(), stop)},
        )
    )
    restarted = ten + timedelta(hours=7, minutes=10)
    assert await async_backfill(hass, store, [Source(key, Kind.TEMPERATURE)], restarted, 10) == [
        key
    ]

    hours = await hass.async_add_executor_job(store.hours, key)
    assert [(row.hour - ten.timestamp()) / 3600 for row in hours] == [-2, -1, 0]
    samples = await hass.async_add_executor_job(store.samples, key)
    assert [v for t, v in samples if t >= ten.timestamp()] == [5.0, None]
    await hass.async_add_executor_job(store.close)


@pytest.mark.parametrize("persistent_database", [True])
@pytest.mark.parametrize("most", [None, 2], ids=["every state", "the first two states"])
async def test_a_crash_keeps_what_the_recorder_wrote_after_the_history(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    async_test_recorder: Any,
    monkeypatch: pytest.MonkeyPatch,
    most: int | None,
) -> None:
    """A power cut at 10:09, four minutes after Foresight last wrote its history: the restart
    reads in what the recorder kept of those minutes; the time Home Assistant was down after
    them stays a gap. An entity the recorder leaves out is unknown from the last write; what
    the recorder wrote more than a quarter of an hour after it is not read, nor what it wrote
    of a sensor whose history ended long before (not in the last write). Where the recorder
    wrote more than Foresight reads on the event loop, the first ones are read, and what
    follows them is a gap."""
    if most is not None:
        monkeypatch.setattr(observe, "MOST_RECORDED_STATES", most)
    ten = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    window = "binary_sensor.living_window"
    freezer.move_to(ten - timedelta(hours=1, minutes=30))
    motion, temperature = "binary_sensor.living_motion", "sensor.living_temperature"
    power, co2 = "sensor.living_tv_power", "sensor.living_co2"
    kinds = {motion: "motion", temperature: "temperature", power: "power", co2: "co2"}
    kinds[window] = "door"
    written = (ten + timedelta(minutes=5)).timestamp()
    recorder_config = {"exclude": {"entities": [power]}}
    async with async_test_recorder(hass, recorder_config):
        freezer.move_to(ten - timedelta(minutes=55))
        hass.states.async_set(window, "on", {"device_class": "window"})
        freezer.move_to(ten)
        set_home_states(hass)  # motion off, 20.0 °C, 1.0 W, 450 ppm since 10:00
        # What Foresight had written when the power went: everything it saw until 10:05.
        store = HistoryStore(history_path(hass, home_entry))
        await hass.async_add_executor_job(store.open)
        await hass.async_add_executor_job(
            partial(
                store.write,
                kinds,
                [
                    Sample(motion, ten.timestamp(), 0.0),
                    Sample(temperature, ten.timestamp(), 20.0),
                    Sample(power, ten.timestamp(), 1.0),
                    Sample(co2, ten.timestamp(), 450.0),
                    Sample(window, ten.timestamp() - 5400, 0.0),
                ],
                # The window's history ends at 9:00, long before the rest.
                observed={
                    **dict.fromkeys([motion, temperature, power, co2], (ten.timestamp(), written)),
                    window: (ten.timestamp() - 5400, ten.timestamp() - 3600),
                },
            )
        )
        await hass.async_add_executor_job(store.close)
        for minutes, entity_id, state, attributes in (
            (7, motion, "on", {"device_class": "motion"}),
            (8, motion, "off", {"device_class": "motion"}),
            (9, temperature, "21.0", _OUTDOOR),
            (9, power, "80.0", _POWER),
            (25, co2, "600", _CO2),
        ):
            freezer.move_to(ten + timedelta(minutes=minutes))
            hass.states.async_set(entity_id, state, attributes)
        await async_wait_recording_done(hass)

    # Home Assistant starts again at 11:00, on the same recorder database.
    up = ten + timedelta(hours=1)
    freezer.move_to(up)
    async with _started_again(
        hass, home_entry, async_test_recorder, recorder_config, {temperature: ("19.0", _OUTDOOR)}
    ) as (restarted, entry):
        await entry.runtime_data.observer.async_flush(up.timestamp())

        store = entry.runtime_data.store
        samples = {key: await restarted.async_add_executor_job(store.samples, key) for key in kinds}
        found = {
            key: [(round((t - ten.timestamp()) / 60, 3), value) for t, value in kept]
            for key, kept in samples.items()
        }
        assert found[power] == [(0.0, 1.0), (5.0, None), (60.0, 1.0)]
        assert found[window] == [(-90.0, 0.0), (-60.0, None), (60.0, 0.0)]
        assert found[co2] == [(0.0, 450.0), (8.0 if most else 9.0, None), (60.0, 450.0)]
        if most:  # read up to 10:08: the temperature at 10:09 is not known
            assert found[motion] == [(0, 0.0), (7, 1.0), (8, 0.0), (8, None), (60, 0.0)]
            assert found[temperature] == [(0.0, 20.0), (8.0, None), (60.0, 19.0)]
        else:  # read up to 10:09, the last the recorder wrote; unknown from then until 11:00
            assert found[motion] == [(0, 0.0), (7, 1.0), (8, 0.0), (9, None), (60, 0.0)]
            assert found[temperature] == [(0, 20.0), (9, 21.0), (9, None), (60, 19.0)]
            # The reading at 10:09 itself is kept: the gap begins just after it.
            last_seen = (ten + timedelta(minutes=9)).timestamp()
            assert samples[temperature][1][0] == last_seen
            assert samples[temperature][2][0] == pytest.approx(last_seen)
            assert samples[temperature][2][0] > last_seen


async def test_a_recorder_that_cannot_be_read_at_a_start_leaves_a_gap(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recorder's database fails as the minutes before a start are read: Foresight still
    starts, and those minutes are unknown, as before it read them."""

    def failing(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("disk I/O error"))

    ten = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    await _set_up_at(
        hass, freezer, home_entry, ten, {"sensor.outdoor_temperature": ("4.0", _OUTDOOR)}
    )
    monkeypatch.setattr(observe.history, "get_significant_states", failing)
    down = ten + timedelta(minutes=10)
    await _restart(
        hass,
        freezer,
        home_entry,
        down,
        ten + timedelta(minutes=20),
        {"sensor.outdoor_temperature": ("6.0", _OUTDOOR)},
    )
    assert home_entry.state is ConfigEntryState.LOADED
    await home_entry.runtime_data.observer.async_flush((ten + timedelta(minutes=20)).timestamp())
    store: HistoryStore = home_entry.runtime_data.store
    samples = await hass.async_add_executor_job(store.samples, "sensor.outdoor_temperature")
    assert [(t - ten.timestamp(), v) for t, v in samples] == [
        (0.0, 4.0),
        (600.0, None),
        (1200.0, 6.0),
    ]
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    await hass.async_block_till_done()
