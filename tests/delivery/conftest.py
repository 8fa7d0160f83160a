"""Delivery channels under test: a notifier plus the real receiver it talks to.

Each channel is one `ChannelUnderTest`; the proofs in test_delivery_proofs.py run once per
channel. A Slack (or Teams) channel plugs in as one more entry in `CHANNELS` and one more branch in
`channel`: its notifier, a fake Slack API on 127.0.0.1 that counts messages per alert id, and
the answers "throttle" / "error" / "reject" mapped to that API's 429 / 500 / channel_not_found.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from adapters.notify.email import EmailNotifier
from adapters.notify.webhook import WebhookNotifier
from adapters.slack import SlackNotifier
from core.delivery.ports import Notifier
from core.delivery.targets import Target, TargetKind
from tests.support.fake_slack import FakeSlack
from tests.support.receivers import (
    WEBHOOK_SECRET,
    FakeSmtpServer,
    FakeWebhookReceiver,
    make_self_signed_cert,
    smtp_config,
)

CHANNELS = ["webhook", "email", "slack"]


@dataclass
class ChannelUnderTest:
    name: str
    notifier: Notifier
    target: Target
    #: Accepted deliveries of one idempotency key, as the receiver counted them.
    count: Callable[[str], int]
    #: Answer the next requests with failures: "throttle", "error", "reject".
    script: Callable[[list[str]], None]
    #: How a permanent refusal is recorded (`last_error` starts with it).
    refusal_code: str
    #: Extra tries the notifier itself makes within one attempt (Slack's SDK retry handlers).
    errors_absorbed_per_attempt: int = 0

    @property
    def counts_every_failure_as_an_attempt(self) -> bool:
        return self.errors_absorbed_per_attempt == 0


@pytest.fixture(params=CHANNELS)
async def channel(request, tmp_path) -> AsyncIterator[ChannelUnderTest]:
    # Receivers are started here rather than through their fixtures: pytest-asyncio cannot
    # resolve an async fixture with `getfixturevalue` from inside another async fixture.
    if request.param == "webhook":
        receiver = await FakeWebhookReceiver().start()
        notifier = WebhookNotifier(WEBHOOK_SECRET, timeout_seconds=5, check_deliveries=True)
        yield ChannelUnderTest(
            "webhook",
            notifier,
            Target(TargetKind.WEBHOOK, receiver.url),
            receiver.count,
            receiver.script,
            refusal_code="http_400",
        )
        await notifier.close()
        assert receiver.bad_signatures == 0
        await receiver.stop()
    elif request.param == "email":
        server = await FakeSmtpServer(make_self_signed_cert(tmp_path)).start()
        yield ChannelUnderTest(
            "email",
            EmailNotifier(smtp_config(server)),
            Target(TargetKind.EMAIL, "finops@example.test"),
            server.count,
            server.script,
            refusal_code="smtp_550",
        )
        assert server.tls_sessions == len(server.messages)  # every message went over TLS
        await server.stop()
    elif request.param == "slack":
        fake = await FakeSlack().start()

        async def no_wait(seconds: float) -> None:  # the notifier's own in-call retry waits
            return None

        notifier = SlackNotifier("xoxb-test", api_url=fake.api_url, sleep=no_wait)
        yield ChannelUnderTest(
            "slack",
            notifier,
            Target(TargetKind.SLACK, "C0ALERTS"),
            lambda key: slack_messages_with_key(fake, "C0ALERTS", key),
            lambda answers: script_slack(fake, answers),
            refusal_code="channel_not_found",
            errors_absorbed_per_attempt=2,  # TransientErrorRetryHandler(max_retry_count=2)
        )
        await fake.close()
    else:  # pragma: no cover
        raise AssertionError(request.param)


def slack_messages_with_key(fake: FakeSlack, channel: str, key: str) -> int:
    """Messages in the fake channel that carry this delivery's key in their metadata."""
    return sum(
        1
        for message in fake.channels[channel]
        if key in str(message.get("metadata", {}).get("event_payload", {}))
    )


def script_slack(fake: FakeSlack, answers: list[str]) -> None:
    """The fake Slack API's next chat.postMessage answers: 429, 500 or a permanent refusal."""
    for answer in answers:
        if answer == "throttle":
            fake.script(
                "chat.postMessage",
                status=429,
                body={"ok": False, "error": "ratelimited"},
                headers={"Retry-After": "3"},
            )
        elif answer == "error":
            fake.script("chat.postMessage", status=500, body="internal error")
        elif answer == "reject":
            fake.error("chat.postMessage", "channel_not_found")
        else:  # pragma: no cover
            raise AssertionError(answer)
