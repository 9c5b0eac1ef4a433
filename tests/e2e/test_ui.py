"""Foresight's real user interface in a real browser, on a Home Assistant with the simulated home.

Starts Home Assistant as a subprocess (a copy of the development configuration, seeded with weeks
of the simulated home's history) and drives headless Chromium through the frontend as a user
would: log in, add Foresight, set up the home, add a room, look at the room's device page and at
the calendar. Every form text checked comes from ``translations/en.json``, so a missing or
renamed translation fails here. Each step leaves a screenshot in ``$FORESIGHT_E2E_ARTIFACTS``
(default ``tests/e2e/artifacts/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.error
import urllib.request

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_CONFIG = ROOT / "config"
TRANSLATIONS: dict[str, Any] = json.loads(
    (ROOT / "custom_components" / "foresight" / "translations" / "en.json").read_text()
)
ARTIFACTS = Path(os.environ.get("FORESIGHT_E2E_ARTIFACTS") or ROOT / "tests" / "e2e" / "artifacts")
CHROMIUM = Path(os.environ.get("FORESIGHT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USERNAME = PASSWORD = "dev"  # the development login the seeding creates
ROOM = "Living room"  # a simulated room (an area the simulation creates)

# The room entities whose values the room's device page must show, as (platform, translation
# key) in en.json.
ROOM_ENTITIES: list[tuple[str, str]] = [
    ("binary_sensor", "occupancy"),
    ("sensor", "occupancy_probability"),
    ("sensor", "occupancy_forecast"),
    ("sensor", "next_use"),
    ("sensor", "model_status"),
    ("sensor", "history"),
]
# The learned-routine calendar, as (platform, translation key), checked on the calendar page.
ROUTINE_CALENDAR: tuple[str, str] | None = ("calendar", "learned_routine")

STARTUP_TIMEOUT_S = 180
STEP_TIMEOUT_MS = 30_000
LOGIN_CLICKS = 2

pytestmark = pytest.mark.timeout(600)


def text(*keys: str, **placeholders: str) -> str:
    """A string from en.json (a KeyError fails the test: the translation is missing)."""
    value: Any = TRANSLATIONS
    for key in keys:
        value = value[key]
    assert isinstance(value, str), keys
    return value.format(**placeholders) if placeholders else value


def entity_name(platform: str, key: str) -> str:
    """An entity's translated name."""
    return text("entity", platform, key, "name")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare_config(config: Path) -> None:
    """A copy of the development configuration, linking the integration and the simulation."""
    config.mkdir(parents=True)
    shutil.copy(DEV_CONFIG / "configuration.yaml", config / "configuration.yaml")
    custom = config / "custom_components"
    custom.mkdir()
    (custom / "foresight").symlink_to(ROOT / "custom_components" / "foresight")
    (custom / "foresight_simulation").symlink_to(
        DEV_CONFIG / "custom_components" / "foresight_simulation"
    )


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/manifest.json", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        try:  # waiting on the process paces the tries and notices an early exit
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"Home Assistant exited with {process.returncode}; see {log}")
    pytest.fail(f"Home Assistant did not answer within {STARTUP_TIMEOUT_S} s; see {log}")


@contextmanager
def home_assistant(config: Path) -> Iterator[str]:
    """Seed ``config`` and run Home Assistant on it; yields its URL."""
    _prepare_config(config)
    env = {**os.environ, "PYTHONPATH": str(DEV_CONFIG / "custom_components")}
    subprocess.run(
        [sys.executable, "-m", "foresight_simulation.seed", "--config", str(config)],
        env=env,
        check=True,
        timeout=STARTUP_TIMEOUT_S,
    )
    port = _free_port()
    # Home Assistant keeps its HTTP settings in storage; SETUP_PORT is the port of a new one.
    env = {**os.environ, "SETUP_PORT": str(port)}
    log = ARTIFACTS / "home-assistant.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "--config", str(config), "--skip-pip"],
            env=env,
            cwd=config,  # not the repository: its custom_components would shadow the config's
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, process, log)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def chromium() -> Path:
    """The Chromium executable, or a skip saying why there is none."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"no Chromium at {CHROMIUM}: scripts/setup-browser installs Debian's chromium "
            "package (or set FORESIGHT_CHROMIUM)"
        )
    return CHROMIUM


class Steps:
    """The browser session, saving a screenshot after each step."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.count = 0

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=ARTIFACTS / f"{self.count:02d}-{name}.png")

    def pick(self, field: Any, search: str, option: str) -> None:
        """Choose ``option`` in an entity or area picker, searching for ``search``.

        Types once the picker has opened and focused its search field (as a user would: typing
        earlier is lost), then picks the best match with Enter rather than by clicking it: the
        simulated home keeps changing states, and each change redraws the list under the pointer.
        The field must then show ``option``, so a wrong best match fails.
        """
        from playwright.sync_api import expect

        field.locator("ha-combo-box-item, [role=combobox], button").filter(
            visible=True
        ).last.click()
        search_field = field.get_by_placeholder("Search", exact=True)
        expect(search_field).to_be_focused()
        search_field.fill(search)
        choice = self.page.locator("ha-combo-box-item").filter(
            has=self.page.get_by_text(option, exact=True)
        )
        expect(choice.first).to_be_visible()
        search_field.press("Enter")
        expect(field.locator("ha-picker-field").filter(has_text=option).first).to_be_visible()

    def entity_field(self, label: str) -> Any:
        return self.page.locator("ha-selector-entity").filter(has_text=label)


