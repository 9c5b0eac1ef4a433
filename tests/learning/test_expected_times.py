"""Expected arrival and departure read the time of day and week of the episode under way."""

from __future__ import annotations

import json

import numpy as np
import pytest

from custom_components.foresight.learning.occupancy import train_occupancy
from custom_components.foresight.learning.occupancy_live import OccupancyTracker, expected_end
from custom_components.foresight.learning.occupancy_model import OccupancyModel
from custom_components.foresight.learning.occupancy_signals import (
    DAY,
    HOUR,
    MINUTE,
    OccupancySource,
    SourceSeries,
)

START = 20_003 * DAY  # a Monday, 00:00 local wall clock (1970-01-01 was a Thursday)
WEEKS = 7
TRAINED_WEEKS = 6
FloatPairs = list[tuple[float, float]]


def _commuter(seed: int = 3) -> tuple[list[OccupancySource], dict[str, SourceSeries], FloatPairs]:
    """Out about 08:00-17:30 on weekdays, a two-hour outing around 10:00 on weekend days."""
    rng = np.random.default_rng(seed)
    outings = []
    for day in range(WEEKS * 7):
        midnight = START + day * DAY
        if day % 7 < 5:
            leave = 8.0 + rng.normal(0, 0.25)
            back = 17.5 + rng.normal(0, 0.25)
        else:
            leave = 10.0 + rng.normal(0, 0.25)
            back = leave + 2.0 + rng.normal(0, 0.25)
        outings.append((midnight + leave * HOUR, midnight + back * HOUR))
    leaves = np.asarray([leave for leave, _ in outings])
    backs = np.asarray([back for _, back in outings])
    home = np.column_stack((backs[:-1], leaves[1:]))
    presence_times = np.concatenate(([START], np.column_stack((leaves, backs)).ravel()))
    presence_values = np.concatenate(([1.0], np.tile([0.0, 1.0], leaves.size)))
    doors = np.sort(np.concatenate((leaves, backs)))
    # The hall's motion sensor sees someone home every twenty minutes while awake.
    motion = [
        moment
        for begin, end in [(START, leaves[0]), *home]
        for moment in np.arange(begin + MINUTE, end, 20 * MINUTE)
        if 7.0 <= (moment % DAY) / HOUR < 23.0
    ]
    motion_times = np.sort(np.concatenate((motion, np.asarray(motion) + 30.0)))
    sources = [
        OccupancySource("person.me", "person", None),
        OccupancySource("front_door", "door", "hall", entrance=True),
        OccupancySource("hall_motion", "motion", "hall"),
    ]
    history = {
        "person.me": SourceSeries.of(presence_times, presence_values),
        "front_door": SourceSeries.of(
            np.column_stack((doors, doors + 20.0)).ravel(), np.tile([1.0, 0.0], doors.size)
        ),
        "hall_motion": SourceSeries.of(motion_times, np.tile([1.0, 0.0], len(motion))),
    }
    return sources, history, outings


def _before(history: dict[str, SourceSeries], time: float) -> dict[str, SourceSeries]:
    return {
        key: SourceSeries(series.times[series.times <= time], series.values[series.times <= time])
        for key, series in history.items()
    }


@pytest.fixture(scope="module")
def commuter() -> tuple[OccupancyModel, dict[str, SourceSeries], FloatPairs]:
    sources, history, outings = _commuter()
    end = START + TRAINED_WEEKS * 7 * DAY
    model = train_occupancy(sources, _before(history, end), START, end)
    return model, history, outings


def _tracker_at(
    model: OccupancyModel, history: dict[str, SourceSeries], time: float
) -> OccupancyTracker:
    tracker = OccupancyTracker(model)
    tracker.replay(_before(history, time))
    return tracker


def _outlook_at(model: OccupancyModel, history: dict[str, SourceSeries], time: float):
    return _tracker_at(model, history, time).home_outlook(time)


@pytest.mark.parametrize(
    ("day", "hour", "usually_back"),
    [
        (TRAINED_WEEKS * 7 + 5, 10.75, 12.0),  # Saturday, out since about 10:00
        (TRAINED_WEEKS * 7 + 1, 9.0, 17.5),  # Tuesday, at work since about 08:00
        (TRAINED_WEEKS * 7 + 3, 11.0, 17.5),  # Thursday, still at work
    ],
)
def test_expected_arrival_follows_the_day_of_the_outing(
    commuter, day: int, hour: float, usually_back: float
) -> None:
    model, history, _ = commuter
    midnight = START + day * DAY
    outlook = _outlook_at(model, history, midnight + hour * HOUR)
    assert not outlook.someone_home
    assert outlook.expected_arrival is not None
    assert abs(outlook.expected_arrival.time - (midnight + usually_back * HOUR)) < 45 * MINUTE


