"""Ack-first scheduling: answers wait while Slack requests are being acked, but not forever."""

from __future__ import annotations

import asyncio

from adapters.slack.app import AckFirst


async def test_answer_waits_until_no_request_is_in_flight():
    gate = AckFirst(quiet_seconds=0.0, max_delay_seconds=30)
    with gate.request():
        waiter = asyncio.create_task(gate.wait())
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiter.done()
    async with asyncio.timeout(5):
        await waiter


async def test_answer_starts_at_once_when_nothing_is_being_acked():
    gate = AckFirst(quiet_seconds=0.0, max_delay_seconds=30)
    waiter = asyncio.create_task(gate.wait())
    await asyncio.sleep(0)
    assert waiter.done()


async def test_answer_never_waits_longer_than_the_maximum_delay():
    gate = AckFirst(quiet_seconds=60, max_delay_seconds=0.01)
    with gate.request():
        async with asyncio.timeout(5):
            await gate.wait()
