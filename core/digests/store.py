"""Digest subscriptions and runs: saving what people asked for, and the tick's claims.

A tick takes due subscriptions with a lease (`claim_due`: `UPDATE … RETURNING` with
`FOR UPDATE SKIP LOCKED` on PostgreSQL, under `BEGIN IMMEDIATE` on SQLite), builds each digest,
then `finish_slot` writes in ONE transaction: the run row (unique per subscription and slot,
`ON CONFLICT DO NOTHING`), the outbox message (only when the run row is new) and the next slot.
A replica that dies mid-build commits nothing; its lease runs out and another replica builds the
slot. Two replicas holding the same slot (a lease taken over from a slow one) insert one run row
between them, so the message exists once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, or_, select, update

from core.delivery.outbox import NewMessage, enqueue_many
from core.delivery.targets import Target, TargetKind
from core.digests.model import DIGEST_SOURCE, Frequency, Schedule, Subscription
from core.digests.schedule import Slot, first_slot_after
from core.digests.tables import DigestRun, DigestSubscription
from core.kernel.cards import Card
from core.kernel.cards_json import card_to_dict
from core.kernel.db.engine import is_sqlite, write_transaction
from core.kernel.db.upsert import insert_for, insert_many

SUBS = DigestSubscription.__table__  # type: ignore[attr-defined]
RUNS = DigestRun.__table__  # type: ignore[attr-defined]


def scope_key(filters: Sequence[str]) -> str:
    return " ".join(sorted(f.lower() for f in filters))[:512]


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=int(row.id),
        target=Target(TargetKind(row.target_kind), row.target_address),
        schedule=Schedule(
            frequency=Frequency(row.frequency),
            at=time(row.at_minute // 60, row.at_minute % 60),
            timezone=row.timezone,
            weekday=row.weekday,
            weekdays_only=bool(row.weekdays_only),
        ),
        filters=tuple(row.filters or ()),
        paused_until=row.paused_until,
        next_slot=row.next_slot,
        next_run_at=row.next_run_at,
        missed_note=row.missed_note,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _schedule_columns(schedule: Schedule) -> dict[str, Any]:
    return {
        "frequency": str(schedule.frequency),
        "at_minute": schedule.at.hour * 60 + schedule.at.minute,
        "timezone": schedule.timezone,
        "weekday": schedule.weekday,
        "weekdays_only": schedule.weekdays_only,
    }


def subscribe(
    engine: Engine,
    target: Target,
    schedule: Schedule,
    filters: Sequence[str],
    principal: str,
    now: datetime,
) -> tuple[Subscription, bool]:
    """Create the channel's digest over `filters`, or change its schedule; (it, created?)."""
    first = first_slot_after(schedule, now)
    key = scope_key(filters)
    values = {
        **_schedule_columns(schedule),
        "next_slot": first.day,
        "next_run_at": first.at,
        "updated_at": now,
    }
    where = (
        (SUBS.c.target_kind == str(target.kind))
        & (SUBS.c.target_address == target.address)
        & (SUBS.c.scope_key == key)
    )
    with write_transaction(engine) as conn:
        created = conn.execute(
            insert_for(engine, SUBS)
            .values(
                target_kind=str(target.kind),
                target_address=target.address,
                scope_key=key,
                filters=list(filters),
                paused_until=None,
                created_by=principal[:300],
                created_at=now,
                **values,
            )
            .on_conflict_do_nothing(index_elements=["target_kind", "target_address", "scope_key"])
            .returning(SUBS.c.id)
        ).first()
        if created is None:
            conn.execute(update(SUBS).where(where).values(**values))
        row = conn.execute(select(SUBS).where(where)).one()
    return _subscription(row), created is not None


def subscriptions_of(engine: Engine, target: Target) -> list[Subscription]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(SUBS)
            .where(SUBS.c.target_kind == str(target.kind), SUBS.c.target_address == target.address)
            .order_by(SUBS.c.id)
        ).all()
    return [_subscription(r) for r in rows]


def all_subscriptions(engine: Engine) -> list[Subscription]:
    with engine.connect() as conn:
        return [_subscription(r) for r in conn.execute(select(SUBS).order_by(SUBS.c.id))]


def remove(engine: Engine, ids: Sequence[int]) -> int:
    with write_transaction(engine) as conn:
        return len(
            conn.execute(delete(SUBS).where(SUBS.c.id.in_(list(ids))).returning(SUBS.c.id)).all()
        )


def set_paused(engine: Engine, ids: Sequence[int], until: date | None, now: datetime) -> int:
    with write_transaction(engine) as conn:
        changed = conn.execute(
            update(SUBS)
            .where(SUBS.c.id.in_(list(ids)))
            .values(paused_until=until, updated_at=now)
            .returning(SUBS.c.id)
        ).all()
    return len(changed)


def reschedule(
    engine: Engine, subscription: Subscription, schedule: Schedule, now: datetime
) -> None:
    """A new schedule (`weekdays-only`): the next slot from now on."""
    first = first_slot_after(schedule, now)
    with write_transaction(engine) as conn:
        conn.execute(
            update(SUBS)
            .where(SUBS.c.id == subscription.id)
            .values(
                **_schedule_columns(schedule),
                next_slot=first.day,
                next_run_at=first.at,
                updated_at=now,
            )
        )


# -- the tick ------------------------------------------------------------------------------------


