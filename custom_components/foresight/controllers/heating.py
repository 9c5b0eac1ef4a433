"""Smart heating: comfort when a room is used or about to be, eco otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.climate.const import (
    ATTR_CURRENT_TEMPERATURE,
    ATTR_MAX_TEMP,
    ATTR_MIN_TEMP,
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_TEMPERATURE,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_TEMPERATURE,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfTemperature,
)
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..coordinator import ForesightCoordinator
from .base import Controller, Setting

_LOGGER = logging.getLogger(__name__)

COMFORT = "comfort_temperature"
ECO = "eco_temperature"
# Pre-heating starts this much earlier than the learned warm-up strictly needs.
PREHEAT_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ManualHold:
    """A set point a person chose, kept until the room's use next changes."""

    setpoint: float
    in_use: bool | None  # the room's use when it was set: a change releases the hold
    until: datetime | None  # the room's next expected use, when it was not in use


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except TypeError, ValueError:
        return None
    return number


class HeatingController(Controller):
    """Sets a room's thermostat to its comfort or eco temperature."""

    key = "smart_heating"
    settings_spec = (
        Setting(COMFORT, 21.0, 5.0, 30.0, 0.5, UnitOfTemperature.CELSIUS),
        Setting(ECO, 17.0, 5.0, 30.0, 0.5, UnitOfTemperature.CELSIUS),
    )

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: ForesightCoordinator,
        room: str,
        room_name: str,
        climate: str,
        openings: list[str],
    ) -> None:
        """Heat ``room`` through ``climate``; any of ``openings`` open means eco."""
        super().__init__(hass, entry, coordinator, room, room_name)
        self.climate = climate
        self.openings = openings
        self.manual: ManualHold | None = None
        self.target: float | None = None
        self.reason: str | None = None
        self.preheat_from: datetime | None = None
        self._preheating_for: datetime | None = None  # the use a started pre-heat is for

    @callback
    def async_listen(self) -> list[CALLBACK_TYPE]:
        """Follow the thermostat and the room's windows and doors."""
        return [
            async_track_state_change_event(self.hass, [self.climate], self._on_climate),
            async_track_state_change_event(self.hass, self.openings, self._on_opening),
        ]

    @callback
    def async_stopped(self) -> None:
        """Forget a manual hold: it belongs to the time the controller was on."""
        self.manual = None

    @callback
    def _on_opening(self, _event: Event[EventStateChangedData]) -> None:
        self.async_schedule()

    @callback
    def _on_climate(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None or new is None or new.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return
        setpoint = _number(new.attributes.get(ATTR_TEMPERATURE))
        if setpoint is None or setpoint == _number(old.attributes.get(ATTR_TEMPERATURE)):
            return
        if self.is_own(new.context):
            return
        room = self._outlook()
        in_use = room.in_use if room is not None else None
        until = room.next_use if room is not None and not room.in_use else None
        self.manual = ManualHold(setpoint, in_use, until)
        _LOGGER.debug("%s: %s set by hand to %s, kept", self.key, self.climate, setpoint)
        self.notify()

    def _outlook(self) -> Any:
        occupancy = self.coordinator.data.occupancy if self.coordinator.data else None
        return occupancy.rooms.get(self.room) if occupancy is not None else None

    def _hold_applies(self, now: datetime) -> bool:
        hold = self.manual
        if hold is None:
            return False
        room = self._outlook()
        if room is not None and hold.in_use is not None and room.in_use != hold.in_use:
            return False
        return hold.until is None or now < hold.until

    def decide(self, now: datetime) -> tuple[float | None, str]:
        """The set point the room should have now, and why (None: leave it alone)."""
        state = self.hass.states.get(self.climate)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None, "unavailable"
        comfort, eco = self.settings[COMFORT], self.settings[ECO]
        self.preheat_from = None
        if any(
            (opening := self.hass.states.get(entity_id)) is not None and opening.state == STATE_ON
            for entity_id in self.openings
        ):
            return eco, "window_open"
        if self._hold_applies(now):
            return None, "manual"
        if self.manual is not None:
            self.manual = None
        room = self._outlook()
        current = _number(state.attributes.get(ATTR_CURRENT_TEMPERATURE))
        minutes = (
            self.coordinator.thermal.minutes_to_reach(self.room or "", current, comfort)
            if current is not None
            else None
        )
        lead = timedelta(minutes=minutes or 0.0) + PREHEAT_MARGIN
        occupancy = self.coordinator.data.occupancy if self.coordinator.data else None
        presence = occupancy.presence if occupancy is not None else None
        if presence is not None and not presence.someone_home:
            arrival = presence.expected_arrival
            if arrival is None or arrival[1] > now + lead:
                return eco, "away"
        if room is None or room.status == "learning":
            # Without a usable prediction the thermostat stays as the user set it.
            return None, "learning"
        if room.in_use:
            return comfort, "in_use"
        if room.next_use is not None:
            self.preheat_from = room.next_use - lead
            # Once started, a pre-heat holds: the warmer room needs less time, not less heat.
            if now >= self.preheat_from or self._preheating_for == room.next_use:
                self._preheating_for = room.next_use
                return comfort, "pre_heat"
        self._preheating_for = None
        return eco, "not_in_use"

    async def async_evaluate(self) -> None:
        """Set the thermostat to what the room needs, within its limits."""
        now = dt_util.utcnow()
        target, reason = self.decide(now)
        changed = (target, reason) != (self.target, self.reason)
        self.target, self.reason = target, reason
        state = self.hass.states.get(self.climate)
        if target is not None and state is not None:
            low = _number(state.attributes.get(ATTR_MIN_TEMP))
            high = _number(state.attributes.get(ATTR_MAX_TEMP))
            if low is not None:
                target = max(target, low)
            if high is not None:
                target = min(target, high)
            self.target = target
            if _number(state.attributes.get(ATTR_TEMPERATURE)) != target:
                await self.async_call(
                    CLIMATE_DOMAIN,
                    SERVICE_SET_TEMPERATURE,
                    {ATTR_ENTITY_ID: self.climate, ATTR_TEMPERATURE: target},
                    f"set {self.room_name} to {target} °C ({reason.replace('_', ' ')})",
                )
                changed = True
        if changed:
            self.notify()

    def attributes(self) -> dict[str, Any]:
        """The set point chosen and why, and a manual set point being kept."""
        hold = self.manual
        return {
            "climate": self.climate,
            "target_temperature": self.target,
            "reason": self.reason,
            "pre_heat_from": self.preheat_from.isoformat() if self.preheat_from else None,
            "manual_override": hold is not None,
            "manual_setpoint": hold.setpoint if hold else None,
            "manual_until": hold.until.isoformat() if hold and hold.until else None,
        }
