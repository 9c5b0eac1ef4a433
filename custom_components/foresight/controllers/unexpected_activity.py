"""Unexpected activity: motion, doors or presence while everybody is away.

A controller like the others (a switch on the home's device, off by default), whose finding is
the home's "unexpected activity" binary sensor and the ``foresight_unexpected_activity`` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_HOME, STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import (
    CALLBACK_TYPE,
    CoreState,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.event import (
    TrackStates,
    async_call_later,
    async_track_state_change_event,
    async_track_state_change_filtered,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util

from ..const import ARRIVAL_GRACE, EVENT_UNEXPECTED_ACTIVITY
from ..coordinator import ForesightCoordinator
from ..texts import Texts
from .base import Controller

_LOGGER = logging.getLogger(__name__)

# Without people to follow, the home must be predicted empty at least this surely.
EMPTY_PROBABILITY = 0.1
# Without people to follow, an alert ends once the home is seen in use this long after it:
# the activity itself makes the home look used at first.
IN_USE_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Activity:
    """A sensor that fired, and when."""

    entity_id: str
    name: str
    room: str | None
    when: datetime

    def as_dict(self) -> dict[str, Any]:
        """The activity as kept across a reload."""
        return {**asdict(self), "when": self.when.isoformat()}

    @classmethod
    def from_dict(cls, saved: Any) -> Activity | None:
        """An activity kept across a reload (None: unreadable)."""
        if not isinstance(saved, Mapping):
            return None
        when = dt_util.parse_datetime(str(saved.get("when")))
        entity_id, name, room = saved.get("entity_id"), saved.get("name"), saved.get("room")
        if when is None or not isinstance(entity_id, str):
            return None
        return cls(entity_id, str(name or entity_id), room if isinstance(room, str) else None, when)

    @property
    def shown_when(self) -> str:
        """When, as Foresight shows a time: in the home's time, to the whole second."""
        return dt_util.as_local(self.when).replace(microsecond=0).isoformat()


