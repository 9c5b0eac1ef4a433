"""What HACS and Home Assistant's hassfest check: manifest, hacs.json, translations, actions, brand."""

from __future__ import annotations

import ast
from importlib.metadata import distribution, version
import json
from pathlib import Path
import re
import string
import tomllib
from typing import Any, get_args

from awesomeversion import AwesomeVersion
import hass_frontend
from packaging.requirements import Requirement
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
import yaml

from custom_components.foresight import config_flow, repairs, services
from custom_components.foresight.const import DOMAIN
from custom_components.foresight.controllers import Controller
from custom_components.foresight.learning import energy
from custom_components.foresight.learning.rhythm import RhythmCheck, RhythmStatus
from homeassistant import const as ha_const
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component

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


def test_license_file_is_the_declared_license() -> None:
    # HACS's default catalog lists a repository only with a license file at its root.
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert (ROOT / "LICENSE").read_text().splitlines()[0] == f"{declared} License"


def test_brand_icon() -> None:
    assert (INTEGRATION / "brand" / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _fields(schema: Any) -> set[str]:
    return {str(key) for key in _field_schema(schema).schema}


def _field_schema(schema: Any) -> Any:
    """The schema of the fields (in ``vol.All``, the first: a check across them may follow)."""
    return schema.validators[0] if isinstance(schema, vol.All) else schema


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


def _flow_errors() -> dict[str, set[str]]:
    """Each flow class of config_flow.py and the error keys it can show, helpers included."""
    tree = ast.parse((INTEGRATION / "config_flow.py").read_text())
    helpers = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}

    def errors_of(function: ast.AST, seen: set[str]) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and any(
                    isinstance(t, ast.Subscript)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == "errors"
                    for t in node.targets
                )
            ):
                found.add(node.value.value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in helpers
                and node.func.id not in seen
            ):
                seen.add(node.func.id)
                found |= errors_of(helpers[node.func.id], seen)
        return found

    return {
        node.name: errors_of(node, set()) for node in tree.body if isinstance(node, ast.ClassDef)
    }


def test_every_error_is_translated_in_its_own_flow() -> None:
    subentry_types = config_flow.ForesightConfigFlow.async_get_supported_subentry_types(
        MockConfigEntry(domain=DOMAIN)
    )
    sections = {
        config_flow.ForesightConfigFlow: TRANSLATIONS["config"],
        config_flow.ForesightOptionsFlow: TRANSLATIONS["options"],
        **{
            flow: TRANSLATIONS["config_subentries"][subentry_type]
            for subentry_type, flow in subentry_types.items()
        },
    }
    errors = _flow_errors()
    for flow, section in sections.items():
        assert errors[flow.__name__], flow.__name__
        assert errors[flow.__name__] <= set(section["error"]), flow.__name__
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
    # A setting refused for passing the one it must stay below (number.py) says why.
    ordered = [
        f"{setting.key}_above"
        for controller in Controller.__subclasses__()
        for setting in controller.settings_spec
        if setting.not_above
    ]
    assert ordered and set(ordered) <= set(TRANSLATIONS["exceptions"])


def _registered_schemas() -> dict[str, vol.Schema]:
    """Each action services.py registers, with the schema its calls are checked against."""
    tree = ast.parse((INTEGRATION / "services.py").read_text())
    schemas: dict[str, vol.Schema] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "async_register":
            name, handler = node.args[1], node.args[2]
            # Registered as _validated(SCHEMA, handler).
            assert isinstance(name, ast.Name) and isinstance(handler, ast.Call)
            assert isinstance(handler.args[0], ast.Name)
            schemas[getattr(services, name.id)] = getattr(services, handler.args[0].id)
    return schemas


def test_services_yaml_fields_match_the_schemas() -> None:
    services_yaml = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    schemas = _registered_schemas()
    assert set(schemas) == set(services_yaml)
    for service, schema in schemas.items():
        fields = services_yaml[service].get("fields", {})
        assert set(fields) == _fields(schema), service
        for key, validator in _field_schema(schema).schema.items():
            field = fields[str(key)]
            assert field.get("required", False) == isinstance(key, vol.Required), (service, key)
            default = key.default() if callable(key.default) else key.default
            if default is not vol.UNDEFINED:
                assert field["default"] == default, (service, key)
            for part in (validator, *getattr(validator, "validators", ())):
                if isinstance(part, vol.In):
                    assert field["selector"]["select"]["options"] == list(part.container)
                if isinstance(part, vol.Range):
                    number = field["selector"]["number"]
                    assert (number["min"], number["max"]) == (part.min, part.max), (service, key)


