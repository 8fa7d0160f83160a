"""Machine-readable webhook deliveries: structured fields beside the card, documented by the
JSON Schema in the repository, signed the Standard Webhooks way (checked by an off-the-shelf
verifier), with the 0.1 headers as an option."""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from adapters.notify import webhook
from adapters.notify.webhook import WebhookNotifier, standard_signature, verify_standard
from core.app import create_core
from core.delivery.dispatcher import DispatchConfig, Dispatcher
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import Target, TargetKind
from core.kernel.context import CoreConfig, Requester
from tests.support.cost_rows import put_days
from tests.support.outbox import alert_card
from tests.support.receivers import LOCAL_RECEIVERS, WEBHOOK_SECRET, FakeWebhookReceiver

SCHEMA = json.loads(
    (Path(webhook.__file__).parent / "webhook_payload.schema.json").read_text(encoding="utf-8")
)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
CONSOLE = Requester("console", "ops", "ops")


def test_the_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(SCHEMA)


async def deliver_alerts(engine, clock, receiver, command: str) -> dict:
    put_days(engine, clock, date(2026, 10, 1), date(2026, 11, 26), "30")
    config = CoreConfig(admins=frozenset({"console:ops"}), webhook_allowed_hosts=LOCAL_RECEIVERS)
    app = create_core(engine, clock, config)
    reply = app.handle_text(f"{command} notify webhook:{receiver.url}", CONSOLE)
    assert not reply.failed, reply.card.summary
    notifier = WebhookNotifier(WEBHOOK_SECRET, timeout_seconds=5, allowed_hosts=LOCAL_RECEIVERS)
    try:
        dispatcher = Dispatcher(engine, {TargetKind.WEBHOOK: notifier}, clock, DispatchConfig())
        outcomes = await dispatcher.dispatch_until_idle()
    finally:
        await notifier.close()
    assert outcomes == ["sent"], outcomes
    assert receiver.bad_signatures == 0  # the off-the-shelf verifier accepted it
    [body] = receiver.bodies.values()
    return body


async def test_a_forecast_alert_carries_its_figures_and_matches_the_schema(
    engine, clock, webhook_receiver
):
    # rg-0 spends €15 a day: €390 by Nov 26, €450 forecast for November, against €440.
    body = await deliver_alerts(
        engine, clock, webhook_receiver, "budget create web 440 rg:rg-0 thresholds 95 forecast"
    )
    VALIDATOR.validate(body)
    data = body["data"]
    assert body["type"] == data["type"] == "budget.alert"
    assert data["budget"]["name"] == "web" and isinstance(data["budget"]["id"], int)
    assert data["period"] == {"start": "2026-11-01", "end": "2026-11-30", "label": "November 2026"}
    assert data["threshold"] == {"percent": 100, "kind": "forecast"}
    assert Decimal(data["amount"]) == 440
    assert Decimal(data["spent"]) == 390
    assert Decimal(data["forecast"]) == 450
    assert data["currency"] == "EUR" and data["cost_type"] == "ActualCost"
    assert data["scope"] == "rg:rg-0" and data["data_through"] == "2026-11-26"
    assert data["top_contributors"]["resource_groups"] == [{"name": "rg-0", "cost": "390.00000000"}]
    assert data["top_contributors"]["services"][0]["name"] == "Virtual Machines"


async def test_an_actual_alert_matches_the_schema_too(engine, clock, webhook_receiver):
    body = await deliver_alerts(engine, clock, webhook_receiver, "budget create all 1000")
    VALIDATOR.validate(body)
    assert body["data"]["threshold"] == {"percent": 50, "kind": "actual"}  # 78%: 50 is sent
    assert body["data"]["scope"] == "all ingested costs"


