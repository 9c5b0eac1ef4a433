"""Install Foresight's automation blueprints into the user's blueprints folder.

A file the user changed is never overwritten: the hash of what was installed is kept, and a
file is replaced only while it still is exactly what Foresight put there. A file the user
removed is not installed again.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
import shutil

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

SOURCE = Path(__file__).parent / "blueprints"
STORAGE_KEY = f"{DOMAIN}.blueprints"
STORAGE_VERSION = 1


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install_blueprints(target_root: Path, installed: dict[str, str]) -> dict[str, str]:
    """Copy each shipped blueprint where the user has none or has not changed ours.

    ``installed``: relative path → hash of what was installed before. Returns the new map.
    """
    result = dict(installed)
    for source in sorted(SOURCE.glob("*/*.yaml")):
        domain = source.parent.name
        relative = f"{domain}/{source.name}"
        target = target_root / domain / DOMAIN / source.name
        digest = _digest(source)
        if not target.exists() and relative in installed:
            _LOGGER.debug("Blueprint %s was removed by the user; not installed again", target)
            continue
        if target.exists():
            current = _digest(target)
            if current == digest:
                result[relative] = digest
                continue
            if current != installed.get(relative):
                _LOGGER.debug("Blueprint %s was changed by the user; left as it is", target)
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        result[relative] = digest
        _LOGGER.debug("Installed blueprint %s", target)
    return result


async def async_install_blueprints(hass: HomeAssistant) -> None:
    """Install or update the blueprints, in the executor."""
    store: Store[dict[str, str]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
    saved: object  # what the file holds, whatever it was edited into
    try:
        saved = await store.async_load()
    # Edited by hand, or by a newer Foresight: it is left as it is, and so are the blueprints.
    except (HomeAssistantError, ValueError, TypeError, KeyError) as error:
        saved = error
    if saved is not None and not isinstance(saved, dict):
        _LOGGER.warning(
            "Foresight's blueprints were not installed or updated: %s cannot be read (%.100r)",
            store.path,
            saved,
        )
        return
    installed: dict[str, str] = saved or {}
    target_root = Path(hass.config.path("blueprints"))
    try:
        updated = await hass.async_add_executor_job(install_blueprints, target_root, installed)
    except OSError as error:  # a folder Foresight may not write to: it runs without them
        _LOGGER.warning(
            "Foresight's blueprints were not installed: cannot write to %s (%s)",
            target_root / "automation" / DOMAIN,
            error,
        )
        return
    if updated != installed:
        await store.async_save(updated)
