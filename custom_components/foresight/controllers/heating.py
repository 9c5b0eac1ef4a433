"""Smart heating: comfort when a room is used or about to be, eco otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.climate.const import (
    ATTR_CURRENT_TEMPERATURE,
    ATTR_MAX_TEMP,
    ATTR_MIN_TEMP,
    ATTR_TARGET_TEMP_HIGH,
    ATTR_TARGET_TEMP_LOW,
    ATTR_TARGET_TEMP_STEP,
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_TEMPERATURE,
    ClimateEntityFeature,
    HVACMode,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_ENTITY_ID,
    ATTR_SUPPORTED_FEATURES,
    ATTR_TEMPERATURE,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfTemperature,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter

from ..coordinator import ForesightCoordinator
from ..texts import Texts
from .base import Controller, Setting

_LOGGER = logging.getLogger(__name__)

COMFORT = "comfort_temperature"
ECO = "eco_temperature"
# Pre-heating starts this much earlier than the learned warm-up strictly needs.
PREHEAT_MARGIN = timedelta(minutes=5)
# A window open this long means eco: one opened for a moment is no reason to cool the room.
WINDOW_OPEN_FOR = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ManualHold:
    """A set point a person chose, kept until the room's use next changes."""

    setpoint: float
    in_use: bool | None  # the room's use when it was set: a change releases the hold
    until: datetime | None  # the room's next expected use, when it was not in use

    def as_dict(self) -> dict[str, Any]:
        """The hold as restore data."""
        until = self.until.isoformat() if self.until else None
        return {"setpoint": self.setpoint, "in_use": self.in_use, "until": until}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ManualHold | None:
        """The hold kept in restore data (None: none, or unreadable)."""
        setpoint, in_use = _number(data.get("setpoint")), data.get("in_use")
        until = dt_util.parse_datetime(str(data.get("until") or ""))
        if setpoint is None or not isinstance(in_use, bool | None):
            return None
        return cls(setpoint, in_use, until)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except TypeError, ValueError:
        return None
    return number


def _setpoint_attribute(state: State) -> str | None:
    """The attribute Foresight sets on a thermostat in its mode (None: it is not heating)."""
    features = int(state.attributes.get(ATTR_SUPPORTED_FEATURES) or 0)
    if state.state == HVACMode.HEAT and features & ClimateEntityFeature.TARGET_TEMPERATURE:
        return ATTR_TEMPERATURE
    # A thermostat keeping a range heats to the range's low end.
    if (
        state.state in (HVACMode.HEAT, HVACMode.HEAT_COOL)
        and features & ClimateEntityFeature.TARGET_TEMPERATURE_RANGE
    ):
        return ATTR_TARGET_TEMP_LOW
    return None


def _chosen_setpoint_attribute(state: State) -> str | None:
    """The set point a person may choose, in any mode: while off, the one kept for heating."""
    if (attribute := _setpoint_attribute(state)) is not None:
        return attribute
    features = int(state.attributes.get(ATTR_SUPPORTED_FEATURES) or 0)
    if features & ClimateEntityFeature.TARGET_TEMPERATURE:
        return ATTR_TEMPERATURE
    if features & ClimateEntityFeature.TARGET_TEMPERATURE_RANGE:
        return ATTR_TARGET_TEMP_LOW
    return None


