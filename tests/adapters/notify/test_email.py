"""The e-mail notifier against a local aiosmtpd server that requires STARTTLS (self-signed cert).

What every notifier promises is the notifier contract: tests/contracts/test_notifiers.py.
"""

from __future__ import annotations

import ssl

import pytest

from adapters.notify.email import EmailNotifier, make_message_id, render_text
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import Target, TargetKind
from tests.support.outbox import alert_card
from tests.support.receivers import FakeSmtpServer, smtp_config


def delivery(address: str = "finops@example.test", key: str = "alert:3:email") -> Delivery:
    return Delivery(key, Target(TargetKind.EMAIL, address), alert_card(3))


async def test_message_goes_over_starttls_with_text_html_and_a_stable_message_id(smtp_server):
    notifier = EmailNotifier(smtp_config(smtp_server))

    message_id = await notifier.send(delivery())

    assert smtp_server.tls_sessions == 1
    [message] = smtp_server.messages
    assert message["Subject"] == "Budget prod-3 passed 80%"
    assert message["To"] == "finops@example.test"
    assert (
        message["Message-ID"] == message_id == make_message_id("alert:3:email", "cloudoptima.test")
    )
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    assert "Budget  prod-3\r\nSpent   8,100.00 EUR" in text
    assert "rg-web          5,000.00 EUR" in text
    assert "Data as of 2026-11-27 06:00 UTC" in text
    assert '<td style="text-align:left;padding:2px 8px">rg-data</td>' in html


def test_plain_text_lists_facts_table_rows_and_context():
    text = render_text(alert_card(1))
    assert text.splitlines()[:4] == [
        "Budget prod-1 passed 80%",
        "========================",
        "",
        "prod-1 has spent 8,100.00 EUR of 10,000.00 EUR (81%).",
    ]
    assert "Resource group  Cost" in text
    assert "--------------  ------------" in text
    assert "rg-data         3,100.00 EUR" in text


async def test_wrong_password_is_permanent(smtp_server):
    notifier = EmailNotifier(smtp_config(smtp_server, password="wrong"))
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery())
    assert caught.value.permanent
    assert caught.value.code == "smtp_535"
    assert smtp_server.messages == []


async def test_untrusted_certificate_is_permanent_and_nothing_is_sent(smtp_server):
    notifier = EmailNotifier(smtp_config(smtp_server, ssl_context=ssl.create_default_context()))
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery())
    assert caught.value.permanent and caught.value.code == "smtp_tls"
    assert smtp_server.messages == []


async def test_server_without_starttls_is_refused_rather_than_sent_in_clear(smtp_cert):
    server = await FakeSmtpServer(smtp_cert, offer_starttls=False).start()
    try:
        notifier = EmailNotifier(smtp_config(server, username=None))
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(delivery())
    finally:
        await server.stop()
    assert caught.value.permanent and caught.value.code == "smtp_no_starttls"
    assert server.messages == []


async def test_temporary_refusal_is_retryable_and_a_5xx_is_permanent(smtp_server):
    notifier = EmailNotifier(smtp_config(smtp_server))
    smtp_server.script(["throttle", "reject"])

    with pytest.raises(DeliveryError) as temporary:
        await notifier.send(delivery())
    with pytest.raises(DeliveryError) as permanent:
        await notifier.send(delivery())

    assert (temporary.value.permanent, temporary.value.code) == (False, "smtp_451")
    assert (permanent.value.permanent, permanent.value.code) == (True, "smtp_550")
    await notifier.send(delivery())
    assert smtp_server.count("alert:3:email") == 1


async def test_invalid_address_is_permanent_without_connecting(smtp_server):
    notifier = EmailNotifier(smtp_config(smtp_server))
    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery(address="not an address"))
    assert caught.value.permanent and caught.value.code == "refused_address"


async def test_unreachable_server_is_a_retryable_refusal(smtp_cert):
    server = await FakeSmtpServer(smtp_cert).start()
    config = smtp_config(server)
    await server.stop()
    with pytest.raises(DeliveryError) as caught:
        await EmailNotifier(config).send(delivery())
    assert not caught.value.permanent and caught.value.code == "refused_connect"


async def test_header_injection_in_the_title_is_flattened(smtp_server):
    from dataclasses import replace

    notifier = EmailNotifier(smtp_config(smtp_server))
    evil = Delivery(
        "alert:9:email",
        Target(TargetKind.EMAIL, "finops@example.test"),
        replace(alert_card(9), title="Budget\r\nBcc: victim@example.test"),
    )
    await notifier.send(evil)
    [message] = smtp_server.messages
    assert message["Bcc"] is None
    assert message["Subject"] == "Budget Bcc: victim@example.test"


def test_a_chart_in_an_email_shows_every_series_and_the_budget_line():
    from datetime import date, timedelta
    from decimal import Decimal

    from adapters.notify.email import render_html
    from core.kernel.cards import Chart, ChartLine, ChartPoint, ChartSeries, card
    from core.kernel.cards_text import render_text as plain

    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(5)]
    chart = Chart(
        "Cumulative spend",
        tuple(ChartPoint(d, Decimal(i * 10)) for i, d in enumerate(days)),
        "EUR",
        name="spent",
        series=(
            ChartSeries("last month", tuple(ChartPoint(d, Decimal(5)) for d in days)),
            ChartSeries(
                "forecast",
                (ChartPoint(days[-1], Decimal(40)), ChartPoint(date(2026, 11, 30), Decimal(90))),
                summary="dashed: forecast €90.00 by Nov 30",
            ),
        ),
        lines=(ChartLine("budget", Decimal(100)),),
    )
    view = card("Burn", "Burn", chart)
    for rendered in (render_html(view), plain(view)):
        assert "spent" in rendered and "last month" in rendered  # drawn, one line each
        assert "dashed: forecast €90.00 by Nov 30" in rendered and "budget €100.00" in rendered
