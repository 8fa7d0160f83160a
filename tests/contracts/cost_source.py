"""The contract every `CostSource` keeps (core/costs/ports.py), for the real Azure source over the
simulated tenant and for the fake the ingestion tests use (a fake that broke the port would make
those tests prove nothing).

A subclass (tests/contracts/test_cost_sources.py) provides one fixture, `subject`: a
`CostSourceUnderTest` — the source, a subscription scope, a window crossing a month boundary whose
first days have no cost (the subscription was onboarded inside it) and which holds a row without
a resource (a purchase), the rows the source should yield for a day, and a way to make it fail.

The source yields each day from start to end once, in order; days without cost with no rows; each
day complete (exactly its rows); rows carrying what ingestion needs (Decimal amounts, a currency
code, '' and never None for a missing dimension, tags as text); the same window twice alike;
errors as core `CloudOptimaError`s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import astuple, dataclass, fields
from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.costs.model import CostType
from core.costs.ports import CostDay, CostRow, CostSource
from core.kernel.errors import CloudOptimaError
from core.kernel.scopes import Scope, ScopeKind

DIMENSIONS = (
    "subscription_id",
    "subscription_name",
    "resource_group",
    "resource_id",
    "service_name",
    "meter_category",
    "location",
    "charge_type",
)


@dataclass
class CostSourceUnderTest:
    source: CostSource
    scope: Scope
    start: date
    end: date
    #: Days of the window without any cost (before the subscription's onboarding).
    empty_days: frozenset[date]
    #: The rows the source must yield for a day and cost type (its ground truth).
    truth: Callable[[date, CostType], list[CostRow]]
    #: Every request the source makes from now on fails.
    fail: Callable[[], None]

    def days_of_window(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


async def collect(
    subject: CostSourceUnderTest,
    cost_type: CostType = CostType.ACTUAL,
    start: date | None = None,
    end: date | None = None,
) -> list[CostDay]:
    days: AsyncIterator[CostDay] = subject.source.days(
        subject.scope, cost_type, start or subject.start, end or subject.end
    )
    return [day async for day in days]


def row_key(row: CostRow) -> tuple[object, ...]:
    """A row as comparable values (tags as sorted pairs)."""
    values = astuple(row)
    tags_at = [f.name for f in fields(CostRow)].index("tags")
    return (*values[:tags_at], tuple(sorted(row.tags.items())), *values[tags_at + 1 :])


class CostSourceContract:
    """Subclass and provide the `subject` fixture."""

    @pytest.mark.parametrize("cost_type", list(CostType))
    async def test_every_day_of_the_window_arrives_once_in_order(self, subject, cost_type):
        days = await collect(subject, cost_type)

        assert [day.usage_date for day in days] == subject.days_of_window()

    async def test_days_without_cost_arrive_with_no_rows(self, subject):
        days = {day.usage_date: day.rows for day in await collect(subject)}

        assert subject.empty_days and subject.empty_days < set(days)
        assert {d for d, rows in days.items() if not rows} == subject.empty_days

    @pytest.mark.parametrize("cost_type", list(CostType))
    async def test_each_day_holds_exactly_its_rows(self, subject, cost_type):
        for day in await collect(subject, cost_type):
            got = sorted(map(row_key, day.rows))
            assert got == sorted(map(row_key, subject.truth(day.usage_date, cost_type))), (
                f"{day.usage_date}: {len(got)} row(s) differ from the source's truth"
            )

    async def test_rows_carry_what_ingestion_needs(self, subject):
        rows = [(day, row) for day in await collect(subject) for row in day.rows]

        # The window holds a row without a resource (a reservation purchase): its dimensions
        # are '' like every missing one.
        assert any(row.resource_id == "" and row.resource_group == "" for _, row in rows)
        for day, row in rows:
            assert row.usage_date == day.usage_date
            for name in DIMENSIONS:
                assert isinstance(getattr(row, name), str), f"{name} is {getattr(row, name)!r}"
            assert isinstance(row.cost, Decimal) and row.cost.is_finite()
            for optional in (row.cost_usd, row.quantity):
                assert optional is None or (isinstance(optional, Decimal) and optional.is_finite())
            assert len(row.currency) == 3 and row.currency.isalpha() and row.currency.isupper()
            assert isinstance(row.tags, Mapping)
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in row.tags.items())
            if subject.scope.kind is ScopeKind.SUBSCRIPTION:  # rows of the scope asked for
                assert subject.scope.path.endswith(f"/{row.subscription_id}")

    async def test_a_window_of_one_day_and_an_empty_window(self, subject):
        last = subject.end
        [day] = await collect(subject, start=last, end=last)
        assert day.usage_date == last and day.rows

        assert await collect(subject, start=last, end=last - timedelta(days=1)) == []

    async def test_the_same_window_asked_twice_is_the_same(self, subject):
        first, second = await collect(subject), await collect(subject)

        assert [(d.usage_date, sorted(map(row_key, d.rows))) for d in first] == [
            (d.usage_date, sorted(map(row_key, d.rows))) for d in second
        ]

    async def test_a_failing_source_raises_a_core_error(self, subject):
        subject.fail()

        with pytest.raises(CloudOptimaError) as caught:
            await collect(subject)

        assert caught.value.user_message()
