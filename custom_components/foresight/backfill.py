"""Filling Foresight's history from the recorder once, for sources it has not seen before.

State history gives the recorder's window (10 days by default) at full resolution; long-term
statistics give hourly summaries for as long as the recorder kept them (years). Everything runs
in the recorder's executor, after Home Assistant has started.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
import logging
import math
from typing import Any

from homeassistant.components.recorder import history, statistics
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter, PowerConverter, TemperatureConverter

from .aggregate import MAX_HOURLY_KWH
from .history import HistoryStore, HourlyRow, Sample
from .observe import SeriesBuilder
from .sources import BINARY_KINDS, CANONICAL_UNIT, Kind, Rejected, Source

_LOGGER = logging.getLogger(__name__)

# Long-term statistics are asked for in Foresight's units; the recorder converts.
_STATISTICS_UNITS = {
    EnergyConverter.UNIT_CLASS: CANONICAL_UNIT[Kind.ENERGY],
    PowerConverter.UNIT_CLASS: CANONICAL_UNIT[Kind.POWER],
    TemperatureConverter.UNIT_CLASS: CANONICAL_UNIT[Kind.TEMPERATURE],
}


async def async_backfill(
    hass: HomeAssistant,
    store: HistoryStore,
    sources: Iterable[Source],
    until: datetime,
    retention_days: int,
) -> list[str]:
    """Fill the history of sources never filled before, up to ``until``; returns their keys."""
    done = await hass.async_add_executor_job(store.backfilled)
    todo = [source for source in sources if source.key not in done]
    if not todo:
        return []
    start = until - timedelta(days=retention_days)
    await get_instance(hass).async_add_executor_job(_backfill, hass, store, todo, start, until)
    return [source.key for source in todo]


def _backfill(
    hass: HomeAssistant,
    store: HistoryStore,
    sources: list[Source],
    start: datetime,
    until: datetime,
) -> None:
    # What Foresight observed itself (its gaps included) is not filled again from the recorder.
    observed_since = store.observed_since()
    by_entity: dict[str, list[Source]] = defaultdict(list)
    for source in sources:
        by_entity[source.entity_id].append(source)
    samples = hours = 0
    # One entity at a time: a chatty power sensor's days are the most ever held in memory.
    for entity_id, entity_sources in sorted(by_entity.items()):
        kept = _backfill_entity(
            hass, store, entity_id, entity_sources, start, until, observed_since
        )
        samples, hours = samples + kept[0], hours + kept[1]
    _LOGGER.debug(
        "Filled %d sources from the recorder since %s: %d samples, %d hours",
        len(sources),
        dt_util.as_local(start),
        samples,
        hours,
    )


def _backfill_entity(
    hass: HomeAssistant,
    store: HistoryStore,
    entity_id: str,
    sources: list[Source],
    start: datetime,
    until: datetime,
    observed_since: dict[str, float],
) -> tuple[int, int]:
    """Fill the series of one entity; returns how many samples and hours were kept."""
    states = history.get_significant_states(
        hass,
        start,
        until,
        [entity_id],
        include_start_time_state=True,
        significant_changes_only=False,
        minimal_response=False,
        no_attributes=False,
    ).get(entity_id, [])
    numeric = any(_has_statistics(source) for source in sources)
    hourly_stats = (
        statistics.statistics_during_period(
            hass,
            start - timedelta(hours=1),  # the row before the first: what its change counts from
            until,
            {entity_id},
            "hour",
            _STATISTICS_UNITS,
            {"mean", "min", "max", "change"},
        ).get(entity_id, [])
        if numeric
        else []
    )
    # A meter's change is counted from the row before that the recorder has: after hours with
    # no row (the meter unavailable throughout), one hour would hold all they used.
    stated = {int(row["start"]) for row in hourly_stats}
    kinds = {source.key: str(source.kind) for source in sources}
    samples: list[Sample] = []
    hourly: list[HourlyRow] = []
    dropped: dict[str, dict[str, int]] = {}
    for source in sources:
        end = min(until.timestamp(), observed_since.get(source.key, math.inf))
        builder = SeriesBuilder(source, hass.config.units.temperature_unit)
        for state in states:
            if isinstance(state, State) and state.last_updated_timestamp < end:
                builder.add_state(state, max(state.last_updated_timestamp, start.timestamp()))
        builder.advance(end)
        new_samples, new_hours, new_dropped = builder.take()
        samples += new_samples
        by_hour = {row.hour: row for row in new_hours}
        # Long-term statistics are the recorder's own summary of the hour: they win.
        for row in hourly_stats if _has_statistics(source) else ():
            if row["start"] < start.timestamp() or (
                source.kind is Kind.ENERGY and int(row["start"]) - 3600 not in stated
            ):
                continue  # a meter's change since a row hours before is not this hour's alone
            hour = _statistics_row(source, row)
            if hour is None or hour.hour + 3600 > end:
                continue
            if hour.consumption is not None and hour.consumption > MAX_HOURLY_KWH:
                new_dropped[Rejected.IMPLAUSIBLE] = new_dropped.get(Rejected.IMPLAUSIBLE, 0) + 1
                continue
            by_hour[hour.hour] = hour
        hourly += by_hour.values()
        if new_dropped:
            dropped[source.key] = new_dropped
    store.write(kinds, samples, hourly, dropped, replace_hours=False)
    store.mark_backfilled(kinds, kinds)
    return len(samples), len(hourly)


def _has_statistics(source: Source) -> bool:
    """Whether the recorder keeps long-term statistics of the series (a number's)."""
    return source.kind not in BINARY_KINDS and source.kind is not Kind.SETPOINT


def _statistics_row(source: Source, row: Any) -> HourlyRow | None:
    start = int(row["start"])
    if source.kind is Kind.ENERGY:
        change = row.get("change")
        # The recorder compensates resets in its sum; a negative change is a meter correction:
        # what the home used in that hour is not known (0 would teach an hour of no use).
        if change is None or float(change) < 0.0:
            return None
        return HourlyRow(source.key, start, None, None, None, float(change))
    mean = row.get("mean")
    if mean is None:
        return None
    return HourlyRow(source.key, start, mean, row.get("min"), row.get("max"))
