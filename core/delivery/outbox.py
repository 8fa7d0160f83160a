"""Putting messages in the outbox. Delivery (claims, leases, retries) lives with the dispatcher.

`enqueue` runs inside the caller's transaction, so a message exists if and only if the decision
that produced it (an alert claim, a digest run) committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from core.delivery.tables import OutboxMessage, OutboxStatus
from core.delivery.targets import Target
from core.kernel.cards import Card
from core.kernel.cards_json import card_to_dict
from core.kernel.db.upsert import insert_for, insert_many

OUTBOX_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]


def enqueue(
    conn: Connection,
    *,
    key: str,
    target: Target,
    card: Card,
    source: str,
    source_id: str = "",
    now: datetime,
) -> bool:
    """Add a message unless one with `key` exists; True when this call added it."""
    added = conn.execute(
        insert_for(conn, OUTBOX_TABLE)
        .values(
            idempotency_key=key,
            target_kind=str(target.kind),
            target_address=target.address,
            card=card_to_dict(card),
            source=source,
            source_id=source_id,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OUTBOX_TABLE.c.id)
    ).first()
    return added is not None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to put in the outbox; `card` is the card already in JSON form
    (`core.kernel.cards_json.card_to_dict`), so one card sent to several targets is encoded once."""

    key: str
    target: Target
    card: dict[str, Any]
    source: str
    source_id: str = ""
    #: Edit the message that the row with this key produced instead of posting a new one.
    updates_key: str | None = None


def enqueue_many(conn: Connection, messages: Sequence[NewMessage], now: datetime) -> set[str]:
    """`enqueue` for many messages in one statement; the keys of the messages it added."""
    if not messages:
        return set()
    statement = (
        insert_for(conn, OUTBOX_TABLE)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OUTBOX_TABLE.c.idempotency_key)
    )
    rows: list[dict[str, Any]] = [
        {
            "idempotency_key": m.key,
            "target_kind": str(m.target.kind),
            "target_address": m.target.address,
            "card": m.card,
            "source": m.source,
            "source_id": m.source_id,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "uncertain": False,
            "updates_key": m.updates_key,
            "created_at": now,
        }
        for m in messages
    ]
    return {str(key) for (key,) in insert_many(conn, statement, rows)}
