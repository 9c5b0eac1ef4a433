"""Home Assistant backups get a consistent copy of Foresight's history.

A backup copies the configuration folder while Home Assistant runs. Before it starts, what each
observer holds is written, and each history file is folded into its main file and held against
writes; when it ends, the files are released and the readings that waited are written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .history import HISTORY_ERRORS, HistoryHeldError, HistoryStore

if TYPE_CHECKING:
    from . import ForesightConfigEntry

_LOGGER = logging.getLogger(__name__)

# A backup that fails without saying it ended must not keep the history unwritten for ever.
HOLD_LIMIT = timedelta(minutes=30)


@dataclass(slots=True)
class _Hold:
    """The history files a running backup holds."""

    stores: list[HistoryStore] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # holding and releasing in turn
    released: asyncio.Event = field(default_factory=asyncio.Event)
    stop: list[CALLBACK_TYPE] = field(default_factory=list)


HOLD: HassKey[_Hold] = HassKey(f"{DOMAIN}_backup_hold")


def _loaded(hass: HomeAssistant) -> list[ForesightConfigEntry]:
    return hass.config_entries.async_loaded_entries(DOMAIN)


async def async_pre_backup(hass: HomeAssistant) -> None:
    """Write what is observed, then hold every history file until the backup ends."""
    if (hold := hass.data.get(HOLD)) is None:
        hold = hass.data[HOLD] = _Hold()

        async def _limit_reached(_now: datetime) -> None:
            _LOGGER.warning(
                "A backup did not end within %s; Foresight writes its history again",
                HOLD_LIMIT,
            )
            await _async_release(hass)

        async def _stopping(_event: Event) -> None:
            await _async_release(hass)  # the last readings are written before Home Assistant ends

        hold.stop += [
            async_call_later(hass, HOLD_LIMIT, HassJob(_limit_reached, cancel_on_shutdown=True)),
            hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _stopping),
        ]
    now = dt_util.utcnow().timestamp()
    async with hold.lock:
        for entry in _loaded(hass):
            await entry.runtime_data.observer.async_flush(now)
            await _async_hold(hass, hold, entry.runtime_data.store)


async def async_post_backup(hass: HomeAssistant) -> None:
    """Release the history files and write the readings that waited."""
    await _async_release(hass)


async def async_hold_during_backup(hass: HomeAssistant, store: HistoryStore) -> None:
    """Hold a history file opened while a backup runs (Foresight set up meanwhile)."""
    if (hold := hass.data.get(HOLD)) is not None:
        async with hold.lock:
            if hass.data.get(HOLD) is hold:
                await _async_hold(hass, hold, store)


async def async_after_backup[T](hass: HomeAssistant, job: Callable[[], Awaitable[T]]) -> T:
    """Run ``job``; while a backup holds the history and refuses it, again once released."""
    while True:
        try:
            return await job()
        except HistoryHeldError:
            if (hold := hass.data.get(HOLD)) is not None:
                await hold.released.wait()


async def async_when_no_backup(hass: HomeAssistant, job: Callable[[], Awaitable[None]]) -> None:
    """Run ``job`` now, or in the background once a running backup ends (it may copy its files)."""
    if (hold := hass.data.get(HOLD)) is None:
        await job()
        return

    async def _after_the_backup() -> None:
        await hold.released.wait()
        await job()

    hass.async_create_background_task(_after_the_backup(), "foresight after the backup")


async def _async_hold(hass: HomeAssistant, hold: _Hold, store: HistoryStore) -> None:
    hold.stores.append(store)
    try:
        await hass.async_add_executor_job(store.hold)
    except HISTORY_ERRORS as error:  # a failing pre-backup step would fail the whole backup
        _LOGGER.warning(
            "Cannot fold Foresight's history before the backup; it is copied as it is: %s", error
        )


async def _async_release(hass: HomeAssistant) -> None:
    if (hold := hass.data.get(HOLD)) is None:
        return
    async with hold.lock:
        if hass.data.get(HOLD) is not hold:
            return  # released meanwhile (the backup ended as its time ran out)
        for stop in hold.stop:
            stop()
        for store in hold.stores:
            await hass.async_add_executor_job(store.release)
        del hass.data[HOLD]
    hold.released.set()
    now = dt_util.utcnow().timestamp()
    for entry in _loaded(hass):
        await entry.runtime_data.observer.async_flush(now)