def test_repair_issues_are_translated() -> None:
    issues = _string_literals(
        INTEGRATION / "repairs.py", r'(?:_create\(hass, |translation_key=)"([a-z_]+)"'
    )
    assert issues
    for issue in issues:
        assert TRANSLATIONS["issues"][issue]["title"]
        assert TRANSLATIONS["issues"][issue]["description"]


def test_every_energy_model_the_accuracy_sensor_names_is_translated() -> None:
    models = (energy.BASELINE, energy.PREVIOUS_DAY, energy.SMOOTHED, energy.BLEND, *energy.MIXES)
    attribute = TRANSLATIONS["entity"]["sensor"]["energy_forecast_accuracy"]["state_attributes"]
    for model in models:
        # A translation key is a slug: a dot would split it.
        assert re.fullmatch(r"[a-z0-9_]+", model), model
        assert attribute["model"]["state"][model], model


async def test_every_source_problem_issue_is_translated_and_cleared(hass: HomeAssistant) -> None:
    # The issue ids are built from the problem's status: take every status the code can flag.
    statuses = [
        status
        for status in get_args(RhythmStatus)
        if RhythmCheck(status, 0.0, None, 0.0, 0.0).problem
    ]
    assert statuses
    problems = [(f"binary_sensor.{status}_sensor", status) for status in statuses]
    repairs.async_update_source_problems(hass, problems)
    issues = [issue for key, issue in ir.async_get(hass).issues.items() if key[0] == DOMAIN]
    assert len(issues) == len(statuses)
    for issue in issues:
        assert issue.translation_key is not None
        assert TRANSLATIONS["issues"][issue.translation_key]["title"], issue.issue_id
        assert TRANSLATIONS["issues"][issue.translation_key]["description"], issue.issue_id
    repairs.async_update_source_problems(hass, [])
    assert not [key for key in ir.async_get(hass).issues if key[0] == DOMAIN]


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


# Attributes whose value is true or false; the frontend shows them raw ("false") unless named.
YES_NO_ATTRIBUTES = {
    ("sensor", "energy_forecast_accuracy", "occupancy_input"),
    ("switch", "smart_heating", "manual_override"),
    ("switch", "smart_lighting", "dark"),
    ("switch", "presence_simulation", "simulating"),
}


async def test_every_yes_or_no_attribute_reads_as_words(
    hass: HomeAssistant, setup_home: MockConfigEntry
) -> None:
    """A true or false attribute shows a word in each language, not "true" or "false"."""
    registry = er.async_get(hass)
    shown = set()
    for entity in er.async_entries_for_config_entry(registry, setup_home.entry_id):
        state = hass.states.get(entity.entity_id)
        assert state is not None, entity.entity_id
        for attribute, value in state.attributes.items():
            if isinstance(value, bool):
                shown.add((entity.domain, entity.translation_key, attribute))
    assert shown
    assert shown <= YES_NO_ATTRIBUTES
    for language in ("en", *LANGUAGES):
        entities = _translation(language)["entity"]
        for platform, key, attribute in YES_NO_ATTRIBUTES:
            states = entities[platform][key]["state_attributes"][attribute].get("state", {})
            assert set(states) == {"true", "false"}, (language, key, attribute)


LANGUAGES = ("de", "fr", "nl")  # besides English, which the others are checked against


