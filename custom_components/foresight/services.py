"""Foresight's actions: retrain now, and ask for a forecast as response data."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
import math
from typing import TYPE_CHECKING, Any

import probatio as vol

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .const import CALENDAR_DAYS, DOMAIN
from .coordinator import history_unavailable
from .history import HISTORY_ERRORS, HistoryClosedError, HistoryStore
from .home_maintenance import MaintenanceReport

if TYPE_CHECKING:
    from . import ForesightConfigEntry

SERVICE_RETRAIN = "retrain"
SERVICE_GET_FORECAST = "get_forecast"
ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_KIND = "kind"
ATTR_HOURS = "hours"
ATTR_ROOM = "room"
KINDS = ["occupancy", "energy", "maintenance"]
MAX_HOURS = CALENDAR_DAYS * 24  # the maintenance calendar's horizon

RETRAIN_SCHEMA = vol.Schema(
    {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string, vol.Optional(ATTR_ROOM): cv.string}
)


def _kind(value: Any) -> str:
    """One of the kinds; another is refused in the user's language."""
    if value not in KINDS:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_kind",
            translation_placeholders={"kind": str(value)},
        )
    return str(value)


def _hours(value: Any) -> int:
    """Whole hours (48, 48.0 or "48") from 1 to MAX_HOURS; 2.5 is refused, not cut to 2 unsaid."""
    try:
        number = float(value)
    except TypeError, ValueError:
        number = math.nan
    if not number.is_integer() or not 1 <= number <= MAX_HOURS:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_hours",
            translation_placeholders={"hours": str(value), "max": str(MAX_HOURS)},
        )
    return int(number)


def _room_only_for_occupancy(data: dict[str, Any]) -> dict[str, Any]:
    if ATTR_ROOM in data and data[ATTR_KIND] != "occupancy":
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="room_only_for_occupancy"
        )
    return data


GET_FORECAST_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
            vol.Required(ATTR_KIND): _kind,
            vol.Optional(ATTR_ROOM): cv.string,
            vol.Optional(ATTR_HOURS, default=24): _hours,
        }
    ),
    _room_only_for_occupancy,
)


def _entry(hass: HomeAssistant, call: ServiceCall) -> ForesightConfigEntry:
    """The loaded Foresight entry a call is about (there is at most one).

    Home Assistant's own check says which is wrong: no such entry, another integration's, or
    Foresight not loaded; in the user's language.
    """
    entry: ForesightConfigEntry = service.async_get_config_entry(
        hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    return entry


@contextmanager
def _reading_the_history(store: HistoryStore) -> Iterator[None]:
    """Turn Foresight unloading meanwhile, or its history out of reach, into translated errors."""
    try:
        yield
    except HistoryClosedError as error:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="unloaded") from error
    except HISTORY_ERRORS as error:
        raise history_unavailable(HomeAssistantError, store, error) from error


async def _async_retrain(call: ServiceCall) -> None:
    entry = _entry(call.hass, call)
    if room := call.data.get(ATTR_ROOM):
        # A room's models are trained with the home's (the home learns from every room).
        _room_id(entry, room)
    coordinator = entry.runtime_data.coordinator
    with _reading_the_history(coordinator.store):
        failed = await coordinator.async_train()
    if failed:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="training_failed",
            translation_placeholders={"models": ", ".join(failed)},
        )


async def _async_get_forecast(call: ServiceCall) -> ServiceResponse:
    entry = _entry(call.hass, call)
    coordinator = entry.runtime_data.coordinator
    hours: int = call.data[ATTR_HOURS]
    if call.data[ATTR_KIND] == "maintenance":
        return _maintenance_forecast(coordinator.data.maintenance, hours)
    if call.data[ATTR_KIND] == "occupancy":
        return _occupancy_forecast(entry, call.data.get(ATTR_ROOM), hours)
    energy = coordinator.energy
    if energy is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_energy_sensor")
    outlook = coordinator.data.energy
    if outlook is None or outlook.status == "learning":
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="still_learning")
    with _reading_the_history(coordinator.store):
        forecast: list[JsonValueType] = await call.hass.async_add_executor_job(
            energy.forecast, dt_util.utcnow(), hours
        )
    return {
        "kind": "energy",
        "status": outlook.status,
        "model": outlook.model,
        "skill": outlook.skill,
        "unit_of_measurement": "kWh",
        "forecast": forecast,
    }


def _room_id(entry: ForesightConfigEntry, room: str) -> str:
    """The subentry id of the room called ``room`` (or with that id)."""
    for subentry_id, subentry in entry.subentries.items():
        if room.casefold() in (subentry.title.casefold(), subentry_id.casefold()):
            return subentry_id
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_room",
        translation_placeholders={"room": room},
    )


def _occupancy_forecast(
    entry: ForesightConfigEntry, room: str | None, hours: int
) -> ServiceResponse:
    """A room's (or the home's) probability of use for each hour ahead."""
    room_id = _room_id(entry, room) if room else None
    coordinator = entry.runtime_data.coordinator
    outlook = coordinator.data.occupancy
    unit = outlook.rooms.get(room_id) if outlook is not None else None
    if unit is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="still_learning")
    return {
        "kind": "occupancy",
        "room": entry.subentries[room_id].title if room_id else None,
        "status": unit.status,
        "skill": unit.skill,
        "occupancy_probability": unit.occupancy_probability,
        "forecast": coordinator.occupancy.hourly(
            room_id, dt_util.utcnow(), hours, coordinator.untrusted_sources()
        ),
    }


def _maintenance_forecast(report: MaintenanceReport, hours: int) -> ServiceResponse:
    """Batteries due within the horizon (and every battery's date), problems now."""
    until = dt_util.utcnow() + timedelta(hours=hours)
    return {
        "kind": "maintenance",
        "batteries": [
            {
                "entity_id": battery.entity_id,
                "status": battery.status,
                "level": battery.level,
                "low_level": battery.low_level,
                "low_at": battery.low_at.isoformat() if battery.low_at else None,
                "likely_from": battery.low_at_early.isoformat() if battery.low_at_early else None,
                "likely_until": battery.low_at_late.isoformat() if battery.low_at_late else None,
                "within_horizon": battery.low_at is not None and battery.low_at <= until,
            }
            for battery in report.batteries
        ],
        "problems": [
            {"entity_id": p.entity_id, "problem": p.status, "since": p.since.isoformat()}
            for p in report.problems
        ],
        "appliances": {
            entity_id: {"status": a.status, "drifted": list(a.drifted_measures)}
            for entity_id, a in report.appliances.items()
        },
    }


def _validated[T](
    schema: Callable[[dict[str, Any]], dict[str, Any]],
    handler: Callable[[ServiceCall], Coroutine[Any, Any, T]],
) -> Callable[[ServiceCall], Coroutine[Any, Any, T]]:
    """Check a call's data against ``schema``; a bad argument is a translated error."""

    async def validated(call: ServiceCall) -> T:
        try:
            data = schema(dict(call.data))
        except vol.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_argument",
                translation_placeholders={"error": str(err)},
            ) from err
        return await handler(
            ServiceCall(
                call.hass, call.domain, call.service, data, call.context, call.return_response
            )
        )

    return validated


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once for all entries."""
    hass.services.async_register(
        DOMAIN, SERVICE_RETRAIN, _validated(RETRAIN_SCHEMA, _async_retrain)
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_FORECAST,
        _validated(GET_FORECAST_SCHEMA, _async_get_forecast),
        supports_response=SupportsResponse.ONLY,
    )
