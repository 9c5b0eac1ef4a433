"""A restart of Home Assistant keeps what Foresight learned from, even once the recorder forgot it."""

from __future__ import annotations

from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry, async_test_home_assistant

from custom_components.foresight.history import HistoryStore
from homeassistant import loader
from homeassistant.core import HomeAssistant
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
