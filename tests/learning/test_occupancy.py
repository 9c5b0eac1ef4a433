"""Tests of the occupancy learning engine on small seeded synthetic homes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.foresight.learning import occupancy
from custom_components.foresight.learning.occupancy import (
    _judge,
    fit_forecast,
    prepare_unit,
    should_replace,
    train_occupancy,
)
from custom_components.foresight.learning.occupancy_live import (
    FORECAST_STEPS,
    OccupancyTracker,
    _NumericState,
)
from custom_components.foresight.learning.occupancy_model import (
    FORECAST_HORIZONS,
    HORIZON_NAMES,
    MODEL_VERSION,
    OccupancyModel,
    UnitModel,
    baseline_blend,
)
from custom_components.foresight.learning.occupancy_signals import (
    DAY,
    HIGH_WINDOW,
    HOUR,
    MINUTE,
    RECENT_TAUS,
    SINCE_HIGH_CAP,
    OccupancySource,
    SourceSeries,
    feature_matrix,
    high_times,
    log_minutes,
    since_high,
)
from custom_components.foresight.learning.occupancy_stats import (
    EpisodeStarts,
    WeeklyRoutine,
    choose_ridge,
    fit_conditional_routine,
    fit_convex_blend,
    fit_logistic,
    label_episodes,
    logit,
    read_conditional,
    routine_by_hour,
    sigmoid,
)

START = 20_000 * DAY  # a Monday, 00:00 local wall clock (1970-01-01 was a Thursday)


def _visits(
    rng: np.random.Generator, days: int, hours: list[float], length_min: float
) -> tuple[np.ndarray, np.ndarray]:
    """Visits around fixed hours: some skipped, their start and length vary."""
    starts, ends = [], []
    for day in range(days):
        for hour in hours:
            if rng.random() < 0.2:
                continue
            begin = START + day * DAY + (hour + rng.normal(0, 0.5)) * HOUR
            starts.append(begin)
            ends.append(begin + length_min * MINUTE * rng.uniform(0.4, 2.0))
    return np.asarray(starts), np.asarray(ends)


def _motion(
    rng: np.random.Generator, starts: np.ndarray, ends: np.ndarray, miss: float = 0.0
) -> SourceSeries:
    """A motion sensor that fires every few minutes during each visit (missing some)."""
    times, values = [], []
    for begin, end in zip(starts, ends, strict=True):
        moment = begin
        while moment < end:
            if rng.random() >= miss:
                times.extend((moment, moment + 60.0))
                values.extend((1.0, 0.0))
            moment += rng.uniform(2, 6) * MINUTE
    return SourceSeries.of(times, values)


def _presence(starts: np.ndarray, ends: np.ndarray) -> SourceSeries:
    times = np.column_stack((starts, ends)).ravel()
    return SourceSeries.of(times, np.tile([1.0, 0.0], starts.size))


def _home(seed: int = 1, days: int = 21, hours: list[float] | None = None):
    """A home with a kitchen (motion + door + CO2) used at fixed hours, and a presence room."""
    rng = np.random.default_rng(seed)
    hours = hours or [7.5, 12.5, 19.0]
    starts, ends = _visits(rng, days, hours, 60)
    times = np.arange(START, START + days * DAY, 5 * MINUTE)
    inside = np.zeros(times.size)
    index = np.searchsorted(starts, times, side="right") - 1
    inside[index >= 0] = times[index >= 0] < ends[index[index >= 0]]
    co2 = 450 + 300 * inside + rng.normal(0, 25, times.size)
    office_starts, office_ends = _visits(rng, days, [9.0, 14.0], 120)
    sources = [
        OccupancySource("kitchen_motion", "motion", "kitchen"),
        OccupancySource("kitchen_door", "door", "kitchen"),
        OccupancySource("kitchen_co2", "co2", "kitchen"),
        OccupancySource("office_presence", "motion", "office", reliable=True),
        OccupancySource("office_motion", "motion", "office"),
    ]
    history = {
        "kitchen_motion": _motion(rng, starts, ends),
        "kitchen_door": SourceSeries.of(
            np.sort(np.concatenate((starts, starts + 5.0))), np.tile([1.0, 0.0], starts.size)
        ),
        "kitchen_co2": SourceSeries.of(times, co2),
        "office_presence": _presence(office_starts, office_ends),
        "office_motion": _motion(rng, office_starts, office_ends, miss=0.5),
    }
    return sources, history, START, START + days * DAY


@pytest.fixture(scope="module")
def trained() -> tuple[OccupancyModel, list[OccupancySource], dict[str, SourceSeries], float]:
    sources, history, start, end = _home()
    return train_occupancy(sources, history, start, end), sources, history, end


def test_known_routine_is_learned(trained) -> None:
    model, _, _, end = trained
    kitchen = model.rooms["kitchen"]
    # The routine is nearly all there is to this kitchen: beating it is not required.
    assert kitchen.status in ("ready", "degraded")
    dinner = end + 19.3 * HOUR  # a Monday, like the start
    night = end + 3.0 * HOUR
    routine = kitchen.routine.at(np.asarray([dinner, night]))
    assert routine[0] > 0.5
    assert routine[1] < 0.1
    assert kitchen.scores["nowcast_skill"] > 0.0


def test_forecast_beats_baselines_when_state_matters() -> None:
    """Long uses at random hours: what is happening now, and for how long, is what counts."""
    rng = np.random.default_rng(9)
    starts, ends, moment = [], [], START
    while moment < START + 28 * DAY:
        moment += rng.uniform(1, 6) * HOUR
        starts.append(moment)
        moment += rng.uniform(2, 4) * HOUR
        ends.append(moment)
    sources = [OccupancySource("study_presence", "motion", "study", reliable=True)]
    history = {"study_presence": _presence(np.asarray(starts), np.asarray(ends))}
    model = train_occupancy(sources, history, START, START + 28 * DAY)
    study = model.rooms["study"]
    assert study.scores["forecast_skill"] > 0.05
    # It also beats the two baselines mixed: the state's duration adds what neither has.
    assert study.scores["forecast_brier"] < study.scores["forecast_brier_blend"]
    assert study.status == "ready"
    assert study.forecast_fallback[FORECAST_HORIZONS.index(HOUR)] == ""


def test_forecast_sees_the_next_use_coming(trained) -> None:
    model, _, history, end = trained
    tracker = OccupancyTracker(model)
    tracker.replay(history)
    forecast = tracker.forecast("kitchen", end + 17.0 * HOUR)
    assert forecast.probabilities.shape == (FORECAST_STEPS,)
    # Each clock hour: the highest of its quarter hours; the next 60 minutes, the first four.
    first = math.floor(forecast.time / HOUR) * HOUR + HOUR
    hourly = forecast.by_hour(first, 24)
    inside = (forecast.times >= first + 2 * HOUR) & (forecast.times < first + 3 * HOUR)
    assert inside.sum() == 4
    assert hourly[2] == forecast.probabilities[inside].max()
    assert np.isfinite(hourly).all()
    assert np.isnan(forecast.by_hour(first + 25 * HOUR, 1)).all()  # past the forecast
    assert forecast.next_hour == forecast.probabilities[:4].max()
    assert np.all((forecast.probabilities >= 0) & (forecast.probabilities <= 1))
    # Two hours ahead is dinner (19:00): far likelier than at 23:00 or 03:00.
    dinner = forecast.probabilities[7]
    assert dinner > 0.4
    assert dinner > 3 * forecast.probabilities[23]
    assert forecast.next_use is not None and forecast.next_use > forecast.time


def _office_now_cast(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Office: a reliable presence sensor teaches a motion sensor that misses half the time.

    Trained on three weeks; the live now-cast without the teacher over the next week, and the
    truth, every two minutes.
    """
    sources, history, start, end = _home(seed=seed, days=28)
    model = train_occupancy(sources, history, start, end - 7 * DAY)
    tracker = OccupancyTracker(model)
    test_start = end - 7 * DAY
    without_teacher = {key: value for key, value in history.items() if key != "office_presence"}
    events = sorted(
        (float(t), key, float(v))
        for key, series in without_teacher.items()
        for t, v in zip(series.times, series.values, strict=True)
    )
    times = np.arange(test_start, end, 2 * MINUTE)
    truth = history["office_presence"]
    probabilities, outcomes, cursor = [], [], 0
    for now in times:
        while cursor < len(events) and events[cursor][0] <= now:
            tracker.observe(events[cursor][1], events[cursor][0], events[cursor][2])
            cursor += 1
        probabilities.append(tracker.occupancy_probability("office", float(now)))
        state_index = np.searchsorted(truth.times, now, side="right") - 1
        outcomes.append(truth.values[state_index] if state_index >= 0 else 0.0)
    return np.asarray(probabilities), np.asarray(outcomes)


