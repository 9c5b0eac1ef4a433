"""The diagnostics download: configuration, history coverage, dropped samples; people redacted."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component


async def test_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, setup_home: MockConfigEntry
) -> None:
    assert await async_setup_component(hass, "diagnostics", {})
    hass.states.async_set("sensor.living_co2", "lots", {"unit_of_measurement": "ppm"})
    await hass.async_block_till_done()
    await setup_home.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)  # the first training too

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_home)
    text = str(diagnostics)
    assert "alice" not in text
    assert diagnostics["entry"]["data"]["people"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["energy_sensor"] == ["sensor.house_energy"]
    assert diagnostics["entry"]["rooms"][0]["title"] == "Living room"
    assert diagnostics["history"]["days_with_data"] == {"home": 1, "Living room": 1}
    sources = diagnostics["history"]["sources"]
    assert sources["sensor.living_co2"]["dropped"] == {"not_a_number": 1}
    assert sources["sensor.living_co2"]["samples"] == 1
    assert sources["binary_sensor.living_motion"]["kind"] == "motion"
    assert any(key.startswith("**REDACTED") for key in sources)
    # How each model stands, as its diagnostic entities show it.
    models = diagnostics["models"]
    snapshot = setup_home.runtime_data.coordinator.data
    assert set(models["trained_at"]) == set(snapshot.trained_at)
    assert models["occupancy"]["home"]["status"] == snapshot.occupancy.rooms[None].status
    assert "Living room" in models["occupancy"]
    assert models["energy"]["status"] == snapshot.energy.status
    assert models["energy"]["model"] == snapshot.energy.model
    # The living room's thermostat: its warm-up as the warm-up rate sensor reads it.
    room = next(iter(setup_home.subentries))
    assert models["warm_up"] == {
        "Living room": {
            "temperature": snapshot.warm_up[room].temperature,
            "target": snapshot.warm_up[room].target,
            "minutes_to_target": snapshot.warm_up[room].minutes_to_target,
            "rate_c_per_h": snapshot.warm_up[room].rate_c_per_h,
            "gain_c_per_h": snapshot.warm_up[room].gain_c_per_h,
            "loss_per_h": snapshot.warm_up[room].loss_per_h,
            "delay_min": snapshot.warm_up[room].delay_min,
        }
    }
    assert models["maintenance"]["batteries"] == sorted(
        battery.status for battery in snapshot.maintenance.batteries
    )
