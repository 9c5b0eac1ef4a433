"""What the controller tests share: a real thermostat and lamp, and a predicted occupancy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from custom_components.foresight.home_occupancy import HomePresence, OccupancyOutlook, RoomOutlook
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component


@dataclass
class Predicted:
    """The occupancy the tests say the model predicts: one room, and the home's presence."""

    probability: float = 0.0
    in_use: bool = False
    next_use: datetime | None = None
    someone_home: bool = True
    expected_arrival: datetime | None = None

    def outlook(self, room: str) -> OccupancyOutlook:
        """The outlook the coordinator publishes."""
        outlook = RoomOutlook(
            status="ready",
            occupancy_probability=self.probability,
            in_use=self.in_use,
            next_hour=self.probability,
            hourly=[],
            next_use=self.next_use,
            confidence=0.9,
            skill=0.5,
            scores={},
        )
        arrival = self.expected_arrival
        presence = HomePresence(
            someone_home=self.someone_home,
            probability=1.0 if self.someone_home else 0.02,
            expected_arrival=(arrival, arrival, arrival) if arrival else None,
            expected_departure=None,
        )
        return OccupancyOutlook(rooms={room: outlook, None: outlook}, presence=presence)


def predict(monkeypatch: pytest.MonkeyPatch, entry: Any, predicted: Predicted) -> str:
    """Make the home's occupancy model predict ``predicted``; returns the room's id."""
    room = next(iter(entry.subentries))
    coordinator = entry.runtime_data.coordinator
    monkeypatch.setattr(
        coordinator.occupancy, "outlook", lambda _now, _untrusted: predicted.outlook(room)
    )
    coordinator.publish_occupancy()
    return room


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


async def async_setup_lamp(hass: HomeAssistant) -> None:
    """A real dimmable lamp, light.living_lamp (a template light over helpers)."""
    hass.states.async_remove("light.living_lamp")
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"lamp": {}}})
    assert await async_setup_component(
        hass,
        "input_number",
        {"input_number": {"lamp_level": {"min": 0, "max": 255, "step": 1}}},
    )
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
                            "state": "{{ is_state('input_boolean.lamp', 'on') }}",
                            "level": "{{ states('input_number.lamp_level') | int }}",
                            "turn_on": [on],
                            "turn_off": [
                                {
                                    "action": "input_boolean.turn_off",
                                    "target": {"entity_id": "input_boolean.lamp"},
                                }
                            ],
                            "set_level": [
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
