"""Foresight's own history: a compact, bounded, crash-safe store of every source's samples.

The recorder forgets states after 10 days by default; what Foresight learns from must outlive
that. This module keeps, per source (a series key such as ``binary_sensor.hall_motion``):

- ``samples``: raw readings in the source's canonical unit, with ``NULL`` for a gap
  (unavailable / unknown). Binary sources keep every change, numeric ones at most one reading a
  minute, and only for the last ``raw_numeric_days``.
- ``observed``: when Foresight began watching each source live, and until when it wrote what it
  saw; a restart resumes from there, and the time it was not watching is a gap (a meter's use
  over a gap of minutes is shared between its hours, see ``aggregate.py``).
- ``hourly``: one row per source and hour (UTC hour start): time-weighted mean, min, max, and for
  energy meters the consumption in that hour. Kept for ``retention_days``.
- ``days``: per source and UTC day, how many readings (not gaps) and hourly rows it holds. SQLite
  triggers keep it as rows come and go, so the hourly summary never reads the whole history.

Sizes per source (SQLite, measured by ``tests/test_history.py``): about 30 bytes a row, so a
binary source changing 100 times a day takes about 1.2 MB a year, a numeric source at most
about 0.6 MB of raw samples plus 0.3 MB of hourly rows a year.

It is plain SQLite in a file of its own: every write is one transaction, so a crash during a
write never leaves a file that cannot be read. A file that is damaged anyway is set aside and
a new one started; the caller rebuilds it from the recorder. A backup holds the file
(:meth:`HistoryStore.hold`): the main file then has everything and nothing writes to it until it
is released. Nothing here touches Home Assistant, and every method blocks: call them from an
executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import json
from pathlib import Path
import sqlite3
import threading
import time

SCHEMA_VERSION = 2  # 2: the day counts (a file of schema 1 gains them when opened)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    backfilled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dropped (
    source INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (source, reason)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples (
    source INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    value REAL,
    PRIMARY KEY (source, t)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS observed (
    source INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    since REAL NOT NULL,
    until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS hourly (
    source INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    hour INTEGER NOT NULL,
    mean REAL,
    min REAL,
    max REAL,
    consumption REAL,
    PRIMARY KEY (source, hour)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS days (
    source INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    day INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    hours INTEGER NOT NULL,
    PRIMARY KEY (source, day)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS reading_kept AFTER INSERT ON samples WHEN new.value IS NOT NULL
BEGIN
    INSERT INTO days VALUES (new.source, CAST(new.t / 86400 AS INTEGER), 1, 0)
    ON CONFLICT (source, day) DO UPDATE SET samples = samples + 1;
END;
CREATE TRIGGER IF NOT EXISTS reading_gone AFTER DELETE ON samples WHEN old.value IS NOT NULL
BEGIN
    UPDATE days SET samples = samples - 1
    WHERE source = old.source AND day = CAST(old.t / 86400 AS INTEGER);
    DELETE FROM days WHERE source = old.source AND day = CAST(old.t / 86400 AS INTEGER)
    AND samples = 0 AND hours = 0;
END;
CREATE TRIGGER IF NOT EXISTS hour_kept AFTER INSERT ON hourly
BEGIN
    INSERT INTO days VALUES (new.source, new.hour / 86400, 0, 1)
    ON CONFLICT (source, day) DO UPDATE SET hours = hours + 1;
END;
CREATE TRIGGER IF NOT EXISTS hour_gone AFTER DELETE ON hourly
BEGIN
    UPDATE days SET hours = hours - 1 WHERE source = old.source AND day = old.hour / 86400;
    DELETE FROM days WHERE source = old.source AND day = old.hour / 86400
    AND samples = 0 AND hours = 0;
END;
"""