def claim_due(
    engine: Engine, now: datetime, token: str, lease: timedelta, limit: int
) -> list[Subscription]:
    """Lease up to `limit` subscriptions whose slot is due and that no replica holds."""
    due = (
        select(SUBS.c.id)
        .where(
            SUBS.c.next_run_at <= now,
            or_(SUBS.c.lease_until.is_(None), SUBS.c.lease_until <= now),
        )
        .order_by(SUBS.c.next_run_at, SUBS.c.id)
        .limit(limit)
    )
    if not is_sqlite(engine):
        due = due.with_for_update(skip_locked=True)
    with write_transaction(engine) as conn:
        rows = conn.execute(
            update(SUBS)
            .where(SUBS.c.id.in_(due.scalar_subquery()))
            .values(lease_until=now + lease, lease_token=token)
            .returning(*SUBS.c)
        ).all()
    return sorted((_subscription(r) for r in rows), key=lambda s: (s.next_run_at, s.id))


class RunStatus:
    DELIVERED = "delivered"
    PAUSED = "paused"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    subscription: Subscription
    status: str
    #: The run row was ours (False: another replica had recorded this slot).
    won: bool
    #: The outbox key of the message, when one was queued.
    outbox_key: str | None = None


def outbox_key(subscription_id: int, slot: date) -> str:
    return f"digest:{subscription_id}:{slot:%Y-%m-%d}"


@dataclass(frozen=True, slots=True)
class SlotResult:
    """What a tick decided for one leased subscription's slot."""

    subscription: Subscription
    status: str
    card: Card | None
    following: Slot
    missed_note: str | None
    build_ms: int = 0


def finish_slots(
    engine: Engine, results: Sequence[SlotResult], *, owner: str, now: datetime
) -> list[SlotOutcome]:
    """Record each slot, queue its message and advance to the next slot, in ONE transaction
    for the whole batch (a replica killed before it commits leaves every slot to the next).

    Three statements for the batch: the run rows (`ON CONFLICT DO NOTHING RETURNING`: which
    slots are ours), the outbox messages of those, the subscriptions' next slots."""
    if not results:
        return []
    run_rows = [
        {
            "subscription_id": r.subscription.id,
            "slot": r.subscription.next_slot,
            "status": r.status,
            "scheduled_at": r.subscription.next_run_at,
            "ran_at": now,
            "owner": owner[:128],
            "outbox_key": outbox_key(r.subscription.id, r.subscription.next_slot)
            if r.card is not None
            else None,
            "build_ms": r.build_ms,
        }
        for r in results
    ]
    insert_runs = (
        insert_for(engine, RUNS)
        .on_conflict_do_nothing(index_elements=["subscription_id", "slot"])
        .returning(RUNS.c.subscription_id)
    )
    advance_sub = (
        update(SUBS)
        .where(SUBS.c.id == bindparam("b_id"), SUBS.c.next_slot == bindparam("b_slot"))
        .values(
            next_slot=bindparam("b_next_slot"),
            next_run_at=bindparam("b_next_run_at"),
            lease_until=None,
            lease_token=None,
            missed_note=bindparam("b_note"),
            updated_at=now,
        )
    )
    with write_transaction(engine) as conn:
        won = {int(sid) for (sid,) in insert_many(conn, insert_runs, run_rows)}
        messages = [
            NewMessage(
                key=outbox_key(r.subscription.id, r.subscription.next_slot),
                target=r.subscription.target,
                card=card_to_dict(r.card),
                source=DIGEST_SOURCE,
                source_id=str(r.subscription.id),
            )
            for r in results
            if r.card is not None and r.subscription.id in won
        ]
        enqueue_many(conn, messages, now)
        conn.execute(
            advance_sub,
            [
                {
                    "b_id": r.subscription.id,
                    "b_slot": r.subscription.next_slot,
                    "b_next_slot": r.following.day,
                    "b_next_run_at": r.following.at,
                    "b_note": r.missed_note,
                }
                for r in results
            ],
        )
    return [
        SlotOutcome(
            r.subscription,
            r.status,
            r.subscription.id in won,
            outbox_key(r.subscription.id, r.subscription.next_slot)
            if r.card is not None and r.subscription.id in won
            else None,
        )
        for r in results
    ]


def release(engine: Engine, subscription: Subscription, token: str) -> None:
    """Give a lease back without running (the build failed): the next tick tries again."""
    with write_transaction(engine) as conn:
        conn.execute(
            update(SUBS)
            .where(SUBS.c.id == subscription.id, SUBS.c.lease_token == token)
            .values(lease_until=None, lease_token=None)
        )


@dataclass(frozen=True, slots=True)
class RunRecord:
    subscription_id: int
    slot: date
    status: str
    scheduled_at: datetime
    ran_at: datetime
    owner: str
    outbox_key: str | None
    build_ms: int


def runs(engine: Engine, subscription_ids: Sequence[int] | None = None) -> list[RunRecord]:
    query = select(RUNS).order_by(RUNS.c.subscription_id, RUNS.c.slot)
    if subscription_ids is not None:
        query = query.where(RUNS.c.subscription_id.in_(list(subscription_ids)))
    with engine.connect() as conn:
        return [
            RunRecord(
                r.subscription_id,
                r.slot,
                r.status,
                r.scheduled_at,
                r.ran_at,
                r.owner,
                r.outbox_key,
                r.build_ms,
            )
            for r in conn.execute(query)
        ]
