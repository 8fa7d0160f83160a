"""Issue 5's end-to-end proof: 50 concurrent evaluations of one budget from 4 processes, then the
outbox dispatcher, end with exactly one alert row and exactly one message at the fake Slack API
(and one webhook delivery), on PostgreSQL and on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from adapters.notify.webhook import WebhookNotifier
from adapters.slack import SlackNotifier
from core.budgets.tables import Alert
from core.delivery.dispatcher import DispatchConfig, Dispatcher
from core.delivery.tables import OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from tests.budgets import test_concurrency as race
from tests.support.fake_slack import FakeSlack
from tests.support.outbox import rows
from tests.support.receivers import LOCAL_RECEIVERS, WEBHOOK_SECRET, FakeWebhookReceiver

pytestmark = pytest.mark.slow


async def race_then_deliver(url: str, engine, clock, monkeypatch) -> tuple[FakeSlack, object]:
    fake = await FakeSlack().start()
    receiver = await FakeWebhookReceiver().start()
    targets = (Target(TargetKind.SLACK, "C0RACE001"), Target(TargetKind.WEBHOOK, receiver.url))
    monkeypatch.setattr(race, "TARGETS", targets)
    race.prepare(engine, clock)

    outcomes = race.run_race(url)
    race.assert_exactly_once(engine, outcomes)

    slack = SlackNotifier("xoxb-test", api_url=fake.api_url)
    webhook = WebhookNotifier(WEBHOOK_SECRET, check_deliveries=True, allowed_hosts=LOCAL_RECEIVERS)
    dispatcher = Dispatcher(
        engine,
        {TargetKind.SLACK: slack, TargetKind.WEBHOOK: webhook},
        clock,
        DispatchConfig(),
    )
    # Several dispatchers racing too: the claims keep it to one send per message.
    for _ in range(3):
        await dispatcher.dispatch_until_idle()
    await webhook.close()
    return fake, receiver


def assert_one_message_each(engine, fake: FakeSlack, receiver) -> None:
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Alert)).scalar() == 1
    assert {row["status"] for row in rows(engine).values()} == {OutboxStatus.SENT}
    assert len(fake.calls_to("chat.postMessage")) == 1
    [message] = fake.channels["C0RACE001"]
    assert "race" in message["text"]
    assert sum(receiver.count(key) for key in rows(engine)) == 1


@pytest.mark.postgres
async def test_fifty_racing_evaluations_post_one_slack_message_on_postgres(
    postgres_url, clock, monkeypatch
):
    engine = make_engine(postgres_url)
    upgrade(engine)
    fake, receiver = await race_then_deliver(postgres_url, engine, clock, monkeypatch)
    try:
        assert_one_message_each(engine, fake, receiver)
    finally:
        engine.dispose()
        await fake.close()
        await receiver.stop()


async def test_fifty_racing_evaluations_post_one_slack_message_on_sqlite(
    sqlite_engine, sqlite_url, clock, monkeypatch
):
    fake, receiver = await race_then_deliver(sqlite_url, sqlite_engine, clock, monkeypatch)
    try:
        assert_one_message_each(sqlite_engine, fake, receiver)
    finally:
        await fake.close()
        await receiver.stop()