def _texts(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Each text of a translation file by its dotted key, as Home Assistant flattens them."""
    texts: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            texts.update(_texts(value, f"{prefix}{key}."))
        else:
            texts[f"{prefix}{key}"] = value
    return texts


def _translation(language: str) -> dict[str, Any]:
    """A language's translation file (invalid JSON fails here)."""
    return json.loads(
        (INTEGRATION / "translations" / f"{language}.json").read_text(encoding="utf-8")
    )


def _placeholders(text: str) -> set[str]:
    """The placeholders of a text, read as Home Assistant reads them to fill them in."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_every_language_file_is_one_checked() -> None:
    found = {path.stem for path in (INTEGRATION / "translations").glob("*.json")}
    assert found == {"en", *LANGUAGES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_every_english_text_with_its_placeholders(language: str) -> None:
    """A missing key shows English, an extra one nothing, a wrong placeholder English again."""
    english = _texts(TRANSLATIONS)
    translated = _texts(_translation(language))
    assert sorted(english.keys() - translated.keys()) == [], "missing"
    assert sorted(translated.keys() - english.keys()) == [], "not in English"
    for key, text in translated.items():
        assert isinstance(text, str) and text.strip(), key
        assert _placeholders(text) == _placeholders(english[key]), key


async def test_home_assistant_shows_each_language_without_falling_back(
    hass: HomeAssistant,
) -> None:
    for language in LANGUAGES:
        for category, tree in _translation(language).items():
            loaded = await async_get_translations(hass, language, category, [DOMAIN])
            expected = _texts(tree, f"component.{DOMAIN}.{category}.")
            assert loaded == expected, (language, category)


def test_every_icon_is_one_the_frontend_can_show() -> None:
    """Each icon Foresight names is in the Material Design Icons the frontend ships."""
    icon_list = Path(hass_frontend.where()) / "static" / "mdi" / "iconList.json"
    known = {icon["name"] for icon in json.loads(icon_list.read_text())}
    named = set(re.findall(r'"mdi:([a-z0-9-]+)"', (INTEGRATION / "icons.json").read_text()))
    assert named
    assert sorted(named - known) == []


def test_the_readme_hacs_shows_links_to_files_that_exist() -> None:
    """HACS shows the README outside the repository: a relative link or image would be broken
    there, so each points into the repository by its full address, to a file it has."""
    repository = json.loads((INTEGRATION / "manifest.json").read_text())["documentation"]
    targets = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    assert targets
    inside = re.compile(re.escape(repository) + r"/(?:blob|raw)/main/(.+)")
    for target in targets:
        assert target.startswith(("https://", "#")), target
        if match := inside.fullmatch(target):
            assert (ROOT / match[1]).is_file(), target


async def test_readme_automation_examples_act_only_on_real_changes(hass: HomeAssistant) -> None:
    readme = (ROOT / "README.md").read_text()
    examples = [
        yaml.safe_load(block)["automation"][0]
        for block in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    ]
    assert len(examples) == 3
    occupancy, forecast = (
        "binary_sensor.living_room_occupancy",
        "sensor.bathroom_occupancy_forecast",
    )
    hass.states.async_set("sun.sun", "below_horizon")
    hass.states.async_set("binary_sensor.foresight_someone_home", "on")
    hass.states.async_set(forecast, "10")
    hass.states.async_set(occupancy, "unavailable")
    calls = {
        service: async_mock_service(hass, *service.split("."))
        for service in (
            "light.turn_on",
            "light.turn_off",
            "light.turn_unknown",
            "climate.set_temperature",
            "persistent_notification.create",
        )
    }
    assert await async_setup_component(hass, "automation", {"automation": examples})
    # Only off → on and on → off switch: not a restart, attributes moving each minute, unknown.
    for state, probability in (
        ("unknown", None),
        ("on", 0.8),
        ("on", 0.9),
        ("off", 0.2),
        ("off", 0.1),
        ("on", 0.7),
        ("unknown", None),
    ):
        hass.states.async_set(occupancy, state, {"probability": probability})
        await hass.async_block_till_done()
    hass.states.async_set(forecast, "70", {"forecast": []})
    hass.states.async_set(forecast, "75", {"forecast": []})
    hass.bus.async_fire(
        "foresight_unusual_energy",
        {
            "kind": "excess",
            "since": "2026-11-27T10:00:00+00:00",
            "expected_kwh": 1.2,
            "expected_lower_kwh": 0.8,
            "expected_upper_kwh": 1.7,
            "seen_kwh": 3.4,
        },
    )
    await hass.async_block_till_done()
    assert {service: len(made) for service, made in calls.items()} == {
        "light.turn_on": 1,
        "light.turn_off": 1,
        "light.turn_unknown": 0,
        "climate.set_temperature": 1,
        "persistent_notification.create": 1,
    }
