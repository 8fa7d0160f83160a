"""Forecast of spend to the end of a period, from the stored daily costs: the one data method of
the deployment, used by budgets (`core.budgets.evaluate`) and by cost answers (`costs mtd`,
`this quarter`) alike.

Method (documented in the README):

- The last complete day L is yesterday, or the last day with any cost data if that is earlier
  (Azure's data lags). Today's partial costs count in the spend to date but not in the rate.
- History: the complete days in the 28 days ending on L, from the first day the store has data
  for (days before that are unknown, not zero; days without cost in the budget's scope are zero).
- With 14 or more history days, each remaining day is projected at the mean of the history days
  with the same weekday (4 samples each with a full history): weekday seasonality, e.g. quiet
  weekends. With 3-13 days, every remaining day is projected at the plain daily mean. With fewer
  than 3 days there is no forecast: forecast thresholds wait, cards say "not enough data yet".
- Forecast = spend in the period through L + the projection of the days after L to the period
  end, and never less than the spend to date. A period that has ended forecasts its actual spend.

Everything is integer storage units (1e-8) until the final Decimal, so it is exact and fast.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from core.costs.model import ForecastProvider
from core.kernel.money import from_storage_units, to_storage_units


class Window(Protocol):
    """The days forecast: a budget period or a reporting period (both inclusive)."""

    @property
    def start(self) -> date: ...

    @property
    def end(self) -> date: ...


#: How a provider's figure is named on cards and in `budget show`.
AZURE_METHOD = "Azure Cost Management forecast"
LOOKBACK_DAYS = 28
MIN_HISTORY_DAYS = 3
SEASONAL_MIN_DAYS = 14


@dataclass(frozen=True, slots=True)
class SpendFigures:
    """What one scope spent in one window, in storage units, and its forecast inputs."""

    #: Spend from the window start through today (includes today's partial data).
    to_date: int
    #: Spend from the window start through the last complete day.
    through_last_complete: int
    #: Per weekday (Monday=0): total spend and number of history days.
    weekday_sums: tuple[int, ...]
    weekday_days: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Forecast:
    #: Forecast spend for the whole window; None without enough history.
    total: Decimal | None
    #: How the figure was made, in words shown to people (cards, `budget show`).
    method: str
    history_days: int
    #: Computed from the stored data, or taken from a provider (Azure Cost Management).
    provider: ForecastProvider = ForecastProvider.DATA


def history_range(last_complete: date, first_data_day: date | None) -> tuple[date, date] | None:
    """The [start, end] history days feeding the run rate, or None without any data."""
    if first_data_day is None or first_data_day > last_complete:
        return None
    start = max(last_complete - timedelta(days=LOOKBACK_DAYS - 1), first_data_day)
    return start, last_complete


def spend_figures(
    daily: Mapping[date, int],
    window: Window,
    today: date,
    last_complete: date,
    history: tuple[date, date] | None,
) -> SpendFigures:
    """Sum one scope's daily spend (units) into the figures the forecast needs."""
    to_date = 0
    through = 0
    end_to_date = min(today, window.end)
    end_through = min(last_complete, window.end)
    sums = [0] * 7
    days = [0] * 7
    if history is not None:
        day = history[0]
        while day <= history[1]:
            weekday = day.weekday()
            sums[weekday] += daily.get(day, 0)
            days[weekday] += 1
            day += timedelta(days=1)
    for day, units in daily.items():
        if window.start <= day <= end_to_date:
            to_date += units
            if day <= end_through:
                through += units
    return SpendFigures(to_date, through, tuple(sums), tuple(days))


def series_figures(
    series: Sequence[int] | None,
    firsts: Sequence[date],
    window: Window,
    today: date,
    last_complete: date,
    history: tuple[date, date] | None,
) -> SpendFigures:
    """`spend_figures` over units per bucket: `series[i]` is the spend of the bucket starting on
    `firsts[i]` (ascending; the history days are one-day buckets). Slices and C-level sums
    instead of a dict per budget: a pass computes this for every distinct scope and window."""
    if not series:
        series = ()
    start = bisect_left(firsts, window.start)
    to_date = sum(series[start : bisect_right(firsts, min(today, window.end))])
    through = sum(series[start : bisect_right(firsts, min(last_complete, window.end))])
    sums = [0] * 7
    days = [0] * 7
    if history is not None:
        first = bisect_left(firsts, history[0])
        count = (history[1] - history[0]).days + 1
        if first + count > len(firsts) or firsts[first + count - 1] != history[1]:
            raise ValueError("the history days must be one-day buckets")
        for offset in range(min(7, count)):
            weekday = (history[0] + timedelta(days=offset)).weekday()
            sums[weekday] = sum(series[first + offset : first + count : 7])
            days[weekday] = len(range(offset, count, 7))
    return SpendFigures(to_date, through, tuple(sums), tuple(days))


