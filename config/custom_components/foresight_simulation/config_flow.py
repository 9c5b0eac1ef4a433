"""The simulated home's entry, created from ``foresight_simulation:`` in configuration.yaml."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DOMAIN


class SimulationConfigFlow(ConfigFlow, domain=DOMAIN):
    """Only imported from YAML: the simulation is development tooling, not for users to add."""

    VERSION = 1

    async def async_step_import(self, import_data: dict[str, Any]) -> ConfigFlowResult:
        """Create the one entry of the simulated home."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title="Simulated home", data={})
