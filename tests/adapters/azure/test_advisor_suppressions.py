"""Advisor kept in sync through the real `azure-mgmt-advisor` client against the simulated
tenant: a snooze suppresses with a TTL ("dd.hh:mm:ss"), a dismissal without one, each sent once;
an Advisor item suppressed in the portal shows as dismissed here, with the portal as source."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.azure.advisor import AzureAdvisorSource
from adapters.azure.advisor_suppressions import build_advisor_suppressions, ttl_text
from adapters.azure.simulated import SimulatedTenant
from adapters.azure.simulated.advisor import SUPPRESSIONS_ROUTE
from bot.container import build
from bot.settings import Settings
from core.approvals.model import SOURCE_PORTAL, DecisionState
from core.approvals.store import decisions
from core.audit.store import AuditQuery, entries
from core.kernel.cards_text import render_text as plain_text
from core.kernel.clock import FixedClock
from core.kernel.context import Requester
from core.recommendations.store import open_recommendations
from tests.recommendations.conftest import ingest_amortized

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
OPS = Requester(platform="console", user_id="ops", user_name="ops")


def test_the_ttl_is_a_timespan_of_at_most_90_days():
    assert ttl_text(timedelta(days=14)) == "14.00:00:00"
    assert ttl_text(timedelta(days=1, hours=12, minutes=5, seconds=9)) == "01.12:05:09"
    assert ttl_text(timedelta(days=120)) == "90.00:00:00"
    with pytest.raises(ValueError):
        ttl_text(timedelta(0))


@pytest.fixture
def tenant() -> SimulatedTenant:
    return SimulatedTenant(seed=42, today=TODAY)


def first_item(tenant: SimulatedTenant) -> tuple[str, str, str]:
    for sub in tenant.subscriptions:
        for item in tenant.estate.advisor_items(sub.id):
            if not item["properties"].get("suppressionIds"):
                rid = item["properties"]["resourceMetadata"]["resourceId"]
                return sub.id, rid, item["name"]
    raise AssertionError("no Advisor item")


async def test_snooze_and_dismiss_go_through_the_sdk_with_the_right_ttl(tenant):
    sub, resource_id, rec_id = first_item(tenant)
    transport = tenant.transport()
    client = build_advisor_suppressions(credential=tenant.credential(), transport=transport)
    try:
        await client.suppress(resource_id.lower(), rec_id, "cloudoptima-1", timedelta(days=14))
        created = tenant.advisor_suppressions.created[(rec_id.lower(), "cloudoptima-1")]
        assert created.body == {"properties": {"ttl": "14.00:00:00"}}
        assert created.expires == NOW + timedelta(days=14)
        await client.suppress(resource_id.lower(), rec_id, "cloudoptima-1", None)  # dismissed
        created = tenant.advisor_suppressions.created[(rec_id.lower(), "cloudoptima-1")]
        # No TTL at all (the SDK sends an empty contract): suppressed until removed.
        assert "ttl" not in (created.body.get("properties") or {}) and created.expires is None
    finally:
        await client.aclose()
    assert tenant.router.calls(SUPPRESSIONS_ROUTE) == 2
    # Advisor now lists it as suppressed: the source leaves it out and reports it.
    source = AzureAdvisorSource(tenant.credential(), transport=tenant.transport())
    try:
        items = await source.cost_recommendations(sub)
    finally:
        await source.aclose()
    assert rec_id not in {i.recommendation_id for i in items}
    assert rec_id in {s.recommendation_id for s in source.suppressed}


@pytest.fixture
async def demo(sqlite_engine, tenant):
    clock = FixedClock(NOW)
    await ingest_amortized(sqlite_engine, clock, tenant)
    settings = Settings(
        demo=True,
        database_url="sqlite://",
        approvals_advisor_sync=True,
        approval_roles=["admin=console:ops@*"],
    )
    container = build(settings, clock=clock, engine=sqlite_engine)
    container._tenant = tenant
    await container.refresh_recommendations()
    return container


def advisor_recs(engine):
    return [s for s in open_recommendations(engine) if s.recommendation.evidence.advisor]


async def test_dismiss_and_snooze_here_suppress_in_advisor_once(demo, tenant):
    engine = demo.engine
    first, second = advisor_recs(engine)[:2]
    core = demo.core
    assert not core.handle_text(f"rec {first.id} dismiss handled elsewhere", OPS).failed
    assert not core.handle_text(f"rec {second.id} snooze 30d after the freeze", OPS).failed
    await demo.watch_decisions()
    created = tenant.advisor_suppressions.created
    one = created[
        (first.recommendation.evidence.advisor.recommendation_id.lower(), f"cloudoptima-{first.id}")
    ]
    two = created[
        (
            second.recommendation.evidence.advisor.recommendation_id.lower(),
            f"cloudoptima-{second.id}",
        )
    ]
    assert one.ttl is None and two.ttl == "30.00:00:00"
    calls = tenant.router.calls(SUPPRESSIONS_ROUTE)
    await demo.watch_decisions()
    assert tenant.router.calls(SUPPRESSIONS_ROUTE) == calls  # each version is sent once


async def test_an_item_suppressed_in_the_portal_shows_as_dismissed_from_the_portal(demo, tenant):
    engine = demo.engine
    target = advisor_recs(engine)[0]
    note = target.recommendation.evidence.advisor
    tenant.advisor_suppressions.suppress_in_portal(
        note.recommendation_id, target.recommendation.resource_id
    )
    await demo.refresh_recommendations()
    d = decisions(engine)[target.id]
    assert d.state is DecisionState.DISMISSED and d.source == SOURCE_PORTAL
    text = plain_text(demo.core.handle_text(f"rec {target.id}", OPS).card)
    assert "Dismissed in the Azure portal (Advisor suppression)" in text
    assert f"#{target.id} " not in plain_text(demo.core.handle_text("recs top 50", OPS).card)
    [row] = [e.entry for e in entries(engine, AuditQuery(rec_id=target.id))]
    assert row.actor.principal == "system:azure-portal" and row.detail["source"] == "portal"