def _row_value(page: Any, name: str) -> str:
    """The value shown beside the entity row called ``name`` (all text of the row but its name)."""
    label = page.locator("hui-generic-entity-row").get_by_text(name, exact=True).first
    label.wait_for()
    row_text: str = label.evaluate(
        """(element) => {
            const row = element.getRootNode().host;  // the generic row, inside the entity's row
            const host = row.getRootNode().host || row;
            const walk = (node) => {
                if (node.nodeType === Node.TEXT_NODE) return node.textContent;
                let found = node.shadowRoot ? walk(node.shadowRoot) : '';
                for (const child of node.childNodes) found += ' ' + walk(child);
                return found;
            };
            return walk(host);
        }"""
    )
    return " ".join(row_text.replace(name, " ", 1).split())


def test_set_up_foresight_in_the_browser(
    chromium: Path, tmp_path: Path, socket_enabled: None
) -> None:
    """A user adds Foresight and a room, then sees the room's entities and the calendar."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with home_assistant(tmp_path / "config") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            expect.set_options(timeout=STEP_TIMEOUT_MS)
            steps = Steps(page, url)
            try:
                _walk_through(steps)
            except Exception:
                steps.shot("failure")
                raise
        finally:
            browser.close()
    # Home Assistant said nothing bad about Foresight while it ran: where a release deprecates or
    # breaks what Foresight uses, its log says so first.
    complaints = foresight_complaints((ARTIFACTS / "home-assistant.log").read_text())
    assert not complaints, "\n\n".join(complaints)


# A log record's first line: time, level, thread, logger, message.
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \S+ (?P<level>[A-Z]+) \([^)]*\) \[[^\]]+\]")
# Foresight named in a record: its loggers, its files in a traceback, the integration by its domain.
NAMES_FORESIGHT = re.compile(
    r"custom_components[./]foresight[./]|integration '?foresight\b(?!_)|domain '?foresight\b(?!_)"
)
UNTESTED_CUSTOM_INTEGRATION = "which has not been tested by Home Assistant"


def foresight_complaints(log: str) -> list[str]:
    """The warnings and errors of a Home Assistant log that come from or name Foresight.

    A record runs from its first line to the next record (a traceback included); the warning
    Home Assistant gives every custom integration at start is not a complaint.
    """
    records: list[tuple[str, list[str]]] = []
    for line in log.splitlines():
        if match := LOG_RECORD.match(line):
            records.append((match["level"], [line]))
        elif records:
            records[-1][1].append(line)
    complaints = []
    for level, lines in records:
        record = "\n".join(lines)
        if level not in ("WARNING", "ERROR", "CRITICAL") or UNTESTED_CUSTOM_INTEGRATION in record:
            continue
        if NAMES_FORESIGHT.search(record):
            complaints.append(record)
    return complaints


def test_complaints_about_foresight_are_found_in_a_log() -> None:
    """Foresight's warnings and errors, and tracebacks through its code, are found; not others."""
    log = """\
2026-11-27 13:38:36.020 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom \
integration foresight which has not been tested by Home Assistant.
2026-11-27 13:38:36.100 ERROR (MainThread) [haffmpeg.core] FFmpeg fails
Traceback (most recent call last):
  File "/home/ci/.cache/foresight/python/lib/python3.14/subprocess.py", line 1039, in __init__
2026-11-27 13:38:37.000 WARNING (ImportExecutor_0) [custom_components.foresight_simulation.climate] \
SimulatedThermostat provides the deprecated current_temperature
2026-11-27 13:38:45.505 DEBUG (MainThread) [custom_components.foresight.observe] Kept 4 samples
2026-11-27 13:38:46.000 WARNING (MainThread) [custom_components.foresight.coordinator] Slow
2026-11-27 13:38:47.000 ERROR (MainThread) [homeassistant.setup] Error setting up entry
Traceback (most recent call last):
  File "/config/custom_components/foresight/__init__.py", line 10, in async_setup_entry
2026-11-27 13:38:48.000 WARNING (MainThread) [homeassistant.helpers.frame] Detected that custom \
integration 'foresight' calls a deprecated helper
"""
    complaints = foresight_complaints(log)
    assert [complaint.splitlines()[0][24:] for complaint in complaints] == [
        "WARNING (MainThread) [custom_components.foresight.coordinator] Slow",
        "ERROR (MainThread) [homeassistant.setup] Error setting up entry",
        (
            "WARNING (MainThread) [homeassistant.helpers.frame] Detected that custom integration "
            "'foresight' calls a deprecated helper"
        ),
    ]


