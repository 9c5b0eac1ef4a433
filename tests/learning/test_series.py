"""The helpers the learning engines share for series."""

from __future__ import annotations

import warnings

import numpy as np

from custom_components.foresight.learning.series import nan_statistic


def test_statistics_of_empty_slices_are_nan_without_a_warning() -> None:
    """A day never seen is NaN, and numpy's warning never reaches Home Assistant's log."""
    values = np.array([[1.0, np.nan, 3.0], [np.nan] * 3, [2.0, 4.0, np.nan]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        means = nan_statistic(np.nanmean, values, axis=1)
        spreads = nan_statistic(np.nanstd, values, axis=-1)
        quartiles = nan_statistic(np.nanquantile, values, axis=1, q=[0.25, 0.75])
        medians = nan_statistic(np.nanmedian, values, axis=0)
        whole = nan_statistic(np.nanmedian, values)
        nothing = nan_statistic(np.nanmax, values[1])
    assert caught == []
    np.testing.assert_allclose(means, [2.0, np.nan, 3.0])
    np.testing.assert_allclose(spreads, [1.0, np.nan, 1.0])
    assert quartiles.shape == (2, 3)
    np.testing.assert_allclose(quartiles[:, 0], np.nanquantile(values[0], [0.25, 0.75]))
    assert np.isnan(quartiles[:, 1]).all()
    np.testing.assert_allclose(medians, [1.5, 4.0, 3.0])
    assert float(whole) == 2.5
    assert np.isnan(nothing)
    assert nan_statistic(np.nanmean, np.full((2, 3, 4), np.nan), axis=2).shape == (2, 3)
