"""An incident reaches Slack once; its later days edit that message (`chat.update`) through the
outbox, on both databases."""

from __future__ import annotations

import json
from datetime import date, timedelta

from adapters.slack import SlackNotifier
from core.anomalies.store import Route, save_route
from core.delivery.dispatcher import DispatchConfig, Dispatcher
from core.delivery.outbox import NewMessage, enqueue_many
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Header, Text, card
from core.kernel.cards_json import card_to_dict
from core.kernel.db.engine import write_transaction
from tests.anomalies.support import FIRST, at, put_costs, scan, service_incidents
from tests.support.slack_blocks import assert_valid_message

CHANNEL = "C0ANOMALY1"
TARGET = Target(TargetKind.SLACK, CHANNEL)


def dispatcher(engine, clock, fake_slack) -> Dispatcher:
    notifier = SlackNotifier("xoxb-test", api_url=fake_slack.api_url)
    return Dispatcher(engine, {TargetKind.SLACK: notifier}, clock)


def blocks_text(message) -> str:
    blocks = message["blocks"]
    return json.dumps(json.loads(blocks) if isinstance(blocks, str) else blocks)


async def test_an_incident_is_posted_once_and_its_next_day_edits_the_message(engine, fake_slack):
    spike = {date(2026, 11, 22): 3, date(2026, 11, 23): 3}
    clock = at(date(2026, 11, 24), 13)
    put_costs(engine, clock, FIRST, date(2026, 11, 26), spike)
    save_route(engine, Route(TARGET), "slack:U1", clock.now())

    scan(engine, clock)
    first = await dispatcher(engine, clock, fake_slack).dispatch_until_idle()
    clock.current = at(date(2026, 11, 25), 13).now()
    scan(engine, clock)
    second = await dispatcher(engine, clock, fake_slack).dispatch_until_idle()

    assert first == ["sent"] and second == ["sent"]
    [post] = fake_slack.calls_to("chat.postMessage")
    [edit] = fake_slack.calls_to("chat.update")
    [message] = fake_slack.channels[CHANNEL]  # one message in the channel, edited
    assert edit.params["ts"] == message["ts"]
    assert "edited" in message
    [incident] = service_incidents(engine)
    assert "2 day(s)" in blocks_text(message) and f"#{incident.id}" in blocks_text(message)
    assert_valid_message({"blocks": json.loads(blocks_text(message)), "text": message["text"]})
    assert post.params["channel"] == CHANNEL


def put(engine, now, *messages: NewMessage) -> None:
    with write_transaction(engine) as conn:
        enqueue_many(conn, list(messages), now)


def view(text: str) -> dict:
    return card_to_dict(card(text, text, Header(text), Text(text)))


async def test_an_update_waits_for_its_first_message(sqlite_engine, clock, fake_slack):
    # The first post is not due yet (a retry pending, say) when its update comes round; a
    # waiting update is looked at again after the backoff (10 minutes here).
    put(
        sqlite_engine,
        clock.now() + timedelta(minutes=1),
        NewMessage("k1", TARGET, view("day 1"), "anomaly"),
    )
    put(
        sqlite_engine,
        clock.now(),
        NewMessage("k1:r2", TARGET, view("day 2"), "anomaly", updates_key="k1"),
    )
    patient = DispatchConfig(backoff_base=timedelta(minutes=10))

    def run():
        notifier = SlackNotifier("xoxb-test", api_url=fake_slack.api_url)
        return Dispatcher(sqlite_engine, {TargetKind.SLACK: notifier}, clock, patient)

    assert await run().dispatch_until_idle() == ["waiting"]
    assert fake_slack.channels.get(CHANNEL, []) == []

    clock.current += timedelta(minutes=2)  # the first post is due, its update not yet
    assert await run().dispatch_until_idle() == ["sent"]
    [message] = fake_slack.channels[CHANNEL]
    assert message["text"].startswith("day 1")

    clock.current += timedelta(minutes=10)  # now the update edits it
    assert await run().dispatch_until_idle() == ["sent"]
    [message] = fake_slack.channels[CHANNEL]
    assert message["text"].startswith("day 2")
    assert len(fake_slack.calls_to("chat.update")) == 1


async def test_an_older_update_never_overwrites_a_newer_one(sqlite_engine, clock, fake_slack):
    put(sqlite_engine, clock.now(), NewMessage("k1", TARGET, view("day 1"), "anomaly"))
    await dispatcher(sqlite_engine, clock, fake_slack).dispatch_until_idle()
    put(
        sqlite_engine,
        clock.now(),
        NewMessage("k1:r2", TARGET, view("day 2"), "anomaly", updates_key="k1"),
        NewMessage("k1:r3", TARGET, view("day 3"), "anomaly", updates_key="k1"),
    )
    outcomes = await dispatcher(sqlite_engine, clock, fake_slack).dispatch_until_idle()

    assert sorted(outcomes) == ["sent", "superseded"]
    [edit] = fake_slack.calls_to("chat.update")
    assert edit.params["text"].startswith("day 3")


async def test_a_deleted_message_is_posted_anew(sqlite_engine, clock, fake_slack):
    put(sqlite_engine, clock.now(), NewMessage("k1", TARGET, view("day 1"), "anomaly"))
    await dispatcher(sqlite_engine, clock, fake_slack).dispatch_until_idle()
    fake_slack.channels[CHANNEL].clear()  # someone deleted it
    put(
        sqlite_engine,
        clock.now(),
        NewMessage("k1:r2", TARGET, view("day 2"), "anomaly", updates_key="k1"),
    )
    assert await dispatcher(sqlite_engine, clock, fake_slack).dispatch_until_idle() == ["sent"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    [message] = fake_slack.channels[CHANNEL]
    assert message["text"].startswith("day 2")
