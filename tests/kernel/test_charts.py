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
