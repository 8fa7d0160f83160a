"""The simulated tenant → real SDK client → AzureCostSource → CostIngestor → SQLite and
PostgreSQL, and what `costs` answers from it, checked against the tenant's own figures."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from adapters.azure import build_simulated_cost_source
from adapters.azure.simulated import drop_column, set_column
from core.app import create_core
from core.costs.breakdown import BreakdownQuery, cost_breakdown
from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType, Dimension, DimensionKind, RunStatus
from core.costs.periods import parse_period
from core.costs.tables import CostRecord, IngestionRun
from core.kernel.cards import Facts, Table
from core.kernel.context import Requester
from core.kernel.errors import MalformedResponseError
from core.kernel.money import format_money, round_to_currency
from core.kernel.scopes import parse_scope
from tests.adapters.azure.conftest import TODAY


def stored_by_day(engine) -> dict[date, tuple[int, Decimal]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(CostRecord.usage_date, func.count(), func.sum(CostRecord.cost)).group_by(
                CostRecord.usage_date
            )
        ).all()
    return {day: (count, total) for day, count, total in rows}


def truth_by_day(tenant, start, end, subscription_id=None) -> dict[date, tuple[int, Decimal]]:
    result: dict[date, list] = defaultdict(lambda: [0, Decimal(0)])
    for r in tenant.cost_rows(start=start, end=end, subscription_id=subscription_id):
        result[r.usage_date][0] += 1
        result[r.usage_date][1] += r.cost
    return {day: (n, total) for day, (n, total) in result.items()}


async def ingest(engine, clock, tenant, scope, window, **source_kw):
    source = build_simulated_cost_source(tenant, **source_kw)
    async with source:
        return await CostIngestor(engine, clock).run(source, scope, CostType.ACTUAL, window)


# -- malformed answers: earlier chunks stay, nothing of the bad one is stored -----------------

FAULTS = {
    "missing column": (drop_column("UsageDate"), "UsageDate"),
    "mistyped UsageDate": (set_column("UsageDate", "2026-11-09", rows=slice(3, 4)), "UsageDate"),
    "non-numeric cost": (set_column("totalCost", "12,50", rows=slice(-1, None)), "Cost"),
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
async def test_a_malformed_page_keeps_earlier_chunks_and_stores_nothing_of_its_own(
    engine, clock, tenant, fault
):
    corrupt, column = FAULTS[fault]
    sub = tenant.subscription("Staging")
    scope = parse_scope(sub.scope)
    window = Window(date(2026, 11, 1), date(2026, 11, 21))  # chunks of 7 days: 3 chunks
    tenant.cost_query.page_size = 100
    first_chunk_rows = sum(
        1
        for _ in tenant.rows(start=date(2026, 11, 1), end=date(2026, 11, 7), subscription_id=sub.id)
    )
    first_chunk_pages = math.ceil(first_chunk_rows / 100)
    tenant.queries.corrupt(corrupt, after=first_chunk_pages + 1)  # page 2 of chunk 2

    with pytest.raises(MalformedResponseError) as caught:
        await ingest(engine, clock, tenant, scope, window, chunk_days=7)

    message = caught.value.user_message()
    assert f"'{column}'" in message and scope.path in message
    truth = truth_by_day(tenant, window.start, window.end, sub.id)
    stored = stored_by_day(engine)
    assert sorted(stored) == [date(2026, 11, d) for d in range(1, 8)]
    assert all(stored[day] == truth[day] for day in stored)
    with Session(engine) as session:
        run = session.exec(select(IngestionRun)).scalars().one()
    assert run.status == RunStatus.FAILED
    assert run.checkpoint_date == date(2026, 11, 7)
    assert f"'{column}'" in (run.error or "")

    # The next run resumes after the checkpoint and completes the window.
    clock.current += timedelta(minutes=5)
    summary = await ingest(engine, clock, tenant, scope, window, chunk_days=7)

    assert summary.resumed_from == date(2026, 11, 8)
    assert stored_by_day(engine) == truth


# -- restatement -------------------------------------------------------------------------------


async def test_restated_days_update_exactly_the_restated_rows_and_remove_the_vanished_one(
    engine, clock, tenant
):
    sub = tenant.subscription("Sandbox")
    scope = parse_scope(sub.scope)
    window = Window(TODAY - timedelta(days=9), TODAY)

    def values():
        return {
            (r.usage_date, r.resource_id, r.service_name, r.charge_type): (
                r.cost,
                r.cost_usd,
                r.quantity,
            )
            for r in tenant.cost_rows(start=window.start, end=window.end, subscription_id=sub.id)
        }

    first = await ingest(engine, clock, tenant, scope, window)
    before = values()
    assert first.counts.inserted == len(before)

    tenant.restate()
    after = values()
    changed = sum(1 for key, value in after.items() if before[key] != value)
    vanished = len(set(before) - set(after))
    assert changed > 0 and vanished == 1
    clock.current += timedelta(hours=6)

    second = await ingest(engine, clock, tenant, scope, window)

    assert second.counts.updated == changed
    assert second.counts.removed == vanished
    assert second.counts.inserted == 0
    assert second.counts.unchanged == len(after) - changed
    assert stored_by_day(engine) == truth_by_day(tenant, window.start, window.end, sub.id)

    clock.current += timedelta(hours=6)
    third = await ingest(engine, clock, tenant, scope, window)
    assert (third.counts.updated, third.counts.removed, third.counts.inserted) == (0, 0, 0)


# -- `costs` against an independent sum of the generated data ---------------------------------


async def test_costs_by_service_match_the_tenants_own_figures_to_the_cent(engine, clock, tenant):
    periods = parse_period("30d", TODAY)
    window = Window(periods.previous.start, TODAY)
    for scope_path in tenant.scopes:
        await ingest(engine, clock, tenant, parse_scope(scope_path), window, chunk_days=14)

    # Independent: straight from the generator's ground truth, never through the database.
    current, previous = periods.current, periods.previous
    by_service: dict[str, Decimal] = defaultdict(Decimal)
    previous_total = Decimal(0)
    for r in tenant.cost_rows(start=previous.start, end=current.end):
        if current.start <= r.usage_date <= current.end:
            by_service[r.service_name] += r.cost
        else:
            previous_total += r.cost
    expected_total = sum(by_service.values(), Decimal(0))

    breakdown = cost_breakdown(
        engine,
        BreakdownQuery(periods, Dimension(DimensionKind.SERVICE), CostType.ACTUAL, top_n=50),
    )
    assert breakdown.currency == "EUR"
    assert round_to_currency(breakdown.total, "EUR") == round_to_currency(expected_total, "EUR")
    assert breakdown.total == expected_total  # exact, in fact: amounts are stored to 1e-8
    assert breakdown.previous_total == previous_total
    assert {row.key: row.cost for row in breakdown.rows} == dict(by_service)

    reply = create_core(engine, clock).handle_text(
        "costs 30d by service", Requester("console", "u")
    )

    facts = next(b for b in reply.card.blocks if isinstance(b, Facts))
    assert dict((f.label, f.value) for f in facts.facts)["Total"] == format_money(
        expected_total, "EUR"
    )
    table = next(b for b in reply.card.blocks if isinstance(b, Table))
    top = sorted(by_service.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [(row[0], row[1]) for row in table.rows] == [
        (service, format_money(cost, "EUR")) for service, cost in top
    ]
