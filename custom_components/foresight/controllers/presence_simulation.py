"""Presence simulation: while nobody is home, lights and media follow the home's typical evening.

Each device's typical evening is learned from its history: how often it was on (a light) or
playing (a media player) in each quarter hour of the evening over the last weeks. Each evening
is drawn from that anew (a seeded draw per day and device), so no two evenings are alike and
none is a replay of a recorded one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
import logging
import random
import statistics
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    SUN_EVENT_SUNSET,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
    split_entity_id,
)
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.sun import get_astral_event_date
from homeassistant.util import dt as dt_util

from ..coordinator import ForesightCoordinator
from ..history import HISTORY_ERRORS, HistoryStore
from ..texts import Texts
from .base import Choice, Controller

_LOGGER = logging.getLogger(__name__)

MODE = "presence_simulation_mode"
MODE_LIVE = "live"
MODE_DRY_RUN = "dry_run"
SLOT = timedelta(minutes=15)
EVENING_FROM = time(15, 0)  # the evening pattern covers 15:00 to 03:00 the next morning
SLOTS = 48
LEARN_DAYS = 28
DEFAULT_BEDTIME_SLOT = 32  # 23:00
MAX_SHIFT_MIN = 15.0  # each evening's plan is shifted by up to this much, per device
# A media player in any of these is off; any other known state (on, idle, playing, …) is on.
MEDIA_OFF_STATES = frozenset({STATE_OFF, "standby"})


@dataclass(frozen=True, slots=True)
class EveningPattern:
    """Each device's share of evenings it was on, per quarter hour from 15:00, and bedtime."""

    on_share: dict[str, list[float]]
    bedtime_slot: float  # quarter hours after 15:00 when the last light usually goes off
    days: int


def _evening_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, EVENING_FROM, zone)


def learn_evening_pattern(
    series: Mapping[str, Sequence[tuple[float, float | None]]], zone: tzinfo, today: date
) -> EveningPattern:
    """The typical evening of each device over the ``LEARN_DAYS`` evenings before ``today``.

    ``series``: device → its samples (UTC seconds, 1 on / 0 off / None unknown), oldest first.
    """
    days = [today - timedelta(days=n) for n in range(LEARN_DAYS, 0, -1)]
    on_share: dict[str, list[float]] = {}
    last_on: dict[date, int] = {}
    seen_days: set[date] = set()
    for device, samples in series.items():
        times = [t for t, _ in samples]
        counts, totals = [0] * SLOTS, [0] * SLOTS
        for day in days:
            start = _evening_start(day, zone).timestamp()
            for slot in range(SLOTS):
                moment = start + (slot + 0.5) * SLOT.total_seconds()
                index = bisect_right(times, moment) - 1
                if index < 0 or (value := samples[index][1]) is None:
                    continue
                seen_days.add(day)
                totals[slot] += 1
                if value >= 0.5:
                    counts[slot] += 1
                    last_on[day] = max(last_on.get(day, -1), slot)
        on_share[device] = [c / t if t else 0.0 for c, t in zip(counts, totals, strict=True)]
    bedtime = statistics.median(slot + 1 for slot in last_on.values()) if last_on else None
    return EveningPattern(
        on_share, float(bedtime) if bedtime is not None else DEFAULT_BEDTIME_SLOT, len(seen_days)
    )


def plan_evening(
    pattern: EveningPattern, device: str, day: date, zone: tzinfo, seed: str
) -> list[tuple[datetime, datetime]]:
    """When ``device`` is on during the evening of ``day``: drawn from its typical evening.

    One draw per device and day sets how readily it is on tonight, so each quarter hour is on
    in the same share of evenings as in the history, in runs rather than flicker; the whole
    evening is shifted by a few minutes too.
    """
    share = pattern.on_share.get(device)
    if not share:
        return []
    rng = random.Random(f"{seed}:{day.isoformat()}:{device}")
    level = rng.random()
    shift = timedelta(minutes=rng.uniform(-MAX_SHIFT_MIN, MAX_SHIFT_MIN))
    start = _evening_start(day, zone)
    intervals: list[tuple[datetime, datetime]] = []
    run_from: int | None = None
    for slot in range(SLOTS + 1):
        on = slot < SLOTS and share[slot] > level
        if on and run_from is None:
            run_from = slot
        elif not on and run_from is not None:
            intervals.append((start + run_from * SLOT + shift, start + slot * SLOT + shift))
            run_from = None
    return [(a.astimezone(dt_util.UTC), b.astimezone(dt_util.UTC)) for a, b in intervals]


