"""Foresight: learns how a home is used and predicts it, from the sensors it already has."""

from __future__ import annotations

from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
import itertools
import logging
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import async_track_time_change, async_track_utc_time_change
from homeassistant.helpers.restore_state import RestoreStateData
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassEntryKey

from .backfill import async_backfill
from .backup import async_after_backup, async_hold_during_backup, async_when_no_backup
from .blueprint_install import async_install_blueprints
from .const import (
    CONF_BATTERY_CHARGE_SENSOR,
    CONF_BATTERY_DISCHARGE_SENSOR,
    CONF_BATTERY_LOW_LEVEL,
    CONF_BATTERY_LOW_LEVELS,
    CONF_CLIMATE,
    CONF_ENERGY_SENSOR,
    CONF_EXCLUDED_BATTERIES,
    CONF_EXPORT_SENSOR,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_PEOPLE,
    CONF_PRODUCTION_SENSOR,
    CONF_RETENTION_DAYS,
    CONF_SIMULATION_LIGHTS,
    CONF_SIMULATION_MEDIA,
    CONF_TRUSTED_PRESENCE,
    CONF_WATCHED_APPLIANCES,
    CONF_WORKDAY_SENSOR,
    DEFAULT_BATTERY_LOW_LEVEL,
    DEFAULT_RETENTION_DAYS,
    DOMAIN,
    ELECTRICITY_FLOWS,
    HISTORY_DIR,
    KEEP_CHOICES_AFTER_S,
    TRAIN_AT,
)
from .controllers import Controller, build_controllers
from .coordinator import ForesightCoordinator, history_unavailable
from .entity import async_forget_last_states
from .history import HISTORY_ERRORS, HistoryStore, HistoryTooNewError
from .home_energy import EnergyFlow, HomeEnergy
from .home_maintenance import HomeMaintenance
from .home_occupancy import HomeOccupancy, occupancy_sources
from .home_thermal import HeatedRoom, HomeThermal
from .models import ModelStore
from .observe import Observer, Unwritten
from .renames import (
    PENDING_RENAMES,
    RenameFollower,
    async_follow_new_batteries,
    async_keep_renames_meanwhile,
)
from .repairs import (
    async_check_energy_flows,
    async_check_sources,
    async_clear_all,
    async_history_rebuilt,
)
from .services import async_setup_services
from .sources import (
    Kind,
    Source,
    battery_sensors,
    energy_kind_of,
    kept_series,
    room_sources,
    unique_sources,
)
from .texts import Texts, async_load_texts

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.CALENDAR,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
# Readings an unloaded entry could not write (a full disk), for its next setup to write first.
UNWRITTEN: HassEntryKey[Unwritten] = HassEntryKey(f"{DOMAIN}_unwritten")


@dataclass(slots=True)
class ForesightData:
    """What a running Foresight entry holds."""

    store: HistoryStore
    observer: Observer
    coordinator: ForesightCoordinator
    models: ModelStore
    renames: RenameFollower
    texts: Texts
    # Saves Home Assistant's restorable states soon after a choice made on a controller.
    keep_choices: Debouncer[Coroutine[Any, Any, None]]
    controllers: list[Controller] = field(default_factory=list)


