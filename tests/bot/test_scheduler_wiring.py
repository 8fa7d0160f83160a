"""The composition root builds notifiers from settings and schedules delivery and cleanup."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.container import build
from bot.scheduler import RunOutcome
from bot.settings import load_settings
from core.costs.tables import CostRecord
from core.delivery.dispatcher import outbox_status
from core.delivery.tables import OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.errors import ConfigurationError
from tests.support.outbox import add_messages
from tests.support.receivers import WEBHOOK_SECRET, FakeWebhookReceiver


def settings(**overrides):
    values = {"demo": True, "database_url": "sqlite://"}
    values.update(overrides)
    return load_settings(**values)


def test_only_configured_channels_get_a_notifier(engine):
    bare = build(settings(), engine=engine)
    assert bare.notifiers() == {}

    full = build(
        settings(
            webhook_signing_secret="s3cret",
            smtp_host="smtp.example.test",
            smtp_from="alerts@example.test",
        ),
        engine=engine,
    )
    assert set(full.notifiers()) == {TargetKind.WEBHOOK, TargetKind.EMAIL}
    assert full.dispatcher().notifiers == full.notifiers()


def test_delivery_settings_are_checked_together():
    with pytest.raises(ConfigurationError) as caught:
        settings(smtp_host="smtp.example.test", outbox_lease_seconds=30)
    problems = "\n".join(caught.value.problems)
    assert "CLOUDOPTIMA_SMTP_FROM: required when SMTP_HOST is set" in problems
    assert "CLOUDOPTIMA_OUTBOX_LEASE_SECONDS: must be at least twice" in problems


def test_every_replica_schedules_delivery_cleanup_and_ingestion(engine):
    container = build(settings(), engine=engine)
    jobs = container.scheduler().jobs
    assert set(jobs) == {
        "outbox",
        "cleanup",
        "ingest",
        "budgets",
        "anomalies",
        "recommendations",
        "decisions",
        "digests",
    }
    assert jobs["outbox"].claim is False
    # Every replica ticks the digests; each subscription's slot is claimed on its own.
    assert jobs["digests"].claim is False
    assert jobs["digests"].every.total_seconds() == 30
    assert jobs["ingest"].claim is True
    # The ingest job's pipeline evaluates budgets itself; recommendations follow it, daily.
    assert jobs["ingest"].then == ("recommendations",)
    assert jobs["recommendations"].standalone is False
    assert jobs["recommendations"].every.days == 1


async def test_the_scheduled_ingest_job_pulls_every_scope_of_the_simulated_tenant(engine, clock):
    container = build(settings(backfill_days=3), engine=engine, clock=clock)
    try:
        assert await container.scheduler().fire("ingest") == RunOutcome.FINISHED
        with engine.connect() as conn:
            scopes = conn.execute(select(func.count(func.distinct(CostRecord.scope_id)))).scalar()
            days = conn.execute(select(func.count(func.distinct(CostRecord.usage_date)))).scalar()
        assert (scopes, days) == (len(container.tenant.scopes), 3)
    finally:
        await container.aclose()


async def test_the_scheduled_outbox_job_delivers_through_the_configured_webhook(engine, clock):
    receiver = await FakeWebhookReceiver().start()
    config = settings(webhook_signing_secret=WEBHOOK_SECRET, webhook_allowed_hosts="127.0.0.1")
    container = build(config, engine=engine, clock=clock)
    try:
        [key] = add_messages(engine, Target(TargetKind.WEBHOOK, receiver.url), clock.now(), 1)

        assert await container.scheduler().fire("outbox") == RunOutcome.FINISHED

        assert receiver.count(key) == 1
        [message] = outbox_status(engine, "budget_alert", ["0"])["0"]
        assert message.status == OutboxStatus.SENT
    finally:
        await container.aclose()
        await receiver.stop()
