"""Charts from the view model: a Unicode sparkline (any channel) and a PNG (Slack, Teams).

Pure functions of `Chart` (core.kernel.cards); matplotlib draws off-screen (Agg), nothing touches a
display, and it is safe to call from several threads.
"""

from __future__ import annotations

import io
from decimal import Decimal

from core.kernel.cards import Chart
from core.kernel.money import format_money

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[Decimal]) -> str:
    """`[1, 5, 3]` → `▁█▄`; a flat or empty series draws a flat line."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return _BARS[0] * len(values)
    span = high - low
    return "".join(_BARS[int((v - low) / span * (len(_BARS) - 1))] for v in values)


def chart_caption(chart: Chart) -> str:
    """One line: title, range, min and max (what the sparkline cannot say)."""
    if not chart.points:
        return chart.title
    values = [p.value for p in chart.points]
    first, last = chart.points[0].day, chart.points[-1].day
    low, high = min(values), max(values)
    caption = (
        f"{chart.title}, {first:%b %d} – {last:%b %d}: "
        f"min {_fmt(low, chart.unit)}, max {_fmt(high, chart.unit)}"
    )
    if chart.band:
        band = chart.band[-1]
        caption += (
            f"; expected {band.day:%b %d}: {_fmt(band.low, chart.unit)} – "
            f"{_fmt(band.high, chart.unit)}"
        )
    return caption


def _fmt(value: Decimal, unit: str) -> str:
    return f"{value:.1f}%" if unit == "%" else format_money(value, unit)


def render_png(chart: Chart, *, width_px: int = 800, height_px: int = 300) -> bytes:
    """The series as a small line chart PNG (~20-40 KB).

    Uses matplotlib's object API (a `Figure` with its own Agg canvas), not pyplot: no global
    figure registry, so adapters may render from several threads at once.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
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
    ax.plot(days, values, color="#0078d4", linewidth=2)
    if chart.band:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        ax.fill_between(days, values, color="#0078d4", alpha=0.12)
    ax.set_title(chart.title, loc="left", fontsize=11)
    ax.set_ylabel(chart.unit)
    ax.set_ylim(bottom=0)
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
