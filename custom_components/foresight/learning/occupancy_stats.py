"""Occupancy statistics: fits, scores, the weekly routine and how long episodes last.

Pure numpy, no Home Assistant imports; the building blocks of ``occupancy``. Timestamps are float
seconds on the home's local wall clock (a naive local datetime read as if it were UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Any

import numpy as np

from .occupancy_signals import DAY, HOUR, MINUTE, FloatArray

ROUTINE_HALF_LIFE = 21 * DAY  # a changed routine is re-learned within a few weeks


ROUTINE_SHRINK_WEEK_HOURS = 2.0  # pseudo-hours pulling an hour of week towards its hour of day


ROUTINE_SHRINK_DAY_HOURS = 1.0  # pseudo-hours pulling an hour of day towards the overall rate


ROUTINE_PRIOR = 0.5  # the broad prior of the overall rate, worth one pseudo-hour


RIDGE = 1.0  # default L2 penalty of a logistic regression, on standardised features


RIDGE_DEFAULT_PER_HOUR = 1.0  # the now-cast's penalty when cross-validation cannot choose


CV_MAX_LOSS = math.log(1000.0)  # one held-out minute costs at most this (a 0.1 % miss)


PROBABILITY_CLIP = 0.005


def logit(probability: FloatArray) -> FloatArray:
    """Log-odds of probabilities clipped away from 0 and 1."""
    clipped = np.clip(probability, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
    return np.asarray(np.log(clipped / (1.0 - clipped)), dtype=np.float64)


def sigmoid(value: FloatArray) -> FloatArray:
    """The logistic function, safe for large inputs."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * value)), dtype=np.float64)


def brier(probability: FloatArray, outcome: FloatArray) -> float:
    """Mean squared error of probabilities against 0/1 outcomes (NaN outcomes ignored)."""
    known = np.isfinite(outcome) & np.isfinite(probability)
    if not known.any():
        return math.nan
    return float(np.mean((probability[known] - outcome[known]) ** 2))


def skill(model_brier: float, baseline_brier: float) -> float:
    """Brier skill: 1 - Brier / Brier of the baseline (positive: the model is better)."""
    if not math.isfinite(model_brier) or not math.isfinite(baseline_brier):
        return math.nan
    if baseline_brier < 1e-6:
        return math.nan  # a baseline that is never wrong leaves nothing to judge
    return 1.0 - model_brier / baseline_brier


def fit_logistic(
    features: FloatArray,
    outcome: FloatArray,
    ridge: float | FloatArray = RIDGE,
    iterations: int = 25,
    initial: tuple[FloatArray, float] | None = None,
    offset: FloatArray | None = None,
) -> tuple[FloatArray, float]:
    """L2-penalised logistic regression by Newton's method: (weights, intercept).

    Minimises the summed log-loss plus ``ridge / 2 * |weights|^2`` (the intercept is not
    penalised), the same objective as scikit-learn's ``LogisticRegression(C=1 / ridge)``.
    ``offset``: a known log-odds per row the fit corrects (the penalty pulls towards it).
    ``ridge`` may also be one penalty per feature.
    """
    samples, width = features.shape
    design = np.column_stack((features, np.ones(samples)))
    penalty = np.append(np.broadcast_to(np.asarray(ridge, dtype=np.float64), (width,)), 0.0)
    rate = float(np.clip(outcome.mean(), 1e-3, 1 - 1e-3)) if samples else 0.5
    params = np.zeros(width + 1)
    if offset is None:
        params[-1] = math.log(rate / (1.0 - rate))  # with an offset: start from it alone
    if initial is not None and initial[0].shape == (width,):
        params = np.append(initial[0], initial[1])  # a warm start: fewer Newton steps
    base = np.zeros(samples) if offset is None else offset
    objective = _penalised_loss(design, outcome, params, penalty, base)
    for _ in range(iterations):
        probability = sigmoid(design @ params + base)
        gradient = (probability - outcome) @ design
        gradient += penalty * params
        curvature = np.maximum(probability * (1.0 - probability), 1e-9)
        hessian = (design * curvature[:, None]).T @ design
        hessian += np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        # Halve the Newton step until the loss falls: separable data must not diverge.
        size = 1.0
        while size > 1e-4:
            trial = params - size * step
            trial_objective = _penalised_loss(design, outcome, trial, penalty, base)
            if trial_objective <= objective:
                break
            size *= 0.5
        else:
            break
        improvement = objective - trial_objective
        params, objective = trial, trial_objective
        if float(np.max(np.abs(size * step))) < 1e-6 or improvement < 1e-7 * objective:
            break
    return params[:-1].copy(), float(params[-1])


