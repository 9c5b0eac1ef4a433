"""What HACS and Home Assistant's hassfest check: manifest, hacs.json, translations, actions, brand."""

from __future__ import annotations

import ast
from importlib.metadata import distribution, version
import json
from pathlib import Path
import re
from typing import Any

from awesomeversion import AwesomeVersion
from packaging.requirements import Requirement
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.foresight import config_flow
from custom_components.foresight.const import DOMAIN
from homeassistant import const as ha_const
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / DOMAIN
TRANSLATIONS: dict[str, Any] = json.loads((INTEGRATION / "translations" / "en.json").read_text())
ICONS: dict[str, Any] = json.loads((INTEGRATION / "icons.json").read_text())


def _string_literals(path: Path, pattern: str) -> set[str]:
    """String literals in a module matching a regex on their source line (e.g. error keys)."""
    found: set[str] = set()
    source = path.read_text()
    for line in source.splitlines():
        for match in re.finditer(pattern, line):
            found.add(match.group(1))
    return found


def test_manifest_keys_and_order() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "after domain and name, keys are sorted (hassfest)"
    assert manifest["domain"] == DOMAIN
    for key in ("codeowners", "documentation", "issue_tracker", "version", "iot_class"):
        assert manifest[key], key
    assert manifest["config_flow"] is True
    assert manifest["dependencies"] == ["recorder"]
    assert manifest["iot_class"] == "calculated"
    assert AwesomeVersion(manifest["version"]).valid
    # Home Assistant OS has no scikit-learn wheel: it is never a requirement.
    assert not any("scikit" in requirement for requirement in manifest["requirements"])
    # Every requirement is what the tests run with, and pure Python (a wheel for every system).
    for line in manifest["requirements"]:
        requirement = Requirement(line)
        assert requirement.specifier.contains(version(requirement.name)), line
        files = distribution(requirement.name).files or []
        assert not any(file.suffix in (".so", ".pyd") for file in files), line


def test_hacs_json() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    allowed = {
        "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
        "country", "homeassistant", "render_readme", "hacs", "persistent_directory",
    }  # fmt: skip
    assert set(hacs) <= allowed
    assert hacs["name"] == "Foresight"
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(ha_const.__version__)
    assert (ROOT / "info.md").is_file()


def test_brand_icon() -> None:
    assert (INTEGRATION / "brand" / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _fields(schema: Any) -> set[str]:
    return {str(key) for key in schema.schema}


def test_every_form_field_is_translated() -> None:
    config = TRANSLATIONS["config"]["step"]
    room = TRANSLATIONS["config_subentries"]["room"]["step"]
    options = TRANSLATIONS["options"]["step"]
    forms = [
        (config["user"], config_flow.HOME_SCHEMA),
        (config["reconfigure"], config_flow.HOME_SCHEMA),
        (room["user"], config_flow.ROOM_SCHEMA),
        (room["sources"], config_flow.ROOM_SOURCES_SCHEMA),
        (room["reconfigure"], config_flow.ROOM_SOURCES_SCHEMA),
        (options["settings"], config_flow.OPTIONS_SCHEMA),
        (options["battery_level"], config_flow.BATTERY_LEVEL_SCHEMA),
    ]
    for step, schema in forms:
        assert step["title"]
        assert _fields(schema) <= set(step["data"]), step["title"]
    assert set(options["init"]["menu_options"]) == {"settings", "battery_level"}


def test_every_error_and_abort_is_translated() -> None:
    errors = _string_literals(
        INTEGRATION / "config_flow.py", r'errors\[[^\]]+\] = "([a-z_]+)"'
    ) | _string_literals(INTEGRATION / "config_flow.py", r'\] = "([a-z_]+)"')
    translated = (
        set(TRANSLATIONS["config"]["error"])
        | set(TRANSLATIONS["config_subentries"]["room"]["error"])
        | set(TRANSLATIONS["options"]["error"])
    )
    assert errors
    assert errors <= translated
    assert {"single_instance_allowed", "reconfigure_successful"} <= set(
        TRANSLATIONS["config"]["abort"]
    )


def test_actions_match_services_yaml_and_translations() -> None:
    services_yaml = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    tree = ast.parse((INTEGRATION / "services.py").read_text())
    registered = {
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id.startswith("SERVICE_") for t in node.targets)
        and isinstance(node.value, ast.Constant)
    }
    assert registered == set(services_yaml) == set(TRANSLATIONS["services"])
    for service, description in services_yaml.items():
        translated = TRANSLATIONS["services"][service]
        assert translated["name"] and translated["description"]
        for field in description.get("fields", {}):
            assert translated["fields"][field]["name"], (service, field)
            assert translated["fields"][field]["description"], (service, field)
    exceptions = _string_literals(INTEGRATION / "services.py", r'translation_key="([a-z_]+)"')
    assert exceptions <= set(TRANSLATIONS["exceptions"])


def test_repair_issues_are_translated() -> None:
    issues = _string_literals(
        INTEGRATION / "repairs.py", r'(?:_create\(hass, |translation_key=)"([a-z_]+)"'
    )
    assert issues
    for issue in issues:
        assert TRANSLATIONS["issues"][issue]["title"]
        assert TRANSLATIONS["issues"][issue]["description"]


async def test_every_entity_is_translated_and_has_an_icon(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    entities = er.async_entries_for_config_entry(er.async_get(hass), setup_home.entry_id)
    assert len(entities) > 20
    for entity in entities:
        platform = entity.domain
        key = entity.translation_key
        assert key is not None, entity.entity_id
        assert TRANSLATIONS["entity"][platform][key]["name"], entity.entity_id
        assert ICONS["entity"][platform][key]["default"].startswith("mdi:"), entity.entity_id
