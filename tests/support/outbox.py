"""Putting messages in the outbox and driving a dispatcher on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import Engine, select

from core.delivery.dispatcher import Dispatcher
from core.delivery.outbox import enqueue
from core.delivery.tables import OutboxMessage, OutboxStatus
from core.delivery.targets import Target
from core.kernel.cards import Column, Context, Fact, Facts, Severity, Table, card
from core.kernel.clock import FixedClock
from core.kernel.db.engine import write_transaction

OUTBOX = OutboxMessage.__table__


def alert_card(n: int = 1):
    return card(
        f"Budget prod-{n} passed 80%",
        f"prod-{n} has spent 8,100.00 EUR of 10,000.00 EUR (81%).",
        Facts((Fact("Budget", f"prod-{n}"), Fact("Spent", "8,100.00 EUR"))),
        Table(
            (Column("Resource group"), Column("Cost")),
            (("rg-web", "5,000.00 EUR"), ("rg-data", "3,100.00 EUR")),
        ),
        Context("Data as of 2026-11-27 06:00 UTC"),
        severity=Severity.WARNING,
    )


def add_messages(
    engine: Engine, target: Target, now, count: int, *, prefix: str = "alert", first: int = 0
) -> list[str]:
    """`count` messages for `target` with `alert_card(n)`, source ids `n`, from n = `first`."""
    numbers = range(first, first + count)
    keys = [f"{prefix}:{n}:{target.kind}" for n in numbers]
    with write_transaction(engine) as conn:
        for n, key in zip(numbers, keys, strict=True):
            assert enqueue(
                conn,
                key=key,
                target=target,
                card=alert_card(n),
                source="budget_alert",
                source_id=str(n),
                now=now,
            )
    return keys


def rows(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {
            row.idempotency_key: row._asdict()
            for row in conn.execute(select(OUTBOX).order_by(OUTBOX.c.id))
        }


def unfinished(engine: Engine) -> int:
    return sum(
        1
        for row in rows(engine).values()
        if row["status"] in (OutboxStatus.PENDING, OutboxStatus.SENDING)
    )


class ClockDrivenSleep:
    """The dispatcher's sleep: moves the fixed clock instead of waiting, and stops the loop
    once nothing is left to deliver (or after `max_sleeps`, so a bug cannot spin forever)."""

    def __init__(self, clock: FixedClock, engine: Engine, stop: asyncio.Event, max_sleeps=500):
        self.clock = clock
        self.engine = engine
        self.stop = stop
        self.max_sleeps = max_sleeps
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.current += timedelta(seconds=seconds)
        if unfinished(self.engine) == 0 or len(self.slept) >= self.max_sleeps:
            self.stop.set()
        await asyncio.sleep(0)


async def run_until_done(dispatcher: Dispatcher, sleep: ClockDrivenSleep) -> None:
    await asyncio.wait_for(dispatcher.run(sleep.stop), timeout=120)
