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


def test_too_short_a_history_is_not_judged() -> None:
    """A source seen for a day says 'learning' rather than guessing."""
    times = START + np.array([0.0, 0.4, 0.9]) * DAY
    rhythm = SourceRhythm.from_reports(times)
    assert not rhythm.judged
    verdict = rhythm.check(float(times[-1]) + 30 * DAY)
    assert verdict.status == "learning" and not verdict.problem


def test_door_used_twice_a_week_is_judged_by_its_days() -> None:
    """A few weeks of a door used twice a week: a week's silence is normal, a month's is not."""
    opened = START + 10 * HOUR + np.arange(6) * 3.5 * DAY
    times = np.sort(np.concatenate([opened, opened + 60.0]))  # open, then closed a minute later
    rhythm = SourceRhythm.from_reports(times, np.arange(times.size) % 2 == 0)
    assert rhythm.gaps_seen < MIN_GAPS and not rhythm.judged_by_hour and rhythm.judged
    last = float(times[-1])
    assert rhythm.check(last + 7 * DAY).status == "ok"
    assert rhythm.check(last + 30 * DAY).status == "silent"


def test_sparse_source_of_values_is_not_judged_by_its_days() -> None:
    """A battery level reported only when it changes: months of silence may be a held value."""
    times = START + np.arange(6) * 3.5 * DAY
    rhythm = SourceRhythm.from_reports(times)
    assert not rhythm.judged and rhythm.missed_days_allowed() is None
    assert rhythm.check(float(times[-1]) + 90 * DAY).status == "learning"


def _daily(days: int, skip: float, seed: int) -> np.ndarray:
    """A toaster: used once a day between 08:00 and 10:00 (on, then off), some days not at all."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    for day in range(days):
        if rng.random() < skip:
            continue
        moment = START + day * DAY + float(rng.uniform(8, 10)) * HOUR
        times += [moment, moment + 180.0]
    return np.asarray(times)


def _states(times: np.ndarray) -> np.ndarray:
    return np.arange(times.size) % 2 == 0  # on, off, on, off ...


def test_a_silence_counted_from_a_later_start_is_judged_from_there() -> None:
    """Nobody home for three days: the motion sensor's silence counts from their return."""
    times = _daytime(5)
    rhythm = SourceRhythm.from_reports(times, np.zeros(times.size, dtype=bool))
    last = float(times[-1])
    back = last + 3 * DAY  # the evening someone comes home
    assert rhythm.check(back + HOUR).status == "silent"  # counted from the last report
    fresh = rhythm.check_silence_from(back, back + HOUR)
    assert fresh.status == "ok"
    assert fresh.seconds_since_report == HOUR
    # The same allowance as after a report at that moment: flagged as late as that would be.
    plain = SourceRhythm.from_reports([*times, back], np.zeros(times.size + 1, dtype=bool))
    due = plain.problem_at()
    assert due is not None
    assert rhythm.check_silence_from(back, due - 60).status == "ok"
    late = rhythm.check_silence_from(back, due + REPAIR_AFTER + 60)
    assert late.status == "silent"
    assert late.beyond_seconds == pytest.approx(REPAIR_AFTER + 60)
    # A start before the last report changes nothing.
    assert rhythm.check_silence_from(last - HOUR, back) == rhythm.check(back)


def test_daily_sensor_is_judged_by_missed_days_after_a_week() -> None:
    """A week of a once-a-day sensor: judged at once (not after 20 silences) by its days."""
    times = _daily(7, 0.0, 5)
    rhythm = SourceRhythm.from_reports(times, _states(times))
    assert rhythm.gaps_seen < MIN_GAPS and rhythm.judged
    # Its day starts in its quiet hours, far from the morning it is used.
    assert not 6 <= rhythm.day_start_hour() <= 12
    allowed = rhythm.missed_days_allowed()
    assert allowed is not None and 2 <= allowed <= 4
    last = float(times[-1])
    assert rhythm.check(last + 1.5 * DAY).status == "ok"
    assert rhythm.check(last + (allowed + 1.5) * DAY).status == "silent"


def test_missed_days_allowed_sharpen_with_data_and_skips() -> None:
    """More days without a miss allow fewer missed days; a sensor that skips days gets more."""
    week = _daily(7, 0.0, 6)
    month = _daily(30, 0.0, 6)
    skipping = _daily(30, 0.3, 6)
    allowed = [
        SourceRhythm.from_reports(times, _states(times)).missed_days_allowed()
        for times in (week, month, skipping)
    ]
    week_allows, month_allows, skipping_allows = (value or 0 for value in allowed)
    assert None not in allowed
    assert month_allows < week_allows and month_allows < skipping_allows


def test_daily_sensor_false_alarms_rare() -> None:
    """Calibration: a daily sensor that skips a day in ten rarely trips over half a year."""
    times = _daily(210, 0.1, 7)
    states = _states(times)
    train = times < START + 30 * DAY
    rhythm = SourceRhythm.from_reports(times[train], states[train])
    alarms = 0
    for moment, is_on in zip(times[~train], states[~train], strict=True):
        # Every silence is checked at its longest (just before the next report).
        if rhythm.check(float(moment) - 1.0).problem:
            alarms += 1
        rhythm.record(float(moment), bool(is_on))
    assert alarms <= 2  # 6 months at FALSE_ALARM_BUDGET a month: 1.5 expected at most


