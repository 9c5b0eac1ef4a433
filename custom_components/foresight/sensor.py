"""Foresight's sensors: predictions, and the diagnostics of each room's and the home's models."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter

from . import ForesightConfigEntry
from .const import LISTED
from .coordinator import ForesightCoordinator, Snapshot
from .entity import ForesightEntity, add_entities
from .home_occupancy import Expected, RoomOutlook
from .learning.occupancy import MIN_HISTORY_DAYS

PARALLEL_UPDATES = 0

MODEL_STATUSES = ["learning", "ready", "degraded"]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a sensor is about: a room (None for the home) and the series it summarises."""

    room: str | None
    keys: list[str]


@dataclass(frozen=True, kw_only=True)
class ForesightSensorDescription(SensorEntityDescription):
    """A sensor computed from the coordinator's snapshot."""

    value_fn: Callable[[Snapshot, Scope], Any]
    attributes_fn: Callable[[Snapshot, Scope], Mapping[str, Any]] = lambda _s, _scope: {}
    available_fn: Callable[[Snapshot], bool] = lambda _s: True
    shows_occupancy: bool = False  # read from the occupancy outlook, published every minute


def _history_attributes(snapshot: Snapshot, scope: Scope) -> Mapping[str, Any]:
    covered = [snapshot.history.coverage[k] for k in scope.keys if k in snapshot.history.coverage]
    return {
        "sources": len(scope.keys),
        "samples_kept": sum(c.samples for c in covered),
        "hours_kept": sum(c.hours for c in covered),
        "dropped": sum(sum(c.dropped.values()) for c in covered),
    }


def _room(snapshot: Snapshot, scope: Scope) -> RoomOutlook | None:
    if snapshot.occupancy is None:
        return None
    return snapshot.occupancy.rooms.get(scope.room)


def _status(snapshot: Snapshot, scope: Scope) -> str:
    room = _room(snapshot, scope)
    return room.status if room is not None else "learning"


def _usable_days(snapshot: Snapshot, room: RoomOutlook, scope: Scope) -> int:
    """The whole days the status was judged on.

    The model's, as far as the room's own sources were watched (a room put in last week has a
    week, in a home watched for months).
    """
    firsts = [
        first
        for key in scope.keys
        if (covered := snapshot.history.coverage.get(key)) is not None
        and (first := covered.first) is not None
    ]
    if not firsts:
        return 0
    watched = dt_util.utcnow() - dt_util.utc_from_timestamp(min(firsts))
    return max(0, min(room.learned_days, watched.days))


def _status_attributes(snapshot: Snapshot, scope: Scope) -> Mapping[str, Any]:
    room = _room(snapshot, scope)
    usable = _usable_days(snapshot, room, scope) if room is not None else 0
    attributes: dict[str, Any] = {
        # The days the status was judged on, not the dates they touch.
        "usable_days": usable,
        "days_needed": MIN_HISTORY_DAYS,
        "confidence": round(room.confidence, 3) if room is not None else 0.0,
    }
    if room is None or room.status == "learning":
        # Too few days yet; or days enough, but too little use (or none) seen to learn.
        attributes["waiting_for"] = "history" if usable < MIN_HISTORY_DAYS else "use"
    return attributes


