"""The benchmarks' readers accept the whole format of the public datasets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from benchmarks.datasets import read_adl_intervals

HEADER = "Start time\t\tEnd time\t\tLocation\tType\tPlace\n----------\t\t--------\t\t--------\t----\t-----\n"


def test_adl_file_not_in_utf8_is_read(tmp_path: Path) -> None:
    """A file saved in Latin-1 (an accented place name) is read, not refused."""
    path = tmp_path / "sensors.txt"
    row = "2011-11-28 02:27:59\t\t2011-11-28 10:18:11\t\tBed\tPressure\tDormitório\n"
    path.write_bytes((HEADER + row).encode("latin-1"))
    parsed = read_adl_intervals(path)
    (interval,) = parsed.rows
    assert interval.fields == ("Bed", "Pressure", "Dormitório")
    assert parsed.skipped == 0


def test_adl_timestamps_with_fractions_of_a_second(tmp_path: Path) -> None:
    """A fraction of a second is part of the time, not of the sensor's name."""
    path = tmp_path / "sensors.txt"
    path.write_text(
        HEADER
        + "2011-11-28 02:27:59.500\t\t2011-11-28 10:18:11.25\t\tBed\tPressure\tBedroom\n"
        + "2011-11-28 10:21:24,2011-11-28 10:21:31,Cabinet,Magnetic,Bathroom\n",
        encoding="utf-8",
    )
    parsed = read_adl_intervals(path)
    first, second = parsed.rows
    assert first.fields == ("Bed", "Pressure", "Bedroom")
    assert first.start == datetime(2011, 11, 28, 2, 27, 59, 500000)
    assert first.end == datetime(2011, 11, 28, 10, 18, 11, 250000)
    assert second.fields == ("Cabinet", "Magnetic", "Bathroom")
    assert second.end == datetime(2011, 11, 28, 10, 21, 31)
