"""The suite's test harness, bridged to a newer Home Assistant release it was not made for.

`pytest-homeassistant-custom-component` is published for each Home Assistant release some time
after it. Until it supports the newest release, `scripts/test` runs the whole suite on that
release too, with this plugin loaded before the harness (`-p tests.harness_bridge`). Each bridge
below adapts only what the harness itself expects of the release it was made for; none changes
what a test checks or what Foresight runs on.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
import json
from typing import Any

# Since 2026.11 Home Assistant makes `httpx` the `httpx2` package when it is first imported, which
# must come before anything imports httpx: the harness imports respx (and with it httpx) first.
import homeassistant  # noqa: F401
from homeassistant.components import logger
from homeassistant.components.logger import helpers as logger_helpers
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er, frame, restore_state
from homeassistant.helpers.json import JSONEncoder
from homeassistant.util import dt as dt_util

# The harness imports this from the logger integration, which since 2026.11 keeps it in its helpers.
if not hasattr(logger, "_clear_logger_overwrites"):
    logger._clear_logger_overwrites = logger_helpers._clear_logger_overwrites  # type: ignore[attr-defined]

# The harness's plugin first: it patches Home Assistant's modules before anything else imports them.
import pytest_homeassistant_custom_component.plugins  # noqa: F401, I001  (after the bridges above)
from pytest_homeassistant_custom_component import common

# Since 2026.11 Home Assistant keeps the last states by entity registry entry, and moves a state
# kept by entity id there when the entry is created: the harness's restore cache fills the former
# index only, which the release no longer reads.
if hasattr(restore_state.RestoreStateData, "_async_entity_registry_entry_created"):

    def mock_restore_cache_with_extra_data(
        hass: HomeAssistant, states: Sequence[tuple[State, Mapping[str, Any] | None]]
    ) -> None:
        """Make `states` (with their extra data) the last states kept before this start."""
        data = restore_state.RestoreStateData(hass)
        now = dt_util.utcnow()
        stored = []
        for state, extra_data in states:
            as_dict = state.as_dict()
            attributes = json.loads(json.dumps(as_dict["attributes"], cls=JSONEncoder))
            stored.append(
                {
                    "state": {**as_dict, "attributes": attributes},
                    "extra_data": extra_data,
                    "last_seen": now,
                }
            )
        assert len({state.entity_id for state, _ in states}) == len(states), states
        data._async_load_stored_states(stored)
        hass.bus.async_listen(
            er.EVENT_ENTITY_REGISTRY_UPDATED,
            data._async_entity_registry_entry_created,
            event_filter=restore_state._entity_registry_entry_created_filter,
        )
        restore_state.async_get.cache_clear()
        hass.data[restore_state.DATA_RESTORE_STATE] = data

    def mock_restore_cache(hass: HomeAssistant, states: Sequence[State]) -> None:
        """Make `states` the last states kept before this start."""
        mock_restore_cache_with_extra_data(hass, [(state, None) for state in states])

    common.mock_restore_cache = mock_restore_cache
    common.mock_restore_cache_with_extra_data = mock_restore_cache_with_extra_data

# Home Assistant reports an integration's misuse of its API (since 2026.11, a boolean returned
# from setting up an entry, still allowed for custom integrations) against the integrations of the
# instance it was set up with; the harness sets that up for a test's first instance only, so a
# second one (a restart on the same files) could not find Foresight there.
_harness_instance = common.async_test_home_assistant


@asynccontextmanager
async def async_test_home_assistant(*args: Any, **kwargs: Any) -> AsyncGenerator[HomeAssistant]:
    """A Home Assistant for the test, the one Home Assistant's reports are about while it runs."""
    async with _harness_instance(*args, **kwargs) as hass:
        previous = frame._hass.hass
        frame.async_setup(hass)
        try:
            yield hass
        finally:
            frame.async_setup(previous)


common.async_test_home_assistant = async_test_home_assistant
