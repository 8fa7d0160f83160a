"""Proofs over real receivers (HTTP, SMTP with STARTTLS) and real databases, once per channel.

The dispatcher's loop runs as in production; only its sleep is injected (it moves a fixed clock),
so backoff and Retry-After are honoured in full without the test waiting for them.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from core.delivery.dispatcher import DispatchConfig, Dispatcher, outbox_status
from core.delivery.tables import OutboxStatus
from tests.support.outbox import ClockDrivenSleep, add_messages, rows, run_until_done

CONFIG = DispatchConfig(
    max_attempts=25,
    batch_size=5,
    backoff_base=timedelta(seconds=2),
    backoff_cap=timedelta(seconds=60),
    poll_interval=timedelta(seconds=1),
)


def make_dispatcher(engine, clock, channel, config=CONFIG) -> tuple[Dispatcher, ClockDrivenSleep]:
    sleep = ClockDrivenSleep(clock, engine, asyncio.Event())
    dispatcher = Dispatcher(
        engine,
        {channel.target.kind: channel.notifier},
        clock,
        config,
        uniform=random.Random(5).uniform,
        sleep=sleep,
    )
    return dispatcher, sleep


async def test_bursts_of_throttling_and_errors_still_deliver_each_message_once(
    engine, clock, channel
):
    keys = add_messages(engine, channel.target, clock.now(), 12)
    channel.script(["throttle"] * 6 + ["error"] * 6 + ["throttle", "error"] * 4)
    dispatcher, sleep = make_dispatcher(engine, clock, channel)

    await run_until_done(dispatcher, sleep)

    assert [channel.count(key) for key in keys] == [1] * 12
    stored = rows(engine)
    assert {stored[key]["status"] for key in keys} == {OutboxStatus.SENT}
    if channel.counts_every_failure_as_an_attempt:
        assert sum(stored[key]["attempts"] for key in keys) == 12 + 20  # each failure retried
        assert sum(sleep.slept) > 0  # backoff happened, on the injected clock


async def test_permanent_refusal_is_a_dead_letter_listed_by_outbox_status(engine, clock, channel):
    keys = add_messages(engine, channel.target, clock.now(), 2)
    channel.script(["reject"])
    dispatcher, sleep = make_dispatcher(engine, clock, channel)

    await run_until_done(dispatcher, sleep)

    # One batch sends both at once: either may meet the refusal.
    status = outbox_status(engine, "budget_alert", ["0", "1"])
    [dead] = [m for ms in status.values() for m in ms if m.status == OutboxStatus.DEAD]
    [sent] = [m for ms in status.values() for m in ms if m.status == OutboxStatus.SENT]
    assert dead.attempts == 1
    assert dead.last_error.startswith(channel.refusal_code)
    assert (channel.count(dead.key), channel.count(sent.key)) == (0, 1)
    assert sorted([dead.key, sent.key]) == sorted(keys)


async def test_a_receiver_that_keeps_failing_ends_in_a_dead_letter(engine, clock, channel):
    [key] = add_messages(engine, channel.target, clock.now(), 1)
    channel.script(["error"] * 3 * (1 + channel.errors_absorbed_per_attempt))
    config = DispatchConfig(
        max_attempts=3, backoff_base=timedelta(seconds=1), poll_interval=timedelta(seconds=1)
    )
    dispatcher, sleep = make_dispatcher(engine, clock, channel, config)

    await run_until_done(dispatcher, sleep)

    [message] = outbox_status(engine, "budget_alert", ["0"])["0"]
    assert (message.status, message.attempts) == (OutboxStatus.DEAD, 3)
    assert channel.count(key) == 0