def test_expected_departure_after_a_weekend_outing_is_the_next_morning(commuter) -> None:
    model, history, _ = commuter
    sunday = START + (TRAINED_WEEKS * 7 + 6) * DAY
    outlook = _outlook_at(model, history, sunday - 10.0 * HOUR)  # Saturday 14:00, home since noon
    assert outlook.someone_home
    assert outlook.expected_departure is not None
    # Out again about 10:00: not in the night, as episodes of any start would have it.
    assert sunday + 6.0 * HOUR < outlook.expected_departure.time < sunday + 12.0 * HOUR


def test_saved_episodes_round_trip_and_an_older_save_predicts_as_before(commuter) -> None:
    model, history, _ = commuter
    now = START + (TRAINED_WEEKS * 7 + 5) * DAY + 10.75 * HOUR
    saved = json.loads(json.dumps(model.to_dict()))
    restored = OccupancyModel.from_dict(saved)
    expected, again = (
        _outlook_at(unit, history, now).expected_arrival for unit in (model, restored)
    )
    assert expected is not None
    assert again is not None
    assert again.time == pytest.approx(expected.time, abs=60.0)  # rounded to seconds when saved
    # A save from before the episodes' starts: read, and expected times from all episodes.
    older = {
        **saved,
        "version": 5,
        "home": {k: v for k, v in saved["home"].items() if k != "episodes"},
        "rooms": {
            room: {k: v for k, v in unit.items() if k != "episodes"}
            for room, unit in saved["rooms"].items()
        },
    }
    old_model = OccupancyModel.from_dict(older)
    assert old_model.home.episodes is None
    tracker = OccupancyTracker(old_model)
    tracker.replay(_before(history, now))
    outlook = tracker.home_outlook(now)
    presence = _before(history, now)["person.me"]
    left = float(presence.times[-1])
    assert presence.values[-1] == 0.0
    plain = expected_end(model.home, 0, now - left, now)  # no wall clock: all episodes alike
    assert outlook.expected_arrival == plain
    np.testing.assert_allclose(
        tracker.forecast(None, now).probabilities,
        _tracker_at(model, history, now).forecast(None, now).probabilities,
    )
    for broken in (
        [[[200.0, 3600.0]], []],  # an hour past the week's
        [[[10.0, -1.0]], []],
        [[[10.0]], []],
        [[]],
    ):
        with pytest.raises(ValueError):
            OccupancyModel.from_dict({**saved, "home": {**saved["home"], "episodes": broken}})


def test_nothing_learned_expects_no_time() -> None:
    """A room or home that learned nothing (no history, or numbers alone) expects no use."""
    co2 = OccupancySource("office_co2", "co2", "office")
    times = START + np.arange(0.0, 21 * DAY, 5 * MINUTE)
    busy = ((times % DAY) >= 9 * HOUR) & ((times % DAY) < 17 * HOUR)
    history = {"office_co2": SourceSeries.of(times, 450.0 + 500.0 * busy)}
    for sources, series, end in (
        ([co2], history, START + 21 * DAY),
        ([OccupancySource("guest_motion", "motion", "guest")], {}, START + DAY),
    ):
        model = train_occupancy(sources, series, START, end)
        room = sources[0].room
        assert not model.rooms[room].trained
        tracker = OccupancyTracker(model)
        tracker.replay(series)
        at = end + 60.0
        forecast = tracker.forecast(room, at)
        assert not forecast.in_use
        assert forecast.next_use is None  # not a time made up from the broad prior
        assert forecast.status == "learning"
        home = tracker.home_outlook(at)
        assert home.expected_arrival is None
        assert home.expected_departure is None


def test_a_home_that_learned_nothing_is_in_use_while_a_room_is() -> None:
    """Without people the home learns nothing of its own: a room in use says someone is home."""
    sources = [OccupancySource("hall_motion", "motion", "hall")]
    times: list[float] = []
    for day in range(21):
        for hour in (7.0, 18.0, 19.0, 20.0, 21.0):
            begin = START + day * DAY + hour * HOUR
            times.extend(begin + np.arange(0.0, HOUR, 10 * MINUTE))
    starts = np.asarray(times)
    history = {
        "hall_motion": SourceSeries.of(
            np.column_stack((starts, starts + 60.0)).ravel(), np.tile([1.0, 0.0], starts.size)
        )
    }
    end = START + 21 * DAY
    model = train_occupancy(sources, history, START, end)
    assert model.rooms["hall"].trained
    assert not model.home.trained
    tracker = OccupancyTracker(model)
    tracker.replay(history)
    at = end + 3 * HOUR  # a quiet morning hour, then motion in the hall
    tracker.observe("hall_motion", at, 1.0)
    room = tracker.occupancy_probability("hall", at + 30.0)
    assert room >= 0.5
    assert tracker.occupancy_probability(None, at + 30.0) >= room
    assert tracker.forecast(None, at + 30.0).in_use
    assert tracker.home_outlook(at + 30.0).someone_home