def _weekday_counts(first: date, last: date) -> list[int]:
    """How many of each weekday lie in [first, last]."""
    counts = [0] * 7
    total = (last - first).days + 1
    if total <= 0:
        return counts
    full_weeks, rest = divmod(total, 7)
    counts = [full_weeks] * 7
    weekday = first.weekday()
    for offset in range(rest):
        counts[(weekday + offset) % 7] += 1
    return counts


def _seasonal(figures: SpendFigures) -> bool:
    return sum(figures.weekday_days) >= SEASONAL_MIN_DAYS and all(figures.weekday_days)


def projected_units(figures: SpendFigures, first: date, last: date) -> Decimal | None:
    """The run-rate projection of the days `first`..`last` in storage units (0 for no days);
    None with fewer than `MIN_HISTORY_DAYS` history days."""
    history_days = sum(figures.weekday_days)
    if history_days < MIN_HISTORY_DAYS:
        return None
    counts = _weekday_counts(first, last)
    if _seasonal(figures):
        projection = Decimal(0)
        for weekday in range(7):
            if counts[weekday]:
                projection += (
                    Decimal(figures.weekday_sums[weekday] * counts[weekday])
                    / figures.weekday_days[weekday]
                )
        return projection
    return Decimal(sum(figures.weekday_sums) * sum(counts)) / history_days


def forecast(figures: SpendFigures, window: Window, last_complete: date) -> Forecast:
    """Forecast spend to the window end (see the module docstring for the method)."""
    history_days = sum(figures.weekday_days)
    if last_complete >= window.end:
        return Forecast(from_storage_units(figures.to_date), "period complete", history_days)
    first_projected = max(last_complete + timedelta(days=1), window.start)
    projection = projected_units(figures, first_projected, window.end)
    if projection is None:
        return Forecast(None, f"not enough data yet ({history_days} complete day(s))", history_days)
    rate = "weekday" if _seasonal(figures) else "daily"
    method = f"{rate} run rate over the last {history_days} days"
    total_units = Decimal(figures.through_last_complete) + projection
    total = max(total_units, Decimal(figures.to_date)).scaleb(-8)
    return Forecast(total.quantize(Decimal("0.00000001")), method, history_days)


def history_figures(
    daily: Mapping[date, int], history: tuple[date, date] | None, to_date: int, through: int
) -> SpendFigures:
    """The figures when the spend to date (`to_date`, with today's partial costs) and through
    the last complete day (`through`) are known already: only the history is summed."""
    sums = [0] * 7
    days = [0] * 7
    if history is not None:
        day = history[0]
        while day <= history[1]:
            sums[day.weekday()] += daily.get(day, 0)
            days[day.weekday()] += 1
            day += timedelta(days=1)
    return SpendFigures(to_date, through, tuple(sums), tuple(days))


def with_provider_forecast(
    *,
    amount: Decimal,
    as_of: date,
    window: Window,
    spend_through: Callable[[date], int],
    figures: SpendFigures,
    last_complete: date,
) -> Forecast:
    """A provider's forecast (Azure's, fetched on `as_of`, of the days after it to the window
    end) made into the window's forecast: spend through the last complete day (at most the
    fetch day) + the run rate of the days from there through the fetch day (today is still
    being reported, and Azure's data may lag) + the provider's figure; never less than the
    spend to date. `spend_through(day)` is the spend from the window start through `day`."""
    complete = min(last_complete, as_of)
    known = spend_through(complete)
    gap = projected_units(figures, max(complete + timedelta(days=1), window.start), as_of)
    if gap is None:  # too little history for a run rate: count what is reported so far
        known = spend_through(as_of)
        gap = Decimal(0)
    total = max(Decimal(known) + gap + to_storage_units(amount), Decimal(figures.to_date))
    return Forecast(
        total.scaleb(-8).quantize(Decimal("0.00000001")),
        f"{AZURE_METHOD} of {as_of:%Y-%m-%d}",
        sum(figures.weekday_days),
        ForecastProvider.AZURE,
    )
