"""The cost source contract (cost_source.py) for the Azure source (the real SDK client, answered
by the simulated tenant) and for `FakeCostSource` (tests/support/fakes.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from adapters.azure import build_simulated_cost_source
from adapters.azure.simulated import SimulatedTenant
from core.costs.model import CostType
from core.kernel.scopes import parse_scope
from tests.contracts.cost_source import CostSourceContract, CostSourceUnderTest
from tests.support.fakes import SAMPLE_SCOPE, FakeCostSource, sample_rows

TODAY = date(2026, 11, 27)  # the `clock` fixture's day
#: A window across a month boundary; the subscription has costs from its onboarding day on.
START, ONBOARDED, END = date(2026, 10, 28), date(2026, 11, 3), date(2026, 11, 8)
EMPTY_DAYS = frozenset(date(2026, 10, 28 + n) for n in range(4)) | {
    date(2026, 11, 1),
    date(2026, 11, 2),
}


class TestAzureCostSource(CostSourceContract):
    """Chunks of 4 days (one per request, never across a month), pages of 40 rows."""

    @pytest.fixture
    async def subject(self):
        tenant = SimulatedTenant(
            seed=7, today=TODAY, page_size=40, onboarded={"Sandbox": ONBOARDED}
        )
        subscription = tenant.subscription("Sandbox")
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


class TestFakeCostSource(CostSourceContract):
    @pytest.fixture
    def subject(self):
        def rows_for_day(day: date):
            return sample_rows(day) if day >= ONBOARDED else []

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
