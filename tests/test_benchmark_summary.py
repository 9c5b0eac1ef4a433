"""The benchmark summary checks each figure against its target as the issues state it."""

from __future__ import annotations

import pytest

from benchmarks.summary import BENCHMARKS, Target, _last_json


def test_targets_are_checked_as_stated() -> None:
    """At least, less than, a range with its bounds, and a missing figure never met."""
    at_least = Target("skill", low=0.05)
    assert at_least.met(0.05) and not at_least.met(0.0499) and not at_least.met(None)
    below = Target("false_alarms_per_week", high=1.0, strict_high=True)
    assert below.met(0.99) and not below.met(1.0)
    band = Target("coverage_80", low=0.75, high=0.85)
    assert band.met(0.75) and band.met(0.85) and not band.met(0.86) and not band.met(0.74)
    assert (at_least.describe(), below.describe(), band.describe()) == (
        "≥ 0.05",
        "< 1",
        "0.75–0.85",
    )


def test_the_last_line_is_the_result() -> None:
    """A benchmark's progress lines are skipped; its last line must be a JSON object."""
    assert _last_json('progress\n{"skill": 0.1}\n\n') == {"skill": 0.1}
    with pytest.raises(TypeError):
        _last_json("[1, 2]")
    with pytest.raises(ValueError, match="printed nothing"):
        _last_json("\n")


def test_every_benchmark_of_the_issues_is_summarised() -> None:
    """Each benchmark command of the issues is run, with its targets."""
    names = {benchmark.name for benchmark in BENCHMARKS}
    assert names >= {
        "energy lcl",
        "energy sceaux",
        "energy anomalies",
        "energy thermal",
        "energy speed",
        "occupancy uci",
        "occupancy adl",
        "occupancy speed",
        "maintenance batteries",
        "maintenance silent",
        "maintenance appliances",
    }
