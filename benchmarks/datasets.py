"""Readers for the public datasets the benchmarks run on.

Each reader accepts the whole file format, not only the rows we happen to have: runs of tabs or
spaces between fields, CRLF or LF line ends, header and separator lines, quoted fields, blank
lines and rows that cannot be read (skipped and counted, never guessed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
import gzip
import io
from pathlib import Path
import re

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


@dataclass(frozen=True, slots=True)
class Interval:
    """One row of a UCI ADL file: a sensor activation or an activity, from start to end."""

    start: datetime
    end: datetime
    fields: tuple[str, ...]  # the remaining columns: (location, type, place) or (activity,)


@dataclass(slots=True)
class ParseResult:
    """Rows read from a file, and how many lines were skipped as unreadable."""

    rows: list[Interval]
    skipped: int


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("T", " "))


def _decoded_lines(path: str | Path) -> io.StringIO:
    """The file's lines: UTF-8 (with or without a BOM), else Latin-1, which reads any byte."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return io.StringIO(text, newline="")


def read_adl_intervals(path: str | Path) -> ParseResult:
    """Read a UCI ADL (Ordóñez) sensors or activities file into intervals, sorted by start."""
    rows: list[Interval] = []
    skipped = 0
    for raw in _decoded_lines(path):
        line = raw.strip("\r\n\ufeff")
        if not line.strip():
            continue
        stamps = _TIMESTAMP.findall(line)
        if len(stamps) < 2:
            # Header, separator line, or a row without its two timestamps.
            if any(ch.isdigit() for ch in line) and not set(line.strip()) <= set("-\t "):
                skipped += 1
            continue
        rest = line
        for stamp in stamps[:2]:
            rest = rest.replace(stamp, "\t", 1)
        fields = tuple(
            field.strip().strip('"').strip("'")
            for field in re.split(r"[\t ]{1,}|,", rest)
            if field.strip().strip('"').strip("'")
        )
        try:
            start, end = _parse_time(stamps[0]), _parse_time(stamps[1])
        except ValueError:
            skipped += 1
            continue
        if end < start or not fields:
            skipped += 1
            continue
        rows.append(Interval(start, end, fields))
    rows.sort(key=lambda row: row.start)
    return ParseResult(rows, skipped)


# --- Energy readers (London smart meters, Sceaux household power) ----------------------------

_EUROPEAN_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_MISSING = {"", "null", "nan", "na", "n/a", "?", "none", "-"}


@dataclass(slots=True)
class MeterSeries:
    """One meter's readings: local-wall-clock timestamps (float seconds) and values (NaN gaps)."""

    timestamps: list[float]
    values: list[float]


def _open_text(path: str | Path) -> io.TextIOBase:
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _split_fields(line: str) -> list[str]:
    separator = "," if "," in line else (";" if ";" in line else None)
    parts = line.split(separator) if separator else line.split()
    return [part.strip().strip('"').strip("'").strip() for part in parts]


def _wall_clock_seconds(text: str) -> float | None:
    """A local date-time as float seconds on the wall clock, or None when it is not one."""
    text = text.strip()
    match = _EUROPEAN_DATE.match(text)
    if match:
        day, month, year = match.groups()
        text = f"{year}-{int(month):02d}-{int(day):02d}{text[match.end() :]}"
    text = text.replace("T", " ").rstrip("Z")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC).timestamp()


def _number(text: str) -> float:
    if text.strip().lower() in _MISSING:
        return float("nan")
    return float(text)


def read_meter_csv(path: str | Path) -> tuple[dict[str, MeterSeries], int]:
    """Read an ``id, timestamp, value`` file (London smart meters) into one series per meter.

    Header lines are skipped, ``Null`` or empty values become NaN, unreadable lines are counted.
    Returns ``(series by id, skipped lines)``; each series is sorted by time.
    """
    series: dict[str, MeterSeries] = {}
    skipped = 0
    with _open_text(path) as handle:
        for raw in handle:
            line = raw.strip("\r\n\ufeff")
            if not line.strip():
                continue
            fields = _split_fields(line)
            if len(fields) < 3:
                skipped += 1
                continue
            stamp = _wall_clock_seconds(fields[1])
            if stamp is None:
                if any(ch.isdigit() for ch in fields[1]):
                    skipped += 1  # a data row with a broken time; headers are silently skipped
                continue
            try:
                value = _number(fields[2])
            except ValueError:
                skipped += 1
                continue
            entry = series.setdefault(fields[0], MeterSeries([], []))
            entry.timestamps.append(stamp)
            entry.values.append(value)
    for entry in series.values():
        order = sorted(range(len(entry.timestamps)), key=entry.timestamps.__getitem__)
        entry.timestamps = [entry.timestamps[i] for i in order]
        entry.values = [entry.values[i] for i in order]
    return series, skipped


