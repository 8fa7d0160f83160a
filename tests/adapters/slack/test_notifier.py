"""SlackNotifier against the fake Web API: metadata, retries without sleeping, no duplicates.

What every notifier promises is the notifier contract: tests/contracts/test_notifiers.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.slack import SlackNotifier
from adapters.slack.notifier import METADATA_EVENT_TYPE
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Chart, ChartPoint, Context, Header, Text, card
from tests.support.slack_blocks import assert_valid_message

CHANNEL = "C0ALERTS"


class FakeSleep:
    """Records the pauses asked for instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def notifier(fake_slack, sleep) -> SlackNotifier:
    return SlackNotifier("xoxb-test", api_url=fake_slack.api_url, sleep=sleep)


def delivery(key: str = "outbox-42", *, chart: bool = False) -> Delivery:
    blocks = [Header("Budget prod-monthly at 80%"), Text("€8,000 of €10,000 spent.")]
    if chart:
        points = tuple(
            ChartPoint(date(2026, 11, 1) + timedelta(days=i), Decimal(100 + i)) for i in range(20)
        )
        blocks.append(Chart("Daily actual cost", points, "EUR"))
    blocks.append(Context("Alert sent once per threshold"))
    view = card("Budget alert", "Budget prod-monthly reached 80%", *blocks)
    return Delivery(key, Target(TargetKind.SLACK, CHANNEL), view)


def posts(fake_slack):
    return fake_slack.calls_to("chat.postMessage")


async def test_post_carries_blocks_fallback_text_and_the_delivery_key(notifier, fake_slack):
    ts = await notifier.send(delivery())

    [call] = posts(fake_slack)
    assert call.params["channel"] == CHANNEL
    assert call.params["text"] == "Budget prod-monthly reached 80%"
    assert_valid_message({"blocks": call.params["blocks"], "text": call.params["text"]})
    assert call.params["metadata"] == {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {"key": "outbox-42"},
    }
    assert call.headers["Authorization"] == "Bearer xoxb-test"
    assert ts == fake_slack.channels[CHANNEL][0]["ts"]


async def test_rate_limited_post_waits_retry_after_then_delivers_exactly_once(
    notifier, fake_slack, sleep
):
    fake_slack.script(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "7"},
    )

    await notifier.send(delivery())

    assert len(posts(fake_slack)) == 2
    assert len(fake_slack.channels[CHANNEL]) == 1
    assert sleep.calls == [7.0]


async def test_retry_after_beyond_the_ceiling_is_handed_back_to_the_outbox(
    notifier, fake_slack, sleep
):
    fake_slack.script(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "120"},
    )

    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery())

    assert caught.value.permanent is False
    assert caught.value.retry_after_seconds == 120
    assert sleep.calls == []
    assert fake_slack.channels[CHANNEL] == []


async def test_server_errors_are_retried_with_backoff_and_deliver_once(notifier, fake_slack, sleep):
    fake_slack.script("chat.postMessage", status=503, body="upstream unavailable", times=2)

    await notifier.send(delivery())

    assert len(posts(fake_slack)) == 3
    assert len(fake_slack.channels[CHANNEL]) == 1
    # Exponential backoff (0.5 s, 1 s) plus up to 1 s of random jitter.
    assert len(sleep.calls) == 2
    assert 0.5 <= sleep.calls[0] <= 1.5 and 1.0 <= sleep.calls[1] <= 2.0


async def test_post_stored_but_answered_500_is_not_posted_again(notifier, fake_slack, sleep):
    fake_slack.script("chat.postMessage", status=500, body="oops", store=True)

    ts = await notifier.send(delivery())

    assert len(posts(fake_slack)) == 1
    assert [m["ts"] for m in fake_slack.channels[CHANNEL]] == [ts]
    assert fake_slack.calls_to("conversations.history")
    assert sleep.calls == []


async def test_dropped_connection_after_the_post_landed_is_not_posted_again(
    notifier, fake_slack, sleep
):
    fake_slack.script("chat.postMessage", status=0, store=True)

    ts = await notifier.send(delivery())

    assert len(posts(fake_slack)) == 1
    assert [m["ts"] for m in fake_slack.channels[CHANNEL]] == [ts]


async def test_dropped_connection_before_the_post_landed_is_retried_once_more(
    notifier, fake_slack, sleep
):
    fake_slack.script("chat.postMessage", status=0)

    await notifier.send(delivery())

    assert len(posts(fake_slack)) == 2
    assert len(fake_slack.channels[CHANNEL]) == 1
    assert len(sleep.calls) == 1