def _walk_through(steps: Steps) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError, expect

    page, url = steps.page, steps.url

    # Log in with the development login, once the login page has settled.
    page.goto(url, wait_until="networkidle")
    page.get_by_role("textbox", name="Username").fill(USERNAME)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    steps.shot("login")
    # Home Assistant's login page can miss a first click on a loaded machine: click once more.
    for attempt in range(LOGIN_CLICKS):
        page.get_by_role("button", name="Log in").click()
        try:
            page.wait_for_url(re.compile(r".*/(home|lovelace)"), timeout=STEP_TIMEOUT_MS / 2)
            break
        except PlaywrightTimeoutError:
            if attempt == LOGIN_CLICKS - 1:
                raise

    # Settings → Devices & services → Add integration → Foresight.
    page.goto(f"{url}/config/integrations/dashboard")
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("Foresight")
    steps.shot("add-integration")
    page.get_by_text("Foresight", exact=True).click()

    # The home step.
    user = ("config", "step", "user")
    expect(page.get_by_text(text(*user, "title"), exact=True)).to_be_visible()
    expect(page.get_by_text(text(*user, "description"))).to_be_visible()
    for person in ("Alice", "Bob"):
        steps.pick(steps.entity_field(text(*user, "data", "people")), person, person)
    steps.pick(
        steps.entity_field(text(*user, "data", "energy_sensor")), "Home energy", "Home energy"
    )
    steps.pick(
        steps.entity_field(text(*user, "data", "outdoor_temperature")),
        "Outdoor",
        "Outdoor temperature",
    )
    steps.shot("home-step")
    page.get_by_role("button", name="Submit").click()
    finish = page.get_by_role("button", name=re.compile(r"^(Skip and finish|Finish)$"))
    finish.click()

    # Add a room through the subentry flow; its area's entities are suggested.
    page.goto(f"{url}/config/integrations/integration/foresight")
    room = ("config_subentries", "room")
    page.get_by_role("button", name=text(*room, "initiate_flow", "user")).click()
    expect(page.get_by_text(text(*room, "step", "user", "title"), exact=True)).to_be_visible()
    area = page.locator("ha-selector-area").filter(
        has_text=text(*room, "step", "user", "data", "area")
    )
    steps.pick(area, ROOM, ROOM)
    steps.shot("room-step")
    page.get_by_role("button", name="Submit").click()
    sources = (*room, "step", "sources")
    expect(page.get_by_text(text(*sources, "title", room=ROOM), exact=True)).to_be_visible()
    motion = steps.entity_field(text(*sources, "data", "motion"))
    expect(motion).to_contain_text(f"{ROOM} motion")  # pre-filled from the area
    expect(steps.entity_field(text(*sources, "data", "temperature"))).to_contain_text(
        f"{ROOM} temperature"
    )
    steps.shot("room-sources")
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("button", name="Finish").click()

    # The room's device page shows its entities with values.
    page.locator("ha-config-sub-entry-row").filter(has_text=ROOM).locator(
        "ha-config-entry-device-row"
    ).first.click()
    page.wait_for_url(re.compile(r".*/config/devices/device/"))
    for platform, key in ROOM_ENTITIES:
        name = entity_name(platform, key)
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        value = _row_value(page, name)
        while value in ("", "Unknown", "Unavailable") and time.monotonic() < deadline:
            page.wait_for_timeout(1000)  # let the frontend receive the next state
            value = _row_value(page, name)
        assert value not in ("", "Unknown", "Unavailable"), f"{name} shows no value"
    steps.shot("room-device")

    # The calendar page, and the learned routine on it once that calendar exists.
    page.goto(f"{url}/calendar")
    page.locator("ha-full-calendar").wait_for()
    page.wait_for_timeout(2000)  # the calendar fetches its events after it is shown
    if ROUTINE_CALENDAR is not None:
        expect(page.locator("ha-panel-calendar")).to_contain_text(entity_name(*ROUTINE_CALENDAR))
    steps.shot("calendar")
