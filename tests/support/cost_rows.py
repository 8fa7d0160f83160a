"""Shared helpers for the budget tests: cost data written the way ingestion writes it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from core.costs.ingest import ensure_scope
from core.costs.model import CostType
from core.costs.store import write_day
from core.kernel.clock import Clock
from core.kernel.db.engine import write_transaction
from core.kernel.scopes import Scope, parse_scope
from tests.support.fakes import make_row

SCOPE = parse_scope("/subscriptions/00000000-0000-0000-0000-000000000001")


def put_day(
    engine: Engine,
    clock: Clock,
    day: date,
    amounts: Iterable[tuple[str, str, str]] | Decimal | str,
    *,
    scope: Scope = SCOPE,
    cost_type: CostType = CostType.ACTUAL,
    **overrides,
) -> None:
    """Make the stored day equal to these rows (restating it if it exists), like an ingestion.

    `amounts` is a total (split over resource groups rg-0/1/2 and three services) or a list of
    (resource group, service, cost) triples.
    """
    if isinstance(amounts, Decimal | str):
        total = Decimal(amounts)
        parts = [total / 2, total / 4, total - total / 2 - total / 4]
        amounts = [
            (f"rg-{n}", ["Virtual Machines", "Storage", "Bandwidth"][n], str(part))
            for n, part in enumerate(parts)
        ]
    rows = [
        make_row(
            day,
            n,
            cost=cost,
            resource_group=rg,
            service_name=service,
            resource_id=f"{scope.path}/resourcegroups/{rg}/providers/p/{service}-{n}",
            **overrides,
        )
        for n, (rg, service, cost) in enumerate(amounts)
    ]
    scope_id = ensure_scope(engine, scope)
    with write_transaction(engine) as conn:
        write_day(
            conn,
            scope_id=scope_id,
            cost_type=str(cost_type),
            usage_date=day,
            rows=rows,
            now=clock.now(),
        )


def put_days(engine: Engine, clock: Clock, first: date, last: date, per_day: str, **kw) -> None:
    day = first
    while day <= last:
        put_day(engine, clock, day, per_day, **kw)
        day += timedelta(days=1)
