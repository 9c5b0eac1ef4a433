"""Expected presence: the weekly routine a day-ahead occupancy forecast gives, known in advance."""

from __future__ import annotations

import numpy as np

from custom_components.foresight.learning.presence import WEEK, expected_presence

HOUR = 3600.0


def test_the_same_hour_of_the_last_four_weeks() -> None:
    hours = HOUR * np.arange(6 * 7 * 24, dtype=np.float64)
    # Home except on weekday working hours; one Monday at home (a day off).
    weekday = (hours // 86400) % 7 < 5
    working = (hours % 86400 >= 9 * HOUR) & (hours % 86400 < 17 * HOUR)
    home = np.where(weekday & working, 0.0, 1.0)
    day_off = (hours >= 3 * WEEK) & (hours < 3 * WEEK + 86400)
    home[day_off] = 1.0
    monday_ten = 5 * WEEK + 10 * HOUR
    expected = expected_presence(np.array([monday_ten, monday_ten + 1800.0]), hours, home)
    # At work at that hour on the four Mondays before, but for the day off two weeks earlier.
    assert expected[0] == 0.25
    assert np.isnan(expected[1])  # no hour starts there


def test_only_the_past_is_read_and_unknown_hours_are_skipped() -> None:
    hours = HOUR * np.arange(3 * 7 * 24, dtype=np.float64)
    home = np.ones(hours.size)
    home[hours == WEEK + 5 * HOUR] = np.nan
    home[hours == 5 * HOUR] = 0.0
    targets = np.array([5 * HOUR, 2 * WEEK + 5 * HOUR, 2 * WEEK + 6 * HOUR])
    expected = expected_presence(targets, hours, home)
    assert np.isnan(expected[0])  # nothing before the first week
    assert expected[1] == 0.0  # week 1 unknown, week 2 at 0
    assert expected[2] == 1.0
    assert np.isnan(expected_presence(targets, np.array([]), np.array([]))).all()