RIDGE_CHOICES = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # now-cast penalties tried, per hour of samples
CV_FOLDS = 4  # contiguous blocks of time: neighbouring minutes never sit on both sides
CV_SAMPLES = 2400  # the most rows the penalty is chosen on (thinned evenly: bounded time)
CV_ITERATIONS = 8  # Newton steps per fit while choosing (warm-started along the path)
CALIBRATION_RIDGE = 1.0  # a light pull of the recalibration slope towards none
CALIBRATION_SLOPE = (0.25, 4.0)  # the recalibration may sharpen or soften, within bounds


def choose_ridge(
    features: FloatArray,
    outcome: FloatArray,
    rows_per_hour: float,
    choices: Sequence[float] = RIDGE_CHOICES,
) -> tuple[float, tuple[float, float]]:
    """The logistic penalty (per hour of samples) that predicts best on unseen stretches of time.

    Time-blocked cross-validation: the rows (in time order) are cut into :data:`CV_FOLDS`
    contiguous blocks; each block is predicted by fits on the others, from the strongest
    penalty to the weakest (each warm-started from the previous). The log-loss on the held-out
    blocks decides, by the one-standard-error rule. Returns the penalty, and the recalibration
    (slope, shift) of the fitted log-odds that makes that penalty's held-out predictions
    calibrated (Platt scaling on the held-out blocks; (1, 0) where it cannot be learned).
    """
    samples = outcome.size
    thin = max(1, math.ceil(samples / CV_SAMPLES))
    features, outcome = features[::thin], outcome[::thin]
    per_row = 1.0 / max(rows_per_hour / thin, 1e-9)  # a penalty per hour, in rows
    ordered = sorted(choices, reverse=True)
    fold_losses: list[FloatArray] = []
    held_scores = np.full((len(ordered), outcome.size), np.nan)
    blocks = np.array_split(np.arange(outcome.size), CV_FOLDS)
    for block in blocks:
        held = np.zeros(outcome.size, dtype=bool)
        held[block] = True
        train_outcome = outcome[~held]
        if block.size == 0 or train_outcome.size == 0 or train_outcome.min() == train_outcome.max():
            continue  # a fold without both states teaches nothing about the penalty
        initial: tuple[FloatArray, float] | None = None
        fold = np.zeros(len(ordered))
        for index, ridge in enumerate(ordered):
            weights, intercept = fit_logistic(
                features[~held],
                train_outcome,
                ridge=ridge / per_row,
                iterations=CV_ITERATIONS,
                initial=initial,
            )
            initial = (weights, intercept)
            score = features[held] @ weights + intercept
            held_scores[index, held] = score
            loss = np.logaddexp(0.0, score) - outcome[held] * score
            fold[index] = float(np.mean(np.minimum(loss, CV_MAX_LOSS)))
        fold_losses.append(fold)
    if not fold_losses:
        return RIDGE_DEFAULT_PER_HOUR, (1.0, 0.0)
    table = np.asarray(fold_losses)
    mean_loss = table.mean(axis=0)
    best = int(np.argmin(mean_loss))
    # The one-standard-error rule: the strongest penalty no clearly worse than the best, since
    # another period of the same home differs more than the folds of this one do.
    error = float(np.std(table[:, best]) / math.sqrt(table.shape[0]))
    best = int(np.argmax(mean_loss <= mean_loss[best] + error))
    scored = np.isfinite(held_scores[best])
    calibration = (1.0, 0.0)
    if scored.any() and 0.0 < outcome[scored].mean() < 1.0:
        slope, shift = fit_logistic(
            held_scores[best, scored][:, None], outcome[scored], ridge=CALIBRATION_RIDGE
        )
        calibration = (float(np.clip(slope[0], *CALIBRATION_SLOPE)), shift)
    return float(ordered[best]), calibration


