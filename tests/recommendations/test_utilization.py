"""Hourly series → the percentiles the rules decide on."""

from decimal import Decimal

from core.recommendations.utilization import percentiles, summarize
from tests.support.recs import HOURS, metrics, vm


def test_nearest_rank_percentiles_of_known_values():
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values, (95, 99, 100)) == [95.0, 99.0, 100.0]
    assert percentiles([], (95,)) == [None]


def test_memory_used_comes_from_available_bytes_and_the_sizes_memory():
    machine = vm("vm-a")
    u = summarize(metrics(machine, cpu=(1, 2), memory_used=(20, 40)), Decimal(32), HOURS)
    assert Decimal("39") <= u.memory_p99 <= Decimal("40")
    assert u.coverage == 1 and u.cpu_days == 30
    assert len(u.daily_cpu_max) == 30


def test_without_the_sizes_memory_or_the_metric_memory_is_unknown():
    machine = vm("vm-b")
    assert summarize(metrics(machine, cpu=(1, 2)), None, HOURS).memory_p99 is None
    assert (
        summarize(metrics(machine, cpu=(1, 2), memory_used=None), Decimal(8), HOURS).memory_p95
        is None
    )


def test_no_metrics_means_no_data_not_zero():
    u = summarize(None, Decimal(8), HOURS)
    assert (u.cpu_p95, u.hours_with_cpu, u.coverage) == (None, 0, 0)
