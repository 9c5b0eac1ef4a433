"""Foresight's sensors: for now the diagnostics of each room's and the home's history."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import ForesightConfigEntry
from .const import MIN_LEARNING_DAYS
from .coordinator import ForesightCoordinator, HistorySummary
from .entity import ForesightEntity

PARALLEL_UPDATES = 0

MODEL_STATUSES = ["learning", "ready", "degraded"]


@dataclass(frozen=True, kw_only=True)
class ForesightSensorDescription(SensorEntityDescription):
    """A sensor computed from the history summary of a room (or the home, room None)."""

    value_fn: Callable[[HistorySummary, str | None, list[str]], Any]
    attributes_fn: Callable[[HistorySummary, str | None, list[str]], Mapping[str, Any]] = (
        lambda _summary, _room, _keys: {}
    )


def _history_days(summary: HistorySummary, room: str | None, _keys: list[str]) -> int:
    return summary.usable_days.get(room, 0)


def _history_attributes(
    summary: HistorySummary, _room: str | None, keys: list[str]
) -> Mapping[str, Any]:
    covered = [summary.coverage[key] for key in keys if key in summary.coverage]
    return {
        "sources": len(keys),
        "samples_kept": sum(c.samples for c in covered),
        "hours_kept": sum(c.hours for c in covered),
        "dropped": sum(sum(c.dropped.values()) for c in covered),
    }


def _status_attributes(
    summary: HistorySummary, room: str | None, _keys: list[str]
) -> Mapping[str, Any]:
    return {"usable_days": summary.usable_days.get(room, 0), "days_needed": MIN_LEARNING_DAYS}


SENSORS: tuple[ForesightSensorDescription, ...] = (
    ForesightSensorDescription(
        key="model_status",
        translation_key="model_status",
        device_class=SensorDeviceClass.ENUM,
        options=MODEL_STATUSES,
        entity_category=EntityCategory.DIAGNOSTIC,
        # No model is trained yet: every room and the home are still learning.
        value_fn=lambda _summary, _room, _keys: "learning",
        attributes_fn=_status_attributes,
    ),
    ForesightSensorDescription(
        key="history",
        translation_key="history",
        native_unit_of_measurement=UnitOfTime.DAYS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_history_days,
        attributes_fn=_history_attributes,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the home's sensors, and each room's on its own subentry."""
    coordinator = entry.runtime_data.coordinator
    room_keys = coordinator.room_keys
    async_add_entities(
        ForesightSensor(coordinator, description, None, None, room_keys[None])
        for description in SENSORS
    )
    for room_id, subentry in entry.subentries.items():
        async_add_entities(
            (
                ForesightSensor(
                    coordinator, description, room_id, subentry.title, room_keys[room_id]
                )
                for description in SENSORS
            ),
            config_subentry_id=room_id,
        )


class ForesightSensor(ForesightEntity, SensorEntity):
    """A sensor described by a :class:`ForesightSensorDescription`."""

    entity_description: ForesightSensorDescription

    def __init__(
        self,
        coordinator: ForesightCoordinator,
        description: ForesightSensorDescription,
        room: str | None,
        room_name: str | None,
        keys: list[str],
    ) -> None:
        """Describe one sensor of the home or a room; ``keys`` are the sources it summarises."""
        super().__init__(coordinator, description.key, room, room_name)
        self.entity_description = description
        self._keys = keys

    @property
    def native_value(self) -> Any:
        """The sensor's value from the latest history summary."""
        return self.entity_description.value_fn(self.coordinator.data, self.room, self._keys)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Details of the summary behind the value."""
        return self.entity_description.attributes_fn(self.coordinator.data, self.room, self._keys)