async def test_unreachable_slack_is_a_retryable_delivery_error(sleep):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    notifier = SlackNotifier("xoxb-test", api_url=f"http://127.0.0.1:{port}/api/", sleep=sleep)

    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery())

    assert (caught.value.permanent, caught.value.code) == (False, "unreachable")
    assert len(sleep.calls) == 2  # refused connections are retried: nothing can have landed


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("channel_not_found", "does not exist"),
        ("not_in_channel", "/invite"),
        ("is_archived", "archived"),
        ("invalid_auth", "reinstall"),
        ("account_inactive", "reinstall"),
        ("token_revoked", "reinstall"),
    ],
)
async def test_permanent_slack_errors_become_specific_permanent_delivery_errors(
    notifier, fake_slack, sleep, code, words
):
    fake_slack.error("chat.postMessage", code)

    with pytest.raises(DeliveryError) as caught:
        await notifier.send(delivery())

    assert caught.value.permanent is True
    assert caught.value.code == code
    assert words in caught.value.message
    assert len(posts(fake_slack)) == 1
    assert sleep.calls == []


async def test_was_delivered_finds_the_key_in_channel_history(notifier, fake_slack):
    await notifier.send(delivery("outbox-1"))

    assert await notifier.was_delivered(delivery("outbox-1")) is True
    assert await notifier.was_delivered(delivery("outbox-2")) is False
    [call, *_] = fake_slack.calls_to("conversations.history")
    assert call.params["include_all_metadata"] in (True, "true", "1")


async def test_was_delivered_is_false_when_history_cannot_be_read(notifier, fake_slack):
    fake_slack.error("conversations.history", "missing_scope")

    assert await notifier.was_delivered(delivery()) is False


async def test_chart_is_uploaded_as_png_and_shown_in_the_message_with_files_write(
    notifier, fake_slack
):
    await notifier.send(delivery(chart=True))

    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert "channel_id" not in complete.params  # shared by the message, not posted on its own
    [(file_id, png)] = fake_slack.uploads.items()
    assert png.startswith(b"\x89PNG")
    blocks = posts(fake_slack)[0].params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    [image] = [b for b in blocks if b["type"] == "image"]
    assert image["slack_file"] == {"id": file_id}
    assert image["alt_text"] and "▁" not in str(blocks)


async def test_a_chart_slack_cannot_show_yet_is_posted_as_a_sparkline(notifier, fake_slack):
    fake_slack.error("chat.postMessage", "invalid_blocks")

    await notifier.send(delivery(chart=True))

    first, second = posts(fake_slack)
    assert "slack_file" in str(first.params["blocks"])
    assert "▁" in str(second.params["blocks"]) and "slack_file" not in str(second.params["blocks"])
    assert len(fake_slack.channels[CHANNEL]) == 1


async def test_chart_is_a_sparkline_without_files_write(fake_slack, sleep):
    fake_slack.scopes = "chat:write,channels:history"
    notifier = SlackNotifier("xoxb-test", api_url=fake_slack.api_url, sleep=sleep)

    await notifier.send(delivery(chart=True))

    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    assert "▁" in str(posts(fake_slack)[0].params["blocks"])


def carrying(fake_slack, key: str) -> list[dict]:
    return [
        m
        for m in fake_slack.channels[CHANNEL]
        if (m.get("metadata") or {}).get("event_payload", {}).get("key") == key
    ]


async def test_an_uncertain_post_in_a_busy_channel_is_found_behind_150_messages(
    notifier, fake_slack, sleep
):
    """The post landed, the connection dropped, and 150 messages arrived before the check:
    the check pages back to the first attempt and nothing is posted twice."""
    fake_slack.script("chat.postMessage", status=0, store=True)
    fake_slack.after_stored_post = lambda: fake_slack.post_filler(CHANNEL, 150)

    ts = await notifier.send(delivery("outbox-busy"))

    assert len(posts(fake_slack)) == 1
    [landed] = carrying(fake_slack, "outbox-busy")
    assert landed["ts"] == ts and len(fake_slack.channels[CHANNEL]) == 151
    checks = fake_slack.calls_to("conversations.history")
    assert checks and all(float(c.params["oldest"]) < float(ts) for c in checks)


async def test_the_outbox_check_pages_back_to_the_first_attempt(notifier, fake_slack):
    before = datetime.now(UTC)
    await notifier.send(delivery("outbox-7"))
    fake_slack.post_filler(CHANNEL, 450)  # three pages of 200 to read through
    queued = Delivery("outbox-7", Target(TargetKind.SLACK, CHANNEL), delivery().card, before)

    assert await notifier.was_delivered(queued) is True
    pages = fake_slack.calls_to("conversations.history")
    assert [p.params.get("cursor") for p in pages] == [None, "200", "400"]
    assert {p.params["oldest"] for p in pages} == {f"{before.timestamp() - 120:.6f}"}
    # Not there at all: every page since the first attempt is read, and no more.
    missing = Delivery("outbox-8", Target(TargetKind.SLACK, CHANNEL), delivery().card, before)
    assert await notifier.was_delivered(missing) is False


async def test_the_history_search_is_bounded(fake_slack, sleep, caplog):
    notifier = SlackNotifier(
        "xoxb-test", api_url=fake_slack.api_url, sleep=sleep, history_limit=50, history_max_pages=2
    )
    await notifier.send(delivery("outbox-old"))
    fake_slack.post_filler(CHANNEL, 150)

    assert await notifier.was_delivered(delivery("outbox-old")) is False
    assert len(fake_slack.calls_to("conversations.history")) == 2
    assert "searched 2 pages" in caplog.text