def test_now_cast_is_calibrated() -> None:
    """Pooled over several homes (one home's middle bin holds a few dozen minutes only)."""
    pooled = [_office_now_cast(seed) for seed in (3, 4, 5, 6)]
    probability = np.concatenate([item[0] for item in pooled])
    outcome = np.concatenate([item[1] for item in pooled])
    for home_probability, home_outcome in pooled:
        assert np.mean((home_probability >= 0.5) == (home_outcome == 1.0)) > 0.9
    for low, high in ((0.0, 0.2), (0.2, 0.8), (0.8, 1.0)):
        chosen = (probability >= low) & (probability < high + 1e-9)
        assert chosen.sum() >= 30
        assert abs(outcome[chosen].mean() - probability[chosen].mean()) < 0.15


def test_changed_routine_is_relearned() -> None:
    early_sources, early, start, _ = _home(seed=5, days=28, hours=[8.0])
    _, late, _, _ = _home(seed=6, days=28, hours=[20.0])
    shift = 28 * DAY
    merged = {
        key: SourceSeries(
            np.concatenate((early[key].times, late[key].times + shift)),
            np.concatenate((early[key].values, late[key].values)),
        )
        for key in early
    }
    model = train_occupancy(early_sources, merged, start, start + 56 * DAY)
    routine = model.rooms["kitchen"].routine.at(start + 56 * DAY + np.asarray([8.0, 20.0]) * HOUR)
    assert routine[1] > routine[0]


def test_fallback_when_the_model_loses(trained) -> None:
    model = trained[0]
    unit = UnitModel.from_dict(model.rooms["kitchen"].to_dict())
    unit.forecast_fallback = [""] * len(FORECAST_HORIZONS)
    scores = dict(unit.scores)
    for key in list(scores):
        if key.startswith("forecast_brier") and "routine" not in key and "persistence" not in key:
            scores[key] = 1.0  # the model loses everywhere
        if key.startswith("forecast_points"):
            scores[key] = 10_000.0
    scores["forecast_skill"] = -1.0
    _judge(unit, scores, history_days=21.0)
    assert unit.status == "degraded"
    assert all(choice in ("routine", "persistence") for choice in unit.forecast_fallback)
    horizon = np.asarray(FORECAST_HORIZONS)
    routine = np.full(horizon.size, 0.3)
    now = np.full(horizon.size, 0.9)
    durations = (np.full(horizon.size, 600.0), np.zeros(horizon.size))
    forecast = unit.forecast_from(horizon, routine, now, durations)
    expected = np.where(np.asarray(unit.forecast_fallback) == "routine", 0.3, 0.9)
    np.testing.assert_allclose(forecast, expected)


def test_round_trip_and_bad_data(trained) -> None:
    model, _, history, end = trained
    restored = OccupancyModel.from_dict(json.loads(json.dumps(model.to_dict())))
    first, second = OccupancyTracker(model), OccupancyTracker(restored)
    for tracker in (first, second):
        tracker.replay(history, since=end - DAY)
    for room in ("kitchen", "office", None):
        a = first.forecast(room, end + 60.0)
        b = second.forecast(room, end + 60.0)
        assert a.occupancy_probability == pytest.approx(b.occupancy_probability)
        np.testing.assert_allclose(a.probabilities, b.probabilities)
    data = model.to_dict()
    for broken in (
        {**data, "version": MODEL_VERSION + 1},
        {**data, "version": 1},  # the format before the blended forecast: retrain
        {**data, "version": 2},  # the format before the conditional routine: retrain
        {**data, "version": 3},  # the format before the usual day's lows: retrain
        {**data, "version": 4},  # the format before the rooms' recency in the home's forecast
        {**data, "home": {**data["home"], "room_coef": [[0.0]] * len(FORECAST_HORIZONS)}},
        {**data, "home": {**data["home"], "forecast_rooms": ["kitchen"]}},
        {**data, "home": {**data["home"], "typical_lows": {"co2": None}}},
        {**data, "home": {**data["home"], "conditional": [[[0.5] * 24] * 2]}},
        {key: value for key, value in data.items() if key != "home"},
        {**data, "home": {**data["home"], "weights": [1.0]}},
        {**data, "home": {**data["home"], "status": "great"}},
        {**data, "rooms": {"kitchen": {**data["rooms"]["kitchen"], "routine": [2.0] * 168}}},
        "not a model",
        None,
    ):
        with pytest.raises(ValueError):
            OccupancyModel.from_dict(broken)


def test_an_episode_begun_just_before_the_week_ends_is_read_back(trained) -> None:
    """A stay begun in the week's last second is saved as the week's start, and read back."""
    unit = UnitModel.from_dict(trained[0].rooms["kitchen"].to_dict())
    assert unit.episodes is not None
    idle, in_use = unit.episodes
    unit.episodes = (
        EpisodeStarts(np.append(idle.hours, 168.0 - 0.1 / 3600), np.append(idle.lengths, 600.0)),
        in_use,
    )
    restored = UnitModel.from_dict(json.loads(json.dumps(unit.to_dict())))
    assert restored.episodes is not None
    assert restored.episodes[0].hours[-1] == 0.0
    assert restored.episodes[0].lengths[-1] == 600.0
    saved = unit.to_dict()
    saved["episodes"][0][-1][0] = 168.0  # as an earlier Foresight saved it
    assert UnitModel.from_dict(saved).episodes[0].hours[-1] == 0.0  # type: ignore[index]


def test_an_episode_shorter_than_half_a_second_is_read_back(trained) -> None:
    """Two sensors a fraction of a second apart: the saved model still loads after a restart."""
    unit = UnitModel.from_dict(trained[0].rooms["kitchen"].to_dict())
    assert unit.episodes is not None
    idle, in_use = unit.episodes
    unit.episodes = (
        EpisodeStarts(np.append(idle.hours, 12.0), np.append(idle.lengths, 0.3)),
        in_use,
    )
    restored = UnitModel.from_dict(json.loads(json.dumps(unit.to_dict())))
    assert restored.episodes is not None
    assert restored.episodes[0].lengths[-1] == 0.0


