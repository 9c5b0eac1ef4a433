"""Where the sun is: night told from day, for solar panels that sleep at night."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from custom_components.foresight.learning.sun import dark_hours, sun_elevation

LONDON = (51.5, -0.13)
TROMSO = (69.65, 18.96)
SYDNEY = (-33.87, 151.21)


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("moment", "place", "elevation"),
    [
        # At the solstices' local noon and midnight: 90° − latitude ± the tilt of the Earth.
        ("2026-06-21T12:00:31", LONDON, 90 - 51.5 + 23.44),
        ("2026-12-21T23:59:41", LONDON, -(90 - 51.5 + 23.44)),
        ("2026-12-21T01:54:43", SYDNEY, 90 - 33.87 + 23.44),
        ("2026-03-20T12:07:00", (0.0, 0.0), 90.0),
    ],
)
def test_the_sun_is_where_the_almanac_puts_it(
    moment: str, place: tuple[float, float], elevation: float
) -> None:
    assert float(sun_elevation(_utc(moment), *place)) == pytest.approx(elevation, abs=0.6)


def test_an_hour_is_dark_only_if_the_sun_stays_down_all_of_it() -> None:
    day = _utc("2026-06-21T00:00")
    hours = day + 3600.0 * np.arange(24)
    # London's midsummer sunrise is at 03:43 UTC, its sunset at 20:21 UTC.
    assert np.flatnonzero(dark_hours(hours, *LONDON)).tolist() == [0, 1, 2, 21, 22, 23]
    # Polar day and polar night.
    assert not dark_hours(hours, *TROMSO).any()
    assert dark_hours(_utc("2026-12-21T00:00") + 3600.0 * np.arange(24), *TROMSO).all()
