"""Watching the home: state changes of every source, turned into samples and hourly summaries.

The state-change callback runs on the event loop and only reads, converts and buffers; the
buffer is written to Foresight's history from the executor every few minutes and on unload.
A crash or a power cut loses that buffer, not the recorder's states: at the next start, what
the recorder wrote in the minutes after the history's last write is read in first.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
import logging
import math

from sqlalchemy.exc import SQLAlchemyError

from homeassistant.components.recorder import history
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .aggregate import HOUR, HourlyAggregator
from .const import FLUSH_INTERVAL, NUMERIC_RESOLUTION_S
from .history import HISTORY_ERRORS, HistoryHeldError, HistoryStore, HourlyRow, Sample
from .learning.energy import POWER_MIN_COVERAGE
from .sources import BINARY_KINDS, BY_HAND_KINDS, Kind, Rejected, Source, read_state

_LOGGER = logging.getLogger(__name__)

OWN_ACTIONS_KEPT = 1024  # Foresight's recent service calls, recognised in the changes they cause
# While the history cannot be written, each source keeps at most a week of a reading a minute.
MAX_UNWRITTEN_SAMPLES = 7 * 24 * 60
# A crash loses what was buffered since the last write (a few minutes): what the recorder wrote
# in that much time after it is read in at the next start, no more.
RECORDED_AFTER_S = 15 * 60
# Each is read on the event loop (1,000 took 7 ms on a 2-core PC, listeners included).
MOST_RECORDED_STATES = 1000
RECORDER_WAIT_S = 10  # for the recorder's database at a start, before doing without it


class SeriesBuilder:
    """Turns one source's states into samples, hourly rows and dropped counts (no I/O).

    The same builder serves live observation and the recorder backfill.
    """

    __slots__ = (
        "_aggregator",
        "_binary",
        "_last",
        "_temperature_unit",
        "dropped",
        "hourly",
        "samples",
        "source",
    )

    def __init__(self, source: Source, temperature_unit: str = "°C") -> None:
        """Start an empty series for ``source`` in a home showing ``temperature_unit``."""
        self.source = source
        self._temperature_unit = temperature_unit
        self._binary = source.kind in BINARY_KINDS
        self._aggregator = HourlyAggregator(
            source.key,
            counter=source.kind is Kind.ENERGY,
            # A power's hourly mean is its energy: an hour known for minutes is not known.
            min_covered=POWER_MIN_COVERAGE * HOUR if source.kind is Kind.POWER else 0.0,
        )
        self._last: Sample | None = None
        self.samples: list[Sample] = []
        self.hourly: list[HourlyRow] = []
        self.dropped: dict[str, int] = defaultdict(int)

    def resume(self, until: float, stored: Sequence[tuple[float, float | None]]) -> None:
        """Continue a series observed until ``until`` (a restart).

        ``stored`` holds the samples of the hour open at ``until``, from the value it began
        with: that hour is rebuilt so it closes whole, and no hour before it is made again.
        """
        hour_start = until // HOUR * HOUR
        for t, value in stored:
            self._aggregator.add(max(t, hour_start), value)
        self._aggregator.advance(until)
        if stored:
            self._last = Sample(self.source.key, *stored[-1])

    def add_state(self, state: State, t: float | None = None) -> Sample | None:
        """Read a Home Assistant state (at ``t``, default its last update); the sample kept."""
        reading = read_state(self.source.kind, state, self._temperature_unit)
        if isinstance(reading, Rejected):
            self.dropped[reading] += 1
            return None
        return self.add(state.last_updated_timestamp if t is None else t, reading)

    def silent_since(self, reported: float) -> bool:
        """Whether the series ends in a gap begun after ``reported``: silent since it reported.

        Its last state, read again at a start, is then no new reading (see
        :meth:`Observer.mark_silent`).
        """
        last = self._last
        return last is not None and last.value is None and reported < last.t

    def may_keep_unsure(self, state: State) -> bool:
        """Whether a change of unknown origin (at a restart, a device back) is kept as it reads.

        A by-hand series keeps it unless it is a switch between two known states (that switch
        was not seen being made); a light's own series unless it finds the light on (presence
        simulation may have switched it). A series' first value is no change.
        """
        reading = read_state(self.source.kind, state, self._temperature_unit)
        if self._last is None or isinstance(reading, Rejected) or reading == self._last.value:
            return True
        if self.source.by_hand:
            return self._last.value is None
        return not reading

    def add(self, t: float, value: float | None) -> Sample | None:
        """Take a reading in the canonical unit (None for a gap); the sample, if it is new."""
        last = self._last
        if last is not None:
            if t < last.t:  # the series has moved on: kept, it would rewrite the past
                self.dropped[Rejected.OUT_OF_ORDER] += 1
                return None
            if value == last.value or (value is None and last.value is None):
                return None  # nothing changed (attribute-only updates)
        self._hours(self._aggregator.add(t, value))
        sample = Sample(self.source.key, t, value)
        if (
            not self._binary
            and last is not None
            and self.samples
            and self.samples[-1] is last
            and t // NUMERIC_RESOLUTION_S == last.t // NUMERIC_RESOLUTION_S
            and last.value is not None
            and value is not None
        ):
            self.samples[-1] = sample  # raw numeric readings: the last of each minute
        else:
            self.samples.append(sample)
        self._last = sample
        return sample

    def advance(self, t: float) -> None:
        """Let time pass to ``t``, closing the hours before it."""
        self._hours(self._aggregator.advance(t))

    def _hours(self, closed: list[HourlyRow]) -> None:
        self.hourly.extend(closed)
        if implausible := self._aggregator.take_implausible():
            self.dropped[Rejected.IMPLAUSIBLE] += implausible

    @property
    def unwritten(self) -> bool:
        """Whether it holds anything not yet handed over to be written."""
        return bool(self.samples or self.hourly or self.dropped)

    def take(self) -> tuple[list[Sample], list[HourlyRow], dict[str, int]]:
        """Hand over what was built since the last call, and start afresh."""
        taken = (self.samples, self.hourly, dict(self.dropped))
        self.samples, self.hourly = [], []
        self.dropped = defaultdict(int)
        return taken

    def put_back(
        self, samples: list[Sample], hourly: list[HourlyRow], dropped: dict[str, int]
    ) -> None:
        """Take back what :meth:`take` handed over and could not be written, ahead of the rest.

        Beyond :data:`MAX_UNWRITTEN_SAMPLES`, the oldest readings are let go (see :func:`_joined`).
        """
        self.samples, self.hourly, self.dropped = _joined(
            (samples, hourly, dropped), (self.samples, self.hourly, self.dropped)
        )


Batch = tuple[list[Sample], list[HourlyRow], dict[str, int]]  # what SeriesBuilder.take gives


def _joined(older: Batch, newer: Batch) -> Batch:
    """Two batches of one series that wait to be written, as one, oldest first.

    Beyond :data:`MAX_UNWRITTEN_SAMPLES`, the oldest readings are let go (and counted): the time
    they covered becomes a gap, so the value before them is not stretched over it.
    """
    samples = older[0] + newer[0]
    dropped: dict[str, int] = defaultdict(int, older[2])
    for reason, count in newer[2].items():
        dropped[reason] += count
    if (lost := len(samples) - MAX_UNWRITTEN_SAMPLES + 1) > 1:
        samples[:lost] = [Sample(samples[0].key, samples[0].t, None)]
        dropped[Rejected.UNWRITTEN] += lost
    return samples, older[1] + newer[1], dropped


@dataclass(slots=True)
class Unwritten:
    """The series an observer stopped with and could not write, watched until ``until``."""

    until: float
    series: dict[str, SeriesBuilder]


class Observer:
    """Listens to every source's state changes and writes them to the history store."""

    def __init__(
        self,
        hass: HomeAssistant,
        store: HistoryStore,
        sources: Iterable[Source],
        carried: Unwritten | None = None,
    ) -> None:
        """Prepare to observe ``sources``; nothing is listened to until :meth:`async_start`.

        ``carried``: what the previous observer of the same home could not write; it is
        written first, and its series go on from where that observer stopped.
        """
        self._hass = hass
        self._store = store
        self._builders: dict[str, list[SeriesBuilder]] = defaultdict(list)
        self._kinds: dict[str, str] = {}
        self._carried = carried
        left = dict(carried.series) if carried is not None else {}
        self._continued: dict[str, float] = {}  # series carried on, and until when watched
        for source in sources:
            builder = left.pop(source.key, None)
            if carried is not None and builder is not None and builder.source.kind is source.kind:
                builder.source = source
                self._continued[source.key] = carried.until
            else:
                builder = SeriesBuilder(source, hass.config.units.temperature_unit)
            self._builders[source.entity_id].append(builder)
            self._kinds[source.key] = source.kind
        # Series no longer watched: what they still hold is written once, as it is.
        self._leftover = list(left.values())
        self._unsubscribe: Callable[[], None] | None = None
        self._listeners: list[Callable[[Sample], None]] = []
        self._own_actions: deque[str] = deque(maxlen=OWN_ACTIONS_KEPT)
        self._imitations: deque[str] = deque(maxlen=OWN_ACTIONS_KEPT)
        self.started_at: float | None = None
        self._write_failing = False
        # Series whose readings reach the history late (after a failed write, or carried over
        # a reload): what learned from the history as it grew missed them, and relearns them.
        self._late = set(carried.series) if carried is not None else set()
        self._written_late: set[str] = set()
        self._flushing = asyncio.Lock()  # one batch at a time, in order
        # What the last write could not write, by series: joined with the next batch off the
        # loop (after days of a full disk it is millions of readings).
        self._retry: dict[SeriesBuilder, Batch] = {}
        self._stop_flushing: Callable[[], None] | None = None

    def note_own_action(self, context: Context, *, imitation: bool) -> None:
        """Remember a service call of Foresight's: the changes it causes are not a person's.

        An ``imitation`` (presence simulation's) is not even the home's own doing: its lights'
        series keeps it as unknown, so their evenings are never learned from simulated ones.
        """
        self._own_actions.append(context.id)
        if imitation:
            self._imitations.append(context.id)

    @callback
    def forget(self, entity_id: str) -> None:
        """Stop following an entity renamed away: nothing more is written under its old id."""
        for builder in self._builders.pop(entity_id, []):
            del self._kinds[builder.source.key]

    @callback
    def mark_silent(self, entity_id: str, t: float) -> None:
        """An entity gone silent: from ``t`` its last reading no longer holds, it is a gap.

        A meter that stopped reporting shows its last reading; held, that would read as a home
        using nothing, and its next reading as everything since used in one hour.
        """
        for builder in self._builders.get(entity_id, ()):
            self._tell(builder.add(t, None))

    def _as_known(self, source: Source, context: Context) -> bool:
        """Whether this series keeps the change a context made (else it keeps it as unknown)."""
        if source.by_hand:
            return context.parent_id is None and context.id not in self._own_actions
        if source.kind not in BY_HAND_KINDS:
            return True
        # An automation that follows a simulated light is still part of the imitation.
        return context.id not in self._imitations and (
            context.parent_id is None or context.parent_id not in self._imitations
        )

    def _read(
        self, builder: SeriesBuilder, state: State, t: float | None = None, *, unsure: bool = False
    ) -> None:
        """Keep a state; ``unsure``: a change nobody may have made (a restart, a device back).

        Who switched a light or media player is known only from the change itself: one seen
        at a restart or on a return from unavailable is kept as unknown (who did it is lost).
        """
        known = self._as_known(builder.source, state.context)
        if unsure and builder.source.kind in BY_HAND_KINDS:
            known = known and builder.may_keep_unsure(state)
        if known:
            self._tell(builder.add_state(state, t))
        else:
            when = state.last_updated_timestamp if t is None else t
            self._tell(builder.add(when, None))

    def add_listener(self, listener: Callable[[Sample], None]) -> None:
        """Be told of each new reading as it is observed (a callback on the event loop)."""
        self._listeners.append(listener)

    def _tell(self, sample: Sample | None) -> None:
        if sample is not None:
            for listener in self._listeners:
                listener(sample)

    @property
    def kinds(self) -> dict[str, str]:
        """The kind of every observed series, by key."""
        return self._kinds

    async def async_start(self, now: float) -> None:
        """Resume from the stored history, take every source's current state, and listen."""
        points = await self._hass.async_add_executor_job(self._store.resume_points)
        recorded, last_seen = await self._async_recorded_before_start(points)
        self.started_at = now
        for builder in self._all():
            state = self._hass.states.get(builder.source.entity_id)
            # A series carried on knows more than the history could keep: it is not resumed.
            until = self._continued.get(builder.source.key)
            if until is None and (point := points.get(builder.source.key)) is not None:
                until, stored = point
                builder.resume(until, stored)
                if (past := recorded.get(builder.source.entity_id)) is not None:
                    for seen in past:
                        if seen.last_updated_timestamp > until:
                            self._read(builder, seen, unsure=True)
                    # Home Assistant ran at least until then: what follows is unknown.
                    if last_seen is not None and last_seen > until:
                        until = math.nextafter(last_seen, math.inf)
            if until is not None and (state is None or state.last_updated_timestamp > until):
                # Not watched since: a gap until the state read now (it held otherwise).
                self._tell(builder.add(until, None))
            if state is not None and not builder.silent_since(state.last_reported_timestamp):
                # The reading holds since the state was last updated (as the backfill sees it).
                since = state.last_updated_timestamp
                self._read(
                    builder, state, since if until is None else max(since, until), unsure=True
                )
        self._unsubscribe = async_track_state_change_event(
            self._hass, list(self._builders), self._on_state_change
        )
        # Written on its own clock too: the history must not wait for the entities' refresh
        # (which a user may switch off) nor be lost with memory in a crash.
        self._stop_flushing = async_track_time_interval(
            self._hass, self._on_flush_time, FLUSH_INTERVAL, cancel_on_shutdown=True
        )

    async def _async_recorded_before_start(
        self, points: Mapping[str, tuple[float, object]]
    ) -> tuple[dict[str, list[State]], float | None]:
        """What the recorder wrote of each resumed entity after its history's last write.

        With the last time they show Home Assistant running then (None: no state was found).
        """
        written: dict[str, float] = {}  # per entity, until when its history was written
        for builder in self._all():
            point = points.get(builder.source.key)
            if point is not None and builder.source.key not in self._continued:
                entity_id, until = builder.source.entity_id, point[0]
                written[entity_id] = min(until, written.get(entity_id, until))
        recorded = await async_recorded_after(self._hass, written)
        for entity_id, states in recorded.items():
            # The state shown now is this start's, not one from before it.
            if (shown := self._hass.states.get(entity_id)) is not None:
                now_since = shown.last_updated_timestamp
                recorded[entity_id] = [s for s in states if s.last_updated_timestamp < now_since]
        last_seen = max(
            (state.last_updated_timestamp for states in recorded.values() for state in states),
            default=None,
        )
        return recorded, last_seen

    @callback
    def stop_listening(self) -> None:
        """Stop following the sources and the flush clock (what is buffered stays)."""
        for stop in (self._unsubscribe, self._stop_flushing):
            if stop is not None:
                stop()
        self._unsubscribe = self._stop_flushing = None

    @callback
    def _on_flush_time(self, now: datetime) -> None:
        self._hass.async_create_background_task(
            self.async_flush(now.timestamp()), "foresight history flush"
        )

    def _all(self) -> Iterable[SeriesBuilder]:
        for builders in self._builders.values():
            yield from builders

    @callback
    def _on_state_change(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        for builder in self._builders.get(event.data["entity_id"], ()):
            if new_state is None:  # removed: from now on a gap
                self._tell(builder.add(event.time_fired_timestamp, None))
            else:
                old_state = event.data["old_state"]
                unsure = old_state is None or old_state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN)
                self._read(builder, new_state, unsure=unsure)

    async def async_flush(self, now: float) -> None:
        """Write what was observed, including the hours that closed by ``now``.

        A batch that cannot be written (a full disk, a busy file) is kept for the next try.
        """
        async with self._flushing:
            await self._async_flush(now)

    async def _async_flush(self, now: float) -> None:
        kinds = self._kinds | {b.source.key: b.source.kind for b in self._leftover}
        for builder in self._all():
            builder.advance(now)
        taken = [(builder, builder.take()) for builder in [*self._all(), *self._leftover]]
        # Observed until now: a restart resumes from here, and what follows it is a gap.
        observed = dict.fromkeys(self._kinds, (self.started_at or now, now))
        error = await self._hass.async_add_executor_job(self._write, kinds, observed, taken)
        if error is not None:
            self._late.update(builder.source.key for builder, batch in taken if batch[0])
            if isinstance(error, HistoryHeldError):
                _LOGGER.debug("A backup holds Foresight's history; the readings wait for it")
            elif not self._write_failing:
                _LOGGER.warning("Cannot write Foresight's history, keeping it to retry: %s", error)
                self._write_failing = True
            return
        self._leftover = []
        self._written_late |= self._late
        self._late = set()
        if self._write_failing:
            _LOGGER.info("Foresight's history is written again")
            self._write_failing = False

    def _write(
        self,
        kinds: dict[str, str],
        observed: dict[str, tuple[float, float]],
        taken: list[tuple[SeriesBuilder, Batch]],
    ) -> Exception | None:
        """Write what waited and what was taken since (in the executor); the error, if any.

        What cannot be written (a full disk, a busy file) waits for the next try, each series'
        batches joined. Only this thread holds what waited: it is let go here, not on the loop.
        """
        batches, self._retry = self._retry, {}
        for builder, batch in taken:
            batches[builder] = _joined(batches[builder], batch) if builder in batches else batch
        samples = [sample for batch in batches.values() for sample in batch[0]]
        hourly = [row for batch in batches.values() for row in batch[1]]
        dropped = {b.source.key: dict(batch[2]) for b, batch in batches.items() if batch[2]}
        try:
            self._store.write(kinds, samples, hourly, dropped, observed=observed)
        except HISTORY_ERRORS as error:
            self._retry = batches
            return error.with_traceback(None)  # its frames would hold the readings
        _LOGGER.debug("Kept %d samples and %d hours", len(samples), len(hourly))
        return None

    async def async_stop(self, now: float) -> None:
        """Stop listening and write what is still buffered."""
        self.stop_listening()
        await self.async_flush(now)

    def take_written_late(self) -> set[str]:
        """The series whose readings were written late since the last call."""
        taken, self._written_late = self._written_late, set()
        return taken

    def unwritten(self, now: float) -> Unwritten | None:
        """What is still not written, for the next observer of the same home to carry on."""
        if self.started_at is None:  # never watched: what it was handed is handed on
            return self._carried
        for builder, batch in self._retry.items():  # back into its series, to be carried on
            builder.put_back(*batch)
        self._retry = {}
        series = {b.source.key: b for b in [*self._all(), *self._leftover] if b.unwritten}
        return Unwritten(now, series) if series else None


