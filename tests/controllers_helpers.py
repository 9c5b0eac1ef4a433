"""What the controller and warm-up tests share: a real thermostat and lamp, a heated room's
simulated history, a predicted occupancy, and moving the frozen clock."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.foresight.home_occupancy import HomePresence, OccupancyOutlook, RoomOutlook
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    """Move the frozen clock to ``when`` and let every timer due by then run."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done(wait_background_tasks=True)


async def turn(hass: HomeAssistant, domain: str, service: str, entity_id: str, **data: Any) -> None:
    """Call ``domain.service`` on one entity and wait for what follows."""
    await hass.services.async_call(domain, service, {"entity_id": entity_id, **data}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)


@dataclass
class Predicted:
    """The occupancy the tests say the model predicts: one room, and the home's presence."""

    probability: float = 0.0
    in_use: bool = False
    next_use: datetime | None = None
    someone_home: bool = True
    expected_arrival: datetime | None = None
    status: str = "ready"
    trained: bool = True  # False: no model yet, no outlook at all

    def outlook(self, room: str) -> OccupancyOutlook | None:
        """The outlook the coordinator publishes."""
        if not self.trained:
            return None
        outlook = RoomOutlook(
            status=self.status,
            occupancy_probability=self.probability,
            in_use=self.in_use,
            next_hour=self.probability,
            hourly=[],
            next_use=self.next_use,
            confidence=0.9,
            skill=0.5,
            scores={},
            learned_days=28 if self.status == "ready" else 1,
            learned_use=self.status == "ready",
        )
        arrival = self.expected_arrival
        presence = HomePresence(
            someone_home=self.someone_home,
            probability=1.0 if self.someone_home else 0.02,
            expected_arrival=(arrival, arrival, arrival) if arrival else None,
            expected_departure=None,
        )
        return OccupancyOutlook(rooms={room: outlook, None: outlook}, presence=presence)


async def predict(monkeypatch: pytest.MonkeyPatch, entry: Any, predicted: Predicted) -> str:
    """Make the home's occupancy model predict ``predicted``; returns the room's id."""
    room = next(iter(entry.subentries))
    coordinator = entry.runtime_data.coordinator
    predict_with(monkeypatch, coordinator.occupancy, lambda: predicted.outlook(room))
    await coordinator.async_publish_occupancy()
    return room


def predict_with(
    monkeypatch: pytest.MonkeyPatch, occupancy: Any, outlook: Callable[[], OccupancyOutlook | None]
) -> None:
    """Make ``occupancy`` (the home's, or the HomeOccupancy class) predict ``outlook()``: all
    at once, as at a start, and a room at a time, as every minute."""

    def method(function: Callable[..., Any]) -> Callable[..., Any]:
        # Set on the class, the patch is called with the instance first.
        return (lambda _self, *args: function(*args)) if isinstance(occupancy, type) else function

    def rooms() -> dict[str | None, Any]:
        shown = outlook()
        return dict(shown.rooms) if shown is not None else {}  # no model: no room, as untrained

    def presence() -> Any:
        shown = outlook()
        return shown.presence if shown is not None else None

    monkeypatch.setattr(occupancy, "outlook", method(lambda _now, _untrusted: outlook()))
    monkeypatch.setattr(occupancy, "scopes", method(lambda: list(rooms())))
    monkeypatch.setattr(
        occupancy, "room_outlook", method(lambda scope, _now, _untrusted: rooms().get(scope))
    )
    monkeypatch.setattr(occupancy, "presence", method(lambda _now, _untrusted: presence()))


async def async_setup_thermostat(hass: HomeAssistant, **config: Any) -> None:
    """A real thermostat, climate.living, heating through input_boolean.heater."""
    hass.states.async_remove("climate.living")
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"heater": {}}})
    assert await async_setup_component(
        hass,
        "climate",
        {
            "climate": {
                "platform": "generic_thermostat",
                "name": "living",
                "heater": "input_boolean.heater",
                "target_sensor": "sensor.living_temperature",
                "initial_hvac_mode": "heat",
                **config,
            }
        },
    )
    await hass.async_block_till_done()


