"""The anomaly detector: one daily cost series in, a score per day out. Pure, no I/O.

Amounts are integer storage units (1e-8 of the currency, `core.kernel.money`), so expected
values and bands stay exact; only the score, a ratio, is a float.

For a day `t` with at least `min_history_days` days of history (the 28 days before it):

1. **Expected value**, weekday-aware: two candidates,
   - *weekday*: the median of the same weekday in the last 4 weeks (t-7, t-14, t-21, t-28),
   - *trailing*: the median of the last 28 days,
   and the one that fitted the recent past better wins: each candidate predicts every day of
   the history window leaving that day out (the other same-weekday values, the other 27
   days), and the one with the smaller mean absolute error is used.
2. **Scale**, robust: 1.4826 × MAD (the standard deviation of normal noise) of the winner's
   leave-one-out residuals relative to their predictions, times the expected value (cost noise
   grows with the level), and at least `scale_floor` × the expected value.
3. **Band**: expected ± `sensitivity` × scale (the low end never below 0). The score is
   (actual − expected) / scale.
4. **Anomalous** when the day is outside the band *and* its deviation |actual − expected| is at
   least the absolute floor (`min_impact`, or the series' own floor raised by "Too small") *and*
   at least `min_change` × expected. Spikes (above) and drops (below) can each be switched off.
   A day right after an anomalous day of the same direction stays anomalous at half the
   sensitivity (hysteresis): an incident does not break up while the level is still off.

A level shift therefore flags its first days as one incident, and settles as the medians take
the new level in (about two weeks); "Expected / new normal" settles it at once: history before
`rebaseline_from` is scaled to the new level (the median ratio of the days since to their same
weekdays before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from operator import sub

from core.kernel.money import to_storage_units

WINDOW_DAYS = 28
WEEKS = 4
MAD_TO_SIGMA = 1.4826
#: Days after a re-baseline used to measure the new level.
REBASELINE_DAYS = 7


class Direction(StrEnum):
    SPIKE = "spike"
    DROP = "drop"


class Method(StrEnum):
    WEEKDAY = "weekday"
    TRAILING = "trailing"


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """How sensitive the detector is (the bot's settings build it; see the README)."""

    #: Band half-width in robust standard deviations.
    sensitivity: float = 4.0
    #: Absolute floor: a day deviating less than this (currency units) is never anomalous.
    min_impact: Decimal = Decimal(20)
    #: Relative floor: a day deviating less than this share of the expected value is not either.
    min_change: float = 0.25
    #: The scale is at least this share of the expected value (quiet series are not twitchy).
    scale_floor: float = 0.05
    #: Days of history needed before a day is scored.
    min_history_days: int = 14
    spikes: bool = True
    drops: bool = True

    def __post_init__(self) -> None:
        if self.sensitivity <= 0:
            raise ValueError("sensitivity must be positive")
        if self.min_impact < 0 or self.min_change < 0 or self.scale_floor < 0:
            raise ValueError("floors cannot be negative")
        if not 7 <= self.min_history_days <= WINDOW_DAYS:
            raise ValueError(f"min_history_days must be between 7 and {WINDOW_DAYS}")

    @property
    def min_impact_units(self) -> int:
        return to_storage_units(self.min_impact)


@dataclass(frozen=True, slots=True)
class SeriesTuning:
    """What feedback changed for one series (`core.anomalies.feedback`)."""

    #: The series' absolute floor in units ("Too small" raised it); 0: the global one.
    floor_units: int = 0
    #: Index of the day from which the series has a new normal ("Expected / new normal").
    rebaseline_from: int | None = None


@dataclass(frozen=True, slots=True)
class DayScore:
    """One scored day (amounts in units)."""

    index: int
    actual: int
    expected: int
    low: int
    high: int
    scale: float
    score: float
    method: Method
    #: None: within the band or the floors.
    direction: Direction | None

    @property
    def deviation(self) -> int:
        return self.actual - self.expected


def median_units(values: Sequence[int]) -> int:
    """The median of integers (the lower middle of an even count averaged down)."""
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) // 2


