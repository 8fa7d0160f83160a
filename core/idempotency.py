"""Run a side effect once per key, across retries, double clicks, processes and replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from core.db import is_sqlite, write_transaction
from core.models import ProcessedEvent

MAX_KEY_LENGTH = 255


def claim_once(engine: Engine, key: str, now: datetime) -> bool:
    """True for the first caller with `key`; False for every later one (the unique key decides)."""
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency key longer than {MAX_KEY_LENGTH} characters")
    insert = sqlite_insert if is_sqlite(engine) else pg_insert
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    with write_transaction(engine) as conn:
        claimed = conn.execute(
            insert(table)
            .values(key=key, created_at=now)
            .on_conflict_do_nothing()
            .returning(table.c.key)
        ).first()
        return claimed is not None


def forget_before(engine: Engine, cutoff: datetime) -> int:
    """Drop claims older than `cutoff` (retries stop long before); returns how many."""
    with write_transaction(engine) as conn:
        result = conn.execute(delete(ProcessedEvent).where(col(ProcessedEvent.created_at) < cutoff))
        return result.rowcount