def fit_convex_blend(forecasts: FloatArray, outcome: FloatArray) -> FloatArray:
    """Weights (non-negative, summing to one) of forecasts that minimise the Brier score.

    Few parameters on purpose: a blend of calibrated forecasts stays robust on a few weeks.
    """
    width = forecasts.shape[1]
    best_error, best = math.inf, np.full(width, 1.0 / width)
    for mask in range(1, 2**width):
        chosen = [column for column in range(width) if mask >> column & 1]
        subset = forecasts[:, chosen]
        size = len(chosen)
        # Least squares with the weights summing to one (a Lagrange multiplier).
        system = np.zeros((size + 1, size + 1))
        system[:size, :size] = 2.0 * subset.T @ subset
        system[:size, size] = 1.0
        system[size, :size] = 1.0
        rhs = np.append(2.0 * subset.T @ outcome, 1.0)
        try:
            solution = np.linalg.solve(system, rhs)[:size]
        except np.linalg.LinAlgError:
            continue
        if np.any(solution < -1e-12):
            continue
        weights = np.zeros(width)
        weights[chosen] = np.maximum(solution, 0.0)
        error = float(np.mean((forecasts @ weights - outcome) ** 2))
        if error < best_error - 1e-15:
            best_error, best = error, weights
    return best


def _penalised_loss(
    design: FloatArray,
    outcome: FloatArray,
    params: FloatArray,
    penalty: FloatArray,
    offset: FloatArray,
) -> float:
    """Summed log-loss plus the L2 penalty, computed without overflow."""
    score = design @ params + offset
    loss = np.logaddexp(0.0, score) - outcome * score
    return float(loss.sum() + 0.5 * np.sum(penalty * params**2))


def hour_of_week(times: FloatArray) -> FloatArray:
    """Hours since Monday 00:00 (float), from local-wall-clock seconds."""
    return np.asarray(((times / HOUR) + 72.0) % 168.0, dtype=np.float64)


@dataclass(slots=True)
class WeeklyRoutine:
    """The learned probability of use for each hour of the week (168 values)."""

    probability: FloatArray
    hours_of_data: float = 0.0

    def at(self, times: FloatArray) -> FloatArray:
        """The routine's probability at each time, interpolated between hour centres."""
        return interpolate_weekly(self.probability[None, :], np.zeros(times.size, int), times)


def interpolate_weekly(table: FloatArray, rows: Any, times: FloatArray) -> FloatArray:
    """Read ``table[row, hour of week]`` at each time, linear between hour centres."""
    position = hour_of_week(times) - 0.5
    lower = np.floor(position)
    fraction = position - lower
    low_bin = lower.astype(int) % 168
    high_bin = (low_bin + 1) % 168
    values = table[rows, low_bin] * (1.0 - fraction) + table[rows, high_bin] * fraction
    return np.asarray(values, dtype=np.float64)


def _shrunk_routine(week_sum: FloatArray, week_count: FloatArray, per_hour: float) -> FloatArray:
    """Hour-of-week rates shrunk to hour of day, then to the overall rate (rows independent)."""
    day_sum = week_sum.reshape(-1, 7, 24).sum(axis=1)
    day_count = week_count.reshape(-1, 7, 24).sum(axis=1)
    overall = (week_sum.sum(axis=1) + ROUTINE_PRIOR * per_hour) / (
        week_count.sum(axis=1) + per_hour
    )
    pull_day = ROUTINE_SHRINK_DAY_HOURS * per_hour
    hour_of_day = (day_sum + pull_day * overall[:, None]) / (day_count + pull_day)
    pull_week = ROUTINE_SHRINK_WEEK_HOURS * per_hour
    by_week = np.tile(hour_of_day, (1, 7))
    return np.asarray((week_sum + pull_week * by_week) / (week_count + pull_week))