def test_gaps_nan_and_missing_sources_do_not_crash() -> None:
    sources, history, start, end = _home(seed=2, days=6)
    co2 = history["kitchen_co2"]
    values = co2.values.copy()
    values[::7] = np.nan  # unavailable readings
    keep = (co2.times < start + 2 * DAY) | (co2.times > start + 3 * DAY)  # a day-long gap
    history["kitchen_co2"] = SourceSeries(co2.times[keep], values[keep])
    history["office_motion"] = SourceSeries.empty()
    sources = [*sources, OccupancySource("never_seen", "humidity", "kitchen")]
    model = train_occupancy(sources, history, start, end)
    tracker = OccupancyTracker(model)
    tracker.replay(history)
    tracker.observe("kitchen_co2", end + 1.0, None)
    tracker.observe("kitchen_co2", end + 2.0, math.nan)
    tracker.observe("unknown_source", end + 3.0, 1.0)
    for room in ("kitchen", "office", None):
        forecast = tracker.forecast(room, end + 10.0)
        assert 0.0 <= forecast.occupancy_probability <= 1.0
        assert np.all(np.isfinite(forecast.probabilities))
    outlook = tracker.home_outlook(end + 10.0)
    # A home that learned nothing (no people here) expects no arrival.
    assert (outlook.expected_arrival is None) == (outlook.someone_home or not model.home.trained)


def test_short_or_empty_history_is_learning() -> None:
    sources, history, start, _ = _home(seed=4, days=2)
    model = train_occupancy(sources, history, start, start + 2 * DAY)
    assert model.status == "learning"
    assert model.rooms["kitchen"].status == "learning"
    empty = train_occupancy(sources, {}, start, start + DAY)
    tracker = OccupancyTracker(empty)
    probability = tracker.occupancy_probability("kitchen", start + DAY)
    assert 0.0 < probability < 0.5
    tracker.observe("kitchen_motion", start + DAY + 1, 1.0)
    assert tracker.occupancy_probability("kitchen", start + DAY + 2) > 0.5
    assert tracker.forecast("kitchen", start + DAY + 2).confidence <= 0.2
    with pytest.raises(ValueError):
        train_occupancy(sources, history, start, start)


def test_untrusted_source_is_excluded(trained) -> None:
    model, _, history, end = trained
    tracker = OccupancyTracker(model)
    tracker.replay(history, since=end - DAY)
    now = end + 3.0 * HOUR  # 03:00: nobody in the kitchen
    tracker.observe("kitchen_motion", now - 10.0, 1.0)  # stuck on
    stuck = tracker.occupancy_probability("kitchen", now)
    ignored = tracker.occupancy_probability("kitchen", now, untrusted={"kitchen_motion"})
    assert stuck > 0.5
    assert ignored < stuck


def test_a_room_whose_every_sign_of_activity_is_silent_follows_its_routine(trained) -> None:
    """Its motion sensor and door dead, the kitchen is not empty at dinner: it may well be used."""
    model, _, history, end = trained
    tracker = OccupancyTracker(model)
    tracker.replay(history, since=end - DAY)
    dinner = end + 19.3 * HOUR  # nothing reported since the night before
    silent = {"kitchen_motion", "kitchen_door"}
    routine = model.rooms["kitchen"].routine
    assert tracker.occupancy_probability("kitchen", dinner) < 0.2  # silence read as empty
    blind = tracker.forecast("kitchen", dinner, untrusted=silent)
    assert blind.occupancy_probability == pytest.approx(routine.at(np.asarray([dinner]))[0])
    assert blind.occupancy_probability > 0.5
    np.testing.assert_allclose(blind.probabilities, routine.at(blind.times))
    assert blind.next_use == dinner
    # At night, its next use is when its routine expects one.
    night = tracker.forecast("kitchen", end + 3.0 * HOUR, untrusted=silent)
    assert not night.in_use
    likely = night.times[routine.at(night.times) >= 0.5]
    assert night.next_use == likely[0]
    # One of them still reporting: the room is judged by it.
    judged = tracker.forecast("kitchen", dinner, untrusted={"kitchen_motion"})
    assert judged.occupancy_probability < 0.2
    assert not np.allclose(judged.probabilities, routine.at(judged.times))


def test_a_room_whose_sensors_are_unavailable_follows_its_routine(trained) -> None:
    """Unavailable is not "nobody there": the kitchen's sensors out, the routine stands in."""
    model, _, history, end = trained
    tracker = OccupancyTracker(model)
    tracker.replay(history, since=end - DAY)
    dinner = end + 19.3 * HOUR
    tracker.observe("kitchen_motion", end + HOUR, math.nan)
    tracker.observe("kitchen_door", end + HOUR, None)
    routine = model.rooms["kitchen"].routine
    out = tracker.forecast("kitchen", dinner)
    assert out.occupancy_probability == pytest.approx(routine.at(np.asarray([dinner]))[0])
    np.testing.assert_allclose(out.probabilities, routine.at(out.times))
    # Back, and quiet: the room is judged by them again.
    tracker.observe("kitchen_motion", dinner - 2 * HOUR, 0.0)
    tracker.observe("kitchen_door", dinner - 2 * HOUR, 0.0)
    assert tracker.occupancy_probability("kitchen", dinner) < 0.5


def test_a_rooms_quiet_is_counted_from_its_trusted_sources(trained) -> None:
    """A sensor found silent may have said something last; the room's quiet is the others'."""
    model, _, history, end = trained
    tracker = OccupancyTracker(model)
    tracker.replay(history, since=end - DAY)
    now = end + 3.0 * HOUR
    tracker.observe("kitchen_door", now - 3 * HOUR, 1.0)
    tracker.observe("kitchen_door", now - 3 * HOUR + 5.0, 0.0)
    tracker.observe("kitchen_motion", now - HOUR, 1.0)
    tracker.observe("kitchen_motion", now - HOUR + 60.0, 0.0)
    kitchen = tracker._units["kitchen"]
    assert float(kitchen.state(now, ())["age"]) == pytest.approx(HOUR - 60.0)
    assert float(kitchen.state(now, {"kitchen_motion"})["age"]) == pytest.approx(3 * HOUR - 5.0)
    # Stuck on and not trusted: it does not keep the room active.
    tracker.observe("kitchen_motion", now - 10.0, 1.0)
    assert float(kitchen.state(now, ())["active"]) == 1.0
    assert float(kitchen.state(now, {"kitchen_motion"})["active"]) == 0.0


def _evenings_in_the_lounge(dead_days: range) -> dict[str, SourceSeries]:
    """Three weeks of evenings (19:00-22:00) seen by a motion sensor, dead on ``dead_days``."""
    rng = np.random.default_rng(4)
    times, values = [START], [0.0]
    for day in range(21):
        evening = START + day * DAY + 19 * HOUR
        if day in dead_days:
            if day == dead_days.start:
                times.append(START + day * DAY)
                values.append(math.nan)  # unavailable from midnight...
            continue
        if day == dead_days.stop:
            times.append(START + day * DAY)
            values.append(0.0)  # ...until it was mended
        moment = evening + rng.normal(0, 600)
        while moment < evening + 3 * HOUR:
            times += [moment, moment + 60 * rng.uniform(1, 3)]
            values += [1.0, 0.0]
            moment = times[-1] + 60 * rng.uniform(2, 8)
    return {"lounge_motion": SourceSeries.of(times, values)}


def test_days_a_sensor_was_unavailable_are_not_learned_as_days_unused() -> None:
    """A motion sensor dead for five days: its room was not empty all those evenings."""
    sources = [OccupancySource("lounge_motion", "motion", "lounge")]
    end = START + 21 * DAY
    evenings = START + np.arange(21) * DAY + 20.5 * HOUR
    healthy = train_occupancy(sources, _evenings_in_the_lounge(range(0)), START, end)
    dead = train_occupancy(sources, _evenings_in_the_lounge(range(8, 13)), START, end)
    seen = healthy.rooms["lounge"].routine.at(evenings)
    despite = dead.rooms["lounge"].routine.at(evenings)
    assert np.all(seen > 0.8)
    np.testing.assert_allclose(despite, seen, atol=0.05)
    labels = prepare_unit("lounge", sources, _evenings_in_the_lounge(range(8, 13)), START, end)
    assert np.all(np.isnan(labels.label_at(START + 8 * DAY + np.arange(0, 5 * DAY, HOUR))))


