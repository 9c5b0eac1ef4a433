"""Does knowing when the home is occupied help the day-ahead energy forecast?

No public dataset records both a home's electricity and when its people are home, so this is
measured on Foresight's simulated home (the one `scripts/develop` runs: two people with jobs,
days off, evenings out, electric heating that follows the set points of the rooms in use,
lights, TV, cooking, laundry). Half a year is simulated minute by minute; each day is then
forecast the evening before (rolling origin, retrained each midnight on the days before it)
by the same ``learning.energy`` forecaster and settings as the integration, three ways:

- ``without``: the consumption's own past, time of day and week, outdoor temperature;
- ``expected``: plus the expected occupancy, as the integration gives it
  (``learning.presence.expected_presence``): the share of the hour someone was home at the same
  hour of the same weekday over the last four weeks (a day ahead, the occupancy forecast is its
  learned weekly routine);
- ``perfect``: plus the occupancy that really followed (an upper bound no forecast reaches).

Run: ``.venv/bin/python -m benchmarks.energy_occupancy [--days N]``; prints one JSON object as
its last line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
import importlib.util
import json
from pathlib import Path
import sys
import time
from types import ModuleType
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from custom_components.foresight.learning import energy
from custom_components.foresight.learning.energy import DAY, HISTORY_DAYS, HOUR
from custom_components.foresight.learning.presence import expected_presence

FloatArray = npt.NDArray[np.float64]
ROUTINE = Path(__file__).parent.parent / "config/custom_components/foresight_simulation/routine.py"
START = datetime(2025, 10, 1, tzinfo=UTC)  # the heating season and the spring after it
ZONE = ZoneInfo("Europe/Amsterdam")
FIRST_SCORED_DAY = 35  # two weeks held out and three fitted before a blend may be published


def _routine_module() -> ModuleType:
    """The simulated home's routine (pure Python, no Home Assistant)."""
    spec = importlib.util.spec_from_file_location("foresight_simulation_routine", ROUTINE)
    if spec is None or spec.loader is None:
        raise ImportError(ROUTINE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def simulate(days: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Hourly local wall-clock starts, kWh, outdoor °C and the share of the hour someone was home."""
    routine = _routine_module()
    home = routine.Home(START, ZONE)
    sums: dict[float, list[float]] = {}
    for now, values in home.run(START + timedelta(days=days)):
        local = now.astimezone(ZONE).replace(tzinfo=UTC).timestamp()
        hour = float(np.floor(local / HOUR) * HOUR)
        someone_home = any(place != routine.AWAY for place, _ in home.where(now).values())
        row = sums.setdefault(hour, [0.0, 0.0, 0.0, 0.0])
        row[0] += values["sensor.home_power"] / 60_000.0  # W for a minute → kWh
        row[1] += values["sensor.outdoor_temperature"]
        row[2] += float(someone_home)
        row[3] += 1.0
    hours = np.array(sorted(sums), dtype=np.float64)
    table = np.array([sums[h] for h in hours], dtype=np.float64)
    # An hour seen only in part (the autumn's repeated hour, the edges) is scaled to a whole one.
    kwh = table[:, 0] * 60.0 / table[:, 3]
    return hours, kwh, table[:, 1] / table[:, 3], table[:, 2] / table[:, 3]


def day_ahead(
    hours: FloatArray, kwh: FloatArray, outdoor: FloatArray, occupancy: FloatArray | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Forecast each day from ``FIRST_SCORED_DAY`` on; the actual, forecast and 7-day mean."""
    first_day = float(np.floor(hours[0] / DAY) * DAY)
    days = int((hours[-1] - first_day) // DAY)
    actual, forecast, mean_7 = [], [], []
    for day in range(FIRST_SCORED_DAY, days):
        midnight = first_day + day * DAY
        past = (hours >= midnight - (HISTORY_DAYS + 1) * DAY) & (hours < midnight)
        target = (hours >= midnight) & (hours < midnight + DAY)
        if int(target.sum()) != 24:
            continue  # the days the clocks change: scored on whole days only
        window = past | target
        occupancy_input = None if occupancy is None else occupancy[window]
        model = energy.EnergyForecaster.train(
            hours[past],
            kwh[past],
            outdoor_temperature=outdoor[past],
            occupancy_probability=None if occupancy is None else occupancy[past],
            now=midnight,
        )
        history = np.where(target[window], np.nan, kwh[window])
        predicted = model.forecast(
            hours[window],
            history,
            midnight,
            24,
            outdoor_temperature=outdoor[window],
            occupancy_probability=occupancy_input,
        )
        same_hour = [
            kwh[(hours >= midnight - k * DAY) & (hours < midnight - (k - 1) * DAY)]
            for k in range(1, 8)
        ]
        actual.append(kwh[target])
        forecast.append(predicted.kwh)
        mean_7.append(np.mean([h for h in same_hour if h.size == 24], axis=0))
    return np.concatenate(actual), np.concatenate(forecast), np.concatenate(mean_7)


def _nrmse(actual: FloatArray, predicted: FloatArray) -> float:
    return float(np.sqrt(np.mean((predicted - actual) ** 2)) / np.mean(actual))


def run(days: int) -> dict[str, object]:
    """Simulate, forecast three ways, and score each against the 7-day same-hour mean."""
    started = time.perf_counter()
    hours, kwh, outdoor, occupied = simulate(days)
    inputs = {
        "without": None,
        "expected": expected_presence(hours, hours, occupied),
        "perfect": occupied,
    }
    result: dict[str, object] = {"benchmark": "energy_occupancy", "simulated_days": days}
    baseline = None
    skills: dict[str, float] = {}
    for name, occupancy in inputs.items():
        actual, forecast, mean_7 = day_ahead(hours, kwh, outdoor, occupancy)
        baseline = _nrmse(actual, mean_7)
        score = _nrmse(actual, forecast)
        result[f"nrmse_{name}"] = round(score, 4)
        skills[name] = 1.0 - score / baseline
        result[f"skill_{name}"] = round(skills[name], 4)
        result["scored_days"] = actual.size // 24
    result["nrmse_7day_mean"] = round(baseline or float("nan"), 4)
    result["skill_gain_expected"] = round(skills["expected"] - skills["without"], 4)
    result["skill_gain_perfect"] = round(skills["perfect"] - skills["without"], 4)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement and print its JSON last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--days", type=int, default=182, help="days of the home to simulate")
    result = run(parser.parse_args(argv).days)
    for key, value in result.items():
        print(f"{key}: {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