def _float_bincount(index: Any, weights: FloatArray, size: int) -> FloatArray:
    return np.asarray(np.bincount(index, weights, minlength=size), dtype=np.float64)


def fit_routine(
    times: FloatArray, outcome: FloatArray, step: float, leave_day_out: FloatArray | None = None
) -> tuple[WeeklyRoutine, FloatArray | None]:
    """Learn the weekly routine from labels on a regular grid.

    With ``leave_day_out`` (times), also returns the routine's probability at those times
    learned without their own day, so a forecast is not fitted on a routine that saw its answer.
    """
    known = np.isfinite(outcome)
    times, outcome = times[known], outcome[known]
    per_hour = HOUR / step
    # Recent weeks count more, so a changed routine is re-learned.
    weight = 0.5 ** ((times[-1] - times) / ROUTINE_HALF_LIFE) if times.size else np.zeros(0)
    bins = np.floor(hour_of_week(times)).astype(int) % 168
    week_sum = _float_bincount(bins, weight * outcome, 168)[None, :]
    week_count = _float_bincount(bins, weight, 168)[None, :]
    routine = WeeklyRoutine(
        _shrunk_routine(week_sum, week_count, per_hour)[0], times.size / per_hour
    )
    if leave_day_out is None:
        return routine, None
    days = np.floor(times / DAY).astype(np.int64)
    target_days = np.floor(leave_day_out / DAY).astype(np.int64)
    unique_days, day_row = np.unique(np.concatenate((days, target_days)), return_inverse=True)
    sample_row = day_row[: days.size]
    flat = sample_row * 168 + bins
    size = unique_days.size * 168
    day_sum = _float_bincount(flat, weight * outcome, size).reshape(-1, 168)
    day_count = _float_bincount(flat, weight, size).reshape(-1, 168)
    without_day = _shrunk_routine(week_sum - day_sum, week_count - day_count, per_hour)
    return routine, interpolate_weekly(without_day, day_row[days.size :], leave_day_out)


SURVIVAL_GRID = np.geomspace(MINUTE, 14 * DAY, 64)  # episode lengths the survival is read at


SURVIVAL_PRIOR_EPISODES = 2.0  # pseudo-episodes of the broad prior below


SURVIVAL_PRIOR_MEAN = 2 * HOUR


KERNEL_WIDTH_BOUNDS = (0.1, 0.6)  # logistic scale of the smoothing, on a natural-log scale


MAX_EPISODES = 200  # the most recent episodes of each state describe how long it lasts


PRIOR_EPISODE_MEANS = np.geomspace(5 * MINUTE, DAY, 8)  # broad prior: minutes as likely as a day


def prior_survival_at(length: FloatArray) -> FloatArray:
    """The broad prior's chance that an episode lasts longer than ``length``."""
    return np.asarray(
        np.mean(np.exp(-np.asarray(length)[..., None] / PRIOR_EPISODE_MEANS), axis=-1),
        dtype=np.float64,
    )


SURVIVAL_PRIOR = prior_survival_at(SURVIVAL_GRID)


def prior_survival() -> tuple[FloatArray, FloatArray]:
    """Survival of idle and in-use episodes before anything is learned: the broad prior."""
    return np.vstack((SURVIVAL_PRIOR, SURVIVAL_PRIOR)), np.full(2, SURVIVAL_PRIOR_MEAN)