def test_an_episode_that_meets_an_unknown_spell_is_not_finished() -> None:
    """Its length is not known: neither when the gap began nor when it ended is a change."""
    nan = math.nan
    starts = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    values = np.array([0.0, 1.0, 0.0, nan, 0.0, 1.0, 0.0])
    first, last, state, finished = label_episodes((starts, starts + 10.0, values), 0.0, 70.0)
    assert first.tolist() == [0.0, 10.0, 20.0, 40.0, 50.0, 60.0]
    assert last.tolist() == [10.0, 20.0, 30.0, 50.0, 60.0, 70.0]
    assert state.tolist() == [0.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    # The window's edges and the unknown spell cut the others; only those in between are whole.
    assert finished.tolist() == [False, True, False, False, True, False]
    # Two spells of one state either side of a gap are two episodes, not one.
    values = np.array([0.0, 1.0, 1.0, nan, 1.0, 0.0, 1.0])
    first, last, _, finished = label_episodes((starts, starts + 10.0, values), 0.0, 70.0)
    assert first.tolist() == [0.0, 10.0, 40.0, 50.0, 60.0]
    assert last.tolist() == [10.0, 30.0, 50.0, 60.0, 70.0]
    assert finished.tolist() == [False, False, False, True, False]


def test_live_features_match_the_training_grid(trained) -> None:
    model, sources, history, end = trained
    tracker = OccupancyTracker(model)
    cut = end - 2 * DAY
    times = np.arange(cut + HOUR, end, 37 * MINUTE)
    events = sorted(
        (float(t), key, float(v))
        for key, series in history.items()
        for t, v in zip(series.times, series.values, strict=True)
    )
    # The kitchen's CO2 brings every kind of number feature, its time since its last high too.
    assert ("since_high", "kitchen_co2") in {
        (s.name, s.source_id) for s in model.unit("kitchen").specs
    }
    for room in ("kitchen", "office", None):
        unit = model.unit(room)
        data = prepare_unit(room, sources, history, end - 21 * DAY, end)
        routine = logit(unit.routine.at(times))
        grid = feature_matrix(unit.specs, data.series, data.activity, times, routine)
        tracker = OccupancyTracker(model)
        cursor = 0
        for row, now in enumerate(times):
            while cursor < len(events) and events[cursor][0] <= now:
                tracker.observe(events[cursor][1], events[cursor][0], events[cursor][2])
                cursor += 1
            state = tracker._units[room].state(float(now), ())
            live = tracker._features(unit, state, float(now), (), float(now))
            np.testing.assert_allclose(live, grid[row], rtol=1e-6, atol=1e-6, equal_nan=True)


def test_a_tracker_off_the_wall_clock_reads_the_hour_of_day_at_its_shift(trained) -> None:
    """A tracker kept an hour behind the home's wall clock (its clock never jumps, as the wall
    clock does at a daylight saving change) and told so predicts as one on the wall clock."""
    model, _, history, end = trained
    behind = {
        key: SourceSeries.of((series.times - HOUR).tolist(), series.values.tolist())
        for key, series in history.items()
    }
    on_the_wall, an_hour_behind = OccupancyTracker(model), OccupancyTracker(model)
    on_the_wall.replay(history, since=end - DAY)
    an_hour_behind.replay(behind, since=end - DAY - HOUR)
    for now in (end + 5 * MINUTE, end + 7 * HOUR):
        for room in ("kitchen", "office", None):
            expected = on_the_wall.forecast(room, now)
            assert np.isfinite(expected.probabilities).all()
            shifted = an_hour_behind.forecast(room, now - HOUR, wall_clock_shift=HOUR)
            assert shifted.occupancy_probability == pytest.approx(expected.occupancy_probability)
            np.testing.assert_allclose(shifted.probabilities, expected.probabilities)
            assert (shifted.next_use is None) == (expected.next_use is None)
            if expected.next_use is not None:
                assert shifted.next_use == pytest.approx(expected.next_use - HOUR)
        home = an_hour_behind.home_outlook(now - HOUR, wall_clock_shift=HOUR)
        assert home.someone_home_probability == pytest.approx(
            on_the_wall.home_outlook(now).someone_home_probability
        )


def test_logistic_matches_scikit_learn() -> None:
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2000, 4))
    outcome = (rng.random(2000) < 1 / (1 + np.exp(-(features @ [1.5, -1.0, 0.0, 0.5] + 0.3)))) * 1.0
    weights, intercept = fit_logistic(features, outcome, ridge=2.0)
    reference = sklearn_linear.LogisticRegression(C=0.5, tol=1e-10, max_iter=10_000)
    reference.fit(features, outcome)
    np.testing.assert_allclose(weights, reference.coef_[0], atol=1e-4)
    assert intercept == pytest.approx(reference.intercept_[0], abs=1e-4)


def test_convex_blend_recovers_weights() -> None:
    rng = np.random.default_rng(1)
    forecasts = rng.random((5000, 3))
    outcome = (rng.random(5000) < forecasts @ [0.2, 0.8, 0.0]) * 1.0
    weights = fit_convex_blend(forecasts, outcome)
    assert weights.sum() == pytest.approx(1.0)
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights, [0.2, 0.8, 0.0], atol=0.08)


def test_new_model_replaces_only_when_not_worse(trained) -> None:
    model, sources, history, end = trained
    start = end - 21 * DAY
    assert should_replace(model, None, history, start, end)
    # A model that knew nothing (the broad prior) is replaced by one that learned.
    untrained = train_occupancy(sources, {}, start, end)
    assert should_replace(model, untrained, history, start, end)
    # A candidate whose held-out scores are worse than the current model's is not.
    worse = OccupancyModel.from_dict(model.to_dict())
    for unit in [*worse.rooms.values(), worse.home]:
        unit.scores = {**unit.scores, "nowcast_brier": 1.0, "forecast_brier": 1.0}
    assert not should_replace(worse, model, history, start, end)


def test_nightly_model_replaces_one_that_fits_only_the_days_it_trained_on() -> None:
    """Last night's model learned a passing week of late evenings; the home is back to mornings.

    On the days it trained on it fits that week better than any model can out of sample, so
    it is compared with the new one only on the day since it was trained.
    """
    parts = [(5, 28, [8.0]), (6, 6, [20.0]), (7, 1, [8.0])]
    homes = [_home(seed=seed, days=days, hours=hours) for seed, days, hours in parts]
    sources = homes[0][0]
    offsets = np.cumsum([0, *[days * DAY for _, days, _ in parts[:-1]]])
    history = {
        key: SourceSeries(
            np.concatenate(
                [home[1][key].times + offset for home, offset in zip(homes, offsets, strict=True)]
            ),
            np.concatenate([home[1][key].values for home in homes]),
        )
        for key in homes[0][1]
    }
    end = START + 35 * DAY
    last_night = train_occupancy(sources, history, START, end - DAY)
    tonight = train_occupancy(sources, history, START, end)
    assert tonight.home.scores["holdout_start"] < last_night.trained_until
    assert should_replace(tonight, last_night, history, START, end)
    # Saved and read back, the held-out fits are gone: each is judged on its own held-out days.
    saved = OccupancyModel.from_dict(json.loads(json.dumps(tonight.to_dict())))
    assert not saved.held_out
    assert should_replace(saved, last_night, history, START, end) == (
        occupancy._total_brier(saved) <= occupancy._total_brier(last_night)
    )


