"""The automation blueprints: installed on setup, never over a user's changes, each one runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import hashlib
import logging
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.foresight import blueprint_install
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import selector
from homeassistant.setup import async_setup_component
from homeassistant.util.unit_system import METRIC_SYSTEM, US_CUSTOMARY_SYSTEM, UnitSystem
from homeassistant.util.yaml import load_yaml_dict

from .conftest import set_home_states
from .controllers_helpers import Predicted, async_setup_lamp, async_setup_thermostat, predict, tick

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
BLUEPRINTS = (
    "lights_follow_occupancy.yaml",
    "notify_unexpected_activity.yaml",
    "notify_unusual_energy.yaml",
    "preheat_room.yaml",
)


async def _setup(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    freezer.move_to(START)
    set_home_states(hass)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _automation(hass: HomeAssistant, blueprint: str, inputs: dict[str, Any]) -> None:
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": blueprint,
                "alias": blueprint,
                "use_blueprint": {"path": f"foresight/{blueprint}", "input": inputs},
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get(f"automation.{blueprint.removesuffix('.yaml')}_yaml")
    assert state is not None and state.state == "on", state


def _calls(events: list[Event], domain: str) -> list[dict[str, Any]]:
    return [dict(e.data["service_data"]) for e in events if e.data["domain"] == domain]


def _write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)


def _read(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


async def test_blueprints_are_installed_but_a_changed_one_is_kept(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    folder = Path(hass.config.path("blueprints", "automation", "foresight"))
    old = b"# an older Foresight blueprint\n"
    # One file the user edited, one an older Foresight installed and nobody touched.
    _write(folder, {"preheat_room.yaml": b"# mine\n", "notify_unusual_energy.yaml": old})
    hass_storage["foresight.blueprints"] = {
        "version": 1,
        "key": "foresight.blueprints",
        "data": {"automation/notify_unusual_energy.yaml": hashlib.sha256(old).hexdigest()},
    }
    await _setup(hass, freezer, home_entry)
    files = _read(folder)
    assert sorted(files) == list(BLUEPRINTS)
    assert files["preheat_room.yaml"] == b"# mine\n"
    assert b"foresight_unusual_energy" in files["notify_unusual_energy.yaml"]
    assert set(hass_storage["foresight.blueprints"]["data"]) == {
        f"automation/{name}" for name in BLUEPRINTS if name != "preheat_room.yaml"
    }

    # A blueprint the user deleted stays deleted.
    await hass.async_add_executor_job((folder / "lights_follow_occupancy.yaml").unlink)
    assert await hass.config_entries.async_reload(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "lights_follow_occupancy.yaml" not in _read(folder)


async def test_a_blueprints_folder_foresight_cannot_write_to_is_skipped(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A file where Foresight's blueprints folder should be: one warning, and Foresight runs."""
    folder = Path(hass.config.path("blueprints", "automation", "foresight"))
    _write(folder.parent, {"foresight": b"not a folder"})
    await _setup(hass, freezer, home_entry)
    assert home_entry.state is ConfigEntryState.LOADED
    warnings = [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.foresight")
        and record.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1
    assert warnings[0].exc_info is None
    assert str(folder) in warnings[0].getMessage()
    assert _read(folder.parent) == {"foresight": b"not a folder"}


async def test_notify_on_unexpected_activity(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    await _setup(hass, freezer, home_entry)
    assert await async_setup_component(hass, "persistent_notification", {})
    await _automation(hass, "notify_unexpected_activity.yaml", {})
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": "switch.foresight_unexpected_activity_alerts"},
        blocking=True,
    )
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    hass.states.async_set("person.alice", "not_home")
    await tick(hass, freezer, START + timedelta(minutes=5))
    hass.states.async_set("binary_sensor.living_motion", "on", {"device_class": "motion"})
    await tick(hass, freezer, START + timedelta(minutes=10))
    (notification,) = _calls(calls, "persistent_notification")
    assert notification["title"] == "Unexpected activity"
    sensor = hass.states.get("binary_sensor.foresight_unexpected_activity")
    assert sensor is not None
    assert notification["message"].startswith(f"{sensor.attributes['sensor']} (Living room) at ")


async def test_notify_on_unusual_energy(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home_entry: MockConfigEntry
) -> None:
    await _setup(hass, freezer, home_entry)
    assert await async_setup_component(hass, "persistent_notification", {})
    await _automation(hass, "notify_unusual_energy.yaml", {})
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    hass.bus.async_fire(
        "foresight_unusual_energy",
        {"kind": "excess", "since": START.isoformat(), "expected_kwh": 5.1073, "seen_kwh": 15.7587},
    )
    await hass.async_block_till_done()
    (notification,) = _calls(calls, "persistent_notification")
    # The event's figures are precise; a notification reads them to the tenth of a kWh.
    assert "15.8 kWh seen, 5.1 kWh expected" in notification["message"]


@pytest.mark.parametrize(
    ("units", "before", "comfort"),
    [(METRIC_SYSTEM, 17, 21), (US_CUSTOMARY_SYSTEM, 62, 70)],
    ids=["celsius", "fahrenheit"],
)
async def test_preheat_a_room_before_its_next_use(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    units: UnitSystem,
    before: float,
    comfort: float,
) -> None:
    """The comfort temperature is in the home's own unit: 70 in a home in °F."""
    hass.config.units = units
    shipped = Path(blueprint_install.__file__).parent / "blueprints/automation/preheat_room.yaml"
    comfort_input = load_yaml_dict(shipped)["blueprint"]["input"]["temperature"]
    assert selector.selector(comfort_input["selector"])(comfort) == comfort  # as the form checks
    assert "unit_of_measurement" not in comfort_input["selector"]["number"]
    freezer.move_to(START)
    set_home_states(hass)
    await async_setup_thermostat(hass, target_temp=before)
    home_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    next_use = START + timedelta(minutes=90)
    await predict(monkeypatch, home_entry, Predicted(next_use=next_use))
    await hass.async_block_till_done()
    sensor = hass.states.get("sensor.living_room_next_expected_use")
    assert sensor is not None and datetime.fromisoformat(sensor.state) == next_use
    await _automation(
        hass,
        "preheat_room.yaml",
        {
            "next_use": "sensor.living_room_next_expected_use",
            "thermostat": "climate.living",
            "temperature": comfort,
            "lead_minutes": 60,
        },
    )
    await tick(hass, freezer, START + timedelta(minutes=29))
    assert hass.states.get("climate.living").attributes["temperature"] == before  # type: ignore[union-attr]
    await tick(hass, freezer, START + timedelta(minutes=31))
    assert hass.states.get("climate.living").attributes["temperature"] == comfort  # type: ignore[union-attr]


async def test_lights_follow_the_occupancy_probability(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    freezer.move_to(START)
    set_home_states(hass)
    await async_setup_lamp(hass)
    home_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(home_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    predicted = Predicted(probability=0.2)
    await predict(monkeypatch, home_entry, predicted)
    await _automation(
        hass,
        "lights_follow_occupancy.yaml",
        {
            "probability": "sensor.living_room_occupancy_probability",
            "lights": {"entity_id": "light.living_lamp"},
        },
    )
    predicted.probability = 0.8
    await tick(hass, freezer, START + timedelta(minutes=1))
    lamp = hass.states.get("light.living_lamp")
    assert lamp is not None and lamp.state == "on"
    assert lamp.attributes["brightness"] == 204
    predicted.probability = 0.1
    await tick(hass, freezer, START + timedelta(minutes=2))
    await tick(hass, freezer, START + timedelta(minutes=11))
    assert hass.states.get("light.living_lamp").state == "on"  # type: ignore[union-attr]
    await tick(hass, freezer, START + timedelta(minutes=12, seconds=30))
    assert hass.states.get("light.living_lamp").state == "off"  # type: ignore[union-attr]