def survival_points(
    lengths: FloatArray, length: FloatArray, excluded: FloatArray | None = None
) -> FloatArray:
    """Chance an episode lasts longer than ``length``: past lengths, smoothed, and the prior.

    Each past episode counts as a smooth step around its length (a log-logistic kernel, its
    width from the spread of the lengths), so a few episodes give a sensible curve, not
    cliffs at the longest one seen. ``excluded``: per point, an episode length left out
    (NaN: none), so a training sample is not described by a curve that knows its own end.
    """
    length = np.asarray(length, dtype=np.float64)
    log_length = np.log(np.maximum(length, 1.0))
    weight = SURVIVAL_PRIOR_EPISODES
    prior = prior_survival_at(length)
    if lengths.size == 0:
        return prior
    log_lengths = np.log(np.maximum(lengths, 1.0))
    width = kernel_width(log_lengths)
    # The kernels' sum on the survival grid, then read between grid points: bounded cost.
    grid_count = sigmoid((log_lengths[None, :] - np.log(SURVIVAL_GRID)[:, None]) / width).sum(
        axis=1
    )
    count = np.interp(log_length, np.log(SURVIVAL_GRID), grid_count)
    total = np.full(length.shape, float(lengths.size))
    if excluded is not None:
        own = np.isfinite(excluded)
        own_log = np.log(np.maximum(np.where(own, excluded, 1.0), 1.0))
        count = count - own * sigmoid((own_log - log_length) / width)
        total = total - own
    return np.asarray((count + weight * prior) / (total + weight), dtype=np.float64)


def kernel_width(log_lengths: FloatArray) -> float:
    """Smoothing of episode lengths on a log scale (Silverman's rule, within bounds)."""
    if log_lengths.size < 2:
        return KERNEL_WIDTH_BOUNDS[1]
    spread = float(np.std(log_lengths)) * 1.06 * math.pow(log_lengths.size, -0.2)
    scale = spread * math.sqrt(3.0) / math.pi  # a logistic kernel with that standard deviation
    return min(max(scale, KERNEL_WIDTH_BOUNDS[0]), KERNEL_WIDTH_BOUNDS[1])


def fit_survival(lengths: FloatArray) -> tuple[FloatArray, float]:
    """The survival curve of episode lengths on :data:`SURVIVAL_GRID`, and their mean."""
    lengths = lengths[np.isfinite(lengths) & (lengths > 0)][-MAX_EPISODES:]
    mean = float(lengths.mean()) if lengths.size else SURVIVAL_PRIOR_MEAN
    return survival_points(lengths, SURVIVAL_GRID), mean


def survival_ratio(
    curve: FloatArray, mean: float, elapsed: FloatArray, horizon: FloatArray
) -> FloatArray:
    """Chance an episode that has lasted ``elapsed`` lasts ``horizon`` longer."""
    grid = np.log(SURVIVAL_GRID)
    log_curve = np.log(np.maximum(curve, 1e-300))

    def survival(length: FloatArray) -> FloatArray:
        position = np.log(np.maximum(length, MINUTE))
        inside = np.interp(position, grid, log_curve)
        beyond = log_curve[-1] - np.maximum(length - SURVIVAL_GRID[-1], 0.0) / mean
        return np.asarray(np.where(length > SURVIVAL_GRID[-1], beyond, inside))

    elapsed = np.asarray(elapsed, dtype=np.float64)
    ratio = np.exp(survival(elapsed + horizon) - survival(np.maximum(elapsed, 0.0)))
    return np.asarray(np.clip(ratio, 0.0, 1.0), dtype=np.float64)


# Past episodes weigh in an expected end as much as their start's time of day is like the
# current one's (a Gaussian of this width, in hours), less if the day type differs.
SIMILAR_START_HOURS = 1.5
OTHER_DAY_TYPE_WEIGHT = 0.2  # a weekday's episode for a weekend's, and the other way round
SIMILAR_SHRINK_EPISODES = 3.0  # pseudo-episodes of the curve of all episodes
WEEKEND_HOUR = 120.0  # Saturday 00:00, in hours of the week


