"""The daily rollup (no resource, no tags) is always exactly the sum of the stored days: after
first loads, restatements, vanished rows, renames and empty days, on both databases; and the
answers read from it equal the answers read from the daily rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.costs import breakdown
from core.costs.breakdown import BreakdownQuery, cost_breakdown
from core.costs.grammar import parse_dimension, parse_filter
from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType
from core.costs.periods import parse_period
from core.costs.store import DIMENSION_COLUMNS
from core.costs.tables import CostGroup, CostRecord, CostRollup
from core.kernel.scopes import parse_scope
from tests.support.fakes import FakeCostSource, make_row

SCOPE = parse_scope("/subscriptions/00000000-0000-0000-0000-000000000001")
WINDOW = Window(date(2026, 11, 1), date(2026, 11, 20))
ROLLUP_DIMS = [c for c in DIMENSION_COLUMNS if c != "resource_id"]


def rows(day: date, *, version: int = 1) -> list:
    out = [make_row(day, n, cost=f"{3 + n}.{day.day:02d}{version}",
                    tags={"team": f"t{n % 4}"}) for n in range(12)]  # fmt: skip
    if version == 2:
        out[1] = make_row(day, 1, cost="77.7")  # restated, and untagged now
        if day.day % 3 == 0:
            del out[4]  # vanished
        if day.day == 20:
            out = []  # the whole day vanished
    return out


def sums(engine, table) -> dict:
    """Sum of cost per (cost type, day, scope, dimensions without the resource)."""
    g = CostGroup.__table__.c
    t = table.__table__.c
    keys = [t.cost_type, t.usage_date, t.scope_id, *(g[c] for c in ROLLUP_DIMS)]
    with engine.connect() as conn:
        found = conn.execute(
            select(*keys, func.sum(t.cost), func.count())
            .select_from(table.__table__.join(CostGroup.__table__, g.id == t.group_id))
            .group_by(*keys)
        ).all()
    return {tuple(r[:-2]): r[-2] for r in found}


async def test_the_rollup_is_the_exact_sum_of_the_days_through_every_change(engine, clock):
    ingestor = CostIngestor(engine, clock)
    await ingestor.run(FakeCostSource(rows), SCOPE, CostType.ACTUAL, WINDOW)
    assert sums(engine, CostRollup) == sums(engine, CostRecord)
    with engine.connect() as conn:
        daily, rolled = (
            conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (CostRecord, CostRollup)
        )
    assert rolled < daily / 3  # 12 resources a day in 3 resource groups × services

    clock.current += timedelta(hours=6)
    second = await ingestor.run(
        FakeCostSource(lambda d: rows(d, version=2)), SCOPE, CostType.ACTUAL, WINDOW
    )
    assert second.counts.updated > 0 and second.counts.removed > 0
    assert sums(engine, CostRollup) == sums(engine, CostRecord)
    with engine.connect() as conn:
        last_day = conn.execute(
            select(func.count()).where(CostRollup.usage_date == WINDOW.end)
        ).scalar()
    assert last_day == 0


@pytest.mark.parametrize(
    ("dimension", "filters"),
    [
        ("service", ()),
        ("resource-group", ()),
        ("subscription", ()),
        ("location", ()),
        ("meter", ("service:Storage",)),
        ("charge-type", ("rg:rg-1",)),
    ],
)
async def test_answers_from_the_rollup_equal_answers_from_the_days(
    engine, clock, monkeypatch, dimension, filters
):
    ingestor = CostIngestor(engine, clock)
    await ingestor.run(FakeCostSource(rows), SCOPE, CostType.ACTUAL, WINDOW)
    await ingestor.run(FakeCostSource(lambda d: rows(d, version=2)), SCOPE, CostType.ACTUAL,
                       WINDOW)  # fmt: skip
    query = BreakdownQuery(
        parse_period("10d", date(2026, 11, 21)),
        parse_dimension(dimension),
        CostType.ACTUAL,
        tuple(parse_filter(f) for f in filters),
    )
    assert breakdown.uses_rollup(query.dimension, query.filters)
    from_rollup = cost_breakdown(engine, query)
    monkeypatch.setattr(breakdown, "uses_rollup", lambda *_: False)
    from_days = cost_breakdown(engine, query)
    assert from_rollup == from_days and from_rollup.total > 0


def test_resources_and_tags_are_read_from_the_days():
    assert not breakdown.uses_rollup(parse_dimension("resource"), ())
    assert not breakdown.uses_rollup(parse_dimension("tag:team"), ())
    assert not breakdown.uses_rollup(parse_dimension("service"), (parse_filter("tag:team=t1"),))


async def test_the_migration_fills_the_rollup_from_the_days_already_stored(database_url, clock):
    from alembic import command

    from core.kernel.db.engine import make_engine
    from core.kernel.db.migrate import alembic_config, upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        await CostIngestor(engine, clock).run(FakeCostSource(rows), SCOPE, CostType.ACTUAL, WINDOW)
        before = sums(engine, CostRecord)
        command.downgrade(alembic_config(engine), "0011")  # a store of before the rollup
        upgrade(engine)

        assert sums(engine, CostRollup) == before
    finally:
        engine.dispose()
