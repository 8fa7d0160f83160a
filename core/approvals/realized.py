"""Realized savings: what approved recommendations actually saved, from the cost store.

An approved item is watched. It becomes *implemented* when its resource disappears, its size
changes to the recommended one, or its daily effective cost falls by at least the expected
amount for 7 days in a row. The realized saving is then measured: the mean daily effective cost
of the 30 days before approval (kept at approval: `baseline_daily`) against the mean of the
complete days since implementation, normalised to a month (× 730 h ÷ 24 h), and kept up to date
for 90 days. Amounts are Decimal, in the resource's billing currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, func, select

from core.approvals.model import Decision
from core.approvals.ports import ResourceState
from core.costs.catalog import catalog_for
from core.costs.model import CostType
from core.costs.tables import CostRecord
from core.kernel.db.engine import read_snapshot

T = CostRecord.__table__.c  # type: ignore[attr-defined]
BASELINE_DAYS = 30
STREAK_DAYS = 7
WATCH_DAYS = 90
HOURS_PER_MONTH = Decimal(730)
HOURS_PER_DAY = Decimal(24)


@dataclass(frozen=True, slots=True)
class DailySeries:
    """A resource's daily effective cost (missing days cost nothing)."""

    days: Mapping[date, Decimal]
    currency: str | None

    def on(self, day: date) -> Decimal:
        return self.days.get(day, Decimal(0))


def _cost_type(conn: Connection) -> CostType:
    for cost_type in (CostType.AMORTIZED, CostType.ACTUAL):
        if conn.execute(select(T.usage_date).where(T.cost_type == str(cost_type)).limit(1)).first():
            return cost_type
    return CostType.AMORTIZED


def read_daily(
    engine: Engine, resource_ids: Iterable[str], start: date, end: date
) -> dict[str, DailySeries]:
    """Each resource's daily effective (amortized, else actual) cost from `start` to `end`."""
    wanted = {r.lower() for r in resource_ids}
    if not wanted:
        return {}
    with read_snapshot(engine) as conn:
        cost_type = _cost_type(conn)
        groups = catalog_for(conn.engine).groups(conn)
        ids = [g.id for g in groups.by_id.values() if g.resource_id.lower() in wanted]
        rows: list[tuple[int, date, Decimal]] = []
        for i in range(0, len(ids), 500):
            rows += conn.execute(
                select(T.group_id, T.usage_date, func.sum(T.cost))
                .where(
                    T.cost_type == str(cost_type),
                    T.usage_date >= start,
                    T.usage_date <= end,
                    T.group_id.in_(ids[i : i + 500]),
                )
                .group_by(T.group_id, T.usage_date)
            ).all()
    per: dict[tuple[str, str], dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for group_id, day, amount in rows:
        group = groups.by_id[int(group_id)]
        per[(group.resource_id.lower(), group.currency)][day] += amount
    found: dict[str, DailySeries] = {}
    ranked = sorted(per.items(), key=lambda kv: -sum(kv[1].values()))
    for (resource_id, currency), days in ranked:
        # A resource billed in two currencies keeps the larger one (never summed across).
        found.setdefault(resource_id, DailySeries(dict(days), currency))
    return found


def baseline_window(approved: date) -> tuple[date, date]:
    return approved - timedelta(days=BASELINE_DAYS), approved - timedelta(days=1)


def baseline_daily(series: DailySeries | None, approved: date) -> Decimal:
    """Mean daily effective cost of the 30 days before approval."""
    start, _ = baseline_window(approved)
    if series is None:
        return Decimal(0)
    total = sum((series.on(start + timedelta(days=i)) for i in range(BASELINE_DAYS)), Decimal(0))
    return total / BASELINE_DAYS


def expected_daily(expected_monthly: Decimal) -> Decimal:
    return expected_monthly * HOURS_PER_DAY / HOURS_PER_MONTH


def monthly(daily: Decimal) -> Decimal:
    return (daily * HOURS_PER_MONTH / HOURS_PER_DAY).quantize(Decimal("0.00000001"))


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Implemented:
    how: str
    #: The first day of the lower cost (measurement starts there).
    day: date


def _complete_days(after: date, today: date) -> list[date]:
    """The complete days after `after` (yesterday at the latest)."""
    return [after + timedelta(days=i) for i in range(1, (today - after).days)]


def _drop_day(days: list[date], series: DailySeries | None, level: Decimal, today: date) -> date:
    """The first day of the trailing run of days at or below `level` (today without one)."""
    start = today
    for day in reversed(days):
        if series is not None and series.on(day) > level:
            break
        start = day
    return start


def detect(
    decision: Decision,
    series: DailySeries | None,
    state: ResourceState | None,
    target_sku: str | None,
    today: date,
) -> Implemented | None:
    """Whether the approved item is implemented by now, and since which day."""
    if decision.approved_at is None or decision.baseline_daily is None:
        return None
    approved = decision.approved_at.date()
    days = _complete_days(approved, today)
    expected = expected_daily(decision.expected_monthly or Decimal(0))
    base = decision.baseline_daily
    halfway = base - expected / 2
    if state is not None and not state.exists:
        return Implemented("resource deleted", _drop_day(days, series, halfway, today))
    if state is not None and target_sku and state.sku and state.sku.lower() == target_sku.lower():
        return Implemented(f"resized to {state.sku}", _drop_day(days, series, halfway, today))
    if expected <= 0:
        return None
    run: list[date] = []
    wanted = _cents(expected)
    for day in days:
        cost = series.on(day) if series is not None else Decimal(0)
        # "At least the expected amount", to the cent: the expected figure is itself rounded.
        run = [*run, day] if _cents(base - cost) >= wanted else []
        if len(run) == STREAK_DAYS:
            return Implemented(f"cost fell {STREAK_DAYS} days in a row", run[0])
    return None


@dataclass(frozen=True, slots=True)
class Realized:
    monthly: Decimal
    through: date
    days: int


def measure(
    decision: Decision, implemented: date, series: DailySeries | None, today: date
) -> Realized | None:
    """Baseline minus the mean daily cost of the complete days since implementation (at most
    90 of them), per month; None before the first complete day."""
    if decision.baseline_daily is None:
        return None
    last = min(today - timedelta(days=1), implemented + timedelta(days=WATCH_DAYS - 1))
    if last < implemented:
        return None
    count = (last - implemented).days + 1
    spent = sum(
        (
            series.on(implemented + timedelta(days=i)) if series else Decimal(0)
            for i in range(count)
        ),
        Decimal(0),
    )
    return Realized(monthly(decision.baseline_daily - spent / count), last, count)


def still_watched(decision: Decision, now: datetime) -> bool:
    """Implemented items are measured for 90 days after implementation."""
    if decision.implemented_at is None:
        return True
    return now.date() <= decision.implemented_at.date() + timedelta(days=WATCH_DAYS)