# The day counts of a file written before they were kept (samples and hours are only ever
# inserted and deleted, never updated: the triggers above see every change).
_COUNT_DAYS = """
INSERT INTO days SELECT source, day, SUM(reading), SUM(hour) FROM (
    SELECT source, CAST(t / 86400 AS INTEGER) AS day, 1 AS reading, 0 AS hour FROM samples
    WHERE value IS NOT NULL
    UNION ALL SELECT source, hour / 86400, 0, 1 FROM hourly
) GROUP BY source, day
"""


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of a source: UTC seconds, and a value (None for a gap)."""

    key: str
    t: float
    value: float | None


@dataclass(frozen=True, slots=True)
class HourlyRow:
    """One hour of a numeric source (UTC hour start in seconds)."""

    key: str
    hour: int
    mean: float | None
    min: float | None
    max: float | None
    consumption: float | None = None


@dataclass(slots=True)
class Coverage:
    """How much history a source has."""

    kind: str
    samples: int = 0
    hours: int = 0
    first: float | None = None
    last: float | None = None
    days: int = 0  # distinct UTC days with a reading
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class OpenResult:
    """What opening the store found."""

    set_aside: Path | None = None  # where a damaged file was moved, if one was


class HistoryDamagedError(Exception):
    """The history file cannot be read."""


class HistoryTooNewError(Exception):
    """The history file was written by a newer Foresight (a downgrade): it is left as it is."""


class HistoryClosedError(Exception):
    """The history file was closed (Foresight was unloaded): work still reading it must stop."""


class HistoryHeldError(Exception):
    """The history file is held for a backup: a write is refused, to be tried again after it."""


# What a history file raises while it is out of reach for now: locked, the disk full, held.
HISTORY_ERRORS = (sqlite3.Error, OSError, HistoryHeldError)

# What SQLite says of a file that is damaged, not merely busy or out of reach for now.
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _DAMAGE_CODES


class HistoryStore:
    """Foresight's history file. Thread-safe; every method blocks (use an executor)."""

    def __init__(self, path: Path) -> None:
        """Prepare a store at ``path``; nothing is read until :meth:`open`."""
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._ids: dict[str, int] = {}
        self._held = False

    def open(self) -> OpenResult:
        """Open (or create) the file; a damaged file is set aside and a new one started.

        Any other error (locked, unreachable, a newer schema) is raised: the file is kept.
        """
        result = OpenResult()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            try:
                self._db = self._connect()
            except (sqlite3.DatabaseError, HistoryDamagedError) as error:
                if isinstance(error, sqlite3.DatabaseError) and not _is_damage(error):
                    raise
                stamp = time.strftime("%Y%m%d%H%M%S")
                result.set_aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
                self.path.replace(result.set_aside)
                for suffix in ("-wal", "-shm", "-journal"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self._db = self._connect()
            self._ids = dict(self._db.execute("SELECT key, id FROM sources").fetchall())
        return result

    def damaged_copies(self) -> list[Path]:
        """The damaged files set aside by :meth:`open` and not deleted yet, oldest first."""
        return sorted(self.path.parent.glob(f"{self.path.name}.damaged-*"))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise HistoryDamagedError(self.path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        # A sample or hour replaced in place must reach the day counts' delete triggers too.
        db.execute("PRAGMA recursive_triggers=ON")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise HistoryTooNewError(f"{self.path}: schema {row[0]} is newer than this Foresight")
        db.executescript(_SCHEMA)
        if row is None or int(row[0]) < SCHEMA_VERSION:
            db.execute("BEGIN")
            try:
                db.execute("DELETE FROM days")
                db.execute(_COUNT_DAYS)
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._db is not None:
                if self._held:  # closing would fold and delete the WAL while a backup copies it
                    self._db.setconfig(sqlite3.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, True)
                self._db.close()
                self._db = None

    def hold(self) -> None:
        """Fold the WAL into the main file and refuse writes until :meth:`release` (a backup).

        While held the main file alone is the whole history and nothing changes it: a backup
        copying it meanwhile gets a consistent file. Reads go on; writes raise
        :class:`HistoryHeldError` at once, and a prune is skipped.
        """
        with self._lock:
            self._held = True
            if self._db is not None:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def release(self) -> None:
        """Accept writes again after :meth:`hold`."""
        with self._lock:
            self._held = False

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise HistoryClosedError(self.path)
        return self._db

    @property
    def _writable(self) -> sqlite3.Connection:
        if self._held:
            raise HistoryHeldError(self.path)
        return self._conn

    def _source_id(self, key: str, kind: str) -> int:
        if (source_id := self._ids.get(key)) is None:
            cursor = self._conn.execute(
                "INSERT INTO sources (key, kind) VALUES (?, ?)", (key, kind)
            )
            source_id = self._ids[key] = int(cursor.lastrowid or 0)
        return source_id

    def write(
        self,
        kinds: dict[str, str],
        samples: Sequence[Sample] = (),
        hourly: Sequence[HourlyRow] = (),
        dropped: dict[str, dict[str, int]] | None = None,
        *,
        replace_hours: bool = True,
        observed: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        """Add samples, hourly rows and dropped counts in one transaction.

        ``kinds`` maps each key to its kind (used when a key is new). Samples at a time already
        stored replace it; hourly rows replace stored hours unless ``replace_hours`` is False
        (a backfill never overwrites what was observed live). ``observed`` gives, per key, when
        live observation began and until when it is written (its first ``since`` is kept).
        """
        hour_verb = "REPLACE" if replace_hours else "IGNORE"
        with self._lock:
            db = self._writable
            db.execute("BEGIN")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO samples VALUES (?, ?, ?)",
                    [(self._source_id(s.key, kinds[s.key]), s.t, s.value) for s in samples],
                )
                db.executemany(
                    f"INSERT OR {hour_verb} INTO hourly VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608 (a fixed verb)
                    [
                        (
                            self._source_id(h.key, kinds[h.key]),
                            h.hour,
                            h.mean,
                            h.min,
                            h.max,
                            h.consumption,
                        )
                        for h in hourly
                    ],
                )
                for key, reasons in (dropped or {}).items():
                    source_id = self._source_id(key, kinds[key])
                    db.executemany(
                        "INSERT INTO dropped VALUES (?, ?, ?) ON CONFLICT (source, reason)"
                        " DO UPDATE SET count = count + excluded.count",
                        [(source_id, reason, count) for reason, count in reasons.items()],
                    )
                db.executemany(
                    "INSERT INTO observed VALUES (?, ?, ?) ON CONFLICT (source)"
                    " DO UPDATE SET until = max(until, excluded.until)",
                    [
                        (self._source_id(key, kinds[key]), since, until)
                        for key, (since, until) in (observed or {}).items()
                    ],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._ids = dict(db.execute("SELECT key, id FROM sources").fetchall())
                raise

    def mark_backfilled(self, keys: Iterable[str], kinds: dict[str, str]) -> None:
        """Remember that these sources were filled from the recorder once."""
        with self._lock:
            db = self._writable  # held: refused, so the backfill is done again after the backup
            for key in keys:
                db.execute(
                    "UPDATE sources SET backfilled = 1 WHERE id = ?",
                    (self._source_id(key, kinds[key]),),
                )

    def kinds(self) -> dict[str, str]:
        """The kind each kept series was stored as."""
        with self._lock:
            return dict(self._conn.execute("SELECT key, kind FROM sources").fetchall())

    def backfilled(self) -> set[str]:
        """Keys already filled from the recorder."""
        with self._lock:
            rows = self._conn.execute("SELECT key FROM sources WHERE backfilled = 1")
            return {row[0] for row in rows}

    def rename(self, old_key: str, new_key: str) -> None:
        """Follow an entity rename: the series keeps its history under the new key."""
        with self._lock:
            db = self._writable  # held: refused; the caller renames again after the backup
            if old_key not in self._ids:
                return
            db.execute("BEGIN")
            try:
                if new_key in self._ids:  # a source of that name already exists: the old wins
                    db.execute("DELETE FROM sources WHERE key = ?", (new_key,))
                db.execute("UPDATE sources SET key = ? WHERE key = ?", (new_key, old_key))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            finally:
                self._ids = dict(db.execute("SELECT key, id FROM sources").fetchall())

    def prune(
        self,
        now: float,
        retention_days: int,
        raw_numeric_days: int,
        keep_every_reading: Iterable[str] = (),
        keep_raw: dict[str, int] | None = None,
    ) -> None:
        """Forget what is older than the retention; raw samples of other kinds sooner.

        Series of the kinds in ``keep_every_reading`` keep every sample for the retention;
        ``keep_raw`` gives some series (watched appliances) their own raw retention.
        """
        keep_from = now - retention_days * 86400
        keep_raw_from = now - raw_numeric_days * 86400
        longer = {
            self._ids[key]: now - days * 86400
            for key, days in (keep_raw or {}).items()
            if key in self._ids
        }
        with self._lock:
            if self._held:
                return  # held for a backup: what is old now is forgotten by the next prune
            db = self._conn
            db.execute("BEGIN")
            try:
                # Per source, along its key: a bare time bound would read every row kept.
                db.execute(
                    "DELETE FROM samples WHERE source IN (SELECT id FROM sources) AND t < ?",
                    (keep_from,),
                )
                db.execute(
                    "DELETE FROM samples WHERE t < ? AND source IN"
                    " (SELECT id FROM sources WHERE kind NOT IN (SELECT value FROM json_each(?)))"
                    " AND source NOT IN (SELECT value FROM json_each(?))",
                    (
                        keep_raw_from,
                        json.dumps(sorted(keep_every_reading)),
                        json.dumps(list(longer)),
                    ),
                )
                for source_id, keep_source_from in longer.items():
                    db.execute(
                        "DELETE FROM samples WHERE source = ? AND t < ?",
                        (source_id, keep_source_from),
                    )
                db.execute(
                    "DELETE FROM hourly WHERE source IN (SELECT id FROM sources) AND hour < ?",
                    (keep_from,),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")  # a failed prune must not leave later writes stuck
                raise

    def samples(
        self, key: str, start: float = 0.0, end: float = float("inf")
    ) -> list[tuple[float, float | None]]:
        """A source's raw samples in ``[start, end)``, oldest first."""
        with self._lock:
            if (source_id := self._ids.get(key)) is None:
                return []
            return self._conn.execute(
                "SELECT t, value FROM samples WHERE source = ? AND t >= ? AND t < ? ORDER BY t",
                (source_id, start, min(end, 1e18)),
            ).fetchall()

    def hours(self, key: str, start: float = 0.0, end: float = float("inf")) -> list[HourlyRow]:
        """A source's hourly rows in ``[start, end)``, oldest first."""
        with self._lock:
            if (source_id := self._ids.get(key)) is None:
                return []
            rows = self._conn.execute(
                "SELECT hour, mean, min, max, consumption FROM hourly"
                " WHERE source = ? AND hour >= ? AND hour < ? ORDER BY hour",
                (source_id, start, min(end, 1e18)),
            ).fetchall()
        return [HourlyRow(key, *row) for row in rows]

    def last_values(self, keys: Iterable[str]) -> dict[str, tuple[float, float | None]]:
        """The newest sample of each of these sources (none for a source with no sample kept)."""
        latest = {}
        with self._lock:
            for key in keys:
                if (source_id := self._ids.get(key)) is None:
                    continue
                row = self._conn.execute(
                    "SELECT t, value FROM samples WHERE source = ? ORDER BY t DESC LIMIT 1",
                    (source_id,),
                ).fetchone()
                if row is not None:
                    latest[key] = (row[0], row[1])
        return latest

    def resume_points(self) -> dict[str, tuple[float, list[tuple[float, float | None]]]]:
        """Per source, until when it was observed and the samples of the hour then still open.

        The samples start with the last one at or before that hour's start (the value it began
        with). A file written before observation was recorded counts as observed until its
        newest sample or hour, whichever is later.
        """
        with self._lock:
            db = self._conn
            rows = db.execute(
                "SELECT s.id, s.key, COALESCE(o.until, MAX("
                " COALESCE((SELECT MAX(t) FROM samples WHERE source = s.id), 0),"
                " COALESCE((SELECT MAX(hour) + 3600 FROM hourly WHERE source = s.id), 0)))"
                " FROM sources s LEFT JOIN observed o ON o.source = s.id"
            ).fetchall()
            points = {}
            for source_id, key, until in rows:
                if not until:
                    continue  # nothing was ever kept (a source the recorder had nothing for)
                hour_start = until // 3600 * 3600
                stored = db.execute(
                    "SELECT t, value FROM samples WHERE source = ?1 AND t <= ?3 AND t >="
                    " COALESCE((SELECT MAX(t) FROM samples WHERE source = ?1 AND t <= ?2), ?2)"
                    " ORDER BY t",
                    (source_id, hour_start, until),
                ).fetchall()
                points[key] = (float(until), stored)
        return points

    def observed_since(self) -> dict[str, float]:
        """When live observation of each source began (the recorder fills only what came before)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT s.key, o.since FROM observed o JOIN sources s ON s.id = o.source"
            ).fetchall()
        return dict(rows)

    def dropped(self) -> dict[str, dict[str, int]]:
        """The readings dropped from each source so far, by reason (a small table: cheap)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT s.key, d.reason, d.count FROM dropped d JOIN sources s ON s.id = d.source"
            ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for key, reason, count in rows:
            counts.setdefault(key, {})[reason] = count
        return counts

    def coverage(self) -> dict[str, Coverage]:
        """How much history each source has, and what was dropped from it."""
        with self._lock:
            db = self._conn
            result = {
                key: Coverage(kind=kind)
                for key, kind in db.execute("SELECT key, kind FROM sources")
            }
            names = dict(db.execute("SELECT id, key FROM sources").fetchall())
            for source_id, readings, hours, days in db.execute(
                "SELECT source, SUM(samples), SUM(hours), COUNT(*) FROM days GROUP BY source"
            ):
                cov = result[names[source_id]]
                cov.samples, cov.hours, cov.days = readings, hours, days
            # Each end is one step along the source's key, however long its history.
            for source_id, first_reading, last_reading, first_hour, last_hour in db.execute(
                "SELECT id,"
                " (SELECT t FROM samples WHERE source = s.id AND value IS NOT NULL"
                "  ORDER BY t LIMIT 1),"
                " (SELECT t FROM samples WHERE source = s.id AND value IS NOT NULL"
                "  ORDER BY t DESC LIMIT 1),"
                " (SELECT MIN(hour) FROM hourly WHERE source = s.id),"
                " (SELECT MAX(hour) + 3600 FROM hourly WHERE source = s.id)"
                " FROM sources s"
            ):
                cov = result[names[source_id]]
                cov.first, cov.last = first_reading, last_reading
                if first_hour is not None:
                    cov.first = first_hour if cov.first is None else min(cov.first, first_hour)
                    cov.last = last_hour if cov.last is None else max(cov.last, last_hour)
            for source_id, reason, count in db.execute("SELECT source, reason, count FROM dropped"):
                result[names[source_id]].dropped[reason] = count
        return result

    def days_with_data(self, keys: Iterable[str]) -> int:
        """Distinct UTC days on which any of these sources has a reading."""
        with self._lock:
            ids = [self._ids[key] for key in keys if key in self._ids]
            if not ids:
                return 0
            row = self._conn.execute(
                "SELECT COUNT(DISTINCT day) FROM days"
                " WHERE source IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            ).fetchone()
        return int(row[0])
