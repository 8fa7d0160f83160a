"""A refresh through the real SDK clients against the simulated tenant, on SQLite and
PostgreSQL: what it finds, two refreshes without duplicates, the lifecycle, and failures that
write nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.kernel.errors import MalformedResponseError, ThrottledError
from core.recommendations.model import RecommendationsConfig, Resolution, Source, Status
from core.recommendations.store import all_recommendations, last_refresh
from core.recommendations.tables import RecommendationRow

RULES = {
    "idle-vm", "rightsize-vm", "stopped-vm", "deallocated-vm", "unattached-disk",
    "unused-public-ip", "empty-app-service-plan", "underused-reservation", "savings-plan",
    "reservation-purchase", "advisor-c4e5e3b2",
}  # fmt: skip


def snapshot(engine):
    with engine.connect() as conn:
        return sorted(
            tuple(r)
            for r in conn.execute(
                select(
                    RecommendationRow.key,
                    RecommendationRow.status,
                    RecommendationRow.last_seen,
                    RecommendationRow.saving,
                )
            )
        )


async def test_a_refresh_finds_every_kind_of_saving_in_the_simulated_tenant(engine, refresh):
    result = await refresh()

    assert set(result.by_rule) == RULES
    stored = all_recommendations(engine)
    assert len(stored) == result.found == result.counts.opened
    assert result.catalog_source == "Azure Retail Prices"
    for s in stored:
        rec = s.recommendation
        if rec.saving is not None:  # every figure carries its arithmetic
            assert rec.saving.formula and rec.saving.amount > 0
        if Source.CLOUDOPTIMA in rec.sources and rec.saving and not rec.saving.estimate:
            assert rec.saving.currency == "EUR"  # billing currency, on effective cost
    [reservation] = [s for s in stored if s.recommendation.rule == "reservation-purchase"]
    assert "term" in dict(reservation.recommendation.evidence.advisor.details)  # 6 copies → 1
    assert dict(reservation.recommendation.evidence.advisor.details)["term"] == "P1Y"
    usd = [
        s for s in stored if s.recommendation.saving and s.recommendation.saving.currency == "USD"
    ]
    assert usd  # Advisor's USD figure for a EUR tenant stays USD
    names = {s.recommendation.resource_name for s in stored}
    assert not any("ASR" in k for s in stored for k in s.recommendation.tags)  # replica left alone
    assert all("cloudoptima:ignore" not in s.recommendation.tags for s in stored)
    assert names  # the resources are named as the inventory names them


async def test_two_refreshes_update_instead_of_duplicating(engine, refresh):
    first = await refresh()
    before = {s.recommendation.key: s for s in all_recommendations(engine)}
    refresh.clock.current += timedelta(days=1)

    second = await refresh()

    after = {s.recommendation.key: s for s in all_recommendations(engine)}
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(RecommendationRow)).scalar()
    assert rows == len(after) == len(before) == first.found
    assert second.counts.opened == 0 and second.counts.resolved == 0
    assert second.counts.updated == first.found
    for key, s in after.items():
        assert s.id == before[key].id and s.first_seen == before[key].first_seen
        assert s.last_seen == before[key].last_seen + timedelta(days=1)


async def test_what_no_longer_applies_is_resolved_by_itself_and_reopens_when_it_returns(
    engine, refresh, tenant
):
    await refresh()
    loose = next(
        d for d in tenant.estate.disks if d.managed_by is None and not d.tags
    )  # an ordinary unattached disk (Advisor reports it too: its daily cache lags)
    owner = tenant.estate.vms[0].id
    disks = tenant.estate.disks
    tenant.estate.disks = tuple(replace(d, managed_by=owner) if d is loose else d for d in disks)
    refresh.clock.current += timedelta(days=1)

    result = await refresh()

    gone = [s for s in all_recommendations(engine) if s.recommendation.resource_name == loose.name]
    assert [(s.status, s.resolution) for s in gone] == [(Status.RESOLVED, Resolution.BY_ITSELF)]
    assert result.counts.resolved == 1
    tenant.estate.disks = disks
    refresh.clock.current += timedelta(days=1)
    again = await refresh()
    [back] = [
        s for s in all_recommendations(engine) if s.recommendation.resource_name == loose.name
    ]
    assert back.status is Status.OPEN and back.id == gone[0].id and again.counts.reopened == 1


async def test_a_newly_excluded_resource_group_is_closed_as_excluded(engine, refresh):
    await refresh()
    config = RecommendationsConfig(exclude_resource_groups=("rg-sandbox-dev",))

    await refresh(config)

    closed = [
        s
        for s in all_recommendations(engine)
        if s.recommendation.resource_group == "rg-sandbox-dev"
    ]
    assert closed and all(s.resolution == Resolution.EXCLUDED for s in closed)


async def test_a_throttled_inventory_fails_the_refresh_and_writes_nothing(engine, refresh, tenant):
    await refresh()
    before = snapshot(engine)
    tenant.inventory_queries.fail(
        429,
        "RateLimiting",
        "Too many requests",
        times=10,
        headers={"x-ms-user-quota-resets-after": "00:00:03"},
    )
    refresh.clock.current += timedelta(days=1)

    with pytest.raises(ThrottledError) as caught:
        await refresh(max_retries=2)

    assert caught.value.retry_after_seconds == 3
    assert "Resource Graph" in caught.value.user_message()
    assert refresh.transport.sleeps[-2:] == [3.0, 3.0]  # the quota reset was honoured
    assert snapshot(engine) == before
    last, ok = last_refresh(engine)
    assert last.status == "failed" and "throttled" in last.error and ok.status == "succeeded"


async def test_throttled_metrics_are_retried_after_the_wait_asked_for(engine, refresh, tenant):
    tenant.metric_batches.fail(529, "TooManyRequests", "Throttled", headers={"Retry-After": "7"})

    result = await refresh()

    assert 7.0 in refresh.transport.sleeps
    assert result.found > 0


async def test_a_malformed_metrics_answer_fails_the_refresh_and_writes_nothing(
    engine, refresh, tenant
):
    await refresh()
    before = snapshot(engine)

    def swap(body):
        body["values"] = body["values"][::-1]  # answers out of order

    tenant.metric_batches.corrupt(swap)
    with pytest.raises(MalformedResponseError, match="came where"):
        await refresh()
    assert snapshot(engine) == before


async def test_a_malformed_advisor_answer_fails_the_refresh_and_writes_nothing(
    engine, refresh, tenant
):
    def drop_resource(body):
        body["value"][0]["properties"].pop("resourceMetadata")

    tenant.advisor_lists.corrupt(drop_resource)
    with pytest.raises(MalformedResponseError, match="no resource id"):
        await refresh()
    assert snapshot(engine) == []


async def test_the_price_catalog_is_fetched_once_and_then_read_from_the_database(
    engine, refresh, tenant
):
    await refresh()
    calls = tenant.price_pages.calls
    refresh.clock.current += timedelta(days=1)

    second = await refresh()

    assert tenant.price_pages.calls == calls  # cached with its fetch date, a week
    assert second.catalog_source.startswith("cached")
    refresh.clock.current += timedelta(days=8)
    third = await refresh()
    assert tenant.price_pages.calls > calls and third.catalog_source == "Azure Retail Prices"


async def test_without_the_prices_api_the_bundled_snapshot_prices_the_rightsizing(engine, refresh):
    result = await refresh(prices=False)
    assert result.catalog_source == "bundled snapshot"
    assert result.by_rule["rightsize-vm"] > 0


async def test_savings_are_never_assumed(engine, refresh):
    await refresh()
    for s in all_recommendations(engine):
        saving = s.recommendation.saving
        if saving is None:
            continue
        assert "Advisor" in saving.formula or "effective" in saving.formula or "h" in saving.formula
        assert saving.amount != Decimal(0)
