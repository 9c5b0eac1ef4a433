"""A restart of Home Assistant keeps what Foresight learned from, even once the recorder forgot it."""

from __future__ import annotations

from contextlib import closing
import sqlite3
from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry, async_test_home_assistant

from custom_components.foresight import history_path
from custom_components.foresight.history import HistoryStore
from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from .conftest import entry_like, set_home_states


async def test_history_survives_a_restart(
    hass: HomeAssistant, setup_home: MockConfigEntry, async_test_recorder: Any
) -> None:
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    hass.states.async_set("binary_sensor.living_motion", "off", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(setup_home.entry_id)  # what stopping does
    await hass.async_block_till_done()

    # A second Home Assistant on the same configuration folder, with an empty recorder.
    async with async_test_home_assistant(config_dir=hass.config.config_dir) as restarted:
        restarted.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        async with async_test_recorder(restarted):
            assert await async_setup_component(restarted, "homeassistant", {})
            set_home_states(restarted)
            entry = entry_like(setup_home, entry_id=setup_home.entry_id)
            entry.add_to_hass(restarted)
            assert await restarted.config_entries.async_setup(entry.entry_id)
            await restarted.async_block_till_done(wait_background_tasks=True)

            store: HistoryStore = entry.runtime_data.store
            motion = await restarted.async_add_executor_job(
                store.samples, "binary_sensor.living_motion"
            )
            assert [value for _, value in motion] == [0.0, 1.0, 0.0]
            history = restarted.states.get("sensor.living_room_history")
            assert history is not None
            assert history.attributes["samples_kept"] >= 3
            assert await restarted.config_entries.async_unload(entry.entry_id)
            await restarted.async_block_till_done()
            await restarted.async_stop(force=True)


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
    assert "cannot open its history file" in str(home_entry.reason)
    assert path.is_dir()
    assert not list(path.parent.glob("*.damaged-*"))
    assert not ir.async_get(hass).issues


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
