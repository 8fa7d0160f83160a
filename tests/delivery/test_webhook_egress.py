"""No request forgery: webhooks go over https to public addresses only, checked where the
connection is made; internal receivers need the allow-list; adding a webhook needs an admin."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver

from adapters.notify.webhook import WebhookNotifier
from core.app import create_core
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import (
    Target,
    TargetKind,
    WebhookPolicy,
    forbidden_address,
    parse_target,
)
from core.kernel.cards import card
from core.kernel.context import CoreConfig, Requester
from core.kernel.errors import UserInputError
from tests.support.receivers import LOCAL_RECEIVERS, WEBHOOK_SECRET

FORBIDDEN = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (carrier NAT)
    "0.0.0.0",
    "192.0.0.8",
    "198.18.0.1",
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "fd00::1",  # unique local
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2001:db8::1",  # documentation
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "20.42.65.92", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_non_public_addresses_are_forbidden(address):
    assert forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert not forbidden_address(ipaddress.ip_address(address))


ADMIN = Requester("slack", "UADMIN", "admin", "C1")
VIEWER = Requester("slack", "UVIEW", "viewer", "C1")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "http://127.0.0.1:8080/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "https://[fd00::1]/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "https://metadata.google.internal/x",
        "https://intranet/hook",
    ],
)
def test_a_webhook_to_a_non_public_place_is_refused_when_added(url):
    with pytest.raises(UserInputError):
        parse_target(f"webhook:{url}", ADMIN)


def test_the_allow_list_admits_internal_receivers_by_name_address_or_network():
    policy = WebhookPolicy(("127.0.0.1", "10.1.0.0/16", "receiver.corp"))
    for url in (
        "http://127.0.0.1:8080/hook",
        "https://10.1.2.3/hook",
        "http://receiver.corp/hook",
    ):
        assert parse_target(f"webhook:{url}", ADMIN, policy).kind is TargetKind.WEBHOOK
    with pytest.raises(UserInputError):
        parse_target("webhook:https://10.2.0.1/hook", ADMIN, policy)
    with pytest.raises(UserInputError):  # a name resolving into the network must use https
        parse_target("webhook:http://other.corp/hook", ADMIN, policy)
    assert policy.refusal("other.corp", [ipaddress.ip_address("10.1.9.9")]) is None
    assert policy.refusal("other.corp", [ipaddress.ip_address("10.2.9.9")]) is not None


def test_adding_a_webhook_needs_the_admin_role(sqlite_engine, clock):
    config = CoreConfig(admins=frozenset({ADMIN.principal}))
    app = create_core(sqlite_engine, clock, config)
    hook = "webhook:https://hooks.example.com/services/T1/B2/XYZSECRET"
    refused = app.handle_text(f"budget create web 1000 EUR notify {hook}", VIEWER)
    assert refused.failed and "not allowed to add webhook targets" in refused.card.summary
    refused = app.handle_text(f"anomalies notify {hook}", VIEWER)
    assert refused.failed and "not allowed to add webhook targets" in refused.card.summary
    assert not app.handle_text("budget create web 1000 EUR", VIEWER).failed
    refused = app.handle_text(f"budget set web targets add {hook}", VIEWER)
    assert refused.failed and "not allowed to add webhook targets" in refused.card.summary

    added = app.handle_text(f"budget set web targets add {hook}", ADMIN)
    assert not added.failed, added.card.summary
    shown = app.handle_text("budget show web", VIEWER)
    text = str(shown.card)
    assert "hooks.example.com" in text and "XYZSECRET" not in text
    # Its owner may still change the other targets, and remove the webhook.
    assert not app.handle_text(f"budget set web targets remove {hook}", VIEWER).failed


class Pinned(AbstractResolver):
    """DNS that answers `address` for every name (a rebinding attacker's DNS)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.asked: list[str] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.asked.append(host)
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        return [
            {
                "hostname": host,
                "host": self.address,
                "port": port,
                "family": family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self):
        return None


def delivery(url: str) -> Delivery:
    return Delivery(
        idempotency_key="alert:1:test",
        target=Target(TargetKind.WEBHOOK, url),
        card=card("Budget web at 80%", "Budget web crossed 80%"),
    )


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1"])
async def test_a_public_name_resolving_to_an_internal_address_is_refused_when_sending(
    webhook_receiver, address
):
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    resolver = Pinned(address)
    notifier = WebhookNotifier(WEBHOOK_SECRET, timeout_seconds=5, resolver=resolver)
    try:
        with pytest.raises(DeliveryError) as refused:
            await notifier.send(delivery(f"https://hooks.example.com:{port}/hook"))
    finally:
        await notifier.close()
    assert refused.value.permanent and refused.value.code == "forbidden_address"
    assert resolver.asked == ["hooks.example.com"]  # resolved at delivery time
    assert webhook_receiver.requests == 0


async def test_an_address_literal_is_refused_when_sending_unless_allowed(webhook_receiver):
    notifier = WebhookNotifier(WEBHOOK_SECRET, timeout_seconds=5)
    try:
        with pytest.raises(DeliveryError) as refused:
            await notifier.send(delivery(webhook_receiver.url))
    finally:
        await notifier.close()
    assert refused.value.permanent and refused.value.code == "forbidden_address"
    assert webhook_receiver.requests == 0

    allowed = WebhookNotifier(WEBHOOK_SECRET, timeout_seconds=5, allowed_hosts=LOCAL_RECEIVERS)
    try:
        await allowed.send(delivery(webhook_receiver.url))
    finally:
        await allowed.close()
    assert webhook_receiver.count("alert:1:test") == 1


async def test_a_name_on_the_allow_list_may_resolve_internally(webhook_receiver):
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    notifier = WebhookNotifier(
        WEBHOOK_SECRET,
        timeout_seconds=5,
        allowed_hosts=("receiver.corp",),
        resolver=Pinned("127.0.0.1"),
    )
    try:
        await notifier.send(delivery(f"http://receiver.corp:{port}/hook"))
    finally:
        await notifier.close()
    assert webhook_receiver.count("alert:1:test") == 1


async def test_redirects_are_not_followed(webhook_receiver):
    moved = webhook_receiver.url.replace("/hook", "/moved")
    notifier = WebhookNotifier(WEBHOOK_SECRET, timeout_seconds=5, allowed_hosts=LOCAL_RECEIVERS)
    try:
        with pytest.raises(DeliveryError) as refused:
            await notifier.send(delivery(moved))
    finally:
        await notifier.close()
    assert refused.value.permanent and "redirects" in str(refused.value)
    assert webhook_receiver.requests == 0  # /hook never saw the redirected post


def test_outbox_keys_and_displays_name_a_webhook_without_its_path_or_query():
    target = Target(TargetKind.WEBHOOK, "https://hooks.example.com/services/T1/B2/XYZ?key=abc")
    other = Target(TargetKind.WEBHOOK, "https://hooks.example.com/services/T1/B2/OTHER")
    assert str(target).startswith("webhook:https://hooks.example.com/...#")
    assert "XYZ" not in str(target) and "abc" not in str(target)
    assert str(target) != str(other)  # still one key per target
    assert str(target).isascii()  # it travels as the webhook-id header
