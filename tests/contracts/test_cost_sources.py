"""The cost source contract (cost_source.py) for the Azure source (the real SDK client, answered
by the simulated tenant) and for `FakeCostSource` (tests/support/fakes.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from adapters.azure import build_simulated_cost_source
from adapters.azure.simulated import SimulatedTenant
from core.costs.model import CostType
from core.kernel.scopes import parse_scope
from tests.contracts.cost_source import CostSourceContract, CostSourceUnderTest
from tests.support.fakes import SAMPLE_SCOPE, FakeCostSource, make_row, sample_rows

TODAY = date(2026, 11, 27)  # the `clock` fixture's day
#: A window across a month boundary; the subscription has costs from its onboarding day on, and
#: the simulated tenant's reservation was bought (a row without a resource) on PURCHASE.
START, ONBOARDED, PURCHASE, END = (
    date(2026, 8, 28),
    date(2026, 9, 2),
    date(2026, 9, 13),
    date(2026, 9, 14),
)
EMPTY_DAYS = frozenset(START + timedelta(days=n) for n in range((ONBOARDED - START).days))


class TestAzureCostSource(CostSourceContract):
    """Production, onboarded inside the window; chunks of 4 days (never across a month), pages
    of 200 rows."""

    @pytest.fixture
    async def subject(self):
        tenant = SimulatedTenant(
            seed=7, today=TODAY, page_size=200, onboarded={"Production": ONBOARDED}
        )
        subscription = tenant.subscription("Production")
        source = build_simulated_cost_source(tenant, chunk_days=4, max_retries=1)

        def truth(day: date, cost_type: CostType):
            # The tenant spells tag keys as Azure shows them; the source lower-cases them (tag
            # names are case-insensitive in Azure), so one tag is one key.
            rows = tenant.cost_rows(cost_type, start=day, end=day, subscription_id=subscription.id)
            return [replace(r, tags={k.lower(): v for k, v in r.tags.items()}) for r in rows]

        async with source:
            yield CostSourceUnderTest(
                source,
                parse_scope(subscription.scope),
                START,
                END,
                EMPTY_DAYS,
                truth,
                fail=lambda: tenant.queries.fail(500, "InternalServerError", times=1000),
            )


def purchase(day: date):
    """A reservation purchase: no resource group, resource or location."""
    return make_row(
        day, 0, "9101.44", resource_group="", resource_id="", location="", charge_type="Purchase"
    )


class TestFakeCostSource(CostSourceContract):
    @pytest.fixture
    def subject(self):
        def rows_for_day(day: date):
            if day < ONBOARDED:
                return []
            return sample_rows(day) + ([purchase(day)] if day == PURCHASE else [])

        source = FakeCostSource(rows_for_day)

        def fail() -> None:
            source.fail_after_days = 0

        return CostSourceUnderTest(
            source,
            SAMPLE_SCOPE,
            START,
            END,
            EMPTY_DAYS,
            truth=lambda day, _cost_type: rows_for_day(day),
            fail=fail,
        )