class UnexpectedActivity(Controller):
    """Watches the home's motion and door sensors while nobody should be there.

    Activity is held for a few minutes first: a person whose phone reports the arrival a
    little after the front door opened is not an intruder.
    """

    key = "unexpected_activity_alerts"
    empty_probability = EMPTY_PROBABILITY

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: ForesightCoordinator,
        texts: Texts,
        watched: dict[str, str | None],
        people: list[str],
    ) -> None:
        """``watched``: sensor → its room's name (pet-prone sensors already left out).

        An arrival is one of ``people`` or any device tracker (one added later too: a guest's
        phone) coming home; one leaving home counts too, for the door closing behind them.
        """
        super().__init__(hass, entry, coordinator, texts, None, None)
        self.watched = watched
        self.people = people
        self.activity: Activity | None = None
        self._pending: list[Activity] = []
        self._presence_changed: datetime | None = None

    @callback
    def async_listen(self) -> list[CALLBACK_TYPE]:
        """Follow the watched sensors, the people and every device tracker."""
        presence = TrackStates(False, set(self.people), {"device_tracker"})
        return [
            async_track_state_change_event(self.hass, list(self.watched), self._on_sensor),
            async_track_state_change_filtered(self.hass, presence, self._on_presence).async_remove,
        ]

    @callback
    def async_started(self) -> None:
        """Judge what was waiting for an arrival before a reload once its minutes are up."""
        now = dt_util.utcnow()
        for activity in self._pending:
            wait = max(activity.when + ARRIVAL_GRACE - now, timedelta(0))
            self._stop.append(async_call_later(self.hass, wait, partial(self._confirm, activity)))

    @callback
    def async_forget(self) -> None:
        """Switched off: nothing pending, nothing reported."""
        self._pending.clear()
        self.activity = None

    def memory(self) -> dict[str, Any]:
        """What waits for an arrival, and when someone last came or left, for a reload."""
        changed = self._presence_changed
        return {
            "pending": [activity.as_dict() for activity in self._pending],
            "presence_changed": changed.isoformat() if changed is not None else None,
        }

    def remember(self, memory: Mapping[str, Any]) -> None:
        """Take back what waited for an arrival, and when someone last came or left."""
        self._presence_changed = dt_util.parse_datetime(str(memory.get("presence_changed")))
        for saved in memory.get("pending") or ():
            if (activity := Activity.from_dict(saved)) is not None:
                self._pending.append(activity)

    def _near_presence_change(self, when: datetime) -> bool:
        changed = self._presence_changed
        return changed is not None and abs(when - changed) <= ARRIVAL_GRACE

    @callback
    def _on_sensor(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        # A sensor back from unavailable as on has not seen anybody just now.
        if old is None or new is None or old.state != STATE_OFF or new.state != STATE_ON:
            return
        now = dt_util.utcnow()
        if not self.everybody_away() or self._near_presence_change(now):
            return
        entity_id = event.data["entity_id"]
        activity = Activity(entity_id, new.name, self.watched.get(entity_id), now)
        self._pending.append(activity)
        _LOGGER.debug("%s fired while everybody is away; waiting for an arrival", entity_id)
        # Each activity waits its own minutes: a later one may still be someone arriving.
        self._stop.append(
            async_call_later(self.hass, ARRIVAL_GRACE, partial(self._confirm, activity))
        )

    @callback
    def _confirm(self, activity: Activity, _now: datetime) -> None:
        if self.hass.state is not CoreState.running:
            # Restarted meanwhile: automations listen once Home Assistant has started.
            self._stop.append(
                async_at_started(self.hass, partial(self._confirm_at_start, activity))
            )
            return
        if activity not in self._pending:
            return  # someone came home meanwhile, or the alerts were switched off
        self._pending.remove(activity)
        # The home was predicted empty before: the activity itself may make it look used now.
        if not (
            self._near_presence_change(activity.when) or (self.people and not self.everybody_away())
        ):
            self.activity = activity
            data = self.report()  # what the sensor shows, under the same names
            _LOGGER.debug("Unexpected activity: %s", data)
            self.hass.bus.async_fire(EVENT_UNEXPECTED_ACTIVITY, data)
            self.notify()

    async def async_evaluate(self) -> None:
        """Without people, end an alert once the home is still predicted in use long after."""
        activity = self.activity
        if self.people or activity is None or self.everybody_away():
            return
        if dt_util.utcnow() - activity.when >= IN_USE_AFTER:
            self.activity = None
            self.notify()

    @callback
    def _confirm_at_start(self, activity: Activity, _hass: HomeAssistant) -> None:
        self._confirm(activity, dt_util.utcnow())

    @callback
    def _on_presence(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None or new is None or old.state == new.state:
            return
        # Only coming or leaving home: a move between other zones, or a tracker dropping out
        # and back, is nobody at the door.
        unknown = {STATE_UNAVAILABLE, STATE_UNKNOWN}
        if STATE_HOME not in (old.state, new.state) or {old.state, new.state} & unknown:
            return
        self._presence_changed = dt_util.utcnow()
        if not self.everybody_away():
            self._pending.clear()
            if self.activity is not None:
                # Someone is home: whatever was seen is theirs to look at now.
                self.activity = None
                self.notify()

    def report(self) -> dict[str, Any]:
        """Which sensor fired, in which room, and when (the binary sensor's attributes)."""
        activity = self.activity
        if activity is None:
            return {}
        return {
            "entity_id": activity.entity_id,
            "sensor": activity.name,
            "room": activity.room,
            "when": activity.shown_when,
        }

    def restore(self, attributes: dict[str, Any]) -> None:
        """Take back an activity seen before a restart."""
        when = dt_util.parse_datetime(str(attributes.get("when", "")))
        entity_id = attributes.get("entity_id")
        if when is not None and isinstance(entity_id, str):
            name = str(attributes.get("sensor", entity_id))
            room = attributes.get("room")
            self.activity = Activity(entity_id, name, room if isinstance(room, str) else None, when)

    def attributes(self) -> dict[str, Any]:
        """The switch shows what it watches."""
        return {"watched": sorted(self.watched), "people": len(self.people)}
