"""The last states Home Assistant keeps of Foresight's entities, on the release installed.

Runs without the suite's test harness, as the end-to-end test does, so that it also runs on a newer
release the harness does not support yet: where Home Assistant keeps an entity's last state (by
entity id, or by registry entry) changes between releases.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from pathlib import Path

from custom_components.foresight.entity import async_forget_last_states
from homeassistant import loader
from homeassistant.bootstrap import async_load_base_functionality
from homeassistant.config_entries import ConfigEntries
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import EntityPlatform
from homeassistant.helpers.restore_state import RestoreEntity

HEATING = "switch.living_room_smart_heating"


class _Heating(RestoreEntity):
    """A room's Smart heating switch, as far as its last state goes."""

    _attr_should_poll = False
    _attr_name = "Living room Smart heating"
    _attr_unique_id = "living_room_smart_heating"

    def __init__(self, state: str | None) -> None:
        self._attr_state = state


async def test_an_entity_provided_again_does_not_take_back_its_last_state(tmp_path: Path) -> None:
    """Smart heating removed with the room's thermostat, then given back, starts off anew."""
    hass = HomeAssistant(str(tmp_path))
    loader.async_setup(hass)
    hass.config_entries = ConfigEntries(hass, {})
    await async_load_base_functionality(hass)
    platform = EntityPlatform(
        hass=hass,
        logger=logging.getLogger(__name__),
        domain="switch",
        platform_name="foresight",
        platform=None,
        scan_interval=timedelta(seconds=30),
        entity_namespace=None,
    )
    try:
        await platform.async_add_entities([_Heating("on")])
        registry = er.async_get(hass)
        registered = registry.async_get(HEATING)
        assert registered is not None
        # Foresight reloaded without it: Home Assistant keeps its last state, Foresight forgets it.
        await platform.async_remove_entity(HEATING)
        registry.async_remove(HEATING)
        async_forget_last_states(hass, [registered])

        given_back = _Heating(None)
        await platform.async_add_entities([given_back])
        assert given_back.entity_id == HEATING
        assert await given_back.async_get_last_state() is None
    finally:
        await hass.async_stop(force=True)