async def async_recorded_after(
    hass: HomeAssistant, since: Mapping[str, float]
) -> dict[str, list[State]]:
    """The states the recorder wrote of each entity in the minutes after ``since``.

    ``since``: per entity, until when Foresight's history holds it. Only what the recorder wrote
    before its present run began (Home Assistant's last start) is read, and no more than
    :data:`RECORDED_AFTER_S` after ``since`` (and at most the first
    :data:`MOST_RECORDED_STATES` of them): Foresight was running then and its last minutes
    were lost. Only the entities written with the history's last write are read (one watched
    again after a while was not lost in a crash), and not those the recorder leaves out: they
    get no list (nothing says they held).
    """
    instance = get_instance(hass)
    try:
        async with asyncio.timeout(RECORDER_WAIT_S):
            ready = await asyncio.shield(instance.async_db_ready)
    except TimeoutError:
        ready = False
    if not ready:
        _LOGGER.debug("The recorder is not ready: the minutes before the start stay unknown")
        return {}
    began = instance.recorder_runs_manager.recording_start.timestamp()
    recorded = instance.entity_filter
    last_write = max(since.values(), default=0.0)
    wanted = {
        entity_id: t
        for entity_id, t in since.items()
        if last_write - RECORDED_AFTER_S <= t < began and (recorded is None or recorded(entity_id))
    }
    if not wanted:
        return {}
    try:
        return await instance.async_add_executor_job(_recorded_after, hass, wanted, began)
    except SQLAlchemyError as error:
        _LOGGER.warning("Cannot read the recorder's last minutes before the start: %s", error)
        return {}


def _recorded_after(
    hass: HomeAssistant, since: dict[str, float], began: float
) -> dict[str, list[State]]:
    start = min(since.values())
    end = min(began, max(since.values()) + RECORDED_AFTER_S)
    found = history.get_significant_states(
        hass,
        dt_util.utc_from_timestamp(start),
        dt_util.utc_from_timestamp(end),
        list(since),
        include_start_time_state=False,
        significant_changes_only=False,
        minimal_response=False,
        no_attributes=False,
    )
    recorded = {
        entity_id: [
            state
            for state in found.get(entity_id, [])
            if isinstance(state, State)
            and t < state.last_updated_timestamp < min(began, t + RECORDED_AFTER_S)
        ]
        for entity_id, t in since.items()
    }
    times = sorted(state.last_updated_timestamp for states in recorded.values() for state in states)
    if len(times) <= MOST_RECORDED_STATES:
        return recorded
    # The first of them, for every entity alike: what came after is unknown.
    last = times[MOST_RECORDED_STATES - 1]
    return {
        entity_id: [state for state in states if state.last_updated_timestamp <= last]
        for entity_id, states in recorded.items()
    }