def test_the_schema_refuses_amounts_that_are_not_decimal_strings():
    document = {
        "type": "budget.alert",
        "timestamp": "2026-11-27T09:30:00+00:00",
        "sent_at": "2026-11-27T09:30:00+00:00",
        "idempotency_key": "alert:1:webhook",
        "title": "t",
        "summary": "s",
        "severity": "warning",
        "card": {"v": 1, "title": "t", "summary": "s", "severity": "warning", "blocks": []},
        "data": {
            "type": "budget.alert",
            "budget": {"id": 1, "name": "web"},
            "period": {"start": "2026-11-01", "end": "2026-11-30", "label": "November 2026"},
            "threshold": {"percent": 80, "kind": "actual"},
            "amount": "1000",
            "spent": 812.5,
            "forecast": None,
            "forecast_method": "not enough data yet",
            "currency": "EUR",
            "cost_type": "ActualCost",
            "scope": "all ingested costs",
            "data_through": "2026-11-26",
            "top_contributors": {"resource_groups": [], "services": []},
        },
    }
    assert [e.json_path for e in VALIDATOR.iter_errors(document)] == ["$.data.spent"]
    document["data"]["spent"] = "812.50"
    VALIDATOR.validate(document)


def test_the_standard_webhooks_signature_is_what_the_specification_computes():
    key = b"\x01\x02 a key"
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"a":1}'
    import hashlib
    import hmac

    mac = hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    assert standard_signature(secret, "msg_1", "1700000000", body) == (
        "v1," + base64.b64encode(mac).decode()
    )
    headers = {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": "1700000000",
        "Webhook-Signature": "v1,bm9wZQ== "
        + standard_signature(secret, "msg_1", "1700000000", body),
    }
    assert verify_standard(secret, headers, body, now=1700000100)
    assert not verify_standard(secret, headers, body + b" ", now=1700000100)
    assert not verify_standard(secret, headers, body, now=1700000400)  # stale: a replay
    assert not verify_standard("whsec_other", headers, body, now=1700000100)


@pytest.mark.parametrize(
    "secret", [WEBHOOK_SECRET, "whsec_" + base64.b64encode(b"k" * 24).decode()]
)
async def test_any_secret_form_is_verified_by_the_off_the_shelf_verifier(secret):
    receiver = await FakeWebhookReceiver(secret).start()
    notifier = WebhookNotifier(secret, timeout_seconds=5, allowed_hosts=LOCAL_RECEIVERS)
    try:
        await notifier.send(
            Delivery("alert:9:webhook", Target(TargetKind.WEBHOOK, receiver.url), alert_card(9))
        )
    finally:
        await notifier.close()
        await receiver.stop()
    assert receiver.bad_signatures == 0 and receiver.count("alert:9:webhook") == 1
    headers = receiver.headers["alert:9:webhook"]
    assert headers["webhook-id"] == "alert:9:webhook"
    assert "X-CloudOptima-Signature" not in headers  # 0.1's headers only when asked for


async def test_the_legacy_headers_come_along_when_asked_for_one_release():
    receiver = await FakeWebhookReceiver(legacy=True).start()
    delivery = Delivery("alert:8:webhook", Target(TargetKind.WEBHOOK, receiver.url), alert_card(8))
    plain = WebhookNotifier(WEBHOOK_SECRET, timeout_seconds=5, allowed_hosts=LOCAL_RECEIVERS)
    both = WebhookNotifier(
        WEBHOOK_SECRET, timeout_seconds=5, legacy_signature=True, allowed_hosts=LOCAL_RECEIVERS
    )
    try:
        with pytest.raises(DeliveryError):  # a 0.1 receiver refuses it without 0.1's headers
            await plain.send(delivery)
        await both.send(delivery)
    finally:
        await plain.close()
        await both.close()
        await receiver.stop()
    assert receiver.bad_signatures == 1 and receiver.count("alert:8:webhook") == 1
    headers = receiver.headers["alert:8:webhook"]
    assert {"webhook-signature", "X-CloudOptima-Signature"} <= set(headers)
