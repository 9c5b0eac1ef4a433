"""Foresight's actions answer bad arguments with a translated error, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.foresight.const import DOMAIN
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .conftest import held_when_called


async def _call(hass: HomeAssistant, service: str, data: dict[str, object]) -> object:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=service == "get_forecast"
    )


@pytest.mark.parametrize(
    ("service", "data", "translation_key"),
    [
        ("get_forecast", {"kind": "occupancy", "room": "Attic"}, "unknown_room"),
        ("retrain", {"room": "Attic"}, "unknown_room"),
    ],
)
async def test_translated_errors(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    service: str,
    data: dict[str, object],
    translation_key: str,
) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, service, data)
    assert raised.value.translation_domain == DOMAIN
    assert raised.value.translation_key == translation_key


async def test_an_entry_that_is_not_foresights_is_named_as_such(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """An unknown entry, another integration's, or Foresight unloaded: each says which it is."""
    other = MockConfigEntry(domain="sun", title="Sun")
    other.add_to_hass(hass)
    for entry_id, translation_key in (
        ("nope", "service_config_entry_not_found"),
        (other.entry_id, "service_config_entry_wrong_domain"),
    ):
        with pytest.raises(ServiceValidationError) as raised:
            await _call(hass, "get_forecast", {"kind": "energy", "config_entry_id": entry_id})
        assert raised.value.translation_key == translation_key
    await hass.config_entries.async_unload(setup_home.entry_id)
    for data in ({"kind": "energy"}, {"kind": "energy", "config_entry_id": setup_home.entry_id}):
        with pytest.raises(ServiceValidationError) as raised:
            await _call(hass, "get_forecast", data)
        assert raised.value.translation_key == "service_config_entry_not_loaded"
        assert "Foresight" in str(raised.value)


@pytest.mark.parametrize(
    ("data", "translation_key", "placeholders"),
    [
        ({"kind": "weather"}, "unknown_kind", {"kind": "weather"}),
        ({"kind": "maintenance", "hours": 0}, "invalid_hours", {"hours": "0", "max": "1440"}),
        (
            {"kind": "maintenance", "hours": "many"},
            "invalid_hours",
            {"hours": "many", "max": "1440"},
        ),
        # not cut to 2 unsaid
        ({"kind": "maintenance", "hours": 2.5}, "invalid_hours", {"hours": "2.5", "max": "1440"}),
        ({"kind": "energy", "colour": "red"}, "invalid_argument", None),
    ],
)
async def test_invalid_arguments_are_refused(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    data: dict[str, object],
    translation_key: str,
    placeholders: dict[str, str] | None,
) -> None:
    """A wrong kind or number of hours is refused in the user's language, not a schema's English."""
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, "get_forecast", data)
    assert raised.value.translation_key == translation_key
    if placeholders is not None:
        assert raised.value.translation_placeholders == placeholders


@pytest.mark.parametrize("kind", ["energy", "maintenance"])
async def test_a_room_is_refused_for_a_forecast_of_the_whole_home(
    hass: HomeAssistant, setup_home: MockConfigEntry, kind: str
) -> None:
    """Energy and maintenance are forecast for the home: the error says to leave the room out."""
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, "get_forecast", {"kind": kind, "room": "living room"})
    assert raised.value.translation_key == "room_only_for_occupancy"
    assert str(raised.value) == (
        "Foresight forecasts energy use and maintenance for the whole home, not per room: "
        "leave the room out"  # Home Assistant drops the full stop
    )


async def test_hours_may_be_given_as_a_whole_number_in_any_form(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """As a template or a form gives it: 48.0 and "48" are 48 hours."""
    for hours in (48.0, "48"):
        response = await _call(hass, "get_forecast", {"kind": "maintenance", "hours": hours})
        assert isinstance(response, dict) and response["kind"] == "maintenance"


async def test_energy_still_learning(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    """The test home has a day of meter readings: too little to forecast."""
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, "get_forecast", {"kind": "energy"})
    assert raised.value.translation_key == "still_learning"


async def test_retrain_a_room(hass: HomeAssistant, setup_home: MockConfigEntry) -> None:
    await _call(hass, "retrain", {"room": "living room"})
    assert "occupancy" in setup_home.runtime_data.coordinator.trained_at


async def test_a_retrain_that_fails_says_so_and_keeps_the_model(
    hass: HomeAssistant, setup_home: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked for by the user, a failed training is an error; the model in use stays."""
    coordinator = setup_home.runtime_data.coordinator
    model, trained_at = coordinator.occupancy.model, dict(coordinator.trained_at)

    def fails(*args: Any) -> None:
        raise MemoryError

    monkeypatch.setattr(coordinator.occupancy, "train", fails)
    with pytest.raises(HomeAssistantError) as raised:
        await _call(hass, "retrain", {})
    assert not isinstance(raised.value, ServiceValidationError)  # the call itself was right
    assert raised.value.translation_domain == DOMAIN
    assert raised.value.translation_key == "training_failed"
    assert raised.value.translation_placeholders == {"models": "occupancy"}
    assert coordinator.occupancy.model is model
    assert coordinator.trained_at["occupancy"] == trained_at["occupancy"]


async def test_removing_foresight_during_a_retrain_leaves_no_models_behind(
    hass: HomeAssistant,
    setup_home: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> None:
    """The training stops quietly, the action says why, and nothing is saved for the home."""
    coordinator = setup_home.runtime_data.coordinator
    training, go_on = held_when_called(monkeypatch, coordinator.occupancy, "train")
    retrain = hass.async_create_task(_call(hass, "retrain", {}))
    assert await hass.async_add_executor_job(training.wait, 10)
    assert await hass.config_entries.async_remove(setup_home.entry_id)
    go_on.set()
    with pytest.raises(HomeAssistantError) as raised:
        await retrain
    assert raised.value.translation_key == "unloaded"
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)  # writes what is still delayed
    await hass.async_block_till_done(wait_background_tasks=True)
    assert f"{DOMAIN}.{setup_home.entry_id}.models" not in hass_storage
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
