"""Reporting rhythm of a source: when its silence means it is broken.

Pure Python (no Home Assistant imports); a :class:`SourceRhythm` persists as a JSON dict.

Time convention: every timestamp is float seconds on the home's *local wall clock*, i.e. a naive
local datetime converted as if it were UTC (``dt.replace(tzinfo=UTC).timestamp()``). The hour of
day is therefore ``(ts % 86400) // 3600`` and daylight saving time needs no care here.

What is learned, per source and in constant memory:

* the longest silence ever seen *at each hour of the day* (the time since the last report,
  while the source was not ``on``): a kitchen sensor may be silent all night but not for eight
  hours in the afternoon; a door used twice a week is silent for days at every hour;
* for binary sources, the longest time it was ever ``on`` in one go.

A source is ``silent`` once its current silence is far longer than the longest silence seen at
this hour (:data:`SILENCE_MARGIN` times it, and at least :data:`MIN_SLACK` more), and ``stuck``
once it has been ``on`` far longer than it ever was. Each report costs O(24) work. The time at
which the current silence will turn into a problem is worked out at most once per report, when
first needed: by :meth:`SourceRhythm.check`, or by the next report if its silence lasted at
least :data:`MIN_SLACK` (a shorter one is never a problem). So a year of history learns fast, and
:meth:`SourceRhythm.check` is O(1) after its first call and can run every minute for dozens of
sources.

A binary source with too few silences for the hourly table (:data:`MIN_GAPS`, e.g. a bed
sensor, a toaster or a front door used once a day) is judged by its *days* instead: the time of day
it normally reports sets where its day begins (the middle of its quietest hours), and the share
of its days with no report at all, with a uniform prior that sharpens as days are seen, gives
the chance of a run of silent days. Such a source is flagged once it has missed so many of its
days in a row that a run that long would be a false alarm less than :data:`FALSE_ALARM_BUDGET`
times a month: conservative while the history is short (a week of daily reports allows four
missed days, a month of them two), never "never". The same rule judges a binary source ``on``
for days before its on-times are known (``stuck``). Only a history shorter than
:data:`MIN_SPAN` is ``learning``. A silence that was flagged as a problem is not learned as
normal (an outage must not teach the model that outages are normal). A sparse source of values
(a battery level reported only when it changes) is not judged by its days: its silence may only
mean the value held, as a coin cell's level does for months.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
RhythmStatus = Literal["learning", "ok", "silent", "stuck"]

HOUR = 3600.0
DAY = 86400.0
MONTH = 30.44 * DAY
MODEL_VERSION = 2

MIN_GAPS = 20  # silences seen before the hourly table judges: its longest gap then means something
MIN_SPAN = 2 * DAY  # history needed before judging, so every hour of the day was seen
FALSE_ALARM_BUDGET = 0.25  # half the false alarms a month a source may raise, for missed-day runs
MAX_MISSED_DAYS = 365  # a source needing a longer run than this is not judged by its days
MIN_ON_INTERVALS = 10  # times a binary source was on before "stuck" is judged
SILENCE_MARGIN = 1.5  # silent when silent this many times longer than ever seen at this hour
STUCK_MARGIN = 1.5  # stuck when on this many times longer than ever seen
MIN_SILENCES_AT_HOUR = MIN_GAPS  # silences seen at an hour before its own longest is trusted
MIN_SLACK = HOUR  # and always at least this much longer, so a chatty sensor's hiccup is no fault
REPAIR_AFTER = DAY  # a repair issue is raised once a source is this far beyond its rhythm


@dataclass(frozen=True, slots=True)
class RhythmCheck:
    """The verdict on one source at one moment.

    ``allowed_seconds`` is the silence (or the time ``on``) the rhythm allows before flagging;
    ``severity`` is the current silence (or on-time) divided by that, and ``beyond_seconds`` how
    long the source has been flagged (0 unless ``silent`` or ``stuck``).
    """

    status: RhythmStatus
    seconds_since_report: float
    allowed_seconds: float | None
    severity: float
    beyond_seconds: float

    @property
    def problem(self) -> bool:
        """True when the source is silent or stuck."""
        return self.status in ("silent", "stuck")

    @property
    def needs_repair(self) -> bool:
        """True when the source is silent or stuck more than a day beyond its rhythm."""
        return self.problem and self.beyond_seconds > REPAIR_AFTER


def _silence_verdict(
    problem: RhythmStatus, start: float, problem_at: float | None, now: float
) -> RhythmCheck:
    """The verdict at ``now`` on a silence from ``start``: a ``problem`` from ``problem_at``.

    ``problem_at`` None: the silence is not judged yet (``learning``).
    """
    since = max(0.0, now - start)
    if problem_at is None:
        return RhythmCheck("learning", since, None, 0.0, 0.0)
    allowed = problem_at - start
    severity = since / allowed if allowed > 0 else math.inf
    if now >= problem_at:
        return RhythmCheck(problem, since, allowed, severity, now - problem_at)
    return RhythmCheck("ok", since, allowed, severity, 0.0)


class SourceRhythm:
    """The learned reporting rhythm of one source (a sensor, a binary sensor, a battery device).

    Feed every report with :meth:`record` (in time order, O(1)); ask :meth:`check` at any time.
    """

    def __init__(self) -> None:
        """Start with nothing learned."""
        self.first_report: float | None = None
        self.last_report: float | None = None
        self.is_on: bool = False
        self.binary = False  # reports on / off events (a sparse one is judged by its days)
        self.on_since: float | None = None
        self.gaps_seen = 0
        self.on_intervals_seen = 0
        self.outages = 0
        self.reports_dropped = 0
        # The longest silence seen (s) while the clock was in each hour of the day.
        self.longest_silence_by_hour: list[float] = [0.0] * 24
        self.silences_by_hour: list[int] = [0] * 24  # how many silences reached each hour
        self.longest_silence = 0.0
        self.longest_on = 0.0
        self.reports_by_hour: list[int] = [0] * 24  # when in the day the source reports
        # Whole days without a report, and days lost to outages, for a day starting at each hour.
        self.missed_days_by_start: list[int] = [0] * 24
        self.outage_days_by_start: list[int] = [0] * 24
        # When the current silence becomes a problem: worked out once per report, when first asked.
        self._silent_at_known = True
        self._silent_at_value: float | None = None
        self._allowances: list[float] | None = None  # allowed_silence at each hour, while it holds

    @classmethod
    def from_reports(cls, timestamps: ArrayLike, states: ArrayLike | None = None) -> SourceRhythm:
        """Learn a rhythm from a source's history (local-wall-clock seconds; ``on`` flags)."""
        rhythm = cls()
        times = np.asarray(timestamps, dtype=np.float64)
        flags = None if states is None else np.asarray(states, dtype=bool)
        if flags is not None and flags.shape != times.shape:
            raise ValueError("states must match timestamps")
        order = np.argsort(times, kind="stable")
        for index in order:
            rhythm.record(float(times[index]), None if flags is None else bool(flags[index]))
        return rhythm

    @property
    def judged(self) -> bool:
        """True once the source's silence is judged, by its hourly table or by its days."""
        return self.judged_by_hour or self.missed_days_allowed() is not None

    @property
    def judged_by_hour(self) -> bool:
        """True once enough silences were seen to trust the longest silence at each hour."""
        if self.first_report is None or self.last_report is None:
            return False
        return self.gaps_seen >= MIN_GAPS and self.last_report - self.first_report >= MIN_SPAN

    def day_start_hour(self) -> int:
        """The hour at which the source's day begins: the middle of its quietest hours."""
        fewest = min(self.reports_by_hour)
        quiet = [count <= fewest for count in self.reports_by_hour]
        if all(quiet):
            return 0
        best_start, best_length = 0, 0
        # The longest run of quietest hours, going round midnight.
        first_busy = quiet.index(False)
        length = 0
        for step in range(1, 25):
            hour = (first_busy + step) % 24
            if quiet[hour]:
                length += 1
                if length > best_length:
                    best_start, best_length = (hour - length + 1) % 24, length
            else:
                length = 0
        return (best_start + best_length // 2) % 24

    def missed_days_allowed(self) -> int | None:
        """Whole days in a row the source may miss before its silence is a problem.

        None for a source of values, while the history is shorter than :data:`MIN_SPAN`, or
        when no run up to :data:`MAX_MISSED_DAYS` is rare enough.
        """
        if self.first_report is None or self.last_report is None or not self.binary:
            return None
        if self.last_report - self.first_report < MIN_SPAN:
            return None
        start = self.day_start_hour()
        days = _whole_days(self.first_report, self.last_report, start)
        days -= self.outage_days_by_start[start]
        missed = min(self.missed_days_by_start[start], max(days, 0))
        # Beta(1, 1) prior on the chance a day has no report, updated by the days seen.
        silent_days = 1.0 + missed
        reporting_days = 1.0 + max(days, 0) - missed
        chances_a_month = MONTH / DAY * reporting_days / (silent_days + reporting_days)
        run_chance = 1.0
        for run in range(1, MAX_MISSED_DAYS + 1):
            # The chance of `run` silent days in a row, averaged over what the rate may be.
            run_chance *= (silent_days + run - 1) / (silent_days + reporting_days + run - 1)
            if chances_a_month * run_chance <= FALSE_ALARM_BUDGET:
                return run
        return None

    @property
    def stuck_judged(self) -> bool:
        """True once the source was ``on`` often enough to judge a long ``on``."""
        return self.on_intervals_seen >= MIN_ON_INTERVALS

    def allowed_silence(self, hour: int) -> float:
        """Silence (s) the rhythm allows when the clock is at ``hour`` (0-23)."""
        neighbours = [(hour + offset) % 24 for offset in (-1, 0, 1)]
        if min(self.silences_by_hour[index] for index in neighbours) < MIN_SILENCES_AT_HOUR:
            # Too few silences seen around this hour: its own longest means little.
            longest = self.longest_silence
        else:
            longest = max(self.longest_silence_by_hour[index] for index in neighbours)
        return max(SILENCE_MARGIN * longest, longest + MIN_SLACK)

    def allowed_on(self) -> float:
        """Time (s) the source may stay ``on`` in one go."""
        return max(STUCK_MARGIN * self.longest_on, self.longest_on + MIN_SLACK)

    def _missed_days_problem_at(self, start: float) -> float | None:
        """When a silence from ``start`` has missed all the days the source may miss."""
        allowed = self.missed_days_allowed()
        if allowed is None:
            return None
        offset = self.day_start_hour() * HOUR
        first_day = math.ceil((start - offset) / DAY)
        return offset + (first_day + allowed) * DAY

    def record(self, timestamp: float, is_on: bool | None = None) -> None:
        """Learn from one report at ``timestamp``; ``is_on`` is its state for binary sources.

        Reports out of time order or not finite are dropped and counted.
        """
        if not math.isfinite(timestamp) or (
            self.last_report is not None and timestamp < self.last_report
        ):
            self.reports_dropped += 1
            return
        if self.last_report is None:
            self.first_report = timestamp
        else:
            # Judged on what was learned up to the last report, before this one teaches anything.
            outage = self._ended_a_problem(timestamp)
            self._learn_days(self.last_report, timestamp, outage)
            if self.is_on:
                if not is_on and self.on_since is not None:
                    self._learn_on(self.on_since, timestamp, outage)
            else:
                self._learn_silence(self.last_report, timestamp, outage)
        self.reports_by_hour[int((timestamp % DAY) // HOUR)] += 1
        self.binary = self.binary or is_on is not None
        if is_on and not self.is_on:
            self.on_since = timestamp
        elif not is_on:
            self.on_since = None
        self.is_on = bool(is_on)
        self.last_report = timestamp
        self._silent_at_known = False

    def check(self, now: float) -> RhythmCheck:
        """Judge the source at ``now``: ``learning``, ``ok``, ``silent`` or ``stuck``."""
        if self.last_report is None:
            return RhythmCheck("learning", math.inf, None, 0.0, 0.0)
        since = max(0.0, now - self.last_report)
        if self.is_on and self.on_since is not None and self.stuck_judged:
            on_for = max(0.0, now - self.on_since)
            allowed = self.allowed_on()
            severity = on_for / allowed
            if on_for > allowed:
                return RhythmCheck("stuck", since, allowed, severity, on_for - allowed)
            return RhythmCheck("ok", since, allowed, severity, 0.0)
        # Not judged on its own on-times yet: an `on` with no report for days is stuck.
        problem: RhythmStatus = "stuck" if self.is_on else "silent"
        return _silence_verdict(problem, self.last_report, self._silent_at, now)

    def check_silence_from(self, start: float, now: float) -> RhythmCheck:
        """Judge the silence at ``now`` as if it began at ``start``, not at the last report.

        For a source only people make report (a motion sensor, a door): while nobody was home,
        its silence says nothing, so it is counted from their return. ``start`` before the
        last report is the plain :meth:`check`; so is a source ``on`` (a long ``on`` is judged
        by its on-times whoever is home).
        """
        if self.last_report is None or start <= self.last_report or self.is_on:
            return self.check(now)
        return _silence_verdict("silent", start, self._first_problem_time(start), now)

    def problem_at(self) -> float | None:
        """When the current silence or ``on`` becomes a problem if nothing is reported (or None)."""
        if self.is_on and self.on_since is not None and self.stuck_judged:
            return self.on_since + self.allowed_on()
        return self._silent_at

    @property
    def _silent_at(self) -> float | None:
        """When the silence since the last report becomes a problem (or None)."""
        if not self._silent_at_known:
            last = self.last_report
            self._silent_at_value = None if last is None else self._first_problem_time(last)
            self._silent_at_known = True
        return self._silent_at_value

    def _ended_a_problem(self, end: float) -> bool:
        """True when the silence (or ``on``) that a report at ``end`` ends was already a problem."""
        on_judged = self.is_on and self.on_since is not None and self.stuck_judged
        last = self.last_report
        # A silence is a problem MIN_SLACK after its last report at the earliest.
        if not on_judged and last is not None and end < last + MIN_SLACK:
            return False
        problem_at = self.problem_at()
        return problem_at is not None and end >= problem_at

    def needs_repair(self, now: float) -> bool:
        """True when the source is silent or stuck more than a day beyond its rhythm."""
        return self.check(now).needs_repair

    def _learn_on(self, start: float, end: float, outage: bool) -> None:
        # A stuck period that ended is an outage, not a new normal.
        if outage:
            self.outages += 1
            return
        self.on_intervals_seen += 1
        self.longest_on = max(self.longest_on, end - start)

    def _learn_days(self, start: float, end: float, outage: bool) -> None:
        """Count the whole days, for a day starting at each hour, with no report in between."""
        counts = self.outage_days_by_start if outage else self.missed_days_by_start
        if end - start < DAY:
            return
        for hour in range(24):
            counts[hour] += _whole_days(start, end, hour)

    def _learn_silence(self, start: float, end: float, outage: bool) -> None:
        if outage:
            self.outages += 1
            return
        if end <= start:
            return
        self.gaps_seen += 1
        # The hourly allowances change only with a longer silence or an hour newly trusted.
        if end - start > self.longest_silence:
            self.longest_silence = end - start
            self._allowances = None
        longest = self.longest_silence_by_hour
        for hour in self._hours_reached(start, end):
            # The latest moment of the gap at this hour of the day, and the silence reached there.
            slot_start = math.floor((end - hour * HOUR) / DAY) * DAY + hour * HOUR
            latest = min(end, slot_start + HOUR)
            if latest <= start:
                continue
            if latest - start > longest[hour]:
                longest[hour] = latest - start
                self._allowances = None
            self.silences_by_hour[hour] += 1
            if self.silences_by_hour[hour] == MIN_SILENCES_AT_HOUR:
                self._allowances = None

    def _hours_reached(self, start: float, end: float) -> range | list[int]:
        """The hours of the day a silence from ``start`` to ``end`` may reach (all, if long)."""
        # Two hours' margin each side: any hour further away is skipped whatever the rounding.
        span = int((end - start) // HOUR) + 6
        if span >= 24:
            return range(24)
        first = int((start % DAY) // HOUR) - 2
        return [(first + step) % 24 for step in range(span)]

    def _hourly_allowances(self) -> list[float]:
        """The silence allowed at each hour of the day, worked out again only when it changed."""
        if self._allowances is None:
            self._allowances = [self.allowed_silence(hour) for hour in range(24)]
        return self._allowances

    def _first_problem_time(self, start: float) -> float | None:
        """The first moment after ``start`` at which the silence since ``start`` is too long."""
        if self.judged_by_hour and not self.is_on:
            return self._hourly_problem_time(start)
        # A sparse source, or an `on` not judged by its on-times: judged by its missed days.
        return self._missed_days_problem_at(start)

    def _hourly_problem_time(self, start: float) -> float:
        """The first moment the silence since ``start`` is too long by the hourly table."""
        slot = math.floor(start / HOUR) * HOUR
        allowances = self._hourly_allowances()
        # Bounded: the allowed silence never exceeds the largest hourly allowance.
        ceiling = max(allowances)
        while slot < start + ceiling + HOUR:
            hour = int((slot % DAY) // HOUR)
            alarm = max(slot, start + allowances[hour])
            if alarm < slot + HOUR:
                return alarm
            slot += HOUR
        return start + ceiling

    def to_dict(self) -> dict[str, Any]:
        """The learned rhythm as a JSON-serialisable dict."""
        return {
            "version": MODEL_VERSION,
            "first_report": self.first_report,
            "last_report": self.last_report,
            "is_on": self.is_on,
            "binary": self.binary,
            "on_since": self.on_since,
            "gaps_seen": self.gaps_seen,
            "on_intervals_seen": self.on_intervals_seen,
            "outages": self.outages,
            "reports_dropped": self.reports_dropped,
            "longest_silence_by_hour": list(self.longest_silence_by_hour),
            "silences_by_hour": list(self.silences_by_hour),
            "longest_silence": self.longest_silence,
            "longest_on": self.longest_on,
            "reports_by_hour": list(self.reports_by_hour),
            "missed_days_by_start": list(self.missed_days_by_start),
            "outage_days_by_start": list(self.outage_days_by_start),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceRhythm:
        """Rebuild a rhythm saved by :meth:`to_dict`; raises ``ValueError`` on bad or old data."""
        if not isinstance(data, dict) or data.get("version") != MODEL_VERSION:
            raise ValueError("unsupported rhythm model version")
        try:
            rhythm = cls()
            rhythm.first_report = _optional_float(data["first_report"])
            rhythm.last_report = _optional_float(data["last_report"])
            rhythm.is_on = bool(data["is_on"])
            rhythm.binary = bool(data["binary"])
            rhythm.on_since = _optional_float(data["on_since"])
            rhythm.gaps_seen = int(data["gaps_seen"])
            rhythm.on_intervals_seen = int(data["on_intervals_seen"])
            rhythm.outages = int(data["outages"])
            rhythm.reports_dropped = int(data["reports_dropped"])
            longest = [float(value) for value in data["longest_silence_by_hour"]]
            counts = [int(value) for value in data["silences_by_hour"]]
            rhythm.longest_silence = float(data["longest_silence"])
            rhythm.longest_on = float(data["longest_on"])
            by_hour = [int(value) for value in data["reports_by_hour"]]
            missed = [int(value) for value in data["missed_days_by_start"]]
            outage_days = [int(value) for value in data["outage_days_by_start"]]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"malformed rhythm model: {err}") from err
        values = [*longest, rhythm.longest_on, rhythm.longest_silence]
        tables = (counts, by_hour, missed, outage_days)
        if (
            len(longest) != 24
            or any(len(table) != 24 or min(table) < 0 for table in tables)
            or not all(math.isfinite(v) and v >= 0 for v in values)
        ):
            raise ValueError("malformed rhythm model: bad silence table")
        if min(rhythm.gaps_seen, rhythm.on_intervals_seen, rhythm.outages) < 0:
            raise ValueError("malformed rhythm model: negative count")
        rhythm.longest_silence_by_hour = longest
        rhythm.silences_by_hour = counts
        rhythm.reports_by_hour = by_hour
        rhythm.missed_days_by_start = missed
        rhythm.outage_days_by_start = outage_days
        rhythm._silent_at_known = False
        return rhythm


def _whole_days(start: float, end: float, start_hour: int) -> int:
    """How many whole days, each beginning at ``start_hour``, lie between ``start`` and ``end``."""
    offset = start_hour * HOUR
    return max(0, math.floor((end - offset) / DAY) - math.ceil((start - offset) / DAY))


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number
