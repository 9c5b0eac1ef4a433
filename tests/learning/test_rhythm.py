"""Tests for the reporting rhythm of a source (silent and stuck sources)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from custom_components.foresight.learning.rhythm import MIN_GAPS, REPAIR_AFTER, SourceRhythm

HOUR = 3600.0
DAY = 86400.0
START = 1_700_006_400.0  # a midnight on the local wall clock


def _chatty(days: int, every: float, seed: int = 1) -> np.ndarray:
    """A sensor reporting about every ``every`` seconds, with jitter."""
    rng = np.random.default_rng(seed)
    gaps = every * rng.uniform(0.5, 1.5, int(days * DAY / every))
    return START + np.cumsum(gaps)


def _daytime(days: int, seed: int = 2) -> np.ndarray:
    """A motion sensor: fires every ~15 minutes from 07:00 to 23:00, never at night."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    for day in range(days):
        moment = START + day * DAY + 7 * HOUR
        while moment < START + day * DAY + 23 * HOUR:
            times.append(moment)
            moment += float(rng.exponential(15 * 60))
    return np.asarray(times)


def test_chatty_sensor_silence_is_flagged_soon_and_clears_on_report() -> None:
    """A temperature sensor every 5 minutes: an hour or two of silence is a problem."""
    times = _chatty(3, 300.0)
    rhythm = SourceRhythm.from_reports(times)
    last = float(times[-1])
    assert rhythm.judged
    assert rhythm.check(last + 600).status == "ok"
    silent = rhythm.check(last + 3 * HOUR)
    assert silent.status == "silent"
    assert silent.problem and silent.beyond_seconds > 0 and silent.severity > 1
    assert not rhythm.needs_repair(last + 3 * HOUR)
    assert rhythm.needs_repair(last + 3 * HOUR + REPAIR_AFTER)
    rhythm.record(last + 4 * HOUR)
    assert rhythm.check(last + 4 * HOUR + 60).status == "ok"


def test_time_of_day_rhythm_learned() -> None:
    """Silent all night is normal for a daytime sensor; silent all afternoon is not."""
    rhythm = SourceRhythm.from_reports(_daytime(30))
    last_day = START + 30 * DAY
    # Night: last report before 23:00, checked at 06:30 the next morning.
    night = SourceRhythm.from_dict(rhythm.to_dict())
    night.record(last_day + 22.9 * HOUR)
    assert night.check(last_day + DAY + 6.5 * HOUR).status == "ok"
    # Afternoon: last report at 10:00, checked at 18:00 the same day.
    afternoon = SourceRhythm.from_dict(rhythm.to_dict())
    afternoon.record(last_day + 10 * HOUR)
    assert afternoon.check(last_day + 18 * HOUR).status == "silent"
    assert afternoon.allowed_silence(15) < afternoon.allowed_silence(4)


def test_binary_source_stuck_on() -> None:
    """A motion sensor usually on for a few minutes, now on for hours: stuck."""
    rng = np.random.default_rng(3)
    rhythm = SourceRhythm()
    moment = START
    for _ in range(200):
        rhythm.record(moment, True)
        moment += float(rng.uniform(60, 600))
        rhythm.record(moment, False)
        moment += float(rng.uniform(600, 3600))
    rhythm.record(moment, True)
    assert rhythm.stuck_judged
    assert rhythm.check(moment + 300).status == "ok"
    stuck = rhythm.check(moment + 3 * HOUR)
    assert stuck.status == "stuck" and stuck.beyond_seconds > 0
    problem_at = rhythm.problem_at()
    assert problem_at is not None and moment < problem_at < moment + 3 * HOUR


def test_sparse_source_is_not_judged() -> None:
    """A door used twice a week says 'learning' for weeks rather than guessing."""
    times = START + np.arange(6) * 3.5 * DAY
    rhythm = SourceRhythm.from_reports(times)
    assert rhythm.gaps_seen < MIN_GAPS
    verdict = rhythm.check(float(times[-1]) + 30 * DAY)
    assert verdict.status == "learning" and not verdict.problem


def test_outage_is_not_learned_as_normal() -> None:
    """A silence flagged as a problem does not widen what the rhythm allows."""
    times = _chatty(3, 300.0)
    rhythm = SourceRhythm.from_reports(times)
    allowed = [rhythm.allowed_silence(hour) for hour in range(24)]
    rhythm.record(float(times[-1]) + 2 * DAY)
    assert rhythm.outages == 1
    assert [rhythm.allowed_silence(hour) for hour in range(24)] == allowed


def test_false_alarms_rare_on_a_steady_source() -> None:
    """Calibration: a source with a steady random rhythm rarely trips on new days."""
    rng = np.random.default_rng(4)
    gaps = rng.exponential(30 * 60, 60 * 48)  # about two reports an hour for 60 days
    times = START + np.cumsum(gaps)
    half = times <= START + 30 * DAY
    rhythm = SourceRhythm.from_reports(times[half])
    alarms = 0
    for moment in times[~half]:
        # Every silence is checked at its longest (just before the next report).
        if rhythm.check(float(moment) - 1.0).problem:
            alarms += 1
        rhythm.record(float(moment))
    assert alarms <= 1


def test_round_trip_keeps_verdicts() -> None:
    """to_dict / from_dict is JSON-safe and changes nothing."""
    rhythm = SourceRhythm.from_reports(_daytime(25))
    data = json.loads(json.dumps(rhythm.to_dict()))
    restored = SourceRhythm.from_dict(data)
    last = float(rhythm.last_report or 0.0)
    for offset in (600.0, 5 * HOUR, 20 * HOUR, 3 * DAY):
        assert restored.check(last + offset) == rhythm.check(last + offset)


def test_bad_input_handled() -> None:
    """NaN and out-of-order reports are dropped and counted; empty history is learning."""
    assert SourceRhythm().check(START).status == "learning"
    rhythm = SourceRhythm()
    rhythm.record(START + 100)
    rhythm.record(math.nan)
    rhythm.record(START)  # older than the last report
    assert rhythm.reports_dropped == 2
    assert rhythm.last_report == START + 100
    with pytest.raises(ValueError):
        SourceRhythm.from_reports(np.array([START, START + 1]), np.array([True]))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": 0},
        {"version": 1},
        {**SourceRhythm().to_dict(), "longest_silence_by_hour": [1.0] * 23},
        {**SourceRhythm().to_dict(), "longest_on": "long"},
        {**SourceRhythm().to_dict(), "last_report": math.inf},
        {**SourceRhythm().to_dict(), "gaps_seen": -1},
    ],
)
def test_from_dict_rejects_bad_data(data: dict[str, object]) -> None:
    """Old or damaged saved data raises ValueError."""
    with pytest.raises(ValueError):
        SourceRhythm.from_dict(data)
