"""Charts from the view model: a Unicode sparkline (any channel) and a PNG (Slack, Teams).

Pure functions of `Chart` (core.kernel.cards); matplotlib draws off-screen (Agg), nothing touches a
display, and it is safe to call from several threads.

A chart is a daily series, optionally with further series on the same days (the previous period
overlaid, a forecast) and horizontal reference lines (a budget). Every renderer shows all of
them: the PNG draws them with a legend; text renderers draw one sparkline per series on one
shared scale (`sparklines`) and name the lines in the caption (`chart_caption`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.kernel.cards import Chart, ChartTick
from core.kernel.money import format_money

_BARS = "▁▂▃▄▅▆▇█"
#: Spans up to this many days get a tick per day; up to `WEEKLY_UP_TO` one per week.
DAILY_UP_TO = 31
WEEKLY_UP_TO = 124


def sparkline(
    values: Sequence[Decimal], *, low: Decimal | None = None, high: Decimal | None = None
) -> str:
    """`[1, 5, 3]` → `▁█▄`; a flat or empty series draws a flat line. `low`/`high` fix the
    scale, so that several series drawn one under the other compare."""
    if not values:
        return ""
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    if high <= low:
        return _BARS[0] * len(values)
    span = high - low
    top = len(_BARS) - 1
    return "".join(_BARS[max(0, min(top, int((v - low) / span * top)))] for v in values)


def sparklines(chart: Chart, *, width: int | None = None) -> list[tuple[str, str]]:
    """(name, sparkline) of the chart's series, main first, on one scale; series are averaged
    down to `width` bars when longer. Reference lines, and series of two points or fewer (a
    straight line, such as a forecast), are in the caption, not drawn: bars would say nothing."""
    named = [(chart.name or chart.title, [p.value for p in chart.points])]
    named += [(s.name, [p.value for p in s.points]) for s in chart.series if len(s.points) > 2]
    shrunk = [(name, downsample(values, width) if width else values) for name, values in named]
    everything = [v for _, values in shrunk for v in values]
    if not everything:
        return []
    low, high = min(everything), max(everything)
    return [(name, sparkline(values, low=low, high=high)) for name, values in shrunk]


def downsample(values: Sequence[Decimal], buckets: int) -> list[Decimal]:
    """Average consecutive values into at most `buckets` bars (keeps the series' shape)."""
    if len(values) <= buckets:
        return list(values)
    size = -(-len(values) // buckets)  # ceiling division
    chunks = [values[i : i + size] for i in range(0, len(values), size)]
    return [sum(chunk, Decimal(0)) / len(chunk) for chunk in chunks]


def chart_caption(chart: Chart) -> str:
    """One line: title, range, min and max of the main series, then what the sparkline cannot
    say of the other series and the reference lines."""
    if not chart.points:
        return chart.title
    values = [p.value for p in chart.points]
    first, last = chart.points[0].day, chart.points[-1].day
    low, high = min(values), max(values)
    parts = [
        f"{chart.title}, {_day(first)} – {_day(last)}: "
        f"min {_fmt(low, chart.unit)}, max {_fmt(high, chart.unit)}"
    ]
    if chart.band:
        band = chart.band[-1]
        parts.append(
            f"expected {_day(band.day)}: {_fmt(band.low, chart.unit)} – "
            f"{_fmt(band.high, chart.unit)}"
        )
    parts += [s.summary for s in chart.series if s.summary]
    parts += [f"{line.name} {_fmt(line.value, chart.unit)}" for line in chart.lines]
    return "; ".join(parts)


def _day(day: date) -> str:
    return f"{day:%b} {day.day:02d}"


def _fmt(value: Decimal, unit: str) -> str:
    return f"{value:.1f}%" if unit == "%" else format_money(value, unit)


def tick_of(chart: Chart) -> ChartTick:
    """The chart's tick, or one by its span: a day up to a month, a week up to four months."""
    if chart.tick is not None:
        return chart.tick
    days = [p.day for p in chart.points] + [p.day for s in chart.series for p in s.points]
    if chart.until is not None:
        days.append(chart.until)
    if not days:
        return ChartTick.DAY
    span = (max(days) - min(days)).days + 1
    if span <= DAILY_UP_TO:
        return ChartTick.DAY
    return ChartTick.WEEK if span <= WEEKLY_UP_TO else ChartTick.MONTH


def render_png(chart: Chart, *, width_px: int = 800, height_px: int = 300) -> bytes:
    """The chart as a small line chart PNG (~20-40 KB)."""
    fig = draw_figure(chart, width_px=width_px, height_px=height_px)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_figure(chart: Chart, *, width_px: int = 800, height_px: int = 300) -> Any:
    """The chart drawn on a matplotlib `Figure` (its own Agg canvas: matplotlib's object API,
    not pyplot, so there is no global figure registry and adapters may render from several
    threads at once)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    days = date2num([p.day for p in chart.points])  # type: ignore[no-untyped-call]
    values = [float(p.value) for p in chart.points]  # drawing only; figures stay Decimal
    if chart.band:
        band_days = date2num([b.day for b in chart.band])  # type: ignore[no-untyped-call]
        ax.fill_between(
            band_days,
            [float(b.low) for b in chart.band],
            [float(b.high) for b in chart.band],
            color="#8a8886",
            alpha=0.25,
            linewidth=0,
            label="expected range",
        )
    ax.plot(days, values, color="#0078d4", linewidth=2, label=chart.name or None)
    if not chart.band:  # the band is the shaded area where there is one
        ax.fill_between(days, values, color="#0078d4", alpha=0.12)
    for series, color in zip(chart.series, ("#8a8886", "#ca5010", "#498205"), strict=False):
        ax.plot(
            date2num([p.day for p in series.points]),  # type: ignore[no-untyped-call]
            [float(p.value) for p in series.points],
            color=color,
            linewidth=1.6,
            linestyle="--" if series.dashed else "-",
            label=series.name,
        )
    for line in chart.lines:
        ax.axhline(float(line.value), color="#a4262c", linewidth=1.2, label=line.name)
    _time_axis(ax, chart)
    ax.set_title(chart.title, loc="left", fontsize=11)
    ax.set_ylabel(chart.unit)
    ax.set_ylim(bottom=0)
    if chart.series or chart.lines or chart.band:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def _time_axis(ax: Any, chart: Chart) -> None:
    """Ticks on whole days, weeks or months (never hours: the data is daily), the axis running
    from the first day to `until` when that is later than the last point."""
    from matplotlib.dates import DateFormatter, DayLocator, MonthLocator, WeekdayLocator, date2num

    days = [p.day for p in chart.points] + [p.day for s in chart.series for p in s.points]
    if not days:
        return
    first, last = min(days), max([*days, chart.until or min(days)])
    tick = tick_of(chart)
    locator: Any
    if tick is ChartTick.DAY:
        locator, label = DayLocator(), "%d"  # type: ignore[no-untyped-call]
    elif tick is ChartTick.WEEK:
        locator, label = WeekdayLocator(byweekday=0), "%b %d"  # type: ignore[no-untyped-call]
    else:
        locator, label = MonthLocator(), "%b %Y"  # type: ignore[no-untyped-call]
    axis = ax.xaxis
    axis.set_major_locator(locator)
    axis.set_major_formatter(DateFormatter(label))  # type: ignore[no-untyped-call]
    axis.set_tick_params(labelsize=7 if tick is ChartTick.DAY else 8)
    pad = timedelta(hours=12)
    ax.set_xlim(
        date2num(first) - pad / timedelta(days=1),  # type: ignore[no-untyped-call]
        date2num(last) + pad / timedelta(days=1),  # type: ignore[no-untyped-call]
    )
    if tick is ChartTick.DAY:
        ax.set_xlabel(f"{first:%B %Y}" if first.month == last.month else "")
