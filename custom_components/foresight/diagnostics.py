"""Diagnostics download: the configuration (people redacted), the history and the models."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import ForesightConfigEntry
from .const import CONF_PEOPLE
from .coordinator import Snapshot

TO_REDACT = {CONF_PEOPLE}
_PERSONAL_DOMAINS = ("person.", "device_tracker.")


def _redact_key(key: str, index: int) -> str:
    return f"**REDACTED {index}**" if key.startswith(_PERSONAL_DOMAINS) else key


def _models(entry: ForesightConfigEntry, snapshot: Snapshot) -> dict[str, Any]:
    """Each model's status and held-out scores: what the diagnostic entities show, together."""
    occupancy = snapshot.occupancy
    energy = snapshot.energy
    maintenance = snapshot.maintenance
    return {
        "trained_at": {name: when.isoformat() for name, when in snapshot.trained_at.items()},
        "occupancy": None
        if occupancy is None
        else {
            ("home" if room is None else entry.subentries[room].title): {
                "status": outlook.status,
                "skill": outlook.skill,
                "scores": outlook.scores,
            }
            for room, outlook in occupancy.rooms.items()
            if room is None or room in entry.subentries
        },
        "energy": None
        if energy is None
        else {
            "status": energy.status,
            "model": energy.model,
            "model_share": energy.model_share,
            "skill": energy.skill,
            "nrmse": energy.nrmse,
            "nrmse_7day_mean": energy.nrmse_baseline,
            "trained_days": energy.trained_days,
            "unusual_kind": energy.unusual_kind,
        },
        "warm_up": {
            entry.subentries[room].title: asdict(warm_up)
            for room, warm_up in snapshot.warm_up.items()
            if room in entry.subentries
        },
        "maintenance": {
            "batteries": sorted(battery.status for battery in maintenance.batteries),
            "problems": sorted(
                (_redact_key(problem.entity_id, index), problem.status)
                for index, problem in enumerate(maintenance.problems)
            ),
            "appliances": sorted(a.status for a in maintenance.appliances.values()),
        },
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ForesightConfigEntry
) -> dict[str, Any]:
    """Configuration, history coverage per source, dropped samples, and the models."""
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
            "days_with_data": {
                ("home" if room is None else entry.subentries[room].title): days
                for room, days in summary.days_with_data.items()
                if room is None or room in entry.subentries
            },
            "sources": coverage,
        },
        "models": _models(entry, coordinator.data),
    }
