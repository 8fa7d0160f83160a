"""The audit trail in the database: `append` (inside the caller's transaction, so a decision and
its audit row commit together) and reads. There is deliberately no update and no delete."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from core.audit.model import Actor, AuditAction, AuditEntry, Outcome, StoredAuditEntry
from core.audit.tables import AuditRow
from core.kernel.db.engine import write_transaction

AUDIT = AuditRow.__table__  # type: ignore[attr-defined]


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _values(entry: AuditEntry) -> dict[str, Any]:
    a = entry.actor
    return {
        "at": entry.at,
        "request_id": _clip(entry.request_id, 64),
        "platform": _clip(a.platform, 16),
        "user_id": _clip(a.user_id, 128),
        "principal": _clip(a.principal, 300),
        "user_name": _clip(a.user_name, 256),
        "workspace_id": _clip(a.workspace_id, 128),
        "channel_id": _clip(a.channel_id, 300),
        "action": str(entry.action),
        "subject": _clip(entry.subject, 400),
        "outcome": str(entry.outcome),
        "reason": _clip(entry.reason, 1000),
        "previous_state": entry.previous_state,
        "new_state": entry.new_state,
        "rec_id": entry.rec_id,
        "detail": dict(entry.detail),
    }


def append(conn: Connection, entry: AuditEntry) -> int:
    """Add one entry inside the caller's write transaction; its id."""
    return int(
        conn.execute(AUDIT.insert().values(_values(entry)).returning(AUDIT.c.id)).scalar_one()
    )


def append_now(engine: Engine, entry: AuditEntry) -> int:
    """Add one entry in its own transaction (refused attempts: nothing else is written)."""
    with write_transaction(engine) as conn:
        return append(conn, entry)


def _entry(row: Any) -> StoredAuditEntry:
    actor = Actor(
        platform=row.platform,
        user_id=row.user_id,
        principal=row.principal,
        user_name=row.user_name,
        workspace_id=row.workspace_id,
        channel_id=row.channel_id,
    )
    return StoredAuditEntry(
        int(row.id),
        AuditEntry(
            at=row.at,
            request_id=row.request_id,
            actor=actor,
            action=AuditAction(row.action),
            subject=row.subject,
            outcome=Outcome(row.outcome),
            reason=row.reason,
            previous_state=row.previous_state,
            new_state=row.new_state,
            rec_id=None if row.rec_id is None else int(row.rec_id),
            detail=row.detail or {},
        ),
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries: of one recommendation, of one user (id or principal), since a moment."""

    rec_id: int | None = None
    user: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None


def _select(query: AuditQuery) -> Any:
    statement = select(AUDIT)
    if query.rec_id is not None:
        statement = statement.where(AUDIT.c.rec_id == query.rec_id)
    if query.user is not None:
        statement = statement.where(
            (AUDIT.c.user_id == query.user) | (AUDIT.c.principal == query.user)
        )
    if query.since is not None:
        statement = statement.where(AUDIT.c.at >= query.since)
    if query.until is not None:
        statement = statement.where(AUDIT.c.at < query.until)
    return statement


def entries(engine: Engine, query: AuditQuery) -> list[StoredAuditEntry]:
    """The newest first (at most `query.limit`)."""
    statement = _select(query).order_by(AUDIT.c.id.desc())
    if query.limit is not None:
        statement = statement.limit(query.limit)
    with engine.connect() as conn:
        return [_entry(r) for r in conn.execute(statement)]


def count(engine: Engine, query: AuditQuery) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(_select(query).subquery())).scalar_one()
        )


def stream(engine: Engine, query: AuditQuery, *, batch: int = 1000) -> Iterator[StoredAuditEntry]:
    """Every matching entry, oldest first, read in batches (an export of any size)."""
    after = 0
    while True:
        statement = _select(query).where(AUDIT.c.id > after).order_by(AUDIT.c.id).limit(batch)
        with engine.connect() as conn:
            rows = [_entry(r) for r in conn.execute(statement)]
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id
