"""The home's time zone: what Foresight learns and predicts is on its wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import start_home

HELSINKI = "Europe/Helsinki"


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
