"""A simulated tenant with 31 days of amortized costs ingested, and a refresh over it through
the real Azure SDK clients."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.azure import build_recommendation_sources, build_simulated_cost_source
from adapters.azure.simulated import SimulatedTenant
from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType
from core.kernel.clock import FixedClock
from core.kernel.scopes import parse_scope
from core.recommendations.model import RecommendationsConfig
from core.recommendations.refresh import RecommendationRefresher

TODAY = date(2026, 11, 27)


@pytest.fixture
def tenant() -> SimulatedTenant:
    return SimulatedTenant(seed=42, today=TODAY)


async def ingest_amortized(engine, clock, tenant, days: int = 31) -> None:
    source = build_simulated_cost_source(tenant)
    async with source:
        ingestor = CostIngestor(engine, clock)
        for scope in tenant.scopes:
            window = Window(TODAY - timedelta(days=days), TODAY)
            await ingestor.run(source, parse_scope(scope), CostType.AMORTIZED, window)


class Refresh:
    """Runs refreshes of one tenant into one engine, each with fresh sources (as the job does)."""

    def __init__(self, engine, tenant, clock: FixedClock) -> None:
        self.engine = engine
        self.tenant = tenant
        self.clock = clock
        self.transport = tenant.transport()

    async def __call__(self, config: RecommendationsConfig | None = None, **source_kw):
        subscriptions = [s.id for s in self.tenant.subscriptions]
        sources = build_recommendation_sources(
            credential=self.tenant.credential(),
            subscription_ids=subscriptions,
            transport=self.transport,
            sleep=self.transport.sleep,
            **source_kw,
        )
        refresher = RecommendationRefresher(
            self.engine, self.clock, config or RecommendationsConfig()
        )
        async with sources:
            return await refresher.run(sources.sources, subscriptions)


@pytest.fixture
async def refresh(engine, tenant) -> Refresh:
    clock = FixedClock(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
    await ingest_amortized(engine, clock, tenant)
    return Refresh(engine, tenant, clock)