@dataclass(slots=True)
class EpisodeStarts:
    """Recent past episodes of one state: when each began (hour of week) and its length."""

    hours: FloatArray
    lengths: FloatArray
    steps: FloatArray | None = None  # each one's smoothed step on the survival grid, once read

    def survival_from(self, curve: FloatArray, start: float) -> FloatArray:
        """The survival of episodes that began at a time like ``start`` (local wall clock).

        The past episodes weighted by how close their start's time of day is to it, and
        whether it was the same type of day (weekday or weekend); shrunk towards ``curve``
        (all episodes) by :data:`SIMILAR_SHRINK_EPISODES`, so a few similar ones move it little.
        """
        if self.lengths.size == 0:
            return curve
        if self.steps is None:
            log_lengths = np.log(np.maximum(self.lengths, 1.0))
            width = kernel_width(log_lengths)
            self.steps = sigmoid((log_lengths[:, None] - np.log(SURVIVAL_GRID)[None, :]) / width)
        hour = float(hour_of_week(np.asarray(start)))
        apart = (self.hours - hour + 12.0) % 24.0 - 12.0
        same_type = (self.hours >= WEEKEND_HOUR) == (hour >= WEEKEND_HOUR)
        weight = np.exp(-0.5 * (apart / SIMILAR_START_HOURS) ** 2) * np.where(
            same_type, 1.0, OTHER_DAY_TYPE_WEIGHT
        )
        similar = weight @ self.steps
        return np.asarray(
            (similar + SIMILAR_SHRINK_EPISODES * curve) / (weight.sum() + SIMILAR_SHRINK_EPISODES),
            dtype=np.float64,
        )


def fit_episode_starts(
    labels: tuple[FloatArray, FloatArray, FloatArray], start: float, end: float
) -> tuple[EpisodeStarts, EpisodeStarts]:
    """The recent finished idle and in-use episodes in [start, end), with their starts.

    The same episodes as :func:`fit_survival`'s curves (the last :data:`MAX_EPISODES` of each).
    """
    first, last, state, finished = label_episodes(labels, start, end)
    result = []
    for value in (0.0, 1.0):
        chosen = finished & (state == value) & (last > first)
        begun, ended = first[chosen][-MAX_EPISODES:], last[chosen][-MAX_EPISODES:]
        result.append(EpisodeStarts(hour_of_week(begun), ended - begun))
    return result[0], result[1]


REMAINING_GRID = np.concatenate(([0.0], np.geomspace(MINUTE, 14 * DAY, 240)))


def remaining_quantiles(
    curve: FloatArray, mean: float, elapsed: float, levels: Sequence[float]
) -> list[float]:
    """How much longer an episode that has lasted ``elapsed`` goes on, at each quantile."""
    remaining = REMAINING_GRID
    lasts = survival_ratio(curve, mean, np.full(remaining.size, elapsed), remaining)
    over = 1.0 - lasts  # the chance it has ended by then: rising from 0
    over = np.maximum.accumulate(over)
    result = []
    for level in levels:
        if over[-1] < level:
            result.append(math.inf)
            continue
        index = int(np.argmax(over >= level))
        if index == 0:
            result.append(0.0)
            continue
        low, high = over[index - 1], over[index]
        fraction = (level - low) / (high - low) if high > low else 1.0
        result.append(
            float(remaining[index - 1] + fraction * (remaining[index] - remaining[index - 1]))
        )
    return result


