"""Seed a development configuration before Home Assistant starts: weeks of history, a login.

Run as ``python -m foresight_simulation.seed --config CONFIG`` (with ``config/custom_components``
on the path; ``scripts/develop`` does this). It starts a bare Home Assistant core with only the
recorder, simulates the home (``routine``) for the past weeks, writes what its sensors would have
reported as states (for the recorder's window) and hourly long-term statistics (for all of it),
marks onboarding done and creates the development login. It does nothing when the recorder's
database already exists, so it runs once.

Development only: the login it creates (``dev`` / ``dev`` unless told otherwise) is not secret.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
import sys
import time
from typing import Any

from homeassistant import config as conf_util, loader
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.bootstrap import async_load_base_functionality
from homeassistant.components.onboarding.const import STEPS
from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.db_schema import StatisticsShortTerm
from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    STATISTIC_UNIT_TO_UNIT_CONVERTER,
    async_import_statistics,
)
from homeassistant.components.sensor.const import UNIT_CONVERTERS
from homeassistant.config_entries import ConfigEntries
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers.recorder import async_initialize_recorder
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .routine import ENTITIES, PEOPLE, Climate, EntitySpec, Home, Reporter

DATABASE = "home-assistant_v2.db"
SEEDING = f"{DATABASE}.seeding"
# The files configuration.yaml includes for the automation and script editors: new, empty.
INCLUDED = {"automations.yaml": "[]\n", "scripts.yaml": "{}\n"}
WARM_UP = timedelta(days=1)  # simulated before the history starts, so rooms have settled


def state_of(spec: EntitySpec, value: Any) -> tuple[str, dict[str, Any]]:
    """A simulated value as the Home Assistant state the live entity reports for it."""
    attributes: dict[str, Any] = {"friendly_name": spec.name}
    if spec.domain == "climate":
        assert isinstance(value, Climate)
        attributes.update(
            hvac_modes=["off", "heat"],
            min_temp=7,
            max_temp=35,
            target_temp_step=0.5,
            current_temperature=value.current,
            temperature=value.target,
            hvac_action="heating" if value.heating else "idle",
            supported_features=385,
        )
        return "heat", attributes
    if spec.domain == "device_tracker":
        attributes["source_type"] = "router"
        return ("home" if value else "not_home"), attributes
    if spec.domain == "light":
        attributes.update(supported_color_modes=["onoff"], color_mode="onoff" if value else None)
        return ("on" if value else "off"), attributes
    if spec.device_class:
        attributes["device_class"] = spec.device_class
    if spec.domain == "binary_sensor":
        return ("on" if value else "off"), attributes
    if spec.state_class:
        attributes["state_class"] = spec.state_class
    if spec.unit:
        attributes["unit_of_measurement"] = spec.unit
    return (f"{value:.{spec.decimals}f}" if spec.decimals else str(round(value))), attributes


def person_state(person: str, home: bool) -> tuple[str, dict[str, Any]]:
    """The person entity (from configuration.yaml) following its phone."""
    tracker = f"device_tracker.{person}_phone"
    return ("home" if home else "not_home"), {
        "editable": False,
        "id": person,
        "device_trackers": [tracker],
        "source": tracker,
        "friendly_name": PEOPLE[person],
    }


@dataclass(slots=True)
class _Hour:
    """What one hour of a numeric sensor looked like, minute by minute."""

    total: float = 0.0
    count: int = 0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1
        self.low = min(self.low, value)
        self.high = max(self.high, value)


@dataclass(slots=True)
class History:
    """The simulated past: states to record and hourly statistics to import."""

    states: list[tuple[float, str, str, dict[str, Any]]] = field(default_factory=list)
    hours: dict[str, dict[datetime, _Hour]] = field(default_factory=lambda: defaultdict(dict))
    meter: dict[datetime, float] = field(default_factory=dict)  # reading at each 5-minute mark
    meter_start: float = 0.0


def simulate(end: datetime, days: int, state_days: int, time_zone: Any) -> History:
    """Live the last ``days`` up to ``end``; states are kept for the last ``state_days``."""
    start = end - timedelta(days=days)
    states_from = end - timedelta(days=state_days)
    home = Home(start - WARM_UP, time_zone)
    reporter = Reporter()
    for _when, values in home.run(start):
        reporter.changes(int(_when.timestamp() // 60), values)
    history = History(meter_start=float(reporter.reported["sensor.home_energy"]))
    numeric = [e for e, spec in ENTITIES.items() if spec.state_class == "measurement"]
    for when, values in home.run(end):
        # A value holds from its minute on: the minute's report is what the hour saw.
        changed = reporter.changes(int(when.timestamp() // 60), values)
        if when >= states_from:
            timestamp = when.timestamp()
            for entity_id, value in changed.items():
                spec = ENTITIES[entity_id]
                history.states.append((timestamp, entity_id, *state_of(spec, value)))
                if spec.domain == "device_tracker":
                    person = entity_id.removeprefix("device_tracker.").removesuffix("_phone")
                    history.states.append(
                        (timestamp, f"person.{person}", *person_state(person, value))
                    )
        if when >= end:
            break
        hour = when.replace(minute=0)
        for entity_id in numeric:
            history.hours[entity_id].setdefault(hour, _Hour()).add(reporter.reported[entity_id])
        if when.minute % 5 == 4:  # the reading at the end of each 5-minute period
            history.meter[when + timedelta(minutes=1)] = reporter.reported["sensor.home_energy"]
    return history


def _metadata(spec: EntitySpec, mean_type: StatisticMeanType, has_sum: bool) -> StatisticMetaData:
    # The unit class the recorder gives the live sensor: from its device class, else its unit.
    by_class = UNIT_CONVERTERS.get(spec.device_class)
    if by_class is None or spec.unit not in by_class.VALID_UNITS:
        by_class = STATISTIC_UNIT_TO_UNIT_CONVERTER.get(spec.unit)
    unit_class = by_class.UNIT_CLASS if by_class else None
    return StatisticMetaData(
        mean_type=mean_type,
        has_sum=has_sum,
        name=None,
        source="recorder",
        statistic_id=spec.entity_id,
        unit_class=unit_class,
        unit_of_measurement=spec.unit,
    )


def import_statistics(hass: HomeAssistant, history: History, end: datetime) -> int:
    """Queue the hourly statistics (and the meter's last 5-minute one); returns the row count."""
    last_hour = end.replace(minute=0)  # the hour in progress is left to the live recorder
    rows = 0
    for entity_id, hours in history.hours.items():
        statistics = [
            StatisticData(start=start, mean=h.total / h.count, min=h.low, max=h.high)
            for start, h in sorted(hours.items())
            if start < last_hour and h.count
        ]
        rows += len(statistics)
        meta = _metadata(ENTITIES[entity_id], StatisticMeanType.ARITHMETIC, False)
        async_import_statistics(hass, meta, statistics)
    meter = ENTITIES["sensor.home_energy"]
    meta = _metadata(meter, StatisticMeanType.NONE, True)
    hourly = [
        StatisticData(
            start=mark - timedelta(hours=1), state=reading, sum=reading - history.meter_start
        )
        for mark, reading in sorted(history.meter.items())
        if mark.minute == 0 and mark <= last_hour
    ]
    async_import_statistics(hass, meta, hourly)
    # The recorder continues the meter's sum from its latest 5-minute statistic.
    mark, reading = max(history.meter.items())
    last = StatisticData(
        start=mark - timedelta(minutes=5), state=reading, sum=reading - history.meter_start
    )
    get_instance(hass).async_import_statistics(meta, [last], StatisticsShortTerm)
    return rows + len(hourly) + 1


async def write_states(hass: HomeAssistant, history: History) -> None:
    """Set every simulated state at its time, letting the recorder keep up."""
    recorder = get_instance(hass)
    for index, (timestamp, entity_id, state, attributes) in enumerate(history.states):
        hass.states.async_set(entity_id, state, attributes, timestamp=timestamp)
        if index % 5000 == 4999:
            await hass.async_block_till_done()
            await recorder.async_block_till_done()
    await hass.async_block_till_done()
    await recorder.async_block_till_done()


async def create_login(hass: HomeAssistant, username: str, password: str) -> None:
    """The development user (an administrator, unless it exists), and onboarding marked done."""
    onboarding: Store[dict[str, list[str]]] = Store(hass, 4, "onboarding", private=True)
    await onboarding.async_save({"done": list(STEPS)})
    provider = next(p for p in hass.auth.auth_providers if p.type == "homeassistant")
    await provider.async_initialize()
    known = {user["username"] for user in provider.data.users}  # type: ignore[attr-defined]
    if username in known:
        return  # seeded before: only the history was missing
    await provider.async_add_auth(username, password)  # type: ignore[attr-defined]
    user = await hass.auth.async_create_user("Developer", group_ids=[GROUP_ID_ADMIN])
    credentials = await provider.async_get_or_create_credentials({"username": username})
    await hass.auth.async_link_user(user, credentials)


async def seed(config_dir: Path, days: int, state_days: int, username: str, password: str) -> None:
    """Seed ``config_dir``: history, statistics, login, onboarding."""
    began = time.monotonic()
    hass = HomeAssistant(str(config_dir))
    loader.async_setup(hass)
    config = await conf_util.async_hass_config_yaml(hass)
    hass.config_entries = ConfigEntries(hass, config)
    await async_load_base_functionality(hass)
    await async_process_ha_core_config(hass, config.get("homeassistant", {}))
    recorder_config = dict(config.get("recorder") or {})
    recorder_config["commit_interval"] = 30  # fewer, bigger transactions while seeding
    # Written aside and renamed when complete, so an interrupted seeding is started again.
    recorder_config["db_url"] = f"sqlite:///{config_dir / SEEDING}"
    async_initialize_recorder(hass)
    assert await async_setup_component(hass, "recorder", {"recorder": recorder_config})
    await hass.async_start()
    try:  # stopped however this ends (Ctrl-C included): the recorder's thread must end too
        await get_instance(hass).async_db_ready
        end = dt_util.utcnow().replace(second=0, microsecond=0)
        end -= timedelta(minutes=end.minute % 5)
        history = await hass.async_add_executor_job(
            simulate, end, days, state_days, dt_util.get_default_time_zone()
        )
        simulated = time.monotonic()
        rows = import_statistics(hass, history, end)
        await write_states(hass, history)
        await create_login(hass, username, password)
    finally:
        await hass.async_stop()
    (config_dir / SEEDING).rename(config_dir / DATABASE)
    print(
        f"seed: {days} days simulated in {simulated - began:.0f} s; wrote {len(history.states)} "
        f"states ({state_days} days) and {rows} statistics rows in "
        f"{time.monotonic() - simulated:.0f} s"
    )


def main() -> int:
    """Seed the configuration folder named on the command line unless it is seeded already."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="configuration folder")
    parser.add_argument("--days", type=int, default=35, help="days of statistics (default 35)")
    parser.add_argument("--state-days", type=int, default=28, help="days of states (default 28)")
    parser.add_argument("--username", default="dev")
    parser.add_argument("--password", default="dev")
    args = parser.parse_args()
    config = args.config.resolve()
    for name, empty in INCLUDED.items():
        if not (config / name).exists():
            (config / name).write_text(empty)
    if (config / DATABASE).exists():
        return 0
    for leftover in config.glob(f"{SEEDING}*"):
        leftover.unlink()
    state_days = min(args.state_days, args.days)
    asyncio.run(seed(config, args.days, state_days, args.username, args.password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
