"""Every benchmark, once, against its target: the figures of ``benchmarks/README.md`` in one run.

Run from the repository root (about ten minutes on a 2-core machine)::

    .venv/bin/python -m benchmarks.summary                 # the datasets in ../shared/data
    .venv/bin/python -m benchmarks.summary --data DIR      # the same datasets elsewhere
    .venv/bin/python -m benchmarks.summary --only energy   # the benchmarks whose name starts so

Each benchmark runs in its own process (as its own command would: memory peaks are its own);
its last output line, a JSON object, is checked against the targets of the issues. A table of
every checked figure is printed, then one JSON object as the last line: each benchmark's
checked figures, whether each target is met, and ``all_met``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
import glob
import json
import os
from pathlib import Path
import subprocess
import sys
import time
from typing import Any

LCL = "london-smart-meters-lcl-2013/*.csv.gz"
SCEAUX = "uci-household-power-sceaux/householdpower.csv.gz"
UCI_TRAIN = "uci-occupancy-detection/datatraining.txt"
UCI_TEST = "uci-occupancy-detection/datatest.txt"
ADL_SENSORS = "uci-adl-binary-ordonez/OrdonezA_Sensors.txt"
ADL_ACTIVITIES = "uci-adl-binary-ordonez/OrdonezA_ADLs.txt"


@dataclass(frozen=True)
class Target:
    """A figure of a benchmark's JSON and the range it must fall in (bounds included)."""

    key: str
    low: float = float("-inf")
    high: float = float("inf")
    strict_high: bool = False  # "less than" rather than "at most"

    def met(self, value: float | None) -> bool:
        """True when ``value`` is in range (a missing value never is)."""
        if value is None:
            return False
        below = value < self.high if self.strict_high else value <= self.high
        return self.low <= value and below

    def describe(self) -> str:
        """The target as the issues state it."""
        if self.low > float("-inf") and self.high < float("inf"):
            return f"{self.low:g}–{self.high:g}"
        if self.low > float("-inf"):
            return f"≥ {self.low:g}"
        return f"{'<' if self.strict_high else '≤'} {self.high:g}"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark command (its arguments, given the data folder) and its targets."""

    name: str
    module: str
    arguments: Callable[[Path], list[str]]
    targets: tuple[Target, ...]
    reported: tuple[str, ...] = ()  # figures shown without a target


def _files(data: Path, pattern: str) -> list[str]:
    return sorted(glob.glob(str(data / pattern)))


BENCHMARKS = (
    Benchmark(
        "energy lcl",
        "benchmarks.energy",
        lambda data: ["lcl", *_files(data, LCL)],
        (
            Target("median_skill", low=0.05),
            Target("min_skill", low=-0.01),
            Target("median_coverage_80", low=0.75, high=0.85),
        ),
        ("median_nrmse", "median_nrmse_7day_mean"),
    ),
    Benchmark(
        "energy sceaux",
        "benchmarks.energy",
        lambda data: ["sceaux", str(data / SCEAUX)],
        (Target("skill", low=0.05), Target("coverage_80", low=0.75, high=0.85)),
        ("nrmse", "nrmse_7day_mean"),
    ),
    Benchmark(
        "energy anomalies",
        "benchmarks.energy",
        lambda data: ["anomalies", *_files(data, LCL)],
        (
            Target("detection_rate", low=0.90),
            Target("false_alarms_per_week", high=1.0, strict_high=True),
        ),
        ("median_minutes_to_detect",),
    ),
    Benchmark(
        "energy thermal",
        "benchmarks.energy",
        lambda data: ["thermal"],
        (Target("median_error_min", high=10.0, strict_high=True),),
    ),
    Benchmark(
        "energy speed",
        "benchmarks.energy",
        lambda data: ["speed"],
        (
            Target("train_s", high=10.0, strict_high=True),
            Target("peak_mb", high=150.0, strict_high=True),
        ),
    ),
    Benchmark(
        "occupancy uci",
        "benchmarks.occupancy",
        lambda data: ["uci", "--train", str(data / UCI_TRAIN), "--test", str(data / UCI_TEST)],
        (Target("accuracy", low=0.98), Target("accuracy_no_light", low=0.95)),
        ("brier", "brier_no_light", "f1", "f1_no_light"),
    ),
    Benchmark(
        "occupancy adl",
        "benchmarks.occupancy",
        lambda data: [
            "adl",
            "--sensors",
            str(data / ADL_SENSORS),
            "--activities",
            str(data / ADL_ACTIVITIES),
        ],
        (Target("home_nowcast_accuracy", low=0.99), Target("forecast_skill_1h", low=0.25)),
        (
            "forecast_skill_15m",
            "forecast_skill_3h",
            "forecast_skill_24h",
            "room_balanced_accuracy_mean",
            "arrival_mae_min",
            "arrival_mae_min_baseline",
        ),
    ),
    Benchmark(
        "occupancy speed",
        "benchmarks.occupancy",
        lambda data: ["speed"],
        (
            Target("train_s", high=30.0, strict_high=True),
            Target("peak_mb", high=200.0, strict_high=True),
            Target("predict_all_ms", high=20.0, strict_high=True),
            Target("per_event_us", high=50.0, strict_high=True),
        ),
    ),
    Benchmark(
        "maintenance batteries",
        "benchmarks.maintenance",
        lambda data: ["batteries"],
        (Target("mae_days_14d", high=3.0), Target("mae_days_7d", high=1.5)),
        ("mae_days_30d", "coverage_80"),
    ),
    Benchmark(
        "maintenance silent",
        "benchmarks.maintenance",
        lambda data: ["silent", "--sensors", str(data / ADL_SENSORS)],
        (
            Target("detection_rate", low=0.95),
            Target("false_alarms_per_sensor_month", high=0.5, strict_high=True),
        ),
        ("median_hours_to_detect",),
    ),
    Benchmark(
        "maintenance appliances",
        "benchmarks.maintenance",
        lambda data: ["appliances"],
        (
            Target("detection_rate", low=0.90),
            Target("false_alarms_per_appliance_month", high=0.5, strict_high=True),
        ),
        ("median_hours_to_detect",),
    ),
    Benchmark("energy_occupancy", "benchmarks.energy_occupancy", lambda data: [], ()),
)


def _last_json(output: str) -> dict[str, Any]:
    """The JSON object on the last non-empty line of a benchmark's output."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the benchmark printed nothing")
    result = json.loads(lines[-1])
    if not isinstance(result, dict):
        raise TypeError("the last line is not a JSON object")
    return result


