"""The webhook notifier against a real receiver on 127.0.0.1 that checks every signature.

What every notifier promises is the notifier contract: tests/contracts/test_notifiers.py.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from adapters.notify.webhook import (
    WebhookNotifier,
    parse_retry_after,
    sign,
    verify_signature,
    webhook_body,
)
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import Target, TargetKind
from core.kernel.cards_json import card_from_dict
from tests.support.outbox import alert_card
from tests.support.receivers import LOCAL_RECEIVERS, WEBHOOK_SECRET

SENT_AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def delivery(url: str, key: str = "alert:7:webhook") -> Delivery:
    return Delivery(key, Target(TargetKind.WEBHOOK, url), alert_card(7))


@pytest.fixture
async def notifier():
    notifier = WebhookNotifier(
        WEBHOOK_SECRET, timeout_seconds=5, check_deliveries=True, allowed_hosts=LOCAL_RECEIVERS
    )
    yield notifier
    await notifier.close()


async def test_post_is_signed_and_carries_the_card_and_idempotency_key(webhook_receiver, notifier):
    message_id = await notifier.send(delivery(webhook_receiver.url))

    assert message_id == "msg-1"
    assert webhook_receiver.bad_signatures == 0
    body = webhook_receiver.bodies["alert:7:webhook"]
    assert body["title"] == "Budget prod-7 passed 80%"
    assert body["severity"] == "warning"
    assert card_from_dict(body["card"]) == alert_card(7)
    assert datetime.fromisoformat(body["sent_at"]).tzinfo is not None


async def test_receiver_refuses_a_post_signed_with_another_secret(webhook_receiver):
    wrong = WebhookNotifier("another-secret", timeout_seconds=5, allowed_hosts=LOCAL_RECEIVERS)
    try:
        with pytest.raises(DeliveryError) as caught:
            await wrong.send(delivery(webhook_receiver.url))
    finally:
        await wrong.close()
    assert webhook_receiver.bad_signatures == 1
    assert webhook_receiver.count("alert:7:webhook") == 0
    assert caught.value.permanent and caught.value.code == "http_401"


@pytest.mark.parametrize(
    ("answer", "permanent", "code", "retry_after"),
    [
        ("throttle", False, "http_429", 1.0),
        ("error", False, "http_500", None),
        ("reject", True, "http_400", None),
    ],
)
async def test_status_answers_map_to_retryable_or_permanent(
    webhook_receiver, notifier, answer, permanent, code, retry_after
):
    webhook_receiver.script([answer])
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery(webhook_receiver.url))
    assert (caught.value.permanent, caught.value.code) == (permanent, code)
    assert caught.value.retry_after_seconds == retry_after


async def test_unreachable_host_is_a_retryable_refusal(notifier):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery(f"http://127.0.0.1:{port}/hook"))
    assert not caught.value.permanent
    assert caught.value.code == "refused_connect"


def test_signature_verifies_and_rejects_tampering_staleness_and_garbage():
    body = webhook_body(delivery("https://x.test"), SENT_AT)
    now = SENT_AT.timestamp()
    timestamp = str(int(now))
    signature = sign(WEBHOOK_SECRET, timestamp, body)

    assert verify_signature(WEBHOOK_SECRET, timestamp, body, signature, 300, now=now)
    assert verify_signature(WEBHOOK_SECRET, timestamp, body, f"v1=00,{signature}", 300, now=now)
    assert not verify_signature("other", timestamp, body, signature, 300, now=now)
    assert not verify_signature(WEBHOOK_SECRET, timestamp, body + b" ", signature, 300, now=now)
    assert not verify_signature(WEBHOOK_SECRET, timestamp, body, signature, 300, now=now + 301)
    for bad_timestamp in (None, "", "abc", "1.5", "١٢٣", "-5"):
        assert not verify_signature(WEBHOOK_SECRET, bad_timestamp, body, signature, now=now)
    for bad_signature in (None, "", "v1=zz", "v1=é", signature.upper()):
        assert not verify_signature(WEBHOOK_SECRET, timestamp, body, bad_signature, now=now)


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Fri, 27 Nov 2026 09:31:00 GMT", now=now) == 60.0
    assert parse_retry_after("Fri, 27 Nov 2026 09:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_body_is_stable_bytes_for_one_delivery():
    first = webhook_body(delivery("https://x.test"), SENT_AT)
    assert first == webhook_body(delivery("https://x.test"), SENT_AT)
