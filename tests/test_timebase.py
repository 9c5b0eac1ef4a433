"""Local wall-clock time for the learning code, across daylight saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from custom_components.foresight.timebase import from_wall_clock, to_wall_clock, wall_clock_now

PARIS = ZoneInfo("Europe/Paris")


def test_wall_clock_follows_daylight_saving() -> None:
    # 2026-03-29 01:00 UTC is when Paris moves from UTC+1 to UTC+2.
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC).timestamp()
    after = datetime(2026, 3, 29, 1, 30, tzinfo=UTC).timestamp()
    local = to_wall_clock(np.array([before, after]), PARIS)
    assert local.tolist() == [
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC).timestamp(),
        datetime(2026, 3, 29, 3, 30, tzinfo=UTC).timestamp(),
    ]
    assert to_wall_clock(np.array([]), PARIS).size == 0


def test_round_trip() -> None:
    now = datetime(2026, 7, 14, 18, 5, tzinfo=UTC)
    local = wall_clock_now(now, PARIS)
    assert datetime.fromtimestamp(local, UTC).hour == 20
    assert from_wall_clock(local, PARIS) == now
    assert to_wall_clock([now.timestamp()], PARIS)[0] == local