def _percent(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _accuracy_attributes(snapshot: Snapshot, scope: Scope) -> Mapping[str, Any]:
    room = _room(snapshot, scope)
    if room is None:
        return {}
    keys = (
        "forecast_brier",
        "forecast_brier_routine",
        "forecast_brier_persistence",
        "nowcast_brier",
        "nowcast_brier_routine",
        "nowcast_brier_sensors",
        "nowcast_skill",
    )
    return {key: round(room.scores[key], 4) for key in keys if key in room.scores}


def _forecast_attributes(snapshot: Snapshot, scope: Scope) -> Mapping[str, Any]:
    room = _room(snapshot, scope)
    return {"forecast": room.hourly if room is not None else []}


def _probability(snapshot: Snapshot, scope: Scope) -> float | None:
    room = _room(snapshot, scope)
    return _percent(room.occupancy_probability) if room is not None else None


def _next_hour(snapshot: Snapshot, scope: Scope) -> float | None:
    room = _room(snapshot, scope)
    return _percent(room.next_hour) if room is not None else None


def _next_use(snapshot: Snapshot, scope: Scope) -> datetime | None:
    room = _room(snapshot, scope)
    return room.next_use if room is not None else None


def _skill(snapshot: Snapshot, scope: Scope) -> float | None:
    room = _room(snapshot, scope)
    return _percent(room.skill) if room is not None else None


# Every room, and the home where it has a room or a person to learn from.
OCCUPANCY_SENSORS: tuple[ForesightSensorDescription, ...] = (
    ForesightSensorDescription(
        key="occupancy_probability",
        shows_occupancy=True,
        translation_key="occupancy_probability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_probability,
    ),
    ForesightSensorDescription(
        key="occupancy_forecast",
        shows_occupancy=True,
        translation_key="occupancy_forecast",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=_next_hour,
        attributes_fn=_forecast_attributes,
    ),
    ForesightSensorDescription(
        key="next_use",
        shows_occupancy=True,
        translation_key="next_use",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_use,
    ),
    ForesightSensorDescription(
        key="model_status",
        shows_occupancy=True,
        translation_key="model_status",
        device_class=SensorDeviceClass.ENUM,
        options=MODEL_STATUSES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_status,
        attributes_fn=_status_attributes,
    ),
    ForesightSensorDescription(
        key="model_accuracy",
        shows_occupancy=True,
        translation_key="model_accuracy",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_skill,
        attributes_fn=_accuracy_attributes,
    ),
    ForesightSensorDescription(
        key="last_trained",
        translation_key="last_trained",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot, _scope: snapshot.trained_at.get("occupancy"),
        attributes_fn=lambda snapshot, _scope: {
            "last_rejected": snapshot.rejected_at.get("occupancy")
        },
    ),
)

# Every room and the home.
HISTORY_SENSOR = ForesightSensorDescription(
    key="history",
    translation_key="history",
    native_unit_of_measurement=UnitOfTime.DAYS,
    state_class=SensorStateClass.MEASUREMENT,
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=lambda snapshot, scope: snapshot.history.days_with_data.get(scope.room, 0),
    attributes_fn=_history_attributes,
)


def _expected(snapshot: Snapshot, which: str) -> Expected | None:
    presence = snapshot.occupancy.presence if snapshot.occupancy is not None else None
    if presence is None:
        return None
    return presence.expected_arrival if which == "arrival" else presence.expected_departure


def _expected_sensor(which: str) -> ForesightSensorDescription:
    def value(snapshot: Snapshot, _scope: Scope) -> datetime | None:
        expected = _expected(snapshot, which)
        return expected[0] if expected is not None else None

    def attributes(snapshot: Snapshot, _scope: Scope) -> Mapping[str, Any]:
        expected = _expected(snapshot, which)
        return {"earliest": expected[1], "latest": expected[2]} if expected else {}

    return ForesightSensorDescription(
        key=f"expected_{which}",
        shows_occupancy=True,
        translation_key=f"expected_{which}",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=value,
        attributes_fn=attributes,
        available_fn=lambda snapshot: _expected(snapshot, which) is not None,
    )


# The home as a whole: the expected arrival while away, the departure while home.
PRESENCE_SENSORS = (_expected_sensor("arrival"), _expected_sensor("departure"))


def _energy(snapshot: Snapshot, name: str) -> Any:
    return getattr(snapshot.energy, name) if snapshot.energy is not None else None


def _energy_forecast_attributes(snapshot: Snapshot, _scope: Scope) -> Mapping[str, Any]:
    return {"forecast": snapshot.energy.forecast if snapshot.energy is not None else []}


def _energy_accuracy_attributes(snapshot: Snapshot, _scope: Scope) -> Mapping[str, Any]:
    energy = snapshot.energy
    if energy is None:
        return {}
    published = energy.status != "learning"  # learning: no forecast, so no model publishes it
    return {
        "model": energy.model if published else None,
        # A narrow winner is published mixed with the steadier half blend, half smoothed profile.
        "model_share": energy.model_share if published else None,
        "nrmse": energy.nrmse,
        "nrmse_baseline": energy.nrmse_baseline,
        "baseline": "same_hour_last_7_days",
        "trained_days": energy.trained_days,
        # Whether expected occupancy helps this home's forecast, measured on its held-out days.
        **(
            {
                "occupancy_input": energy.occupancy_input,
                "skill_with_occupancy": energy.skill_with_occupancy,
                "skill_without_occupancy": energy.skill_without_occupancy,
            }
            if energy.occupancy_input is not None
            else {}
        ),
    }


def _skill_percent(snapshot: Snapshot, _scope: Scope) -> float | None:
    skill = _energy(snapshot, "skill")
    return round(skill * 100, 1) if skill is not None else None


# The home, when it has an electricity sensor.
ENERGY_SENSORS: tuple[ForesightSensorDescription, ...] = (
    ForesightSensorDescription(
        key="energy_next_hour",
        translation_key="energy_next_hour",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda snapshot, _scope: _energy(snapshot, "next_hour_kwh"),
        attributes_fn=_energy_forecast_attributes,
    ),
    ForesightSensorDescription(
        key="energy_rest_of_today",
        translation_key="energy_rest_of_today",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda snapshot, _scope: _energy(snapshot, "rest_of_today_kwh"),
    ),
    ForesightSensorDescription(
        key="expected_power",
        translation_key="expected_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda snapshot, _scope: _energy(snapshot, "expected_power_w"),
    ),
    ForesightSensorDescription(
        key="base_load",
        translation_key="base_load",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda snapshot, _scope: _energy(snapshot, "base_load_w"),
    ),
    ForesightSensorDescription(
        key="energy_model_status",
        translation_key="energy_model_status",
        device_class=SensorDeviceClass.ENUM,
        options=MODEL_STATUSES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot, _scope: _energy(snapshot, "status") or "learning",
    ),
    ForesightSensorDescription(
        key="energy_forecast_accuracy",
        translation_key="energy_forecast_accuracy",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_skill_percent,
        attributes_fn=_energy_accuracy_attributes,
    ),
    ForesightSensorDescription(
        key="energy_last_trained",
        translation_key="energy_last_trained",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot, _scope: snapshot.trained_at.get("energy"),
    ),
)


def _next_battery(snapshot: Snapshot, _scope: Scope) -> Any:
    predicted = snapshot.maintenance.predicted()
    return predicted[0].low_at if predicted else None


NEXT_BATTERY_ATTRIBUTES = frozenset(
    {
        "entity_id",
        "level",
        "low_level",
        "likely_from",
        "likely_until",
        "batteries",
        "learning",
        "upcoming",
    }
)


def _next_battery_attributes(snapshot: Snapshot, _scope: Scope) -> Mapping[str, Any]:
    batteries = snapshot.maintenance.batteries
    # Those with too little of their discharge seen yet say so, rather than a guessed date.
    watched = {
        "batteries": len(batteries),
        "learning": sorted(b.entity_id for b in batteries if b.status == "learning")[:LISTED],
    }
    predicted = snapshot.maintenance.predicted()
    if not predicted:
        return watched
    first = predicted[0]
    return {
        "entity_id": first.entity_id,
        "level": first.level,
        "low_level": first.low_level,
        "likely_from": first.low_at_early,
        "likely_until": first.low_at_late,
        **watched,
        "upcoming": [
            {
                "entity_id": battery.entity_id,
                "level": battery.level,
                "low_at": battery.low_at.isoformat() if battery.low_at else None,
            }
            for battery in predicted[:5]
        ],
    }


# The home's maintenance.
MAINTENANCE_SENSORS: tuple[ForesightSensorDescription, ...] = (
    ForesightSensorDescription(
        key="next_battery",
        translation_key="next_battery",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_battery,
        attributes_fn=_next_battery_attributes,
    ),
)


def _warm_up(snapshot: Snapshot, scope: Scope) -> float | None:
    warm_up = snapshot.warm_up.get(scope.room or "")
    return warm_up.rate_c_per_h if warm_up is not None else None


def _warm_up_attributes(snapshot: Snapshot, scope: Scope) -> Mapping[str, Any]:
    warm_up = snapshot.warm_up.get(scope.room or "")
    if warm_up is None or warm_up.gain_c_per_h is None:
        return {}
    return {
        "temperature": warm_up.temperature,
        "target_temperature": warm_up.target,
        "minutes_to_target": warm_up.minutes_to_target,
        "heating_gain": round(warm_up.gain_c_per_h, 3),
        "heat_loss": round(warm_up.loss_per_h or 0.0, 4),
        "delay_minutes": warm_up.delay_min,
    }


# Each room with a thermostat and a temperature sensor.
WARM_UP_SENSOR = ForesightSensorDescription(
    key="warm_up_rate",
    translation_key="warm_up_rate",
    native_unit_of_measurement="°C/h",
    state_class=SensorStateClass.MEASUREMENT,
    entity_category=EntityCategory.DIAGNOSTIC,
    suggested_display_precision=1,
    value_fn=_warm_up,
    attributes_fn=_warm_up_attributes,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the home's sensors, and each room's on its own subentry."""
    coordinator = entry.runtime_data.coordinator
    room_keys = coordinator.room_keys
    home = Scope(None, room_keys[None])
    descriptions: tuple[ForesightSensorDescription, ...] = (HISTORY_SENSOR, *MAINTENANCE_SENSORS)
    if coordinator.occupancy.keys:  # a room or a person to learn the home's occupancy from
        descriptions = (*OCCUPANCY_SENSORS, *descriptions, *PRESENCE_SENSORS)
    if coordinator.energy is not None:
        descriptions += ENERGY_SENSORS
    entities = [ForesightSensor(coordinator, d, home) for d in descriptions]
    for room_id, subentry in entry.subentries.items():
        if room_id not in room_keys:
            continue  # added while Foresight started: it comes with the reload that follows
        room = Scope(room_id, room_keys[room_id])
        entities += (
            ForesightSensor(coordinator, d, room, subentry.title)
            for d in (*OCCUPANCY_SENSORS, HISTORY_SENSOR)
        )
        if room_id in coordinator.thermal.rooms:
            entities.append(WarmUpSensor(coordinator, WARM_UP_SENSOR, room, subentry.title))
    await add_entities(entry, async_add_entities, entities)


class ForesightSensor(ForesightEntity, SensorEntity):
    """A sensor described by a :class:`ForesightSensorDescription`."""

    entity_description: ForesightSensorDescription
    # Home Assistant reads this per class: the hourly forecasts and the next batteries (which,
    # their levels reckoned to a tenth, their dates) are for dashboards and automations, not
    # for the recorder's database.
    _unrecorded_attributes = frozenset({"forecast"}) | NEXT_BATTERY_ATTRIBUTES

    def __init__(
        self,
        coordinator: ForesightCoordinator,
        description: ForesightSensorDescription,
        scope: Scope,
        room_name: str | None = None,
    ) -> None:
        """Describe one sensor of the home or of a room."""
        super().__init__(coordinator, description.key, scope.room, room_name)
        self.entity_description = description
        self._scope = scope
        self.shows_occupancy = description.shows_occupancy

    @property
    def available(self) -> bool:
        """Unavailable when there is nothing to show (an arrival while someone is home)."""
        return super().available and self.entity_description.available_fn(self.coordinator.data)

    @property
    def native_value(self) -> Any:
        """The sensor's value from the latest snapshot."""
        return self.entity_description.value_fn(self.coordinator.data, self._scope)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Details behind the value."""
        return self.entity_description.attributes_fn(self.coordinator.data, self._scope)


class WarmUpSensor(ForesightSensor):
    """The warm-up rate, learned in °C, shown in the home's temperature unit per hour."""

    def _in_fahrenheit(self) -> bool:
        return self.hass.config.units.temperature_unit == UnitOfTemperature.FAHRENHEIT

    @property
    def native_unit_of_measurement(self) -> str:
        """°C/h, or °F/h where the home shows °F (a rate has no device class to convert it)."""
        return "°F/h" if self._in_fahrenheit() else "°C/h"

    @property
    def native_value(self) -> Any:
        """Degrees an hour: a difference, so °F/h is °C/h × 1.8 (no 32 offset)."""
        rate = super().native_value
        return round(rate * 1.8, 2) if rate is not None and self._in_fahrenheit() else rate

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """The room's temperatures and the heating gain in the same unit as the rate."""
        attributes = dict(super().extra_state_attributes)
        if self._in_fahrenheit() and attributes:
            for name in ("temperature", "target_temperature"):
                if (temperature := attributes[name]) is not None:
                    attributes[name] = round(
                        TemperatureConverter.convert(
                            temperature, UnitOfTemperature.CELSIUS, UnitOfTemperature.FAHRENHEIT
                        ),
                        1,
                    )
            attributes["heating_gain"] = round(attributes["heating_gain"] * 1.8, 3)
        return attributes
