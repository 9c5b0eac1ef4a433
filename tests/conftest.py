"""Fixtures for Foresight's Home Assistant tests: a real recorder (SQLite) and a home to watch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import importlib.abc
import json
import logging
import os
from pathlib import Path
import shutil
import sqlite3
import sys
import threading
from typing import Any, NoReturn

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.foresight.const import (
    CONF_AREA,
    CONF_CLIMATE,
    CONF_ENERGY_SENSOR,
    CONF_NAME,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_PEOPLE,
    CONF_RETENTION_DAYS,
    DOMAIN,
    SUBENTRY_ROOM,
)
from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.history import state_changes_during_period
from homeassistant.components.recorder.models import StatisticMeanType
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.util import dt as dt_util


class _NoScikitLearn(importlib.abc.MetaPathFinder):
    """Makes scikit-learn unimportable, as on Home Assistant OS."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == "sklearn" or fullname.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (Home Assistant OS)")


# The test plugin logs every SQL statement; that drowns what the tests say.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

if os.environ.get("FORESIGHT_WITHOUT_SKLEARN"):
    sys.meta_path.insert(0, _NoScikitLearn())
    for name in [name for name in sys.modules if name.split(".")[0] == "sklearn"]:
        del sys.modules[name]


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Each test gets its own configuration folder (Foresight's history lives there)."""
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
def _foresight_enabled(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests with Home Assistant get a real recorder first, then custom integrations.

    At the end of each, every attribute a Foresight entity then shows has a translated name.
    """
    if "hass" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")
    hass: HomeAssistant = request.getfixturevalue("hass")
    yield
    assert untranslated_attributes(hass) == []


TRANSLATIONS: dict[str, Any] = json.loads(
    (
        Path(__file__).parents[1] / "custom_components" / DOMAIN / "translations" / "en.json"
    ).read_text()
)


def untranslated_attributes(hass: HomeAssistant) -> list[str]:
    """Foresight's entity attributes without a translated name, or a value its translation lacks."""
    missing = []
    for platform in async_get_platforms(hass, DOMAIN):
        for entity in platform.entities.values():
            translated = (
                TRANSLATIONS["entity"]
                .get(platform.domain, {})
                .get(entity.translation_key or "", {})
                .get("state_attributes", {})
            )
            for name, value in (entity.extra_state_attributes or {}).items():
                if name not in translated:
                    missing.append(f"{entity.entity_id}: {name}")
                elif isinstance(value, str) and value not in translated[name].get("state", {value}):
                    missing.append(f"{entity.entity_id}: {name} = {value}")
    return missing


def history_locked(*args: Any, **kwargs: Any) -> NoReturn:
    """Stands in for a history method while another program holds the file."""
    raise sqlite3.OperationalError("database is locked")


def disk_full(*args: Any, **kwargs: Any) -> NoReturn:
    """Stands in for a history method while the disk is full."""
    raise sqlite3.OperationalError("database or disk is full")


def held_when_called(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str
) -> tuple[threading.Event, threading.Event]:
    """Each call of ``owner.name`` (run in an executor) waits before it begins, until released.

    Returns (called, release): ``called`` is set once a call waits, ``release`` lets it go on.
    """
    called, release = threading.Event(), threading.Event()
    original = getattr(owner, name)

    def held(*args: Any) -> Any:
        called.set()
        release.wait(10)
        return original(*args)

    monkeypatch.setattr(owner, name, held)
    return called, release


def copied_alone(db: Path, folder: Path) -> sqlite3.Connection:
    """A history file copied without its WAL (as a backup restored gives it), found whole."""
    folder.mkdir()
    shutil.copy(db, folder / db.name)
    copy = sqlite3.connect(folder / db.name)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return copy


HOME_DATA = {
    CONF_PEOPLE: ["person.alice"],
    CONF_ENERGY_SENSOR: ["sensor.house_energy"],
    CONF_OUTDOOR_TEMPERATURE: "sensor.outdoor_temperature",
}

LIVING_ROOM = {
    CONF_NAME: "Living room",
    CONF_AREA: "living_room",
    "motion": ["binary_sensor.living_motion"],
    "door": ["binary_sensor.living_window"],
    "media": ["media_player.living_tv"],
    "light": ["light.living_lamp"],
    "power": ["sensor.living_tv_power"],
    "temperature": ["sensor.living_temperature"],
    "humidity": [],
    "co2": ["sensor.living_co2"],
    "illuminance": [],
    CONF_CLIMATE: "climate.living",
}


def set_home_states(hass: HomeAssistant) -> None:
    """Give every source of the test home a plausible current state."""
    hass.states.async_set("person.alice", "home")
    hass.states.async_set(
        "sensor.house_energy",
        "1000.0",
        {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total_increasing"},
    )
    hass.states.async_set(
        "sensor.outdoor_temperature",
        "5.0",
        {"unit_of_measurement": "°C", "device_class": "temperature", "state_class": "measurement"},
    )
    hass.states.async_set("binary_sensor.living_motion", "off", {"device_class": "motion"})
    hass.states.async_set("binary_sensor.living_window", "off", {"device_class": "window"})
    hass.states.async_set("media_player.living_tv", "off")
    hass.states.async_set("light.living_lamp", "off")
    hass.states.async_set(
        "sensor.living_tv_power",
        "1.0",
        {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"},
    )
    hass.states.async_set(
        "sensor.living_temperature",
        "20.0",
        {"unit_of_measurement": "°C", "device_class": "temperature", "state_class": "measurement"},
    )
    hass.states.async_set(
        "sensor.living_co2",
        "450",
        {
            "unit_of_measurement": "ppm",
            "device_class": "carbon_dioxide",
            "state_class": "measurement",
        },
    )
    hass.states.async_set(
        "climate.living",
        "heat",
        {"temperature": 20.0, "current_temperature": 20.0, "hvac_action": "idle"},
    )


def entry_like(
    entry: MockConfigEntry,
    *,
    entry_id: str | None = None,
    data: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Another entry like ``entry``, with the same rooms (and room ids), and data or options
    changed by what is given."""
    return MockConfigEntry(
        domain=DOMAIN,
        version=2,
        title=entry.title,
        entry_id=entry_id,
        data={**entry.data, **(data or {})},
        options={**entry.options, **(options or {})},
        subentries_data=[
            ConfigSubentryData(
                data=dict(subentry.data),
                subentry_id=subentry.subentry_id,
                subentry_type=subentry.subentry_type,
                title=subentry.title,
                unique_id=subentry.unique_id,
            )
            for subentry in entry.subentries.values()
        ],
    )


@pytest.fixture
def home_entry() -> MockConfigEntry:
    """A Foresight entry with one room, not yet added to Home Assistant."""
    return MockConfigEntry(
        domain=DOMAIN,
        version=2,
        title="Foresight",
        data=HOME_DATA,
        options={CONF_RETENTION_DAYS: 400},
        subentries_data=[
            ConfigSubentryData(
                data=LIVING_ROOM,
                subentry_type=SUBENTRY_ROOM,
                title="Living room",
                unique_id="living_room",
            )
        ],
    )


async def load_entry(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> None:
    """Add a Foresight ``entry`` (with ``changes`` made) and load it, its first training done."""
    entry.add_to_hass(hass)
    if changes:
        hass.config_entries.async_update_entry(entry, **changes)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def start_home(hass: HomeAssistant, entry: MockConfigEntry, **changes: Any) -> None:
    """Set the test home's states and load its Foresight ``entry`` (with ``changes`` made)."""
    set_home_states(hass)
    await load_entry(hass, entry, **changes)


@pytest.fixture
async def setup_home(hass: HomeAssistant, home_entry: MockConfigEntry) -> MockConfigEntry:
    """The test home's states set and its Foresight entry loaded."""
    await start_home(hass, home_entry)
    return home_entry


def import_hourly_statistics(
    hass: HomeAssistant, statistic_id: str, unit_class: str, unit: str, rows: list[dict[str, Any]]
) -> None:
    """Import a sensor's hourly long-term statistics: a meter's (rows with a ``sum``) or a mean's."""
    has_sum = "sum" in rows[0]
    async_import_statistics(
        hass,
        {
            "mean_type": StatisticMeanType.NONE if has_sum else StatisticMeanType.ARITHMETIC,
            "has_sum": has_sum,
            "name": None,
            "source": "recorder",
            "statistic_id": statistic_id,
            "unit_class": unit_class,
            "unit_of_measurement": unit,
        },
        rows,
    )


async def recorded_attributes(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    """The attributes of ``entity_id``'s latest state as the recorder stored it."""
    await async_wait_recording_done(hass)
    states = await get_instance(hass).async_add_executor_job(
        state_changes_during_period, hass, dt_util.utcnow() - timedelta(days=1), None, entity_id
    )
    recorded = states[entity_id][-1]
    return dict(recorded.attributes)