def _read_series(
    store: HistoryStore, devices: list[str], start: float, end: float
) -> dict[str, list[tuple[float, float | None]]]:
    return {device: store.samples(device, start, end) for device in devices}


def is_on(state: State) -> bool | None:
    """Whether a light or media player is on; None when it cannot be told (unavailable)."""
    if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    if split_entity_id(state.entity_id)[0] == "media_player":
        return state.state not in MEDIA_OFF_STATES
    if state.state in (STATE_ON, STATE_OFF):
        return state.state == STATE_ON
    return None


class PresenceSimulationController(Controller):
    """Switches the chosen lights and media as the home's evenings usually go, while away."""

    key = "presence_simulation"
    choices_spec = (Choice(MODE, (MODE_LIVE, MODE_DRY_RUN), MODE_LIVE),)
    imitates_the_home = True

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: ForesightCoordinator,
        texts: Texts,
        lights: list[str],
        media: list[str],
        people: list[str],
    ) -> None:
        """Simulate with ``lights`` and ``media``; ``people`` say whether anybody is home."""
        super().__init__(hass, entry, coordinator, texts, None, None)
        self.lights = lights
        self.media = media
        self.devices = [*lights, *media]
        self.people = people
        self.pattern: EveningPattern | None = None
        self.learned_for: date | None = None
        # What it switched on and not off yet (in a dry run: what it would have).
        self.switched_on: set[str] = set()
        self.active = False
        self.evening: tuple[datetime, datetime] | None = None

    @property
    def zone(self) -> tzinfo:
        """The home's time zone."""
        return dt_util.get_default_time_zone()

    @callback
    def async_listen(self) -> list[CALLBACK_TYPE]:
        """Follow the people, to stop as soon as someone arrives."""
        if not self.people:
            return []
        return [async_track_state_change_event(self.hass, self.people, self._on_person)]

    @callback
    def _on_person(self, _event: Event[EventStateChangedData]) -> None:
        self.async_schedule()

    @callback
    def async_stopped(self) -> None:
        """Not simulating; the devices it switched on are still its to switch off."""
        self.active = False

    @callback
    def async_forget(self) -> None:
        """Switched off: forget what was switched while on."""
        self.switched_on.clear()

    def memory(self) -> dict[str, Any]:
        """The lights and media switched on for tonight's simulation."""
        return {"switched_on": sorted(self.switched_on)}

    def remember(self, memory: Mapping[str, Any]) -> None:
        """Take back the devices switched on before a restart or a reload (still chosen)."""
        self.switched_on.update(set(memory.get("switched_on") or ()) & set(self.devices))

    def evening_of(self, day: date) -> tuple[datetime, datetime] | None:
        """Sunset of ``day`` to the usual bedtime."""
        sunset = get_astral_event_date(self.hass, SUN_EVENT_SUNSET, day)
        if sunset is None or self.pattern is None:
            return None
        bedtime = _evening_start(day, self.zone) + self.pattern.bedtime_slot * SLOT
        # Shown as the bedtime is: in the home's time zone, to the whole second.
        sunset = sunset.astimezone(self.zone).replace(microsecond=0)
        return (sunset, bedtime) if sunset < bedtime else None

    async def _async_learn(self, now: datetime) -> None:
        today = dt_util.as_local(now).date()
        if self.learned_for == today:
            return
        end = now.timestamp()
        start = end - (LEARN_DAYS + 2) * 86400.0
        try:
            series = await self.hass.async_add_executor_job(
                _read_series, self.coordinator.store, self.devices, start, end
            )
        except HISTORY_ERRORS as error:
            # The refresh says the history is out of reach; tonight keeps the pattern learned.
            _LOGGER.debug("%s: history out of reach, learning again later: %s", self.key, error)
            return
        self.pattern = await self.hass.async_add_executor_job(
            learn_evening_pattern, series, self.zone, today
        )
        self.learned_for = today

    async def async_evaluate(self) -> None:
        """Switch the lights and media as tonight's plan says, while nobody is home."""
        now = dt_util.utcnow()
        await self._async_learn(now)
        today = dt_util.as_local(now).date()
        evening = None
        for day in (today, today - timedelta(days=1)):
            window = self.evening_of(day)
            if window is not None and window[0] <= now < window[1]:
                evening = (day, window)
                break
        # Shown whether or not anyone is home: when the simulation runs, or would tonight.
        self.evening = evening[1] if evening is not None else self.evening_of(today)
        dry_run = self.choices[MODE] == MODE_DRY_RUN
        if not self.everybody_away():
            if self.active:
                _LOGGER.debug("%s: someone is home, stopping", self.key)
            self.active = False
            if evening is None:  # the evening over with someone home: what is on is theirs
                self.switched_on.clear()
            elif not dry_run:  # someone only passing by: what is still on is still its own
                self.switched_on -= {
                    device for device in self.switched_on if not self._is_on(device, dry_run=False)
                }
            self.notify()
            return
        if evening is None:
            self.active = False
            if lit := sorted(self.switched_on):
                self.switched_on.clear()
                await self._async_switch(lit, on=False, text="logbook_simulation_over")
            self.notify()
            return
        day = evening[0]
        self.active = True
        seed = self.entry.entry_id
        assert self.pattern is not None
        turn_on, turn_off = [], []
        for device in self.devices:
            if (on := self._is_on(device, dry_run=dry_run)) is None:
                continue
            plan = plan_evening(self.pattern, device, day, self.zone, seed)
            wanted = any(start <= now < end for start, end in plan)
            if wanted and not on:
                turn_on.append(device)
            elif not wanted and on and device in self.switched_on:
                turn_off.append(device)
        if turn_on:
            self.switched_on.update(turn_on)
            await self._async_switch(turn_on, on=True, text="logbook_simulation_on")
        if turn_off:
            self.switched_on.difference_update(turn_off)
            await self._async_switch(turn_off, on=False, text="logbook_simulation_off")
        self.notify()

    def _is_on(self, device: str, *, dry_run: bool) -> bool | None:
        """Whether the device is on (None: unknown); in a dry run, as a live run would have it."""
        state = self.hass.states.get(device)
        if state is None or (on := is_on(state)) is None:
            return None
        return on or (dry_run and device in self.switched_on)

    async def _async_switch(self, devices: list[str], *, on: bool, text: str) -> None:
        """Switch ``devices`` on or off, saying why in their logbooks with ``text``."""
        service = SERVICE_TURN_ON if on else SERVICE_TURN_OFF
        message = self.texts(text, devices=", ".join(devices))
        if self.choices[MODE] == MODE_DRY_RUN:
            _LOGGER.info("Dry run, would switch %s %s", ", ".join(devices), "on" if on else "off")
            # In each device's logbook too: a dry run is for seeing what would happen.
            self.note_in_logbook(devices, self.texts("logbook_dry_run", action=message))
            return
        by_domain: dict[str, list[str]] = {}
        for device in devices:
            by_domain.setdefault(split_entity_id(device)[0], []).append(device)
        for domain, entity_ids in by_domain.items():  # light.turn_on, media_player.turn_on
            await self.async_call(domain, service, {ATTR_ENTITY_ID: entity_ids}, message)

    def attributes(self) -> dict[str, Any]:
        """Whether it is simulating now, tonight's window, and the lights and media it uses."""
        evening = self.evening
        return {
            "mode": self.choices[MODE],
            "simulating": self.active,
            "lights": self.lights,
            "media": self.media,
            "evening_start": evening[0].isoformat() if evening else None,
            "evening_end": evening[1].isoformat() if evening else None,
            "learned_days": self.pattern.days if self.pattern else 0,
        }