def run(benchmark: Benchmark, data: Path) -> dict[str, Any]:
    """Run one benchmark in its own process; its checked figures and verdicts."""
    command = [sys.executable, "-m", benchmark.module, *benchmark.arguments(data)]
    started = time.monotonic()
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = round(time.monotonic() - started, 1)
    if process.returncode != 0:
        tail = "\n".join(process.stderr.splitlines()[-5:])
        return {"error": f"exit {process.returncode}: {tail}", "seconds": seconds, "met": False}
    result = _last_json(process.stdout)
    figures = {target.key: result.get(target.key) for target in benchmark.targets}
    figures.update({key: result.get(key) for key in benchmark.reported})
    if not benchmark.targets and not benchmark.reported:
        figures = {key: value for key, value in result.items() if isinstance(value, int | float)}
    verdicts = {target.key: target.met(result.get(target.key)) for target in benchmark.targets}
    return {
        "figures": figures,
        "targets": {target.key: target.describe() for target in benchmark.targets},
        "verdicts": verdicts,
        "met": all(verdicts.values()),
        "seconds": seconds,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run the chosen benchmarks, print the table, then the JSON summary as the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("FORESIGHT_DATA", "../shared/data")),
        help="the folder holding the public datasets (default ../shared/data)",
    )
    parser.add_argument("--only", default="", help="run the benchmarks whose name starts so")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if b.name.startswith(args.only)]
    if not chosen:
        raise SystemExit(f"no benchmark named {args.only!r}")
    summary: dict[str, Any] = {}
    for benchmark in chosen:
        print(f"{benchmark.name} …", flush=True)
        outcome = run(benchmark, args.data)
        summary[benchmark.name] = outcome
        if "error" in outcome:
            print(f"  failed: {outcome['error']}", flush=True)
            continue
        for key, value in outcome["figures"].items():
            if key in outcome["targets"]:
                verdict = "met" if outcome["verdicts"][key] else "NOT met"
                line = f"{value} (target {outcome['targets'][key]}: {verdict})"
            else:
                line = str(value)
            print(f"  {key}: {line}", flush=True)
        print(f"  ({outcome['seconds']} s)", flush=True)
    summary["all_met"] = all(outcome["met"] for outcome in summary.values())
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