def test_source_on_for_days_before_its_on_times_are_judged_is_stuck() -> None:
    """A bed sensor seen for a week, now on for days without a report: stuck."""
    rng = np.random.default_rng(8)
    times: list[float] = []
    for day in range(7):
        night = START + day * DAY + float(rng.uniform(22, 23.5)) * HOUR
        times += [night, night + float(rng.uniform(7, 9)) * HOUR]
    rhythm = SourceRhythm.from_reports(np.asarray(times), np.arange(len(times)) % 2 == 0)
    assert not rhythm.stuck_judged
    went_to_bed = START + 7 * DAY + 22.5 * HOUR
    rhythm.record(went_to_bed, True)
    assert rhythm.check(went_to_bed + 10 * HOUR).status == "ok"
    verdict = rhythm.check(went_to_bed + 6 * DAY)
    assert verdict.status == "stuck" and verdict.problem


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
        {**SourceRhythm().to_dict(), "missed_days_by_start": [0] * 12},
        {**SourceRhythm().to_dict(), "reports_by_hour": [-1] * 24},
    ],
)
def test_from_dict_rejects_bad_data(data: dict[str, object]) -> None:
    """Old or damaged saved data raises ValueError."""
    with pytest.raises(ValueError):
        SourceRhythm.from_dict(data)


def _mixed_home(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A motion sensor with a daily rhythm, dropouts of hours to days and spells stuck on."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    moment = START
    while moment < START + days * DAY:
        hour = (moment % DAY) / HOUR
        if rng.random() < 0.003:
            moment += float(rng.uniform(2 * HOUR, 4 * DAY))  # a dropout
        elif 7 <= hour < 23:
            moment += float(rng.exponential(20 * 60))
        else:
            moment += float(rng.exponential(3 * HOUR))
        times.append(moment)
    states = np.arange(len(times)) % 2 == 0
    return np.asarray(times), states


def _chatty_with_dropouts(days: int, seed: int) -> np.ndarray:
    """A sensor every ~5 minutes that now and then drops out for half an hour to three hours."""
    rng = np.random.default_rng(seed)
    gaps = rng.uniform(150.0, 450.0, int(days * DAY / 300.0))
    dropouts = rng.random(gaps.size) < 0.01
    gaps[dropouts] = rng.uniform(0.5 * HOUR, 3 * HOUR, int(dropouts.sum()))
    return START + np.cumsum(gaps)


def _on_the_hour(days: int, seed: int) -> np.ndarray:
    """Reports on, or a hair either side of, whole hours: where rounding could pick the hour."""
    rng = np.random.default_rng(seed)
    hours = np.cumsum(rng.choice([0, 1, 1, 2, 3, 30], int(days * 24 * 0.7)))
    nudge = rng.choice([0.0, 1e-6, -1e-6, 0.5, 1799.0], hours.size)
    return np.unique(START + hours * HOUR + nudge)


class _WorkedOutAtEveryReport(SourceRhythm):
    """The reference: every silence weighed at every hour, every allowance and problem time anew."""

    def _hours_reached(self, start: float, end: float) -> range:
        return range(24)

    def _hourly_allowances(self) -> list[float]:
        return [self.allowed_silence(hour) for hour in range(24)]

    def record(self, timestamp: float, is_on: bool | None = None) -> None:
        super().record(timestamp, is_on)
        assert self._silent_at is None or self._silent_at >= timestamp + HOUR

    def _ended_a_problem(self, end: float) -> bool:
        problem_at = self.problem_at()
        return problem_at is not None and end >= problem_at


@pytest.mark.parametrize(
    "history",
    [
        _mixed_home(120, 11),
        (_mixed_home(120, 12)[0], None),
        (_daily(200, 0.2, 13), _states(_daily(200, 0.2, 13))),
        (_chatty_with_dropouts(40, 14), None),
        (_on_the_hour(90, 16), None),
    ],
    ids=["motion", "values", "daily", "chatty", "on the hour"],
)
def test_verdicts_match_working_out_the_problem_time_at_every_report(
    history: tuple[np.ndarray, np.ndarray | None],
) -> None:
    """Weighing each silence only where it reached, and when asked, changes no verdict."""
    times, states = history
    rhythm, reference = SourceRhythm(), _WorkedOutAtEveryReport()
    every = max(1, times.size // 300)
    compared = 0
    for index, moment in enumerate(times):
        is_on = None if states is None else bool(states[index])
        rhythm.record(float(moment), is_on)
        reference.record(float(moment), is_on)
        if index % every == 0:
            for offset in (60.0, 0.5 * HOUR, 1.5 * HOUR, 5 * HOUR, 20 * HOUR, 3 * DAY, 9 * DAY):
                assert rhythm.check(moment + offset) == reference.check(moment + offset)
                compared += 1
            assert rhythm.problem_at() == reference.problem_at()
    assert rhythm.to_dict() == reference.to_dict()
    assert rhythm.outages == reference.outages
    assert compared > 1000


def test_short_silences_do_not_work_out_when_they_become_a_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sensor reporting every few minutes for a year learns without weighing each silence."""
    allowed_silence = SourceRhythm.allowed_silence
    calls = 0

    def counted(rhythm: SourceRhythm, hour: int) -> float:
        nonlocal calls
        calls += 1
        return allowed_silence(rhythm, hour)

    monkeypatch.setattr(SourceRhythm, "allowed_silence", counted)
    times = _chatty(30, 300.0, 15)
    rhythm = SourceRhythm.from_reports(times)
    assert rhythm.check(float(times[-1]) + 3 * HOUR).status == "silent"
    assert calls < times.size / 10
