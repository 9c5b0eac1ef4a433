"""Foresight's calendars: the learned routine, and the maintenance ahead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import ForesightConfigEntry
from .const import CALENDAR_DAYS
from .coordinator import ForesightCoordinator
from .entity import ForesightEntity, add_entities
from .texts import Texts

ROUTINE_DAYS = 7  # the learned routine is shown a week ahead

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the home's learned-routine and maintenance calendars."""
    coordinator = entry.runtime_data.coordinator
    rooms = {room_id: subentry.title for room_id, subentry in entry.subentries.items()}
    texts = entry.runtime_data.texts
    calendars: list[_Calendar] = [MaintenanceCalendar(coordinator, "maintenance", texts)]
    if coordinator.occupancy.keys:  # a room or a person to learn a routine from
        calendars.append(RoutineCalendar(coordinator, "learned_routine", texts, rooms))
    await add_entities(entry, async_add_entities, calendars)


class _Calendar(ForesightEntity, CalendarEntity):
    """A Foresight calendar, writing its events in the home's language."""

    def __init__(self, coordinator: ForesightCoordinator, key: str, texts: Texts) -> None:
        """Write events with ``texts``."""
        super().__init__(coordinator, key)
        self._texts = texts
        self._event: CalendarEvent | None = None
        self._event_of: tuple[object, object] | None = None  # what it was worked out from

    def _event_from(
        self, source: object, moment: object, upcoming: Callable[[], CalendarEvent | None]
    ) -> CalendarEvent | None:
        """The current or next event, worked out once per ``source`` and ``moment``.

        Home Assistant asks for it several times a write; ``source`` is compared by identity.
        """
        if self._event_of is None or self._event_of[0] is not source or self._event_of[1] != moment:
            self._event = upcoming()
            self._event_of = (source, moment)
        return self._event


class RoutineCalendar(_Calendar):
    """The periods each room and the home are expected in use, from the learned routine."""

    def __init__(
        self,
        coordinator: ForesightCoordinator,
        key: str,
        texts: Texts,
        rooms: dict[str, str],
    ) -> None:
        """Show the routine of the home and of ``rooms`` (room id → name)."""
        super().__init__(coordinator, key, texts)
        self._rooms: dict[str | None, str] = {None: coordinator.config_entry.title}
        self._rooms.update(rooms)

    def _events(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        occupancy = self.coordinator.occupancy
        events = [
            CalendarEvent(
                start=begin,
                end=stop,
                summary=self._texts("routine_home" if room is None else "routine_room", name=name),
                description=self._texts("routine_description", share=round(share * 100)),
                uid=f"{room or 'home'}-{begin.isoformat()}",
            )
            for room, name in self._rooms.items()
            for begin, stop, share in occupancy.routine_periods(room, start, end)
        ]
        return sorted(events, key=lambda event: event.start_datetime_local)

    @property
    def event(self) -> CalendarEvent | None:
        """The current or next expected period (a current one from its learned start)."""
        now = dt_util.now()

        def upcoming() -> CalendarEvent | None:
            return next(iter(self._events(now, now + timedelta(days=1))), None)

        # Once a minute and model: the periods begin and end on whole minutes.
        minute = now.replace(second=0, microsecond=0)
        return self._event_from(self.coordinator.occupancy.model, minute, upcoming)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """The expected periods between two moments, each whole, from now to a week ahead."""
        # The routine says what is expected, not what was: periods over by now are not shown.
        # Those begun within the week ahead are shown whole, even ending after it.
        now = dt_util.now()
        start_date = max(start_date, now)
        end_date = min(end_date, now + timedelta(days=ROUTINE_DAYS))
        if end_date <= start_date:
            return []
        # A week of every room's periods is hundreds of events in a big home: made off the loop.
        return await hass.async_add_executor_job(self._events, start_date, end_date)


class MaintenanceCalendar(_Calendar):
    """An all-day event for each battery predicted to run out in the next 60 days."""

    def _events(self) -> list[CalendarEvent]:
        now = dt_util.now()
        horizon = now + timedelta(days=CALENDAR_DAYS)
        events = []
        for battery in self.coordinator.data.maintenance.predicted():
            if battery.low_at is None or battery.low_at > horizon:
                continue
            # A battery already low is due now: shown today, not on the past day it crossed.
            reached = dt_util.as_local(battery.low_at).date()
            day = max(reached, now.date())
            state = self.hass.states.get(battery.entity_id)
            name = state.name if state is not None else battery.entity_id
            said = {
                "entity_id": battery.entity_id,
                "low_level": self._texts.number(battery.low_level),
            }
            if battery.low_at <= now:
                description = self._texts("battery_reached", **said, date=self._texts.date(reached))
            else:
                description = (
                    self._texts("battery_expected", **said, level=self._texts.number(battery.level))
                    if battery.level is not None
                    else self._texts("battery_expected_no_level", **said)
                )
                if battery.low_at_early is not None and battery.low_at_late is not None:
                    early = dt_util.as_local(battery.low_at_early).date()
                    late = dt_util.as_local(battery.low_at_late).date()
                    likely = self._texts(
                        "battery_likely",
                        early=self._texts.date(early),
                        late=self._texts.date(late),
                    )
                    description = f"{description} {likely}"
            events.append(
                CalendarEvent(
                    start=day,
                    end=day + timedelta(days=1),
                    summary=self._texts("battery_summary", name=name),
                    description=description,
                    uid=f"{battery.entity_id}-{day.isoformat()}",
                )
            )
        return events

    @property
    def event(self) -> CalendarEvent | None:
        """The next battery to replace."""
        today = dt_util.now().date()

        def upcoming() -> CalendarEvent | None:
            return next((e for e in self._events() if e.end_datetime_local.date() > today), None)

        # Once a day and report.
        return self._event_from(self.coordinator.data.maintenance, today, upcoming)

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """The battery replacements between two moments."""
        return [
            event
            for event in self._events()
            if event.start_datetime_local < end_date and event.end_datetime_local > start_date
        ]
