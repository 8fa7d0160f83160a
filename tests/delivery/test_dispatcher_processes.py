"""Proofs with dispatchers in separate processes: a race, and a SIGKILL between send and mark.

The crash proofs use the webhook notifier with `check_deliveries` on, against a receiver that
answers `GET /hook/deliveries/{key}`, and the Slack notifier against a fake Slack Web API, whose
channel history carries the delivery key in message metadata: that is how the next dispatcher
learns the message arrived.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from adapters.notify.webhook import WebhookNotifier
from adapters.slack import SlackNotifier
from core.delivery.dispatcher import DispatchConfig, Dispatcher
from core.delivery.tables import OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from tests.support.fake_slack import FakeSlack
from tests.support.outbox import add_messages, rows
from tests.support.paths import REPO
from tests.support.receivers import LOCAL_RECEIVERS, WEBHOOK_SECRET, FakeWebhookReceiver

REPO = REPO
pytestmark = pytest.mark.slow


@pytest.fixture
def migrated_url(database_url) -> str:
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return database_url


async def start_dispatcher(url: str, *flags: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.delivery.dispatcher_process",
        url,
        *flags,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
    return process


async def outcomes_of(process: asyncio.subprocess.Process) -> list[str]:
    stdout, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0
    return json.loads(stdout.decode().strip().splitlines()[-1])


async def test_two_dispatcher_processes_racing_send_each_message_once(migrated_url):
    receiver = await FakeWebhookReceiver(delay_seconds=0.01).start()
    engine = make_engine(migrated_url)
    try:
        now = datetime.now(UTC)
        keys = add_messages(engine, Target(TargetKind.WEBHOOK, receiver.url), now, 60)
        first, second = await asyncio.gather(*(start_dispatcher(migrated_url) for _ in range(2)))
        for process in (first, second):  # release both at once
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        split = [Counter(await outcomes_of(p)) for p in (first, second)]

        assert [receiver.count(key) for key in keys] == [1] * 60
        assert split[0]["sent"] + split[1]["sent"] == 60
        assert {row["status"] for row in rows(engine).values()} == {OutboxStatus.SENT}
        print(f"sent by each process: {split[0]['sent']} / {split[1]['sent']}")
    finally:
        engine.dispose()
        await receiver.stop()


@pytest.mark.parametrize("check_deliveries", [True, False], ids=["asks", "cannot-ask"])
async def test_after_a_sigkill_between_send_and_mark_the_next_run_asks_before_resending(
    migrated_url, check_deliveries
):
    receiver = await FakeWebhookReceiver().start()
    engine = make_engine(migrated_url)
    try:
        started = datetime.now(UTC)
        [key] = add_messages(engine, Target(TargetKind.WEBHOOK, receiver.url), started, 1)

        doomed = await start_dispatcher(migrated_url, "--kill-after-send")
        doomed.stdin.write(b"go\n")
        await doomed.stdin.drain()
        await asyncio.wait_for(doomed.wait(), 60)

        assert doomed.returncode == -signal.SIGKILL
        assert receiver.count(key) == 1
        assert rows(engine)[key]["status"] == OutboxStatus.SENDING  # sent, never marked

        # The next dispatcher runs once the dead one's lease has run out.
        config = DispatchConfig()
        later = FixedClock(datetime.now(UTC) + config.lease + timedelta(seconds=1))
        notifier = WebhookNotifier(
            WEBHOOK_SECRET, check_deliveries=check_deliveries, allowed_hosts=LOCAL_RECEIVERS
        )
        dispatcher = Dispatcher(engine, {TargetKind.WEBHOOK: notifier}, later, config)
        outcomes = await dispatcher.dispatch_once()
        await notifier.close()

        assert rows(engine)[key]["status"] == OutboxStatus.SENT
        if check_deliveries:
            assert outcomes == ["already_delivered"]
            assert receiver.count(key) == 1
        else:
            # Without a way to ask, the message goes again with the same Idempotency-Key: the
            # receiver must deduplicate on it (at-least-once delivery, documented).
            assert outcomes == ["sent"]
            assert receiver.count(key) == 2
    finally:
        engine.dispose()
        await receiver.stop()


async def test_a_slack_alert_sigkilled_between_send_and_mark_is_not_posted_twice(migrated_url):
    """Slack has no idempotency key: the delivery key travels in the message metadata, and the
    next dispatcher finds it in the channel history instead of posting again."""
    fake = await FakeSlack().start()
    engine = make_engine(migrated_url)
    try:
        started = datetime.now(UTC)
        [key] = add_messages(engine, Target(TargetKind.SLACK, "C0ALERTS"), started, 1)

        doomed = await start_dispatcher(
            migrated_url, "--kill-after-send", "--slack-api", fake.api_url
        )
        doomed.stdin.write(b"go\n")
        await doomed.stdin.drain()
        await asyncio.wait_for(doomed.wait(), 60)

        assert doomed.returncode == -signal.SIGKILL
        assert len(fake.channels["C0ALERTS"]) == 1
        assert rows(engine)[key]["status"] == OutboxStatus.SENDING  # posted, never marked

        config = DispatchConfig()
        later = FixedClock(datetime.now(UTC) + config.lease + timedelta(seconds=1))
        notifier = SlackNotifier("xoxb-test", api_url=fake.api_url)
        outcomes = await Dispatcher(
            engine, {TargetKind.SLACK: notifier}, later, config
        ).dispatch_once()

        assert outcomes == ["already_delivered"]
        assert rows(engine)[key]["status"] == OutboxStatus.SENT
        assert len(fake.calls_to("chat.postMessage")) == 1
        assert len(fake.channels["C0ALERTS"]) == 1
    finally:
        engine.dispose()
        await fake.close()
