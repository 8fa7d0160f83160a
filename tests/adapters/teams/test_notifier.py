"""Proactive delivery to stored conversations through the SDK's continue_conversation, with
Teams' retry rules, against the local Bot Connector.

What every notifier promises is the notifier contract: tests/contracts/test_notifiers.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.delivery.conversations import find_reference, reference_key, save_reference
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Context, Header, Severity, Text, card
from tests.support.teams import (
    BOT,
    CONVERSATIONS,
    OUTBOUND_TOKEN,
    conversation_update,
    installation_update,
    sqlite_only,
)

ALERT = card(
    "Budget alert",
    "Production is at 90% of its November budget",
    Header("Production at 90% of budget"),
    Text("€9,000.00 of €10,000.00 spent with 3 days to go."),
    Context("Budget prod-monthly · actual cost"),
    severity=Severity.WARNING,
)


class FakeSleep:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def delivery(conversation_id: str) -> Delivery:
    target = Target(TargetKind.TEAMS, conversation_id)
    return Delivery(idempotency_key="outbox-17", target=target, card=ALERT)


@pytest.fixture
async def installed(start_teams, connector):
    """A server where the bot was added to the channel; its notifier with a fake sleep."""

    async def start(**settings):
        server = await start_teams(**settings)
        await server.post(conversation_update(connector.url, scope="channel", added=[BOT]))
        connector.calls.clear()
        sleep = FakeSleep()
        notifier = server.container.teams_notifier(sleep=sleep, jitter=lambda: 0.5)
        return server, notifier, sleep

    return start


CHANNEL = CONVERSATIONS["channel"]["id"]


async def test_a_proactive_card_reaches_the_stored_channel(installed, connector):
    _server, notifier, sleep = await installed()
    assert notifier.kind is TargetKind.TEAMS

    message_id = await notifier.send(delivery(CHANNEL))

    [call] = connector.calls
    # A new post in the channel, not a reply to anything.
    assert (call.method, call.path) == ("POST", f"/v3/conversations/{CHANNEL}/activities")
    assert message_id == "act-1"
    assert call.body["from"]["id"] == BOT["id"]
    assert call.body["summary"] == "Production is at 90% of its November budget"
    [attachment] = call.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["body"][0]["text"] == "Production at 90% of budget"
    assert call.authorization is None  # anonymous demo mode: no outbound token
    assert sleep.waits == []


@sqlite_only
async def test_with_an_app_id_the_send_carries_the_bots_token(start_teams, connector, identity):
    server = await start_teams(auth="app_id", identity=identity)
    await server.post(
        installation_update(connector.url, scope="personal", action="add"),
        token=identity.token(connector.url),
    )
    notifier = server.container.teams_notifier(sleep=FakeSleep())

    await notifier.send(delivery(CONVERSATIONS["personal"]["id"]))

    [call] = connector.calls
    assert call.authorization == f"Bearer {OUTBOUND_TOKEN}"
    assert call.body["recipient"]["id"] == "29:ann-teams-id"


async def test_a_429_is_retried_after_retry_after_and_delivered_once(installed, connector):
    _server, notifier, sleep = await installed()
    connector.fail_next(429, {"Retry-After": "3"})

    await notifier.send(delivery(CHANNEL))

    assert sleep.waits == [3.0]
    assert [c.method for c in connector.calls] == ["POST", "POST"]
    assert len(connector.cards()) == 2  # one refused, one accepted: delivered exactly once
    assert connector.failures == []


@sqlite_only
@pytest.mark.parametrize("status", [412, 502, 503, 504])
async def test_transient_statuses_back_off_exponentially_with_jitter(installed, connector, status):
    _server, notifier, sleep = await installed()
    connector.fail_next(status, times=3)

    await notifier.send(delivery(CHANNEL))

    # Steps of 1, 2 and 4 s; jitter 0.5 → half the step plus a quarter.
    assert sleep.waits == [0.75, 1.5, 3.0]
    assert len(connector.calls) == 4


@sqlite_only
async def test_throttling_that_outlasts_the_attempts_is_a_transient_failure(installed, connector):
    _server, notifier, sleep = await installed()
    connector.fail_next(429, {"Retry-After": "2"}, times=4)

    with pytest.raises(DeliveryError) as error:
        await notifier.send(delivery(CHANNEL))

    assert (error.value.permanent, error.value.code) == (False, "http_429")
    assert error.value.retry_after_seconds == 2.0
    assert sleep.waits == [2.0, 2.0, 2.0]
    assert len(connector.calls) == 4


@sqlite_only
async def test_waits_beyond_the_budget_of_one_send_are_handed_back(installed, connector):
    _server, notifier, sleep = await installed()
    connector.fail_next(429, {"Retry-After": "6"}, times=2)

    with pytest.raises(DeliveryError) as error:
        await notifier.send(delivery(CHANNEL))

    # 6 s waited, 6 more would pass the 10 s budget (the outbox's send timeout is 20 s).
    assert sleep.waits == [6.0]
    assert error.value.retry_after_seconds == 6.0
    assert len(connector.calls) == 2


@sqlite_only
async def test_a_long_retry_after_is_handed_back_instead_of_slept(installed, connector):
    _server, notifier, sleep = await installed()
    connector.fail_next(429, {"Retry-After": "Fri, 27 Nov 2026 09:35:00 GMT"})

    with pytest.raises(DeliveryError) as error:
        await notifier.send(delivery(CHANNEL))

    assert error.value.retry_after_seconds == 300.0  # the fixed clock says 09:30
    assert sleep.waits == []


@pytest.mark.parametrize("status", [403, 404])
async def test_a_removed_bot_fails_permanently_and_disables_the_target(
    installed, connector, engine, status
):
    _server, notifier, sleep = await installed()
    connector.fail_next(status)

    with pytest.raises(DeliveryError) as error:
        await notifier.send(delivery(CHANNEL))

    assert (error.value.permanent, error.value.code) == (True, f"http_{status}")
    stored = find_reference(engine, "teams", reference_key(CHANNEL))
    assert not stored.enabled
    assert stored.disabled_reason == (
        f"Teams refused the message (HTTP {status}): the bot was removed or blocked."
    )
    assert sleep.waits == []

    connector.calls.clear()
    with pytest.raises(DeliveryError) as again:
        await notifier.send(delivery(CHANNEL))
    assert again.value.code == "target_disabled"
    assert connector.calls == []  # a disabled target is not even tried


@sqlite_only
async def test_an_unreachable_service_is_retried_then_reported_as_never_connected(
    installed, engine, clock
):
    _server, notifier, sleep = await installed()
    stored = find_reference(engine, "teams", reference_key(CHANNEL))
    closed_port = "http://127.0.0.1:1/"
    save_reference(
        engine,
        replace(
            stored,
            service_url=closed_port,
            reference=stored.reference | {"serviceUrl": closed_port},
        ),
        clock.now(),
    )

    with pytest.raises(DeliveryError) as error:
        await notifier.send(delivery(CHANNEL))

    assert (error.value.permanent, error.value.code) == (False, "refused_connection")
    assert sleep.waits == [0.75, 1.5, 3.0]


@sqlite_only
async def test_a_bad_request_fails_permanently_but_keeps_the_target(installed, connector, engine):
    _server, notifier, _sleep = await installed()
    connector.fail_next(400)

    with pytest.raises(DeliveryError) as error:
        await notifier.send(delivery(CHANNEL))

    assert (error.value.permanent, error.value.code) == (True, "http_400")
    assert find_reference(engine, "teams", reference_key(CHANNEL)).enabled


@sqlite_only
async def test_an_unknown_target_fails_permanently_without_a_call(installed, connector):
    _server, notifier, _sleep = await installed()

    with pytest.raises(DeliveryError) as error:
        await notifier.send(delivery("19:never-installed@thread.tacv2"))

    assert (error.value.permanent, error.value.code) == (True, "unknown_target")
    assert connector.calls == []
