"""Foresight's files in ``.storage`` edited by hand, cut short or from a newer Foresight: it still starts."""

from __future__ import annotations

from collections.abc import Iterator
import importlib.util
import json
import logging
from pathlib import Path
import threading
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.foresight.const import DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import json as json_helper, storage

from .conftest import load_entry, set_home_states

# Each thing the model store keeps, under the names Foresight saves it with.
_MODEL_NAMES = (
    "occupancy",
    "energy",
    "thermal",
    "maintenance",
    "maintenance_sources",
    "trained_at",
    "rejected_at",
    "announced",
    "unusual_energy_announced",
    "learned_in",
)


def _models_key(entry: MockConfigEntry) -> str:
    return f"{DOMAIN}.{entry.entry_id}.models"


@pytest.fixture(autouse=True)
def _files_read_from_disk(hass_storage: dict[str, Any]) -> Iterator[None]:
    """Stores read their real files, as in a running Home Assistant (the harness keeps them in
    memory, and refuses any that is not a well-formed store)."""

    async def _async_load(store: storage.Store[Any]) -> Any:
        return await store._async_load_data()

    in_memory = storage.Store._async_load
    storage.Store._async_load = _async_load  # type: ignore[method-assign]
    yield
    storage.Store._async_load = in_memory  # type: ignore[method-assign]


def _write(hass: HomeAssistant, key: str, saved: Any) -> None:
    path = Path(hass.config.path(".storage", key))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved))


async def _start_with(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    key: str,
    saved: Any,
) -> None:
    """Write ``saved`` as the store file ``key``, then load Foresight: it starts all the same."""
    _write(hass, key, saved)
    set_home_states(hass)
    with caplog.at_level(logging.WARNING):
        await load_entry(hass, entry)
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    "saved",
    [
        None,
        [1, 2],
        {"version": 1, "data": [1, 2]},
        {"version": 1, "data": "models"},
        {"version": 1},
        {"version": 1, "data": dict.fromkeys(_MODEL_NAMES, "garbage")},
        {"version": 1, "data": {key: [1] for key in _MODEL_NAMES}},
        {"version": 1, "data": {key: {"version": 1, "sources": 5} for key in _MODEL_NAMES}},
    ],
    ids=[
        "null",
        "a list",
        "data a list",
        "data a string",
        "no data",
        "each model a string",
        "each model a list",
        "each model a stranger",
    ],
)
async def test_unreadable_models_are_learned_again(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    saved: Any,
) -> None:
    await _start_with(hass, home_entry, caplog, _models_key(home_entry), saved)
    assert "could not be read" in caplog.text
    assert await hass.config_entries.async_unload(home_entry.entry_id)
    # What was learned again replaced the unreadable file.
    rewritten = hass_storage[_models_key(home_entry)]
    assert rewritten["version"] == 1
    assert set(rewritten["data"]) >= {"occupancy", "trained_at", "learned_in"}


async def test_models_from_a_newer_foresight_are_learned_again_and_said_so(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _start_with(
        hass,
        home_entry,
        caplog,
        _models_key(home_entry),
        {"version": 2, "minor_version": 1, "data": {}},
    )
    assert "written by a newer version of Foresight" in caplog.text
    assert "upgrade Home Assistant" not in caplog.text


@pytest.mark.parametrize(
    "saved",
    [
        None,
        [1],
        {"version": 1, "data": [1]},
        {"version": 1, "data": "blueprints"},
        {"version": 1},
        {"version": 5, "data": {}},
    ],
    ids=["null", "a list", "data a list", "data a string", "no data", "a newer version"],
)
async def test_an_unreadable_blueprint_record_does_not_stop_foresight(
    hass: HomeAssistant,
    home_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    saved: Any,
) -> None:
    await _start_with(hass, home_entry, caplog, "foresight.blueprints", saved)
    assert "blueprints" in caplog.text


async def test_models_are_written_to_disk_off_the_event_loop(
    hass: HomeAssistant, home_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big home's models are a megabyte of JSON: made and written in an executor thread,
    never on Home Assistant's event loop, and read back as they were kept."""
    loop_thread = threading.get_ident()
    made_on_the_loop: list[bool] = []
    prepare = json_helper.prepare_save_json

    def _prepare(data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if data.get("key") == _models_key(home_entry):
            made_on_the_loop.append(threading.get_ident() == loop_thread)
        return prepare(data, *args, **kwargs)

    monkeypatch.setattr(json_helper, "prepare_save_json", _prepare)
    # The harness writes every store in memory, on the loop: this test needs Home Assistant's
    # own writing, taken from a copy of its storage module.
    spec = importlib.util.find_spec(storage.__name__)
    assert spec is not None
    assert spec.loader is not None
    home_assistants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(home_assistants)
    with patch.object(storage.Store, "_async_write_data", home_assistants.Store._async_write_data):
        set_home_states(hass)
        await load_entry(hass, home_entry)
        await home_entry.runtime_data.coordinator.async_train()
        kept = home_entry.runtime_data.models.get("occupancy")
        assert await hass.config_entries.async_unload(home_entry.entry_id)

    assert made_on_the_loop
    assert not any(made_on_the_loop)
    saved = await hass.async_add_executor_job(_read_and_remove, hass, _models_key(home_entry))
    assert saved["data"]["occupancy"] == json.loads(json.dumps(kept))


def _read_and_remove(hass: HomeAssistant, key: str) -> Any:
    """The store file ``key`` as written, removed: the next test starts without it."""
    path = Path(hass.config.path(".storage", key))
    saved = json.loads(path.read_text())
    path.unlink()
    return saved
