"""Diagnostics download: the configuration (people redacted) and what the history holds."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import ForesightConfigEntry
from .const import CONF_PEOPLE

TO_REDACT = {CONF_PEOPLE}
_PERSONAL_DOMAINS = ("person.", "device_tracker.")


def _redact_key(key: str, index: int) -> str:
    return f"**REDACTED {index}**" if key.startswith(_PERSONAL_DOMAINS) else key


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ForesightConfigEntry
) -> dict[str, Any]:
    """Configuration, history coverage per source, and dropped samples."""
    coordinator = entry.runtime_data.coordinator
    # Counted now, not the hourly summary the entities show: every dropped reading so far.
    summary = await hass.async_add_executor_job(coordinator.summary)
    coverage = {
        _redact_key(key, index): asdict(cov)
        for index, (key, cov) in enumerate(sorted(summary.coverage.items()))
    }
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
            "rooms": [
                {"title": subentry.title, "data": dict(subentry.data)}
                for subentry in entry.subentries.values()
            ],
        },
        "history": {
            "usable_days": {
                ("home" if room is None else entry.subentries[room].title): days
                for room, days in summary.usable_days.items()
                if room is None or room in entry.subentries
            },
            "sources": coverage,
        },
    }