def label_episodes(
    labels: tuple[FloatArray, FloatArray, FloatArray], start: float, end: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Episodes of one state in the labels within [start, end): start, end, state, finished.

    An episode is a run of one known state. One that meets the window's edges or an unknown
    spell (a sensor's gap, the time before its first reading) is not finished: when it began or
    ended is not known, so neither is its length.
    """
    starts, ends, values = labels
    keep = (ends > start) & (starts < end)
    starts, ends, values = starts[keep], np.minimum(ends[keep], end), values[keep]
    known = np.isfinite(values)
    if not known.any():
        return np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
    # Each piece follows on from the one before it (no time between them).
    adjacent = np.concatenate(([False], starts[1:] <= ends[:-1]))
    follows = adjacent & known & np.concatenate(([False], known[:-1]))
    same = follows & np.concatenate(([False], values[1:] == values[:-1]))
    first = np.flatnonzero(known & ~same)
    # An episode's last piece is the known piece before the next episode or unknown spell.
    pieces = np.flatnonzero(known)
    last = np.zeros(first.size, dtype=np.int64)
    np.maximum.at(last, np.searchsorted(first, pieces, side="right") - 1, pieces)
    # Finished: a known other state right before it, and right after it.
    begun = follows[first]
    after = last + 1
    inside = after < values.size
    ended = np.zeros(first.size, dtype=bool)
    ended[inside] = follows[after[inside]]
    return starts[first], ends[last], values[first], begun & ended


def episode_lengths(
    labels: tuple[FloatArray, FloatArray, FloatArray], start: float, end: float
) -> tuple[FloatArray, FloatArray]:
    """Lengths of finished idle and in-use episodes in the labels within [start, end)."""
    first, last, state, finished = label_episodes(labels, start, end)
    lengths = last - first
    return lengths[finished & (state == 0.0)], lengths[finished & (state == 1.0)]


CONDITIONAL_SHRINK_STATE_HOURS = 4.0  # pseudo-hours pulling a state's rate towards the routine
CONDITIONAL_SHRINK_HOUR_HOURS = 2.0  # pseudo-hours pulling an hour of day towards its state's
CONDITIONAL_SHRINK_LASTED_HOURS = 2.0  # pseudo-hours pulling a duration towards its hour's


CONDITIONAL_SMOOTHING = np.asarray([0.25, 0.5, 0.25])  # neighbouring hours of day share data


# How long the state now has lasted, in classes: the conditional routine reads each apart.
CONDITIONAL_LASTED_EDGES = np.asarray([30 * MINUTE, 2 * HOUR, 8 * HOUR])
CONDITIONAL_LASTED = CONDITIONAL_LASTED_EDGES.size + 1


def routine_by_hour(routine: WeeklyRoutine, horizon: float) -> FloatArray:
    """The routine's mean over the week at each hour of day (24) plus ``horizon`` seconds."""
    day_profile = routine.probability.reshape(7, 24).mean(axis=0)
    centres = np.arange(24) + 0.5
    return np.asarray(
        np.interp(centres + horizon / HOUR, centres, day_profile, period=24.0), dtype=np.float64
    )


def _circular_smooth(values: FloatArray) -> FloatArray:
    """Smooth the last axis (hours of day) with :data:`CONDITIONAL_SMOOTHING`, circularly."""
    low, mid, high = CONDITIONAL_SMOOTHING
    return np.asarray(
        low * np.roll(values, 1, axis=-1) + mid * values + high * np.roll(values, -1, axis=-1),
        dtype=np.float64,
    )


def _conditional_table(outcome_sum: FloatArray, count: FloatArray, prior: FloatArray) -> FloatArray:
    """Shrunk P(use later | state now, how long it lasted, hour of day), shape (..., 2, L, 24).

    From counts of that shape. Three levels: each state's rate over all hours, shrunk towards
    the routine's mean over the same samples; each hour of day shrunk towards a mix of that
    state's rate and the routine (``prior``, by hour of day), the state's rate weighing as
    much as it has data; each class of how long the state lasted shrunk towards its hour.
    With no history the table is the routine itself, whatever the state now.
    """
    hour_count = count.sum(axis=-2)
    hour_sum = outcome_sum.sum(axis=-2)
    state_count = hour_count.sum(axis=-1)
    state_sum = hour_sum.sum(axis=-1)
    routine_sum = (hour_count * prior).sum(axis=-1)
    routine_mean = np.where(
        state_count > 0, routine_sum / np.maximum(state_count, 1e-12), prior.mean()
    )
    pull_state = CONDITIONAL_SHRINK_STATE_HOURS
    state_rate = (state_sum + pull_state * routine_mean) / (state_count + pull_state)
    trust = (state_count / (state_count + pull_state))[..., None]
    hour_prior = trust * state_rate[..., None] + (1.0 - trust) * prior
    pull_hour = CONDITIONAL_SHRINK_HOUR_HOURS
    by_hour = (_circular_smooth(hour_sum) + pull_hour * hour_prior) / (
        _circular_smooth(hour_count) + pull_hour
    )
    pull_lasted = CONDITIONAL_SHRINK_LASTED_HOURS
    table = (_circular_smooth(outcome_sum) + pull_lasted * by_hour[..., None, :]) / (
        _circular_smooth(count) + pull_lasted
    )
    return np.asarray(np.clip(table, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP), dtype=np.float64)


def lasted_class(elapsed: FloatArray) -> Any:
    """The class of how long a state has lasted (NaN: the longest)."""
    known = np.where(np.isfinite(elapsed), elapsed, np.inf)
    return np.searchsorted(CONDITIONAL_LASTED_EDGES, known, side="right")


def fit_conditional_routine(
    times: FloatArray,
    state_now: FloatArray,
    durations: FloatArray,
    outcome: FloatArray,
    prior: FloatArray,
    step: float,
    leave_day_out: bool = False,
) -> tuple[FloatArray, FloatArray | None]:
    """The conditional routine at one horizon: P(in use then | state now, lasted, hour now).

    ``times``: when each sample's state ``state_now`` (0/1, NaN unknown) was seen, on a regular
    grid of ``step``; ``durations``: (n, 2), how long use and idleness had lasted so far
    (seconds), the state's own is read; ``outcome``: the
    use ``horizon`` later; ``prior``: the plain routine's probability of use at that horizon
    for each hour of day now (24), which the table is shrunk towards (see
    :func:`_conditional_table`). Returns the (2, L, 24) table (idle now, in use now) and, with
    ``leave_day_out``, :func:`read_conditional` of each sample learned without its own day, so
    a forecast is not fitted on a table that saw its answer.
    """
    known = np.isfinite(state_now) & np.isfinite(outcome)
    weight = known * (step / HOUR)  # counts in hours, as the routine's pseudo-hours are
    state = np.where(known, state_now, 0.0).astype(np.int64)
    hour = np.floor((times / HOUR) % 24.0).astype(np.int64) % 24
    size = 2 * CONDITIONAL_LASTED * 24
    shape = (2, CONDITIONAL_LASTED, 24)
    lasted = np.where(state == 1, durations[:, 0], durations[:, 1])
    cell = (state * CONDITIONAL_LASTED + lasted_class(lasted)) * 24 + hour
    safe_outcome = np.where(known, outcome, 0.0)
    outcome_sum = _float_bincount(cell, weight * safe_outcome, size).reshape(shape)
    count = _float_bincount(cell, weight, size).reshape(shape)
    table = _conditional_table(outcome_sum, count, prior)
    if not leave_day_out:
        return table, None
    days = np.floor(times / DAY).astype(np.int64)
    unique_days, day_row = np.unique(days, return_inverse=True)
    flat = day_row * size + cell
    day_sum = _float_bincount(flat, weight * safe_outcome, unique_days.size * size)
    day_count = _float_bincount(flat, weight, unique_days.size * size)
    without_day = _conditional_table(
        outcome_sum - day_sum.reshape(-1, *shape),
        np.maximum(count - day_count.reshape(-1, *shape), 0.0),
        prior,
    )
    return table, read_conditional(without_day, day_row, times, durations)


def read_conditional(
    tables: FloatArray, rows: Any, now_time: FloatArray, lasted: FloatArray
) -> FloatArray:
    """Read ``tables[rows]`` (R, 2, L, 24) at each time now, linear between hour centres.

    ``lasted``: (n, 2), how long use and idleness have lasted so far (seconds). Returns (n, 2):
    the probability of use later if idle now, and if in use now.
    """
    position = (now_time / HOUR) % 24.0 - 0.5
    lower = np.floor(position)
    fraction = position - lower
    low_bin = lower.astype(np.int64) % 24
    high_bin = (low_bin + 1) % 24
    columns = []
    for state, elapsed in ((0, lasted[:, 1]), (1, lasted[:, 0])):
        klass = lasted_class(elapsed)
        low = tables[rows, state, klass, low_bin]
        high = tables[rows, state, klass, high_bin]
        columns.append(low * (1.0 - fraction) + high * fraction)
    return np.asarray(np.column_stack(columns), dtype=np.float64)
