"""Each resource's effective cost over the last 30 days, read from the cost store.

Effective cost is amortized cost (reservation and savings plan purchases spread over the usage
they cover): what the resource really costs. When only actual costs were ingested the actual cost
is used instead, and every formula says so. Rows are summed per cost group in SQL and the groups
mapped to resource ids with the costs feature's group catalogue, like every cost reader.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, func, select

from core.costs.catalog import catalog_for
from core.costs.model import CostType
from core.costs.tables import CostRecord
from core.kernel.db.engine import read_snapshot
from core.recommendations.savings import COST_WINDOW_DAYS

T = CostRecord.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ResourceCost:
    """A resource's cost over the window, in one currency."""

    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class EffectiveCosts:
    """Resource id (lower-cased) → its cost over `days` days ending `end`."""

    by_resource: dict[str, ResourceCost]
    cost_type: CostType
    start: date
    end: date
    days: int = COST_WINDOW_DAYS
    #: The first day the store has data of this cost type (long-deallocated VMs need 30 days).
    first_day: date | None = None
    #: The currency most of the cost is billed in (None without data).
    billing_currency: str | None = None
    other_currencies: tuple[str, ...] = field(default_factory=tuple)

    def of(self, resource_id: str) -> ResourceCost | None:
        return self.by_resource.get(resource_id.lower())

    @property
    def label(self) -> str:
        return "effective" if self.cost_type is CostType.AMORTIZED else "actual (no amortized data)"

    @property
    def covers_window(self) -> bool:
        return self.first_day is not None and self.first_day <= self.start


def read_effective_costs(engine: Engine, today: date) -> EffectiveCosts:
    """The last 30 complete days (ending yesterday) of every resource's cost: amortized when
    the store has it, else actual."""
    end = today - timedelta(days=1)
    start = end - timedelta(days=COST_WINDOW_DAYS - 1)
    with read_snapshot(engine) as conn:
        for cost_type in (CostType.AMORTIZED, CostType.ACTUAL):
            found = _read(conn, cost_type, start, end)
            if found is not None:
                return found
    return EffectiveCosts({}, CostType.AMORTIZED, start, end)


def _read(conn: Connection, cost_type: CostType, start: date, end: date) -> EffectiveCosts | None:
    first_day = conn.execute(
        select(func.min(T.usage_date)).where(T.cost_type == str(cost_type))
    ).scalar()
    if first_day is None:
        return None
    sums = conn.execute(
        select(T.group_id, func.sum(T.cost))
        .where(T.cost_type == str(cost_type), T.usage_date >= start, T.usage_date <= end)
        .group_by(T.group_id)
    ).all()
    groups = catalog_for(conn.engine).groups(conn, [int(g) for g, _ in sums])
    amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    for group_id, total in sums:
        group = groups.by_id[int(group_id)]
        per_currency[group.currency] += total
        if not group.resource_id:
            continue
        key = (group.resource_id.lower(), group.currency)
        amounts[key] += total
    by_resource: dict[str, ResourceCost] = {}
    for (resource_id, currency), amount in sorted(amounts.items(), key=lambda kv: -kv[1]):
        # A resource billed in two currencies keeps the larger one (never summed across).
        by_resource.setdefault(resource_id, ResourceCost(amount, currency))
    ranked = sorted(per_currency, key=lambda c: -per_currency[c])
    return EffectiveCosts(
        by_resource,
        cost_type,
        start,
        end,
        first_day=first_day,
        billing_currency=ranked[0] if ranked else None,
        other_currencies=tuple(ranked[1:]),
    )
