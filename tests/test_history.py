"""Foresight's own history file: bounded, crash-safe, and readable after damage."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
import json
import logging
from pathlib import Path
import shutil
import sqlite3
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.foresight import UNWRITTEN
from custom_components.foresight.aggregate import HourlyAggregator
from custom_components.foresight.const import (
    CONF_RETENTION_DAYS,
    CONF_WORKDAY_SENSOR,
    FLUSH_INTERVAL,
)
from custom_components.foresight.history import (
    SCHEMA_VERSION,
    Coverage,
    HistoryHeldError,
    HistoryStore,
    HistoryTooNewError,
    HourlyRow,
    Sample,
)
from custom_components.foresight.observe import SeriesBuilder
from custom_components.foresight.sources import Kind, Source
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import copied_alone, disk_full, history_locked, start_home
from .controllers_helpers import tick, turn

KINDS = {"binary_sensor.hall": "motion", "sensor.power": "power"}


def _store(tmp_path: Path) -> HistoryStore:
    store = HistoryStore(tmp_path / "history.db")
    assert store.open().set_aside is None
    return store


def test_write_read_and_survive_reopen(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write(
        KINDS,
        [Sample("binary_sensor.hall", 10.0, 1.0), Sample("binary_sensor.hall", 20.0, None)],
        [HourlyRow("sensor.power", 3600, 100.0, 50.0, 150.0)],
        {"sensor.power": {"not_a_number": 2}},
    )
    store.write(KINDS, dropped={"sensor.power": {"not_a_number": 1}})
    store.close()

    again = HistoryStore(tmp_path / "history.db")
    again.open()
    assert again.samples("binary_sensor.hall") == [(10.0, 1.0), (20.0, None)]
    assert again.hours("sensor.power") == [HourlyRow("sensor.power", 3600, 100.0, 50.0, 150.0)]
    coverage = again.coverage()
    assert coverage["sensor.power"].dropped == {"not_a_number": 3}
    assert coverage["binary_sensor.hall"].samples == 1  # the gap is not a reading
    assert again.last_values(["binary_sensor.hall"]) == {"binary_sensor.hall": (20.0, None)}
    again.close()


def test_backfill_never_overwrites_observed_hours(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write(KINDS, hourly=[HourlyRow("sensor.power", 0, 10.0, 10.0, 10.0)])
    store.write(
        KINDS,
        hourly=[
            HourlyRow("sensor.power", 0, 99.0, 99.0, 99.0),
            HourlyRow("sensor.power", 3600, 5.0, 5.0, 5.0),
        ],
        replace_hours=False,
    )
    assert [row.mean for row in store.hours("sensor.power")] == [10.0, 5.0]
    store.close()


def test_prune_keeps_retention_and_recent_raw_numbers(tmp_path: Path) -> None:
    store = _store(tmp_path)
    day = 86400.0
    now = 100 * day
    store.write(
        KINDS,
        [
            Sample("binary_sensor.hall", now - 50 * day, 1.0),
            Sample("binary_sensor.hall", now - 5 * day, 0.0),
            Sample("sensor.power", now - 50 * day, 7.0),
            Sample("sensor.power", now - 5 * day, 8.0),
        ],
        [HourlyRow("sensor.power", int(now - 50 * day), 7.0, 7.0, 7.0)],
    )
    store.prune(now, retention_days=60, raw_numeric_days=14, keep_every_reading={"motion"})
    assert [t for t, _ in store.samples("binary_sensor.hall")] == [now - 50 * day, now - 5 * day]
    assert [t for t, _ in store.samples("sensor.power")] == [now - 5 * day]
    assert len(store.hours("sensor.power")) == 1
    store.prune(now, retention_days=30, raw_numeric_days=14, keep_every_reading={"motion"})
    assert store.hours("sensor.power") == []
    assert len(store.samples("binary_sensor.hall")) == 1
    store.close()


def test_a_failed_prune_leaves_the_history_writable(tmp_path: Path) -> None:
    """A prune that fails half way (a full disk) is undone; the next write goes through."""
    store = _store(tmp_path)
    store.write(
        KINDS, [Sample("sensor.power", 0.0, 7.0)], [HourlyRow("sensor.power", 0, 7.0, 7.0, 7.0)]
    )
    with closing(sqlite3.connect(store.path)) as other:
        other.execute(
            "CREATE TRIGGER no_room BEFORE DELETE ON hourly BEGIN SELECT RAISE(ABORT, 'full'); END"
        )
        other.commit()
    with pytest.raises(sqlite3.IntegrityError):
        store.prune(100 * 86400.0, retention_days=30, raw_numeric_days=14)
    with closing(sqlite3.connect(store.path)) as other:
        other.execute("DROP TRIGGER no_room")
        other.commit()
    store.write(KINDS, [Sample("sensor.power", 60.0, 8.0)], [])
    assert [value for _, value in store.samples("sensor.power")] == [7.0, 8.0]  # nothing lost
    store.close()


def test_a_source_with_nothing_kept_is_not_resumed(tmp_path: Path) -> None:
    """A source the recorder had nothing for starts afresh, not from 1970."""
    store = _store(tmp_path)
    store.mark_backfilled(["sensor.power"], KINDS)
    store.write(KINDS, [Sample("binary_sensor.hall", 60.0, 1.0)], [])
    assert set(store.resume_points()) == {"binary_sensor.hall"}
    store.close()


def test_rename_keeps_the_history(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write(KINDS, [Sample("binary_sensor.hall", 1.0, 1.0)])
    store.rename("binary_sensor.hall", "binary_sensor.hallway")
    assert store.samples("binary_sensor.hall") == []
    assert store.samples("binary_sensor.hallway") == [(1.0, 1.0)]
    store.close()


def test_damaged_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x17" * 5000)
    store = HistoryStore(path)
    result = store.open()
    assert result.set_aside is not None
    assert result.set_aside.exists()
    assert result.set_aside.read_bytes().startswith(b"SQLite format 3")
    store.write(KINDS, [Sample("binary_sensor.hall", 1.0, 1.0)])
    assert store.samples("binary_sensor.hall") == [(1.0, 1.0)]
    store.close()


def test_a_file_out_of_reach_for_now_is_not_set_aside(tmp_path: Path) -> None:
    """ "Unable to open" is no damage: the error is raised and nothing is moved."""
    path = tmp_path / "history.db"
    path.mkdir()  # stands for a file SQLite cannot open at the moment
    with pytest.raises(sqlite3.OperationalError):
        HistoryStore(path).open()
    assert path.is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["history.db"]


def test_a_newer_history_is_kept_not_set_aside(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write(KINDS, [Sample("binary_sensor.hall", 1.0, 1.0)])
    store.close()
    with closing(sqlite3.connect(tmp_path / "history.db")) as db, db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(HistoryTooNewError):
        HistoryStore(tmp_path / "history.db").open()
    assert sorted(p.name for p in tmp_path.iterdir() if ".damaged" in p.name) == []
    with closing(sqlite3.connect(tmp_path / "history.db")) as db:
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone() == (1,)


def test_interrupted_write_leaves_a_readable_file(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write(KINDS, [Sample("binary_sensor.hall", 1.0, 1.0)])
    with pytest.raises(KeyError):  # fails mid-transaction: a source of no known kind
        store.write({}, [Sample("binary_sensor.unknown", 2.0, 1.0)])
    store.close()
    reopened = HistoryStore(tmp_path / "history.db")
    assert reopened.open().set_aside is None
    assert reopened.samples("binary_sensor.hall") == [(1.0, 1.0)]
    assert "binary_sensor.unknown" not in reopened.coverage()
    reopened.close()


def _hall(count: int, start: float = 0.0) -> list[Sample]:
    return [Sample("binary_sensor.hall", start + t * 60.0, float(t % 2)) for t in range(count)]


def test_a_held_history_is_whole_in_its_main_file_and_refuses_writes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write(KINDS, _hall(500))
    wal = tmp_path / "history.db-wal"
    assert wal.stat().st_size > 0

    store.hold()
    assert not wal.exists() or wal.stat().st_size == 0
    with closing(copied_alone(store.path, tmp_path / "copy")) as copy:
        assert copy.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 500

    with pytest.raises(HistoryHeldError):
        store.write(KINDS, _hall(10, start=1e6))
    with pytest.raises(HistoryHeldError):
        store.mark_backfilled(["binary_sensor.new"], {"binary_sensor.new": "motion"})
    with pytest.raises(HistoryHeldError):
        store.rename("binary_sensor.hall", "binary_sensor.lounge")
    store.prune(now=1e9, retention_days=1, raw_numeric_days=1)  # skipped: the next one prunes
    assert not wal.exists() or wal.stat().st_size == 0
    assert len(store.samples("binary_sensor.hall")) == 500
    assert store.backfilled() == set()

    store.release()
    store.write(KINDS, _hall(10, start=1e6))
    assert len(store.samples("binary_sensor.hall")) == 510
    store.close()


def test_closing_a_held_history_changes_nothing_a_backup_copies(tmp_path: Path) -> None:
    """Foresight unloads while a backup runs: the main file and its (empty) WAL stay as they are."""
    store = _store(tmp_path)
    store.write(KINDS, _hall(50))
    store.hold()
    main = store.path.read_bytes()
    store.close()
    assert store.path.read_bytes() == main
    assert (tmp_path / "history.db-wal").exists()

    again = HistoryStore(store.path)
    again.open()
    assert len(again.samples("binary_sensor.hall")) == 50
    again.close()


def test_a_year_of_a_busy_binary_source_stays_small(tmp_path: Path) -> None:
    """The size per source documented in history.py: 100 changes a day for a year."""
    store = _store(tmp_path)
    changes = [Sample("binary_sensor.hall", i * 864.0, float(i % 2)) for i in range(36_500)]
    store.write(KINDS, changes)
    store.close()
    with closing(sqlite3.connect(tmp_path / "history.db")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")
    size = (tmp_path / "history.db").stat().st_size
    assert size < 1.5e6, size


def test_hourly_aggregator_time_weights_and_gaps() -> None:
    agg = HourlyAggregator("sensor.power")
    assert agg.add(0.0, 100.0) == []
    assert agg.add(1800.0, 300.0) == []
    assert agg.add(2700.0, None) == []
    rows = agg.add(7200.0 + 60, 50.0)
    # Hour 0: 100 W for 30 min, 300 W for 15 min, then a gap: the mean of the known 45 min.
    assert rows == [HourlyRow("sensor.power", 0, pytest.approx(500 / 3), 100.0, 300.0)]
    rows = agg.advance(3 * 3600)
    assert rows == [HourlyRow("sensor.power", 7200, 50.0, 50.0, 50.0)]


def test_a_power_known_for_minutes_of_an_hour_is_no_hours_energy() -> None:
    """300 W all hour, then a kettle's 2 kW for five minutes before the sensor drops out: the
    second hour's mean is not its energy (the energy engine's own rule: half an hour known)."""
    builder = SeriesBuilder(Source("sensor.house_power", Kind.POWER))
    builder.add(0.0, 300.0)
    builder.add(3600.0, 2000.0)
    builder.add(3900.0, None)
    builder.add(7200.0, 300.0)
    builder.advance(3 * 3600.0)
    _, rows, _ = builder.take()
    means = {row.hour: row.mean for row in rows}
    assert means[0] == pytest.approx(300.0)
    assert means.get(3600) is None
    assert means[7200] == pytest.approx(300.0)
    # A temperature known for minutes still has a mean: it is no energy.
    thermometer = SeriesBuilder(Source("sensor.outdoor_temperature", Kind.TEMPERATURE))
    thermometer.add(3600.0, 5.0)
    thermometer.add(3900.0, None)
    thermometer.advance(2 * 3600.0)
    assert [row.mean for row in thermometer.take()[1]] == [5.0]


def test_meter_resets_and_noise() -> None:
    agg = HourlyAggregator("sensor.meter", counter=True)
    agg.add(0.0, 100.0)
    agg.add(600.0, 101.0)  # +1
    agg.add(1200.0, 100.5)  # a small dip: noise
    agg.add(1500.0, 101.5)  # +0.5 above the high-water mark
    agg.add(1800.0, 0.2)  # reset: counted from zero
    agg.add(2400.0, 0.7)  # +0.5
    (row,) = agg.advance(3600.0)
    assert row.consumption is not None
    assert abs(row.consumption - 2.2) < 1e-9


def _use(rows: list[HourlyRow]) -> list[float | None]:
    return [None if row.consumption is None else round(row.consumption, 6) for row in rows]


def test_a_meter_glitch_to_zero_is_no_use() -> None:
    """1000 → 0 → 1000.3 is a glitch, not 1000 kWh in an hour: that hour is unknown, and dropped."""
    agg = HourlyAggregator("sensor.meter", counter=True)
    rows = agg.add(0.0, 1000.0)
    rows += agg.add(1200.0, 0.0)
    rows += agg.add(1300.0, 1000.3)
    rows += agg.add(4000.0, 1000.7)
    assert _use(rows + agg.advance(7200.0)) == [None, 0.4]
    assert agg.take_implausible() == 1
    assert agg.take_implausible() == 0


def test_a_new_meter_starting_higher_is_no_use() -> None:
    agg = HourlyAggregator("sensor.meter", counter=True)
    rows = agg.add(0.0, 100.0)
    rows += agg.add(1800.0, 5000.0)  # a replacement meter that already counted elsewhere
    rows += agg.add(5400.0, 5001.0)
    assert _use(rows + agg.advance(7200.0)) == [None, 1.0]
    assert agg.take_implausible() == 1


def test_use_over_a_meter_gap_is_unknown_not_put_in_one_hour() -> None:
    """A meter unavailable for five hours: its hours are unknown, none gets the five hours' use."""
    agg = HourlyAggregator("sensor.meter", counter=True)
    rows = agg.add(0.0, 100.0)
    rows += agg.add(600.0, 100.2)
    rows += agg.add(1200.0, None)  # unavailable until 05:20
    rows += agg.add(5 * 3600 + 1200.0, 105.2)
    rows += agg.add(6 * 3600 + 1800.0, 105.6)
    rows += agg.advance(7 * 3600.0)
    assert [row.hour // 3600 for row in rows] == [0, 5, 6]
    assert _use(rows) == [None, None, 0.4]
    assert agg.take_implausible() == 0


def test_a_meter_back_within_minutes_shares_their_use_between_the_two_hours() -> None:
    """Unavailable from 00:58 to 01:03: the 0.3 kWh read after it go 2/5 to hour 0, 3/5 to hour 1."""
    agg = HourlyAggregator("sensor.meter", counter=True)
    rows = agg.add(0.0, 100.0)
    rows += agg.add(3000.0, 100.5)
    rows += agg.add(3480.0, None)
    assert agg.advance(3630.0) == []  # hour 0 waits: the meter may yet tell what it used
    rows += agg.add(3780.0, 100.8)
    rows += agg.add(5000.0, 101.0)
    rows += agg.advance(7200.0)
    assert [row.hour // 3600 for row in rows] == [0, 1]
    assert _use(rows) == [0.62, 0.38]


def test_a_meter_reset_while_briefly_unavailable_is_not_shared() -> None:
    """A reset during the gap: what was used around it can't be told, both hours stay unknown."""
    agg = HourlyAggregator("sensor.meter", counter=True)
    rows = agg.add(0.0, 100.0)
    rows += agg.add(3480.0, None)
    rows += agg.add(3780.0, 0.2)
    rows += agg.advance(7200.0)
    assert _use(rows) == [None, None]


def test_a_steady_meter_uses_nothing() -> None:
    agg = HourlyAggregator("sensor.meter", counter=True)
    agg.add(0.0, 100.0)
    agg.add(600.0, 100.5)
    assert _use(agg.advance(3 * 3600.0)) == [0.5, 0.0, 0.0]


def test_use_while_foresight_was_stopped_is_unknown() -> None:
    """After a restart the reading covers the downtime: no hour of it is counted."""
    builder = SeriesBuilder(Source("sensor.meter", Kind.ENERGY))
    builder.resume(600.0, [(0.0, 100.0)])
    assert builder.add(600.0, None) == Sample("sensor.meter", 600.0, None)  # not watched since
    builder.add(4 * 3600 + 600.0, 104.0)
    builder.add(5 * 3600 + 600.0, 104.3)
    builder.advance(6 * 3600.0)
    _, rows, _ = builder.take()
    assert [row.hour // 3600 for row in rows] == [0, 4, 5]  # nothing while it was stopped
    assert _use(rows) == [None, None, 0.3]


def test_use_over_a_restart_of_minutes_is_shared_between_its_hours() -> None:
    """Stopped at 00:59, back at 01:01: the 0.2 kWh counted meanwhile are half each hour's."""
    builder = SeriesBuilder(Source("sensor.meter", Kind.ENERGY))
    builder.resume(3540.0, [(0.0, 100.0)])
    builder.add(3540.0, None)
    builder.add(3660.0, 100.2)
    builder.advance(7200.0)
    _, rows, _ = builder.take()
    assert _use(rows) == [0.1, 0.1]


def test_a_resumed_hour_closes_whole_and_earlier_hours_are_not_made_again() -> None:
    """Observed until 11:10: the 11 o'clock hour is rebuilt from its start, hour 10 is left alone."""
    builder = SeriesBuilder(Source("sensor.outdoor", Kind.TEMPERATURE))
    # Stored: 0 °C from 10:00, 10 °C from 10:30; the hour from 11:00 was still open.
    builder.resume(11 * 3600 + 600.0, [(10 * 3600 + 1800.0, 10.0)])
    builder.add(11 * 3600 + 600.0, None)
    builder.add(11 * 3600 + 1200.0, 4.0)  # a reading after the restart at 11:20
    builder.advance(12 * 3600.0)
    samples, rows, _ = builder.take()
    assert samples == [
        Sample("sensor.outdoor", 11 * 3600 + 600.0, None),
        Sample("sensor.outdoor", 11 * 3600 + 1200.0, 4.0),
    ]
    # 10 °C for the 10 minutes seen, then a gap, then 4 °C for 40 minutes.
    assert rows == [HourlyRow("sensor.outdoor", 11 * 3600, pytest.approx(5.2), 4.0, 10.0)]


async def test_a_failed_write_keeps_the_batch_for_the_next(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full disk loses nothing: what could not be written is written at the next flush, and
    the sensor's rhythm, fed from the history as it grows, relearns what came late at training."""
    store: HistoryStore = setup_home.runtime_data.store
    coordinator = setup_home.runtime_data.coordinator
    write = store.write

    monkeypatch.setattr(store, "write", disk_full)
    for _ in range(2):
        for state in ("on", "off"):
            hass.states.async_set("binary_sensor.living_motion", state, {"device_class": "motion"})
        await coordinator.async_refresh()
    assert caplog.text.count("Cannot write Foresight's history") == 1

    monkeypatch.setattr(store, "write", write)
    await coordinator.async_refresh()
    motion = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    assert [value for _, value in motion] == [0.0, 1.0, 0.0, 1.0, 0.0]
    await coordinator.async_train()
    rhythm = coordinator.maintenance.rhythms["binary_sensor.living_motion"]
    assert sum(rhythm.reports_by_hour) == len(motion)


async def test_a_reload_while_the_history_cannot_be_written_keeps_the_batch(
    hass: HomeAssistant, setup_home: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Foresight reloads (an option changed) on a full disk: the readings waiting are kept,
    until the entry is removed."""
    write = HistoryStore.write

    monkeypatch.setattr(HistoryStore, "write", disk_full)
    for state in (STATE_ON, STATE_OFF):
        hass.states.async_set("binary_sensor.living_motion", state, {"device_class": "motion"})
        await setup_home.runtime_data.coordinator.async_refresh()
    assert await hass.config_entries.async_reload(setup_home.entry_id)
    await hass.async_block_till_done()
    hass.states.async_set("binary_sensor.living_motion", STATE_ON, {"device_class": "motion"})
    assert await hass.config_entries.async_reload(setup_home.entry_id)  # twice, still full
    await hass.async_block_till_done()

    monkeypatch.setattr(HistoryStore, "write", write)
    await setup_home.runtime_data.coordinator.async_refresh()
    store = setup_home.runtime_data.store
    motion = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    assert [value for _, value in motion] == [0.0, 1.0, 0.0, 1.0]

    monkeypatch.setattr(HistoryStore, "write", disk_full)
    hass.states.async_set("binary_sensor.living_motion", STATE_OFF, {"device_class": "motion"})
    assert await hass.config_entries.async_unload(setup_home.entry_id)
    assert setup_home.entry_id in hass.data[UNWRITTEN]
    assert await hass.config_entries.async_remove(setup_home.entry_id)
    assert setup_home.entry_id not in hass.data[UNWRITTEN]


async def test_readings_of_a_series_no_longer_kept_are_written_after_the_reload(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The workday sensor is taken out of the options on a full disk: what it read is kept."""
    hass.states.async_set("binary_sensor.workday", STATE_ON)
    await start_home(hass, home_entry, options={CONF_WORKDAY_SENSOR: "binary_sensor.workday"})
    write = HistoryStore.write

    monkeypatch.setattr(HistoryStore, "write", disk_full)
    hass.states.async_set("binary_sensor.workday", STATE_OFF)
    hass.config_entries.async_update_entry(home_entry, options={CONF_RETENTION_DAYS: 400})
    await hass.async_block_till_done()
    monkeypatch.setattr(HistoryStore, "write", write)
    await home_entry.runtime_data.coordinator.async_refresh()
    store = home_entry.runtime_data.store
    workday = await hass.async_add_executor_job(store.samples, "binary_sensor.workday")
    assert [value for _, value in workday] == [1.0, 0.0]


async def test_readings_waiting_outlive_a_setup_that_must_be_tried_again(
    hass: HomeAssistant, setup_home: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a full disk the history also locks while Foresight reloads: nothing waiting is lost."""
    write, resume_points = HistoryStore.write, HistoryStore.resume_points

    monkeypatch.setattr(HistoryStore, "write", disk_full)
    hass.states.async_set("binary_sensor.living_motion", STATE_ON, {"device_class": "motion"})
    monkeypatch.setattr(HistoryStore, "resume_points", disk_full)
    assert not await hass.config_entries.async_reload(setup_home.entry_id)

    monkeypatch.setattr(HistoryStore, "write", write)
    monkeypatch.setattr(HistoryStore, "resume_points", resume_points)
    assert await hass.config_entries.async_reload(setup_home.entry_id)
    await hass.async_block_till_done()
    store = setup_home.runtime_data.store
    motion = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    assert [value for _, value in motion] == [0.0, 1.0]


async def test_a_history_that_cannot_be_read_is_said_once_and_the_controllers_stay_usable(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A locked history file: one line in the log, the predictions wait, the controllers work."""
    store: HistoryStore = setup_home.runtime_data.store
    heating = "switch.living_room_smart_heating"
    await turn(hass, "switch", "turn_on", heating)
    readers = {name: getattr(store, name) for name in ("coverage", "dropped")}

    for name in readers:
        monkeypatch.setattr(store, name, history_locked)
    caplog.clear()
    for _ in range(3):
        await tick(hass, freezer, dt_util.utcnow() + FLUSH_INTERVAL)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is None
    assert "Foresight cannot use its history file" in errors[0].getMessage()
    assert "database is locked" in errors[0].getMessage()
    history = hass.states.get("sensor.living_room_history")
    assert history is not None
    assert history.state == STATE_UNAVAILABLE
    for setting in (
        heating,
        "number.living_room_comfort_temperature",
        "select.foresight_presence_simulation_mode",
        "binary_sensor.foresight_unexpected_activity",  # an alarm, read from live states
    ):
        state = hass.states.get(setting)
        assert state is not None
        assert state.state != STATE_UNAVAILABLE, setting
    await turn(hass, "switch", "turn_off", heating)
    switch = hass.states.get(heating)
    assert switch is not None
    assert switch.state == STATE_OFF
    await turn(hass, "switch", "turn_on", heating)
    switch = hass.states.get(heating)
    assert switch is not None
    assert switch.state == STATE_ON

    for name, reader in readers.items():
        monkeypatch.setattr(store, name, reader)
    await tick(hass, freezer, dt_util.utcnow() + FLUSH_INTERVAL)
    history = hass.states.get("sensor.living_room_history")
    assert history is not None
    assert history.state == "1"
    assert caplog.text.count("Fetching foresight data recovered") == 1


def test_while_writes_fail_the_oldest_readings_give_way_to_a_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A history that cannot be written for days keeps a bounded buffer, and loses no truth.

    The oldest readings are let go and the time they covered becomes a gap: the value before
    them is never stretched over it. They are counted with the source's dropped readings.
    """
    monkeypatch.setattr("custom_components.foresight.observe.MAX_UNWRITTEN_SAMPLES", 4)
    builder = SeriesBuilder(Source("binary_sensor.hall_motion", Kind.MOTION))
    for attempt in range(3):  # three failed writes, two readings each
        builder.add(attempt * 600.0, 1.0)
        builder.add(attempt * 600.0 + 60.0, 0.0)
        builder.put_back(*builder.take())
    samples, _, dropped = builder.take()
    key = "binary_sensor.hall_motion"
    assert samples == [
        Sample(key, 0.0, None),  # from the first lost reading: unknown
        Sample(key, 660.0, 0.0),
        Sample(key, 1200.0, 1.0),
        Sample(key, 1260.0, 0.0),
    ]
    assert dropped == {"unwritten": 3}


SEEDED_KINDS = {
    "binary_sensor.hall": "motion",
    "binary_sensor.door": "door",
    "sensor.power": "power",
    "sensor.outdoor": "temperature",
    "sensor.gone": "temperature",
    "sensor.meter": "energy",
}
DAY = 86400.0


def _seed(store: HistoryStore, readings_per_hour: int = 2, days: int = 40) -> float:
    """Several sources over ``days`` with gaps, hours only, readings replaced; returns now."""
    step = 3600.0 / readings_per_hour
    hall = [
        Sample("binary_sensor.hall", t, None if i % 17 == 0 else float(i % 2))
        for i, t in enumerate(i * step + 7.0 for i in range(int(days * DAY / step)))
        if not 10 * DAY <= t < 13 * DAY  # three days without a word
    ]
    door = [Sample("binary_sensor.door", d * DAY + 5.0, 1.0) for d in (3, 20, days - 1)]
    power = [
        Sample("sensor.power", (days - 15) * DAY + i * step, float(i % 50))
        for i in range(int(15 * DAY / step))
    ]
    hours = [
        HourlyRow(key, h * 3600, float(h % 7), 0.0, 9.0, 0.5 if key == "sensor.meter" else None)
        for key in ("sensor.power", "sensor.outdoor", "sensor.meter")
        for h in range(days * 24)
        if not 5 * 24 <= h < 8 * 24 or key == "sensor.meter"
    ]
    store.write(SEEDED_KINDS, hall + door + power, hours[: len(hours) // 2])
    store.write(SEEDED_KINDS, hourly=hours[len(hours) // 2 :])
    store.write(SEEDED_KINDS, hourly=hours[:100])  # hours written again replace themselves
    store.write(
        SEEDED_KINDS,
        [
            Sample("sensor.gone", 2 * DAY, None),
            Sample("sensor.gone", 30 * DAY, None),
            Sample("sensor.outdoor", days * DAY - 60.0, None),
            Sample("sensor.meter", 30 * DAY + 1.0, 12.5),
            # A reading replaced by a gap at the same moment: the day may lose its only reading.
            Sample("binary_sensor.door", 20 * DAY + 5.0, None),
        ],
        # A backfill over hours already observed changes nothing; before them it adds hours.
        [HourlyRow("sensor.power", h * 3600, 1.0, 1.0, 1.0) for h in range(4 * 24, 9 * 24)],
        replace_hours=False,
    )
    return days * DAY


def _coverage_as_before(db: sqlite3.Connection) -> dict[str, Coverage]:
    """What coverage() answered when it read every row."""
    result = {key: Coverage(kind=kind) for key, kind in db.execute("SELECT key, kind FROM sources")}
    names = dict(db.execute("SELECT id, key FROM sources").fetchall())
    for source_id, count, first, last in db.execute(
        "SELECT source, COUNT(*), MIN(t), MAX(t) FROM samples"
        " WHERE value IS NOT NULL GROUP BY source"
    ):
        cov = result[names[source_id]]
        cov.samples, cov.first, cov.last = count, first, last
    for source_id, count, first, last in db.execute(
        "SELECT source, COUNT(*), MIN(hour), MAX(hour) + 3600 FROM hourly GROUP BY source"
    ):
        cov = result[names[source_id]]
        cov.hours = count
        cov.first = first if cov.first is None else min(cov.first, first)
        cov.last = last if cov.last is None else max(cov.last, last)
    for source_id, days in db.execute(
        "SELECT source, COUNT(*) FROM ("
        " SELECT source, CAST(t / 86400 AS INTEGER) AS day FROM samples"
        " WHERE value IS NOT NULL"
        " UNION SELECT source, hour / 86400 FROM hourly) GROUP BY source"
    ):
        result[names[source_id]].days = days
    for source_id, reason, count in db.execute("SELECT source, reason, count FROM dropped"):
        result[names[source_id]].dropped[reason] = count
    return result


def _days_with_data_as_before(db: sqlite3.Connection, keys: list[str]) -> int:
    ids = [
        row[0] for key in keys for row in db.execute("SELECT id FROM sources WHERE key = ?", (key,))
    ]
    if not ids:
        return 0
    row = db.execute(
        "SELECT COUNT(*) FROM (SELECT CAST(t / 86400 AS INTEGER) FROM samples"
        " WHERE value IS NOT NULL AND source IN (SELECT value FROM json_each(?1))"
        " UNION SELECT hour / 86400 FROM hourly"
        " WHERE source IN (SELECT value FROM json_each(?1)))",
        (json.dumps(ids),),
    ).fetchone()
    return int(row[0])


def _last_values_as_before(db: sqlite3.Connection) -> dict[str, tuple[float, float | None]]:
    rows = db.execute(
        "SELECT s.key, x.t, x.value FROM sources s JOIN samples x ON x.source = s.id"
        " WHERE x.t = (SELECT MAX(t) FROM samples WHERE source = s.id)"
    ).fetchall()
    return {key: (t, value) for key, t, value in rows}


def _assert_answers_as_before(store: HistoryStore) -> None:
    keys = sorted(store.kinds())
    key_sets = [[], ["sensor.unknown"], keys, *([key] for key in keys), keys[::2], keys[1::2]]
    with closing(sqlite3.connect(store.path)) as db:
        assert store.coverage() == _coverage_as_before(db)
        for key_set in key_sets:
            assert store.days_with_data(key_set) == _days_with_data_as_before(db, key_set), key_set
        before = _last_values_as_before(db)
    for key_set in key_sets:
        wanted = {key: before[key] for key in key_set if key in before}
        assert store.last_values(key_set) == wanted, key_set


def test_the_summary_answers_as_when_it_read_every_row(tmp_path: Path) -> None:
    """Coverage, days with data and the latest readings, as the full scans gave them."""
    store = _store(tmp_path)
    now = _seed(store)
    _assert_answers_as_before(store)
    store.write(SEEDED_KINDS, dropped={"sensor.power": {"not_a_number": 2}})
    store.prune(now, 30, 14, {"motion", "door"}, {"sensor.power": 20})
    _assert_answers_as_before(store)
    store.rename("binary_sensor.door", "binary_sensor.hall")  # onto a kept source: the old wins
    store.rename("sensor.gone", "sensor.back")
    _assert_answers_as_before(store)
    store.prune(now + 40 * DAY, 30, 14)  # everything forgotten
    _assert_answers_as_before(store)
    assert store.coverage()["sensor.power"] == Coverage("power", dropped={"not_a_number": 2})
    store.close()


def _rows(path: Path) -> tuple[list[Any], list[Any]]:
    with closing(sqlite3.connect(path)) as db:
        return (
            db.execute("SELECT * FROM samples ORDER BY source, t").fetchall(),
            db.execute("SELECT * FROM hourly ORDER BY source, hour").fetchall(),
        )


def test_prune_forgets_what_it_forgot_when_it_read_every_row(tmp_path: Path) -> None:
    store = _store(tmp_path)
    now = _seed(store)
    store.close()
    as_before = tmp_path / "as_before.db"
    shutil.copy(store.path, as_before)
    shutil.copy(store.path, tmp_path / "unpruned.db")
    keep_every_reading, keep_raw = ["door", "motion"], {"sensor.power": 20}
    with closing(sqlite3.connect(as_before)) as db, db:
        ids = dict(db.execute("SELECT key, id FROM sources").fetchall())
        db.execute("DELETE FROM samples WHERE t < ?", (now - 30 * DAY,))
        db.execute(
            "DELETE FROM samples WHERE t < ? AND source IN"
            " (SELECT id FROM sources WHERE kind NOT IN (SELECT value FROM json_each(?)))"
            " AND source NOT IN (SELECT value FROM json_each(?))",
            (now - 14 * DAY, json.dumps(keep_every_reading), json.dumps([ids["sensor.power"]])),
        )
        db.execute(
            "DELETE FROM samples WHERE source = ? AND t < ?", (ids["sensor.power"], now - 20 * DAY)
        )
        db.execute("DELETE FROM hourly WHERE hour < ?", (now - 30 * DAY,))
    store.open()
    store.prune(now, 30, 14, keep_every_reading, keep_raw)
    store.close()
    assert _rows(store.path) == _rows(as_before)
    assert _rows(store.path) != _rows(tmp_path / "unpruned.db")


def test_a_history_written_before_the_day_counts_is_counted_when_opened(tmp_path: Path) -> None:
    """A file of the first schema gains its day counts once; its answers stay the same."""
    store = _store(tmp_path)
    _seed(store)
    store.close()
    with closing(sqlite3.connect(store.path)) as db, db:
        for (trigger,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall():
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DROP TABLE days")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    store.open()
    _assert_answers_as_before(store)
    store.close()
    with closing(sqlite3.connect(store.path)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
            str(SCHEMA_VERSION),
        )


def _work(store: HistoryStore, call: Callable[..., object], *args: Any) -> int:
    """How much SQLite had to do for ``call(*args)`` (virtual machine steps, in hundreds)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store._conn.set_progress_handler(count, 100)
    call(*args)
    store._conn.set_progress_handler(None, 0)
    return steps


def test_the_summary_costs_no_more_for_a_busier_history(tmp_path: Path) -> None:
    """Hourly summary and refresh read per source, not every reading kept: 30 times the readings cost about the same."""
    work = []
    for readings_per_hour, folder in ((2, "quiet"), (60, "busy")):
        (tmp_path / folder).mkdir()
        store = _store(tmp_path / folder)
        now = _seed(store, readings_per_hour)
        keys = sorted(SEEDED_KINDS)
        work.append(
            {
                "last_values": _work(store, store.last_values, keys),
                "coverage": _work(store, store.coverage),
                "days_with_data": _work(store, store.days_with_data, keys),
                "prune": _work(store, store.prune, now, 400, 400),
            }
        )
        store.close()
    quiet, busy = work
    for name, steps in busy.items():
        assert steps <= 2 * quiet[name] + 5, (name, quiet[name], steps)


def test_a_reading_older_than_the_series_last_is_counted_not_kept() -> None:
    """A clock set back (an NTP correction): the past is not rewritten, and it is not silent."""
    builder = SeriesBuilder(Source("binary_sensor.hall_motion", Kind.MOTION))
    builder.add(7200.0, 1.0)
    assert builder.add(3600.0, 0.0) is None
    assert builder.add(7260.0, 0.0) is not None
    samples, _, dropped = builder.take()
    assert [(sample.t, sample.value) for sample in samples] == [(7200.0, 1.0), (7260.0, 0.0)]
    assert dropped == {"out_of_order": 1}
