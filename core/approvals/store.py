"""Decisions in the database. A decision is ONE conditional UPDATE on the row's current state
and version (`transition`): of twenty concurrent clicks exactly one matches, on SQLite (writers
queue behind `BEGIN IMMEDIATE`) and on PostgreSQL (the row lock, and READ COMMITTED re-checking
the WHERE clause against the winner's committed row) alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from core.approvals.model import Decision, DecisionState
from core.approvals.tables import DecisionRow
from core.kernel.db.upsert import insert_for

DECISIONS = DecisionRow.__table__  # type: ignore[attr-defined]
_CHUNK = 500


def _decision(row: Any) -> Decision:
    return Decision(
        rec_id=int(row.rec_id),
        state=DecisionState(row.state),
        version=int(row.version),
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        decided_by_name=row.decided_by_name,
        reason=row.reason,
        snoozed_until=row.snoozed_until,
        source=row.source,
        requested_by=row.requested_by,
        requested_by_name=row.requested_by_name,
        requested_at=row.requested_at,
        approved_at=row.approved_at,
        implemented_at=row.implemented_at,
        implemented_how=row.implemented_how,
        expected_monthly=row.expected_monthly,
        currency=row.currency,
        baseline_daily=row.baseline_daily,
        realized_monthly=row.realized_monthly,
        realized_through=row.realized_through,
    )


def read_decision(conn: Connection, rec_id: int) -> Decision:
    row = conn.execute(select(DECISIONS).where(DECISIONS.c.rec_id == rec_id)).first()
    return Decision(rec_id) if row is None else _decision(row)


def read_decisions(conn: Connection, rec_ids: Iterable[int] | None = None) -> dict[int, Decision]:
    """The stored decisions of `rec_ids` (all when None); undecided ones are absent."""
    if rec_ids is None:
        return {d.rec_id: d for d in map(_decision, conn.execute(select(DECISIONS)))}
    ids = sorted(set(rec_ids))
    found: dict[int, Decision] = {}
    for start in range(0, len(ids), _CHUNK):
        statement = select(DECISIONS).where(DECISIONS.c.rec_id.in_(ids[start : start + _CHUNK]))
        found.update({d.rec_id: d for d in map(_decision, conn.execute(statement))})
    return found


def decisions_in(conn: Connection, states: Iterable[DecisionState]) -> list[Decision]:
    statement = select(DECISIONS).where(DECISIONS.c.state.in_([str(s) for s in states]))
    return [_decision(r) for r in conn.execute(statement.order_by(DECISIONS.c.rec_id))]


def decisions(engine: Engine, rec_ids: Iterable[int] | None = None) -> dict[int, Decision]:
    with engine.connect() as conn:
        return read_decisions(conn, rec_ids)


def _ensure_row(conn: Connection, rec_id: int, now: datetime) -> None:
    """An undecided item gets its row (open, version 0) on the first attempt; concurrent
    first attempts converge on one row (the primary key decides)."""
    conn.execute(
        insert_for(conn, DECISIONS)
        .values(
            rec_id=rec_id, state=str(DecisionState.OPEN), version=0, source="chat", updated_at=now
        )
        .on_conflict_do_nothing(index_elements=["rec_id"])
    )


def transition(
    conn: Connection,
    rec_id: int,
    *,
    expected_state: DecisionState,
    expected_version: int,
    new_state: DecisionState,
    values: Mapping[str, Any],
    now: datetime,
) -> bool:
    """Move the item from (`expected_state`, `expected_version`) to `new_state` (version + 1),
    setting `values`; False when it was not in that state at that version any more (another
    decision won, or the card was drawn before it changed)."""
    _ensure_row(conn, rec_id, now)
    result = conn.execute(
        update(DECISIONS)
        .where(
            DECISIONS.c.rec_id == rec_id,
            DECISIONS.c.state == str(expected_state),
            DECISIONS.c.version == expected_version,
        )
        .values(
            state=str(new_state), version=DECISIONS.c.version + 1, updated_at=now, **dict(values)
        )
    )
    return result.rowcount == 1


def set_values(
    conn: Connection, rec_id: int, expected_version: int, values: Mapping[str, Any], now: datetime
) -> bool:
    """Update bookkeeping (a request for approval, realized savings) without changing the state;
    the version moves only when `values` changes what a card shows (the caller says so by passing
    `version`)."""
    _ensure_row(conn, rec_id, now)
    result = conn.execute(
        update(DECISIONS)
        .where(DECISIONS.c.rec_id == rec_id, DECISIONS.c.version == expected_version)
        .values(updated_at=now, **dict(values))
    )
    return result.rowcount == 1
