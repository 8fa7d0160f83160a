"""Putting messages in the outbox. Delivery (claims, leases, retries) lives with the dispatcher.

`enqueue` runs inside the caller's transaction, so a message exists if and only if the decision
that produced it (an alert claim, a digest run) committed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import is_sqlite
from core.models.outbox import OutboxMessage, OutboxStatus
from core.notify import Target
from core.views import Card
from core.views_codec import card_to_dict

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
    insert = sqlite_insert if is_sqlite(conn) else pg_insert
    added = conn.execute(
        insert(OUTBOX_TABLE)
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