@dataclass(slots=True)
class PowerTable:
    """A one-minute household power table: timestamps and global active power (kW)."""

    timestamps: list[float]
    active_power_kw: list[float]
    repeats_dropped: int  # minutes that exactly repeated the same minute a day before
    skipped: int


def read_household_power(path: str | Path) -> PowerTable:
    """Read the UCI household power file (ISO ``date_time`` or ``d/m/Y;time`` columns).

    The packager filled missing minutes with a copy of the same minute 24 hours before: a row
    whose every value equals that earlier row's is treated as missing (its power becomes NaN).
    """
    times: list[float] = []
    rows: list[tuple[float, ...]] = []
    skipped = 0
    with _open_text(path) as handle:
        for raw in handle:
            line = raw.strip("\r\n\ufeff")
            if not line.strip():
                continue
            fields = _split_fields(line)
            stamp = _wall_clock_seconds(fields[0])
            rest = fields[1:]
            if stamp is None and len(fields) > 1:
                stamp = _wall_clock_seconds(f"{fields[0]} {fields[1]}")
                rest = fields[2:]
            if stamp is None:
                if any(ch.isdigit() for ch in fields[0]):
                    skipped += 1
                continue
            try:
                values = tuple(_number(field) for field in rest)
            except ValueError:
                skipped += 1
                continue
            if not values:
                skipped += 1
                continue
            times.append(stamp)
            rows.append(values)
    index = {stamp: position for position, stamp in enumerate(times)}
    power = [row[0] for row in rows]
    repeats = 0
    for position, stamp in enumerate(times):
        earlier = index.get(stamp - 86400.0)
        if (
            earlier is not None
            and rows[earlier] == rows[position]
            and power[position] == power[position]
        ):
            power[position] = float("nan")
            repeats += 1
    return PowerTable(times, power, repeats, skipped)


@dataclass(slots=True)
class OccupancyTable:
    """A timestamped table: one time per row and a column of floats per name (NaN = gap)."""

    times: list[datetime]
    columns: dict[str, list[float]]
    skipped: int


def _occupancy_float(text: str) -> float:
    text = text.strip().strip('"').strip("'").strip()
    if not text or text.lower() in {"na", "nan", "null", "none", "?"}:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return float("nan")


def read_uci_occupancy(path: str | Path) -> OccupancyTable:
    """Read a UCI Occupancy Detection file (CSV, quoted row ids, header of column names).

    The header names the columns after the row id (``date``, ``Temperature``, ..., ``Occupancy``);
    rows may or may not carry the leading quoted id. Values are matched to the names that follow
    the date from the right, so an extra leading field never shifts them.
    """
    names: list[str] = []
    times: list[datetime] = []
    columns: dict[str, list[float]] = {}
    skipped = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for raw in handle:
            line = raw.strip("\r\n\ufeff").strip()
            if not line:
                continue
            fields = [field.strip() for field in re.split(r"\s*[,;\t]\s*", line)]
            stamp_at = next(
                (i for i, field in enumerate(fields) if _TIMESTAMP.fullmatch(field.strip("\"'"))),
                None,
            )
            if stamp_at is None:
                is_number = [_occupancy_float(field) == _occupancy_float(field) for field in fields]
                if not names and not any(is_number):
                    header = [field.strip("\"'").strip() for field in fields if field.strip("\"'")]
                    lowered = [name.lower() for name in header]
                    start = lowered.index("date") + 1 if "date" in lowered else 0
                    names = header[start:]
                    columns = {name: [] for name in names}
                else:
                    skipped += 1
                continue
            values = fields[stamp_at + 1 :]
            if not names or len(values) < len(names):
                skipped += 1
                continue
            try:
                stamp = _parse_time(fields[stamp_at].strip("\"'"))
            except ValueError:
                skipped += 1
                continue
            times.append(stamp)
            for name, text in zip(names, values[: len(names)], strict=True):
                columns[name].append(_occupancy_float(text))
    order = sorted(range(len(times)), key=times.__getitem__)
    return OccupancyTable(
        [times[i] for i in order],
        {name: [column[i] for i in order] for name, column in columns.items()},
        skipped,
    )
