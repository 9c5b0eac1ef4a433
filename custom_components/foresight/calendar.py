"""Foresight's calendars: the maintenance ahead (batteries predicted to run out)."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import ForesightConfigEntry
from .const import CALENDAR_DAYS
from .entity import ForesightEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the home's maintenance calendar."""
    async_add_entities([MaintenanceCalendar(entry.runtime_data.coordinator, "maintenance")])


class MaintenanceCalendar(ForesightEntity, CalendarEntity):
    """An all-day event for each battery predicted to run out in the next 60 days."""

    def _events(self) -> list[CalendarEvent]:
        horizon = dt_util.now() + timedelta(days=CALENDAR_DAYS)
        events = []
        for battery in self.coordinator.data.maintenance.predicted():
            if battery.low_at is None or battery.low_at > horizon:
                continue
            day = dt_util.as_local(battery.low_at).date()
            state = self.hass.states.get(battery.entity_id)
            name = state.name if state is not None else battery.entity_id
            likely = ""
            if battery.low_at_early is not None and battery.low_at_late is not None:
                likely = (
                    f" Likely between {dt_util.as_local(battery.low_at_early).date()}"
                    f" and {dt_util.as_local(battery.low_at_late).date()}."
                )
            events.append(
                CalendarEvent(
                    start=day,
                    end=day + timedelta(days=1),
                    summary=f"Replace battery: {name}",
                    description=(
                        f"{battery.entity_id} is expected to reach {battery.low_level:g} %"
                        f" (now {battery.level:g} %).{likely}"
                        if battery.level is not None
                        else f"{battery.entity_id} is expected to reach {battery.low_level:g} %."
                    ),
                    uid=f"{battery.entity_id}-{day.isoformat()}",
                )
            )
        return events

    @property
    def event(self) -> CalendarEvent | None:
        """The next battery to replace."""
        today = dt_util.now().date()
        upcoming = [e for e in self._events() if e.end_datetime_local.date() > today]
        return upcoming[0] if upcoming else None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """The battery replacements between two moments."""
        return [
            event
            for event in self._events()
            if event.start_datetime_local < end_date and event.end_datetime_local > start_date
        ]