class HeatingController(Controller):
    """Sets a room's thermostat to its comfort or eco temperature."""

    key = "smart_heating"
    settings_spec = (
        Setting(COMFORT, 21.0, 5.0, 30.0, 0.5, UnitOfTemperature.CELSIUS),
        Setting(ECO, 17.0, 5.0, 30.0, 0.5, UnitOfTemperature.CELSIUS, not_above=COMFORT),
    )

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        coordinator: ForesightCoordinator,
        texts: Texts,
        room: str,
        room_name: str,
        climate: str,
        openings: list[str],
    ) -> None:
        """Heat ``room`` through ``climate``; a window among ``openings`` left open means eco."""
        super().__init__(hass, entry, coordinator, texts, room, room_name)
        self.climate = climate
        self.openings = openings
        self.manual: ManualHold | None = None
        self.target: float | None = None
        self.reason: str | None = None
        self.preheat_from: datetime | None = None
        self._preheating_for: datetime | None = None  # the use a started pre-heat is for
        self.sent: float | None = None  # the set point Foresight last set
        self._window_check: CALLBACK_TYPE | None = None  # a look once an opening has lasted
        # Windows found open when first seen (at a start, or back online): open for a while.
        self._open_before: set[str] = set()

    @callback
    def async_listen(self) -> list[CALLBACK_TYPE]:
        """Follow the thermostat and the room's windows and doors."""
        self._open_before = {
            entity_id
            for entity_id in self.openings
            if (opening := self.hass.states.get(entity_id)) is not None
            and opening.state == STATE_ON
        }
        return [
            async_track_state_change_event(self.hass, [self.climate], self._on_climate),
            async_track_state_change_event(self.hass, self.openings, self._on_opening),
        ]

    @callback
    def async_forget(self) -> None:
        """Switched off: forget a manual hold, it belongs to the time the controller was on."""
        self.manual = None

    def memory(self) -> dict[str, Any]:
        """A set point kept by hand, the one Foresight last set, and a pre-heat under way."""
        preheating = self._preheating_for.isoformat() if self._preheating_for else None
        return {
            "manual": self.manual.as_dict() if self.manual else None,
            "sent": self.sent,
            "preheating_for": preheating,
        }

    def remember(self, memory: Mapping[str, Any]) -> None:
        """Take back the hold, the last set point and a pre-heat from before a restart."""
        hold = memory.get("manual")
        self.manual = ManualHold.from_dict(hold) if isinstance(hold, Mapping) else None
        self.sent = _number(memory.get("sent"))
        preheating = memory.get("preheating_for")
        self._preheating_for = (
            dt_util.parse_datetime(preheating) if isinstance(preheating, str) else None
        )

    def _step(self, state: State) -> float:
        """How finely the thermostat sets: closer set points are the same to it."""
        step = _number(state.attributes.get(ATTR_TARGET_TEMP_STEP))
        if step:
            return step
        return 0.5 if self.hass.config.units.temperature_unit == UnitOfTemperature.CELSIUS else 1.0

    @callback
    def async_stopped(self) -> None:
        """No look at a window is left waiting."""
        self._cancel_window_check()

    @callback
    def _cancel_window_check(self) -> None:
        if self._window_check is not None:
            self._window_check()
            self._window_check = None

    @callback
    def _on_opening(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        unseen = old is None or old.state in (STATE_UNAVAILABLE, STATE_UNKNOWN)
        if new is not None and new.state == STATE_ON and unseen:
            self._open_before.add(event.data["entity_id"])  # not just opened: found open
        else:
            self._open_before.discard(event.data["entity_id"])
        self.async_schedule()  # a window closing gives the set point back at once
        self._cancel_window_check()
        self._window_check = async_call_later(self.hass, WINDOW_OPEN_FOR, self._on_window_check)

    @callback
    def _on_window_check(self, _now: datetime) -> None:
        self._window_check = None
        self.async_schedule()

    def _window_open(self, now: datetime) -> bool:
        """A window of the room open a minute or more; a door (an inner one left open) is not."""
        return any(
            (opening := self.hass.states.get(entity_id)) is not None
            and opening.state == STATE_ON
            and opening.attributes.get(ATTR_DEVICE_CLASS) == BinarySensorDeviceClass.WINDOW
            and (entity_id in self._open_before or now - opening.last_changed >= WINDOW_OPEN_FOR)
            for entity_id in self.openings
        )

    @callback
    def _on_climate(self, event: Event[EventStateChangedData]) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if old is None or new is None:
            return
        if old.state != new.state and not self.is_own(new.context):
            # Back online, or switched to heating: look again.
            self.async_schedule()
        # A thermostat reconnecting reports the set point it kept: nobody changed it.
        if {old.state, new.state} & {STATE_UNAVAILABLE, STATE_UNKNOWN}:
            return
        # Switching the heating on or over is not choosing a set point; choosing one while it
        # is off, for when it heats again, is.
        attribute = _chosen_setpoint_attribute(new)
        if attribute is None or attribute != _chosen_setpoint_attribute(old):
            return
        setpoint = _number(new.attributes.get(attribute))
        before = _number(old.attributes.get(attribute))
        if setpoint is None or before is None or setpoint == before:
            return
        if self.is_own(new.context) or (
            self.sent is not None and abs(setpoint - self.sent) < self._step(new)
        ):
            return
        room = self._outlook()
        ready = room is not None and room.status != "learning"
        in_use = room.in_use if ready else None
        until = room.next_use if ready and not room.in_use else None
        self.manual = ManualHold(setpoint, in_use, until)
        # Now the person's choice: going back to Foresight's set point is a choice too.
        self.sent = None
        _LOGGER.debug("%s: %s set by hand to %s, kept", self.key, self.climate, setpoint)
        self.notify()
        self.async_schedule()

    def _outlook(self) -> Any:
        occupancy = self.coordinator.data.occupancy if self.coordinator.data else None
        return occupancy.rooms.get(self.room) if occupancy is not None else None

    def _hold_applies(self, now: datetime) -> bool:
        hold = self.manual
        if hold is None:
            return False
        room = self._outlook()
        if room is None or room.status == "learning":
            return True
        if hold.in_use is None:
            # Set before the room's first prediction: kept until its use next changes.
            until = room.next_use if not room.in_use else None
            self.manual = hold = ManualHold(hold.setpoint, room.in_use, until)
        if room.in_use != hold.in_use:
            return False
        return hold.until is None or now < hold.until

    def _celsius(self, temperature: float) -> float:
        """A temperature in the home's unit in °C, the unit the warm-up is learned in."""
        unit = self.hass.config.units.temperature_unit
        return TemperatureConverter.convert(temperature, unit, UnitOfTemperature.CELSIUS)

    def _temperature(self, key: str) -> float:
        """A temperature setting (in °C) in the home's unit, which thermostats are set in."""
        unit = self.hass.config.units.temperature_unit
        return round(
            TemperatureConverter.convert(self.settings[key], UnitOfTemperature.CELSIUS, unit), 1
        )

    def decide(self, now: datetime) -> tuple[float | None, str]:
        """The set point the room should have now, and why (None: leave it alone)."""
        state = self.hass.states.get(self.climate)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None, "unavailable"
        if _setpoint_attribute(state) is None:
            return None, "not_heating"
        comfort, eco = self._temperature(COMFORT), self._temperature(ECO)
        self.preheat_from = None
        if self._window_open(now):
            return eco, "window_open"
        if self._hold_applies(now) and self.manual is not None:
            return self.manual.setpoint, "manual"
        if self.manual is not None:
            self.manual = None
        room = self._outlook()
        current = _number(state.attributes.get(ATTR_CURRENT_TEMPERATURE))
        minutes = (
            self.coordinator.thermal.minutes_to_reach(
                self.room or "", self._celsius(current), self.settings[COMFORT]
            )
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
            # On the whole minute: the time a user reads, and the one the controller keeps.
            self.preheat_from = (room.next_use - lead).replace(second=0, microsecond=0)
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
        attribute = _setpoint_attribute(state) if state is not None else None
        if target is not None and state is not None and attribute is not None:
            low = _number(state.attributes.get(ATTR_MIN_TEMP))
            high = _number(state.attributes.get(ATTR_MAX_TEMP))
            if low is not None:
                target = max(target, low)
            if high is not None:
                target = min(target, high)
            self.target = target
            current = _number(state.attributes.get(attribute))
            # A thermostat that rounds to its step is not told the same again every minute.
            if current is None or abs(current - target) >= self._step(state):
                data: dict[str, Any] = {ATTR_ENTITY_ID: self.climate, attribute: target}
                if attribute == ATTR_TARGET_TEMP_LOW:
                    upper = _number(state.attributes.get(ATTR_TARGET_TEMP_HIGH))
                    data[ATTR_TARGET_TEMP_HIGH] = max(upper or target, target)
                message = self.texts(
                    "logbook_heating",
                    room=self.room_name,
                    temperature=self.texts.number(target),
                    unit=self.hass.config.units.temperature_unit,
                    reason=self.texts.attribute_state("switch", self.key, "reason", reason),
                )
                if await self.async_call(CLIMATE_DOMAIN, SERVICE_SET_TEMPERATURE, data, message):
                    self.sent = target
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
