"""The history benchmark runs end to end and reports every figure."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks.history import main


def test_speed_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """Two days of a big home: each timing, size and count is there, finite and positive."""
    main(["speed", "--days", "2"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    figures = {
        "build_s",
        "samples",
        "hourly_rows",
        "file_mb",
        "write_batch_ms",
        "write_batch_samples",
        "write_batch_hours",
        "summary_ms",
        "prune_ms",
        "coverage_ms",
        "days_with_data_ms",
        "last_values_ms",
        "maintenance_rebuild_s",
        "maintenance_report_ms",
        "maintenance_peak_mb",
        "maintenance_restart_ms",
        "maintenance_kept_mb",
        "occupancy_first_training_s",
        "occupancy_training_s",
        "occupancy_training_peak_mb",
        "energy_training_s",
        "energy_training_peak_mb",
    }
    assert figures <= result.keys()
    assert result["days"] == 2
    for name in figures:
        assert math.isfinite(result[name]) and result[name] > 0, name
    # The write that closes an hour carries an hourly row of every series.
    assert result["write_batch_hours"] == result["series"]


def test_a_full_disk_reports_the_loops_share_and_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Six minutes of readings wait through three failed writes, then every series is written."""
    main(["unwritten", "--hours", "0.1"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["readings_waiting"] > 1000
    assert len(result["failed_flush_loop_ms"]) == 3
    assert all(math.isfinite(ms) and ms > 0 for ms in result["failed_flush_loop_ms"])
    assert result["written_flush_loop_ms"] > 0
    assert result["series_written"] == result["series"]