def test_penalty_is_chosen_by_blocked_cross_validation_and_recalibrated() -> None:
    """A strong penalty shrinks the log-odds; the held-out blocks' recalibration undoes it."""
    rng = np.random.default_rng(4)
    samples = 6000
    # Slowly varying features, as minutes of a sensor are: blocks of 30 rows share a value.
    features = np.repeat(rng.normal(size=(samples // 30, 3)), 30, axis=0)
    truth = sigmoid(features @ np.asarray([2.0, -1.5, 0.0]) - 0.5)
    outcome = (rng.random(samples) < truth) * 1.0
    ridge, (slope, shift) = choose_ridge(features, outcome, rows_per_hour=60.0)
    assert ridge in (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    weights, intercept = fit_logistic(features, outcome, ridge=ridge * 60.0)
    probability = sigmoid(slope * (features @ weights + intercept) + shift)
    for low, high in ((0.0, 0.3), (0.3, 0.7), (0.7, 1.0)):
        chosen = (probability >= low) & (probability < high)
        assert abs(outcome[chosen].mean() - probability[chosen].mean()) < 0.05
    # Forced to a heavy penalty, the recalibration sharpens the shrunk log-odds.
    _, (heavy_slope, _) = choose_ridge(features, outcome, rows_per_hour=60.0, choices=(300.0,))
    assert heavy_slope > 1.5


def test_fallback_only_on_a_clear_loss(trained) -> None:
    """A held-out loss within the noise keeps the model; a clear one picks the best baseline."""
    unit = UnitModel.from_dict(trained[0].rooms["kitchen"].to_dict())
    scores = {"forecast_skill": 0.1, "nowcast_skill": 0.5}
    for name in ("15m", "30m", "1h", "2h", "3h", "6h", "12h", "24h"):
        suffix = "" if name == "1h" else f"_{name}"
        scores |= {
            f"forecast_points{suffix}": 10_000.0,
            f"forecast_brier{suffix}": 0.105,
            f"forecast_brier_blend{suffix}": 0.100,
            f"forecast_brier_routine{suffix}": 0.120,
            f"forecast_brier_persistence{suffix}": 0.130,
            f"forecast_loss_error{suffix}": 0.01 if name != "3h" else 0.001,
        }
    unit.forecast_fallback = [""] * len(FORECAST_HORIZONS)
    _judge(unit, scores, history_days=21.0)
    expected = ["blend" if horizon == 3 * HOUR else "" for horizon in FORECAST_HORIZONS]
    assert unit.forecast_fallback == expected
    horizon = np.full(1, 3 * HOUR)
    served = unit.forecast_from(horizon, np.full(1, 0.2), np.full(1, 0.9), (np.zeros(1),) * 2)
    # Without the time now, the plain routine stands in for the conditional routine.
    weight = unit.forecast_coef[FORECAST_HORIZONS.index(3 * HOUR), :2].sum()
    assert served[0] == pytest.approx(weight * 0.2 + (1 - weight) * 0.9)


def test_forecast_with_offset_matches_a_shifted_fit() -> None:
    """The logistic correction of a blend: an offset is the same as a known extra column."""
    rng = np.random.default_rng(5)
    features = rng.normal(size=(3000, 2))
    offset = rng.normal(size=3000)
    outcome = (rng.random(3000) < sigmoid(offset + features @ [0.7, -0.4] + 0.2)) * 1.0
    weights, intercept = fit_logistic(features, outcome, ridge=1e-6, offset=offset)
    np.testing.assert_allclose(weights, [0.7, -0.4], atol=0.15)
    assert intercept == pytest.approx(0.2, abs=0.15)


def test_conditional_routine_learns_the_state_and_is_safe_without_history() -> None:
    """P(in use an hour later | state now, how long, hour of day): learned, shrunk to routine."""
    step = 5 * MINUTE
    routine = WeeklyRoutine(np.tile(np.where(np.arange(24) < 8, 0.9, 0.4), 7))
    prior = routine_by_hour(routine, HOUR)
    # No history: the routine an hour later, whatever the state now and how long it lasted.
    empty = np.zeros(0)
    table, _ = fit_conditional_routine(empty, empty, np.zeros((0, 2)), empty, prior, step)
    np.testing.assert_allclose(table, np.broadcast_to(prior, table.shape))
    # Four weeks where use an hour later follows the state now 90 % / 20 % of the time, but
    # a use that has lasted over 8 hours goes on only 50 % of the time.
    rng = np.random.default_rng(11)
    times = np.arange(0.0, 28 * DAY, step)
    state = (rng.random(times.size) < 0.5) * 1.0
    durations = rng.uniform(0.0, 12 * HOUR, size=(times.size, 2))
    rate = np.where(state == 1.0, np.where(durations[:, 0] > 8 * HOUR, 0.5, 0.9), 0.2)
    outcome = (rng.random(times.size) < rate) * 1.0
    outcome[::13] = np.nan  # unknown labels are skipped
    table, read = fit_conditional_routine(times, state, durations, outcome, prior, step, True)
    # Averaged over the hours of day (each hour's cell is shrunk on its few hours of data).
    assert table[1, 2].mean() == pytest.approx(0.9, abs=0.05)
    assert 0.45 < table[1, -1].mean() < 0.65  # 0.5, pulled a little towards the state's rate
    assert table[0].mean() == pytest.approx(0.2, abs=0.05)
    assert read is not None and read.shape == (times.size, 2)
    lasted = np.asarray([[HOUR, 0.0], [10 * HOUR, 0.0]])
    at = read_conditional(table[None], np.zeros(2, int), np.asarray([3.0, 15.5]) * HOUR, lasted)
    assert at[0, 1] > at[1, 1] + 0.2  # a long use is more likely to end
    # A day of history is shrunk: between what it saw and the routine.
    first = times < DAY
    short, _ = fit_conditional_routine(
        times[first], state[first], durations[first], np.ones(first.sum()), prior, step
    )
    assert np.all(short < 1.0 - 1e-3) and np.all(short > prior - 1e-9)


def _forecast_inputs(
    rng: np.random.Generator, size: int, routine_low: float, home_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A forecast's inputs: the routine, the state now (mostly sure) and how long it lasted."""
    routine = rng.uniform(routine_low, 0.9, size)
    now = np.where(rng.random(size) < home_share, 0.95, 0.05)
    lasting = rng.uniform(0.05, 0.95, size)
    return routine, now, lasting


def test_forecast_correction_kept_only_where_it_helps() -> None:
    """Cross-validation keeps the logistic correction when it adds what the blend lacks."""
    rng = np.random.default_rng(8)
    size = 4000
    routine, now, lasting = _forecast_inputs(rng, size, 0.1, 0.5)
    # Use depends strongly on how long the state has lasted: only the correction sees that.
    outcome = (rng.random(size) < sigmoid(3.0 * logit(lasting))) * 1.0
    row, ridge, _ = fit_forecast(routine, now, lasting, outcome, 5 * MINUTE)
    assert math.isfinite(ridge) and row[5] > 1.0  # the weight of "lasting" on the log-odds
    # Use follows the routine alone: the forecast stays (about) the blend.
    outcome = (rng.random(size) < routine) * 1.0
    row, ridge, _ = fit_forecast(routine, now, lasting, outcome, 5 * MINUTE)
    blend = baseline_blend(row[0], routine, now, row[1], routine)
    score = (
        logit(blend)
        + row[2]
        + np.column_stack((logit(routine), logit(now), logit(lasting), logit(routine))) @ row[3:]
    )
    assert np.max(np.abs(sigmoid(score) - blend)) < 0.05


def test_a_light_switched_by_hand_is_read_from_its_step() -> None:
    """Illuminance gets "recent change" features, computed the same live and in training."""
    rng = np.random.default_rng(7)
    days = 8
    starts, ends = _visits(rng, days, [8.0, 13.0, 18.0], 90)
    times = np.arange(START, START + days * DAY, MINUTE)
    inside = np.zeros(times.size)
    index = np.searchsorted(starts, times, side="right") - 1
    inside[index >= 0] = times[index >= 0] < ends[index[index >= 0]]
    # Daylight drifts over the day and from day to day; the lamp adds a step while in use.
    hour = (times - START) % DAY / HOUR
    daylight = np.clip(np.sin((hour - 6.0) / 12.0 * math.pi), 0.0, None)
    daylight *= rng.uniform(100.0, 500.0, days).repeat(times.size // days)
    lux = daylight + 300.0 * inside + rng.normal(0.0, 5.0, times.size)
    sources = [
        OccupancySource("desk_presence", "motion", "study", reliable=True),
        OccupancySource("desk_lux", "illuminance", "study"),
    ]
    history = {"desk_presence": _presence(starts, ends), "desk_lux": SourceSeries.of(times, lux)}
    end = START + days * DAY
    model = train_occupancy(sources, history, START, end)
    unit = model.rooms["study"]
    lux_features = {(spec.name, spec.source_id) for spec in unit.specs}
    assert {("change", "desk_lux"), ("since_high", "desk_lux")} <= lux_features
    # The tracker, fed the lux readings only, follows the lamp; its features match training.
    tracker = OccupancyTracker(model)
    check = np.arange(end - DAY + HOUR, end, 17 * MINUTE)
    data = prepare_unit("study", sources, history, START, end)
    grid = feature_matrix(
        unit.specs, data.series, data.activity, check, logit(unit.routine.at(check))
    )
    lux_times = history["desk_lux"].times
    cursor = 0
    predicted, truth = [], []
    for row, now in enumerate(check):
        while cursor < lux_times.size and lux_times[cursor] <= now:
            tracker.observe("desk_lux", float(lux_times[cursor]), float(lux[cursor]))
            cursor += 1
        state = tracker._units["study"].state(float(now), ())
        live = tracker._features(unit, state, float(now), (), float(now))
        np.testing.assert_allclose(live, grid[row], rtol=1e-6, atol=1e-6, equal_nan=True)
        predicted.append(tracker.occupancy_probability("study", float(now)) >= 0.5)
        truth.append(inside[np.searchsorted(times, now, side="right") - 1] == 1.0)
    assert np.mean(np.asarray(predicted) == np.asarray(truth)) > 0.9


def test_usual_day_low_is_kept_and_fills_a_new_window() -> None:
    """A number with a physical floor keeps its usual low: its excess is known from the start."""
    sources, history, start, end = _home(seed=5, days=5)
    rng = np.random.default_rng(5)
    times = history["kitchen_co2"].times
    warmth = 20.0 + np.sin(2 * math.pi * (times - start) / DAY) + rng.normal(0, 0.1, times.size)
    sources = [*sources, OccupancySource("kitchen_temperature", "temperature", "kitchen")]
    history = {**history, "kitchen_temperature": SourceSeries.of(times, warmth)}
    model = train_occupancy(sources, history, start, end)
    kitchen = model.rooms["kitchen"]
    # CO2 falls to outdoor air every night; a temperature's low follows the weather: not kept.
    assert set(kitchen.typical_lows) == {"kitchen_co2"}
    assert 300.0 < kitchen.typical_lows["kitchen_co2"] < 450.0
    restored = OccupancyModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored.rooms["kitchen"].typical_lows == kitchen.typical_lows
    # A tracker started six hours ago (a restart, a new sensor): its day's low is the usual
    # low until its own readings go lower, the same live as on the training grid.
    since = end - 6 * HOUR
    recent = {
        key: SourceSeries(series.times[series.times > since], series.values[series.times > since])
        for key, series in history.items()
    }
    tracker = OccupancyTracker(model)
    tracker.replay(recent)
    data = prepare_unit("kitchen", sources, recent, since, end)
    check = np.arange(since + 10 * MINUTE, end, 23 * MINUTE)
    grid = feature_matrix(
        kitchen.specs,
        data.series,
        data.activity,
        check,
        logit(kitchen.routine.at(check)),
        kitchen.typical_lows,
    )
    tracker = OccupancyTracker(model)
    cursor = 0
    events = sorted(
        (float(t), key, float(v))
        for key, series in recent.items()
        for t, v in zip(series.times, series.values, strict=True)
    )
    excess = next(
        index
        for index, spec in enumerate(kitchen.specs)
        if spec.name == "excess" and spec.source_id == "kitchen_co2"
    )
    warm_excess = next(
        index
        for index, spec in enumerate(kitchen.specs)
        if spec.name == "excess" and spec.source_id == "kitchen_temperature"
    )
    for row, now in enumerate(check):
        while cursor < len(events) and events[cursor][0] <= now:
            tracker.observe(events[cursor][1], events[cursor][0], events[cursor][2])
            cursor += 1
        state = tracker._units["kitchen"].state(float(now), ())
        live = tracker._features(kitchen, state, float(now), (), float(now))
        np.testing.assert_allclose(live, grid[row], rtol=1e-6, atol=1e-6, equal_nan=True)
        assert math.isfinite(live[excess])  # known at once
        assert math.isnan(live[warm_excess])  # unknown until a whole day is seen
    seen = recent["kitchen_co2"]
    value = float(seen.values[seen.times <= check[0]][-1])
    assert grid[0, excess] == pytest.approx(value - kitchen.typical_lows["kitchen_co2"])


def test_unjudged_far_horizons_of_a_degraded_unit_use_the_naive_baseline_further_out(
    trained,
) -> None:
    """Too little held-out time far ahead: the baseline that won furthest ahead, not a fit."""
    unit = UnitModel.from_dict(trained[0].rooms["kitchen"].to_dict())
    scores = {"forecast_skill": -0.1, "nowcast_skill": 0.5}
    judged = ("15m", "30m", "1h", "2h", "3h", "6h")
    for name in HORIZON_NAMES:
        suffix = "" if name == "1h" else f"_{name}"
        scores |= {
            f"forecast_points{suffix}": 10_000.0 if name in judged else 10.0,
            f"forecast_brier{suffix}": 0.100,
            f"forecast_brier_blend{suffix}": 0.100,
            # Persistence wins a few minutes ahead, the routine from two hours on.
            f"forecast_brier_routine{suffix}": 0.110 if name in judged[:3] else 0.090,
            f"forecast_brier_persistence{suffix}": 0.090 if name in judged[:3] else 0.200,
            f"forecast_loss_error{suffix}": 0.05,
        }
    unit.forecast_fallback = [""] * len(FORECAST_HORIZONS)
    _judge(unit, scores, history_days=21.0)
    assert unit.status == "degraded"
    assert unit.forecast_fallback == ["", "", "", "", "", "", "routine", "routine"]
    # Nothing judged at all (a single held-out day): the blend, which holds both baselines.
    for name in HORIZON_NAMES:
        scores["forecast_points" + ("" if name == "1h" else f"_{name}")] = 10.0
    unit.forecast_fallback = [""] * len(FORECAST_HORIZONS)
    _judge(unit, scores, history_days=21.0)
    assert unit.forecast_fallback == ["blend"] * len(FORECAST_HORIZONS)


def _brute_force_highs(times: np.ndarray, values: np.ndarray) -> list[float]:
    """Readings at least as high as every value held in the hour before (the definition)."""
    known = np.isfinite(values)
    times, values = times[known], values[known]
    highs = []
    for index in range(times.size):
        start = times[index] - HIGH_WINDOW
        held = [values[j] for j in range(index) if times[j] > start]
        before = [j for j in range(index) if times[j] <= start]
        if before:
            held.append(values[before[-1]])  # the value held when the window began
        if not held or values[index] >= max(held):
            highs.append(float(times[index]))
    return highs


def test_since_high_matches_its_definition_and_the_live_path() -> None:
    """Irregular readings, ties, unknowns and gaps: vectorised, live and by hand agree."""
    rng = np.random.default_rng(11)
    gaps = rng.choice([20.0, 60.0, 300.0, 1800.0, 5400.0], size=600, p=[0.3, 0.4, 0.2, 0.07, 0.03])
    times = START + np.cumsum(gaps)
    values = np.round(500 + np.cumsum(rng.normal(0, 15, times.size)), -1)  # rounded: many ties
    values[rng.random(times.size) < 0.05] = np.nan
    series = SourceSeries.of(times, values)
    expected = _brute_force_highs(times, values)
    np.testing.assert_array_equal(high_times(series), expected)
    state = _NumericState()
    checks = np.sort(rng.uniform(times[0] - HOUR, times[-1] + 8 * HOUR, 300))
    grid = since_high(series, checks)
    cursor = 0
    for row, now in enumerate(checks):
        while cursor < times.size and times[cursor] <= now:
            state.add(float(times[cursor]), float(values[cursor]))
            cursor += 1
        assert state.since_high(float(now)) == pytest.approx(grid[row], abs=1e-12, nan_ok=True)
    assert math.isnan(grid[0])  # before the first reading: unknown
    assert grid[-1] == pytest.approx(float(log_minutes(np.asarray(SINCE_HIGH_CAP))))


def test_since_high_of_a_reading_stamped_ahead_of_the_clock_is_now() -> None:
    """The clock set back (a Raspberry Pi without a real-time clock): a high "in the future"
    was just now, not an unknown that would blank the room's now-cast."""
    state = _NumericState()
    state.add(START + HOUR, 900.0)
    assert state.since_high(START) == 0.0


def test_since_high_follows_a_room_being_emptied() -> None:
    """CO2 rises while the room is in use; once it is left, the time since its high grows."""
    times = START + np.arange(0, 4 * HOUR, MINUTE)
    in_use = times < START + 2 * HOUR
    left = START + 2 * HOUR
    last_breath = left - MINUTE  # the last reading while in use: the highest
    peak = 450 + (last_breath - START) / 20
    decay = 450 + (peak - 450) * np.exp(-(times - last_breath) / HOUR)
    co2 = np.where(in_use, 450 + (times - START) / 20, decay)
    series = SourceSeries.of(times, co2)
    feature = since_high(series, times)
    assert np.all(feature[in_use] == 0.0)  # rising: every reading is a new high
    minutes_since = (times[~in_use] - last_breath) / MINUTE
    np.testing.assert_allclose(feature[~in_use], np.log1p(minutes_since) / 5.0)


def test_final_now_cast_penalty_is_chosen_on_all_its_rows(monkeypatch) -> None:
    """The held-out days only score: the final fit cross-validates on every row it learns from."""
    calls: list[tuple[np.ndarray, float, tuple[float, float]]] = []

    def recording(features, outcome, rows_per_hour, *args):
        ridge, calibration = choose_ridge(features, outcome, rows_per_hour, *args)
        calls.append((features.copy(), ridge, calibration))
        return ridge, calibration

    monkeypatch.setattr(occupancy, "choose_ridge", recording)
    sources, history, start, end = _home(seed=2, days=21)
    model = train_occupancy(sources, history, start, end)
    trained = [unit for unit in (*model.rooms.values(), model.home) if unit.trained]
    assert trained
    assert len(calls) == 2 * len(trained)  # the held-out fit's own choice, then the final fit's
    for unit, held_out, final in zip(trained, calls[::2], calls[1::2], strict=True):
        assert held_out[0].shape != final[0].shape or not np.array_equal(held_out[0], final[0])
        assert unit.scores["nowcast_ridge"] == final[1]
        assert (unit.scores["nowcast_slope"], unit.scores["nowcast_shift"]) == final[2]


def test_state_is_unknown_before_the_first_reading() -> None:
    """Where recorded history begins, hours before any reading are not taught as a state.

    Nor are they before the first reading of a sign of use (a CO2 level does not teach).
    """
    sources, history, start, end = _home(seed=1, days=7)
    early = start - 3 * HOUR  # the history asked for starts before anything was recorded
    for room in ("kitchen", "office", None):
        read = [
            s.source_id
            for s in sources
            if (room is None or s.room == room) and s.kind in ("motion", "door")
        ]
        first = min(float(history[source].times[0]) for source in read)
        times = np.arange(early, first + 2 * HOUR, 10 * MINUTE)
        label = prepare_unit(room, sources, history, early, end).label_at(times)
        assert np.all(np.isnan(label[times < first]))
        assert np.isfinite(label[times >= first]).all()
    # A window inside the history keeps the state before its start: nothing is lost there.
    data = prepare_unit("kitchen", sources, history, start + DAY, end)
    assert np.isfinite(data.label_at(np.arange(start + DAY, start + 2 * DAY, HOUR))).all()


def test_home_forecast_reads_the_rooms_only_where_they_help() -> None:
    """A room used just before leaving foretells the home's next hour; a noise room does not."""
    rng = np.random.default_rng(11)
    size = 4000
    routine, now, lasting = _forecast_inputs(rng, size, 0.2, 0.7)
    precursor = (rng.random(size) < 0.2) * now  # e.g. the bathroom used in the last minutes
    outcome = (rng.random(size) < sigmoid(2.0 * logit(lasting) - 3.0 * precursor)) * 1.0
    extra = np.column_stack((precursor - precursor.mean(), rng.normal(size=size)))
    extra[:, 0] /= extra[:, 0].std()
    row, ridge, rooms_ridge = fit_forecast(routine, now, lasting, outcome, 5 * MINUTE, extra=extra)
    assert math.isfinite(ridge) and math.isfinite(rooms_ridge)
    assert row.size == 9 and row[7] < -0.5 and abs(row[8]) < 0.1
    # With both rooms only noise, they are left out (weights exactly 0).
    outcome = (rng.random(size) < sigmoid(2.0 * logit(lasting))) * 1.0
    row, ridge, rooms_ridge = fit_forecast(
        routine, now, lasting, outcome, 5 * MINUTE, extra=rng.normal(size=(size, 2))
    )
    assert math.isfinite(ridge) and rooms_ridge == math.inf
    assert np.all(row[7:] == 0.0)
    # A penalty given for them is used as given.
    row, _, rooms_ridge = fit_forecast(
        routine, now, lasting, outcome, 5 * MINUTE, None, 1.0, extra, 10.0
    )
    assert rooms_ridge == 10.0 and np.all(row[7:] != 0.0)


def test_home_forecast_may_read_the_rooms_more_weakly_penalised_than_its_own_inputs() -> None:
    """Rooms that clearly foretell a departure get a pull weaker than the correction's grid."""
    rng = np.random.default_rng(3)
    size = 1200
    routine, now, lasting = _forecast_inputs(rng, size, 0.2, 0.7)
    rooms = (rng.random((size, 3)) < 0.2) * now[:, None]  # three precursors of leaving
    outcome = (rng.random(size) < sigmoid(2.0 * logit(lasting) - 4.0 * rooms.sum(axis=1))) * 1.0
    extra = (rooms - rooms.mean(axis=0)) / rooms.std(axis=0)
    row, ridge, rooms_ridge = fit_forecast(routine, now, lasting, outcome, 5 * MINUTE, extra=extra)
    assert ridge in occupancy.FORECAST_RIDGE_CHOICES
    assert rooms_ridge in occupancy.FORECAST_EXTRA_RIDGE_CHOICES
    assert rooms_ridge < min(occupancy.FORECAST_RIDGE_CHOICES)
    # The weaker pull keeps more of each room's weight than the correction's weakest would.
    weakest = min(occupancy.FORECAST_RIDGE_CHOICES)
    forced, *_ = fit_forecast(
        routine, now, lasting, outcome, 5 * MINUTE, None, ridge, extra, weakest
    )
    assert np.all(row[7:] < forced[7:]) and np.all(row[7:] < -0.5)


def _home_with_outings(seed: int = 5, days: int = 14):
    """A home left through its front door once or twice a day, the bathroom used just before."""
    rng = np.random.default_rng(seed)
    living: list[float] = []
    bathroom: list[float] = []
    door: list[float] = []
    for day in range(days):
        moment = START + day * DAY + 8 * HOUR
        for _ in range(int(rng.integers(1, 3))):
            leave = moment + rng.uniform(1, 5) * HOUR
            while moment < leave - 20 * MINUTE:  # at home: the living room, now and then
                living.append(moment)
                if rng.random() < 0.05:
                    bathroom.append(moment + MINUTE)
                moment += rng.uniform(3, 8) * MINUTE
            bathroom.append(leave - rng.uniform(5, 15) * MINUTE)
            back = leave + rng.uniform(1, 3) * HOUR
            door.extend((leave, back))
            moment = back + 2 * MINUTE
        while moment < START + day * DAY + 23 * HOUR:
            living.append(moment)
            moment += rng.uniform(3, 8) * MINUTE

    def pulses(times: list[float]) -> SourceSeries:
        ordered = np.sort(np.asarray(times))
        return SourceSeries.of(
            np.column_stack((ordered, ordered + 30.0)).ravel(), np.tile([1.0, 0.0], ordered.size)
        )

    sources = [
        OccupancySource("living_motion", "motion", "living"),
        OccupancySource("bathroom_motion", "motion", "bathroom"),
        OccupancySource("front_door", "door", "hall", entrance=True),
    ]
    history = {
        "living_motion": pulses(living),
        "bathroom_motion": pulses(bathroom),
        "front_door": pulses(door),
    }
    return sources, history, START, START + days * DAY


def test_home_forecast_rooms_live_match_training() -> None:
    """The live tracker reads each room's recency as training did, and the forecast uses it."""
    sources, history, start, end = _home_with_outings()
    model = train_occupancy(sources, history, start, end)
    home = model.home
    assert home.trained
    assert home.forecast_rooms == ["bathroom", "hall", "living"]
    assert home.room_coef.shape == (len(FORECAST_HORIZONS), 3 * len(RECENT_TAUS))
    assert np.any(home.room_coef != 0.0)  # the rooms used before leaving are worth reading here
    data = prepare_unit(None, sources, history, start, end)
    times = np.arange(end - 2 * DAY + HOUR, end, 37 * MINUTE)
    ages = data.rooms_age(home.forecast_rooms, times)
    events = sorted(
        (float(t), key, float(v))
        for key, series in history.items()
        for t, v in zip(series.times, series.values, strict=True)
    )
    tracker = OccupancyTracker(model)
    cursor = 0
    horizons = 15 * MINUTE * np.arange(1, FORECAST_STEPS + 1, dtype=np.float64)
    for row, now in enumerate(times):
        while cursor < len(events) and events[cursor][0] <= now:
            tracker.observe(events[cursor][1], events[cursor][0], events[cursor][2])
            cursor += 1
        live = [
            float(tracker._units[room].state(float(now), ())["age"]) for room in home.forecast_rooms
        ]
        np.testing.assert_allclose(live, ages[row], atol=1e-6)
        forecast = tracker.forecast(None, float(now))
        state = tracker._units[None].state(float(now), ())
        durations = tracker._durations(None, home, state, float(now), ())
        expected = home.forecast_from(
            horizons,
            home.routine.at(now + horizons),
            np.asarray(forecast.occupancy_probability),
            durations,
            True,
            float(now),
            home.room_recency(ages[row], np.asarray(forecast.occupancy_probability)),
        )
        np.testing.assert_allclose(forecast.probabilities, expected, rtol=1e-9)
    # The rooms move the forecast only through their weights: none, no change.
    recent = home.room_recency(np.zeros(3), np.asarray(0.9))
    assert recent.shape == (3 * len(RECENT_TAUS),)
    assert np.all(home.rooms_term(horizons, None) == 0.0)
    width = 3 * len(RECENT_TAUS)
    bare = UnitModel.from_dict({**home.to_dict(), "room_coef": [[0.0] * width] * 8})
    assert np.all(bare.rooms_term(horizons, recent) == 0.0)


def test_no_room_is_in_use_while_everybody_is_known_away() -> None:
    """A hallway passed on the way out is not shown in use while its people are away."""
    sources, history, start, end = _home_with_outings()
    door = history["front_door"].times[history["front_door"].values == 1.0]
    leaves, backs = door[0::2], door[1::2]  # each outing opens the door going out and back in
    rng = np.random.default_rng(7)
    # The hall's light, on while passing, is sometimes left on a while after going out.
    lit = [(leave - MINUTE, leave + rng.uniform(5, 25) * MINUTE) for leave in leaves]
    lit += [(back, back + 2 * MINUTE) for back in backs]
    lit.sort()
    sources = [
        *sources,
        OccupancySource("hall_light", "light", "hall"),
        OccupancySource("person_a", "person"),
    ]
    history = {
        **history,
        "hall_light": SourceSeries.of(np.asarray(lit).ravel(), np.tile([1.0, 0.0], len(lit))),
        "person_a": SourceSeries.of(
            [start, *np.column_stack((leaves, backs)).ravel()],
            [1.0, *np.tile([0.0, 1.0], leaves.size)],
        ),
    }
    model = train_occupancy(sources, history, start, end)
    hall = model.rooms["hall"]
    assert hall.trained
    # Training: the hall is not in use once everybody has gone out, and the fit knows it.
    data = prepare_unit("hall", sources, history, start, end)
    assert np.all(data.label_at(leaves + 5 * MINUTE) == 0.0)
    assert np.all(data.label_at(backs + MINUTE) == 1.0)  # coming home, it is in use
    events = sorted(
        (float(t), key, float(v))
        for key, series in history.items()
        for t, v in zip(series.times, series.values, strict=True)
    )
    checked = 0
    for leave, back in zip(leaves[-6:], backs[-6:], strict=True):
        tracker = OccupancyTracker(model)
        now = float(leave + 5 * MINUTE)
        for time, key, value in events:
            if time > now:
                break
            tracker.observe(key, time, value)
        assert now < back
        # Everybody away: the hall no likelier than the home, now and in its forecast's input.
        assert tracker.occupancy_probability(None, now) == pytest.approx(0.01)
        assert tracker.occupancy_probability("hall", now) <= 0.01 + 1e-12
        assert tracker.forecast("hall", now).occupancy_probability <= 0.01 + 1e-12
        # Where the person is not known, the hall's own sensors speak.
        assert tracker.occupancy_probability("hall", now, untrusted={"person_a"}) > 0.5
        checked += 1
    assert checked == 6
    # The held-out score reads the now-cast as the tracker shows it.
    assert hall.scores["nowcast_brier"] < hall.scores["nowcast_brier_routine"]
