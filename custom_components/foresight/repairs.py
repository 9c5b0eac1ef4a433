"""Repair issues Foresight raises: a source that went away or is not recorded, a rebuilt history."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from homeassistant.components.recorder.entity_options import is_entity_recorded
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from .const import DOMAIN

_SOURCE_ISSUES = ("source_missing", "source_not_recorded")
_PROBLEM_ISSUES = ("source_silent_", "source_stuck_")
HISTORY_REBUILT = "history_rebuilt"


def _issue_id(kind: str, entity_id: str) -> str:
    return f"{kind}_{entity_id}"


def async_check_sources(hass: HomeAssistant, entity_ids: Iterable[str]) -> None:
    """Raise an issue for each source that does not exist or is not recorded; clear the others."""
    registry = er.async_get(hass)
    wanted: set[str] = set()
    for entity_id in set(entity_ids):
        if hass.states.get(entity_id) is None and registry.async_get(entity_id) is None:
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
    ir.async_create_issue(
        hass,
        DOMAIN,
        HISTORY_REBUILT,
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=HISTORY_REBUILT,
        translation_placeholders={"path": set_aside.name},
        data={"path": str(set_aside)},
    )


class DeleteDamagedHistoryFlow(RepairsFlow):
    """Deletes the damaged history file that was set aside, once the user confirms."""

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Ask first."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Delete the copy once confirmed."""
        path = Path(str((self.data or {})["path"]))
        if user_input is not None:
            await self.hass.async_add_executor_job(partial(path.unlink, missing_ok=True))
            return self.async_create_entry(data={})
        return self.async_show_form(step_id="confirm", description_placeholders={"path": path.name})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix of a fixable issue (only the rebuilt history has one)."""
    return DeleteDamagedHistoryFlow()


def async_clear_all(hass: HomeAssistant) -> None:
    """Remove every issue Foresight raised (the integration was removed)."""
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