def _leave_one_out_medians(values: Sequence[int]) -> list[int]:
    """For each value, the median of all the others (in one sort).

    Removing the value at sorted position `r` leaves `ordered` without it: its j-th smallest is
    `ordered[j]` below `r` and `ordered[j + 1]` from `r` on. Equal values leave the same others,
    so `r` can be the value's first position, and `j < r` is then `ordered[j] < value`.
    """
    ordered = sorted(values)
    rest = len(ordered) - 1
    mid = rest // 2
    at, above = ordered[mid], ordered[mid + 1]
    if rest % 2:
        return [at if v > at else above for v in values]
    below = ordered[mid - 1]
    return [((below if v > below else at) + (at if v > at else above)) // 2 for v in values]


def _mad(residuals: Sequence[int]) -> int:
    centre = median_units(residuals)
    return median_units([abs(r - centre) for r in residuals])


@dataclass(frozen=True, slots=True)
class Expectation:
    expected: int
    scale: float
    method: Method


def expectation(
    history: Sequence[int], weekday_history: Sequence[Sequence[int]], scale_floor: float
) -> Expectation:
    """The expected value of the next day from `history` (oldest first, up to 28 days) and
    `weekday_history` (per weekday class of the history days — class 0 the next day's weekday
    — the values of that class, newest first).

    Each method is fitted on the history itself: every day predicted from the others (its
    leave-one-out median, overall or of its weekday); the method with the smaller mean absolute
    error wins, and its residuals give the scale.
    """
    trailing_fit = _leave_one_out_medians(history)
    weekday_actual: list[int] = []
    weekday_fit: list[int] = []
    for members in weekday_history:
        if len(members) >= 2:
            weekday_actual += members
            weekday_fit += _leave_one_out_medians(members)
    same_weekday = weekday_history[0]
    use_weekday = len(same_weekday) >= 2 and len(weekday_actual) * 2 >= len(history)
    if use_weekday:
        use_weekday = _mean_error(weekday_actual, weekday_fit) < _mean_error(history, trailing_fit)
    if use_weekday:
        expected = median_units(same_weekday)
        scale = _scale(weekday_actual, weekday_fit, expected, scale_floor)
        return Expectation(expected, scale, Method.WEEKDAY)
    expected = median_units(history)
    return Expectation(
        expected, _scale(history, trailing_fit, expected, scale_floor), Method.TRAILING
    )


def _mean_error(actual: Sequence[int], predicted: Sequence[int]) -> float:
    errors: int = sum(map(abs, map(sub, actual, predicted)))
    return errors / len(actual)


def _scale(
    actual: Sequence[int], predicted: Sequence[int], expected: int, scale_floor: float
) -> float:
    """1.4826 × MAD of the residuals relative to their predictions, times the expected value
    (cost noise is proportional to the level: a weekend at 30% has 30% of the noise); the MAD
    of the plain residuals where nothing was predicted. At least `scale_floor` × expected."""
    relative = [(a - p) / p for a, p in zip(actual, predicted, strict=True) if p > 0]
    if relative and expected > 0:
        centre = _median_float(relative)
        mad = _median_float([abs(r - centre) for r in relative])
        scale = MAD_TO_SIGMA * mad * expected
    else:
        scale = MAD_TO_SIGMA * _mad(list(map(sub, actual, predicted)))
    return max(scale, scale_floor * abs(expected), 1.0)


def _median_float(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _history(
    values: Sequence[int], start: int, t: int, factor: float, rebase: int | None
) -> tuple[list[int], list[list[int]]]:
    """The 28 days before `t` (from `start`), history before `rebase` scaled by `factor`; and
    the same days by weekday class relative to `t` (newest first)."""
    first = max(start, t - WINDOW_DAYS)
    history = list(values[first:t])
    if rebase is not None and rebase > first:
        cut = rebase - first
        history[:cut] = [int(value * factor) for value in history[:cut]]
    newest_first = history[::-1]  # position 0 is one day before `t`
    # Class c holds the days c, c + 7, … before `t` (class 0: 7, 14, …).
    return history, [newest_first[(c - 1) % 7 :: 7] for c in range(7)]


def rebaseline_factor(values: Sequence[int], start: int, rebase: int, t: int) -> float:
    """The new level relative to the old: the median over the days since `rebase` (at most
    `REBASELINE_DAYS`, before `t`) of each day over the median of its weekday before `rebase`."""
    ratios: list[float] = []
    for d in range(rebase, min(t, rebase + REBASELINE_DAYS)):
        before = [values[d - 7 * k] for k in range(1, WEEKS + 1) if start <= d - 7 * k < rebase]
        if before:
            base = median_units(before)
            if base > 0:
                ratios.append(values[d] / base)
    if not ratios:
        return 1.0
    ratios.sort()
    mid = len(ratios) // 2
    return ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2


def _direction(
    actual: int, e: Expectation, k: float, config: DetectorConfig, floor_units: int
) -> Direction | None:
    deviation = actual - e.expected
    if abs(deviation) <= k * e.scale:
        return None
    if abs(deviation) < max(floor_units, config.min_impact_units):
        return None
    if abs(deviation) < config.min_change * abs(e.expected):
        return None
    if deviation > 0:
        return Direction.SPIKE if config.spikes else None
    return Direction.DROP if config.drops else None


def score_series(
    values: Sequence[int],
    *,
    start: int,
    first_scored: int,
    config: DetectorConfig,
    tuning: SeriesTuning | None = None,
) -> list[DayScore]:
    """Scores of the days from `first_scored` to the last value (days before `start` are not
    history: the series did not exist yet). Days with too little history are left out."""
    tuning = tuning or SeriesTuning()
    rebase = tuning.rebaseline_from
    out: list[DayScore] = []
    previous: Direction | None = None
    for t in range(max(first_scored, start), len(values)):
        factor = 1.0
        active_rebase = rebase if rebase is not None and start < rebase < t else None
        if active_rebase is not None:
            factor = rebaseline_factor(values, start, active_rebase, t)
        if t - max(start, t - WINDOW_DAYS) < config.min_history_days:
            previous = None
            continue
        history, classes = _history(values, start, t, factor, active_rebase)
        e = expectation(history, classes, config.scale_floor)
        actual = values[t]
        k = config.sensitivity
        direction = _direction(actual, e, k, config, tuning.floor_units)
        if direction is None and previous is not None:
            continued = _direction(actual, e, k / 2, config, tuning.floor_units)
            direction = continued if continued is previous else None
        band = round(k * e.scale)
        out.append(
            DayScore(
                index=t,
                actual=actual,
                expected=e.expected,
                low=max(e.expected - band, 0),
                high=e.expected + band,
                scale=e.scale,
                score=(actual - e.expected) / e.scale,
                method=e.method,
                direction=direction,
            )
        )
        previous = direction
    return out


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive anomalous days of one direction: what becomes one incident."""

    direction: Direction
    days: tuple[DayScore, ...]

    @property
    def first(self) -> int:
        return self.days[0].index

    @property
    def last(self) -> int:
        return self.days[-1].index

    @property
    def impact(self) -> int:
        """Cumulative deviation from the expected values (units; negative for drops)."""
        return sum(d.deviation for d in self.days)


def runs(scores: Sequence[DayScore]) -> list[Run]:
    """Group consecutive anomalous days of the same direction."""
    out: list[Run] = []
    current: list[DayScore] = []
    for score in scores:
        if current and (
            score.direction is not current[-1].direction or score.index != current[-1].index + 1
        ):
            out.append(Run(current[0].direction or Direction.SPIKE, tuple(current)))
            current = []
        if score.direction is not None:
            current.append(score)
    if current:
        out.append(Run(current[0].direction or Direction.SPIKE, tuple(current)))
    return out