async def async_setup_template_thermostat(
    hass: HomeAssistant,
    *,
    ranged: bool = False,
    step: float = 0.5,
    unit: str = "°C",
    **limits: float,
) -> None:
    """A real thermostat, climate.living, whose every part a test can move.

    Its mode is ``input_select.living_mode``; it drops off the network while
    ``input_boolean.living_offline`` is on, and refuses set points while
    ``input_boolean.living_broken`` is on; while ``input_boolean.living_cloud`` is on it only
    shows a set point once a test copies ``input_number.living_requested``. ``ranged``: it keeps a low and a high set point
    (``input_number.living_low`` and ``living_high``) instead of one (``living_setpoint``).
    """
    hass.states.async_remove("climate.living")
    assert await async_setup_component(hass, "homeassistant", {})
    low, high = limits.get("min_temperature", 5.0), limits.get("max_temperature", 30.0)
    number = {"min": low, "max": high, "step": 0.1}
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "living_setpoint": {**number, "initial": limits.get("setpoint", 19.0)},
                "living_low": {**number, "initial": limits.get("setpoint", 19.0)},
                "living_high": {**number, "initial": high},
                "living_requested": number,
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {"living_offline": {}, "living_broken": {}, "living_cloud": {}}},
    )
    modes = ["heat_cool", "cool", "off"] if ranged else ["heat", "cool", "off"]
    assert await async_setup_component(
        hass, "input_select", {"input_select": {"living_mode": {"options": modes}}}
    )

    # A cloud thermostat takes the set point, and shows it only at its next poll.
    target = (
        "{{ 'input_number.living_requested' if is_state('input_boolean.living_cloud', 'on')"
        " else 'input_number.living_NAME' }}"
    )

    def store(name: str, variable: str) -> dict[str, Any]:
        return {
            "if": [
                {"condition": "template", "value_template": f"{{{{ {variable} is not none }}}}"}
            ],
            "then": [
                {
                    "action": "input_number.set_value",
                    "target": {"entity_id": target.replace("NAME", name)},
                    "data": {"value": f"{{{{ {variable} }}}}"},
                }
            ],
        }

    targets: dict[str, Any] = (
        {
            "target_temperature_low": "{{ states('input_number.living_low') }}",
            "target_temperature_high": "{{ states('input_number.living_high') }}",
        }
        if ranged
        else {"target_temperature": "{{ states('input_number.living_setpoint') }}"}
    )
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "climate": [
                        {
                            "name": "living",
                            "availability": "{{ is_state('input_boolean.living_offline', 'off') }}",
                            "hvac_modes": f"{{{{ {modes} }}}}",
                            "hvac_mode": "{{ states('input_select.living_mode') }}",
                            "set_hvac_mode": [
                                {
                                    "action": "input_select.select_option",
                                    "target": {"entity_id": "input_select.living_mode"},
                                    "data": {"option": "{{ hvac_mode }}"},
                                }
                            ],
                            "current_temperature": "{{ states('sensor.living_temperature') }}",
                            **targets,
                            "min_temperature": low,
                            "max_temperature": high,
                            "target_temperature_step": step,
                            "temperature_unit": unit,
                            "set_temperature": [
                                {
                                    "if": [
                                        {
                                            "condition": "state",
                                            "entity_id": "input_boolean.living_broken",
                                            "state": "on",
                                        }
                                    ],
                                    "then": [{"action": "thermostat_cloud.unreachable"}],
                                },
                                store("setpoint", "temperature"),
                                store("low", "target_temp_low"),
                                store("high", "target_temp_high"),
                            ],
                        }
                    ]
                }
            ]
        },
    )
    await hass.async_block_till_done()


async def async_setup_lamp(hass: HomeAssistant) -> None:
    """A real dimmable lamp, light.living_lamp (a template light over helpers).

    It drops off the network while ``input_boolean.lamp_offline`` is on, and refuses to
    switch on while ``input_boolean.lamp_broken`` is on.
    """
    hass.states.async_remove("light.living_lamp")
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {"lamp": {}, "lamp_offline": {}, "lamp_broken": {}}},
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"lamp_level": {"min": 0, "max": 255, "step": 1}}},
    )
    refuse = {
        "if": [{"condition": "state", "entity_id": "input_boolean.lamp_broken", "state": "on"}],
        "then": [{"action": "lamp_bridge.unreachable"}],
    }
    on = {"action": "input_boolean.turn_on", "target": {"entity_id": "input_boolean.lamp"}}
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "light": [
                        {
                            "name": "Living lamp",
                            "availability": "{{ is_state('input_boolean.lamp_offline', 'off') }}",
                            "state": "{{ is_state('input_boolean.lamp', 'on') }}",
                            "level": "{{ states('input_number.lamp_level') | int }}",
                            "turn_on": [refuse, on],
                            "turn_off": [
                                {
                                    "action": "input_boolean.turn_off",
                                    "target": {"entity_id": "input_boolean.lamp"},
                                }
                            ],
                            "set_level": [
                                refuse,
                                {
                                    "action": "input_number.set_value",
                                    "target": {"entity_id": "input_number.lamp_level"},
                                    "data": {"value": "{{ brightness }}"},
                                },
                                on,
                            ],
                        }
                    ]
                }
            ]
        },
    )
    await hass.async_block_till_done()


TEMPERATURE = {"unit_of_measurement": "°C", "device_class": "temperature"}


def simulate_heated_room(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    start: datetime,
    *,
    days: int,
    heating_hours: Collection[int],
    gain: float,
    loss: float,
    outdoor: float,
    zone: tzinfo = UTC,
) -> list[float]:
    """The living room heated by ``climate.living`` in ``heating_hours`` (of ``zone``).

    First-order physics (``gain`` °C/h at full heating, ``loss`` per hour towards ``outdoor``),
    reported every five minutes as Home Assistant would see it. Returns the readings.
    """
    temperature, heating = 16.0, False
    readings = []
    for step in range(days * 24 * 12):
        moment = start + timedelta(minutes=5 * step)
        on = moment.astimezone(zone).hour in heating_hours
        freezer.move_to(moment)
        if on != heating:
            heating = on
            hass.states.async_set(
                "climate.living",
                "heat",
                {
                    "temperature": 21.0,
                    "current_temperature": temperature,
                    "hvac_action": "heating" if on else "idle",
                },
            )
        readings.append(round(temperature, 1))
        hass.states.async_set("sensor.living_temperature", str(readings[-1]), TEMPERATURE)
        temperature += (gain * on - loss * (temperature - outdoor)) * 5 / 60
    return readings
