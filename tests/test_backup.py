"""Home Assistant backups: they copy a whole, consistent history, and no reading is lost."""

from __future__ import annotations

import asyncio
from contextlib import closing
from datetime import timedelta
import io
import logging
from pathlib import Path
import sqlite3
import tarfile

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.foresight import history_path
from custom_components.foresight.backup import HOLD_LIMIT, async_post_backup, async_pre_backup
from custom_components.foresight.history import HistoryStore
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from .conftest import copied_alone, history_locked, load_entry, set_home_states

MOTION = {"device_class": "motion"}


async def _motion(hass: HomeAssistant, entry: MockConfigEntry) -> list[float | None]:
    store: HistoryStore = entry.runtime_data.store
    samples = await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")
    return [value for _, value in samples]


def _motion_in(copy: sqlite3.Connection) -> list[float | None]:
    """The motion readings a copied history file holds, read with SQLite alone."""
    rows = copy.execute(
        "SELECT value FROM samples JOIN sources ON id = source WHERE key = ? ORDER BY t",
        ("binary_sensor.living_motion",),
    )
    return [value for (value,) in rows]


def _motion_in_main_file(hass: HomeAssistant, entry: MockConfigEntry) -> list[float | None]:
    with closing(copied_alone(history_path(hass, entry), _copies(hass))) as copy:
        return _motion_in(copy)


def _copies(hass: HomeAssistant) -> Path:
    """A folder of the test's own for copies (outside what Foresight writes)."""
    return Path(hass.config.path("copies"))


def _wal_size(hass: HomeAssistant, entry: MockConfigEntry) -> int:
    return Path(f"{history_path(hass, entry)}-wal").stat().st_size


def _backups(hass: HomeAssistant) -> list[Path]:
    return list(Path(hass.config.path("backups")).glob("*.tar"))


def _history_in_backup(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[Path, int]:
    """Foresight's history file and the size of its WAL, out of Home Assistant's one backup."""
    [backup] = _backups(hass)
    name = f"data/.storage/foresight/{entry.entry_id}.db"
    with tarfile.open(backup) as outer:
        inner = outer.extractfile("homeassistant.tar.gz")
        assert inner is not None
        with tarfile.open(fileobj=io.BytesIO(inner.read()), mode="r:gz") as core:
            wal = core.getmember(f"{name}-wal").size if f"{name}-wal" in core.getnames() else 0
            history = core.extractfile(name)
            assert history is not None
            restored = _copies(hass) / "restored.db"
            restored.parent.mkdir()
            restored.write_bytes(history.read())
    return restored, wal


async def test_a_backup_holds_the_history_and_no_reading_is_lost(
    hass: HomeAssistant, setup_home: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    hass.states.async_set("binary_sensor.living_motion", "on", MOTION)
    await async_pre_backup(hass)
    # What was observed before the backup is in the main file alone.
    assert await hass.async_add_executor_job(_motion_in_main_file, hass, setup_home) == [0.0, 1.0]

    caplog.set_level(logging.DEBUG, "custom_components.foresight")
    hass.states.async_set("binary_sensor.living_motion", "off", MOTION)
    await setup_home.runtime_data.coordinator.async_refresh()
    assert await _motion(hass, setup_home) == [0.0, 1.0]
    assert "A backup holds Foresight's history" in caplog.text
    assert "Cannot write Foresight's history" not in caplog.text
    assert setup_home.runtime_data.coordinator.last_update_success

    await async_post_backup(hass)
    assert await _motion(hass, setup_home) == [0.0, 1.0, 0.0]


async def test_a_backup_that_never_ends_lets_go_of_the_history(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await async_pre_backup(hass)
    hass.states.async_set("binary_sensor.living_motion", "on", MOTION)
    freezer.tick(HOLD_LIMIT + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert "did not end within" in caplog.text
    assert await _motion(hass, setup_home) == [0.0, 1.0]
    await async_post_backup(hass)  # late: nothing left to release


async def test_foresight_reloaded_during_a_backup_stays_held_until_it_ends(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    await async_pre_backup(hass)
    hass.states.async_set("binary_sensor.living_motion", "on", MOTION)
    assert await hass.config_entries.async_reload(setup_home.entry_id)
    hass.states.async_set("binary_sensor.living_motion", "off", MOTION)
    await setup_home.runtime_data.coordinator.async_refresh()
    assert await hass.async_add_executor_job(_wal_size, hass, setup_home) == 0
    assert await _motion(hass, setup_home) == [0.0]

    await async_post_backup(hass)
    assert await _motion(hass, setup_home) == [0.0, 1.0, 0.0]


async def test_a_rename_during_a_backup_moves_the_history_once_it_ends(
    hass: HomeAssistant, home_entry: MockConfigEntry
) -> None:
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "binary_sensor", "test", "living_motion", suggested_object_id="living_motion"
    )
    set_home_states(hass)
    await load_entry(hass, home_entry)
    await async_pre_backup(hass)
    registry.async_update_entity(
        "binary_sensor.living_motion", new_entity_id="binary_sensor.lounge_motion"
    )
    for _ in range(5):
        await asyncio.sleep(0)
    store: HistoryStore = home_entry.runtime_data.store
    assert await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion")

    await async_post_backup(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    store = home_entry.runtime_data.store
    assert await hass.async_add_executor_job(store.samples, "binary_sensor.living_motion") == []
    lounge = await hass.async_add_executor_job(store.samples, "binary_sensor.lounge_motion")
    assert [value for _, value in lounge][:1] == [0.0]


async def test_a_home_assistant_backup_holds_a_whole_history(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """A backup made by Home Assistant's own backup integration, read back with SQLite."""
    assert await async_setup_component(hass, "backup", {})
    await hass.async_block_till_done()
    hass.states.async_set("binary_sensor.living_motion", "on", MOTION)

    await hass.services.async_call("backup", "create", blocking=True)

    restored, wal = await hass.async_add_executor_job(_history_in_backup, hass, setup_home)
    assert wal == 0
    with closing(sqlite3.connect(restored)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert _motion_in(copy) == [0.0, 1.0]
    assert await _motion(hass, setup_home) == [0.0, 1.0]


async def test_a_history_that_cannot_be_folded_does_not_fail_the_backup(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Home Assistant's backup is made, Foresight's history copied as it is."""
    assert await async_setup_component(hass, "backup", {})
    await hass.async_block_till_done()
    monkeypatch.setattr(setup_home.runtime_data.store, "hold", history_locked)

    await hass.services.async_call("backup", "create", blocking=True)

    assert await hass.async_add_executor_job(_backups, hass)
    assert "Cannot fold Foresight's history before the backup" in caplog.text


async def test_foresight_removed_during_a_backup_keeps_its_history_until_the_backup_ends(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """The backup may be copying the history file: it is deleted once the backup has ended."""
    path = history_path(hass, setup_home)
    await async_pre_backup(hass)
    assert await hass.config_entries.async_remove(setup_home.entry_id)
    await hass.async_block_till_done()
    assert path.exists()

    await async_post_backup(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not list(path.parent.glob(f"{path.name}*"))
