"""Controllers: Foresight acting on its predictions, each behind a switch that is off by default."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..const import (
    CONF_CLIMATE,
    CONF_PEOPLE,
    CONF_PET_PRONE,
    CONF_SIMULATION_LIGHTS,
    CONF_SIMULATION_MEDIA,
)
from ..coordinator import ForesightCoordinator
from ..sources import Kind
from ..texts import Texts
from .base import Controller
from .heating import HeatingController
from .lighting import LightingController
from .presence_simulation import PresenceSimulationController
from .unexpected_activity import UnexpectedActivity


def build_controllers(
    hass: HomeAssistant, entry: ConfigEntry, coordinator: ForesightCoordinator, texts: Texts
) -> list[Controller]:
    """One controller per room with a thermostat, per room with lights, and the home's two.

    Presence simulation only with lights or media to switch; unexpected activity only with a
    motion or door sensor to watch.
    """
    controllers: list[Controller] = []
    for room_id, subentry in entry.subentries.items():
        doors = list(subentry.data.get(Kind.DOOR, []))
        if climate := subentry.data.get(CONF_CLIMATE):
            controllers.append(
                HeatingController(
                    hass, entry, coordinator, texts, room_id, subentry.title, climate, doors
                )
            )
        if lights := subentry.data.get(Kind.LIGHT, []):
            controllers.append(
                LightingController(
                    hass,
                    entry,
                    coordinator,
                    texts,
                    room_id,
                    subentry.title,
                    list(lights),
                    list(subentry.data.get(Kind.ILLUMINANCE, [])),
                )
            )
    lights = list(entry.options.get(CONF_SIMULATION_LIGHTS) or [])
    if not lights:
        lights = [
            light
            for subentry in entry.subentries.values()
            for light in subentry.data.get(Kind.LIGHT, [])
        ]
    media = list(entry.options.get(CONF_SIMULATION_MEDIA) or [])
    people = list(entry.data.get(CONF_PEOPLE, []))
    if lights or media:  # with nothing to switch, its switch would do nothing
        controllers.append(
            PresenceSimulationController(hass, entry, coordinator, texts, lights, media, people)
        )
    # Unexpected activity watches every room's motion and doors, but those pets set off.
    pet_prone = set(entry.options.get(CONF_PET_PRONE, []))
    watched: dict[str, str | None] = {
        entity_id: subentry.title
        for subentry in entry.subentries.values()
        for kind in (Kind.MOTION, Kind.DOOR)
        for entity_id in subentry.data.get(kind, [])
        if entity_id not in pet_prone
    }
    if watched:  # with no sensor to watch, nothing could ever be reported
        controllers.append(UnexpectedActivity(hass, entry, coordinator, texts, watched, people))
    return controllers


__all__ = ["Controller", "UnexpectedActivity", "build_controllers"]
