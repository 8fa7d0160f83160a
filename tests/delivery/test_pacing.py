"""Delivery at the floor: the per-target pacer, and the dispatcher delivering to a fake Slack
that allows one post per second per channel (429 + Retry-After beyond): no 429, no channel
waiting for another, Retry-After honoured for its channel only, dead letters after N attempts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from adapters.slack.notifier import SlackNotifier
from core.delivery.dispatcher import DispatchConfig, Dispatcher
from core.delivery.outbox import enqueue
from core.delivery.pacer import Pacer, Window
from core.delivery.tables import OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Text, card
from core.kernel.clock import FixedClock, SystemClock
from core.kernel.db.engine import write_transaction
from tests.support.fake_slack import FakeSlack
from tests.support.outbox import rows

A, B, C = (Target(TargetKind.SLACK, f"C0PACED{n}") for n in "ABC")


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


async def test_a_slack_channel_gets_one_turn_per_second_counted_from_the_last_send_finishing():
    t = FakeTime()
    pacer = Pacer(monotonic=t.monotonic, sleep=t.sleep)
    await pacer.turn(A)
    t.now += 0.25  # the post took 250 ms
    pacer.done(A)
    await pacer.turn(B)  # another channel: at once
    pacer.done(B)
    await pacer.turn(A)
    assert t.slept == [1.0]  # one second after the first post's answer
    pacer.done(A)


async def test_teams_windows_allow_bursts_of_seven_then_wait():
    t = FakeTime()
    pacer = Pacer(monotonic=t.monotonic, sleep=t.sleep)
    conversation = Target(TargetKind.TEAMS, "19:abc@thread.tacv2")
    for _ in range(7):
        await pacer.turn(conversation)
        pacer.done(conversation)
    assert t.slept == []
    await pacer.turn(conversation)  # the 8th within a second: waits for the 1-second window
    assert t.slept == [1.0]


async def test_retry_after_holds_only_that_target():
    t = FakeTime()
    pacer = Pacer(monotonic=t.monotonic, sleep=t.sleep)
    pacer.hold(A, 30)
    await pacer.turn(B)
    pacer.done(B)
    assert t.slept == []
    assert pacer.saturated(10) == [A]
    await pacer.turn(A)
    assert t.slept == [30.0]


def queue(engine, now: datetime, *targets: Target) -> list[str]:
    keys = []
    with write_transaction(engine) as conn:
        for n, target in enumerate(targets):
            key = f"digest:{n}:{target.address}"
            view = card(f"Digest {n}", f"Digest {n}", Text(f"digest {n}"))
            enqueue(conn, key=key, target=target, card=view, source="digest", now=now)
            keys.append(key)
    return keys


class TimedSlack(FakeSlack):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.order: list[str] = []
        self.limit_first_post_to: tuple[str, int] | None = None

    async def _default(self, method: str, params: dict[str, Any]) -> web.StreamResponse:
        channel = str(params.get("channel", ""))
        if method == "chat.postMessage" and self.limit_first_post_to:
            limited, seconds = self.limit_first_post_to
            if channel == limited:
                self.limit_first_post_to = None
                self.rate_limited[channel] += 1
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(seconds)},
                )
        response = await super()._default(method, params)
        if method == "chat.postMessage" and response.status == 200:
            self.order.append(channel)
        return response


@pytest.fixture
async def slack():
    fake = await TimedSlack(channel_interval=1.0).start()
    yield fake
    await fake.close()


def dispatcher(engine, fake, clock=None, **config) -> Dispatcher:
    return Dispatcher(
        engine,
        {TargetKind.SLACK: SlackNotifier("xoxb-test", api_url=fake.api_url)},
        clock or SystemClock(),
        DispatchConfig(**config) if config else None,
        pacer=Pacer({TargetKind.SLACK: (Window(1, 1.0),)}),
    )


async def test_channels_are_delivered_side_by_side_at_one_post_per_second_each(engine, slack):
    keys = queue(engine, datetime.now(UTC), A, A, A, B, B, B, C, C, C)

    outcomes = await dispatcher(engine, slack).dispatch_until_idle()

    assert Counter(outcomes) == Counter({"sent": 9})
    assert sum(slack.rate_limited.values()) == 0  # paced: Slack never had to say slow down
    # No channel waited for another: every channel's first post came before any second one.
    assert set(slack.order[:3]) == {A.address, B.address, C.address}
    assert Counter(slack.order) == Counter({A.address: 3, B.address: 3, C.address: 3})
    delivered = Counter(
        m["metadata"]["event_payload"]["key"] for ms in slack.channels.values() for m in ms
    )
    assert delivered == Counter(dict.fromkeys(keys, 1))


async def test_a_429_holds_its_channel_while_the_others_go_on(engine, slack):
    slack.limit_first_post_to = (A.address, 2)
    queue(engine, datetime.now(UTC), A, B, B)

    outcomes = await dispatcher(engine, slack).dispatch_until_idle()

    assert Counter(outcomes) == Counter({"sent": 3})
    assert slack.rate_limited[A.address] == 1
    # A waited its Retry-After (2 s, retried by the client); B's two posts went meanwhile.
    assert slack.order == [B.address, B.address, A.address]
    assert len(slack.channels[A.address]) == 1  # delivered once


async def test_a_long_retry_after_goes_back_to_the_outbox_and_the_pacer(engine, slack):
    slack.limit_first_post_to = (A.address, 120)  # beyond what the client waits itself
    now = datetime.now(UTC)
    queue(engine, now, A, B)
    paced = dispatcher(engine, slack)

    outcomes = await paced.dispatch_until_idle()

    assert sorted(outcomes) == ["retry", "sent"]
    [a_row] = [r for r in rows(engine).values() if r["target_address"] == A.address]
    assert a_row["status"] == OutboxStatus.PENDING
    assert a_row["next_attempt_at"] >= now + timedelta(seconds=119)
    assert paced._pacer is not None and A in paced._pacer.saturated(60)


async def test_a_digest_is_a_dead_letter_after_the_last_attempt(engine, slack):
    clock = FixedClock(datetime(2026, 12, 1, 8, tzinfo=UTC))
    queue(engine, clock.now(), A)
    paced = dispatcher(engine, slack, clock, max_attempts=2)
    for _ in range(2):
        slack.limit_first_post_to = (A.address, 600)
        await paced.dispatch_until_idle()
        clock.current += timedelta(hours=1)
        paced._pacer = Pacer({TargetKind.SLACK: (Window(1, 1.0),)})  # a fresh hour
    [row] = rows(engine).values()
    assert (row["status"], row["attempts"]) == (OutboxStatus.DEAD, 2)
    assert "rate limiting" in (row["last_error"] or "")
    assert slack.channels[A.address] == []