type ForesightConfigEntry = ConfigEntry[ForesightData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register Foresight's actions; keep the renames a home misses while it is not loaded."""
    async_setup_services(hass)
    async_keep_renames_meanwhile(hass)
    return True


def home_sources(
    hass: HomeAssistant, entry: ConfigEntry, kept_kinds: Mapping[str, str] | None = None
) -> list[Source]:
    """The series the home's own configuration and settings ask for.

    ``kept_kinds``: what the history kept each series as, for an electricity sensor that has
    no unit yet (it loads after Foresight): its readings are not then dropped as power.
    """
    sources = [Source(person, Kind.PERSON) for person in entry.data.get(CONF_PEOPLE, [])]
    for electricity in itertools.chain.from_iterable(electricity_sensors(entry).values()):
        kept = (kept_kinds or {}).get(electricity)
        kind = energy_kind_of(hass, electricity) or (Kind(kept) if kept else Kind.POWER)
        sources.append(Source(electricity, kind))
    if outdoor := entry.data.get(CONF_OUTDOOR_TEMPERATURE):
        sources.append(Source(outdoor, Kind.TEMPERATURE))
    sources += [Source(appliance, Kind.POWER) for appliance in watched_appliances(entry)]
    # Presence simulation learns the evenings of the lights and media it may switch.
    sources += [
        Source(light, Kind.LIGHT) for light in entry.options.get(CONF_SIMULATION_LIGHTS, [])
    ]
    sources += [Source(media, Kind.MEDIA) for media in entry.options.get(CONF_SIMULATION_MEDIA, [])]
    if workday := entry.options.get(CONF_WORKDAY_SENSOR):
        sources.append(Source(workday, Kind.WORKDAY))
    excluded = entry.options.get(CONF_EXCLUDED_BATTERIES, [])
    sources += [Source(battery, Kind.BATTERY) for battery in battery_sensors(hass, excluded)]
    return sources


def electricity_sensors(entry: ConfigEntry) -> dict[str, list[str]]:
    """The home's electricity sensors by setting: the main ones and its other flows, if any."""
    return {conf: entity_ids for conf in ELECTRICITY_FLOWS if (entity_ids := entry.data.get(conf))}


def heated_rooms(entry: ConfigEntry) -> dict[str, HeatedRoom]:
    """The rooms with a thermostat and a temperature sensor: their warm-up can be learned."""
    rooms = {}
    for room_id, subentry in entry.subentries.items():
        climate = subentry.data.get(CONF_CLIMATE)
        temperatures = subentry.data.get(Kind.TEMPERATURE, [])
        if climate and temperatures:
            heating, setpoint = Source(climate, Kind.HEATING), Source(climate, Kind.SETPOINT)
            rooms[room_id] = HeatedRoom(temperatures[0], heating.key, setpoint.key)
    return rooms


def watched_appliances(entry: ConfigEntry) -> list[str]:
    """The power sensors whose appliances' cycles Foresight watches."""
    return list(entry.options.get(CONF_WATCHED_APPLIANCES, []))


def history_path(hass: HomeAssistant, entry: ConfigEntry) -> Path:
    """Where an entry's history file lives."""
    return Path(hass.config.path(".storage", HISTORY_DIR, f"{entry.entry_id}.db"))


@contextmanager
def _retried_if_out_of_reach(store: HistoryStore) -> Iterator[None]:
    """A history locked or out of reach for now: Home Assistant tries the setup again later."""
    try:
        yield
    except HISTORY_ERRORS as error:
        raise history_unavailable(ConfigEntryNotReady, store, error) from error


async def async_migrate_entry(hass: HomeAssistant, entry: ForesightConfigEntry) -> bool:
    """Bring a home set up by an earlier Foresight to this one's format."""
    if entry.version > 2:
        return False  # from a newer Foresight: left as it is, not set up
    if entry.version == 1:
        # 2: each electricity setting holds a list (a meter with two tariffs, two inverters);
        # one left empty ("") is dropped.
        data = dict(entry.data)
        for conf in ELECTRICITY_FLOWS:
            if isinstance(value := data.get(conf), str):
                if value:
                    data[conf] = [value]
                else:
                    del data[conf]
        hass.config_entries.async_update_entry(entry, data=data, version=2, minor_version=1)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ForesightConfigEntry) -> bool:
    """Open the history, start observing, and backfill once Home Assistant has started."""
    rooms = set(entry.subentries)

    async def _async_reload(hass: HomeAssistant, entry: ForesightConfigEntry) -> None:
        # Home Assistant 2026.10 drops a removed room's entities from the registry after this starts.
        removed = [
            registered
            for registered in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
            if registered.config_subentry_id in rooms.difference(entry.subentries)
        ]
        await hass.config_entries.async_reload(entry.entry_id)
        # Once unloaded, so that nothing keeps them again: a room added again is a new room.
        async_forget_last_states(hass, removed)

    # Before anything is read: a room or setting changed while Foresight starts reloads it after.
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    store = HistoryStore(history_path(hass, entry))
    try:
        with _retried_if_out_of_reach(store):
            opened = await hass.async_add_executor_job(store.open)
    except HistoryTooNewError as error:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="history_too_new",
            translation_placeholders={"path": str(store.path)},
        ) from error

    async def _close_store() -> None:
        await hass.async_add_executor_job(store.close)

    entry.async_on_unload(_close_store)
    await async_hold_during_backup(hass, store)
    set_aside = opened.set_aside
    if set_aside is None:  # set aside at an earlier start, whose issue went with that start
        set_aside = max(await hass.async_add_executor_job(store.damaged_copies), default=None)
    if set_aside is not None:
        async_history_rebuilt(hass, set_aside)

    room_keys: dict[str | None, list[str]] = {None: []}
    with _retried_if_out_of_reach(store):
        kept_kinds = await hass.async_add_executor_job(store.kinds)
    all_sources = home_sources(hass, entry, kept_kinds)
    for room_id, subentry in entry.subentries.items():
        in_room = room_sources(room_id, subentry.data)
        room_keys[room_id] = [source.key for source in in_room]
        all_sources += in_room
    sources = unique_sources(all_sources)
    room_keys[None] = list(sources)

    series = kept_series(sources.values())
    observer = Observer(hass, store, series, hass.data.get(UNWRITTEN, {}).pop(entry.entry_id, None))

    @callback
    def _keep_unwritten() -> None:
        if (unwritten := observer.unwritten(dt_util.utcnow().timestamp())) is not None:
            hass.data.setdefault(UNWRITTEN, {})[entry.entry_id] = unwritten

    entry.async_on_unload(_keep_unwritten)
    models = ModelStore(hass, entry.entry_id)
    await models.async_load()
    zone = dt_util.get_default_time_zone()
    people = [key for key, source in sources.items() if source.kind is Kind.PERSON]
    energy = None
    electricity = electricity_sensors(entry)
    if CONF_ENERGY_SENSOR in electricity:
        outdoor = entry.data.get(CONF_OUTDOOR_TEMPERATURE)
        # Panels produce nothing in the dark; without a home battery, nothing is exported then.
        zero_in_the_dark = {CONF_PRODUCTION_SENSOR}
        if not electricity.keys() & {CONF_BATTERY_DISCHARGE_SENSOR, CONF_BATTERY_CHARGE_SENSOR}:
            zero_in_the_dark.add(CONF_EXPORT_SENSOR)
        energy = HomeEnergy(
            store,
            [
                EnergyFlow(
                    sources[entity_id].key,
                    sources[entity_id].kind,
                    ELECTRICITY_FLOWS[conf],
                    zero_in_the_dark=conf in zero_in_the_dark,
                )
                for conf, entity_ids in electricity.items()
                for entity_id in entity_ids
            ],
            outdoor,
            zone,
            people=people,
            workday_key=entry.options.get(CONF_WORKDAY_SENSOR),
            country=hass.config.country,
            location=(hass.config.latitude, hass.config.longitude),
        )
    default_low = float(entry.options.get(CONF_BATTERY_LOW_LEVEL, DEFAULT_BATTERY_LOW_LEVEL))
    low_levels = entry.options.get(CONF_BATTERY_LOW_LEVELS, {})
    maintenance = HomeMaintenance(
        store,
        zone,
        {key: str(source.kind) for key, source in sources.items()},
        {
            key: float(low_levels.get(key, default_low))
            for key, source in sources.items()
            if source.kind is Kind.BATTERY
        },
        watched_appliances(entry),
        entry.data.get(CONF_OUTDOOR_TEMPERATURE),
        people,
    )
    occupancy = HomeOccupancy(
        store,
        zone,
        occupancy_sources(sources.values(), watched_appliances(entry)),
        trusted={
            entity_id
            for subentry in entry.subentries.values()
            for entity_id in subentry.data.get(CONF_TRUSTED_PRESENCE, [])
        },
    )
    with _retried_if_out_of_reach(store):
        await hass.async_add_executor_job(
            occupancy.restore, models.learned("occupancy"), dt_util.utcnow()
        )
    thermal = HomeThermal(
        store, zone, heated_rooms(entry), entry.data.get(CONF_OUTDOOR_TEMPERATURE)
    )
    coordinator = ForesightCoordinator(
        hass,
        entry,
        store,
        observer,
        sources,
        room_keys,
        models,
        energy,
        maintenance,
        occupancy,
        thermal,
    )

    async def _close_models() -> None:
        try:
            await coordinator.async_keep_learned()
        finally:
            await models.async_close()

    entry.async_on_unload(_close_models)
    texts = await async_load_texts(hass)
    controllers = build_controllers(hass, entry, coordinator, texts)
    renames = RenameFollower(hass, entry, sources)
    keep_choices = Debouncer(
        hass,
        _LOGGER,
        cooldown=KEEP_CHOICES_AFTER_S,
        immediate=False,
        function=partial(RestoreStateData.async_save_persistent_states, hass),
    )
    entry.async_on_unload(keep_choices.async_shutdown)
    entry.runtime_data = ForesightData(
        store, observer, coordinator, models, renames, texts, keep_choices, controllers
    )
    for controller in controllers:
        entry.async_on_unload(controller.async_disable)
    entry.async_on_unload(coordinator.async_start_occupancy())
    with _retried_if_out_of_reach(store):
        await observer.async_start(dt_util.utcnow().timestamp())
    # A setup that fails after this point must not leave the listener and the clock behind.
    entry.async_on_unload(observer.stop_listening)
    await coordinator.async_config_entry_first_refresh()
    await coordinator.async_publish_occupancy()

    retention = int(entry.options.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS))

    @callback
    def _started(_hass: HomeAssistant) -> None:
        async_check_sources(hass, {source.entity_id for source in sources.values()})
        started_at = observer.started_at or dt_util.utcnow().timestamp()
        until = dt_util.utc_from_timestamp(started_at)

        async def _backfill_then_train() -> None:
            filled = await async_after_backup(
                hass, partial(async_backfill, hass, store, series, until, retention)
            )
            await coordinator.async_history_read(filled)

        entry.async_create_background_task(
            hass, _backfill_then_train(), "foresight backfill and training"
        )
        # Sensors whose integrations loaded after Foresight have states now: show what they say.
        entry.async_create_background_task(
            hass, coordinator.async_request_refresh(), "foresight refresh at start"
        )

    @callback
    def _nightly(_now: datetime) -> None:
        entry.async_create_background_task(hass, coordinator.async_train(), "foresight training")

    @callback
    def _new_meter_hour(_now: datetime) -> None:
        entry.async_create_background_task(
            hass, coordinator.async_request_refresh(), "foresight refresh at the hour"
        )

    entry.async_on_unload(async_at_started(hass, _started))
    # The energy forecast starts from the meter's hour under way: it moves on when that hour does.
    entry.async_on_unload(async_track_utc_time_change(hass, _new_meter_hour, minute=0, second=0))
    hour, minute, second = TRAIN_AT
    entry.async_on_unload(
        async_track_time_change(hass, _nightly, hour=hour, minute=minute, second=second)
    )
    entry.async_on_unload(renames.async_listen())
    entry.async_on_unload(async_follow_new_batteries(hass, entry, sources))
    await async_check_energy_flows(hass, entry)

    language = hass.config.language

    @callback
    def _core_config_updated(_event: Event) -> None:
        # Everything learned and predicted is on the home's wall clock: start again on the new one.
        # Names and calendar texts were written in the server's language at setup: a new one too.
        if hass.config.time_zone != models.time_zone or hass.config.language != language:
            hass.config_entries.async_schedule_reload(entry.entry_id)
        if energy is not None:  # where the sun sets for the home's solar panels
            energy.location = (hass.config.latitude, hass.config.longitude)

    entry.async_on_unload(hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, _core_config_updated))

    async def _flush_on_stop(_event: Event) -> None:
        await observer.async_stop(dt_util.utcnow().timestamp())
        await coordinator.async_keep_learned()  # Home Assistant stops without unloading

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _flush_on_stop))
    await async_install_blueprints(hass)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Only now are the controllers' settings restored: a first look before would use defaults.
    for controller in controllers:
        controller.async_ready()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ForesightConfigEntry) -> bool:
    """Stop observing and write what is still buffered."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        # A rename under way (the reload it asked for may be this one) moves its history first.
        await entry.runtime_data.renames.async_stop()
        await entry.runtime_data.observer.async_stop(dt_util.utcnow().timestamp())
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: ForesightConfigEntry) -> None:
    """Forget the home: its history file, its models, its repair issues and its last states."""
    async_clear_all(hass)
    # Added again, its switches start off rather than taking back the removed home's.
    registered = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    async_forget_last_states(hass, registered)
    hass.data.get(UNWRITTEN, {}).pop(entry.entry_id, None)
    hass.data.get(PENDING_RENAMES, {}).pop(entry.entry_id, None)
    await ModelStore(hass, entry.entry_id).async_remove()
    path = history_path(hass, entry)

    def _remove() -> None:
        for file in path.parent.glob(f"{path.name}*"):
            file.unlink(missing_ok=True)
        with suppress(OSError):  # another home's files, or something the user put there
            path.parent.rmdir()

    # A backup copying the file meanwhile would fail on a file gone: it goes once that ends.
    await async_when_no_backup(hass, partial(hass.async_add_executor_job, _remove))
