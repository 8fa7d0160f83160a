import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

from core.kernel.cards import Chart, ChartPoint
from core.kernel.charts import render_png, sparkline


def chart(n: int) -> Chart:
    start = date(2026, 11, 1)
    points = tuple(ChartPoint(start + timedelta(days=i), Decimal(100 + i * n)) for i in range(30))
    return Chart(f"Chart {n}", points, "EUR")


def test_charts_render_as_png_from_many_threads_at_once():
    with ThreadPoolExecutor(max_workers=8) as pool:
        images = list(pool.map(lambda n: render_png(chart(n)), range(16)))
    assert all(image.startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert len({len(image) for image in images}) > 1  # each drew its own series


def test_sparkline_scales_between_min_and_max():
    assert sparkline([Decimal(1), Decimal(5), Decimal(3)]) == "▁█▄"
    assert sparkline([Decimal(2), Decimal(2)]) == "▁▁"
    assert sparkline([]) == ""


# -- ticks, overlays, reference lines ------------------------------------------------------------


def days_chart(days: int, **extra) -> Chart:
    start = date(2026, 11, 1)
    points = tuple(ChartPoint(start + timedelta(days=i), Decimal(10 + i)) for i in range(days))
    return Chart("Daily cost", points, "EUR", **extra)


def tick_days(chart: Chart) -> list[float]:
    from core.kernel.charts import draw_figure

    axis = draw_figure(chart).axes[0]
    low, high = axis.get_xlim()
    return [t for t in axis.get_xticks() if low <= t <= high]


def test_daily_data_gets_a_tick_per_day_never_per_hour():
    from core.kernel.cards import ChartTick
    from core.kernel.charts import tick_of

    for days in (1, 2, 7, 30):
        chart = days_chart(days)
        assert tick_of(chart) is ChartTick.DAY
        ticks = tick_days(chart)
        assert ticks == [float(int(t)) for t in ticks], "ticks on whole days only"
        assert len(ticks) == days


def test_longer_spans_get_weekly_then_monthly_ticks():
    from core.kernel.cards import ChartTick
    from core.kernel.charts import tick_of

    assert tick_of(days_chart(90)) is ChartTick.WEEK
    assert tick_of(days_chart(300)) is ChartTick.MONTH
    weekly = tick_days(days_chart(90))
    assert {round(b - a) for a, b in itertools.pairwise(weekly)} == {7}


def test_the_axis_runs_to_the_period_end_and_draws_series_and_lines():
    from core.kernel.cards import ChartLine, ChartSeries
    from core.kernel.charts import draw_figure

    forecast = ChartSeries(
        "forecast", (ChartPoint(date(2026, 11, 10), Decimal(20)), ChartPoint(date(2026, 11, 30),
        Decimal(40))),
    )  # fmt: skip
    chart = days_chart(
        10, name="spent", series=(forecast,), lines=(ChartLine("budget", Decimal(35)),),
        until=date(2026, 11, 30),
    )  # fmt: skip
    axis = draw_figure(chart).axes[0]
    assert len(tick_days(chart)) == 30  # a tick per day of November, not of the ten with data
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["spent", "forecast", "budget"]
    budget_line = axis.get_lines()[-1]
    assert list(budget_line.get_ydata()) == [35.0, 35.0]


def test_text_renderers_draw_every_series_on_one_scale_and_name_the_lines():
    from core.kernel.cards import ChartLine, ChartSeries
    from core.kernel.cards_text import chart_lines

    low = tuple(ChartPoint(p.day, Decimal(1)) for p in days_chart(5).points)
    chart = days_chart(
        5,
        name="this week",
        series=(ChartSeries("last week", low, summary="dashed: last week, total €5.00"),),
        lines=(ChartLine("budget", Decimal(50)),),
    )
    this_week, last_week, caption = chart_lines(chart)
    assert this_week.startswith("this week") and last_week.startswith("last week")
    assert last_week.endswith("▁▁▁▁▁")  # far below this week's, on the same scale
    assert "dashed: last week, total €5.00" in caption and "budget €50.00" in caption
