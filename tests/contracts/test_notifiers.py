"""The notifier contract (notifier.py) for every notifier, each against its real receiver on
127.0.0.1: Slack (the fake Web API), Teams (the fake Bot Connector, the notifier built by the
container), webhooks (with and without delivery checks) and e-mail (SMTP with STARTTLS)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import ClientSession

from adapters.notify.email import EmailNotifier, make_message_id
from adapters.notify.webhook import WebhookNotifier
from adapters.slack import SlackNotifier
from adapters.slack.notifier import METADATA_EVENT_TYPE
from bot.container import build
from bot.server import create_web_app
from bot.settings import Settings
from core.delivery.ports import Delivery
from core.delivery.targets import Target, TargetKind
from tests.contracts.notifier import RETRY_AFTER_SECONDS, ChannelUnderTest, NotifierContract
from tests.support.fake_slack import FakeSlack
from tests.support.receivers import (
    LOCAL_RECEIVERS,
    WEBHOOK_SECRET,
    FakeSmtpServer,
    FakeWebhookReceiver,
    make_self_signed_cert,
    smtp_config,
)
from tests.support.teams import (
    BOT,
    CONVERSATIONS,
    FakeBotConnector,
    FakeConnections,
    conversation_update,
    fake_drawer,
    serve,
)


async def no_wait(seconds: float) -> None:
    """The notifiers' own retry waits: recorded nowhere, waited never."""


# -- Slack --------------------------------------------------------------------------------------

SLACK_CHANNEL, SLACK_GONE = "C0ALERTS", "C0DELETED"


def _slack_messages(fake: FakeSlack, delivery: Delivery) -> list[dict[str, Any]]:
    """Messages in the delivery's channel that carry its key in their metadata."""
    return [
        m
        for m in fake.channels[delivery.target.address]
        if m.get("metadata", {}).get("event_type") == METADATA_EVENT_TYPE
        and m["metadata"].get("event_payload", {}).get("key") == delivery.idempotency_key
    ]


