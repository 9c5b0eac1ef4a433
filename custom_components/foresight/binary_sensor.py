"""Foresight's binary sensors: unusual energy use, sensor problems, drifting appliances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from . import ForesightConfigEntry
from .const import DOMAIN, LISTED
from .controllers import UnexpectedActivity
from .coordinator import ForesightCoordinator
from .entity import ControllerEntity, ForesightEntity, add_entities

PARALLEL_UPDATES = 0

UNUSUAL_ENERGY = BinarySensorEntityDescription(
    key="unusual_energy",
    translation_key="unusual_energy",
    device_class=BinarySensorDeviceClass.PROBLEM,
)
SENSOR_PROBLEM = BinarySensorEntityDescription(
    key="sensor_problem",
    translation_key="sensor_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
)
OCCUPANCY = BinarySensorEntityDescription(
    key="occupancy",
    translation_key="occupancy",
    device_class=BinarySensorDeviceClass.OCCUPANCY,
)
SOMEONE_HOME = BinarySensorEntityDescription(
    key="someone_home",
    translation_key="someone_home",
    device_class=BinarySensorDeviceClass.PRESENCE,
)
UNEXPECTED_ACTIVITY = BinarySensorEntityDescription(
    key="unexpected_activity",
    translation_key="unexpected_activity",
    device_class=BinarySensorDeviceClass.PROBLEM,
)
APPLIANCE_PROBLEM = BinarySensorEntityDescription(
    key="appliance_problem",
    translation_key="appliance_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ForesightConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the home's presence and problem sensors, and each room's occupancy."""
    coordinator = entry.runtime_data.coordinator
    entities: list[ForesightEntity] = [SensorProblemSensor(coordinator, SENSOR_PROBLEM.key)]
    if coordinator.occupancy.keys:  # a room or a person to learn the home's occupancy from
        entities.append(SomeoneHomeSensor(coordinator, SOMEONE_HOME.key))
    if coordinator.energy is not None:
        entities.append(UnusualEnergySensor(coordinator, UNUSUAL_ENERGY.key))
    registry = er.async_get(hass)
    for appliance in coordinator.maintenance.appliance_keys:
        sensor = ApplianceProblemSensor(coordinator, appliance, registry.async_get(appliance))
        # Named by the power sensor's entity id before: the same entity, and the user's settings.
        earlier = f"{entry.entry_id}_appliance_{appliance}"
        if sensor.unique_id not in (None, earlier) and (
            kept := registry.async_get_entity_id(Platform.BINARY_SENSOR, DOMAIN, earlier)
        ):
            registry.async_update_entity(kept, new_unique_id=sensor.unique_id)
        entities.append(sensor)
    entities += (
        UnexpectedActivitySensor(detector)
        for detector in entry.runtime_data.controllers
        if isinstance(detector, UnexpectedActivity)
    )
    entities += (
        RoomOccupancySensor(coordinator, OCCUPANCY.key, room_id, subentry.title)
        for room_id, subentry in entry.subentries.items()
    )
    await add_entities(entry, async_add_entities, entities)


class RoomOccupancySensor(ForesightEntity, BinarySensorEntity):
    """On while the room is in use now, by all its sensors weighed as learned."""

    entity_description = OCCUPANCY
    shows_occupancy = True

    @property
    def is_on(self) -> bool | None:
        """Whether the room is in use (unknown until the first model)."""
        occupancy = self.coordinator.data.occupancy
        room = occupancy.rooms.get(self.room) if occupancy is not None else None
        return room.in_use if room is not None else None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """How likely, and how sure the model is."""
        occupancy = self.coordinator.data.occupancy
        room = occupancy.rooms.get(self.room) if occupancy is not None else None
        if room is None:
            return {}
        return {
            "probability": room.occupancy_probability,  # rounded as shown
            "confidence": round(room.confidence, 3),
        }


class SomeoneHomeSensor(ForesightEntity, BinarySensorEntity):
    """On while someone is home, from people's zones and every room's sensors."""

    entity_description = SOMEONE_HOME
    shows_occupancy = True

    @property
    def is_on(self) -> bool | None:
        """Whether someone is home (unknown until the first model)."""
        occupancy = self.coordinator.data.occupancy
        presence = occupancy.presence if occupancy is not None else None
        return presence.someone_home if presence is not None else None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """How likely."""
        occupancy = self.coordinator.data.occupancy
        presence = occupancy.presence if occupancy is not None else None
        return {"probability": presence.probability} if presence is not None else {}


