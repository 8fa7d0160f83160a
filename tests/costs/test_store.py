"""The cost store's raw write path keeps every value exactly as given, on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType
from core.costs.store import group_key
from core.costs.tables import CostGroup, CostRecord
from core.kernel.scopes import parse_scope
from tests.support.fakes import FakeCostSource, make_row

SCOPE = parse_scope("/subscriptions/00000000-0000-0000-0000-000000000001")
DAY = date(2026, 11, 2)
AWKWARD = "tab\there, line\nbreak, cr\rhere, back\\slash, \\N, quote\" ' €ü漢 😀"


def awkward_rows(day: date) -> list:
    return [
        make_row(
            day,
            1,
            cost="12.34567891",
            cost_usd=Decimal("13.33333332"),
            tags={"owner": AWKWARD, "k\tey": "v\\al"},
        ),
        make_row(day, 2, cost="0.00000001", resource_group=AWKWARD, cost_usd=None, quantity=None),
        make_row(day, 3, cost="-5.5", cost_usd=Decimal("-5.94"), tags={}),
    ]


async def test_text_with_tabs_line_breaks_backslashes_and_unicode_is_stored_verbatim(engine, clock):
    source = FakeCostSource(awkward_rows)
    window = Window(DAY, DAY)
    ingestor = CostIngestor(engine, clock)

    first = await ingestor.run(source, SCOPE, CostType.ACTUAL, window)
    clock.current += timedelta(hours=1)
    again = await ingestor.run(source, SCOPE, CostType.ACTUAL, window)

    assert first.counts.inserted == 3
    assert (again.counts.unchanged, again.counts.updated) == (3, 0)
    with Session(engine) as session:
        stored = {
            group.group_key: (group, record)
            for record, group in session.exec(
                select(CostRecord, CostGroup).join(CostGroup, CostGroup.id == CostRecord.group_id)
            ).all()
        }
    for row in awkward_rows(DAY):
        group, record = stored[group_key(row)]
        assert group.tags == dict(row.tags)
        assert group.resource_group == row.resource_group
        assert group.resource_id == row.resource_id
        assert (record.cost, record.cost_usd, record.quantity) == (
            row.cost,
            row.cost_usd,
            row.quantity,
        )
    assert stored[group_key(awkward_rows(DAY)[1])][1].cost == Decimal("0.00000001")


async def test_amounts_beyond_eight_decimals_are_rounded_half_even(engine, clock):
    def rows(day: date) -> list:
        return [make_row(day, 1, cost="1.000000005", cost_usd=Decimal("1.000000015"))]

    await CostIngestor(engine, clock).run(
        FakeCostSource(rows), SCOPE, CostType.ACTUAL, Window(DAY, DAY)
    )

    with Session(engine) as session:
        record = session.exec(select(CostRecord)).one()
    assert (record.cost, record.cost_usd) == (Decimal("1.00000000"), Decimal("1.00000002"))
