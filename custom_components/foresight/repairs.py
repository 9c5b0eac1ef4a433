"""Repair issues Foresight raises: a source gone or not recorded, a rebuilt history, unknown meters.

The last: a home whose solar panels or battery the Energy dashboard knows but Foresight does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from homeassistant.components.energy.data import async_get_manager
from homeassistant.components.recorder.entity_options import is_entity_recorded
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .energy_dashboard import async_flows_to_add
from .sources import entity_exists

_SOURCE_ISSUES = ("source_missing", "source_not_recorded")
_PROBLEM_ISSUES = ("source_silent_", "source_stuck_")
HISTORY_REBUILT = "history_rebuilt"
ENERGY_FLOWS_MISSING = "energy_flows_missing"
_DASHBOARD_FOLLOWED: HassKey[bool] = HassKey(f"{DOMAIN}_energy_dashboard_followed")


def _issue_id(kind: str, entity_id: str) -> str:
    return f"{kind}_{entity_id}"


def async_check_sources(hass: HomeAssistant, entity_ids: Iterable[str]) -> None:
    """Raise an issue for each source that does not exist or is not recorded; clear the others."""
    wanted: set[str] = set()
    for entity_id in set(entity_ids):
        if not entity_exists(hass, entity_id):
            wanted.add(_issue_id("source_missing", entity_id))
            _create(hass, "source_missing", entity_id)
        elif not is_entity_recorded(hass, entity_id):
            wanted.add(_issue_id("source_not_recorded", entity_id))
            _create(hass, "source_not_recorded", entity_id)
    issues = ir.async_get(hass).issues
    for domain, issue_id in list(issues):
        if domain == DOMAIN and issue_id.startswith(_SOURCE_ISSUES) and issue_id not in wanted:
            ir.async_delete_issue(hass, DOMAIN, issue_id)


def async_update_source_problems(hass: HomeAssistant, problems: Iterable[tuple[str, str]]) -> None:
    """One issue per source silent, or stuck, more than a day beyond its rhythm; clear the others.

    ``problems``: (entity_id, status) pairs, the status ``silent`` or ``stuck``.
    """
    wanted: set[str] = set()
    for entity_id, status in problems:
        wanted.add(_issue_id(f"source_{status}", entity_id))
        _create(hass, f"source_{status}", entity_id)
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(_PROBLEM_ISSUES) and issue_id not in wanted:
            ir.async_delete_issue(hass, DOMAIN, issue_id)


def async_source_removed(hass: HomeAssistant, entity_id: str) -> None:
    """A source entity was deleted from Home Assistant."""
    _create(hass, "source_missing", entity_id)


def _create(hass: HomeAssistant, kind: str, entity_id: str) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        _issue_id(kind, entity_id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=kind,
        translation_placeholders={"entity_id": entity_id},
    )


def async_history_rebuilt(hass: HomeAssistant, set_aside: Path) -> None:
    """The history file was damaged: it was set aside and is being rebuilt from the recorder.

    Fixing the issue deletes the damaged copy, kept until then in case someone wants to see it.
    """
    _create_fixable(hass, HISTORY_REBUILT, {"path": set_aside.name}, {"path": str(set_aside)})


def _create_fixable(
    hass: HomeAssistant, issue_id: str, placeholders: dict[str, str], data: dict[str, str]
) -> None:
    """An issue with a fix (``data`` goes to the fix's flow), dropped at a restart."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=issue_id,
        translation_placeholders=placeholders,
        data=dict(data),
    )


class _ConfirmedFix(RepairsFlow):
    """A fix that asks once, then acts."""

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Ask first."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Act once confirmed."""
        if user_input is not None:
            await self._async_fix()
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm", description_placeholders=await self._async_placeholders()
        )

    async def _async_fix(self) -> None:
        raise NotImplementedError

    async def _async_placeholders(self) -> dict[str, str]:
        raise NotImplementedError


class DeleteDamagedHistoryFlow(_ConfirmedFix):
    """Deletes the damaged history file that was set aside, once the user confirms."""

    @property
    def _path(self) -> Path:
        return Path(str((self.data or {})["path"]))

    async def _async_fix(self) -> None:
        await self.hass.async_add_executor_job(partial(self._path.unlink, missing_ok=True))

    async def _async_placeholders(self) -> dict[str, str]:
        return {"path": self._path.name}


async def async_check_energy_flows(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Tell a home learning from its grid import alone of the Energy dashboard's other meters.

    Checked again whenever the dashboard changes, so the issue comes and goes with its meters.
    """
    if not hass.data.get(_DASHBOARD_FOLLOWED):
        hass.data[_DASHBOARD_FOLLOWED] = True  # the dashboard's listeners cannot be removed

        async def _dashboard_changed() -> None:
            for loaded in hass.config_entries.async_loaded_entries(DOMAIN):
                await _async_check_energy_flows(hass, loaded)

        (await async_get_manager(hass)).async_listen_updates(_dashboard_changed)
    await _async_check_energy_flows(hass, entry)


def _listed(flows: dict[str, list[str]]) -> str:
    """The meters to add, as the issue names them."""
    return ", ".join(entity_id for entity_ids in flows.values() for entity_id in entity_ids)


async def _async_check_energy_flows(hass: HomeAssistant, entry: ConfigEntry) -> None:
    flows = await async_flows_to_add(hass, entry.data)
    if not flows:
        ir.async_delete_issue(hass, DOMAIN, ENERGY_FLOWS_MISSING)
        return
    placeholders = {"sensors": _listed(flows)}
    _create_fixable(hass, ENERGY_FLOWS_MISSING, placeholders, {"entry_id": entry.entry_id})


class AddEnergyFlowsFlow(_ConfirmedFix):
    """Adds the Energy dashboard's other tariffs, production, export and battery meters.

    The home then reloads and learns its energy models again.
    """

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Ask, unless the meters are gone since the issue was raised."""
        if not (await self._async_flows())[1]:
            ir.async_delete_issue(self.hass, DOMAIN, ENERGY_FLOWS_MISSING)
            return self.async_abort(reason="nothing_to_add")
        return await super().async_step_init(user_input)

    async def _async_flows(self) -> tuple[ConfigEntry | None, dict[str, list[str]]]:
        entry = self.hass.config_entries.async_get_entry(str((self.data or {})["entry_id"]))
        return entry, {} if entry is None else await async_flows_to_add(self.hass, entry.data)

    async def _async_fix(self) -> None:
        entry, flows = await self._async_flows()
        if entry is not None and flows:
            added = {key: [*entry.data.get(key, []), *meters] for key, meters in flows.items()}
            self.hass.config_entries.async_update_entry(entry, data={**entry.data, **added})

    async def _async_placeholders(self) -> dict[str, str]:
        return {"sensors": _listed((await self._async_flows())[1])}


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix of a fixable issue: add the home's energy flows, or delete a damaged history."""
    if issue_id == ENERGY_FLOWS_MISSING:
        return AddEnergyFlowsFlow()
    return DeleteDamagedHistoryFlow()


def async_clear_all(hass: HomeAssistant) -> None:
    """Remove every issue Foresight raised (the integration was removed)."""
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
