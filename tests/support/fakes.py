"""Test doubles for ports (`Fake*`), shared by the test modules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from decimal import Decimal

from core.costs.model import CostType
from core.costs.ports import CostDay, CostRow
from core.kernel.errors import UpstreamError
from core.kernel.scopes import Scope, ScopeKind

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
VM_PROVIDER = "microsoft.compute/virtualmachines"


def make_row(day: date, n: int, cost: str = "10.00", **overrides) -> CostRow:
    """A plausible cost row; `n` varies the resource."""
    values = {
        "usage_date": day,
        "subscription_id": "00000000-0000-0000-0000-000000000001",
        "subscription_name": "Production",
        "resource_group": f"rg-{n % 3}",
        "resource_id": f"{SUB}/resourcegroups/rg-{n % 3}/providers/{VM_PROVIDER}/vm-{n}",
        "service_name": ["Virtual Machines", "Storage", "Bandwidth"][n % 3],
        "meter_category": ["Virtual Machines", "Storage", "Bandwidth"][n % 3],
        "location": "westeurope",
        "charge_type": "Usage",
        "currency": "EUR",
        "cost": Decimal(cost),
        "cost_usd": Decimal(cost) * Decimal("1.08"),
        "quantity": Decimal("24"),
        "tags": {"env": "prod"},
    }
    values.update(overrides)
    return CostRow(**values)


class FakeCostSource:
    """Serves fixed rows per day; can fail once a given number of days has been served."""

    def __init__(
        self,
        rows_for_day: Callable[[date], list[CostRow]],
        *,
        fail_after_days: int | None = None,
        on_day: Callable[[int], None] | None = None,
    ) -> None:
        self.rows_for_day = rows_for_day
        self.fail_after_days = fail_after_days
        self.on_day = on_day
        self.requested: list[tuple[date, date]] = []

    async def days(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> AsyncIterator[CostDay]:
        self.requested.append((start, end))
        served = 0
        day = start
        while day <= end:
            if self.fail_after_days is not None and served >= self.fail_after_days:
                raise UpstreamError("connection reset", service="Fake cost source", code="reset")
            if self.on_day:
                self.on_day(served)
            yield CostDay(day, self.rows_for_day(day))
            served += 1
            day += timedelta(days=1)


SAMPLE_SCOPE = Scope(path=SUB, kind=ScopeKind.SUBSCRIPTION)


def sample_rows(day: date) -> list[CostRow]:
    """Six plausible rows a day: 3 services, 3 resource groups, amounts that vary by day."""
    return [make_row(day, n, cost=f"{10 + n * 3}.{day.day:02d}") for n in range(6)]


async def ingest_sample_costs(engine, clock, first: date, last: date):
    """Ingest `sample_rows` for every day in [first, last] through the real ingestion path."""
    from core.costs.ingest import CostIngestor, Window

    source = FakeCostSource(sample_rows)
    return await CostIngestor(engine, clock).run(
        source, SAMPLE_SCOPE, CostType.ACTUAL, Window(first, last)
    )
