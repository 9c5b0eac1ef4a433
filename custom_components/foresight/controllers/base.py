"""What every controller shares: an on/off state, settings, and actions Foresight can recognise."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_DOMAIN,
    ATTR_ENTITY_ID,
    ATTR_NAME,
    EVENT_LOGBOOK_ENTRY,
    STATE_HOME,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval

from ..const import DOMAIN
from ..coordinator import ForesightCoordinator
from ..texts import Texts

_LOGGER = logging.getLogger(__name__)

# Controllers look again at least this often, besides on every relevant change.
EVALUATE_INTERVAL = timedelta(minutes=1)
# How many of its own recent actions a controller remembers, to tell them from manual ones.
KNOWN_CONTEXTS = 256


@dataclass(frozen=True, slots=True)
class Setting:
    """A number a controller is tuned by, shown as a number entity on the controller's device."""

    key: str
    default: float
    minimum: float
    maximum: float
    step: float
    unit: str | None = None
    # Another setting of the controller this one may never be above (eco and comfort); a
    # value that would pass it is refused with the exception ``<key>_above``.
    not_above: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """A setting chosen from a few options, shown as a select entity."""

    key: str
    options: tuple[str, ...]
    default: str


class Controller:
    """Acts on the home through service calls whose context says they came from Foresight.

    Off until its switch turns it on; while off it listens to nothing.
    """

    key: str = ""
    settings_spec: tuple[Setting, ...] = ()
    choices_spec: tuple[Choice, ...] = ()
    # Without people, the home counts as empty when it is predicted so, with at most this
    # probability of someone home.
    empty_probability: float = 1.0
    # What it switches only imitates the home's habits: never learned as the home's evenings.
    imitates_the_home: bool = False

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: ForesightCoordinator,
        texts: Texts,
        room: str | None,
        room_name: str | None,
    ) -> None:
        """A controller of ``room`` (None: the home)."""
        self.hass = hass
        self.entry = entry
        self.coordinator = coordinator
        self.texts = texts  # the logbook's words, in the home's language
        self.room = room
        self.room_name = room_name
        self.enabled = False
        # Until the entry's settings are restored, an enabled controller waits to act.
        self.ready = False
        self.settings: dict[str, float] = {s.key: s.default for s in self.settings_spec}
        self.choices: dict[str, str] = {c.key: c.default for c in self.choices_spec}
        self._stop: list[CALLBACK_TYPE] = []
        self._own: deque[str] = deque(maxlen=KNOWN_CONTEXTS)
        self._lock = asyncio.Lock()
        self._changed: list[Callable[[], None]] = []
        self.people: list[str] = []  # whose zones say whether anybody is home
        self._failing = False  # the last action failed: said once, tried again

    @property
    def unique_prefix(self) -> str:
        """The device the controller's entities belong to."""
        return self.room or self.entry.entry_id

    @callback
    def add_change_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Be told when the controller's state or attributes change."""
        self._changed.append(listener)
        return lambda: self._changed.remove(listener)

    @callback
    def notify(self) -> None:
        """Tell the entities the controller's state changed."""
        for listener in list(self._changed):
            listener()

    def is_own(self, context: Context | None) -> bool:
        """Whether a state change was caused by this controller."""
        if context is None:
            return False
        return context.id in self._own or (
            context.parent_id is not None and context.parent_id in self._own
        )

    def everybody_away(self) -> bool:
        """The people all away; without people, the home predicted empty."""
        if self.people:
            return all(
                (state := self.hass.states.get(person)) is not None
                and state.state not in (STATE_HOME, STATE_UNKNOWN, STATE_UNAVAILABLE)
                for person in self.people
            )
        occupancy = self.coordinator.data.occupancy if self.coordinator.data else None
        presence = occupancy.presence if occupancy is not None else None
        return (
            presence is not None
            and not presence.someone_home
            and presence.probability <= self.empty_probability
        )

    @callback
    def async_enable(self) -> None:
        """Start following the home."""
        if self.enabled:
            return
        self.enabled = True
        self._stop = [
            async_track_time_interval(self.hass, self._on_timer, EVALUATE_INTERVAL),
            self.coordinator.async_add_listener(self.async_schedule),
            self.coordinator.async_add_occupancy_listener(self._on_occupancy),
            *self.async_listen(),
        ]
        self.async_started()
        self.async_schedule()
        self.notify()

    @callback
    def async_ready(self) -> None:
        """The settings are restored: act from now on."""
        self.ready = True
        self.async_schedule()

    @callback
    def async_disable(self) -> None:
        """Stop at once: no listener, no timer stays behind; what it remembers stays."""
        while self._stop:
            self._stop.pop()()
        was = self.enabled
        self.enabled = False
        self.async_stopped()
        if was:
            self.notify()

    @callback
    def async_listen(self) -> list[CALLBACK_TYPE]:
        """Subscribe to what the controller follows; the callbacks stop it."""
        return []

    @callback
    def async_forget(self) -> None:
        """Switched off by the user: forget what belongs to the time it was on."""

    def memory(self) -> dict[str, Any]:
        """What the controller must remember across a restart or a reload (JSON)."""
        return {}

    def remember(self, memory: Mapping[str, Any]) -> None:
        """Take back what :meth:`memory` returned before a restart or a reload."""

    @callback
    def async_started(self) -> None:
        """Called when the controller is switched on."""

    @callback
    def async_stopped(self) -> None:
        """Called when the controller is switched off or unloaded."""

    @callback
    def _on_timer(self, _now: datetime) -> None:
        self.async_schedule()

    @callback
    def _on_occupancy(self, rooms: Collection[str | None]) -> None:
        # Its room's occupancy, or the home's (someone home, arrivals), changed.
        if self.room in rooms or None in rooms:
            self.async_schedule()

    @callback
    def async_schedule(self) -> None:
        """Look again soon (in a task the entry cancels on unload)."""
        if not self.enabled or not self.ready:
            return
        self.entry.async_create_background_task(
            self.hass, self._async_run(), f"foresight {self.key} {self.room_name or 'home'}"
        )

    async def _async_run(self) -> None:
        async with self._lock:
            if self.enabled:
                await self.async_evaluate()

    async def async_evaluate(self) -> None:
        """Decide and act."""

    @callback
    def note_in_logbook(self, entity_id: Any, message: str, context: Context | None = None) -> None:
        """An entry in each entity's own logbook; under it, the changes ``context`` caused."""
        entry: dict[str, Any] = {ATTR_NAME: "Foresight", "message": message, ATTR_DOMAIN: DOMAIN}
        for each in [entity_id] if isinstance(entity_id, str) else entity_id or [None]:
            entry_for = entry if each is None else {**entry, ATTR_ENTITY_ID: each}
            self.hass.bus.async_fire(EVENT_LOGBOOK_ENTRY, entry_for, context=context)

    async def async_call(
        self, domain: str, service: str, data: Mapping[str, Any], message: str
    ) -> bool:
        """Call a service as Foresight: logged, in the logbook, with a context of its own.

        Returns whether it worked; a failure is logged once and tried again at the next look.
        """
        context = Context()
        self._own.append(context.id)
        self.coordinator.observer.note_own_action(context, imitation=self.imitates_the_home)
        entity_id = data.get(ATTR_ENTITY_ID)
        _LOGGER.debug("%s: %s.%s %s (%s)", self.key, domain, service, dict(data), message)
        self.note_in_logbook(entity_id, message, context)
        try:
            await self.hass.services.async_call(
                domain, service, dict(data), blocking=True, context=context
            )
        except HomeAssistantError as err:
            if not self._failing:
                _LOGGER.warning(
                    "%s: %s.%s for %s failed, trying again later: %s",
                    self.key,
                    domain,
                    service,
                    entity_id,
                    err,
                )
            self._failing = True
            return False
        self._failing = False
        return True

    def attributes(self) -> dict[str, Any]:
        """What the controller's switch shows."""
        return {}
