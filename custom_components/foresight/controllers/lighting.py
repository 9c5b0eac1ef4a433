"""Smart lighting: a room's lights follow its occupancy probability when it is dark."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.light.const import ATTR_BRIGHTNESS_PCT, DOMAIN as LIGHT_DOMAIN
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_ENTITY_ID,
    LIGHT_LUX,
    PERCENTAGE,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    UnitOfTime,
)
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.sun import is_up
from homeassistant.util import dt as dt_util

from ..coordinator import ForesightCoordinator
from ..texts import Texts
from .base import Controller, Setting

_LOGGER = logging.getLogger(__name__)

ON_THRESHOLD = "lights_on_threshold"
OFF_THRESHOLD = "lights_off_threshold"
ILLUMINANCE_THRESHOLD = "illuminance_threshold"
HOLD_TIME = "lights_hold_time"
BRIGHTNESS = "lights_brightness"


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except TypeError, ValueError:
        return None


class LightingController(Controller):
    """Switches a room's lights on when it is used in the dark, and off once it is empty."""

    key = "smart_lighting"
    settings_spec: tuple[Setting, ...] = (
        Setting(ON_THRESHOLD, 60.0, 1.0, 100.0, 1.0, PERCENTAGE),
        Setting(OFF_THRESHOLD, 30.0, 0.0, 99.0, 1.0, PERCENTAGE, not_above=ON_THRESHOLD),
        Setting(ILLUMINANCE_THRESHOLD, 50.0, 0.0, 2000.0, 1.0, LIGHT_LUX),
        Setting(HOLD_TIME, 10.0, 0.0, 240.0, 1.0, UnitOfTime.MINUTES),
        Setting(BRIGHTNESS, 80.0, 1.0, 100.0, 1.0, PERCENTAGE),
    )

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: ForesightCoordinator,
        texts: Texts,
        room: str,
        room_name: str,
        lights: list[str],
        illuminance: list[str],
    ) -> None:
        """Switch ``lights``; ``illuminance`` sensors (if any) say whether it is dark."""
        if not illuminance:
            # The sun says when it is dark: no darkness threshold to set.
            self.settings_spec = tuple(
                s for s in self.settings_spec if s.key != ILLUMINANCE_THRESHOLD
            )
        super().__init__(hass, entry, coordinator, texts, room, room_name)
        self.lights = lights
        self.illuminance = illuminance
        self.manual: set[str] = set()  # lights a person switched: left alone
        self.switched_on: set[str] = set()  # lights Foresight switched on
        self._above = False  # used in the dark at the last look
        self._below_since: datetime | None = None
        self.probability: float | None = None
        self.dark: bool | None = None

    @callback
    def async_listen(self) -> list[CALLBACK_TYPE]:
        """Follow the lights, to notice a person switching them."""
        return [async_track_state_change_event(self.hass, self.lights, self._on_light)]

    @callback
    def async_started(self) -> None:
        """Start from what is seen now: a probability already high is not a rise."""
        self._above = True
        self._below_since = None

    @callback
    def async_forget(self) -> None:
        """Switched off: forget what was switched while on."""
        self.manual.clear()
        self.switched_on.clear()

    def memory(self) -> dict[str, Any]:
        """The lights Foresight switched on, and those a person switched."""
        return {"switched_on": sorted(self.switched_on), "manual": sorted(self.manual)}

    def remember(self, memory: Mapping[str, Any]) -> None:
        """Take back the lights switched before a restart or a reload (still the room's)."""
        for key, lights in (("switched_on", self.switched_on), ("manual", self.manual)):
            lights.update(set(memory.get(key) or ()) & set(self.lights))

    @callback
    def _on_light(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None or new is None or old.state == new.state:
            return
        # A lamp dropping off the network and coming back was not switched by anybody.
        if old.state not in (STATE_ON, STATE_OFF) or new.state not in (STATE_ON, STATE_OFF):
            return
        if self.is_own(new.context):
            return
        entity_id = event.data["entity_id"]
        self.manual.add(entity_id)
        self.switched_on.discard(entity_id)
        _LOGGER.debug("%s: %s switched by hand, left alone", self.key, entity_id)
        self.notify()

    def is_dark(self, now: datetime) -> bool:
        """Below the illuminance threshold on the room's sensors, else the sun is down."""
        readings = [
            value
            for entity_id in self.illuminance
            if (state := self.hass.states.get(entity_id)) is not None
            and (value := _number(state.state)) is not None
        ]
        if readings:
            return min(readings) < self.settings[ILLUMINANCE_THRESHOLD]
        return not is_up(self.hass, now)

    async def async_evaluate(self) -> None:
        """Switch the lights as the room's probability and the daylight say."""
        occupancy = self.coordinator.data.occupancy if self.coordinator.data else None
        room = occupancy.rooms.get(self.room) if occupancy is not None else None
        if room is None:
            return
        now = dt_util.utcnow()
        probability = 100.0 * room.occupancy_probability
        self.probability = round(probability, 1)
        self.dark = self.is_dark(now)
        # On when used-in-the-dark begins: at a rise of the probability, or at dusk.
        wanted = probability >= self.settings[ON_THRESHOLD] and self.dark
        rising, self._above = wanted and not self._above, wanted
        if probability >= self.settings[OFF_THRESHOLD]:
            self._below_since = None
        elif self._below_since is None:
            self._below_since = now
        if rising:
            to_switch = [
                entity_id
                for entity_id in self.lights
                if entity_id not in self.manual
                and (state := self.hass.states.get(entity_id)) is not None
                and state.state == STATE_OFF
            ]
            if to_switch:
                if await self.async_call(
                    LIGHT_DOMAIN,
                    SERVICE_TURN_ON,
                    {
                        ATTR_ENTITY_ID: to_switch,
                        ATTR_BRIGHTNESS_PCT: round(self.settings[BRIGHTNESS]),
                    },
                    self.texts(
                        "logbook_lights_on", room=self.room_name, probability=f"{probability:.0f}"
                    ),
                ):
                    self.switched_on.update(to_switch)
                else:
                    # Still off: the next look is a rise again, and tries again.
                    self._above = False
        hold = timedelta(minutes=self.settings[HOLD_TIME])
        if self._below_since is not None and now - self._below_since >= hold:
            # The room has been empty: lights switched by hand are Foresight's again.
            self.manual.clear()
            states = {entity_id: self.hass.states.get(entity_id) for entity_id in self.switched_on}
            to_switch = sorted(
                e for e, state in states.items() if state and state.state == STATE_ON
            )
            # A lamp off the network is kept, to be switched off once it is back.
            self.switched_on.difference_update(
                e for e, state in states.items() if state is None or state.state == STATE_OFF
            )
            # Kept if switching off failed: tried again at the next look.
            if to_switch and await self.async_call(
                LIGHT_DOMAIN,
                SERVICE_TURN_OFF,
                {ATTR_ENTITY_ID: to_switch},
                self.texts(
                    "logbook_lights_off",
                    room=self.room_name,
                    minutes=self.texts.number(self.settings[HOLD_TIME]),
                ),
            ):
                self.switched_on.difference_update(to_switch)
        self.notify()

    def attributes(self) -> dict[str, Any]:
        """The room's probability as seen, whether it is dark, and the lights left alone."""
        return {
            "lights": self.lights,
            "occupancy_probability": self.probability,
            "dark": self.dark,
            "manual_lights": sorted(self.manual),
            "switched_on": sorted(self.switched_on),
        }
