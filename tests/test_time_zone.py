"""The home's time zone: what Foresight learns and predicts is on its wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.foresight.const import DOMAIN
from custom_components.foresight.history import HistoryStore
from custom_components.foresight.home_maintenance import HomeMaintenance
from custom_components.foresight.timebase import wall_clock_now
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import start_home
from .test_occupancy import NOW, _home, _record_then_set_up, _routine

HELSINKI = "Europe/Helsinki"


@pytest.fixture
def entry() -> MockConfigEntry:
    return _home()


def _forecast_offsets(hass: HomeAssistant) -> set[str]:
    """The UTC offsets the lounge's hourly forecast is given in."""
    forecast = hass.states.get("sensor.lounge_occupancy_forecast")
    assert forecast is not None
    return {hour["start"][-6:] for hour in forecast.attributes["forecast"]}


async def test_a_new_time_zone_reloads_the_home_and_its_forecasts_follow(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    running = entry.runtime_data
    assert _forecast_offsets(hass) == {"-07:00"}  # US/Pacific, in October

    await hass.config.async_update(location_name="Home")  # not the time zone: nothing to do
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data is running

    await hass.config.async_update(time_zone=HELSINKI)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data is not running
    assert _forecast_offsets(hass) == {"+03:00"}
    model = entry.runtime_data.coordinator.occupancy.model
    assert model is not None
    assert model.trained_until == wall_clock_now(NOW, ZoneInfo(HELSINKI))


async def test_a_model_learned_in_another_time_zone_is_learned_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Home Assistant restarts in another time zone: the saved routine would be hours off."""
    await _record_then_set_up(hass, freezer, entry, _routine(ZoneInfo(hass.config.time_zone)))
    learned = entry.runtime_data.coordinator.occupancy.model
    assert learned is not None
    assert learned.trained_until == wall_clock_now(NOW, ZoneInfo("US/Pacific"))

    assert await hass.config_entries.async_unload(entry.entry_id)  # what stopping does
    await hass.config.async_set_time_zone(HELSINKI)  # the new zone, as read at the start
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    model = entry.runtime_data.coordinator.occupancy.model
    assert model is not None
    assert model.trained_until == wall_clock_now(NOW, ZoneInfo(HELSINKI))

    # Saved by a Foresight that kept no time zone: learned in this one, taken back as it is.
    assert await hass.config_entries.async_unload(entry.entry_id)
    saved = hass_storage[f"{DOMAIN}.{entry.entry_id}.models"]["data"]
    assert saved.pop("learned_in")["occupancy"] == HELSINKI
    freezer.tick(timedelta(minutes=1))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data.coordinator.trained_at["occupancy"] == NOW
    restored = entry.runtime_data.coordinator.occupancy.model
    assert restored is not None
    assert restored.to_dict() == model.to_dict()


def test_flagged_periods_learned_in_another_time_zone_keep_their_moments(tmp_path: Path) -> None:
    """An appliance's flagged hours are the same moments once read on the new zone's clock."""
    pacific, helsinki = ZoneInfo("US/Pacific"), ZoneInfo(HELSINKI)
    fridge = "sensor.fridge_power"
    start, end = NOW - timedelta(hours=30), NOW
    maintenance = HomeMaintenance(
        HistoryStore(tmp_path / "history.db"), helsinki, {fridge: "power"}, {}, [fridge], None
    )
    saved = {"flagged": {fridge: [[wall_clock_now(start, pacific), wall_clock_now(end, pacific)]]}}
    maintenance.restore(saved, pacific)
    assert maintenance.flagged[fridge] == [
        (wall_clock_now(start, helsinki), wall_clock_now(end, helsinki))
    ]


@pytest.mark.parametrize(
    "clocks_change",
    [date(2026, 3, 29), date(2026, 10, 25)],
    ids=["clocks go forward", "clocks go back"],
)
async def test_one_nightly_training_per_local_date_across_a_clock_change(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    home_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    clocks_change: date,
) -> None:
    """In Helsinki the clocks change at 03:00–04:00 local: every night still trains once."""
    await hass.config.async_set_time_zone(HELSINKI)
    zone = ZoneInfo(HELSINKI)
    the_day_before = datetime.combine(clocks_change - timedelta(days=1), datetime.min.time(), zone)
    freezer.move_to(the_day_before - timedelta(hours=12))
    await start_home(hass, home_entry)
    coordinator = home_entry.runtime_data.coordinator
    train = coordinator.async_train
    trained_on: list[date] = []

    async def _counted_training() -> None:
        trained_on.append(dt_util.now().date())
        await train()

    monkeypatch.setattr(coordinator, "async_train", _counted_training)
    moment = the_day_before.astimezone(UTC)
    while moment < the_day_before.astimezone(UTC) + timedelta(days=3):
        moment += timedelta(minutes=30)
        freezer.move_to(moment)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    days = [clocks_change + timedelta(days=offset) for offset in (-1, 0, 1)]
    assert trained_on == days
