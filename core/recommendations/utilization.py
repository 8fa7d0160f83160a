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


def _ranks(n: int, ps: Sequence[float]) -> list[int]:
    return [max(1, math.ceil(p / 100 * n)) for p in ps]


def percentiles(values: Sequence[float], ps: Sequence[float]) -> list[float | None]:
    """Nearest-rank percentiles of `values`, sorting once."""
    if not values:
        return [None] * len(ps)
    ordered = sorted(values)
    return [ordered[rank - 1] for rank in _ranks(len(ordered), ps)]


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
    """The utilization of one VM from its hourly series (`hours` expected over the window).

    Runs for every hour of every VM of a refresh (5,000 VMs × 720 h × 3 metrics), so each
    series is sorted once and only the percentiles are converted: used memory is monotone in
    available memory (its p95 is the p5 of what was available) and Mbit/s in bytes.
    """
    if metrics is None:
        return Utilization(hours, 0, None, None, None, None, None, None, ())
    cpu = [v for v in metrics.cpu_max if v is not None]
    available = [v for v in metrics.memory_available_min if v is not None]
    network = [v for v in metrics.network_out if v is not None]
    cpu95, cpu99 = percentiles(cpu, (95, 99))
    low5, low1 = _lowest(available, (95, 99)) if memory_gb and memory_gb > 0 else (None, None)
    net95, net99 = percentiles(network, (95, 99))
    to_mbps = 8 / (metrics.interval_hours * 3600) / 1e6
    total = float(memory_gb or 0) * GIB
    return Utilization(
        hours_expected=hours,
        hours_with_cpu=len(cpu) * metrics.interval_hours,
        cpu_p95=_d(cpu95),
        cpu_p99=_d(cpu99),
        memory_p95=_d(_used(low5, total)),
        memory_p99=_d(_used(low1, total)),
        network_p95_mbps=_d(None if net95 is None else net95 * to_mbps),
        network_p99_mbps=_d(None if net99 is None else net99 * to_mbps),
        daily_cpu_max=_daily_max(metrics),
    )


def _lowest(values: Sequence[float], ps: Sequence[float]) -> list[float | None]:
    """For each p, the value whose complement is the nearest-rank p-th percentile of
    (1 − value): the (n − rank + 1)-th smallest."""
    if not values:
        return [None] * len(ps)
    ordered = sorted(values)
    n = len(ordered)
    return [ordered[n - rank] for rank in _ranks(n, ps)]


def _used(available: float | None, total: float) -> float | None:
    """Used memory in percent: 1 − available ÷ total (total from the size's memory)."""
    if available is None or total <= 0:
        return None
    return max(0.0, min(100.0, (1 - available / total) * 100))


def _daily_max(metrics: VmMetrics) -> tuple[tuple[date, Decimal], ...]:
    """The maximum of each day, from day-long slices (not a Python step per hour)."""
    step = metrics.interval_hours
    if 24 % step:
        return ()
    per_day = 24 // step
    first = -(metrics.start.hour // step)  # slices start at midnight
    first_day = metrics.start.date()
    found: list[tuple[date, Decimal]] = []
    values = metrics.cpu_max
    for day, begin in enumerate(range(first, len(values), per_day)):
        chunk = [v for v in values[max(begin, 0) : begin + per_day] if v is not None]
        if chunk:
            found.append((first_day + timedelta(days=day), Decimal(f"{max(chunk):.2f}")))
    return tuple(found)