class UnusualEnergySensor(ForesightEntity, BinarySensorEntity):
    """On while consumption stays outside its expected band long enough to matter."""

    entity_description = UNUSUAL_ENERGY

    @property
    def is_on(self) -> bool | None:
        """Whether the home's use is unusual now (unknown while nothing is expected yet)."""
        energy = self.coordinator.data.energy
        if energy is None or energy.status == "learning":
            return None
        return energy.unusual

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """What was expected (and its band), what was seen, and since when."""
        energy = self.coordinator.data.energy
        if energy is None or not energy.unusual:
            return {}
        return {
            "kind": energy.unusual_kind,
            "since": energy.unusual_since.isoformat() if energy.unusual_since else None,
            "expected_kwh": energy.unusual_expected_kwh,
            "expected_lower_kwh": energy.unusual_lower_kwh,
            "expected_upper_kwh": energy.unusual_upper_kwh,
            "seen_kwh": energy.unusual_seen_kwh,
        }


class SensorProblemSensor(ForesightEntity, BinarySensorEntity):
    """On while a source is silent, or stuck on, far beyond its own rhythm."""

    entity_description = SENSOR_PROBLEM

    @property
    def is_on(self) -> bool:
        """Whether any source has a problem."""
        return bool(self.coordinator.data.maintenance.problems)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """How many sources, and the first of them: how, since when, what their rhythm allows."""
        problems = self.coordinator.data.maintenance.problems
        return {
            "count": len(problems),
            "sources": [
                {
                    "entity_id": problem.entity_id,
                    "problem": problem.status,
                    "since": problem.since.isoformat(),
                    "allowed_hours": problem.allowed_hours,
                }
                for problem in problems[:LISTED]
            ],
        }


class ApplianceProblemSensor(ForesightEntity, BinarySensorEntity):
    """On while a watched appliance's cycles have drifted from what is normal for it."""

    entity_description = APPLIANCE_PROBLEM
    _unrecorded_attributes = frozenset({"duty_by_hour"})

    def __init__(
        self,
        coordinator: ForesightCoordinator,
        appliance: str,
        registered: er.RegistryEntry | None,
    ) -> None:
        """Watch the appliance measured by the power sensor ``appliance`` (``registered``)."""
        super().__init__(coordinator, APPLIANCE_PROBLEM.key)
        self._appliance = appliance
        # The registry's id outlives a rename of the power sensor; its entity id does not.
        sensor_id = registered.id if registered is not None else appliance
        self._attr_unique_id = f"{coordinator.config_entry.entry_id}_appliance_{sensor_id}"
        # The registry knows the name before the power sensor's integration has loaded.
        name = er.async_get_full_entity_name(coordinator.hass, registered) if registered else ""
        if not name and (state := coordinator.hass.states.get(appliance)) is not None:
            name = state.name
        self._attr_translation_placeholders = {"appliance": name or appliance}
        self._registered = registered is not None

    @property
    def available(self) -> bool:
        """Unavailable once its power sensor is deleted: what was learned says nothing now."""
        if self._registered and er.async_get(self.hass).async_get(self._appliance) is None:
            return False
        return super().available

    @property
    def is_on(self) -> bool | None:
        """Whether the appliance has drifted (unknown while it is still being learned)."""
        outlook = self.coordinator.data.maintenance.appliances.get(self._appliance)
        if outlook is None or outlook.status == "learning":
            return None
        return outlook.status == "drifted"

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """What is normal for each measure of its cycling, and what is seen."""
        outlook = self.coordinator.data.maintenance.appliances.get(self._appliance)
        if outlook is None:
            return {}
        return {
            "power_sensor": self._appliance,
            "status": outlook.status,
            "drifted": list(outlook.drifted_measures),
            "measures": {
                m.name: {"normal": m.normal, "low": m.low, "high": m.high, "seen": m.seen}
                for m in outlook.measures
            },
            "duty_by_hour": list(outlook.duty_by_hour),
        }


class UnexpectedActivitySensor(ControllerEntity, BinarySensorEntity, RestoreEntity):
    """On when motion, a door or presence fired while everybody was away, until someone is home.

    Available as its controller is: an alarm read from live states outlives a history out of
    reach.
    """

    entity_description = UNEXPECTED_ACTIVITY

    def __init__(self, detector: UnexpectedActivity) -> None:
        """Show what ``detector`` saw."""
        super().__init__(detector, UNEXPECTED_ACTIVITY.key)
        self.detector = detector

    async def async_added_to_hass(self) -> None:
        """Take back what was seen before a restart, and follow the detector."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state == STATE_ON and self.detector.everybody_away():
            self.detector.restore(dict(last.attributes))
        self.async_on_remove(self.detector.add_change_listener(self.async_write_ha_state))

    @property
    def is_on(self) -> bool:
        """Whether unexpected activity was seen while away (and the alerts are switched on)."""
        return self.detector.enabled and self.detector.activity is not None

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Which sensor, in which room, and when."""
        return self.detector.report() if self.is_on else {}
