"""The words Foresight writes itself (calendar events, logbook entries) in the home's language."""

from __future__ import annotations

from datetime import date

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN


class Texts:
    """Foresight's translations in one language (English where a translation lacks one)."""

    def __init__(self, translations: dict[str, str]) -> None:
        """Keep the ``common`` and ``entity`` translations Home Assistant loaded for Foresight."""
        self._translations = translations

    def __call__(self, key: str, **placeholders: object) -> str:
        """The text ``key`` with its placeholders filled in."""
        return self._translations[f"component.{DOMAIN}.common.{key}"].format(**placeholders)

    def attribute_state(self, platform: str, key: str, attribute: str, state: str) -> str:
        """How an entity's attribute names one of its values (the heating's reason, say)."""
        return self._translations.get(
            f"component.{DOMAIN}.entity.{platform}.{key}.state_attributes.{attribute}.state.{state}",
            state,
        )

    def number(self, value: float) -> str:
        """A number as the language writes it (17.5, 17,5), without a needless ".0"."""
        return f"{value:g}".replace(".", self("decimal_mark"))

    def date(self, day: date) -> str:
        """A day as the language writes it (28.11.2026, 28/11/2026, 2026-11-28)."""
        return self("date", day=f"{day.day:02d}", month=f"{day.month:02d}", year=day.year)


async def async_load_texts(hass: HomeAssistant) -> Texts:
    """The texts in the server's language, as set when Foresight was set up."""
    language = hass.config.language
    return Texts(
        await async_get_translations(hass, language, "common", [DOMAIN])
        | await async_get_translations(hass, language, "entity", [DOMAIN])
    )
