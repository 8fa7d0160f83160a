"""Hourly metric series → the percentiles the rules decide on, and a daily series to chart.

Pure. Percentiles use the nearest-rank method over the hours that have a value; coverage says how
many hours that was, so a rule can refuse to judge a VM on too little data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.recommendations.ports import VmMetrics

_TWO = Decimal("0.01")
GIB = 1024**3


def percentiles(values: Sequence[float], ps: Sequence[float]) -> list[float | None]:
    """Several nearest-rank percentiles of `values`, sorting once."""
    if not values:
        return [None] * len(ps)
    ordered = sorted(values)
    return [ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] for p in ps]


def _d(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(_TWO)


@dataclass(frozen=True, slots=True)
class Utilization:
    """One VM over the look-back: CPU (per-interval maximum), memory used, outbound network."""

    hours_expected: int
    hours_with_cpu: int
    cpu_p95: Decimal | None
    cpu_p99: Decimal | None
    #: Used memory in percent of the size's memory (None: no memory metric or no size).
    memory_p95: Decimal | None
    memory_p99: Decimal | None
    #: Outbound network, Mbit/s averaged over each interval.
    network_p95_mbps: Decimal | None
    network_p99_mbps: Decimal | None
    daily_cpu_max: tuple[tuple[date, Decimal], ...]

    @property
    def cpu_days(self) -> Decimal:
        return Decimal(self.hours_with_cpu) / 24

    @property
    def coverage(self) -> Decimal:
        if not self.hours_expected:
            return Decimal(0)
        return Decimal(self.hours_with_cpu) / Decimal(self.hours_expected)


def summarize(metrics: VmMetrics | None, memory_gb: Decimal | None, hours: int) -> Utilization:
    """The utilization of one VM from its hourly series (`hours` expected over the window)."""
    if metrics is None:
        return Utilization(hours, 0, None, None, None, None, None, None, ())
    cpu = [v for v in metrics.cpu_max if v is not None]
    used = _memory_used(metrics.memory_available_min, memory_gb)
    seconds = metrics.interval_hours * 3600
    mbps = [v * 8 / seconds / 1e6 for v in metrics.network_out if v is not None]
    cpu95, cpu99 = percentiles(cpu, (95, 99))
    mem95, mem99 = percentiles(used, (95, 99))
    net95, net99 = percentiles(mbps, (95, 99))
    return Utilization(
        hours_expected=hours,
        hours_with_cpu=len(cpu) * metrics.interval_hours,
        cpu_p95=_d(cpu95),
        cpu_p99=_d(cpu99),
        memory_p95=_d(mem95),
        memory_p99=_d(mem99),
        network_p95_mbps=_d(net95),
        network_p99_mbps=_d(net99),
        daily_cpu_max=_daily_max(metrics),
    )


def _memory_used(available: Sequence[float | None], memory_gb: Decimal | None) -> list[float]:
    """Used memory in percent: 1 − available ÷ total (total from the size's memory)."""
    if memory_gb is None or memory_gb <= 0:
        return []
    total = float(memory_gb) * GIB
    return [max(0.0, min(100.0, (1 - v / total) * 100)) for v in available if v is not None]


def _daily_max(metrics: VmMetrics) -> tuple[tuple[date, Decimal], ...]:
    # Integer hours, not datetime arithmetic per point: this runs for every hour of every VM.
    by_day: dict[int, float] = {}
    first_hour, step = metrics.start.hour, metrics.interval_hours
    for index, value in enumerate(metrics.cpu_max):
        if value is not None:
            day = (first_hour + index * step) // 24
            if value > by_day.get(day, -1.0):
                by_day[day] = value
    first_day = metrics.start.date()
    return tuple(
        (first_day + timedelta(days=day), Decimal(repr(v)).quantize(_TWO))
        for day, v in sorted(by_day.items())
    )
