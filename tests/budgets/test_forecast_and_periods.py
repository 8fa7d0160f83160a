"""Pure parts: budget period windows and the documented forecast method."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.budgets.model import BudgetPeriod
from core.budgets.windows import BudgetWindow, default_start, previous_window, window_containing
from core.costs.forecasting import forecast, history_range, series_figures, spend_figures

UNIT = 10**8  # storage units per currency unit


def test_windows_repeat_from_the_start_month():
    start = date(2026, 2, 1)
    assert window_containing(start, BudgetPeriod.MONTHLY, date(2026, 11, 27)) == BudgetWindow(
        date(2026, 11, 1), date(2026, 11, 30)
    )
    # Quarters counted from February: Feb-Apr, May-Jul, Aug-Oct, Nov-Jan.
    assert window_containing(start, BudgetPeriod.QUARTERLY, date(2026, 11, 27)) == BudgetWindow(
        date(2026, 11, 1), date(2027, 1, 31)
    )
    assert window_containing(start, BudgetPeriod.YEARLY, date(2027, 1, 31)) == BudgetWindow(
        date(2026, 2, 1), date(2027, 1, 31)
    )
    assert window_containing(start, BudgetPeriod.MONTHLY, date(2026, 1, 31)) is None
    assert window_containing(date(2024, 1, 1), BudgetPeriod.MONTHLY, date(2024, 2, 29)).end == date(
        2024, 2, 29
    )
    december = BudgetWindow(date(2026, 12, 1), date(2026, 12, 31))
    assert previous_window(december, BudgetPeriod.MONTHLY) == BudgetWindow(
        date(2026, 11, 1), date(2026, 11, 30)
    )


def test_default_starts_are_the_current_calendar_month_quarter_and_year():
    today = date(2026, 11, 27)
    assert default_start(BudgetPeriod.MONTHLY, today) == date(2026, 11, 1)
    assert default_start(BudgetPeriod.QUARTERLY, today) == date(2026, 10, 1)
    assert default_start(BudgetPeriod.YEARLY, today) == date(2026, 1, 1)


def _series(first: date, last: date, per_weekday: dict[int, int]) -> dict[date, int]:
    out = {}
    day = first
    while day <= last:
        out[day] = per_weekday[day.weekday()] * UNIT
        day += timedelta(days=1)
    return out


NOVEMBER = BudgetWindow(date(2026, 11, 1), date(2026, 11, 30))
TODAY = date(2026, 11, 20)  # a Friday
DONE = date(2026, 11, 19)


def test_weekday_seasonality_projects_quiet_weekends():
    # 100 a weekday, 10 on Saturday and Sunday, since October.
    daily = _series(date(2026, 10, 1), DONE, {0: 100, 1: 100, 2: 100, 3: 100, 4: 100, 5: 10, 6: 10})
    history = history_range(DONE, date(2026, 10, 1))
    figures = spend_figures(daily, NOVEMBER, TODAY, DONE, history)
    result = forecast(figures, NOVEMBER, DONE)
    # Nov 20-30 holds 7 weekdays and 4 weekend days.
    spent_through = sum(v for d, v in daily.items() if d >= NOVEMBER.start) // UNIT
    assert result.total == Decimal(spent_through + 7 * 100 + 4 * 10)
    assert result.method == "weekday run rate over the last 28 days"
    assert result.history_days == 28


def test_a_short_history_uses_the_plain_daily_mean_and_none_below_three_days():
    daily = _series(date(2026, 11, 10), DONE, dict.fromkeys(range(7), 50))
    history = history_range(DONE, date(2026, 11, 10))
    result = forecast(spend_figures(daily, NOVEMBER, TODAY, DONE, history), NOVEMBER, DONE)
    assert result.method == "daily run rate over the last 10 days"
    assert result.total == Decimal(10 * 50 + 11 * 50)

    two_days = _series(date(2026, 11, 18), DONE, dict.fromkeys(range(7), 50))
    history = history_range(DONE, date(2026, 11, 18))
    result = forecast(spend_figures(two_days, NOVEMBER, TODAY, DONE, history), NOVEMBER, DONE)
    assert result.total is None
    assert "not enough data" in result.method


def test_todays_partial_spend_counts_to_date_and_the_forecast_never_falls_below_it():
    daily = _series(date(2026, 10, 1), DONE, dict.fromkeys(range(7), 10))
    daily[TODAY] = 5000 * UNIT  # a huge partial day
    history = history_range(DONE, date(2026, 10, 1))
    figures = spend_figures(daily, NOVEMBER, TODAY, DONE, history)
    assert figures.to_date == (19 * 10 + 5000) * UNIT
    result = forecast(figures, NOVEMBER, DONE)
    assert result.total == Decimal(19 * 10 + 5000)


def test_a_closed_period_forecasts_its_actual_spend():
    october = BudgetWindow(date(2026, 10, 1), date(2026, 10, 31))
    daily = _series(date(2026, 9, 1), DONE, dict.fromkeys(range(7), 10))
    history = history_range(DONE, date(2026, 9, 1))
    result = forecast(spend_figures(daily, october, TODAY, DONE, history), october, DONE)
    assert result.total == Decimal(31 * 10)
    assert result.method == "period complete"


@settings(max_examples=200, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=0, max_size=80),
    boundary_month=st.integers(min_value=6, max_value=10),
    window_month=st.integers(min_value=1, max_value=11),
    period_months=st.sampled_from([1, 3, 12]),
    today_day=st.integers(min_value=1, max_value=30),
    lag=st.integers(min_value=1, max_value=5),
    with_history=st.booleans(),
)
def test_figures_from_bucket_series_equal_figures_from_the_daily_dict(
    amounts, boundary_month, window_month, period_months, today_day, lag, with_history
):
    """`series_figures` (slices of a bucket series) is `spend_figures` (a dict per budget)."""
    from core.budgets.spend import Buckets, month_end

    today = date(2026, 11, today_day)
    last_complete = today - timedelta(days=lag)
    history = history_range(last_complete, date(2026, 1, 1)) if with_history else None
    boundary = history[0].replace(day=1) if history else date(2026, boundary_month, 1)
    start = date(2026, 1, 1)
    window_start = date(2026, window_month, 1)
    end_month = min(12, window_month + period_months - 1)
    window = BudgetWindow(window_start, month_end(date(2026, end_month, 1)))
    buckets = Buckets.of(start, boundary, today)
    series = (amounts * (len(buckets.firsts) // max(1, len(amounts)) + 1))[: len(buckets.firsts)]
    daily = {first: units for first, units in zip(buckets.firsts, series, strict=False) if units}

    assert series_figures(
        series, buckets.firsts, window, today, last_complete, history
    ) == spend_figures(daily, window, today, last_complete, history)