def _script_slack(fake: FakeSlack, answers: list[str]) -> None:
    for answer in answers:
        if answer == "throttle":
            fake.script(
                "chat.postMessage",
                status=429,
                body={"ok": False, "error": "ratelimited"},
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        elif answer == "error":
            fake.script("chat.postMessage", status=500, body="internal error")
        else:  # pragma: no cover
            raise AssertionError(answer)


class TestSlackNotifier(NotifierContract):
    answers_was_delivered = True  # the channel's history, searched for the key
    edits_messages = True  # chat.update
    sends_title = False  # the summary is the message's text; the Header block its title
    carries_idempotency_key = True  # message metadata
    hands_back_retry_after = True
    throttles_absorbed_per_send = 3  # RateLimitRetryHandler(max_retry_count=3)
    server_errors_absorbed_per_send = 2  # TransientErrorRetryHandler(max_retry_count=2)

    @pytest.fixture
    async def channel(self):
        fake = await FakeSlack().start()
        fake.refuse_channel(SLACK_GONE, "channel_not_found")
        notifier = SlackNotifier("xoxb-test", api_url=fake.api_url, sleep=no_wait)

        def message_id(delivery: Delivery) -> str | None:
            found = _slack_messages(fake, delivery)
            return found[0]["ts"] if found else None

        def arrived_text(delivery: Delivery) -> str:
            return json.dumps(_slack_messages(fake, delivery), ensure_ascii=False)

        yield ChannelUnderTest(
            notifier,
            Target(TargetKind.SLACK, SLACK_CHANNEL),
            Target(TargetKind.SLACK, SLACK_GONE),
            "channel_not_found",
            script=lambda answers: _script_slack(fake, answers),
            received=lambda delivery: len(_slack_messages(fake, delivery)),
            message_id=message_id,
            arrived_text=arrived_text,
            key_received=lambda delivery: bool(_slack_messages(fake, delivery)),
        )
        await fake.close()


# -- Teams --------------------------------------------------------------------------------------

TEAMS_CHANNEL = CONVERSATIONS["channel"]["id"]
TEAMS_REMOVED = CONVERSATIONS["groupChat"]["id"]


def _teams_accepted(
    connector: FakeBotConnector, delivery: Delivery, methods: tuple[str, ...] = ("POST",)
) -> list[Any]:
    """Posts (or with PUT, edits) the connector accepted for the delivery: the Bot Connector has
    no field for a key, so a message is told by its conversation and its summary (every test
    card's differs)."""
    return [
        call
        for call in connector.calls
        if call.method in methods
        and call.status < 300
        and call.conversation_id == delivery.target.address
        and (call.body.get("summary") or "") == delivery.card.summary
    ]


def _script_teams(connector: FakeBotConnector, answers: list[str]) -> None:
    for answer in answers:
        if answer == "throttle":
            connector.fail_next(429, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        elif answer == "error":
            connector.fail_next(500)
        else:  # pragma: no cover
            raise AssertionError(answer)


class TestTeamsNotifier(NotifierContract):
    answers_was_delivered = False  # the Bot Connector cannot list a bot's messages
    edits_messages = True  # the activity is replaced (PUT)
    sends_title = False  # the summary (activity summary, fallback text); the Header block
    carries_idempotency_key = False  # no field for it in an activity
    hands_back_retry_after = True
    throttles_absorbed_per_send = 3  # 4 attempts, 3 s apart, within the 10 s budget of a send
    server_errors_absorbed_per_send = 0  # a 500 is not among Teams' retryable statuses

    @pytest.fixture
    async def channel(self, notifier_engine, clock):
        connector = FakeBotConnector()
        connector_server = await serve(connector.app())
        connector.url = str(connector_server.make_url("/"))
        settings = Settings(demo=True, database_url="sqlite://", teams_anonymous=True)
        container = build(settings, clock=clock, engine=notifier_engine)
        container.teams_bot(connections=FakeConnections(), draw_chart=fake_drawer)
        bot_server = await serve(create_web_app(container))
        async with ClientSession() as session:
            for scope in ("channel", "groupChat"):  # the bot is added to both: references
                update = conversation_update(connector.url, scope=scope, added=[BOT])
                url = bot_server.make_url("/api/messages")
                async with session.post(url, json=update) as response:
                    assert response.status < 300
        connector.calls.clear()
        connector.removed.add(TEAMS_REMOVED)  # … and later removed from the group chat
        notifier = container.teams_notifier(sleep=no_wait, jitter=lambda: 0.5)

        def message_id(delivery: Delivery) -> str | None:
            found = _teams_accepted(connector, delivery)
            return found[0].answered_id if found else None

        def arrived_text(delivery: Delivery) -> str:
            bodies = [c.body for c in _teams_accepted(connector, delivery, ("POST", "PUT"))]
            return json.dumps(bodies, ensure_ascii=False)

        def key_received(delivery: Delivery) -> bool:
            return delivery.idempotency_key in arrived_text(delivery)

        yield ChannelUnderTest(
            notifier,
            Target(TargetKind.TEAMS, TEAMS_CHANNEL),
            Target(TargetKind.TEAMS, TEAMS_REMOVED),
            "http_403",
            script=lambda answers: _script_teams(connector, answers),
            received=lambda delivery: len(_teams_accepted(connector, delivery)),
            message_id=message_id,
            arrived_text=arrived_text,
            key_received=key_received,
        )
        connector.cards()  # every card that reached the connector is a valid Adaptive Card
        await bot_server.close()
        await connector_server.close()


# -- webhooks -----------------------------------------------------------------------------------


class TestWebhookNotifier(NotifierContract):
    edits_messages = False  # a receiver gets the new card as a new delivery
    """Configured to ask the receiver (`GET <url>/deliveries/<key>`) after an uncertain send."""

    check_deliveries = True
    answers_was_delivered = True
    sends_title = True  # `title`, `summary` and the whole card in the JSON body
    carries_idempotency_key = True  # the Idempotency-Key header
    hands_back_retry_after = True

    @pytest.fixture
    async def channel(self):
        receiver = await FakeWebhookReceiver().start()
        receiver.retry_after = str(RETRY_AFTER_SECONDS)
        notifier = WebhookNotifier(
            WEBHOOK_SECRET,
            timeout_seconds=5,
            check_deliveries=self.check_deliveries,
            allowed_hosts=LOCAL_RECEIVERS,
        )

        def arrived_text(delivery: Delivery) -> str:
            body = receiver.bodies.get(delivery.idempotency_key)
            return json.dumps(body, ensure_ascii=False) if body else ""

        yield ChannelUnderTest(
            notifier,
            Target(TargetKind.WEBHOOK, receiver.url),
            Target(TargetKind.WEBHOOK, receiver.gone_url),
            "http_410",
            script=receiver.script,
            received=lambda delivery: receiver.count(delivery.idempotency_key),
            message_id=lambda delivery: receiver.message_ids.get(delivery.idempotency_key),
            arrived_text=arrived_text,
            # The receiver files each post under its Idempotency-Key header.
            key_received=lambda delivery: delivery.idempotency_key in receiver.accepted,
        )
        await notifier.close()
        assert receiver.bad_signatures == 0  # every request was signed with the secret
        await receiver.stop()


class TestWebhookNotifierWithoutDeliveryChecks(TestWebhookNotifier):
    """The default: receivers are not expected to answer delivery checks."""

    check_deliveries = False
    answers_was_delivered = False


# -- e-mail -------------------------------------------------------------------------------------

EMAIL_DOMAIN = "cloudoptima.test"  # of smtp_config's From address


def _emails(server: FakeSmtpServer, delivery: Delivery) -> list[Any]:
    return [
        m
        for m in server.messages
        if m["X-CloudOptima-Idempotency-Key"] == delivery.idempotency_key
        and m["To"] == delivery.target.address
    ]


def _email_text(message: Any) -> str:
    parts = [message["Subject"]]
    parts += [p.get_payload(decode=True).decode() for p in message.get_payload()]
    return "\n".join(parts)


class TestEmailNotifier(NotifierContract):
    answers_was_delivered = False  # SMTP cannot be asked
    edits_messages = False  # mail cannot be recalled: the new card is a new e-mail
    sends_title = True  # the Subject, and the top of both bodies
    carries_idempotency_key = True  # X-CloudOptima-Idempotency-Key, and the Message-ID from it
    hands_back_retry_after = False  # SMTP's 451 says nothing about when
    # The server answers a throttle and a server error alike: 451 (transient).

    @pytest.fixture
    async def channel(self, tmp_path):
        server = await FakeSmtpServer(make_self_signed_cert(tmp_path)).start()
        server.unknown_mailboxes.add("nobody@example.test")

        def message_id(delivery: Delivery) -> str | None:
            found = _emails(server, delivery)
            return found[0]["Message-ID"] if found else None

        def key_received(delivery: Delivery) -> bool:
            wanted = make_message_id(delivery.idempotency_key, EMAIL_DOMAIN)
            return any(m["Message-ID"] == wanted for m in _emails(server, delivery))

        yield ChannelUnderTest(
            EmailNotifier(smtp_config(server)),
            Target(TargetKind.EMAIL, "finops@example.test"),
            Target(TargetKind.EMAIL, "nobody@example.test"),
            "smtp_550",
            script=server.script,
            received=lambda delivery: len(_emails(server, delivery)),
            message_id=message_id,
            arrived_text=lambda d: "\n".join(_email_text(m) for m in _emails(server, d)),
            key_received=key_received,
        )
        assert server.tls_sessions == len(server.messages)  # every message went over TLS
        await server.stop()
