"""Hourly summaries of a series, built incrementally from its readings.

Used both live (one state change at a time) and for a recorder backfill, so that an hour looks
the same whichever way it was seen. Pure Python, no Home Assistant.
"""

from __future__ import annotations

from dataclasses import dataclass

from .history import HourlyRow

HOUR = 3600
# Home Assistant's rule for meters: a drop of more than 10 % is a reset (or a new meter).
RESET_DROP = 0.9
# More than a three-phase 63 A main fuse (43 kW) can pass in an hour: a glitch or a new meter.
MAX_HOURLY_KWH = 50.0
# A meter silent no longer than this over an hour's edge (a restart, a network blip): what it
# counted meanwhile is shared between the two hours in proportion to time, not lost to both.
SHARED_SILENCE_S = 15 * 60


@dataclass(slots=True)
class _Hour:
    start: int
    weighted: float = 0.0  # value × seconds, over the covered part of the hour
    covered: float = 0.0  # seconds with a known value
    low: float | None = None
    high: float | None = None
    consumption: float | None = None
    metered: bool = False  # the meter was read at the hour's start: its use can be known


class HourlyAggregator:
    """Folds one source's readings into closed hours: time-weighted mean, min, max, consumption.

    A value holds until the next reading; a gap (None) holds nothing. For a meter (``counter``)
    the consumption of an hour is the sum of the increases read in it, resets handled, 0 while
    it holds steady. It is unknown when the meter was not read across the whole hour (a gap
    over an hour's edge: what it counted meanwhile can't be placed) or when it is implausible
    (``MAX_HOURLY_KWH``), which is counted in :meth:`take_implausible`. A gap of at most
    ``SHARED_SILENCE_S`` over an edge (a restart) is the exception: the hour it began in waits
    for the meter's next reading, and the increase is shared between the hours by time.
    """

    __slots__ = (
        "_counter",
        "_counting",
        "_hour",
        "_implausible",
        "_last_counter",
        "_last_t",
        "_last_value",
        "_min_covered",
        "_silent_since",
        "key",
    )

    def __init__(self, key: str, *, counter: bool = False, min_covered: float = 0.0) -> None:
        """Start an empty summary for the series ``key``.

        ``min_covered``: the seconds of an hour its value must be known for the hour's mean to
        be (a power's mean is its energy: minutes of it are not the hour's).
        """
        self.key = key
        self._counter = counter
        self._min_covered = min_covered
        self._hour: _Hour | None = None
        self._last_t: float | None = None
        self._last_value: float | None = None
        self._last_counter: float | None = None
        self._counting = False  # the meter has been read without a gap since its last reading
        self._silent_since: float | None = None  # a counted meter's gap began then
        self._implausible = 0

    def add(self, t: float, value: float | None) -> list[HourlyRow]:
        """Take a reading at UTC seconds ``t``; returns the hours it closed."""
        if self._last_t is not None and t < self._last_t:
            return []  # out of order: the series already moved on
        if self._silent_since is not None:
            if value is None:
                return self.advance(t)  # still silent
            since, self._silent_since = self._silent_since, None
            self._share(since, t, value)
        closed = self.advance(t)
        hour = self._current(t)
        if value is not None:
            hour.low = value if hour.low is None else min(hour.low, value)
            hour.high = value if hour.high is None else max(hour.high, value)
            if self._counter:
                self._count(hour, value, read_at_start=t == hour.start)
        elif self._counter:
            if self._counting:
                self._silent_since = t
            self._counting = False
        self._last_t, self._last_value = t, value
        return closed

    def take_implausible(self) -> int:
        """How many hours were dropped as implausible since the last call."""
        count, self._implausible = self._implausible, 0
        return count

    def _count(self, hour: _Hour, value: float, *, read_at_start: bool) -> None:
        previous = self._last_counter
        self._last_counter = value
        # A meter back from a gap that began in an earlier hour: its increase has no hour.
        placed = self._counting or hour.metered
        self._counting = True
        if read_at_start:
            hour.metered = True
        if previous is None or not placed:
            return
        if value >= previous:
            used = value - previous
        elif value < previous * RESET_DROP:
            used = max(value, 0.0)  # reset or new meter: it counted up from zero
        else:
            self._last_counter = previous  # a small dip is noise, not use
            used = 0.0
        hour.consumption = (hour.consumption or 0.0) + used

    def _share(self, since: float, t: float, value: float) -> None:
        """Back at ``t`` from a gap begun at ``since``: the earlier hour's share of the use."""
        previous, hour = self._last_counter, self._hour
        edge = (since // HOUR + 1) * HOUR
        if (
            previous is None
            or hour is None
            or not edge <= t <= since + SHARED_SILENCE_S
            or value < previous  # a reset or a dip meanwhile: the use can't be placed
        ):
            return
        share = (value - previous) * (edge - since) / (t - since)
        hour.consumption = (hour.consumption or 0.0) + share
        self._last_counter = previous + share
        self._counting = True

    def advance(self, t: float) -> list[HourlyRow]:
        """Let time pass to ``t`` with no new reading; returns the hours that closed."""
        closed: list[HourlyRow] = []
        if self._last_t is None:
            return closed
        if self._silent_since is not None:
            if t < self._silent_since + SHARED_SILENCE_S:
                return closed  # the hour the meter fell silent in waits for its next reading
            self._silent_since = None
        while True:
            hour = self._current(self._last_t)
            end = hour.start + HOUR
            until = min(t, end)
            if self._last_value is not None and until > self._last_t:
                hour.weighted += self._last_value * (until - self._last_t)
                hour.covered += until - self._last_t
            self._last_t = max(self._last_t, until)
            if t < end:
                return closed
            if (row := self._close(hour)) is not None:
                closed.append(row)
            self._hour = None
            if self._last_value is not None:
                self._current(end).low = self._last_value
                self._current(end).high = self._last_value

    def _current(self, t: float) -> _Hour:
        start = int(t // HOUR) * HOUR
        if self._hour is None or self._hour.start != start:
            self._hour = _Hour(start, metered=self._counter and self._counting)
        return self._hour

    def _close(self, hour: _Hour) -> HourlyRow | None:
        known = hour.covered > 0 and hour.covered >= self._min_covered
        mean = hour.weighted / hour.covered if known else None
        consumption = None
        if hour.metered and self._counting:  # read at both of the hour's edges
            consumption = hour.consumption or 0.0
            if consumption > MAX_HOURLY_KWH:
                self._implausible += 1
                consumption = None
        if mean is None and consumption is None:
            return None  # nothing was known in this hour
        return HourlyRow(self.key, hour.start, mean, hour.low, hour.high, consumption)
